//! [`WebSocketStream`]: a connection over an async stream.

use std::borrow::Borrow;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};

use super::inner::{DirectWrite, Inner, Timer, WriteWaker};
use crate::adapter::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, MessageKind};

/// Default [`high_water`](WebSocketStream::set_high_water) mark: 128 KiB.
///
/// ```
/// use rfc6455::tokio::{ClientConfig, DEFAULT_HIGH_WATER};
/// assert_eq!(ClientConfig::default().high_water, DEFAULT_HIGH_WATER);
/// ```
pub const DEFAULT_HIGH_WATER: usize = crate::driver::DEFAULT_HIGH_WATER;

// ---------------------------------------------------------------------------
// WebSocketStream

/// A WebSocket over an async stream `S` (a `TcpStream`, a TLS stream, an
/// in-memory duplex), either role.
///
/// # Receiving
///
/// [`read`](Self::read) returns the next message owned;
/// [`read_event`](Self::read_event) borrows it from the connection's buffers
/// (no allocation per message) until the next call. Both answer Pings,
/// echo Close frames and send keepalive Pings by themselves, and write those
/// replies even if the application never sends. The [`Stream`] impl yields
/// owned messages and ends after the connection closes.
///
/// **Cancel safety:** both are cancel-safe. Bytes are read straight into the
/// connection's receive buffer and decoded there; nothing is held in the
/// future between polls. Dropping a `read` at any await point loses no data
/// and no partial frame: the next call picks up where it stopped.
///
/// # Sending
///
/// `send_*` wait until at most [`high_water`](Self::high_water) bytes are
/// queued (writing them out), queue the frame whole, then write everything
/// queued and flush. So a peer that does not read makes its sender wait
/// instead of growing the queue. To batch, queue several frames through
/// [`connection_mut`](Self::connection_mut) (or the [`Sink`]'s `feed`) and
/// [`flush`](Self::flush) once; or leave them queued: a read that has to
/// wait for the peer first writes everything queued, so a loop of
/// [`read_event`](Self::read_event) and
/// [`Connection::echo_event`] writes the echoes of frames that arrived
/// together in one write. (A read that returns an event writes at once
/// only if the event caused a reply, a Pong or the Close echo, or a
/// keepalive Ping was due; then everything queued goes, in order.)
/// Outgoing bytes are written with vectored
/// writes when the stream supports them (frames shared between connections
/// with [`Connection::send_shared`] are queued by reference, not copied).
///
/// **Cancelled sends:** a `send_*` future dropped before it completes has
/// either queued its message entirely (if it got past waiting for room:
/// the message then goes out with the next `flush` or send, or the next
/// read that has to wait for the peer) or not at
/// all (if it was still waiting below the high-water mark). A frame is never
/// queued in part.
///
/// # Timers
///
/// With [`Config::ping_interval`](crate::Config::ping_interval) set, a Ping
/// is sent after that long without traffic and a late Pong fails the
/// connection with 1011; after a Close is sent, the closing handshake is
/// abandoned after [`Config::close_timeout`](crate::Config::close_timeout).
/// These deadlines come from [`Connection::poll_timeout`] and are served by
/// a tokio sleep polled alongside the read, so they run while a read is
/// waiting (and only then: a connection nobody reads from sends no
/// keepalive pings).
///
/// # Example
///
/// A client and a server over an in-memory pipe (over TCP, [`connect`] and
/// [`accept`] give the same type):
///
/// ```
/// use rfc6455::handshake::Accept;
/// use rfc6455::tokio::{self as ws, ClientConfig, ServerConfig};
/// use rfc6455::{CloseCode, Message};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ws::Error> {
/// let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// let server = tokio::spawn(async move {
///     let incoming = ws::read_request_over(server_io, &ServerConfig::default()).await?;
///     let mut socket = incoming.accept(&Accept::new()).await?;
///     loop {
///         match socket.read().await {
///             Ok(msg) if msg.is_data() => socket.send(&msg).await?,
///             Ok(_) => {} // Pings were answered, the Close echoed, by read itself
///             Err(e) if e.is_closed() => return Ok(()),
///             Err(e) => return Err(e),
///         }
///     }
/// });
///
/// let url = "ws://example.com/chat";
/// let (mut socket, _) = ws::connect_over(client_io, url, &ClientConfig::default()).await?;
/// socket.send_text("hello").await?;
/// assert_eq!(socket.read().await?, Message::Text("hello".into()));
/// socket.close(CloseCode::NORMAL, "done").await?;
/// server.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
///
/// [`connect`]: super::connect
/// [`accept`]: super::accept
/// [`Stream`]: futures_core::Stream
/// [`Sink`]: futures_sink::Sink
pub struct WebSocketStream<S> {
    inner: Inner<S>,
    ww: WriteWaker,
    timer: Timer,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("stream", &self.inner.stream)
            .field("conn", &self.inner.conn)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a stream whose opening handshake is done. Bytes that arrived
    /// right after the handshake must already have been fed to `conn`.
    ///
    /// A server that reads the request head itself:
    ///
    /// ```
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, ServerHandshake};
    /// use rfc6455::tokio::WebSocketStream;
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, mut stream) = tokio::io::duplex(64 << 10);
    /// # let client = tokio::spawn(async move {
    /// #     let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://x/", &Default::default()).await?;
    /// #     ws.send_text("hi").await?;
    /// #     ws.read().await
    /// # });
    ///
    /// let config = ServerConfig::default();
    /// let mut handshake = ServerHandshake::new(config.limits);
    /// let mut buf = vec![0; 4096];
    /// let (request, used, n) = loop {
    ///     let n = stream.read(&mut buf).await?;
    ///     assert!(n > 0, "the client hung up");
    ///     if let Some((request, used)) = handshake.feed(&buf[..n])? {
    ///         break (request, used, n);
    ///     }
    /// };
    /// let upgrade = ServerUpgrade::new(request, buf[used..n].to_vec(), &config);
    /// let (response, conn) = upgrade.answer(&Accept::new());
    /// stream.write_all(&response).await?;
    ///
    /// let mut ws = WebSocketStream::from_connection(stream, conn?);
    /// let msg = ws.read().await?;
    /// ws.send(&msg).await?;
    /// # assert_eq!(client.await.unwrap()?, msg);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        Self::with_high_water(stream, conn, DEFAULT_HIGH_WATER)
    }

    pub(crate) fn with_high_water(stream: S, conn: Connection, high_water: usize) -> Self {
        WebSocketStream {
            inner: Inner::new(stream, conn, high_water),
            ww: WriteWaker::new(),
            timer: Timer::default(),
        }
    }

    /// Bytes that may wait in the outgoing queue before sends wait for the
    /// stream (default [`DEFAULT_HIGH_WATER`], 128 KiB). Also the backlog
    /// above which reading pauses until automatic replies are written.
    ///
    /// ```
    /// use rfc6455::tokio::DEFAULT_HIGH_WATER;
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// assert_eq!(ws.high_water(), DEFAULT_HIGH_WATER);
    /// # Ok(())
    /// # }
    /// ```
    pub fn high_water(&self) -> usize {
        self.inner.driver.high_water()
    }

    /// Sets the [`high_water`](Self::high_water) mark.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.set_high_water(1 << 20); // a fast producer may queue up to 1 MiB
    /// assert_eq!(ws.high_water(), 1 << 20);
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_high_water(&mut self, bytes: usize) {
        self.inner.driver.set_high_water(bytes);
    }

    /// The protocol state machine.
    ///
    /// ```
    /// use rfc6455::{Role, State};
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// let conn = ws.connection();
    /// assert_eq!((conn.role(), conn.state()), (Role::Client, State::Open));
    /// # Ok(())
    /// # }
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The protocol state machine, e.g. to queue several frames (or
    /// [`echo_event`](Connection::echo_event)) before one
    /// [`flush`](Self::flush).
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// let conn = ws.connection_mut();
    /// for i in 0..3 {
    ///     conn.send_text(&format!("line {i}"))?; // queued, not written
    /// }
    /// ws.flush().await?; // the three frames, in one write
    /// for i in 0..3 {
    ///     assert_eq!(ws.read().await?, format!("line {i}").into());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn connection_mut(&mut self) -> &mut Connection {
        self.inner.driver.connection_changed();
        &mut self.inner.conn
    }

    /// The underlying stream.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # tokio::spawn(async move {
    /// #     let mut ws = rfc6455::tokio::accept(listener.accept().await?.0).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let (mut ws, _) = rfc6455::tokio::connect(&url).await?;
    ///
    /// // A `MaybeTlsStream`, and the `TcpStream` under it (TLS or not).
    /// let server = ws.get_ref().get_ref().peer_addr()?;
    /// assert_eq!(format!("ws://{server}/"), url);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner.stream
    }

    /// The underlying stream (writing to it directly corrupts the framing).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # tokio::spawn(async move {
    /// #     let mut ws = rfc6455::tokio::accept(listener.accept().await?.0).await?;
    /// #     while let Ok(msg) = ws.read().await {
    /// #         if msg.is_data() { ws.send(&msg).await?; }
    /// #     }
    /// #     Ok::<_, rfc6455::tokio::Error>(())
    /// # });
    /// let (mut ws, _) = rfc6455::tokio::connect(&url).await?;
    ///
    /// ws.get_mut().get_ref().set_nodelay(false)?; // socket options, not bytes
    /// assert!(!ws.get_ref().get_ref().nodelay()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.stream
    }

    /// Gives back the stream and the connection (with anything still
    /// queued in it).
    ///
    /// ```
    /// use rfc6455::tokio::WebSocketStream;
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.connection_mut().send_text("queued")?;
    /// let (stream, conn) = ws.into_parts();
    /// assert!(conn.has_output()); // what was queued stays queued
    /// // ... and back together:
    /// let mut ws = WebSocketStream::from_connection(stream, conn);
    /// ws.flush().await?;
    /// assert_eq!(ws.read().await?, "queued".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_parts(self) -> (S, Connection) {
        (self.inner.stream, self.inner.conn)
    }

    pub(crate) fn into_inner(self) -> (Inner<S>, WriteWaker, Timer) {
        (self.inner, self.ww, self.timer)
    }

    /// Reads the next message (text, binary, ping, pong or close), owned.
    /// After the peer's Close has been returned, or after an error, further
    /// calls return [`Error::ConnectionClosed`]. Cancel-safe.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_text("hello").await?;
    /// // Cancel-safe: a read that loses a race loses no data.
    /// let msg = tokio::select! {
    ///     msg = ws.read() => msg?,
    ///     _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => panic!("no echo"),
    /// };
    /// match msg {
    ///     Message::Text(text) => assert_eq!(text, "hello"),
    ///     other => panic!("{other:?}"), // Binary, Ping, Pong, Close
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read(&mut self) -> Result<Message, Error> {
        Ok(self.read_event().await?.to_message())
    }

    /// Reads the next event, borrowed from the connection's buffers: no
    /// allocation per message. The borrow ends at the next call.
    /// Cancel-safe.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_text("hello").await?;
    /// match ws.read_event().await? {
    ///     Event::Text(text) => assert_eq!(text, "hello"), // a view into the receive buffer
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_event(&mut self) -> Result<Event<'_>, Error> {
        poll_fn(|cx| self.poll_prepare(cx)).await?;
        Ok(self.inner.conn.event().expect("an event was prepared"))
    }

    /// Polls for the next event; when it returns `Ready(Ok(()))`,
    /// [`Connection::event`] (through [`connection`](Self::connection))
    /// holds it. The building block of [`read_event`](Self::read_event),
    /// for hand-written futures.
    ///
    /// ```
    /// use std::future::poll_fn;
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_text("hi").await?;
    /// poll_fn(|cx| ws.poll_prepare(cx)).await?;
    /// assert_eq!(ws.connection().event(), Some(Event::Text("hi")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_prepare(cx, &self.ww, &mut self.timer)
    }

    /// Writes everything queued and flushes the stream (shutting it down if
    /// the connection is over).
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.connection_mut().send_binary(&[1])?;
    /// ws.connection_mut().send_binary(&[2])?;
    /// ws.flush().await?; // both frames, in one write
    /// assert!(!ws.connection().has_output());
    /// assert_eq!(ws.read().await?, vec![1].into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_flush(cx, &self.ww)).await
    }

    /// A text or binary message: a large one (16 KiB or more, server role,
    /// nothing queued, no compression) is written straight from `data`,
    /// header and payload in one vectored write, with no copy; if the send
    /// is cancelled part way, the rest is queued (copied then) so the stream
    /// stays well-formed. Anything else is queued and flushed.
    async fn send_data(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_send_ready(cx, &self.ww)).await?;
        let written_directly = match DirectWrite::start(&mut self.inner, kind, data)? {
            Some(mut direct) => {
                poll_fn(|cx| direct.poll_write(cx, &self.ww)).await?;
                true
            }
            None => false,
        };
        if !written_directly {
            match kind {
                MessageKind::Text => self.inner.conn.send_text_checked(data)?,
                MessageKind::Binary => self.inner.conn.send_binary(data)?,
            }
        }
        self.flush().await
    }

    async fn send_with(
        &mut self,
        f: impl FnOnce(&mut Inner<S>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_send_ready(cx, &self.ww)).await?;
        f(&mut self.inner)?;
        self.flush().await
    }

    /// Queues any [`Message`] without writing it (waiting first, like a
    /// send, while more than the high-water mark is queued):
    /// [`flush`](Self::flush), the next send, or the next read that has to
    /// wait for the peer writes everything queued, in as few writes as the
    /// stream takes. What `SinkExt::feed` does, for borrowed messages too.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Message};
    /// use rfc6455::tokio::WebSocketStream;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// let (io, _peer) = tokio::io::duplex(64 << 10);
    /// let mut ws = WebSocketStream::from_connection(io, Connection::server(Config::default()));
    /// for i in 0..3 {
    ///     ws.write(Message::Text(format!("line {i}"))).await?;
    /// }
    /// assert_eq!(ws.connection().output_len(), 3 * 8); // queued, not written
    /// ws.flush().await?;
    /// assert_eq!(ws.connection().output_len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write(&mut self, message: impl Borrow<Message>) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_send_ready(cx, &self.ww)).await?;
        self.inner.queue(message.borrow())
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_text("hello").await?;
    /// assert_eq!(ws.read().await?, "hello".into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_data(MessageKind::Text, text.as_bytes()).await
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_binary(&[0xde, 0xad]).await?;
    /// assert_eq!(ws.read().await?, vec![0xde, 0xad].into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_data(MessageKind::Binary, data).await
    }

    /// Sends one fragment of a message sent in several frames (see
    /// [`Connection::send_fragment`]): the first call opens the message,
    /// the one with `fin` set ends it.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// // A message produced piece by piece, sent as it is produced.
    /// ws.send_fragment(MessageKind::Text, b"hel", false).await?;
    /// ws.send_fragment(MessageKind::Text, b"lo", true).await?;
    /// assert_eq!(ws.read().await?, "hello".into()); // the peer gets one message
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_fragment(kind, data, fin)?))
            .await
    }

    /// Sends a Ping (payload at most 125 bytes).
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_ping(b"t=1").await?;
    /// assert_eq!(ws.read().await?, Message::Pong(b"t=1".to_vec())); // the peer answered
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_ping(payload)?)).await
    }

    /// Sends a Pong (payload at most 125 bytes).
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send_pong(b"heartbeat").await?; // unsolicited: a one-way heartbeat
    /// ws.send_text("still here").await?;
    /// assert_eq!(ws.read().await?, "still here".into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_pong(payload)?)).await
    }

    /// Sends a frame encoded once for many connections with
    /// [`encode_shared`](crate::connection::encode_shared) (server role;
    /// queued by reference, see [`Connection::send_shared`]).
    ///
    /// ```
    /// use rfc6455::handshake::Accept;
    /// use rfc6455::outgoing::encode_shared;
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// use rfc6455::MessageKind;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// let mut room = Vec::new();
    /// let mut clients = Vec::new();
    /// for _ in 0..3 {
    ///     let (client_io, server_io) = tokio::io::duplex(4096);
    ///     clients.push(tokio::spawn(async move {
    ///         let (mut socket, _) = ws::connect_over(client_io, "ws://x/", &Default::default()).await?;
    ///         socket.read().await
    ///     }));
    ///     let incoming = ws::read_request_over(server_io, &ServerConfig::default()).await?;
    ///     room.push(incoming.accept(&Accept::new()).await?);
    /// }
    ///
    /// let frame = encode_shared(MessageKind::Text, b"news for everyone"); // encoded once
    /// for socket in &mut room {
    ///     socket.send_shared(&frame).await?;
    /// }
    /// for client in clients {
    ///     assert_eq!(client.await.unwrap()?, "news for everyone".into());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_shared(&mut self, frame: &crate::outgoing::SharedFrame) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_shared(frame)?)).await
    }

    /// Sends any [`Message`], owned or borrowed; a `Close` starts the
    /// closing handshake (see [`close`](Self::close) to also wait for its
    /// end). `ws.send(msg).await` means what it means with
    /// `futures::SinkExt::send` (wait for room, queue, flush), so code
    /// written against the `Sink` reads the same.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.send(Message::Binary(vec![1, 2, 3])).await?;
    /// let echo = ws.read().await?;
    /// ws.send(&echo).await?; // borrowed works too
    /// assert_eq!(ws.read().await?, echo);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&mut self, message: impl Borrow<Message>) -> Result<(), Error> {
        match message.borrow() {
            Message::Text(text) => self.send_data(MessageKind::Text, text.as_bytes()).await,
            Message::Binary(data) => self.send_data(MessageKind::Binary, data).await,
            other => self.send_with(|i| i.queue(other)).await,
        }
    }

    /// Closes gracefully (RFC 6455 §7.1.2): sends a Close frame (unless one
    /// was sent already), reads until the peer's Close arrives, discarding
    /// any messages still in flight, and shuts the stream down (a server
    /// right away, a client once the server closed the TCP connection,
    /// §7.1.1), within [`Config::close_timeout`](crate::Config::close_timeout).
    ///
    /// ```
    /// use rfc6455::{CloseCode, State};
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// ws.close(CloseCode::NORMAL, "bye").await?; // returns once the server closed too
    /// assert_eq!(ws.connection().state(), State::Closed);
    /// assert!(ws.read().await.unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.inner.start_close(Some(code), reason)?;
        self.flush().await?;
        loop {
            match poll_fn(|cx| self.poll_prepare(cx)).await {
                Ok(()) => {}
                Err(Error::ConnectionClosed) => return Ok(()),
                Err(Error::Protocol(crate::Error::AbnormalClosure)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Splits the connection into a [`Writer`](super::Writer) (a `Sink`)
    /// and a [`Reader`](super::Reader) (a `Stream`) usable from different
    /// tasks at once: sink first, like `futures::StreamExt::split`, so
    /// `let (write, read) = ws.split(); read.forward(write)` works as it
    /// does with tokio-tungstenite.
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
    /// let (mut ws, _) = rfc6455::tokio::connect_over(client_io, "ws://localhost/", &config).await?;
    ///
    /// let (writer, mut reader) = ws.split();
    /// let sender = tokio::spawn(async move {
    ///     for i in 0..3 {
    ///         writer.send_text(&format!("message {i}")).await?;
    ///     }
    ///     Ok::<_, rfc6455::tokio::Error>(())
    /// });
    /// for i in 0..3 {
    ///     assert_eq!(reader.read().await?, format!("message {i}").into());
    /// }
    /// sender.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(self) -> (super::Writer<S>, super::Reader<S>) {
        let (inner, ww, timer) = self.into_inner();
        super::split::split(inner, ww, timer)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match ready!(this.poll_prepare(cx)) {
            Ok(()) => Poll::Ready(Some(Ok(this
                .inner
                .conn
                .event()
                .expect("an event was prepared")
                .to_message()))),
            Err(Error::ConnectionClosed) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

/// Sending [`Message`]s: `poll_ready` waits until the queue is at or below
/// the high-water mark, `start_send` queues (a `Close` starts the closing
/// handshake), `poll_flush` writes everything, `poll_close` sends a Close
/// (1000) unless one was sent and flushes.
impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.inner.poll_send_ready(cx, &this.ww)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().inner.queue(&item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.inner.poll_flush(cx, &this.ww)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        this.inner.start_close(Some(CloseCode::NORMAL), "")?;
        this.inner.poll_flush(cx, &this.ww)
    }
}
