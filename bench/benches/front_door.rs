//! The crate through its front door: the public adapters at default
//! settings, beside the peers through theirs, one criterion group per
//! workload so that every ratio comes from one run.
//!
//! - `rfc6455_blocking`: `rfc6455::blocking::WebSocket::from_connection`
//!   with `Connection::server/client(Config::default())`.
//! - `rfc6455_tokio`: `rfc6455::tokio::WebSocketStream::from_connection`,
//!   driven by a current-thread runtime's `block_on`.
//! - `tungstenite`: tungstenite 0.30's `WebSocket::from_raw_socket(stream,
//!   role, None)`, `read()`, `write()` + `flush()`.
//! - `fastwebsockets`: fastwebsockets 0.10's
//!   `WebSocket::after_handshake(stream, role)` at its defaults,
//!   `read_frame`/`write_frame` (no `FragmentCollector`: every message here
//!   is one frame, and `read_frame` validates whole text frames itself).
//!
//! Every one of them sits on the same in-memory stream: reads hand out as
//! much of the input as the library asks for, writes are taken whole
//! (vectored writes too, as a socket with room takes them) and discarded
//! after `black_box`, and both are counted. The counts for one pass are
//! printed at setup (`front_door/<workload>/<row>: N reads, M writes per
//! pass`) and saved to `<criterion dir>/front_door_io/<baseline>.json` for
//! `scripts/bench_ratios.py`.
//!
//! Workloads (group `front_door/<workload>`):
//!
//! 1. `decode_small`: 100,000 masked 16-byte texts (2.2 MB, made once, one
//!    masking key), every message read through the public read API:
//!    `read()` (owned `Message`) is the headline, as tungstenite users call
//!    it; `*_read_event` rows use our borrowed `read_event()`.
//! 2. `decode_1mib`: one masked 1 MiB binary message, the same way.
//! 3. `encode_small_server` / `encode_small_client`: 100,000 16-byte texts
//!    queued, then written: ours blocking `write(&msg)` each then one
//!    `flush()`; tokio `SinkExt::feed` (an owned `Message` each: the `Sink`
//!    takes them by value) then `flush`; `rfc6455_tokio_queue` queues with
//!    `connection_mut().send_text` then `flush`; tungstenite `write`
//!    (`Utf8Bytes::from_static`, its cheapest message) then `flush`;
//!    fastwebsockets has no queue: `write_frame` writes each frame.
//! 4. `encode_1mib_server` / `encode_1mib_client`: one 1 MiB binary message
//!    from an immutable buffer: ours `send_binary(&payload)`, tungstenite
//!    `write(Binary(bytes.clone()))` + `flush`, fastwebsockets
//!    `write_frame(Frame::binary(Payload::Borrowed(..)))`; `floor_memcpy`
//!    is one `copy_from_slice` of 1 MiB into a preallocated buffer.
//! 5. `handshake`: Chrome's upgrade request (offering permessage-deflate)
//!    answered over an in-memory stream: ours
//!    `blocking::read_request_over(stream, &ServerConfig::default())?
//!    .accept(&Accept::new())` (deflate negotiated), the tokio equivalent,
//!    and `tungstenite::accept` (which has no permessage-deflate, so it
//!    answers without the extension).
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench front_door
//! python3 scripts/bench_ratios.py
//! ```
//!
//! Times are the thread's CPU time, as in `bench/benches/core.rs`
//! (`RFC6455_BENCH_CLOCK=wall` for wall-clock time). The machine may be
//! shared: only ratios from the same run mean anything.

#[path = "common/child.rs"]
mod child;
#[path = "common/clock.rs"]
mod clock;

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use child::criterion_dir;
use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use futures_util::SinkExt;
use rfc6455::blocking::{self, ServerConfig};
use rfc6455::handshake::Accept;
use rfc6455::{Config, Connection, Event, Message, Role};
use tokio::io::ReadBuf;
use tokio::runtime::Runtime;
use tungstenite::protocol::Role as TRole;
use tungstenite::{Bytes, Message as TMessage, Utf8Bytes};

const SMALL_COUNT: usize = 100_000;
const SMALL_TEXT: &str = "0123456789abcdef"; // 16 bytes
const MIB: usize = 1 << 20;
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// What Chrome 120 sends (key from RFC 6455 §1.3); the bytes of
/// `bench/benches/handshake.rs`'s `REQUEST`.
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

// ---------------------------------------------------------------------------
// The in-memory stream

/// The stream's state, shared with the benchmark so that it can rewind the
/// input and read the counters of a stream a library has taken by value.
#[derive(Default)]
struct MemState {
    at: Cell<usize>,
    reads: Cell<u64>,
    writes: Cell<u64>,
    written: Cell<u64>,
    /// When set (at setup), written bytes are kept here for checking.
    collect: RefCell<Option<Vec<u8>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counts {
    reads: u64,
    writes: u64,
    written: u64,
}

impl MemState {
    fn rewind(&self) {
        self.at.set(0);
    }

    fn counts(&self) -> Counts {
        Counts {
            reads: self.reads.get(),
            writes: self.writes.get(),
            written: self.written.get(),
        }
    }
}

/// Reads hand out as much of `input` as asked for (0 at its end); writes
/// take everything they are given and discard it after `black_box`.
struct Mem {
    input: &'static [u8],
    state: Rc<MemState>,
}

impl Mem {
    fn new(input: &'static [u8]) -> (Mem, Rc<MemState>) {
        let state = Rc::new(MemState::default());
        (
            Mem {
                input,
                state: Rc::clone(&state),
            },
            state,
        )
    }

    fn take_input(&self, want: usize) -> &'static [u8] {
        let s = &self.state;
        s.reads.set(s.reads.get() + 1);
        let at = s.at.get();
        let n = want.min(self.input.len() - at);
        s.at.set(at + n);
        &self.input[at..at + n]
    }

    fn put(&self, bufs: &[&[u8]]) -> usize {
        let s = &self.state;
        s.writes.set(s.writes.get() + 1);
        let mut n = 0;
        for b in bufs {
            n += black_box(*b).len();
        }
        s.written.set(s.written.get() + n as u64);
        if let Some(out) = s.collect.borrow_mut().as_mut() {
            for b in bufs {
                out.extend_from_slice(b);
            }
        }
        n
    }

    fn put_vectored(&self, bufs: &[IoSlice<'_>]) -> usize {
        let mut parts: [&[u8]; 64] = [&[]; 64];
        let k = bufs.len().min(parts.len());
        for (p, b) in parts.iter_mut().zip(bufs) {
            *p = b;
        }
        self.put(&parts[..k])
    }
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let src = self.take_input(buf.len());
        buf[..src.len()].copy_from_slice(src);
        Ok(src.len())
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.put(&[buf]))
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(self.put_vectored(bufs))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for Mem {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let src = self.take_input(buf.remaining());
        buf.put_slice(src);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Mem {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.put(&[buf])))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.put_vectored(bufs)))
    }
    fn is_write_vectored(&self) -> bool {
        true // as a TcpStream
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

type Blocking = blocking::WebSocket<Mem>;
type Tokio = rfc6455::tokio::WebSocketStream<Mem>;
type Tung = tungstenite::WebSocket<Mem>;
type Fws = fastwebsockets::WebSocket<Mem>;

// ---------------------------------------------------------------------------
// Setup helpers

/// Reads and writes per pass, by row: printed at setup, saved at the end.
/// For each row, the first pass on a fresh connection and the next one
/// (the steady state the timed passes run in: buffers already grown).
#[derive(Default)]
struct IoLog {
    rows: Vec<(String, Counts, Counts)>,
}

impl std::ops::Sub for Counts {
    type Output = Counts;
    fn sub(self, rhs: Counts) -> Counts {
        Counts {
            reads: self.reads - rhs.reads,
            writes: self.writes - rhs.writes,
            written: self.written - rhs.written,
        }
    }
}

impl IoLog {
    /// Runs two passes of `f` over the stream behind `state` (collecting
    /// only the second's output, if collecting), records their counts, and
    /// returns what the second returned.
    fn pass<T>(&mut self, id: &str, state: &MemState, mut f: impl FnMut() -> T) -> T {
        let c0 = state.counts();
        f();
        let c1 = state.counts();
        if state.collect.borrow().is_some() {
            collect(state);
        }
        let out = f();
        let c2 = state.counts();
        self.record(id, c1 - c0, c2 - c1);
        out
    }

    fn record(&mut self, id: &str, first: Counts, steady: Counts) {
        eprintln!(
            "{id}: {} reads, {} writes ({} bytes written) per pass; first pass: {} reads, {} writes",
            steady.reads, steady.writes, steady.written, first.reads, first.writes
        );
        self.rows.push((id.to_owned(), first, steady));
    }

    fn save(&self) {
        let baseline = std::env::args()
            .skip_while(|a| a != "--save-baseline")
            .nth(1)
            .unwrap_or_else(|| "new".to_owned());
        let dir = criterion_dir().join("front_door_io");
        let mut json = String::from("{\n");
        for (i, (id, first, c)) in self.rows.iter().enumerate() {
            let sep = if i + 1 == self.rows.len() { "" } else { "," };
            json += &format!(
                "  \"{id}\": {{\"reads\": {}, \"writes\": {}, \"written\": {}, \
                 \"first_reads\": {}, \"first_writes\": {}}}{sep}\n",
                c.reads, c.writes, c.written, first.reads, first.writes
            );
        }
        json += "}\n";
        let path = dir.join(format!("{baseline}.json"));
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
            eprintln!("front_door: cannot write {}: {e}", path.display());
        }
    }
}

/// One masked frame with header byte `b0` (written here, not taken from
/// either library).
fn encode_frame(out: &mut Vec<u8>, b0: u8, payload: &[u8], key: [u8; 4]) {
    out.push(b0);
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
}

fn payload_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn blocking_ws(input: &'static [u8], role: Role) -> (Blocking, Rc<MemState>) {
    let (mem, state) = Mem::new(input);
    let conn = match role {
        Role::Server => Connection::server(Config::default()),
        Role::Client => Connection::client(Config::default()),
    };
    (blocking::WebSocket::from_connection(mem, conn), state)
}

fn tokio_ws(input: &'static [u8], role: Role) -> (Tokio, Rc<MemState>) {
    let (mem, state) = Mem::new(input);
    let conn = match role {
        Role::Server => Connection::server(Config::default()),
        Role::Client => Connection::client(Config::default()),
    };
    (
        rfc6455::tokio::WebSocketStream::from_connection(mem, conn),
        state,
    )
}

fn tung_ws(input: &'static [u8], role: TRole) -> (Tung, Rc<MemState>) {
    let (mem, state) = Mem::new(input);
    (
        tungstenite::WebSocket::from_raw_socket(mem, role, None),
        state,
    )
}

fn fws_ws(input: &'static [u8], role: fastwebsockets::Role) -> (Fws, Rc<MemState>) {
    let (mem, state) = Mem::new(input);
    (fastwebsockets::WebSocket::after_handshake(mem, role), state)
}

fn t_role(role: Role) -> TRole {
    match role {
        Role::Server => TRole::Server,
        Role::Client => TRole::Client,
    }
}

fn f_role(role: Role) -> fastwebsockets::Role {
    match role {
        Role::Server => fastwebsockets::Role::Server,
        Role::Client => fastwebsockets::Role::Client,
    }
}

/// Decodes a collected output (a client's masked frames or a server's
/// plain ones) with a sans-IO connection of the other role, and returns the
/// messages' payload lengths.
fn decode_output(out: &[u8], sender: Role) -> Vec<usize> {
    let mut peer = match sender {
        Role::Server => Connection::client(Config::default()),
        Role::Client => Connection::server(Config::default()),
    };
    peer.feed(out);
    let mut lens = Vec::new();
    while let Some(m) = peer.next_message().expect("peer decode") {
        match m {
            Message::Text(t) => lens.push(t.len()),
            Message::Binary(b) => lens.push(b.len()),
            other => panic!("unexpected {other:?}"),
        }
    }
    lens
}

// ---------------------------------------------------------------------------
// Passes (the timed code)

fn msg_len(m: &Message) -> usize {
    match m {
        Message::Text(t) => black_box(t).len(),
        Message::Binary(b) => black_box(b).len(),
        _ => 0,
    }
}

fn event_len(e: &Event<'_>) -> usize {
    match *e {
        Event::Text(t) => black_box(t).len(),
        Event::Binary(b) => black_box(b).len(),
        _ => 0,
    }
}

fn tmsg_len(m: &TMessage) -> usize {
    match m {
        TMessage::Text(t) => black_box(t.as_str()).len(),
        TMessage::Binary(b) => black_box(&b[..]).len(),
        _ => 0,
    }
}

fn blocking_read(ws: &mut Blocking, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        total += msg_len(&ws.read().unwrap());
    }
    total
}

fn blocking_read_event(ws: &mut Blocking, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        total += event_len(&ws.read_event().unwrap());
    }
    total
}

async fn tokio_read(ws: &mut Tokio, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        total += msg_len(&ws.read().await.unwrap());
    }
    total
}

async fn tokio_read_event(ws: &mut Tokio, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        total += event_len(&ws.read_event().await.unwrap());
    }
    total
}

fn tung_read(ws: &mut Tung, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        total += tmsg_len(&ws.read().unwrap());
    }
    total
}

async fn fws_read(ws: &mut Fws, state: &MemState, n: usize) -> usize {
    state.rewind();
    let mut total = 0;
    for _ in 0..n {
        let frame = ws.read_frame().await.unwrap();
        total += black_box(&frame.payload[..]).len();
    }
    total
}

fn blocking_encode_small(ws: &mut Blocking, msg: &Message) {
    for _ in 0..SMALL_COUNT {
        ws.write(black_box(msg)).unwrap();
    }
    ws.flush().unwrap();
}

async fn tokio_encode_small_feed(ws: &mut Tokio) {
    for _ in 0..SMALL_COUNT {
        ws.feed(Message::Text(black_box(SMALL_TEXT).to_owned()))
            .await
            .unwrap();
    }
    SinkExt::flush(ws).await.unwrap();
}

async fn tokio_encode_small_queue(ws: &mut Tokio) {
    for _ in 0..SMALL_COUNT {
        ws.connection_mut()
            .send_text(black_box(SMALL_TEXT))
            .unwrap();
    }
    ws.flush().await.unwrap();
}

fn tung_encode_small(ws: &mut Tung) {
    for _ in 0..SMALL_COUNT {
        ws.write(TMessage::Text(Utf8Bytes::from_static(black_box(
            SMALL_TEXT,
        ))))
        .unwrap();
    }
    ws.flush().unwrap();
}

async fn fws_encode_small(ws: &mut Fws) {
    use fastwebsockets::{Frame, Payload};
    for _ in 0..SMALL_COUNT {
        ws.write_frame(Frame::text(Payload::Borrowed(
            black_box(SMALL_TEXT).as_bytes(),
        )))
        .await
        .unwrap();
    }
}

// ---------------------------------------------------------------------------
// The groups

type Group<'a, M> = BenchmarkGroup<'a, M>;

fn group<'a, M: Measurement>(c: &'a mut Criterion<M>, name: &str) -> Group<'a, M> {
    let mut g = c.benchmark_group(format!("front_door/{name}"));
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    g
}

/// Workloads 1 and 2: `count` masked frames of `payload` with header `b0`.
fn decode<M: Measurement>(
    c: &mut Criterion<M>,
    io: &mut IoLog,
    rt: &Runtime,
    name: &str,
    b0: u8,
    payload: &[u8],
    count: usize,
) {
    let mut wire = Vec::with_capacity(count * (payload.len() + 14));
    for _ in 0..count {
        encode_frame(&mut wire, b0, payload, KEY);
    }
    let wire = leak(wire);
    let expect = count * payload.len();
    let id = |row: &str| format!("front_door/{name}/{row}");

    let mut g = group(c, name);
    g.throughput(Throughput::Bytes(wire.len() as u64));

    let (mut ws, st) = blocking_ws(wire, Role::Server);
    let got = io.pass(&id("rfc6455_blocking"), &st, || {
        blocking_read(&mut ws, &st, count)
    });
    assert_eq!(got, expect);
    g.bench_function("rfc6455_blocking", |b| {
        b.iter(|| blocking_read(&mut ws, &st, count))
    });
    drop(ws);

    let (mut ws, st) = blocking_ws(wire, Role::Server);
    let got = io.pass(&id("rfc6455_blocking_read_event"), &st, || {
        blocking_read_event(&mut ws, &st, count)
    });
    assert_eq!(got, expect);
    g.bench_function("rfc6455_blocking_read_event", |b| {
        b.iter(|| blocking_read_event(&mut ws, &st, count))
    });
    drop(ws);

    let (mut ws, st) = tokio_ws(wire, Role::Server);
    let got = io.pass(&id("rfc6455_tokio"), &st, || {
        rt.block_on(tokio_read(&mut ws, &st, count))
    });
    assert_eq!(got, expect);
    g.bench_function("rfc6455_tokio", |b| {
        b.iter(|| rt.block_on(tokio_read(&mut ws, &st, count)))
    });
    drop(ws);

    let (mut ws, st) = tokio_ws(wire, Role::Server);
    let got = io.pass(&id("rfc6455_tokio_read_event"), &st, || {
        rt.block_on(tokio_read_event(&mut ws, &st, count))
    });
    assert_eq!(got, expect);
    g.bench_function("rfc6455_tokio_read_event", |b| {
        b.iter(|| rt.block_on(tokio_read_event(&mut ws, &st, count)))
    });
    drop(ws);

    let (mut ws, st) = tung_ws(wire, TRole::Server);
    let got = io.pass(&id("tungstenite"), &st, || tung_read(&mut ws, &st, count));
    assert_eq!(got, expect);
    g.bench_function("tungstenite", |b| b.iter(|| tung_read(&mut ws, &st, count)));
    drop(ws);

    let (mut ws, st) = fws_ws(wire, fastwebsockets::Role::Server);
    let got = io.pass(&id("fastwebsockets"), &st, || {
        rt.block_on(fws_read(&mut ws, &st, count))
    });
    assert_eq!(got, expect);
    g.bench_function("fastwebsockets", |b| {
        b.iter(|| rt.block_on(fws_read(&mut ws, &st, count)))
    });
    g.finish();
}

/// Checks that one pass wrote `count` messages of `len` bytes in `role`'s
/// framing, then leaves the stream discarding again.
fn check_output(st: &MemState, sender: Role, count: usize, len: usize, row: &str) {
    let out = st.collect.borrow_mut().take().expect("collecting");
    let lens = decode_output(&out, sender);
    assert_eq!(lens.len(), count, "{row}");
    assert!(lens.iter().all(|&l| l == len), "{row}");
}

fn collect(st: &MemState) {
    *st.collect.borrow_mut() = Some(Vec::new());
}

/// Workload 3.
fn encode_small<M: Measurement>(c: &mut Criterion<M>, io: &mut IoLog, rt: &Runtime) {
    for (name, role) in [
        ("encode_small_server", Role::Server),
        ("encode_small_client", Role::Client),
    ] {
        let id = |row: &str| format!("front_door/{name}/{row}");
        let mut g = group(c, name);
        g.throughput(Throughput::Elements(SMALL_COUNT as u64));
        let check = |st: &MemState, row: &str| check_output(st, role, SMALL_COUNT, 16, row);

        let msg = Message::Text(SMALL_TEXT.to_owned());
        let (mut ws, st) = blocking_ws(&[], role);
        collect(&st);
        io.pass(&id("rfc6455_blocking"), &st, || {
            blocking_encode_small(&mut ws, &msg)
        });
        check(&st, "rfc6455_blocking");
        g.bench_function("rfc6455_blocking", |b| {
            b.iter(|| blocking_encode_small(&mut ws, &msg))
        });
        drop(ws);

        let (mut ws, st) = tokio_ws(&[], role);
        collect(&st);
        io.pass(&id("rfc6455_tokio"), &st, || {
            rt.block_on(tokio_encode_small_feed(&mut ws))
        });
        check(&st, "rfc6455_tokio");
        g.bench_function("rfc6455_tokio", |b| {
            b.iter(|| rt.block_on(tokio_encode_small_feed(&mut ws)))
        });
        collect(&st);
        io.pass(&id("rfc6455_tokio_queue"), &st, || {
            rt.block_on(tokio_encode_small_queue(&mut ws))
        });
        check(&st, "rfc6455_tokio_queue");
        g.bench_function("rfc6455_tokio_queue", |b| {
            b.iter(|| rt.block_on(tokio_encode_small_queue(&mut ws)))
        });
        drop(ws);

        let (mut ws, st) = tung_ws(&[], t_role(role));
        collect(&st);
        io.pass(&id("tungstenite"), &st, || tung_encode_small(&mut ws));
        check(&st, "tungstenite");
        g.bench_function("tungstenite", |b| b.iter(|| tung_encode_small(&mut ws)));
        drop(ws);

        let (mut ws, st) = fws_ws(&[], f_role(role));
        collect(&st);
        io.pass(&id("fastwebsockets"), &st, || {
            rt.block_on(fws_encode_small(&mut ws))
        });
        check(&st, "fastwebsockets");
        g.bench_function("fastwebsockets", |b| {
            b.iter(|| rt.block_on(fws_encode_small(&mut ws)))
        });
        g.finish();
    }
}

/// Workload 4.
fn encode_1mib<M: Measurement>(c: &mut Criterion<M>, io: &mut IoLog, rt: &Runtime) {
    let payload = payload_bytes(MIB, 3);
    let shared = Bytes::from(payload.clone());
    for (name, role) in [
        ("encode_1mib_server", Role::Server),
        ("encode_1mib_client", Role::Client),
    ] {
        let id = |row: &str| format!("front_door/{name}/{row}");
        let mut g = group(c, name);
        g.throughput(Throughput::Bytes(MIB as u64));
        let check = |st: &MemState, row: &str| check_output(st, role, 1, MIB, row);

        let (mut ws, st) = blocking_ws(&[], role);
        let pass = |ws: &mut Blocking| ws.send_binary(black_box(&payload)).unwrap();
        collect(&st);
        io.pass(&id("rfc6455_blocking"), &st, || pass(&mut ws));
        check(&st, "rfc6455_blocking");
        g.bench_function("rfc6455_blocking", |b| b.iter(|| pass(&mut ws)));
        drop(ws);

        let (mut ws, st) = tokio_ws(&[], role);
        let pass = |ws: &mut Tokio| {
            rt.block_on(async { ws.send_binary(black_box(&payload)).await.unwrap() })
        };
        collect(&st);
        io.pass(&id("rfc6455_tokio"), &st, || pass(&mut ws));
        check(&st, "rfc6455_tokio");
        g.bench_function("rfc6455_tokio", |b| b.iter(|| pass(&mut ws)));
        drop(ws);

        let (mut ws, st) = tung_ws(&[], t_role(role));
        let pass = |ws: &mut Tung| {
            ws.write(TMessage::Binary(black_box(shared.clone())))
                .unwrap();
            ws.flush().unwrap();
        };
        collect(&st);
        io.pass(&id("tungstenite"), &st, || pass(&mut ws));
        check(&st, "tungstenite");
        g.bench_function("tungstenite", |b| b.iter(|| pass(&mut ws)));
        drop(ws);

        let (mut ws, st) = fws_ws(&[], f_role(role));
        let pass = |ws: &mut Fws| {
            use fastwebsockets::{Frame, Payload};
            rt.block_on(async {
                ws.write_frame(Frame::binary(Payload::Borrowed(black_box(&payload))))
                    .await
                    .unwrap()
            })
        };
        collect(&st);
        io.pass(&id("fastwebsockets"), &st, || pass(&mut ws));
        check(&st, "fastwebsockets");
        g.bench_function("fastwebsockets", |b| b.iter(|| pass(&mut ws)));
        drop(ws);

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

fn ours_handshake(config: &ServerConfig) -> Blocking {
    let (mem, _) = Mem::new(REQUEST);
    blocking::read_request_over(mem, config)
        .unwrap()
        .accept(&Accept::new())
        .unwrap()
}

async fn ours_tokio_handshake(config: &ServerConfig) -> Tokio {
    let (mem, _) = Mem::new(REQUEST);
    rfc6455::tokio::read_request_over(mem, config)
        .await
        .unwrap()
        .accept(&Accept::new())
        .await
        .unwrap()
}

fn tung_handshake() -> Tung {
    let (mem, _) = Mem::new(REQUEST);
    tungstenite::accept(mem).expect("tungstenite accept")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A server handshake over the stream given.
type Handshake<'a> = dyn Fn(Mem) + 'a;

/// Workload 5.
fn handshake<M: Measurement>(c: &mut Criterion<M>, io: &mut IoLog, rt: &Runtime) {
    let config = ServerConfig::default();

    // One handshake each with the response collected: 101 with the right
    // key, and ours negotiates permessage-deflate (tungstenite has none).
    let checks: [(&str, bool, &Handshake<'_>); 3] = [
        ("rfc6455_blocking", true, &|mem| {
            drop(
                blocking::read_request_over(mem, &config)
                    .unwrap()
                    .accept(&Accept::new())
                    .unwrap(),
            )
        }),
        ("rfc6455_tokio", true, &|mem| {
            drop(rt.block_on(async {
                rfc6455::tokio::read_request_over(mem, &config)
                    .await
                    .unwrap()
                    .accept(&Accept::new())
                    .await
                    .unwrap()
            }))
        }),
        ("tungstenite", false, &|mem| {
            drop(tungstenite::accept(mem).expect("tungstenite accept"))
        }),
    ];
    for (row, deflate, handshake) in checks {
        let (mem, st) = Mem::new(REQUEST);
        collect(&st);
        handshake(mem);
        // Every handshake is a first pass.
        let c = st.counts();
        io.record(&format!("front_door/handshake/{row}"), c, c);
        let out = st.collect.borrow_mut().take().expect("collecting");
        assert!(
            out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
            "{row}"
        );
        assert!(contains(&out, EXPECTED_ACCEPT), "{row}");
        assert_eq!(contains(&out, b"permessage-deflate"), deflate, "{row}");
    }

    let mut g = group(c, "handshake");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rfc6455_blocking", |b| {
        b.iter(|| ours_handshake(black_box(&config)))
    });
    g.bench_function("rfc6455_tokio", |b| {
        b.iter(|| rt.block_on(ours_tokio_handshake(black_box(&config))))
    });
    g.bench_function("tungstenite", |b| b.iter(tung_handshake));
    g.finish();
}

fn run<M: Measurement>(c: &mut Criterion<M>) {
    let rt = runtime();
    let mut io = IoLog::default();
    decode(
        c,
        &mut io,
        &rt,
        "decode_small",
        0x81,
        SMALL_TEXT.as_bytes(),
        SMALL_COUNT,
    );
    decode(
        c,
        &mut io,
        &rt,
        "decode_1mib",
        0x82,
        &payload_bytes(MIB, 7),
        1,
    );
    encode_small(c, &mut io, &rt);
    encode_1mib(c, &mut io, &rt);
    handshake(c, &mut io, &rt);
    io.save();
}

fn main() {
    if clock::wall_clock() {
        let mut c = Criterion::default().configure_from_args();
        run(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default()
            .with_measurement(clock::ThreadCpuTime)
            .configure_from_args();
        run(&mut c);
        c.final_summary();
    }
}
