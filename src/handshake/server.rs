//! The server side of the opening handshake: reading the client's request
//! (RFC 6455 §4.2.1), and refusing it or answering plain HTTP (§4.2.2).

use alloc::vec::Vec;

use super::error::HandshakeError;
use super::head::{HeadReader, Kind, Limits};
use super::request::Request;
use super::write::{check_headers, check_value, write_response};

/// Reads a client's opening handshake incrementally (RFC 6455 §4.2.1).
///
/// Feed it bytes as they arrive; it buffers at most
/// [`Limits::max_head_bytes`] and parses the head once, when complete. See
/// the [module documentation](super) for a full example.
///
/// Reading a request from any `Read`:
///
/// ```
/// use std::io::Read;
/// use rfc6455::handshake::{Accept, Limits, ServerHandshake};
///
/// # let mut stream = std::io::Cursor::new(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n\
/// #     Upgrade: websocket\r\nConnection: Upgrade\r\n\
/// #     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec());
/// let mut reader = ServerHandshake::new(Limits::default());
/// let mut buf = [0; 1024];
/// let (request, leftover) = loop {
///     let n = stream.read(&mut buf)?;
///     if n == 0 {
///         return Err("the client hung up".into());
///     }
///     match reader.feed(&buf[..n]) {
///         Ok(Some((request, used))) => break (request, buf[used..n].to_vec()),
///         Ok(None) => {} // read on
///         Err(e) => {
///             let _answer = e.response(); // 400 or 431: write it, then close
///             return Err(e.into());
///         }
///     }
/// };
/// let answer = match request.accept(&Accept::new()) {
///     Ok(switching) => switching, // then a `Connection::server`, fed `leftover`
///     Err(e) => e.response().unwrap_or_default(), // 400 or 426, then close
/// };
/// assert!(answer.starts_with(b"HTTP/1.1 101 "));
/// assert!(leftover.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ServerHandshake {
    reader: HeadReader,
}

impl ServerHandshake {
    /// A reader for one request head, bounded by `limits`.
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let reader = ServerHandshake::new(Limits::default().max_head_bytes(8 << 10));
    /// # let _ = reader;
    /// ```
    pub fn new(limits: Limits) -> Self {
        ServerHandshake {
            reader: HeadReader::new(limits),
        }
    }

    /// Consumes received bytes.
    ///
    /// Returns `Ok(None)` when more bytes are needed (all of `input` has been
    /// buffered), or `Ok(Some((request, n)))` once the head is complete: the
    /// first `n` bytes of `input` belonged to the head, and `input[n..]`
    /// (e.g. frames pipelined behind the handshake) belongs to the
    /// connection and is left untouched.
    ///
    /// The request is returned whether or not it is a valid WebSocket
    /// handshake, so that a server can answer plain HTTP on the same port;
    /// call [`Request::accept`] or [`Request::validate`]. Errors are head
    /// problems (too large, too many headers, malformed HTTP); each has a
    /// [`HandshakeError::response`] to send before closing. After a request or
    /// an error, further calls return [`HandshakeError::Finished`].
    ///
    /// ```
    /// use rfc6455::handshake::{Limits, ServerHandshake};
    /// let mut reader = ServerHandshake::new(Limits::default());
    /// // The head arrives in pieces, the first frame right behind it.
    /// assert!(reader.feed(b"GET /chat HTTP/1.1\r\nHo")?.is_none());
    /// let input = b"st: example.com\r\n\r\n\x81\x80abcd";
    /// let (request, used) = reader.feed(input)?.expect("a whole head");
    /// assert_eq!((request.path(), request.host()), ("/chat", Some("example.com")));
    /// assert_eq!(&input[used..], b"\x81\x80abcd"); // left for the connection
    /// # Ok::<(), rfc6455::handshake::HandshakeError>(())
    /// ```
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        Ok(self.reader.feed(input, Kind::Request)?.map(|(p, used)| {
            (
                Request {
                    headers: p.headers,
                    method: p.first,
                    target: p.second,
                    version: p.version,
                },
                used,
            )
        }))
    }

    /// How many times the HTTP parser has run: at most once per head,
    /// however the head was split across calls to [`feed`](Self::feed).
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn parse_calls(&self) -> usize {
        self.reader.parses()
    }

    /// Total number of input bytes the terminator search has examined
    /// (besides a fixed overlap of three buffered bytes per call). It never
    /// exceeds the number of bytes fed.
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn bytes_scanned(&self) -> usize {
        self.reader.scanned()
    }

    /// Number of bytes buffered so far (never more than
    /// [`Limits::max_head_bytes`]).
    /// (Instrumentation for tests and fuzz targets; not part of the API.)
    #[doc(hidden)]
    pub fn buffered(&self) -> usize {
        self.reader.buffered()
    }
}

/// Builds a response that refuses the handshake (RFC 6455 §4.2.2 item 4),
/// e.g. 403 for an unacceptable `Origin` (§10.2) or 401 with a
/// `WWW-Authenticate` header. Adds `Content-Length` and `Connection: close`.
///
/// Errors: a status outside 100..=999 ([`HandshakeError::InvalidStatus`]);
/// a header name that is not a token or a value with CR, LF or NUL
/// ([`HandshakeError::InvalidHeader`]).
///
/// ```
/// let r = rfc6455::handshake::reject(403, &[], b"bad origin").unwrap();
/// assert_eq!(
///     r,
///     b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\nConnection: close\r\n\r\nbad origin"
/// );
/// ```
pub fn reject(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(100..=999).contains(&status) {
        return Err(HandshakeError::InvalidStatus(status));
    }
    check_headers(headers)?;
    Ok(write_response(status, None, headers, body))
}

/// Builds a plain HTTP response (for a request that is not an upgrade, see
/// [`Request::is_upgrade`]) with `Content-Type`, `Content-Length` and
/// `Connection: close`.
///
/// ```
/// let r = rfc6455::handshake::http_response(200, "text/html", b"<p>hi</p>").unwrap();
/// assert!(r.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"));
/// assert!(r.ends_with(b"\r\n\r\n<p>hi</p>"));
/// ```
pub fn http_response(
    status: u16,
    content_type: &str,
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(100..=999).contains(&status) {
        return Err(HandshakeError::InvalidStatus(status));
    }
    check_value(content_type)?;
    Ok(write_response(status, Some(content_type), &[], body))
}
