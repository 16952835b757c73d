//! Opening a client connection: `ws://` and `wss://` over TCP, or any
//! stream.

use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::net::TcpStream;

use super::maybe_tls::MaybeTlsStream;
use super::stream::WebSocketStream;
pub use crate::adapter::ClientConfig;
use crate::adapter::{is_tls_record, Error};
use crate::handshake::{Response, Uri};
use crate::upgrade::ClientUpgrade;

/// Connects to a `ws://` URL, or a `wss://` URL with the `rustls` feature
/// (host names resolved, IPv4 and IPv6), with default settings.
///
/// ```no_run
/// # async fn run() -> Result<(), rfc6455::tokio::Error> {
/// let (mut ws, _response) = rfc6455::tokio::connect("ws://127.0.0.1:9002/chat").await?;
/// ws.send_text("hello").await?;
/// println!("{:?}", ws.read().await?);
///
/// // With the `rustls` feature, wss:// the same way (see `connect_with`).
/// let (mut ws, _) = rfc6455::tokio::connect("wss://echo.example.com/").await?;
/// ws.send_text("hello over TLS").await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect(url: &str) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    connect_with(url, &ClientConfig::default()).await
}

/// Connects to a `ws://` or `wss://` URL with the given settings.
///
/// [`ClientConfig::handshake_timeout`] is one timer around the whole
/// opening: resolving the host, the TCP connect, the TLS handshake and the
/// upgrade. `wss://` needs the `rustls` feature (without it:
/// [`Error::TlsRequired`]): SNI and the certificate's name come from the
/// URL's host, ALPN is `http/1.1`, and the TLS config is
/// `ClientConfig::tls` (`None`: Mozilla's roots from `webpki-roots`). A
/// certificate that does not verify fails with `Error::Tls`, naming the
/// host and the reason; a `wss://` URL on a plaintext port with
/// `Error::PlaintextServer`, a `ws://` URL on a TLS port with
/// [`Error::TlsServer`], both as soon as the server answers.
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
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    let uri = Uri::parse(url)?;
    #[cfg(not(feature = "rustls"))]
    if uri.is_secure() {
        return Err(Error::TlsRequired);
    }
    // Checked before anything goes on the network.
    #[cfg(feature = "rustls")]
    let name = match uri.is_secure() {
        true => Some(crate::adapter::tls::server_name(uri.host())?),
        false => None,
    };
    with_timeout(config.handshake_timeout, async {
        let tcp = open_tcp(&uri).await?;
        if config.nodelay {
            tcp.set_nodelay(true)?;
        }
        #[cfg(feature = "rustls")]
        let stream = match name {
            Some(name) => {
                let tls_config = crate::adapter::tls::client_config_for(config);
                let tls = super::maybe_tls::TlsStream::connect(tcp, uri.host(), name, tls_config);
                MaybeTlsStream::Rustls(tls.await?)
            }
            None => MaybeTlsStream::Plain(tcp),
        };
        #[cfg(not(feature = "rustls"))]
        let stream = MaybeTlsStream::Plain(tcp);
        let result = handshake(stream, &uri, config).await;
        #[cfg(feature = "rustls")]
        let result = result.map_err(|e| tls_named(e, uri.host()));
        result
    })
    .await
}

/// A TLS failure after the TLS handshake (an alert in the middle of the
/// upgrade), named: `Error::Tls` with the host.
#[cfg(feature = "rustls")]
pub(crate) fn tls_named(e: Error, host: &str) -> Error {
    match e {
        Error::Io(io) => match crate::adapter::tls::rustls_error(&io) {
            Some(source) => Error::Tls {
                host: host.into(),
                source,
            },
            None => Error::Io(io),
        },
        other => other,
    }
}

pub(crate) async fn open_tcp(uri: &Uri) -> Result<TcpStream, Error> {
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

pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    uri: &Uri,
    config: &ClientConfig,
) -> Result<(WebSocketStream<S>, Response), Error> {
    let upgrade = ClientUpgrade::new(config);
    let (mut hs, opening) = upgrade.start(uri)?;
    stream.write_all(hs.request_bytes()).await?;
    stream.flush().await?;
    let mut buf = std::vec![0u8; 4096];
    let mut first = None;
    let (response, used, n) = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let first = *first.get_or_insert([buf[0], if n > 1 { buf[1] } else { 0 }]);
        match hs.feed(&buf[..n]) {
            Ok(Some((response, used))) => break (response, used, n),
            Ok(None) => {}
            // A TLS record where the status line should be: a TLS server
            // refusing a plaintext request (RFC 8446 §5.1 record header).
            Err(_) if is_tls_record(&first) => {
                return Err(Error::TlsServer {
                    host: uri.host().into(),
                })
            }
            Err(e) => return Err(e.into()),
        }
    };
    let conn = opening.open(&response, &buf[used..n])?;
    Ok((
        WebSocketStream::with_high_water(stream, conn, config.high_water),
        response,
    ))
}
