//! Opening a client connection: `ws://` over TCP, or any stream.

use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::net::TcpStream;

use super::stream::WebSocketStream;
pub use crate::adapter::ClientConfig;
use crate::adapter::Error;
use crate::handshake::{Response, Uri};
use crate::upgrade::ClientUpgrade;

/// Connects to a `ws://` URL (host names resolved, IPv4 and IPv6) with
/// default settings.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::tokio::Error> {
/// let (mut ws, _response) = rfc6455::tokio::connect("ws://127.0.0.1:9002/chat").await?;
/// ws.send_text("hello").await?;
/// println!("{:?}", ws.read().await?);
/// # Ok(())
/// # }
/// ```
pub async fn connect(url: &str) -> Result<(WebSocketStream<TcpStream>, Response), Error> {
    connect_with(url, &ClientConfig::default()).await
}

/// Connects to a `ws://` URL with the given settings. For `wss://`, open the
/// TLS stream yourself and use [`connect_over`].
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::{self as ws, ClientConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let addr = listener.local_addr()?;
/// # tokio::spawn(async move {
/// #     let mut ws = rfc6455::tokio::accept(listener.accept().await?.0).await?;
/// #     while let Ok(msg) = ws.read().await {
/// #         if msg.is_data() { ws.send(&msg).await?; }
/// #     }
/// #     Ok::<_, rfc6455::tokio::Error>(())
/// # });
///
/// let mut config = ClientConfig::default()
///     .max_message_size(1 << 20)
///     .ping_interval(Some(Duration::from_secs(30)));
/// config.handshake_timeout = Some(Duration::from_secs(5));
/// config.high_water = 16 << 10; // sends wait above 16 KiB queued
/// # #[cfg(feature = "deflate")] {
/// config.deflate = Some(rfc6455::deflate::DeflateConfig::default()); // offer compression
/// # }
///
/// let (mut socket, response) = ws::connect_with(&format!("ws://{addr}/chat"), &config).await?;
/// assert_eq!(response.status(), 101);
/// # #[cfg(feature = "deflate")]
/// assert!(socket.connection().deflate_enabled()); // the server took the offer
/// socket.send_text("hello").await?;
/// assert_eq!(socket.read().await?, "hello".into());
/// # Ok(())
/// # }
/// ```
pub async fn connect_with(
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocketStream<TcpStream>, Response), Error> {
    let uri = Uri::parse(url)?;
    if uri.is_secure() {
        return Err(Error::TlsRequired);
    }
    with_timeout(config.handshake_timeout, async {
        let stream = open_tcp(&uri).await?;
        if config.nodelay {
            stream.set_nodelay(true)?;
        }
        handshake(stream, &uri, config).await
    })
    .await
}

async fn open_tcp(uri: &Uri) -> Result<TcpStream, Error> {
    let mut last_err = None;
    for addr in ::tokio::net::lookup_host((uri.host(), uri.port())).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last_err = Some(e),
        }
    }
    Err(Error::Io(last_err.unwrap_or_else(|| {
        std::io::ErrorKind::AddrNotAvailable.into()
    })))
}

/// Runs the client handshake over a stream the caller opened (a TLS stream
/// for `wss://`, a Unix socket, an in-memory pipe), within the handshake
/// timeout. `url` supplies the Host header and resource name.
///
/// Both ends over an in-memory pipe:
///
/// ```
/// use rfc6455::handshake::Accept;
/// use rfc6455::tokio::{self as ws, ClientConfig, ServerConfig};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), rfc6455::tokio::Error> {
/// let (client_io, server_io) = tokio::io::duplex(64 << 10);
/// let server = tokio::spawn(async move {
///     let incoming = ws::read_request_over(server_io, &ServerConfig::default()).await?;
///     let mut socket = incoming.accept(&Accept::new()).await?;
///     let msg = socket.read().await?;
///     socket.send(&msg).await
/// });
///
/// // For wss://, `client_io` would be a TLS stream.
/// let url = "ws://example.com/chat"; // the Host header and resource name
/// let (mut socket, _) = ws::connect_over(client_io, url, &ClientConfig::default()).await?;
/// socket.send_text("over a pipe").await?;
/// assert_eq!(socket.read().await?, "over a pipe".into());
/// server.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
pub async fn connect_over<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocketStream<S>, Response), Error> {
    let uri = Uri::parse(url)?;
    with_timeout(config.handshake_timeout, handshake(stream, &uri, config)).await
}

async fn with_timeout<T>(
    limit: Option<Duration>,
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    // Boxed: the handshake's state lives on the heap while it runs, so the
    // caller's future (one per connection, for its whole life) is not sized
    // for it.
    let f = alloc::boxed::Box::pin(f);
    match limit {
        Some(t) => ::tokio::time::timeout(t, f)
            .await
            .map_err(|_| Error::HandshakeTimeout)?,
        None => f.await,
    }
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    uri: &Uri,
    config: &ClientConfig,
) -> Result<(WebSocketStream<S>, Response), Error> {
    let upgrade = ClientUpgrade::new(config);
    let (mut hs, opening) = upgrade.start(uri)?;
    stream.write_all(hs.request_bytes()).await?;
    stream.flush().await?;
    let mut buf = std::vec![0u8; 4096];
    let (response, used, n) = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some((response, used)) = hs.feed(&buf[..n])? {
            break (response, used, n);
        }
    };
    let conn = opening.open(&response, &buf[used..n])?;
    Ok((
        WebSocketStream::with_high_water(stream, conn, config.high_water),
        response,
    ))
}
