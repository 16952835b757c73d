//! WebSocket routes in a hyper service: HTTP/1.1 upgrades and HTTP/2
//! extended CONNECTs answered by the crate's own opening step.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::vec::Vec;

use ::hyper::upgrade::OnUpgrade;
use http::{HeaderName, HeaderValue, Method, StatusCode, Version};
use hyper_util::rt::TokioIo;

use crate::adapter::{Error, ServerConfig};
use crate::connection::Connection;
use crate::handshake::{
    Accept, ConnectRequest, HandshakeError, PseudoHeaders, Request, ResponseParts,
};
use crate::tokio::WebSocketStream;
use crate::upgrade::{ConnectUpgrade, ServerUpgrade};

/// The stream a WebSocket accepted in a hyper service runs over: hyper's
/// upgraded connection (HTTP/1.1) or stream (HTTP/2), as tokio I/O. Bytes
/// hyper read past the request head are read from it first.
pub type Upgraded = TokioIo<::hyper::upgrade::Upgraded>;

/// Answers a WebSocket request in a hyper service, in one call: validates
/// it exactly as [`tokio::accept`](crate::tokio::accept) does (HTTP/1.1:
/// RFC 6455 §4.2.1; HTTP/2: RFC 8441 §4, §5), negotiates the subprotocol
/// `accept` names and permessage-deflate (`config.deflate`, RFC 7692), and
/// returns the response for the service to return, with the future of the
/// WebSocket, or the reason the response refuses.
///
/// - HTTP/1.1 (`GET` with `Upgrade: websocket`): `101 Switching
///   Protocols`, or the 400/426/431 our own server sends, same status, same
///   fields, same body.
/// - HTTP/2 (extended `CONNECT` with `:protocol = websocket`; the server
///   must be built with `enable_connect_protocol()`): `200`, or
///   400/501 (see [`HandshakeError::h2_status`]).
///
/// The response's body type is the service's, anything made from a
/// `Vec<u8>` (`http_body_util::Full<Bytes>`, `axum::body::Body`, ...).
/// [`Upgrading`] resolves once hyper has sent the response and handed the
/// connection over: spawn it, do not await it in the service.
///
/// ```
/// use rfc6455::handshake::Accept;
/// use rfc6455::hyper::ServerConfig;
///
/// # fn call(mut req: http::Request<()>) -> http::Response<Vec<u8>> {
/// // In a hyper service: `req` is the request, `Vec<u8>` the body type.
/// let (response, ws) = rfc6455::hyper::upgrade(&mut req, &ServerConfig::default(), &Accept::new());
/// if let Ok(ws) = ws {
///     tokio::spawn(async move {
///         let mut ws = ws.await?;
///         while let Ok(msg) = ws.read().await {
///             if msg.is_data() {
///                 ws.send(&msg).await?;
///             }
///         }
///         Ok::<_, rfc6455::hyper::Error>(())
///     });
/// }
/// response
/// # }
/// # let (response, ws) = rfc6455::hyper::upgrade::<_, Vec<u8>>(&mut http::Request::new(()), &ServerConfig::default(), &Accept::new());
/// # assert_eq!(response.status(), 400); // no Host
/// ```
pub fn upgrade<B, R: From<Vec<u8>>>(
    request: &mut http::Request<B>,
    config: &ServerConfig,
    accept: &Accept<'_>,
) -> (http::Response<R>, Result<Upgrading, Error>) {
    Handshake::new(request, config).answer(accept)
}

/// Whether `request` asks for a WebSocket: HTTP/1.1 with `websocket` in
/// `Upgrade`, or an HTTP/2 `CONNECT` with `:protocol = websocket`. For
/// serving a page and a WebSocket at the same path; validity is
/// [`upgrade`]'s business.
///
/// ```
/// let page = http::Request::get("/").body(()).unwrap();
/// assert!(!rfc6455::hyper::is_websocket(&page));
/// let ws = http::Request::get("/").header("upgrade", "websocket").body(()).unwrap();
/// assert!(rfc6455::hyper::is_websocket(&ws));
/// ```
pub fn is_websocket<B>(request: &http::Request<B>) -> bool {
    if request.version() <= Version::HTTP_11 {
        request
            .headers()
            .get_all(http::header::UPGRADE)
            .iter()
            .any(|v| {
                v.as_bytes()
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
            })
    } else {
        request.method() == Method::CONNECT
            && request
                .extensions()
                .get::<::hyper::ext::Protocol>()
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"))
    }
}

/// A WebSocket request taken from a hyper service's request, read into the
/// crate's own form and about to be answered: [`upgrade`] in two steps,
/// to look at the request (its subprotocols, its origin) before choosing
/// the answer.
///
/// ```
/// use rfc6455::handshake::Accept;
/// use rfc6455::hyper::{Handshake, ServerConfig};
///
/// # let mut req = http::Request::get("/chat").header("host", "example.com")
/// #     .header("upgrade", "websocket").header("connection", "upgrade")
/// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").header("sec-websocket-version", "13")
/// #     .header("sec-websocket-protocol", "v2.chat, v1.chat").body(()).unwrap();
/// // `req`: an HTTP/1.1 upgrade offering "v2.chat, v1.chat".
/// let handshake = Handshake::new(&mut req, &ServerConfig::default());
/// // The first of the server's own subprotocols the client offers (a name
/// // from the server's list: `answer` takes the handshake by value).
/// let supported = ["v1.chat"];
/// let choice = supported.iter().find(|p| handshake.subprotocols().any(|o| o == **p));
/// let accept = match choice {
///     Some(p) => Accept::new().subprotocol(p),
///     None => Accept::new(),
/// };
/// let (response, ws) = handshake.answer::<Vec<u8>>(&accept);
/// assert_eq!(response.status(), 101);
/// assert_eq!(response.headers()["sec-websocket-protocol"], "v1.chat");
/// # let _ = ws;
/// ```
pub struct Handshake {
    step: Result<Step, HandshakeError>,
    h2: bool,
    on_upgrade: OnUpgrade,
    high_water: usize,
}

enum Step {
    Http1(ServerUpgrade),
    H2(ConnectUpgrade),
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Handshake");
        match &self.step {
            Ok(Step::Http1(u)) => d.field("request", u.request()),
            Ok(Step::H2(u)) => d.field("request", u.request()),
            Err(e) => d.field("error", e),
        };
        d.finish_non_exhaustive()
    }
}

impl Handshake {
    /// Reads `request` (method, target, fields; for HTTP/2 the pseudo-header
    /// fields, `:protocol` from hyper's [`Protocol`](::hyper::ext::Protocol)
    /// extension) into the crate's [`Request`] or [`ConnectRequest`], held
    /// to `config.limits`, and takes hyper's upgrade handle out of it.
    ///
    /// ```
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// let mut req = http::Request::get("/chat?room=1").header("host", "example.com").body(()).unwrap();
    /// let handshake = Handshake::new(&mut req, &ServerConfig::default());
    /// assert_eq!(handshake.request().unwrap().query(), Some("room=1"));
    /// ```
    pub fn new<B>(request: &mut http::Request<B>, config: &ServerConfig) -> Self {
        let h2 = request.version() > Version::HTTP_11;
        let step = if h2 {
            connect_request(request, config).map(|r| Step::H2(ConnectUpgrade::new(r, config)))
        } else {
            http1_request(request, config)
                .map(|r| Step::Http1(ServerUpgrade::new(r, Vec::new(), config)))
        };
        Handshake {
            step,
            h2,
            on_upgrade: ::hyper::upgrade::on(request),
            high_water: config.high_water,
        }
    }

    /// The HTTP/1.1 request, if it is one and its head was well-formed.
    ///
    /// ```
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// let mut req = http::Request::get("/chat").header("origin", "https://example.com").body(()).unwrap();
    /// let handshake = Handshake::new(&mut req, &ServerConfig::default());
    /// assert_eq!(handshake.request().and_then(|r| r.origin()), Some("https://example.com"));
    /// assert!(handshake.h2_request().is_none());
    /// ```
    pub fn request(&self) -> Option<&Request> {
        match &self.step {
            Ok(Step::Http1(u)) => Some(u.request()),
            _ => None,
        }
    }

    /// The HTTP/2 extended CONNECT, if it is one and well-formed.
    ///
    /// ```
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// let mut req = http::Request::connect("https://example.com/chat").version(http::Version::HTTP_2)
    ///     .extension(hyper::ext::Protocol::from_static("websocket")).body(()).unwrap();
    /// let handshake = Handshake::new(&mut req, &ServerConfig::default());
    /// let request = handshake.h2_request().unwrap();
    /// assert_eq!((request.protocol(), request.path()), (Some("websocket"), "/chat"));
    /// ```
    pub fn h2_request(&self) -> Option<&ConnectRequest> {
        match &self.step {
            Ok(Step::H2(u)) => Some(u.request()),
            _ => None,
        }
    }

    /// The offered subprotocols, most preferred first, in either form.
    ///
    /// ```
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// let mut req = http::Request::connect("https://example.com/").version(http::Version::HTTP_2)
    ///     .extension(hyper::ext::Protocol::from_static("websocket"))
    ///     .header("sec-websocket-protocol", "mqtt, chat").body(()).unwrap();
    /// let handshake = Handshake::new(&mut req, &ServerConfig::default());
    /// assert_eq!(handshake.subprotocols().collect::<Vec<_>>(), ["mqtt", "chat"]);
    /// ```
    pub fn subprotocols(&self) -> impl Iterator<Item = &str> + '_ {
        let (a, b) = match &self.step {
            Ok(Step::Http1(u)) => (Some(u.request().subprotocols()), None),
            Ok(Step::H2(u)) => (None, Some(u.request().subprotocols())),
            Err(_) => (None, None),
        };
        a.into_iter().flatten().chain(b.into_iter().flatten())
    }

    /// Whether the request came over HTTP/2 (or later).
    ///
    /// ```
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// let mut req = http::Request::get("/").body(()).unwrap();
    /// assert!(!Handshake::new(&mut req, &ServerConfig::default()).is_h2());
    /// ```
    pub fn is_h2(&self) -> bool {
        self.h2
    }

    /// Answers with `accept`: see [`upgrade`]. An application mistake (a
    /// subprotocol that was not offered, a header that is not valid) is
    /// answered 500.
    ///
    /// ```
    /// use rfc6455::adapter::Error;
    /// use rfc6455::handshake::{Accept, HandshakeError};
    /// use rfc6455::hyper::{Handshake, ServerConfig};
    /// // A plain GET at the WebSocket's route: refused as our server refuses it.
    /// let mut req = http::Request::get("/chat").header("host", "example.com").body(()).unwrap();
    /// let (response, ws) = Handshake::new(&mut req, &ServerConfig::default()).answer::<Vec<u8>>(&Accept::new());
    /// assert_eq!(response.status(), 426);
    /// assert_eq!(response.headers()["upgrade"], "websocket");
    /// assert_eq!(response.body(), b"Upgrade header must contain websocket\n");
    /// assert!(matches!(ws, Err(Error::Handshake(HandshakeError::UpgradeNotWebSocket))));
    /// ```
    pub fn answer<R: From<Vec<u8>>>(
        self,
        accept: &Accept<'_>,
    ) -> (http::Response<R>, Result<Upgrading, Error>) {
        let (parts, opened) = match self.step {
            Ok(Step::Http1(u)) => u.answer_parts(accept),
            Ok(Step::H2(u)) => u.answer(accept),
            Err(e) => {
                let parts = if self.h2 {
                    e.h2_response()
                } else {
                    e.response_parts()
                };
                (parts.unwrap_or_else(internal_error), Err(e.into()))
            }
        };
        let (response, opened) = match to_response(parts) {
            Ok(response) => (response, opened),
            Err(e) => (
                to_response(internal_error()).unwrap_or_else(|_| bare_500()),
                Err(e),
            ),
        };
        let opened = opened.map(|conn| Upgrading {
            on_upgrade: self.on_upgrade,
            conn: Some(conn),
            high_water: self.high_water,
        });
        (response, opened)
    }
}

/// An HTTP/1.x request's start line and fields, as the crate's [`Request`].
fn http1_request<B>(
    request: &http::Request<B>,
    config: &ServerConfig,
) -> Result<Request, HandshakeError> {
    let uri = request.uri();
    // The target as sent: hyper keeps the origin form as path and query.
    let target = match (uri.scheme(), uri.path_and_query()) {
        (None, Some(pq)) => Cow::Borrowed(pq.as_str()),
        _ => Cow::Owned(std::string::ToString::to_string(uri)),
    };
    let minor = u8::from(request.version() == Version::HTTP_11);
    Request::from_parts(
        request.method().as_str(),
        &target,
        minor,
        request.headers(),
        config.limits,
    )
}

/// An HTTP/2 request's pseudo-header fields and fields, as the crate's
/// [`ConnectRequest`].
fn connect_request<B>(
    request: &http::Request<B>,
    config: &ServerConfig,
) -> Result<ConnectRequest, HandshakeError> {
    let uri = request.uri();
    let pseudo = PseudoHeaders {
        method: request.method().as_str(),
        protocol: request
            .extensions()
            .get::<::hyper::ext::Protocol>()
            .map(|p| p.as_str()),
        scheme: uri.scheme_str(),
        path: uri.path_and_query().map(|p| p.as_str()),
        authority: uri.authority().map(|a| a.as_str()),
    };
    ConnectRequest::from_parts(&pseudo, request.headers(), config.limits)
}

/// 500, for an answer the application got wrong.
fn internal_error() -> ResponseParts {
    let mut parts = ResponseParts::new(500);
    parts.push("Content-Type", "text/plain; charset=utf-8");
    parts.body = b"the server could not answer the WebSocket handshake\n".to_vec();
    parts
}

fn to_response<R: From<Vec<u8>>>(parts: ResponseParts) -> Result<http::Response<R>, Error> {
    let invalid = || Error::Handshake(HandshakeError::InvalidHeader);
    let status = StatusCode::from_u16(parts.status)
        .map_err(|_| Error::Handshake(HandshakeError::InvalidStatus(parts.status)))?;
    let mut response = http::Response::new(R::from(parts.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in parts.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| invalid())?;
        headers.append(name, value);
    }
    Ok(response)
}

/// A bare 500, when even the refusal cannot be written.
fn bare_500<R: From<Vec<u8>>>() -> http::Response<R> {
    let mut response = http::Response::new(R::from(Vec::new()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// The WebSocket of an accepted request, once hyper has sent the response
/// and handed the connection (HTTP/1.1) or stream (HTTP/2) over: a future
/// of a [`WebSocketStream`] over [`Upgraded`]. Spawn it; it resolves only
/// after the service's response has gone out.
///
/// ```no_run
/// # async fn run(ws: rfc6455::hyper::Upgrading) -> Result<(), rfc6455::hyper::Error> {
/// // `ws`: from `rfc6455::hyper::upgrade`.
/// let mut ws = ws.await?;
/// ws.send_text("welcome").await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Upgrading {
    on_upgrade: OnUpgrade,
    conn: Option<Connection>,
    high_water: usize,
}

impl Upgrading {
    /// The connection, already open (compression on if agreed), before
    /// hyper hands the stream over.
    ///
    /// ```
    /// # use rfc6455::handshake::Accept;
    /// # let mut req = http::Request::get("/chat").header("host", "example.com")
    /// #     .header("upgrade", "websocket").header("connection", "upgrade")
    /// #     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-extensions", "permessage-deflate").body(()).unwrap();
    /// // `req`: an upgrade offering permessage-deflate.
    /// let (_, ws) = rfc6455::hyper::upgrade::<_, Vec<u8>>(&mut req, &Default::default(), &Accept::new());
    /// assert!(ws.unwrap().connection().deflate_enabled());
    /// ```
    pub fn connection(&self) -> &Connection {
        self.conn
            .as_ref()
            .unwrap_or_else(|| panic!("Upgrading polled after it completed"))
    }
}

impl Future for Upgrading {
    type Output = Result<WebSocketStream<Upgraded>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let upgraded = ready!(Pin::new(&mut self.on_upgrade).poll(cx)).map_err(Error::Upgrade)?;
        let conn = self
            .conn
            .take()
            .unwrap_or_else(|| panic!("Upgrading polled after it completed"));
        Poll::Ready(Ok(WebSocketStream::with_high_water(
            TokioIo::new(upgraded),
            conn,
            self.high_water,
        )))
    }
}
