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
pub struct Reader<S> {
    shared: Arc<Shared<S>>,
    timer: Timer,
}

/// The writing half of a split [`WebSocketStream`](super::WebSocketStream). Clone it to send from
/// several tasks; each frame is queued and written whole. (A message sent
/// in fragments must come from one task at a time.)
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
    pub async fn read(&mut self) -> Result<Message, Error> {
        self.read_with(|e| e.to_message()).await
    }

    /// Reads the next event and hands it, borrowed from the connection's
    /// buffers, to `f` (no allocation per message). `f` runs with the
    /// connection locked: keep it short, and do not use a [`Writer`] of the
    /// same connection from it. Cancel-safe (`f` is called only once an
    /// event is ready, within the same poll).
    pub async fn read_with<R>(&mut self, f: impl FnOnce(Event<'_>) -> R) -> Result<R, Error> {
        let mut f = Some(f);
        poll_fn(|cx| self.poll_with(cx, &mut f)).await
    }

    /// A writer for this connection.
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
    pub async fn flush(&self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: &str) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_text(text)?)).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_binary(data)?)).await
    }

    /// Sends one fragment of a message sent in several frames; see
    /// [`Connection::send_fragment`].
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
    pub async fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_ping(payload)?)).await
    }

    /// Sends a frame encoded once for many connections (server role; see
    /// [`Connection::send_shared`]).
    pub async fn send_shared(&self, frame: &SharedFrame) -> Result<(), Error> {
        self.send_with(|i| Ok(i.conn.send_shared(frame)?)).await
    }

    /// Sends any [`Message`], owned or borrowed (`writer.send(msg).await`
    /// reads as it does with `SinkExt::send`, which this shadows with the
    /// same meaning: wait for room, queue, flush).
    pub async fn send(&self, message: impl Borrow<Message>) -> Result<(), Error> {
        self.send_with(|i| i.queue(message.borrow())).await
    }

    /// Starts the closing handshake: sends a Close frame. The [`Reader`]
    /// sees the peer's Close and then the end of the connection (and gives
    /// up after the close timeout).
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send_with(|i| i.start_close(Some(code), reason)).await
    }

    /// Runs `f` on the connection (locked: keep it short), e.g. to queue
    /// several frames before one [`flush`](Self::flush). Nothing is
    /// written until the next flush or send, or the next read that has to
    /// wait for the peer.
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.inner).conn)
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
