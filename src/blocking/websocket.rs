//! [`WebSocket`]: a connection over a blocking (or non-blocking) stream.

use std::borrow::Borrow;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::adapter::{is_retry, Error};
use crate::close::CloseCode;
use crate::connection::{Connection, Event, Message, MessageKind};
use crate::driver::{Driver, FlushStep, ReadStep};

/// Messages at least this large, with nothing queued before them, are
/// written straight from the caller's buffer (no copy into the queue).
const DIRECT_MIN: usize = 16 << 10;

/// Sets (or clears) a read timeout on a stream.
pub(crate) type ReadTimeoutHook<S> = fn(&S, Option<Duration>) -> io::Result<()>;

/// Stream operations the core loop uses when the stream type offers them
/// (set for `TcpStream` by the constructors in this module).
pub(crate) struct Hooks<S> {
    pub(crate) set_read_timeout: Option<ReadTimeoutHook<S>>,
    pub(crate) shutdown: Option<fn(&S) -> io::Result<()>>,
}

impl<S> Hooks<S> {
    pub(crate) fn none() -> Self {
        Hooks {
            set_read_timeout: None,
            shutdown: None,
        }
    }
}

impl Hooks<TcpStream> {
    pub(crate) fn tcp() -> Self {
        Hooks {
            set_read_timeout: Some(|s, t| s.set_read_timeout(t)),
            shutdown: Some(|s| s.shutdown(Shutdown::Both)),
        }
    }
}

/// Reads an HTTP head from `stream` within `timeout` (enforced through the
/// read-timeout hook, where there is one), handing each read to `feed`
/// until it returns the parsed head and how many bytes of that read it used.
/// Returns the head and the bytes that followed it (the first frames).
pub(crate) fn read_head<S: Read, T>(
    stream: &mut S,
    hooks: &Hooks<S>,
    timeout: Option<Duration>,
    mut feed: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, Error>,
) -> Result<(T, std::vec::Vec<u8>), Error> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut buf = [0u8; 4096];
    let result = loop {
        if let Some(d) = deadline {
            // Checked on every pass, hook or not: a stream with a read
            // timeout of its own (`connect_over` on a socket that has one)
            // comes back here each time a read times out.
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(Error::HandshakeTimeout);
            }
            if let Some(hook) = hooks.set_read_timeout {
                hook(stream, Some(left))?;
            }
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => break Err(Error::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_retry(&e) && deadline.is_some() => continue,
            Err(e) => break Err(e.into()),
        };
        match feed(&buf[..n]) {
            Ok(None) => {}
            Ok(Some((head, used))) => break Ok((head, buf[used..n].to_vec())),
            Err(e) => break Err(e),
        }
    };
    if let Some(hook) = hooks.set_read_timeout {
        hook(stream, None)?;
    }
    result
}

/// A WebSocket over a stream `S: Read + Write`.
///
/// Reading: [`read`](Self::read) (owned [`Message`]) or
/// [`read_event`](Self::read_event) (borrowed [`Event`], no allocation).
/// Pings are answered, Close frames echoed and keepalive Pings sent from
/// within these calls. Sending: `send_*` queue a frame and write it out;
/// to batch, queue several through [`connection_mut`](Self::connection_mut)
/// and call [`flush`](Self::flush) once, or leave them queued: a read that
/// has to wait for the peer first writes everything queued, so a loop of
/// `read_event` and [`Connection::echo_event`] writes the echoes of frames
/// that arrived together in one write. (A read that returns an event writes
/// at once only if the event caused a reply, a Pong or the Close echo;
/// then everything queued goes, in order.)
///
/// # Non-blocking streams and timeouts
///
/// With a non-blocking stream (or a read timeout set on it), calls return
/// [`Error::Io`] with `WouldBlock`/`TimedOut` ([`Error::is_would_block`]).
/// Nothing is lost: a partially received frame stays in the connection, and
/// a frame that could not be written completely stays queued. Repeat
/// `read`/`read_event` to continue reading, and call `flush` (not the
/// `send_*` again: the message is already queued) to continue writing.
///
/// # Keepalive
///
/// With [`Config::ping_interval`](crate::Config::ping_interval) set, a Ping
/// is sent after that long without traffic, and a missing Pong fails the
/// connection with 1011. Over a `TcpStream` made by this module the reads
/// wake up for it by themselves; over another stream, set
/// [`set_read_timeout_hook`](Self::set_read_timeout_hook).
///
/// # Example
///
/// An echo server on one thread, a client on another:
///
/// ```
/// use std::net::TcpListener;
/// use rfc6455::blocking::{self, Error};
/// use rfc6455::{CloseCode, Message};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let url = format!("ws://{}/", listener.local_addr()?);
/// let server = std::thread::spawn(move || -> Result<(), Error> {
///     let mut ws = blocking::accept(listener.accept()?.0)?;
///     loop {
///         match ws.read() {
///             Ok(msg) if msg.is_data() => ws.send(&msg)?,
///             Ok(_) => {} // Pings were answered, the Close echoed, by read itself
///             Err(e) if e.is_closed() => return Ok(()),
///             Err(e) => return Err(e),
///         }
///     }
/// });
///
/// let (mut ws, _response) = blocking::connect(&url)?;
/// ws.send_text("hello")?;
/// assert_eq!(ws.read()?, Message::Text("hello".into()));
/// ws.close(CloseCode::NORMAL, "done")?;
/// server.join().unwrap()?;
/// # Ok::<(), Error>(())
/// ```
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    epoch: Instant,
    hooks: Hooks<S>,
    user_read_timeout: Option<Duration>,
    driver: Driver,
    /// The stream's own flush could not finish (a TLS stream holding
    /// records a non-blocking socket has not taken): it is finished before
    /// anything else is flushed, and before a read waits for the peer.
    stream_unflushed: bool,
}

impl<S: std::fmt::Debug> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("stream", &self.stream)
            .field("conn", &self.conn)
            .finish()
    }
}

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a stream whose opening handshake is done. Bytes that arrived
    /// right after the handshake must already have been fed to `conn`.
    ///
    /// A client that takes the opening step by hand:
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    /// use rfc6455::adapter::ClientConfig;
    /// use rfc6455::blocking::WebSocket;
    /// use rfc6455::handshake::Uri;
    /// use rfc6455::upgrade::ClientUpgrade;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// # let addr = url.trim_start_matches("ws://").trim_end_matches('/').to_owned();
    ///
    /// let mut stream = TcpStream::connect(addr)?;
    /// let config = ClientConfig::default();
    /// let uri = Uri::parse("ws://localhost/chat")?;
    /// let (mut handshake, opening) = ClientUpgrade::new(&config).start(&uri)?;
    /// stream.write_all(handshake.request_bytes())?;
    /// let mut buf = [0; 4096];
    /// let (response, used, n) = loop {
    ///     let n = stream.read(&mut buf)?;
    ///     assert!(n > 0, "the server hung up");
    ///     if let Some((response, used)) = handshake.feed(&buf[..n])? {
    ///         break (response, used, n);
    ///     }
    /// };
    /// // Bytes behind the response head are the first frames: `open` feeds them.
    /// let conn = opening.open(&response, &buf[used..n])?;
    ///
    /// let mut ws = WebSocket::from_connection(stream, conn);
    /// ws.send_text("hi")?;
    /// assert_eq!(ws.read()?, "hi".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        Self::with_hooks(stream, conn, Hooks::none())
    }

    pub(crate) fn with_hooks(stream: S, mut conn: Connection, hooks: Hooks<S>) -> Self {
        let epoch = Instant::now();
        conn.handle_timeout(Duration::ZERO);
        WebSocket {
            stream,
            conn,
            epoch,
            hooks,
            user_read_timeout: None,
            driver: Driver::new(),
            stream_unflushed: false,
        }
    }

    /// Tells the adapter how to set a read timeout on `S`, so that keepalive
    /// and the close timeout work over streams other than `TcpStream` (for a
    /// TLS stream, set it on the underlying socket).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpStream;
    /// use std::time::Duration;
    /// use rfc6455::blocking::{self, ClientConfig};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// # let addr = url.trim_start_matches("ws://").trim_end_matches('/').to_owned();
    ///
    /// // A stream of the application's own around a socket (say, TLS).
    /// struct Wrapped(TcpStream);
    /// # impl Read for Wrapped {
    /// #     fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> { self.0.read(buf) }
    /// # }
    /// # impl Write for Wrapped {
    /// #     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> { self.0.write(buf) }
    /// #     fn flush(&mut self) -> std::io::Result<()> { self.0.flush() }
    /// # }
    /// // impl Read and Write for Wrapped ...
    ///
    /// let config = ClientConfig::default().ping_interval(Some(Duration::from_secs(20)));
    /// let stream = Wrapped(TcpStream::connect(&addr)?);
    /// let (mut ws, _) = blocking::connect_over(stream, &url, &config)?;
    /// // Now reads wake up to send keepalive Pings and to give up on a late Pong.
    /// ws.set_read_timeout_hook(|s, timeout| s.0.set_read_timeout(timeout));
    /// ws.send_text("hi")?;
    /// assert_eq!(ws.read()?, "hi".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn set_read_timeout_hook(&mut self, hook: fn(&S, Option<Duration>) -> io::Result<()>) {
        self.hooks.set_read_timeout = Some(hook);
    }

    /// A read timeout for [`read`](Self::read) and
    /// [`read_event`](Self::read_event), applied through the read-timeout
    /// hook (set automatically for `TcpStream`). Use this rather than
    /// setting the timeout on the stream when keepalive is on.
    ///
    /// ```
    /// use std::time::Duration;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.set_read_timeout(Some(Duration::from_millis(20)))?;
    /// match ws.read() {
    ///     Err(e) if e.is_would_block() => {} // nothing arrived in time; read again later
    ///     other => panic!("the echo server sends nothing unasked: {other:?}"),
    /// }
    /// ws.send_text("now")?;
    /// assert_eq!(ws.read()?, "now".into()); // nothing was lost
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.user_read_timeout = timeout;
        if let Some(hook) = self.hooks.set_read_timeout {
            hook(&self.stream, timeout)?;
        }
        Ok(())
    }

    /// The protocol state machine.
    ///
    /// ```
    /// use rfc6455::{Role, State};
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
    ///
    /// let conn = ws.connection();
    /// assert_eq!((conn.role(), conn.state()), (Role::Client, State::Open));
    /// assert!(!conn.has_output());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The protocol state machine, e.g. to queue several frames before one
    /// [`flush`](Self::flush).
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// let conn = ws.connection_mut();
    /// for i in 0..3 {
    ///     conn.send_text(&format!("line {i}"))?; // queued, not written
    /// }
    /// ws.flush()?; // one write for the three frames
    /// for i in 0..3 {
    ///     assert_eq!(ws.read()?, format!("line {i}").into());
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn connection_mut(&mut self) -> &mut Connection {
        self.driver.connection_changed();
        &mut self.conn
    }

    /// The underlying stream.
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
    ///
    /// // A `MaybeTlsStream`, and the `TcpStream` under it (TLS or not).
    /// let server = ws.get_ref().get_ref().peer_addr()?;
    /// assert_eq!(format!("ws://{server}/"), url);
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream (writing to it directly corrupts the framing).
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.get_mut().get_ref().set_nodelay(false)?; // socket options, not bytes
    /// assert!(!ws.get_ref().get_ref().nodelay()?);
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Gives back the stream and the connection.
    ///
    /// ```
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # let client = std::thread::spawn(move || -> Result<_, rfc6455::blocking::Error> {
    /// #     let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    /// #     ws.send_text("still open")?;
    /// #     Ok(ws.read()?)
    /// # });
    /// use rfc6455::blocking::WebSocket;
    /// let ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    ///
    /// let (stream, conn) = ws.into_parts();
    /// assert_eq!(conn.state(), rfc6455::State::Open);
    /// // ... and back together, e.g. after moving them to another thread.
    /// let mut ws = WebSocket::from_tcp(stream, conn);
    /// let msg = ws.read()?;
    /// ws.send(&msg)?;
    /// # assert_eq!(client.join().unwrap()?, "still open".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn into_parts(self) -> (S, Connection) {
        (self.stream, self.conn)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Reads the next message (text, binary, ping, pong or close), owned.
    ///
    /// After the peer's Close has been returned, or after an error, further
    /// calls return [`Error::ConnectionClosed`].
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    /// ws.send_text("hello")?;
    /// ws.send_binary(&[1, 2])?;
    ///
    /// for _ in 0..2 {
    ///     match ws.read()? {
    ///         Message::Text(text) => assert_eq!(text, "hello"),
    ///         Message::Binary(bytes) => assert_eq!(bytes, [1, 2]),
    ///         other => panic!("{other:?}"), // Ping, Pong, Close
    ///     }
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn read(&mut self) -> Result<Message, Error> {
        Ok(self.read_event()?.to_message())
    }

    /// Reads the next event, borrowed from the connection's buffers: no
    /// allocation per message. The borrow ends at the next call.
    ///
    /// ```
    /// use rfc6455::Event;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    /// ws.send_text("hello")?;
    ///
    /// match ws.read_event()? {
    ///     Event::Text(text) => assert_eq!(text, "hello"), // a view into the receive buffer
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn read_event(&mut self) -> Result<Event<'_>, Error> {
        self.driver.start_read(&self.conn);
        loop {
            let epoch = self.epoch;
            let step = match self
                .driver
                .poll_read(&mut self.conn, || epoch.elapsed(), false)
            {
                Ok(step) => step,
                Err(e) => {
                    // Send the close frame the failure queued, then give up.
                    let _ = self.flush();
                    return Err(e.into());
                }
            };
            match step {
                ReadStep::Deliver { write_first } => {
                    // Automatic replies (pong, close echo) go out even if
                    // the caller never sends. If the stream is not writable
                    // now they stay queued and go out with the next call;
                    // the event is still delivered.
                    if write_first {
                        match self.flush() {
                            Err(Error::Io(e)) if is_retry(&e) => {}
                            Err(e) => return Err(e),
                            Ok(()) => {}
                        }
                    }
                    return Ok(self.conn.event().expect("an event was prepared"));
                }
                // The write side may be gone (the peer hung up): reading
                // goes on, so that the peer's Close, which says why, is
                // what the read returns.
                ReadStep::Write | ReadStep::WaitWritable => match self.flush() {
                    Err(Error::Io(e)) if !is_retry(&e) => {}
                    other => other?,
                },
                ReadStep::Shutdown => self.shutdown(),
                ReadStep::Closed => return Err(Error::ConnectionClosed),
                ReadStep::Read { deadline } => {
                    if self.stream_unflushed {
                        match self.flush() {
                            Err(Error::Io(e)) if is_retry(&e) => {}
                            other => other?,
                        }
                    }
                    self.fill(deadline)?
                }
            }
        }
    }

    /// Reads once into the connection, waking up by `deadline` (through
    /// the read-timeout hook) for its timers.
    fn fill(&mut self, deadline: Option<Duration>) -> Result<(), Error> {
        let timer_set = match (deadline, self.hooks.set_read_timeout) {
            (Some(d), Some(hook)) => {
                let wait = d.saturating_sub(self.now()).max(Duration::from_millis(1));
                let wait = self.user_read_timeout.map_or(wait, |u| u.min(wait));
                hook(&self.stream, Some(wait))?;
                true
            }
            _ => false,
        };
        let result = loop {
            match self.stream.read(self.conn.read_buf()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => break result,
            }
        };
        if timer_set {
            if let Some(hook) = self.hooks.set_read_timeout {
                hook(&self.stream, self.user_read_timeout)?;
            }
        }
        match result {
            Ok(n) => {
                let now = self.now();
                self.driver.commit_read(&mut self.conn, n, now);
                Ok(())
            }
            // The timer is due: the driver handles it on the next poll.
            Err(e) if is_retry(&e) && deadline.is_some_and(|d| self.now() >= d) => Ok(()),
            Err(e) if is_retry(&e) => Err(e.into()),
            Err(e) => {
                // The transport is gone: nothing more can be read or sent.
                self.driver.read_failed(&mut self.conn);
                Err(e.into())
            }
        }
    }

    /// Writes every queued byte to the stream (vectored when frames shared
    /// between connections are queued), then flushes it, and shuts it down
    /// once the connection is over.
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.write(Message::Text("one".into()))?; // queued
    /// ws.write(Message::Text("two".into()))?;
    /// assert!(ws.connection().has_output());
    /// ws.flush()?; // both frames, in one write
    /// assert!(!ws.connection().has_output());
    /// assert_eq!(ws.read()?, "one".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn flush(&mut self) -> Result<(), Error> {
        loop {
            let step = match self.stream_unflushed {
                true => FlushStep::Flush,
                false => self.driver.poll_flush(&mut self.conn),
            };
            match step {
                FlushStep::Write => self.write_some()?,
                FlushStep::Flush => {
                    let flushed = self.stream.flush();
                    self.stream_unflushed = flushed.as_ref().is_err_and(is_retry);
                    flushed?
                }
                FlushStep::Shutdown => self.shutdown(),
                FlushStep::Done => return Ok(()),
            }
        }
    }

    /// One write of the front of the queue.
    fn write_some(&mut self) -> Result<(), Error> {
        let written = {
            let mut parts: [&[u8]; 16] = [&[]; 16];
            let n = self.conn.output().chunks(&mut parts);
            if n == 1 {
                self.stream.write(parts[0])
            } else {
                let slices: [IoSlice<'_>; 16] = parts.map(IoSlice::new);
                self.stream.write_vectored(&slices[..n])
            }
        };
        match written {
            Ok(0) => {
                self.driver.write_failed(&mut self.conn);
                Err(Error::Io(io::ErrorKind::WriteZero.into()))
            }
            Ok(n) => {
                self.conn.output().consume(n);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) if is_retry(&e) => Err(e.into()),
            Err(e) => {
                // Nothing more can be sent, but the peer's last words
                // (its Close, e.g. 1009) may be waiting to be read.
                self.driver.write_failed(&mut self.conn);
                Err(e.into())
            }
        }
    }

    fn shutdown(&mut self) {
        if !self.driver.is_shut_down() {
            self.driver.shutdown_done();
            if let Some(hook) = self.hooks.shutdown {
                let _ = hook(&self.stream);
            }
        }
    }

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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.send_text("hello")?;
    /// assert_eq!(ws.read()?, "hello".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_data(MessageKind::Text, text.as_bytes())
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.send_binary(&[0xde, 0xad])?;
    /// assert_eq!(ws.read()?, vec![0xde, 0xad].into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_data(MessageKind::Binary, data)
    }

    /// Sends a whole message (text already known to be UTF-8). A large one
    /// with nothing queued before it is written straight from `data`,
    /// header and payload in one vectored write, with no copy
    /// ([`Connection::send_direct`]); otherwise it is queued and flushed.
    fn send_data(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Error> {
        if data.len() >= DIRECT_MIN && !self.conn.has_output() {
            if let Some(header) = self.conn.send_direct_checked(kind, data)? {
                return self.write_direct(header.as_bytes(), data);
            }
        }
        match kind {
            MessageKind::Text => self.conn.send_text_checked(data)?,
            MessageKind::Binary => self.conn.send_binary(data)?,
        }
        self.flush()
    }

    /// Writes a frame's header and payload from where they are; what the
    /// stream does not take (it would block) is queued, to go out first.
    fn write_direct(&mut self, header: &[u8], payload: &[u8]) -> Result<(), Error> {
        let total = header.len() + payload.len();
        let mut done = 0;
        while done < total {
            let written = if done < header.len() {
                let parts = [IoSlice::new(&header[done..]), IoSlice::new(payload)];
                self.stream.write_vectored(&parts)
            } else {
                self.stream.write(&payload[done - header.len()..])
            };
            match written {
                Ok(0) => {
                    self.driver.write_failed(&mut self.conn);
                    return Err(Error::Io(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_retry(&e) => {
                    let out = self.conn.output();
                    if done < header.len() {
                        out.push_bytes(&header[done..]);
                        out.push_bytes(payload);
                    } else {
                        out.push_bytes(&payload[done - header.len()..]);
                    }
                    return Err(e.into());
                }
                Err(e) => {
                    self.driver.write_failed(&mut self.conn);
                    return Err(e.into());
                }
            }
        }
        self.stream.flush()?;
        Ok(())
    }

    /// Sends one fragment of a message sent in several frames; see
    /// [`Connection::send_fragment`].
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// // A message produced piece by piece, sent as it is produced.
    /// ws.send_fragment(MessageKind::Text, b"hel", false)?;
    /// ws.send_fragment(MessageKind::Text, b"lo", true)?; // `fin`: the last piece
    /// assert_eq!(ws.read()?, "hello".into()); // the peer gets one message
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.conn.send_fragment(kind, data, fin)?;
        self.flush()
    }

    /// Sends a Ping (payload at most 125 bytes).
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.send_ping(b"t=1")?;
    /// assert_eq!(ws.read()?, Message::Pong(b"t=1".to_vec())); // the peer answered
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_ping(payload)?;
        self.flush()
    }

    /// Sends a Pong (payload at most 125 bytes).
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.send_pong(b"heartbeat")?; // unsolicited: a one-way heartbeat, not answered
    /// ws.send_text("still here")?;
    /// assert_eq!(ws.read()?, "still here".into());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.send_pong(payload)?;
        self.flush()
    }

    /// Sends a frame encoded once for many connections (server role; see
    /// [`Connection::send_shared`]): queued by reference, then written.
    pub fn send_shared(&mut self, frame: &crate::outgoing::SharedFrame) -> Result<(), Error> {
        self.conn.send_shared(frame)?;
        self.flush()
    }

    /// Queues any [`Message`] without writing it (unless more than the
    /// high-water mark, 128 KiB, is already queued: then the queue is written
    /// out first, so memory stays bounded). [`flush`](Self::flush) writes
    /// everything queued, in as few (vectored) writes as the stream takes;
    /// so does the next `send`, and the next read that has to wait for the
    /// peer. The way to send many messages in few system calls, as
    /// tungstenite's `write` + `flush`.
    ///
    /// ```
    /// use rfc6455::blocking::WebSocket;
    /// use rfc6455::{Config, Connection, Message};
    ///
    /// let mut ws = WebSocket::from_connection(Vec::<u8>::new().into_io(), Connection::server(Config::default()));
    /// # trait IntoIo { fn into_io(self) -> std::io::Cursor<Vec<u8>>; }
    /// # impl IntoIo for Vec<u8> { fn into_io(self) -> std::io::Cursor<Vec<u8>> { std::io::Cursor::new(self) } }
    /// for i in 0..3 {
    ///     ws.write(Message::Text(format!("line {i}")))?;
    /// }
    /// assert!(ws.get_ref().get_ref().is_empty()); // nothing written yet
    /// ws.flush()?;
    /// assert_eq!(ws.get_ref().get_ref().len(), 3 * 8);
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn write(&mut self, message: impl Borrow<Message>) -> Result<(), Error> {
        if !self.driver.has_room(&self.conn) {
            self.flush()?;
        }
        let epoch = self.epoch;
        self.driver
            .send(&mut self.conn, message.borrow(), || epoch.elapsed())?;
        Ok(())
    }

    /// Sends any [`Message`], owned or borrowed (`ws.send(msg)` as with
    /// tungstenite); a `Close` starts the closing handshake (see
    /// [`close`](Self::close) to also wait for its end).
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
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.send(Message::Binary(vec![1, 2, 3]))?;
    /// let echo = ws.read()?;
    /// ws.send(&echo)?; // borrowed works too
    /// assert_eq!(ws.read()?, echo);
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn send(&mut self, message: impl Borrow<Message>) -> Result<(), Error> {
        match message.borrow() {
            Message::Text(t) => self.send_text(t),
            Message::Binary(b) => self.send_binary(b),
            other => {
                let epoch = self.epoch;
                self.driver
                    .send(&mut self.conn, other, || epoch.elapsed())?;
                self.flush()
            }
        }
    }

    /// Closes gracefully (RFC 6455 §7.1.2): sends a Close frame (unless one
    /// was sent already), reads until the peer's Close arrives — discarding
    /// any messages still in flight — and shuts the stream down. A server
    /// closes the transport at once; a client waits for the server to do so
    /// (§7.1.1), up to [`Config::close_timeout`](crate::Config::close_timeout)
    /// where the read-timeout hook is available.
    ///
    /// ```
    /// use rfc6455::{CloseCode, State};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || -> Result<(), rfc6455::blocking::Error> {
    /// #     let mut ws = rfc6455::blocking::accept(listener.accept()?.0)?;
    /// #     while let Ok(msg) = ws.read() {
    /// #         if msg.is_data() { ws.send(&msg)?; }
    /// #     }
    /// #     Ok(())
    /// # });
    /// let (mut ws, _) = rfc6455::blocking::connect(&url)?;
    ///
    /// ws.close(CloseCode::NORMAL, "bye")?; // returns once the server closed too
    /// assert_eq!(ws.connection().state(), State::Closed);
    /// assert!(ws.read().unwrap_err().is_closed());
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let now = self.now();
        self.driver.close(&mut self.conn, Some(code), reason, now)?;
        self.flush()?;
        loop {
            match self.read_event() {
                Ok(_) => {}
                Err(Error::ConnectionClosed) => return Ok(()),
                Err(Error::Protocol(crate::Error::AbnormalClosure)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

impl WebSocket<TcpStream> {
    /// Wraps a `TcpStream` whose handshake is done, with keepalive and close
    /// timeouts served by the socket's read timeout.
    ///
    /// A server that reads the request head itself:
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use std::net::TcpListener;
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::blocking::{self, WebSocket};
    /// use rfc6455::handshake::{Accept, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
    /// #     let (mut ws, _) = blocking::connect(&url)?;
    /// #     ws.send_text("hi")?;
    /// #     Ok(ws.read()?)
    /// # });
    /// let (mut stream, _) = listener.accept()?;
    /// let config = ServerConfig::default();
    /// let mut handshake = ServerHandshake::new(config.limits);
    /// let mut buf = [0; 4096];
    /// let (request, used, n) = loop {
    ///     let n = stream.read(&mut buf)?;
    ///     assert!(n > 0, "the client hung up");
    ///     if let Some((request, used)) = handshake.feed(&buf[..n])? {
    ///         break (request, used, n);
    ///     }
    /// };
    /// let upgrade = ServerUpgrade::new(request, buf[used..n].to_vec(), &config);
    /// let (response, conn) = upgrade.answer(&Accept::new());
    /// stream.write_all(&response)?;
    ///
    /// let mut ws = WebSocket::from_tcp(stream, conn?);
    /// let msg = ws.read()?;
    /// ws.send(&msg)?;
    /// # assert_eq!(client.join().unwrap()?, msg);
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn from_tcp(stream: TcpStream, conn: Connection) -> Self {
        Self::with_hooks(stream, conn, Hooks::tcp())
    }
}
