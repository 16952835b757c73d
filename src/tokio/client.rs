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
