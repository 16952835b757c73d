//! The `axum_chat` example, run as a process: two clients, one over
//! HTTP/1.1 and one over HTTP/2 (RFC 8441), chat through it and get the
//! seed's strings exactly as from `broadcast` (tests/broadcast.rs); the page
//! is `broadcast`'s page, at the same path as the WebSocket.
#![cfg(feature = "hyper")]

mod examples_bin;
mod net;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use net::{ChildGuard, LONG};
use rfc6455::hyper::{ClientConfig, Http2Connection};
use rfc6455::tokio::{self as ws, WebSocketStream};
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Starts the example on an ephemeral port; returns its address.
fn start() -> (SocketAddr, ChildGuard) {
    let mut child = Command::new(examples_bin::example("axum_chat"))
        .args(["127.0.0.1:0", "--ping-interval", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the axum_chat example");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("axum_chat: chat on http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(LONG)
        .expect("the server did not print its address");
    (addr.parse().unwrap(), ChildGuard(child))
}

async fn expect_line<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    want: &str,
) {
    let got = tokio::time::timeout(LONG, socket.read())
        .await
        .expect("timed out");
    assert_eq!(got.unwrap(), Message::Text(want.into()));
}

#[tokio::test]
async fn two_clients_chat_over_http1_and_http2_with_the_seed_strings() {
    let (addr, _server) = start();
    let url = format!("ws://{addr}/");

    // A over HTTP/1.1.
    let (mut a, response) = ws::connect(&url).await.unwrap();
    assert_eq!(response.status(), 101);
    let pa = a.get_ref().get_ref().local_addr().unwrap().port();
    expect_line(&mut a, &format!("User{pa} just connected.")).await;

    // B over HTTP/2: a stream of its own TCP connection, named by its port.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let pb = tcp.local_addr().unwrap().port();
    let h2 = Http2Connection::handshake(tcp).await.unwrap();
    assert!(
        h2.accepts_websockets(),
        "axum::serve enables extended CONNECT"
    );
    let (mut b, response) = h2.websocket(&url, &ClientConfig::default()).await.unwrap();
    assert_eq!(response.status(), 200); // RFC 8441 §5
    for socket in [&mut a] {
        expect_line(socket, &format!("User{pb} just connected.")).await;
    }
    expect_line(&mut b, &format!("User{pb} just connected.")).await;

    // Every line reaches everyone, the sender included.
    a.send_text("hello from HTTP/1.1 ✓").await.unwrap();
    expect_line(&mut a, &format!("User{pa} says: hello from HTTP/1.1 ✓")).await;
    expect_line(&mut b, &format!("User{pa} says: hello from HTTP/1.1 ✓")).await;
    b.send_text("hello from HTTP/2").await.unwrap();
    expect_line(&mut a, &format!("User{pb} says: hello from HTTP/2")).await;
    expect_line(&mut b, &format!("User{pb} says: hello from HTTP/2")).await;

    // Leaving is announced.
    b.close(CloseCode::NORMAL, "").await.unwrap();
    expect_line(&mut a, &format!("User{pb} left.")).await;
    a.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn serves_the_broadcast_page_at_the_websocket_path() {
    let (addr, _server) = start();
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut page = String::new();
    tokio::time::timeout(LONG, tcp.read_to_string(&mut page))
        .await
        .unwrap()
        .unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page:.200}");
    assert!(page
        .to_ascii_lowercase()
        .contains("content-type: text/html; charset=utf-8\r\n"));
    let (_, body) = page.split_once("\r\n\r\n").unwrap();
    // The broadcast page, offering no subprotocol: axum_chat speaks the
    // seed's strings, not chat.v2 (Chromium would fail the handshake).
    let page = include_str!("../examples/broadcast/index.html");
    assert!(page.contains("const OFFER = [\"chat.v2\"];"));
    assert_eq!(
        body,
        page.replacen("const OFFER = [\"chat.v2\"];", "const OFFER = [];", 1)
    );
}
