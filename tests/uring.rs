//! The io_uring server (`rfc6455::uring`, feature `uring`): echo, the
//! closing handshake, large messages, permessage-deflate, plain HTTP
//! answers, the handshake timeout, and the fallback of
//! `async_echo_server --uring` where io_uring is unavailable.
//!
//! Where the kernel refuses io_uring the tests say so loudly on stderr and
//! pass, unless `RFC6455_REQUIRE_URING=1` (CI sets it: a machine that
//! should have io_uring and does not is a failure there).
#![cfg(all(feature = "uring", target_os = "linux"))]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rfc6455::adapter::{ClientConfig, ServerConfig};
use rfc6455::blocking;
use rfc6455::handshake::{http_response, Request};
use rfc6455::uring::{probe, Answer, ConnId, Conns, Handler, RingConfig, Server};
use rfc6455::{CloseCode, Message};

/// `None` (having said why, loudly) where io_uring cannot be used.
fn available() -> Option<()> {
    match probe() {
        Ok(()) => Some(()),
        Err(why) => {
            if std::env::var_os("RFC6455_REQUIRE_URING").is_some() {
                panic!("io_uring unavailable but RFC6455_REQUIRE_URING is set: {why}");
            }
            eprintln!("\n!!!!!!!! SKIPPED: io_uring is unavailable here: {why} !!!!!!!!\n");
            None
        }
    }
}

/// Echoes data messages; reports how connections ended.
struct Echo {
    closed: mpsc::Sender<Option<String>>,
}

impl Handler for Echo {
    fn request(&mut self, _id: ConnId, request: &Request) -> Answer {
        if request.is_upgrade() {
            Answer::Accept
        } else {
            Answer::Respond(http_response(200, "text/plain", b"plain HTTP").unwrap())
        }
    }

    fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        if let Some(conn) = conns.connection_mut(id) {
            let _ = conn.echo_event();
        }
    }

    fn closed(&mut self, _: &mut Conns<'_>, _: ConnId, error: Option<rfc6455::adapter::Error>) {
        let _ = self.closed.send(error.map(|e| e.to_string()));
    }
}

/// An echo server on a thread (left running: the test process ends it).
fn echo_server(config: ServerConfig) -> (SocketAddr, mpsc::Receiver<Option<String>>) {
    let server = Server::bind("127.0.0.1:0", config).expect("bind");
    let addr = server.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || server.run(&mut Echo { closed: tx }));
    (addr, rx)
}

fn big_limits() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.config.max_message_size = 64 << 20;
    config.config.max_frame_size = 64 << 20;
    config
}

#[test]
fn echoes_text_and_binary() {
    let Some(()) = available() else { return };
    let (addr, _closed) = echo_server(ServerConfig::default());
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    for i in 0..100 {
        ws.send_text(&format!("hello {i}")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(format!("hello {i}")));
    }
    ws.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![1, 2, 3]));
    // Many at once: the echoes of one burst.
    for i in 0..50 {
        ws.connection_mut().send_text(&i.to_string()).unwrap();
    }
    ws.flush().unwrap();
    for i in 0..50 {
        assert_eq!(ws.read().unwrap(), Message::Text(i.to_string()));
    }
}

#[test]
fn many_connections_at_once() {
    let Some(()) = available() else { return };
    let (addr, _closed) = echo_server(ServerConfig::default());
    echo_from_clients(addr, 32, 50);
}

/// `clients` connections at once, each sending `messages` texts and
/// reading each one's echo, then closing.
fn echo_from_clients(addr: SocketAddr, clients: usize, messages: usize) {
    let clients: Vec<_> = (0..clients)
        .map(|c| {
            thread::spawn(move || {
                let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
                for i in 0..messages {
                    let text = format!("{c}:{i}");
                    ws.send_text(&text).unwrap();
                    assert_eq!(ws.read().unwrap(), Message::Text(text));
                }
                ws.close(CloseCode::NORMAL, "").unwrap();
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
}

/// Echoes, and counts the connections its loop opened.
struct CountingEcho {
    opened: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Handler for CountingEcho {
    fn open(&mut self, _: &mut Conns<'_>, _: ConnId) {
        self.opened
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        if let Some(conn) = conns.connection_mut(id) {
            let _ = conn.echo_event();
        }
    }
}

#[test]
fn run_threads_spreads_connections_over_loops_that_each_serve_them() {
    let Some(()) = available() else { return };
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let server = Server::bind("127.0.0.1:0", ServerConfig::default()).expect("bind");
    let addr = server.local_addr().unwrap();
    let opened: Arc<Vec<Arc<AtomicUsize>>> = Arc::new((0..2).map(|_| Arc::default()).collect());
    let counts = Arc::clone(&opened);
    let (made_tx, made) = mpsc::channel();
    thread::spawn(move || {
        server.run_threads(2, move |i| {
            made_tx.send(i).unwrap();
            CountingEcho {
                opened: Arc::clone(&counts[i]),
            }
        })
    });
    let mut loops: Vec<usize> = (0..2)
        .map(|_| made.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    loops.sort();
    assert_eq!(loops, [0, 1], "one handler per loop, built on its thread");
    // 32 connections: the kernel picks a loop for each by a hash of the
    // addresses; all 32 on one of two loops has odds of 2^-31.
    echo_from_clients(addr, 32, 20);
    let per_loop: Vec<usize> = opened.iter().map(|n| n.load(Ordering::SeqCst)).collect();
    assert_eq!(per_loop.iter().sum::<usize>(), 32, "{per_loop:?}");
    assert!(
        per_loop.iter().all(|&n| n > 0),
        "a loop got nothing: {per_loop:?}"
    );
}

/// Sends to every connection the lines other threads hand over.
struct Feed {
    lines: mpsc::Receiver<String>,
    opened: mpsc::Sender<()>,
}

impl Handler for Feed {
    fn open(&mut self, _: &mut Conns<'_>, _: ConnId) {
        let _ = self.opened.send(());
    }

    fn event(&mut self, _: &mut Conns<'_>, _: ConnId) {}

    fn woken(&mut self, conns: &mut Conns<'_>) {
        let ids: Vec<ConnId> = conns.ids().collect();
        for line in self.lines.try_iter() {
            for &id in &ids {
                conns.send(id, &Message::Text(line.clone())).unwrap();
            }
        }
    }
}

#[test]
fn a_waker_lets_another_thread_hand_work_to_the_loop() {
    let Some(()) = available() else { return };
    let server = Server::bind("127.0.0.1:0", ServerConfig::default()).expect("bind");
    let addr = server.local_addr().unwrap();
    let waker = server.waker();
    let (lines_tx, lines) = mpsc::channel();
    let (opened, open) = mpsc::channel();
    thread::spawn(move || server.run(&mut Feed { lines, opened }));
    let mut clients: Vec<_> = (0..3)
        .map(|_| blocking::connect(&format!("ws://{addr}/")).unwrap().0)
        .collect();
    for _ in 0..3 {
        open.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    // Nothing reaches the clients until the loop is woken.
    lines_tx.send("first".to_string()).unwrap();
    clients[0]
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(clients[0].read().is_err(), "delivered without a wake");
    // A blocking stream that timed out is not used again: a fresh one.
    clients[0] = blocking::connect(&format!("ws://{addr}/")).unwrap().0;
    open.recv_timeout(Duration::from_secs(10)).unwrap();
    // Many wakes from several threads: every line arrives once, in order.
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let (waker, lines_tx) = (waker.clone(), lines_tx.clone());
            thread::spawn(move || {
                for i in 0..25 {
                    lines_tx.send(format!("{t}:{i}")).unwrap();
                    waker.wake();
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    for (c, ws) in clients.iter_mut().enumerate() {
        let mut got = Vec::new();
        while got.len() < 101 {
            match ws.read().unwrap() {
                Message::Text(t) => got.push(t),
                other => panic!("{other:?}"),
            }
        }
        // Queued before the first wake: sent to everyone connected then.
        assert_eq!(got.remove(0), "first");
        for t in 0..4 {
            let mine: Vec<&String> = got
                .iter()
                .filter(|l| l.starts_with(&format!("{t}:")))
                .collect();
            let want: Vec<String> = (0..25).map(|i| format!("{t}:{i}")).collect();
            assert_eq!(
                mine,
                want.iter().collect::<Vec<_>>(),
                "client {c}, thread {t}"
            );
        }
    }
}

/// Says "tick" to everyone 50 ms after each connection opened.
struct Ticker;

impl Handler for Ticker {
    fn open(&mut self, conns: &mut Conns<'_>, _: ConnId) {
        conns.wake_in(Duration::from_millis(50));
    }

    fn event(&mut self, _: &mut Conns<'_>, _: ConnId) {}

    fn woken(&mut self, conns: &mut Conns<'_>) {
        let ids: Vec<ConnId> = conns.ids().collect();
        for id in ids {
            conns.send(id, &Message::Text("tick".into())).unwrap();
        }
    }
}

#[test]
fn wake_in_calls_woken_later_on_the_loop() {
    let Some(()) = available() else { return };
    let server = Server::bind("127.0.0.1:0", ServerConfig::default()).expect("bind");
    let addr = server.local_addr().unwrap();
    thread::spawn(move || server.run(&mut Ticker));
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let opened = std::time::Instant::now();
    ws.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("tick".into()));
    assert!(opened.elapsed() >= Duration::from_millis(40), "too early");
}

#[test]
fn a_small_receive_pool_runs_dry_and_recovers() {
    let Some(()) = available() else { return };
    // Two receive buffers for 16 busy connections: receives complete with
    // ENOBUFS and are queued again once buffers come back.
    let mut ring = RingConfig::default();
    ring.buffers = 2;
    ring.buffer_size = 4096;
    let server = Server::bind_with("127.0.0.1:0", ServerConfig::default(), ring).expect("bind");
    let addr = server.local_addr().unwrap();
    let (tx, _closed) = mpsc::channel();
    thread::spawn(move || server.run(&mut Echo { closed: tx }));
    echo_from_clients(addr, 16, 50);
}

#[test]
fn closing_handshake_both_ways() {
    let Some(()) = available() else { return };
    let (addr, closed) = echo_server(ServerConfig::default());
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.send_text("last words").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("last words".into()));
    ws.close(CloseCode::new(4000), "bye").unwrap();
    assert_eq!(
        ws.connection().peer_close_code(),
        Some(CloseCode::new(4000))
    );
    assert_eq!(ws.connection().state(), rfc6455::State::Closed);
    // The server reported a clean close.
    let why = closed.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(why, None);
}

#[test]
fn a_protocol_error_is_reported_and_answered_with_1002() {
    let Some(()) = available() else { return };
    let (addr, closed) = echo_server(ServerConfig::default());
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0];
        tcp.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    // An unmasked frame from a client (RFC 6455 §5.1).
    tcp.write_all(b"\x81\x01x").unwrap();
    let mut answer = Vec::new();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = tcp.read_to_end(&mut answer);
    assert_eq!(&answer[..4], b"\x88\x02\x03\xea", "a Close 1002, then EOF");
    let why = closed.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        why.is_some_and(|e| e.contains("mask")),
        "reported as a failure"
    );
}

#[test]
fn large_messages() {
    let Some(()) = available() else { return };
    let (addr, _closed) = echo_server(big_limits());
    let mut cc = ClientConfig::default();
    cc.config.max_message_size = 64 << 20;
    cc.config.max_frame_size = 64 << 20;
    let (mut ws, _) = blocking::connect_with(&format!("ws://{addr}/"), &cc).unwrap();
    for size in [125, 126, 65_535, 65_536, 1 << 20, 16 << 20] {
        let payload: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        ws.send_binary(&payload).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Binary(payload), "{size} bytes");
    }
}

#[test]
fn permessage_deflate() {
    let Some(()) = available() else { return };
    let (addr, _closed) = echo_server(big_limits());
    let mut cc = ClientConfig::default();
    cc.deflate = Some(rfc6455::deflate::DeflateConfig::default());
    let (mut ws, _) = blocking::connect_with(&format!("ws://{addr}/"), &cc).unwrap();
    assert!(ws.connection().deflate_enabled());
    let text = "compressible ".repeat(10_000);
    for _ in 0..3 {
        ws.send_text(&text).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text.clone()));
    }
}

#[test]
fn plain_http_is_answered_then_closed() {
    let Some(()) = available() else { return };
    let (addr, _closed) = echo_server(ServerConfig::default());
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("plain HTTP"));
}

#[test]
fn a_slow_request_is_answered_408() {
    let Some(()) = available() else { return };
    let mut config = ServerConfig::default();
    config.handshake_timeout = Some(Duration::from_millis(200));
    let (addr, _closed) = echo_server(config);
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut answer = String::new();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
}

#[test]
fn keepalive_pings_come_from_the_driver() {
    let Some(()) = available() else { return };
    let mut config = ServerConfig::default();
    config.config.ping_interval = Some(Duration::from_millis(100));
    let (addr, _closed) = echo_server(config);
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    // No traffic: the server's keepalive Ping arrives (and is answered).
    match ws.read().unwrap() {
        Message::Ping(_) => {}
        other => panic!("expected a keepalive Ping, got {other:?}"),
    }
    ws.send_text("still here").unwrap();
    loop {
        match ws.read().unwrap() {
            Message::Ping(_) => continue,
            m => break assert_eq!(m, Message::Text("still here".into())),
        }
    }
}

#[test]
fn the_example_falls_back_to_epoll_naming_the_reason() {
    // Builds the example with io_uring in (as `cargo test --all-features`
    // built the tests).
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--example", "async_echo_server"])
        .args(["--features", "tokio,uring"])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if cfg!(feature = "rustls") {
        build.args(["--features", "rustls"]);
    }
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    if profile.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success());
    let bin = profile.join("examples/async_echo_server");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new(&bin)
        .arg(format!("127.0.0.1:{port}"))
        .arg("--uring")
        .env("RFC6455_NO_URING", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut log = String::new();
        let mut buf = [0; 256];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            log.push_str(&String::from_utf8_lossy(&buf[..n]));
            if log.contains("listening on") {
                let _ = tx.send(log.clone());
            }
        }
    });
    let log = rx.recv_timeout(Duration::from_secs(30));
    // The epoll server works.
    let echoed = log.is_ok().then(|| {
        let (mut ws, _) = blocking::connect(&format!("ws://127.0.0.1:{port}/")).unwrap();
        ws.send_text("via epoll").unwrap();
        ws.read().unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    let log = log.expect("the example did not start");
    assert!(
        log.contains(
            "io_uring is unavailable: disabled by the environment variable RFC6455_NO_URING"
        ),
        "{log}"
    );
    assert!(log.contains("falling back to epoll"), "{log}");
    assert_eq!(echoed, Some(Message::Text("via epoll".into())));
}
