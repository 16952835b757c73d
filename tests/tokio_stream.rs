//! The tokio adapter over loopback TCP: echo in both roles, split halves,
//! Stream/Sink, request inspection, rejection, plain HTTP.
#![cfg(feature = "tokio")]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rfc6455::handshake::{Accept, ClientOptions};
use rfc6455::tokio::{self as ws, ClientConfig, Error, ServerConfig};
use rfc6455::{CloseCode, Event, Message, MessageKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An echo server on a loopback port (echoes through `echo_event`, the
/// borrowed path); returns its URL.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut ws = ws::accept(stream).await?;
                loop {
                    ws.read_event().await?;
                    if ws.connection_mut().echo_event()? {
                        ws.flush().await?;
                    }
                }
                #[allow(unreachable_code)]
                Ok::<(), Error>(())
            });
        }
    });
    format!("ws://{addr}/echo")
}

#[tokio::test]
async fn echo_round_trips_client_and_server() {
    let url = echo_server().await;
    let (mut c, resp) = ws::connect(&url).await.unwrap();
    assert_eq!(resp.status(), 101);
    c.send_text("hello").await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text("hello".into()));
    c.send_binary(&[1, 2, 3]).await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Binary(vec![1, 2, 3]));
    // The server answers pings by itself.
    c.send_ping(b"p").await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Pong(b"p".to_vec()));
    // A message sent in several frames comes back whole.
    c.send_fragment(MessageKind::Text, "fr".as_bytes(), false)
        .await
        .unwrap();
    c.send_fragment(MessageKind::Text, "ag".as_bytes(), false)
        .await
        .unwrap();
    c.send_fragment(MessageKind::Text, "ments".as_bytes(), true)
        .await
        .unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text("fragments".into()));
    // Large message (several reads, buffer growth).
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    c.send_binary(&big).await.unwrap();
    match c.read_event().await.unwrap() {
        Event::Binary(b) => assert!(b == &big[..]),
        other => panic!("{other:?}"),
    }
    // Graceful close: the server echoes the Close and closes TCP.
    c.close(CloseCode::NORMAL, "done").await.unwrap();
    assert_eq!(c.connection().state(), rfc6455::State::Closed);
    assert!(matches!(c.read().await, Err(Error::ConnectionClosed)));
}

#[tokio::test]
async fn server_side_close_and_client_sees_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut s = ws::accept(stream).await.unwrap();
        s.send_text("bye soon").await.unwrap();
        s.close(CloseCode::GOING_AWAY, "going").await.unwrap();
        // The server shut the TCP connection down.
        let mut rest = Vec::new();
        let (mut tcp, _) = s.into_parts();
        let _ = tcp.read_to_end(&mut rest).await;
    });
    let (mut c, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    assert_eq!(c.read().await.unwrap(), Message::Text("bye soon".into()));
    match c.read().await.unwrap() {
        Message::Close(Some(f)) => {
            assert_eq!(f.code, Some(CloseCode::GOING_AWAY));
            assert_eq!(f.reason, "going");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(c.read().await, Err(Error::ConnectionClosed)));
    server.await.unwrap();
}

#[tokio::test]
async fn stream_and_sink() {
    let url = echo_server().await;
    let (mut c, _) = ws::connect(&url).await.unwrap();
    // feed: queue without flushing, then flush once.
    for i in 0..100 {
        c.feed(Message::Text(format!("m{i}"))).await.unwrap();
    }
    c.flush().await.unwrap();
    for i in 0..100 {
        assert_eq!(
            c.next().await.unwrap().unwrap(),
            Message::Text(format!("m{i}"))
        );
    }
    SinkExt::close(&mut c).await.unwrap();
    // The echoed Close, then the end of the stream.
    assert!(matches!(c.next().await, Some(Ok(Message::Close(_)))));
    assert!(c.next().await.is_none());
}

#[tokio::test]
async fn split_reader_and_writer_tasks() {
    let url = echo_server().await;
    let (c, _) = ws::connect(&url).await.unwrap();
    let (writer, mut reader) = c.split();
    const N: usize = 2000;
    let w2 = writer.clone();
    let sender = tokio::spawn(async move {
        for i in 0..N {
            if i % 2 == 0 {
                writer.send_text(&format!("msg {i}")).await.unwrap();
            } else {
                writer
                    .send_binary(format!("msg {i}").as_bytes())
                    .await
                    .unwrap();
            }
            if i % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
    });
    let receiver = tokio::spawn(async move {
        for i in 0..N {
            let m = reader.read().await.unwrap();
            let expect = if i % 2 == 0 {
                Message::Text(format!("msg {i}"))
            } else {
                Message::Binary(format!("msg {i}").into_bytes())
            };
            assert_eq!(m, expect);
        }
        // Close from the writer; the reader sees the reply and the end.
        reader
    });
    sender.await.unwrap();
    let mut reader = receiver.await.unwrap();
    w2.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(reader.read().await.unwrap(), Message::Close(_)));
    assert!(matches!(reader.read().await, Err(Error::ConnectionClosed)));
}

/// The reader's automatic pongs reach the wire though the writer never
/// sends, and a writer can send while the reader is parked in a read.
#[tokio::test]
async fn split_reader_answers_pings_without_writer() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut s = ws::accept(stream).await.unwrap();
        for i in 0..20u8 {
            s.send_ping(&[i]).await.unwrap();
            assert_eq!(s.read().await.unwrap(), Message::Pong(vec![i]));
        }
        // Now wait for a message the client's writer sends while its reader
        // is parked.
        assert_eq!(s.read().await.unwrap(), Message::Text("from writer".into()));
        s.close(CloseCode::NORMAL, "").await.unwrap();
    });
    let (c, _) = ws::connect(&format!("ws://{addr}/")).await.unwrap();
    let (writer, mut reader) = c.split();
    let r = tokio::spawn(async move {
        let mut pings = 0;
        loop {
            match reader.read().await {
                Ok(Message::Ping(_)) => pings += 1,
                Ok(Message::Close(_)) => {}
                Ok(other) => panic!("{other:?}"),
                Err(Error::ConnectionClosed) => return pings,
                Err(e) => panic!("{e}"),
            }
        }
    });
    // Let the pings go through with the writer idle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    writer.send_text("from writer").await.unwrap();
    assert_eq!(r.await.unwrap(), 20);
    server.await.unwrap();
}

#[tokio::test]
async fn split_reader_stream_and_writer_sink() {
    let url = echo_server().await;
    let (c, _) = ws::connect(&url).await.unwrap();
    let (mut writer, mut reader) = c.split();
    let t = tokio::spawn(async move {
        for i in 0..50 {
            writer.feed(Message::Binary(vec![i; 10])).await.unwrap();
        }
        writer.flush().await.unwrap();
        writer
    });
    for i in 0..50 {
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Message::Binary(vec![i; 10])
        );
    }
    let mut writer = t.await.unwrap();
    SinkExt::close(&mut writer).await.unwrap();
    assert!(matches!(reader.next().await, Some(Ok(Message::Close(_)))));
    assert!(reader.next().await.is_none());
}

#[tokio::test]
async fn incoming_subprotocol_reject_and_plain_http() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let incoming = ws::read_request(stream, &ServerConfig::default())
                    .await
                    .unwrap();
                let req = incoming.request();
                if !req.is_upgrade() {
                    incoming.respond(200, "text/plain", b"plain").await.unwrap();
                } else if req.path() == "/private" {
                    incoming.reject(403, b"no").await.unwrap();
                } else {
                    let chat = req.subprotocols().any(|p| p == "chat");
                    let accept = if chat {
                        Accept::new().subprotocol("chat")
                    } else {
                        Accept::new()
                    };
                    let mut s = incoming.accept(&accept).await.unwrap();
                    s.send_text("welcome").await.unwrap();
                    let _ = s.close(CloseCode::NORMAL, "").await;
                }
            });
        }
    });
    // Subprotocol.
    let mut config = ClientConfig::default();
    config.options = ClientOptions::new().subprotocol("chat");
    let (mut c, resp) = ws::connect_with(&format!("ws://localhost:{}/", addr.port()), &config)
        .await
        .unwrap();
    assert_eq!(resp.subprotocol(), Some("chat"));
    assert_eq!(c.read().await.unwrap(), Message::Text("welcome".into()));
    // Rejection with a status.
    match ws::connect(&format!("ws://{addr}/private")).await {
        Err(Error::Handshake(e)) => assert!(format!("{e}").contains("403"), "{e}"),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted"),
    }
    // Plain HTTP on the same port.
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    tcp.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.ends_with("plain"));
    // wss:// needs the `rustls` feature (or a TLS stream of the caller's
    // and connect_over), and the error says so.
    #[cfg(not(feature = "rustls"))]
    match ws::connect("wss://localhost/").await {
        Err(e @ Error::TlsRequired) => assert!(e.to_string().contains("`rustls` feature"), "{e}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

/// `connect_over` and `read_request_over` work over any stream (here an
/// in-memory duplex, standing in for TLS).
#[tokio::test]
async fn handshake_over_any_stream() {
    let (a, b) = tokio::io::duplex(4096);
    let server = tokio::spawn(async move {
        let incoming = ws::read_request_over(b, &ServerConfig::default())
            .await
            .unwrap();
        assert_eq!(incoming.request().path(), "/over");
        let mut s = incoming.accept(&Accept::new()).await.unwrap();
        let m = s.read().await.unwrap();
        s.send(&m).await.unwrap();
        s.close(CloseCode::NORMAL, "").await.unwrap();
    });
    let (mut c, _) = ws::connect_over(a, "ws://example.com/over", &ClientConfig::default())
        .await
        .unwrap();
    c.send_text("over a duplex").await.unwrap();
    assert_eq!(
        c.read().await.unwrap(),
        Message::Text("over a duplex".into())
    );
    assert!(matches!(c.read().await.unwrap(), Message::Close(_)));
    server.await.unwrap();
}

/// A stream whose own flush is not ready at first (as a TLS stream holding
/// records the socket has not taken yet): a send completes only once the
/// stream's flush has, so the message is not left inside the stream.
#[tokio::test]
async fn a_stream_flush_that_is_pending_is_finished() {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    struct Stubborn {
        written: Vec<u8>,
        refusals: usize,
        flushed: usize,
    }
    impl AsyncRead for Stubborn {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Pending
        }
    }
    impl AsyncWrite for Stubborn {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            self.get_mut().written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            let this = self.get_mut();
            if this.refusals > 0 {
                this.refusals -= 1;
                cx.waker().wake_by_ref(); // "writable again" at once
                return Poll::Pending;
            }
            this.flushed += 1;
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }
    use rfc6455::{Config, Connection};
    let stream = Stubborn {
        written: Vec::new(),
        refusals: 2,
        flushed: 0,
    };
    let mut socket =
        ws::WebSocketStream::from_connection(stream, Connection::client(Config::default()));
    socket.send_text("held").await.unwrap();
    assert_eq!(
        socket.get_ref().flushed,
        1,
        "the send waited for the stream's flush"
    );
    assert!(!socket.get_ref().written.is_empty());
}
