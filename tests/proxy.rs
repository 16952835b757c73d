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

use rfc6455::blocking::{self, ClientConfig, Error, ServerConfig, WebSocket};
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
fn connect(url: &str) -> WebSocket<TcpStream> {
    connect_with(url, &client_config())
}

fn connect_with(url: &str, config: &ClientConfig) -> WebSocket<TcpStream> {
    let (mut ws, _) = blocking::connect_with(url, config).expect("connect through the proxy");
    ws.set_read_timeout(Some(LONG)).unwrap();
    ws
}

/// The next message that is not a Ping or Pong; counts the pongs seen.
fn next_data(ws: &mut WebSocket<TcpStream>, pongs: &mut usize) -> Message {
    loop {
        match ws.read() {
            Ok(Message::Pong(_)) => *pongs += 1,
            Ok(Message::Ping(_)) => {}
            Ok(m) => return m,
            Err(e) => panic!("expected a message, got {e}"),
        }
    }
}

fn next_text(ws: &mut WebSocket<TcpStream>) -> String {
    match next_data(ws, &mut 0) {
        Message::Text(t) => t,
        other => panic!("expected text, got {other:?}"),
    }
}

/// The Close frame the peer sends next (data messages are skipped).
fn next_close(ws: &mut WebSocket<TcpStream>) -> OwnedCloseFrame {
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
fn read_to_end(ws: &mut WebSocket<TcpStream>) {
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

#[test]
fn an_unreachable_upstream_gives_the_client_1001() {
    // A port nothing listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = Proc::proxy(&format!("ws://127.0.0.1:{port}/"));
    let mut ws = connect(&proxy.ws_url("/"));
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

#[test]
fn plain_http_gets_404() {
    let echo = Proc::echo_server();
    let proxy = Proc::proxy(&echo.ws_url("/"));
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(LONG)).unwrap();
    s.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let _ = s.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 404"),
        "expected a 404, got {response:?}"
    );
}
