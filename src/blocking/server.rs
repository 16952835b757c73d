//! Accepting connections: read the request, then accept, reject, or answer
//! plain HTTP.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::vec::Vec;

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
    pub fn reject(self, status: u16, body: &[u8]) -> Result<(), Error> {
        self.reject_with_headers(status, &[], body)
    }

    /// Rejects with extra response headers (e.g. `WWW-Authenticate`).
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
    pub fn respond(mut self, status: u16, content_type: &str, body: &[u8]) -> Result<(), Error> {
        let response = handshake::http_response(status, content_type, body)?;
        self.stream.write_all(&response)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Gives back the stream and any bytes received after the request head.
    pub fn into_parts(self) -> (S, Request, Vec<u8>) {
        (self.stream, self.upgrade.request, self.upgrade.leftover)
    }
}

/// Accepts a WebSocket connection on a TCP stream with default settings:
/// reads and validates the request and answers it (no subprotocol).
/// Requests that are not upgrades are answered with an error response.
pub fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    accept_with(stream, &ServerConfig::default())
}

/// Like [`accept`], with settings.
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
pub fn read_request(
    stream: TcpStream,
    config: &ServerConfig,
) -> Result<Incoming<TcpStream>, Error> {
    if config.nodelay {
        stream.set_nodelay(true)?;
    }
    read_request_inner(stream, config, Hooks::tcp())
}

/// Reads a request from any stream (no handshake timeout unless the stream
/// has a read timeout of its own).
pub fn read_request_over<S: Read + Write>(
    stream: S,
    config: &ServerConfig,
) -> Result<Incoming<S>, Error> {
    read_request_inner(stream, config, Hooks::none())
}

fn read_request_inner<S: Read + Write>(
    mut stream: S,
    config: &ServerConfig,
    hooks: Hooks<S>,
) -> Result<Incoming<S>, Error> {
    let mut hs = ServerHandshake::new(config.limits);
    let read = read_head(&mut stream, &hooks, config.handshake_timeout, |bytes| {
        Ok(hs.feed(bytes)?)
    });
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
