//! The opening step: from a request (or a response) that has been read to
//! the bytes to answer with and an open [`Connection`] (feature `std`).
//!
//! Both adapters take this step, and so can any HTTP server that hands a
//! connection over: [`ServerUpgrade::answer`] validates the request (RFC
//! 6455 §4.2.1), negotiates permessage-deflate (RFC 7692 §5) and builds the
//! `101` (§4.2.2), or the refusal (400, 426) with its error; the bytes that
//! followed the request (the first frames) are fed to the connection. On
//! the client side, [`ClientUpgrade`] makes the request (with the deflate
//! offer) and [`ClientOpening::open`] checks the server's answer to it.
//! No I/O here: the caller writes the bytes and reads the heads.
//!
//! ```
//! use rfc6455::adapter::ServerConfig;
//! use rfc6455::handshake::{Accept, Limits, ServerHandshake};
//! use rfc6455::upgrade::ServerUpgrade;
//! use rfc6455::Event;
//!
//! // Whatever read the request: here, bytes in memory. A masked "hi"
//! // follows the head.
//! let mut input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n".to_vec();
//! input.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
//! let (request, used) = ServerHandshake::new(Limits::default()).feed(&input)?.unwrap();
//!
//! let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
//! let (response, opened) = upgrade.answer(&Accept::new());
//! assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! let mut conn = opened?; // write `response` first, then use `conn`
//! assert_eq!(conn.next_event()?, Some(Event::Text("hi")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::vec::Vec;

use crate::adapter::{ClientConfig, Error, ServerConfig};

use crate::config::Config;
use crate::connection::Connection;
#[cfg(feature = "deflate")]
use crate::deflate::{
    negotiate::{ClientOffer, Required, ServerAnswer},
    DeflateConfig,
};
use crate::handshake::{
    Accept, ClientConnect, ClientHandshake, ClientOptions, ConnectRequest, HandshakeError, Headers,
    Request, Response, ResponseParts, Uri,
};
use crate::rand::{KeySource, OsRandom};

/// A server's upgrade request, read and about to be answered: the request,
/// the bytes that followed it, and the settings to answer with. What each
/// adapter's `Incoming` holds besides its stream. See the
/// [module docs](self).
///
/// Refusing is part of the step too: an invalid request gets the answer
/// RFC 6455 §4.2.1 calls for.
///
/// ```
/// use rfc6455::adapter::{Error, ServerConfig};
/// use rfc6455::handshake::{Accept, HandshakeError, Limits, ServerHandshake};
/// use rfc6455::upgrade::ServerUpgrade;
///
/// // A request for another protocol version.
/// let input = b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 8\r\n\r\n";
/// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
/// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
/// let (refusal, opened) = upgrade.answer(&Accept::new());
/// assert!(refusal.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
/// assert!(matches!(opened, Err(Error::Handshake(HandshakeError::UnsupportedVersion))));
/// // Write `refusal`, then close the transport.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ServerUpgrade {
    pub(crate) request: Request,
    /// Bytes the client sent right behind its request: the first frames.
    pub(crate) leftover: Vec<u8>,
    pub(crate) config: Config,
    /// permessage-deflate to accept offers with, if any.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<DeflateConfig>,
}

impl ServerUpgrade {
    /// A request read by a [`ServerHandshake`](crate::handshake::ServerHandshake)
    /// (or re-parsed from another HTTP server's head), the bytes that
    /// arrived right behind it, and the settings to answer with (the
    /// connection's [`Config`], and permessage-deflate).
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82\0\0\0\0hi";
    ///
    /// // `input`: what was read, the request head and then a first frame.
    /// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
    /// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
    /// assert_eq!(upgrade.request().path(), "/chat");
    /// let (_response, conn) = upgrade.answer(&Accept::new());
    /// assert_eq!(conn?.role(), rfc6455::Role::Server);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(request: Request, leftover: Vec<u8>, config: &ServerConfig) -> Self {
        ServerUpgrade {
            request,
            leftover,
            config: config.config.clone(),
            #[cfg(feature = "deflate")]
            deflate: config.deflate.clone(),
        }
    }

    /// The request.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82\0\0\0\0hi";
    ///
    /// // `input`: what was read, the request head and then a first frame.
    /// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
    /// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
    /// let request = upgrade.request();
    /// let chat = request.subprotocols().any(|p| p == "chat");
    /// let accept = if chat { Accept::new().subprotocol("chat") } else { Accept::new() };
    /// let (response, _conn) = upgrade.answer(&accept);
    /// assert!(String::from_utf8(response)?.contains("Sec-WebSocket-Protocol: chat\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The bytes that followed the request's head.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82\0\0\0\0hi";
    ///
    /// // `input`: what was read, the request head and then a first frame.
    /// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
    /// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
    /// assert_eq!(upgrade.leftover(), b"\x81\x82\0\0\0\0hi"); // a masked "hi"
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn leftover(&self) -> &[u8] {
        &self.leftover
    }

    /// Gives back the request and the bytes that followed it.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82\0\0\0\0hi";
    ///
    /// // `input`: what was read, the request head and then a first frame.
    /// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
    /// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
    /// // Not taking the step after all: answer with something else.
    /// let (request, leftover) = upgrade.into_parts();
    /// assert_eq!((request.path(), leftover.len()), ("/chat", 8));
    /// let refusal = rfc6455::handshake::reject(503, &[("Retry-After", "5")], b"busy")?;
    /// assert!(refusal.starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_parts(self) -> (Request, Vec<u8>) {
        (self.request, self.leftover)
    }

    /// Answers the request with `accept`: the response to write, and then
    /// either the open connection (compression on if an offer was taken,
    /// the leftover bytes fed) or the error the refusal stands for (400,
    /// 426, or 400 when compression is required and no offer fits; write
    /// the refusal, then close). The response is empty only when the
    /// request cannot be answered at all (an application mistake such as a
    /// subprotocol that was not offered).
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let input = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n\x81\x82\0\0\0\0hi";
    ///
    /// // `input`: what was read, the request head and then a first frame.
    /// let (request, used) = ServerHandshake::new(Limits::default()).feed(input)?.unwrap();
    /// let upgrade = ServerUpgrade::new(request, input[used..].to_vec(), &ServerConfig::default());
    /// let (response, opened) = upgrade.answer(&Accept::new().subprotocol("chat"));
    /// assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// let mut conn = opened?; // write `response`, then use `conn`
    /// assert_eq!(conn.next_event()?, Some(rfc6455::Event::Text("hi"))); // the leftover frame
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn answer(self, accept: &Accept<'_>) -> (Vec<u8>, Result<Connection, Error>) {
        self.take_step(accept, Request::accept, |refusal| match refusal {
            Refusal::Invalid(e) => e.response().unwrap_or_default(),
            #[cfg(feature = "deflate")]
            Refusal::DeflateRequired(r) => r.response().unwrap_or_default(),
        })
    }

    /// [`answer`](Self::answer) for an HTTP server that writes the response
    /// head itself (hyper; see [`rfc6455::hyper`](crate#features)): the
    /// same checks, negotiation and refusals, the response as a status and
    /// fields ([`Request::accept_parts`],
    /// [`HandshakeError::response_parts`](crate::handshake::HandshakeError::response_parts)).
    /// An application mistake (a subprotocol that was not offered) is
    /// answered 500.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{Accept, Limits, Request};
    /// use rfc6455::upgrade::ServerUpgrade;
    ///
    /// // A request as hyper parsed it.
    /// let fields = [("host", "example.com"), ("upgrade", "websocket"), ("connection", "upgrade"),
    ///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13")];
    /// let request = Request::from_parts("GET", "/chat", 1, fields, Limits::default())?;
    /// let upgrade = ServerUpgrade::new(request, Vec::new(), &ServerConfig::default());
    /// let (response, opened) = upgrade.answer_parts(&Accept::new());
    /// assert_eq!(response.status, 101);
    /// let _conn = opened?; // send `response`, then use `conn` over the upgraded stream
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn answer_parts(self, accept: &Accept<'_>) -> (ResponseParts, Result<Connection, Error>) {
        self.take_step(accept, Request::accept_parts, |refusal| match refusal {
            Refusal::Invalid(e) => e.response_parts().unwrap_or_else(internal_error),
            #[cfg(feature = "deflate")]
            Refusal::DeflateRequired(r) => r.response_parts(),
        })
    }

    /// The step, whatever form the answer takes: the connection, if
    /// opened, is fed the bytes that followed the request.
    fn take_step<R>(
        self,
        accept: &Accept<'_>,
        respond: impl FnOnce(&Request, &Accept<'_>) -> Result<R, HandshakeError>,
        refuse: impl FnOnce(Refusal<'_>) -> R,
    ) -> (R, Result<Connection, Error>) {
        let request = &self.request;
        let (response, mut opened) = open_server(
            request.headers(),
            || request.validate(),
            self.config,
            #[cfg(feature = "deflate")]
            self.deflate.as_ref(),
            accept,
            |accept| respond(request, accept),
            refuse,
        );
        if let Ok(conn) = &mut opened {
            conn.feed(&self.leftover);
        }
        (response, opened)
    }
}

/// A server's HTTP/2 extended CONNECT (RFC 8441), read and about to be
/// answered: the [`ServerUpgrade`] of an HTTP/2 stream. The request's
/// checks, the permessage-deflate negotiation and the connection's settings
/// are those of the HTTP/1.1 step; the answer is a `200` (or the refusal)
/// as a status and fields, for the HTTP/2 library to send. No bytes come
/// with the request: the stream's data, once the `200` is sent, is the
/// WebSocket's.
///
/// ```
/// use rfc6455::adapter::ServerConfig;
/// use rfc6455::handshake::{Accept, ConnectRequest, Limits, PseudoHeaders};
/// use rfc6455::upgrade::ConnectUpgrade;
///
/// let pseudo = PseudoHeaders::websocket("https", "example.com", "/chat");
/// let fields = [("sec-websocket-version", "13"), ("sec-websocket-extensions", "permessage-deflate")];
/// let request = ConnectRequest::from_parts(&pseudo, fields, Limits::default())?;
/// let (response, opened) = ConnectUpgrade::new(request, &ServerConfig::default()).answer(&Accept::new());
/// assert_eq!(response.status, 200);
/// # #[cfg(feature = "deflate")]
/// assert!(response.header("sec-websocket-extensions").unwrap().starts_with("permessage-deflate"));
/// let conn = opened?; // send `response` on the stream, then run `conn` over it
/// # #[cfg(feature = "deflate")]
/// assert!(conn.deflate_enabled());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ConnectUpgrade {
    request: ConnectRequest,
    config: Config,
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateConfig>,
}

impl ConnectUpgrade {
    /// An extended CONNECT read by an HTTP/2 library (see
    /// [`ConnectRequest::from_parts`]), and the settings to answer with.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// use rfc6455::upgrade::ConnectUpgrade;
    /// let pseudo = PseudoHeaders::websocket("http", "127.0.0.1:8082", "/");
    /// let request = ConnectRequest::from_parts(&pseudo, [("sec-websocket-version", "13")], Limits::default())?;
    /// let upgrade = ConnectUpgrade::new(request, &ServerConfig::default().max_message_size(1 << 20));
    /// # let _ = upgrade;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(request: ConnectRequest, config: &ServerConfig) -> Self {
        ConnectUpgrade {
            request,
            config: config.config.clone(),
            #[cfg(feature = "deflate")]
            deflate: config.deflate.clone(),
        }
    }

    /// The request.
    ///
    /// ```
    /// use rfc6455::adapter::ServerConfig;
    /// use rfc6455::handshake::{ConnectRequest, Limits, PseudoHeaders};
    /// use rfc6455::upgrade::ConnectUpgrade;
    /// let pseudo = PseudoHeaders::websocket("http", "127.0.0.1:8082", "/chat");
    /// let request = ConnectRequest::from_parts(&pseudo, [("sec-websocket-version", "13")], Limits::default())?;
    /// let upgrade = ConnectUpgrade::new(request, &ServerConfig::default());
    /// assert_eq!(upgrade.request().path(), "/chat");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request(&self) -> &ConnectRequest {
        &self.request
    }

    /// Answers the request with `accept`: the `200` (or the refusal, see
    /// [`HandshakeError::h2_response`](crate::handshake::HandshakeError::h2_response);
    /// 500 for an application mistake) and the open connection, with
    /// compression on if an offer was taken.
    ///
    /// ```
    /// use rfc6455::adapter::{Error, ServerConfig};
    /// use rfc6455::handshake::{Accept, ConnectRequest, HandshakeError, Limits, PseudoHeaders};
    /// use rfc6455::upgrade::ConnectUpgrade;
    /// let pseudo = PseudoHeaders::websocket("http", "127.0.0.1:8082", "/");
    /// let request = ConnectRequest::from_parts(&pseudo, [("sec-websocket-version", "8")], Limits::default())?;
    /// let (refusal, opened) = ConnectUpgrade::new(request, &ServerConfig::default()).answer(&Accept::new());
    /// assert_eq!((refusal.status, refusal.header("sec-websocket-version")), (400, Some("13")));
    /// assert!(matches!(opened, Err(Error::Handshake(HandshakeError::UnsupportedVersion))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn answer(self, accept: &Accept<'_>) -> (ResponseParts, Result<Connection, Error>) {
        let request = &self.request;
        open_server(
            self.request.headers(),
            || request.validate(),
            self.config,
            #[cfg(feature = "deflate")]
            self.deflate.as_ref(),
            accept,
            |accept| request.accept(accept),
            |refusal| match refusal {
                Refusal::Invalid(e) => e.h2_response().unwrap_or_else(internal_error),
                #[cfg(feature = "deflate")]
                Refusal::DeflateRequired(r) => r.response_parts(),
            },
        )
    }
}

/// Why a server's opening step refuses.
enum Refusal<'a> {
    /// The request is not a valid opening handshake, or the application's
    /// answer is not valid.
    Invalid(&'a HandshakeError),
    /// Compression is required and no offer fits.
    #[cfg(feature = "deflate")]
    DeflateRequired(&'a Required),
}

/// 500, for an answer the application got wrong (it has no response of its
/// own).
fn internal_error() -> ResponseParts {
    let mut parts = ResponseParts::new(500);
    parts.body = b"the server could not answer the WebSocket handshake\n".to_vec();
    parts
}

/// A server's opening step, whatever form the request and its answer take
/// (HTTP/1.1 bytes, HTTP/1.1 or HTTP/2 fields): permessage-deflate
/// negotiated on the request's `offers` (RFC 7692 §5; when compression is
/// required and not offered, the request is checked by `validate` first,
/// so that an invalid one is refused for what is wrong with it), `respond` builds the
/// acceptance with the answer added, `refuse` the refusal; then the
/// connection, with compression on if agreed.
fn open_server<R>(
    offers: &Headers,
    validate: impl FnOnce() -> Result<(), HandshakeError>,
    config: Config,
    #[cfg(feature = "deflate")] deflate: Option<&DeflateConfig>,
    accept: &Accept<'_>,
    respond: impl FnOnce(&Accept<'_>) -> Result<R, HandshakeError>,
    refuse: impl FnOnce(Refusal<'_>) -> R,
) -> (R, Result<Connection, Error>) {
    #[cfg(feature = "deflate")]
    let agreed = match ServerAnswer::negotiate(deflate, offers, accept) {
        Ok(agreed) => agreed,
        Err(required) => {
            // Only a refusal needs the checks first; an accepted request is
            // checked once, by `respond`.
            if let Err(e) = validate() {
                return (refuse(Refusal::Invalid(&e)), Err(e.into()));
            }
            let refusal = refuse(Refusal::DeflateRequired(&required));
            return (refusal, Err(required.error().into()));
        }
    };
    #[cfg(not(feature = "deflate"))]
    let _ = (offers, validate);
    #[cfg(feature = "deflate")]
    let with_answer;
    #[cfg(feature = "deflate")]
    let accept = match &agreed {
        Some(agreed) => {
            with_answer = agreed.accept(accept);
            &with_answer
        }
        None => accept,
    };
    match respond(accept) {
        Ok(response) => {
            #[allow(unused_mut)]
            let mut conn = Connection::server(config);
            #[cfg(feature = "deflate")]
            if let Some(agreed) = &agreed {
                agreed.enable(&mut conn);
            }
            (response, Ok(conn))
        }
        Err(e) => (refuse(Refusal::Invalid(&e)), Err(e.into())),
    }
}

/// A client's opening handshake, about to start: the request to send, with
/// the permessage-deflate offer (if any) added. See the
/// [module docs](self).
///
/// ```
/// use rfc6455::adapter::ClientConfig;
/// use rfc6455::handshake::{Accept, Limits, ServerHandshake, Uri};
/// use rfc6455::upgrade::ClientUpgrade;
///
/// let config = ClientConfig::default();
/// let (mut handshake, opening) =
///     ClientUpgrade::new(&config).start(&Uri::parse("ws://example.com/chat")?)?;
/// // Write `handshake.request_bytes()`; read the answer into `handshake.feed`.
/// let (request, _) = ServerHandshake::new(Limits::default())
///     .feed(handshake.request_bytes())?
///     .unwrap();
/// let answer = request.accept(&Accept::new())?;
/// let (response, used) = handshake.feed(&answer)?.unwrap();
/// let conn = opening.open(&response, &answer[used..])?;
/// assert_eq!(conn.role(), rfc6455::Role::Client);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClientUpgrade<'a> {
    config: &'a ClientConfig,
}

/// A client handshake under way: what [`ClientUpgrade::start`] offered,
/// and the key source the connection will mask with.
///
/// Its [`open`](Self::open) also checks the server's answer to the
/// permessage-deflate offer:
///
/// ```
/// use rfc6455::adapter::ClientConfig;
/// use rfc6455::deflate::DeflateConfig;
/// use rfc6455::handshake::{Accept, Limits, ServerHandshake, Uri};
/// use rfc6455::upgrade::ClientUpgrade;
///
/// let mut config = ClientConfig::default();
/// config.deflate = Some(DeflateConfig::default());
/// let uri = Uri::parse("ws://example.com/")?;
/// let (mut handshake, opening) = ClientUpgrade::new(&config).start(&uri)?;
///
/// // A server that takes the offer (its side of the step: `ServerUpgrade`).
/// let (request, _) = ServerHandshake::new(Limits::default())
///     .feed(handshake.request_bytes())?
///     .unwrap();
/// let (_, answer) = DeflateConfig::default().server_accept(&request.extensions()?).unwrap();
/// let response = request.accept(&Accept::new().extensions(&answer))?;
///
/// let (response, _) = handshake.feed(&response)?.unwrap();
/// let conn = opening.open(&response, &[])?;
/// assert!(conn.deflate_enabled());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ClientOpening<'a> {
    config: &'a ClientConfig,
    #[cfg(feature = "deflate")]
    offer: ClientOffer<'a>,
    keys: OsRandom,
}

impl<'a> ClientUpgrade<'a> {
    /// The handshake `config` describes: its request options, its deflate
    /// offer (unless the options carry an extension offer of the
    /// application's own), the connection's settings once open.
    ///
    /// ```
    /// use rfc6455::adapter::ClientConfig;
    /// use rfc6455::handshake::{ClientOptions, Uri};
    /// use rfc6455::upgrade::ClientUpgrade;
    ///
    /// let mut config = ClientConfig::default();
    /// config.options = ClientOptions::new().subprotocol("chat").header("Authorization", "Bearer t0k3n");
    /// let (handshake, _opening) = ClientUpgrade::new(&config).start(&Uri::parse("ws://example.com/")?)?;
    /// let request = String::from_utf8_lossy(handshake.request_bytes());
    /// assert!(request.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
    /// assert!(request.contains("\r\nAuthorization: Bearer t0k3n\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: &'a ClientConfig) -> Self {
        ClientUpgrade { config }
    }

    /// The handshake for `uri` (its request bytes to write, the response
    /// to feed it), and what [`ClientOpening::open`] needs afterwards.
    ///
    /// ```
    /// use rfc6455::adapter::ClientConfig;
    /// use rfc6455::handshake::Uri;
    /// use rfc6455::upgrade::ClientUpgrade;
    ///
    /// let config = ClientConfig::default();
    /// let uri = Uri::parse("ws://example.com:8080/chat?room=1")?;
    /// let (handshake, _opening) = ClientUpgrade::new(&config).start(&uri)?;
    /// let request = String::from_utf8_lossy(handshake.request_bytes()); // to write
    /// assert!(request.starts_with("GET /chat?room=1 HTTP/1.1\r\nHost: example.com:8080\r\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start(self, uri: &Uri) -> Result<(ClientHandshake, ClientOpening<'a>), HandshakeError> {
        self.begin(|options, keys| ClientHandshake::new(uri, options, keys as &mut dyn KeySource))
    }

    /// The request `build` makes from the options with the deflate offer
    /// added, in either form, and what the opening needs afterwards.
    fn begin<R>(
        self,
        build: impl FnOnce(&ClientOptions, &mut OsRandom) -> Result<R, HandshakeError>,
    ) -> Result<(R, ClientOpening<'a>), HandshakeError> {
        let mut keys = OsRandom::new();
        #[cfg(feature = "deflate")]
        let offer = ClientOffer::new(self.config.deflate.as_ref(), &self.config.options);
        #[cfg(feature = "deflate")]
        let options = offer.options();
        #[cfg(not(feature = "deflate"))]
        let options = &self.config.options;
        let request = build(options, &mut keys)?;
        let opening = ClientOpening {
            config: self.config,
            #[cfg(feature = "deflate")]
            offer,
            keys,
        };
        Ok((request, opening))
    }

    /// [`start`](Self::start) over HTTP/2 (RFC 8441): the extended
    /// CONNECT's fields for `uri`, with the same deflate offer, and what
    /// [`ClientOpening::open`] needs once the `200` is
    /// [checked](ClientConnect::check).
    ///
    /// ```
    /// use rfc6455::adapter::{ClientConfig, ServerConfig};
    /// use rfc6455::handshake::{Accept, ConnectRequest, Uri};
    /// use rfc6455::upgrade::{ClientUpgrade, ConnectUpgrade};
    ///
    /// let mut config = ClientConfig::default();
    /// # #[cfg(feature = "deflate")] {
    /// config.deflate = Some(Default::default());
    /// # }
    /// let (request, opening) = ClientUpgrade::new(&config).start_connect(&Uri::parse("wss://example.com/")?)?;
    ///
    /// // The server's side, over whatever HTTP/2 library carries the fields.
    /// let server = ConnectRequest::from_parts(&request.pseudo(), request.headers(), Default::default())?;
    /// let (answer, _server_conn) = ConnectUpgrade::new(server, &ServerConfig::default()).answer(&Accept::new());
    ///
    /// let response = request.check(answer.status, &answer.headers)?;
    /// let conn = opening.open(&response, &[])?;
    /// # #[cfg(feature = "deflate")]
    /// assert!(conn.deflate_enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_connect(
        self,
        uri: &Uri,
    ) -> Result<(ClientConnect, ClientOpening<'a>), HandshakeError> {
        self.begin(|options, _| ClientConnect::new(uri, options))
    }
}

impl ClientOpening<'_> {
    /// The connection once the server's `response` is in: its answer to
    /// the deflate offer checked (RFC 7692 §7.1) and compression turned on
    /// if agreed, and `leftover` (bytes the server sent right behind its
    /// response: the first frames) fed.
    ///
    /// ```
    /// use rfc6455::adapter::ClientConfig;
    /// use rfc6455::handshake::{Accept, Limits, ServerHandshake, Uri};
    /// use rfc6455::upgrade::ClientUpgrade;
    ///
    /// let config = ClientConfig::default();
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let (mut handshake, opening) = ClientUpgrade::new(&config).start(&uri)?;
    /// # let (request, _) = ServerHandshake::new(Limits::default()).feed(handshake.request_bytes())?.unwrap();
    /// # let mut received = request.accept(&Accept::new())?;
    /// # received.extend_from_slice(b"\x81\x05hello");
    ///
    /// // `received`: the server's response head, and a first frame behind it.
    /// let (response, used) = handshake.feed(&received)?.unwrap();
    /// let mut conn = opening.open(&response, &received[used..])?;
    /// assert_eq!(conn.next_event()?, Some(rfc6455::Event::Text("hello")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(
        self,
        #[allow(unused_variables)] response: &Response,
        leftover: &[u8],
    ) -> Result<Connection, Error> {
        #[allow(unused_mut)]
        let mut conn = Connection::client_with_keys(self.config.config.clone(), self.keys);
        #[cfg(feature = "deflate")]
        self.offer.finish::<Error>(response, &mut conn)?;
        conn.feed(leftover);
        Ok(conn)
    }
}
