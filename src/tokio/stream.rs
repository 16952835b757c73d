//! [`WebSocketStream`]: a connection over an async stream.

use std::borrow::Borrow;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite};

use super::inner::{Inner, Timer, WriteWaker};
use crate::adapter::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, MessageKind};

/// Default [`high_water`](WebSocketStream::set_high_water) mark: 64 KiB.
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
    /// stream (default [`DEFAULT_HIGH_WATER`], 64 KiB). Also the backlog
    /// above which reading pauses until automatic replies are written.
    pub fn high_water(&self) -> usize {
        self.inner.driver.high_water()
    }

    /// Sets the [`high_water`](Self::high_water) mark.
    pub fn set_high_water(&mut self, bytes: usize) {
        self.inner.driver.set_high_water(bytes);
    }

    /// The protocol state machine.
    pub fn connection(&self) -> &Connection {
        &self.inner.conn
    }

    /// The protocol state machine, e.g. to queue several frames (or
    /// [`echo_event`](Connection::echo_event)) before one
    /// [`flush`](Self::flush).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.inner.conn
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.stream
    }

    /// The underlying stream (writing to it directly corrupts the framing).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.stream
    }

    /// Gives back the stream and the connection (with anything still
    /// queued in it).
    pub fn into_parts(self) -> (S, Connection) {
        (self.inner.stream, self.inner.conn)
    }

    pub(crate) fn into_inner(self) -> (Inner<S>, WriteWaker, Timer) {
        (self.inner, self.ww, self.timer)
    }

    /// Reads the next message (text, binary, ping, pong or close), owned.
    /// After the peer's Close has been returned, or after an error, further
    /// calls return [`Error::ConnectionClosed`]. Cancel-safe.
    pub async fn read(&mut self) -> Result<Message, Error> {
        Ok(self.read_event().await?.to_message())
    }

    /// Reads the next event, borrowed from the connection's buffers: no
    /// allocation per message. The borrow ends at the next call.
    /// Cancel-safe.
    pub async fn read_event(&mut self) -> Result<Event<'_>, Error> {
        poll_fn(|cx| self.poll_prepare(cx)).await?;
        Ok(self.inner.conn.event().expect("an event was prepared"))
    }

    /// Polls for the next event; when it returns `Ready(Ok(()))`,
    /// [`Connection::event`] (through [`connection`](Self::connection))
    /// holds it. The building block of [`read_event`](Self::read_event),
    /// for hand-written futures.
    pub fn poll_prepare(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_prepare(cx, &self.ww, &mut self.timer)
    }

    /// Writes everything queued and flushes the stream (shutting it down if
    /// the connection is over).
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_flush(cx, &self.ww)).await
    }

    async fn send_with(
        &mut self,
        f: impl FnOnce(&mut Inner<S>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.inner.poll_send_ready(cx, &self.ww)).await?;
        f(&mut self.inner)?;
        self.flush().await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_text(text)?)).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_binary(data)?)).await
    }

    /// Sends one fragment of a message sent in several frames (see
    /// [`Connection::send_fragment`]): the first call opens the message,
    /// the one with `fin` set ends it.
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
    pub async fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_ping(payload)?)).await
    }

    /// Sends a Pong (payload at most 125 bytes).
    pub async fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_pong(payload)?)).await
    }

    /// Sends a frame encoded once for many connections with
    /// [`encode_shared`](crate::connection::encode_shared) (server role;
    /// queued by reference, see [`Connection::send_shared`]).
    pub async fn send_shared(&mut self, frame: &crate::outgoing::SharedFrame) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_shared(frame)?)).await
    }

    /// Sends any [`Message`], owned or borrowed; a `Close` starts the
    /// closing handshake (see [`close`](Self::close) to also wait for its
    /// end). `ws.send(msg).await` means what it means with
    /// `futures::SinkExt::send` (wait for room, queue, flush), so code
    /// written against the `Sink` reads the same.
    pub async fn send(&mut self, message: impl Borrow<Message>) -> Result<(), Error> {
        self.send_with(|i| i.queue(message.borrow())).await
    }

    /// Closes gracefully (RFC 6455 §7.1.2): sends a Close frame (unless one
    /// was sent already), reads until the peer's Close arrives, discarding
    /// any messages still in flight, and shuts the stream down (a server
    /// right away, a client once the server closed the TCP connection,
    /// §7.1.1), within [`Config::close_timeout`](crate::Config::close_timeout).
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
