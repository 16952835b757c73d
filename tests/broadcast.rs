//! The chat examples (`broadcast`, and `async_broadcast` with the `tokio`
//! feature), run as processes and driven over loopback with the blocking
//! client and raw sockets.

mod net;

mod examples_bin;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use net::{raw_client, read_frame, ChildGuard, LONG};
use rfc6455::blocking::{self, Error, WebSocket};
use rfc6455::{CloseCode, Message};

/// The broadcast example's binary (built on first use).
/// The chat example `bin`'s binary (built on first use): `broadcast` or
/// `async_broadcast`.
fn chat_binary(bin: &str) -> PathBuf {
    examples_bin::example(bin)
}

/// A running broadcast server; killed when dropped.
struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _child: ChildGuard,
}

impl Server {
    fn start(bin: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(chat_binary(bin))
            .arg("127.0.0.1:0")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the broadcast example");
        let stderr = child.stderr.take().unwrap();
        let guard = ChildGuard(child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        // Keep draining stderr (the server logs every connect) into `log`.
        let banner = format!("{bin}: chat on http://");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(&banner) {
                    let _ = tx.send(rest.trim_end_matches('/').to_string());
                }
                log2.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(LONG)
            .expect("the server did not print its address");
        Server {
            addr: addr.parse().expect("a socket address"),
            log,
            _child: guard,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// A chat client and the port its name is made of.
fn join(server: &Server) -> (WebSocket<TcpStream>, u16) {
    let (mut ws, _) = blocking::connect(&server.url()).expect("connect");
    ws.set_read_timeout(Some(LONG)).unwrap();
    let port = ws.get_ref().local_addr().unwrap().port();
    (ws, port)
}

/// The next text message, skipping keepalive pings and pongs.
fn next_text(ws: &mut WebSocket<TcpStream>) -> String {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return t,
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

fn expect_line(ws: &mut WebSocket<TcpStream>, want: &str) {
    let got = next_text(ws);
    assert_eq!(got, want);
}

fn three_clients_join_chat_and_one_vanishes(bin: &str) {
    let server = Server::start(bin, &[]);
    let (mut a, pa) = join(&server);
    expect_line(&mut a, &format!("User{pa} just connected."));
    let (mut b, pb) = join(&server);
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pb} just connected."));
    }
    let (mut c, pc) = join(&server);
    for ws in [&mut a, &mut b, &mut c] {
        expect_line(ws, &format!("User{pc} just connected."));
    }

    // Every line reaches everyone, the sender included.
    for (i, port) in [(0, pa), (1, pb), (2, pc)] {
        let text = format!("hello from client {i} ✓");
        [&mut a, &mut b, &mut c][i].send_text(&text).unwrap();
        for ws in [&mut a, &mut b, &mut c] {
            expect_line(ws, &format!("User{port} says: {text}"));
        }
    }

    // Client c disappears without a closing handshake.
    drop(c);
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pc} left."));
    }

    // The others carry on.
    // (One at a time: lines from two senders race each other.)
    a.send_text("still here").unwrap();
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pa} says: still here"));
    }
    b.send_text("me too").unwrap();
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pb} says: me too"));
    }

    // A clean close is announced too.
    b.close(CloseCode::NORMAL, "").unwrap();
    expect_line(&mut a, &format!("User{pb} left."));
    a.close(CloseCode::NORMAL, "").unwrap();
}

/// The content of chat message `i` in the slow-client test.
fn bulk_line(i: usize) -> String {
    let c = (b'a' + (i % 26) as u8) as char;
    format!("m{i}:{}", c.to_string().repeat(8 << 10))
}

fn a_client_that_never_reads_does_not_stall_the_others_and_is_dropped(bin: &str) {
    const WINDOW: usize = 32; // messages in flight: 256 KiB, far below the 1 MiB cap
    const MAX: usize = 2500; // ~20 MiB: much more than the stuck socket can buffer
    const WATCH: Duration = Duration::from_secs(8);
    let server = Server::start(bin, &[]);
    let (mut sender, ps) = join(&server);
    expect_line(&mut sender, &format!("User{ps} just connected."));
    let (mut watcher, pw) = join(&server);
    for ws in [&mut sender, &mut watcher] {
        expect_line(ws, &format!("User{pw} just connected."));
    }
    // The stuck client: completes the handshake, then never reads.
    let stuck = raw_client(server.addr, "/");
    let pstuck = stuck.local_addr().unwrap().port();
    for ws in [&mut sender, &mut watcher] {
        expect_line(ws, &format!("User{pstuck} just connected."));
    }

    let (mut sender_reader, sender_writer) = sender.split().unwrap();
    let progress = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let left_seen = Arc::new(AtomicBool::new(false));
    let prefix = format!("User{ps} says: ");
    let left_line = format!("User{pstuck} left.");

    // Both active clients check every line, in order.
    let spawn_reader = |who: usize, mut read: Box<dyn FnMut() -> Result<Message, Error> + Send>| {
        let (progress, left_seen) = (Arc::clone(&progress), Arc::clone(&left_seen));
        let (prefix, left_line) = (prefix.clone(), left_line.clone());
        thread::spawn(move || {
            let mut next = 0;
            let mut saw_left = false;
            loop {
                let t = match read() {
                    Ok(Message::Text(t)) => t,
                    Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                    other => {
                        let e = format!("reader {who} after {next} lines: {other:?}");
                        eprintln!("{e}");
                        return Err(e);
                    }
                };
                if t == left_line {
                    saw_left = true;
                    left_seen.store(true, Ordering::SeqCst);
                    continue;
                }
                let Some(body) = t.strip_prefix(&prefix) else {
                    return Err(format!("reader {who}: unexpected line {t:.80}"));
                };
                if body == "END" {
                    // The watcher stays until the stuck client's departure
                    // is announced (or its read timeout expires).
                    if who == 0 || saw_left {
                        return Ok((next, saw_left));
                    }
                    loop {
                        match read() {
                            Ok(Message::Text(t)) if t == left_line => {
                                left_seen.store(true, Ordering::SeqCst);
                                return Ok((next, true));
                            }
                            Ok(Message::Text(t)) => {
                                return Err(format!("reader {who}: unexpected {t:.80}"))
                            }
                            Ok(_) => {}
                            Err(_) => return Ok((next, false)),
                        }
                    }
                }
                if body != bulk_line(next) {
                    return Err(format!(
                        "reader {who}: line {next} missing, corrupted or out of order: {body:.40}"
                    ));
                }
                next += 1;
                progress[who].store(next, Ordering::SeqCst);
            }
        })
    };
    let r0 = spawn_reader(0, Box::new(move || sender_reader.read()));
    watcher.set_read_timeout(Some(WATCH)).unwrap();
    let r1 = spawn_reader(1, Box::new(move || watcher.read()));

    let deadline = Instant::now() + Duration::from_secs(40);
    let mut sent = 0;
    let mut after_drop = 0;
    while sent < MAX && after_drop < 20 {
        while sent
            >= WINDOW
                + progress
                    .iter()
                    .map(|p| p.load(Ordering::SeqCst))
                    .min()
                    .unwrap()
        {
            assert!(
                Instant::now() < deadline,
                "the active clients stalled after {sent} lines; log:\n{}",
                server.log()
            );
            thread::sleep(Duration::from_millis(1));
        }
        sender_writer.send_text(&bulk_line(sent)).unwrap();
        sent += 1;
        if left_seen.load(Ordering::SeqCst) || server.log_contains("is too slow") {
            after_drop += 1;
        }
    }
    sender_writer.send_text("END").unwrap();
    let results = [r0.join().unwrap(), r1.join().unwrap()];
    let [(n0, left0), (n1, left1)] = results
        .map(|r| r.unwrap_or_else(|e| panic!("{e} (after {sent} sent); log:\n{}", server.log())));
    assert_eq!(
        (n0, n1),
        (sent, sent),
        "every line reached both active clients"
    );
    assert!(
        server.log_contains(&format!("User{pstuck} is too slow")),
        "the stuck client was never found too slow after {sent} lines of 8 KiB; log:\n{}",
        server.log()
    );

    // The stuck client must be disconnected, and everyone told, while it
    // still does not read.
    assert!(
        left0 || left1,
        "the server found User{pstuck} too slow but did not disconnect it: no \"{left_line}\" \
         within {} s after the last line; log:\n{}",
        WATCH.as_secs(),
        server.log()
    );

    // What the stuck client finally reads: whole chat lines, then the end of
    // the connection (a Close frame, if one made it through, says 1008).
    let mut stuck = stuck;
    stuck.set_read_timeout(Some(LONG)).unwrap();
    let mut lines = 0;
    loop {
        match read_frame(&mut stuck) {
            Ok(Some(f)) if f.opcode == 0x1 => lines += 1,
            Ok(Some(f)) => {
                assert_eq!(f.close_code(), 1008, "after {lines} lines: {f:?}");
                break;
            }
            Ok(None) => break,
            Err(e) => {
                assert_ne!(
                    e.kind(),
                    ErrorKind::WouldBlock,
                    "the stuck socket stayed open"
                );
                assert_ne!(
                    e.kind(),
                    ErrorKind::TimedOut,
                    "the stuck socket stayed open"
                );
                break;
            }
        }
    }
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn serves_the_page_over_plain_http_and_404_elsewhere(bin: &str) {
    let server = Server::start(bin, &[]);
    let page = http_get(server.addr, "/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page:.200}");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-type: text/html; charset=utf-8\r\n"));
    let (_, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(body.contains("new WebSocket"), "{body:.300}");
    let head_len = page.len() - body.len();
    let len_line = page[..head_len]
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(String::from)
        })
        .expect("Content-Length");
    assert_eq!(len_line.trim().parse::<usize>().unwrap(), body.len());

    let missing = http_get(server.addr, "/nope");
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing:.200}");
}

/// With `--ping-interval 0.3` a client is pinged and, answering, stays in.
/// (Dropping a client that never answers takes `pong_timeout`, the Config
/// default of 20 s, which the example does not expose: not tested here.)
fn keepalive_pings_clients_that_stay_connected(bin: &str) {
    let server = Server::start(bin, &["--ping-interval", "0.3"]);
    let (mut ws, port) = join(&server);
    let mut pings = 0;
    let mut lines = Vec::new();
    while pings < 3 {
        match ws.read().expect("read") {
            Message::Ping(p) => {
                assert!(p.len() <= 125);
                pings += 1;
            }
            Message::Text(t) => lines.push(t),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(lines, [format!("User{port} just connected.")]);
    ws.send_text("alive").unwrap();
    expect_line(&mut ws, &format!("User{port} says: alive"));
    ws.close(CloseCode::NORMAL, "").unwrap();
}

/// The chat negotiates permessage-deflate with browsers: Chromium offers
/// `permessage-deflate; client_max_window_bits`. A client making exactly that
/// offer gets it accepted, and its compressed messages are chatted.
fn negotiates_deflate_with_a_chromium_offer(bin: &str) {
    let server = Server::start(bin, &["--ping-interval", "0"]);
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = false;
    deflate.threshold = 0;
    assert_eq!(
        deflate.client_offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let mut config = blocking::ClientConfig::default();
    config.deflate = Some(deflate);
    let (mut ws, response) = blocking::connect_with(&server.url(), &config).expect("connect");
    let answer = response
        .header("sec-websocket-extensions")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    assert!(
        answer.starts_with("permessage-deflate"),
        "answer: {answer:?}"
    );
    assert!(ws.connection().deflate_enabled());
    let port = ws.get_ref().local_addr().unwrap().port();
    expect_line(&mut ws, &format!("User{port} just connected."));
    let line = "hello, compressed ".repeat(20);
    ws.send_text(&line).unwrap();
    expect_line(&mut ws, &format!("User{port} says: {line}"));
}

/// Every test runs against both chat servers: the blocking `broadcast` and,
/// with the `tokio` feature, `async_broadcast` (same strings, same limits).
macro_rules! against_both {
    ($($name:ident),* $(,)?) => {
        mod blocking_chat {
            $( #[test] fn $name() { super::$name("broadcast") } )*
        }
        #[cfg(feature = "tokio")]
        mod async_chat {
            $( #[test] fn $name() { super::$name("async_broadcast") } )*
        }
    };
}

against_both!(
    three_clients_join_chat_and_one_vanishes,
    a_client_that_never_reads_does_not_stall_the_others_and_is_dropped,
    serves_the_page_over_plain_http_and_404_elsewhere,
    keepalive_pings_clients_that_stay_connected,
    negotiates_deflate_with_a_chromium_offer,
);
