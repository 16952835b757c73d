//! `rfc6455::hyper` over HTTP/1.1: a hyper server whose route answers with
//! `rfc6455::hyper::Handshake`, driven by the crate's tokio client and by
//! raw sockets; its refusals compared byte for byte (status, fields, body)
//! with those of the crate's own server.
#![cfg(feature = "hyper")]

mod hyper_server;

use std::net::SocketAddr;
use std::time::Duration;

use rfc6455::deflate::DeflateConfig;
use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Uri};
use rfc6455::hyper::ServerConfig;
use rfc6455::tokio::{self as ws, ClientConfig};
use rfc6455::{Config, Connection, Event, Message, MessageKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LONG: Duration = Duration::from_secs(20);

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LONG, f).await.expect("timed out")
}

#[tokio::test]
async fn echoes_text_binary_large_and_fragmented_messages() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let config = ClientConfig::default().max_message_size(2 << 20);
        let (mut socket, response) = ws::connect_with(&format!("ws://{addr}/echo"), &config)
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        socket.send_text("hello ✓").await.unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Text("hello ✓".into())
        );
        socket.send_binary(&[0, 1, 2, 255]).await.unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Binary(vec![0, 1, 2, 255])
        );
        let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
        socket.send_binary(&big).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Binary(big));
        for (i, part) in ["frag", "men", "ted"].iter().enumerate() {
            socket
                .send_fragment(MessageKind::Text, part.as_bytes(), i == 2)
                .await
                .unwrap();
        }
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Text("fragmented".into())
        );
        socket
            .close(rfc6455::CloseCode::NORMAL, "bye")
            .await
            .unwrap();
    })
    .await
}

#[tokio::test]
async fn negotiates_permessage_deflate_when_offered() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let mut config = ClientConfig::default();
        config.deflate = Some(DeflateConfig::default());
        let (mut socket, response) = ws::connect_with(&format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        let answer = response.header("sec-websocket-extensions").unwrap();
        assert!(answer.starts_with(b"permessage-deflate"), "{answer:?}");
        assert!(socket.connection().deflate_enabled());
        let text = "compress me ".repeat(100);
        socket.send_text(&text).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Text(text));

        // Not offered: not used.
        let (socket, response) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
        assert!(response.header("sec-websocket-extensions").is_none());
        assert!(!socket.connection().deflate_enabled());
    })
    .await
}

#[tokio::test]
async fn the_application_chooses_the_subprotocol() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let mut config = ClientConfig::default();
        config.options = ClientOptions::new()
            .subprotocol("other")
            .subprotocol("echo.v1");
        let (mut socket, response) = ws::connect_with(&format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        assert_eq!(response.subprotocol(), Some("echo.v1"));
        socket.send_text("v1").await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Text("v1".into()));
    })
    .await
}

/// Frames that arrive in the same read as the request head (bytes hyper
/// read past the head) reach the WebSocket.
#[tokio::test]
async fn bytes_behind_the_request_head_are_not_lost() {
    within(async {
        let addr = hyper_server::start(ServerConfig::default(), true).await;
        let uri = Uri::parse(&format!("ws://{addr}/")).unwrap();
        let mut hs = ClientHandshake::new(
            &uri,
            &ClientOptions::new(),
            &mut rfc6455::rand::OsRandom::new(),
        )
        .unwrap();
        let mut client = Connection::client(Config::default());
        client.send_text("early").unwrap();
        client.send_binary(b"bird").unwrap();
        let mut wire = hs.request_bytes().to_vec();
        wire.extend_from_slice(&client.take_output());
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(&wire).await.unwrap(); // one write: head and frames

        let mut buf = vec![0; 4096];
        let mut got = Vec::new();
        let mut opened = false;
        while got.len() < 2 {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            let mut input = &buf[..n];
            if !opened {
                let Some((response, used)) = hs.feed(input).unwrap() else {
                    continue;
                };
                assert_eq!(response.status(), 101);
                opened = true;
                input = &input[used..];
            }
            client.feed(input);
            while let Some(event) = client.next_event().unwrap() {
                got.push(match event {
                    Event::Text(t) => Message::Text(t.into()),
                    Event::Binary(b) => Message::Binary(b.to_vec()),
                    other => panic!("{other:?}"),
                });
            }
        }
        assert_eq!(
            got,
            [
                Message::Text("early".into()),
                Message::Binary(b"bird".to_vec())
            ]
        );
    })
    .await
}

/// The crate's own tokio server, answering each request as
/// `ws::accept` does.
async fn our_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let incoming = ws::read_request(tcp, &ServerConfig::default()).await?;
                incoming.accept(&Accept::new()).await
            });
        }
    });
    addr
}

/// A response's status, the fields that matter, and its body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    upgrade: Option<String>,
    version: Option<String>,
    body: Vec<u8>,
}

/// Sends `request` on a new connection and reads the response (head and
/// `Content-Length` bytes of body).
async fn exchange(addr: SocketAddr, request: &str) -> Answer {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a whole response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut fields);
        let httparse::Status::Complete(head) = response.parse(&buf).unwrap() else {
            continue;
        };
        let field = |name: &str| {
            response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| String::from_utf8_lossy(h.value).into_owned())
        };
        let len: usize = field("content-length").unwrap().parse().unwrap();
        let mut answer = Answer {
            status: response.code.unwrap(),
            content_type: field("content-type"),
            upgrade: field("upgrade"),
            version: field("sec-websocket-version"),
            body: Vec::new(),
        };
        while buf.len() < head + len {
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&chunk[..n]);
        }
        answer.body = buf[head..head + len].to_vec();
        return answer;
    }
}

/// RFC 6455 §4.2.1: each invalid handshake is refused by the hyper route
/// exactly as by the crate's own server: same status (400, or 426 with
/// `Upgrade: websocket` and `Sec-WebSocket-Version: 13`, §4.4), same
/// `Content-Type`, same body.
#[tokio::test]
async fn refusals_are_those_of_our_own_server() {
    within(async {
        let hyper = hyper_server::start(ServerConfig::default(), true).await;
        let ours = our_server().await;
        let valid = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let cases = [
            // (what is changed, into what, the status RFC 6455 asks for)
            ("dGhlIHNhbXBsZSBub25jZQ==", "not-a-key", 400), // §4.2.1 item 5
            ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 400), // item 5
            ("Upgrade: websocket\r\n", "", 426),            // item 3
            ("Upgrade: websocket", "Upgrade: h2c", 426),    // item 3
            ("Connection: Upgrade", "Connection: keep-alive", 426), // item 4
            ("Version: 13", "Version: 8", 426),             // item 6, §4.4
            ("Sec-WebSocket-Version: 13\r\n", "", 426),     // item 6
            ("GET /", "POST /", 400),                       // item 1
            ("HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost", 400),  // item 1
            ("\r\n\r\n", "\r\nSec-WebSocket-Protocol: a b\r\n\r\n", 400), // item 8
            (
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: x; =\r\n\r\n",
                400,
            ), // item 9
        ];
        for (from, to, status) in cases {
            let request = valid.replacen(from, to, 1);
            assert_ne!(request, valid);
            let from_hyper = exchange(hyper, &request).await;
            let from_ours = exchange(ours, &request).await;
            assert_eq!(from_hyper, from_ours, "{to:?}");
            assert_eq!(from_hyper.status, status, "{to:?}");
            if status == 426 {
                assert_eq!(from_hyper.upgrade.as_deref(), Some("websocket"));
                assert_eq!(from_hyper.version.as_deref(), Some("13"));
            }
        }
        // A page on the same server is still a page.
        let page = exchange(hyper, "GET /page HTTP/1.1\r\nHost: h\r\n\r\n").await;
        assert_eq!((page.status, page.body), (200, b"a page".to_vec()));
    })
    .await
}

/// With permessage-deflate required, a request that is not a valid
/// upgrade is refused for what is wrong with it, as without the
/// requirement (a plain GET: 426 with `Upgrade: websocket`; a wrong
/// version: 426 with `Sec-WebSocket-Version: 13`), not with "permessage-
/// deflate is required"; a valid upgrade without an offer gets that 400.
#[test]
fn an_invalid_upgrade_is_refused_for_its_fault_even_when_deflate_is_required() {
    let mut deflate = DeflateConfig::default();
    deflate.required = true;
    let mut config = ServerConfig::default();
    config.deflate = Some(deflate);
    let upgrade = |version: &str, with_upgrade: bool| {
        let mut req = http::Request::get("/chat").header("host", "example.com");
        if with_upgrade {
            req = req
                .header("upgrade", "websocket")
                .header("connection", "upgrade");
        }
        let mut req = req
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", version)
            .body(())
            .unwrap();
        let (response, ws) =
            rfc6455::hyper::upgrade::<_, Vec<u8>>(&mut req, &config, &Accept::new());
        assert!(ws.is_err());
        response
    };
    let plain_get = upgrade("13", false);
    assert_eq!(plain_get.status(), 426);
    assert_eq!(plain_get.headers()["upgrade"], "websocket");
    let old_version = upgrade("8", true);
    assert_eq!(old_version.status(), 426);
    assert_eq!(old_version.headers()["sec-websocket-version"], "13");
    let no_offer = upgrade("13", true);
    assert_eq!(no_offer.status(), 400);
    assert_eq!(no_offer.body(), b"permessage-deflate is required\n");
}
