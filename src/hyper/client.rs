//! WebSockets as streams of an HTTP/2 connection (RFC 8441), client side.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use ::h2::client::SendRequest;
use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;
use bytes::{Bytes, BytesMut};
use http::{Method, Version};

use crate::adapter::{ClientConfig, Error};
use crate::handshake::{HandshakeError, Response, Uri};
use crate::tokio::WebSocketStream;
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
            send: stream,
            recv,
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

/// Opens a WebSocket to a `ws://` URL over HTTP/2 if the server takes it,
/// over HTTP/1.1 if not: HTTP/2 with prior knowledge (h2c) on a TCP
/// connection, and, when the server does not speak HTTP/2 or did not send
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3), the HTTP/1.1 upgrade
/// of [`tokio::connect_with`](crate::tokio::connect_with) on a new TCP
/// connection. [`ClientStream::is_h2`] tells which.
///
/// To open several WebSockets on one connection, keep an
/// [`Http2Connection`] instead.
///
/// ```no_run
/// use rfc6455::hyper::{self, ClientConfig};
/// # async fn run() -> Result<(), rfc6455::hyper::Error> {
/// let (mut ws, _response) = hyper::connect("ws://127.0.0.1:8082/", &ClientConfig::default()).await?;
/// println!("over HTTP/2: {}", ws.get_ref().is_h2());
/// ws.send_text("hello").await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect(
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocketStream<ClientStream>, Response), Error> {
    let uri = Uri::parse(url)?;
    if uri.is_secure() {
        return Err(Error::TlsRequired);
    }
    let h2 = with_timeout(config.handshake_timeout, async {
        let tcp = TcpStream::connect((uri.host(), uri.port())).await?;
        if config.nodelay {
            tcp.set_nodelay(true)?;
        }
        let h2 = Http2Connection::handshake(tcp).await?;
        h2.open(&uri, config).await
    })
    .await;
    match h2 {
        Ok((ws, response)) => Ok((rewrap(ws, ClientStream::H2, config), response)),
        Err(Error::ExtendedConnectDisabled | Error::Http2(_) | Error::Io(_)) => {
            let (ws, response) = crate::tokio::connect_with(url, config).await?;
            // ws:// only (refused above): the stream is plain TCP.
            let (stream, conn) = ws.into_parts();
            let tcp = match stream {
                crate::tokio::MaybeTlsStream::Plain(tcp) => tcp,
                #[allow(unreachable_patterns)]
                _ => return Err(Error::TlsRequired),
            };
            let ws = WebSocketStream::from_connection(tcp, conn);
            Ok((rewrap(ws, ClientStream::Http1, config), response))
        }
        Err(e) => Err(e),
    }
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
/// stream (END_STREAM). Dropping it resets the stream if it is still open.
///
/// ```
/// # fn check<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>() {}
/// check::<rfc6455::hyper::Http2Stream>();
/// ```
#[derive(Debug)]
pub struct Http2Stream {
    send: ::h2::SendStream<Bytes>,
    recv: ::h2::RecvStream,
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
            match ready!(self.recv.poll_data(cx)) {
                Some(Ok(data)) => self.buf = data,
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
                None => self.eof = true,
            }
        }
        let n = out.remaining().min(self.buf.len());
        let data = self.buf.split_to(n);
        out.put_slice(&data);
        // The window opens again as the application reads, not before.
        let _ = self.recv.flow_control().release_capacity(n);
        Poll::Ready(Ok(()))
    }
}

impl Http2Stream {
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
        self.send.reserve_capacity(total);
        // Capacity already assigned is used at once: `poll_capacity` only
        // reports increases.
        let mut room = self.send.capacity();
        while room == 0 {
            match ready!(self.send.poll_capacity(cx)) {
                Some(Ok(n)) => room = n,
                Some(Err(e)) => return Poll::Ready(Err(h2_io(e))),
                None => {
                    // The stream is closed; say why if the peer reset it.
                    return match self.send.poll_reset(cx) {
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
        self.send.send_data(data.freeze(), false).map_err(h2_io)?;
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
            self.send.send_data(Bytes::new(), true).map_err(h2_io)?;
        }
        Poll::Ready(Ok(()))
    }
}

/// The stream under a WebSocket opened by [`connect`]: a stream of an
/// HTTP/2 connection, or a TCP connection that took the HTTP/1.1 upgrade.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::hyper::Error> {
/// let (ws, _) = rfc6455::hyper::connect("ws://127.0.0.1:8082/", &Default::default()).await?;
/// match ws.get_ref() {
///     rfc6455::hyper::ClientStream::H2(_) => println!("one stream of an HTTP/2 connection"),
///     rfc6455::hyper::ClientStream::Http1(tcp) => println!("HTTP/1.1 from {}", tcp.local_addr()?),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub enum ClientStream {
    /// A stream of an HTTP/2 connection (RFC 8441).
    H2(Http2Stream),
    /// A TCP connection upgraded by HTTP/1.1 (RFC 6455 §4).
    Http1(TcpStream),
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
