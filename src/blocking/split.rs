//! A WebSocket split into a writer and a reader for two threads, over any
//! transport that can be read and written through shared references at the
//! same time ([`SplitTransport`]: `TcpStream`, `UnixStream`).

use std::borrow::Borrow;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::websocket::WebSocket;
use crate::adapter::{is_retry, Error};
use crate::close::CloseCode;
use crate::connection::{Connection, Message, MessageKind};
use crate::driver::{Driver, FlushStep, ReadStep};

/// A transport a blocking [`WebSocket`] can be [split](WebSocket::split)
/// over: one thread reads it while others write it, through shared
/// references (`&S: Read + Write`, as for `TcpStream`), and it can time out
/// a read (for keepalive and the close timeout) and be shut down (which
/// also wakes a blocked reader).
///
/// A transport that cannot be read and written at once (a TLS stream over
/// one socket) is split by the tokio adapter instead, whose halves share it
/// through non-blocking polls.
///
/// ```
/// use rfc6455::blocking::SplitTransport;
/// use std::net::TcpStream;
/// fn splittable<S: SplitTransport>() where for<'a> &'a S: std::io::Read + std::io::Write {}
/// splittable::<TcpStream>();
/// # #[cfg(unix)]
/// splittable::<std::os::unix::net::UnixStream>();
/// ```
pub trait SplitTransport: Send + Sync + 'static
where
    for<'a> &'a Self: Read + Write,
{
    /// Sets (or clears) the timeout of a read.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Shuts both directions down.
    fn shutdown(&self) -> io::Result<()>;
}

impl SplitTransport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }

    fn shutdown(&self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
}

#[cfg(unix)]
impl SplitTransport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }

    fn shutdown(&self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both)
    }
}

struct Shared<S> {
    /// The protocol state and the loop's. Held only to feed bytes, decode,
    /// encode or decide — never across a read or a write on the socket.
    state: Mutex<State>,
    /// The writing side. Held for the whole of a write, so frames from
    /// several threads never interleave; always taken before `state`.
    out: Mutex<WriteSide<S>>,
    epoch: Instant,
}

struct State {
    conn: Connection,
    driver: Driver,
}

struct WriteSide<S> {
    stream: Arc<S>,
    buf: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread while holding the lock leaves the state as
    // consistent as the protocol allows; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S: SplitTransport> Shared<S>
where
    for<'a> &'a S: Read + Write,
{
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Moves everything the connection has queued to the socket, as the
    /// driver's flush steps say: the queued bytes are copied out under the
    /// lock, then written (and the socket shut down, once the connection is
    /// over) without it.
    fn flush(&self) -> Result<(), Error> {
        let mut out = lock(&self.out);
        let mut shutdown = false;
        {
            let mut st = lock(&self.state);
            let State { conn, driver } = &mut *st;
            out.buf.clear();
            loop {
                match driver.poll_flush(conn) {
                    FlushStep::Write => {
                        let o = conn.output();
                        while !o.is_empty() {
                            let f = o.front();
                            let n = f.len();
                            out.buf.extend_from_slice(f);
                            o.consume(n);
                        }
                    }
                    FlushStep::Flush => {}
                    FlushStep::Shutdown => {
                        driver.shutdown_done();
                        shutdown = true;
                    }
                    FlushStep::Done => break,
                }
            }
        }
        let WriteSide { stream, buf } = &mut *out;
        // The stream's flush too: a TLS stream may hold records the socket
        // did not take (a write timeout), which go now or with the next call.
        if let Err(e) = (&**stream)
            .write_all(buf)
            .and_then(|()| (&**stream).flush())
        {
            if !is_retry(&e) {
                // The reader still delivers what the peer sent (its Close).
                let mut st = lock(&self.state);
                let State { conn, driver } = &mut *st;
                driver.write_failed(conn);
            }
            return Err(e.into());
        }
        if buf.capacity() > 64 << 10 {
            *buf = Vec::new();
        }
        if shutdown {
            let _ = stream.shutdown();
        }
        Ok(())
    }

    fn send(
        &self,
        f: impl FnOnce(&mut Driver, &mut Connection, Instant) -> Result<(), crate::Error>,
    ) -> Result<(), Error> {
        {
            let mut st = lock(&self.state);
            let State { conn, driver } = &mut *st;
            f(driver, conn, self.epoch)?;
        }
        self.flush()
    }
}

/// The reading half of a split [`WebSocket`]: reads messages and, from
/// within [`read`](Self::read), answers Pings, echoes Close frames and sends
/// keepalive Pings, so those replies go out even if no [`Writer`] sends.
///
/// ```
/// use rfc6455::Message;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
/// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
/// #     while let Ok(msg) = ws.read() {
/// #         if msg.is_data() { ws.send(&msg)?; }
/// #     }
/// #     Ok(())
/// # });
/// let (ws, _) = rfc6455::blocking::connect(&url)?;
/// let (writer, mut reader) = ws.split()?;
///
/// // A reader thread, while this one sends.
/// let reading = std::thread::spawn(move || reader.read());
/// writer.send_text("hello")?;
/// assert_eq!(reading.join().unwrap()?, Message::Text("hello".into()));
/// # Ok::<(), rfc6455::blocking::Error>(())
/// ```
pub struct Reader<S = TcpStream> {
    stream: Arc<S>,
    shared: Arc<Shared<S>>,
    buf: Vec<u8>,
}

/// The writing half of a split [`WebSocket`]. Clone it to send from several
/// threads; each frame is written whole, never interleaved with another.
///
/// ```
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
/// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
/// #     while let Ok(msg) = ws.read() {
/// #         if msg.is_data() { ws.send(&msg)?; }
/// #     }
/// #     Ok(())
/// # });
/// let (ws, _) = rfc6455::blocking::connect(&url)?;
/// let (writer, mut reader) = ws.split()?;
///
/// let senders: Vec<_> = (0..4)
///     .map(|i| {
///         let writer = writer.clone();
///         std::thread::spawn(move || writer.send_text(&format!("from thread {i}")))
///     })
///     .collect();
/// for sender in senders {
///     sender.join().unwrap()?;
/// }
/// for _ in 0..4 {
///     let msg = reader.read()?; // whole messages, in whatever order they went
///     assert!(msg.is_text());
/// }
/// # Ok::<(), rfc6455::blocking::Error>(())
/// ```
pub struct Writer<S = TcpStream> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: SplitTransport + Read + Write> WebSocket<S>
where
    for<'a> &'a S: Read + Write,
{
    /// Splits the connection into a [`Reader`] for one thread and a
    /// [`Writer`] for others: the writer comes first, as with
    /// `futures::StreamExt::split`. Works over any [`SplitTransport`]
    /// (`TcpStream`, `UnixStream`); both halves share the stream itself.
    ///
    /// ```no_run
    /// let (ws, _) = rfc6455::blocking::connect("ws://127.0.0.1:9001")?;
    /// let (writer, mut reader) = ws.split()?;
    /// let w = writer.clone();
    /// std::thread::spawn(move || w.send_text("from another thread"));
    /// while let Ok(msg) = reader.read() {
    ///     println!("{msg:?}");
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn split(self) -> io::Result<(Writer<S>, Reader<S>)> {
        let (stream, conn) = self.into_parts();
        let stream = Arc::new(stream);
        let write_stream = Arc::clone(&stream);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                conn,
                driver: Driver::new(),
            }),
            out: Mutex::new(WriteSide {
                stream: write_stream,
                buf: Vec::new(),
            }),
            epoch: Instant::now(),
        });
        Ok((
            Writer {
                shared: Arc::clone(&shared),
            },
            Reader {
                stream,
                shared,
                buf: Vec::new(),
            },
        ))
    }
}

impl<S: SplitTransport> Reader<S>
where
    for<'a> &'a S: Read + Write,
{
    /// Reads the next message (owned: the connection is shared with the
    /// writer, so nothing can stay borrowed from it).
    ///
    /// ```
    /// use rfc6455::Message;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send_binary(&[1, 2, 3])?;
    /// writer.send_ping(b"?")?;
    /// assert_eq!(reader.read()?, Message::Binary(vec![1, 2, 3]));
    /// assert_eq!(reader.read()?, Message::Pong(b"?".to_vec()));
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn read(&mut self) -> Result<Message, Error> {
        {
            let mut st = lock(&self.shared.state);
            let State { conn, driver } = &mut *st;
            driver.start_read(conn);
        }
        loop {
            let (step, message) = {
                let epoch = self.shared.epoch;
                let mut st = lock(&self.shared.state);
                let State { conn, driver } = &mut *st;
                match driver.poll_read(conn, || epoch.elapsed(), false) {
                    Ok(step @ ReadStep::Deliver { .. }) => {
                        (step, conn.event().map(|e| e.to_message()))
                    }
                    Ok(step) => (step, None),
                    Err(e) => {
                        drop(st);
                        let _ = self.shared.flush();
                        return Err(e.into());
                    }
                }
            };
            match step {
                ReadStep::Deliver { write_first } => {
                    if write_first {
                        match self.shared.flush() {
                            Err(Error::Io(e)) if is_retry(&e) => {}
                            Err(e) => return Err(e),
                            Ok(()) => {}
                        }
                    }
                    return Ok(message.expect("an event was prepared"));
                }
                // The write side may be gone: read on, the peer's Close
                // (which says why) may be waiting.
                ReadStep::Write | ReadStep::WaitWritable | ReadStep::Shutdown => {
                    match self.shared.flush() {
                        Err(Error::Io(e)) if !is_retry(&e) => {}
                        other => other?,
                    }
                }
                ReadStep::Closed => return Err(Error::ConnectionClosed),
                ReadStep::Read { deadline } => self.fill(deadline)?,
            }
        }
    }

    fn fill(&mut self, deadline: Option<Duration>) -> Result<(), Error> {
        if self.buf.len() < 4096 {
            self.buf.resize(4096, 0);
        }
        if let Some(d) = deadline {
            let wait = d.saturating_sub(self.shared.now());
            self.stream
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        }
        let result = loop {
            match (&*self.stream).read(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => break result,
            }
        };
        if deadline.is_some() {
            self.stream.set_read_timeout(None)?;
        }
        let now = self.shared.now();
        let mut st = lock(&self.shared.state);
        let State { conn, driver } = &mut *st;
        match result {
            Ok(n) => driver.feed(conn, &self.buf[..n], now),
            // The timer is due: the driver handles it on the next poll.
            Err(e) if is_retry(&e) && deadline.is_some() => {}
            Err(e) if is_retry(&e) => return Err(e.into()),
            Err(e) => {
                driver.read_failed(conn);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// A writer for this connection.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// drop(writer);
    /// let another = reader.writer(); // the reader's thread can send too
    /// another.send_text("hi")?;
    /// assert_eq!(reader.read()?, "hi".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn writer(&self) -> Writer<S> {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: SplitTransport> Writer<S>
where
    for<'a> &'a S: Read + Write,
{
    /// Sends a text message.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send_text("hello")?;
    /// assert_eq!(reader.read()?, "hello".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_text(text))
    }

    /// Sends a binary message.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send_binary(&[0xca, 0xfe])?;
    /// assert_eq!(reader.read()?, vec![0xca, 0xfe].into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_binary(data))
    }

    /// Sends one fragment of a message sent in several frames. Only one
    /// thread should stream a fragmented message at a time.
    ///
    /// ```
    /// use rfc6455::MessageKind;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send_fragment(MessageKind::Binary, &[1, 2], false)?;
    /// writer.send_fragment(MessageKind::Binary, &[3], true)?;
    /// assert_eq!(reader.read()?, vec![1, 2, 3].into()); // one message
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_fragment(&self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_fragment(kind, data, fin))
    }

    /// Sends a Ping.
    ///
    /// ```
    /// use rfc6455::Message;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send_ping(b"t=1")?;
    /// assert_eq!(reader.read()?, Message::Pong(b"t=1".to_vec()));
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_ping(payload))
    }

    /// Sends a Pong (an unsolicited one is a one-way heartbeat, RFC 6455
    /// §5.5.3; Pings are answered by the [`Reader`] by itself).
    pub fn send_pong(&self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_pong(payload))
    }

    /// Sends a frame encoded once for many connections (server role; see
    /// [`Connection::send_shared`]).
    pub fn send_shared(&self, frame: &crate::outgoing::SharedFrame) -> Result<(), Error> {
        self.shared.send(|_, c, _| c.send_shared(frame))
    }

    /// Queues any [`Message`] without writing it; [`flush`](Self::flush)
    /// (or the next send) writes everything queued, in one write. Past the
    /// high-water mark (128 KiB) the queue is written first.
    pub fn write(&self, message: impl Borrow<Message>) -> Result<(), Error> {
        let full = {
            let st = lock(&self.shared.state);
            !st.driver.has_room(&st.conn)
        };
        if full {
            self.shared.flush()?;
        }
        let mut st = lock(&self.shared.state);
        let epoch = self.shared.epoch;
        let State { conn, driver } = &mut *st;
        driver.send(conn, message.borrow(), || epoch.elapsed())?;
        Ok(())
    }

    /// Writes everything queued.
    pub fn flush(&self) -> Result<(), Error> {
        self.shared.flush()
    }

    /// Sends any [`Message`], owned or borrowed; a `Close` (possibly with
    /// an empty body) starts the closing handshake.
    ///
    /// ```
    /// use rfc6455::Message;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.send(Message::Text("hello".into()))?;
    /// writer.send(Message::Close(None))?; // a Close with an empty body
    /// assert_eq!(reader.read()?, "hello".into());
    /// assert_eq!(reader.read()?, Message::Close(None)); // the server's echo
    /// assert!(reader.read().unwrap_err().is_closed());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send(&self, message: impl Borrow<Message>) -> Result<(), Error> {
        self.shared
            .send(|d, c, epoch| d.send(c, message.borrow(), || epoch.elapsed()))
    }

    /// Starts the closing handshake; the [`Reader`] sees the peer's Close
    /// and the end of the connection.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Message};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (ws, _) = rfc6455::blocking::connect(&url)?;
    /// let (writer, mut reader) = ws.split()?;
    ///
    /// writer.close(CloseCode::GOING_AWAY, "shutting down")?;
    /// loop {
    ///     match reader.read() {
    ///         Ok(Message::Close(frame)) => {
    ///             assert_eq!(frame.unwrap().code, Some(CloseCode::GOING_AWAY)); // echoed
    ///         }
    ///         Ok(_) => {} // messages still in flight
    ///         Err(e) if e.is_closed() => break,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared
            .send(|d, c, epoch| d.close(c, Some(code), reason, epoch.elapsed()))
    }
}
