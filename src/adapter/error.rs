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
    /// `connect` was given a `wss://` URL without the `rustls` feature:
    /// turn the feature on (then `connect` opens `wss://` itself), or open a
    /// TLS stream yourself and use `connect_over`.
    #[error(
        "wss:// needs TLS: enable the `rustls` feature of rfc6455, or open a TLS stream yourself and use connect_over"
    )]
    TlsRequired,
    /// TLS failed (feature `rustls`): the peer's certificate did not verify
    /// (expired, not valid for this host name, unknown issuer, …), the peer
    /// refused ours or sent an alert, or the TLS data was corrupt. `host` is
    /// the server's host name as the URL gave it (client side) or the
    /// client's address (server side); `source` is rustls' reason.
    ///
    /// ```
    /// use rfc6455::adapter::Error;
    /// use rfc6455::rustls::{CertificateError, Error as TlsError};
    /// let e = Error::Tls {
    ///     host: "example.com".into(),
    ///     source: TlsError::InvalidCertificate(CertificateError::Expired),
    /// };
    /// assert_eq!(e.to_string(), "TLS with example.com failed: invalid peer certificate: Expired");
    /// ```
    #[cfg(feature = "rustls")]
    #[error("TLS with {host} failed: {source}")]
    Tls {
        /// The server's host name, or the client's address.
        host: std::string::String,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },
    /// The URL's host is not a name a TLS certificate can be checked
    /// against (feature `rustls`). Reported before anything is sent.
    ///
    /// ```
    /// let e = rfc6455::blocking::connect("wss://-chat.example/").unwrap_err();
    /// assert!(matches!(e, rfc6455::adapter::Error::TlsServerName { .. }), "{e}");
    /// assert_eq!(e.to_string(), "-chat.example is not a valid TLS server name: invalid dns name");
    /// ```
    #[cfg(feature = "rustls")]
    #[error("{host} is not a valid TLS server name: {source}")]
    TlsServerName {
        /// The host as the URL gave it.
        host: std::string::String,
        /// Why rustls refused it.
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// A `wss://` URL reached a server that answered the TLS handshake in
    /// plaintext (feature `rustls`; typically `HTTP/1.1 400`): the port
    /// serves `ws://`. Reported as soon as the answer arrives.
    ///
    /// ```
    /// let e = rfc6455::adapter::Error::PlaintextServer { host: "localhost".into() };
    /// assert_eq!(
    ///     e.to_string(),
    ///     "localhost answered in plaintext, not TLS: the port serves ws://, not wss://"
    /// );
    /// ```
    #[cfg(feature = "rustls")]
    #[error("{host} answered in plaintext, not TLS: the port serves ws://, not wss://")]
    PlaintextServer {
        /// The server's host name.
        host: std::string::String,
    },
    /// A `ws://` URL reached a server that answered with TLS (a TLS alert
    /// or handshake record instead of an HTTP response): the port serves
    /// `wss://`. Reported as soon as the answer arrives.
    ///
    /// ```
    /// let e = rfc6455::adapter::Error::TlsServer { host: "localhost".into() };
    /// assert_eq!(
    ///     e.to_string(),
    ///     "localhost answered with TLS: the port serves wss://, not ws://"
    /// );
    /// ```
    #[error("{host} answered with TLS: the port serves wss://, not ws://")]
    TlsServer {
        /// The server's host name.
        host: std::string::String,
    },
    /// The connection is closed: the closing handshake completed, or it
    /// failed earlier (that error was returned then).
    #[error("the connection is closed")]
    ConnectionClosed,
    /// hyper could not hand the connection (or the HTTP/2 stream) over
    /// after the handshake answer (feature `hyper`).
    #[cfg(feature = "hyper")]
    #[error("hyper did not hand the upgraded connection over: {0}")]
    Upgrade(#[source] ::hyper::Error),
    /// The HTTP/2 connection or stream failed (feature `hyper`).
    #[cfg(feature = "hyper")]
    #[error("HTTP/2: {0}")]
    Http2(#[from] ::h2::Error),
    /// The HTTP/2 server did not send `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`
    /// (RFC 8441 §3), so no WebSocket can be opened on its connection: open
    /// it over HTTP/1.1 (feature `hyper`).
    #[cfg(feature = "hyper")]
    #[error("the HTTP/2 server does not accept WebSockets (no SETTINGS_ENABLE_CONNECT_PROTOCOL): use HTTP/1.1")]
    ExtendedConnectDisabled,
    /// A TLS server did not agree on `h2` by ALPN (it chose `http/1.1`, or
    /// nothing), so the connection cannot carry HTTP/2 (RFC 9113 §3.2):
    /// open the WebSocket over HTTP/1.1 (features `hyper` and `rustls`).
    #[cfg(all(feature = "hyper", feature = "rustls"))]
    #[error("{host} did not agree on HTTP/2 by ALPN: use HTTP/1.1")]
    Http2NotNegotiated {
        /// The host of the URL.
        host: std::string::String,
    },
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

/// Whether the first bytes of an answer that is not HTTP are a TLS record
/// header (content type 20-24, then major version 3): what a TLS server
/// sends to a plaintext request (an alert, `15 03 0x`).
pub(crate) fn is_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x14..=0x18, 0x03, ..])
}

/// Whether an I/O error means "try again later" rather than "gone".
pub(crate) fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
