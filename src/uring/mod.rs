//! A server loop on io_uring (feature `uring`, Linux 5.19+).
//!
//! One thread, one ring, its connections: [`Server`] accepts TCP
//! connections, reads their opening handshakes, and then carries out the
//! [`Driver`]'s steps for each connection (the same driver as the blocking
//! and tokio adapters: this module adds no protocol logic; it only decides
//! how the reads and writes the driver asks for reach the kernel). The
//! application is a [`Handler`]: it is called with each event and may queue
//! frames on any connection ([`Conns`]), so a broadcast is a loop of
//! `send_shared` calls followed by one submission of all the sends.
//!
//! One loop per core: [`Server::run_threads`] runs several loops, each on
//! its own thread with its own ring and listener on the same address
//! (`SO_REUSEPORT`: the kernel spreads new connections over them; a
//! connection stays on its loop). Loops that share state (a chat room)
//! wake each other with a [`Waker`] ([`Handler::woken`]), which also lets
//! any thread hand work to a loop; [`Server::another_loop`] builds the
//! loops for an application that spawns them itself.
//!
//! # How the I/O is done
//!
//! - Every operation of one loop turn (receives, sends, accepts, buffers
//!   given back) is queued in the submission ring and submitted with the
//!   wait for the next completions: one `io_uring_enter` per turn, however
//!   many connections were served in it. An echo server under load makes
//!   about one system call per several messages; a chat line to 10,000
//!   clients is 10,000 sends in a handful of calls (the submission queue
//!   holds [`RingConfig::entries`]).
//! - Receives take a buffer from a pool shared by all connections
//!   (`IORING_OP_PROVIDE_BUFFERS`, `IOSQE_BUFFER_SELECT`): the bytes are fed
//!   to the connection ([`Driver::feed`]) and the buffer goes back to the
//!   pool at once, so an idle connection holds no receive buffer.
//! - A receive is queued only when the driver says
//!   [`ReadStep::Read`] (single-shot, not multishot): a connection whose
//!   queue is over the high-water mark stops reading, exactly as on the
//!   other adapters.
//! - Sends copy what is queued (up to 256 KiB) into a buffer the ring owns
//!   until the send completes; the queue is consumed by what the kernel
//!   took. One send per connection is in flight at a time.
//! - Timers (keepalive, close timeout, handshake timeout) are the
//!   driver's deadlines, kept in one heap; the wait for completions ends
//!   at the earliest.
//!
//! All `unsafe` code (handing buffers to the kernel) is in one small
//! module, `sys`, with a `// SAFETY:` comment on each block.
//!
//! # Why the `io-uring` crate and not a runtime
//!
//! Two bases were measured on this crate's echo workload, with the same
//! driver and settings: this loop, and compio 0.19 (one task per
//! connection on its io_uring runtime, reads into an owned 16 KiB buffer
//! per connection; `bench/uring_candidates/`). `load` with 16 connections,
//! 64-byte messages, one in flight each, 8 s per server, servers taking
//! turns, on the shared 2-core machine with the generator on the same
//! cores (commands and all figures in the README section "io_uring"):
//!
//! | | this loop | compio |
//! | --- | --- | --- |
//! | server CPU per message (two rounds) | 11.0 / 10.9 µs | 9.4 / 7.7 µs |
//! | idle memory per connection, 10,000 echo connections | 2.2 KiB | 7.3 KiB |
//!
//! compio spent 0.70-0.86× this loop's CPU per message at 16 connections:
//! a receive into the connection's own buffer costs less than one that
//! picks a provided buffer and gives it back (one more submission per
//! message), and this loop copies the queue into the send buffer. But a
//! runtime's pending read owns a buffer for as long as it waits, so every
//! idle connection holds one (3.3× the memory per connection here), and
//! the issue's memory target (no more per idle connection than the epoll
//! path, 2.6 KiB in the same series of runs) rules that out; a shared pool of provided
//! buffers needs this loop's control over when receives are queued. The
//! loop is small because the driver's steps map directly onto
//! submissions; the price is `sys`'s `unsafe` blocks. Ring-mapped provided
//! buffers (`IORING_REGISTER_PBUF_RING`, no submission to give a buffer
//! back) were tried and measured no different from the pool given back by
//! submissions (four alternating pairs), so they were not kept; vectored
//! sends straight from the shared frames are left.
//!
//! # When io_uring is unavailable
//!
//! [`Server::bind`] fails with [`Error::Unavailable`] naming the reason
//! ([`Unavailable`]): an old kernel (no `io_uring_setup`), io_uring
//! refused (`kernel.io_uring_disabled`, a container's seccomp filter), a
//! missing feature, or the environment variable [`DISABLE_ENV`] set (to
//! test the fallback, or to turn io_uring off without rebuilding). The
//! examples fall back to the tokio adapter then. [`probe`] checks without
//! binding.
//!
//! # Example
//!
//! An echo server:
//!
//! ```no_run
//! use rfc6455::adapter::ServerConfig;
//! use rfc6455::uring::{ConnId, Conns, Handler, Server};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
//!         // Queued only: written when the connection's next read waits.
//!         if let Some(conn) = conns.connection_mut(id) {
//!             let _ = conn.echo_event();
//!         }
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:9002", ServerConfig::default())?;
//! server.run(&mut Echo)?;
//! # Ok::<(), rfc6455::uring::Error>(())
//! ```

mod sys;

use std::boxed::Box;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::string::String;
use std::time::{Duration, Instant};
use std::vec::Vec;

use crate::adapter::ServerConfig;
use crate::close::CloseCode;
use crate::connection::{Connection, Message};
use crate::driver::{Driver, ReadStep};
use crate::handshake::{Accept, HandshakeError, Request, ServerHandshake};
use crate::upgrade::ServerUpgrade;

use sys::{Completion, Ring};

/// Set (to anything) in the environment, this makes [`Server::bind`] and
/// [`probe`] fail with [`Unavailable::Disabled`]: to test a program's
/// fallback, or to turn io_uring off without rebuilding.
pub const DISABLE_ENV: &str = "RFC6455_NO_URING";

/// Why io_uring cannot be used here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The environment variable [`DISABLE_ENV`] is set.
    #[error("disabled by the environment variable {DISABLE_ENV}")]
    Disabled,
    /// The kernel has no `io_uring_setup` (Linux before 5.1, or built
    /// without it).
    #[error("the kernel has no io_uring (io_uring_setup: ENOSYS)")]
    NoSyscall,
    /// The kernel refuses io_uring to this process: the sysctl
    /// `kernel.io_uring_disabled` (2, or 1 without the allowed group), or a
    /// seccomp filter (Docker's default profile, for one).
    #[error("the kernel refuses io_uring to this process (kernel.io_uring_disabled, or a seccomp filter): {0}")]
    NotPermitted(#[source] io::Error),
    /// The kernel lacks an operation or feature the loop uses (Linux 5.19
    /// has them all).
    #[error("the kernel lacks {0}")]
    MissingFeature(&'static str),
    /// Setting the ring up failed otherwise (out of locked memory, for one).
    #[error("setting up the ring failed: {0}")]
    Setup(#[source] io::Error),
}

/// What can stop a [`Server`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// io_uring cannot be used here; see [`Unavailable`].
    #[error("io_uring is unavailable: {0}")]
    Unavailable(#[from] Unavailable),
    /// Binding the listener, or submitting to the ring, failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Checks that io_uring can be used here (a small ring is set up and
/// dropped).
///
/// ```
/// match rfc6455::uring::probe() {
///     Ok(()) => println!("io_uring is available"),
///     Err(why) => println!("no io_uring: {why}"),
/// }
/// ```
pub fn probe() -> Result<(), Unavailable> {
    if std::env::var_os(DISABLE_ENV).is_some() {
        return Err(Unavailable::Disabled);
    }
    Ring::new(8, 1, 64, false).map(drop)
}

/// The ring's sizes.
///
/// ```
/// use rfc6455::uring::RingConfig;
/// let ring = RingConfig::default();
/// assert_eq!((ring.entries, ring.buffers, ring.buffer_size), (4096, 256, 16 << 10));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RingConfig {
    /// Submission queue entries (the completion queue has four times as
    /// many). Default 4096.
    pub entries: u32,
    /// Receive buffers in the shared pool. Default 256.
    pub buffers: u16,
    /// Bytes per receive buffer: the most one receive takes. Default 16 KiB.
    pub buffer_size: usize,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            entries: 4096,
            buffers: 256,
            buffer_size: 16 << 10,
        }
    }
}

/// A connection of a [`Server`]: stays valid (and unique) until the
/// connection is closed; a stale id finds nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    index: u32,
    gen: u32,
}

/// How to answer a request ([`Handler::request`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Answer {
    /// Take the opening step (RFC 6455 §4.2.2) with no subprotocol; a
    /// request that is not a valid upgrade is refused with its error
    /// response (400, 426).
    Accept,
    /// Take the opening step with this subprotocol (one the client offered).
    AcceptProtocol(String),
    /// Write this HTTP response (see
    /// [`handshake::http_response`](crate::handshake::http_response)), then
    /// close.
    Respond(Vec<u8>),
}

/// The application: called by [`Server::run`] on the loop's thread.
pub trait Handler {
    /// A request head arrived: how to answer it. Default: [`Answer::Accept`].
    fn request(&mut self, id: ConnId, request: &Request) -> Answer {
        let _ = (id, request);
        Answer::Accept
    }

    /// The connection `id` is open (the 101 response is queued).
    fn open(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        let _ = (conns, id);
    }

    /// An event is ready on `id`: `conns.connection(id)` has it
    /// ([`Connection::event`]) until this returns. Pings were answered and
    /// a Close echoed by the connection itself.
    fn event(&mut self, conns: &mut Conns<'_>, id: ConnId);

    /// A send on `id` completed and its queue is at or below the
    /// high-water mark: room to queue more.
    fn writable(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        let _ = (conns, id);
    }

    /// A [`Waker`] of this loop was used since the last turn (called
    /// before [`turn`](Self::turn)): work handed over by another thread
    /// (a line said on another loop of a chat, a message from a queue) is
    /// there to be picked up. Wakes that come close together are
    /// reported once.
    fn woken(&mut self, conns: &mut Conns<'_>) {
        let _ = conns;
    }

    /// Called once per loop turn, after the turn's completions and timers
    /// were handled and before what they queued is submitted: the place to
    /// do once what many events of the turn asked for (a chat moves the
    /// turn's new lines to every client here, so one submission carries
    /// them all).
    fn turn(&mut self, conns: &mut Conns<'_>) {
        let _ = conns;
    }

    /// The open connection `id` is over: closed cleanly (`None`) or failed.
    /// Called once; `id` finds nothing afterwards.
    fn closed(&mut self, conns: &mut Conns<'_>, id: ConnId, error: Option<crate::adapter::Error>) {
        let _ = (conns, id, error);
    }
}

enum Phase {
    /// Reading the request head.
    Request(Box<ServerHandshake>),
    /// Writing `head` (a plain HTTP answer or a refusal), then closing.
    Respond,
    Open {
        conn: Box<Connection>,
        driver: Driver,
        /// Failed: what is queued (the Close the failure queued) is
        /// written, then the socket closed.
        failing: bool,
    },
}

struct Slot {
    stream: TcpStream,
    peer: SocketAddr,
    phase: Phase,
    /// Bytes that go out before the connection's queue: the HTTP response.
    head: Vec<u8>,
    recv_busy: bool,
    send_busy: bool,
    /// The last send's buffer, reused while small.
    spare: Vec<u8>,
    /// The connection's live entry in the timer heap. Armed lazily (as
    /// the tokio adapter's timer): a deadline that moves later (every frame
    /// moves the keepalive's) leaves the entry alone; it fires early once,
    /// the driver finds nothing due, and the later deadline is armed then.
    /// So the heap holds about one entry per connection.
    deadline: Option<Duration>,
    /// Waiting in `dirty` to be driven.
    dirty: bool,
    /// Over: released once nothing is in flight.
    dead: bool,
}

struct Entry {
    gen: u32,
    slot: Option<Slot>,
}

/// The connections of a [`Server`], as a [`Handler`] sees them.
pub struct Conns<'a> {
    entries: &'a mut Vec<Entry>,
    dirty: &'a mut Vec<ConnId>,
    timers: &'a mut Timers,
    epoch: Instant,
    open: usize,
}

impl Conns<'_> {
    fn slot(&self, id: ConnId) -> Option<&Slot> {
        let e = self.entries.get(id.index as usize)?;
        e.slot.as_ref().filter(|s| e.gen == id.gen && !s.dead)
    }

    /// The connection `id`, if it is open.
    pub fn connection(&self, id: ConnId) -> Option<&Connection> {
        match &self.slot(id)?.phase {
            Phase::Open { conn, .. } => Some(conn),
            _ => None,
        }
    }

    /// The connection `id`, to queue frames on or take its event (what is
    /// queued is written after the handler returns).
    pub fn connection_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        self.parts(id).map(|(conn, _)| conn)
    }

    fn parts(&mut self, id: ConnId) -> Option<(&mut Connection, &mut Driver)> {
        let dirty_list = &mut *self.dirty;
        let slot = {
            let e = self.entries.get_mut(id.index as usize)?;
            e.slot.as_mut().filter(|s| e.gen == id.gen && !s.dead)?
        };
        if !slot.dirty {
            slot.dirty = true;
            dirty_list.push(id);
        }
        match &mut slot.phase {
            Phase::Open { conn, driver, .. } => {
                driver.connection_changed();
                Some((conn, driver))
            }
            _ => None,
        }
    }

    /// Queues any [`Message`] on `id` ([`Driver::send`]; a Close starts
    /// the closing handshake).
    /// Fails with [`ConnectionClosed`](crate::adapter::Error::ConnectionClosed)
    /// if `id` is not open.
    pub fn send(&mut self, id: ConnId, message: &Message) -> Result<(), crate::adapter::Error> {
        let epoch = self.epoch;
        match self.parts(id) {
            Some((conn, driver)) => Ok(driver.send(conn, message, || epoch.elapsed())?),
            None => Err(crate::adapter::Error::ConnectionClosed),
        }
    }

    /// Starts the closing handshake on `id` (RFC 6455 §7.1.2, see
    /// [`Driver::close`]); the close timeout runs from now.
    pub fn close(
        &mut self,
        id: ConnId,
        code: Option<CloseCode>,
        reason: &str,
    ) -> Result<(), crate::adapter::Error> {
        let now = self.epoch.elapsed();
        match self.parts(id) {
            Some((conn, driver)) => Ok(driver.close(conn, code, reason, now)?),
            None => Err(crate::adapter::Error::ConnectionClosed),
        }
    }

    /// Whether `id` may queue more without going over its high-water mark.
    pub fn has_room(&self, id: ConnId) -> bool {
        match self.slot(id).map(|s| &s.phase) {
            Some(Phase::Open { conn, driver, .. }) => driver.has_room(conn),
            _ => false,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        self.slot(id).map(|s| s.peer)
    }

    /// How many connections are open (past the handshake).
    pub fn len(&self) -> usize {
        self.open
    }

    /// The open connections (past the handshake).
    pub fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.entries.iter().enumerate().filter_map(|(index, e)| {
            let s = e.slot.as_ref()?;
            let open = matches!(s.phase, Phase::Open { failing: false, .. }) && !s.dead;
            open.then_some(ConnId {
                index: index as u32,
                gen: e.gen,
            })
        })
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// Calls [`Handler::woken`] on this loop once `delay` has passed (as
    /// a [`Waker`] would): a timer of the handler's own, to do work later
    /// in one go (a chat that moves lines to its clients every few
    /// milliseconds, so that each send carries more of them).
    pub fn wake_in(&mut self, delay: Duration) {
        let at = self.epoch.elapsed() + delay;
        self.timers.push(Reverse((at, WAKE_TIMER, 0)));
    }
}

/// Deadlines: (when, connection index or one of the special indexes below,
/// generation).
type Timers = BinaryHeap<Reverse<(Duration, u32, u32)>>;

/// A listener with `SO_REUSEPORT` set (and `SO_REUSEADDR`, as std's
/// `TcpListener::bind`): [`Server::run_threads`] binds one per loop on the
/// same address, and the kernel spreads new connections over them by a
/// hash of their addresses. (With one listener shared by several rings,
/// one ring took every connection.)
fn bind_shared(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        match socket.bind(&addr.into()).and_then(|()| socket.listen(4096)) {
            Ok(()) => return Ok(socket.into()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address")))
}

/// Operation kinds in the low byte of a submission's user data.
const ACCEPT: u64 = 1;
const RECV: u64 = 2;
const SEND: u64 = 3;
const WAKE: u64 = 4;

/// Wakes a [`Server`]'s loop from any thread: its handler's
/// [`Handler::woken`] is then called on the loop's thread. Cheap to clone;
/// a wake costs one `write` on an eventfd. Waking a loop that is gone does
/// nothing.
///
/// ```no_run
/// use rfc6455::adapter::ServerConfig;
/// use rfc6455::uring::{ConnId, Conns, Handler, Server};
/// use std::sync::mpsc;
///
/// /// Sends what other threads hand over to every connection.
/// struct Feed(mpsc::Receiver<String>);
///
/// impl Handler for Feed {
///     fn event(&mut self, _: &mut Conns<'_>, _: ConnId) {}
///     fn woken(&mut self, conns: &mut Conns<'_>) {
///         let ids: Vec<ConnId> = conns.ids().collect();
///         for line in self.0.try_iter() {
///             for &id in &ids {
///                 if let Some(conn) = conns.connection_mut(id) {
///                     let _ = conn.send_text(&line);
///                 }
///             }
///         }
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:9002", ServerConfig::default())?;
/// let (lines, feed) = mpsc::channel();
/// let waker = server.waker();
/// std::thread::spawn(move || {
///     lines.send("news".to_string()).unwrap();
///     waker.wake();
/// });
/// server.run(&mut Feed(feed))?;
/// # Ok::<(), rfc6455::uring::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Waker {
    eventfd: std::sync::Arc<std::fs::File>,
}

impl Waker {
    /// Wakes the loop (see [`Handler::woken`]).
    pub fn wake(&self) {
        use std::io::Write;
        // Fails only if the counter would overflow (2^64 - 2 wakes not
        // yet seen): the loop is awake then anyway.
        let _ = (&*self.eventfd).write(&1u64.to_ne_bytes());
    }
}

/// The timer heap's index for the accept back-off.
const ACCEPT_TIMER: u32 = u32::MAX;

/// The timer heap's index for [`Conns::wake_in`].
const WAKE_TIMER: u32 = u32::MAX - 1;

/// The most one send takes from a connection's queue.
const MAX_SEND: usize = 256 << 10;

/// Send buffers at most this large are kept for the next send.
const KEEP_SPARE: usize = 4 << 10;

fn user_data(id: ConnId, kind: u64) -> u64 {
    (u64::from(id.index) << 32) | (u64::from(id.gen & 0xff_ffff) << 8) | kind
}

/// An io_uring WebSocket server: see the [module docs](self).
pub struct Server {
    /// Set up by `run`, on the thread that uses it.
    ring: Option<Ring>,
    ring_config: RingConfig,
    listener: TcpListener,
    config: ServerConfig,
    entries: Vec<Entry>,
    free: Vec<u32>,
    timers: Timers,
    dirty: Vec<ConnId>,
    starved: Vec<ConnId>,
    epoch: Instant,
    multishot_accept: bool,
    open: usize,
    /// Counts [`Waker::wake`]s; polled by the ring.
    wake: std::sync::Arc<std::fs::File>,
    /// A wake arrived this turn.
    woken: bool,
}

impl Server {
    /// Binds `addr` and sets up a ring with [`RingConfig::default`].
    /// Fails with [`Error::Unavailable`] where io_uring cannot be used.
    ///
    /// The listener is bound with `SO_REUSEPORT` (for
    /// [`another_loop`](Self::another_loop)): another socket of the same
    /// user that sets it too may bind the same address and take a share of
    /// its connections (Linux allows it to the same user only).
    pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> Result<Server, Error> {
        Self::bind_with(addr, config, RingConfig::default())
    }

    /// [`bind`](Self::bind) with the ring's sizes.
    pub fn bind_with(
        addr: impl ToSocketAddrs,
        config: ServerConfig,
        ring: RingConfig,
    ) -> Result<Server, Error> {
        probe()?;
        let listener = bind_shared(addr)?;
        Ok(Server {
            ring: None,
            ring_config: ring,
            listener,
            config,
            entries: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            starved: Vec::new(),
            epoch: Instant::now(),
            multishot_accept: true,
            open: 0,
            wake: std::sync::Arc::new(sys::eventfd()?),
            woken: false,
        })
    }

    /// A [`Waker`] for this server's loop.
    pub fn waker(&self) -> Waker {
        Waker {
            eventfd: std::sync::Arc::clone(&self.wake),
        }
    }

    /// Another server on the same address, with the same settings, to run
    /// on another thread with a ring of its own: the kernel spreads new
    /// connections over the two (`SO_REUSEPORT`).
    /// [`run_threads`](Self::run_threads) does this for handlers that need
    /// no [`Waker`]s of each other's loops.
    pub fn another_loop(&self) -> Result<Server, Error> {
        Ok(Server {
            ring: None,
            ring_config: self.ring_config.clone(),
            listener: bind_shared(self.listener.local_addr()?)?,
            config: self.config.clone(),
            entries: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            starved: Vec::new(),
            epoch: self.epoch,
            multishot_accept: self.multishot_accept,
            open: 0,
            wake: std::sync::Arc::new(sys::eventfd()?),
            woken: false,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves with `threads` loops (at least one), each on a thread of its
    /// own with a ring of its own, all accepting on this server's listener:
    /// the kernel hands each new connection to one of them, and a
    /// connection stays on the loop that accepted it. `make(i)` builds loop
    /// `i`'s handler on that loop's thread, so a handler need not be
    /// `Send`; handlers share nothing unless the application shares it
    /// (each handler's [`Conns`] are its own loop's connections).
    ///
    /// Returns the first loop's failure (a ring that cannot be set up on
    /// its thread: [`Error::Unavailable`]); the other loops keep serving.
    ///
    /// One loop per core suits servers whose connections are independent
    /// (an echo server); a chat whose every line goes to every connection
    /// is simpler on one loop ([`run`](Self::run)).
    ///
    /// ```no_run
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::uring::{ConnId, Conns, Handler, Server};
    ///
    /// struct Echo;
    /// impl Handler for Echo {
    ///     fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
    ///         if let Some(conn) = conns.connection_mut(id) {
    ///             let _ = conn.echo_event();
    ///         }
    ///     }
    /// }
    ///
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// let server = Server::bind("127.0.0.1:9002", ServerConfig::default())?;
    /// server.run_threads(cores, |_| Echo)?;
    /// # Ok::<(), rfc6455::uring::Error>(())
    /// ```
    pub fn run_threads<H, F>(self, threads: usize, make: F) -> Result<(), Error>
    where
        H: Handler,
        F: Fn(usize) -> H + Send + Sync + 'static,
    {
        let mut loops = Vec::with_capacity(threads.max(1));
        for _ in 1..threads.max(1) {
            loops.push(self.another_loop()?);
        }
        loops.push(self);
        let make = std::sync::Arc::new(make);
        let (done, failed) = std::sync::mpsc::channel();
        for (i, server) in loops.into_iter().enumerate() {
            let (done, make) = (done.clone(), std::sync::Arc::clone(&make));
            std::thread::Builder::new()
                .name(std::format!("rfc6455-uring-{i}"))
                .spawn(move || {
                    let mut handler = make(i);
                    let _ = done.send(server.run(&mut handler));
                })?;
        }
        drop(done);
        failed.recv().unwrap_or(Ok(()))
    }

    /// Serves connections with `handler` on this thread, forever; returns
    /// only if the ring fails.
    pub fn run<H: Handler>(mut self, handler: &mut H) -> Result<(), Error> {
        let c = &self.ring_config;
        self.ring = Some(Ring::new(c.entries, c.buffers, c.buffer_size, true)?);
        self.arm_accept()?;
        self.arm_wake()?;
        let mut done = Vec::with_capacity(1024);
        loop {
            for id in std::mem::take(&mut self.starved) {
                self.arm_recv(id)?;
            }
            let timeout = self
                .timers
                .peek()
                .map(|Reverse((at, _, _))| at.saturating_sub(self.epoch.elapsed()));
            self.ring().wait(timeout, &mut done)?;
            for c in done.drain(..) {
                self.complete(c, handler)?;
            }
            self.run_timers(handler)?;
            if std::mem::take(&mut self.woken) {
                handler.woken(&mut self.conns());
            }
            handler.turn(&mut self.conns());
            while !self.dirty.is_empty() {
                for id in std::mem::take(&mut self.dirty) {
                    if let Some(s) = self.slot_mut(id) {
                        s.dirty = false;
                        self.drive(id, handler)?;
                    }
                }
            }
        }
    }

    fn ring(&mut self) -> &mut Ring {
        self.ring.as_mut().expect("set up by run")
    }

    fn conns(&mut self) -> Conns<'_> {
        Conns {
            entries: &mut self.entries,
            dirty: &mut self.dirty,
            timers: &mut self.timers,
            epoch: self.epoch,
            open: self.open,
        }
    }

    fn slot_mut(&mut self, id: ConnId) -> Option<&mut Slot> {
        let e = self.entries.get_mut(id.index as usize)?;
        e.slot.as_mut().filter(|_| e.gen == id.gen)
    }

    fn arm_accept(&mut self) -> io::Result<()> {
        let id = ConnId { index: 0, gen: 0 };
        let (fd, multi) = (self.listener.as_raw_fd(), self.multishot_accept);
        self.ring().accept(fd, multi, user_data(id, ACCEPT))
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        let fd = self.wake.as_raw_fd();
        self.ring()
            .poll_readable(fd, user_data(ConnId { index: 0, gen: 0 }, WAKE))
    }

    /// The eventfd is readable: a [`Waker`] was used.
    fn wakened(&mut self, c: &Completion) -> io::Result<()> {
        use std::io::Read;
        // Resets the count, so that the next wake completes the poll again.
        let _ = (&*self.wake).read(&mut [0; 8]);
        self.woken = true;
        match c.more() {
            true => Ok(()),
            false => self.arm_wake(), // ended (or failed): poll again
        }
    }

    fn arm_recv(&mut self, id: ConnId) -> io::Result<()> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if slot.recv_busy || slot.dead {
            return Ok(());
        }
        slot.recv_busy = true;
        let fd = slot.stream.as_raw_fd();
        self.ring().recv(fd, user_data(id, RECV))
    }

    fn set_deadline(&mut self, id: ConnId, deadline: Option<Duration>) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let Some(d) = deadline else {
            return;
        };
        if slot.deadline.map_or(true, |armed| d < armed) {
            slot.deadline = Some(d);
            self.timers.push(Reverse((d, id.index, id.gen)));
        }
    }

    /// Sends the response head and as much of the queue as one send takes.
    fn start_send(&mut self, id: ConnId) -> io::Result<()> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if slot.send_busy || slot.dead {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut slot.spare);
        buf.clear();
        buf.extend_from_slice(&slot.head);
        if let Phase::Open { conn, driver, .. } = &mut slot.phase {
            if !driver.is_shut_down() {
                let out = conn.output();
                let mut parts: [&[u8]; 64] = [&[]; 64];
                let n = out.chunks(&mut parts);
                for p in &parts[..n] {
                    let room = MAX_SEND.saturating_sub(buf.len());
                    if room == 0 {
                        break;
                    }
                    buf.extend_from_slice(&p[..p.len().min(room)]);
                }
            }
        }
        if buf.is_empty() {
            slot.spare = buf;
            return Ok(());
        }
        slot.send_busy = true;
        let fd = slot.stream.as_raw_fd();
        self.ring().send(fd, buf, user_data(id, SEND))
    }

    /// Ends a connection: reports it (if it was open and not reported),
    /// and releases it once nothing is in flight.
    fn retire<H: Handler>(
        &mut self,
        id: ConnId,
        error: Option<crate::adapter::Error>,
        handler: &mut H,
    ) -> io::Result<()> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if slot.dead {
            return Ok(());
        }
        slot.dead = true;
        // A failing connection was reported when it failed.
        let was_open = matches!(slot.phase, Phase::Open { failing: false, .. });
        if slot.recv_busy || slot.send_busy {
            // Ends what is in flight (a receive completes with 0).
            let _ = slot.stream.shutdown(Shutdown::Both);
        }
        if was_open {
            self.open -= 1;
            handler.closed(&mut self.conns(), id, error);
        }
        self.release_if_idle(id);
        Ok(())
    }

    fn release_if_idle(&mut self, id: ConnId) {
        let e = &mut self.entries[id.index as usize];
        if e.gen != id.gen {
            return;
        }
        if let Some(s) = &e.slot {
            if s.dead && !s.recv_busy && !s.send_busy {
                e.slot = None; // closes the socket
                e.gen = e.gen.wrapping_add(1) & 0xff_ffff;
                self.free.push(id.index);
            }
        }
    }

    fn complete<H: Handler>(&mut self, c: Completion, handler: &mut H) -> io::Result<()> {
        let id = ConnId {
            index: (c.user_data >> 32) as u32,
            gen: ((c.user_data >> 8) & 0xff_ffff) as u32,
        };
        match c.user_data & 0xff {
            ACCEPT => self.accepted(&c),
            RECV => {
                self.ring().recv_done();
                self.received(id, &c, handler)
            }
            SEND => self.sent(id, c, handler),
            WAKE => self.wakened(&c),
            _ => Ok(()),
        }
    }

    fn accepted(&mut self, c: &Completion) -> io::Result<()> {
        if c.result < 0 {
            if c.result == -libc::EINVAL && self.multishot_accept {
                // No multishot accept (before Linux 5.19): one at a time.
                self.multishot_accept = false;
                return self.arm_accept();
            }
            if c.more() {
                return Ok(()); // still armed
            }
            // Out of descriptors, typically: try again in 100 ms.
            let at = self.epoch.elapsed() + Duration::from_millis(100);
            self.timers.push(Reverse((at, ACCEPT_TIMER, 0)));
            return Ok(());
        }
        let stream = self.ring().accepted(c.result);
        if !c.more() {
            self.arm_accept()?;
        }
        let Ok(peer) = stream.peer_addr() else {
            return Ok(()); // already gone
        };
        if self.config.nodelay {
            let _ = stream.set_nodelay(true);
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push(Entry { gen: 0, slot: None });
                (self.entries.len() - 1) as u32
            }
        };
        let e = &mut self.entries[index as usize];
        e.slot = Some(Slot {
            stream,
            peer,
            phase: Phase::Request(Box::new(ServerHandshake::new(self.config.limits))),
            head: Vec::new(),
            recv_busy: false,
            send_busy: false,
            spare: Vec::new(),
            deadline: None,
            dirty: false,
            dead: false,
        });
        let id = ConnId { index, gen: e.gen };
        let deadline = self
            .config
            .handshake_timeout
            .map(|t| self.epoch.elapsed() + t);
        self.set_deadline(id, deadline);
        self.arm_recv(id)
    }

    fn received<H: Handler>(
        &mut self,
        id: ConnId,
        c: &Completion,
        handler: &mut H,
    ) -> io::Result<()> {
        let now = self.epoch.elapsed();
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        slot.recv_busy = false;
        if slot.dead {
            let bid = self.ring().received(c).map(|(_, bid)| bid);
            if let Some(bid) = bid {
                self.ring().recycle(bid)?;
            }
            self.release_if_idle(id);
            return Ok(());
        }
        if c.result == -libc::ENOBUFS {
            // The pool is empty for now: buffers come back this turn.
            self.starved.push(id);
            return Ok(());
        }
        if c.result < 0 {
            let e = io::Error::from_raw_os_error(-c.result);
            return match &mut slot.phase {
                Phase::Open { conn, driver, .. } => {
                    driver.read_failed(conn);
                    self.retire(id, Some(e.into()), handler)
                }
                _ => self.retire(id, None, handler),
            };
        }
        let Server {
            ring,
            entries,
            config,
            ..
        } = self;
        let slot = entries[id.index as usize].slot.as_mut().expect("checked");
        let ring = ring.as_mut().expect("set up by run");
        let (bytes, bid) = match ring.received(c) {
            Some((bytes, bid)) => (bytes, Some(bid)),
            None => (&[][..], None),
        };
        let mut open = false;
        match &mut slot.phase {
            Phase::Open { conn, driver, .. } => driver.feed(conn, bytes, now),
            Phase::Respond => {}
            Phase::Request(hs) => {
                if bytes.is_empty() {
                    slot.dead = true; // hung up before its request
                } else {
                    match hs.feed(bytes) {
                        Ok(None) => {}
                        Ok(Some((request, used))) => {
                            let leftover = bytes[used..].to_vec();
                            let accept = match handler.request(id, &request) {
                                Answer::Respond(response) => {
                                    slot.head = response;
                                    slot.phase = Phase::Respond;
                                    None
                                }
                                Answer::Accept => Some(None),
                                Answer::AcceptProtocol(p) => Some(Some(p)),
                            };
                            if let Some(protocol) = accept {
                                let mut a = Accept::new();
                                if let Some(p) = &protocol {
                                    a = a.subprotocol(p);
                                }
                                let upgrade = ServerUpgrade::new(request, leftover, config);
                                let (response, opened) = upgrade.answer(&a);
                                slot.head = response;
                                slot.phase = match opened {
                                    Ok(mut conn) => {
                                        conn.handle_timeout(now);
                                        open = true;
                                        Phase::Open {
                                            conn: Box::new(conn),
                                            driver: Driver::with_high_water(config.high_water),
                                            failing: false,
                                        }
                                    }
                                    Err(_) => Phase::Respond,
                                };
                            }
                        }
                        Err(e) => {
                            slot.head = e.response().unwrap_or_default();
                            slot.phase = Phase::Respond;
                        }
                    }
                }
            }
        }
        if let Some(bid) = bid {
            ring.recycle(bid)?;
        }
        let (dead, respond) = (slot.dead, matches!(slot.phase, Phase::Respond));
        if dead {
            slot.dead = false;
            return self.retire(id, None, handler);
        }
        if respond {
            if self.slot_mut(id).is_some_and(|s| s.head.is_empty()) {
                return self.retire(id, None, handler);
            }
            self.set_deadline(id, None);
            return self.start_send(id);
        }
        if open {
            self.open += 1;
            self.set_deadline(id, None);
            self.start_send(id)?; // the 101 response
            handler.open(&mut self.conns(), id);
            return self.drive(id, handler);
        }
        match self
            .slot_mut(id)
            .map(|s| matches!(s.phase, Phase::Open { .. }))
        {
            Some(true) => self.drive(id, handler),
            _ => self.arm_recv(id), // more of the request head
        }
    }

    fn sent<H: Handler>(&mut self, id: ConnId, c: Completion, handler: &mut H) -> io::Result<()> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        slot.send_busy = false;
        if let Some(mut buf) = c.sent {
            if buf.capacity() <= KEEP_SPARE {
                buf.clear();
                slot.spare = buf;
            }
        }
        if slot.dead {
            self.release_if_idle(id);
            return Ok(());
        }
        let failed = c.result <= 0;
        if !failed {
            let mut n = c.result as usize;
            let k = n.min(slot.head.len());
            slot.head.drain(..k);
            n -= k;
            if let Phase::Open { conn, .. } = &mut slot.phase {
                conn.output().consume(n);
            }
        }
        match &mut slot.phase {
            Phase::Request(_) => Ok(()),
            Phase::Respond => {
                if failed || slot.head.is_empty() {
                    let _ = slot.stream.shutdown(Shutdown::Write);
                    return self.retire(id, None, handler);
                }
                self.start_send(id)
            }
            Phase::Open {
                conn,
                driver,
                failing,
            } => {
                if failed {
                    driver.write_failed(conn);
                    slot.head.clear();
                }
                if *failing {
                    return self.drive(id, handler);
                }
                if !slot.head.is_empty() {
                    return self.start_send(id);
                }
                if driver.has_room(conn) && !failed {
                    handler.writable(&mut self.conns(), id);
                }
                self.drive(id, handler)
            }
        }
    }

    fn run_timers<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        let now = self.epoch.elapsed();
        while let Some(&Reverse((at, index, gen))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if index == ACCEPT_TIMER {
                self.arm_accept()?;
                continue;
            }
            if index == WAKE_TIMER {
                self.woken = true;
                continue;
            }
            let id = ConnId { index, gen };
            let Some(slot) = self.slot_mut(id) else {
                continue;
            };
            if slot.deadline != Some(at) || slot.dead {
                continue;
            }
            slot.deadline = None;
            match slot.phase {
                Phase::Request(_) => {
                    // 408 Request Timeout, then close.
                    slot.head = HandshakeError::RequestTimeout
                        .response()
                        .unwrap_or_default();
                    slot.phase = Phase::Respond;
                    if slot.send_busy {
                        continue;
                    }
                    self.start_send(id)?;
                }
                Phase::Respond => {}
                Phase::Open { .. } => self.drive(id, handler)?,
            }
        }
        Ok(())
    }

    /// Carries out the driver's steps for `id` until it waits.
    fn drive<H: Handler>(&mut self, id: ConnId, handler: &mut H) -> io::Result<()> {
        let epoch = self.epoch;
        if let Some(Slot {
            phase: Phase::Open { conn, driver, .. },
            ..
        }) = self.slot_mut(id)
        {
            driver.start_read(conn);
        }
        loop {
            let Some(slot) = self.slot_mut(id) else {
                return Ok(());
            };
            if slot.dead {
                return Ok(());
            }
            let send_busy = slot.send_busy;
            let Phase::Open {
                conn,
                driver,
                failing,
            } = &mut slot.phase
            else {
                return Ok(());
            };
            if *failing {
                return self.drive_failing(id);
            }
            let step = driver.poll_read(conn, || epoch.elapsed(), send_busy);
            match step {
                Err(e) => {
                    // Reported now; the Close the failure queued is
                    // written, then the socket closed.
                    *failing = true;
                    self.open -= 1;
                    handler.closed(&mut self.conns(), id, Some(e.into()));
                    return self.drive_failing(id);
                }
                Ok(ReadStep::Deliver { write_first }) => {
                    handler.event(&mut self.conns(), id);
                    if write_first {
                        self.start_send(id)?;
                    }
                }
                Ok(ReadStep::Write) => self.start_send(id)?,
                Ok(ReadStep::WaitWritable) => return Ok(()),
                Ok(ReadStep::Shutdown) => {
                    let _ = slot.stream.shutdown(Shutdown::Write);
                    driver.shutdown_done();
                }
                Ok(ReadStep::Closed) => return self.retire(id, None, handler),
                Ok(ReadStep::Read { deadline }) => {
                    self.set_deadline(id, deadline);
                    return self.arm_recv(id);
                }
            }
        }
    }

    /// A failed connection, already reported: writes what is queued, then
    /// releases it without reporting again.
    fn drive_failing(&mut self, id: ConnId) -> io::Result<()> {
        let Some(slot) = self.slot_mut(id) else {
            return Ok(());
        };
        if slot.send_busy {
            return Ok(());
        }
        if let Phase::Open { conn, driver, .. } = &mut slot.phase {
            if conn.has_output() && !driver.is_shut_down() {
                return self.start_send(id);
            }
        }
        let _ = slot.stream.shutdown(Shutdown::Both);
        slot.dead = true;
        self.release_if_idle(id);
        Ok(())
    }
}
