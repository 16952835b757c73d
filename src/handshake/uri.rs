//! WebSocket URIs (RFC 6455 §3).

use alloc::string::String;
use alloc::vec::Vec;

use super::error::UriError;

/// A parsed `ws://` or `wss://` URI (RFC 6455 §3).
///
/// ```
/// use rfc6455::handshake::Uri;
/// let uri = Uri::parse("wss://[::1]/chat?room=1").unwrap();
/// assert!(uri.is_secure());
/// assert_eq!(uri.host(), "::1");
/// assert_eq!(uri.port(), 443);
/// assert_eq!(uri.resource_name(), "/chat?room=1");
/// assert_eq!(uri.host_header(), "[::1]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    secure: bool,
    host: String,
    ipv6: bool,
    port: u16,
    explicit_port: bool,
    resource: String,
    path_len: usize,
}

impl Uri {
    /// Parses a WebSocket URI.
    ///
    /// The scheme is matched case-insensitively; the port defaults to 80 for
    /// `ws` and 443 for `wss`; the resource name is the path (`/` when empty)
    /// followed by `?query` when the query is non-empty (RFC 6455 §3).
    /// Fragments, user information, empty hosts and bad ports are errors.
    ///
    /// ```
    /// use rfc6455::handshake::{Uri, UriError};
    /// let uri = Uri::parse("WS://example.com/chat")?; // the scheme is case-insensitive
    /// assert_eq!((uri.scheme(), uri.port(), uri.resource_name()), ("ws", 80, "/chat"));
    /// assert_eq!(Uri::parse("wss://user@example.com/"), Err(UriError::UserInfo));
    /// # Ok::<(), UriError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let (scheme, rest) = text.split_once("://").ok_or(UriError::NotAbsolute)?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(UriError::UnsupportedScheme);
        };
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(auth_end);
        if authority.contains('@') {
            return Err(UriError::UserInfo);
        }
        let (host, port_text, ipv6) = if let Some(inner) = authority.strip_prefix('[') {
            let close = inner.find(']').ok_or(UriError::InvalidHost)?;
            let host = &inner[..close];
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(UriError::InvalidHost),
            };
            if host.is_empty() {
                return Err(UriError::EmptyHost);
            }
            // IPv6address / IPvFuture (RFC 3986 §3.2.2), checked loosely.
            if !host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b))
                || !host.contains(':')
            {
                return Err(UriError::InvalidHost);
            }
            (host, port, true)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if host.is_empty() {
                return Err(UriError::EmptyHost);
            }
            // reg-name / IPv4address: unreserved / pct-encoded / sub-delims.
            if !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b))
            {
                return Err(UriError::InvalidHost);
            }
            (host, port, false)
        };
        let default_port = if secure { 443 } else { 80 };
        let (port, explicit_port) = match port_text {
            // RFC 3986 §3.2.3: an empty port means the default.
            None | Some("") => (default_port, false),
            Some(p) => {
                if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(UriError::InvalidPort);
                }
                let n: u32 = p.bytes().fold(0, |n, d| n * 10 + u32::from(d - b'0'));
                if n == 0 || n > 65535 {
                    return Err(UriError::InvalidPort);
                }
                (n as u16, n as u16 != default_port)
            }
        };
        // RFC 3986 §3.3/§3.4: pchar / "/" / "?" (percent-encoding is left
        // as written).
        if !tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/?".contains(&b))
        {
            return Err(UriError::InvalidCharacter);
        }
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, q),
            None => (tail, ""),
        };
        let mut resource = Vec::with_capacity(tail.len() + 1);
        if path.is_empty() {
            resource.push(b'/');
        } else {
            resource.extend_from_slice(path.as_bytes());
        }
        let path_len = resource.len();
        if !query.is_empty() {
            resource.push(b'?');
            resource.extend_from_slice(query.as_bytes());
        }
        Ok(Uri {
            secure,
            host: String::from(host),
            ipv6,
            port,
            explicit_port,
            resource: String::from_utf8(resource).map_err(|_| UriError::InvalidCharacter)?,
            path_len,
        })
    }

    /// Whether the scheme is `wss` (the "secure flag", RFC 6455 §3).
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// let uri = Uri::parse("wss://example.com/")?;
    /// assert!(uri.is_secure()); // open a TLS stream and use `connect_over`
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// `"ws"` or `"wss"`.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("wss://example.com/")?.scheme(), "wss");
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "wss"
        } else {
            "ws"
        }
    }

    /// The host, without the brackets of an IPv6 literal.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com:9001/")?.host(), "example.com");
    /// assert_eq!(Uri::parse("ws://[::1]:9001/")?.host(), "::1"); // ready for `(host, port)` lookups
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the host is a bracketed IPv6 literal.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert!(Uri::parse("ws://[2001:db8::1]/")?.is_ipv6());
    /// assert!(!Uri::parse("ws://127.0.0.1/")?.is_ipv6());
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    /// The port, defaulted to 80 (`ws`) or 443 (`wss`) when absent.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com/")?.port(), 80);
    /// assert_eq!(Uri::parse("wss://example.com/")?.port(), 443);
    /// assert_eq!(Uri::parse("ws://example.com:9001/")?.port(), 9001);
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The resource name: path (`/` if empty) plus `?query` (RFC 6455 §3).
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com")?.resource_name(), "/");
    /// assert_eq!(Uri::parse("ws://example.com/a/b?c=d")?.resource_name(), "/a/b?c=d");
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn resource_name(&self) -> &str {
        &self.resource
    }

    /// The path part of the resource name.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com/a/b?c=d")?.path(), "/a/b");
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn path(&self) -> &str {
        self.resource.get(..self.path_len).unwrap_or("/")
    }

    /// The query (without `?`), if non-empty.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com/?token=abc")?.query(), Some("token=abc"));
    /// assert_eq!(Uri::parse("ws://example.com/?")?.query(), None);
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn query(&self) -> Option<&str> {
        self.resource
            .get(self.path_len + 1..)
            .filter(|q| !q.is_empty())
    }

    /// The value of the `Host` header (RFC 6455 §4.1 item 4): the host,
    /// bracketed if IPv6, with `:port` only when it is not the default.
    ///
    /// ```
    /// use rfc6455::handshake::Uri;
    ///
    /// assert_eq!(Uri::parse("ws://example.com:80/")?.host_header(), "example.com");
    /// assert_eq!(Uri::parse("wss://[::1]:8443/")?.host_header(), "[::1]:8443");
    /// # Ok::<(), rfc6455::handshake::UriError>(())
    /// ```
    pub fn host_header(&self) -> String {
        let mut s = String::with_capacity(self.host.len() + 8);
        if self.ipv6 {
            s.push('[');
        }
        s.push_str(&self.host);
        if self.ipv6 {
            s.push(']');
        }
        if self.explicit_port {
            s.push(':');
            let mut digits = [0u8; 20];
            s.push_str(super::write::fmt_u64(u64::from(self.port), &mut digits));
        }
        s
    }
}
