//! The connection's error type and its mapping to close codes.
//!
//! ```
//! use rfc6455::{CloseCode, Config, Connection, Error};
//!
//! let mut config = Config::default();
//! config.max_message_size = 16;
//! let mut client = Connection::client(Config::default());
//! client.send_text("more than sixteen bytes")?;
//! let mut server = Connection::server(config);
//! server.feed(&client.take_output());
//! let err = server.next_event().unwrap_err();
//! assert_eq!(err, Error::MessageTooLarge { limit: 16 });
//! assert_eq!(err.close_code(), Some(CloseCode::MESSAGE_TOO_BIG)); // the Close it queued
//! # Ok::<(), Error>(())
//! ```

use crate::close::CloseCode;

/// Everything that can go wrong on an open connection.
///
/// Errors caused by the peer (the `Protocol*`, `InvalidUtf8`, `*TooLarge`
/// and close-frame variants) fail the connection: the [`Connection`] has
/// already queued a Close frame carrying [`Error::close_code`] when it
/// returns one. Errors caused by the caller (`Send*`, `Invalid*Payload`)
/// leave the connection as it was.
///
/// ```
/// use rfc6455::{CloseCode, Config, Connection, Error};
///
/// let mut server = Connection::server(Config::default());
/// server.feed(&[0x81, 0x02, b'h', b'i']); // a client frame without a mask
/// let err = server.next_event().unwrap_err();
/// assert_eq!(err, Error::UnmaskedFrame);
/// assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
/// assert_eq!(server.take_output(), [0x88, 0x02, 0x03, 0xea]); // Close 1002, queued
///
/// // The caller's mistakes leave the connection as it was.
/// let mut client = Connection::client(Config::default());
/// assert_eq!(client.send_ping(&[0; 126]), Err(Error::InvalidControlPayload(126)));
/// assert!(client.send_ping(b"fine").is_ok());
/// ```
///
/// [`Connection`]: crate::Connection
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- framing (RFC 6455 §5.2) ---
    /// An RSV bit was set but no extension defining it was negotiated (§5.2).
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// An opcode reserved for future use (3-7, 0xB-0xF) was received (§5.2).
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A 64-bit payload length had its most significant bit set (§5.2).
    #[error("64-bit payload length with the most significant bit set")]
    InvalidLength,
    /// A control frame had FIN clear (§5.5).
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A control frame's payload exceeded 125 bytes (§5.5).
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlTooLong(u64),
    /// A server received an unmasked frame from a client (§5.1).
    #[error("client frame is not masked")]
    UnmaskedFrame,
    /// A client received a masked frame from a server (§5.1).
    #[error("server frame is masked")]
    MaskedFrame,
    /// A continuation frame arrived with no message open (§5.4).
    #[error("continuation frame with no message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame arrived while a fragmented message was open (§5.4).
    #[error("new data frame while a fragmented message is open")]
    ExpectedContinuation,

    // --- payloads ---
    /// A text message, or a close reason, was not valid UTF-8 (§5.6, §8.1).
    #[error("invalid UTF-8 in a text message")]
    InvalidUtf8,
    /// A compressed message could not be inflated (RFC 7692 §8.1; this crate
    /// closes with 1007).
    #[error("invalid compressed data")]
    InvalidCompressedData,
    /// A close reason was not valid UTF-8 (§5.5.1).
    #[error("invalid UTF-8 in a close reason")]
    InvalidCloseReason,
    /// A Close frame had a 1-byte body (§5.5.1).
    #[error("close frame body of 1 byte")]
    CloseBodyTooShort,
    /// A Close frame carried a code not allowed on the wire (§7.4).
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),

    // --- limits ---
    /// A frame's payload exceeded [`Config::max_frame_size`](crate::Config::max_frame_size).
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooLarge {
        /// The announced payload length.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message exceeded [`Config::max_message_size`](crate::Config::max_message_size).
    #[error("message exceeds the limit of {limit} bytes")]
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },

    // --- transport ---
    /// The transport ended without a closing handshake (§7.1.5: code 1006),
    /// possibly in the middle of a frame.
    #[error("connection closed without a closing handshake")]
    AbnormalClosure,
    /// No pong answered a keepalive ping in time.
    #[error("keepalive ping timed out")]
    KeepaliveTimeout,

    // --- caller errors ---
    /// A send was attempted after a Close frame was sent or the connection failed.
    #[error("cannot send: the connection is closing or closed")]
    SendAfterClose,
    /// A control frame payload given to send exceeded 125 bytes (§5.5).
    #[error("control frame payload of {0} bytes exceeds 125")]
    InvalidControlPayload(usize),
    /// A close reason given to send exceeded 123 bytes (§5.5).
    #[error("close reason of {0} bytes exceeds 123")]
    CloseReasonTooLong(usize),
    /// A close code given to send may not appear on the wire (§7.4).
    #[error("close code {0} may not be sent")]
    InvalidSendCode(u16),
    /// A fragment was sent out of sequence: a continuation with no message
    /// open, a new message while one is open, or a different kind.
    #[error("fragment sent out of sequence")]
    SendSequence,
    /// A text fragment given to send was not valid UTF-8 once joined.
    #[error("text fragments given to send are not valid UTF-8")]
    SendInvalidUtf8,
}

impl Error {
    /// The close code this error sends to the peer, as RFC 6455 §7.4.1
    /// prescribes, or `None` for errors that do not fail the connection
    /// (the caller's mistakes) or that close without a frame.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Error};
    /// assert_eq!(Error::InvalidUtf8.close_code(), Some(CloseCode::INVALID_PAYLOAD));
    /// assert_eq!(Error::SendAfterClose.close_code(), None);
    /// ```
    pub fn close_code(&self) -> Option<CloseCode> {
        use Error::*;
        Some(match self {
            ReservedBits
            | ReservedOpcode(_)
            | InvalidLength
            | FragmentedControl
            | ControlTooLong(_)
            | UnmaskedFrame
            | MaskedFrame
            | UnexpectedContinuation
            | ExpectedContinuation
            | CloseBodyTooShort
            | InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
            InvalidUtf8 | InvalidCloseReason | InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            FrameTooLarge { .. } | MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            AbnormalClosure
            | SendAfterClose
            | InvalidControlPayload(_)
            | CloseReasonTooLong(_)
            | InvalidSendCode(_)
            | SendSequence
            | SendInvalidUtf8 => return None,
        })
    }

    /// Whether the error was caused by the caller rather than the peer; such
    /// errors leave the connection usable.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error};
    /// let mut conn = Connection::server(Config::default());
    /// let err = conn.send_pong(&[0; 200]).unwrap_err();
    /// assert!(err.is_caller_error()); // fix the call; the connection is fine
    /// assert!(!Error::InvalidUtf8.is_caller_error()); // the peer's fault: the connection failed
    /// ```
    pub fn is_caller_error(&self) -> bool {
        use Error::*;
        matches!(
            self,
            SendAfterClose
                | InvalidControlPayload(_)
                | CloseReasonTooLong(_)
                | InvalidSendCode(_)
                | SendSequence
                | SendInvalidUtf8
        )
    }
}
