//! The chat examples over TLS (feature `rustls`): `broadcast` and, with the
//! `tokio` feature, `async_broadcast`, started with `--tls-cert FILE
//! --tls-key FILE` (a CA and a `localhost` certificate made here by
//! `rcgen`, no network), driven over loopback:
//!
//! - the page is served over `https://` and connects back with `wss:` when
//!   loaded over `https:`; two `wss://` clients see the seed's join,
//!   message and leave lines;
//! - the port is TLS only: a `ws://` client fails fast with "the port
//!   serves wss://", a plain HTTP request gets no page;
//! - keepalive pings reach a TLS client that waits in a read, and its
//!   pongs are taken;
//! - a TLS client that never reads does not stall the others, one that
//!   reads slowly gets every line in order, and the one that never reads
//!   is dropped as too slow (1008) and announced as gone; a crowd of 40
//!   that never read costs two chatters little, and is dropped.
#![cfg(feature = "rustls")]

mod examples_bin;
mod net;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use net::{ChildGuard, LONG};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rfc6455::adapter::{tls, ClientConfig, Error};
use rfc6455::blocking::{self, MaybeTlsStream, WebSocket};
use rfc6455::rustls::{self, RootCertStore};
use rfc6455::{CloseCode, Message};

// ---------------------------------------------------------------------------
// A CA, and the PEM files the servers are started with

/// A CA made for the test, and a `localhost` certificate and key signed by
/// it, in PEM files in a directory of the test's own (removed at the end).
struct Pki {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: std::path::PathBuf,
}

impl Pki {
    fn new() -> Pki {
        static N: AtomicUsize = AtomicUsize::new(0);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "rfc6455-broadcast-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem() + &issuer.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        Pki { issuer, dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        roots
    }

    /// A WebSocket client config trusting the CA.
    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::default().with_tls(tls::client_config(self.roots()));
        config.handshake_timeout = Some(LONG);
        config
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// The server

/// A chat example serving TLS; killed when dropped.
struct Server {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pki: Pki,
    _child: ChildGuard,
}

impl Server {
    /// Starts `bin` on an ephemeral port with the certificate and `extra`;
    /// waits for its banner, `BIN: chat on https://ADDR/`.
    fn start(bin: &str, extra: &[&str]) -> Server {
        let pki = Pki::new();
        let mut child = std::process::Command::new(examples_bin::example(bin))
            .arg("127.0.0.1:0")
            .args(["--tls-cert", &pki.path("cert.pem")])
            .args(["--tls-key", &pki.path("key.pem")])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the chat example");
        let stderr = child.stderr.take().unwrap();
        let guard = ChildGuard(child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        let banner = format!("{bin}: chat on https://");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(&banner) {
                    let _ = tx.send(rest.trim_end_matches('/').to_string());
                }
                log2.lock().unwrap().push(line);
            }
        });
        let addr = rx.recv_timeout(LONG).unwrap_or_else(|_| {
            panic!(
                "{bin} did not print an https:// address; it said:\n{}",
                log.lock().unwrap().join("\n")
            )
        });
        Server {
            addr: addr.parse().expect("a socket address"),
            log,
            pki,
            _child: guard,
        }
    }

    fn wss_url(&self) -> String {
        format!("wss://localhost:{}/", self.addr.port())
    }

    fn log_contains(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// `GET path` over HTTPS (rustls' own stream, trusting the CA): the
    /// whole answer.
    fn https_get(&self, path: &str) -> String {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn =
            rustls::ClientConnection::new(tls::client_config(self.pki.roots()), name).unwrap();
        let tcp = TcpStream::connect(self.addr).unwrap();
        tcp.set_read_timeout(Some(LONG)).unwrap();
        let mut https = rustls::StreamOwned::new(conn, tcp);
        write!(https, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        // The server closes with or without a close_notify: both end it.
        let _ = https.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }
}

/// A chat client over `wss://` and the port its name is made of.
fn join(server: &Server) -> (WebSocket<MaybeTlsStream>, u16) {
    let (mut ws, _) = blocking::connect_with(&server.wss_url(), &server.pki.client())
        .unwrap_or_else(|e| panic!("connect: {e}; log:\n{}", server.log()));
    assert!(ws.get_ref().is_tls());
    ws.set_read_timeout(Some(LONG)).unwrap();
    let port = ws.get_ref().get_ref().local_addr().unwrap().port();
    (ws, port)
}

/// The next text message, skipping keepalive pings and pongs.
fn next_text(ws: &mut WebSocket<MaybeTlsStream>) -> String {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => return t,
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

fn expect_line(ws: &mut WebSocket<MaybeTlsStream>, want: &str) {
    assert_eq!(next_text(ws), want);
}

// ---------------------------------------------------------------------------
// The tests (each against both chat servers, see the bottom)

fn serves_the_page_over_https_and_the_chat_over_wss(bin: &str) {
    let server = Server::start(bin, &["--ping-interval", "0"]);
    let page = server.https_get("/");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page:.300}");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-type: text/html; charset=utf-8\r\n"));
    let (_, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(body.contains("new WebSocket"), "{body:.300}");
    // Loaded over https:, the page connects with wss:.
    assert!(
        body.contains(r#"location.protocol === "https:" ? "wss://" : "ws://""#),
        "the page does not pick wss: under https:"
    );
    let missing = server.https_get("/nope");
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing:.200}");

    // Two clients: the seed's join, message and leave lines.
    let (mut a, pa) = join(&server);
    expect_line(&mut a, &format!("User{pa} just connected."));
    let (mut b, pb) = join(&server);
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pb} just connected."));
    }
    a.send_text("hello over TLS ✓").unwrap();
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pa} says: hello over TLS ✓"));
    }
    b.send_text("and back").unwrap();
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pb} says: and back"));
    }
    // A long line: several TLS records.
    let long = "x".repeat(40 << 10);
    b.send_text(&long).unwrap();
    for ws in [&mut a, &mut b] {
        expect_line(ws, &format!("User{pb} says: {long}"));
    }
    // A clean close, and one that vanishes: both are announced.
    b.close(CloseCode::NORMAL, "").unwrap();
    expect_line(&mut a, &format!("User{pb} left."));
    let (c, pc) = join(&server);
    expect_line(&mut a, &format!("User{pc} just connected."));
    drop(c);
    expect_line(&mut a, &format!("User{pc} left."));
    a.close(CloseCode::NORMAL, "").unwrap();
    assert!(
        server.log_contains(&format!("User{pa} connected")),
        "{}",
        server.log()
    );
}

fn the_port_serves_tls_only(bin: &str) {
    let server = Server::start(bin, &["--ping-interval", "0"]);
    // ws:// to the TLS port fails fast and says why.
    let started = Instant::now();
    let url = format!("ws://localhost:{}/", server.addr.port());
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(LONG);
    let err = blocking::connect_with(&url, &config)
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, Error::TlsServer { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Plain HTTP gets no page: only the end of the connection (or a TLS
    // alert), never an HTTP answer.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // And the server goes on serving TLS clients.
    let (mut a, pa) = join(&server);
    expect_line(&mut a, &format!("User{pa} just connected."));
}

fn keepalive_pings_reach_a_tls_client(bin: &str) {
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

/// The content of chat message `i` in the slow-client test.
fn bulk_line(i: usize) -> String {
    let c = (b'a' + (i % 26) as u8) as char;
    format!("m{i}:{}", c.to_string().repeat(8 << 10))
}

/// A TLS client that never reads, one that reads slowly, and a sender: the
/// stuck one must not stall the others, the slow one must get every line
/// in order (its records are written as its socket takes them), and the
/// stuck one is dropped once it is too far behind, told why (1008) if
/// the Close frame gets through, and announced as gone.
fn a_tls_client_that_never_reads_is_dropped_and_a_slow_one_is_not(bin: &str) {
    const WINDOW: usize = 32; // lines in flight: 256 KiB, far below the 1 MiB cap
    const MAX: usize = 2500; // ~20 MiB: much more than the stuck socket can buffer
    const WATCH: Duration = Duration::from_secs(8);
    let server = Server::start(bin, &["--ping-interval", "0"]);
    let (mut sender, ps) = join(&server);
    expect_line(&mut sender, &format!("User{ps} just connected."));
    let (mut slow, pw) = join(&server);
    for ws in [&mut sender, &mut slow] {
        expect_line(ws, &format!("User{pw} just connected."));
    }
    // The stuck client: TLS and the upgrade, then it never reads.
    let (stuck, pstuck) = join(&server);
    for ws in [&mut sender, &mut slow] {
        expect_line(ws, &format!("User{pstuck} just connected."));
    }

    let (sender_writer, mut sender_reader) = sender.split().unwrap();
    let progress = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let left_seen = Arc::new(AtomicBool::new(false));
    let prefix = format!("User{ps} says: ");
    let left_line = format!("User{pstuck} left.");

    // Both readers check every line, in order; reader 1 dawdles.
    let spawn_reader = |who: usize, mut read: Box<dyn FnMut() -> Result<Message, Error> + Send>| {
        let (progress, left_seen) = (Arc::clone(&progress), Arc::clone(&left_seen));
        let (prefix, left_line) = (prefix.clone(), left_line.clone());
        thread::spawn(move || -> Result<(usize, bool), String> {
            let mut next = 0;
            let mut saw_left = false;
            loop {
                let t = match read() {
                    Ok(Message::Text(t)) => t,
                    Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                    other => return Err(format!("reader {who} after {next} lines: {other:?}")),
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
                    if who == 0 || saw_left {
                        return Ok((next, saw_left));
                    }
                    // The slow reader stays until the stuck client's
                    // departure is announced (or its read timeout expires).
                    loop {
                        match read() {
                            Ok(Message::Text(t)) if t == left_line => return Ok((next, true)),
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
                if who == 1 && next % 8 == 0 {
                    thread::sleep(Duration::from_millis(2));
                }
            }
        })
    };
    let r0 = spawn_reader(0, Box::new(move || sender_reader.read()));
    slow.set_read_timeout(Some(WATCH)).unwrap();
    let r1 = spawn_reader(1, Box::new(move || slow.read()));

    let deadline = Instant::now() + Duration::from_secs(60);
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
    assert!(
        !server.log_contains(&format!("User{pw} is too slow")),
        "the slow reader was dropped; log:\n{}",
        server.log()
    );
    assert!(
        left0 || left1,
        "the server found User{pstuck} too slow but did not disconnect it: no \"{left_line}\" \
         within {} s after the last line; log:\n{}",
        WATCH.as_secs(),
        server.log()
    );

    // What the stuck client finally reads: whole chat lines (TLS records
    // intact), then a Close with 1008, or the end of the connection.
    let mut stuck = stuck;
    let mut lines = 0;
    loop {
        match stuck.read() {
            Ok(Message::Text(t)) if t.ends_with(" just connected.") => {}
            Ok(Message::Text(t)) => {
                assert!(t.starts_with(&prefix), "{t:.80}");
                lines += 1;
            }
            Ok(Message::Close(frame)) => {
                let code = frame.and_then(|f| f.code).map(u16::from);
                assert_eq!(code, Some(1008), "after {lines} lines");
                eprintln!("{bin}: the stuck TLS client was told 1008");
                break;
            }
            Ok(other) => panic!("after {lines} lines: {other:?}"),
            Err(e) => {
                assert!(!e.is_would_block(), "the stuck socket stayed open");
                break;
            }
        }
    }
    eprintln!("{bin}: the stuck TLS client read {lines} of {sent} lines before it was dropped");
    assert!(lines < sent, "the stuck client was sent every line");
}

/// A crowd of TLS clients that never read, and two chatting: every line
/// reaches both chatters in order and quickly (loose bounds for a busy
/// machine: a server whose writes wait on the crowd takes seconds), and
/// every member of the crowd is found too slow and dropped.
fn a_crowd_of_tls_clients_that_never_read_costs_the_chatters_little(bin: &str) {
    const CROWD: usize = 40;
    const RATE: u64 = 16; // lines per second per chatter
    const SIZE: usize = 16 << 10;
    const CHAT_LIMIT: Duration = Duration::from_secs(20);
    let server = Server::start(bin, &["--ping-interval", "0"]);
    let mut chatters = Vec::new();
    for _ in 0..2 {
        chatters.push(join(&server));
    }
    let crowd: Vec<(WebSocket<MaybeTlsStream>, u16)> = (0..CROWD).map(|_| join(&server)).collect();
    let gone_lines: Arc<Vec<String>> = Arc::new(
        crowd
            .iter()
            .map(|(_, p)| format!("User{p} left."))
            .collect(),
    );
    let prefixes: Arc<Vec<String>> = Arc::new(
        chatters
            .iter()
            .map(|(_, p)| format!("User{p} says: "))
            .collect(),
    );
    let epoch = Instant::now();
    let gone = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for (who, (ws, _)) in chatters.into_iter().enumerate() {
        let (writer, mut reader) = ws.split().unwrap();
        writers.push(writer);
        let (gone_lines, prefixes, gone) = (
            Arc::clone(&gone_lines),
            Arc::clone(&prefixes),
            Arc::clone(&gone),
        );
        readers.push(thread::spawn(move || -> Result<Vec<u64>, String> {
            let mut next = [Some(0u64), Some(0)];
            let mut latencies = Vec::new();
            let mut left = 0;
            while next.iter().any(Option::is_some) {
                let t = match reader.read() {
                    Ok(Message::Text(t)) => t,
                    Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                    other => return Err(format!("chatter {who}: {other:?}")),
                };
                if gone_lines.contains(&t) {
                    left += 1;
                    if who == 0 {
                        gone.store(left, Ordering::SeqCst);
                    }
                    continue;
                }
                let Some((s, body)) = prefixes
                    .iter()
                    .enumerate()
                    .find_map(|(i, p)| Some((i, t.strip_prefix(p.as_str())?)))
                else {
                    continue; // arrivals
                };
                if body == "END" {
                    next[s] = None;
                    continue;
                }
                let (sent, n) = body
                    .split_once(' ')
                    .and_then(|(t, rest)| Some((t.parse::<u64>().ok()?, rest.split_once(' ')?.0)))
                    .and_then(|(t, n)| Some((t, n.parse::<u64>().ok()?)))
                    .ok_or_else(|| format!("chatter {who}: bad line {body:.40}"))?;
                if Some(n) != next[s] {
                    return Err(format!(
                        "chatter {who}: line {n} from {s}, {:?} expected",
                        next[s]
                    ));
                }
                next[s] = Some(n + 1);
                latencies.push(epoch.elapsed().as_micros() as u64 - sent);
            }
            Ok(latencies)
        }));
    }
    let started = Instant::now();
    let mut sent = 0u64;
    while gone.load(Ordering::SeqCst) < CROWD && started.elapsed() < CHAT_LIMIT {
        let due = started + Duration::from_micros(sent * 1_000_000 / RATE);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        for w in &writers {
            let head = format!("{} {sent} ", epoch.elapsed().as_micros());
            w.send_text(&format!("{head}{}", "x".repeat(SIZE - head.len())))
                .unwrap_or_else(|e| panic!("a chatter was dropped ({e}); log:\n{}", server.log()));
        }
        sent += 1;
    }
    for w in &writers {
        w.send_text("END").unwrap();
    }
    let mut latencies = Vec::new();
    for r in readers {
        let got = r
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}; log:\n{}", server.log()));
        assert_eq!(got.len() as u64, 2 * sent, "a chatter missed lines");
        latencies.extend(got);
    }
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = *latencies.last().unwrap();
    eprintln!(
        "{bin}: {} lines to 2 TLS chatters past {CROWD} stuck TLS clients in {:.1} s: p99 {} ms, \
         max {} ms; {} stuck clients dropped",
        latencies.len(),
        started.elapsed().as_secs_f64(),
        p99 / 1000,
        max / 1000,
        gone.load(Ordering::SeqCst)
    );
    assert!(
        p99 <= 1_000_000 && max <= 2_000_000,
        "the chatters waited on the clients that do not read: p99 {} ms, max {} ms",
        p99 / 1000,
        max / 1000
    );
    assert_eq!(gone.load(Ordering::SeqCst), CROWD, "log:\n{}", server.log());
    for (_, p) in &crowd {
        assert!(
            server.log_contains(&format!("User{p} is too slow")),
            "User{p} left but was not found too slow; log:\n{}",
            server.log()
        );
    }
}

/// Every test runs against both chat servers: the blocking `broadcast` and,
/// with the `tokio` feature, `async_broadcast`.
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
    serves_the_page_over_https_and_the_chat_over_wss,
    the_port_serves_tls_only,
    keepalive_pings_reach_a_tls_client,
    a_tls_client_that_never_reads_is_dropped_and_a_slow_one_is_not,
    a_crowd_of_tls_clients_that_never_read_costs_the_chatters_little,
);
