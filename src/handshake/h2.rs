//! The opening handshake over HTTP/2 (RFC 8441): the extended CONNECT,
//! both roles, sans-IO.
//!
//! A WebSocket over HTTP/2 is one stream of an HTTP/2 connection; its
//! frames are the RFC 6455 frames, only the opening handshake differs. The
//! client sends a `CONNECT` with the pseudo-header field `:protocol =
//! websocket` and `:scheme`, `:path` and `:authority` (RFC 8441 §4, §5);
//! there is no `Sec-WebSocket-Key`, no `Sec-WebSocket-Accept`, no
//! `Upgrade` and no `Connection` field, and the server agrees with a `200`.
//! `Sec-WebSocket-Version`, `Sec-WebSocket-Protocol`,
//! `Sec-WebSocket-Extensions` and `Origin` mean what they mean in RFC 6455
//! (RFC 8441 §5), and are checked and negotiated by the same code as the
//! HTTP/1.1 upgrade.
//!
//! The HTTP/2 framing (HPACK, streams, flow control, the
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL` setting of RFC 8441 §3) belongs to an
//! HTTP/2 library; these types take and give header fields as it does:
//! pseudo-header fields ([`PseudoHeaders`]), then the other fields as name
//! and value pairs.
//!
//! * Server: [`ConnectRequest::from_parts`], then [`ConnectRequest::accept`]
//!   (the `200` as [`ResponseParts`]) or, for an invalid request, the
//!   error's [`h2_response`](HandshakeError::h2_response).
//! * Client: [`ClientConnect::new`] gives the request's fields;
//!   [`ClientConnect::check`] checks the response's.
//!
//! ```
//! use rfc6455::handshake::{Accept, ClientConnect, ClientOptions, ConnectRequest, Limits, Uri};
//!
//! // Client: the request's fields.
//! let uri = Uri::parse("wss://example.com/chat")?;
//! let client = ClientConnect::new(&uri, &ClientOptions::new().subprotocol("chat"))?;
//! let pseudo = client.pseudo();
//! assert_eq!((pseudo.method, pseudo.protocol, pseudo.scheme), ("CONNECT", Some("websocket"), Some("https")));
//!
//! // Server: the same fields, as its HTTP/2 library hands them over.
//! let request = ConnectRequest::from_parts(&pseudo, client.headers(), Limits::default())?;
//! assert_eq!(request.path(), "/chat");
//! let answer = request.accept(&Accept::new().subprotocol("chat"))?;
//! assert_eq!(answer.status, 200);
//!
//! // Client: the answer's status and fields.
//! let response = client.check(answer.status, &answer.headers)?;
//! assert_eq!(response.subprotocol(), Some("chat"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use super::client::{as_response_error, check_agreed, check_options, offer_headers};
use super::error::HandshakeError;
use super::head::Limits;
use super::headers::{word_is_valid, Extension, HeaderField, Headers, PartsBuilder, Span};
use super::request::{authority_is_valid, Accept, FieldScan};
use super::response::Response;
use super::uri::Uri;
use super::write::ResponseParts;
use super::ClientOptions;

/// The pseudo-header fields of an HTTP/2 request (RFC 9113 §8.3.1), with
/// the `:protocol` of RFC 8441 §4.
///
/// ```
/// use rfc6455::handshake::PseudoHeaders;
/// // What a browser sends for new WebSocket("wss://example.com/chat").
/// let pseudo = PseudoHeaders {
///     method: "CONNECT",
///     protocol: Some("websocket"),
///     scheme: Some("https"),
///     path: Some("/chat"),
///     authority: Some("example.com"),
/// };
/// assert_eq!(pseudo, PseudoHeaders::websocket("https", "example.com", "/chat"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudoHeaders<'a> {
    /// `:method`: `CONNECT` for a WebSocket.
    pub method: &'a str,
    /// `:protocol`: `websocket` for a WebSocket (RFC 8441 §5).
    pub protocol: Option<&'a str>,
    /// `:scheme`: `https` for `wss`, `http` for `ws` (RFC 8441 §5).
    pub scheme: Option<&'a str>,
    /// `:path`: the path and query of the WebSocket URI.
    pub path: Option<&'a str>,
    /// `:authority`: the host, and port unless the default one.
    pub authority: Option<&'a str>,
}

impl<'a> PseudoHeaders<'a> {
    /// The pseudo-header fields of an extended CONNECT for a WebSocket.
    ///
    /// ```
    /// use rfc6455::handshake::PseudoHeaders;
    /// let pseudo = PseudoHeaders::websocket("http", "127.0.0.1:8082", "/");
    /// assert_eq!((pseudo.method, pseudo.protocol), ("CONNECT", Some("websocket")));
    /// ```
    pub fn websocket(scheme: &'a str, authority: &'a str, path: &'a str) -> Self {
        PseudoHeaders {
            method: "CONNECT",
            protocol: Some("websocket"),
            scheme: Some(scheme),
            path: Some(path),
            authority: Some(authority),
        }
    }
}

/// A client's HTTP/2 extended CONNECT, as a server sees it (RFC 8441 §4,
/// §5): its pseudo-header and header fields, their validation, and the
/// `200` answer to it. The HTTP/2 form of [`Request`](super::Request).
///
/// ```
/// use rfc6455::handshake::{Accept, ConnectRequest, HandshakeError, Limits, PseudoHeaders};
///
/// let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
/// let fields = [("sec-websocket-version", "13"), ("origin", "https://example.com")];
/// let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
/// assert_eq!((request.path(), request.query()), ("/chat", Some("room=1")));
/// assert_eq!(request.origin(), Some("https://example.com"));
/// let answer = request.accept(&Accept::new())?;
/// assert_eq!(answer.status, 200);
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    headers: Headers,
    method: Span,
    protocol: Option<Span>,
    scheme: Option<Span>,
    path: Option<Span>,
    authority: Option<Span>,
}

fn utf8(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("")
}

impl ConnectRequest {
    /// The request as an HTTP/2 library hands it over: its pseudo-header
    /// fields and its other header fields (names in any case; HTTP/2 sends
    /// them in lower case).
    ///
    /// Held to the syntax and `limits` a request read by
    /// [`ServerHandshake`](super::ServerHandshake) is held to (the size
    /// counted as HTTP/1.1 would write the same fields): a method or
    /// pseudo-header value that is empty or holds white space or a control
    /// byte, a header name that is not a token or a value with a control
    /// byte ([`HandshakeError::MalformedHead`]), too many fields, too many
    /// bytes. [`validate`](Self::validate) checks the rest.
    ///
    /// ```
    /// use rfc6455::handshake::{ConnectRequest, HandshakeError, Limits, PseudoHeaders};
    /// let pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    /// let bad = [("sec-websocket-version", "13\r\nx: y")];
    /// let err = ConnectRequest::from_parts(&pseudo, bad, Limits::default()).unwrap_err();
    /// assert!(matches!(err, HandshakeError::MalformedHead(_)));
    /// assert_eq!(err.h2_status(), Some(400));
    /// ```
    pub fn from_parts<F>(
        pseudo: &PseudoHeaders<'_>,
        headers: impl IntoIterator<Item = F>,
        limits: Limits,
    ) -> Result<ConnectRequest, HandshakeError>
    where
        F: HeaderField,
    {
        let values = [
            pseudo.protocol,
            pseudo.scheme,
            pseudo.path,
            pseudo.authority,
        ];
        let given = values.iter().flatten();
        if !given.clone().all(|v| word_is_valid(v.as_bytes()))
            || !super::headers::is_token(pseudo.method.as_bytes())
        {
            return Err(HandshakeError::MalformedHead(httparse::Error::Token));
        }
        // Counted as `name: value\r\n` lines, like the other fields.
        let size = given.map(|v| v.len() + 14).sum::<usize>() + pseudo.method.len() + 13;
        let mut parts = PartsBuilder::new(limits, size);
        parts.check_size()?;
        let method = parts.push(pseudo.method.as_bytes());
        let mut push = |v: Option<&str>| v.map(|v| parts.push(v.as_bytes()));
        let (protocol, scheme) = (push(pseudo.protocol), push(pseudo.scheme));
        let (path, authority) = (push(pseudo.path), push(pseudo.authority));
        parts.fields(headers)?;
        Ok(ConnectRequest {
            headers: parts.finish(),
            method,
            protocol,
            scheme,
            path,
            authority,
        })
    }

    fn get(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| utf8(self.headers.span(s)))
    }

    /// `:method`: `CONNECT` for a WebSocket.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.method(), "CONNECT");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn method(&self) -> &str {
        utf8(self.headers.span(self.method))
    }

    /// `:protocol`, if present: `websocket` for a WebSocket.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.protocol(), Some("websocket"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.get(self.protocol)
    }

    /// `:scheme`, if present: `https` for `wss`, `http` for `ws`.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.scheme(), Some("https"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn scheme(&self) -> Option<&str> {
        self.get(self.scheme)
    }

    /// `:authority`, if present: the host, and the port unless it is the
    /// default one (what `Host` says in HTTP/1.1).
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.authority(), Some("example.com"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn authority(&self) -> Option<&str> {
        self.get(self.authority)
    }

    /// `:path` as sent: path and query, e.g. `/chat?room=1`.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.target(), Some("/chat?room=1"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn target(&self) -> Option<&str> {
        self.get(self.path)
    }

    /// The path part of `:path` (before `?`), `/` if there is none.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.path(), "/chat");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn path(&self) -> &str {
        let t = self.target().unwrap_or("");
        match t.split_once('?').map_or(t, |(p, _)| p) {
            "" => "/",
            p => p,
        }
    }

    /// The query part of `:path` (after `?`), if any.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.query(), Some("room=1"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.target()?.split_once('?').map(|(_, q)| q)
    }

    /// The header fields (not the pseudo-header fields).
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.headers().len(), 3);
    /// assert!(request.headers().raw().is_empty()); // given as parts: no head
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.header("Sec-WebSocket-Version"), Some(&b"13"[..]));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// `origin` (RFC 6455 §10.2, kept by RFC 8441 §5); browsers send it.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.origin(), Some("https://example.com"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("origin")
    }

    /// The offered subprotocols, most preferred first, read exactly as
    /// [`Request::subprotocols`](super::Request::subprotocols) reads them.
    ///
    /// ```
    /// # use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// # let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat?room=1");
    /// # let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat, superchat"), ("origin", "https://example.com")];
    /// # let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// // `request`: a CONNECT for wss://example.com/chat?room=1, offering "chat, superchat"
    /// assert_eq!(request.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.headers.subprotocols()
    }

    /// The offered extensions (RFC 6455 §9.1), with their parameters.
    ///
    /// ```
    /// use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// let pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    /// let fields = [
    ///     ("sec-websocket-version", "13"),
    ///     ("sec-websocket-extensions", "permessage-deflate; client_max_window_bits"),
    /// ];
    /// let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// assert_eq!(request.extensions()?[0].name, "permessage-deflate");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn extensions(&self) -> Result<Vec<Extension<'_>>, HandshakeError> {
        self.headers
            .extensions()
            .map_err(|_| HandshakeError::MalformedExtensions)
    }

    /// Whether the request asks for a WebSocket at all: a `CONNECT` whose
    /// `:protocol` is `websocket`. Anything else can be served as ordinary
    /// HTTP.
    ///
    /// ```
    /// use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// let page = PseudoHeaders { method: "GET", protocol: None, scheme: Some("https"), path: Some("/"), authority: Some("example.com") };
    /// let request = ConnectRequest::from_parts(&page, [("accept", "text/html")], Limits::default())?;
    /// assert!(!request.is_websocket());
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn is_websocket(&self) -> bool {
        self.method() == "CONNECT"
            && self
                .protocol()
                .is_some_and(|p| p.eq_ignore_ascii_case("websocket"))
    }

    /// Checks the request against RFC 8441 §4 and §5, in this order:
    /// `:method` `CONNECT` ([`HandshakeError::MethodNotConnect`]);
    /// `:protocol` present ([`HandshakeError::MissingProtocol`]) and
    /// `websocket` ([`HandshakeError::UnsupportedProtocol`], 501);
    /// `:scheme`, `:path` and `:authority` present
    /// ([`HandshakeError::MissingPseudoHeader`]); `:scheme` `http` or
    /// `https` ([`HandshakeError::InvalidScheme`]); `:path` in origin form
    /// (`/…`, no fragment) and `:authority` a host and optional port
    /// ([`HandshakeError::InvalidTarget`]); no `Connection`, `Upgrade` or
    /// other connection-specific field
    /// ([`HandshakeError::ConnectionSpecificHeader`]); then, with the code
    /// that checks an HTTP/1.1 upgrade, `sec-websocket-version: 13` and
    /// well-formed subprotocol and extension lists (RFC 6455 §4.2.1 items
    /// 6, 8, 9). There is no key to check (RFC 8441 §5): a
    /// `sec-websocket-key` is ignored. Send the error's
    /// [`h2_response`](HandshakeError::h2_response).
    ///
    /// ```
    /// use rfc6455::handshake::{ConnectRequest, HandshakeError, Limits, PseudoHeaders};
    /// let mut pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    /// pseudo.protocol = Some("mqtt");
    /// let request = ConnectRequest::from_parts(&pseudo, [("sec-websocket-version", "13")], Limits::default())?;
    /// let err = request.validate().unwrap_err();
    /// assert!(matches!(err, HandshakeError::UnsupportedProtocol(ref p) if p == "mqtt"));
    /// assert_eq!(err.h2_response().unwrap().status, 501);
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn validate(&self) -> Result<(), HandshakeError> {
        if self.method() != "CONNECT" {
            return Err(HandshakeError::MethodNotConnect);
        }
        match self.protocol() {
            None => return Err(HandshakeError::MissingProtocol),
            Some(p) if !p.eq_ignore_ascii_case("websocket") => {
                return Err(HandshakeError::UnsupportedProtocol(String::from(p)))
            }
            Some(_) => {}
        }
        let scheme = self
            .scheme()
            .ok_or(HandshakeError::MissingPseudoHeader(":scheme"))?;
        let path = self
            .target()
            .ok_or(HandshakeError::MissingPseudoHeader(":path"))?;
        let authority = self
            .authority()
            .ok_or(HandshakeError::MissingPseudoHeader(":authority"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(HandshakeError::InvalidScheme);
        }
        if !path.starts_with('/') || path.contains('#') || !authority_is_valid(authority.as_bytes())
        {
            return Err(HandshakeError::InvalidTarget);
        }
        let scan = FieldScan::new(&self.headers);
        if scan.connection_specific {
            return Err(HandshakeError::ConnectionSpecificHeader);
        }
        scan.check_offer()
    }

    /// Validates the request and builds the `200` that opens the WebSocket
    /// (RFC 8441 §5): `sec-websocket-protocol`, `sec-websocket-extensions`
    /// and the extra headers from `options`, names in lower case (RFC 9113
    /// §8.2.1). No `sec-websocket-accept`: there is no key.
    ///
    /// Errors: any [`validate`](Self::validate) failure (send its
    /// [`h2_response`](HandshakeError::h2_response)); a subprotocol that
    /// was not offered; a header that would not be a valid field.
    ///
    /// ```
    /// use rfc6455::handshake::{Accept, ConnectRequest, Limits, PseudoHeaders};
    /// let pseudo = PseudoHeaders::websocket("https", "example.com", "/");
    /// let fields = [("sec-websocket-version", "13"), ("sec-websocket-protocol", "chat")];
    /// let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
    /// let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// assert_eq!(answer.status, 200);
    /// assert_eq!(answer.headers, [("sec-websocket-protocol".into(), "chat".into()), ("set-cookie".into(), "id=1".into())]);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn accept(&self, options: &Accept<'_>) -> Result<ResponseParts, HandshakeError> {
        self.validate()?;
        options.check(self.subprotocols())?;
        let mut parts = ResponseParts::new(200);
        options.each_header(|n, v| parts.push(n, v));
        parts.lowercase_names();
        Ok(parts)
    }
}

/// The client half of the HTTP/2 opening handshake (RFC 8441 §4, §5): the
/// request's pseudo-header and header fields, and the check of the
/// server's answer. The HTTP/2 form of
/// [`ClientHandshake`](super::ClientHandshake); the request's options are
/// the same [`ClientOptions`], checked by the same code.
///
/// Send the request only on a connection whose server has sent
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441 §3); otherwise open the
/// WebSocket over HTTP/1.1.
///
/// ```
/// use rfc6455::handshake::{ClientConnect, ClientOptions, HandshakeError, Uri};
///
/// let uri = Uri::parse("ws://example.com:8080/chat")?;
/// let client = ClientConnect::new(&uri, &ClientOptions::new())?;
/// let pseudo = client.pseudo();
/// assert_eq!((pseudo.scheme, pseudo.authority, pseudo.path), (Some("http"), Some("example.com:8080"), Some("/chat")));
/// assert_eq!(client.headers().collect::<Vec<_>>(), [("sec-websocket-version", "13")]);
///
/// // A server that refuses.
/// let err = client.check(403, [("content-type", "text/plain")]).unwrap_err();
/// assert!(matches!(err, HandshakeError::UnexpectedStatus { ref response, .. } if response.status() == 403));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientConnect {
    scheme: &'static str,
    authority: String,
    path: String,
    headers: Vec<(String, String)>,
    subprotocols: Vec<String>,
    extension_names: Vec<String>,
    limits: Limits,
}

impl ClientConnect {
    /// The request for `uri`: `:method = CONNECT`, `:protocol = websocket`,
    /// `:scheme` `https` for `wss` and `http` for `ws`, `:path` the
    /// resource name, `:authority` the host (and port unless the default)
    /// (RFC 8441 §5); then `sec-websocket-version: 13`, `origin`,
    /// `sec-websocket-protocol`, `sec-websocket-extensions` and the extra
    /// headers from `options`, in lower case.
    ///
    /// Errors: those of [`ClientHandshake::new`](super::ClientHandshake::new)
    /// for the same options.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientConnect, ClientOptions, HandshakeError, Uri};
    /// let uri = Uri::parse("wss://example.com/chat")?;
    /// let options = ClientOptions::new().origin("https://example.com").subprotocol("v2").subprotocol("v1");
    /// let client = ClientConnect::new(&uri, &options)?;
    /// let fields: Vec<_> = client.headers().collect();
    /// assert_eq!(fields[1..], [("origin", "https://example.com"), ("sec-websocket-protocol", "v2, v1")]);
    /// // Header injection is refused, as in HTTP/1.1.
    /// let bad = ClientOptions::new().header("X-Note", "a\r\nb");
    /// assert!(matches!(ClientConnect::new(&uri, &bad), Err(HandshakeError::InvalidHeader)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(uri: &Uri, options: &ClientOptions) -> Result<ClientConnect, HandshakeError> {
        let extension_names = check_options(options)?;
        let mut headers = Vec::new();
        offer_headers(options, |n, v| {
            headers.push((n.to_ascii_lowercase(), String::from(v)));
        });
        Ok(ClientConnect {
            scheme: if uri.is_secure() { "https" } else { "http" },
            authority: uri.host_header(),
            path: String::from(uri.resource_name()),
            headers,
            subprotocols: options.subprotocols.clone(),
            extension_names,
            limits: options.limits,
        })
    }

    /// The request's pseudo-header fields.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientConnect, ClientOptions, PseudoHeaders, Uri};
    /// let client = ClientConnect::new(&Uri::parse("wss://example.com/chat?room=1")?, &ClientOptions::new())?;
    /// assert_eq!(client.pseudo(), PseudoHeaders::websocket("https", "example.com", "/chat?room=1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pseudo(&self) -> PseudoHeaders<'_> {
        PseudoHeaders::websocket(self.scheme, &self.authority, &self.path)
    }

    /// The request's other header fields, in order, names in lower case.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientConnect, ClientOptions, Uri};
    /// let options = ClientOptions::new().header("Authorization", "Bearer t0k3n");
    /// let client = ClientConnect::new(&Uri::parse("wss://example.com/")?, &options)?;
    /// assert!(client.headers().any(|f| f == ("authorization", "Bearer t0k3n")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + Clone + '_ {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Checks the server's answer (RFC 8441 §5): status `200` (otherwise
    /// [`HandshakeError::UnexpectedStatus`], with the fields and no body),
    /// then, as for HTTP/1.1 (RFC 6455 §4.1 validation items 5 and 6), only
    /// extensions that were offered and a subprotocol that was offered or
    /// none. The fields are held to the options' head limits. Returns the
    /// response, for [`Response::subprotocol`] and
    /// [`Response::extensions`].
    ///
    /// ```
    /// use rfc6455::handshake::{ClientConnect, ClientOptions, HandshakeError, Uri};
    /// let client = ClientConnect::new(&Uri::parse("wss://example.com/")?, &ClientOptions::new())?;
    /// // A subprotocol that was not offered.
    /// let err = client.check(200, [("sec-websocket-protocol", "chat")]).unwrap_err();
    /// assert!(matches!(err, HandshakeError::ResponseSubprotocol));
    /// let response = client.check(200, [("server", "example")])?;
    /// assert_eq!(response.status(), 200);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check<F>(
        &self,
        status: u16,
        headers: impl IntoIterator<Item = F>,
    ) -> Result<Response, HandshakeError>
    where
        F: HeaderField,
    {
        // Counted as the status line `HTTP/1.1 200 \r\n` would be.
        let mut parts = PartsBuilder::new(self.limits, 15);
        parts.fields(headers).map_err(as_response_error)?;
        let response = Response::from_fields(parts.finish(), status, 2);
        if status != 200 {
            return Err(HandshakeError::UnexpectedStatus {
                response: alloc::boxed::Box::new(response),
                body: Vec::new(),
            });
        }
        check_agreed(
            response.headers(),
            &self.extension_names,
            &self.subprotocols,
        )?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;

    const VERSION: (&str, &str) = ("sec-websocket-version", "13");

    fn pseudo() -> PseudoHeaders<'static> {
        PseudoHeaders::websocket("https", "example.com", "/chat")
    }

    fn request(pseudo: &PseudoHeaders<'_>, fields: &[(&str, &str)]) -> ConnectRequest {
        ConnectRequest::from_parts(pseudo, fields, Limits::default()).expect("well-formed parts")
    }

    /// Validates, and checks that the refusal has `status`.
    fn refused(pseudo: &PseudoHeaders<'_>, fields: &[(&str, &str)], status: u16) -> HandshakeError {
        let request = request(pseudo, fields);
        let err = request.validate().expect_err("a refusal");
        let answer = err.h2_response().expect("a server-side error");
        assert_eq!(answer.status, status, "{err:?}");
        assert!(!answer.body.is_empty());
        // accept refuses in the same way.
        let again = request.accept(&Accept::new()).unwrap_err();
        assert_eq!(again.h2_status(), Some(status));
        err
    }

    #[test]
    fn the_rfc_8441_example_is_accepted() {
        // RFC 8441 §5.1: the example request.
        let pseudo = PseudoHeaders::websocket("https", "server.example.com", "/chat");
        let fields = [
            ("sec-websocket-protocol", "chat, superchat"),
            VERSION,
            ("origin", "http://www.example.com"),
        ];
        let request = request(&pseudo, &fields);
        assert!(request.is_websocket());
        assert_eq!(request.validate().map_err(|e| e.to_string()), Ok(()));
        let answer = request.accept(&Accept::new().subprotocol("chat")).unwrap();
        // RFC 8441 §5: "it MUST respond with a 200 (OK) status code"; no
        // Sec-WebSocket-Accept (§5: the key is not processed).
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("sec-websocket-protocol"), Some("chat"));
        assert_eq!(answer.header("sec-websocket-accept"), None);
        assert!(answer
            .headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase()));
    }

    #[test]
    fn method_must_be_connect() {
        // RFC 8441 §4: the extended CONNECT method.
        let mut p = pseudo();
        p.method = "GET";
        let e = refused(&p, &[VERSION], 400);
        assert!(matches!(e, HandshakeError::MethodNotConnect));
    }

    #[test]
    fn protocol_must_be_present() {
        // RFC 8441 §4: without :protocol a CONNECT is a plain tunnel request.
        let mut p = pseudo();
        p.protocol = None;
        let e = refused(&p, &[VERSION], 400);
        assert!(matches!(e, HandshakeError::MissingProtocol));
    }

    #[test]
    fn an_unknown_protocol_is_not_implemented() {
        // RFC 8441 §5: the value MUST be "websocket"; RFC 9220 §3: 501 for
        // an unknown or unsupported :protocol.
        let mut p = pseudo();
        p.protocol = Some("connect-udp");
        let e = refused(&p, &[VERSION], 501);
        assert!(matches!(e, HandshakeError::UnsupportedProtocol(ref s) if s == "connect-udp"));
        // Protocol tokens compare case-insensitively.
        p.protocol = Some("WebSocket");
        assert!(request(&p, &[VERSION]).validate().is_ok());
    }

    #[test]
    fn scheme_path_and_authority_must_be_present() {
        // RFC 8441 §4: "the :scheme and :path pseudo-header fields ... MUST
        // also be included"; :authority carries what Host does (§5).
        for (field, name) in [(0, ":scheme"), (1, ":path"), (2, ":authority")] {
            let mut p = pseudo();
            match field {
                0 => p.scheme = None,
                1 => p.path = None,
                _ => p.authority = None,
            }
            let e = refused(&p, &[VERSION], 400);
            assert!(matches!(e, HandshakeError::MissingPseudoHeader(n) if n == name));
        }
    }

    #[test]
    fn scheme_must_be_http_or_https() {
        // RFC 8441 §5: "https" for wss, "http" for ws.
        let p = PseudoHeaders::websocket("ws", "example.com", "/");
        let e = refused(&p, &[VERSION], 400);
        assert!(matches!(e, HandshakeError::InvalidScheme));
        let p = PseudoHeaders::websocket("http", "example.com", "/");
        assert!(request(&p, &[VERSION]).validate().is_ok());
    }

    #[test]
    fn path_and_authority_must_be_a_websocket_uri() {
        // RFC 8441 §5: the rest of the target URI is the WebSocket URI's
        // (RFC 6455 §3: a path, no fragment; a host and optional port).
        for (authority, path) in [
            ("example.com", "chat"),
            ("example.com", "*"),
            ("example.com", "/chat#top"),
            ("user@example.com", "/"),
            ("example.com:123456", "/"),
            // Five digits, but no port: RFC 6455 §3 ports are 1-65535.
            ("example.com:99999", "/"),
            ("example.com:0", "/"),
            ("[::1]:65536", "/"),
            ("[::1", "/"),
        ] {
            let p = PseudoHeaders::websocket("https", authority, path);
            let e = refused(&p, &[VERSION], 400);
            assert!(
                matches!(e, HandshakeError::InvalidTarget),
                "{authority} {path}"
            );
        }
        let p = PseudoHeaders::websocket("https", "[::1]:8443", "/a?b=c");
        assert!(request(&p, &[VERSION]).validate().is_ok());
        for authority in ["example.com:65535", "example.com", "[::1]", "10.0.0.1:1"] {
            let p = PseudoHeaders::websocket("https", authority, "/");
            assert!(request(&p, &[VERSION]).validate().is_ok(), "{authority}");
        }
    }

    #[test]
    fn connection_specific_fields_are_refused() {
        // RFC 8441 §5: Connection and Upgrade "MUST NOT be included";
        // RFC 9113 §8.2.2: nor any other connection-specific field.
        for name in [
            "connection",
            "Upgrade",
            "keep-alive",
            "proxy-connection",
            "transfer-encoding",
        ] {
            let e = refused(&pseudo(), &[VERSION, (name, "x")], 400);
            assert!(
                matches!(e, HandshakeError::ConnectionSpecificHeader),
                "{name}"
            );
        }
    }

    #[test]
    fn the_version_is_checked_as_in_http1_but_answered_400() {
        // RFC 8441 §5 keeps Sec-WebSocket-Version; RFC 6455 §4.2.1 item 6
        // and §4.4: an error with "Sec-WebSocket-Version: 13". 426 needs an
        // Upgrade field (RFC 9110 §15.5.22) that HTTP/2 forbids, hence 400.
        let e = refused(&pseudo(), &[], 400);
        assert!(matches!(e, HandshakeError::MissingVersion));
        let e = refused(&pseudo(), &[("sec-websocket-version", "8")], 400);
        assert!(matches!(e, HandshakeError::UnsupportedVersion));
        assert_eq!(
            e.h2_response().unwrap().header("sec-websocket-version"),
            Some("13")
        );
        assert_eq!(e.h2_response().unwrap().header("upgrade"), None);
    }

    #[test]
    fn subprotocols_and_extensions_are_checked_as_in_http1() {
        // RFC 6455 §4.2.1 items 8 and 9 (kept by RFC 8441 §5).
        let e = refused(
            &pseudo(),
            &[VERSION, ("sec-websocket-protocol", "a b")],
            400,
        );
        assert!(matches!(e, HandshakeError::MalformedSubprotocols));
        let e = refused(
            &pseudo(),
            &[VERSION, ("sec-websocket-extensions", "x; =")],
            400,
        );
        assert!(matches!(e, HandshakeError::MalformedExtensions));
        // Choosing a subprotocol that was not offered is the application's
        // mistake (RFC 6455 §4.2.2 item 5.4): no response of its own.
        let r = request(&pseudo(), &[VERSION, ("sec-websocket-protocol", "chat")]);
        let e = r.accept(&Accept::new().subprotocol("mqtt")).unwrap_err();
        assert!(matches!(e, HandshakeError::SubprotocolNotOffered(_)));
        assert_eq!(e.h2_response(), None);
    }

    #[test]
    fn a_key_is_ignored() {
        // RFC 8441 §5: the key and accept are "superseded by :protocol".
        let r = request(&pseudo(), &[VERSION, ("sec-websocket-key", "not base64")]);
        assert!(r.validate().is_ok());
    }

    #[test]
    fn parts_are_held_to_the_head_syntax_and_limits() {
        let limits = Limits::default().max_headers(2).max_head_bytes(200);
        let too_many = [VERSION, VERSION, VERSION];
        let e = ConnectRequest::from_parts(&pseudo(), too_many, limits).unwrap_err();
        assert!(matches!(e, HandshakeError::TooManyHeaders { limit: 2 }));
        let long = "x".repeat(200);
        let e =
            ConnectRequest::from_parts(&pseudo(), [("cookie", long.as_str())], limits).unwrap_err();
        assert!(matches!(e, HandshakeError::HeadTooLarge { limit: 200 }));
        assert_eq!(e.h2_status(), Some(431));
        for bad in [("bad name", "x"), ("x", "a\nb"), ("x", "\0")] {
            let e = ConnectRequest::from_parts(&pseudo(), [bad], limits).unwrap_err();
            assert!(matches!(e, HandshakeError::MalformedHead(_)), "{bad:?}");
        }
        let p = PseudoHeaders::websocket("https", "example.com", "/a b");
        let e = ConnectRequest::from_parts(&p, [VERSION], limits).unwrap_err();
        assert!(matches!(e, HandshakeError::MalformedHead(_)));
    }

    #[test]
    fn client_and_server_agree_on_an_offer() {
        let uri = Uri::parse("ws://example.com:8080/chat?x=1").unwrap();
        let options = ClientOptions::new()
            .subprotocol("chat")
            .extensions("permessage-deflate; client_max_window_bits")
            .header("Cookie", "a=b");
        let client = ClientConnect::new(&uri, &options).unwrap();
        assert_eq!(
            client.pseudo(),
            PseudoHeaders::websocket("http", "example.com:8080", "/chat?x=1")
        );
        let request =
            ConnectRequest::from_parts(&client.pseudo(), client.headers(), Limits::default())
                .unwrap();
        assert_eq!(request.header("cookie"), Some(&b"a=b"[..]));
        let answer = request
            .accept(
                &Accept::new()
                    .subprotocol("chat")
                    .extensions("permessage-deflate"),
            )
            .unwrap();
        let response = client.check(answer.status, &answer.headers).unwrap();
        assert_eq!(response.subprotocol(), Some("chat"));
        assert_eq!(response.extensions().unwrap()[0].name, "permessage-deflate");
        assert_eq!(response.http_version(), 2);
    }

    #[test]
    fn the_client_refuses_what_it_did_not_offer() {
        // RFC 6455 §4.1, validation items 5 and 6, over HTTP/2.
        let uri = Uri::parse("wss://example.com/").unwrap();
        let client = ClientConnect::new(&uri, &ClientOptions::new().subprotocol("a")).unwrap();
        let e = client
            .check(200, [("sec-websocket-extensions", "x-foo")])
            .unwrap_err();
        assert!(matches!(e, HandshakeError::ExtensionNotOffered(ref n) if n == "x-foo"));
        let e = client
            .check(200, [("sec-websocket-protocol", "b")])
            .unwrap_err();
        assert!(matches!(e, HandshakeError::ResponseSubprotocol));
        let e = client
            .check(
                200,
                [
                    ("sec-websocket-protocol", "a"),
                    ("sec-websocket-protocol", "a"),
                ],
            )
            .unwrap_err();
        assert!(matches!(e, HandshakeError::ResponseSubprotocol));
        // RFC 8441 §5: agreement is 200, not 101.
        let e = client.check(101, vec![("x", "y")]).unwrap_err();
        assert!(matches!(e, HandshakeError::UnexpectedStatus { .. }));
        let many: Vec<(&str, &str)> = (0..100).map(|_| ("x", "y")).collect();
        let e = client.check(200, many).unwrap_err();
        assert!(matches!(e, HandshakeError::ResponseTooManyHeaders { .. }));
    }
}
