//! Opening a client connection: `ws://` and `wss://` over TCP, or any
//! stream.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::maybe_tls::MaybeTlsStream;
use super::websocket::{read_head, Hooks, WebSocket};
pub use crate::adapter::ClientConfig;
use crate::adapter::{is_tls_record, Error};
use crate::handshake::{Response, Uri};
use crate::upgrade::ClientUpgrade;

/// Connects to a `ws://` URL, or a `wss://` URL with the `rustls` feature
/// (host names resolved, IPv4 and IPv6), with default settings.
///
/// ```no_run
/// let (mut ws, _response) = rfc6455::blocking::connect("ws://127.0.0.1:9001/chat")?;
/// ws.send_text("hello")?;
/// println!("{:?}", ws.read()?);
/// # Ok::<(), rfc6455::blocking::Error>(())
/// ```
///
/// With the `rustls` feature, `wss://` the same way (see [`connect_with`]):
///
/// ```no_run
/// let (mut ws, _) = rfc6455::blocking::connect("wss://echo.example.com/")?;
/// ws.send_text("hello over TLS")?;
/// # Ok::<(), rfc6455::blocking::Error>(())
/// ```
pub fn connect(url: &str) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
    connect_with(url, &ClientConfig::default())
}

/// Connects to a `ws://` or `wss://` URL with the given settings.
///
/// [`ClientConfig::handshake_timeout`] bounds the whole opening: resolving
/// the host (on a helper thread, unless the host is an IP address), the
/// TCP connect, the TLS handshake and the upgrade (the socket's timeouts
/// are set to the time left before each step). `wss://` needs the `rustls`
/// feature (without it: [`Error::TlsRequired`]): SNI and the certificate's
/// name come from the URL's host, ALPN is `http/1.1`, and the TLS config
/// is `ClientConfig::tls` (`None`: Mozilla's roots from `webpki-roots`).
/// A certificate that does not verify fails with `Error::Tls`, naming the
/// host and the reason; a `wss://` URL on a plaintext port with
/// `Error::PlaintextServer`, a `ws://` URL on a TLS port with
/// [`Error::TlsServer`], both as soon as the server answers.
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
///
/// A private CA (feature `rustls`):
///
/// ```no_run
/// # #[cfg(feature = "rustls")] {
/// use rfc6455::adapter::tls;
/// use rfc6455::blocking::{self, ClientConfig};
/// use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
/// use rfc6455::rustls::RootCertStore;
///
/// let mut roots = RootCertStore::empty();
/// roots.add(CertificateDer::from_pem_file("ca.pem")?)?;
/// let config = ClientConfig::default().with_tls(tls::client_config(roots));
/// let (mut ws, _) = blocking::connect_with("wss://internal.example:8443/feed", &config)?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_with(
    url: &str,
    config: &ClientConfig,
) -> Result<(WebSocket<MaybeTlsStream>, Response), Error> {
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
    let deadline = config.handshake_timeout.map(|t| Instant::now() + t);
    let tcp = open_tcp(&uri, deadline)?;
    if config.nodelay {
        tcp.set_nodelay(true)?;
    }
    #[cfg(feature = "rustls")]
    let stream = match name {
        Some(name) => {
            let tls_config = crate::adapter::tls::client_config_for(config);
            let host = uri.host();
            let tls = super::maybe_tls::TlsStream::connect(tcp, host, name, tls_config, deadline)?;
            MaybeTlsStream::Rustls(tls)
        }
        None => MaybeTlsStream::Plain(tcp),
    };
    #[cfg(not(feature = "rustls"))]
    let stream = MaybeTlsStream::Plain(tcp);
    let result = handshake(stream, &uri, config, Hooks::maybe_tls(), left(deadline)?);
    #[cfg(feature = "rustls")]
    let result = result.map_err(|e| match e {
        Error::Io(io) => match crate::adapter::tls::rustls_error(&io) {
            Some(source) => Error::Tls {
                host: uri.host().into(),
                source,
            },
            None => Error::Io(io),
        },
        other => other,
    });
    result
}

/// Resolves the URL's host and connects to the first address that answers,
/// by `deadline`.
fn open_tcp(uri: &Uri, deadline: Option<Instant>) -> Result<TcpStream, Error> {
    let addrs = resolve(uri.host(), uri.port(), deadline)?;
    let mut last_err = None;
    for addr in addrs {
        // The handshake timeout bounds the TCP connect too: an address that
        // drops packets must not hold the caller for the OS's minutes.
        let attempt = match left(deadline)? {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) => last_err = Some(e),
        }
    }
    if let Some(e) = &last_err {
        if crate::adapter::is_retry(e) && left(deadline).is_err() {
            return Err(Error::HandshakeTimeout);
        }
    }
    Err(Error::Io(last_err.unwrap_or_else(|| {
        std::io::ErrorKind::AddrNotAvailable.into()
    })))
}

/// The time left before `deadline`, or a timeout once it has passed.
fn left(deadline: Option<Instant>) -> Result<Option<Duration>, Error> {
    match deadline {
        None => Ok(None),
        Some(d) => match d.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(Error::HandshakeTimeout),
        },
    }
}

/// Resolves `host` by `deadline`. The system resolver cannot be given a
/// timeout, so with a deadline it runs on a helper thread, which is left to
/// finish on its own if the deadline passes first.
fn resolve(host: &str, port: u16, deadline: Option<Instant>) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(std::vec![SocketAddr::new(ip, port)]);
    }
    let Some(wait) = left(deadline)? else {
        return Ok((host, port).to_socket_addrs()?.collect());
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let name = std::string::String::from(host);
    std::thread::Builder::new()
        .name("rfc6455-resolve".into())
        .spawn(move || {
            let addrs = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>);
            let _ = tx.send(addrs);
        })?;
    match rx.recv_timeout(wait) {
        Ok(addrs) => Ok(addrs?),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::HandshakeTimeout),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::Io(std::io::ErrorKind::Other.into()))
        }
    }
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
    handshake(
        stream,
        &uri,
        config,
        Hooks::none(),
        config.handshake_timeout,
    )
}

fn handshake<S: Read + Write>(
    mut stream: S,
    uri: &Uri,
    config: &ClientConfig,
    hooks: Hooks<S>,
    timeout: Option<Duration>,
) -> Result<(WebSocket<S>, Response), Error> {
    let upgrade = ClientUpgrade::new(config);
    let (mut hs, opening) = upgrade.start(uri)?;
    stream.write_all(hs.request_bytes())?;
    stream.flush()?;
    let mut first = None;
    let head = read_head(&mut stream, &hooks, timeout, |bytes| {
        let first = first.get_or_insert_with(|| bytes[..bytes.len().min(2)].to_vec());
        match hs.feed(bytes) {
            // A TLS record where the status line should be: a TLS server
            // refusing a plaintext request (RFC 8446 §5.1 record header).
            Err(_) if is_tls_record(first) => Err(Error::TlsServer {
                host: uri.host().into(),
            }),
            other => Ok(other?),
        }
    });
    let (response, leftover) = head?;
    let conn = opening.open(&response, &leftover)?;
    Ok((WebSocket::with_hooks(stream, conn, hooks), response))
}
