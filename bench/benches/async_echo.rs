//! Loopback echo through the tokio adapter against fastwebsockets 0.10, and
//! through the blocking adapter against tungstenite: 16 connections,
//! 64-byte binary messages, each server in a process of its own (the tokio
//! ones on a multi-thread runtime with 2 workers).
//!
//! # The servers
//!
//! Every server runs in a child process (this benchmark binary re-executed
//! with `RFC6455_ASYNC_ECHO_ROLE` set), so that its CPU time can be read
//! from `/proc/<pid>` without the clients'. The servers are identical but
//! for the WebSocket library: a listener accepting on the runtime's main
//! thread, one spawned task per connection, `TCP_NODELAY` on, each message
//! echoed with its type as soon as it is read, no keepalive timers, no
//! compression (the clients do not offer permessage-deflate).
//!
//! - `rfc6455`: `rfc6455::tokio::accept` over the `TcpStream`, then
//!   `read_event` + `Connection::echo_event`, the echo written by the next
//!   `read_event` before it waits for the socket (as
//!   `examples/async_echo_server.rs`).
//! - `fastwebsockets`: `WebSocket::after_handshake(TcpStream, Role::Server)`
//!   after a minimal handshake written here (httparse + SHA-1), wrapped in a
//!   `FragmentCollector` (which reassembles messages, as our side does), then
//!   `read_frame` + `write_frame` as fastwebsockets' `echo_server` example.
//!   This is the reference: both libraries then sit directly on a
//!   `TcpStream`, so only the WebSocket layers differ.
//! - `fastwebsockets_hyper`: fastwebsockets' documented server path: hyper 1
//!   `http1` serving the upgrade request, `fastwebsockets::upgrade::upgrade`,
//!   the same echo loop over `TokioIo<Upgraded>` (a boxed `dyn` stream behind
//!   hyper's rewind buffer). Shown for reference: what users of that path
//!   get.
//! - `rfc6455_blocking` and `tungstenite`: the blocking servers, a thread
//!   per connection: `rfc6455::blocking::accept` + `read_event` +
//!   `echo_event` (as `examples/echo_server.rs`), and tungstenite 0.30's
//!   `accept` + `read` + `send`, each at its defaults with Nagle off. Their
//!   ratio is issue #18's "echo, 16 connections, blocking" row.
//!
//! # The clients
//!
//! The same for every server: 16 `rfc6455::tokio` client connections on a
//! current-thread runtime in the benchmark process, one task each.
//!
//! - `echo_tokio_16conns`: request/response, a window of one message per
//!   connection. One iteration is one message on each connection (16
//!   messages); throughput is in messages. Wall-clock time.
//! - `echo_tokio_16conns_window8`: up to 8 messages in flight per connection
//!   (a new one sent as each echo arrives; one flush per send).
//! - `echo_tokio_16conns_server_cpu`: the window-1 workload again, but the
//!   time criterion records is the server process's CPU time (the sum of its
//!   threads' `/proc/<pid>/task/*/schedstat` run time, in ns), so "time per
//!   iteration" is server CPU per 16 messages and the ratio of two functions
//!   is their CPU-per-message ratio.
//!
//! - `echo_tokio_server_no_io`: the servers' per-message loop with the
//!   kernel taken out: one connection over an in-memory stream that hands
//!   over one masked 64-byte frame per read (returning `Pending` and waking
//!   the task in between, as a socket at window 1 would) and discards what
//!   is written; current-thread runtime, time is the thread's CPU time
//!   (`RFC6455_BENCH_CLOCK=wall` for wall clock). This is the WebSocket
//!   layer's share of the server CPU per message, steady on a loaded
//!   machine (`fastwebsockets_hyper` has no place here: its stream comes
//!   from hyper).
//!
//! After the criterion groups (in `--bench` mode only, not with `-- --test`) the benchmark prints
//! server CPU per message from `/proc/<pid>/stat` (`utime + stime`; also
//! the threads' schedstat run time, exact to the ns) over fixed rounds of
//! window-1 echo, then of window-8 echo, `RFC6455_ASYNC_ECHO_CPU_MSGS` messages per connection
//! (default 3000), `RFC6455_ASYNC_ECHO_CPU_ROUNDS` rounds (default 9; `0`
//! skips), the servers taking turns within each round, and the medians of
//! the per-round ratios, which are the figures to quote (they hold up on a
//! loaded machine far better than criterion's back-to-back groups):
//!
//! ```text
//! server_cpu rfc6455                3.38 us/msg (3.19..3.56)  schedstat  3.35 us/msg  client ...
//! server_cpu_ratio rfc6455/fastwebsockets: CPU per message 0.96 (0.93..1.04), schedstat ...; msg/s 1.07 (...)
//! ```
//!
//! The same figures go to `target/criterion/async_echo_rounds/<baseline>.json`
//! (`new`, or the name given to `--save-baseline`), which
//! `scripts/bench_ratios.py` reads.
//!
//! The machine is shared: only ratios from the same run mean anything.
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench async_echo
//! python3 scripts/bench_ratios.py
//! ```

#[path = "common/child.rs"]
mod child;
#[path = "common/clock.rs"]
mod clock;

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use child::{criterion_dir, env_u64, sched_cpu_ns, spread, Round, Server};
use criterion::measurement::Measurement as _;
use criterion::{Criterion, Throughput};
use rfc6455::tokio as ws;
use rfc6455::Event;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const MSG_LEN: usize = 64;
const CONNS: usize = 16;
const SERVER_WORKERS: usize = 2;
const ROLE_ENV: &str = "RFC6455_ASYNC_ECHO_ROLE";
const SERVERS: [&str; 5] = [
    "rfc6455",
    "fastwebsockets",
    "fastwebsockets_hyper",
    "rfc6455_blocking",
    "tungstenite",
];
/// The per-round ratios printed and saved: (ours, reference).
const PAIRS: [(&str, &str); 5] = [
    ("rfc6455", "fastwebsockets"),
    ("rfc6455", "fastwebsockets_hyper"),
    ("rfc6455", "tungstenite"),
    ("rfc6455_blocking", "tungstenite"),
    ("rfc6455_blocking", "fastwebsockets"),
];

type Client = ws::WebSocketStream<ws::MaybeTlsStream>;

// ---------------------------------------------------------------------------
// The servers (child processes)

fn server_main(role: &str) {
    child::die_with_benchmark();
    if role == "rfc6455_blocking" || role == "tungstenite" {
        blocking_server_main(role);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_WORKERS)
        .enable_all()
        .build()
        .unwrap();
    let role = role.to_owned();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            match role.as_str() {
                "rfc6455" => tokio::spawn(serve_rfc6455(stream)),
                "fastwebsockets" => tokio::spawn(serve_fastwebsockets(stream)),
                "fastwebsockets_hyper" => tokio::spawn(serve_fastwebsockets_hyper(stream)),
                other => panic!("unknown {ROLE_ENV} {other:?}"),
            };
        }
    });
}

/// The blocking servers: a thread per connection, as users of
/// `rfc6455::blocking` and tungstenite write them.
fn blocking_server_main(role: &str) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("PORT {}", listener.local_addr().unwrap().port());
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if role == "rfc6455_blocking" {
            std::thread::spawn(move || serve_rfc6455_blocking(stream));
        } else {
            std::thread::spawn(move || serve_tungstenite(stream));
        }
    }
}

/// `examples/echo_server.rs`'s loop: `blocking::accept` at its defaults
/// (TCP_NODELAY on), `read_event` + `echo_event`, the echo written by the
/// next `read_event` before it waits.
fn serve_rfc6455_blocking(stream: std::net::TcpStream) {
    let Ok(mut ws) = rfc6455::blocking::accept(stream) else {
        return;
    };
    while ws.read_event().is_ok() {
        if ws.connection_mut().echo_event().is_err() {
            return;
        }
    }
}

/// tungstenite's echo as its README writes it: `accept`, then `read` and
/// `send` (write + flush) for each data message. Nagle off, as ours.
fn serve_tungstenite(stream: std::net::TcpStream) {
    stream.set_nodelay(true).unwrap();
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    while let Ok(msg) = ws.read() {
        if (msg.is_binary() || msg.is_text()) && ws.send(msg).is_err() {
            return;
        }
    }
}

async fn serve_rfc6455(stream: TcpStream) {
    // Default ServerConfig: TCP_NODELAY on, no keepalive pings.
    let Ok(mut ws) = ws::accept(stream).await else {
        return;
    };
    loop {
        if ws.read_event().await.is_err() {
            return;
        }
        // Queued; the next read_event writes it before waiting.
        if ws.connection_mut().echo_event().is_err() {
            return;
        }
    }
}

async fn fastwebsockets_echo<S>(ws: fastwebsockets::WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use fastwebsockets::OpCode;
    let mut ws = fastwebsockets::FragmentCollector::new(ws);
    loop {
        let Ok(frame) = ws.read_frame().await else {
            return;
        };
        let done = match frame.opcode {
            OpCode::Close => true,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await.is_err(),
            _ => false,
        };
        if done {
            return;
        }
    }
}

/// Reads the request head, answers 101 with the accept key (RFC 6455
/// §4.2.2), and hands the bare `TcpStream` to fastwebsockets.
async fn serve_fastwebsockets(mut stream: TcpStream) {
    use base64::Engine as _;
    use sha1::Digest as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    stream.set_nodelay(true).unwrap();
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let key = loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(len)) => {
                // The client waits for the 101 before sending frames.
                assert_eq!(len, head.len(), "bytes behind the request head");
                let key = req
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
                    .map(|h| h.value.to_vec());
                match key {
                    Some(key) => break key,
                    None => return,
                }
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => return,
        }
    };
    let mut sha = sha1::Sha1::new();
    sha.update(&key);
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let ws = fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
    fastwebsockets_echo(ws).await;
}

/// fastwebsockets' documented server path: hyper serves the request and
/// `fastwebsockets::upgrade` answers it.
async fn serve_fastwebsockets_hyper(stream: TcpStream) {
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};

    async fn upgrade(
        mut req: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, fastwebsockets::WebSocketError> {
        let (response, fut) = fastwebsockets::upgrade::upgrade(&mut req)?;
        tokio::spawn(async move {
            if let Ok(ws) = fut.await {
                fastwebsockets_echo(ws).await;
            }
        });
        Ok(response)
    }

    stream.set_nodelay(true).unwrap();
    let io = hyper_util::rt::TokioIo::new(stream);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, hyper::service::service_fn(upgrade))
        .with_upgrades()
        .await;
}

// ---------------------------------------------------------------------------
// Server processes, seen from the benchmark

// ---------------------------------------------------------------------------
// The clients

/// A server and the 16 client connections to it.
struct Peer {
    clients: Vec<Client>,
    server: Server,
}

impl Peer {
    fn start(rt: &Runtime, name: &'static str) -> Peer {
        let server = Server::spawn(&[(ROLE_ENV, name)]);
        let url = format!("ws://127.0.0.1:{}/echo", server.port);
        let clients = rt.block_on(async {
            let mut v = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                v.push(ws::connect(&url).await.unwrap().0);
            }
            v
        });
        Peer { server, clients }
    }

    /// Every connection echoes `n` messages with up to `window` in flight;
    /// returns the wall-clock time.
    fn run(&mut self, rt: &Runtime, n: u64, window: u64) -> Duration {
        let clients = std::mem::take(&mut self.clients);
        let (elapsed, clients) = rt.block_on(async move {
            let start = Instant::now();
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| tokio::spawn(drive(c, n, window)))
                .collect();
            let mut back = Vec::with_capacity(CONNS);
            for t in tasks {
                back.push(t.await.unwrap());
            }
            (start.elapsed(), back)
        });
        self.clients = clients;
        elapsed
    }
}

async fn drive(mut ws: Client, n: u64, window: u64) -> Client {
    let payload: [u8; MSG_LEN] = std::array::from_fn(|i| i as u8);
    let mut sent = 0;
    while sent < n.min(window) {
        ws.connection_mut().send_binary(&payload).unwrap();
        sent += 1;
    }
    ws.flush().await.unwrap();
    for _ in 0..n {
        match ws.read_event().await.unwrap() {
            Event::Binary(b) => assert_eq!(b.len(), MSG_LEN),
            other => panic!("unexpected {other:?}"),
        }
        if sent < n {
            ws.send_binary(&payload).await.unwrap();
            sent += 1;
        }
    }
    ws
}

/// The peers, started when a benchmark first needs them (so that a filter
/// on the command line starts only the servers it selects), and the
/// clients' runtime.
struct Peers {
    // Dropped in this order: connections, servers, then the runtime.
    peers: Vec<(&'static str, Option<Peer>)>,
    rt: Runtime,
}

impl Peers {
    /// The runtime and the (started) peer `name`.
    fn get(&mut self, name: &'static str) -> (&Runtime, &mut Peer) {
        let rt = &self.rt;
        let slot = &mut self.peers.iter_mut().find(|p| p.0 == name).unwrap().1;
        (rt, slot.get_or_insert_with(|| Peer::start(rt, name)))
    }
}

/// Server CPU per message over fixed rounds of echo with `window` messages
/// in flight per connection, the started servers taking turns within each
/// round (in a rotating order), so that the machine's load changes hit them
/// alike; the ratios are taken round by round. Printed, and written to
/// `<criterion dir>/async_echo_rounds/<baseline>.json` (window 1, for
/// `scripts/bench_ratios.py`) or `<baseline>-window<W>.json`
/// (`<baseline>`: `--save-baseline`'s name, else `new`).
fn cpu_rounds(peers: &mut Peers, window: u64) {
    let rounds = env_u64("RFC6455_ASYNC_ECHO_CPU_ROUNDS", 9) as usize;
    let per_conn = env_u64("RFC6455_ASYNC_ECHO_CPU_MSGS", 3000);
    let started: Vec<&'static str> = peers
        .peers
        .iter()
        .filter(|p| p.1.is_some())
        .map(|p| p.0)
        .collect();
    if rounds == 0 || per_conn == 0 || started.is_empty() {
        return;
    }
    let msgs = per_conn * CONNS as u64;
    let mut res: Vec<Vec<Round>> = vec![Vec::with_capacity(rounds); started.len()];
    for r in 0..rounds {
        for k in 0..started.len() {
            let i = (r + k) % started.len();
            let (rt, peer) = peers.get(started[i]);
            let pid = peer.server.pid();
            res[i].push(Round::measure(pid, msgs, || peer.run(rt, per_conn, window)));
        }
    }

    println!(
        "\nserver CPU per message over {rounds} rounds x {msgs} messages ({CONNS} connections, \
         window {window}, {MSG_LEN} B), median (min..max); stat = /proc/<pid>/stat utime+stime, \
         schedstat = the threads' run time (ns):"
    );
    let mut json = Vec::new();
    for (i, name) in started.iter().enumerate() {
        let col = |f: fn(&Round) -> f64| spread(res[i].iter().map(f).collect());
        let (stat, smin, smax) = col(|r| r.stat);
        let (sched, _, _) = col(|r| r.sched);
        let (client, _, _) = col(|r| r.client);
        let (rate, _, _) = col(|r| r.rate);
        println!(
            "server_cpu {name:<21} {stat:5.2} us/msg ({smin:.2}..{smax:.2})  schedstat {sched:5.2} us/msg  \
             client {client:5.2} us/msg  {rate:7.0} msg/s"
        );
        json.push(format!(
            "\"{name}\": {{\"server_cpu_us_per_msg\": {stat:.4}, \"server_sched_us_per_msg\": {sched:.4}, \
             \"client_cpu_us_per_msg\": {client:.4}, \"msgs_per_s\": {rate:.1}}}"
        ));
    }
    // Per-round ratios, as `"<ours>": {"<reference>": {...}}`.
    let mut ratios: Vec<(&str, Vec<String>)> = Vec::new();
    for (ours_name, ref_name) in PAIRS {
        let (Some(ours), Some(j)) = (
            started.iter().position(|&n| n == ours_name),
            started.iter().position(|&n| n == ref_name),
        ) else {
            continue;
        };
        let per_round = |f: fn(&Round) -> f64| {
            spread(
                (0..rounds)
                    .map(|r| f(&res[ours][r]) / f(&res[j][r]))
                    .collect(),
            )
        };
        let (cpu, cmin, cmax) = per_round(|r| r.stat);
        let (sched, xmin, xmax) = per_round(|r| r.sched);
        let (rate, rmin, rmax) = per_round(|r| r.rate);
        println!(
            "server_cpu_ratio {ours_name}/{ref_name}: CPU per message {cpu:.2} ({cmin:.2}..{cmax:.2}), \
             schedstat {sched:.2} ({xmin:.2}..{xmax:.2}); msg/s {rate:.2} ({rmin:.2}..{rmax:.2}) \
             [median of {rounds} per-round ratios]"
        );
        let entry = format!(
            "\"{ref_name}\": {{\"server_cpu\": {cpu:.4}, \"server_sched\": {sched:.4}, \"msgs_per_s\": {rate:.4}}}"
        );
        match ratios.iter_mut().find(|(n, _)| *n == ours_name) {
            Some((_, v)) => v.push(entry),
            None => ratios.push((ours_name, vec![entry])),
        }
    }

    let args: Vec<String> = std::env::args().collect();
    let baseline = args
        .iter()
        .position(|a| a == "--save-baseline")
        .and_then(|i| args.get(i + 1))
        .map_or("new", |b| b.as_str());
    let dir = criterion_dir().join("async_echo_rounds");
    // `ratios_rfc6455_over`, `ratios_rfc6455_blocking_over`, …
    let ratio_fields: String = ratios
        .iter()
        .map(|(ours, v)| format!(", \"ratios_{ours}_over\": {{{}}}", v.join(", ")))
        .collect();
    let body = format!(
        "{{\"rounds\": {rounds}, \"messages_per_round\": {msgs}, \"servers\": {{{}}}{ratio_fields}}}\n",
        json.join(", "),
    );
    let file = if window == 1 {
        format!("{baseline}.json")
    } else {
        format!("{baseline}-window{window}.json")
    };
    let path = dir.join(file);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, body)) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

// ---------------------------------------------------------------------------
// The server loop without the kernel

/// A client on the far side of an in-memory stream: every other read hands
/// over one masked binary frame of `MSG_LEN` bytes (the one in between
/// returns `Pending` after waking the task, as a socket does at window 1);
/// writes are counted and discarded.
struct MemStream {
    frame: [u8; 6 + MSG_LEN],
    pos: usize,
    ready: bool,
    written: Arc<AtomicU64>,
}

impl MemStream {
    fn new(written: Arc<AtomicU64>) -> MemStream {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = [0u8; 6 + MSG_LEN];
        frame[0] = 0x82;
        frame[1] = 0x80 | MSG_LEN as u8;
        frame[2..6].copy_from_slice(&mask);
        for i in 0..MSG_LEN {
            frame[6 + i] = (i as u8) ^ mask[i % 4];
        }
        MemStream {
            frame,
            pos: 0,
            ready: false,
            written,
        }
    }
}

impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = (self.frame.len() - self.pos).min(buf.remaining());
        let pos = self.pos;
        buf.put_slice(&self.frame[pos..pos + n]);
        self.pos += n;
        if self.pos == self.frame.len() {
            self.pos = 0;
            self.ready = false;
        }
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written.fetch_add(buf.len() as u64, Relaxed);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let n: usize = bufs.iter().map(|b| b.len()).sum();
        self.written.fetch_add(n as u64, Relaxed);
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true // as a TcpStream
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs `f` as a spawned task on `rt` (as the servers run each connection:
/// see `echo_tokio_server_no_io` in the module docs) and returns its output
/// and the time it took: this thread's CPU time, or wall-clock time with
/// `RFC6455_BENCH_CLOCK=wall`.
fn timed<F>(rt: &Runtime, f: F) -> (F::Output, Duration)
where
    F: std::future::Future + Send + 'static,
    F::Output: Send,
{
    let run = || rt.block_on(async { tokio::spawn(f).await.unwrap() });
    if clock::wall_clock() {
        let t = Instant::now();
        let out = run();
        (out, t.elapsed())
    } else {
        let t = clock::ThreadCpuTime.start();
        let out = run();
        (out, Duration::from_nanos(clock::ThreadCpuTime.end(t)))
    }
}

fn bench_no_io(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let echoed = (2 + MSG_LEN) as u64;
    let mut g = c.benchmark_group("echo_tokio_server_no_io");
    g.throughput(Throughput::Elements(1));

    let written = Arc::new(AtomicU64::new(0));
    let mut ours = Some(ws::WebSocketStream::from_connection(
        MemStream::new(Arc::clone(&written)),
        rfc6455::Connection::server(rfc6455::Config::default()),
    ));
    g.bench_function("rfc6455", |b| {
        b.iter_custom(|iters| {
            let before = written.load(Relaxed);
            let mut ws = ours.take().unwrap();
            let (ws, d) = timed(&rt, async move {
                // The loop of `serve_rfc6455`.
                for _ in 0..iters {
                    ws.read_event().await.unwrap();
                    ws.connection_mut().echo_event().unwrap();
                }
                // The last echo (the others went out with the next read).
                ws.flush().await.unwrap();
                ws
            });
            ours = Some(ws);
            assert_eq!(written.load(Relaxed) - before, iters * echoed);
            d
        })
    });

    let mut fws = Some(rt.block_on(async {
        fastwebsockets::FragmentCollector::new(fastwebsockets::WebSocket::after_handshake(
            MemStream::new(Arc::clone(&written)),
            fastwebsockets::Role::Server,
        ))
    }));
    g.bench_function("fastwebsockets", |b| {
        b.iter_custom(|iters| {
            let before = written.load(Relaxed);
            let mut ws = fws.take().unwrap();
            let (ws, d) = timed(&rt, async move {
                // The loop of `fastwebsockets_echo`.
                for _ in 0..iters {
                    let frame = ws.read_frame().await.unwrap();
                    assert_eq!(frame.opcode, fastwebsockets::OpCode::Binary);
                    ws.write_frame(frame).await.unwrap();
                }
                ws
            });
            fws = Some(ws);
            assert_eq!(written.load(Relaxed) - before, iters * echoed);
            d
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// The benchmarks

fn bench(c: &mut Criterion, peers: &mut Peers) {
    for (group, window) in [
        ("echo_tokio_16conns", 1u64),
        ("echo_tokio_16conns_window8", 8),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(CONNS as u64));
        for name in SERVERS {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let (rt, peer) = peers.get(name);
                    peer.run(rt, iters, window)
                })
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("echo_tokio_16conns_server_cpu");
    g.throughput(Throughput::Elements(CONNS as u64));
    for name in SERVERS {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (rt, peer) = peers.get(name);
                let pid = peer.server.pid();
                let t0 = sched_cpu_ns(pid);
                peer.run(rt, iters, 1);
                Duration::from_nanos(sched_cpu_ns(pid) - t0)
            })
        });
    }
    g.finish();
}

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        server_main(&role);
        return;
    }
    // `cargo bench` passes `--bench`, also with criterion's `-- --test`
    // (run each benchmark once): the rounds are skipped then, as under
    // `cargo test --benches`.
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let mut peers = Peers {
        peers: SERVERS.iter().map(|&n| (n, None)).collect(),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    bench(&mut c, &mut peers);
    bench_no_io(&mut c);
    if bench_mode {
        cpu_rounds(&mut peers, 1);
        cpu_rounds(&mut peers, 8);
    }
    c.final_summary();
    // The servers are killed and reaped when `peers` drops.
}
