//! Close codes and close frame bodies (RFC 6455 §5.5.1, §7.4).
//!
//! ```
//! use rfc6455::close::check_outgoing;
//! use rfc6455::{CloseCode, Message};
//!
//! // An application code from the private range, checked before it is sent.
//! let code = CloseCode::new(4000);
//! check_outgoing(Some(code), "session expired")?;
//! let bye = Message::Close(Some(rfc6455::CloseFrame { code: Some(code), reason: "session expired" }.to_owned()));
//! assert!(bye.is_close());
//! # Ok::<(), rfc6455::Error>(())
//! ```

use core::fmt;

/// A status code carried by a Close frame (RFC 6455 §7.4).
///
/// The constants name the codes the RFC defines. Any `u16` can be held, but
/// only some may appear on the wire: see [`CloseCode::is_valid_on_wire`].
///
/// ```
/// use rfc6455::CloseCode;
/// assert_eq!(u16::from(CloseCode::PROTOCOL_ERROR), 1002);
/// assert!(CloseCode::new(4000).is_valid_on_wire());
/// assert!(!CloseCode::NO_STATUS.is_valid_on_wire());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: an endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the endpoint received a frame that violates the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a type of data it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: reserved; reported locally when a Close frame had no code. Never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: reserved; reported locally when the connection dropped without a
    /// Close frame. Never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a message's data was not consistent with its type (e.g. invalid
    /// UTF-8 in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: reserved; reported locally when the TLS handshake failed. Never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Wraps a raw code.
    ///
    /// ```
    /// use rfc6455::CloseCode;
    /// let code = CloseCode::new(4001); // private use (RFC 6455 §7.4.2)
    /// assert!(code.is_valid_on_wire());
    /// assert_eq!(code, CloseCode::from(4001));
    /// ```
    pub const fn new(code: u16) -> CloseCode {
        CloseCode(code)
    }

    /// The raw code.
    ///
    /// ```
    /// use rfc6455::CloseCode;
    /// assert_eq!(CloseCode::GOING_AWAY.as_u16(), 1001);
    /// assert_eq!(CloseCode::NORMAL.to_string(), "1000");
    /// ```
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether this code may appear in a Close frame on the wire.
    ///
    /// RFC 6455 §7.4.1 defines 1000-1003 and 1007-1011 for use on the wire and
    /// reserves 1004-1006 and 1015; §7.4.2 reserves 0-999 and leaves
    /// 1000-2999 to the RFC and its extensions, 3000-3999 to registered
    /// libraries and 4000-4999 to private use. We also accept 1012-1014,
    /// which IANA registered after the RFC (and which servers send when they
    /// restart), and nothing else in 1012-2999.
    ///
    /// ```
    /// use rfc6455::CloseCode;
    /// assert!(CloseCode::NORMAL.is_valid_on_wire());
    /// assert!(CloseCode::SERVICE_RESTART.is_valid_on_wire()); // 1012
    /// assert!(!CloseCode::ABNORMAL.is_valid_on_wire()); // 1006: reported locally only
    /// assert!(!CloseCode::new(2000).is_valid_on_wire()); // reserved for the RFC's extensions
    /// ```
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The body of a Close frame: an optional code and a UTF-8 reason
/// (RFC 6455 §5.5.1).
///
/// A received Close frame with an empty body has `code == None` (reported to
/// applications as 1005 by convention, [`CloseCode::NO_STATUS`]).
///
/// ```
/// use rfc6455::{CloseCode, Config, Connection, Event};
///
/// let mut client = Connection::client(Config::default());
/// let mut server = Connection::server(Config::default());
/// client.close(CloseCode::GOING_AWAY, "page closed")?;
/// server.feed(&client.take_output());
/// match server.next_event()? {
///     Some(Event::Close(frame)) => {
///         assert_eq!(frame.code, Some(CloseCode::GOING_AWAY));
///         assert_eq!(frame.reason, "page closed"); // borrowed from the connection
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code, if the frame carried one.
    pub code: Option<CloseCode>,
    /// The reason, possibly empty (always empty when `code` is `None`).
    pub reason: &'a str,
}

impl CloseFrame<'_> {
    /// The code, or [`CloseCode::NO_STATUS`] when the frame had none.
    ///
    /// ```
    /// use rfc6455::{CloseCode, CloseFrame};
    /// let empty = CloseFrame { code: None, reason: "" };
    /// assert_eq!(empty.code_or_no_status(), CloseCode::NO_STATUS); // 1005
    /// let normal = CloseFrame { code: Some(CloseCode::NORMAL), reason: "bye" };
    /// assert_eq!(normal.code_or_no_status(), CloseCode::NORMAL);
    /// ```
    pub fn code_or_no_status(&self) -> CloseCode {
        self.code.unwrap_or(CloseCode::NO_STATUS)
    }

    /// An owned copy.
    ///
    /// ```
    /// use rfc6455::close::OwnedCloseFrame;
    /// use rfc6455::{CloseCode, CloseFrame};
    /// let frame = CloseFrame { code: Some(CloseCode::NORMAL), reason: "bye" };
    /// let owned: OwnedCloseFrame = frame.to_owned(); // outlives the connection's buffer
    /// assert_eq!(owned.reason, "bye");
    /// ```
    pub fn to_owned(&self) -> OwnedCloseFrame {
        OwnedCloseFrame {
            code: self.code,
            reason: alloc::string::String::from(self.reason),
        }
    }
}

/// An owned [`CloseFrame`].
///
/// ```
/// use rfc6455::close::OwnedCloseFrame;
/// use rfc6455::{CloseCode, Message};
/// let bye = Message::Close(Some(OwnedCloseFrame { code: Some(CloseCode::NORMAL), reason: "bye".into() }));
/// assert!(bye.is_close());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedCloseFrame {
    /// The status code, if the frame carried one.
    pub code: Option<CloseCode>,
    /// The reason, possibly empty.
    pub reason: alloc::string::String,
}

/// Largest reason a Close frame can carry: 125 bytes of control payload
/// minus the 2-byte code (RFC 6455 §5.5).
///
/// ```
/// use rfc6455::close::{check_outgoing, MAX_REASON_LEN};
/// use rfc6455::CloseCode;
/// let long = "x".repeat(MAX_REASON_LEN + 1);
/// assert!(check_outgoing(Some(CloseCode::NORMAL), &long[1..]).is_ok());
/// assert!(check_outgoing(Some(CloseCode::NORMAL), &long).is_err());
/// ```
pub const MAX_REASON_LEN: usize = 123;

/// Checks a Close frame this endpoint is asked to send: a code that may
/// appear on the wire (RFC 6455 §7.4: not 1005, 1006, 1015 or a reserved
/// one), a reason of at most [`MAX_REASON_LEN`] bytes, and no reason without
/// a code (§5.5.1: the body starts with the code). Every way of closing, in
/// the core and in both adapters, goes through this one check.
///
/// ```
/// use rfc6455::close::{check_outgoing, CloseCode};
/// use rfc6455::Error;
/// assert_eq!(check_outgoing(Some(CloseCode::NORMAL), "bye"), Ok(()));
/// assert_eq!(check_outgoing(None, ""), Ok(()));
/// assert_eq!(
///     check_outgoing(Some(CloseCode::ABNORMAL), ""),
///     Err(Error::InvalidSendCode(1006))
/// );
/// assert_eq!(check_outgoing(None, "why"), Err(Error::CloseReasonTooLong(3)));
/// ```
pub fn check_outgoing(code: Option<CloseCode>, reason: &str) -> Result<(), crate::Error> {
    if let Some(code) = code {
        if !code.is_valid_on_wire() {
            return Err(crate::Error::InvalidSendCode(code.as_u16()));
        }
    }
    if reason.len() > MAX_REASON_LEN || (code.is_none() && !reason.is_empty()) {
        return Err(crate::Error::CloseReasonTooLong(reason.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_rfc_7_4() {
        for c in 0..=u16::MAX {
            let expected = matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(CloseCode::new(c).is_valid_on_wire(), expected, "{c}");
        }
        for c in [1004, 1005, 1006, 1015, 999, 0, 2999, 5000, 65535] {
            assert!(!CloseCode::new(c).is_valid_on_wire());
        }
    }
}
