//! Incremental, linear-time reading of an HTTP head (request or response).
//!
//! The reader looks for the blank line that ends the head (`\r\n\r\n`) only
//! in the bytes it has not seen yet, carrying the last three bytes of the
//! previous input across calls, and runs the HTTP parser exactly once, when
//! the terminator has arrived. Feeding a head one byte at a time therefore
//! costs O(n), not the O(n²) of re-parsing the whole buffer on every read
//! (the mistake behind CVE-2023-43669). RFC 6455 §10.4 asks implementations
//! to limit what they buffer: [`Limits`] bounds the head's size and its
//! number of header fields.
//!
//! Only CRLF line endings end a head; a head that uses bare LF never
//! terminates and runs into [`Limits::max_head_bytes`].
//!
//! The start line of a head that is still incomplete is checked as its
//! bytes arrive: a request's method must be a token followed by a space,
//! its target free of control bytes, and its version begin `HTTP/1.`; a
//! response must begin `HTTP/1.`. (A head that arrives whole goes straight
//! to the parser, which checks all of it.) Input that
//! cannot be HTTP/1.x (a TLS ClientHello on a plaintext port, a NUL, a
//! binary blob) fails at its first impossible byte, so that a server answers
//! 400 at once instead of waiting for a terminator that never comes.

use alloc::vec;
use alloc::vec::Vec;

use super::error::HandshakeError;
use super::headers::{Headers, Span};

/// Resource limits for reading an HTTP head (RFC 6455 §10.4).
///
/// ```
/// use rfc6455::handshake::{HandshakeError, Limits, ServerHandshake};
///
/// let limits = Limits::default().max_head_bytes(64);
/// let mut reader = ServerHandshake::new(limits);
/// let head = b"GET / HTTP/1.1\r\nHost: example.com\r\nCookie: 0123456789abcdef0123456789abcdef\r\n\r\n";
/// let err = reader.feed(head).unwrap_err();
/// assert!(matches!(err, HandshakeError::HeadTooLarge { limit: 64 }));
/// assert_eq!(err.http_status(), Some(431)); // Request Header Fields Too Large
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest head accepted, in bytes, including the request or status line
    /// and the final blank line. Default: 16 KiB.
    pub max_head_bytes: usize,
    /// Largest number of header fields accepted. Default: 64.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

impl Limits {
    /// Sets [`max_head_bytes`](Self::max_head_bytes).
    ///
    /// ```
    /// use rfc6455::handshake::Limits;
    /// let limits = Limits::default().max_head_bytes(4096); // small heads only
    /// assert_eq!(limits.max_head_bytes, 4096);
    /// ```
    pub fn max_head_bytes(mut self, n: usize) -> Self {
        self.max_head_bytes = n;
        self
    }

    /// Sets [`max_headers`](Self::max_headers).
    ///
    /// ```
    /// use rfc6455::handshake::{HandshakeError, Limits, ServerHandshake};
    /// let mut reader = ServerHandshake::new(Limits::default().max_headers(2));
    /// let err = reader.feed(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n").unwrap_err();
    /// assert!(matches!(err, HandshakeError::TooManyHeaders { limit: 2 }));
    /// ```
    pub fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }
}

const TERMINATOR: &[u8; 4] = b"\r\n\r\n";

/// Where in `input` the head terminator ends, given the (up to three) bytes
/// buffered just before `input`, and how many line feeds precede it. Only
/// `input` and the 3-byte overlap are examined.
fn find_end(tail: &[u8], input: &[u8]) -> (Option<usize>, usize) {
    // Terminators straddling the boundary; the earliest start comes first.
    for k in (1..=3usize).rev() {
        if tail.len() >= k && input.len() >= 4 - k {
            let (a, b) = TERMINATOR.split_at(k);
            if tail[tail.len() - k..] == *a && input[..4 - k] == *b {
                return (Some(4 - k), 0);
            }
        }
    }
    let mut lines = 0;
    let mut i = 0;
    while let Some(lf) = find_lf(input, i) {
        if lf >= 3 && input[lf - 3..lf] == TERMINATOR[..3] {
            return (Some(lf + 1), lines);
        }
        lines += 1;
        i = lf + 1;
    }
    (None, lines)
}

/// The index of the first `\n` in `h[from..]`, eight bytes at a time.
fn find_lf(h: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut i = from;
    while let Some(chunk) = h.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ LF;
        // The lowest flagged byte is exactly the first zero byte of `x`.
        let m = x.wrapping_sub(LO) & !x & HI;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    h.get(i..)?.iter().position(|&b| b == b'\n').map(|p| i + p)
}

/// How far the start line has been checked (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartLine {
    /// Before the line: empty lines ahead of it are skipped (RFC 9112 §2.2).
    Blank,
    /// In a request's method (RFC 9112 §3.1: a token).
    Method,
    /// In a request's target.
    Target,
    /// Matching the version's `HTTP/1.`: this many bytes matched so far.
    Version(usize),
    /// Checked as far as it is checked early; the parser does the rest.
    Done,
}

/// The bytes every HTTP/1.x version field starts with.
const VERSION_PREFIX: &[u8; 7] = b"HTTP/1.";

impl StartLine {
    /// Advances over `bytes`; the error names the first byte that cannot
    /// belong to an HTTP/1.x start line. Examines each byte once, and none
    /// once the line is [`Done`](StartLine::Done).
    fn check(&mut self, bytes: &[u8], kind: &Kind) -> Result<(), httparse::Error> {
        for &b in bytes {
            *self = match (*self, b) {
                (StartLine::Done, _) => return Ok(()),
                (StartLine::Blank, b'\r' | b'\n') => StartLine::Blank,
                (StartLine::Blank, _) => {
                    let first = match kind {
                        Kind::Request => StartLine::Method,
                        Kind::Response => StartLine::Version(0),
                    };
                    let mut next = first;
                    next.check(&[b], kind)?;
                    next
                }
                (StartLine::Method, b' ') => StartLine::Target,
                (StartLine::Method, b) if super::headers::is_tchar(b) => StartLine::Method,
                (StartLine::Method, _) => return Err(httparse::Error::Token),
                (StartLine::Target, b' ') => StartLine::Version(0),
                (StartLine::Target, b) if b < 0x20 || b == 0x7f => {
                    return Err(httparse::Error::Token)
                }
                (StartLine::Target, _) => StartLine::Target,
                (StartLine::Version(i), b) if VERSION_PREFIX[i] == b => {
                    if i + 1 == VERSION_PREFIX.len() {
                        StartLine::Done
                    } else {
                        StartLine::Version(i + 1)
                    }
                }
                (StartLine::Version(_), _) => return Err(httparse::Error::Version),
            };
        }
        Ok(())
    }
}

/// Reads one HTTP head incrementally; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct HeadReader {
    limits: Limits,
    buf: Vec<u8>,
    done: bool,
    start_line: StartLine,
    parses: usize,
    scanned: usize,
    /// Line feeds seen so far: bounds the number of header fields.
    lines: usize,
}

/// What kind of head to parse.
pub(crate) enum Kind {
    Request,
    Response,
}

/// A parsed head: start-line fields plus the headers.
pub(crate) struct Parsed {
    pub(crate) headers: Headers,
    /// Method (request) or reason phrase (response).
    pub(crate) first: Span,
    /// Target (request); unused for responses.
    pub(crate) second: Span,
    /// Minor HTTP version.
    pub(crate) version: u8,
    /// Status code (response); 0 for requests.
    pub(crate) status: u16,
}

impl HeadReader {
    pub(crate) fn new(limits: Limits) -> Self {
        HeadReader {
            limits,
            buf: Vec::new(),
            done: false,
            start_line: StartLine::Blank,
            parses: 0,
            scanned: 0,
            lines: 0,
        }
    }

    /// How many times the HTTP parser ran (at most once per head).
    pub(crate) fn parses(&self) -> usize {
        self.parses
    }

    /// How many bytes of input the terminator search examined in total,
    /// not counting the fixed 3-byte overlap per call.
    pub(crate) fn scanned(&self) -> usize {
        self.scanned
    }

    /// Bytes currently buffered.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Consumes bytes of `input` that belong to the head. Returns the parsed
    /// head and the number of bytes of `input` it used once the head is
    /// complete; `None` (having buffered all of `input`) before that.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        kind: Kind,
    ) -> Result<Option<(Parsed, usize)>, HandshakeError> {
        if self.done {
            return Err(HandshakeError::Finished);
        }
        if input.is_empty() {
            return Ok(None);
        }
        let max = self.limits.max_head_bytes;
        // Only look for a terminator that ends within the limit.
        let room = max.saturating_sub(self.buf.len());
        let window = &input[..input.len().min(room)];
        let tail = &self.buf[self.buf.len().saturating_sub(3)..];
        let (found, lines) = find_end(tail, window);
        self.scanned += found.unwrap_or(window.len());
        self.lines += lines;
        let Some(used) = found else {
            // The head is not complete: whatever can already be told about
            // its start line is checked now (a complete head is left to the
            // parser, which checks all of it anyway).
            if let Err(e) = self.start_line.check(window, &kind) {
                self.fail();
                return Err(HandshakeError::MalformedHead(e));
            }
            if input.len() >= room {
                self.fail();
                return Err(HandshakeError::HeadTooLarge { limit: max });
            }
            self.grow(input.len());
            self.buf.extend_from_slice(input);
            return Ok(None);
        };
        self.grow(used);
        self.buf.extend_from_slice(&window[..used]);
        let buf = core::mem::take(&mut self.buf);
        self.done = true;
        self.parses += 1;
        let parsed = parse(buf, self.limits.max_headers, self.lines + 1, kind)?;
        Ok(Some((parsed, used)))
    }

    fn fail(&mut self) {
        self.done = true;
        self.buf = Vec::new();
    }

    /// Reserves for `extra` more bytes without letting the capacity exceed
    /// the head limit by more than amortised doubling would.
    fn grow(&mut self, extra: usize) {
        let need = self.buf.len() + extra;
        if need > self.buf.capacity() {
            let target = need
                .max(self.buf.capacity() * 2)
                .min(self.limits.max_head_bytes)
                .max(need);
            self.buf.reserve_exact(target - self.buf.len());
        }
    }
}

/// Runs httparse once over a complete head and records byte ranges.
/// `lines` bounds the number of header lines, so the slot table never
/// exceeds what the head could hold, whatever `max_headers` says.
fn parse(
    buf: Vec<u8>,
    max_headers: usize,
    lines: usize,
    kind: Kind,
) -> Result<Parsed, HandshakeError> {
    let slots = max_headers.min(lines);
    let mut stack = [httparse::EMPTY_HEADER; 24];
    let mut heap;
    let headers: &mut [httparse::Header<'_>] = if slots <= stack.len() {
        &mut stack[..slots]
    } else {
        heap = vec![httparse::EMPTY_HEADER; slots];
        &mut heap
    };
    let map_err = |e: httparse::Error| match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders { limit: max_headers },
        e => HandshakeError::MalformedHead(e),
    };
    let (first, second, version, status, hdrs) = match kind {
        Kind::Request => {
            let mut req = httparse::Request::new(headers);
            match req.parse(&buf).map_err(map_err)? {
                httparse::Status::Complete(_) => {}
                httparse::Status::Partial => {
                    return Err(HandshakeError::MalformedHead(httparse::Error::NewLine))
                }
            }
            (
                Span::of(&buf, req.method.unwrap_or("").as_bytes()),
                Span::of(&buf, req.path.unwrap_or("").as_bytes()),
                req.version.unwrap_or(0),
                0,
                spans(&buf, req.headers),
            )
        }
        Kind::Response => {
            let mut res = httparse::Response::new(headers);
            match res.parse(&buf).map_err(map_err)? {
                httparse::Status::Complete(_) => {}
                httparse::Status::Partial => {
                    return Err(HandshakeError::MalformedHead(httparse::Error::NewLine))
                }
            }
            (
                Span::of(&buf, res.reason.unwrap_or("").as_bytes()),
                Span::default(),
                res.version.unwrap_or(0),
                res.code.unwrap_or(0),
                spans(&buf, res.headers),
            )
        }
    };
    Ok(Parsed {
        headers: Headers::new(buf, hdrs),
        first,
        second,
        version,
        status,
    })
}

fn spans(buf: &[u8], headers: &[httparse::Header<'_>]) -> Vec<(Span, Span)> {
    headers
        .iter()
        .map(|h| (Span::of(buf, h.name.as_bytes()), Span::of(buf, h.value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_end_across_boundaries() {
        let end = |t: &[u8], i: &[u8]| find_end(t, i).0;
        assert_eq!(end(b"", b"\r\n\r\n"), Some(4));
        assert_eq!(end(b"\r", b"\n\r\nX"), Some(3));
        assert_eq!(end(b"\r\n", b"\r\nX"), Some(2));
        assert_eq!(end(b"\n\r\n", b"\r\n"), Some(2));
        assert_eq!(end(b"x\r\n", b"\r\nX"), Some(2));
        assert_eq!(end(b"", b"ab\r\n\r"), None);
        assert_eq!(
            find_end(b"", b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"),
            (Some(24), 2)
        );
        assert_eq!(find_end(b"", b"\n\n\nabcdefghijklmnop\n"), (None, 4));
    }

    #[test]
    fn find_lf_matches_naive() {
        let hay: [u8; 40] = core::array::from_fn(|i| {
            if i % 7 == 3 {
                b'\n'
            } else {
                b'a' + (i as u8 % 20)
            }
        });
        for from in 0..=hay.len() {
            let naive = hay[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|p| p + from);
            assert_eq!(find_lf(&hay, from), naive);
        }
        let all = [b'\n'; 17];
        assert_eq!(find_lf(&all, 5), Some(5));
        assert_eq!(find_lf(&[0x8a, 0x0b, 0x09, b'\n'], 0), Some(3));
        assert_eq!(
            find_lf(&[0x8a, 0x0b, 0x09, b'\n', 1, 2, 3, 4, 5], 0),
            Some(3)
        );
        assert_eq!(find_lf(b"abc", 7), None);
    }
}
