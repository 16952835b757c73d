//! What every tokio form of a connection shares: the stream, the
//! connection and its [`Driver`], and the poll functions that carry out the
//! driver's steps with tokio's I/O and timers ([`Inner`]); the write
//! wakers and the timer. Used by [`WebSocketStream`](super::WebSocketStream)
//! and by the split halves.

use std::boxed::Box;
use std::future::Future;
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
use crate::connection::{Connection, DirectHeader, Message, MessageKind};
use crate::driver::{Driver, FlushStep, ReadStep};

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
    #[inline]
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
// Large frames written from the caller's buffer

/// Messages at least this large are written straight from the caller's
/// buffer when nothing is queued (server role, no compression): header and
/// payload in one vectored write, no copy (as in the blocking adapter).
pub(crate) const DIRECT_MIN: usize = 16 << 10;

/// A frame being written straight from the caller's buffer
/// ([`Connection::send_direct`]). If the send is cancelled (this is dropped)
/// before the stream took all of it, the rest is copied into the
/// connection's queue, where the next flush or send writes it first: the
/// stream never carries half a frame followed by another one. A copy is
/// made only then.
pub(crate) struct DirectWrite<'a, S> {
    inner: &'a mut Inner<S>,
    header: DirectHeader,
    payload: &'a [u8],
    done: usize,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> DirectWrite<'a, S> {
    /// Starts a direct write of a `kind` message, or returns `None` (having
    /// done nothing) when the connection cannot send it that way: bytes are
    /// queued, the message is small, the role is the client's, or it would
    /// be compressed. Checks the message (UTF-8 for a text) like a send.
    pub(crate) fn start(
        inner: &'a mut Inner<S>,
        kind: MessageKind,
        payload: &'a [u8],
    ) -> Result<Option<Self>, Error> {
        if payload.len() < DIRECT_MIN || inner.conn.has_output() {
            return Ok(None);
        }
        match inner.conn.send_direct_checked(kind, payload)? {
            Some(header) => Ok(Some(DirectWrite {
                inner,
                header,
                payload,
                done: 0,
            })),
            None => Ok(None),
        }
    }

    fn total(&self) -> usize {
        self.header.as_bytes().len() + self.payload.len()
    }

    /// Writes until the stream has taken the whole frame.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        ww: &WriteWaker,
    ) -> Poll<Result<(), Error>> {
        let mut wcx = ww.context(cx);
        let total = self.total();
        while self.done < total {
            let header = self.header.as_bytes();
            let stream = Pin::new(&mut self.inner.stream);
            let written = if self.done < header.len() {
                if stream.is_write_vectored() {
                    let parts = [
                        IoSlice::new(&header[self.done..]),
                        IoSlice::new(self.payload),
                    ];
                    stream.poll_write_vectored(&mut wcx, &parts)
                } else {
                    stream.poll_write(&mut wcx, &header[self.done..])
                }
            } else {
                stream.poll_write(&mut wcx, &self.payload[self.done - header.len()..])
            };
            let err = match ready!(written) {
                Ok(0) => io::ErrorKind::WriteZero.into(),
                Ok(n) => {
                    self.done += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => e,
            };
            // The stream is broken: nothing more goes to it.
            self.done = total;
            self.inner.driver.write_failed(&mut self.inner.conn);
            return Poll::Ready(Err(err.into()));
        }
        self.inner.driver.wrote_directly();
        Poll::Ready(Ok(()))
    }
}

impl<S> Drop for DirectWrite<'_, S> {
    fn drop(&mut self) {
        let header = self.header.as_bytes();
        if self.done >= header.len() + self.payload.len() {
            return;
        }
        let out = self.inner.conn.output();
        if self.done < header.len() {
            out.push_bytes(&header[self.done..]);
            out.push_bytes(self.payload);
        } else {
            out.push_bytes(&self.payload[self.done - header.len()..]);
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
    /// The stream's own flush could not finish (a TLS stream holding
    /// records the socket has not taken): it is finished before anything
    /// else is flushed, and before a read waits for the peer.
    stream_unflushed: bool,
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
            stream_unflushed: false,
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
            let step = match self.stream_unflushed {
                true => FlushStep::Flush,
                false => self.driver.poll_flush(&mut self.conn),
            };
            let done = match step {
                FlushStep::Write => self.poll_write_down_to(wcx, 0),
                FlushStep::Flush => {
                    let flushed = Pin::new(&mut self.stream).poll_flush(wcx);
                    self.stream_unflushed = flushed.is_pending();
                    flushed
                }
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
        let epoch = self.epoch;
        self.driver
            .send(&mut self.conn, message, || epoch.elapsed())?;
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
            let epoch = self.epoch;
            let step =
                match self
                    .driver
                    .poll_read(&mut self.conn, || epoch.elapsed(), write_blocked)
                {
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
                    if self.stream_unflushed && !write_blocked {
                        if self.poll_flush_all(&mut ww.context(cx)).is_pending() {
                            write_blocked = true;
                        }
                        continue;
                    }
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
