//! A [`WebSocketStream`](super::WebSocketStream) split into a [`Reader`] and a [`Writer`] for two
//! (or more) tasks.
//!
//! # Design: one `std::sync::Mutex`, never held across an await
//!
//! Both halves share the stream and the [`Connection`] behind one
//! `std::sync::Mutex`. Every operation on them is a *poll* (`poll_read`,
//! `poll_write_vectored`, decoding, encoding) which returns at once, ready or
//! not; the lock is taken for one such poll and released before the task
//! yields. So the lock is never held across an await, and no async mutex is
//! needed:
//!
//! - a write goes from the connection's output queue to the stream under
//!   the lock, with no copy into a side buffer, and frames from several
//!   tasks never interleave (each is queued whole, and the queue is written
//!   in order);
//! - the [`Reader`]'s automatic replies (Pongs, the Close echo, keepalive
//!   Pings) are written by the reader itself, from within
//!   [`Reader::read`], whether or not any [`Writer`] ever sends;
//! - a task whose write would block is woken when the stream is writable
//!   again, even when the reader and writers wait at the same time: writes
//!   are polled with a proxy waker that wakes every waiting task (a stream
//!   remembers only the last waker it was given);
//! - while the reader waits for bytes, the lock is free: the writers are
//!   never held up by an idle peer.
//!
//! The cost is that a write and a read of the same connection do not run
//! at the very same instant — each holds the lock for one non-blocking
//! system call. The alternative (a tokio `Mutex` around the write half,
//! held across the write's await, plus a std `Mutex` around the connection)
//! must copy the queued bytes out of the connection before each write,
//! and makes the reader wait for the async lock to send a pong.

use std::borrow::Borrow;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};

use super::inner::{lock, Inner, Timer, WriteWaker};
use crate::adapter::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, MessageKind};
use crate::outgoing::SharedFrame;

struct Shared<S> {
    inner: Mutex<Inner<S>>,
    ww: WriteWaker,
}

/// The reading half of a split [`WebSocketStream`](super::WebSocketStream). Its reads answer Pings,
/// echo Close frames and send keepalive Pings, and write those replies
/// themselves. Cancel-safe like [`WebSocketStream::read`](super::WebSocketStream::read).
///
/// It is a [`Stream`](futures_core::Stream) of messages, which ends once
/// the connection is closed:
///
/// ```
/// use futures_util::StreamExt;
/// use rfc6455::{CloseCode, Message};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// # tokio::spawn(async move {
/// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
/// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
/// #     while let Ok(msg) = ws.read().await {
/// #         if msg.is_data() { ws.send(&msg).await?; }
/// #     }
/// #     Ok::<_, rfc6455::tokio::Error>(())
/// # });
/// let config = rfc6455::tokio::ClientConfig::default();
/// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
/// let (writer, mut reader) = ws.split();
///
/// writer.send_text("one").await?;
/// writer.send_text("two").await?;
/// writer.close(CloseCode::NORMAL, "").await?;
/// let mut received = Vec::new();
/// while let Some(msg) = reader.next().await {
///     received.push(msg?);
/// }
/// assert_eq!(received[..2], ["one".into(), "two".into()]);
/// assert!(matches!(received[2], Message::Close(_))); // the server's echo
/// # Ok(())
/// # }
/// ```
pub struct Reader<S> {
    shared: Arc<Shared<S>>,
    timer: Timer,
}

/// The writing half of a split [`WebSocketStream`](super::WebSocketStream). Clone it to send from
/// several tasks; each frame is queued and written whole. (A message sent
/// in fragments must come from one task at a time.)
///
/// It is a [`Sink`](futures_sink::Sink) of messages too.
///
/// ```
/// use futures_util::SinkExt;
/// use rfc6455::Message;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// # tokio::spawn(async move {
/// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
/// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
/// #     while let Ok(msg) = ws.read().await {
/// #         if msg.is_data() { ws.send(&msg).await?; }
/// #     }
/// #     Ok::<_, rfc6455::tokio::Error>(())
/// # });
/// let config = rfc6455::tokio::ClientConfig::default();
/// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
/// let (writer, mut reader) = ws.split();
///
/// let tasks: Vec<_> = (0..4)
///     .map(|i| {
///         let writer = writer.clone();
///         tokio::spawn(async move { writer.send_text(&format!("from task {i}")).await })
///     })
///     .collect();
/// for task in tasks {
///     task.await.unwrap()?;
/// }
/// let mut sink = writer.clone();
/// sink.feed(Message::Binary(vec![1])).await?; // queued
/// sink.flush().await?; // written
/// for _ in 0..5 {
///     reader.read().await?; // whole messages, in whatever order they went
/// }
/// # Ok(())
/// # }
/// ```
pub struct Writer<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for Writer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// The halves of a [`WebSocketStream`](super::WebSocketStream)(super::WebSocketStream)'s parts.
pub(crate) fn split<S: AsyncRead + AsyncWrite + Unpin>(
    inner: Inner<S>,
    ww: WriteWaker,
    timer: Timer,
) -> (Writer<S>, Reader<S>) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(inner),
        ww: ww.shared(),
    });
    (
        Writer {
            shared: Arc::clone(&shared),
        },
        Reader { shared, timer },
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> Reader<S> {
    fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: &mut Option<impl FnOnce(Event<'_>) -> R>,
    ) -> Poll<Result<R, Error>> {
        let mut inner = lock(&self.shared.inner);
        ready!(inner.poll_prepare(cx, &self.shared.ww, &mut self.timer))?;
        let event = inner.conn.event().expect("an event was prepared");
        let f = f.take().expect("polled after completion");
        Poll::Ready(Ok(f(event)))
    }

    /// Reads the next message, owned (the connection is shared with the
    /// writers, so nothing can stay borrowed from it). After the peer's
    /// Close, or an error, further calls return [`Error::ConnectionClosed`].
    /// Cancel-safe.
    ///
    /// ```
    /// use rfc6455::Message;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_binary(&[1, 2, 3]).await?;
    /// writer.send_ping(b"?").await?;
    /// assert_eq!(reader.read().await?, Message::Binary(vec![1, 2, 3]));
    /// assert_eq!(reader.read().await?, Message::Pong(b"?".to_vec()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read(&mut self) -> Result<Message, Error> {
        self.read_with(|e| e.to_message()).await
    }

    /// Reads the next event and hands it, borrowed from the connection's
    /// buffers, to `f` (no allocation per message). `f` runs with the
    /// connection locked: keep it short, and do not use a [`Writer`] of the
    /// same connection from it. Cancel-safe (`f` is called only once an
    /// event is ready, within the same poll).
    ///
    /// ```
    /// use rfc6455::Event;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_text("a long line of text").await?;
    /// // Only what is needed leaves the lock: here a length, no copy of the text.
    /// let len = reader.read_with(|event| match event {
    ///     Event::Text(text) => text.len(),
    ///     _ => 0,
    /// }).await?;
    /// assert_eq!(len, 19);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_with<R>(&mut self, f: impl FnOnce(Event<'_>) -> R) -> Result<R, Error> {
        let mut f = Some(f);
        poll_fn(|cx| self.poll_with(cx, &mut f)).await
    }

    /// A writer for this connection.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// drop(writer);
    /// let another = reader.writer(); // the reading task can send too
    /// another.send_text("hi").await?;
    /// assert_eq!(reader.read().await?, "hi".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn writer(&self) -> Writer<S> {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for Reader<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut f = Some(|e: Event<'_>| e.to_message());
        match ready!(self.get_mut().poll_with(cx, &mut f)) {
            Ok(m) => Poll::Ready(Some(Ok(m))),
            Err(Error::ConnectionClosed) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared.inner).poll_send_ready(cx, &self.shared.ww)
    }

    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared.inner).poll_flush(cx, &self.shared.ww)
    }

    /// Waits for room below the high-water mark, queues with `f`, flushes.
    /// Cancelled sends: as for [`WebSocketStream`](super::WebSocketStream), all or nothing.
    async fn send_with(
        &self,
        f: impl FnOnce(&mut Inner<S>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        f(&mut lock(&self.shared.inner))?;
        self.flush().await
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.with_connection(|conn| {
    ///     conn.send_text("one")?;
    ///     conn.send_text("two") // both queued
    /// })?;
    /// writer.flush().await?; // both written, in one write
    /// assert_eq!(reader.read().await?, "one".into());
    /// assert_eq!(reader.read().await?, "two".into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Sends a text message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_text("hello").await?;
    /// assert_eq!(reader.read().await?, "hello".into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_text(text)?)).await
    }

    /// Sends a binary message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_binary(&[0xca, 0xfe]).await?;
    /// assert_eq!(reader.read().await?, vec![0xca, 0xfe].into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_binary(data)?)).await
    }

    /// Sends one fragment of a message sent in several frames; see
    /// [`Connection::send_fragment`].
    ///
    /// ```
    /// use rfc6455::MessageKind;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_fragment(MessageKind::Binary, &[1, 2], false).await?;
    /// writer.send_fragment(MessageKind::Binary, &[3], true).await?;
    /// assert_eq!(reader.read().await?, vec![1, 2, 3].into()); // one message
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_fragment(
        &self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_fragment(kind, data, fin)?))
            .await
    }

    /// Sends a Ping.
    ///
    /// ```
    /// use rfc6455::Message;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send_ping(b"t=1").await?;
    /// assert_eq!(reader.read().await?, Message::Pong(b"t=1".to_vec()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_ping(payload)?)).await
    }

    /// Sends a Pong (an unsolicited one is a one-way heartbeat, RFC 6455
    /// §5.5.3; Pings are answered by the [`Reader`] by itself).
    pub async fn send_pong(&self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_pong(payload)?)).await
    }

    /// Sends a frame encoded once for many connections (server role; see
    /// [`Connection::send_shared`]).
    ///
    /// ```
    /// use rfc6455::handshake::Accept;
    /// use rfc6455::outgoing::encode_shared;
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// use rfc6455::MessageKind;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// let mut writers = Vec::new();
    /// let mut clients = Vec::new();
    /// for _ in 0..3 {
    ///     let (client_io, server_io) = tokio::io::duplex(4096);
    ///     clients.push(tokio::spawn(async move {
    ///         let (mut socket, _) = ws::connect_over(client_io, "ws://x/", &Default::default()).await?;
    ///         socket.read().await
    ///     }));
    ///     let incoming = ws::read_request_over(server_io, &ServerConfig::default()).await?;
    ///     let (writer, _reader) = incoming.accept(&Accept::new()).await?.split();
    ///     writers.push(writer); // a reader task would take `_reader`
    /// }
    ///
    /// let frame = encode_shared(MessageKind::Text, b"news for everyone"); // encoded once
    /// for writer in &writers {
    ///     writer.send_shared(&frame).await?;
    /// }
    /// for client in clients {
    ///     assert_eq!(client.await.unwrap()?, "news for everyone".into());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_shared(&self, frame: &SharedFrame) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_shared(frame)?)).await
    }

    /// Sends any [`Message`], owned or borrowed (`writer.send(msg).await`
    /// reads as it does with `SinkExt::send`, which this shadows with the
    /// same meaning: wait for room, queue, flush).
    ///
    /// ```
    /// use rfc6455::Message;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.send(Message::Text("hello".into())).await?;
    /// writer.send(Message::Close(None)).await?; // a Close with an empty body
    /// assert_eq!(reader.read().await?, "hello".into());
    /// assert_eq!(reader.read().await?, Message::Close(None)); // the server's echo
    /// assert!(reader.read().await.unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&self, message: impl Borrow<Message>) -> Result<(), Error> {
        self.send_with(|i| i.queue(message.borrow())).await
    }

    /// Starts the closing handshake: sends a Close frame. The [`Reader`]
    /// sees the peer's Close and then the end of the connection (and gives
    /// up after the close timeout).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Message};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// writer.close(CloseCode::GOING_AWAY, "shutting down").await?;
    /// loop {
    ///     match reader.read().await {
    ///         Ok(Message::Close(frame)) => {
    ///             assert_eq!(frame.unwrap().code, Some(CloseCode::GOING_AWAY)); // echoed
    ///         }
    ///         Ok(_) => {} // messages still in flight
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send_with(|i| i.start_close(Some(code), reason)).await
    }

    /// Runs `f` on the connection (locked: keep it short), e.g. to queue
    /// several frames before one [`flush`](Self::flush). Nothing is
    /// written until the next flush or send, or the next read that has to
    /// wait for the peer.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, server_io) = tokio::io::duplex(64 << 10);
    /// # tokio::spawn(async move {
    /// #     let incoming = rfc6455::tokio::read_request_over(server_io, &Default::default()).await?;
    /// #     let mut ws = incoming.accept(&rfc6455::handshake::Accept::new()).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let config = rfc6455::tokio::ClientConfig::default();
    /// let (ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    /// let (writer, mut reader) = ws.split();
    ///
    /// let queued = writer.with_connection(|conn| {
    ///     conn.send_text("one")?;
    ///     conn.send_text("two")?;
    ///     Ok::<_, rfc6455::Error>(conn.output_len())
    /// })?;
    /// assert!(queued > 0);
    /// writer.flush().await?;
    /// assert_eq!(reader.read().await?, "one".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        let mut inner = lock(&self.shared.inner);
        inner.driver.connection_changed();
        f(&mut inner.conn)
    }
}

/// As for [`WebSocketStream`](super::WebSocketStream)'s `Sink`.
impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for Writer<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Writer::poll_ready(&self, cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        lock(&self.shared.inner).queue(&item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Writer::poll_flush(&self, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        lock(&self.shared.inner).start_close(Some(CloseCode::NORMAL), "")?;
        Writer::poll_flush(&self, cx)
    }
}
