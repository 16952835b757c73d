//! permessage-deflate (RFC 7692) through the tokio adapter: negotiation in
//! both roles, compressed messages both ways (checked on the wire: RSV1 and
//! sizes), answers that do not fit the offer, `required`, and interop with
//! the blocking adapter.
#![cfg(all(feature = "tokio", feature = "deflate"))]

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rfc6455::deflate::{DeflateConfig, ParamError};
use rfc6455::handshake::{Accept, ClientOptions, HandshakeError, Limits, ServerHandshake};
use rfc6455::tokio::{self as ws, ClientConfig, Error, ServerConfig, WebSocketStream};
use rfc6455::{blocking, CloseCode, Message, MessageKind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

// ---- a stream that records what crosses it ----

/// Wraps a stream and keeps a copy of every byte written and read.
struct Tap<S> {
    inner: S,
    written: Arc<Mutex<Vec<u8>>>,
    read: Arc<Mutex<Vec<u8>>>,
}

/// The bytes a [`Tap`] saw: `written` by its owner, `read` from the peer.
#[derive(Clone)]
struct Wire {
    written: Arc<Mutex<Vec<u8>>>,
    read: Arc<Mutex<Vec<u8>>>,
}

fn tap<S>(inner: S) -> (Tap<S>, Wire) {
    let wire = Wire {
        written: Arc::default(),
        read: Arc::default(),
    };
    let t = Tap {
        inner,
        written: Arc::clone(&wire.written),
        read: Arc::clone(&wire.read),
    };
    (t, wire)
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let new = buf.filled()[before..].to_vec();
            self.read.lock().unwrap().extend_from_slice(&new);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = r {
            self.written.lock().unwrap().extend_from_slice(&data[..n]);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// One frame header seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    fin: bool,
    rsv1: bool,
    opcode: u8,
    len: usize,
}

/// The frames in `bytes` after the HTTP head (RFC 6455 §5.2).
fn frames(bytes: &[u8]) -> Vec<Seen> {
    let head = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head")
        + 4;
    let mut at = head;
    let mut out = Vec::new();
    while at + 2 <= bytes.len() {
        let (b0, b1) = (bytes[at], bytes[at + 1]);
        let mut len = (b1 & 0x7f) as usize;
        let mut p = at + 2;
        if len == 126 {
            len = u16::from_be_bytes([bytes[p], bytes[p + 1]]) as usize;
            p += 2;
        } else if len == 127 {
            len = u64::from_be_bytes(bytes[p..p + 8].try_into().unwrap()) as usize;
            p += 8;
        }
        if b1 & 0x80 != 0 {
            p += 4;
        }
        assert!(p + len <= bytes.len(), "truncated frame on the wire");
        out.push(Seen {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            opcode: b0 & 0x0f,
            len,
        });
        at = p + len;
    }
    assert_eq!(at, bytes.len(), "trailing bytes on the wire");
    out
}

/// Data frames only (text, binary, continuation).
fn data_frames(bytes: &[u8]) -> Vec<Seen> {
    frames(bytes).into_iter().filter(|f| f.opcode < 8).collect()
}

// ---- configurations ----

fn compress_all(mut d: DeflateConfig) -> DeflateConfig {
    d.threshold = 0;
    d.level = 1;
    d
}

/// What `async_echo_server` configures: context takeover both ways allowed.
fn server_deflate() -> DeflateConfig {
    let mut d = DeflateConfig::default();
    d.server_no_context_takeover = false;
    d.client_no_context_takeover = false;
    compress_all(d)
}

/// What `async_autobahn_client` offers.
fn client_deflate() -> DeflateConfig {
    let mut d = DeflateConfig::default();
    d.server_no_context_takeover = false;
    d.client_no_context_takeover = true;
    compress_all(d)
}

fn server_config(deflate: Option<DeflateConfig>) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.config.max_message_size = 8 << 20;
    c.config.max_frame_size = 8 << 20;
    c.deflate = deflate;
    c
}

fn client_config(deflate: Option<DeflateConfig>) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.config.max_message_size = 8 << 20;
    c.config.max_frame_size = 8 << 20;
    c.deflate = deflate;
    c
}

/// Reads a request over a duplex and accepts it with the default
/// `ServerConfig` (`ws::accept` needs a `TcpStream`).
async fn accept_default(io: DuplexStream) -> WebSocketStream<DuplexStream> {
    ws::read_request_over(io, &ServerConfig::default())
        .await
        .unwrap()
        .accept(&Accept::new())
        .await
        .unwrap()
}

/// Echoes data messages until the connection ends; returns whether
/// compression was on.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) -> bool {
    let on = ws.connection().deflate_enabled();
    loop {
        match ws.read().await {
            Ok(m) if m.is_data() => ws.send(&m).await.unwrap(),
            Ok(_) => {}
            Err(_) => return on,
        }
    }
}

fn text_of(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + ((i * 7 + i / 13) % 26) as u8))
        .collect()
}

fn compressible(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i / 16) % 64) as u8).collect()
}

/// Sends a small text, a 1 MiB binary and a fragmented text (with a ping
/// between the fragments) and checks the echoes.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(c: &mut WebSocketStream<S>) {
    let small = "{\"type\":\"message\",\"text\":\"hello hello hello\"}";
    c.send_text(small).await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text(small.into()));

    let big = compressible(1 << 20);
    c.send_binary(&big).await.unwrap();
    assert!(c.read().await.unwrap() == Message::Binary(big));

    let long = text_of(5000) + "€🦀";
    let bytes = long.as_bytes();
    let pieces: Vec<&[u8]> = bytes.chunks(1500).collect();
    for (i, piece) in pieces.iter().enumerate() {
        c.send_fragment(MessageKind::Text, piece, i + 1 == pieces.len())
            .await
            .unwrap();
        if i == 0 {
            c.send_ping(b"between").await.unwrap();
        }
    }
    assert_eq!(c.read().await.unwrap(), Message::Pong(b"between".to_vec()));
    assert_eq!(c.read().await.unwrap(), Message::Text(long));
}

/// Checks the frames of [`exchange`] in one direction: every message is
/// compressed (RSV1 on its first frame only) and the 1 MiB one shrank.
fn check_exchange_frames(frames: &[Seen], fragmented_pieces: usize) {
    // small, big, then the fragmented message (the sender may also split it
    // further, so count at least the pieces sent).
    assert!(frames.len() >= 2 + fragmented_pieces, "{frames:?}");
    assert!(frames[0].rsv1 && frames[0].fin && frames[0].opcode == 1);
    assert!(frames[0].len < 45, "the small text compressed: {frames:?}");
    let big: Vec<&Seen> = frames[1..]
        .iter()
        .take_while(|f| f.opcode == 2 || f.opcode == 0)
        .collect();
    assert!(big[0].rsv1 && big[0].opcode == 2);
    assert!(big.last().unwrap().fin);
    let big_wire: usize = big.iter().map(|f| f.len).sum();
    assert!(big_wire < 64 << 10, "1 MiB went out as {big_wire} bytes");
    let frag = &frames[1 + big.len()..];
    assert_eq!(frag[0].opcode, 1);
    assert!(frag[0].rsv1, "RSV1 on the first fragment");
    assert!(frag[1..].iter().all(|f| f.opcode == 0 && !f.rsv1));
    assert!(frag.last().unwrap().fin);
}

// ---- negotiation and compressed traffic, both roles ----

#[tokio::test]
async fn both_roles_negotiate_and_compress_over_duplex() {
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let (client_io, client_wire) = tap(client_io);
    let (server_io, server_wire) = tap(server_io);
    let server = tokio::spawn(async move {
        let config = server_config(Some(server_deflate()));
        let incoming = ws::read_request_over(server_io, &config).await.unwrap();
        let offer = incoming
            .request()
            .header("sec-websocket-extensions")
            .map(<[u8]>::to_vec);
        let ws = incoming.accept(&Accept::new()).await.unwrap();
        (offer, echo(ws).await)
    });
    let (mut c, response) = ws::connect_over(
        client_io,
        "ws://example.com/",
        &client_config(Some(client_deflate())),
    )
    .await
    .unwrap();
    // RFC 7692 §7.1: the client offered client_no_context_takeover and left
    // the rest open; a server allowing context takeover answers with just that.
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some(&b"permessage-deflate; client_no_context_takeover"[..])
    );
    assert!(c.connection().deflate_enabled());
    exchange(&mut c).await;
    c.close(CloseCode::NORMAL, "").await.unwrap();
    let (offer, server_on) = server.await.unwrap();
    assert_eq!(
        offer.as_deref(),
        Some(&b"permessage-deflate; client_no_context_takeover; client_max_window_bits"[..])
    );
    assert!(server_on, "the server turned compression on");

    // Both directions, seen from each end.
    let up = client_wire.written.lock().unwrap().clone();
    let down = client_wire.read.lock().unwrap().clone();
    assert_eq!(&up, &*server_wire.read.lock().unwrap());
    assert_eq!(&down, &*server_wire.written.lock().unwrap());
    check_exchange_frames(&data_frames(&up), 4);
    check_exchange_frames(&data_frames(&down), 1);
}

#[tokio::test]
async fn agreed_context_takeover_and_window_take_effect() {
    // The client asks for server_max_window_bits=10 and lets both sides keep
    // their context; the server keeps its context, so the same message sent
    // twice is shorter the second time (it refers back to the first).
    let mut offer = server_deflate();
    offer.server_max_window_bits = 10;
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let (client_io, wire) = tap(client_io);
    let server = tokio::spawn(async move {
        let incoming = ws::read_request_over(server_io, &server_config(Some(server_deflate())))
            .await
            .unwrap();
        echo(incoming.accept(&Accept::new()).await.unwrap()).await
    });
    let (mut c, response) =
        ws::connect_over(client_io, "ws://example.com/", &client_config(Some(offer)))
            .await
            .unwrap();
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some(&b"permessage-deflate; server_max_window_bits=10"[..])
    );
    let text = "the same message, twice: the same message, twice";
    for _ in 0..2 {
        c.send_text(text).await.unwrap();
        assert_eq!(c.read().await.unwrap(), Message::Text(text.into()));
    }
    c.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(server.await.unwrap());
    let down = data_frames(&wire.read.lock().unwrap());
    let up = data_frames(&wire.written.lock().unwrap());
    assert_eq!(down.len(), 2);
    assert!(down.iter().all(|f| f.rsv1));
    assert!(down[1].len < down[0].len, "server context kept: {down:?}");
    assert!(up[1].len < up[0].len, "client context kept: {up:?}");
}

#[tokio::test]
async fn defaults_server_offers_accepted_client_offers_nothing() {
    // Client default: no offer, so no compression even against a server
    // that would accept one (the server default).
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let (client_io, wire) = tap(client_io);
    assert_eq!(ClientConfig::default().deflate, None);
    assert_eq!(
        ServerConfig::default().deflate,
        Some(DeflateConfig::default())
    );
    let server = tokio::spawn(async move { echo(accept_default(server_io).await).await });
    let (mut c, response) = ws::connect_over(client_io, "ws://x/", &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(response.header("sec-websocket-extensions"), None);
    assert!(!c.connection().deflate_enabled());
    let text = text_of(300);
    c.send_text(&text).await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text(text));
    c.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(!server.await.unwrap());
    assert!(data_frames(&wire.read.lock().unwrap())
        .iter()
        .all(|f| !f.rsv1 && f.len == 300));

    // A client offering the defaults against the default server: both
    // directions without context takeover (the server default), messages
    // under the 64-byte threshold sent as they are.
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let (client_io, wire) = tap(client_io);
    let server = tokio::spawn(async move { echo(accept_default(server_io).await).await });
    let (mut c, response) = ws::connect_over(
        client_io,
        "ws://x/",
        &client_config(Some(DeflateConfig::default())),
    )
    .await
    .unwrap();
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some(&b"permessage-deflate; server_no_context_takeover; client_no_context_takeover"[..])
    );
    for m in ["short", &text_of(1000)] {
        c.send_text(m).await.unwrap();
        assert_eq!(c.read().await.unwrap(), Message::Text(m.into()));
    }
    c.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(server.await.unwrap());
    let down = data_frames(&wire.read.lock().unwrap());
    assert_eq!(
        (down[0].rsv1, down[0].len, down[1].rsv1),
        (false, 5, true),
        "below the threshold: as it is; above: compressed"
    );
    assert!(down[1].len < 1000);
}

#[tokio::test]
async fn an_extension_answer_set_by_the_application_is_left_alone() {
    // The client's own offer in `options` replaces the configured one; the
    // server's own answer in `Accept` replaces negotiation: neither side
    // turns permessage-deflate on.
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let server = tokio::spawn(async move {
        let incoming = ws::read_request_over(server_io, &server_config(Some(server_deflate())))
            .await
            .unwrap();
        assert_eq!(
            incoming.request().header("sec-websocket-extensions"),
            Some(&b"x-test"[..])
        );
        echo(
            incoming
                .accept(&Accept::new().extensions("x-test"))
                .await
                .unwrap(),
        )
        .await
    });
    let mut config = client_config(Some(client_deflate()));
    config.options = ClientOptions::new().extensions("x-test");
    let (mut c, response) = ws::connect_over(client_io, "ws://x/", &config)
        .await
        .unwrap();
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some(&b"x-test"[..])
    );
    assert!(!c.connection().deflate_enabled());
    c.send_text("plain").await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text("plain".into()));
    c.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(!server.await.unwrap());
}

// ---- answers that do not fit the offer (RFC 7692 §7.1) ----

/// A server that answers the handshake with `extensions` (raw) and then
/// waits; returns what `connect_over` made of it.
async fn answered_with(extensions: Option<&str>, config: ClientConfig) -> Result<bool, Error> {
    let (client_io, mut server_io) = tokio::io::duplex(64 << 10);
    let extensions = extensions.map(String::from);
    let server = tokio::spawn(async move {
        let mut hs = ServerHandshake::new(Limits::default());
        let mut buf = vec![0u8; 4096];
        let request = loop {
            let n = server_io.read(&mut buf).await.unwrap();
            if let Some((request, _)) = hs.feed(&buf[..n]).unwrap() {
                break request;
            }
        };
        let mut accept = Accept::new();
        if let Some(e) = &extensions {
            accept = accept.extensions(e);
        }
        server_io
            .write_all(&request.accept(&accept).unwrap())
            .await
            .unwrap();
        // Until the client goes away.
        while server_io.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    });
    let result = ws::connect_over(client_io, "ws://x/", &config)
        .await
        .map(|(c, _)| c.connection().deflate_enabled());
    server.await.unwrap();
    result
}

#[tokio::test]
async fn answers_that_do_not_fit_the_offer_fail_with_the_deflate_error() {
    let offer = client_config(Some(client_deflate()));
    let mut small_window = client_deflate();
    small_window.client_max_window_bits = 10;
    let small_window = client_config(Some(small_window));
    let asks_server_nct = client_config(Some(DeflateConfig::default()));
    let cases: [(&str, &ClientConfig, ParamError); 6] = [
        (
            "permessage-deflate; x_unknown",
            &offer,
            ParamError::Unknown("x_unknown".into()),
        ),
        (
            "permessage-deflate, permessage-deflate",
            &offer,
            ParamError::Twice,
        ),
        (
            "permessage-deflate; server_max_window_bits",
            &offer,
            ParamError::InvalidValue("server_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=16",
            &offer,
            ParamError::InvalidValue("server_max_window_bits".into()),
        ),
        (
            "permessage-deflate; client_max_window_bits=12",
            &small_window,
            ParamError::NotOffered("client_max_window_bits larger than offered"),
        ),
        (
            "permessage-deflate",
            &asks_server_nct,
            ParamError::NotOffered("server_no_context_takeover was requested"),
        ),
    ];
    for (answer, config, want) in cases {
        match answered_with(Some(answer), config.clone()).await {
            Err(Error::Deflate(e)) => assert_eq!(e, want, "{answer}"),
            other => panic!("{answer}: {other:?}"),
        }
    }
    // Answers that fit: compression on; no answer: off.
    assert!(answered_with(
        Some("permessage-deflate; client_max_window_bits=9"),
        offer.clone()
    )
    .await
    .unwrap());
    assert!(!answered_with(None, offer.clone()).await.unwrap());
    // No answer when compression is required.
    let mut required = client_deflate();
    required.required = true;
    assert!(matches!(
        answered_with(None, client_config(Some(required))).await,
        Err(Error::Deflate(ParamError::Required))
    ));
    // An extension the client did not offer at all.
    assert!(matches!(
        answered_with(Some("permessage-deflate"), client_config(None)).await,
        Err(Error::Handshake(HandshakeError::ExtensionNotOffered(_)))
    ));
}

// ---- required on the server ----

/// Sends `request` raw to a tokio server requiring compression; returns the
/// server's result and the bytes it answered with.
async fn raw_to_required_server(request: &str) -> (Result<(), Error>, String) {
    let (mut client_io, server_io) = tokio::io::duplex(64 << 10);
    let server = tokio::spawn(async move {
        let mut deflate = DeflateConfig::default();
        deflate.required = true;
        let incoming = ws::read_request_over(server_io, &server_config(Some(deflate))).await?;
        incoming.accept(&Accept::new()).await.map(drop)
    });
    client_io.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    client_io.read_to_end(&mut answer).await.unwrap();
    (server.await.unwrap(), String::from_utf8(answer).unwrap())
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n";

#[tokio::test]
async fn required_compression_rejects_requests_without_a_fitting_offer_with_400() {
    for extensions in [
        "",
        // An offer the server cannot accept: it cannot compress with an
        // 8-bit window (see DeflateConfig).
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n",
        "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n",
    ] {
        let (result, answer) = raw_to_required_server(&format!("{REQUEST}{extensions}\r\n")).await;
        assert!(
            matches!(result, Err(Error::Deflate(ParamError::Required))),
            "{extensions}: {result:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(
            answer.ends_with("permessage-deflate is required\n"),
            "{answer}"
        );
    }
    // A fitting offer is accepted.
    let (result, answer) = raw_to_required_server(&format!(
        "{REQUEST}Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    ))
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert!(answer.starts_with("HTTP/1.1 101 "), "{answer}");
    assert!(answer.contains("\r\nSec-WebSocket-Extensions: permessage-deflate; "));

    // Our client without an offer sees the 400.
    let (client_io, server_io) = tokio::io::duplex(64 << 10);
    let server = tokio::spawn(async move {
        let mut deflate = DeflateConfig::default();
        deflate.required = true;
        let incoming = ws::read_request_over(server_io, &server_config(Some(deflate)))
            .await
            .unwrap();
        incoming.accept(&Accept::new()).await.map(drop)
    });
    match ws::connect_over(client_io, "ws://x/", &client_config(None)).await {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus { response, .. })) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(matches!(
        server.await.unwrap(),
        Err(Error::Deflate(ParamError::Required))
    ));
}

// ---- the blocking adapter against the tokio one ----

/// The blocking side of [`exchange`].
fn blocking_exchange<S: std::io::Read + std::io::Write>(c: &mut blocking::WebSocket<S>) {
    let small = "{\"type\":\"message\",\"text\":\"hello hello hello\"}";
    c.send_text(small).unwrap();
    assert_eq!(c.read().unwrap(), Message::Text(small.into()));
    let big = compressible(1 << 20);
    c.send_binary(&big).unwrap();
    assert!(c.read().unwrap() == Message::Binary(big));
    let long = text_of(5000) + "€🦀";
    let pieces: Vec<&[u8]> = long.as_bytes().chunks(1500).collect();
    for (i, piece) in pieces.iter().enumerate() {
        c.send_fragment(MessageKind::Text, piece, i + 1 == pieces.len())
            .unwrap();
        if i == 0 {
            c.send_ping(b"between").unwrap();
        }
    }
    assert_eq!(c.read().unwrap(), Message::Pong(b"between".to_vec()));
    assert_eq!(c.read().unwrap(), Message::Text(long));
}

#[tokio::test]
async fn blocking_client_against_tokio_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (stream, wire) = tap(stream);
        let incoming = ws::read_request_over(stream, &server_config(Some(server_deflate())))
            .await
            .unwrap();
        let on = echo(incoming.accept(&Accept::new()).await.unwrap()).await;
        (on, wire)
    });
    let client = tokio::task::spawn_blocking(move || {
        let mut config = blocking::ClientConfig::default();
        config.config.max_message_size = 8 << 20;
        config.deflate = Some(client_deflate());
        let (mut c, response) = blocking::connect_with(&format!("ws://{addr}/"), &config).unwrap();
        assert_eq!(
            response.header("sec-websocket-extensions"),
            Some(&b"permessage-deflate; client_no_context_takeover"[..])
        );
        assert!(c.connection().deflate_enabled());
        blocking_exchange(&mut c);
        c.close(CloseCode::NORMAL, "").unwrap();
    });
    client.await.unwrap();
    let (on, wire) = server.await.unwrap();
    assert!(on);
    // From the tokio server's side: what the blocking client sent, what the
    // tokio server sent back.
    check_exchange_frames(&data_frames(&wire.read.lock().unwrap()), 4);
    check_exchange_frames(&data_frames(&wire.written.lock().unwrap()), 1);
}

#[tokio::test]
async fn tokio_client_against_blocking_server() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut config = blocking::ServerConfig::default();
        config.config.max_message_size = 8 << 20;
        config.deflate = Some(server_deflate());
        let (stream, _) = listener.accept().unwrap();
        let mut ws = blocking::accept_with(stream, &config).unwrap();
        let on = ws.connection().deflate_enabled();
        while let Ok(m) = ws.read() {
            if m.is_data() {
                ws.send(&m).unwrap();
            }
        }
        on
    });
    let (stream, wire) = tap(TcpStream::connect(addr).await.unwrap());
    let (mut c, response) = ws::connect_over(
        stream,
        &format!("ws://{addr}/"),
        &client_config(Some(client_deflate())),
    )
    .await
    .unwrap();
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some(&b"permessage-deflate; client_no_context_takeover"[..])
    );
    exchange(&mut c).await;
    c.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap());
    check_exchange_frames(&data_frames(&wire.written.lock().unwrap()), 4);
    check_exchange_frames(&data_frames(&wire.read.lock().unwrap()), 1);
}

#[tokio::test]
async fn blocking_server_requiring_compression_rejects_the_tokio_client_with_400() {
    // The blocking server shares the negotiation code: same 400, same error.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut config = blocking::ServerConfig::default();
        let mut deflate = DeflateConfig::default();
        deflate.required = true;
        config.deflate = Some(deflate);
        let (stream, _) = listener.accept().unwrap();
        blocking::accept_with(stream, &config).map(drop)
    });
    match ws::connect_with(&format!("ws://{addr}/"), &client_config(None)).await {
        Err(Error::Handshake(HandshakeError::UnexpectedStatus { response, .. })) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
    let result = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert!(
        matches!(result, Err(blocking::Error::Deflate(ParamError::Required))),
        "{result:?}"
    );
}
