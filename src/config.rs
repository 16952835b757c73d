//! Connection settings: limits, buffer sizes, keepalive and timeouts.
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::{Config, Connection};
//!
//! let mut config = Config::default();
//! config.max_message_size = 1 << 20; // 1009 beyond 1 MiB
//! config.ping_interval = Some(Duration::from_secs(30)); // keepalive
//! config.close_timeout = Duration::from_secs(2);
//! let conn = Connection::server(config);
//! assert_eq!(conn.config().max_message_size, 1 << 20);
//! ```

use core::time::Duration;

/// Settings of a [`Connection`](crate::Connection).
///
/// Every limit has a default that is safe for a server facing the Internet
/// and large enough for the Autobahn TestSuite's 16 MiB messages.
///
/// ```
/// use rfc6455::Config;
/// use core::time::Duration;
/// let mut config = Config::default();
/// config.max_message_size = 64 << 20;
/// config.ping_interval = Some(Duration::from_secs(20));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest frame payload accepted, in bytes. A larger frame fails the
    /// connection with 1009 as soon as its header arrives, before any of its
    /// payload is buffered. Default: 16 MiB.
    pub max_frame_size: usize,
    /// Largest message accepted (the sum of its fragments), in bytes. A
    /// message that would pass it fails the connection with 1009 as soon as
    /// the header of the offending frame arrives. Default: 16 MiB.
    pub max_message_size: usize,
    /// Answer every Ping with a Pong carrying the same payload (RFC 6455
    /// §5.5.2). The Ping is reported to the application either way.
    /// Default: `true`.
    pub auto_pong: bool,
    /// Send a Ping when nothing has been received for this long, and fail
    /// the connection with 1011 if its Pong does not arrive within
    /// [`pong_timeout`](Self::pong_timeout). Needs the caller to drive
    /// [`Connection::handle_timeout`](crate::Connection::handle_timeout).
    /// Default: `None` (no keepalive).
    pub ping_interval: Option<Duration>,
    /// How long to wait for the Pong of a keepalive Ping. Default: 20 s.
    pub pong_timeout: Duration,
    /// How long to wait, after sending a Close frame, for the peer's Close
    /// frame (and, for a client, for the server to close the transport,
    /// RFC 6455 §7.1.1) before giving up. Default: 10 s.
    pub close_timeout: Duration,
    /// Size the receive buffer starts at and shrinks back to when idle.
    /// Default: 1 KiB (an idle connection's largest buffer; reads that
    /// keep filling it double it, up to `max_read_size`).
    pub read_buffer_size: usize,
    /// Largest read the receive buffer offers at once under load (it doubles
    /// from `read_buffer_size` while reads keep filling it). A frame being
    /// received whole may need more. Default: 128 KiB (a burst of small
    /// messages takes a few reads per megabyte; the buffer goes back to
    /// `read_buffer_size` when traffic drops).
    pub max_read_size: usize,
    /// Deliver data messages as [`Event::Fragment`](crate::Event::Fragment)s
    /// — the payload bytes as they arrive — instead of reassembled messages,
    /// so a proxy can relay a message of any size in bounded memory. UTF-8
    /// is still validated incrementally and the size limits still apply.
    /// Default: `false`.
    pub stream_fragments: bool,
    /// Capacity kept by the send buffer and the fragment-assembly buffer
    /// once they empty; anything above is released. Default: 1 KiB.
    pub buffer_retain: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            auto_pong: true,
            ping_interval: None,
            pong_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(10),
            read_buffer_size: 1024,
            max_read_size: 128 << 10,
            buffer_retain: 1024,
            stream_fragments: false,
        }
    }
}
