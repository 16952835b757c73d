//! The client side of the opening handshake: building the request (RFC
//! 6455 §4.1) and validating the server's response.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::accept::{accept_key, encode_key};
use super::error::HandshakeError;
use super::head::{HeadReader, Kind, Limits};
use super::headers::{self, is_token, ExtEvent, Headers};
use super::response::Response;
use super::uri::Uri;
use super::write::{check_headers, check_value, push_header};
use crate::rand::KeySource;

/// What a client asks for in its opening handshake (RFC 6455 §4.1).
///
/// ```
/// use rfc6455::handshake::ClientOptions;
/// let opts = ClientOptions::new()
///     .origin("https://example.com")
///     .subprotocol("chat")
///     .extensions("permessage-deflate; client_max_window_bits")
///     .header("Authorization", "Bearer t0k3n");
/// assert_eq!(opts.subprotocols, ["chat"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// `Origin` header (RFC 6455 §4.1 item 8, §10.2).
    pub origin: Option<String>,
    /// Offered subprotocols, most preferred first (RFC 6455 §4.1 item 10).
    pub subprotocols: Vec<String>,
    /// Raw `Sec-WebSocket-Extensions` offer (RFC 6455 §4.1 item 11, §9.1).
    pub extensions: Option<String>,
    /// Extra headers such as `Authorization` or `Cookie` (RFC 6455 §4.1
    /// item 12).
    pub headers: Vec<(String, String)>,
    /// Limits for reading the server's response head.
    pub limits: Limits,
}

impl ClientOptions {
    /// No origin, subprotocols, extensions or extra headers; default limits.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientOptions, Limits};
    /// let options = ClientOptions::new();
    /// assert!(options.origin.is_none() && options.subprotocols.is_empty());
    /// assert_eq!(options.limits, Limits::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `Origin` header.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, Uri};
    /// let options = ClientOptions::new().origin("https://example.com");
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let hs = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// assert!(String::from_utf8_lossy(hs.request_bytes()).contains("\r\nOrigin: https://example.com\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Appends an offered subprotocol.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, Uri};
    /// let options = ClientOptions::new().subprotocol("v2.chat").subprotocol("v1.chat"); // preferred first
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let hs = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// assert!(String::from_utf8_lossy(hs.request_bytes()).contains("\r\nSec-WebSocket-Protocol: v2.chat, v1.chat\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Sets the raw `Sec-WebSocket-Extensions` offer.
    ///
    /// ```
    /// use rfc6455::handshake::ClientOptions;
    /// // The adapters write this offer themselves from `ClientConfig::deflate`;
    /// // set it here for an extension of the application's own.
    /// let options = ClientOptions::new().extensions("x-custom-ext; level=2");
    /// assert_eq!(options.extensions.as_deref(), Some("x-custom-ext; level=2"));
    /// ```
    pub fn extensions(mut self, offer: impl Into<String>) -> Self {
        self.extensions = Some(offer.into());
        self
    }

    /// Appends an extra request header.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, HandshakeError, Uri};
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let options = ClientOptions::new().header("Authorization", "Bearer t0k3n");
    /// assert!(ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new()).is_ok());
    /// // Header injection is refused.
    /// let bad = ClientOptions::new().header("X-Note", "a\r\nHost: evil");
    /// let err = ClientHandshake::new(&uri, &bad, &mut rfc6455::rand::OsRandom::new()).unwrap_err();
    /// assert!(matches!(err, HandshakeError::InvalidHeader));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the limits for reading the response head.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientOptions, Limits};
    /// let options = ClientOptions::new().limits(Limits::default().max_head_bytes(4096));
    /// assert_eq!(options.limits.max_head_bytes, 4096);
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The client half of the opening handshake: holds the request to send and
/// validates the server's answer (RFC 6455 §4.1). See the
/// [module documentation](super) for a full example.
///
/// ```
/// use rfc6455::handshake::{ClientHandshake, ClientOptions, HandshakeError, Uri};
/// use rfc6455::rand::OsRandom;
///
/// let uri = Uri::parse("ws://example.com/chat")?;
/// let mut handshake = ClientHandshake::new(&uri, &ClientOptions::new(), &mut OsRandom::new())?;
/// // Send `handshake.request_bytes()`; feed what comes back.
/// let answer = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope";
/// match handshake.feed(answer) {
///     Err(HandshakeError::UnexpectedStatus { response, body }) => {
///         assert_eq!((response.status(), &body[..]), (403, &b"nope"[..]));
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClientHandshake {
    request: Vec<u8>,
    expected_accept: [u8; 28],
    subprotocols: Vec<String>,
    extension_names: Vec<String>,
    reader: HeadReader,
}

impl ClientHandshake {
    /// Builds the request for `uri` with a fresh `Sec-WebSocket-Key` made
    /// from 16 bytes of `keys` (RFC 6455 §4.1 item 7):
    ///
    /// `GET <resource name> HTTP/1.1`, `Host` (with `:port` only when not
    /// the default), `Upgrade: websocket`, `Connection: Upgrade`,
    /// `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`, then `Origin`,
    /// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` and the extra
    /// headers when given.
    ///
    /// Errors: a subprotocol that is not a token, or a header name that is
    /// not a token or a value containing CR, LF or NUL
    /// ([`HandshakeError::InvalidHeader`]); an extension offer that does not
    /// parse ([`HandshakeError::MalformedExtensions`]).
    ///
    /// ```
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, Uri};
    /// use rfc6455::rand::OsRandom;
    /// let uri = Uri::parse("ws://example.com:8080/chat?room=1")?;
    /// let handshake = ClientHandshake::new(&uri, &ClientOptions::new(), &mut OsRandom::new())?;
    /// let request = String::from_utf8_lossy(handshake.request_bytes());
    /// assert!(request.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
    /// assert!(request.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        uri: &Uri,
        options: &ClientOptions,
        keys: &mut dyn KeySource,
    ) -> Result<ClientHandshake, HandshakeError> {
        let extension_names = check_options(options)?;

        let mut nonce = [0u8; 16];
        keys.fill(&mut nonce);
        let key = encode_key(&nonce);
        let key_str = core::str::from_utf8(&key).unwrap_or("");
        let host = uri.host_header();

        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(uri.resource_name().as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        push_header(&mut out, "Host", &host);
        out.extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
        push_header(&mut out, "Sec-WebSocket-Key", key_str);
        offer_headers(options, |n, v| push_header(&mut out, n, v));
        out.extend_from_slice(b"\r\n");

        Ok(ClientHandshake {
            request: out,
            expected_accept: accept_key(&key),
            subprotocols: options.subprotocols.clone(),
            extension_names,
            reader: HeadReader::new(options.limits),
        })
    }

    /// The request bytes to send to the server.
    ///
    /// ```
    /// use std::io::Write;
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, Uri};
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let handshake = ClientHandshake::new(&uri, &ClientOptions::new(), &mut rfc6455::rand::OsRandom::new())?;
    /// let mut socket = Vec::new(); // any `Write`
    /// socket.write_all(handshake.request_bytes())?;
    /// assert!(socket.ends_with(b"\r\n\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_bytes(&self) -> &[u8] {
        &self.request
    }

    /// Consumes bytes of the server's response, exactly like
    /// [`ServerHandshake::feed`](super::ServerHandshake::feed): `Ok(None)`
    /// means more bytes are needed; `Ok(Some((response, n)))` means the first
    /// `n` bytes of `input` were the response head and `input[n..]` (frames
    /// the server sent right after it) belongs to the connection.
    ///
    /// The response is validated per RFC 6455 §4.1: status 101 (otherwise
    /// [`HandshakeError::UnexpectedStatus`] with the head and the body bytes
    /// that came with it), `Upgrade: websocket`, `Connection: Upgrade`, a
    /// matching `Sec-WebSocket-Accept`, a subprotocol that was offered (or
    /// none) and only extensions that were offered.
    ///
    /// ```
    /// use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Limits, ServerHandshake, Uri};
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let mut handshake = ClientHandshake::new(&uri, &ClientOptions::new(), &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(handshake.request_bytes())?.unwrap();
    /// # let mut received = request.accept(&Accept::new())?;
    /// # received.extend_from_slice(b"\x81\x02hi");
    /// // `received`: the server's 101 and, behind it, a first frame; fed in two reads.
    /// let (first, second) = received.split_at(20);
    /// assert!(handshake.feed(first)?.is_none()); // more bytes needed
    /// let (response, used) = handshake.feed(second)?.expect("a whole head");
    /// assert_eq!(response.status(), 101);
    /// assert_eq!(&second[used..], b"\x81\x02hi"); // for the connection
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
        let read = self
            .reader
            .feed(input, Kind::Response)
            .map_err(as_response_error)?;
        let Some((p, used)) = read else {
            return Ok(None);
        };
        let response = Response {
            headers: p.headers,
            status: p.status,
            reason: p.first,
            version: p.version,
        };
        if response.status != 101 {
            return Err(HandshakeError::UnexpectedStatus {
                response: Box::new(response),
                body: input.get(used..).unwrap_or(&[]).to_vec(),
            });
        }
        self.check(&response)?;
        Ok(Some((response, used)))
    }

    fn check(&self, r: &Response) -> Result<(), HandshakeError> {
        let h = &r.headers;
        if !h.contains_token("upgrade", "websocket") {
            return Err(HandshakeError::ResponseUpgrade);
        }
        if !h.contains_token("connection", "upgrade") {
            return Err(HandshakeError::ResponseConnection);
        }
        match h.get("sec-websocket-accept") {
            None => return Err(HandshakeError::MissingAccept),
            Some(a) if a != self.expected_accept || h.count("sec-websocket-accept") != 1 => {
                return Err(HandshakeError::AcceptMismatch)
            }
            Some(_) => {}
        }
        check_agreed(h, &self.extension_names, &self.subprotocols)
    }

    /// How many times the HTTP parser has run (at most once).
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn parse_calls(&self) -> usize {
        self.reader.parses()
    }
}

/// A head-reading error, said of the server's response instead of a
/// request.
pub(crate) fn as_response_error(e: HandshakeError) -> HandshakeError {
    match e {
        HandshakeError::HeadTooLarge { limit } => HandshakeError::ResponseTooLarge { limit },
        HandshakeError::TooManyHeaders { limit } => {
            HandshakeError::ResponseTooManyHeaders { limit }
        }
        HandshakeError::MalformedHead(e) => HandshakeError::MalformedResponse(e),
        e => e,
    }
}

/// Checks what a client is about to offer (RFC 6455 §4.1 items 8-12, in
/// either form of the request): an `Origin` and extra headers that cannot
/// inject a line, subprotocols that are tokens, an extension offer that
/// parses. Returns the names of the offered extensions.
pub(crate) fn check_options(options: &ClientOptions) -> Result<Vec<String>, HandshakeError> {
    if let Some(o) = &options.origin {
        check_value(o)?;
    }
    if options.subprotocols.iter().any(|p| !is_token(p.as_bytes())) {
        return Err(HandshakeError::InvalidHeader);
    }
    let mut extension_names = Vec::new();
    if let Some(e) = &options.extensions {
        check_value(e)?;
        headers::parse_extensions(e.as_bytes(), |ev| {
            if let ExtEvent::Ext(name) = ev {
                extension_names.push(String::from(name));
            }
        })
        .map_err(|_| HandshakeError::MalformedExtensions)?;
    }
    check_headers(&options.headers)?;
    Ok(extension_names)
}

/// The header fields of a client's offer, in order, in either form of the
/// request: `Sec-WebSocket-Version: 13`, then `Origin`,
/// `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions` and the extra
/// headers when given.
pub(crate) fn offer_headers(options: &ClientOptions, mut push: impl FnMut(&str, &str)) {
    push("Sec-WebSocket-Version", "13");
    if let Some(o) = &options.origin {
        push("Origin", o);
    }
    if !options.subprotocols.is_empty() {
        push("Sec-WebSocket-Protocol", &options.subprotocols.join(", "));
    }
    if let Some(e) = &options.extensions {
        push("Sec-WebSocket-Extensions", e);
    }
    for (n, v) in &options.headers {
        push(n, v);
    }
}

/// Checks what the server agreed to, in either form of the response: only
/// extensions that were offered (RFC 6455 §4.1, validation item 5), and at
/// most one subprotocol, one that was offered (item 6).
pub(crate) fn check_agreed(
    h: &Headers,
    extension_names: &[String],
    subprotocols: &[String],
) -> Result<(), HandshakeError> {
    let mut ok = Ok(());
    for value in h.get_all("sec-websocket-extensions") {
        headers::parse_extensions(value, |ev| {
            if let ExtEvent::Ext(name) = ev {
                if ok.is_ok() && !extension_names.iter().any(|o| o.eq_ignore_ascii_case(name)) {
                    ok = Err(HandshakeError::ExtensionNotOffered(String::from(name)));
                }
            }
        })
        .map_err(|_| HandshakeError::MalformedResponseExtensions)?;
    }
    ok?;
    let mut protocols = h.get_all("sec-websocket-protocol");
    if let Some(p) = protocols.next() {
        // Sec-WebSocket-Protocol-Server = token (RFC 6455 §4.3).
        if protocols.next().is_some()
            || !is_token(p)
            || !subprotocols.iter().any(|o| o.as_bytes() == p)
        {
            return Err(HandshakeError::ResponseSubprotocol);
        }
    }
    Ok(())
}
