//! Accepting connections: read the request, then accept, reject, or answer
//! plain HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
#[cfg(feature = "rustls")]
use std::time::Instant;
use std::vec::Vec;

use super::maybe_tls::MaybeTlsStream;
#[cfg(feature = "rustls")]
use super::maybe_tls::TlsStream;
use super::websocket::{read_head, Hooks, WebSocket};
use crate::adapter::Error;
pub use crate::adapter::ServerConfig;
use crate::handshake::{self, Accept, HandshakeError, Request, ServerHandshake};
use crate::upgrade::ServerUpgrade;

/// A request read from a stream, waiting for the application's decision.
///
/// ```no_run
/// use rfc6455::blocking;
/// use rfc6455::handshake::Accept;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:8080")?;
/// let (stream, _) = listener.accept()?;
/// let incoming = blocking::read_request(stream, &blocking::ServerConfig::default())?;
/// if !incoming.request().is_upgrade() {
///     incoming.respond(200, "text/plain", b"hello over HTTP")?;
/// } else if incoming.request().origin() != Some("https://example.com") {
///     incoming.reject(403, b"unknown origin")?;
/// } else {
///     let chat = incoming.request().subprotocols().any(|p| p == "chat");
///     let accept = if chat { Accept::new().subprotocol("chat") } else { Accept::new() };
///     let mut ws = incoming.accept(&accept)?;
///     ws.send_text("welcome")?;
/// }
/// # Ok::<(), blocking::Error>(())
/// ```
pub struct Incoming<S> {
    stream: S,
    upgrade: ServerUpgrade,
    hooks: Hooks<S>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Incoming<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("stream", &self.stream)
            .field("request", &self.upgrade.request)
            .finish()
    }
}

impl<S: Read + Write> Incoming<S> {
    /// The parsed request.
    ///
    /// ```
    /// use rfc6455::blocking::{self, ServerConfig};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")?;
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
    /// let request = incoming.request();
    /// assert!(request.is_upgrade());
    /// assert_eq!(request.path(), "/chat");
    /// assert_eq!(request.subprotocols().collect::<Vec<_>>(), ["chat", "superchat"]);
    /// # Ok::<(), blocking::Error>(())
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
    /// use rfc6455::blocking::{self, ServerConfig};
    /// use rfc6455::handshake::Accept;
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")?;
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
    /// let chat = incoming.request().subprotocols().any(|p| p == "chat");
    /// let accept = if chat { Accept::new().subprotocol("chat") } else { Accept::new() };
    /// let mut ws = incoming.accept(&accept)?;
    /// ws.send_text("welcome")?;
    ///
    /// // What the client received: the 101, then the frame.
    /// # let mut received = vec![0; 1024];
    /// # let n = client.read(&mut received)?;
    /// # let received = String::from_utf8_lossy(&received[..n]);
    /// assert!(received.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    /// assert!(received.contains("Sec-WebSocket-Protocol: chat\r\n"));
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn accept(mut self, accept: &Accept<'_>) -> Result<WebSocket<S>, Error> {
        match self.upgrade.answer(accept) {
            (response, Ok(conn)) => {
                self.stream.write_all(&response)?;
                self.stream.flush()?;
                Ok(WebSocket::with_hooks(self.stream, conn, self.hooks))
            }
            (refusal, Err(e)) => {
                // Best effort: the refusal is what is reported.
                let _ = self.stream.write_all(&refusal);
                let _ = self.stream.flush();
                Err(e)
            }
        }
    }

    /// Rejects the upgrade with `status` (e.g. 403, 401) and `body`.
    ///
    /// ```
    /// use rfc6455::blocking::{self, ServerConfig};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")?;
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
    /// if incoming.request().origin() != Some("https://example.com") {
    ///     incoming.reject(403, b"unknown origin")?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer)?;
    /// # assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    /// # assert!(answer.ends_with("\r\n\r\nunknown origin"));
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn reject(self, status: u16, body: &[u8]) -> Result<(), Error> {
        self.reject_with_headers(status, &[], body)
    }

    /// Rejects with extra response headers (e.g. `WWW-Authenticate`).
    ///
    /// ```
    /// use rfc6455::blocking::{self, ServerConfig};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # client.write_all(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    /// #     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n")?;
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
    /// if incoming.request().header("authorization").is_none() {
    ///     let headers = [("WWW-Authenticate", "Bearer realm=\"chat\"")];
    ///     incoming.reject_with_headers(401, &headers, b"log in first")?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer)?;
    /// # assert!(answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
    /// # assert!(answer.contains("\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n"));
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn reject_with_headers(
        mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), Error> {
        let response = handshake::reject(status, headers, body)?;
        self.stream.write_all(&response)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Answers a plain HTTP request (one that is not an upgrade) and closes.
    ///
    /// ```
    /// use rfc6455::blocking::{self, ServerConfig};
    /// # use std::io::{Read, Write};
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # client.write_all(b"GET /health HTTP/1.1\r\nHost: example.com\r\n\r\n")?;
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
    /// if !incoming.request().is_upgrade() {
    ///     incoming.respond(200, "text/plain", b"ok")?;
    /// }
    /// # let mut answer = String::new();
    /// # client.read_to_string(&mut answer)?;
    /// # assert!(answer.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"));
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn respond(mut self, status: u16, content_type: &str, body: &[u8]) -> Result<(), Error> {
        let response = handshake::http_response(status, content_type, body)?;
        self.stream.write_all(&response)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Gives back the stream, the request and any bytes received after the
    /// request head: to answer it some other way, or to take the opening
    /// step by hand with [`ServerUpgrade`](crate::upgrade::ServerUpgrade).
    ///
    /// ```
    /// use std::io::Write;
    /// use rfc6455::blocking::{self, ServerConfig, WebSocket};
    /// use rfc6455::handshake::Accept;
    /// use rfc6455::upgrade::ServerUpgrade;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/chat", listener.local_addr()?);
    /// # let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
    /// #     let (mut ws, _) = blocking::connect(&url)?;
    /// #     ws.send_text("hi")?;
    /// #     Ok(ws.read()?)
    /// # });
    /// # let (tcp, _) = listener.accept()?;
    ///
    /// let config = ServerConfig::default();
    /// let (mut tcp, request, leftover) = blocking::read_request(tcp, &config)?.into_parts();
    /// let (response, conn) = ServerUpgrade::new(request, leftover, &config).answer(&Accept::new());
    /// tcp.write_all(&response)?;
    /// let mut ws = WebSocket::from_tcp(tcp, conn?);
    /// let msg = ws.read()?;
    /// ws.send(&msg)?;
    /// # assert_eq!(client.join().unwrap()?, msg);
    /// # Ok::<(), blocking::Error>(())
    /// ```
    pub fn into_parts(self) -> (S, Request, Vec<u8>) {
        (self.stream, self.upgrade.request, self.upgrade.leftover)
    }
}

/// Accepts a WebSocket connection on a TCP stream with default settings:
/// reads and validates the request and answers it (no subprotocol).
/// Requests that are not upgrades are answered with an error response.
///
/// ```
/// use std::net::TcpListener;
/// use rfc6455::blocking;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let url = format!("ws://{}/", listener.local_addr()?);
/// let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
///     let (mut ws, _) = blocking::connect(&url)?;
///     ws.send_text("hello")?;
///     Ok(ws.read()?)
/// });
///
/// let (tcp, _) = listener.accept()?;
/// let mut ws = blocking::accept(tcp)?;
/// let msg = ws.read()?;
/// ws.send(&msg)?; // echo
/// assert_eq!(client.join().unwrap()?, msg);
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    accept_with(stream, &ServerConfig::default())
}

/// Like [`accept`], with settings.
///
/// ```
/// use std::net::TcpListener;
/// use std::time::Duration;
/// use rfc6455::blocking::{self, ServerConfig};
///
/// let config = ServerConfig::default()
///     .max_message_size(64 << 10)
///     .ping_interval(Some(Duration::from_secs(30)));
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # std::thread::spawn(move || blocking::connect(&url).map(|(mut ws, _)| ws.read()));
/// let (tcp, _) = listener.accept()?;
/// let ws = blocking::accept_with(tcp, &config)?;
/// assert_eq!(ws.connection().config().max_message_size, 64 << 10);
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn accept_with(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<WebSocket<TcpStream>, Error> {
    read_request(stream, config)?.accept(&Accept::new())
}

/// Reads a request from a TCP stream, within the handshake timeout, and
/// hands it to the application to decide (see [`Incoming`]).
///
/// A head that cannot be HTTP is answered at its first impossible byte
/// (400), an invalid one with its error response (400, 426, 431), and one
/// that does not arrive within [`ServerConfig::handshake_timeout`] with
/// `408 Request Timeout` ([`Error::HandshakeTimeout`]).
///
/// One port for WebSocket and plain HTTP:
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
/// use rfc6455::blocking::{self, ServerConfig};
/// use rfc6455::handshake::Accept;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut browser = TcpStream::connect(listener.local_addr()?)?;
/// browser.write_all(b"GET /status HTTP/1.1\r\nHost: example.com\r\n\r\n")?;
///
/// let (tcp, _) = listener.accept()?;
/// let incoming = blocking::read_request(tcp, &ServerConfig::default())?;
/// if incoming.request().is_upgrade() {
///     let mut ws = incoming.accept(&Accept::new())?;
///     ws.send_text("hello")?;
/// } else {
///     incoming.respond(200, "text/plain", b"up")?;
/// }
///
/// let mut answer = String::new();
/// browser.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(answer.ends_with("\r\n\r\nup"));
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn read_request(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<Incoming<TcpStream>, Error> {
    if config.nodelay {
        stream.set_nodelay(true)?;
    }
    read_request_inner(stream, config, Hooks::tcp(), config.handshake_timeout)
}

/// Reads a request from any stream (no handshake timeout unless the stream
/// has a read timeout of its own).
///
/// ```
/// use std::time::Duration;
/// use rfc6455::blocking::{self, ServerConfig};
/// use rfc6455::handshake::Accept;
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
/// #     let (mut ws, _) = blocking::connect(&url)?;
/// #     ws.send_text("hello")?;
/// #     Ok(ws.read()?)
/// # });
///
/// // Any `Read + Write`: a TLS stream, a Unix socket; here a TCP stream,
/// // whose read timeout bounds the handshake.
/// let (stream, _) = listener.accept()?;
/// stream.set_read_timeout(Some(Duration::from_secs(10)))?;
/// let incoming = blocking::read_request_over(stream, &ServerConfig::default())?;
/// let mut ws = incoming.accept(&Accept::new())?;
/// let msg = ws.read()?;
/// ws.send(&msg)?;
/// # assert_eq!(client.join().unwrap()?, msg);
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn read_request_over<S: Read + Write>(
    stream: S,
    config: &ServerConfig,
) -> Result<Incoming<S>, Error> {
    read_request_inner(stream, config, Hooks::none(), config.handshake_timeout)
}

/// Accepts a WebSocket connection over any stream the caller opened (a TLS
/// stream of its own, a Unix socket) in one call: [`read_request_over`],
/// then [`Incoming::accept`] with no subprotocol. As with
/// `read_request_over`, the handshake timeout holds only if the stream has
/// a read timeout of its own.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::blocking::{self, ServerConfig};
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/", listener.local_addr()?);
/// # let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
/// #     let (mut ws, _) = blocking::connect(&url)?;
/// #     ws.send_text("hello")?;
/// #     Ok(ws.read()?)
/// # });
///
/// // Any `Read + Write`; here a TCP stream with a read timeout.
/// let (stream, _) = listener.accept()?;
/// stream.set_read_timeout(Some(Duration::from_secs(10)))?;
/// let mut ws = blocking::accept_over(stream, &ServerConfig::default())?;
/// let msg = ws.read()?;
/// ws.send(&msg)?;
/// # assert_eq!(client.join().unwrap()?, msg);
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn accept_over<S: Read + Write>(
    stream: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>, Error> {
    read_request_over(stream, config)?.accept(&Accept::new())
}

/// Accepts a WebSocket connection on a TCP stream, over TLS when
/// `ServerConfig::tls` is set (feature `rustls`), in one call: the TLS
/// handshake, then the request, read and answered as by [`accept_with`],
/// all within [`ServerConfig::handshake_timeout`]. Without a TLS config
/// the stream stays plain TCP: one code path for a server whose TLS is
/// an option. A TLS handshake that fails returns `Error::Tls`, naming the
/// client's address and rustls' reason.
///
/// ```
/// use std::net::TcpListener;
/// use rfc6455::blocking::{self, ServerConfig};
///
/// // `config.tls = Some(...)` (feature `rustls`) makes this a wss:// server.
/// let config = ServerConfig::default();
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let url = format!("ws://{}/", listener.local_addr()?);
/// let client = std::thread::spawn(move || -> Result<_, blocking::Error> {
///     let (mut ws, _) = blocking::connect(&url)?;
///     ws.send_text("hello")?;
///     Ok(ws.read()?)
/// });
///
/// let (tcp, _) = listener.accept()?;
/// let mut ws = blocking::accept_maybe_tls(tcp, &config)?;
/// assert!(!ws.get_ref().is_tls());
/// let msg = ws.read()?;
/// ws.send(&msg)?;
/// assert_eq!(client.join().unwrap()?, msg);
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn accept_maybe_tls(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<WebSocket<MaybeTlsStream>, Error> {
    read_request_maybe_tls(stream, config)?.accept(&Accept::new())
}

/// Reads a request from a TCP stream, over TLS when `ServerConfig::tls`
/// is set (feature `rustls`), and hands it to the application to decide
/// (see [`Incoming`]): one port for `https://` pages and `wss://`. The TLS
/// handshake and the request head share
/// [`ServerConfig::handshake_timeout`]; errors are those of
/// [`read_request`], and `Error::Tls` for a TLS handshake that fails.
///
/// ```
/// use std::io::{Read, Write};
/// use std::net::{TcpListener, TcpStream};
/// use rfc6455::blocking::{self, ServerConfig};
/// use rfc6455::handshake::Accept;
///
/// let config = ServerConfig::default(); // with `tls` set: https:// and wss://
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let mut browser = TcpStream::connect(listener.local_addr()?)?;
/// browser.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")?;
///
/// let (tcp, _) = listener.accept()?;
/// let incoming = blocking::read_request_maybe_tls(tcp, &config)?;
/// if incoming.request().is_upgrade() {
///     incoming.accept(&Accept::new())?.send_text("hello")?;
/// } else {
///     incoming.respond(200, "text/html", b"<p>the page</p>")?;
/// }
/// let mut answer = String::new();
/// browser.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
/// # Ok::<(), blocking::Error>(())
/// ```
pub fn read_request_maybe_tls(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<Incoming<MaybeTlsStream>, Error> {
    if config.nodelay {
        stream.set_nodelay(true)?;
    }
    #[cfg(feature = "rustls")]
    if let Some(tls) = &config.tls {
        let start = Instant::now();
        let deadline = config.handshake_timeout.map(|t| start + t);
        let stream = TlsStream::accept(stream, std::sync::Arc::clone(tls), deadline)?;
        let left = config.handshake_timeout.map(|t| {
            t.saturating_sub(start.elapsed())
                .max(Duration::from_millis(1))
        });
        return read_request_inner(
            MaybeTlsStream::Rustls(stream),
            config,
            Hooks::maybe_tls(),
            left,
        );
    }
    read_request_inner(
        MaybeTlsStream::Plain(stream),
        config,
        Hooks::maybe_tls(),
        config.handshake_timeout,
    )
}

fn read_request_inner<S: Read + Write>(
    mut stream: S,
    config: &ServerConfig,
    hooks: Hooks<S>,
    timeout: Option<Duration>,
) -> Result<Incoming<S>, Error> {
    let mut hs = ServerHandshake::new(config.limits);
    let read = read_head(&mut stream, &hooks, timeout, |bytes| Ok(hs.feed(bytes)?));
    let (request, leftover) = match read {
        Ok(head) => head,
        Err(Error::Handshake(e)) => {
            // Answer what we can (400, 426, 431) before giving up.
            send_error_response(&mut stream, &e);
            return Err(Error::Handshake(e));
        }
        Err(Error::HandshakeTimeout) => {
            send_error_response(&mut stream, &HandshakeError::RequestTimeout);
            return Err(Error::HandshakeTimeout);
        }
        Err(e) => return Err(e),
    };
    Ok(Incoming {
        stream,
        upgrade: ServerUpgrade {
            request,
            leftover,
            config: config.config.clone(),
            #[cfg(feature = "deflate")]
            deflate: config.deflate.clone(),
        },
        hooks,
    })
}

fn send_error_response<S: Write>(stream: &mut S, e: &HandshakeError) {
    if let Some(response) = e.response() {
        let _ = stream.write_all(&response);
        let _ = stream.flush();
    }
}
