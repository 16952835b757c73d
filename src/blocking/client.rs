//! Opening a client connection: `ws://` over TCP, or any stream.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::error::Error;
use super::websocket::{read_head, Hooks, WebSocket};
use crate::config::Config;
use crate::handshake::{ClientOptions, Response, Uri};
use crate::upgrade::ClientUpgrade;

/// Settings for [`connect_with`] and [`connect_over`].
///
/// ```
/// use rfc6455::blocking::ClientConfig;
/// use rfc6455::handshake::ClientOptions;
/// let mut config = ClientConfig::default();
/// config.options = ClientOptions::new().subprotocol("chat").origin("https://example.com");
/// config.config.max_message_size = 1 << 20;
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The connection's settings once open.
    pub config: Config,
    /// The request: subprotocols, Origin, extra headers, head limits.
    pub options: ClientOptions,
    /// How long connecting and the opening handshake may each take (TCP
    /// only). Default: 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Disable Nagle's algorithm on the socket (TCP only). Default: `true`.
    pub nodelay: bool,
    /// Offer permessage-deflate (RFC 7692 §5.1) with these settings (unless
    /// `options` already carries an extension offer); `None` offers nothing.
    /// A server answer that does not fit the offer (§7.1), or no answer when
    /// [`required`](crate::deflate::DeflateConfig::required), fails the
    /// handshake with [`Error::Deflate`]. Default: `None`.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            config: Config::default(),
            options: ClientOptions::new(),
            handshake_timeout: Some(Duration::from_secs(10)),
            nodelay: true,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

/// Connects to a `ws://` URL (host names resolved, IPv4 and IPv6) with
/// default settings.
///
/// ```no_run
/// let (mut ws, _response) = rfc6455::blocking::connect("ws://127.0.0.1:9001/chat")?;
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), rfc6455::blocking::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    connect_with(url, &ClientConfig::default())
}

/// Connects to a `ws://` URL with the given settings. For `wss://`, open the
/// TLS stream yourself and use [`connect_over`].
pub fn connect_with(
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocket<TcpStream>, Response), Error> {
    let uri = Uri::parse(url)?;
    if uri.is_secure() {
        return Err(Error::TlsRequired);
    }
    let addrs = (uri.host(), uri.port()).to_socket_addrs()?;
    let mut last_err = None;
    let mut stream = None;
    for addr in addrs {
        // The handshake timeout bounds the TCP connect too: an address that
        // drops packets must not hold the caller for the OS's minutes.
        let attempt = match config.handshake_timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let stream = match stream {
        Some(s) => s,
        None => {
            return Err(Error::Io(
                last_err.unwrap_or_else(|| std::io::ErrorKind::AddrNotAvailable.into()),
            ));
        }
    };
    if config.nodelay {
        stream.set_nodelay(true)?;
    }
    handshake(stream, &uri, config, Hooks::tcp())
}

/// Runs the client handshake over a stream the caller opened (a TLS stream
/// for `wss://`, a Unix socket, an in-memory pipe). `url` supplies the Host
/// header and resource name.
///
/// [`ClientConfig::handshake_timeout`] is checked each time a read returns:
/// give the stream a read timeout of its own (for TLS, on the socket
/// underneath) and a server that never answers fails with
/// [`Error::HandshakeTimeout`]; over a stream without one, the read waits
/// for the server.
pub fn connect_over<S: Read + Write>(
    stream: S,
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, Response), Error> {
    let uri = Uri::parse(url)?;
    handshake(stream, &uri, config, Hooks::none())
}

fn handshake<S: Read + Write>(
    mut stream: S,
    uri: &Uri,
    config: &ClientConfig,
    hooks: Hooks<S>,
) -> Result<(WebSocket<S>, Response), Error> {
    let upgrade = ClientUpgrade {
        options: &config.options,
        #[cfg(feature = "deflate")]
        deflate: config.deflate.as_ref(),
    };
    let (mut hs, opening) = upgrade.start(uri)?;
    stream.write_all(hs.request_bytes())?;
    stream.flush()?;
    let (response, leftover) = read_head(&mut stream, &hooks, config.handshake_timeout, |bytes| {
        Ok(hs.feed(bytes)?)
    })?;
    let conn = opening.open::<Error>(config.config.clone(), &response, &leftover)?;
    Ok((WebSocket::with_hooks(stream, conn, hooks), response))
}
