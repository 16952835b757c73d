//! Writing HTTP heads: header checks against injection, status lines,
//! complete error and plain responses, and the response each
//! [`HandshakeError`] stands for.

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
            UpgradeNotWebSocket => b"Upgrade header must contain websocket\n",
            ConnectionNotUpgrade => b"Connection header must contain Upgrade\n",
            MissingKey => b"Missing Sec-WebSocket-Key header\n",
            InvalidKey => b"Invalid Sec-WebSocket-Key header\n",
            MissingVersion | UnsupportedVersion => b"Sec-WebSocket-Version must be 13\n",
            MalformedSubprotocols => b"Malformed Sec-WebSocket-Protocol header\n",
            MalformedExtensions => b"Malformed Sec-WebSocket-Extensions header\n",
            _ => b"",
        }
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
        let upgrade: &[(&str, &str)] = &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")];
        let extra = if status == 426 { upgrade } else { &[] };
        Some(write_response(
            status,
            Some("text/plain; charset=utf-8"),
            extra,
            self.body(),
        ))
    }
}
