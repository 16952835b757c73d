//! Typed errors of the opening handshake, and the HTTP responses that a
//! server sends for them.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::response::Response;

/// Everything that can go wrong during the opening handshake (RFC 6455 §4).
///
/// Server-side rejections of a client's request know the HTTP response that
/// RFC 6455 §4.2.1 asks for: see [`HandshakeError::http_status`] and
/// [`HandshakeError::response`]. Client-side failures ("_Fail the WebSocket
/// Connection_", RFC 6455 §4.1) and application mistakes have no response.
///
/// ```
/// use rfc6455::handshake::{HandshakeError, Limits, ServerHandshake};
///
/// // A client that is not a WebSocket client (it asks for HTTP/2).
/// let head = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// let err = request.validate().unwrap_err();
/// assert!(matches!(err, HandshakeError::UpgradeNotWebSocket));
/// let answer = err.response().expect("a server-side error"); // send it, then close
/// assert!(answer.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    // ----- reading a head (both sides) -----
    /// The head did not end within [`Limits::max_head_bytes`](super::Limits)
    /// bytes (RFC 6455 §10.4). Server response: 431.
    #[error("HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The head has more than [`Limits::max_headers`](super::Limits) header
    /// fields (RFC 6455 §10.4). Server response: 431.
    #[error("HTTP head has more than {limit} header fields")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The head is not valid HTTP/1.x. Server response: 400.
    #[error("malformed HTTP head: {0}")]
    MalformedHead(httparse::Error),
    /// The request head did not arrive within the server's handshake
    /// timeout. The core has no clock: adapters report this when their timer
    /// fires, and send its [`response`](Self::response) (408) before closing.
    #[error("the request head did not arrive in time")]
    RequestTimeout,
    /// `feed` was called again after the handshake completed or failed.
    #[error("the handshake has already completed or failed")]
    Finished,

    // ----- server: validating the client's request (RFC 6455 §4.2.1) -----
    /// The request method is not `GET` (RFC 6455 §4.2.1 item 1). Response: 400.
    #[error("the handshake request method must be GET")]
    MethodNotGet,
    /// The request is HTTP/1.0 (RFC 6455 §4.2.1 item 1). Response: 400.
    #[error("the handshake request must be HTTP/1.1 or later")]
    HttpVersion,
    /// The request target is neither in origin form (`/path?query`) nor in
    /// absolute form with a `ws`, `wss`, `http` or `https` scheme and a host
    /// (RFC 6455 §3, §4.1 item 2; RFC 9112 §3.2), or it has a fragment or
    /// user information. Response: 400.
    #[error("request target is neither /path nor an absolute ws:// or http:// URI")]
    InvalidTarget,
    /// No `Host` header (RFC 6455 §4.2.1 item 2). Response: 400.
    #[error("missing Host header")]
    MissingHost,
    /// A `Host` header that is not one `host[:port]` with a port from 1 to
    /// 65535, or more than one `Host` (RFC 9112 §3.2: "A server MUST
    /// respond with a 400 (Bad Request)"). Response: 400.
    #[error("invalid or repeated Host header")]
    InvalidHost,
    /// `Upgrade` is absent or lacks the token `websocket` (RFC 6455 §4.2.1
    /// item 3). Response: 426 with `Upgrade: websocket` (RFC 9110 §15.5.22:
    /// this resource is reached only by upgrading).
    #[error("Upgrade header does not contain \"websocket\"")]
    UpgradeNotWebSocket,
    /// `Connection` is absent or lacks the token `Upgrade` (RFC 6455 §4.2.1
    /// item 4). Response: 426 with `Upgrade: websocket`.
    #[error("Connection header does not contain \"Upgrade\"")]
    ConnectionNotUpgrade,
    /// No `Sec-WebSocket-Key` header (RFC 6455 §4.2.1 item 5). Response: 400.
    #[error("missing Sec-WebSocket-Key header")]
    MissingKey,
    /// `Sec-WebSocket-Key` is repeated or does not decode to 16 bytes
    /// (RFC 6455 §4.2.1 item 5). Response: 400.
    #[error("Sec-WebSocket-Key is not the base64 encoding of 16 bytes")]
    InvalidKey,
    /// No `Sec-WebSocket-Version` header (RFC 6455 §4.2.1 item 6).
    /// Response: 426 with `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
    #[error("missing Sec-WebSocket-Version header")]
    MissingVersion,
    /// `Sec-WebSocket-Version` is not `13` (RFC 6455 §4.2.1 item 6).
    /// Response: 426 with `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
    #[error("unsupported Sec-WebSocket-Version (only 13 is supported)")]
    UnsupportedVersion,
    /// `Sec-WebSocket-Protocol` is not a comma-separated list of tokens
    /// (RFC 6455 §4.1 item 10, §4.3). Response: 400.
    #[error("malformed Sec-WebSocket-Protocol header")]
    MalformedSubprotocols,
    /// The request's `Sec-WebSocket-Extensions` does not follow the grammar
    /// of RFC 6455 §9.1 (or, on the client, the offer being built does not).
    /// Server response: 400.
    #[error("malformed Sec-WebSocket-Extensions header")]
    MalformedExtensions,

    // ----- server: validating an HTTP/2 extended CONNECT (RFC 8441 §4, §5) -----
    /// An HTTP/2 request for a WebSocket that is not a `CONNECT` (RFC 8441
    /// §4). Response: 400.
    #[error("the HTTP/2 WebSocket request method must be CONNECT")]
    MethodNotConnect,
    /// A `CONNECT` without a `:protocol` pseudo-header field: a plain
    /// tunnel request, not the extended CONNECT of RFC 8441 §4.
    /// Response: 400.
    #[error("CONNECT request without a :protocol pseudo-header field")]
    MissingProtocol,
    /// An extended CONNECT whose `:protocol` is not `websocket` (RFC 8441
    /// §5). Response: 501 (RFC 9220 §3: an unknown or unsupported
    /// protocol).
    #[error("extended CONNECT for protocol {0:?}, not websocket")]
    UnsupportedProtocol(String),
    /// An extended CONNECT without `:scheme`, `:path` or `:authority`
    /// (RFC 8441 §4 requires all three with `:protocol`; RFC 9113 §8.3.1).
    /// Response: 400.
    #[error("extended CONNECT without the {0} pseudo-header field")]
    MissingPseudoHeader(&'static str),
    /// `:scheme` is neither `http` nor `https` (RFC 8441 §5: `http` for
    /// `ws`, `https` for `wss`). Response: 400.
    #[error(":scheme must be http or https")]
    InvalidScheme,
    /// An HTTP/2 request carrying `Connection`, `Upgrade` or another
    /// connection-specific field (RFC 8441 §5: they "MUST NOT be included";
    /// RFC 9113 §8.2.2). Response: 400.
    #[error("connection-specific header field in an HTTP/2 request")]
    ConnectionSpecificHeader,

    // ----- application mistakes (no response) -----
    /// The application chose a subprotocol that the client did not offer
    /// (RFC 6455 §4.2.2 item 5.4).
    #[error("subprotocol {0:?} was not offered by the client")]
    SubprotocolNotOffered(String),
    /// A header name is not a token, or a header value (or subprotocol or
    /// extension value) contains CR, LF or NUL: writing it would allow
    /// header injection.
    #[error("invalid header name or value (header injection)")]
    InvalidHeader,
    /// A status code outside 100..=999 was asked for.
    #[error("invalid HTTP status code {0}")]
    InvalidStatus(u16),

    // ----- client: validating the server's response (RFC 6455 §4.1) -----
    /// The server did not answer `101` (RFC 6455 §4.1, validation item 1).
    /// Carries the response head and the body bytes that arrived in the same
    /// `feed` call after the head.
    #[error("server answered with status {} instead of accepting the upgrade (101 on HTTP/1.1, 200 on HTTP/2)", .response.status())]
    UnexpectedStatus {
        /// The parsed response head.
        response: Box<Response>,
        /// Bytes that followed the head in the input given to `feed`.
        body: Vec<u8>,
    },
    /// The response's `Upgrade` header lacks `websocket` (RFC 6455 §4.1,
    /// validation item 2).
    #[error("response Upgrade header does not contain \"websocket\"")]
    ResponseUpgrade,
    /// The response's `Connection` header lacks `Upgrade` (RFC 6455 §4.1,
    /// validation item 3).
    #[error("response Connection header does not contain \"Upgrade\"")]
    ResponseConnection,
    /// The response has no `Sec-WebSocket-Accept` (RFC 6455 §4.1, validation
    /// item 4).
    #[error("response lacks Sec-WebSocket-Accept")]
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key we sent (RFC 6455 §4.1,
    /// validation item 4).
    #[error("Sec-WebSocket-Accept does not match the key")]
    AcceptMismatch,
    /// The response head did not end within
    /// [`Limits::max_head_bytes`](super::Limits) bytes.
    #[error("HTTP response head exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The response head has more than
    /// [`Limits::max_headers`](super::Limits) header fields.
    #[error("HTTP response head has more than {limit} header fields")]
    ResponseTooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The response head is not valid HTTP/1.x.
    #[error("malformed HTTP response head: {0}")]
    MalformedResponse(httparse::Error),
    /// The response's `Sec-WebSocket-Extensions` does not follow the grammar
    /// of RFC 6455 §9.1.
    #[error("malformed Sec-WebSocket-Extensions header in the response")]
    MalformedResponseExtensions,
    /// The server selected an extension that was not offered (RFC 6455 §4.1,
    /// validation item 5).
    #[error("server selected extension {0:?}, which was not offered")]
    ExtensionNotOffered(String),
    /// The server selected a subprotocol that was not offered, or sent a
    /// `Sec-WebSocket-Protocol` that is not a single token (RFC 6455 §4.1,
    /// validation item 6).
    #[error("server selected a subprotocol that was not offered")]
    ResponseSubprotocol,
}

impl HandshakeError {
    /// The HTTP status a server answers with for this error, or `None` for
    /// client-side failures and application mistakes.
    ///
    /// RFC 6455 §4.2.1: 400 for a malformed handshake; §4.4: 426 for an
    /// unsupported version; RFC 6585 §5: 431 for an oversized head.
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// assert_eq!(HandshakeError::MissingKey.http_status(), Some(400));
    /// assert_eq!(HandshakeError::UnsupportedVersion.http_status(), Some(426));
    /// assert_eq!(HandshakeError::HeadTooLarge { limit: 16384 }.http_status(), Some(431));
    /// assert_eq!(HandshakeError::AcceptMismatch.http_status(), None); // a client-side failure
    /// ```
    pub fn http_status(&self) -> Option<u16> {
        use HandshakeError::*;
        match self {
            HeadTooLarge { .. } | TooManyHeaders { .. } => Some(431),
            MissingVersion | UnsupportedVersion | UpgradeNotWebSocket | ConnectionNotUpgrade => {
                Some(426)
            }
            RequestTimeout => Some(408),
            MalformedHead(_)
            | MethodNotGet
            | HttpVersion
            | InvalidTarget
            | MissingHost
            | InvalidHost
            | MissingKey
            | InvalidKey
            | MalformedSubprotocols
            | MalformedExtensions
            | MethodNotConnect
            | MissingProtocol
            | MissingPseudoHeader(_)
            | InvalidScheme
            | ConnectionSpecificHeader => Some(400),
            UnsupportedProtocol(_) => Some(501),
            _ => None,
        }
    }

    /// The HTTP status for this error when the request came as an HTTP/2
    /// extended CONNECT ([`ConnectRequest`](super::ConnectRequest)), or
    /// `None` as for [`http_status`](Self::http_status).
    ///
    /// The same as [`http_status`](Self::http_status) but for a missing or
    /// unsupported `Sec-WebSocket-Version`: 400 instead of 426, because a
    /// 426 must carry an `Upgrade` field (RFC 9110 §15.5.22) that HTTP/2
    /// forbids (RFC 9113 §8.2.2); RFC 6455 §4.4 asks for "an appropriate
    /// HTTP error code" with `Sec-WebSocket-Version: 13`, which the answer
    /// keeps.
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// assert_eq!(HandshakeError::UnsupportedVersion.http_status(), Some(426));
    /// assert_eq!(HandshakeError::UnsupportedVersion.h2_status(), Some(400));
    /// assert_eq!(HandshakeError::UnsupportedProtocol("mqtt".into()).h2_status(), Some(501));
    /// ```
    pub fn h2_status(&self) -> Option<u16> {
        match self.http_status()? {
            426 => Some(400),
            status => Some(status),
        }
    }
}

/// Errors from [`Uri::parse`](super::Uri::parse) (RFC 6455 §3).
///
/// ```
/// use rfc6455::handshake::{Uri, UriError};
/// assert_eq!(Uri::parse("http://example.com/"), Err(UriError::UnsupportedScheme));
/// assert_eq!(Uri::parse("ws://example.com/#top"), Err(UriError::Fragment));
/// assert_eq!(Uri::parse("ws://example.com:99999/"), Err(UriError::InvalidPort));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The text has no `scheme://` prefix.
    #[error("not an absolute URI (expected ws:// or wss://)")]
    NotAbsolute,
    /// The scheme is neither `ws` nor `wss`.
    #[error("unsupported scheme (expected ws or wss)")]
    UnsupportedScheme,
    /// A fragment (`#...`) is present; RFC 6455 §3 forbids it.
    #[error("WebSocket URIs must not contain a fragment")]
    Fragment,
    /// The host is empty.
    #[error("empty host")]
    EmptyHost,
    /// The host contains characters not allowed by RFC 3986 §3.2.2, or an
    /// IPv6 literal is not closed by `]`.
    #[error("invalid host")]
    InvalidHost,
    /// The port is not a decimal number in 1..=65535.
    #[error("invalid port")]
    InvalidPort,
    /// User information (`user@`) is present; it is not part of a WebSocket
    /// URI (RFC 6455 §3).
    #[error("user information is not allowed in WebSocket URIs")]
    UserInfo,
    /// The path or query contains a character that RFC 3986 §3.3/§3.4 does
    /// not allow there (whitespace, controls, non-ASCII, quotes, braces...).
    #[error("invalid character in path or query")]
    InvalidCharacter,
}
