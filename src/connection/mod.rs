//! The WebSocket connection state machine, after the opening handshake
//! (RFC 6455 §5-§7).
//!
//! A [`Connection`] owns no transport. The caller moves bytes in both
//! directions:
//!
//! - received bytes go in through [`Connection::read_buf`] +
//!   [`Connection::commit_read`] (read straight into the connection's
//!   buffer, no copy) or [`Connection::feed`] (copy from a slice), and the
//!   end of the stream through [`Connection::feed_eof`];
//! - events come out of [`Connection::next_event`], borrowed from the
//!   connection's buffers;
//! - bytes to send come out of [`Connection::output`]
//!   (see [`Outgoing`]): write them and call `consume`;
//! - time comes in through [`Connection::handle_timeout`], and
//!   [`Connection::poll_timeout`] says when to call it next.
//!
//! After every call that can produce output (feeding bytes, pulling events,
//! sending, timeouts), write the output, then check
//! [`Connection::should_close_transport`].
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::{Config, Connection, Event};
//!
//! let mut config = Config::default();
//! config.ping_interval = Some(Duration::from_secs(20));
//! let mut server = Connection::server(config);
//! server.handle_timeout(Duration::ZERO); // time in: the caller's clock
//!
//! let mut client = Connection::client(Config::default());
//! client.send_text("hi")?;
//! let bytes = client.take_output();
//! server.read_buf()[..bytes.len()].copy_from_slice(&bytes); // bytes in, as a read would
//! server.commit_read(bytes.len());
//! assert_eq!(server.next_event()?, Some(Event::Text("hi"))); // events out
//!
//! assert_eq!(server.poll_timeout(), Some(Duration::from_secs(20))); // when to wake
//! server.handle_timeout(Duration::from_secs(20));
//! let n = server.output().front().len(); // bytes out: the keepalive Ping
//! server.output().consume(n);
//! assert!(!server.should_close_transport());
//! # Ok::<(), rfc6455::Error>(())
//! ```

mod event;
mod recv;
mod send;

/// permessage-deflate state of a connection (present once negotiated).
#[cfg(feature = "deflate")]
pub(crate) struct DeflateState {
    tx: crate::deflate::Deflater,
    rx: crate::deflate::Inflater,
    threshold: usize,
    /// Compressed payload of the frame being encoded.
    scratch: Vec<u8>,
}

/// Makes room for `additional` more bytes in `v`, growing geometrically
/// but never past a total capacity of `cap` (a message limit): a buffer
/// filling up to a 16 MiB limit never holds 32 MiB.
pub(crate) fn reserve_capped(v: &mut Vec<u8>, additional: usize, cap: usize) {
    let need = v.len() + additional;
    if need <= v.capacity() {
        return;
    }
    let target = need.max(v.capacity().saturating_mul(2)).min(cap.max(need));
    v.reserve_exact(target - v.len());
}

/// Without the `deflate` feature there is never any compression state.
#[cfg(not(feature = "deflate"))]
pub(crate) enum DeflateState {}

pub use event::{Event, Message, MessageKind};
#[cfg(feature = "deflate")]
pub use send::encode_shared_compressed;
pub use send::{encode_shared, DirectHeader};

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

use crate::close::CloseCode;
use crate::config::Config;
use crate::error::Error;
use crate::frame::FrameHeader;
use crate::outgoing::Outgoing;
use crate::rand::KeySource;
use crate::utf8::Utf8Validator;

/// How long after the last received frame buffers grown for large messages
/// are given back (see [`Connection::poll_timeout`]).
///
/// ```
/// use std::time::Duration;
/// use rfc6455::connection::IDLE_SHRINK;
/// use rfc6455::{Config, Connection};
///
/// let mut client = Connection::client(Config::default());
/// client.send_binary(&vec![0; 1 << 20])?; // a 1 MiB message
/// let mut server = Connection::server(Config::default());
/// server.handle_timeout(Duration::ZERO);
/// server.feed(&client.take_output());
/// assert!(server.next_event()?.is_some());
/// let grown = server.buffer_capacity();
/// assert_eq!(server.next_event()?, None); // done with the message
/// assert_eq!(server.poll_timeout(), Some(IDLE_SHRINK)); // a second after the last frame
/// server.handle_timeout(IDLE_SHRINK);
/// assert!(server.buffer_capacity() < grown / 100);
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub const IDLE_SHRINK: Duration = Duration::from_secs(1);

/// Which end of the connection this is (RFC 6455 §5.1: clients mask, servers
/// do not; §7.1.1: the server closes the transport first).
///
/// ```
/// use rfc6455::{Config, Connection, Role};
/// let conn = Connection::new(Role::Server, Config::default());
/// assert_eq!(conn.role(), Role::Server);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where the closing handshake stands (RFC 6455 §7).
///
/// ```
/// use rfc6455::{CloseCode, Config, Connection, State};
///
/// let mut client = Connection::client(Config::default());
/// let mut server = Connection::server(Config::default());
/// assert_eq!(client.state(), State::Open);
/// client.close(CloseCode::NORMAL, "")?;
/// assert_eq!(client.state(), State::Closing); // waiting for the server's Close
/// server.feed(&client.take_output());
/// server.next_event()?; // the Close, echoed
/// client.feed(&server.take_output());
/// client.next_event()?;
/// assert_eq!((client.state(), server.state()), (State::Closed, State::Closed));
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close frame and wait for the peer's; received messages are
    /// still delivered, nothing more can be sent.
    Closing,
    /// The closing handshake is complete, or the connection failed. Nothing
    /// more is delivered or sent; see
    /// [`should_close_transport`](Connection::should_close_transport).
    Closed,
}

/// A frame whose header has been decoded and whose payload is arriving.
#[derive(Clone, Copy, Debug)]
struct FrameInProgress {
    header: FrameHeader,
    /// Header length; for a frame kept in place, the payload starts this far
    /// past `rx_start`.
    header_len: usize,
    /// Payload bytes already unmasked and checked.
    done: usize,
    /// Kept whole in the receive buffer (a one-frame message or a control
    /// frame) rather than moved into the reassembly buffer as it arrives.
    in_place: bool,
    /// The kind of message a data frame belongs to.
    kind: Option<MessageKind>,
    /// The frame belongs to a compressed message (RSV1 on its first frame).
    compressed: bool,
}

/// An event decoded and waiting to be borrowed, as positions rather than
/// borrows (so decoding can keep mutating the connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    /// A frame kept whole in the receive buffer, whose payload spans
    /// `rx_start + start .. rx_start + end`.
    InPlace {
        opcode: crate::frame::OpCode,
        start: usize,
        end: usize,
    },
    /// The reassembled message.
    Assembled(MessageKind),
    /// In [`Config::stream_fragments`] mode: payload bytes of a data frame
    /// as they arrived, at `rx_start .. rx_start + len`.
    Chunk {
        kind: MessageKind,
        len: usize,
        fin: bool,
    },
}

/// What to release before decoding further, once the application is done
/// with the event it borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Release {
    Nothing,
    /// Advance the receive buffer's start by this much.
    Rx(usize),
    /// Empty the reassembly buffer.
    Message,
}

/// A WebSocket connection in the open phase: framing, masking, message
/// assembly, UTF-8 validation, control frames, the closing handshake,
/// keepalive. Sans-IO: see the [module documentation](self).
///
/// ```
/// use rfc6455::{Config, Connection, Event};
///
/// let mut client = Connection::client(Config::default());
/// let mut server = Connection::server(Config::default());
/// client.send_text("Hello").unwrap();
///
/// // Move the client's output into the server.
/// let out = client.output();
/// let n = out.front().len();
/// server.feed(out.front());
/// client.output().consume(n);
///
/// assert_eq!(server.next_event().unwrap(), Some(Event::Text("Hello")));
/// assert_eq!(server.next_event().unwrap(), None); // needs more bytes
/// ```
pub struct Connection {
    role: Role,
    config: Config,
    /// Where the connection's life stands, and how it ended.
    phase: Phase,

    // Receiving. The buffer's bytes `rx[..rx.len()]` are all initialised;
    // `rx_start..rx_end` holds bytes received and not yet consumed.
    rx: Vec<u8>,
    rx_start: usize,
    rx_end: usize,
    read_size: usize,
    last_read: usize,
    frame: Option<FrameInProgress>,
    /// The kind and size so far of the fragmented message being received.
    message: Option<(MessageKind, usize)>,
    assembly: Vec<u8>,
    /// The fragmented message being received is compressed.
    message_compressed: bool,
    deflate: Option<Box<DeflateState>>,
    utf8: Utf8Validator,
    release: Release,
    ready: Option<Ready>,
    allowed_rsv: u8,
    peer_close_code: Option<CloseCode>,
    /// The transport has no more bytes to give (see `feed_eof`).
    eof: bool,
    /// The transport can no longer send (see `write_failed`).
    write_closed: bool,
    pending_error: Option<Error>,

    // Sending.
    out: Outgoing,
    sending: Option<MessageKind>,
    sending_compressed: bool,
    send_utf8: Utf8Validator,
    close_sent: bool,
    keys: Option<Box<dyn KeySource + Send>>,

    // Time.
    now: Duration,
    clock_started: bool,
    last_activity: Duration,
    /// When giving buffers back was last due but not possible (a frame or
    /// message in progress holds them): the next try is a period later.
    shrink_tried: Duration,
    ping_outstanding: Option<(u32, Duration)>,
    ping_counter: u32,
    close_deadline: Option<Duration>,
}

/// The connection's life: what [`State`] reports, with how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Messages flow both ways.
    Open,
    /// Our Close went out (or nothing more can be written); the peer's has
    /// not arrived.
    Closing,
    /// Over; nothing more is sent.
    Closed(End),
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The peer's Close arrived: the closing handshake is complete (or the
    /// peer started it and ours is the echo).
    PeerClosed,
    /// The connection failed (a protocol error, a late Pong, the transport
    /// gone or ending mid-connection).
    Failed,
    /// The transport ended after our Close, before the peer's (§7.1.5):
    /// frames that arrived before the end are still decoded.
    Eof,
    /// The close timeout ran out.
    TimedOut,
}

impl Phase {
    /// The public view.
    fn state(self) -> State {
        match self {
            Phase::Open => State::Open,
            Phase::Closing => State::Closing,
            Phase::Closed(_) => State::Closed,
        }
    }

    /// Whether received bytes are no longer decoded.
    fn decoding_over(self) -> bool {
        matches!(
            self,
            Phase::Closed(End::PeerClosed | End::Failed | End::TimedOut)
        )
    }
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("phase", &self.phase)
            .field("buffered_in", &(self.rx_end - self.rx_start))
            .field("buffered_out", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn with_parts(role: Role, config: Config, keys: Option<Box<dyn KeySource + Send>>) -> Self {
        let read_size = config.read_buffer_size.max(256);
        Connection {
            role,
            config,
            phase: Phase::Open,
            rx: Vec::new(),
            rx_start: 0,
            rx_end: 0,
            read_size,
            last_read: 0,
            frame: None,
            message: None,
            assembly: Vec::new(),
            message_compressed: false,
            deflate: None,
            utf8: Utf8Validator::new(),
            release: Release::Nothing,
            ready: None,
            allowed_rsv: 0,
            peer_close_code: None,
            eof: false,
            write_closed: false,
            pending_error: None,
            out: Outgoing::default(),
            sending: None,
            sending_compressed: false,
            send_utf8: Utf8Validator::new(),
            close_sent: false,
            keys,
            now: Duration::ZERO,
            clock_started: false,
            last_activity: Duration::ZERO,
            shrink_tried: Duration::ZERO,
            ping_outstanding: None,
            ping_counter: 0,
            close_deadline: None,
        }
    }

    /// A server-side connection (receives masked frames, sends unmasked ones).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut server = Connection::server(Config::default());
    /// assert_eq!(server.role(), Role::Server);
    /// server.send_text("hi")?;
    /// assert_eq!(server.take_output(), b"\x81\x02hi"); // no mask
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn server(config: Config) -> Self {
        Self::with_parts(Role::Server, config, None)
    }

    /// A client-side connection whose masking keys come from `keys`
    /// (RFC 6455 §5.3: a strong source of entropy). This is the constructor
    /// for `no_std` targets.
    ///
    /// ```
    /// use rfc6455::rand::ChaCha20Rng;
    /// use rfc6455::{Config, Connection};
    /// # fn hardware_seed() -> [u8; 32] { [7; 32] }
    /// // On a target without an OS: a generator seeded from the hardware.
    /// let keys = ChaCha20Rng::from_seed(hardware_seed());
    /// let mut client = Connection::client_with_keys(Config::default(), keys);
    /// client.send_text("hi")?;
    /// assert_eq!(client.take_output().len(), 2 + 4 + 2); // header, masking key, payload
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn client_with_keys(config: Config, keys: impl KeySource + Send + 'static) -> Self {
        Self::with_parts(Role::Client, config, Some(Box::new(keys)))
    }

    /// A client-side connection masking with keys from the operating
    /// system's generator ([`OsRandom`](crate::rand::OsRandom)).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// let mut client = Connection::client(Config::default());
    /// assert_eq!(client.role(), Role::Client);
    /// client.send_text("hi")?;
    /// assert_eq!(client.take_output()[1], 0x80 | 2); // masked, 2 bytes
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn client(config: Config) -> Self {
        Self::client_with_keys(config, crate::rand::OsRandom::new())
    }

    /// A connection for `role`; a client draws keys from
    /// [`OsRandom`](crate::rand::OsRandom).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// for role in [Role::Client, Role::Server] {
    ///     assert_eq!(Connection::new(role, Config::default()).role(), role);
    /// }
    /// ```
    #[cfg(feature = "std")]
    pub fn new(role: Role, config: Config) -> Self {
        match role {
            Role::Client => Self::client(config),
            Role::Server => Self::server(config),
        }
    }

    /// This end's role.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Role};
    /// assert_eq!(Connection::client(Config::default()).role(), Role::Client);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings this connection was made with.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut config = Config::default();
    /// config.max_message_size = 1 << 20;
    /// let conn = Connection::server(config);
    /// assert_eq!(conn.config().max_message_size, 1 << 20);
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the closing handshake stands.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Error, State};
    /// let mut conn = Connection::server(Config::default());
    /// assert_eq!(conn.state(), State::Open);
    /// conn.close(CloseCode::NORMAL, "")?;
    /// assert_eq!(conn.state(), State::Closing);
    /// assert_eq!(conn.send_text("late"), Err(Error::SendAfterClose));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn state(&self) -> State {
        self.phase.state()
    }

    /// The code of the peer's Close frame, once received (`NO_STATUS` for an
    /// empty one).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// assert_eq!(server.peer_close_code(), None);
    /// client.close(CloseCode::GOING_AWAY, "")?;
    /// server.feed(&client.take_output());
    /// server.next_event()?;
    /// assert_eq!(server.peer_close_code(), Some(CloseCode::GOING_AWAY));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn peer_close_code(&self) -> Option<CloseCode> {
        self.peer_close_code
    }

    /// Whether the transport should now be closed: the closing handshake is
    /// over (or failed, or timed out) and every queued byte was written.
    ///
    /// The server closes the TCP connection first (RFC 6455 §7.1.1); a client
    /// waits for the server to do so (reported through
    /// [`feed_eof`](Self::feed_eof)) or for the close timeout.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.close(CloseCode::NORMAL, "")?;
    /// server.feed(&client.take_output());
    /// server.next_event()?; // the Close; the echo is queued
    /// assert!(!server.should_close_transport()); // the echo is not written yet
    /// client.feed(&server.take_output());
    /// assert!(server.should_close_transport()); // written: the server closes TCP first
    /// client.next_event()?;
    /// assert!(!client.should_close_transport()); // the client waits for it...
    /// client.feed_eof();
    /// assert!(client.should_close_transport()); // ...and then closes its end
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn should_close_transport(&self) -> bool {
        let Phase::Closed(end) = self.phase else {
            return false;
        };
        self.out.is_empty()
            && (self.role == Role::Server
                || self.eof
                || matches!(end, End::Failed | End::TimedOut)
                || self.write_closed)
    }

    /// Turns on permessage-deflate (RFC 7692) with the parameters both ends
    /// agreed on in the handshake (see [`crate::deflate`]). From now on RSV1
    /// marks compressed messages; received ones are inflated, and sent ones
    /// of at least `config.threshold` bytes are compressed.
    ///
    /// ```
    /// use rfc6455::deflate::DeflateConfig;
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// use rfc6455::{Config, Connection};
    ///
    /// let head = b"GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// let config = DeflateConfig::default();
    /// let (agreed, _answer) = config.server_accept(&request.extensions()?).unwrap();
    /// // ... the answer goes into the 101 response (`Accept::extensions`), then:
    /// let mut conn = Connection::server(Config::default());
    /// conn.enable_deflate(agreed, &config);
    /// assert!(conn.deflate_enabled());
    /// conn.send_text(&"compressible ".repeat(20))?;
    /// assert!(conn.output_len() < 100); // 260 bytes of text, compressed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(
        &mut self,
        agreed: crate::deflate::Negotiated,
        config: &crate::deflate::DeflateConfig,
    ) {
        let (tx_bits, tx_nct, rx_nct) = match self.role {
            Role::Server => (
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
                agreed.client_no_context_takeover,
            ),
            Role::Client => (
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
                agreed.server_no_context_takeover,
            ),
        };
        self.deflate = Some(Box::new(DeflateState {
            tx: crate::deflate::Deflater::new(config.level, tx_bits, tx_nct),
            rx: crate::deflate::Inflater::new(rx_nct),
            threshold: config.threshold,
            scratch: Vec::new(),
        }));
        self.allowed_rsv |= crate::frame::RSV1;
    }

    /// Whether permessage-deflate is on.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// // Off until `enable_deflate`; the adapters turn it on when it is negotiated.
    /// assert!(!Connection::server(Config::default()).deflate_enabled());
    /// ```
    pub fn deflate_enabled(&self) -> bool {
        self.deflate.is_some()
    }

    /// Lets an extension (such as permessage-deflate, RFC 7692) claim RSV
    /// bits; frames carrying other RSV bits fail the connection (§5.2).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error, Event};
    /// let mut conn = Connection::client(Config::default());
    /// conn.feed(&[0xa1, 0x00]); // an empty text frame with RSV2 set
    /// assert_eq!(conn.next_event(), Err(Error::ReservedBits));
    ///
    /// let mut conn = Connection::client(Config::default());
    /// conn.set_allowed_rsv(0b010); // an extension of the application's own claims RSV2
    /// conn.feed(&[0xa1, 0x00]);
    /// assert_eq!(conn.next_event(), Ok(Some(Event::Text(""))));
    /// ```
    pub fn set_allowed_rsv(&mut self, rsv: u8) {
        self.allowed_rsv = rsv & 0x7;
    }

    // ---- output ----

    /// The bytes waiting to be written to the transport.
    ///
    /// ```
    /// use std::io::Write;
    /// use rfc6455::{Config, Connection};
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_text("hi")?;
    /// let mut transport = Vec::new(); // any `Write`
    /// while conn.has_output() {
    ///     let n = transport.write(conn.output().front()).unwrap();
    ///     conn.output().consume(n);
    /// }
    /// assert_eq!(transport, b"\x81\x02hi");
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn output(&mut self) -> &mut Outgoing {
        &mut self.out
    }

    /// Heap bytes held by the connection's buffers (receive, reassembly,
    /// send), not counting compression state. For monitoring idle memory.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_binary(&[0; 100])?;
    /// assert!(conn.buffer_capacity() >= 102);
    /// let _ = conn.take_output();
    /// assert!(conn.buffer_capacity() <= 4096); // an idle connection keeps a few KiB at most
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn buffer_capacity(&self) -> usize {
        #[cfg(feature = "deflate")]
        let scratch = self.deflate.as_ref().map_or(0, |d| d.scratch.capacity());
        #[cfg(not(feature = "deflate"))]
        let scratch = 0;
        self.rx.capacity() + self.assembly.capacity() + self.out.capacity() + scratch
    }

    /// Whether bytes are waiting to be written.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut conn = Connection::server(Config::default());
    /// assert!(!conn.has_output());
    /// conn.send_ping(b"")?;
    /// assert!(conn.has_output());
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// How many bytes are queued to be written.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_text("hello")?;
    /// assert_eq!(conn.output_len(), 2 + 5); // header + payload
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Moves every waiting byte into a new vector (a convenience for tests
    /// and simple callers; [`output`](Self::output) avoids the copy).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_text("hi")?;
    /// server.feed(&client.take_output());
    /// assert!(!client.has_output());
    /// assert_eq!(server.next_event()?, Some(Event::Text("hi")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn take_output(&mut self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.out.len());
        while !self.out.is_empty() {
            let f = self.out.front();
            let n = f.len();
            v.extend_from_slice(f);
            self.out.consume(n);
        }
        self.out.shrink_if_idle(self.config.buffer_retain);
        v
    }

    /// Releases send-buffer capacity beyond
    /// [`Config::buffer_retain`] if everything has been written. Adapters
    /// call it after writing.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut conn = Connection::server(Config::default());
    /// conn.send_binary(&vec![0; 1 << 20])?;
    /// let n = conn.output().front().len(); // written to the transport
    /// conn.output().consume(n);
    /// conn.release_output_buffer();
    /// assert!(conn.buffer_capacity() <= Config::default().buffer_retain + 4096);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn release_output_buffer(&mut self) {
        self.out.shrink_if_idle(self.config.buffer_retain);
    }

    // ---- time ----

    /// Advances the connection's clock to `now` (a monotonic time from an
    /// arbitrary epoch chosen by the caller) and acts on what is due: sends a
    /// keepalive Ping, fails the connection with 1011 when its Pong is late,
    /// gives up on a closing handshake that timed out.
    ///
    /// Call it once when the connection starts, then whenever
    /// [`poll_timeout`](Self::poll_timeout)'s deadline passes (and, for
    /// precise timing, before feeding received bytes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::{Config, Connection};
    /// let mut config = Config::default();
    /// config.ping_interval = Some(Duration::from_secs(30));
    /// let mut conn = Connection::server(config);
    /// conn.handle_timeout(Duration::ZERO); // start the clock
    /// conn.handle_timeout(Duration::from_secs(30)); // 30 s without traffic
    /// assert_eq!(conn.take_output()[0], 0x89); // a keepalive Ping
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        if !self.clock_started {
            self.clock_started = true;
            self.last_activity = now;
            if self.close_sent && self.close_deadline.is_none() {
                self.close_deadline = Some(now + self.config.close_timeout);
            }
        }
        self.now = self.now.max(now);
        let now = self.now;
        if now >= self.shrink_due() && self.buffers_oversized() {
            self.shrink_buffers();
            if self.buffers_oversized() {
                // Still in use (a partial frame, a message being assembled):
                // try again later rather than report a deadline already past.
                self.shrink_tried = now;
            }
        }
        if let Some(deadline) = self.close_deadline {
            if now >= deadline && !self.should_close_transport() {
                self.phase = Phase::Closed(End::TimedOut);
                self.close_deadline = None;
                return;
            }
        }
        if self.phase != Phase::Open {
            return;
        }
        if let Some((_, deadline)) = self.ping_outstanding {
            if now >= deadline {
                self.fail(Error::KeepaliveTimeout);
            }
            return;
        }
        if let Some(interval) = self.config.ping_interval {
            if now >= self.last_activity + interval {
                self.ping_counter = self.ping_counter.wrapping_add(1);
                let payload = self.ping_counter.to_be_bytes();
                if self
                    .send_control(crate::frame::OpCode::Ping, &payload)
                    .is_ok()
                {
                    self.ping_outstanding =
                        Some((self.ping_counter, now + self.config.pong_timeout));
                }
            }
        }
    }

    /// When buffers grown for large messages are next given back.
    fn shrink_due(&self) -> Duration {
        self.last_activity.max(self.shrink_tried) + IDLE_SHRINK
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called,
    /// in the caller's clock, or `None` when nothing is scheduled.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rfc6455::{Config, Connection};
    /// let mut config = Config::default();
    /// config.ping_interval = Some(Duration::from_secs(30));
    /// let mut conn = Connection::server(config);
    /// conn.handle_timeout(Duration::from_secs(100)); // the clock, from any epoch
    /// // A timer loop: sleep until the deadline, then handle it.
    /// let deadline = conn.poll_timeout().unwrap();
    /// assert_eq!(deadline, Duration::from_secs(130));
    /// conn.handle_timeout(deadline);
    /// assert!(conn.has_output()); // the Ping
    /// assert_eq!(conn.poll_timeout(), Some(Duration::from_secs(150))); // the Pong's deadline
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.should_close_transport() {
            return None;
        }
        // Give large buffers back a moment after traffic stops.
        let shrink = (self.clock_started && self.buffers_oversized()).then(|| self.shrink_due());
        let keepalive = match (
            self.state(),
            self.ping_outstanding,
            self.config.ping_interval,
        ) {
            (State::Open, Some((_, deadline)), _) => Some(deadline),
            (State::Open, None, Some(interval)) => Some(self.last_activity + interval),
            _ => None,
        };
        [keepalive, self.close_deadline, shrink]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fails the connection: queues a Close frame with the error's code
    /// (RFC 6455 §7.1.7), stops delivering, and reports `err` from the next
    /// [`next_event`](Self::next_event).
    fn fail(&mut self, err: Error) {
        if self.phase == Phase::Closed(End::Failed) {
            return;
        }
        if let Some(code) = err.close_code() {
            if !self.close_sent {
                // Errors carry no reason on the wire: the code says it all, and
                // the details may help an attacker.
                let _ = self.queue_close(Some(code), "");
            }
        }
        self.phase = Phase::Closed(End::Failed);
        self.frame = None;
        self.message = None;
        self.pending_error = Some(err);
    }

    fn note_close_sent(&mut self) {
        self.close_sent = true;
        if self.clock_started {
            self.close_deadline = Some(self.now + self.config.close_timeout);
        }
    }
}

#[cfg(test)]
mod tests;
