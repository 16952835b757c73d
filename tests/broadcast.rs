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
use rfc6455::blocking::{self, Error, MaybeTlsStream, WebSocket};
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

/// Held by the tests that push hundreds of megabytes through loopback, so
/// that they do not run at the same time as each other (each runs against
/// both servers).
static HEAVY: Mutex<()> = Mutex::new(());

/// A chat client and the port its name is made of.
fn join(server: &Server) -> (WebSocket<MaybeTlsStream>, u16) {
    let (mut ws, _) = blocking::connect(&server.url()).expect("connect");
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
    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
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

    let (sender_writer, mut sender_reader) = sender.split().unwrap();
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

/// A crowd of clients that complete the handshake and then never read, and
/// a few clients chatting: the chatters must not notice the crowd. Every
/// chat line reaches every chatter, in order and quickly (p99 under 250 ms,
/// none over 1.5 s, loose bounds for a busy machine: a server whose writes
/// wait on the crowd takes seconds, or drops the chatters as too slow), no
/// chatter is dropped, and every member of the crowd is
/// disconnected once it is a bounded amount behind: it is told it left, and
/// what it finally reads is whole chat lines, then a 1008 Close or the end
/// of the connection, a bounded number of bytes in all.
fn a_crowd_that_never_reads_costs_the_chatters_nothing(bin: &str) {
    const CROWD: usize = 200;
    const CHATTERS: usize = 3;
    /// Lines per second from each chatter, and their size: 768 KiB/s for
    /// each member of the crowd, enough to fill its socket buffers (up to
    /// 4 MiB on loopback) and leave it 1 MiB behind within seconds.
    const RATE: u64 = 16;
    const SIZE: usize = 16 << 10;
    /// The chat stops this long after the last member of the crowd left
    /// (but not before `MIN_CHAT`: enough lines for a p99), or at
    /// `CHAT_LIMIT`.
    const AFTER: Duration = Duration::from_secs(1);
    const MIN_CHAT: Duration = Duration::from_secs(5);
    const CHAT_LIMIT: Duration = Duration::from_secs(14);
    /// What a member of the crowd may be sent in all: the kernel's socket
    /// buffers plus the server's 1 MiB allowance, with room to spare.
    const MAX_BYTES: usize = 8 << 20;

    let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start(bin, &["--ping-interval", "0"]);
    let mut chatters = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..CHATTERS {
        let (ws, port) = join(&server);
        chatters.push(ws);
        ports.push(port);
    }
    let crowd: Vec<TcpStream> = (0..CROWD).map(|_| raw_client(server.addr, "/")).collect();
    let crowd_ports: Vec<u16> = crowd
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let left_lines: std::collections::HashSet<String> = crowd_ports
        .iter()
        .map(|p| format!("User{p} left."))
        .collect();
    let left_lines = Arc::new(left_lines);

    let epoch = Instant::now();
    let senders: Vec<String> = ports.iter().map(|p| format!("User{p} says: ")).collect();
    let senders = Arc::new(senders);
    let crowd_gone = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    for (who, ws) in chatters.into_iter().enumerate() {
        let (writer, mut reader) = ws.split().unwrap();
        writers.push(writer);
        let (senders, left_lines) = (Arc::clone(&senders), Arc::clone(&left_lines));
        let crowd_gone = Arc::clone(&crowd_gone);
        readers.push(thread::spawn(move || -> Result<Vec<u64>, String> {
            // Per sender: the next line number expected; `None` once its
            // END arrived.
            let mut next: Vec<Option<u64>> = vec![Some(0); senders.len()];
            let mut latencies = Vec::new();
            let mut left = 0;
            while next.iter().any(Option::is_some) {
                let t = match reader.read() {
                    Ok(Message::Text(t)) => t,
                    Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                    other => return Err(format!("chatter {who}: {other:?}")),
                };
                if left_lines.contains(&t) {
                    left += 1;
                    if who == 0 {
                        crowd_gone.store(left, Ordering::SeqCst);
                    }
                    continue;
                }
                let Some((s, body)) = senders
                    .iter()
                    .enumerate()
                    .find_map(|(i, p)| Some((i, t.strip_prefix(p.as_str())?)))
                else {
                    continue; // arrivals
                };
                let Some(want) = next[s] else {
                    return Err(format!("chatter {who}: line after END: {body:.40}"));
                };
                if body == "END" {
                    next[s] = None;
                    continue;
                }
                let mut fields = body.split(' ');
                let sent: u64 = fields
                    .next()
                    .and_then(|f| f.strip_prefix("t="))
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("chatter {who}: bad line {body:.40}"))?;
                let n: u64 = fields
                    .next()
                    .and_then(|f| f.strip_prefix("n="))
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("chatter {who}: bad line {body:.40}"))?;
                if n != want {
                    return Err(format!(
                        "chatter {who}: from chatter {s}, line {n} arrived, {want} expected"
                    ));
                }
                next[s] = Some(want + 1);
                latencies.push(epoch.elapsed().as_micros() as u64 - sent);
            }
            Ok(latencies)
        }));
    }

    // Every chatter says RATE lines a second until the crowd is gone (and
    // AFTER more), or CHAT_LIMIT.
    let started = Instant::now();
    let mut all_gone: Option<Instant> = None;
    let mut sent = 0u64;
    loop {
        let now = Instant::now();
        if all_gone.is_none() && crowd_gone.load(Ordering::SeqCst) == CROWD {
            all_gone = Some(now);
        }
        if all_gone.is_some_and(|t| now >= t + AFTER && now >= started + MIN_CHAT)
            || now >= started + CHAT_LIMIT
        {
            break;
        }
        let due = started + Duration::from_micros(sent * 1_000_000 / RATE);
        if now < due {
            thread::sleep(due - now);
            continue;
        }
        for (i, w) in writers.iter().enumerate() {
            let head = format!("t={} n={sent} ", epoch.elapsed().as_micros());
            let line = format!("{head}{}", "x".repeat(SIZE - head.len()));
            if let Err(e) = w.send_text(&line) {
                let about: Vec<String> = server
                    .log()
                    .lines()
                    .filter(|l| ports.iter().any(|p| l.contains(&format!("User{p} "))))
                    .map(String::from)
                    .collect();
                panic!(
                    "chatter {i} was dropped after {sent} lines ({e}), {:.1} s into the chat; \
                     the server said of the chatters:\n{}",
                    started.elapsed().as_secs_f64(),
                    about.join("\n")
                );
            }
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
            .unwrap_or_else(|e| panic!("{e} ({sent} lines each); log:\n{}", server.log()));
        assert_eq!(
            got.len() as u64,
            sent * CHATTERS as u64,
            "a chatter missed lines"
        );
        latencies.extend(got);
    }
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = *latencies.last().unwrap();
    let gone = crowd_gone.load(Ordering::SeqCst);
    eprintln!(
        "{bin}: {} lines delivered to {CHATTERS} chatters past {CROWD} stuck clients in \
         {:.1} s: p50 {} ms, p99 {} ms, max {} ms; {gone} stuck clients dropped",
        latencies.len(),
        started.elapsed().as_secs_f64(),
        latencies[latencies.len() / 2] / 1000,
        p99 / 1000,
        max / 1000,
    );
    assert!(
        p99 <= 250_000 && max <= 1_500_000,
        "the chatters waited on the clients that do not read: p99 {} ms, max {} ms",
        p99 / 1000,
        max / 1000
    );
    assert_eq!(
        gone,
        CROWD,
        "only {gone} of the {CROWD} clients that never read were dropped in {} s",
        CHAT_LIMIT.as_secs()
    );
    for p in &crowd_ports {
        assert!(
            server.log_contains(&format!("User{p} is too slow")),
            "User{p} left but was not found too slow; log:\n{}",
            server.log()
        );
    }

    // What a few of the crowd finally read: whole chat lines, then a 1008
    // Close or the end of the connection, and a bounded amount in all.
    for mut s in crowd.into_iter().take(4) {
        s.set_read_timeout(Some(LONG)).unwrap();
        let mut counter = Counting {
            inner: &mut s,
            bytes: 0,
        };
        let mut lines = 0;
        loop {
            match read_frame(&mut counter) {
                Ok(Some(f)) if f.opcode == 0x1 => lines += 1,
                Ok(Some(f)) => {
                    assert_eq!(f.close_code(), 1008, "after {lines} lines: {f:?}");
                    break;
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(
                        !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                        "a dropped client's socket stayed open"
                    );
                    break;
                }
            }
        }
        assert!(
            counter.bytes <= MAX_BYTES,
            "a client that never read was sent {} bytes ({lines} lines) before it was dropped",
            counter.bytes
        );
    }
}

/// A reader that counts the bytes read through it.
struct Counting<'a, R> {
    inner: &'a mut R,
    bytes: usize,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n;
        Ok(n)
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

/// Rooms stay open and each costs the node threads (and Redis connections
/// with `--redis`): past `--max-rooms`, an upgrade naming a new room is
/// refused with 503, while the rooms already open keep working.
fn rooms_past_the_limit_are_refused_with_503(bin: &str) {
    let server = Server::start(bin, &["--max-rooms", "2"]);
    let open = |room: &str| blocking::connect(&format!("ws://{}/room/{room}", server.addr));
    // The seed's room `/` is open from the start: one more fits.
    let (mut a, _) = open("a").expect("a second room");
    match open("b") {
        Err(blocking::Error::Handshake(e)) => {
            assert!(e.to_string().contains("503"), "{e}");
        }
        other => panic!("a third room was not refused with 503: {other:?}"),
    }
    // The log is read by another thread: give it a moment.
    let deadline = Instant::now() + LONG;
    while !server.log_contains("its limit (--max-rooms)") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        server.log_contains("its limit (--max-rooms)"),
        "{}",
        server.log()
    );
    // Open rooms are unaffected.
    let (_again, _) = open("a").expect("the open room still takes clients");
    a.send_text("still here").unwrap();
    let mut said = false;
    for _ in 0..4 {
        if next_text(&mut a).ends_with("says: still here") {
            said = true;
            break;
        }
    }
    assert!(said, "the open room did not carry the line");
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
    let port = ws.get_ref().get_ref().local_addr().unwrap().port();
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

/// Without the `rustls` feature, `--tls-cert`/`--tls-key` stop the chat at
/// start-up with the command line that has the feature (TLS is tested in
/// `tests/broadcast_tls.rs`).
#[cfg(not(feature = "rustls"))]
#[test]
fn tls_flags_without_the_rustls_feature_say_how_to_run() {
    let mut bins = vec![("broadcast", "rustls")];
    if cfg!(feature = "tokio") {
        bins.push(("async_broadcast", "tokio,rustls"));
    }
    for (bin, features) in bins {
        let out = Command::new(chat_binary(bin))
            .args([
                "127.0.0.1:0",
                "--tls-cert",
                "cert.pem",
                "--tls-key",
                "key.pem",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run the chat example");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bin}: {err}");
        let want = format!("cargo run --release --features {features} --example {bin} --");
        assert!(err.contains(&want), "{bin}: {err}");
    }
}

against_both!(
    three_clients_join_chat_and_one_vanishes,
    a_client_that_never_reads_does_not_stall_the_others_and_is_dropped,
    a_crowd_that_never_reads_costs_the_chatters_nothing,
    serves_the_page_over_plain_http_and_404_elsewhere,
    keepalive_pings_clients_that_stay_connected,
    negotiates_deflate_with_a_chromium_offer,
    rooms_past_the_limit_are_refused_with_503,
);
