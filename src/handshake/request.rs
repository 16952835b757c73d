//! A client's request, as a server sees it (RFC 6455 §4.2.1): its fields,
//! its validation, and the `101` answer to it (§4.2.2).

use alloc::string::String;
use alloc::vec::Vec;

use super::accept::{accept_key, key_is_valid};
use super::error::HandshakeError;
use super::headers::{self, is_token, list_items, Extension, Headers, Span};
use super::write::{check_headers, check_value, push_header};

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
        self.headers
            .get_all("sec-websocket-protocol")
            .flat_map(list_items)
            .filter_map(|s| core::str::from_utf8(s).ok())
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
        headers::collect_extensions(&self.headers).map_err(|_| HandshakeError::MalformedExtensions)
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
        let (mut host, mut upgrade, mut connection) = (false, false, false);
        let mut key: Option<&[u8]> = None;
        let mut keys = 0usize;
        let (mut version, mut bad_version) = (false, false);
        let (mut bad_protocols, mut bad_extensions) = (false, false);
        for (name, value) in self.headers.fields() {
            let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
            match name.len() {
                4 if is("host") => host = true,
                7 if is("upgrade") => upgrade |= has_token(value, b"websocket"),
                10 if is("connection") => connection |= has_token(value, b"upgrade"),
                17 if is("sec-websocket-key") => {
                    key = Some(value);
                    keys += 1;
                }
                21 if is("sec-websocket-version") => {
                    version = true;
                    bad_version |= value != b"13";
                }
                22 if is("sec-websocket-protocol") => {
                    bad_protocols |= !value
                        .split(|&b| b == b',')
                        .map(|s| s.trim_ascii())
                        .all(|s| s.is_empty() || is_token(s));
                }
                24 if is("sec-websocket-extensions") => {
                    bad_extensions |= headers::parse_extensions(value, |_| {}).is_err();
                }
                _ => {}
            }
        }
        if !host {
            return Err(HandshakeError::MissingHost);
        }
        if !upgrade {
            return Err(HandshakeError::UpgradeNotWebSocket);
        }
        if !connection {
            return Err(HandshakeError::ConnectionNotUpgrade);
        }
        let key = key.ok_or(HandshakeError::MissingKey)?;
        if keys != 1 || !key_is_valid(key) {
            return Err(HandshakeError::InvalidKey);
        }
        if !version {
            return Err(HandshakeError::MissingVersion);
        }
        if bad_version {
            return Err(HandshakeError::UnsupportedVersion);
        }
        if bad_protocols {
            return Err(HandshakeError::MalformedSubprotocols);
        }
        if bad_extensions {
            return Err(HandshakeError::MalformedExtensions);
        }
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
        if let Some(p) = options.subprotocol {
            if !self.subprotocols().any(|o| o == p) {
                return Err(HandshakeError::SubprotocolNotOffered(String::from(p)));
            }
        }
        if let Some(e) = options.extensions {
            check_value(e)?;
        }
        check_headers(&options.headers)?;

        let accept = accept_key(key);

        const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
            Upgrade: websocket\r\n\
            Connection: Upgrade\r\n\
            Sec-WebSocket-Accept: ";
        let mut len = HEAD.len() + accept.len() + 4;
        if let Some(p) = options.subprotocol {
            len += 26 + p.len();
        }
        if let Some(e) = options.extensions {
            len += 28 + e.len();
        }
        for (n, v) in &options.headers {
            len += n.len() + v.len() + 4;
        }
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(HEAD);
        out.extend_from_slice(&accept);
        out.extend_from_slice(b"\r\n");
        if let Some(p) = options.subprotocol {
            push_header(&mut out, "Sec-WebSocket-Protocol", p);
        }
        if let Some(e) = options.extensions {
            push_header(&mut out, "Sec-WebSocket-Extensions", e);
        }
        for (n, v) in &options.headers {
            push_header(&mut out, n, v);
        }
        out.extend_from_slice(b"\r\n");
        debug_assert_eq!(out.len(), len);
        Ok(out)
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
fn authority_is_valid(authority: &[u8]) -> bool {
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
    let port_ok = port.map_or(true, |p| p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
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
