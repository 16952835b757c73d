//! Opening a client connection: `ws://` over TCP, or any stream.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

use super::websocket::{read_head, Hooks, WebSocket};
pub use crate::adapter::ClientConfig;
use crate::adapter::Error;
use crate::handshake::{Response, Uri};
use crate::upgrade::ClientUpgrade;

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
///
/// ```
/// use std::time::Duration;
/// use rfc6455::blocking::{self, ClientConfig};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # std::thread::spawn(move || -> Result<(), blocking::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     while let Ok(msg) = ws.read() {
/// #         if msg.is_data() { ws.send(&msg)?; }
/// #     }
/// #     Ok(())
/// # });
///
/// let mut config = ClientConfig::default()
///     .max_message_size(1 << 20)
///     .ping_interval(Some(Duration::from_secs(30)));
/// config.handshake_timeout = Some(Duration::from_secs(5));
/// # #[cfg(feature = "deflate")] {
/// config.deflate = Some(rfc6455::deflate::DeflateConfig::default()); // offer compression
/// # }
///
/// let (mut ws, response) = blocking::connect_with(&format!("ws://{addr}/chat"), &config)?;
/// assert_eq!(response.status(), 101);
/// # #[cfg(feature = "deflate")]
/// assert!(ws.connection().deflate_enabled()); // the server took the offer
/// ws.send_text("hello")?;
/// assert_eq!(ws.read()?, "hello".into());
/// # Ok::<(), blocking::Error>(())
/// ```
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
///
/// ```
/// use std::net::TcpStream;
/// use std::time::Duration;
/// use rfc6455::blocking::{self, ClientConfig};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?;
/// # std::thread::spawn(move || -> Result<(), blocking::Error> {
/// #     let mut ws = blocking::accept(listener.accept()?.0)?;
/// #     while let Ok(msg) = ws.read() {
/// #         if msg.is_data() { ws.send(&msg)?; }
/// #     }
/// #     Ok(())
/// # });
///
/// // Any `Read + Write` the caller opened: for `wss://`, a TLS stream over
/// // this socket; here the socket itself.
/// let tcp = TcpStream::connect(addr)?;
/// tcp.set_read_timeout(Some(Duration::from_secs(5)))?; // bounds the handshake
/// let url = format!("ws://{addr}/chat"); // Host header and resource name
/// let (mut ws, _response) = blocking::connect_over(tcp, &url, &ClientConfig::default())?;
/// ws.send_binary(&[1, 2, 3])?;
/// assert_eq!(ws.read()?, vec![1, 2, 3].into());
/// # Ok::<(), blocking::Error>(())
/// ```
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
    let upgrade = ClientUpgrade::new(config);
    let (mut hs, opening) = upgrade.start(uri)?;
    stream.write_all(hs.request_bytes())?;
    stream.flush()?;
    let (response, leftover) = read_head(&mut stream, &hooks, config.handshake_timeout, |bytes| {
        Ok(hs.feed(bytes)?)
    })?;
    let conn = opening.open(&response, &leftover)?;
    Ok((WebSocket::with_hooks(stream, conn, hooks), response))
}
