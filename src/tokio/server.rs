//! Accepting connections: read the request, then accept, reject, or answer
//! plain HTTP.

use std::time::Duration;
use std::vec::Vec;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::net::TcpStream;

use super::maybe_tls::MaybeTlsStream;
use super::stream::WebSocketStream;
use crate::adapter::Error;
pub use crate::adapter::ServerConfig;
use crate::handshake::{self, Accept, HandshakeError, Request, ServerHandshake};
use crate::upgrade::ServerUpgrade;

/// A request read from a stream, waiting for the application's decision.
///
/// ```no_run
/// use rfc6455::tokio::{self as ws, ServerConfig};
/// use rfc6455::handshake::Accept;
///
/// # async fn run() -> Result<(), ws::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let (stream, _) = listener.accept().await?;
/// let incoming = ws::read_request(stream, &ServerConfig::default()).await?;
/// if !incoming.request().is_upgrade() {
///     incoming.respond(200, "text/plain", b"hello over HTTP").await?;
/// } else if incoming.request().origin() != Some("https://example.com") {
///     incoming.reject(403, b"unknown origin").await?;
/// } else {
///     let chat = incoming.request().subprotocols().any(|p| p == "chat");
///     let accept = if chat { Accept::new().subprotocol("chat") } else { Accept::new() };
///     let mut ws = incoming.accept(&accept).await?;
///     ws.send_text("welcome").await?;
/// }
/// # Ok(())
/// # }
/// ```
pub struct Incoming<S> {
    stream: S,
    upgrade: ServerUpgrade,
    high_water: usize,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("stream", &self.stream)
            .field("request", &self.upgrade.request)
            .finish()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Incoming<S> {
    /// The parsed request.
    ///
    /// ```
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let (mut client, stream) = tokio::io::duplex(4096);
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n").await?;
    ///
    /// let incoming = ws::read_request_over(stream, &ServerConfig::default()).await?;
    /// let request = incoming.request();
    /// assert!(request.is_upgrade());
    /// assert_eq!(request.path(), "/chat");
    /// assert_eq!(request.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn request(&self) -> &Request {
        &self.upgrade.request
    }

    /// Validates the request (RFC 6455 §4.2.1) and answers `101 Switching
    /// Protocols`. An invalid request is answered with the matching error
    /// response (400, or 426 for a wrong version) and returned as an error.
    ///
    /// With permessage-deflate configured (`ServerConfig::deflate`, feature
    /// `deflate`) and no extension answer set in `accept`, the first
    /// acceptable offer is taken (RFC 7692 §5.1), answered, and compression
    /// turned on. When compression is `required` and no offer fits, the
    /// request is answered with 400 and `Error::Deflate` returned.
    ///
    /// ```
    /// use rfc6455::handshake::Accept;
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let (mut client, stream) = tokio::io::duplex(4096);
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n").await?;
    ///
    /// let incoming = ws::read_request_over(stream, &ServerConfig::default()).await?;
    /// let chat = incoming.request().subprotocols().any(|p| p == "chat");
    /// let accept = if chat { Accept::new().subprotocol("chat") } else { Accept::new() };
    /// let mut socket = incoming.accept(&accept).await?;
    /// socket.send_text("welcome").await?;
    ///
    /// // What the client received: the 101, then the frame.
    /// # let mut received = vec![0; 1024];
    /// # let n = client.read(&mut received).await?;
    /// # let received = String::from_utf8_lossy(&received[..n]);
    /// assert!(received.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    /// assert!(received.contains("Sec-WebSocket-Protocol: chat\r\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn accept<'a>(
        self,
        accept: &'a Accept<'a>,
    ) -> impl core::future::Future<Output = Result<WebSocketStream<S>, Error>> + 'a
    where
        S: 'a,
    {
        // Boxed: the handshake's state lives on the heap while it runs,
        // so the caller's future (one per connection, for its whole life)
        // is not sized for it.
        alloc::boxed::Box::pin(self.accept_inner(accept))
    }

    async fn accept_inner(mut self, accept: &Accept<'_>) -> Result<WebSocketStream<S>, Error> {
        match self.upgrade.answer(accept) {
            (response, Ok(conn)) => {
                self.stream.write_all(&response).await?;
                self.stream.flush().await?;
                Ok(WebSocketStream::with_high_water(
                    self.stream,
                    conn,
                    self.high_water,
                ))
            }
            (refusal, Err(e)) => {
                // Best effort: the refusal is what is reported.
                let _ = self.stream.write_all(&refusal).await;
                let _ = self.stream.flush().await;
                let _ = self.stream.shutdown().await;
                Err(e)
            }
        }
    }

    /// Rejects the upgrade with `status` (e.g. 403, 401) and `body`.
    ///
    /// ```
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let (mut client, stream) = tokio::io::duplex(4096);
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n").await?;
    ///
    /// let incoming = ws::read_request_over(stream, &ServerConfig::default()).await?;
    /// if incoming.request().origin() != Some("https://example.com") {
    ///     incoming.reject(403, b"unknown origin").await?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer).await?;
    /// # assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    /// # assert!(answer.ends_with("\r\n\r\nunknown origin"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reject(self, status: u16, body: &[u8]) -> Result<(), Error> {
        self.reject_with_headers(status, &[], body).await
    }

    /// Rejects with extra response headers (e.g. `WWW-Authenticate`).
    ///
    /// ```
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let (mut client, stream) = tokio::io::duplex(4096);
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n").await?;
    ///
    /// let incoming = ws::read_request_over(stream, &ServerConfig::default()).await?;
    /// if incoming.request().header("authorization").is_none() {
    ///     let headers = [("WWW-Authenticate", "Bearer realm=\"chat\"")];
    ///     incoming.reject_with_headers(401, &headers, b"log in first").await?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer).await?;
    /// # assert!(answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    /// # assert!(answer.contains("\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn reject_with_headers(
        mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), Error> {
        let response = handshake::reject(status, headers, body)?;
        self.stream.write_all(&response).await?;
        self.stream.flush().await?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }

    /// Answers a plain HTTP request (one that is not an upgrade) and closes.
    ///
    /// ```
    /// use rfc6455::tokio::{self as ws, ServerConfig};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # let (mut client, stream) = tokio::io::duplex(4096);
    /// # client.write_all(b"GET /health HTTP/1.1\r\nHost: example.com\r\n\r\n").await?;
    ///
    /// let incoming = ws::read_request_over(stream, &ServerConfig::default()).await?;
    /// if !incoming.request().is_upgrade() {
    ///     incoming.respond(200, "text/plain", b"ok").await?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer).await?;
    /// # assert!(answer.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn respond(
        mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), Error> {
        let response = handshake::http_response(status, content_type, body)?;
        self.stream.write_all(&response).await?;
        self.stream.flush().await?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }

    /// Gives back the stream, the request and any bytes received after the
    /// request head: to answer it some other way, or to take the opening
    /// step by hand with [`ServerUpgrade`](crate::upgrade::ServerUpgrade).
    ///
    /// ```
    /// use tokio::io::AsyncWriteExt;
    /// use rfc6455::handshake::Accept;
    /// use rfc6455::tokio::{self as ws, ServerConfig, WebSocketStream};
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// # let (client_io, stream) = tokio::io::duplex(4096);
    /// # let client = tokio::spawn(async move {
    /// #     let (mut socket, _) = ws::connect_over(client_io, "ws://x/", &Default::default()).await?;
    /// #     socket.send_text("hi").await?;
    /// #     socket.read().await
    /// # });
    ///
    /// let config = ServerConfig::default();
    /// let incoming = ws::read_request_over(stream, &config).await?;
    /// let (mut stream, request, leftover) = incoming.into_parts();
    /// let (response, conn) = ServerUpgrade::new(request, leftover, &config).answer(&Accept::new());
    /// stream.write_all(&response).await?;
    /// let mut socket = WebSocketStream::from_connection(stream, conn?);
    /// let msg = socket.read().await?;
    /// socket.send(&msg).await?;
    /// # assert_eq!(client.await.unwrap()?, msg);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_parts(self) -> (S, Request, Vec<u8>) {
        (self.stream, self.upgrade.request, self.upgrade.leftover)
    }
}

/// Accepts a WebSocket connection on a TCP stream with default settings:
/// reads and validates the request and answers it (no subprotocol).
/// Requests that are not upgrades are answered with an error response.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::tokio::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
/// loop {
///     let (stream, _) = listener.accept().await?;
///     tokio::spawn(async move {
///         let mut ws = rfc6455::tokio::accept(stream).await?;
///         while let Ok(msg) = ws.read().await {
///             if msg.is_data() {
///                 ws.send(&msg).await?;
///             }
///         }
///         Ok::<(), rfc6455::tokio::Error>(())
///     });
/// }
/// # }
/// ```
pub async fn accept(stream: TcpStream) -> Result<WebSocketStream<TcpStream>, Error> {
    accept_with(stream, &ServerConfig::default()).await
}

/// Like [`accept`], with settings.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::{self as ws, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let config = ServerConfig::default()
///     .max_message_size(64 << 10)
///     .ping_interval(Some(Duration::from_secs(30)));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # tokio::spawn(async move { ws::connect(&url).await?.0.read().await });
/// let (tcp, _) = listener.accept().await?;
/// let socket = ws::accept_with(tcp, &config).await?;
/// assert_eq!(socket.connection().config().max_message_size, 64 << 10);
/// # Ok(())
/// # }
/// ```
pub async fn accept_with(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<WebSocketStream<TcpStream>, Error> {
    read_request(stream, config)
        .await?
        .accept(&Accept::new())
        .await
}

/// Reads a request from a TCP stream, within the handshake timeout, and
/// hands it to the application to decide (see [`Incoming`]).
///
/// One port for WebSocket and plain HTTP:
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tokio::net::{TcpListener, TcpStream};
/// use rfc6455::handshake::Accept;
/// use rfc6455::tokio::{self as ws, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut browser = TcpStream::connect(listener.local_addr()?).await?;
/// browser.write_all(b"GET /status HTTP/1.1\r\nHost: example.com\r\n\r\n").await?;
///
/// let (tcp, _) = listener.accept().await?;
/// let incoming = ws::read_request(tcp, &ServerConfig::default()).await?;
/// if incoming.request().is_upgrade() {
///     let mut socket = incoming.accept(&Accept::new()).await?;
///     socket.send_text("hello").await?;
/// } else {
///     incoming.respond(200, "text/plain", b"up").await?;
/// }
///
/// let mut answer = String::new();
/// browser.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("\r\n\r\nup"));
/// # Ok(())
/// # }
/// ```
pub async fn read_request(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<Incoming<TcpStream>, Error> {
    if config.nodelay {
        stream.set_nodelay(true)?;
    }
    read_request_over(stream, config).await
}

/// Reads a request from any stream (a TLS stream, a Unix socket, an
/// in-memory pipe), within the handshake timeout.
///
/// A head that cannot be HTTP is answered at its first impossible byte
/// (400), an invalid one with its error response (400, 426, 431), and one
/// that does not arrive within [`ServerConfig::handshake_timeout`] with
/// `408 Request Timeout` ([`Error::HandshakeTimeout`]).
///
/// ```
/// use rfc6455::handshake::Accept;
/// use rfc6455::tokio::{self as ws, ClientConfig, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// let client = tokio::spawn(async move {
///     let (mut socket, _) = ws::connect_over(client_io, "ws://example.com/", &ClientConfig::default()).await?;
///     socket.send_text("hello").await?;
///     socket.read().await
/// });
///
/// // Any AsyncRead + AsyncWrite: a TLS stream, a Unix socket, a pipe.
/// let incoming = ws::read_request_over(server_io, &ServerConfig::default()).await?;
/// assert_eq!(incoming.request().host(), Some("example.com"));
/// let mut socket = incoming.accept(&Accept::new()).await?;
/// let msg = socket.read().await?;
/// socket.send(&msg).await?;
/// assert_eq!(client.await.unwrap()?, msg);
/// # Ok(())
/// # }
/// ```
pub async fn read_request_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: &ServerConfig,
) -> Result<Incoming<S>, Error> {
    // Boxed, like `Incoming::accept`: a connection's future is not sized
    // for the head being read.
    alloc::boxed::Box::pin(read_request_inner(stream, config, config.handshake_timeout)).await
}

/// Accepts a WebSocket connection over any stream the caller opened (a TLS
/// stream of its own, a Unix socket, an in-memory pipe) in one call:
/// [`read_request_over`], then [`Incoming::accept`] with no subprotocol,
/// within the handshake timeout.
///
/// ```
/// use rfc6455::tokio::{self as ws, ClientConfig, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// let client = tokio::spawn(async move {
///     let (mut socket, _) = ws::connect_over(client_io, "ws://example.com/", &ClientConfig::default()).await?;
///     socket.send_text("hello").await?;
///     socket.read().await
/// });
///
/// let mut socket = ws::accept_over(server_io, &ServerConfig::default()).await?;
/// let msg = socket.read().await?;
/// socket.send(&msg).await?;
/// assert_eq!(client.await.unwrap()?, msg);
/// # Ok(())
/// # }
/// ```
pub async fn accept_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: &ServerConfig,
) -> Result<WebSocketStream<S>, Error> {
    read_request_over(stream, config)
        .await?
        .accept(&Accept::new())
        .await
}

/// Accepts a WebSocket connection on a TCP stream, over TLS when
/// `ServerConfig::tls` is set (feature `rustls`), in one call: the TLS
/// handshake, then the request, read and answered as by [`accept_with`],
/// all within [`ServerConfig::handshake_timeout`]. Without a TLS config
/// the stream stays plain TCP: one code path for a server whose TLS is an
/// option. A TLS handshake that fails returns `Error::Tls`, naming the
/// client's address and rustls' reason.
///
/// ```
/// use rfc6455::tokio::{self as ws, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// // `config.tls = Some(...)` (feature `rustls`) makes this a wss:// server.
/// let config = ServerConfig::default();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let url = format!("ws://{}/", listener.local_addr()?);
/// let client = tokio::spawn(async move {
///     let (mut socket, _) = ws::connect(&url).await?;
///     socket.send_text("hello").await?;
///     socket.read().await
/// });
///
/// let (tcp, _) = listener.accept().await?;
/// let mut socket = ws::accept_maybe_tls(tcp, &config).await?;
/// assert!(!socket.get_ref().is_tls());
/// let msg = socket.read().await?;
/// socket.send(&msg).await?;
/// assert_eq!(client.await.unwrap()?, msg);
/// # Ok(())
/// # }
/// ```
pub async fn accept_maybe_tls(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<WebSocketStream<MaybeTlsStream>, Error> {
    read_request_maybe_tls(stream, config)
        .await?
        .accept(&Accept::new())
        .await
}

/// Reads a request from a TCP stream, over TLS when `ServerConfig::tls`
/// is set (feature `rustls`), and hands it to the application to decide
/// (see [`Incoming`]): one port for `https://` pages and `wss://`. The TLS
/// handshake and the request head share
/// [`ServerConfig::handshake_timeout`]; errors are those of
/// [`read_request`], and `Error::Tls` for a TLS handshake that fails.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tokio::net::{TcpListener, TcpStream};
/// use rfc6455::handshake::Accept;
/// use rfc6455::tokio::{self as ws, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let config = ServerConfig::default(); // with `tls` set: https:// and wss://
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut browser = TcpStream::connect(listener.local_addr()?).await?;
/// browser.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").await?;
///
/// let (tcp, _) = listener.accept().await?;
/// let incoming = ws::read_request_maybe_tls(tcp, &config).await?;
/// if incoming.request().is_upgrade() {
///     incoming.accept(&Accept::new()).await?.send_text("hello").await?;
/// } else {
///     incoming.respond(200, "text/html", b"<p>the page</p>").await?;
/// }
/// let mut answer = String::new();
/// browser.read_to_string(&mut answer).await?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// # Ok(())
/// # }
/// ```
pub async fn read_request_maybe_tls(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<Incoming<MaybeTlsStream>, Error> {
    let start = ::tokio::time::Instant::now();
    let stream = MaybeTlsStream::accept(stream, config).await?;
    // The TLS handshake and the request head share the time.
    let left = config.handshake_timeout.map(|t| {
        t.saturating_sub(start.elapsed())
            .max(Duration::from_millis(1))
    });
    alloc::boxed::Box::pin(read_request_inner(stream, config, left)).await
}

async fn read_request_inner<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    config: &ServerConfig,
    timeout: Option<Duration>,
) -> Result<Incoming<S>, Error> {
    let mut hs = ServerHandshake::new(config.limits);
    let mut buf = std::vec![0u8; 4096];
    let read = read_head(&mut stream, &mut hs, &mut buf);
    let head = match timeout {
        Some(t) => match ::tokio::time::timeout(t, read).await {
            Ok(head) => head,
            Err(_) => {
                send_error_response(&mut stream, &HandshakeError::RequestTimeout).await;
                return Err(Error::HandshakeTimeout);
            }
        },
        None => read.await,
    };
    match head {
        Ok((request, leftover)) => Ok(Incoming {
            stream,
            upgrade: ServerUpgrade {
                request,
                leftover: buf[leftover].to_vec(),
                config: config.config.clone(),
                #[cfg(feature = "deflate")]
                deflate: config.deflate.clone(),
            },
            high_water: config.high_water,
        }),
        Err(Error::Handshake(e)) => {
            send_error_response(&mut stream, &e).await;
            Err(e.into())
        }
        Err(e) => Err(e),
    }
}

/// Reads until `hs` has a request; returns it and where, in `buf`, the
/// bytes that followed its head are.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    hs: &mut ServerHandshake,
    buf: &mut [u8],
) -> Result<(Request, core::ops::Range<usize>), Error> {
    loop {
        let n = stream.read(buf).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some((request, used)) = hs.feed(&buf[..n])? {
            return Ok((request, used..n));
        }
    }
}

async fn send_error_response<S: AsyncWrite + Unpin>(stream: &mut S, e: &HandshakeError) {
    if let Some(response) = e.response() {
        let _ = stream.write_all(&response).await;
        let _ = stream.flush().await;
        let _ = stream.shutdown().await;
    }
}
