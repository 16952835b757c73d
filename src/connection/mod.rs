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
pub const IDLE_SHRINK: Duration = Duration::from_secs(1);

/// Which end of the connection this is (RFC 6455 §5.1: clients mask, servers
/// do not; §7.1.1: the server closes the transport first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where the closing handshake stands (RFC 6455 §7).
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
    state: State,

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
    close_received: bool,
    peer_close_code: Option<CloseCode>,
    eof: bool,
    failed: bool,
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
    timed_out: bool,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
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
            state: State::Open,
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
            close_received: false,
            peer_close_code: None,
            eof: false,
            failed: false,
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
            timed_out: false,
        }
    }

    /// A server-side connection (receives masked frames, sends unmasked ones).
    pub fn server(config: Config) -> Self {
        Self::with_parts(Role::Server, config, None)
    }

    /// A client-side connection whose masking keys come from `keys`
    /// (RFC 6455 §5.3: a strong source of entropy). This is the constructor
    /// for `no_std` targets.
    pub fn client_with_keys(config: Config, keys: impl KeySource + Send + 'static) -> Self {
        Self::with_parts(Role::Client, config, Some(Box::new(keys)))
    }

    /// A client-side connection masking with keys from the operating
    /// system's generator ([`OsRandom`](crate::rand::OsRandom)).
    #[cfg(feature = "std")]
    pub fn client(config: Config) -> Self {
        Self::client_with_keys(config, crate::rand::OsRandom::new())
    }

    /// A connection for `role`; a client draws keys from
    /// [`OsRandom`](crate::rand::OsRandom).
    #[cfg(feature = "std")]
    pub fn new(role: Role, config: Config) -> Self {
        match role {
            Role::Client => Self::client(config),
            Role::Server => Self::server(config),
        }
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings this connection was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the closing handshake stands.
    pub fn state(&self) -> State {
        self.state
    }

    /// The code of the peer's Close frame, once received (`NO_STATUS` for an
    /// empty one).
    pub fn peer_close_code(&self) -> Option<CloseCode> {
        self.peer_close_code
    }

    /// Whether the transport should now be closed: the closing handshake is
    /// over (or failed, or timed out) and every queued byte was written.
    ///
    /// The server closes the TCP connection first (RFC 6455 §7.1.1); a client
    /// waits for the server to do so (reported through
    /// [`feed_eof`](Self::feed_eof)) or for the close timeout.
    pub fn should_close_transport(&self) -> bool {
        self.state == State::Closed
            && self.out.is_empty()
            && (self.role == Role::Server
                || self.eof
                || self.failed
                || self.timed_out
                || self.write_closed)
    }

    /// Turns on permessage-deflate (RFC 7692) with the parameters both ends
    /// agreed on in the handshake (see [`crate::deflate`]). From now on RSV1
    /// marks compressed messages; received ones are inflated, and sent ones
    /// of at least `config.threshold` bytes are compressed.
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
    pub fn deflate_enabled(&self) -> bool {
        self.deflate.is_some()
    }

    /// Lets an extension (such as permessage-deflate, RFC 7692) claim RSV
    /// bits; frames carrying other RSV bits fail the connection (§5.2).
    pub fn set_allowed_rsv(&mut self, rsv: u8) {
        self.allowed_rsv = rsv & 0x7;
    }

    // ---- output ----

    /// The bytes waiting to be written to the transport.
    #[inline]
    pub fn output(&mut self) -> &mut Outgoing {
        &mut self.out
    }

    /// Heap bytes held by the connection's buffers (receive, reassembly,
    /// send), not counting compression state. For monitoring idle memory.
    pub fn buffer_capacity(&self) -> usize {
        #[cfg(feature = "deflate")]
        let scratch = self.deflate.as_ref().map_or(0, |d| d.scratch.capacity());
        #[cfg(not(feature = "deflate"))]
        let scratch = 0;
        self.rx.capacity() + self.assembly.capacity() + self.out.capacity() + scratch
    }

    /// Whether bytes are waiting to be written.
    #[inline]
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// How many bytes are queued to be written.
    pub fn output_len(&self) -> usize {
        self.out.len()
    }

    /// Moves every waiting byte into a new vector (a convenience for tests
    /// and simple callers; [`output`](Self::output) avoids the copy).
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
                self.state = State::Closed;
                self.timed_out = true;
                self.close_deadline = None;
                return;
            }
        }
        if self.state != State::Open {
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
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.should_close_transport() {
            return None;
        }
        // Give large buffers back a moment after traffic stops.
        let shrink = (self.clock_started && self.buffers_oversized()).then(|| self.shrink_due());
        let keepalive = match (self.state, self.ping_outstanding, self.config.ping_interval) {
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
        if self.failed {
            return;
        }
        if let Some(code) = err.close_code() {
            if !self.close_sent {
                // Errors carry no reason on the wire: the code says it all, and
                // the details may help an attacker.
                let _ = self.queue_close(Some(code), "");
            }
        }
        self.failed = true;
        self.state = State::Closed;
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
