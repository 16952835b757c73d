//! [`WebSocketStream`]: a connection over an async stream, and the poll
//! functions it shares with the split halves.

use std::borrow::Borrow;
use std::boxed::Box;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::{Instant, Sleep};

use crate::adapter::Error;
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, MessageKind};
use crate::driver::{Driver, FlushStep, ReadStep};

/// Default [`high_water`](WebSocketStream::set_high_water) mark: 64 KiB.
pub const DEFAULT_HIGH_WATER: usize = crate::driver::DEFAULT_HIGH_WATER;

/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 64;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays as consistent as the protocol allows if another task
    // panicked while holding the lock (no await ever happens under it).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------
// Write wakers

/// The tasks waiting for the stream to accept bytes.
///
/// Both the receiving side (writing automatic replies) and the sending side
/// write to the same stream, possibly from different tasks, but a stream
/// remembers only the last waker given to `poll_write`. So every write is
/// polled with one proxy waker that wakes all the tasks registered here.
#[derive(Default)]
struct WriteWaiters {
    waiting: Mutex<Vec<Waker>>,
}

impl Wake for WriteWaiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiting = std::mem::take(&mut *lock(&self.waiting));
        for w in waiting {
            w.wake();
        }
    }
}

pub(crate) struct WriteWaker {
    waiters: Arc<WriteWaiters>,
    proxy: Waker,
    /// One task owns the stream (not split): it writes with its own waker.
    direct: bool,
}

/// Tasks remembered as waiting to write, at most; registering one more
/// wakes those first (a spurious wake is harmless: a woken task that still
/// cannot write registers again). Wakers that `will_wake` cannot tell apart
/// (some runtimes' `block_on`) would otherwise pile up.
const MAX_WRITE_WAITERS: usize = 8;

impl WriteWaker {
    pub(crate) fn new() -> Self {
        let waiters = Arc::new(WriteWaiters::default());
        let proxy = Waker::from(Arc::clone(&waiters));
        WriteWaker {
            waiters,
            proxy,
            direct: true,
        }
    }

    /// For a stream shared by split halves: writes go through the proxy.
    pub(crate) fn shared(mut self) -> Self {
        self.direct = false;
        self
    }

    /// Registers the task of `cx` and returns the context to write with.
    pub(crate) fn context<'a>(&'a self, cx: &'a Context<'_>) -> Context<'a> {
        if self.direct {
            return Context::from_waker(cx.waker());
        }
        let mut w = lock(&self.waiters.waiting);
        let mut stale = Vec::new();
        if !w.iter().any(|x| x.will_wake(cx.waker())) {
            if w.len() >= MAX_WRITE_WAITERS {
                stale = std::mem::take(&mut *w);
            }
            w.push(cx.waker().clone());
        }
        drop(w);
        for old in stale {
            old.wake();
        }
        Context::from_waker(&self.proxy)
    }
}

// ---------------------------------------------------------------------------
// Timer

/// The connection's next deadline (keepalive, close timeout) as a tokio
/// sleep, re-armed lazily: a deadline that moves later (every received
/// frame moves the keepalive deadline) does not touch the timer; the sleep
/// fires early once, finds nothing due, and is re-armed.
#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl Timer {
    /// Ready once `at` (or an earlier armed deadline) has passed.
    fn poll(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        let sleep = match &mut self.sleep {
            Some(s) => {
                if self.armed.map_or(true, |a| a > at) {
                    s.as_mut().reset(at);
                    self.armed = Some(at);
                }
                s
            }
            None => {
                self.armed = Some(at);
                self.sleep.insert(Box::pin(::tokio::time::sleep_until(at)))
            }
        };
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.armed = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

// ---------------------------------------------------------------------------
// The state both forms share

/// A stream, its connection, the driver that decides what to do with them,
/// and what the adapter adds: the clock epoch and the reader's waker.
pub(crate) struct Inner<S> {
    pub(crate) stream: S,
    pub(crate) conn: Connection,
    pub(crate) driver: Driver,
    epoch: Instant,
    /// The task last parked in a read, woken when a send moves the timers
    /// (a Close starts the close timeout).
    recv_waker: Option<Waker>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    pub(crate) fn new(stream: S, mut conn: Connection, high_water: usize) -> Self {
        conn.handle_timeout(Duration::ZERO);
        Inner {
            stream,
            conn,
            driver: Driver::with_high_water(high_water),
            epoch: Instant::now(),
            recv_waker: None,
        }
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Writes queued bytes until at most `limit` remain.
    fn poll_write_down_to(&mut self, wcx: &mut Context<'_>, limit: usize) -> Poll<io::Result<()>> {
        while self.conn.output_len() > limit {
            let out = self.conn.output();
            let stream = Pin::new(&mut self.stream);
            let front = out.front();
            let written = if front.len() == out.len() {
                // One run of bytes: no slice array to fill.
                stream.poll_write(wcx, front)
            } else if stream.is_write_vectored() {
                let mut parts: [&[u8]; MAX_SLICES] = [&[]; MAX_SLICES];
                let n = out.chunks(&mut parts);
                if n == 1 {
                    stream.poll_write(wcx, parts[0])
                } else {
                    let slices: [IoSlice<'_>; MAX_SLICES] = parts.map(IoSlice::new);
                    stream.poll_write_vectored(wcx, &slices[..n])
                }
            } else {
                stream.poll_write(wcx, out.front())
            };
            match ready!(written) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.conn.output().consume(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Carries out the driver's flush steps: writes every queued byte,
    /// flushes the stream, and shuts it down once the connection is over. A
    /// failed write is reported to the driver (the peer's Close may still be
    /// read).
    fn poll_flush_all(&mut self, wcx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let done = match self.driver.poll_flush(&mut self.conn) {
                FlushStep::Write => self.poll_write_down_to(wcx, 0),
                FlushStep::Flush => Pin::new(&mut self.stream).poll_flush(wcx),
                FlushStep::Shutdown => {
                    // The peer may already be gone; the connection is over
                    // either way.
                    let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(wcx));
                    self.driver.shutdown_done();
                    Poll::Ready(Ok(()))
                }
                FlushStep::Done => return Poll::Ready(Ok(())),
            };
            if let Err(e) = ready!(done) {
                self.driver.write_failed(&mut self.conn);
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Writes until the queue is at or below the high-water mark.
    pub(crate) fn poll_send_ready(
        &mut self,
        cx: &mut Context<'_>,
        ww: &WriteWaker,
    ) -> Poll<Result<(), Error>> {
        if self.driver.has_room(&self.conn) {
            return Poll::Ready(Ok(()));
        }
        let limit = self.driver.high_water();
        match ready!(self.poll_write_down_to(&mut ww.context(cx), limit)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(e) => {
                self.driver.write_failed(&mut self.conn);
                Poll::Ready(Err(e.into()))
            }
        }
    }

    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        ww: &WriteWaker,
    ) -> Poll<Result<(), Error>> {
        Poll::Ready(ready!(self.poll_flush_all(&mut ww.context(cx))).map_err(Error::from))
    }

    /// Starts the closing handshake (see [`Driver::close`]) and wakes the
    /// reader, whose close timeout now runs.
    pub(crate) fn start_close(
        &mut self,
        code: Option<CloseCode>,
        reason: &str,
    ) -> Result<(), Error> {
        let now = self.now();
        self.driver.close(&mut self.conn, code, reason, now)?;
        self.wake_receiver();
        Ok(())
    }

    pub(crate) fn wake_receiver(&mut self) {
        if let Some(w) = self.recv_waker.take() {
            w.wake();
        }
    }

    /// Queues `message` (see [`Driver::send`]).
    pub(crate) fn queue(&mut self, message: &Message) -> Result<(), Error> {
        let now = self.now();
        self.driver.send(&mut self.conn, message, now)?;
        if matches!(message, Message::Close(_)) {
            self.wake_receiver();
        }
        Ok(())
    }

    /// Carries out the driver's read steps until an event is ready in the
    /// connection (then `self.conn.event()` returns it). Cancel-safe:
    /// nothing is held between polls.
    pub(crate) fn poll_prepare(
        &mut self,
        cx: &mut Context<'_>,
        ww: &WriteWaker,
        timer: &mut Timer,
    ) -> Poll<Result<(), Error>> {
        // What is queued when this poll begins is the application's; what
        // the connection adds while it runs is a reply (see
        // `Driver::start_read`).
        self.driver.start_read(&self.conn);
        let mut write_blocked = false;
        loop {
            let now = self.now();
            let step = match self.driver.poll_read(&mut self.conn, now, write_blocked) {
                Ok(step) => step,
                Err(e) => {
                    // Best effort to send the Close frame the failure queued.
                    let _ = self.poll_flush_all(&mut ww.context(cx));
                    return Poll::Ready(Err(e.into()));
                }
            };
            match step {
                ReadStep::Deliver { write_first } => {
                    if write_first {
                        // Automatic replies go out now if the stream takes
                        // them; otherwise with the next call.
                        let _ = self.poll_flush_all(&mut ww.context(cx));
                    }
                    return Poll::Ready(Ok(()));
                }
                ReadStep::Write | ReadStep::Shutdown => {
                    match self.poll_flush_all(&mut ww.context(cx)) {
                        Poll::Ready(_) => {}
                        Poll::Pending => write_blocked = true,
                    }
                }
                ReadStep::WaitWritable => return Poll::Pending,
                ReadStep::Closed => return Poll::Ready(Err(Error::ConnectionClosed)),
                ReadStep::Read { deadline } => {
                    if let Some(d) = deadline {
                        if timer.poll(cx, self.epoch + d).is_ready() {
                            continue;
                        }
                    }
                    let mut buf = ReadBuf::new(self.conn.read_buf());
                    match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) => {
                            let n = buf.filled().len();
                            // Committed before anything else touches the
                            // connection: the timer may give an empty
                            // receive buffer back.
                            let now = self.now();
                            self.driver.commit_read(&mut self.conn, n, now);
                        }
                        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                        Poll::Ready(Err(e)) => {
                            self.driver.read_failed(&mut self.conn);
                            return Poll::Ready(Err(e.into()));
                        }
                        Poll::Pending => {
                            if !self
                                .recv_waker
                                .as_ref()
                                .is_some_and(|w| w.will_wake(cx.waker()))
                            {
                                self.recv_waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                    }
                }
            }
        }
    }
}

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
        super::split::split(self)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn write_waiters_stay_bounded_when_wakers_cannot_be_told_apart() {
        let ww = WriteWaker::new().shared();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        for _ in 0..1000 {
            // A fresh waker each time, as a `block_on` may hand out.
            let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
            let cx = Context::from_waker(&waker);
            let _ = ww.context(&cx);
            assert!(lock(&ww.waiters.waiting).len() <= MAX_WRITE_WAITERS);
        }
        // The task registered last is woken when the stream can take bytes.
        let waker = Waker::from(Arc::clone(&count));
        let _ = ww.context(&Context::from_waker(&waker));
        ww.proxy.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(lock(&ww.waiters.waiting).is_empty());
    }

    #[test]
    fn an_unsplit_stream_writes_with_the_callers_waker() {
        let ww = WriteWaker::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        let cx = Context::from_waker(&waker);
        let wcx = ww.context(&cx);
        assert!(wcx.waker().will_wake(&waker));
        assert!(lock(&ww.waiters.waiting).is_empty());
    }
}
