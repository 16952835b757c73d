//! Timers in the tokio adapter, on tokio's paused clock: keepalive pings and
//! their timeout, the close timeout, handshake timeouts.
#![cfg(feature = "tokio")]

use std::time::Duration;

use rfc6455::handshake::HandshakeError;
use rfc6455::tokio::{self as ws, ClientConfig, Error, ServerConfig, WebSocketStream};
use rfc6455::{CloseCode, Config, Connection, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

fn keepalive_config() -> Config {
    let mut c = Config::default();
    c.ping_interval = Some(Duration::from_secs(5));
    c.pong_timeout = Duration::from_secs(3);
    c
}

/// A peer that answers (its reads send the pongs) keeps the connection up;
/// pings go out every interval of silence.
#[tokio::test(start_paused = true)]
async fn keepalive_pings_are_answered() {
    let (a, b) = tokio::io::duplex(4096);
    let mut client = WebSocketStream::from_connection(a, Connection::client(keepalive_config()));
    let peer = tokio::spawn(async move {
        let mut s = WebSocketStream::from_connection(b, Connection::server(Config::default()));
        let mut pings = Vec::new();
        loop {
            match s.read().await {
                Ok(Message::Ping(p)) => pings.push((Instant::now(), p)),
                Ok(Message::Close(_)) => {}
                Ok(other) => panic!("{other:?}"),
                Err(Error::ConnectionClosed) => return pings,
                Err(e) => panic!("{e}"),
            }
        }
    });
    let start = Instant::now();
    // Nothing but pongs to read for 32 s: the client's reads keep pinging.
    let end = start + Duration::from_secs(32);
    let mut pongs = 0;
    while let Ok(r) = tokio::time::timeout_at(end, client.read()).await {
        assert!(matches!(r, Ok(Message::Pong(_))), "{r:?}");
        pongs += 1;
    }
    assert_eq!(pongs, 6);
    client.close(CloseCode::NORMAL, "").await.unwrap();
    let pings = peer.await.unwrap();
    assert_eq!(pings.len(), 6, "{pings:?}"); // at 5, 10, ..., 30 s
    let first = pings[0].0 - start;
    assert!(
        first >= Duration::from_secs(5) && first < Duration::from_millis(5100),
        "{first:?}"
    );
}

/// A peer that never answers: the ping goes out after the interval, and the
/// connection fails with 1011 once the pong is late.
#[tokio::test(start_paused = true)]
async fn keepalive_timeout_fails_the_connection() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut client = WebSocketStream::from_connection(a, Connection::client(keepalive_config()));
    let start = Instant::now();
    let err = client.read().await.unwrap_err();
    assert!(
        matches!(err, Error::Protocol(rfc6455::Error::KeepaliveTimeout)),
        "{err}"
    );
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(8) && elapsed < Duration::from_millis(8100),
        "{elapsed:?}"
    );
    // On the wire: the ping, then a Close with 1011.
    let mut wire = vec![0u8; 256];
    let n = b.read(&mut wire).await.unwrap();
    let mut server = Connection::server(Config::default());
    server.feed(&wire[..n]);
    assert!(matches!(
        server.next_message().unwrap(),
        Some(Message::Ping(_))
    ));
    match server.next_message().unwrap() {
        Some(Message::Close(Some(f))) => assert_eq!(f.code, Some(CloseCode::INTERNAL_ERROR)),
        other => panic!("{other:?}"),
    }
}

/// The split reader drives keepalive too, and its pings reach the wire
/// with the writer idle.
#[tokio::test(start_paused = true)]
async fn split_reader_drives_keepalive() {
    let (a, mut b) = tokio::io::duplex(4096);
    let client = WebSocketStream::from_connection(a, Connection::client(keepalive_config()));
    let (_writer, mut reader) = client.split();
    let r = tokio::spawn(async move { reader.read().await });
    let mut wire = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(6), b.read(&mut wire))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wire[0], 0x89, "a Ping frame");
    assert!(n >= 6);
    let err = r.await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Protocol(rfc6455::Error::KeepaliveTimeout)),
        "{err}"
    );
}

/// A close the peer never answers is given up after the close timeout.
#[tokio::test(start_paused = true)]
async fn close_timeout() {
    let (a, _b) = tokio::io::duplex(4096);
    let mut config = Config::default();
    config.close_timeout = Duration::from_secs(4);
    let mut client = WebSocketStream::from_connection(a, Connection::client(config));
    // Idle a while first: the timeout counts from the close, not the start.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let start = Instant::now();
    client.close(CloseCode::NORMAL, "").await.unwrap();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(4100),
        "{elapsed:?}"
    );
}

/// A split writer's close starts the close timeout of a reader already
/// parked in a read.
#[tokio::test(start_paused = true)]
async fn split_close_timeout_wakes_the_reader() {
    let (a, _b) = tokio::io::duplex(4096);
    let mut config = Config::default();
    config.close_timeout = Duration::from_secs(4);
    let (writer, mut reader) =
        WebSocketStream::from_connection(a, Connection::client(config)).split();
    let r = tokio::spawn(async move { reader.read().await });
    tokio::time::sleep(Duration::from_secs(30)).await;
    let start = Instant::now();
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    let res = r.await.unwrap();
    assert!(matches!(res, Err(Error::ConnectionClosed)), "{res:?}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(4100),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn server_handshake_timeout() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut config = ServerConfig::default();
    config.handshake_timeout = Some(Duration::from_secs(2));
    // A client that trickles half a request and stops.
    b.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let start = Instant::now();
    let r = ws::read_request_over(a, &config).await;
    assert!(matches!(r, Err(Error::HandshakeTimeout)), "{r:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    // The stalled client is told why before the stream closes.
    let mut answer = Vec::new();
    b.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 408 Request Timeout\r\n"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

/// A TLS ClientHello on a plaintext port is answered 400 at once, not after
/// the handshake timeout.
#[tokio::test(start_paused = true)]
async fn bytes_that_cannot_be_http_are_refused_at_once() {
    let (a, mut b) = tokio::io::duplex(4096);
    let config = ServerConfig::default();
    b.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])
        .await
        .unwrap();
    let start = Instant::now();
    let r = ws::read_request_over(a, &config).await;
    assert!(
        matches!(r, Err(Error::Handshake(HandshakeError::MalformedHead(_)))),
        "{r:?}"
    );
    assert_eq!(start.elapsed(), Duration::ZERO);
    let mut answer = Vec::new();
    b.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
}

#[tokio::test(start_paused = true)]
async fn client_handshake_timeout() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(Duration::from_secs(3));
    let start = Instant::now();
    let r = ws::connect_over(a, "ws://example.com/", &config).await;
    assert!(matches!(r, Err(Error::HandshakeTimeout)), "{r:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    // The request was sent.
    let mut req = vec![0u8; 1024];
    let n = b.read(&mut req).await.unwrap();
    assert!(req[..n].starts_with(b"GET / HTTP/1.1\r\n"));
}

/// Over TCP (real clock): a server that accepts the connection but never
/// answers the handshake.
#[tokio::test]
async fn tcp_client_handshake_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move { listener.accept().await });
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(Duration::from_millis(200));
    let r = ws::connect_with(&format!("ws://{addr}/"), &config).await;
    assert!(matches!(r, Err(Error::HandshakeTimeout)), "{r:?}");
    drop(hold);
}

/// A stream whose reads, once `slow` is set, take 1.2 s of wall-clock time
/// before returning their bytes (as a busy runtime thread might).
struct SlowReads<S> {
    inner: S,
    slow: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for SlowReads<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if r.is_ready()
            && buf.filled().len() > before
            && self.slow.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            std::thread::sleep(Duration::from_millis(1200));
        }
        r
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for SlowReads<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The idle timer comes due while a read is in flight (the read itself took
/// longer than the timer's period): the bytes read are kept, whatever the
/// timer gives back. (The adapter once ran the timer between the read and
/// recording it, and the receive buffer shrank under the bytes.)
#[tokio::test]
async fn bytes_read_while_the_idle_timer_comes_due_are_kept() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let slow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = SlowReads {
        inner: a,
        slow: std::sync::Arc::clone(&slow),
    };
    let mut client =
        WebSocketStream::from_connection(stream, Connection::client(Config::default()));
    // A 100 KiB frame grows the receive buffer.
    let mut big = vec![0x82, 127];
    big.extend_from_slice(&(100u64 << 10).to_be_bytes());
    big.extend(std::iter::repeat(7u8).take(100 << 10));
    b.write_all(&big).await.unwrap();
    match client.read().await.unwrap() {
        Message::Binary(d) => assert_eq!(d.len(), 100 << 10),
        other => panic!("{other:?}"),
    }
    // Then 3 KiB of text, read slowly: the timer is due when the read ends.
    let text = "t".repeat(3 << 10);
    let mut frame = vec![0x81, 126];
    frame.extend_from_slice(&(text.len() as u16).to_be_bytes());
    frame.extend_from_slice(text.as_bytes());
    slow.store(true, std::sync::atomic::Ordering::SeqCst);
    b.write_all(&frame).await.unwrap();
    assert_eq!(client.read().await.unwrap(), Message::Text(text));
}
