//! With a counting global allocator: reading thousands of messages through
//! the borrowed path allocates nothing once warm, and an idle connection
//! holds at most 4 KiB of heap in its buffers.

mod common;
use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use rfc6455::{Config, Connection, Event, MessageKind};

struct Counting;
// Per-thread counters: the test harness allocates on its own threads while
// a test runs, and that must not count.
thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(allocs: usize, bytes: isize) {
    // `try_with`: the thread-local may be gone while a thread shuts down.
    let _ = ALLOCS.try_with(|a| a.set(a.get() + allocs));
    let _ = LIVE.try_with(|l| l.set(l.get() + bytes));
}

fn allocs() -> usize {
    ALLOCS.with(|a| a.get())
}

fn live() -> isize {
    LIVE.with(|l| l.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count(1, l.size() as isize);
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(0, -(l.size() as isize));
        // SAFETY: `p` was allocated by `System` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(1, new as isize - l.size() as isize);
        // SAFETY: `p` was allocated by `System` with layout `l`.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A stream of client frames: single-frame texts and binaries of several
/// sizes, fragmented texts, pings.
fn traffic(messages: usize) -> Vec<u8> {
    let mut client = client_with_key(Config::default(), [1, 2, 3, 4]);
    for i in 0..messages {
        match i % 5 {
            0 => client.send_text("hello, world").unwrap(),
            1 => client.send_binary(&[i as u8; 300]).unwrap(),
            2 => {
                client
                    .send_fragment(MessageKind::Text, "κόσ".as_bytes(), false)
                    .unwrap();
                client
                    .send_fragment(MessageKind::Text, "με".as_bytes(), true)
                    .unwrap();
            }
            3 => client.send_ping(b"p").unwrap(),
            _ => client.send_text(&"x".repeat(100)).unwrap(),
        }
    }
    client.take_output()
}

/// Reads `wire` into `server` in 1000-byte reads through the zero-copy read
/// path and consumes every event by borrowing; returns the events seen.
fn drive(server: &mut Connection, wire: &[u8]) -> usize {
    let mut seen = 0;
    let mut checksum = 0usize;
    for chunk in wire.chunks(1000) {
        let mut at = 0;
        while at < chunk.len() {
            let buf = server.read_buf();
            let n = buf.len().min(chunk.len() - at);
            buf[..n].copy_from_slice(&chunk[at..at + n]);
            server.commit_read(n);
            at += n;
        }
        while let Some(ev) = server.next_event().unwrap() {
            seen += 1;
            checksum += match ev {
                Event::Text(t) => t.len(),
                Event::Binary(b) | Event::Ping(b) | Event::Pong(b) => b.len(),
                Event::Close(_) => 0,
                Event::Fragment { data, .. } => data.len(),
            };
        }
        // The automatic pongs are written out, as an adapter would.
        let n = server.output().len();
        server.output().consume(n);
    }
    assert!(checksum > 0);
    seen
}

#[test]
fn borrowed_read_path_allocates_nothing_in_steady_state() {
    let warm = traffic(3000);
    let wire = traffic(5000);
    let mut server = Connection::server(Config::default());
    assert_eq!(drive(&mut server, &warm), 3000);

    let before = allocs();
    let seen = drive(&mut server, &wire);
    let after = allocs();
    assert_eq!(seen, 5000);
    assert_eq!(
        after - before,
        0,
        "allocations while reading {seen} messages"
    );
}

#[test]
fn idle_connection_holds_at_most_4_kib_after_a_large_message() {
    let live_before = live();
    let mut server = Box::new(Connection::server(Config::default()));
    let struct_size = std::mem::size_of::<Connection>() as isize;

    // Echo one small message, as the idle-memory benchmark does.
    let mut client = client_with_key(Config::default(), [9, 9, 9, 9]);
    client.send_text("hi").unwrap();
    drive_echo(&mut server, &client.take_output());
    let idle = live() - live_before - struct_size;
    assert!(
        idle <= 4096,
        "idle buffers after a small echo: {idle} bytes"
    );

    // A 1 MiB message, a fragmented 200 KiB message, then idle again.
    client.send_binary(&vec![1u8; 1 << 20]).unwrap();
    for i in 0..4 {
        client
            .send_fragment(MessageKind::Binary, &[2u8; 50_000], i == 3)
            .unwrap();
    }
    drive_echo(&mut server, &client.take_output());
    client.send_text("small again").unwrap();
    drive_echo(&mut server, &client.take_output());
    let idle = live() - live_before - struct_size;
    assert!(
        idle <= 4096,
        "idle buffers after large messages: {idle} bytes"
    );
    drop(server);
}

fn drive_echo(server: &mut Connection, wire: &[u8]) {
    let mut at = 0;
    let mut echo = Vec::new();
    while at < wire.len() {
        let buf = server.read_buf();
        let n = buf.len().min(wire.len() - at);
        buf[..n].copy_from_slice(&wire[at..at + n]);
        server.commit_read(n);
        at += n;
        while let Some(ev) = server.next_event().unwrap() {
            if let Event::Binary(b) = ev {
                echo.push(b.to_vec());
            }
        }
        for m in echo.drain(..) {
            server.send_binary(&m).unwrap();
        }
        let n = server.output().len();
        server.output().consume(n);
        server.release_output_buffer();
    }
    // One more read attempt, as an adapter would make when idle.
    let _ = server.read_buf();
}
