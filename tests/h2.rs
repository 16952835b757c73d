//! WebSockets over HTTP/2 (RFC 8441): the crate's HTTP/2 client
//! (`rfc6455::hyper::Http2Connection`) against a hyper server whose route
//! answers with `rfc6455::hyper`, several WebSockets on one connection, a
//! 16 MiB message through the flow-control windows, the fallback to
//! HTTP/1.1, and the server's refusals of bad extended CONNECTs.
#![cfg(feature = "hyper")]

mod hyper_server;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rfc6455::deflate::DeflateConfig;
use rfc6455::hyper::{self as rh, ClientConfig, Error, Http2Connection, ServerConfig};
use rfc6455::tokio as ws;
use rfc6455::Message;
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(30);

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LONG, f).await.expect("timed out")
}

async fn h2(addr: SocketAddr) -> Http2Connection {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    Http2Connection::handshake(tcp).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_websockets_share_one_connection_each_echoing() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let conn = h2(addr).await;
        assert!(conn.accepts_websockets());
        let mut sockets = Vec::new();
        for i in 0..3 {
            let url = format!("ws://{addr}/room/{i}");
            let (socket, response) = conn
                .websocket(&url, &ClientConfig::default())
                .await
                .unwrap();
            // RFC 8441 §5: 200, not 101.
            assert_eq!(response.status(), 200);
            sockets.push(socket);
        }
        // All three at once, interleaved on the one connection.
        let tasks: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, mut socket)| {
                tokio::spawn(async move {
                    for n in 0..50 {
                        let text = format!("socket {i} message {n}");
                        socket.send_text(&text).await?;
                        assert_eq!(socket.read().await?, Message::Text(text));
                    }
                    let blob = vec![i as u8; 100_000];
                    socket.send_binary(&blob).await?;
                    assert_eq!(socket.read().await?, Message::Binary(blob));
                    socket.close(rfc6455::CloseCode::NORMAL, "done").await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // The connection outlives its WebSockets.
        let (mut again, _) = conn
            .websocket(&format!("ws://{addr}/"), &ClientConfig::default())
            .await
            .unwrap();
        again.send_text("still here").await.unwrap();
        assert_eq!(
            again.read().await.unwrap(),
            Message::Text("still here".into())
        );
    })
    .await
}

#[tokio::test]
async fn subprotocol_and_deflate_are_negotiated_over_http2() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let conn = h2(addr).await;
        let mut config = ClientConfig::default();
        config.deflate = Some(DeflateConfig::default());
        config.options = rfc6455::handshake::ClientOptions::new().subprotocol("echo.v2");
        let (mut socket, response) = conn
            .websocket(&format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        assert_eq!(response.subprotocol(), Some("echo.v2"));
        assert!(socket.connection().deflate_enabled());
        let text = "squeeze ".repeat(1000);
        socket.send_text(&text).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Text(text));
    })
    .await
}

/// Sends a 16 MiB message and reads its echo; returns how long that took.
async fn echo_16_mib<S>(socket: &mut ws::WebSocketStream<S>) -> Duration
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let big: Vec<u8> = (0..16usize << 20).map(|i| (i % 253) as u8).collect();
    let started = Instant::now();
    socket.send_binary(&big).await.unwrap();
    let echo = socket.read().await.unwrap();
    let took = started.elapsed();
    assert_eq!(echo, Message::Binary(big));
    took
}

/// A 16 MiB message each way through a 2 MiB stream window (hyper's
/// server: 1 MiB): the windows are given back as the message is read, so
/// it streams through instead of stalling. Its time is printed beside the
/// same echo over HTTP/1.1 through the same server (run with --release
/// --nocapture for the figures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_message_is_not_throttled_by_the_flow_control_window() {
    within(async {
        let server = ServerConfig::default().max_message_size(32 << 20);
        let addr = hyper_server::start(server, true).await;
        let client = ClientConfig::default().max_message_size(32 << 20);
        let conn = h2(addr).await;
        let url = format!("ws://{addr}/");
        let (mut over_h2, _) = conn.websocket(&url, &client).await.unwrap();
        let (mut over_h1, _) = ws::connect_with(&url, &client).await.unwrap();
        let mut h2_times = Vec::new();
        let mut h1_times = Vec::new();
        for _ in 0..3 {
            h2_times.push(echo_16_mib(&mut over_h2).await);
            h1_times.push(echo_16_mib(&mut over_h1).await);
        }
        h2_times.sort();
        h1_times.sort();
        eprintln!(
            "16 MiB echo (best of 3): HTTP/2 {:.1} ms, HTTP/1.1 {:.1} ms",
            h2_times[0].as_secs_f64() * 1e3,
            h1_times[0].as_secs_f64() * 1e3
        );
        // Loose: a stalled window would take the whole timeout.
        assert!(h2_times[0] < Duration::from_secs(10), "{h2_times:?}");
    })
    .await
}

/// RFC 8441 §3: no WebSocket on a connection whose server did not send
/// SETTINGS_ENABLE_CONNECT_PROTOCOL; `connect` falls back to HTTP/1.1.
#[tokio::test]
async fn falls_back_to_http1_when_the_server_does_not_enable_connect_protocol() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), false).await;
        let conn = h2(addr).await;
        assert!(!conn.accepts_websockets());
        let url = format!("ws://{addr}/");
        let err = conn
            .websocket(&url, &ClientConfig::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ExtendedConnectDisabled), "{err:?}");

        let (mut socket, response) = rh::connect(&url, &ClientConfig::default()).await.unwrap();
        assert!(!socket.get_ref().is_h2());
        assert_eq!(response.status(), 101);
        socket.send_text("over HTTP/1.1").await.unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Text("over HTTP/1.1".into())
        );

        // With the setting, the same call rides HTTP/2.
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let (mut socket, response) =
            rh::connect(&format!("ws://{addr}/"), &ClientConfig::default())
                .await
                .unwrap();
        assert!(socket.get_ref().is_h2());
        assert_eq!(response.status(), 200);
        socket.send_text("over HTTP/2").await.unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Text("over HTTP/2".into())
        );
    })
    .await
}

/// A server that speaks only HTTP/1.1 (the crate's own): `connect` falls
/// back too.
#[tokio::test]
async fn falls_back_to_http1_when_the_server_does_not_speak_http2() {
    within(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut socket = ws::accept(tcp).await?;
                    let msg = socket.read().await?;
                    socket.send(&msg).await
                });
            }
        });
        let (mut socket, _) = rh::connect(&format!("ws://{addr}/"), &ClientConfig::default())
            .await
            .unwrap();
        assert!(!socket.get_ref().is_h2());
        socket.send_text("plain").await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Text("plain".into()));
    })
    .await
}

/// Sends one request on a raw HTTP/2 connection; returns the status and
/// the named field of the response.
async fn raw_h2(
    addr: SocketAddr,
    method: http::Method,
    protocol: Option<&'static str>,
    fields: &[(&str, &str)],
) -> (u16, Option<String>) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut send = send.ready().await.unwrap();
    let mut request = http::Request::builder()
        .method(method)
        .version(http::Version::HTTP_2)
        .uri(format!("http://{addr}/chat"));
    if let Some(p) = protocol {
        request = request.extension(h2::ext::Protocol::from(p));
    }
    for (n, v) in fields {
        request = request.header(*n, *v);
    }
    let (response, mut stream) = send.send_request(request.body(()).unwrap(), false).unwrap();
    let response = response.await.unwrap();
    let _ = stream.send_data(Bytes::new(), true);
    let version = response
        .headers()
        .get("sec-websocket-version")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status().as_u16(), version)
}

/// The hyper route's refusals of bad extended CONNECTs (RFC 8441 §4, §5;
/// RFC 6455 §4.2.1 item 6 and §4.4 for the version).
#[tokio::test]
async fn bad_extended_connects_are_refused() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let version = [("sec-websocket-version", "13")];
        // The valid request, for contrast.
        let ok = raw_h2(addr, http::Method::CONNECT, Some("websocket"), &version).await;
        assert_eq!(ok.0, 200);
        // §5: an unknown :protocol (RFC 9220 §3: 501).
        let r = raw_h2(addr, http::Method::CONNECT, Some("mqtt"), &version).await;
        assert_eq!(r.0, 501);
        // RFC 6455 §4.2.1 item 6, §4.4: the version, with the one we speak.
        let r = raw_h2(
            addr,
            http::Method::CONNECT,
            Some("websocket"),
            &[("sec-websocket-version", "8")],
        )
        .await;
        assert_eq!(r, (400, Some("13".into())));
        let r = raw_h2(addr, http::Method::CONNECT, Some("websocket"), &[]).await;
        assert_eq!(r, (400, Some("13".into())));
        // §4: not an extended CONNECT.
        let r = raw_h2(addr, http::Method::GET, None, &version).await;
        assert_eq!(r.0, 400);
        // Malformed offers, as over HTTP/1.1 (RFC 6455 §4.2.1 items 8, 9).
        let bad = [
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "a b"),
        ];
        let r = raw_h2(addr, http::Method::CONNECT, Some("websocket"), &bad).await;
        assert_eq!(r.0, 400);
    })
    .await
}

/// RFC 6455 §7.1.7: on a protocol error the endpoint sends a Close (1002)
/// before it fails the connection. Over HTTP/2 that Close may still sit in
/// the h2 send queue when the application drops the WebSocket; dropping
/// must end the stream (END_STREAM after the Close), not reset it, or the
/// queue is discarded and the peer never learns why.
#[tokio::test]
async fn a_dropped_client_stream_still_delivers_its_close_then_ends_the_stream() {
    within(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::Builder::new()
                .enable_connect_protocol()
                .handshake::<_, Bytes>(tcp)
                .await
                .unwrap();
            let (request, mut respond) = conn.accept().await.unwrap().unwrap();
            tokio::spawn(async move { while conn.accept().await.is_some() {} });
            let mut send = respond
                .send_response(http::Response::new(()), false)
                .unwrap();
            // FIN, RSV1 set with no extension negotiated, text, empty:
            // a protocol error for the client (RFC 6455 §5.2).
            send.send_data(Bytes::from_static(&[0xC1, 0x00]), false)
                .unwrap();
            let mut body = request.into_body();
            let mut got = Vec::new();
            while let Some(chunk) = body.data().await {
                // A reset (the bug) is an error here, not the stream's end.
                let chunk = chunk.expect("the client ended the stream cleanly");
                let _ = body.flow_control().release_capacity(chunk.len());
                got.extend_from_slice(&chunk);
            }
            got
        });
        let conn = h2(addr).await;
        let (mut socket, _) = conn
            .websocket(&format!("ws://{addr}/"), &ClientConfig::default())
            .await
            .unwrap();
        let err = socket.read_event().await.unwrap_err();
        assert_eq!(err.close_code(), Some(rfc6455::CloseCode::PROTOCOL_ERROR));
        drop(socket);
        let got = server.await.unwrap();
        // A masked Close (client to server, RFC 6455 §5.3) with code 1002.
        assert!(got.len() >= 8, "the Close reached the server: {got:?}");
        assert_eq!(got[0], 0x88);
        assert_eq!(got[1] & 0x80, 0x80);
        let len = usize::from(got[1] & 0x7f);
        assert!(len >= 2);
        let key = [got[2], got[3], got[4], got[5]];
        let code = u16::from_be_bytes([got[6] ^ key[0], got[7] ^ key[1]]);
        assert_eq!(code, 1002);
    })
    .await
}

/// With permessage-deflate required, an extended CONNECT that is not a
/// valid WebSocket request is still refused for what is wrong with it (the
/// status, the fields and the error of RFC 8441 §4-5 / RFC 9220 §3), not
/// as "permessage-deflate is required": the request is checked before the
/// extension is negotiated.
#[test]
fn an_invalid_extended_connect_is_refused_for_its_fault_even_when_deflate_is_required() {
    use rfc6455::adapter::Error as AdapterError;
    use rfc6455::handshake::{Accept, ConnectRequest, HandshakeError, Limits, PseudoHeaders};
    use rfc6455::upgrade::ConnectUpgrade;
    let mut deflate = DeflateConfig::default();
    deflate.required = true;
    let mut config = ServerConfig::default();
    config.deflate = Some(deflate);
    // An unsupported :protocol: 501 (RFC 9220 §3).
    let mut pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    pseudo.protocol = Some("connect-udp");
    let request = ConnectRequest::from_parts(
        &pseudo,
        [("sec-websocket-version", "13")],
        Limits::default(),
    )
    .unwrap();
    let (answer, opened) = ConnectUpgrade::new(request, &config).answer(&Accept::new());
    assert_eq!(
        answer.status,
        501,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(matches!(
        opened,
        Err(AdapterError::Handshake(
            HandshakeError::UnsupportedProtocol(_)
        ))
    ));
    // A wrong version: 400 with `sec-websocket-version: 13` (RFC 6455 §4.4).
    let pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    let request =
        ConnectRequest::from_parts(&pseudo, [("sec-websocket-version", "8")], Limits::default())
            .unwrap();
    let (answer, opened) = ConnectUpgrade::new(request, &config).answer(&Accept::new());
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("sec-websocket-version"), Some("13"));
    assert!(matches!(
        opened,
        Err(AdapterError::Handshake(HandshakeError::UnsupportedVersion))
    ));
    // A valid request without an offer is refused because of the offer.
    let request = ConnectRequest::from_parts(
        &pseudo,
        [("sec-websocket-version", "13")],
        Limits::default(),
    )
    .unwrap();
    let (answer, opened) = ConnectUpgrade::new(request, &config).answer(&Accept::new());
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body, b"permessage-deflate is required\n");
    assert!(opened.is_err());
}

/// A vectored write of any size makes progress: the capacity asked of h2
/// (a `u32`) is not the write's length cut to 32 bits, which for a write
/// of exactly 4 GiB asked for nothing and waited forever for room. The
/// slices all point at one 1 MiB buffer: nothing of that size is made.
#[tokio::test]
async fn a_vectored_write_of_4_gib_is_not_asked_as_zero_bytes() {
    use std::io::IoSlice;
    use tokio::io::AsyncWriteExt;
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let conn = h2(addr).await;
        let (socket, _) = conn
            .websocket(&format!("ws://{addr}/"), &ClientConfig::default())
            .await
            .unwrap();
        let (mut stream, _) = socket.into_parts();
        let chunk = vec![0u8; 1 << 20];
        let slices: Vec<IoSlice<'_>> = (0..4096).map(|_| IoSlice::new(&chunk)).collect();
        let wrote = tokio::time::timeout(Duration::from_secs(5), stream.write_vectored(&slices))
            .await
            .expect("the write waited forever for capacity it never asked for")
            .unwrap();
        assert!(wrote > 0 && wrote <= 1 << 31, "{wrote}");
    })
    .await
}
