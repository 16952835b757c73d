//! The server's opening handshake: a ~500-byte Chrome upgrade request parsed
//! and answered with the `101 Switching Protocols` response bytes.
//!
//! - `rfc6455`: `ServerHandshake::feed` + `Request::accept` (response bytes
//!   in a new `Vec`).
//! - `tungstenite`: the same steps through tungstenite 0.30's public pieces,
//!   as its own server handshake runs them: `Request::try_parse` (httparse
//!   into an `http::Request`), `create_response`, `write_response` into a new
//!   `Vec`.
//! - `tungstenite_accept`: `tungstenite::accept` over an in-memory stream, the
//!   whole server handshake as an application calls it (it also sets up the
//!   `WebSocket`, including its 128 KiB read buffer). For information.
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench handshake -- --warm-up-time 1 --measurement-time 3
//! python3 scripts/bench_ratios.py
//! ```
//!
//! Times are the thread's CPU time, as in `bench/benches/core.rs`
//! (`RFC6455_BENCH_CLOCK=wall` for wall-clock time).

#[path = "common/clock.rs"]
mod clock;

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use rfc6455::handshake::{Accept, Limits, ServerHandshake};
use tungstenite::handshake::machine::TryParse;
use tungstenite::handshake::server::{create_response, write_response, Request};

/// What Chrome 120 sends (key from RFC 6455 §1.3).
const REQUEST: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://example.com:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

const EXPECTED_ACCEPT: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn ours(request: &[u8]) -> Vec<u8> {
    let mut hs = ServerHandshake::new(Limits::default());
    let (req, used) = hs.feed(request).unwrap().expect("complete head");
    debug_assert_eq!(used, request.len());
    req.accept(&Accept::new()).unwrap()
}

fn tung(request: &[u8]) -> Vec<u8> {
    let (used, req) = Request::try_parse(request).unwrap().expect("complete head");
    debug_assert_eq!(used, request.len());
    let resp = create_response(&req).unwrap();
    let mut out = Vec::new();
    write_response(&mut out, &resp).unwrap();
    out
}

/// Reads the request from memory, collects what is written.
struct MockStream {
    rx: Cursor<&'static [u8]>,
    tx: Vec<u8>,
}

impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rx.read(buf)
    }
}

impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tung_accept() -> Vec<u8> {
    let stream = MockStream {
        rx: Cursor::new(REQUEST),
        tx: Vec::new(),
    };
    let ws = tungstenite::accept(stream).expect("tungstenite accept");
    ws.into_inner().tx
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn handshake<M: Measurement>(c: &mut Criterion<M>) {
    assert!((450..=560).contains(&REQUEST.len()), "{}", REQUEST.len());
    for (name, out) in [
        ("rfc6455", ours(REQUEST)),
        ("tungstenite", tung(REQUEST)),
        ("accept", tung_accept()),
    ] {
        assert!(
            out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
            "{name}"
        );
        assert!(contains(&out, EXPECTED_ACCEPT), "{name}");
        assert!(out.ends_with(b"\r\n\r\n"), "{name}");
    }

    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rfc6455", |b| b.iter(|| ours(black_box(REQUEST))));
    g.bench_function("tungstenite", |b| b.iter(|| tung(black_box(REQUEST))));
    g.bench_function("tungstenite_accept", |b| b.iter(tung_accept));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
}

fn run<M: Measurement>(c: &mut Criterion<M>) {
    handshake(c);
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
