//! The proxy example, run as a process in front of the echo_server and
//! broadcast examples and of small upstreams written here, and driven over
//! loopback with the blocking client.

mod examples_bin;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::blocking::{self, ClientConfig, Error, MaybeTlsStream, ServerConfig, WebSocket};
use rfc6455::close::OwnedCloseFrame;
use rfc6455::handshake::{Accept, ClientOptions};
use rfc6455::{CloseCode, Message, MessageKind};

/// An upper bound on any single wait, so that a bug fails instead of hanging.
const LONG: Duration = Duration::from_secs(20);

use examples_bin::example;

/// A running example process, killed when dropped. Its stderr is collected.
struct Proc {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Starts example `name` with `args` and waits for the stderr line
    /// starting with `prefix`, followed by the address it listens on.
    fn start(name: &str, args: &[&str], prefix: &'static str) -> Proc {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(prefix) {
                    let addr = rest.split(['/', ' ']).next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                log2.lock().unwrap().push(line);
            }
        });
        let proc_ = |addr: SocketAddr| Proc {
            child,
            addr,
            log: Arc::clone(&log),
        };
        match rx.recv_timeout(LONG) {
            Ok(addr) => proc_(addr.parse().expect("a socket address")),
            Err(_) => {
                let mut p = proc_("0.0.0.0:0".parse().unwrap());
                let _ = p.child.kill();
                panic!("{name} did not print its address:\n{}", p.log());
            }
        }
    }

    fn echo_server() -> Proc {
        Proc::start(
            "echo_server",
            &["127.0.0.1:0"],
            "echo_server listening on ws://",
        )
    }

    fn broadcast() -> Proc {
        Proc::start(
            "broadcast",
            &["127.0.0.1:0", "--ping-interval", "0"],
            "broadcast: chat on http://",
        )
    }

    fn proxy(upstream: &str) -> Proc {
        Proc::start(
            "proxy",
            &["127.0.0.1:0", upstream],
            "proxy listening on ws://",
        )
    }

    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// A field of `/proc/PID/status`, in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/PID/status"))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Client settings: 64 MiB messages, no compression.
fn client_config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.config.max_message_size = 64 << 20;
    c.config.max_frame_size = 64 << 20;
    c
}

/// Connects through the proxy with a read timeout.
fn connect(url: &str) -> WebSocket<MaybeTlsStream> {
    connect_with(url, &client_config())
}

fn connect_with(url: &str, config: &ClientConfig) -> WebSocket<MaybeTlsStream> {
    let (mut ws, _) = blocking::connect_with(url, config).expect("connect through the proxy");
    ws.set_read_timeout(Some(LONG)).unwrap();
    ws
}

/// The next message that is not a Ping or Pong; counts the pongs seen.
fn next_data(ws: &mut WebSocket<MaybeTlsStream>, pongs: &mut usize) -> Message {
    loop {
        match ws.read() {
            Ok(Message::Pong(_)) => *pongs += 1,
            Ok(Message::Ping(_)) => {}
            Ok(m) => return m,
            Err(e) => panic!("expected a message, got {e}"),
        }
    }
}

fn next_text(ws: &mut WebSocket<MaybeTlsStream>) -> String {
    match next_data(ws, &mut 0) {
        Message::Text(t) => t,
        other => panic!("expected text, got {other:?}"),
    }
}

/// The Close frame the peer sends next (data messages are skipped).
fn next_close(ws: &mut WebSocket<MaybeTlsStream>) -> OwnedCloseFrame {
    loop {
        match ws.read() {
            Ok(Message::Close(Some(c))) => return c,
            Ok(Message::Close(None)) => panic!("empty Close frame"),
            Ok(_) => {}
            Err(e) => panic!("expected a Close frame, got {e}"),
        }
    }
}

/// Reads until the connection is over (the closing handshake's end).
fn read_to_end(ws: &mut WebSocket<MaybeTlsStream>) {
    let deadline = Instant::now() + LONG;
    while Instant::now() < deadline {
        match ws.read() {
            Ok(_) => {}
            Err(Error::ConnectionClosed) => return,
            Err(e) => panic!("expected the end of the connection, got {e}"),
        }
    }
    panic!("the connection did not end");
}

#[test]
fn two_clients_chat_through_the_proxy() {
    let chat = Proc::broadcast();
    let proxy = Proc::proxy(&chat.ws_url("/"));
    let mut a = connect(&proxy.ws_url("/"));
    // Names come from the proxy's upstream-side ports, which the clients do
    // not know: learn them from the join notices.
    let joined = next_text(&mut a);
    let name_a = joined
        .strip_suffix(" just connected.")
        .unwrap_or_else(|| panic!("a join notice, got {joined:?}"))
        .to_string();
    assert!(name_a.starts_with("User"), "{name_a}");
    let mut b = connect(&proxy.ws_url("/"));
    let joined_b = next_text(&mut b);
    let name_b = joined_b
        .strip_suffix(" just connected.")
        .unwrap_or_else(|| panic!("a join notice, got {joined_b:?}"))
        .to_string();
    assert_ne!(name_a, name_b);
    assert_eq!(next_text(&mut a), joined_b);

    a.send_text("hello from a ✓").unwrap();
    for ws in [&mut a, &mut b] {
        assert_eq!(next_text(ws), format!("{name_a} says: hello from a ✓"));
    }
    b.send_text("hi a, b here").unwrap();
    for ws in [&mut a, &mut b] {
        assert_eq!(next_text(ws), format!("{name_b} says: hi a, b here"));
    }

    // A clean close through the proxy is a clean close upstream.
    b.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(next_text(&mut a), format!("{name_b} left."));
    a.close(CloseCode::NORMAL, "").unwrap();
    let log = proxy.log();
    assert!(log.contains("connected ->"), "{log}");
}

#[test]
fn large_and_fragmented_messages_pass_intact_in_bounded_memory() {
    let echo = Proc::echo_server();
    let proxy = Proc::proxy(&echo.ws_url("/"));
    let mut ws = connect(&proxy.ws_url("/"));

    // Warm up (threads, buffers) before taking the baseline.
    ws.send_text("warm-up").unwrap();
    assert_eq!(next_data(&mut ws, &mut 0), Message::Text("warm-up".into()));
    ws.send_binary(&vec![7u8; 256 << 10]).unwrap();
    assert!(matches!(next_data(&mut ws, &mut 0), Message::Binary(b) if b.len() == 256 << 10));
    let before = proxy.status_kib("VmRSS");

    // Sample the proxy's resident size while 16 MiB go through it both ways.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before));
    let pid = proxy.child.id();
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    if let Some(kib) = s
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
                thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let big: Vec<u8> = (0..16u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let started = Instant::now();
    ws.send_binary(&big).unwrap();
    let echoed = next_data(&mut ws, &mut 0);
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    match echoed {
        Message::Binary(b) => {
            assert_eq!(b.len(), big.len());
            assert!(b == big, "the 16 MiB message was corrupted");
        }
        other => panic!("expected the binary echo, got {:?}", other.is_data()),
    }
    let hwm = proxy.status_kib("VmHWM");
    let sampled = peak.load(Ordering::Relaxed);
    let growth = hwm.max(sampled).saturating_sub(before);
    eprintln!(
        "16 MiB round trip in {elapsed:?}; proxy VmRSS before {before} KiB, \
         sampled peak {sampled} KiB, VmHWM {hwm} KiB (growth {growth} KiB)"
    );
    assert!(
        growth < 8 << 10,
        "the proxy grew by {growth} KiB relaying a 16 MiB message: it must not reassemble"
    );

    // Text split inside code points, with a Ping between the fragments: the
    // Ping is answered by the proxy's client leg, the text arrives whole.
    let text = "héllo wörld – €uro 𝄞 ✓ fin";
    let bytes = text.as_bytes();
    let pieces: Vec<&[u8]> = bytes.chunks(3).collect();
    assert!(pieces.iter().any(|p| std::str::from_utf8(p).is_err()));
    for (i, p) in pieces.iter().enumerate() {
        ws.send_fragment(MessageKind::Text, p, i + 1 == pieces.len())
            .unwrap();
        if i == 2 {
            ws.send_ping(b"mid-message").unwrap();
        }
    }
    let mut pongs = 0;
    assert_eq!(next_data(&mut ws, &mut pongs), Message::Text(text.into()));
    assert_eq!(pongs, 1, "the Ping was answered once");

    // Fragmented binary, including an empty fragment and a large one.
    let parts: [Vec<u8>; 4] = [vec![1; 10], vec![], vec![2; 300_000], vec![3; 5]];
    for (i, p) in parts.iter().enumerate() {
        ws.send_fragment(MessageKind::Binary, p, i == parts.len() - 1)
            .unwrap();
    }
    assert_eq!(next_data(&mut ws, &mut 0), Message::Binary(parts.concat()));

    // Empty messages.
    ws.send_text("").unwrap();
    assert_eq!(next_data(&mut ws, &mut 0), Message::Text(String::new()));
    ws.send_binary(&[]).unwrap();
    assert_eq!(next_data(&mut ws, &mut 0), Message::Binary(Vec::new()));

    ws.close(CloseCode::NORMAL, "done").unwrap();
}

#[test]
fn killing_the_upstream_gives_the_client_1001() {
    let mut echo = Proc::echo_server();
    let proxy = Proc::proxy(&echo.ws_url("/"));
    let mut ws = connect(&proxy.ws_url("/"));
    ws.send_text("are you there?").unwrap();
    assert_eq!(next_text(&mut ws), "are you there?");
    echo.kill();
    let close = next_close(&mut ws);
    assert_eq!(close.code, Some(CloseCode::GOING_AWAY), "{close:?}");
    read_to_end(&mut ws);
}

/// What an upstream written for these tests saw.
#[derive(Debug, Default)]
struct Seen {
    target: String,
    forwarded_for: Option<String>,
    origin: Option<String>,
    subprotocols: Vec<String>,
    close: Option<Option<OwnedCloseFrame>>,
}

/// An upstream for one connection: records the request, picks subprotocol
/// `v2` if offered, echoes text, and on the text `close please` closes
/// with 4002 `upstream done`. What it saw is sent on the channel when the
/// connection ends.
fn recording_upstream() -> (SocketAddr, mpsc::Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let incoming = blocking::read_request(stream, &ServerConfig::default()).unwrap();
        let r = incoming.request();
        let mut seen = Seen {
            target: r.target().to_string(),
            forwarded_for: r.headers().get_str("x-forwarded-for").map(String::from),
            origin: r.origin().map(String::from),
            subprotocols: r.subprotocols().map(String::from).collect(),
            ..Seen::default()
        };
        let pick = seen.subprotocols.iter().any(|p| p == "v2");
        let accept = if pick {
            Accept::new().subprotocol("v2")
        } else {
            Accept::new()
        };
        let mut ws = incoming.accept(&accept).unwrap();
        ws.set_read_timeout(Some(LONG)).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Text(t)) if t == "close please" => {
                    let _ = ws.close(CloseCode::new(4002), "upstream done");
                    break;
                }
                Ok(Message::Text(t)) => {
                    if ws.send_text(&t).is_err() {
                        break;
                    }
                }
                Ok(Message::Close(c)) => seen.close = Some(c),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(seen);
    });
    (addr, rx)
}

#[test]
fn the_request_and_the_clients_close_code_reach_the_upstream() {
    let (up, seen) = recording_upstream();
    let proxy = Proc::proxy(&format!("ws://{up}/base"));
    let mut config = client_config();
    config.options = ClientOptions::new()
        .subprotocol("v1")
        .subprotocol("v2")
        .origin("http://example.test");
    let url = proxy.ws_url("/room/7?user=ann&x=1");
    let (mut ws, response) = blocking::connect_with(&url, &config).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    assert_eq!(
        response.subprotocol(),
        Some("v2"),
        "the upstream's pick reaches the client"
    );
    ws.send_text("ping through").unwrap();
    assert_eq!(next_text(&mut ws), "ping through");
    ws.close(CloseCode::new(4001), "client leaving").unwrap();

    let seen = seen.recv_timeout(LONG).expect("the upstream's record");
    assert_eq!(seen.target, "/base/room/7?user=ann&x=1");
    assert_eq!(seen.forwarded_for.as_deref(), Some("127.0.0.1"));
    assert_eq!(seen.origin.as_deref(), Some("http://example.test"));
    assert_eq!(seen.subprotocols, ["v1", "v2"]);
    let close = seen.close.expect("a Close frame").expect("with a code");
    assert_eq!(close.code, Some(CloseCode::new(4001)));
    assert_eq!(close.reason, "client leaving");
}

#[test]
fn the_upstreams_close_code_reaches_the_client() {
    let (up, seen) = recording_upstream();
    let proxy = Proc::proxy(&format!("ws://{up}"));
    let mut ws = connect(&proxy.ws_url("/"));
    ws.send_text("close please").unwrap();
    let close = next_close(&mut ws);
    assert_eq!(close.code, Some(CloseCode::new(4002)));
    assert_eq!(close.reason, "upstream done");
    read_to_end(&mut ws);
    let seen = seen.recv_timeout(LONG).expect("the upstream's record");
    assert_eq!(seen.target, "/");
    assert!(seen.subprotocols.is_empty());
}

#[test]
fn an_upstream_protocol_error_gives_the_client_1011() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept(stream).unwrap();
        // A text frame that is not UTF-8, written under the connection.
        ws.get_mut().write_all(&[0x81, 0x02, 0xc3, 0x28]).unwrap();
        ws.set_read_timeout(Some(LONG)).unwrap();
        while ws.read().is_ok() {}
    });
    let proxy = Proc::proxy(&format!("ws://{up}/"));
    let mut ws = connect(&proxy.ws_url("/"));
    let close = next_close(&mut ws);
    assert_eq!(close.code, Some(CloseCode::INTERNAL_ERROR), "{close:?}");
    read_to_end(&mut ws);
}

/// The request headers of a WebSocket upgrade, without `Host`.
const UPGRADE: &[&str] = &[
    "Upgrade: websocket",
    "Connection: Upgrade",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version: 13",
];

/// An HTTP response read off a raw socket.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    /// The head, status line included, up to the blank line.
    head: String,
    /// Everything after the head up to EOF (empty for a 101).
    body: String,
}

impl RawResponse {
    /// The values of every `name` header line (case-insensitive).
    fn header_values(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    /// Whether some `name` header line lists `token` (case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .iter()
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Sends `GET target HTTP/1.1` with `Host: host` and `headers`, written by
/// hand, and reads the answer: its head, and unless it is a 101 the body up
/// to EOF (the proxy closes after every refusal).
fn raw_get(addr: SocketAddr, target: &str, host: &str, headers: &[&str]) -> RawResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf) {
            Ok(0) => panic!(
                "{target:?}: EOF before a complete response head: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{target:?}: reading the response: {e}"),
        }
    };
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{target:?}: not an HTTP/1.1 response: {head:?}"));
    let mut body = got[head_end..].to_vec();
    if status != 101 {
        let _ = s.read_to_end(&mut body);
    }
    RawResponse {
        status,
        head,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A listener that must never be connected to: records the first line of
/// whatever reaches it.
struct Canary {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Canary {
    fn watch(listener: TcpListener) -> Canary {
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                let _ = BufReader::new(stream).read_line(&mut line);
                seen.lock()
                    .unwrap()
                    .push(format!("port {port}: {:?}", line.trim_end()));
            }
        });
        Canary { port, hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

/// The port the old string-pasting proxy reached for target `digits/`
/// through `ws://127.0.0.1:P/` (`127.0.0.1:P` then `digits`), if valid.
fn pasted_port(port: u16, digits: &str) -> Option<u16> {
    format!("{port}{digits}").parse().ok()
}

/// A listener for the upstream on a port `P` small enough that the ports
/// the old string-pasting proxy made of targets `5/` and (when a port below
/// 655 can be bound) `80/admin` are valid ones, with a canary listening on
/// each. Returns the upstream listener and the canaries.
fn upstream_with_pasting_canaries() -> (TcpListener, Vec<Canary>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seed = std::process::id() ^ nanos;
    // Below 655 both `P5` and `P80` are ports (binding there needs
    // privileges); up to 6552, `P5` only.
    for (low, high) in [(100u32, 655u32), (1100, 6553)] {
        let span = high - low;
        for i in 0..span {
            let port = (low + (seed + i) % span) as u16;
            let Ok(upstream) = TcpListener::bind(("127.0.0.1", port)) else {
                continue;
            };
            let targets: Vec<u16> = ["5", "80"]
                .iter()
                .filter_map(|d| pasted_port(port, d))
                .collect();
            let canaries: Vec<TcpListener> = targets
                .iter()
                .filter_map(|&p| TcpListener::bind(("127.0.0.1", p)).ok())
                .collect();
            if canaries.len() == targets.len() {
                return (upstream, canaries.into_iter().map(Canary::watch).collect());
            }
        }
    }
    panic!("no free ports P and P5 in 1100..6553");
}

/// What a recording upstream saw of one request.
#[derive(Debug)]
struct SeenTarget {
    target: String,
    host: Option<String>,
}

/// Serves every connection to `listener` in turn: records the request's
/// target and `Host`, accepts, and closes at once.
fn target_recorder(listener: TcpListener) -> mpsc::Receiver<SeenTarget> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(incoming) = blocking::read_request(stream, &ServerConfig::default()) else {
                continue;
            };
            let seen = SeenTarget {
                target: incoming.request().target().to_string(),
                host: incoming.request().host().map(String::from),
            };
            if tx.send(seen).is_err() {
                return;
            }
            if let Ok(mut ws) = incoming.accept(&Accept::new()) {
                let _ = ws.close(CloseCode::NORMAL, "");
            }
        }
    });
    rx
}

/// A request of [`client_targets_never_move_the_upstream_authority`]:
/// target, `Host`, and the target the upstream sees through an upstream
/// URL with path `/` and with path `/base` (`None`: refused with 400, and
/// the upstream sees nothing).
type TargetCase<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

#[test]
fn client_targets_never_move_the_upstream_authority() {
    let (up_listener, mut canaries) = upstream_with_pasting_canaries();
    let up_port = up_listener.local_addr().unwrap().port();
    let up_host = format!("127.0.0.1:{up_port}");
    // The port named by the authority, userinfo, Host and `:port` tricks.
    let other = Canary::watch(TcpListener::bind("127.0.0.1:0").unwrap());
    let o = other.port;
    canaries.push(other);
    let seen = target_recorder(up_listener);

    let other_host = format!("127.0.0.1:{o}");
    let (at, dslash, colon) = (
        format!("@127.0.0.1:{o}/"),
        format!("//127.0.0.1:{o}/"),
        format!(":{o}/"),
    );
    let (abs_ws, abs_http) = (
        format!("ws://127.0.0.1:{o}/x"),
        format!("http://127.0.0.1:{o}/x?y=1"),
    );
    let cases: Vec<TargetCase> = vec![
        ("5/", "127.0.0.1", None),
        ("80/admin", "127.0.0.1", None),
        (&at, "127.0.0.1", None),
        (&dslash, "127.0.0.1", None),
        ("*", "127.0.0.1", None),
        ("chat", "127.0.0.1", None),
        (&colon, "127.0.0.1", None),
        ("%2e%2e/", "127.0.0.1", None),
        ("/%2e%2e/", "127.0.0.1", None),
        ("/a/%2E%2e/admin", "127.0.0.1", None),
        ("/..;/admin", "127.0.0.1", None),
        ("/x%2f..%2fadmin", "127.0.0.1", None),
        ("/a//b", "127.0.0.1", None),
        (&abs_ws, "127.0.0.1", Some(("/x", "/base/x"))),
        (&abs_http, "127.0.0.1", Some(("/x?y=1", "/base/x?y=1"))),
        ("/x", &other_host, Some(("/x", "/base/x"))),
        ("/", "127.0.0.1", Some(("/", "/base/"))),
        (
            "/room/7?a=b&c=%2e",
            "127.0.0.1",
            Some(("/room/7?a=b&c=%2e", "/base/room/7?a=b&c=%2e")),
        ),
    ];
    // Every deviation, reported together with what the canaries saw.
    let mut problems = Vec::new();
    // The pasting attacks aim at an upstream URL with an empty path; the
    // prefix is checked with a second proxy.
    for (upstream_path, base) in [("/", false), ("/base", true)] {
        let proxy = Proc::proxy(&format!("ws://{up_host}{upstream_path}"));
        for (target, host, expected) in &cases {
            let case = format!("{target:?} (Host {host}) via ws://{up_host}{upstream_path}");
            let r = raw_get(proxy.addr, target, host, UPGRADE);
            match expected {
                None => {
                    if r.status != 400 {
                        problems.push(format!("{case}: {} instead of 400", r.status));
                    }
                    // The proxy connects upstream before it answers; allow
                    // the upstream a moment to record what it got.
                    if let Ok(got) = seen.recv_timeout(Duration::from_millis(50)) {
                        problems.push(format!("{case}: reached the upstream as {got:?}"));
                    }
                }
                Some((plain, prefixed)) => {
                    let want = if base { prefixed } else { plain };
                    if r.status != 101 {
                        problems.push(format!("{case}: {} instead of 101", r.status));
                    }
                    match seen.recv_timeout(LONG) {
                        Ok(got) if got.target == *want && got.host.as_ref() == Some(&up_host) => {}
                        Ok(got) => problems.push(format!("{case}: {got:?}, expected {want:?}")),
                        Err(_) => problems.push(format!("{case}: did not reach the upstream")),
                    }
                }
            }
        }
    }
    // Anything that reached a listener arrived before the answer.
    let hits: Vec<String> = canaries.iter().flat_map(Canary::hits).collect();
    assert!(
        problems.is_empty() && hits.is_empty(),
        "problems:\n{}\ncanaries reached:\n{}",
        problems.join("\n"),
        hits.join("\n")
    );
}

/// A port on 127.0.0.1 that nothing listens on.
fn dead_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_upstream_gives_502_and_no_101() {
    let proxy = Proc::proxy(&format!("ws://127.0.0.1:{}/", dead_port()));
    let r = raw_get(proxy.addr, "/", "127.0.0.1", UPGRADE);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("unreachable"), "{r:?}");
    // And through the library's client: the handshake fails with the 502.
    match blocking::connect_with(&proxy.ws_url("/"), &client_config()) {
        Err(Error::Handshake(rfc6455::handshake::HandshakeError::UnexpectedStatus {
            response,
            ..
        })) => assert_eq!(response.status(), 502),
        Err(e) => panic!("expected a 502, got {e}"),
        Ok(_) => panic!("expected a 502, got a connection"),
    }
}

#[test]
fn an_upstream_refusal_gives_502_naming_its_status() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if let Ok(incoming) = blocking::read_request(stream, &ServerConfig::default()) {
                let _ = incoming.reject(403, b"members only");
            }
        }
    });
    let proxy = Proc::proxy(&format!("ws://{up}/"));
    let r = raw_get(proxy.addr, "/", "127.0.0.1", UPGRADE);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("upstream answered 403"), "{r:?}");
    assert_eq!(r.header_values("X-Upstream-Status"), ["403"], "{r:?}");
}

/// An upstream that answers every upgrade with a 101 written by hand, with
/// `extra` header lines, then waits for the peer to go away.
fn hand_written_upstream(extra: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(incoming) = blocking::read_request(stream, &ServerConfig::default()) else {
                continue;
            };
            let (mut stream, request, _) = incoming.into_parts();
            let key = request.key().unwrap_or("").as_bytes().to_vec();
            let accept = rfc6455::handshake::accept_key(&key);
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
                String::from_utf8_lossy(&accept)
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.set_read_timeout(Some(LONG));
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    addr
}

#[test]
fn the_upstreams_choices_are_passed_on_or_refused_with_502() {
    // An upstream that picks the first subprotocol offered and records the
    // extension offer it saw (compression on, as in the default config).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap();
    let (tx, offers) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let incoming = blocking::read_request(stream, &ServerConfig::default()).unwrap();
        let offered = incoming
            .request()
            .header("sec-websocket-extensions")
            .is_some();
        let first = incoming.request().subprotocols().next().map(String::from);
        let accept = match &first {
            Some(p) => Accept::new().subprotocol(p),
            None => Accept::new(),
        };
        let mut ws = incoming.accept(&accept).unwrap();
        let _ = tx.send(offered);
        ws.set_read_timeout(Some(LONG)).unwrap();
        while let Ok(m) = ws.read() {
            if let Message::Text(t) = m {
                let _ = ws.send_text(&t);
            }
        }
    });
    let proxy = Proc::proxy(&format!("ws://{up}/"));
    let mut config = client_config();
    config.options = ClientOptions::new().subprotocol("v1").subprotocol("v2");
    config.deflate = Some(rfc6455::deflate::DeflateConfig::default());
    let (mut ws, response) = blocking::connect_with(&proxy.ws_url("/"), &config).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    assert_eq!(response.subprotocol(), Some("v1"), "the upstream's pick");
    assert_eq!(response.header("sec-websocket-extensions"), None);
    assert_eq!(
        offers.recv_timeout(LONG),
        Ok(false),
        "no extension offered upstream"
    );
    ws.send_text("through").unwrap();
    assert_eq!(next_text(&mut ws), "through");
    ws.close(CloseCode::NORMAL, "").unwrap();

    // An upstream choosing what nobody offered: 502, not a 101.
    for extra in [
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        "Sec-WebSocket-Extensions: x-custom\r\n",
        "Sec-WebSocket-Protocol: v3\r\n",
    ] {
        let up = hand_written_upstream(extra);
        let proxy = Proc::proxy(&format!("ws://{up}/"));
        let offer = [
            UPGRADE,
            &[
                "Sec-WebSocket-Protocol: v1, v2",
                "Sec-WebSocket-Extensions: permessage-deflate",
            ],
        ]
        .concat();
        let r = raw_get(proxy.addr, "/", "127.0.0.1", &offer);
        assert_eq!(r.status, 502, "upstream answering {extra:?}: {r:?}");
    }
}

#[test]
fn plain_http_gets_426_with_upgrade_websocket() {
    let echo = Proc::echo_server();
    let proxy = Proc::proxy(&echo.ws_url("/"));
    let r = raw_get(proxy.addr, "/index.html", "localhost", &[]);
    assert_eq!(r.status, 426, "{r:?}");
    assert!(r.has_token("Upgrade", "websocket"), "{r:?}");
    assert!(r.has_token("Connection", "Upgrade"), "{r:?}");
}
