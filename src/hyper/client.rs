//! WebSockets as streams of an HTTP/2 connection (RFC 8441), client side.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::h2::client::SendRequest;
use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use bytes::{Bytes, BytesMut};
use http::{Method, Version};

use crate::adapter::{ClientConfig, Error};
use crate::handshake::{HandshakeError, Response, Uri};
use crate::tokio::{MaybeTlsStream, WebSocketStream};
use crate::upgrade::ClientUpgrade;

/// The HTTP/2 settings of a client connection: how much each WebSocket
/// (and the connection as a whole) may receive before the application
/// reads (the flow-control windows, RFC 9113 §6.9.2), and the largest
/// frame the server may send.
///
/// The defaults: 2 MiB a stream and 5 MiB a connection (hyper's client
/// defaults), and frames of up to 256 KiB from the server (HTTP/2's
/// default is 16 KiB; a 16 MiB echo through hyper's server took 115 ms
/// with 16 KiB frames, 100 ms with 256 KiB). The window is the most a stream keeps
/// buffered for a reader that does not read; it is given back as the
/// application reads, so a large message streams through at the speed of
/// the reader, whatever its size.
///
/// ```
/// use rfc6455::hyper::Http2Config;
/// let config = Http2Config { stream_window: 4 << 20, ..Http2Config::default() };
/// assert_eq!(config.connection_window, 5 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Config {
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: bytes a stream may receive unread.
    pub stream_window: u32,
    /// The connection's window: bytes all streams together may receive
    /// unread.
    pub connection_window: u32,
    /// `SETTINGS_MAX_FRAME_SIZE`: the largest DATA frame the server may
    /// send (16 KiB to 16 MiB - 1).
    pub max_frame_size: u32,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            stream_window: 2 << 20,
            connection_window: 5 << 20,
            max_frame_size: 256 << 10,
        }
    }
}

/// An HTTP/2 connection that carries WebSockets (RFC 8441), over any
/// transport: TCP with prior knowledge (h2c), or a TLS stream that agreed
/// on `h2` by ALPN. Each [`websocket`](Self::websocket) opens one more
/// WebSocket as a stream of the same connection; clones share it.
///
/// ```
/// use rfc6455::hyper::{ClientConfig, Http2Connection};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::hyper::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let (tcp, _) = listener.accept().await?;
/// #     let service = hyper::service::service_fn(|mut req: http::Request<hyper::body::Incoming>| async move {
/// #         let (response, ws) = rfc6455::hyper::upgrade::<_, http_body_util::Full<bytes::Bytes>>(&mut req, &Default::default(), &Default::default());
/// #         tokio::spawn(async move {
/// #             let mut ws = ws?.await?;
/// #             while let Ok(msg) = ws.read().await { ws.send(&msg).await?; }
/// #             Ok::<_, rfc6455::hyper::Error>(())
/// #         });
/// #         Ok::<_, std::convert::Infallible>(response)
/// #     });
/// #     let mut server = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
/// #     server.enable_connect_protocol();
/// #     server.serve_connection(hyper_util::rt::TokioIo::new(tcp), service).await.ok();
/// #     Ok::<_, std::io::Error>(())
/// # });
/// // `addr`: an HTTP/2 server (h2c) that accepts WebSockets.
/// let tcp = tokio::net::TcpStream::connect(addr).await?;
/// let h2 = Http2Connection::handshake(tcp).await?;
/// assert!(h2.accepts_websockets());
/// let url = format!("ws://{addr}/chat");
/// let (mut a, _) = h2.websocket(&url, &ClientConfig::default()).await?;
/// let (mut b, _) = h2.websocket(&url, &ClientConfig::default()).await?; // same connection
/// a.send_text("one").await?;
/// b.send_text("two").await?;
/// assert_eq!(a.read().await?, "one".into());
/// assert_eq!(b.read().await?, "two".into());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Http2Connection {
    send: SendRequest<Bytes>,
}

impl Http2Connection {
    /// Opens an HTTP/2 connection to the host and port of `url`, with the
    /// default [`Http2Config`]: `ws://` speaks HTTP/2 over TCP with prior
    /// knowledge (h2c); `wss://` (feature `rustls`) opens TLS offering ALPN
    /// `h2` and `http/1.1` (SNI and the certificate's name from the host,
    /// `config.tls` or Mozilla's roots, its ALPN list replaced), and fails
    /// with `Error::Http2NotNegotiated` when the server does not choose
    /// `h2`. [`ClientConfig::handshake_timeout`] covers it all: name
    /// resolution, TCP, TLS and the HTTP/2 settings. The path of `url` is
    /// not used: each [`websocket`](Self::websocket) names its own.
    ///
    /// ```
    /// use rfc6455::hyper::{ClientConfig, Http2Connection};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::hyper::Error> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # tokio::spawn(async move {
    /// #     let (tcp, _) = listener.accept().await?;
    /// #     let service = hyper::service::service_fn(|mut req: http::Request<hyper::body::Incoming>| async move {
    /// #         let (response, ws) = rfc6455::hyper::upgrade::<_, http_body_util::Full<bytes::Bytes>>(&mut req, &Default::default(), &Default::default());
    /// #         tokio::spawn(async move {
    /// #             let mut ws = ws?.await?;
    /// #             while let Ok(msg) = ws.read().await { ws.send(&msg).await?; }
    /// #             Ok::<_, rfc6455::hyper::Error>(())
    /// #         });
    /// #         Ok::<_, std::convert::Infallible>(response)
    /// #     });
    /// #     let mut server = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    /// #     server.enable_connect_protocol();
    /// #     server.serve_connection(hyper_util::rt::TokioIo::new(tcp), service).await.ok();
    /// #     Ok::<_, std::io::Error>(())
    /// # });
    /// // `addr`: an HTTP/2 server that accepts WebSockets; with `wss://`,
    /// // the same over TLS.
    /// let config = ClientConfig::default();
    /// let h2 = Http2Connection::connect(&format!("ws://{addr}/"), &config).await?;
    /// let (mut chat, _) = h2.websocket(&format!("ws://{addr}/chat"), &config).await?;
    /// let (mut feed, _) = h2.websocket(&format!("ws://{addr}/feed"), &config).await?;
    /// chat.send_text("one connection").await?;
    /// feed.send_text("two WebSockets").await?;
    /// assert_eq!(chat.read().await?, "one connection".into());
    /// assert_eq!(feed.read().await?, "two WebSockets".into());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str, config: &ClientConfig) -> Result<Http2Connection, Error> {
        Self::connect_with(url, config, &Http2Config::default()).await
    }

    /// [`connect`](Self::connect) with the HTTP/2 settings `h2`.
    ///
    /// ```no_run
    /// use rfc6455::hyper::{ClientConfig, Http2Config, Http2Connection};
    /// # async fn run() -> Result<(), rfc6455::hyper::Error> {
    /// let windows = Http2Config { stream_window: 8 << 20, connection_window: 16 << 20, ..Default::default() };
    /// let h2 = Http2Connection::connect_with("wss://example.com/", &ClientConfig::default(), &windows).await?;
    /// let (ws, _) = h2.websocket("wss://example.com/chat", &ClientConfig::default()).await?;
    /// # let _ = ws;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with(
        url: &str,
        config: &ClientConfig,
        h2: &Http2Config,
    ) -> Result<Http2Connection, Error> {
        let uri = Uri::parse(url)?;
        with_timeout(config.handshake_timeout, async {
            let stream = open_transport(&uri, config, true).await?;
            if !agreed_h2(&stream) {
                return Err(not_h2(&uri));
            }
            Self::handshake_with(stream, h2).await
        })
        .await
    }

    /// Starts HTTP/2 over `io` with the default [`Http2Config`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rfc6455::hyper::Error> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8082").await?;
    /// let h2 = rfc6455::hyper::Http2Connection::handshake(tcp).await?;
    /// # let _ = h2;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn handshake<S>(io: S) -> Result<Http2Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Self::handshake_with(io, &Http2Config::default()).await
    }

    /// Starts HTTP/2 over `io`: sends the connection preface and settings,
    /// spawns the connection's task on the current tokio runtime, and
    /// waits until the server's own settings have arrived (a PING's
    /// acknowledgement: the server's SETTINGS frame comes first, RFC 9113
    /// §3.4), so that [`accepts_websockets`](Self::accepts_websockets)
    /// answers for the server. Fails if `io` does not speak HTTP/2.
    ///
    /// ```no_run
    /// use rfc6455::hyper::{Http2Config, Http2Connection};
    /// # async fn run() -> Result<(), rfc6455::hyper::Error> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8082").await?;
    /// let config = Http2Config { stream_window: 8 << 20, connection_window: 16 << 20, ..Default::default() };
    /// let h2 = Http2Connection::handshake_with(tcp, &config).await?;
    /// # let _ = h2;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn handshake_with<S>(io: S, config: &Http2Config) -> Result<Http2Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, mut conn) = ::h2::client::Builder::new()
            .initial_window_size(config.stream_window)
            .initial_connection_window_size(config.connection_window)
            .max_frame_size(config.max_frame_size)
            .handshake::<_, Bytes>(io)
            .await?;
        let mut ping = conn.ping_pong();
        ::tokio::spawn(async move {
            // Its errors reach the streams and the requests.
            let _ = conn.await;
        });
        if let Some(ping) = ping.as_mut() {
            ping.ping(::h2::Ping::opaque()).await?;
        }
        Ok(Http2Connection { send })
    }

    /// Whether the server sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1`
    /// (RFC 8441 §3): only then may a WebSocket be opened on this
    /// connection.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rfc6455::hyper::Error> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8082").await?;
    /// let h2 = rfc6455::hyper::Http2Connection::handshake(tcp).await?;
    /// if !h2.accepts_websockets() {
    ///     // open the WebSocket over HTTP/1.1 instead
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn accepts_websockets(&self) -> bool {
        self.send.is_extended_connect_protocol_enabled()
    }

    /// Opens a WebSocket to `url` as a new stream of this connection: the
    /// extended CONNECT of RFC 8441 (built and checked by
    /// [`ClientConnect`](crate::handshake::ClientConnect), with `config`'s
    /// options and deflate offer), within `config.handshake_timeout`.
    /// `url` gives `:scheme` (`ws` → `http`, `wss` → `https`), `:authority`
    /// and `:path`; the transport is this connection's.
    ///
    /// Errors: [`Error::ExtendedConnectDisabled`] when the server does not
    /// accept WebSockets on HTTP/2 (open one over HTTP/1.1, or use
    /// [`connect`]); a refusal as
    /// [`HandshakeError::UnexpectedStatus`]; an answer that does not fit the
    /// offer as for HTTP/1.1.
    ///
    /// See [`Http2Connection`] for an example.
    pub async fn websocket(
        &self,
        url: &str,
        config: &ClientConfig,
    ) -> Result<(WebSocketStream<Http2Stream>, Response), Error> {
        let uri = Uri::parse(url)?;
        with_timeout(config.handshake_timeout, self.open(&uri, config)).await
    }

    async fn open(
        &self,
        uri: &Uri,
        config: &ClientConfig,
    ) -> Result<(WebSocketStream<Http2Stream>, Response), Error> {
        if !self.accepts_websockets() {
            return Err(Error::ExtendedConnectDisabled);
        }
        let (connect, opening) = ClientUpgrade::new(config).start_connect(uri)?;
        let pseudo = connect.pseudo();
        let target = std::format!(
            "{}://{}{}",
            pseudo.scheme.unwrap_or("http"),
            pseudo.authority.unwrap_or(""),
            pseudo.path.unwrap_or("/")
        );
        let mut request = http::Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .uri(target)
            .extension(::h2::ext::Protocol::from("websocket"));
        for (name, value) in connect.headers() {
            request = request.header(name, value);
        }
        let request = request
            .body(())
            .map_err(|_| HandshakeError::InvalidHeader)?;
        let mut send = self.send.clone().ready().await?;
        let (response, stream) = send.send_request(request, false)?;
        let (head, recv) = response.await?.into_parts();
        let response = connect.check(head.status.as_u16(), &head.headers)?;
        let conn = opening.open(&response, &[])?;
        let stream = Http2Stream {
            halves: Some((stream, recv)),
            buf: Bytes::new(),
            eof: false,
            shut: false,
        };
        Ok((
            WebSocketStream::with_high_water(stream, conn, config.high_water),
            response,
        ))
    }
}

async fn with_timeout<T>(
    limit: Option<std::time::Duration>,
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match limit {
        Some(t) => ::tokio::time::timeout(t, f)
            .await
            .map_err(|_| Error::HandshakeTimeout)?,
        None => f.await,
    }
}

/// TCP to the host and port of `uri`, and TLS over it for `wss://`
/// (feature `rustls`), offering ALPN `h2` and `http/1.1` when `h2`, or
/// `http/1.1` alone.
async fn open_transport(
    uri: &Uri,
    config: &ClientConfig,
    h2: bool,
) -> Result<MaybeTlsStream, Error> {
    // Checked before anything goes on the network.
    #[cfg(feature = "rustls")]
    let name = match uri.is_secure() {
        true => Some(crate::adapter::tls::server_name(uri.host())?),
        false => None,
    };
    #[cfg(not(feature = "rustls"))]
    if uri.is_secure() {
        return Err(Error::TlsRequired);
    }
    let tcp = crate::tokio::open_tcp(uri).await?;
    if config.nodelay {
        tcp.set_nodelay(true)?;
    }
    #[cfg(feature = "rustls")]
    if let Some(name) = name {
        use crate::adapter::tls;
        let offer: &[&[u8]] = match h2 {
            true => &tls::OFFER_H2,
            false => &tls::OFFER_HTTP11,
        };
        let tls_config = tls::client_config_offering(config, offer);
        let tls = crate::tokio::TlsStream::connect(tcp, uri.host(), name, tls_config).await?;
        return Ok(MaybeTlsStream::Rustls(tls));
    }
    let _ = h2;
    Ok(MaybeTlsStream::Plain(tcp))
}

/// Whether `stream` may carry HTTP/2: TLS that agreed on `h2` by ALPN, or
/// TCP (prior knowledge, tried).
fn agreed_h2(stream: &MaybeTlsStream) -> bool {
    match stream {
        #[cfg(feature = "rustls")]
        MaybeTlsStream::Rustls(tls) => {
            tls.alpn_protocol().as_deref() == Some(crate::adapter::tls::ALPN_H2)
        }
        _ => true,
    }
}

/// The error for a TLS server that did not choose `h2`.
fn not_h2(uri: &Uri) -> Error {
    #[cfg(feature = "rustls")]
    return Error::Http2NotNegotiated {
        host: uri.host().into(),
    };
    #[cfg(not(feature = "rustls"))]
    {
        // Without TLS there is no ALPN: `agreed_h2` is always true.
        let _ = uri;
        Error::TlsRequired
    }
}

/// Opens a WebSocket to a `ws://` or `wss://` URL over HTTP/2 if the
/// server takes it, over HTTP/1.1 if not. [`ClientStream::is_h2`] tells
/// which.
///
/// - `ws://`: HTTP/2 with prior knowledge (h2c) on a TCP connection; when
///   the server does not speak HTTP/2 or did not send
///   `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3), the HTTP/1.1
///   upgrade of [`tokio::connect_with`](crate::tokio::connect_with) on a
///   new TCP connection.
/// - `wss://` (feature `rustls`): TLS offering ALPN `h2` and `http/1.1`
///   (`config.tls`, or Mozilla's roots; its ALPN list replaced). A server
///   that chooses `http/1.1` gets the HTTP/1.1 upgrade on that same
///   connection; one that chooses `h2` but does not accept WebSockets on
///   it, the HTTP/1.1 upgrade on a new TLS connection offering `http/1.1`
///   alone. A certificate that does not verify fails with `Error::Tls`,
///   with no second try.
///
/// [`ClientConfig::handshake_timeout`] is one timer around it all,
/// fallback included.
///
/// To open several WebSockets on one connection, keep an
/// [`Http2Connection`] instead.
///
/// ```
/// use rfc6455::hyper::{self, ClientConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::hyper::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let (tcp, _) = listener.accept().await?;
/// #     let service = ::hyper::service::service_fn(|mut req: http::Request<::hyper::body::Incoming>| async move {
/// #         let (response, ws) = rfc6455::hyper::upgrade::<_, http_body_util::Full<bytes::Bytes>>(&mut req, &Default::default(), &Default::default());
/// #         tokio::spawn(async move {
/// #             let mut ws = ws?.await?;
/// #             while let Ok(msg) = ws.read().await { ws.send(&msg).await?; }
/// #             Ok::<_, rfc6455::hyper::Error>(())
/// #         });
/// #         Ok::<_, std::convert::Infallible>(response)
/// #     });
/// #     let mut server = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
/// #     server.http2().enable_connect_protocol();
/// #     server.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tcp), service).await.ok();
/// #     Ok::<_, std::io::Error>(())
/// # });
/// // `addr`: a server speaking HTTP/1.1 and HTTP/2 (hyper's auto builder).
/// let url = format!("ws://{addr}/"); // or wss://, with the `rustls` feature
/// let (mut ws, _response) = hyper::connect(&url, &ClientConfig::default()).await?;
/// assert!(ws.get_ref().is_h2());
/// ws.send_text("hello").await?;
/// assert_eq!(ws.read().await?, "hello".into());
/// # Ok(())
/// # }
/// ```
pub async fn connect(
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    let uri = Uri::parse(url)?;
    let started = ::tokio::time::Instant::now();
    let first = with_timeout(config.handshake_timeout, async {
        let stream = open_transport(&uri, config, true).await?;
        if !agreed_h2(&stream) {
            // The server chose HTTP/1.1: the upgrade on this connection.
            let host = uri.host();
            let upgraded = crate::tokio::handshake(stream, &uri, config).await;
            #[cfg(feature = "rustls")]
            let upgraded = upgraded.map_err(|e| crate::tokio::tls_named(e, host));
            let _ = host;
            let (ws, response) = upgraded?;
            return Ok(Some((rewrap(ws, ClientStream::Http1, config), response)));
        }
        let opened = async {
            let h2 = Http2Connection::handshake(stream).await?;
            h2.open(&uri, config).await
        };
        match opened.await {
            Ok((ws, response)) => Ok(Some((rewrap(ws, ClientStream::H2, config), response))),
            // Not HTTP/2 (h2c to an HTTP/1.1 server), or no WebSockets on it.
            Err(Error::ExtendedConnectDisabled | Error::Http2(_) | Error::Io(_)) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await?;
    if let Some(opened) = first {
        return Ok(opened);
    }
    // HTTP/1.1 on a new connection, in the time left.
    let mut http1 = config.clone();
    http1.handshake_timeout = config.handshake_timeout.map(|t| {
        t.saturating_sub(started.elapsed())
            .max(std::time::Duration::from_millis(1))
    });
    #[cfg(feature = "rustls")]
    if uri.is_secure() {
        use crate::adapter::tls;
        http1.tls = Some(tls::client_config_offering(config, &tls::OFFER_HTTP11));
    }
    let (ws, response) = crate::tokio::connect_with(url, &http1).await?;
    Ok((rewrap(ws, ClientStream::Http1, config), response))
}

/// The same WebSocket, its stream wrapped (right after the handshake: no
/// state but the connection's yet).
fn rewrap<S: AsyncRead + AsyncWrite + Unpin>(
    ws: WebSocketStream<S>,
    wrap: impl FnOnce(S) -> ClientStream,
    config: &ClientConfig,
) -> WebSocketStream<ClientStream> {
    let (stream, conn) = ws.into_parts();
    WebSocketStream::with_high_water(wrap(stream), conn, config.high_water)
}

/// A WebSocket's stream of an HTTP/2 connection, as tokio I/O: reads are
/// the stream's DATA frames (window given back as they are read), writes
/// become DATA frames as the peer's window allows, shutdown ends the
/// stream (END_STREAM).
///
/// Dropping it ends the stream as closing a TCP socket does: what was
/// written goes out, then END_STREAM, and the receiving half is drained in
/// a task of the current tokio runtime until the peer ends its side too, or
/// for at most [`Http2Stream::LINGER`], after which the stream is reset. So
/// a Close queued just before the drop (for example the 1002 of RFC 6455
/// §7.1.7 after a protocol error) reaches the peer; h2 discards the queued
/// data of a stream that is reset.
///
/// ```
/// # fn check<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>() {}
/// check::<rfc6455::hyper::Http2Stream>();
/// ```
#[derive(Debug)]
pub struct Http2Stream {
    /// The stream's sending and receiving halves; `None` only once dropped.
    halves: Option<(::h2::SendStream<Bytes>, ::h2::RecvStream)>,
    /// Received and not read yet.
    buf: Bytes,
    eof: bool,
    shut: bool,
}

fn h2_io(e: ::h2::Error) -> io::Error {
    if e.is_io() {
        e.into_io()
            .unwrap_or_else(|| io::ErrorKind::BrokenPipe.into())
    } else {
        io::Error::new(io::ErrorKind::ConnectionReset, e)
    }
}

/// The error of an I/O call on a stream whose halves were taken (it cannot
/// happen: only `Drop` takes them).
fn gone() -> io::Error {
    io::ErrorKind::NotConnected.into()
}

impl Drop for Http2Stream {
    fn drop(&mut self) {
        let Some((mut send, mut recv)) = self.halves.take() else {
            return;
        };
        if !self.shut {
            // Queued after what was written: the peer gets both.
            let _ = send.send_data(Bytes::new(), true);
        }
        if self.eof {
            // Both sides have ended: the stream is closed, no reset follows.
            return;
        }
        let Ok(runtime) = ::tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let _send = send;
            let _ = ::tokio::time::timeout(Self::LINGER, async {
                while let Some(Ok(data)) = recv.data().await {
                    let _ = recv.flow_control().release_capacity(data.len());
                }
            })
            .await;
        });
    }
}

impl AsyncRead for Http2Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.buf.is_empty() {
            if self.eof {
                return Poll::Ready(Ok(()));
            }
            let (_, recv) = self.halves.as_mut().ok_or_else(gone)?;
            match ready!(recv.poll_data(cx)) {
                Some(Ok(data)) => self.buf = data,
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
                None => self.eof = true,
            }
        }
        let n = out.remaining().min(self.buf.len());
        let data = self.buf.split_to(n);
        out.put_slice(&data);
        // The window opens again as the application reads, not before.
        if let Some((_, recv)) = self.halves.as_mut() {
            let _ = recv.flow_control().release_capacity(n);
        }
        Poll::Ready(Ok(()))
    }
}

/// The largest flow-control window HTTP/2 allows (RFC 9113 §6.9.1).
const MAX_WINDOW: usize = (1 << 31) - 1;

impl Http2Stream {
    /// How long a dropped stream waits for the peer to end its side before
    /// resetting the stream (see [`Http2Stream`]).
    pub const LINGER: std::time::Duration = std::time::Duration::from_secs(10);

    /// Waits for room in the peer's window, then queues up to that much of
    /// `bufs` as one DATA frame's worth.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Poll::Ready(Ok(0));
        }
        let (send, _) = self.halves.as_mut().ok_or_else(gone)?;
        // h2 takes the request as a `u32` window size and cuts a larger
        // one to 32 bits (a write of exactly 4 GiB would ask for nothing
        // and wait forever); no window is larger than 2^31 - 1 anyway
        // (RFC 9113 §6.9.1).
        send.reserve_capacity(total.min(MAX_WINDOW));
        // Capacity already assigned is used at once: `poll_capacity` only
        // reports increases.
        let mut room = send.capacity();
        while room == 0 {
            match ready!(send.poll_capacity(cx)) {
                Some(Ok(n)) => room = n,
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
                None => {
                    // The stream is closed; say why if the peer reset it.
                    return match send.poll_reset(cx) {
                        Poll::Ready(Ok(reason)) => Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            std::format!("the HTTP/2 stream was reset: {reason}"),
                        ))),
                        _ => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
                    };
                }
            }
        }
        let n = room.min(total);
        let mut data = BytesMut::with_capacity(n);
        for b in bufs {
            let take = (n - data.len()).min(b.len());
            data.extend_from_slice(&b[..take]);
            if data.len() == n {
                break;
            }
        }
        send.send_data(data.freeze(), false).map_err(h2_io)?;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Http2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, &[io::IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The connection's task writes what is queued.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            self.shut = true;
            let (send, _) = self.halves.as_mut().ok_or_else(gone)?;
            send.send_data(Bytes::new(), true).map_err(h2_io)?;
        }
        Poll::Ready(Ok(()))
    }
}

/// The stream under a WebSocket opened by [`connect`]: a stream of an
/// HTTP/2 connection, or a connection (TCP, or TLS over TCP) that took the
/// HTTP/1.1 upgrade.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::hyper::Error> {
/// let (ws, _) = rfc6455::hyper::connect("wss://example.com/", &Default::default()).await?;
/// match ws.get_ref() {
///     rfc6455::hyper::ClientStream::H2(_) => println!("one stream of an HTTP/2 connection"),
///     rfc6455::hyper::ClientStream::Http1(conn) => {
///         println!("HTTP/1.1 from {}, TLS: {}", conn.get_ref().local_addr()?, conn.is_tls())
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum ClientStream {
    /// A stream of an HTTP/2 connection (RFC 8441).
    H2(Http2Stream),
    /// A connection upgraded by HTTP/1.1 (RFC 6455 §4): TCP for `ws://`,
    /// TLS for `wss://`.
    Http1(MaybeTlsStream),
}

impl ClientStream {
    /// Whether the WebSocket rides HTTP/2.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), rfc6455::hyper::Error> {
    /// let (ws, _) = rfc6455::hyper::connect("ws://127.0.0.1:8082/", &Default::default()).await?;
    /// println!("HTTP/2: {}", ws.get_ref().is_h2());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_h2(&self) -> bool {
        matches!(self, ClientStream::H2(_))
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::H2(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Http1(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::H2(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Http1(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::H2(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Http1(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::H2(s) => s.is_write_vectored(),
            ClientStream::Http1(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::H2(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Http1(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::H2(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Http1(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
