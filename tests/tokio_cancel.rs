//! Cancellation and backpressure in the tokio adapter: receives cancelled at
//! every await point lose nothing; a cancelled send queues all or nothing;
//! sends wait above the high-water mark.
#![cfg(feature = "tokio")]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use rfc6455::tokio::{Error, WebSocketStream};
use rfc6455::{Config, Connection, Message, MessageKind};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Gives one byte per read, returning `Pending` (and waking itself) between
/// bytes; swallows writes.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    pending_next: bool,
    written: Vec<u8>,
}

impl AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending_next {
            self.pending_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.pos < self.data.len() && buf.remaining() > 0 {
            let b = self.data[self.pos];
            self.pos += 1;
            buf.put_slice(&[b]);
            self.pending_next = true;
        }
        // At the end: EOF.
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.extend_from_slice(b);
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Polls `fut` `polls` times at most, then drops it.
async fn poll_n<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..polls {
        let r = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        if let Poll::Ready(v) = r {
            return Some(v);
        }
        tokio::task::yield_now().await;
    }
    None
}

fn expected_messages() -> (Vec<u8>, Vec<Message>) {
    let mut client = Connection::client(Config::default());
    let mut expect = Vec::new();
    client.send_text("hello").unwrap();
    expect.push(Message::Text("hello".into()));
    client.send_ping(b"ping!").unwrap();
    expect.push(Message::Ping(b"ping!".to_vec()));
    // A fragmented text message with a code point split across frames and a
    // control frame in the middle.
    let euro = "€uro".as_bytes();
    client
        .send_fragment(MessageKind::Text, &euro[..1], false)
        .unwrap();
    client.send_pong(b"in between").unwrap();
    expect.push(Message::Pong(b"in between".to_vec()));
    client
        .send_fragment(MessageKind::Text, &euro[1..], true)
        .unwrap();
    expect.push(Message::Text("€uro".into()));
    // Lengths around the 7-bit / 16-bit / 64-bit header boundaries.
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70_000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
        client.send_binary(&data).unwrap();
        expect.push(Message::Binary(data));
    }
    client.close(rfc6455::CloseCode::NORMAL, "the end").unwrap();
    let (wire, _) = (client.take_output(), ());
    // The Close is the last message.
    expect.push(Message::Close(Some(rfc6455::close::OwnedCloseFrame {
        code: Some(rfc6455::CloseCode::NORMAL),
        reason: "the end".into(),
    })));
    (wire, expect)
}

/// Every receive is dropped after one or a few polls (each poll reads at
/// most one byte); all messages still arrive whole and in order.
#[tokio::test]
async fn receive_cancelled_at_every_await_point_loses_nothing() {
    let (wire, expect) = expected_messages();
    for polls_per_attempt in [1usize, 2, 3] {
        let stream = Trickle {
            data: wire.clone(),
            pos: 0,
            pending_next: false,
            written: Vec::new(),
        };
        let mut ws =
            WebSocketStream::from_connection(stream, Connection::server(Config::default()));
        let mut got = Vec::new();
        let mut cancelled = 0usize;
        while got.len() < expect.len() {
            match poll_n(ws.read(), polls_per_attempt).await {
                Some(Ok(m)) => got.push(m),
                Some(Err(e)) => panic!("after {} messages: {e}", got.len()),
                None => cancelled += 1,
            }
        }
        assert_eq!(got, expect);
        // Nearly one cancellation per byte.
        assert!(
            cancelled * polls_per_attempt >= wire.len() / 2,
            "{cancelled}"
        );
        // The connection answered the ping and the close.
        let (stream, conn) = ws.into_parts();
        assert_eq!(conn.state(), rfc6455::State::Closed);
        let mut peer = Connection::client(Config::default());
        peer.feed(&stream.written);
        assert_eq!(
            peer.next_message().unwrap(),
            Some(Message::Pong(b"ping!".to_vec()))
        );
        assert!(matches!(
            peer.next_message().unwrap(),
            Some(Message::Close(_))
        ));
    }
}

/// The borrowed form is cancel-safe too.
#[tokio::test]
async fn read_event_cancelled_loses_nothing() {
    let (wire, expect) = expected_messages();
    let stream = Trickle {
        data: wire,
        pos: 0,
        pending_next: false,
        written: Vec::new(),
    };
    let mut ws = WebSocketStream::from_connection(stream, Connection::server(Config::default()));
    let mut got = Vec::new();
    while got.len() < expect.len() {
        if let Some(r) = poll_n(ws.read_event(), 1).await {
            got.push(r.unwrap().to_message());
        }
    }
    assert_eq!(got, expect);
}

/// A pair over an in-memory pipe of `capacity` bytes: our client stream and
/// the raw server end.
fn pipe_pair(
    capacity: usize,
    high_water: usize,
) -> (
    WebSocketStream<tokio::io::DuplexStream>,
    tokio::io::DuplexStream,
) {
    let (a, b) = tokio::io::duplex(capacity);
    let mut ws = WebSocketStream::from_connection(a, Connection::client(Config::default()));
    ws.set_high_water(high_water);
    (ws, b)
}

/// Reads messages off the raw server end with a server connection.
async fn peer_read(end: tokio::io::DuplexStream, count: usize) -> Vec<Message> {
    let mut s = WebSocketStream::from_connection(end, Connection::server(Config::default()));
    let mut v = Vec::new();
    for _ in 0..count {
        v.push(s.read().await.unwrap());
    }
    v
}

#[tokio::test]
async fn cancelled_send_queues_all_or_nothing() {
    let (mut ws, end) = pipe_pair(1024, 4096);
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();

    // 1. Cancelled while writing: the message is queued whole.
    let r = tokio::time::timeout(Duration::from_millis(50), ws.send_binary(&big)).await;
    assert!(
        r.is_err(),
        "the peer does not read: the send cannot complete"
    );
    let queued = ws.connection_mut().output().len();
    assert!(queued > 90_000, "{queued}");

    // 2. Cancelled while waiting for room: nothing is queued.
    let r = tokio::time::timeout(Duration::from_millis(50), ws.send_text("never sent")).await;
    assert!(r.is_err());
    assert_eq!(ws.connection_mut().output().len(), queued);

    // 3. The peer reads: the first message arrives whole, the second never
    // does, a later one follows.
    let peer = tokio::spawn(peer_read(end, 2));
    ws.send_text("after").await.unwrap();
    let got = peer.await.unwrap();
    assert_eq!(
        got,
        vec![Message::Binary(big), Message::Text("after".into())]
    );
}

/// A large server message is written straight from the caller's buffer
/// (no copy into the queue); cancelled part way, the part the stream did not
/// take is queued, so the peer still gets the whole frame, then what follows.
#[tokio::test]
async fn cancelled_direct_send_queues_the_rest() {
    let (a, end) = tokio::io::duplex(1024);
    let mut ws = WebSocketStream::from_connection(a, Connection::server(Config::default()));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();

    let r = tokio::time::timeout(Duration::from_millis(50), ws.send_binary(&big)).await;
    assert!(
        r.is_err(),
        "the peer does not read: the send cannot complete"
    );
    // Header (10 bytes: a 64-bit length) and payload, less what the pipe took.
    assert_eq!(ws.connection().output_len(), 10 + big.len() - 1024);

    let peer = tokio::spawn(async move {
        let mut s = WebSocketStream::from_connection(end, Connection::client(Config::default()));
        vec![
            s.read().await.unwrap(),
            s.read().await.unwrap(),
            s.read().await.unwrap(),
        ]
    });
    ws.send_text("after").await.unwrap();
    // Completed directly this time, text and all.
    let text: String = "é".repeat(20_000);
    ws.send_text(&text).await.unwrap();
    assert_eq!(ws.connection().output_len(), 0);
    assert_eq!(
        peer.await.unwrap(),
        vec![
            Message::Binary(big),
            Message::Text("after".into()),
            Message::Text(text)
        ]
    );
}

/// The direct path copies nothing: a server's 1 MiB message goes out
/// without the connection's send queue ever holding it.
#[tokio::test]
async fn large_server_send_is_not_copied_into_the_queue() {
    let (a, end) = tokio::io::duplex(64 << 10);
    let mut ws = WebSocketStream::from_connection(a, Connection::server(Config::default()));
    let big = vec![9u8; 1 << 20];
    let peer = tokio::spawn(async move {
        let mut s = WebSocketStream::from_connection(end, Connection::client(Config::default()));
        s.read().await.unwrap()
    });
    ws.send_binary(&big).await.unwrap();
    assert!(ws.connection_mut().output().capacity() < 4096);
    assert_eq!(peer.await.unwrap(), Message::Binary(big));
}

#[tokio::test]
async fn send_waits_above_high_water_until_the_peer_reads() {
    let (mut ws, end) = pipe_pair(1024, 16 << 10);
    // Queue 64 KiB without writing it: above the 16 KiB mark.
    for _ in 0..64 {
        ws.connection_mut().send_binary(&[7u8; 1000]).unwrap();
    }
    let queued = ws.connection_mut().output().len();
    {
        let mut send = std::pin::pin!(ws.send_text("small"));
        // Still pending: the peer reads nothing.
        assert!(tokio::time::timeout(Duration::from_millis(100), &mut send)
            .await
            .is_err());
        // Let the peer read; the send completes.
        let peer = tokio::spawn(peer_read(end, 65));
        tokio::time::timeout(Duration::from_secs(5), send)
            .await
            .expect("send completes once the peer reads")
            .unwrap();
        let got = peer.await.unwrap();
        assert_eq!(got.len(), 65);
        assert_eq!(got[64], Message::Text("small".into()));
    }
    assert!(queued > 16 << 10);
    assert_eq!(ws.connection_mut().output().len(), 0);
}

/// A reader facing a peer that sends pings but never reads stops reading
/// once its pongs pile up above the high-water mark (instead of queuing
/// without bound), and resumes when the peer reads.
#[tokio::test]
async fn reading_pauses_while_replies_pile_up() {
    let (a, mut b) = tokio::io::duplex(4096);
    let mut ws = WebSocketStream::from_connection(a, Connection::server(Config::default()));
    ws.set_high_water(8 << 10);
    // The peer writes 2,000 pings (125-byte payloads) and does not read.
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut c = Connection::client(Config::default());
        for _ in 0..2000 {
            c.send_ping(&[1u8; 125]).unwrap();
        }
        let bytes = c.take_output();
        let r = tokio::time::timeout(Duration::from_millis(300), b.write_all(&bytes)).await;
        (r.is_ok(), b)
    });
    let mut pings = 0;
    while let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(200), ws.read()).await {
        assert!(matches!(m, Message::Ping(_)));
        pings += 1;
    }
    let (finished, b) = writer.await.unwrap();
    assert!(!finished, "the peer's writes should have been pushed back");
    assert!(pings < 2000, "{pings}");
    assert!(ws.connection_mut().output().len() <= (8 << 10) + 4096 + 200);
    drop(b);
    let _ = Error::ConnectionClosed;
}
