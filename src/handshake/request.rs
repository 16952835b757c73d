//! Server side: reading the client's request (RFC 6455 §4.2.1), and building
//! the `101` answer (§4.2.2) or a rejection.

use alloc::string::String;
use alloc::vec::Vec;

use super::accept::{accept_key, key_is_valid};
use super::error::HandshakeError;
use super::head::{HeadReader, Kind, Limits};
use super::headers::{self, is_token, list_items, Extension, Headers, Span};

/// Reads a client's opening handshake incrementally (RFC 6455 §4.2.1).
///
/// Feed it bytes as they arrive; it buffers at most
/// [`Limits::max_head_bytes`] and parses the head once, when complete. See
/// the [module documentation](super) for a full example.
#[derive(Debug)]
pub struct ServerHandshake {
    reader: HeadReader,
}

impl ServerHandshake {
    /// A reader for one request head, bounded by `limits`.
    pub fn new(limits: Limits) -> Self {
        ServerHandshake {
            reader: HeadReader::new(limits),
        }
    }

    /// Consumes received bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed (all of `input` has been
    /// buffered), or `Ok(Some((request, n)))` once the head is complete: the
    /// first `n` bytes of `input` belonged to the head, and `input[n..]`
    /// (e.g. frames pipelined behind the handshake) belongs to the
    /// connection and is left untouched.
    ///
    /// The request is returned whether or not it is a valid WebSocket
    /// handshake, so that a server can answer plain HTTP on the same port;
    /// call [`Request::accept`] or [`Request::validate`]. Errors are head
    /// problems (too large, too many headers, malformed HTTP); each has a
    /// [`HandshakeError::response`] to send before closing. After a request or
    /// an error, further calls return [`HandshakeError::Finished`].
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        Ok(self.reader.feed(input, Kind::Request)?.map(|(p, used)| {
            (
                Request {
                    headers: p.headers,
                    method: p.first,
                    target: p.second,
                    version: p.version,
                },
                used,
            )
        }))
    }

    /// How many times the HTTP parser has run: at most once per head,
    /// however the head was split across calls to [`feed`](Self::feed).
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn parse_calls(&self) -> usize {
        self.reader.parses()
    }

    /// Total number of input bytes the terminator search has examined
    /// (besides a fixed overlap of three buffered bytes per call). It never
    /// exceeds the number of bytes fed.
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn bytes_scanned(&self) -> usize {
        self.reader.scanned()
    }

    /// Number of bytes buffered so far (never more than
    /// [`Limits::max_head_bytes`]).
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn buffered(&self) -> usize {
        self.reader.buffered()
    }
}

/// A parsed HTTP request head, possibly a WebSocket opening handshake.
///
/// All accessors borrow from one owned copy of the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    headers: Headers,
    method: Span,
    target: Span,
    version: u8,
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
    pub fn method(&self) -> &str {
        utf8(self.headers.span(self.method))
    }

    /// The request target as sent: path and query, e.g. `/chat?room=1`.
    ///
    /// [`validate`](Self::validate) accepts only the origin form (`/…`) and
    /// the absolute form (`ws://host/…`); a plain HTTP request answered on
    /// the same port may carry anything here (`*`, `host:port`).
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
    pub fn query(&self) -> Option<&str> {
        self.resource().split_once('?').map(|(_, q)| q)
    }

    /// The minor HTTP version: `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub fn http_version(&self) -> u8 {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// `Host` (RFC 6455 §4.2.1 item 2).
    pub fn host(&self) -> Option<&str> {
        self.headers.get_str("host")
    }

    /// `Origin` (RFC 6455 §4.2.1 item 7, §10.2); browsers always send it.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("origin")
    }

    /// `Sec-WebSocket-Key` (RFC 6455 §4.2.1 item 5), trimmed.
    pub fn key(&self) -> Option<&str> {
        self.headers.get_str("sec-websocket-key")
    }

    /// `Sec-WebSocket-Version` (RFC 6455 §4.2.1 item 6).
    pub fn version_header(&self) -> Option<&str> {
        self.headers.get_str("sec-websocket-version")
    }

    /// The offered subprotocols, in order of preference (RFC 6455 §4.2.1
    /// item 8): every `Sec-WebSocket-Protocol` line, split at commas,
    /// trimmed, empty elements skipped.
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
    /// can be answered as ordinary HTTP (e.g. with [`http_response`]).
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
    pub fn new() -> Self {
        Self::default()
    }

    /// Selects one of the client's offered subprotocols (RFC 6455 §4.2.2
    /// item 5.4 `/subprotocol/`).
    pub fn subprotocol(mut self, protocol: &'a str) -> Self {
        self.subprotocol = Some(protocol);
        self
    }

    /// Sets the raw `Sec-WebSocket-Extensions` response value (RFC 6455 §9.1).
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
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Rejects header values that would break out of their line.
pub(crate) fn check_value(value: &str) -> Result<(), HandshakeError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        Err(HandshakeError::InvalidHeader)
    } else {
        Ok(())
    }
}

/// Checks names (tokens) and values (no CR/LF/NUL) of extra headers.
pub(crate) fn check_headers<N: AsRef<str>, V: AsRef<str>>(
    headers: &[(N, V)],
) -> Result<(), HandshakeError> {
    for (n, v) in headers {
        if !is_token(n.as_ref().as_bytes()) {
            return Err(HandshakeError::InvalidHeader);
        }
        check_value(v.as_ref())?;
    }
    Ok(())
}

pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub(crate) fn fmt_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The reason phrase for common status codes; empty for others (an empty
/// reason phrase is valid HTTP, RFC 7230 §3.1.2).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes a complete response with `Content-Length` and `Connection: close`.
/// Inputs must already be checked.
pub(crate) fn write_response(
    status: u16,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let reason = reason_phrase(status);
    let mut num = [0u8; 20];
    let mut len_buf = [0u8; 20];
    let status_text = fmt_u64(u64::from(status), &mut num);
    let body_len = fmt_u64(body.len() as u64, &mut len_buf);
    let mut cap = 9 + status_text.len() + 1 + reason.len() + 2;
    cap += 16 + body_len.len() + 2 + 19 + 2;
    if let Some(ct) = content_type {
        cap += 14 + ct.len() + 2;
    }
    for (n, v) in headers {
        cap += n.len() + v.len() + 4;
    }
    cap += body.len();
    let mut out = Vec::with_capacity(cap);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status_text.as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(ct) = content_type {
        push_header(&mut out, "Content-Type", ct);
    }
    push_header(&mut out, "Content-Length", body_len);
    push_header(&mut out, "Connection", "close");
    for (n, v) in headers {
        push_header(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Builds a response that refuses the handshake (RFC 6455 §4.2.2 item 4),
/// e.g. 403 for an unacceptable `Origin` (§10.2) or 401 with a
/// `WWW-Authenticate` header. Adds `Content-Length` and `Connection: close`.
///
/// Errors: a status outside 100..=999 ([`HandshakeError::InvalidStatus`]);
/// a header name that is not a token or a value with CR, LF or NUL
/// ([`HandshakeError::InvalidHeader`]).
///
/// ```
/// let r = rfc6455::handshake::reject(403, &[], b"bad origin").unwrap();
/// assert_eq!(
///     r,
///     b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\nConnection: close\r\n\r\nbad origin"
/// );
/// ```
pub fn reject(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(100..=999).contains(&status) {
        return Err(HandshakeError::InvalidStatus(status));
    }
    check_headers(headers)?;
    Ok(write_response(status, None, headers, body))
}

/// Builds a plain HTTP response (for a request that is not an upgrade, see
/// [`Request::is_upgrade`]) with `Content-Type`, `Content-Length` and
/// `Connection: close`.
///
/// ```
/// let r = rfc6455::handshake::http_response(200, "text/html", b"<p>hi</p>").unwrap();
/// assert!(r.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"));
/// assert!(r.ends_with(b"\r\n\r\n<p>hi</p>"));
/// ```
pub fn http_response(
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(100..=999).contains(&status) {
        return Err(HandshakeError::InvalidStatus(status));
    }
    check_value(content_type)?;
    Ok(write_response(status, Some(content_type), &[], body))
}
