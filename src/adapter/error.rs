//! The one error type of the adapters.

use std::io;

use crate::handshake::{HandshakeError, UriError};

/// What can go wrong in an adapter ([`blocking`](crate::blocking) or
/// `tokio`): I/O, the protocol, the opening handshake, permessage-deflate
/// negotiation. Both adapters return this same type.
///
/// ```
/// use rfc6455::adapter::Error;
/// let e = Error::from(rfc6455::Error::MessageTooLarge { limit: 1024 });
/// assert_eq!(e.close_code(), Some(rfc6455::CloseCode::MESSAGE_TOO_BIG));
/// assert!(!e.is_closed() && !e.is_would_block());
/// assert!(Error::ConnectionClosed.is_closed());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed. On a non-blocking stream (or one with a read
    /// timeout that expired) this includes `WouldBlock`/`TimedOut`:
    /// [`is_would_block`](Self::is_would_block), the call can be repeated.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer violated the protocol, or the caller misused the connection
    /// (the `Send*` errors of [`crate::Error`], which leave it usable).
    #[error(transparent)]
    Protocol(#[from] crate::Error),
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The URL given to connect is not a WebSocket URI.
    #[error("invalid URL: {0}")]
    Url(#[from] UriError),
    /// permessage-deflate negotiation failed: the server's answer does not
    /// fit the client's offer (RFC 7692 §7.1), or compression is
    /// [`required`](crate::deflate::DeflateConfig::required) and the peer
    /// did not agree to it ([`ParamError::Required`](crate::deflate::ParamError::Required);
    /// a server has answered the request with 400).
    #[cfg(feature = "deflate")]
    #[error("permessage-deflate negotiation failed: {0}")]
    Deflate(#[from] crate::deflate::ParamError),
    /// The handshake (including, for a client, resolving the host and
    /// opening the TCP connection) did not complete within the configured
    /// timeout. A server has answered the client with 408.
    #[error("the opening handshake timed out")]
    HandshakeTimeout,
    /// `connect` was given a `wss://` URL; open a TLS stream and use
    /// `connect_over`.
    #[error("wss:// needs a TLS stream: open one and use connect_over")]
    TlsRequired,
    /// The connection is closed: the closing handshake completed, or it
    /// failed earlier (that error was returned then).
    #[error("the connection is closed")]
    ConnectionClosed,
}

impl Error {
    /// Whether this is an I/O error that means "try again later"
    /// (`WouldBlock`, `TimedOut`): no data was lost, the call can be repeated.
    ///
    /// ```
    /// use std::io;
    /// use rfc6455::adapter::Error;
    /// assert!(Error::from(io::Error::from(io::ErrorKind::WouldBlock)).is_would_block());
    /// assert!(Error::from(io::Error::from(io::ErrorKind::TimedOut)).is_would_block());
    /// assert!(!Error::from(io::Error::from(io::ErrorKind::ConnectionReset)).is_would_block());
    /// ```
    pub fn is_would_block(&self) -> bool {
        matches!(self, Error::Io(e) if is_retry(e))
    }

    /// Whether this is [`Error::ConnectionClosed`], the normal end of a
    /// connection.
    ///
    /// ```
    /// use rfc6455::adapter::Error;
    /// # fn read() -> Result<rfc6455::Message, Error> { Err(Error::ConnectionClosed) }
    /// // A read loop: stop quietly at the normal end, report anything else.
    /// let outcome = loop {
    ///     match read() {
    ///         Ok(msg) => println!("{msg:?}"),
    ///         Err(e) if e.is_closed() => break Ok(()),
    ///         Err(e) => break Err(e),
    ///     }
    /// };
    /// assert!(outcome.is_ok());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::ConnectionClosed)
    }

    /// The close code a protocol error was reported to the peer with
    /// (RFC 6455 §7.4.1), if it is one.
    ///
    /// ```
    /// use rfc6455::adapter::Error;
    /// use rfc6455::CloseCode;
    /// let e = Error::from(rfc6455::Error::InvalidUtf8);
    /// assert_eq!(e.close_code(), Some(CloseCode::INVALID_PAYLOAD));
    /// assert_eq!(Error::HandshakeTimeout.close_code(), None); // not a protocol error
    /// ```
    pub fn close_code(&self) -> Option<crate::CloseCode> {
        match self {
            Error::Protocol(e) => e.close_code(),
            _ => None,
        }
    }
}

/// Whether an I/O error means "try again later" rather than "gone".
pub(crate) fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
