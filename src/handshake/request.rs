//! A client's request, as a server sees it (RFC 6455 §4.2.1): its fields,
//! its validation, and the `101` answer to it (§4.2.2).

use alloc::string::String;
use alloc::vec::Vec;

use super::accept::{accept_key, key_is_valid};
use super::error::HandshakeError;
use super::head::Limits;
use super::headers::{
    self, is_token, list_items, word_is_valid, Extension, HeaderField, Headers, PartsBuilder, Span,
};
use super::write::{check_headers, check_value, push_header, ResponseParts};

/// A parsed HTTP request head, possibly a WebSocket opening handshake.
///
/// All accessors borrow from one owned copy of the head.
///
/// ```
/// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
///
/// let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// assert_eq!((request.method(), request.path(), request.query()), ("GET", "/chat", Some("room=1")));
/// assert_eq!(request.origin(), Some("https://example.com"));
///
/// // Decide, then answer.
/// let chat = request.subprotocols().any(|p| p == "chat");
/// let response = request.accept(&if chat { Accept::new().subprotocol("chat") } else { Accept::new() })?;
/// assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub(super) headers: Headers,
    pub(super) method: Span,
    pub(super) target: Span,
    pub(super) version: u8,
}

/// Whether a comma-separated list contains `token` (ASCII case-insensitive).
fn has_token(list: &[u8], token: &[u8]) -> bool {
    list_items(list).any(|t| t.eq_ignore_ascii_case(token))
}

fn utf8(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("")
}

impl Request {
    /// A request whose head an HTTP server (hyper, say) has already parsed:
    /// its method, request target as sent (`/chat?room=1`), minor HTTP
    /// version (`1` for HTTP/1.1) and header fields, copied as they are,
    /// without writing or parsing a head.
    ///
    /// The result is the request [`ServerHandshake::feed`](super::ServerHandshake::feed)
    /// would have returned for the same head, held to the same `limits`
    /// and syntax: a method that is not a token or a target with white
    /// space or control bytes ([`HandshakeError::MalformedHead`]), a header
    /// name that is not a token or a value with a control byte (the same),
    /// too many fields ([`HandshakeError::TooManyHeaders`]), a head longer
    /// than `limits.max_head_bytes` as HTTP/1.1 would write it
    /// ([`HandshakeError::HeadTooLarge`]). Each error has its
    /// [`response`](HandshakeError::response). [`validate`](Self::validate)
    /// and [`accept`](Self::accept) then check it exactly as for a head read
    /// from bytes.
    ///
    /// ```
    /// use rfc6455::handshake::{Accept, HandshakeError, Limits, Request};
    ///
    /// let fields = [
    ///     ("host", "example.com"),
    ///     ("upgrade", "websocket"),
    ///     ("connection", "Upgrade"),
    ///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ///     ("sec-websocket-version", "13"),
    /// ];
    /// let request = Request::from_parts("GET", "/chat", 1, fields, Limits::default())?;
    /// assert_eq!((request.path(), request.host()), ("/chat", Some("example.com")));
    /// let parts = request.accept_parts(&Accept::new())?;
    /// assert_eq!(parts.header("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    ///
    /// // The same refusals as for a head read from bytes.
    /// let request = Request::from_parts("GET", "/chat", 1, &fields[..4], Limits::default())?;
    /// assert!(matches!(request.validate(), Err(HandshakeError::MissingVersion)));
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn from_parts<F>(
        method: &str,
        target: &str,
        version: u8,
        headers: impl IntoIterator<Item = F>,
        limits: Limits,
    ) -> Result<Request, HandshakeError>
    where
        F: HeaderField,
    {
        if !is_token(method.as_bytes()) {
            return Err(HandshakeError::MalformedHead(httparse::Error::Token));
        }
        if !word_is_valid(target.as_bytes()) {
            return Err(HandshakeError::MalformedHead(httparse::Error::Token));
        }
        if version > 1 {
            return Err(HandshakeError::MalformedHead(httparse::Error::Version));
        }
        // `METHOD target HTTP/1.1\r\n`
        let mut parts = PartsBuilder::new(limits, method.len() + target.len() + 12);
        parts.check_size()?;
        let method = parts.push(method.as_bytes());
        let target = parts.push(target.as_bytes());
        parts.fields(headers)?;
        Ok(Request {
            headers: parts.finish(),
            method,
            target,
            version,
        })
    }

    /// The method, e.g. `GET`.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.method(), "GET");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn method(&self) -> &str {
        utf8(self.headers.span(self.method))
    }

    /// The request target as sent: path and query, e.g. `/chat?room=1`.
    ///
    /// [`validate`](Self::validate) accepts only the origin form (`/…`) and
    /// the absolute form (`ws://host/…`); a plain HTTP request answered on
    /// the same port may carry anything here (`*`, `host:port`).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.target(), "/chat?room=1");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn target(&self) -> &str {
        utf8(self.headers.span(self.target))
    }

    /// The resource name (path and query) of the target. RFC 6455 §4.2.1
    /// item 1 also allows an absolute URI, whose scheme and authority are
    /// skipped here.
    fn resource(&self) -> &str {
        let t = self.target();
        if t.starts_with('/') {
            return t;
        }
        match t.split_once("://") {
            Some((_, rest)) => match rest.find(['/', '?']) {
                Some(i) => &rest[i..],
                None => "",
            },
            None => t,
        }
    }

    /// The path part of the target (before `?`); for an absolute-form
    /// target (`GET ws://host/chat HTTP/1.1`) the path of that URI, `/` if
    /// empty.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.path(), "/chat");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn path(&self) -> &str {
        let r = self.resource();
        let p = r.split_once('?').map_or(r, |(p, _)| p);
        if p.is_empty() {
            "/"
        } else {
            p
        }
    }

    /// The query part of the target (after `?`), if any.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.query(), Some("room=1"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.resource().split_once('?').map(|(_, q)| q)
    }

    /// The minor HTTP version: `1` for HTTP/1.1, `0` for HTTP/1.0.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.http_version(), 1);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn http_version(&self) -> u8 {
        self.version
    }

    /// The header fields.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// let names: Vec<&str> = request.headers().iter().map(|(name, _)| name).collect();
    /// assert_eq!(names[..2], ["Host", "Upgrade"]);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.header("upgrade"), Some(&b"websocket"[..]));
    /// assert_eq!(request.header("Cookie"), None);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// `Host` (RFC 6455 §4.2.1 item 2).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.host(), Some("example.com"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn host(&self) -> Option<&str> {
        self.headers.get_str("host")
    }

    /// `Origin` (RFC 6455 §4.2.1 item 7, §10.2); browsers always send it.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// // Refuse pages from other sites (RFC 6455 §10.2).
    /// let allowed = ["https://example.com", "https://www.example.com"];
    /// assert!(request.origin().is_some_and(|o| allowed.contains(&o)));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("origin")
    }

    /// `Sec-WebSocket-Key` (RFC 6455 §4.2.1 item 5), trimmed.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// use rfc6455::handshake::accept_key;
    /// let key = request.key().unwrap();
    /// assert_eq!(&accept_key(key.as_bytes()), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn key(&self) -> Option<&str> {
        self.headers.get_str("sec-websocket-key")
    }

    /// `Sec-WebSocket-Version` (RFC 6455 §4.2.1 item 6).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.version_header(), Some("13"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn version_header(&self) -> Option<&str> {
        self.headers.get_str("sec-websocket-version")
    }

    /// The offered subprotocols, in order of preference (RFC 6455 §4.2.1
    /// item 8): every `Sec-WebSocket-Protocol` line, split at commas,
    /// trimmed, empty elements skipped.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// let offered: Vec<&str> = request.subprotocols().collect();
    /// assert_eq!(offered, ["chat", "superchat"]); // most preferred first
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.headers.subprotocols()
    }

    /// The offered extensions (RFC 6455 §9.1), from every
    /// `Sec-WebSocket-Extensions` line, with their parameters.
    ///
    /// ```
    /// # use rfc6455::handshake::{ServerHandshake, Limits};
    /// let mut s = ServerHandshake::new(Limits::default());
    /// let (req, _) = s.feed(b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: \
    ///     permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", x-foo\r\n\r\n")
    ///     .unwrap().unwrap();
    /// let ext = req.extensions().unwrap();
    /// assert_eq!(ext[0].name, "permessage-deflate");
    /// assert_eq!(ext[0].param("client_max_window_bits"), Some(None));
    /// assert_eq!(ext[0].param("server_max_window_bits"), Some(Some("10")));
    /// assert_eq!(ext[1].name, "x-foo");
    /// ```
    pub fn extensions(&self) -> Result<Vec<Extension<'_>>, HandshakeError> {
        self.headers
            .extensions()
            .map_err(|_| HandshakeError::MalformedExtensions)
    }

    /// Whether the request asks for a WebSocket upgrade at all: its `Upgrade`
    /// header contains the token `websocket`. A plain `GET /` does not, and
    /// can be answered as ordinary HTTP (e.g. with [`http_response`](super::http_response)).
    ///
    /// ```
    /// use rfc6455::handshake::{http_response, Limits, ServerHandshake};
    /// let head = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// if !request.is_upgrade() {
    ///     let page = http_response(200, "text/html", b"<p>hello</p>")?;
    ///     # let _ = page;
    /// }
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn is_upgrade(&self) -> bool {
        self.headers.contains_token("upgrade", "websocket")
    }

    /// Checks the request against RFC 6455 §4.2.1: method `GET`, HTTP/1.1 or
    /// later, a request target in origin form (`/path?query`) or absolute
    /// form (`ws://`, `wss://`, `http://` or `https://` with a host, no user
    /// information; RFC 6455 §3, RFC 9112 §3.2) and no fragment, `Host`, `Upgrade: websocket`, `Connection: Upgrade` (both token
    /// lists, case-insensitive, repeated lines combined), one
    /// `Sec-WebSocket-Key` decoding to 16 bytes, `Sec-WebSocket-Version: 13`,
    /// and well-formed subprotocol and extension lists.
    ///
    /// ```
    /// use rfc6455::handshake::{HandshakeError, Limits, ServerHandshake};
    /// let head = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// let err = request.validate().unwrap_err();
    /// assert!(matches!(err, HandshakeError::MissingKey));
    /// assert_eq!(err.http_status(), Some(400)); // send `err.response()`, then close
    /// # Ok::<(), HandshakeError>(())
    /// ```
    pub fn validate(&self) -> Result<(), HandshakeError> {
        self.check().map(|_| ())
    }

    /// [`validate`](Self::validate), in one pass over the headers; returns
    /// the key.
    fn check(&self) -> Result<&[u8], HandshakeError> {
        if self.headers.span(self.method) != b"GET" {
            return Err(HandshakeError::MethodNotGet);
        }
        if self.version < 1 {
            return Err(HandshakeError::HttpVersion);
        }
        if !target_is_valid(self.headers.span(self.target)) {
            return Err(HandshakeError::InvalidTarget);
        }
        let scan = FieldScan::new(&self.headers);
        if !scan.host {
            return Err(HandshakeError::MissingHost);
        }
        if scan.bad_host {
            return Err(HandshakeError::InvalidHost);
        }
        if !scan.upgrade {
            return Err(HandshakeError::UpgradeNotWebSocket);
        }
        if !scan.connection {
            return Err(HandshakeError::ConnectionNotUpgrade);
        }
        let key = scan.key.ok_or(HandshakeError::MissingKey)?;
        if scan.keys != 1 || !key_is_valid(key) {
            return Err(HandshakeError::InvalidKey);
        }
        scan.check_offer()?;
        Ok(key)
    }

    /// Validates the request and builds the `101 Switching Protocols`
    /// response (RFC 6455 §4.2.2 item 5): `Upgrade: websocket`,
    /// `Connection: Upgrade`, `Sec-WebSocket-Accept`, then the optional
    /// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` and extra headers
    /// from `options`.
    ///
    /// Errors: any [`validate`](Self::validate) failure (send its
    /// [`response`](HandshakeError::response)); a subprotocol that was not
    /// offered ([`HandshakeError::SubprotocolNotOffered`]); a header name that
    /// is not a token or a value containing CR, LF or NUL
    /// ([`HandshakeError::InvalidHeader`]).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// use rfc6455::handshake::{Accept, HandshakeError};
    /// let response = request.accept(&Accept::new().subprotocol("chat"))?;
    /// let text = String::from_utf8_lossy(&response);
    /// assert!(text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    /// assert!(text.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
    /// // Only an offered subprotocol can be selected.
    /// let err = request.accept(&Accept::new().subprotocol("mqtt")).unwrap_err();
    /// assert!(matches!(err, HandshakeError::SubprotocolNotOffered(_)));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn accept(&self, options: &Accept<'_>) -> Result<Vec<u8>, HandshakeError> {
        let key = self.check()?;
        options.check(self.subprotocols())?;
        let accept = accept_key(key);
        let accept = core::str::from_utf8(&accept).unwrap_or("");

        const STATUS_LINE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n";
        let mut len = STATUS_LINE.len() + 2;
        switching_headers(accept, options, |n, v| len += n.len() + v.len() + 4);
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(STATUS_LINE);
        switching_headers(accept, options, |n, v| push_header(&mut out, n, v));
        out.extend_from_slice(b"\r\n");
        debug_assert_eq!(out.len(), len);
        Ok(out)
    }

    /// [`accept`](Self::accept) for an HTTP server that writes the response
    /// head itself (hyper, through [`rfc6455::hyper`](crate#features)):
    /// the same checks, and the `101` as a status and header fields
    /// instead of bytes.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// use rfc6455::handshake::Accept;
    /// let parts = request.accept_parts(&Accept::new().subprotocol("chat"))?;
    /// assert_eq!(parts.status, 101);
    /// assert_eq!(parts.header("sec-websocket-accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    /// assert_eq!(parts.header("Sec-WebSocket-Protocol"), Some("chat"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn accept_parts(&self, options: &Accept<'_>) -> Result<ResponseParts, HandshakeError> {
        let key = self.check()?;
        options.check(self.subprotocols())?;
        let accept = accept_key(key);
        let accept = core::str::from_utf8(&accept).unwrap_or("");
        let mut parts = ResponseParts::new(101);
        switching_headers(accept, options, |n, v| parts.push(n, v));
        Ok(parts)
    }
}

/// The header fields of a `101` (RFC 6455 §4.2.2 item 5), in order.
fn switching_headers<'a>(
    accept: &'a str,
    options: &'a Accept<'a>,
    mut push: impl FnMut(&'a str, &'a str),
) {
    push("Upgrade", "websocket");
    push("Connection", "Upgrade");
    push("Sec-WebSocket-Accept", accept);
    options.each_header(push);
}

/// What the header fields of a request say about the opening handshake,
/// read in one pass: what the HTTP/1.1 upgrade needs (RFC 6455 §4.2.1), and
/// what both forms check alike (the version, subprotocols and extensions).
pub(crate) struct FieldScan<'h> {
    pub(crate) host: bool,
    /// A `Host` that is not one `host[:port]`, or more than one `Host`.
    pub(crate) bad_host: bool,
    pub(crate) upgrade: bool,
    pub(crate) connection: bool,
    pub(crate) key: Option<&'h [u8]>,
    pub(crate) keys: usize,
    /// A field HTTP/2 forbids (RFC 9113 §8.2.2): `Connection`, `Upgrade`,
    /// `Keep-Alive`, `Proxy-Connection`, `Transfer-Encoding`.
    pub(crate) connection_specific: bool,
    version: bool,
    bad_version: bool,
    bad_protocols: bool,
    bad_extensions: bool,
}

impl<'h> FieldScan<'h> {
    pub(crate) fn new(headers: &'h Headers) -> Self {
        let mut scan = FieldScan {
            host: false,
            bad_host: false,
            upgrade: false,
            connection: false,
            key: None,
            keys: 0,
            connection_specific: false,
            version: false,
            bad_version: false,
            bad_protocols: false,
            bad_extensions: false,
        };
        for (name, value) in headers.fields() {
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            match name.len() {
                4 if is("host") => {
                    scan.bad_host |= scan.host || !authority_is_valid(value);
                    scan.host = true;
                }
                7 if is("upgrade") => {
                    scan.connection_specific = true;
                    scan.upgrade |= has_token(value, b"websocket");
                }
                10 if is("connection") => {
                    scan.connection_specific = true;
                    scan.connection |= has_token(value, b"upgrade");
                }
                10 if is("keep-alive") => scan.connection_specific = true,
                16 if is("proxy-connection") => scan.connection_specific = true,
                17 if is("transfer-encoding") => scan.connection_specific = true,
                17 if is("sec-websocket-key") => {
                    scan.key = Some(value);
                    scan.keys += 1;
                }
                21 if is("sec-websocket-version") => {
                    scan.version = true;
                    scan.bad_version |= value != b"13";
                }
                22 if is("sec-websocket-protocol") => {
                    scan.bad_protocols |= !value
                        .split(|&b| b == b',')
                        .map(|s| s.trim_ascii())
                        .all(|s| s.is_empty() || is_token(s));
                }
                24 if is("sec-websocket-extensions") => {
                    scan.bad_extensions |= headers::parse_extensions(value, |_| {}).is_err();
                }
                _ => {}
            }
        }
        scan
    }

    /// The checks both forms make alike, in this order:
    /// `Sec-WebSocket-Version: 13` (RFC 6455 §4.2.1 item 6), and
    /// well-formed subprotocol and extension lists (items 8 and 9; RFC
    /// 8441 §5 keeps all three for HTTP/2).
    pub(crate) fn check_offer(&self) -> Result<(), HandshakeError> {
        if !self.version {
            return Err(HandshakeError::MissingVersion);
        }
        if self.bad_version {
            return Err(HandshakeError::UnsupportedVersion);
        }
        if self.bad_protocols {
            return Err(HandshakeError::MalformedSubprotocols);
        }
        if self.bad_extensions {
            return Err(HandshakeError::MalformedExtensions);
        }
        Ok(())
    }
}

/// Whether a request target may open a WebSocket: the origin form
/// (`/path?query`, RFC 9112 §3.2.1) or the absolute form with a `ws`, `wss`,
/// `http` or `https` scheme and an authority of a host and an optional
/// port (RFC 9112 §3.2.2, RFC 6455 §3). The authority form (`host:port`,
/// for CONNECT) and the asterisk form (`*`, for OPTIONS) are not, nor is
/// anything else (`5/`, `chat`, `:9/`): resolving such a target against a
/// base URL can move its authority. A fragment is never allowed (RFC 6455
/// §3), nor user information (RFC 9110 §4.2.4).
pub(crate) fn target_is_valid(target: &[u8]) -> bool {
    if target.contains(&b'#') {
        return false;
    }
    if target.first() == Some(&b'/') {
        return true;
    }
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    let known = [&b"ws"[..], b"wss", b"http", b"https"];
    if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
        return false;
    }
    let Some(rest) = target[colon + 1..].strip_prefix(b"//") else {
        return false;
    };
    let end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    authority_is_valid(&rest[..end])
}

/// `host [":" port]` with a registered name, IPv4 address or IP literal in
/// brackets (RFC 3986 §3.2.2), a port of at most five digits, and no
/// user information.
pub(crate) fn authority_is_valid(authority: &[u8]) -> bool {
    let (host, port) = if authority.first() == Some(&b'[') {
        let Some(close) = authority.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &authority[1..close];
        let ok = !literal.is_empty()
            && literal
                .iter()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(b));
        if !ok {
            return false;
        }
        match &authority[close + 1..] {
            [] => (&authority[..=close], None),
            [b':', port @ ..] => (&authority[..=close], Some(port)),
            _ => return false,
        }
    } else {
        match authority.iter().rposition(|&b| b == b':') {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && (host.first() == Some(&b'[')
            || host
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(b)));
    // None, empty (RFC 3986 §3.2.3), or 1 to 65535 as `Uri::parse` requires
    // (RFC 6455 §3): five digits alone would let `example.com:99999` in.
    let port_ok = port.map_or(true, |p| {
        p.is_empty()
            || (p.len() <= 5
                && p.iter().all(u8::is_ascii_digit)
                && (1..=65535).contains(&p.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))))
    });
    host_ok && port_ok
}

/// What the server answers to an acceptable handshake (RFC 6455 §4.2.2).
///
/// ```
/// use rfc6455::handshake::Accept;
/// let a = Accept::new().subprotocol("chat").header("Set-Cookie", "a=b");
/// # let _ = a;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accept<'a> {
    subprotocol: Option<&'a str>,
    extensions: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Accept<'a> {
    /// No subprotocol, no extensions, no extra headers.
    ///
    /// ```
    /// use rfc6455::handshake::Accept;
    /// assert_eq!(Accept::new(), Accept::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Selects one of the client's offered subprotocols (RFC 6455 §4.2.2
    /// item 5.4 `/subprotocol/`).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// use rfc6455::handshake::Accept;
    /// // The first of the client's offers this server speaks.
    /// let supported = ["superchat", "chat"];
    /// let choice = request.subprotocols().find(|p| supported.contains(p));
    /// let accept = match choice {
    ///     Some(p) => Accept::new().subprotocol(p),
    ///     None => Accept::new(),
    /// };
    /// let response = request.accept(&accept)?;
    /// assert!(String::from_utf8_lossy(&response).contains("Sec-WebSocket-Protocol: chat\r\n"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn subprotocol(mut self, protocol: &'a str) -> Self {
        self.subprotocol = Some(protocol);
        self
    }

    /// Sets the raw `Sec-WebSocket-Extensions` response value (RFC 6455 §9.1).
    ///
    /// ```
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// let head = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
    ///     Sec-WebSocket-Extensions: x-custom-ext\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// let response = request.accept(&Accept::new().extensions("x-custom-ext"))?;
    /// assert!(String::from_utf8_lossy(&response).contains("\r\nSec-WebSocket-Extensions: x-custom-ext\r\n"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn extensions(mut self, value: &'a str) -> Self {
        self.extensions = Some(value);
        self
    }

    /// The `Sec-WebSocket-Extensions` value set with
    /// [`extensions`](Self::extensions), if any: the adapters leave
    /// permessage-deflate alone when the application answers itself.
    #[cfg(feature = "deflate")]
    pub(crate) fn extensions_answer(&self) -> Option<&'a str> {
        self.extensions
    }

    /// Checks the answer against the client's `offered` subprotocols, and
    /// its values against header injection.
    pub(crate) fn check<'o>(
        &self,
        mut offered: impl Iterator<Item = &'o str>,
    ) -> Result<(), HandshakeError> {
        if let Some(p) = self.subprotocol {
            if !offered.any(|o| o == p) {
                return Err(HandshakeError::SubprotocolNotOffered(String::from(p)));
            }
        }
        if let Some(e) = self.extensions {
            check_value(e)?;
        }
        check_headers(&self.headers)
    }

    /// The header fields this answer adds to an acceptance, in order:
    /// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`, the extra ones.
    pub(crate) fn each_header(&self, mut push: impl FnMut(&'a str, &'a str)) {
        if let Some(p) = self.subprotocol {
            push("Sec-WebSocket-Protocol", p);
        }
        if let Some(e) = self.extensions {
            push("Sec-WebSocket-Extensions", e);
        }
        for &(n, v) in &self.headers {
            push(n, v);
        }
    }

    /// Adds a response header, e.g. `Set-Cookie`.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// use rfc6455::handshake::Accept;
    /// let response = request.accept(&Accept::new().header("Set-Cookie", "session=1; HttpOnly"))?;
    /// assert!(String::from_utf8_lossy(&response).contains("\r\nSet-Cookie: session=1; HttpOnly\r\n"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::super::{Limits, ServerHandshake};
    use super::*;

    /// The head's request line and fields, as another HTTP server would
    /// hand them over.
    fn as_parts(head: &[u8]) -> Result<Request, HandshakeError> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut slots);
        assert!(req.parse(head).unwrap().is_complete());
        let fields: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
        Request::from_parts(
            req.method.unwrap(),
            req.path.unwrap(),
            req.version.unwrap(),
            fields,
            Limits::default(),
        )
    }

    fn as_read(head: &[u8]) -> Request {
        ServerHandshake::new(Limits::default())
            .feed(head)
            .unwrap()
            .unwrap()
            .0
    }

    /// RFC 6455 §4.2.1: every check, and every refusal, is the same for a
    /// request read from bytes and for the same request given as parts.
    #[test]
    fn parts_are_validated_and_answered_exactly_as_a_head() {
        let valid = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
        let variants: [(&str, &str); 12] = [
            ("", ""),                                                // valid
            ("GET /chat", "POST /chat"),                             // item 1: method
            ("HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost"),                // item 1: version
            ("GET /chat", "GET chat"),                               // item 1: target
            ("Host: example.com\r\n", ""),                           // item 2
            ("Upgrade: websocket", "Upgrade: h2c"),                  // item 3: 426
            ("Connection: Upgrade", "Connection: close"),            // item 4: 426
            ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), // item 5
            ("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="),                // item 5
            ("Version: 13", "Version: 8"),                           // item 6: 426
            ("Protocol: chat", "Protocol: a b"),                     // item 8
            (
                "Protocol: chat\r\n",
                "Protocol: chat\r\nSec-WebSocket-Extensions: ;;=\r\n",
            ), // item 9
        ];
        for (from, to) in variants {
            let head = valid.replacen(from, to, 1);
            let read = as_read(head.as_bytes());
            let parts = as_parts(head.as_bytes()).unwrap();
            let show = |r: Result<Vec<u8>, HandshakeError>| match r {
                Ok(bytes) => Ok(bytes),
                Err(e) => Err((e.response(), e.response_parts(), alloc::format!("{e}"))),
            };
            let accept = Accept::new().subprotocol("chat");
            assert_eq!(
                show(read.accept(&accept)).map(|_| ()),
                show(parts.accept(&accept)).map(|_| ()),
                "{to}"
            );
            // The same key gives the same Sec-WebSocket-Accept.
            if let (Ok(a), Ok(b)) = (read.accept(&accept), parts.accept(&accept)) {
                assert_eq!(a, b);
                let fields = parts.accept_parts(&accept).unwrap();
                assert_eq!(fields.status, 101);
                assert_eq!(fields.header("sec-websocket-protocol"), Some("chat"));
            }
            assert_eq!((read.path(), read.host()), (parts.path(), parts.host()));
            assert!(parts.headers().raw().is_empty());
        }
    }

    #[test]
    fn parts_are_held_to_the_head_syntax_and_limits() {
        let bad_method = Request::from_parts("G T", "/", 1, [("a", "b")], Limits::default());
        assert!(matches!(bad_method, Err(HandshakeError::MalformedHead(_))));
        let bad_target = Request::from_parts("GET", "/a b", 1, [("a", "b")], Limits::default());
        assert!(matches!(bad_target, Err(HandshakeError::MalformedHead(_))));
        let bad_value = Request::from_parts("GET", "/", 1, [("a", "b\r\nc: d")], Limits::default());
        assert!(matches!(bad_value, Err(HandshakeError::MalformedHead(_))));
        let limits = Limits::default().max_headers(1);
        let many = Request::from_parts("GET", "/", 1, [("a", "b"), ("c", "d")], limits);
        assert!(matches!(
            many,
            Err(HandshakeError::TooManyHeaders { limit: 1 })
        ));
        // The size counts as the HTTP/1.1 head would: 16 + 8 + 2 = 26 bytes.
        let exact = Limits::default().max_head_bytes(26);
        assert!(Request::from_parts("GET", "/", 1, [("a", "bcd")], exact).is_ok());
        let head = b"GET / HTTP/1.1\r\na: bcd\r\n\r\n";
        assert_eq!(head.len(), 26);
        assert!(ServerHandshake::new(exact).feed(head).unwrap().is_some());
        let over = Request::from_parts("GET", "/", 1, [("a", "bcde")], exact);
        assert!(matches!(
            over,
            Err(HandshakeError::HeadTooLarge { limit: 26 })
        ));
        assert_eq!(over.unwrap_err().http_status(), Some(431));
    }
}
