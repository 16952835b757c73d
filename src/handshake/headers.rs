//! Header storage (byte ranges into one owned buffer) and the list grammars
//! of the handshake headers: comma-separated token lists (RFC 7230 §7,
//! RFC 6455 §4.3) and extension lists (RFC 6455 §9.1, RFC 7692 §5.1).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::error::HandshakeError;
use super::head::Limits;

/// A byte range into a head buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    /// The range of `part` inside `base`, or an empty span if `part` does not
    /// point into `base` (httparse may hand back a static empty string).
    pub(crate) fn of(base: &[u8], part: &[u8]) -> Span {
        let b = base.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        match p.checked_sub(b) {
            Some(start) if start <= base.len() && part.len() <= base.len() - start => Span {
                start,
                end: start + part.len(),
            },
            _ => Span::default(),
        }
    }

    pub(crate) fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.end).unwrap_or(&[])
    }
}

/// The header fields of a parsed head, stored as ranges into the one owned
/// copy of the head's bytes.
///
/// Names compare ASCII case-insensitively (RFC 7230 §3.2). Values are the
/// raw bytes with surrounding whitespace removed.
///
/// ```
/// use rfc6455::handshake::{Limits, ServerHandshake};
/// let head = b"GET / HTTP/1.1\r\nHost: example.com\r\nX-Tag: a\r\nx-tag: b\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// let headers = request.headers();
/// assert_eq!(headers.len(), 3);
/// assert_eq!(headers.get_str("HOST"), Some("example.com"));
/// assert_eq!(headers.get_all("x-tag").collect::<Vec<_>>(), [b"a", b"b"]);
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Headers {
    buf: Vec<u8>,
    fields: Vec<(Span, Span)>,
    /// Whether `buf` is a head as received (see [`raw`](Self::raw)), not
    /// fields given as parts by an HTTP server that parsed the head itself.
    received: bool,
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_list();
        for (name, value) in self.iter() {
            m.entry(&(name, String::from_utf8_lossy(value)));
        }
        m.finish()
    }
}

impl Headers {
    pub(crate) fn new(buf: Vec<u8>, fields: Vec<(Span, Span)>) -> Self {
        Headers {
            buf,
            fields,
            received: true,
        }
    }

    /// The whole head (request or status line, headers, blank line) as
    /// received; empty for a request or response given as parts
    /// ([`Request::from_parts`](super::Request::from_parts), HTTP/2).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert!(request.headers().raw().starts_with(b"GET /chat?room=1 HTTP/1.1\r\n"));
    /// assert!(request.headers().raw().ends_with(b"\r\n\r\n"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn raw(&self) -> &[u8] {
        if self.received {
            &self.buf
        } else {
            &[]
        }
    }

    pub(crate) fn span(&self, s: Span) -> &[u8] {
        s.get(&self.buf)
    }

    /// Number of header fields (repeated names count each time).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.headers().len(), 7);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no header fields.
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(b"GET / HTTP/1.0\r\n\r\n")?.unwrap();
    /// assert!(request.headers().is_empty());
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// All fields in order of appearance, as `(name, value)`.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// for (name, value) in request.headers().iter() {
    ///     println!("{name}: {}", String::from_utf8_lossy(value));
    /// }
    /// assert_eq!(request.headers().iter().next(), Some(("Host", &b"example.com"[..])));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(move |&(n, v)| {
            // httparse only accepts token characters in names, so this is ASCII.
            let name = core::str::from_utf8(n.get(&self.buf)).unwrap_or("");
            (name, v.get(&self.buf).trim_ascii())
        })
    }

    /// The value of the first field called `name` (case-insensitive).
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.headers().get("sec-websocket-version"), Some(&b"13"[..]));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let name = name.as_bytes();
        self.fields.iter().find_map(|&(n, v)| {
            let n = n.get(&self.buf);
            if n.len() == name.len() && n.eq_ignore_ascii_case(name) {
                Some(v.get(&self.buf).trim_ascii())
            } else {
                None
            }
        })
    }

    /// The value of the first field called `name`, if it is valid UTF-8.
    ///
    /// ```
    /// # use rfc6455::handshake::{Limits, ServerHandshake};
    /// # let head = b"GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\n\r\n";
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// // `request`: GET /chat?room=1 from https://example.com, offering "chat, superchat"
    /// assert_eq!(request.headers().get_str("Origin"), Some("https://example.com"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The values of every field called `name` (case-insensitive), in order.
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let head = b"GET / HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// let cookies: Vec<&[u8]> = request.headers().get_all("cookie").collect();
    /// assert_eq!(cookies, [&b"a=1"[..], &b"b=2"[..]]);
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let name = name.as_bytes();
        self.fields.iter().filter_map(move |&(n, v)| {
            let n = n.get(&self.buf);
            if n.len() == name.len() && n.eq_ignore_ascii_case(name) {
                Some(v.get(&self.buf).trim_ascii())
            } else {
                None
            }
        })
    }

    /// Raw `(name, trimmed value)` pairs, without UTF-8 checks.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(move |&(n, v)| (n.get(&self.buf), v.get(&self.buf).trim_ascii()))
    }

    /// Number of fields called `name`.
    pub(crate) fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether the comma-separated lists in all `name` fields, combined as
    /// RFC 7230 §3.2.2 says, contain `token` (ASCII case-insensitive).
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let head = b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// assert!(request.headers().contains_token("connection", "upgrade"));
    /// assert!(!request.headers().contains_token("connection", "close"));
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn contains_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(list_items)
            .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// What requests of both forms (HTTP/1.1 upgrade, HTTP/2 extended
/// CONNECT) read from their header fields in the same way.
impl Headers {
    /// The offered subprotocols (RFC 6455 §4.2.1 item 8).
    pub(crate) fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        self.get_all("sec-websocket-protocol")
            .flat_map(list_items)
            .filter_map(|s| core::str::from_utf8(s).ok())
    }

    /// The offered (or, in a response, agreed) extensions (RFC 6455 §9.1).
    pub(crate) fn extensions(&self) -> Result<Vec<Extension<'_>>, BadExtensions> {
        collect_extensions(self)
    }
}

/// One header field as an HTTP library hands it over: a `(name, value)`
/// pair, or a reference to one, of anything that is bytes (`&str`,
/// `String`, `http::HeaderName`/`HeaderValue`, ...). What
/// [`Request::from_parts`](super::Request::from_parts) and the HTTP/2
/// handshake take.
///
/// ```
/// use rfc6455::handshake::HeaderField;
/// let owned = (String::from("origin"), String::from("https://example.com"));
/// assert_eq!(owned.name(), b"origin");
/// assert_eq!((&owned).value(), b"https://example.com");
/// assert_eq!(("host", b"example.com").value(), b"example.com");
/// ```
pub trait HeaderField {
    /// The field's name.
    fn name(&self) -> &[u8];
    /// The field's value.
    fn value(&self) -> &[u8];
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderField for (N, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> HeaderField for &(N, V) {
    fn name(&self) -> &[u8] {
        self.0.as_ref()
    }
    fn value(&self) -> &[u8] {
        self.1.as_ref()
    }
}

/// Builds [`Headers`] from fields an HTTP server has already parsed (no
/// head to re-read), holding them to what reading a head would: names are
/// tokens, values hold no control bytes but HTAB (RFC 9110 §5.5), at most
/// [`Limits::max_headers`] fields, and at most [`Limits::max_head_bytes`]
/// bytes as the same head would take in HTTP/1.1.
pub(crate) struct PartsBuilder {
    buf: Vec<u8>,
    fields: Vec<(Span, Span)>,
    size: usize,
    limits: Limits,
}

impl PartsBuilder {
    /// A builder whose start line (or pseudo-header fields) takes
    /// `start_line` bytes.
    pub(crate) fn new(limits: Limits, start_line: usize) -> Self {
        PartsBuilder {
            buf: Vec::new(),
            fields: Vec::new(),
            size: start_line + 2,
            limits,
        }
    }

    /// Stores `bytes` (a method, target or pseudo-header value) and returns
    /// where.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        Span {
            start,
            end: self.buf.len(),
        }
    }

    /// Adds every field of `fields`.
    pub(crate) fn fields<F: HeaderField>(
        &mut self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), HandshakeError> {
        for f in fields {
            self.field(f.name(), f.value())?;
        }
        Ok(())
    }

    /// Adds one header field.
    fn field(&mut self, name: &[u8], value: &[u8]) -> Result<(), HandshakeError> {
        if !is_token(name) {
            return Err(HandshakeError::MalformedHead(httparse::Error::HeaderName));
        }
        if !value_is_valid(value) {
            return Err(HandshakeError::MalformedHead(httparse::Error::HeaderValue));
        }
        if self.fields.len() == self.limits.max_headers {
            return Err(HandshakeError::TooManyHeaders {
                limit: self.limits.max_headers,
            });
        }
        self.size += name.len() + value.len() + 4;
        self.check_size()?;
        let name = self.push(name);
        let value = self.push(value);
        self.fields.push((name, value));
        Ok(())
    }

    /// Fails once the head would exceed its size limit.
    pub(crate) fn check_size(&self) -> Result<(), HandshakeError> {
        if self.size > self.limits.max_head_bytes {
            return Err(HandshakeError::HeadTooLarge {
                limit: self.limits.max_head_bytes,
            });
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Headers {
        Headers {
            buf: self.buf,
            fields: self.fields,
            received: false,
        }
    }
}

/// A field value as a head may carry it: HTAB, SP, visible ASCII and
/// obs-text (RFC 9110 §5.5), the bytes the head parser accepts.
fn value_is_valid(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// A method, target or pseudo-header value as a start line may carry it:
/// not empty, no white space or control bytes.
pub(crate) fn word_is_valid(word: &[u8]) -> bool {
    !word.is_empty() && word.iter().all(|&b| b > 0x20 && b != 0x7f)
}

/// Optional whitespace (RFC 7230 §3.2.3).
fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `tchar` (RFC 7230 §3.2.6).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty `token` (RFC 7230 §3.2.6).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// The non-empty, trimmed elements of a comma-separated list (RFC 7230 §7:
/// recipients accept and ignore empty elements).
pub(crate) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty())
}

/// One extension from a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1),
/// e.g. `permessage-deflate; client_max_window_bits`.
///
/// ```
/// use rfc6455::handshake::{Limits, ServerHandshake};
/// let head = b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: permessage-deflate; \
///     server_no_context_takeover, x-webkit-deflate-frame\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// let offers = request.extensions()?;
/// let names: Vec<&str> = offers.iter().map(|e| e.name).collect();
/// assert_eq!(names, ["permessage-deflate", "x-webkit-deflate-frame"]);
/// assert_eq!(offers[0].params[0].name, "server_no_context_takeover");
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// Its parameters, in order.
    pub params: Vec<ExtensionParam<'a>>,
}

/// One parameter of an [`Extension`]: `name` or `name=value`, where the value
/// may have been a quoted-string (RFC 6455 §9.1, RFC 7692 §5.1).
///
/// ```
/// use rfc6455::handshake::{Limits, ServerHandshake};
/// let head = b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: x-ext; mode=\"fast\"; verbose\r\n\r\n";
/// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
/// let offers = request.extensions()?;
/// let params = &offers[0].params;
/// assert_eq!((params[0].name, params[0].value.as_deref()), ("mode", Some("fast"))); // unquoted
/// assert_eq!((params[1].name, params[1].value.as_deref()), ("verbose", None));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam<'a> {
    /// The parameter token, e.g. `server_max_window_bits`.
    pub name: &'a str,
    /// The value with any quoting removed, or `None` for a bare parameter.
    pub value: Option<Cow<'a, str>>,
}

impl Extension<'_> {
    /// The first parameter called `name` (case-insensitive): `None` if absent,
    /// `Some(None)` if present without a value.
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let head = b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: \
    ///     permessage-deflate; client_max_window_bits; server_max_window_bits=10\r\n\r\n";
    /// let (request, _) = ServerHandshake::new(Limits::default()).feed(head)?.unwrap();
    /// let offer = &request.extensions()?[0];
    /// assert_eq!(offer.param("server_max_window_bits"), Some(Some("10")));
    /// assert_eq!(offer.param("client_max_window_bits"), Some(None)); // a bare flag
    /// assert_eq!(offer.param("server_no_context_takeover"), None); // absent
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }
}

/// A malformed extension list.
#[derive(Debug)]
pub(crate) struct BadExtensions;

/// An item found while parsing an extension list.
pub(crate) enum ExtEvent<'a> {
    /// A new extension, by name.
    Ext(&'a str),
    /// A parameter of the most recent extension.
    Param(&'a str, Option<Cow<'a, str>>),
}

/// Parses one `Sec-WebSocket-Extensions` value (`extension-list`, RFC 6455
/// §9.1), calling `on` for each extension name and each of its parameters.
/// Empty list elements are skipped (RFC 7230 §7).
pub(crate) fn parse_extensions<'a>(
    value: &'a [u8],
    mut on: impl FnMut(ExtEvent<'a>),
) -> Result<(), BadExtensions> {
    let mut p = Parser { s: value, i: 0 };
    loop {
        // Skip empty elements and separators.
        while p.peek().is_some_and(|b| is_ows(b) || b == b',') {
            p.i += 1;
        }
        if p.peek().is_none() {
            return Ok(());
        }
        on(ExtEvent::Ext(p.token()?));
        p.ows();
        while p.eat(b';') {
            p.ows();
            let name = p.token()?;
            p.ows();
            let val = if p.eat(b'=') {
                p.ows();
                let v = if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    Cow::Borrowed(p.token()?)
                };
                // RFC 6455 §9.1: after unescaping, a quoted value must
                // conform to `token`.
                if !is_token(v.as_bytes()) {
                    return Err(BadExtensions);
                }
                p.ows();
                Some(v)
            } else {
                None
            };
            on(ExtEvent::Param(name, val));
        }
        match p.peek() {
            None => return Ok(()),
            Some(b',') => {}
            Some(_) => return Err(BadExtensions),
        }
    }
}

/// Parses every `Sec-WebSocket-Extensions` value in `headers` into one list.
pub(crate) fn collect_extensions(headers: &Headers) -> Result<Vec<Extension<'_>>, BadExtensions> {
    let mut out: Vec<Extension<'_>> = Vec::new();
    for value in headers.get_all("sec-websocket-extensions") {
        parse_extensions(value, |ev| match ev {
            ExtEvent::Ext(name) => out.push(Extension {
                name,
                params: Vec::new(),
            }),
            ExtEvent::Param(name, value) => {
                if let Some(last) = out.last_mut() {
                    last.params.push(ExtensionParam { name, value });
                }
            }
        })?;
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Result<&'a str, BadExtensions> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        let t = self.s.get(start..self.i).unwrap_or(&[]);
        if t.is_empty() {
            return Err(BadExtensions);
        }
        core::str::from_utf8(t).map_err(|_| BadExtensions)
    }

    /// A quoted-string (RFC 7230 §3.2.6), unescaped.
    fn quoted(&mut self) -> Result<Cow<'a, str>, BadExtensions> {
        self.i += 1; // opening quote
        let start = self.i;
        let mut owned: Option<String> = None;
        loop {
            let b = self.peek().ok_or(BadExtensions)?;
            match b {
                b'"' => {
                    let raw = self.s.get(start..self.i).unwrap_or(&[]);
                    self.i += 1;
                    return match owned {
                        Some(s) => Ok(Cow::Owned(s)),
                        None => core::str::from_utf8(raw)
                            .map(Cow::Borrowed)
                            .map_err(|_| BadExtensions),
                    };
                }
                b'\\' => {
                    let esc = self.s.get(self.i + 1).copied().ok_or(BadExtensions)?;
                    if !esc.is_ascii() || esc.is_ascii_control() && esc != b'\t' {
                        return Err(BadExtensions);
                    }
                    let s = owned.get_or_insert_with(|| {
                        String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or(&[]))
                            .into_owned()
                    });
                    s.push(char::from(esc));
                    self.i += 2;
                }
                _ => {
                    // qdtext: HTAB / SP / VCHAR (no obs-text: the value must
                    // end up a token anyway).
                    if !(b == b'\t' || (b' '..=b'~').contains(&b)) {
                        return Err(BadExtensions);
                    }
                    if let Some(s) = owned.as_mut() {
                        s.push(char::from(b));
                    }
                    self.i += 1;
                }
            }
        }
    }
}
