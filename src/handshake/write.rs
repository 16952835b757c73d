//! Writing HTTP heads: header checks against injection, status lines,
//! complete error and plain responses, and the response each
//! [`HandshakeError`] stands for.

use alloc::string::String;
use alloc::vec::Vec;

use super::error::HandshakeError;
use super::headers::is_token;

/// Rejects header values that would break out of their line.
pub(crate) fn check_value(value: &str) -> Result<(), HandshakeError> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        Err(HandshakeError::InvalidHeader)
    } else {
        Ok(())
    }
}

/// Checks names (tokens) and values (no CR/LF/NUL) of extra headers.
pub(crate) fn check_headers<N: AsRef<str>, V: AsRef<str>>(
    headers: &[(N, V)],
) -> Result<(), HandshakeError> {
    for (n, v) in headers {
        if !is_token(n.as_ref().as_bytes()) {
            return Err(HandshakeError::InvalidHeader);
        }
        check_value(v.as_ref())?;
    }
    Ok(())
}

pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub(crate) fn fmt_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The reason phrase for common status codes; empty for others (an empty
/// reason phrase is valid HTTP, RFC 7230 §3.1.2).
///
/// ```
/// use rfc6455::handshake::reason_phrase;
/// assert_eq!(reason_phrase(101), "Switching Protocols");
/// assert_eq!(reason_phrase(426), "Upgrade Required");
/// assert_eq!(reason_phrase(799), "");
/// ```
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes a complete response with `Content-Length` and `Connection: close`.
/// Inputs must already be checked.
pub(crate) fn write_response(
    status: u16,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let reason = reason_phrase(status);
    let mut num = [0u8; 20];
    let mut len_buf = [0u8; 20];
    let status_text = fmt_u64(u64::from(status), &mut num);
    let body_len = fmt_u64(body.len() as u64, &mut len_buf);
    let mut cap = 9 + status_text.len() + 1 + reason.len() + 2;
    cap += 16 + body_len.len() + 2 + 19 + 2;
    if let Some(ct) = content_type {
        cap += 14 + ct.len() + 2;
    }
    for (n, v) in headers {
        cap += n.len() + v.len() + 4;
    }
    cap += body.len();
    let mut out = Vec::with_capacity(cap);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status_text.as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(ct) = content_type {
        push_header(&mut out, "Content-Type", ct);
    }
    push_header(&mut out, "Content-Length", body_len);
    push_header(&mut out, "Connection", "close");
    for (n, v) in headers {
        push_header(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

impl HandshakeError {
    /// A short plain-text explanation sent as the body of the response.
    fn body(&self) -> &'static [u8] {
        use HandshakeError::*;
        match self {
            HeadTooLarge { .. } => b"Request header fields too large\n",
            TooManyHeaders { .. } => b"Too many request header fields\n",
            MalformedHead(_) => b"Malformed HTTP request\n",
            RequestTimeout => b"The request did not arrive in time\n",
            InvalidTarget => b"Request target must be /path or an absolute URI\n",
            MethodNotGet => b"WebSocket handshake must use GET\n",
            HttpVersion => b"WebSocket handshake requires HTTP/1.1\n",
            MissingHost => b"Missing Host header\n",
            InvalidHost => b"Invalid or repeated Host header\n",
            UpgradeNotWebSocket => b"Upgrade header must contain websocket\n",
            ConnectionNotUpgrade => b"Connection header must contain Upgrade\n",
            MissingKey => b"Missing Sec-WebSocket-Key header\n",
            InvalidKey => b"Invalid Sec-WebSocket-Key header\n",
            MissingVersion | UnsupportedVersion => b"Sec-WebSocket-Version must be 13\n",
            MalformedSubprotocols => b"Malformed Sec-WebSocket-Protocol header\n",
            MalformedExtensions => b"Malformed Sec-WebSocket-Extensions header\n",
            MethodNotConnect => b"An HTTP/2 WebSocket request must be an extended CONNECT\n",
            MissingProtocol => b"CONNECT without :protocol\n",
            UnsupportedProtocol(_) => b"The only :protocol supported is websocket\n",
            MissingPseudoHeader(_) => b"Extended CONNECT needs :scheme, :path and :authority\n",
            InvalidScheme => b":scheme must be http or https\n",
            ConnectionSpecificHeader => b"Connection-specific header fields are not allowed\n",
            _ => b"",
        }
    }

    /// The header fields of the refusal besides `Content-Type`: on a 426,
    /// `Upgrade: websocket` (RFC 9110 §15.5.22) and `Sec-WebSocket-Version:
    /// 13` (RFC 6455 §4.4).
    fn refusal_headers(status: u16) -> &'static [(&'static str, &'static str)] {
        if status == 426 {
            &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
        } else {
            &[]
        }
    }

    /// [`response`](Self::response) as a status and header fields, for an
    /// HTTP server that writes the head itself (and adds `Content-Length`):
    /// the same status, `Content-Type`, 426 fields and body.
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// let parts = HandshakeError::UpgradeNotWebSocket.response_parts().unwrap();
    /// assert_eq!(parts.status, 426);
    /// assert_eq!(parts.header("upgrade"), Some("websocket"));
    /// assert_eq!(parts.body, b"Upgrade header must contain websocket\n");
    /// ```
    pub fn response_parts(&self) -> Option<ResponseParts> {
        let status = self.http_status()?;
        Some(self.refusal(status, Self::refusal_headers(status)))
    }

    /// The refusal of an HTTP/2 extended CONNECT ([`h2_status`](Self::h2_status)):
    /// `content-type`, the body of [`response`](Self::response), and
    /// `sec-websocket-version: 13` when the version was the problem (RFC
    /// 6455 §4.4). Names are in lower case, as HTTP/2 writes them (RFC 9113
    /// §8.2.1).
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// let parts = HandshakeError::UnsupportedVersion.h2_response().unwrap();
    /// assert_eq!(parts.status, 400);
    /// assert_eq!(parts.header("sec-websocket-version"), Some("13"));
    /// assert_eq!(HandshakeError::AcceptMismatch.h2_response(), None); // client side
    /// ```
    pub fn h2_response(&self) -> Option<ResponseParts> {
        let status = self.h2_status()?;
        let version: &[(&str, &str)] = &[("sec-websocket-version", "13")];
        let extra = match self {
            HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion => version,
            _ => &[],
        };
        let mut parts = self.refusal(status, extra);
        parts.lowercase_names();
        Some(parts)
    }

    fn refusal(&self, status: u16, extra: &[(&str, &str)]) -> ResponseParts {
        let mut parts = ResponseParts::new(status);
        parts.push("Content-Type", REFUSAL_TYPE);
        for &(n, v) in extra {
            parts.push(n, v);
        }
        parts.body = self.body().to_vec();
        parts
    }

    /// The complete HTTP response (status line, headers, body) a server should
    /// send before closing the connection, or `None` when this error has no
    /// [`http_status`](Self::http_status).
    ///
    /// Responses carry `Content-Type: text/plain`, `Content-Length` and
    /// `Connection: close`; a 426 also carries `Upgrade: websocket` (RFC 9110
    /// §15.5.22) and `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// let bytes = HandshakeError::UnsupportedVersion.response().unwrap();
    /// assert!(bytes.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    /// let text = std::str::from_utf8(&bytes).unwrap();
    /// assert!(text.contains("\r\nUpgrade: websocket\r\n"));
    /// ```
    pub fn response(&self) -> Option<Vec<u8>> {
        let status = self.http_status()?;
        Some(write_response(
            status,
            Some(REFUSAL_TYPE),
            Self::refusal_headers(status),
            self.body(),
        ))
    }
}

/// The `Content-Type` of every refusal's body.
const REFUSAL_TYPE: &str = "text/plain; charset=utf-8";

/// A response as a status and header fields, for an HTTP server that
/// writes heads itself (hyper, or any HTTP/2 server): what
/// [`Request::accept_parts`](super::Request::accept_parts),
/// [`ConnectRequest::accept`](super::ConnectRequest::accept) and the
/// refusals ([`HandshakeError::response_parts`],
/// [`HandshakeError::h2_response`]) give. The server adds what its framing
/// needs (`Content-Length`).
///
/// ```
/// use rfc6455::handshake::{HandshakeError, ResponseParts};
/// let refusal: ResponseParts = HandshakeError::MissingKey.response_parts().unwrap();
/// assert_eq!((refusal.status, refusal.header("content-type")), (400, Some("text/plain; charset=utf-8")));
/// for (name, value) in &refusal.headers {
///     println!("{name}: {value}"); // e.g. into an http::Response builder
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseParts {
    /// The status code: 101, 200, or the refusal's.
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body: empty for an acceptance, a line of text for a refusal.
    pub body: Vec<u8>,
}

impl ResponseParts {
    pub(crate) fn new(status: u16) -> Self {
        ResponseParts {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.headers.push((String::from(name), String::from(value)));
    }

    pub(crate) fn lowercase_names(&mut self) {
        for (n, _) in &mut self.headers {
            n.make_ascii_lowercase();
        }
    }

    /// The value of the first header field called `name` (ASCII
    /// case-insensitive).
    ///
    /// ```
    /// use rfc6455::handshake::HandshakeError;
    /// let parts = HandshakeError::UnsupportedVersion.response_parts().unwrap();
    /// assert_eq!(parts.header("Sec-WebSocket-Version"), Some("13"));
    /// assert_eq!(parts.header("set-cookie"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
