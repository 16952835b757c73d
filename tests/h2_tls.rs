//! WebSockets over HTTP/2 on TLS (RFC 8441 over ALPN `h2`): the crate's
//! HTTP/2 client (`Http2Connection::connect`, `rfc6455::hyper::connect`
//! with `wss://`) against hyper servers whose TLS is the crate's own
//! (`MaybeTlsStream::accept`), and against the `axum_chat` example with
//! `--tls-cert`/`--tls-key` (HTTP/2 and HTTP/1.1 on one TLS port). A CA and
//! certificates made by `rcgen` in the test; everything on 127.0.0.1.
//!
//! - several WebSockets multiplexed on one TLS connection (the server
//!   counts its TLS connections: one);
//! - the fallback to HTTP/1.1: on the same connection when the server's
//!   ALPN chooses `http/1.1`, on a new one when it chooses `h2` but does
//!   not enable extended CONNECT; `Http2Connection` says why it cannot;
//! - a certificate that does not verify fails, with no second try;
//! - `axum_chat` over TLS: three WebSockets on one HTTP/2 connection and a
//!   fourth over HTTP/1.1 chat with the seed's strings, and the server's
//!   log says how each arrived and on which connection.
#![cfg(all(feature = "hyper", feature = "rustls"))]

mod examples_bin;
mod hyper_server;
mod tls_chat;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rfc6455::hyper::{self as rh, ClientConfig, ClientStream, Error, Http2Connection};
use rfc6455::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use rfc6455::{CloseCode, Message};
use tls_chat::{Certs, TlsChat, LONG};
use tokio::io::{AsyncRead, AsyncWrite};

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LONG, f).await.expect("timed out")
}

fn wss(addr: SocketAddr, path: &str) -> String {
    format!("wss://localhost:{}{path}", addr.port())
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(socket: &mut WebSocketStream<S>, text: &str) {
    socket.send_text(text).await.unwrap();
    assert_eq!(socket.read().await.unwrap(), Message::Text(text.into()));
}

/// The protocol a WebSocket's HTTP/1.1 TLS connection agreed by ALPN.
fn http1_alpn(stream: &ClientStream) -> Option<Vec<u8>> {
    match stream {
        ClientStream::Http1(MaybeTlsStream::Rustls(tls)) => tls.alpn_protocol(),
        other => panic!("not HTTP/1.1 over TLS: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_websockets_share_one_tls_connection() {
    within(async {
        let certs = Certs::new();
        let (addr, accepted) = hyper_server::start_tls(certs.server(true), true).await;
        let client = certs.client();
        let conn = Http2Connection::connect(&wss(addr, "/"), &client)
            .await
            .unwrap();
        assert!(conn.accepts_websockets());
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (mut socket, response) = conn
                .websocket(&wss(addr, &format!("/room/{i}")), &client)
                .await
                .unwrap();
            assert_eq!(response.status(), 200); // RFC 8441 §5
            tasks.push(tokio::spawn(async move {
                for n in 0..30 {
                    echo(&mut socket, &format!("socket {i} message {n}")).await;
                }
                let blob = vec![i as u8; 200_000];
                socket.send_binary(&blob).await?;
                assert_eq!(socket.read().await?, Message::Binary(blob));
                socket.close(CloseCode::NORMAL, "done").await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        // All three rode the one TLS connection.
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await
}

#[tokio::test]
async fn connect_rides_http2_over_tls_when_the_server_offers_h2() {
    within(async {
        let certs = Certs::new();
        let (addr, accepted) = hyper_server::start_tls(certs.server(true), true).await;
        let (mut socket, response) = rh::connect(&wss(addr, "/"), &certs.client()).await.unwrap();
        assert!(socket.get_ref().is_h2());
        assert_eq!(response.status(), 200);
        echo(&mut socket, "over HTTP/2 over TLS").await;
        let big = vec![7u8; 1 << 20];
        socket.send_binary(&big).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Binary(big));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await
}

/// The server's ALPN chooses `http/1.1`: `connect` upgrades that same
/// connection; `Http2Connection` refuses with `Http2NotNegotiated`.
#[tokio::test]
async fn alpn_http11_falls_back_on_the_same_connection() {
    within(async {
        let certs = Certs::new();
        let (addr, accepted) = hyper_server::start_tls(certs.server(false), true).await;
        let client = certs.client();
        let (mut socket, response) = rh::connect(&wss(addr, "/"), &client).await.unwrap();
        assert!(!socket.get_ref().is_h2());
        assert_eq!(response.status(), 101);
        assert_eq!(
            http1_alpn(socket.get_ref()).as_deref(),
            Some(&b"http/1.1"[..])
        );
        echo(&mut socket, "over HTTP/1.1 over TLS").await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection");

        let err = Http2Connection::connect(&wss(addr, "/"), &client)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Http2NotNegotiated { host } if host == "localhost"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "localhost did not agree on HTTP/2 by ALPN: use HTTP/1.1"
        );
    })
    .await
}

/// The crate's own TLS server (HTTP/1.1 only, ALPN `http/1.1`): `connect`
/// takes the upgrade there too.
#[tokio::test]
async fn alpn_http11_to_the_crates_own_tls_server() {
    within(async {
        let certs = Certs::new();
        let config = certs.server(false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut socket = ws::accept_maybe_tls(tcp, &config).await?;
            let msg = socket.read().await?;
            socket.send(&msg).await?;
            socket.read().await
        });
        let (mut socket, _) = rh::connect(&wss(addr, "/"), &certs.client()).await.unwrap();
        assert!(!socket.get_ref().is_h2());
        echo(&mut socket, "plain old wss").await;
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    })
    .await
}

/// The server agrees on `h2` but does not send
/// SETTINGS_ENABLE_CONNECT_PROTOCOL: no WebSocket on that connection
/// (RFC 8441 §3); `connect` opens a second one offering `http/1.1` alone.
#[tokio::test]
async fn h2_without_extended_connect_falls_back_on_a_new_connection() {
    within(async {
        let certs = Certs::new();
        let (addr, accepted) = hyper_server::start_tls(certs.server(true), false).await;
        let client = certs.client();
        let conn = Http2Connection::connect(&wss(addr, "/"), &client)
            .await
            .unwrap();
        assert!(!conn.accepts_websockets());
        let err = conn.websocket(&wss(addr, "/"), &client).await.unwrap_err();
        assert!(matches!(err, Error::ExtendedConnectDisabled), "{err:?}");
        drop(conn);
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        let (mut socket, response) = rh::connect(&wss(addr, "/"), &client).await.unwrap();
        assert!(!socket.get_ref().is_h2());
        assert_eq!(response.status(), 101);
        assert_eq!(
            http1_alpn(socket.get_ref()).as_deref(),
            Some(&b"http/1.1"[..])
        );
        echo(&mut socket, "second connection").await;
        // The HTTP/2 try, then the HTTP/1.1 one.
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    })
    .await
}

/// A certificate the client does not trust: `Error::Tls` naming the host,
/// and no fallback (the server sees no TLS connection).
#[tokio::test]
async fn an_untrusted_certificate_fails_without_a_second_try() {
    within(async {
        let certs = Certs::new();
        let (addr, accepted) = hyper_server::start_tls(certs.server(true), true).await;
        let mut client = ClientConfig::default(); // Mozilla's roots: not our CA
        client.handshake_timeout = Some(LONG);
        let err = rh::connect(&wss(addr, "/"), &client).await.unwrap_err();
        assert!(
            matches!(&err, Error::Tls { host, .. } if host == "localhost"),
            "{err:?}"
        );
        let err = Http2Connection::connect(&wss(addr, "/"), &client)
            .await
            .unwrap_err();
        assert!(matches!(&err, Error::Tls { .. }), "{err:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 0);
    })
    .await
}

// ---------------------------------------------------------------------------
// The axum_chat example with --tls-cert/--tls-key

async fn expect_line<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    want: &str,
) {
    let got = tokio::time::timeout(LONG, socket.read())
        .await
        .expect("timed out");
    assert_eq!(got.unwrap(), Message::Text(want.into()));
}

/// The port in a chat line `User<port> just connected.`.
fn joined_port(line: Message) -> u16 {
    let Message::Text(text) = line else {
        panic!("{line:?}")
    };
    text.strip_prefix("User")
        .and_then(|t| t.strip_suffix(" just connected."))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a join line: {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_chat_over_tls_multiplexes_http2_websockets_and_takes_http11() {
    let certs = Certs::new();
    let server = TlsChat::start(examples_bin::example("axum_chat"), &certs);
    let client = certs.client();
    let url = wss(server.addr, "/");

    // Three WebSockets on one HTTP/2 connection: one name, its port's.
    let h2 = within(Http2Connection::connect(&url, &client))
        .await
        .unwrap();
    assert!(
        h2.accepts_websockets(),
        "the TLS port enables extended CONNECT"
    );
    let (mut a, response) = within(h2.websocket(&url, &client)).await.unwrap();
    assert_eq!(response.status(), 200);
    let p = joined_port(within(a.read()).await.unwrap());
    let (mut b, _) = within(h2.websocket(&url, &client)).await.unwrap();
    let (mut c, _) = within(h2.websocket(&url, &client)).await.unwrap();
    let joined = format!("User{p} just connected.");
    for _ in 0..2 {
        expect_line(&mut a, &joined).await;
    }
    expect_line(&mut b, &joined).await;
    expect_line(&mut b, &joined).await;
    expect_line(&mut c, &joined).await;

    // A fourth over HTTP/1.1 (ALPN http/1.1: the crate's tokio client).
    let (mut d, response) = within(ws::connect_with(&url, &client)).await.unwrap();
    assert_eq!(response.status(), 101);
    let q = d.get_ref().get_ref().local_addr().unwrap().port();
    let joined = format!("User{q} just connected.");
    for socket in [&mut a, &mut b, &mut c] {
        expect_line(socket, &joined).await;
    }
    expect_line(&mut d, &joined).await;

    // Every line reaches everyone.
    b.send_text("hello from stream two ✓").await.unwrap();
    let said = format!("User{p} says: hello from stream two ✓");
    for socket in [&mut a, &mut b, &mut c] {
        expect_line(socket, &said).await;
    }
    expect_line(&mut d, &said).await;
    d.send_text("hello from HTTP/1.1").await.unwrap();
    let said = format!("User{q} says: hello from HTTP/1.1");
    for socket in [&mut a, &mut b, &mut c] {
        expect_line(socket, &said).await;
    }
    expect_line(&mut d, &said).await;

    // The server's word: three HTTP/2 streams of connection p, one
    // HTTP/1.1 upgrade of connection q, and what each agreed by ALPN.
    let (pp, qp) = (format!("127.0.0.1:{p}"), format!("127.0.0.1:{q}"));
    server.wait_for("the HTTP/1.1 WebSocket", |l| {
        l == tls_chat::http1_websocket_line(&qp)
    });
    let log = server.log();
    let h2_line = tls_chat::h2_websocket_line(&pp);
    assert_eq!(
        log.iter().filter(|l| **l == h2_line).count(),
        3,
        "{}",
        log.join("\n")
    );
    assert!(log.contains(&format!("axum_chat: connection {pp}: TLS, ALPN h2")));
    assert!(log.contains(&format!("axum_chat: connection {qp}: TLS, ALPN http/1.1")));

    // Leaving is announced, a stream of the connection as much as the
    // HTTP/1.1 WebSocket.
    c.close(CloseCode::NORMAL, "").await.unwrap();
    expect_line(&mut a, &format!("User{p} left.")).await;
    d.close(CloseCode::NORMAL, "").await.unwrap();
    expect_line(&mut a, &format!("User{q} left.")).await;
}

/// The page over `https://` with HTTP/1.1 (a blocking rustls client),
/// at the WebSocket's path.
#[test]
fn axum_chat_over_tls_serves_the_page() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    let certs = Certs::new();
    let server = TlsChat::start(examples_bin::example("axum_chat"), &certs);
    let tls = rfc6455::adapter::tls::client_config(certs.roots());
    let name = "localhost".try_into().unwrap();
    let conn = rfc6455::rustls::ClientConnection::new(Arc::clone(&tls), name).unwrap();
    let tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(LONG)).unwrap();
    let mut stream = rfc6455::rustls::StreamOwned::new(conn, tcp);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut page = Vec::new();
    // The server may end without a close_notify.
    let _ = stream.read_to_end(&mut page);
    let page = String::from_utf8(page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page:.200}");
    let (_, body) = page.split_once("\r\n\r\n").unwrap();
    // The broadcast page, offering no subprotocol (axum_chat speaks the
    // seed's strings, not chat.v2).
    let want = include_str!("../examples/broadcast/index.html").replacen(
        "const OFFER = [\"chat.v2\"];",
        "const OFFER = [];",
        1,
    );
    assert_eq!(body, want);
    server.wait_for("the page request", |l| {
        l.starts_with("axum_chat: GET / over HTTP/1.1 on connection 127.0.0.1:")
    });
}
