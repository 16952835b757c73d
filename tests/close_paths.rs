//! Every way of closing goes through one check (RFC 6455 §7.4: 1005, 1006,
//! 1015 and reserved codes never go on the wire), and a peer that hangs up
//! after a Close frame is heard: the write fails, and the next read returns
//! that Close (code and reason) rather than only "connection closed".
//!
//! Blocking and tokio adapters, over loopback TCP.

mod net;

use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use net::{listen, read_to_end_lenient, LONG};
use rfc6455::blocking::{self, ServerConfig};
use rfc6455::close::OwnedCloseFrame;
use rfc6455::{CloseCode, Config, Connection, Error, Event, Message, State};

/// The tests that push 64 MiB at a server that hangs up run one at a time.
static BIG_WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Codes that RFC 6455 §7.4 keeps off the wire, and some out of range.
const FORBIDDEN: [u16; 7] = [0, 999, 1004, 1005, 1006, 1015, 5000];

fn close_message(code: u16) -> Message {
    Message::Close(Some(OwnedCloseFrame {
        code: Some(CloseCode::new(code)),
        reason: String::new(),
    }))
}

// ---- the core ----

#[test]
fn the_core_refuses_forbidden_codes_in_every_state() {
    for code in FORBIDDEN {
        let mut c = Connection::server(Config::default());
        let code = CloseCode::new(code);
        assert_eq!(
            c.close(code, ""),
            Err(Error::InvalidSendCode(code.as_u16()))
        );
        assert_eq!(
            c.close_with(Some(code), "x"),
            Err(Error::InvalidSendCode(code.as_u16()))
        );
        assert!(!c.has_output(), "{code:?} queued");
        assert_eq!(c.state(), State::Open);
        // Once closing, the code is still checked first.
        c.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(
            c.close_with(Some(code), ""),
            Err(Error::InvalidSendCode(code.as_u16()))
        );
    }
}

#[test]
fn after_a_failed_write_the_peer_close_is_still_delivered() {
    let mut client = Connection::client(Config::default());
    client.send_text("big").unwrap();
    client.write_failed();
    assert!(!client.has_output(), "queued output is dropped");
    assert_eq!(client.state(), State::Closing);
    assert_eq!(client.send_text("more"), Err(Error::SendAfterClose));
    // A Ping, then the Close 1009 "too big" the server sent before leaving.
    let mut wire = vec![0x89, 0x01, b'p'];
    wire.extend_from_slice(&[0x88, 0x05, 0x03, 0xf1, b'b', b'i', b'g']);
    client.feed(&wire);
    assert!(matches!(client.next_event(), Ok(Some(Event::Ping(b"p")))));
    match client.next_event() {
        Ok(Some(Event::Close(c))) => {
            assert_eq!(c.code, Some(CloseCode::MESSAGE_TOO_BIG));
            assert_eq!(c.reason, "big");
        }
        other => panic!("{other:?}"),
    }
    // No Pong, no Close echo: nothing can be written.
    assert!(!client.has_output());
    assert!(client.should_close_transport());
}

// ---- the blocking adapter ----

/// A blocking server on loopback running `f` on the accepted WebSocket.
fn blocking_server(
    config: ServerConfig,
    f: impl FnOnce(blocking::WebSocket<TcpStream>) + Send + 'static,
) -> (String, thread::JoinHandle<()>) {
    let (l, addr) = listen();
    let h = thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(LONG)).unwrap();
        f(blocking::accept_with(s, &config).unwrap());
    });
    (format!("ws://{addr}/"), h)
}

#[test]
fn blocking_close_and_send_refuse_forbidden_codes() {
    let (url, server) = blocking_server(ServerConfig::default(), |mut ws| {
        // The first thing that arrives is the client's text: no Close was
        // written before it.
        assert_eq!(ws.read().unwrap(), Message::Text("still open".into()));
        assert!(matches!(ws.read().unwrap(), Message::Close(_)));
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    for code in FORBIDDEN {
        let e = ws.close(CloseCode::new(code), "").unwrap_err();
        assert!(
            matches!(e, blocking::Error::Protocol(Error::InvalidSendCode(c)) if c == code),
            "{code}: {e:?}"
        );
        let e = ws.send(close_message(code)).unwrap_err();
        assert!(
            matches!(e, blocking::Error::Protocol(Error::InvalidSendCode(c)) if c == code),
            "{code}: {e:?}"
        );
    }
    let (writer, mut reader) = ws.split().unwrap();
    for code in FORBIDDEN {
        assert!(writer.close(CloseCode::new(code), "").is_err(), "{code}");
        assert!(writer.send(close_message(code)).is_err(), "{code}");
    }
    writer.send_text("still open").unwrap();
    writer.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(reader.read(), Ok(Message::Close(_))));
    server.join().unwrap();
}

/// The server refuses a message over its limit with 1009 and hangs up; the
/// client, still writing it, gets the write error and then the 1009.
#[test]
fn blocking_client_hears_why_the_server_hung_up() {
    let _one_at_a_time = BIG_WRITES.lock().unwrap_or_else(|e| e.into_inner());
    let mut config = ServerConfig::default();
    config.config.max_message_size = 1024;
    config.config.max_frame_size = 1024;
    let (url, server) = blocking_server(config, |mut ws| {
        let e = ws.read().unwrap_err();
        assert!(
            matches!(e, blocking::Error::Protocol(Error::FrameTooLarge { .. })),
            "{e:?}"
        );
        // Dropped here: the socket closes with the client's bytes unread.
    });
    let (mut ws, _) = blocking::connect(&url).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    let big = vec![0u8; 64 << 20];
    let sent = ws.send_binary(&big);
    assert!(matches!(sent, Err(blocking::Error::Io(_))), "{sent:?}");
    match ws.read() {
        Ok(Message::Close(Some(f))) => assert_eq!(f.code, Some(CloseCode::MESSAGE_TOO_BIG)),
        other => panic!("expected the server's 1009, got {other:?}"),
    }
    assert!(matches!(ws.read(), Err(blocking::Error::ConnectionClosed)));
    server.join().unwrap();
}

#[test]
fn blocking_split_writer_failure_leaves_the_close_to_the_reader() {
    let _one_at_a_time = BIG_WRITES.lock().unwrap_or_else(|e| e.into_inner());
    let mut config = ServerConfig::default();
    config.config.max_message_size = 1024;
    config.config.max_frame_size = 1024;
    let (url, server) = blocking_server(config, |mut ws| {
        assert!(ws.read().is_err());
    });
    let (ws, _) = blocking::connect(&url).unwrap();
    let (writer, mut reader) = ws.split().unwrap();
    let big = vec![0u8; 64 << 20];
    assert!(writer.send_binary(&big).is_err());
    match reader.read() {
        Ok(Message::Close(Some(f))) => assert_eq!(f.code, Some(CloseCode::MESSAGE_TOO_BIG)),
        other => panic!("expected the server's 1009, got {other:?}"),
    }
    server.join().unwrap();
}

// ---- the tokio adapter ----

#[cfg(feature = "tokio")]
mod tokio_adapter {
    use super::*;
    use futures_util::SinkExt;
    use rfc6455::tokio::{self as ws, Error as WsError};

    /// A tokio server on loopback running `f` on the accepted stream.
    async fn server<F, Fut>(config: ws::ServerConfig, f: F) -> (String, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(ws::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            f(ws::accept_with(s, &config).await.unwrap()).await;
        });
        (format!("ws://{addr}/"), h)
    }

    fn is_invalid(e: &WsError, code: u16) -> bool {
        matches!(e, WsError::Protocol(Error::InvalidSendCode(c)) if *c == code)
    }

    #[tokio::test]
    async fn tokio_close_send_and_sink_refuse_forbidden_codes() {
        let (url, server) = server(ws::ServerConfig::default(), |mut s| async move {
            assert_eq!(s.read().await.unwrap(), Message::Text("still open".into()));
            assert!(matches!(s.read().await.unwrap(), Message::Close(_)));
        })
        .await;
        let (mut c, _) = ws::connect(&url).await.unwrap();
        for code in FORBIDDEN {
            let e = c.close(CloseCode::new(code), "").await.unwrap_err();
            assert!(is_invalid(&e, code), "{code}: {e:?}");
            let e = c.send(&close_message(code)).await.unwrap_err();
            assert!(is_invalid(&e, code), "{code}: {e:?}");
            let e = SinkExt::send(&mut c, close_message(code))
                .await
                .unwrap_err();
            assert!(is_invalid(&e, code), "{code}: {e:?}");
        }
        let (writer, mut reader) = c.split();
        for code in FORBIDDEN {
            let e = writer.close(CloseCode::new(code), "").await.unwrap_err();
            assert!(is_invalid(&e, code), "{code}: {e:?}");
            let e = writer.send(close_message(code)).await.unwrap_err();
            assert!(is_invalid(&e, code), "{code}: {e:?}");
        }
        writer.send_text("still open").await.unwrap();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(reader.read().await, Ok(Message::Close(_))));
        server.await.unwrap();
    }

    // The guard only orders this test against the blocking ones (other
    // threads); nothing on this test's own runtime takes it.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn tokio_client_hears_why_the_server_hung_up() {
        let _one_at_a_time = BIG_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        let mut config = ws::ServerConfig::default();
        config.config.max_message_size = 1024;
        config.config.max_frame_size = 1024;
        let (url, server) = server(config, |mut s| async move {
            let e = s.read().await.unwrap_err();
            assert!(
                matches!(e, WsError::Protocol(Error::FrameTooLarge { .. })),
                "{e:?}"
            );
        })
        .await;
        let (mut c, _) = ws::connect(&url).await.unwrap();
        let big = vec![0u8; 64 << 20];
        let sent = c.send_binary(&big).await;
        assert!(matches!(sent, Err(WsError::Io(_))), "{sent:?}");
        let read = tokio::time::timeout(LONG, c.read()).await.unwrap();
        match read {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(f.code, Some(CloseCode::MESSAGE_TOO_BIG))
            }
            other => panic!("expected the server's 1009, got {other:?}"),
        }
        server.await.unwrap();
    }
}

/// The server's side of a refused message, seen raw: the Close frame with
/// 1009 is on the wire before the connection ends.
#[test]
fn the_refusing_server_sends_1009_before_hanging_up() {
    let mut config = ServerConfig::default();
    config.config.max_message_size = 1024;
    let (url, server) = blocking_server(config, |mut ws| {
        assert!(ws.read().is_err());
    });
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let mut raw = net::raw_client(addr.parse().unwrap(), "/");
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    use std::io::Write;
    // A header announcing 2 KiB, more than the limit.
    raw.write_all(&net::cframe(0x82, &[0u8; 2048])).unwrap();
    let bytes = read_to_end_lenient(&mut raw);
    assert_eq!(&bytes[..4], &[0x88, 0x02, 0x03, 0xf1], "{bytes:02x?}");
    server.join().unwrap();
}
