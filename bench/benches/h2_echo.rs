//! WebSocket echo over HTTP/2 (RFC 8441, h2c) against HTTP/1.1, through
//! the same hyper server: 16 WebSockets, 64-byte binary messages, a window
//! of one message per WebSocket; and one 16 MiB message.
//!
//! # The server
//!
//! One child process (this benchmark binary re-executed with
//! `RFC6455_H2_ECHO_ROLE=server`), so that its CPU time can be read from
//! `/proc/<pid>` without the clients': a tokio multi-thread runtime with 2
//! workers, hyper-util's `auto` builder serving HTTP/1.1 and HTTP/2 (prior
//! knowledge) on one port with `enable_connect_protocol()`, the route of
//! `examples/hyper_server.rs` (`rfc6455::hyper::upgrade`, then `read_event`
//! and `Connection::echo_event`), hyper's default HTTP/2 settings (1 MiB
//! windows, 16 KiB frames to the server), no compression (the clients do
//! not offer it), messages up to 32 MiB. HTTP/1.1 WebSockets take hyper's
//! upgrade (`101`); HTTP/2 ones are extended CONNECTs (`200`).
//!
//! # The clients
//!
//! On a current-thread runtime in the benchmark process, one task per
//! WebSocket, three ways to the same server:
//!
//! - `http1`: 16 TCP connections, each upgraded (`rfc6455::tokio::connect`).
//! - `h2_1conn`: one HTTP/2 connection (`rfc6455::hyper::Http2Connection`,
//!   default `Http2Config`: 2 MiB stream windows, 256 KiB frames from the
//!   server), 16 WebSockets as streams of it.
//! - `h2_16conns`: 16 HTTP/2 connections, one WebSocket each.
//!
//! Criterion groups: `h2_echo_16ws_window1` (wall time per 16 messages,
//! one per WebSocket) and `h2_echo_16mib` (one 16 MiB binary message sent
//! and its echo read, on one WebSocket of each setup).
//!
//! After them (in `--bench` mode only, not with `-- --test`) the figures to
//! quote: fixed rounds, the three setups taking turns within each round in
//! a rotating order (so that the machine's load changes hit them alike),
//! and the medians of the per-round ratios against `http1`:
//!
//! - window-1 echo, `RFC6455_H2_ECHO_MSGS` messages per WebSocket (default
//!   2000) over `RFC6455_H2_ECHO_ROUNDS` rounds (default 9): messages/s
//!   (wall clock) and the server's CPU per message (`/proc/<pid>/stat`
//!   utime + stime, and the threads' schedstat run time in ns);
//! - the 16 MiB echo, `RFC6455_H2_ECHO_BIG_ROUNDS` rounds (default 7).
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench h2_echo
//! ```
//!
//! The machine is shared: only ratios from the same run mean anything.

#[path = "common/child.rs"]
mod child;

use std::time::{Duration, Instant};

use child::{env_u64, spread, Round, Server};
use criterion::{Criterion, Throughput};
use rfc6455::hyper::{ClientConfig, Http2Connection, ServerConfig};
use rfc6455::tokio::WebSocketStream;
use rfc6455::{Event, Message};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const MSG_LEN: usize = 64;
const SOCKETS: usize = 16;
const BIG: usize = 16 << 20;
const SERVER_WORKERS: usize = 2;
const ROLE_ENV: &str = "RFC6455_H2_ECHO_ROLE";
const SETUPS: [&str; 3] = ["http1", "h2_1conn", "h2_16conns"];

// ---------------------------------------------------------------------------
// The server (child process)

fn server_config() -> ServerConfig {
    let mut config = ServerConfig::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20);
    config.deflate = None;
    config
}

async fn route(
    mut req: hyper::Request<hyper::body::Incoming>,
    config: std::sync::Arc<ServerConfig>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    let (response, ws) =
        rfc6455::hyper::upgrade(&mut req, &config, &rfc6455::handshake::Accept::new());
    if let Ok(ws) = ws {
        tokio::spawn(async move {
            let Ok(mut ws) = ws.await else { return };
            loop {
                if ws.read_event().await.is_err() {
                    return;
                }
                // Queued; the next read_event writes it before waiting.
                if ws.connection_mut().echo_event().is_err() {
                    return;
                }
            }
        });
    }
    Ok(response)
}

fn server_main() {
    child::die_with_benchmark();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_WORKERS)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = std::sync::Arc::new(server_config());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tcp.set_nodelay(true).unwrap();
            let config = std::sync::Arc::clone(&config);
            tokio::spawn(async move {
                let mut server = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                server.http2().enable_connect_protocol();
                let service = hyper::service::service_fn(move |req| {
                    route(req, std::sync::Arc::clone(&config))
                });
                let _ = server
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
}

// ---------------------------------------------------------------------------
// The clients

/// The 16 WebSockets of one setup (and the HTTP/2 connections they ride).
enum Sockets {
    Http1(Vec<WebSocketStream<rfc6455::tokio::MaybeTlsStream>>),
    H2(
        Vec<WebSocketStream<rfc6455::hyper::Http2Stream>>,
        Vec<Http2Connection>,
    ),
}

fn client_config() -> ClientConfig {
    ClientConfig::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
}

async fn h2_connection(port: u16) -> Http2Connection {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    Http2Connection::handshake(tcp).await.unwrap()
}

impl Sockets {
    async fn open(setup: &str, port: u16) -> Sockets {
        let url = format!("ws://127.0.0.1:{port}/echo");
        let config = client_config();
        match setup {
            "http1" => {
                let mut v = Vec::with_capacity(SOCKETS);
                for _ in 0..SOCKETS {
                    v.push(rfc6455::tokio::connect_with(&url, &config).await.unwrap().0);
                }
                Sockets::Http1(v)
            }
            "h2_1conn" | "h2_16conns" => {
                let mut conns = Vec::new();
                let mut v = Vec::with_capacity(SOCKETS);
                for i in 0..SOCKETS {
                    if i == 0 || setup == "h2_16conns" {
                        conns.push(h2_connection(port).await);
                    }
                    let conn = conns.last().unwrap();
                    let (ws, response) = conn.websocket(&url, &config).await.unwrap();
                    assert_eq!(response.status(), 200);
                    v.push(ws);
                }
                Sockets::H2(v, conns)
            }
            other => panic!("unknown setup {other}"),
        }
    }

    /// Every WebSocket echoes `n` messages, one in flight at a time, each
    /// in a task of its own; returns the wall-clock time.
    async fn run(&mut self, n: u64) -> Duration {
        async fn all<S>(sockets: &mut Vec<WebSocketStream<S>>, n: u64) -> Duration
        where
            S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        {
            let start = Instant::now();
            let tasks: Vec<_> = std::mem::take(sockets)
                .into_iter()
                .map(|ws| tokio::spawn(drive(ws, n)))
                .collect();
            for t in tasks {
                sockets.push(t.await.unwrap());
            }
            start.elapsed()
        }
        match self {
            Sockets::Http1(v) => all(v, n).await,
            Sockets::H2(v, _) => all(v, n).await,
        }
    }

    /// One 16 MiB binary message out and its echo back, on the first
    /// WebSocket; returns the wall-clock time.
    async fn big(&mut self, payload: &[u8]) -> Duration {
        async fn one<S: AsyncRead + AsyncWrite + Unpin>(
            ws: &mut WebSocketStream<S>,
            payload: &[u8],
        ) -> Duration {
            let start = Instant::now();
            ws.send_binary(payload).await.unwrap();
            match ws.read_event().await.unwrap() {
                Event::Binary(b) => assert_eq!(b.len(), payload.len()),
                other => panic!("unexpected {other:?}"),
            }
            start.elapsed()
        }
        match self {
            Sockets::Http1(v) => one(&mut v[0], payload).await,
            Sockets::H2(v, _) => one(&mut v[0], payload).await,
        }
    }
}

async fn drive<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    n: u64,
) -> WebSocketStream<S> {
    let payload: [u8; MSG_LEN] = std::array::from_fn(|i| i as u8);
    for _ in 0..n {
        ws.send_binary(&payload).await.unwrap();
        match ws.read_event().await.unwrap() {
            Event::Binary(b) => assert_eq!(b.len(), MSG_LEN),
            other => panic!("unexpected {other:?}"),
        }
    }
    ws
}

/// The server and the three setups' WebSockets to it.
struct Peers {
    setups: Vec<(&'static str, Sockets)>,
    server: Server,
    rt: Runtime,
}

impl Peers {
    fn start() -> Peers {
        let server = Server::spawn(&[(ROLE_ENV, "server")]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let setups = rt.block_on(async {
            let mut v = Vec::new();
            for name in SETUPS {
                v.push((name, Sockets::open(name, server.port).await));
            }
            v
        });
        Peers { setups, server, rt }
    }

    fn run(&mut self, i: usize, n: u64) -> Duration {
        let sockets = &mut self.setups[i].1;
        self.rt.block_on(sockets.run(n))
    }

    fn big(&mut self, i: usize, payload: &[u8]) -> Duration {
        let sockets = &mut self.setups[i].1;
        self.rt.block_on(sockets.big(payload))
    }
}

/// Window-1 echo in rounds, the setups taking turns; printed with the
/// medians of the per-round ratios against `http1`.
fn echo_rounds(peers: &mut Peers) {
    let rounds = env_u64("RFC6455_H2_ECHO_ROUNDS", 9) as usize;
    let per_ws = env_u64("RFC6455_H2_ECHO_MSGS", 2000);
    if rounds == 0 || per_ws == 0 {
        return;
    }
    let msgs = per_ws * SOCKETS as u64;
    let pid = peers.server.pid();
    let mut res = vec![Vec::with_capacity(rounds); SETUPS.len()];
    for r in 0..rounds {
        for k in 0..SETUPS.len() {
            let i = (r + k) % SETUPS.len();
            res[i].push(Round::measure(pid, msgs, || peers.run(i, per_ws)));
        }
    }
    println!(
        "\nwindow-1 echo, {SOCKETS} WebSockets x {per_ws} messages of {MSG_LEN} B per round, \
         {rounds} rounds, setups in turn; median (min..max); server CPU from /proc/<pid>/stat \
         (utime+stime) and the threads' schedstat:"
    );
    for (i, name) in SETUPS.iter().enumerate() {
        let col = |f: fn(&Round) -> f64| spread(res[i].iter().map(f).collect());
        let (rate, rmin, rmax) = col(|r| r.rate);
        let (stat, smin, smax) = col(|r| r.stat);
        let (sched, _, _) = col(|r| r.sched);
        let (client, _, _) = col(|r| r.client);
        println!(
            "h2_echo {name:<11} {rate:8.0} msg/s ({rmin:.0}..{rmax:.0})  server {stat:5.2} us/msg \
             ({smin:.2}..{smax:.2})  schedstat {sched:5.2} us/msg  client {client:5.2} us/msg"
        );
    }
    for (j, name) in SETUPS.iter().enumerate().skip(1) {
        let ratio = |f: fn(&Round) -> f64| {
            spread((0..rounds).map(|r| f(&res[j][r]) / f(&res[0][r])).collect())
        };
        let (rate, rmin, rmax) = ratio(|r| r.rate);
        let (stat, smin, smax) = ratio(|r| r.stat);
        let (sched, xmin, xmax) = ratio(|r| r.sched);
        println!(
            "h2_echo_ratio {name}/http1: msg/s {rate:.2} ({rmin:.2}..{rmax:.2}); server CPU per \
             message {stat:.2} ({smin:.2}..{smax:.2}), schedstat {sched:.2} ({xmin:.2}..{xmax:.2}) \
             [median of {rounds} per-round ratios]"
        );
    }
}

/// The 16 MiB echo in rounds, the setups taking turns.
fn big_rounds(peers: &mut Peers) {
    let rounds = env_u64("RFC6455_H2_ECHO_BIG_ROUNDS", 7) as usize;
    if rounds == 0 {
        return;
    }
    let payload: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let mut res = vec![Vec::with_capacity(rounds); SETUPS.len()];
    for r in 0..rounds {
        for k in 0..SETUPS.len() {
            let i = (r + k) % SETUPS.len();
            res[i].push(peers.big(i, &payload).as_secs_f64() * 1e3);
        }
    }
    println!("\n16 MiB binary echo (sent, then its echo read), {rounds} rounds, setups in turn:");
    for (i, name) in SETUPS.iter().enumerate() {
        let (ms, min, max) = spread(res[i].clone());
        println!("h2_echo_16mib {name:<11} {ms:6.1} ms ({min:.1}..{max:.1})");
    }
    for (j, name) in SETUPS.iter().enumerate().skip(1) {
        let (ratio, min, max) = spread((0..rounds).map(|r| res[j][r] / res[0][r]).collect());
        println!(
            "h2_echo_16mib_ratio {name}/http1: time {ratio:.2} ({min:.2}..{max:.2}) \
             [median of {rounds} per-round ratios]"
        );
    }
}

fn bench(c: &mut Criterion, peers: &mut Peers) {
    let mut g = c.benchmark_group("h2_echo_16ws_window1");
    g.throughput(Throughput::Elements(SOCKETS as u64));
    for (i, name) in SETUPS.iter().enumerate() {
        g.bench_function(*name, |b| b.iter_custom(|iters| peers.run(i, iters)));
    }
    g.finish();

    let payload: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    let mut g = c.benchmark_group("h2_echo_16mib");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(BIG as u64));
    for (i, name) in SETUPS.iter().enumerate() {
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| peers.big(i, &payload)).sum())
        });
    }
    g.finish();
}

fn main() {
    if std::env::var(ROLE_ENV).is_ok() {
        server_main();
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let mut peers = Peers::start();
    // Sanity: every setup echoes, and the HTTP/2 ones really are HTTP/2.
    peers.rt.block_on(async {
        for (_, s) in &mut peers.setups {
            if let Sockets::H2(v, conns) = s {
                assert!(conns.iter().all(|c| c.accepts_websockets()));
                v[0].send(Message::Text("h2".into())).await.unwrap();
                assert_eq!(v[0].read().await.unwrap(), Message::Text("h2".into()));
            }
        }
    });
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    bench(&mut c, &mut peers);
    if bench_mode {
        echo_rounds(&mut peers);
        big_rounds(&mut peers);
    }
    c.final_summary();
}
