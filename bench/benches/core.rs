//! Core-path benchmarks: decoding, encoding, masking, UTF-8 validation and
//! fragment reassembly, each group running `rfc6455` beside `tungstenite`
//! (and, where it makes sense, beside a hand-written floor) so that ratios
//! come from one run on the same machine.
//!
//! Naming: every group holds functions `rfc6455`, `tungstenite` and/or
//! `floor_*`; `scripts/bench_ratios.py` turns criterion's estimates into the
//! ratio table.
//!
//! ```text
//! # one run
//! cargo bench -p rfc6455-bench --bench core -- --warm-up-time 1 --measurement-time 3
//! python3 scripts/bench_ratios.py
//! # on a shared machine: several short runs, median of the per-run ratios
//! for i in 1 2 3 4 5; do
//!   cargo bench -p rfc6455-bench --bench core -- --warm-up-time 0.5 --measurement-time 1.5 --save-baseline r$i
//! done
//! python3 scripts/bench_ratios.py --baselines r1,r2,r3,r4,r5
//! ```
//!
//! Times are the benchmark thread's CPU time (`bench/benches/common/clock.rs`),
//! so time spent descheduled while other processes run does not count;
//! `RFC6455_BENCH_CLOCK=wall` measures wall-clock time instead.
//!
//! Method, shared by both libraries:
//! - Received bytes are encoded once, outside the timed loop, as a client
//!   would send them (masked). Each iteration copies them into the library's
//!   own receive buffer in reads of at most 128 KiB (tungstenite's default
//!   read size; our connection is configured with the same `max_read_size`),
//!   decodes, unmasks, validates, and hands every message to `black_box`.
//! - Connections live across iterations (steady state, no per-iteration
//!   setup): the stream of whole frames leaves each in a clean state, and
//!   tungstenite's in-memory stream is rewound.
//! - Sent bytes go to a sink: our output is consumed with `Outgoing::consume`
//!   every 1000 messages (after `black_box(front())`), tungstenite's is
//!   flushed to a writer that discards them. Tungstenite gets its cheapest
//!   message construction (`Utf8Bytes::from_static`, `Bytes` clones).

#[path = "common/clock.rs"]
mod clock;

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, Throughput};
use rfc6455::mask::apply_mask;
use rfc6455::utf8::Utf8Validator;
use rfc6455::{Config, Connection, Event};
use tungstenite::protocol::{Role as TRole, WebSocket};
use tungstenite::{Bytes, Message as TMessage, Utf8Bytes};

const READ_CHUNK: usize = 128 << 10;
const SMALL_COUNT: usize = 100_000;
const SMALL_TEXT: &str = "0123456789abcdef"; // 16 bytes
const MIB: usize = 1 << 20;
const BIG_COUNT: usize = 16;
const FRAGMENTS: usize = 64;
const BATCH: usize = 1000;

// ---------------------------------------------------------------------------
// Helpers

/// Encodes one frame with header byte `b0` (FIN/RSV/opcode), masked with
/// `key` when given. Written here rather than taken from either library.
fn encode_frame(out: &mut Vec<u8>, b0: u8, payload: &[u8], key: Option<[u8; 4]>) {
    out.push(b0);
    let m = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
}

/// A cheap deterministic key sequence for the pre-encoded input.
fn key_for(i: usize) -> [u8; 4] {
    let x = (i as u32).wrapping_mul(0x9E37_79B9) ^ 0xA5C3_5A3C;
    x.to_le_bytes()
}

fn payload_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Our server connection, reading in chunks of up to 128 KiB like tungstenite.
fn our_server() -> Connection {
    let mut config = Config::default();
    config.max_read_size = READ_CHUNK;
    Connection::server(config)
}

/// Feeds `bytes` through `read_buf`/`commit_read` in reads of at most
/// `READ_CHUNK`, pulling every event via the borrowed path after each read.
/// Returns the number of data messages and the payload bytes seen.
fn ours_decode_all(conn: &mut Connection, bytes: &[u8]) -> (usize, usize) {
    let mut at = 0;
    let mut count = 0;
    let mut total = 0;
    while at < bytes.len() {
        let buf = conn.read_buf();
        let n = buf.len().min(READ_CHUNK).min(bytes.len() - at);
        buf[..n].copy_from_slice(&bytes[at..at + n]);
        conn.commit_read(n);
        at += n;
        while let Some(ev) = conn.next_event().expect("decode failed") {
            match ev {
                Event::Text(s) => {
                    total += black_box(s).len();
                    count += 1;
                }
                Event::Binary(b) => {
                    total += black_box(b).len();
                    count += 1;
                }
                _ => {}
            }
        }
    }
    (count, total)
}

/// An in-memory transport for tungstenite: reads from a rewindable cursor
/// over the pre-encoded bytes, discards writes.
struct MemStream<'a> {
    rx: Cursor<&'a [u8]>,
}

impl Read for MemStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rx.read(buf)
    }
}

impl Write for MemStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        black_box(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tung_ws(bytes: &[u8], role: TRole) -> WebSocket<MemStream<'_>> {
    WebSocket::from_raw_socket(
        MemStream {
            rx: Cursor::new(bytes),
        },
        role,
        None,
    )
}

/// Reads `expect` messages from the start of the stream.
fn tung_decode_all(ws: &mut WebSocket<MemStream<'_>>, expect: usize) -> usize {
    ws.get_mut().rx.set_position(0);
    let mut total = 0;
    for _ in 0..expect {
        match ws.read().expect("tungstenite decode failed") {
            TMessage::Text(t) => total += black_box(t.as_str()).len(),
            TMessage::Binary(b) => total += black_box(&b[..]).len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    total
}

// ---------------------------------------------------------------------------
// 1. decode_small

fn decode_small<M: Measurement>(c: &mut Criterion<M>) {
    let mut wire = Vec::with_capacity(SMALL_COUNT * 22);
    for i in 0..SMALL_COUNT {
        encode_frame(&mut wire, 0x81, SMALL_TEXT.as_bytes(), Some(key_for(i)));
    }
    let wire = &wire[..];

    let mut g = c.benchmark_group("decode_small");
    g.throughput(Throughput::Elements(SMALL_COUNT as u64));

    let mut conn = our_server();
    assert_eq!(
        ours_decode_all(&mut conn, wire),
        (SMALL_COUNT, SMALL_COUNT * 16)
    );
    g.bench_function("rfc6455", |b| b.iter(|| ours_decode_all(&mut conn, wire)));

    let mut ws = tung_ws(wire, TRole::Server);
    assert_eq!(tung_decode_all(&mut ws, SMALL_COUNT), SMALL_COUNT * 16);
    g.bench_function("tungstenite", |b| {
        b.iter(|| tung_decode_all(&mut ws, SMALL_COUNT))
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// 2. decode_1mib

fn decode_1mib<M: Measurement>(c: &mut Criterion<M>) {
    let payload = payload_bytes(MIB, 7);
    let mut wire = Vec::with_capacity(BIG_COUNT * (MIB + 14));
    for i in 0..BIG_COUNT {
        encode_frame(&mut wire, 0x82, &payload, Some(key_for(i)));
    }
    let wire = &wire[..];
    let frame_len = MIB + 14;

    let mut g = c.benchmark_group("decode_1mib");
    g.throughput(Throughput::Bytes((BIG_COUNT * MIB) as u64));

    let mut conn = our_server();
    assert_eq!(
        ours_decode_all(&mut conn, wire),
        (BIG_COUNT, BIG_COUNT * MIB)
    );
    g.bench_function("rfc6455", |b| b.iter(|| ours_decode_all(&mut conn, wire)));

    let mut ws = tung_ws(wire, TRole::Server);
    assert_eq!(tung_decode_all(&mut ws, BIG_COUNT), BIG_COUNT * MIB);
    g.bench_function("tungstenite", |b| {
        b.iter(|| tung_decode_all(&mut ws, BIG_COUNT))
    });

    // The floor: one copy of each frame into a buffer, one unmasking pass.
    let mut buf = vec![0u8; frame_len];
    g.bench_function("floor_copy_unmask", |b| {
        b.iter(|| {
            for frame in wire.chunks_exact(frame_len) {
                buf.copy_from_slice(frame);
                let key = [buf[10], buf[11], buf[12], buf[13]];
                apply_mask(&mut buf[14..], key, 0);
                black_box(&buf[..]);
            }
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// 3. encode_small (server and client roles)

/// A writer that discards everything (tungstenite's transport for encoding).
struct SinkStream;

impl Read for SinkStream {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for SinkStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        black_box(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn drain_ours(conn: &mut Connection) {
    let out = conn.output();
    black_box(out.front());
    let n = out.len();
    out.consume(n);
}

fn ours_encode_small(conn: &mut Connection) {
    for i in 0..SMALL_COUNT {
        conn.send_text(black_box(SMALL_TEXT)).unwrap();
        if (i + 1) % BATCH == 0 {
            drain_ours(conn);
        }
    }
    drain_ours(conn);
}

fn tung_encode_small(ws: &mut WebSocket<SinkStream>) {
    for i in 0..SMALL_COUNT {
        ws.write(TMessage::Text(Utf8Bytes::from_static(black_box(
            SMALL_TEXT,
        ))))
        .unwrap();
        if (i + 1) % BATCH == 0 {
            ws.flush().unwrap();
        }
    }
    ws.flush().unwrap();
}

fn encode_small<M: Measurement>(c: &mut Criterion<M>) {
    for (name, ours_role, tung_role) in [
        ("encode_small_server", rfc6455::Role::Server, TRole::Server),
        ("encode_small_client", rfc6455::Role::Client, TRole::Client),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(SMALL_COUNT as u64));
        let mut conn = Connection::new(ours_role, Config::default());
        g.bench_function("rfc6455", |b| b.iter(|| ours_encode_small(&mut conn)));
        let mut ws = WebSocket::from_raw_socket(SinkStream, tung_role, None);
        g.bench_function("tungstenite", |b| b.iter(|| tung_encode_small(&mut ws)));
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// 4. encode_1mib (server and client roles)

fn encode_1mib<M: Measurement>(c: &mut Criterion<M>) {
    let payload = payload_bytes(MIB, 3);
    let shared = Bytes::from(payload.clone());
    for (name, ours_role, tung_role) in [
        ("encode_1mib_server", rfc6455::Role::Server, TRole::Server),
        ("encode_1mib_client", rfc6455::Role::Client, TRole::Client),
    ] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(MIB as u64));

        let mut conn = Connection::new(ours_role, Config::default());
        g.bench_function("rfc6455", |b| {
            b.iter(|| {
                conn.send_binary(black_box(&payload)).unwrap();
                drain_ours(&mut conn);
            })
        });

        let mut ws = WebSocket::from_raw_socket(SinkStream, tung_role, None);
        g.bench_function("tungstenite", |b| {
            b.iter(|| {
                ws.write(TMessage::Binary(black_box(shared.clone())))
                    .unwrap();
                ws.flush().unwrap();
            })
        });

        let mut dst = vec![0u8; MIB];
        g.bench_function("floor_memcpy", |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&payload));
                black_box(&dst[..]);
            })
        });
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// 5. mask

/// The reference: a plain safe loop XORing 8 bytes at a time.
fn mask_u64_loop(buf: &mut [u8], key: [u8; 4]) {
    let k = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let w = u64::from_ne_bytes(c.try_into().unwrap()) ^ k;
        c.copy_from_slice(&w.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

fn mask<M: Measurement>(c: &mut Criterion<M>) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut buf = payload_bytes(MIB, 1);
    let src = payload_bytes(MIB, 2);

    // Sanity: the reference agrees with ours.
    let mut a = buf[..1003].to_vec();
    let mut b2 = a.clone();
    apply_mask(&mut a, key, 0);
    mask_u64_loop(&mut b2, key);
    assert_eq!(a, b2);

    let mut g = c.benchmark_group("mask");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("rfc6455", |b| {
        b.iter(|| apply_mask(black_box(&mut buf), black_box(key), 0))
    });
    g.bench_function("u64_loop", |b| {
        b.iter(|| mask_u64_loop(black_box(&mut buf), black_box(key)))
    });
    g.bench_function("floor_memcpy", |b| {
        b.iter(|| black_box(&mut buf[..]).copy_from_slice(black_box(&src)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// 6. utf8

fn multibyte_text(len: usize) -> String {
    // 2-, 3- and 4-byte characters, with a little ASCII between.
    let pattern = "é€😀ж中𝄞 ñ語🦀";
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        for ch in pattern.chars() {
            if s.len() + ch.len_utf8() > len {
                break;
            }
            s.push(ch);
        }
        if s.len() + 4 > len {
            // Pad the last few bytes with ASCII.
            while s.len() < len {
                s.push('a');
            }
        }
    }
    s
}

fn utf8<M: Measurement>(c: &mut Criterion<M>) {
    let ascii: String = (0..MIB).map(|i| (b' ' + (i % 90) as u8) as char).collect();
    let multi = multibyte_text(MIB);
    assert_eq!(ascii.len(), MIB);
    assert_eq!(multi.len(), MIB);

    for (name, text) in [("utf8_ascii", &ascii), ("utf8_multibyte", &multi)] {
        let bytes = text.as_bytes();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(MIB as u64));
        g.bench_function("rfc6455", |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(bytes)).unwrap();
                assert!(v.is_complete());
            })
        });
        // As the receive path feeds it: in pieces that split code points.
        g.bench_function(BenchmarkId::new("rfc6455_pieces", 4093), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(bytes).chunks(4093) {
                    v.feed(piece).unwrap();
                }
                assert!(v.is_complete());
            })
        });
        g.bench_function("core_str_from_utf8", |b| {
            b.iter(|| core::str::from_utf8(black_box(bytes)).is_ok())
        });
        g.finish();
    }
}

// ---------------------------------------------------------------------------
// 8. fragmented

fn fragmented<M: Measurement>(c: &mut Criterion<M>) {
    let payload = payload_bytes(MIB, 9);
    let frag = MIB / FRAGMENTS;
    let mut wire = Vec::with_capacity(MIB + FRAGMENTS * 8);
    for (i, piece) in payload.chunks(frag).enumerate() {
        let opcode = if i == 0 { 0x2 } else { 0x0 };
        let fin = if i == FRAGMENTS - 1 { 0x80 } else { 0 };
        encode_frame(&mut wire, fin | opcode, piece, Some(key_for(i)));
    }
    let wire = &wire[..];

    let mut g = c.benchmark_group("fragmented");
    g.throughput(Throughput::Bytes(MIB as u64));

    let mut conn = our_server();
    assert_eq!(ours_decode_all(&mut conn, wire), (1, MIB));
    g.bench_function("rfc6455", |b| b.iter(|| ours_decode_all(&mut conn, wire)));

    let mut ws = tung_ws(wire, TRole::Server);
    assert_eq!(tung_decode_all(&mut ws, 1), MIB);
    g.bench_function("tungstenite", |b| b.iter(|| tung_decode_all(&mut ws, 1)));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

fn run<M: Measurement>(c: &mut Criterion<M>) {
    decode_small(c);
    decode_1mib(c);
    encode_small(c);
    encode_1mib(c);
    mask(c);
    utf8(c);
    fragmented(c);
}

fn main() {
    if clock::wall_clock() {
        let mut c = config().configure_from_args();
        run(&mut c);
        c.final_summary();
    } else {
        let mut c = config()
            .with_measurement(clock::ThreadCpuTime)
            .configure_from_args();
        run(&mut c);
        c.final_summary();
    }
}
