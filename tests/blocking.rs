//! The blocking adapters over real loopback TCP: messages of every size in
//! both directions, control frames, the closing handshake, the handshake
//! variants, non-blocking streams, timeouts, split halves, keepalive and
//! peers that vanish.

mod net;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use net::{cframe, listen, raw_client, read_frame, read_head, read_to_end_lenient, LONG};
use rfc6455::blocking::{self, ClientConfig, Error, MaybeTlsStream, ServerConfig, WebSocket};
use rfc6455::handshake::{Accept, ClientOptions, HandshakeError, Limits, ServerHandshake};
use rfc6455::{CloseCode, Message, MessageKind};

// ---------------------------------------------------------------------------
// helpers

/// Accepts one TCP connection on `listener` in a thread and runs `f` on it.
fn serve_one<T: Send + 'static>(
    listener: TcpListener,
    f: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> JoinHandle<T> {
    thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(LONG)).unwrap();
        s.set_write_timeout(Some(LONG)).unwrap();
        f(s)
    })
}

/// A server thread running `f` on an accepted WebSocket, and a client
/// connected to it with default settings.
fn ws_pair<T: Send + 'static>(
    config: ServerConfig,
    f: impl FnOnce(WebSocket<TcpStream>) -> T + Send + 'static,
) -> (WebSocket<MaybeTlsStream>, JoinHandle<T>) {
    let (l, addr) = listen();
    let server = serve_one(l, move |s| {
        let mut ws = blocking::accept_with(s, &config).expect("server handshake");
        ws.set_read_timeout(Some(LONG)).unwrap();
        f(ws)
    });
    let (mut ws, response) = blocking::connect(&format!("ws://{addr}/")).expect("connect");
    assert_eq!(response.status(), 101);
    ws.set_read_timeout(Some(LONG)).unwrap();
    (ws, server)
}

/// UTF-8 text of exactly `n` bytes with 1- to 4-byte characters.
fn text_of(n: usize, seed: usize) -> String {
    const PIECES: [&str; 6] = ["a", "é", "€", "😀", "z", " "];
    let mut s = String::with_capacity(n);
    let mut i = seed;
    while s.len() < n {
        let p = PIECES[i % PIECES.len()];
        if s.len() + p.len() > n {
            s.push('x');
        } else {
            s.push_str(p);
        }
        i += 1;
    }
    s
}

fn bytes_of(n: usize, seed: usize) -> Vec<u8> {
    (0..n).map(|i| (i.wrapping_mul(31) + seed) as u8).collect()
}

fn message_of(kind: MessageKind, n: usize, seed: usize) -> Message {
    match kind {
        MessageKind::Text => Message::Text(text_of(n, seed)),
        MessageKind::Binary => Message::Binary(bytes_of(n, seed)),
    }
}

fn payload(m: &Message) -> (MessageKind, &[u8]) {
    match m {
        Message::Text(t) => (MessageKind::Text, t.as_bytes()),
        Message::Binary(b) => (MessageKind::Binary, b),
        other => panic!("not a data message: {other:?}"),
    }
}

/// Sends a data message whole or in three fragments (split at arbitrary
/// byte positions, so text fragments may cut characters).
fn send_msg<S: Read + Write>(ws: &mut WebSocket<S>, m: &Message, fragmented: bool) {
    let (kind, data) = payload(m);
    if fragmented {
        let (a, b) = (data.len() / 3, 2 * data.len() / 3);
        ws.send_fragment(kind, &data[..a], false).unwrap();
        ws.send_fragment(kind, &data[a..b], false).unwrap();
        ws.send_fragment(kind, &data[b..], true).unwrap();
    } else {
        ws.send(m).unwrap();
    }
}

fn describe(m: &Message) -> String {
    match m {
        Message::Text(t) => format!("Text({} bytes)", t.len()),
        Message::Binary(b) => format!("Binary({} bytes)", b.len()),
        other => format!("{other:?}"),
    }
}

fn close_of(m: &Message) -> (Option<u16>, String) {
    match m {
        Message::Close(Some(c)) => (c.code.map(u16::from), c.reason.clone()),
        Message::Close(None) => (None, String::new()),
        other => panic!("expected a Close, got {}", describe(other)),
    }
}

fn assert_closed<T: std::fmt::Debug>(r: Result<T, Error>, who: &str) {
    match r {
        Err(Error::ConnectionClosed) => {}
        other => panic!("{who}: expected ConnectionClosed, got {other:?}"),
    }
}

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 5 << 20];

fn cases() -> Vec<(MessageKind, usize, bool)> {
    let mut v = Vec::new();
    for &n in &SIZES {
        for kind in [MessageKind::Text, MessageKind::Binary] {
            for fragmented in [false, true] {
                v.push((kind, n, fragmented));
            }
        }
    }
    v
}

// ---------------------------------------------------------------------------
// data messages, pings, closing

#[test]
fn messages_of_every_size_both_directions_whole_and_fragmented() {
    let (mut client, server) = ws_pair(ServerConfig::default(), |mut ws| {
        // Check what arrives, then send it back fragmented the other way.
        for (i, (kind, n, fragmented)) in cases().into_iter().enumerate() {
            let got = ws.read().expect("server read");
            let want = message_of(kind, n, i);
            assert!(
                got == want,
                "server: case {i} ({kind:?}, {n} bytes, fragmented {fragmented}): got {}",
                describe(&got)
            );
            send_msg(&mut ws, &want, !fragmented);
        }
        let (code, _) = close_of(&ws.read().unwrap());
        assert_eq!(code, Some(1000));
        assert_closed(ws.read(), "server");
    });
    for (i, (kind, n, fragmented)) in cases().into_iter().enumerate() {
        let m = message_of(kind, n, i);
        send_msg(&mut client, &m, fragmented);
        let back = client.read().expect("client read");
        assert!(
            back == m,
            "client: case {i} ({kind:?}, {n} bytes, server fragmented {}): got {}",
            !fragmented,
            describe(&back)
        );
    }
    client.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
    assert_closed(client.read(), "client");
}

#[test]
fn pings_with_payload_are_answered_with_pongs_both_ways() {
    let (mut client, server) = ws_pair(ServerConfig::default(), |mut ws| {
        // The client's ping is reported, and answered automatically.
        assert_eq!(ws.read().unwrap(), Message::Ping(b"from client".to_vec()));
        // Now ping the client; its automatic pong comes back as a Pong.
        ws.send_ping(b"from server").unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong(b"from server".to_vec()));
        ws.send_ping(&[0xab; 125]).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong(vec![0xab; 125]));
        ws.send_text("pongs seen").unwrap();
        assert_eq!(close_of(&ws.read().unwrap()).0, Some(1000));
    });
    client.send_ping(b"from client").unwrap();
    assert_eq!(
        client.read().unwrap(),
        Message::Pong(b"from client".to_vec())
    );
    assert_eq!(
        client.read().unwrap(),
        Message::Ping(b"from server".to_vec())
    );
    assert_eq!(client.read().unwrap(), Message::Ping(vec![0xab; 125]));
    assert_eq!(client.read().unwrap(), Message::Text("pongs seen".into()));
    client.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

/// A client-initiated close: the server sees the code and reason, echoes
/// them, and closes the TCP connection first; the client's `close` returns
/// when it sees that (its close timeout is far beyond the test's bound, so
/// it did not give up waiting).
fn client_close(code: u16, reason: &'static str) {
    let (l, addr) = listen();
    let server = serve_one(l, move |s| {
        let mut ws = blocking::accept(s).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text("last words".into()));
        let (c, r) = close_of(&ws.read().unwrap());
        assert_eq!((c, r.as_str()), (Some(code), reason));
        assert_closed(ws.read(), "server");
        assert_closed(ws.read(), "server, again");
        ws.connection().peer_close_code().map(u16::from)
    });
    let mut cc = ClientConfig::default();
    cc.config.close_timeout = Duration::from_secs(120);
    let (mut ws, _) = blocking::connect_with(&format!("ws://{addr}/"), &cc).unwrap();
    ws.send_text("last words").unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let client = thread::spawn(move || {
        let r = ws.close(CloseCode::new(code), reason);
        let _ = done_tx.send(());
        (ws, r)
    });
    done_rx
        .recv_timeout(LONG)
        .expect("client close() did not return: the server did not close the TCP connection");
    let (mut ws, r) = client.join().unwrap();
    r.expect("client close");
    assert_eq!(
        ws.connection().peer_close_code(),
        Some(CloseCode::new(code))
    );
    assert_eq!(ws.connection().state(), rfc6455::State::Closed);
    assert_closed(ws.read(), "client");
    assert_eq!(server.join().unwrap(), Some(code));
}

#[test]
fn client_initiated_close_1000() {
    client_close(1000, "");
}

#[test]
fn client_initiated_close_4000_with_reason() {
    client_close(4000, "custom reason ✓");
}

#[test]
fn server_initiated_close() {
    let (mut client, server) = ws_pair(ServerConfig::default(), |mut ws| {
        ws.send_text("before close").unwrap();
        ws.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
        assert_eq!(
            ws.connection().peer_close_code(),
            Some(CloseCode::GOING_AWAY)
        );
        assert_closed(ws.read(), "server");
    });
    assert_eq!(client.read().unwrap(), Message::Text("before close".into()));
    let (code, reason) = close_of(&client.read().unwrap());
    assert_eq!((code, reason.as_str()), (Some(1001), "shutting down"));
    // The echo went out; the server then closes the TCP connection.
    assert_closed(client.read(), "client");
    assert_closed(client.read(), "client, again");
    server.join().unwrap();
}

#[test]
fn server_closes_tcp_first_after_echoing_close() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let mut ws = blocking::accept(s).unwrap();
        let (code, reason) = close_of(&ws.read().unwrap());
        assert_eq!((code, reason.as_str()), (Some(1000), "bye"));
        assert_closed(ws.read(), "server");
    });
    let mut raw = raw_client(addr, "/");
    raw.write_all(&cframe(0x88, b"\x03\xe8bye")).unwrap();
    // The echo, unmasked, then EOF although this side never closed.
    let echo = read_frame(&mut raw).unwrap().expect("close echo");
    assert!(!echo.masked);
    assert_eq!(echo.close_code(), 1000);
    assert_eq!(&echo.payload[2..], b"bye");
    assert_eq!(read_frame(&mut raw).unwrap(), None, "server must close TCP");
    server.join().unwrap();
}

// ---------------------------------------------------------------------------
// connecting

#[test]
fn connect_resolves_localhost_and_sends_path_and_query() {
    let (l, addr) = listen();
    let port = addr.port();
    let server = serve_one(l, move |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        let req = incoming.request();
        assert_eq!(req.path(), "/path");
        assert_eq!(req.query(), Some("q=1"));
        assert_eq!(req.host(), Some(format!("localhost:{port}").as_str()));
        let mut ws = incoming.accept(&Accept::new()).unwrap();
        ws.send_text("hello localhost").unwrap();
        assert_eq!(close_of(&ws.read().unwrap()).0, Some(1000));
    });
    let (mut ws, _) = blocking::connect(&format!("ws://localhost:{port}/path?q=1")).unwrap();
    assert!(ws
        .get_ref()
        .get_ref()
        .peer_addr()
        .unwrap()
        .ip()
        .is_loopback());
    assert_eq!(ws.read().unwrap(), Message::Text("hello localhost".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn connect_over_ipv6_loopback() {
    let l = match TcpListener::bind("[::1]:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("skipping connect_over_ipv6_loopback: cannot bind [::1]: {e}");
            return;
        }
    };
    let port = l.local_addr().unwrap().port();
    let server = serve_one(l, |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        let host = incoming.request().host().map(String::from);
        let mut ws = incoming.accept(&Accept::new()).unwrap();
        let m = ws.read().unwrap();
        ws.send(&m).unwrap();
        assert_eq!(close_of(&ws.read().unwrap()).0, Some(1000));
        host
    });
    let (mut ws, _) = blocking::connect(&format!("ws://[::1]:{port}/v6")).unwrap();
    assert!(ws.get_ref().get_ref().peer_addr().unwrap().is_ipv6());
    ws.send_text("over v6").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("over v6".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap(), Some(format!("[::1]:{port}")));
}

#[test]
fn read_request_inspect_then_accept_with_subprotocol() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        let req = incoming.request();
        assert!(req.is_upgrade());
        assert_eq!(req.method(), "GET");
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("room=7&x=y"));
        assert_eq!(req.origin(), Some("https://example.com"));
        assert_eq!(req.header("x-test"), Some(&b"yes"[..]));
        let offered: Vec<&str> = req.subprotocols().collect();
        assert_eq!(offered, ["chat.v1", "superchat"]);
        let mut ws = incoming
            .accept(&Accept::new().subprotocol("superchat"))
            .unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text("hi".into()));
        assert_eq!(close_of(&ws.read().unwrap()).0, Some(1000));
    });
    let mut cc = ClientConfig::default();
    cc.options = ClientOptions::new()
        .subprotocol("chat.v1")
        .subprotocol("superchat")
        .origin("https://example.com")
        .header("X-Test", "yes");
    let (mut ws, response) =
        blocking::connect_with(&format!("ws://{addr}/chat?room=7&x=y"), &cc).unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(response.subprotocol(), Some("superchat"));
    ws.send_text("hi").unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn read_request_then_reject_with_403() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        assert_eq!(incoming.request().origin(), Some("https://evil.example"));
        incoming.reject(403, b"forbidden origin").unwrap();
    });
    let mut cc = ClientConfig::default();
    cc.options = ClientOptions::new().origin("https://evil.example");
    let err = blocking::connect_with(&format!("ws://{addr}/"), &cc).unwrap_err();
    match err {
        Error::Handshake(HandshakeError::UnexpectedStatus { response, body }) => {
            assert_eq!(response.status(), 403);
            assert!(
                b"forbidden origin".starts_with(&body),
                "body: {:?}",
                String::from_utf8_lossy(&body)
            );
        }
        other => panic!("expected a 403 handshake error, got {other:?}"),
    }
    server.join().unwrap();
}

#[test]
fn plain_http_request_is_answered_with_respond() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        assert!(!incoming.request().is_upgrade());
        assert_eq!(incoming.request().path(), "/");
        incoming
            .respond(200, "text/plain; charset=utf-8", b"hello over HTTP")
            .unwrap();
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    raw.read_to_string(&mut response).unwrap();
    server.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("content-length: 15\r\n"), "{response}");
    assert!(lower.contains("content-type: text/plain; charset=utf-8\r\n"));
    assert!(response.ends_with("\r\n\r\nhello over HTTP"), "{response}");
}

#[test]
fn connect_over_a_stream_the_caller_opened() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let incoming = blocking::read_request(s, &ServerConfig::default()).unwrap();
        assert_eq!(incoming.request().path(), "/over");
        assert_eq!(incoming.request().host(), Some("example.test"));
        let mut ws = incoming.accept(&Accept::new()).unwrap();
        let m = ws.read().unwrap();
        ws.send(&m).unwrap();
        assert_eq!(close_of(&ws.read().unwrap()).0, Some(1000));
    });
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LONG)).unwrap();
    let (mut ws, response) =
        blocking::connect_over(stream, "ws://example.test/over", &ClientConfig::default()).unwrap();
    assert_eq!(response.status(), 101);
    ws.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(vec![1, 2, 3]));
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

#[test]
fn frame_sent_right_behind_the_request_is_delivered() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        let mut ws = blocking::accept(s).unwrap();
        let first = ws.read().unwrap();
        let second = ws.read().unwrap();
        ws.send_text("got them").unwrap();
        (first, second)
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    let mut wire = net::upgrade_request(&addr.to_string(), "/");
    wire.extend_from_slice(&cframe(0x81, b"early bird"));
    wire.extend_from_slice(&cframe(0x82, &[9; 300]));
    raw.write_all(&wire).unwrap(); // one write: head and frames together
    let head = read_head(&mut raw).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let reply = read_frame(&mut raw).unwrap().unwrap();
    assert_eq!((reply.opcode, &reply.payload[..]), (1, &b"got them"[..]));
    let (first, second) = server.join().unwrap();
    assert_eq!(first, Message::Text("early bird".into()));
    assert_eq!(second, Message::Binary(vec![9; 300]));
}

// ---------------------------------------------------------------------------
// non-blocking streams and timeouts

/// The frames a raw client sends in the trickle test, and the messages
/// they carry.
fn trickle_script() -> (Vec<u8>, Vec<Message>) {
    let mut wire = Vec::new();
    let mut msgs = Vec::new();
    for i in 0..60 {
        let n = (i * 53) % 400;
        if i % 3 == 0 {
            let t = text_of(n, i);
            let (a, b) = t.as_bytes().split_at(n / 2);
            wire.extend_from_slice(&cframe(0x01, a));
            wire.extend_from_slice(&cframe(0x80, b));
            msgs.push(Message::Text(t));
        } else {
            let b = bytes_of(n, i);
            wire.extend_from_slice(&cframe(0x82, &b));
            msgs.push(Message::Binary(b));
        }
    }
    (wire, msgs)
}

#[test]
fn nonblocking_reader_gets_trickled_messages_intact() {
    let (l, addr) = listen();
    let (wire, expected) = trickle_script();
    let peer = thread::spawn(move || {
        let mut raw = raw_client(addr, "/");
        raw.set_nodelay(true).unwrap();
        let sizes = [1, 2, 3, 5, 8, 13, 64, 200];
        let (mut at, mut i) = (0, 0);
        while at < wire.len() {
            let n = sizes[i % sizes.len()].min(wire.len() - at);
            raw.write_all(&wire[at..at + n]).unwrap();
            at += n;
            i += 1;
            thread::sleep(Duration::from_millis(1));
        }
        // Keep the socket open until the server has read everything.
        let mut b = [0u8; 1];
        let _ = raw.read(&mut b);
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept(s).unwrap();
    ws.get_ref().set_nonblocking(true).unwrap();
    let deadline = Instant::now() + LONG;
    let (mut got, mut would_block) = (Vec::new(), 0u32);
    while got.len() < expected.len() {
        assert!(
            Instant::now() < deadline,
            "stuck after {} messages",
            got.len()
        );
        match ws.read() {
            Ok(m) => got.push(m),
            Err(e) if e.is_would_block() => {
                would_block += 1;
                thread::sleep(Duration::from_micros(200));
            }
            Err(e) => panic!("after {} messages: {e:?}", got.len()),
        }
    }
    assert!(would_block > 0, "the reads never hit WouldBlock");
    for (i, (g, w)) in got.iter().zip(&expected).enumerate() {
        assert!(
            g == w,
            "message {i}: got {}, want {}",
            describe(g),
            describe(w)
        );
    }
    ws.get_ref().set_nonblocking(false).unwrap();
    drop(ws);
    peer.join().unwrap();
}

/// Completes a server handshake by hand (the sans-IO core over a raw
/// socket), leaving the socket for raw reads.
fn raw_server_handshake(s: &mut TcpStream) {
    let mut hs = ServerHandshake::new(Limits::default());
    let mut buf = [0u8; 1024];
    let request = loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "EOF during handshake");
        if let Some((req, used)) = hs.feed(&buf[..n]).unwrap() {
            assert_eq!(used, n, "the client sent frames before the 101");
            break req;
        }
    };
    s.write_all(&request.accept(&Accept::new()).unwrap())
        .unwrap();
}

#[test]
fn nonblocking_writer_flushes_a_large_message_exactly_once() {
    const BIG: usize = 12 << 20;
    let (l, addr) = listen();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let peer = serve_one(l, move |mut s| {
        raw_server_handshake(&mut s);
        // Do not read until the client saw WouldBlock.
        go_rx.recv_timeout(LONG).expect("go signal");
        let big = read_frame(&mut s).unwrap().expect("big frame");
        let next = read_frame(&mut s).unwrap().expect("marker frame");
        (big, next)
    });
    let (mut ws, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    ws.get_ref().get_ref().set_nonblocking(true).unwrap();
    let data = bytes_of(BIG, 5);
    let first = ws.send_binary(&data);
    match &first {
        Err(e) if e.is_would_block() => {}
        other => panic!("expected WouldBlock with the peer not reading, got {other:?}"),
    }
    assert!(ws.connection().has_output(), "the rest stays queued");
    go_tx.send(()).unwrap();
    let deadline = Instant::now() + LONG;
    let mut retries = 0u32;
    loop {
        match ws.flush() {
            Ok(()) => break,
            Err(e) if e.is_would_block() => {
                assert!(Instant::now() < deadline, "flush never completed");
                retries += 1;
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("flush: {e:?}"),
        }
    }
    assert!(!ws.connection().has_output());
    ws.get_ref().get_ref().set_nonblocking(false).unwrap();
    ws.send_text("marker").unwrap();
    let (big, next) = peer.join().unwrap();
    assert!(big.fin && big.masked && big.opcode == 2);
    assert_eq!(big.payload.len(), BIG);
    assert!(big.payload == data, "large message corrupted");
    assert_eq!(
        (next.opcode, &next.payload[..]),
        (1, &b"marker"[..]),
        "the frame after the large one must be the marker (sent once; {retries} retries)"
    );
}

#[test]
fn read_timeout_expires_without_losing_a_partial_frame() {
    let (l, addr) = listen();
    let (half_tx, half_rx) = mpsc::channel::<()>();
    let (rest_tx, rest_rx) = mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut raw = raw_client(addr, "/");
        let f = cframe(0x81, b"split across a timeout");
        raw.write_all(&f[..9]).unwrap();
        half_tx.send(()).unwrap();
        rest_rx.recv_timeout(LONG).unwrap();
        raw.write_all(&f[9..]).unwrap();
        raw.write_all(&cframe(0x81, b"and one more")).unwrap();
        let _ = read_to_end_lenient(&mut raw);
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept(s).unwrap();
    ws.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    half_rx.recv_timeout(LONG).unwrap();
    let err = ws.read().unwrap_err();
    assert!(err.is_would_block(), "expected a timeout, got {err:?}");
    // A second timed-out read is harmless too.
    let err = ws.read().unwrap_err();
    assert!(err.is_would_block(), "expected a timeout, got {err:?}");
    rest_tx.send(()).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Text("split across a timeout".into())
    );
    assert_eq!(ws.read().unwrap(), Message::Text("and one more".into()));
    drop(ws);
    peer.join().unwrap();
}

#[test]
fn handshake_timeout_cuts_off_a_trickling_client() {
    let (l, addr) = listen();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let peer = thread::spawn(move || {
        let mut raw = TcpStream::connect(addr).unwrap();
        for b in net::upgrade_request(&addr.to_string(), "/") {
            if stop2.load(Ordering::SeqCst) || raw.write_all(&[b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("the whole request went out: the server never cut it off");
    });
    let (s, _) = l.accept().unwrap();
    let mut config = ServerConfig::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let result = blocking::read_request(s, &config);
    stop.store(true, Ordering::SeqCst);
    match result {
        Err(Error::HandshakeTimeout) => {}
        other => panic!("expected HandshakeTimeout, got {other:?}"),
    }
    peer.join().unwrap();
}

/// `connect_over` on a socket with a read timeout of its own: a server that
/// never answers runs into the handshake timeout (each timed-out read
/// checks it) instead of being waited for forever.
#[test]
fn connect_over_a_socket_with_a_read_timeout_honours_the_handshake_timeout() {
    let (l, addr) = listen();
    let hold = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let start = Instant::now();
    let r = blocking::connect_over(stream, &format!("ws://{addr}/"), &config);
    assert!(matches!(r, Err(Error::HandshakeTimeout)), "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    hold.join().unwrap();
}

/// A head that stalls is answered 408 before the server gives up on it.
#[test]
fn a_stalled_request_head_is_answered_408() {
    let (l, addr) = listen();
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (s, _) = l.accept().unwrap();
    let mut config = ServerConfig::default();
    config.handshake_timeout = Some(Duration::from_millis(200));
    let result = blocking::read_request(s, &config);
    assert!(matches!(result, Err(Error::HandshakeTimeout)), "{result:?}");
    drop(result);
    let answer = read_to_end_lenient(&mut raw);
    assert!(
        answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

/// A TLS ClientHello (or any bytes that cannot begin a request line) on a
/// plaintext port gets 400 at once, well before the 10 s head timeout.
#[test]
fn bytes_that_cannot_be_http_are_refused_at_once() {
    for first in [
        &[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ][..],
        b"\0\0\0\0",
        b"GET /\x01",
    ] {
        let (l, addr) = listen();
        let server = serve_one(l, |s| {
            blocking::read_request(s, &ServerConfig::default()).map(|_| ())
        });
        let mut raw = TcpStream::connect(addr).unwrap();
        raw.set_read_timeout(Some(LONG)).unwrap();
        let start = Instant::now();
        raw.write_all(first).unwrap();
        let answer = read_to_end_lenient(&mut raw);
        assert!(
            answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
            "{first:?}: {:?}",
            String::from_utf8_lossy(&answer)
        );
        assert!(start.elapsed() < Duration::from_secs(5), "{first:?}");
        let r = server.join().unwrap();
        assert!(
            matches!(r, Err(Error::Handshake(HandshakeError::MalformedHead(_)))),
            "{r:?}"
        );
    }
}

#[test]
fn oversized_request_head_is_refused_with_431() {
    let (l, addr) = listen();
    let server = serve_one(l, |s| {
        blocking::read_request(s, &ServerConfig::default()).map(|_| ())
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LONG)).unwrap();
    let mut req = String::from("GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n");
    for i in 0..20 {
        req.push_str(&format!("X-Pad-{i}: {}\r\n", "p".repeat(1024)));
    }
    req.push_str("\r\n");
    assert!(req.len() > 20 << 10);
    // The server may stop reading (and reset) before it all went out.
    let _ = raw.write_all(req.as_bytes());
    let response = read_to_end_lenient(&mut raw);
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 431 "),
        "expected a 431 response, got {response:?}"
    );
    match server.join().unwrap() {
        Err(Error::Handshake(HandshakeError::HeadTooLarge { limit })) => {
            assert_eq!(limit, 16 * 1024)
        }
        other => panic!("expected HeadTooLarge, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// split halves

fn split_message(thread: usize, seq: usize) -> String {
    let filler_len = (seq * 37 + thread * 11) % 3000;
    let c = (b'a' + ((thread * 7 + seq) % 26) as u8) as char;
    format!("{thread}:{seq}:{}", c.to_string().repeat(filler_len))
}

#[test]
fn split_reader_blocks_while_two_writers_send_concurrently() {
    const PER_THREAD: usize = 500;
    let (mut client, server) = ws_pair(ServerConfig::default(), |ws| {
        let (writer, mut reader) = ws.split().unwrap();
        let senders: Vec<_> = (0..2)
            .map(|t| {
                let w = writer.clone();
                thread::spawn(move || {
                    for seq in 0..PER_THREAD {
                        w.send_text(&split_message(t, seq)).unwrap();
                    }
                })
            })
            .collect();
        // Blocks while the writers run; the client answers once it has all.
        let done = reader.read().unwrap();
        for s in senders {
            s.join().unwrap();
        }
        let (code, _) = close_of(&reader.read().unwrap());
        assert_closed(reader.read(), "split reader");
        (done, code)
    });
    let mut next = [0usize; 2];
    for i in 0..2 * PER_THREAD {
        let m = client.read().unwrap();
        let Message::Text(t) = m else {
            panic!("message {i}: {}", describe(&m))
        };
        let mut parts = t.splitn(3, ':');
        let thread: usize = parts.next().unwrap().parse().unwrap();
        let seq: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(seq, next[thread], "thread {thread} out of order");
        assert!(
            t == split_message(thread, seq),
            "message {thread}:{seq} corrupted"
        );
        next[thread] += 1;
    }
    assert_eq!(next, [PER_THREAD, PER_THREAD]);
    client.send_text("done").unwrap();
    client.close(CloseCode::NORMAL, "").unwrap();
    let (done, code) = server.join().unwrap();
    assert_eq!(done, Message::Text("done".into()));
    assert_eq!(code, Some(1000));
}

// ---------------------------------------------------------------------------
// keepalive

fn keepalive_config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.config.ping_interval = Some(Duration::from_millis(200));
    c.config.pong_timeout = Duration::from_millis(200);
    c
}

#[test]
fn keepalive_pings_a_reading_client_and_stays_open() {
    let (mut client, server) = ws_pair(keepalive_config(), |mut ws| {
        let mut pongs = 0;
        while pongs < 3 {
            match ws.read().unwrap() {
                Message::Pong(p) => {
                    assert_eq!(p.len(), 4, "keepalive payload");
                    pongs += 1;
                }
                other => panic!("server got {other:?}"),
            }
        }
        ws.send_text("still here").unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        pongs
    });
    let mut pings = 0;
    loop {
        match client.read().unwrap() {
            Message::Ping(_) => pings += 1,
            Message::Text(t) => {
                assert_eq!(t, "still here");
                break;
            }
            other => panic!("client got {other:?}"),
        }
    }
    assert!(pings >= 3, "{pings} pings");
    assert_eq!(close_of(&client.read().unwrap()).0, Some(1000));
    assert_closed(client.read(), "client");
    assert_eq!(server.join().unwrap(), 3);
}

#[test]
fn keepalive_fails_a_silent_peer_with_1011() {
    let (l, addr) = listen();
    let (failed_tx, failed_rx) = mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut raw = raw_client(addr, "/");
        // Never read nor send until the server gave up.
        failed_rx.recv_timeout(LONG).expect("server never gave up");
        let mut frames = Vec::new();
        while let Ok(Some(f)) = read_frame(&mut raw) {
            frames.push(f);
        }
        frames
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept_with(s, &keepalive_config()).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    let err = ws.read().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(rfc6455::Error::KeepaliveTimeout)),
        "expected KeepaliveTimeout, got {err:?}"
    );
    failed_tx.send(()).unwrap();
    assert_closed(ws.read(), "server after keepalive failure");
    let frames = peer.join().unwrap();
    let opcodes: Vec<u8> = frames.iter().map(|f| f.opcode).collect();
    assert_eq!(opcodes, [0x9, 0x8], "a ping, then a close: {frames:?}");
    assert_eq!(frames[0].payload.len(), 4);
    assert_eq!(frames[1].close_code(), 1011);
}

// ---------------------------------------------------------------------------
// peers that vanish

#[test]
fn peer_hanging_up_mid_frame_is_a_typed_error() {
    let (l, addr) = listen();
    let peer = thread::spawn(move || {
        let mut raw = raw_client(addr, "/");
        // Announce 100 bytes, send 10, hang up.
        let f = cframe(0x82, &[7; 100]);
        raw.write_all(&f[..2 + 4 + 10]).unwrap();
        raw.shutdown(std::net::Shutdown::Both).unwrap();
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept(s).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    peer.join().unwrap();
    match ws.read() {
        Err(Error::Protocol(rfc6455::Error::AbnormalClosure)) => {}
        Err(Error::Io(e)) if !blocking_retry(&e) => {}
        other => panic!("expected AbnormalClosure or an I/O error, got {other:?}"),
    }
    assert_closed(ws.read(), "after the abnormal closure");
}

fn blocking_retry(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[test]
fn peer_resetting_the_connection_is_a_typed_error() {
    let (l, addr) = listen();
    let peer = thread::spawn(move || {
        let raw = raw_client(addr, "/");
        // Wait until the server's message sits unread in our receive
        // buffer, then drop the socket: Linux answers with a reset.
        let mut b = [0u8; 1];
        assert!(raw.peek(&mut b).unwrap() > 0);
        drop(raw);
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept(s).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    ws.send_text("never read").unwrap();
    peer.join().unwrap();
    match ws.read() {
        Err(Error::Io(e)) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(Error::Protocol(rfc6455::Error::AbnormalClosure)) => {}
        other => panic!("expected ConnectionReset or AbnormalClosure, got {other:?}"),
    }
}

/// `WebSocket::read` documents: "After the peer's Close has been returned,
/// or after an error, further calls return `Error::ConnectionClosed`." An
/// I/O error that is not a retry (here a reset) is such an error.
#[test]
fn read_after_a_fatal_io_error_returns_connection_closed() {
    let (l, addr) = listen();
    let peer = thread::spawn(move || {
        let raw = raw_client(addr, "/");
        let mut b = [0u8; 1];
        assert!(raw.peek(&mut b).unwrap() > 0);
        drop(raw); // unread data: a reset
    });
    let (s, _) = l.accept().unwrap();
    let mut ws = blocking::accept(s).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    ws.send_text("never read").unwrap();
    peer.join().unwrap();
    let first = ws.read();
    assert!(
        matches!(&first, Err(e) if !e.is_would_block()),
        "expected a fatal error, got {first:?}"
    );
    let second = ws.read();
    assert!(
        matches!(second, Err(Error::ConnectionClosed)),
        "after {first:?}, the next read returned {second:?} instead of ConnectionClosed"
    );
}

/// The split halves work over any transport readable and writable through
/// shared references, not only `TcpStream`: here a Unix socket pair, the
/// reader answering a Ping by itself while the writer sends from another
/// thread.
#[cfg(unix)]
#[test]
fn split_works_over_a_unix_socket_pair() {
    use rfc6455::{Config, Connection};
    use std::os::unix::net::UnixStream;

    let (a, b) = UnixStream::pair().unwrap();
    let server = WebSocket::from_connection(a, Connection::server(Config::default()));
    let mut client = WebSocket::from_connection(b, Connection::client(Config::default()));
    let (writer, mut reader) = server.split().unwrap();
    let sender = thread::spawn(move || {
        for i in 0..100 {
            writer.send_text(&format!("line {i}")).unwrap();
        }
        writer
    });
    client.send_ping(b"are you there").unwrap();
    client.send_text("from the client").unwrap();
    assert_eq!(
        reader.read().unwrap(),
        Message::Ping(b"are you there".to_vec())
    );
    assert_eq!(
        reader.read().unwrap(),
        Message::Text("from the client".into())
    );
    let mut lines = 0;
    let mut pong = false;
    while lines < 100 || !pong {
        match client.read().unwrap() {
            Message::Text(t) => {
                assert_eq!(t, format!("line {lines}"));
                lines += 1;
            }
            Message::Pong(p) => {
                assert_eq!(p, b"are you there");
                pong = true;
            }
            other => panic!("{other:?}"),
        }
    }
    let writer = sender.join().unwrap();
    writer.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(matches!(client.read().unwrap(), Message::Close(_)));
    assert!(matches!(reader.read().unwrap(), Message::Close(_)));
}

/// Every send is on every facade: the split writer queues with `write` and
/// writes with `flush`, sends Pongs and shared frames.
#[cfg(unix)]
#[test]
fn the_split_writer_queues_flushes_and_sends_shared_frames() {
    use rfc6455::outgoing::encode_shared;
    use rfc6455::{Config, Connection, MessageKind};
    use std::os::unix::net::UnixStream;

    let (a, b) = UnixStream::pair().unwrap();
    let server = WebSocket::from_connection(a, Connection::server(Config::default()));
    let mut client = WebSocket::from_connection(b, Connection::client(Config::default()));
    let (writer, _reader) = server.split().unwrap();
    for i in 0..3 {
        writer.write(Message::Text(format!("queued {i}"))).unwrap();
    }
    writer.flush().unwrap();
    writer.send_pong(b"heartbeat").unwrap();
    writer
        .send_shared(&encode_shared(MessageKind::Binary, b"to all"))
        .unwrap();
    for i in 0..3 {
        assert_eq!(client.read().unwrap(), Message::Text(format!("queued {i}")));
    }
    assert_eq!(client.read().unwrap(), Message::Pong(b"heartbeat".to_vec()));
    assert_eq!(client.read().unwrap(), Message::Binary(b"to all".to_vec()));
}

/// A `ws://` URL on a TLS port fails at the server's first bytes, a TLS
/// alert (here what rustls sends to a plaintext request: `15 03 03 00 02
/// 02 32`, decode_error), with an error that says to use `wss://`, not
/// after the handshake timeout. Needs no TLS library: the client only
/// recognises the record header.
#[test]
fn ws_url_on_a_tls_port_fails_fast() {
    let (l, addr) = listen();
    let (done, client_done) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf).unwrap(); // the HTTP request
        s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])
            .unwrap();
        let _ = client_done.recv(); // and no more, connection open
    });
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(LONG);
    let start = Instant::now();
    let err = blocking::connect_with(&format!("ws://localhost:{}/", addr.port()), &config)
        .map(|_| ())
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(
        matches!(&err, Error::TlsServer { host } if host == "localhost"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "localhost answered with TLS: the port serves wss://, not ws://"
    );
    drop(done);
    server.join().unwrap();
}

/// Without the `rustls` feature, `wss://` fails at once, saying what to do.
#[cfg(not(feature = "rustls"))]
#[test]
fn wss_without_the_rustls_feature_says_what_to_do() {
    let err = blocking::connect("wss://localhost/")
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, Error::TlsRequired), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("enable the `rustls` feature"), "{text}");
    assert!(text.contains("connect_over"), "{text}");
}

/// A stream whose own flush would block at first (as a TLS stream holding
/// records a non-blocking socket has not taken yet): `flush` reports
/// `WouldBlock` until the stream's flush has gone through, instead of
/// reporting success with bytes still held by the stream.
#[test]
fn a_stream_flush_that_would_block_is_finished_later() {
    struct Stubborn {
        written: Vec<u8>,
        refusals: usize,
        flushed: usize,
    }
    impl Read for Stubborn {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(ErrorKind::WouldBlock.into())
        }
    }
    impl Write for Stubborn {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            if self.refusals > 0 {
                self.refusals -= 1;
                return Err(ErrorKind::WouldBlock.into());
            }
            self.flushed += 1;
            Ok(())
        }
    }
    use rfc6455::{Config, Connection};
    let stream = Stubborn {
        written: Vec::new(),
        refusals: 2,
        flushed: 0,
    };
    let mut ws = WebSocket::from_connection(stream, Connection::client(Config::default()));
    assert!(ws.send_text("held").unwrap_err().is_would_block());
    assert!(ws.flush().unwrap_err().is_would_block()); // asked again
    ws.flush().unwrap();
    assert_eq!(ws.get_ref().flushed, 1, "the stream's flush went through");
    ws.flush().unwrap(); // nothing left: not asked again
    assert_eq!(ws.get_ref().flushed, 1);
    assert!(!ws.get_ref().written.is_empty());
}
