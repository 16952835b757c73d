//! The decisions an adapter carries out: what to write, when to read, when
//! to wake, when to shut the transport down.
//!
//! A [`Connection`] knows the protocol; an adapter owns a transport and a
//! clock. Between them sits one loop, the same for every adapter (blocking,
//! blocking split, tokio, tokio split, the chat examples): this module is
//! that loop's logic, as code, so that adapters only execute its steps.
//!
//! # Reading: [`Driver::poll_read`]
//!
//! To get the next event, an adapter calls [`Driver::start_read`] once, then
//! [`Driver::poll_read`] until it returns [`ReadStep::Deliver`], doing what
//! each step says:
//!
//! | step | the adapter |
//! | --- | --- |
//! | [`Deliver`](ReadStep::Deliver) | returns [`Connection::event`]; first writes what is queued if `write_first` (the event caused a reply: a Pong, the Close echo, a keepalive Ping) |
//! | [`Write`](ReadStep::Write) | writes [`Connection::output`] (the read must wait for the peer, so everything queued goes out now, in one vectored write where it can) |
//! | [`WaitWritable`](ReadStep::WaitWritable) | waits until the transport takes bytes (the queue is over the high-water mark: reading pauses, pushing back on the peer), or until a shutdown that would have blocked can finish (an HTTP/2 stream's) |
//! | [`Shutdown`](ReadStep::Shutdown) | shuts the transport down, then calls [`Driver::shutdown_done`] |
//! | [`Closed`](ReadStep::Closed) | reports that the connection is over |
//! | [`Read`](ReadStep::Read) | reads into [`Connection::read_buf`], reports it with [`Driver::commit_read`]; wakes by `deadline` at the latest, to poll again |
//!
//! and on an error, writes what is queued (the Close frame the failure
//! queued) as far as the transport takes it, then reports the error.
//!
//! The order is fixed: a pending error first; an event ready in the
//! buffers; then queued bytes; then the shutdown; then timers that are due
//! (handled here, from `now`); then a read. So a peer's burst is decoded
//! without reading again, and what the application queued goes out exactly
//! when a read has to wait, so replies to frames that arrived together
//! leave in one write, and a lone message is never held back: a read that
//! waits writes it first.
//!
//! Write and read failures are reported with [`Driver::write_failed`] (the
//! peer's last frames, its Close with the reason it hung up, are still
//! read) and [`Driver::read_failed`].
//!
//! # Writing: [`Driver::poll_flush`]
//!
//! A send queues frames in the connection; to push them out, an adapter
//! loops on [`Driver::poll_flush`]: [`Write`](FlushStep::Write) the queue,
//! [`Flush`](FlushStep::Flush) the transport once after writing,
//! [`Shutdown`](FlushStep::Shutdown) it once the connection is over, until
//! [`Done`](FlushStep::Done). [`Driver::has_room`] says whether a send may
//! queue more without waiting (the queue is at or below the high-water
//! mark).
//!
//! # Example: a driver loop over two in-memory connections
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::driver::{Driver, FlushStep, ReadStep};
//! use rfc6455::{Config, Connection, Event};
//!
//! let mut client = Connection::client(Config::default());
//! let mut server = Connection::server(Config::default());
//! client.send_text("hello").unwrap();
//! let wire = client.take_output(); // the client's transport
//!
//! let mut driver = Driver::new();
//! let now = Duration::ZERO;
//! let mut input = &wire[..];
//! driver.start_read(&server);
//! loop {
//!     match driver.poll_read(&mut server, now, false).unwrap() {
//!         ReadStep::Deliver { .. } => break,
//!         ReadStep::Read { .. } => {
//!             let buf = server.read_buf();
//!             let n = buf.len().min(input.len());
//!             buf[..n].copy_from_slice(&input[..n]);
//!             input = &input[n..];
//!             driver.commit_read(&mut server, n, now);
//!         }
//!         step => panic!("nothing to write yet: {step:?}"),
//!     }
//! }
//! assert_eq!(server.event(), Some(Event::Text("hello")));
//! // Nothing queued: a flush has nothing to do.
//! assert_eq!(driver.poll_flush(&mut server), FlushStep::Done);
//! ```

use core::time::Duration;

/// The caller's clock, read only when the driver needs it (a timer is
/// armed, a Close is sent): a [`Duration`] already read, or a function
/// that reads it (`|| epoch.elapsed()`). Reading a clock costs tens of
/// nanoseconds, as much as decoding a small frame; with no timer armed a
/// burst of buffered events never reads it.
///
/// ```
/// use std::time::{Duration, Instant};
/// use rfc6455::driver::Clock;
/// let epoch = Instant::now();
/// let mut lazy = || epoch.elapsed();
/// assert!(lazy.now() < Duration::from_secs(60));
/// let mut fixed = Duration::from_secs(5);
/// assert_eq!(fixed.now(), Duration::from_secs(5));
/// ```
pub trait Clock {
    /// The time now, from the caller's epoch.
    fn now(&mut self) -> Duration;
}

impl Clock for Duration {
    fn now(&mut self) -> Duration {
        *self
    }
}

impl<F: FnMut() -> Duration> Clock for F {
    fn now(&mut self) -> Duration {
        self()
    }
}

use crate::close::CloseCode;
use crate::connection::{Connection, Message, State};
use crate::error::Error;

/// Default [`high water`](Driver::with_high_water) mark: 128 KiB.
///
/// ```
/// use rfc6455::driver::{Driver, DEFAULT_HIGH_WATER};
/// assert_eq!(Driver::new().high_water(), DEFAULT_HIGH_WATER);
/// assert_eq!(DEFAULT_HIGH_WATER, 128 << 10);
/// ```
pub const DEFAULT_HIGH_WATER: usize = 128 << 10;

/// What an adapter does next to get an event; see the [module docs](self).
///
/// Each step, carried out over a blocking stream: this is a whole (if
/// minimal) adapter's read.
///
/// ```
/// use std::io::{self, Read, Write};
/// use std::time::Instant;
/// use rfc6455::driver::{Driver, FlushStep, ReadStep};
/// use rfc6455::{Config, Connection, Event, Message};
///
/// type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
///
/// fn read(
///     stream: &mut (impl Read + Write),
///     conn: &mut Connection,
///     driver: &mut Driver,
///     epoch: Instant, // the adapter's clock
/// ) -> Result<Message> {
///     driver.start_read(conn);
///     loop {
///         let step = match driver.poll_read(conn, epoch.elapsed(), false) {
///             Ok(step) => step,
///             Err(e) => {
///                 let _ = flush(stream, conn, driver); // the Close the failure queued
///                 return Err(e.into());
///             }
///         };
///         match step {
///             ReadStep::Deliver { write_first } => {
///                 if write_first {
///                     flush(stream, conn, driver)?; // a Pong, the Close echo
///                 }
///                 return Ok(conn.event().expect("an event is ready").to_message());
///             }
///             ReadStep::Write | ReadStep::WaitWritable => flush(stream, conn, driver)?,
///             ReadStep::Shutdown => driver.shutdown_done(), // after shutting the stream down
///             ReadStep::Closed => return Err("the connection is closed".into()),
///             ReadStep::Read { deadline: _ } => {
///                 // (A real adapter also wakes up by `deadline`, for the timers.)
///                 let n = stream.read(conn.read_buf())?;
///                 driver.commit_read(conn, n, epoch.elapsed());
///             }
///         }
///     }
/// }
///
/// fn flush(stream: &mut impl Write, conn: &mut Connection, driver: &mut Driver) -> io::Result<()> {
///     loop {
///         match driver.poll_flush(conn) {
///             FlushStep::Write => {
///                 let n = stream.write(conn.output().front())?;
///                 conn.output().consume(n);
///             }
///             FlushStep::Flush => stream.flush()?,
///             FlushStep::Shutdown => driver.shutdown_done(), // after shutting the stream down
///             FlushStep::Done => return Ok(()),
///         }
///     }
/// }
///
/// // An in-memory stream: what the client sent, and what the server writes.
/// # struct Pipe { input: io::Cursor<Vec<u8>>, output: Vec<u8> }
/// # impl Read for Pipe { fn read(&mut self, b: &mut [u8]) -> io::Result<usize> { self.input.read(b) } }
/// # impl Write for Pipe {
/// #     fn write(&mut self, b: &[u8]) -> io::Result<usize> { self.output.write(b) }
/// #     fn flush(&mut self) -> io::Result<()> { Ok(()) }
/// # }
/// let mut client = Connection::client(Config::default());
/// client.send_text("hello")?;
/// client.send_ping(b"?")?;
/// let mut stream = Pipe { input: io::Cursor::new(client.take_output()), output: Vec::new() };
///
/// let (mut server, mut driver, epoch) = (Connection::server(Config::default()), Driver::new(), Instant::now());
/// assert_eq!(read(&mut stream, &mut server, &mut driver, epoch)?, Message::Text("hello".into()));
/// assert_eq!(read(&mut stream, &mut server, &mut driver, epoch)?, Message::Ping(b"?".to_vec()));
/// client.feed(&stream.output); // the Pong went out with its Ping
/// assert_eq!(client.next_event()?, Some(Event::Pong(b"?")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum ReadStep {
    /// An event is ready: [`Connection::event`]. When `write_first` is set
    /// the event caused automatic replies (or ended the connection): write
    /// what is queued now if the transport takes it (if it would block,
    /// deliver the event anyway; the bytes go out with the next call).
    Deliver {
        /// Write the queue before handing the event out.
        write_first: bool,
    },
    /// Write [`Connection::output`]: a read is about to wait for the peer.
    Write,
    /// The last write could not finish and the queue is over the high-water
    /// mark (or the connection is over): wait until the transport takes
    /// bytes, without reading.
    WaitWritable,
    /// Shut the transport down (the closing handshake is over), then call
    /// [`Driver::shutdown_done`].
    Shutdown,
    /// The connection is over: report it (further reads return this again).
    Closed,
    /// Read into [`Connection::read_buf`] and report with
    /// [`Driver::commit_read`]; if nothing arrives by `deadline` (in the
    /// caller's clock, the one passed as `now`), poll again then.
    Read {
        /// When to wake up and poll again, if nothing arrives.
        deadline: Option<Duration>,
    },
}

/// What an adapter does next to write what is queued; see the
/// [module docs](self).
///
/// ```
/// use rfc6455::driver::{Driver, FlushStep};
/// use rfc6455::{Config, Connection};
///
/// let mut conn = Connection::server(Config::default());
/// let mut driver = Driver::new();
/// conn.send_text("one")?;
/// conn.send_text("two")?;
///
/// let mut transport = Vec::new();
/// loop {
///     match driver.poll_flush(&mut conn) {
///         FlushStep::Write => {
///             let bytes = conn.output().front();
///             let n = bytes.len(); // a real transport may take less
///             transport.extend_from_slice(bytes);
///             conn.output().consume(n);
///         }
///         FlushStep::Flush => {} // flush the transport
///         FlushStep::Shutdown => driver.shutdown_done(), // shut it down, then report
///         FlushStep::Done => break,
///     }
/// }
/// assert_eq!(transport, b"\x81\x03one\x81\x03two");
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum FlushStep {
    /// Write [`Connection::output`] (as much as the transport takes, then
    /// `consume` it) and poll again.
    Write,
    /// Flush the transport (everything queued was written to it).
    Flush,
    /// Shut the transport down, then call [`Driver::shutdown_done`].
    Shutdown,
    /// Nothing more to do.
    Done,
}

/// The loop between a [`Connection`] and a transport, minus the I/O: see
/// the [module docs](self). One per connection, kept beside it.
///
/// A whole read carried out over a blocking stream is under [`ReadStep`],
/// a whole flush under [`FlushStep`]. Adapters keep one beside each
/// connection:
///
/// ```
/// use rfc6455::driver::Driver;
/// use rfc6455::{Config, Connection};
///
/// struct MyAdapter<S> {
///     stream: S,
///     conn: Connection,
///     driver: Driver,
/// }
/// let adapter = MyAdapter {
///     stream: std::io::Cursor::new(Vec::<u8>::new()),
///     conn: Connection::server(Config::default()),
///     driver: Driver::with_high_water(16 << 10),
/// };
/// assert!(adapter.driver.has_room(&adapter.conn));
/// # let _ = adapter.stream;
/// ```
#[derive(Debug, Clone)]
pub struct Driver {
    /// Bytes the application had queued when the current read began:
    /// anything beyond is a reply the connection queued itself.
    queued: usize,
    /// The connection had no event ready, and nothing that could change
    /// that (bytes in, a timer, a close, the connection lent out) has
    /// happened since: the next poll need not ask it again.
    settled: bool,
    /// Bytes written to the transport since it was last flushed.
    unflushed: bool,
    /// The transport was shut down (or can no longer be written to).
    shut_down: bool,
    high_water: usize,
}

impl Default for Driver {
    fn default() -> Self {
        Self::new()
    }
}

impl Driver {
    /// A driver with the [`DEFAULT_HIGH_WATER`] mark.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// let driver = Driver::new();
    /// assert_eq!(driver.high_water(), rfc6455::driver::DEFAULT_HIGH_WATER);
    /// assert!(!driver.is_shut_down());
    /// ```
    pub fn new() -> Self {
        Self::with_high_water(DEFAULT_HIGH_WATER)
    }

    /// A driver whose sends wait, and whose reads pause, while more than
    /// `high_water` bytes are queued and the transport does not take them.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// let driver = Driver::with_high_water(1024);
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_binary(&[0; 2000])?;
    /// assert!(!driver.has_room(&conn)); // a send waits until the transport takes some
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn with_high_water(high_water: usize) -> Self {
        Driver {
            queued: 0,
            settled: false,
            unflushed: false,
            shut_down: false,
            high_water,
        }
    }

    /// The high-water mark.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// assert_eq!(Driver::with_high_water(4096).high_water(), 4096);
    /// ```
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Sets the high-water mark.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// let mut driver = Driver::new();
    /// driver.set_high_water(1 << 20);
    /// assert_eq!(driver.high_water(), 1 << 20);
    /// ```
    pub fn set_high_water(&mut self, bytes: usize) {
        self.high_water = bytes;
    }

    /// Whether a send may queue more without waiting: at most the
    /// high-water mark is queued.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// let driver = Driver::with_high_water(100);
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_binary(&[0; 98])?; // 100 bytes with the header
    /// assert!(driver.has_room(&conn)); // at the mark: room
    /// conn.send_binary(&[0])?;
    /// assert!(!driver.has_room(&conn)); // past it: wait
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn has_room(&self, conn: &Connection) -> bool {
        conn.output_len() <= self.high_water
    }

    /// Whether the transport was shut down (or found unwritable).
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// let mut driver = Driver::new();
    /// let mut conn = Connection::server(Config::default());
    /// driver.write_failed(&mut conn); // e.g. a broken pipe
    /// assert!(driver.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shut_down
    }

    /// Begins a read (and after bytes were fed to the connection other than
    /// through [`commit_read`](Self::commit_read) or [`feed`](Self::feed)):
    /// what is queued now is the application's, and waits
    /// until the read has to wait for the peer; what the connection queues
    /// while this read goes on (a Pong, the Close echo, a keepalive Ping)
    /// is a reply, written with the event that caused it.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::driver::ReadStep;
    ///
    /// let mut conn = Connection::server(Config::default());
    /// let mut driver = Driver::new();
    /// conn.send_text("queued by the application")?;
    /// driver.start_read(&conn);
    /// // Nothing to deliver: the read must wait, so what is queued goes first.
    /// assert_eq!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Write);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn start_read(&mut self, conn: &Connection) {
        self.queued = conn.output_len();
    }

    /// Reports that the connection was driven outside this driver (bytes
    /// fed, timers handled, events taken by hand), so the next
    /// [`poll_read`](Self::poll_read) asks it for an event again instead of
    /// trusting that none can have arrived since the last one came back
    /// empty. The adapters call it whenever they lend the connection out
    /// (`connection_mut`).
    ///
    /// ```
    /// use rfc6455::driver::{Driver, ReadStep};
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    ///
    /// let mut conn = Connection::server(Config::default());
    /// let mut driver = Driver::new();
    /// driver.start_read(&conn);
    /// assert!(matches!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Read { .. }));
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("behind the driver's back")?;
    /// conn.feed(&client.take_output()); // not through driver.feed
    /// driver.connection_changed();
    /// assert!(matches!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Deliver { .. }));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn connection_changed(&mut self) {
        self.settled = false;
    }

    /// The next step towards an event, given the caller's clock `now` and
    /// whether the last [`ReadStep::Write`] could not finish
    /// (`write_blocked`: the transport would block). Timers that are due are
    /// handled here. Errors are the connection's (see
    /// [`Connection::next_event`]): write what is queued as far as the
    /// transport takes it (the Close frame the failure queued), then report
    /// the error.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::driver::ReadStep;
    /// use rfc6455::Event;
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.send_ping(b"?")?;
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    ///
    /// driver.start_read(&conn);
    /// let step = driver.poll_read(&mut conn, Duration::ZERO, false)?;
    /// assert!(matches!(step, ReadStep::Read { deadline: None })); // no timers set
    /// driver.feed(&mut conn, &client.take_output(), Duration::ZERO);
    /// let step = driver.poll_read(&mut conn, Duration::ZERO, false)?;
    /// assert_eq!(step, ReadStep::Deliver { write_first: true }); // the Pong is queued
    /// assert_eq!(conn.event(), Some(Event::Ping(b"?")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn poll_read(
        &mut self,
        conn: &mut Connection,
        mut now: impl Clock,
        write_blocked: bool,
    ) -> Result<ReadStep, Error> {
        loop {
            if !self.settled {
                if conn.prepare_event()? {
                    let write_first =
                        conn.output_len() > self.queued || conn.state() != State::Open;
                    return Ok(ReadStep::Deliver { write_first });
                }
                self.settled = true;
            }
            // Written bytes are no longer the application's backlog.
            self.queued = self.queued.min(conn.output_len());
            if conn.has_output() && !self.shut_down {
                if !write_blocked {
                    return Ok(ReadStep::Write);
                }
                if conn.output_len() > self.high_water || conn.state() == State::Closed {
                    return Ok(ReadStep::WaitWritable);
                }
            }
            if conn.should_close_transport() {
                if !self.shut_down {
                    // A shutdown the transport could not finish (an HTTP/2
                    // stream waits for its peer) is waited for, not retried.
                    if write_blocked {
                        return Ok(ReadStep::WaitWritable);
                    }
                    return Ok(ReadStep::Shutdown);
                }
                return Ok(ReadStep::Closed);
            }
            let deadline = conn.poll_timeout();
            // The clock is read only with a timer armed.
            if let Some(d) = deadline {
                let t = now.now();
                if t >= d {
                    conn.handle_timeout(t);
                    self.settled = false;
                    continue;
                }
            }
            return Ok(ReadStep::Read { deadline });
        }
    }

    /// Reports a read of `n` bytes into [`Connection::read_buf`] (0: the
    /// transport's end of stream), then brings the connection's clock to
    /// `now` before the bytes are decoded (frames are stamped with it).
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use rfc6455::Event;
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("hi")?;
    /// let mut transport = std::io::Cursor::new(client.take_output());
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// let n = transport.read(conn.read_buf()).unwrap(); // straight into the connection
    /// driver.commit_read(&mut conn, n, Duration::ZERO);
    /// assert_eq!(conn.next_event()?, Some(Event::Text("hi")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn commit_read(&mut self, conn: &mut Connection, n: usize, now: Duration) {
        self.settled = false;
        if n == 0 {
            conn.feed_eof();
        } else {
            conn.commit_read(n);
        }
        conn.handle_timeout(now);
    }

    /// Reports that reading failed: the transport is gone both ways
    /// ([`Connection::abort`]).
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::driver::ReadStep;
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// driver.read_failed(&mut conn); // e.g. a connection reset
    /// assert_eq!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Closed);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn read_failed(&mut self, conn: &mut Connection) {
        conn.abort();
        self.shut_down = true;
    }

    /// Reports that writing failed: nothing more can be sent, but what the
    /// peer already sent (its Close, with the reason it hung up) is still
    /// read and delivered ([`Connection::write_failed`]).
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::driver::ReadStep;
    /// use rfc6455::{CloseCode, Event};
    ///
    /// let (mut conn, mut driver) = (Connection::client(Config::default()), Driver::new());
    /// conn.send_binary(&[0; 10])?;
    /// driver.write_failed(&mut conn); // the server hung up; what did it say?
    /// driver.feed(&mut conn, b"\x88\x02\x03\xf1", Duration::ZERO); // its Close: 1009
    /// driver.start_read(&conn);
    /// assert!(matches!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Deliver { .. }));
    /// assert!(matches!(conn.event(), Some(Event::Close(c)) if c.code == Some(CloseCode::MESSAGE_TOO_BIG)));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn write_failed(&mut self, conn: &mut Connection) {
        conn.write_failed();
        self.shut_down = true;
    }

    /// Reports that the transport was shut down (after
    /// [`ReadStep::Shutdown`] or [`FlushStep::Shutdown`], whether or not the
    /// shutdown itself succeeded: the peer may be gone already).
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::driver::ReadStep;
    /// use rfc6455::CloseCode;
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.close(CloseCode::NORMAL, "")?;
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// driver.feed(&mut conn, &client.take_output(), Duration::ZERO);
    /// driver.start_read(&conn);
    /// let _close = driver.poll_read(&mut conn, Duration::ZERO, false)?; // the Close, echoed
    /// let _ = conn.take_output(); // (written)
    /// assert_eq!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Shutdown);
    /// driver.shutdown_done(); // the server closed TCP first (RFC 6455 §7.1.1)
    /// assert_eq!(driver.poll_read(&mut conn, Duration::ZERO, false)?, ReadStep::Closed);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn shutdown_done(&mut self) {
        self.shut_down = true;
    }

    /// Reports `bytes` read into a buffer of the adapter's own (rather than
    /// into [`Connection::read_buf`]; empty: end of stream), as
    /// [`commit_read`](Self::commit_read) does.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::Event;
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("hi")?;
    /// let my_buffer = client.take_output(); // read by the adapter, into its own buffer
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// driver.feed(&mut conn, &my_buffer, Duration::ZERO);
    /// assert_eq!(conn.next_event()?, Some(Event::Text("hi")));
    /// driver.feed(&mut conn, &[], Duration::ZERO); // end of stream
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn feed(&mut self, conn: &mut Connection, bytes: &[u8], now: Duration) {
        self.settled = false;
        if bytes.is_empty() {
            conn.feed_eof();
        } else {
            conn.feed(bytes);
        }
        conn.handle_timeout(now);
    }

    /// Queues any [`Message`]: data, Ping and Pong frames as the
    /// connection's `send_*` methods do; a `Close` as [`close`](Self::close).
    /// The one place where every adapter's `send(&Message)` (and `Sink`)
    /// turns a message into frames.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::{Message, State};
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// driver.send(&mut conn, &Message::Text("hi".into()), Duration::ZERO)?;
    /// driver.send(&mut conn, &Message::Close(None), Duration::ZERO)?; // starts closing
    /// assert_eq!(conn.take_output(), b"\x81\x02hi\x88\x00");
    /// assert_eq!(conn.state(), State::Closing);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send(
        &mut self,
        conn: &mut Connection,
        message: &Message,
        mut now: impl Clock,
    ) -> Result<(), Error> {
        match message {
            Message::Text(t) => conn.send_text(t),
            Message::Binary(b) => conn.send_binary(b),
            Message::Ping(p) => conn.send_ping(p),
            Message::Pong(p) => conn.send_pong(p),
            Message::Fragment { kind, data, fin } => conn.send_fragment(*kind, data, *fin),
            Message::Close(Some(f)) => self.close(conn, f.code, &f.reason, now.now()),
            Message::Close(None) => self.close(conn, None, "", now.now()),
        }
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2): checks the frame with
    /// [`check_outgoing`](crate::close::check_outgoing) whatever the state
    /// (1005, 1006, 1015 never go out), then, if the connection is still
    /// open, brings its clock to `now` (so the close timeout counts from
    /// here) and queues the Close. A connection already closing is left
    /// alone: closing twice is not an error.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use std::time::Duration;
    /// use rfc6455::{CloseCode, Error, State};
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// let now = Duration::from_secs(5);
    /// assert_eq!(driver.close(&mut conn, Some(CloseCode::ABNORMAL), "", now), Err(Error::InvalidSendCode(1006)));
    /// driver.close(&mut conn, Some(CloseCode::GOING_AWAY), "restarting", now)?;
    /// driver.close(&mut conn, Some(CloseCode::NORMAL), "", now)?; // already closing: no-op
    /// assert_eq!(conn.state(), State::Closing);
    /// // The close timeout counts from `now`.
    /// assert_eq!(conn.poll_timeout(), Some(now + Config::default().close_timeout));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn close(
        &mut self,
        conn: &mut Connection,
        code: Option<CloseCode>,
        reason: &str,
        now: Duration,
    ) -> Result<(), Error> {
        crate::close::check_outgoing(code, reason)?;
        if conn.state() == State::Open {
            conn.handle_timeout(now);
            self.settled = false;
            conn.close_with(code, reason)?;
        }
        Ok(())
    }

    /// Reports bytes written to the transport from outside the connection's
    /// queue (a frame written straight from the caller's buffer, see
    /// [`Connection::send_direct`]): the transport is flushed at the next
    /// [`poll_flush`](Self::poll_flush), as after any write.
    ///
    /// ```
    /// use rfc6455::driver::{Driver, FlushStep};
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let mut conn = Connection::server(Config::default());
    /// let mut driver = Driver::new();
    /// let payload = vec![0u8; 70_000];
    /// let header = conn.send_direct(MessageKind::Binary, &payload)?.unwrap();
    /// // ... header and payload written to the transport by the caller ...
    /// # let _ = header;
    /// driver.wrote_directly();
    /// assert_eq!(driver.poll_flush(&mut conn), FlushStep::Flush);
    /// assert_eq!(driver.poll_flush(&mut conn), FlushStep::Done);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn wrote_directly(&mut self) {
        self.unflushed = true;
    }

    /// The next step towards having written everything queued.
    ///
    /// ```
    /// use rfc6455::driver::Driver;
    /// use rfc6455::{Config, Connection};
    /// use rfc6455::driver::FlushStep;
    ///
    /// let (mut conn, mut driver) = (Connection::server(Config::default()), Driver::new());
    /// conn.send_text("hi")?;
    /// assert_eq!(driver.poll_flush(&mut conn), FlushStep::Write);
    /// let _ = conn.take_output(); // written
    /// assert_eq!(driver.poll_flush(&mut conn), FlushStep::Flush); // once, after writing
    /// assert_eq!(driver.poll_flush(&mut conn), FlushStep::Done);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn poll_flush(&mut self, conn: &mut Connection) -> FlushStep {
        if conn.has_output() && !self.shut_down {
            self.unflushed = true;
            return FlushStep::Write;
        }
        if self.unflushed {
            self.unflushed = false;
            // The queue's buffer is kept while traffic lasts (like the
            // receive buffer): giving a 1 MiB buffer back after every large
            // message made the next one allocate and zero it again. The idle
            // timer gives it back, and so does the connection being over.
            if conn.state() == State::Closed {
                conn.release_output_buffer();
            }
            return FlushStep::Flush;
        }
        if conn.should_close_transport() && !self.shut_down {
            return FlushStep::Shutdown;
        }
        FlushStep::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::CloseCode;
    use crate::config::Config;
    use crate::connection::Event;
    use alloc::vec::Vec;

    /// A server connection, its driver, the bytes still to arrive (in
    /// reads of at most `piece` bytes) and what it wrote.
    struct Harness {
        d: Driver,
        server: Connection,
        input: Vec<u8>,
        piece: usize,
        out: Vec<u8>,
    }

    impl Harness {
        fn new(input: Vec<u8>, piece: usize) -> Harness {
            Harness {
                d: Driver::new(),
                server: Connection::server(Config::default()),
                input,
                piece,
                out: Vec::new(),
            }
        }

        /// Drives the server until it delivers (or must wait for input
        /// that is not there); returns the steps seen.
        fn drive(&mut self) -> Vec<ReadStep> {
            let Harness {
                d,
                server,
                input,
                piece,
                out,
            } = self;
            let now = Duration::ZERO;
            let mut steps = Vec::new();
            d.start_read(server);
            loop {
                let step = d.poll_read(server, now, false).unwrap();
                steps.push(step);
                match step {
                    ReadStep::Deliver { write_first } => {
                        if write_first {
                            out.extend(server.take_output());
                        }
                        return steps;
                    }
                    ReadStep::Write => out.extend(server.take_output()),
                    ReadStep::Read { .. } if input.is_empty() => return steps,
                    ReadStep::Read { .. } => {
                        let buf = server.read_buf();
                        let n = buf.len().min(input.len()).min(*piece);
                        buf[..n].copy_from_slice(&input[..n]);
                        input.drain(..n);
                        d.commit_read(server, n, now);
                    }
                    ReadStep::Shutdown => d.shutdown_done(),
                    ReadStep::Closed | ReadStep::WaitWritable => return steps,
                }
            }
        }
    }

    fn client_bytes(f: impl FnOnce(&mut Connection)) -> Vec<u8> {
        let mut c = Connection::client(Config::default());
        f(&mut c);
        c.take_output()
    }

    #[test]
    fn a_burst_is_decoded_without_reading_again() {
        let wire_in = client_bytes(|c| {
            for i in 0..3u8 {
                c.send_binary(&[i]).unwrap();
            }
        });
        let mut h = Harness::new(wire_in, 1 << 20);
        let steps = h.drive();
        assert_eq!(steps.len(), 2, "{steps:?}"); // one read, then the event
        for i in 1..3u8 {
            assert_eq!(h.drive(), [ReadStep::Deliver { write_first: false }]);
            assert_eq!(h.server.event(), Some(Event::Binary(&[i])));
        }
    }

    #[test]
    fn application_output_waits_for_a_read_that_must_wait() {
        let wire_in = client_bytes(|c| {
            c.send_text("a").unwrap();
            c.send_text("b").unwrap();
        });
        let mut h = Harness::new(wire_in, 1 << 20);
        let _ = h.drive();
        h.server.echo_event().unwrap();
        // The second message is buffered: delivered with no write between.
        assert_eq!(h.drive(), [ReadStep::Deliver { write_first: false }]);
        h.server.echo_event().unwrap();
        assert!(h.out.is_empty());
        // The next read has to wait: both echoes go out in one write first.
        let steps = h.drive();
        assert_eq!(steps[0], ReadStep::Write);
        assert!(matches!(steps[1], ReadStep::Read { .. }));
        assert_eq!(h.out, [0x81, 0x01, b'a', 0x81, 0x01, b'b']);
    }

    #[test]
    fn replies_are_written_with_the_event_that_caused_them() {
        let wire_in = client_bytes(|c| {
            c.send_ping(b"p").unwrap();
        });
        let mut h = Harness::new(wire_in, 1 << 20);
        h.server.send_text("queued by the app").unwrap();
        let steps = h.drive();
        // The app's text went out when the read had to wait; the Pong with
        // its Ping.
        assert_eq!(steps[0], ReadStep::Write);
        assert_eq!(
            *steps.last().unwrap(),
            ReadStep::Deliver { write_first: true }
        );
        assert_eq!(h.server.event(), Some(Event::Ping(b"p")));
    }

    #[test]
    fn a_blocked_write_below_the_mark_keeps_reading_above_it_waits() {
        let mut server = Connection::server(Config::default());
        server.send_binary(&[0; 100]).unwrap();
        let mut d = Driver::with_high_water(1000);
        d.start_read(&server);
        let step = d.poll_read(&mut server, Duration::ZERO, true).unwrap();
        assert!(matches!(step, ReadStep::Read { .. }), "{step:?}");
        let mut d = Driver::with_high_water(10);
        let step = d.poll_read(&mut server, Duration::ZERO, true).unwrap();
        assert_eq!(step, ReadStep::WaitWritable);
        assert!(!d.has_room(&server));
    }

    #[test]
    fn due_timers_are_handled_and_the_next_deadline_reported() {
        let config = Config {
            ping_interval: Some(Duration::from_secs(5)),
            ..Config::default()
        };
        let mut server = Connection::server(config);
        server.handle_timeout(Duration::ZERO);
        let mut d = Driver::new();
        d.start_read(&server);
        let step = d
            .poll_read(&mut server, Duration::from_secs(1), false)
            .unwrap();
        assert_eq!(
            step,
            ReadStep::Read {
                deadline: Some(Duration::from_secs(5))
            }
        );
        // At the deadline a keepalive Ping is queued, and written before
        // the read waits again.
        let step = d
            .poll_read(&mut server, Duration::from_secs(5), false)
            .unwrap();
        assert_eq!(step, ReadStep::Write);
        assert_eq!(server.take_output()[0], 0x89);
    }

    #[test]
    fn the_closing_handshake_ends_in_shutdown_then_closed() {
        let wire_in = client_bytes(|c| c.close(CloseCode::NORMAL, "bye").unwrap());
        let mut h = Harness::new(wire_in, 3);
        let steps = h.drive();
        // The Close echo is written with the Close event.
        assert_eq!(
            *steps.last().unwrap(),
            ReadStep::Deliver { write_first: true }
        );
        assert!(matches!(h.server.event(), Some(Event::Close(_))));
        assert_eq!(&h.out[..2], &[0x88, 0x05]);
        // Then the server closes TCP (RFC 6455 §7.1.1), and stays closed.
        assert_eq!(h.drive(), [ReadStep::Shutdown, ReadStep::Closed]);
        assert_eq!(h.drive(), [ReadStep::Closed]);
    }

    #[test]
    fn a_shutdown_that_would_block_is_waited_for_not_retried() {
        let wire_in = client_bytes(|c| c.close(CloseCode::NORMAL, "bye").unwrap());
        let mut h = Harness::new(wire_in, 3);
        h.drive(); // the Close, its echo written
        let (d, server) = (&mut h.d, &mut h.server);
        assert_eq!(
            d.poll_read(server, Duration::ZERO, false).unwrap(),
            ReadStep::Shutdown
        );
        // The transport's shutdown is pending (an HTTP/2 stream waiting for
        // its peer): the adapter waits to be woken instead of spinning.
        assert_eq!(
            d.poll_read(server, Duration::ZERO, true).unwrap(),
            ReadStep::WaitWritable
        );
        d.shutdown_done();
        assert_eq!(
            d.poll_read(server, Duration::ZERO, true).unwrap(),
            ReadStep::Closed
        );
    }

    #[test]
    fn errors_come_first_with_their_close_frame_queued() {
        let mut server = Connection::server(Config::default());
        // An unmasked frame from a client: 1002 (RFC 6455 §5.1).
        let mut d = Driver::new();
        d.start_read(&server);
        let _ = d.poll_read(&mut server, Duration::ZERO, false).unwrap();
        let buf = server.read_buf();
        buf[..3].copy_from_slice(&[0x81, 0x01, b'x']);
        d.commit_read(&mut server, 3, Duration::ZERO);
        assert_eq!(
            d.poll_read(&mut server, Duration::ZERO, false),
            Err(Error::UnmaskedFrame)
        );
        assert_eq!(d.poll_flush(&mut server), FlushStep::Write);
        assert_eq!(server.take_output(), [0x88, 0x02, 0x03, 0xea]);
        assert_eq!(d.poll_flush(&mut server), FlushStep::Flush);
        assert_eq!(d.poll_flush(&mut server), FlushStep::Shutdown);
        d.shutdown_done();
        assert_eq!(d.poll_flush(&mut server), FlushStep::Done);
    }

    #[test]
    fn a_failed_write_still_delivers_the_peer_close() {
        let mut client = Connection::client(Config::default());
        client.send_binary(&[0; 10]).unwrap();
        let mut d = Driver::new();
        d.start_read(&client);
        assert_eq!(
            d.poll_read(&mut client, Duration::ZERO, false),
            Ok(ReadStep::Write)
        );
        d.write_failed(&mut client);
        let step = d.poll_read(&mut client, Duration::ZERO, false).unwrap();
        assert!(matches!(step, ReadStep::Read { .. }), "{step:?}");
        let buf = client.read_buf();
        buf[..4].copy_from_slice(&[0x88, 0x02, 0x03, 0xf1]);
        d.commit_read(&mut client, 4, Duration::ZERO);
        assert_eq!(
            d.poll_read(&mut client, Duration::ZERO, false),
            Ok(ReadStep::Deliver { write_first: true })
        );
        assert!(
            matches!(client.event(), Some(Event::Close(c)) if c.code == Some(CloseCode::MESSAGE_TOO_BIG))
        );
        // Nothing to write, no shutdown to send: over.
        assert_eq!(
            d.poll_read(&mut client, Duration::ZERO, false),
            Ok(ReadStep::Closed)
        );
        assert_eq!(d.poll_flush(&mut client), FlushStep::Done);
    }

    #[test]
    fn end_of_stream_mid_message_is_an_abnormal_closure() {
        let mut server = Connection::server(Config::default());
        let mut d = Driver::new();
        d.start_read(&server);
        let _ = d.poll_read(&mut server, Duration::ZERO, false).unwrap();
        d.commit_read(&mut server, 0, Duration::ZERO);
        assert_eq!(
            d.poll_read(&mut server, Duration::ZERO, false),
            Err(Error::AbnormalClosure)
        );
    }
}
