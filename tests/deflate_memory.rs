//! permessage-deflate under hostile input and at rest, measured with a
//! counting allocator: a decompression bomb is stopped at the message limit
//! without inflating past it, and idle memory per parameter set.
#![cfg(feature = "deflate")]

mod common;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use rfc6455::deflate::{DeflateConfig, Negotiated};
use rfc6455::{Config, Connection, Error, MessageKind};

struct Counting;
thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize) {
    let _ = LIVE.try_with(|l| {
        let v = l.get() + bytes;
        l.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(l.size() as isize));
        // SAFETY: `p` was allocated by `System` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new as isize - l.size() as isize);
        // SAFETY: `p` was allocated by `System` with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.with(|l| l.get())
}

fn reset_peak() {
    PEAK.with(|p| p.set(LIVE.with(|l| l.get())));
}

fn peak() -> isize {
    PEAK.with(|p| p.get())
}

fn agreed(nct: bool) -> Negotiated {
    Negotiated {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    }
}

/// About 1 MiB of raw DEFLATE that inflates to 1 GiB of zeros: the sync-
/// flushed compression of 1 MiB of zeros (non-final blocks, byte-aligned)
/// repeated 1024 times is itself a valid stream.
fn bomb() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::best(), false);
    let zeros = vec![0u8; 1 << 20];
    let mut piece = Vec::with_capacity(4096);
    c.compress_vec(&zeros, &mut piece, FlushCompress::Sync)
        .unwrap();
    assert!(piece.ends_with(&[0, 0, 0xff, 0xff]));
    let mut out = Vec::with_capacity(piece.len() * 1024);
    for _ in 0..1024 {
        out.extend_from_slice(&piece);
    }
    out
}

fn read_in_pieces(server: &mut Connection, wire: &[u8], piece: usize) -> Option<Error> {
    for chunk in wire.chunks(piece) {
        let mut at = 0;
        while at < chunk.len() {
            let buf = server.read_buf();
            let n = buf.len().min(chunk.len() - at);
            buf[..n].copy_from_slice(&chunk[at..at + n]);
            server.commit_read(n);
            at += n;
            loop {
                match server.next_event() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return Some(e),
                }
            }
        }
    }
    None
}

#[test]
fn decompression_bomb_is_stopped_at_the_limit() {
    let bomb = bomb();
    assert!(
        bomb.len() < 2 << 20,
        "{} bytes of compressed zeros",
        bomb.len()
    );
    let limit = 16 << 20;
    let mut config = Config::default();
    config.max_message_size = limit;
    config.max_frame_size = 64 << 20;

    // Whole: one compressed frame.
    let whole = cframe(0xC2, &bomb);
    // Split: 4 KiB continuation frames.
    let mut split = Vec::new();
    for (i, c) in bomb.chunks(4096).enumerate() {
        let last = (i + 1) * 4096 >= bomb.len();
        let b0 = match (i, last) {
            (0, _) => 0x42,
            (_, true) => 0x80,
            _ => 0x00,
        };
        split.extend(cframe(b0, c));
    }
    for (name, wire) in [("whole", &whole), ("split", &split)] {
        let mut server = Connection::server(config.clone());
        server.enable_deflate(agreed(false), &DeflateConfig::default());
        let base = live();
        reset_peak();
        let err = read_in_pieces(&mut server, wire, 64 << 10);
        assert_eq!(err, Some(Error::MessageTooLarge { limit }), "{name}");
        assert_eq!(sent_close_code(&server.take_output()), Some(1009), "{name}");
        let grew = peak() - base;
        eprintln!(
            "bomb ({name}): peak heap growth {} KiB for a limit of {} KiB",
            grew >> 10,
            limit >> 10
        );
        // The limit, plus the inflate state (~48 KiB), one read buffer and one step.
        assert!(
            grew <= limit as isize + (512 << 10),
            "{name}: peak growth {grew} bytes"
        );
    }
}

/// Heap held by a server connection with deflate on, after echoing `n`
/// compressed messages, once idle.
fn idle_heap(nct: bool, window: u8) -> isize {
    let mut config = DeflateConfig::default();
    config.threshold = 0;
    let mut n = agreed(nct);
    n.server_max_window_bits = window;
    n.client_max_window_bits = window;
    let before = live();
    let mut server = Box::new(Connection::server(Config::default()));
    server.handle_timeout(std::time::Duration::ZERO);
    server.enable_deflate(n, &config);
    let mut client = client_with_key(Config::default(), [1, 2, 3, 4]);
    client.enable_deflate(n, &config);
    for i in 0..3 {
        client
            .send_text(&format!(
                "{{\"n\":{i},\"text\":\"hello, compressed world\"}}"
            ))
            .unwrap();
        let wire = client.take_output();
        let (msgs, err) = feed_all(&mut server, &wire);
        assert_eq!((msgs.len(), err), (1, None));
        server.send_text("an answer, compressed as well").unwrap();
        let out = server.take_output();
        let _ = feed_all(&mut client, &out);
    }
    let _ = server.read_buf();
    // Idle: the connection's timer gives back what the last messages grew
    // (a reassembly buffer sized for inflating), as the adapters drive it.
    server.handle_timeout(rfc6455::connection::IDLE_SHRINK);
    drop(client);
    let held = live() - before - std::mem::size_of::<Connection>() as isize;
    drop(server);
    held
}

#[test]
fn idle_memory_per_parameter_set() {
    let nct = idle_heap(true, 15);
    let ct15 = idle_heap(false, 15);
    let ct10 = idle_heap(false, 10);
    eprintln!("idle heap with deflate: no_context_takeover both ways {nct} B; context takeover, 15-bit windows {ct15} B; 10-bit {ct10} B");
    assert!(
        nct <= 4096,
        "no context takeover keeps no compression state: {nct} bytes"
    );
    assert!(
        ct15 > 100_000,
        "context takeover keeps compressor and decompressor: {ct15}"
    );
    assert!(ct10 < ct15);
    let _ = MessageKind::Text;
}
