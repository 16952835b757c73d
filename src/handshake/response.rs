//! A server's response, as a client sees it (RFC 6455 §4.1).

use alloc::vec::Vec;

use super::error::HandshakeError;
use super::headers::{list_items, Extension, Headers, Span};

/// A server's response head, as seen by the client.
///
/// ```
/// use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Limits, ServerHandshake, Uri};
/// use rfc6455::rand::OsRandom;
///
/// let uri = Uri::parse("ws://example.com/chat")?;
/// let options = ClientOptions::new().subprotocol("chat");
/// let mut client = ClientHandshake::new(&uri, &options, &mut OsRandom::new())?;
/// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
/// # let answer = request.accept(&Accept::new().subprotocol("chat"))?;
/// // ... send `client.request_bytes()`, read the server's `answer` ...
/// let (response, _) = client.feed(&answer)?.expect("a whole head");
/// assert_eq!(response.status(), 101);
/// assert_eq!(response.subprotocol(), Some("chat"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub(super) headers: Headers,
    pub(super) status: u16,
    pub(super) reason: Span,
    pub(super) version: u8,
}

impl Response {
    /// A response given as fields (HTTP/2): no status line to point into.
    pub(crate) fn from_fields(headers: Headers, status: u16, version: u8) -> Response {
        Response {
            headers,
            status,
            reason: Span::default(),
            version,
        }
    }

    /// The status code, e.g. `101`.
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert_eq!(response.status(), 101);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, e.g. `Switching Protocols`.
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert_eq!(response.reason(), "Switching Protocols");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reason(&self) -> &str {
        core::str::from_utf8(self.headers.span(self.reason)).unwrap_or("")
    }

    /// The minor HTTP version: `1` for HTTP/1.1 (`2` for an HTTP/2
    /// response checked by [`ClientConnect::check`](super::ClientConnect::check)).
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert_eq!(response.http_version(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_version(&self) -> u8 {
        self.version
    }

    /// The header fields.
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert_eq!(response.headers().get_str("set-cookie"), Some("id=1"));
    /// assert!(response.headers().contains_token("connection", "upgrade"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert_eq!(response.header("Set-Cookie"), Some(&b"id=1"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The subprotocol in use (RFC 6455 §4.1, "_Subprotocol In Use_"), if
    /// the server selected one.
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// match response.subprotocol() {
    ///     Some("chat") => {} // speak chat
    ///     Some(other) => panic!("not offered: {other}"), // (feed already rejects these)
    ///     None => panic!("the server chose no subprotocol"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subprotocol(&self) -> Option<&str> {
        self.headers
            .get("sec-websocket-protocol")
            .and_then(|v| list_items(v).next())
            .and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The extensions in use (RFC 6455 §4.1, "_Extensions In Use_", §9.1),
    /// with their parameters.
    ///
    /// ```
    /// # use rfc6455::handshake::*;
    /// # let uri = Uri::parse("ws://example.com/chat")?;
    /// # let options = ClientOptions::new().subprotocol("chat");
    /// # let mut client = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(client.request_bytes())?.unwrap();
    /// # let answer = request.accept(&Accept::new().subprotocol("chat").header("Set-Cookie", "id=1"))?;
    /// # let (response, _) = client.feed(&answer)?.unwrap();
    /// // `response`: a 101 that selected "chat" and set a cookie
    /// assert!(response.extensions()?.is_empty()); // none in use
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn extensions(&self) -> Result<Vec<Extension<'_>>, HandshakeError> {
        self.headers
            .extensions()
            .map_err(|_| HandshakeError::MalformedResponseExtensions)
    }
}
