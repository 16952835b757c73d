//! A server's response, as a client sees it (RFC 6455 §4.1).

use alloc::vec::Vec;

use super::error::HandshakeError;
use super::headers::{self, list_items, Extension, Headers, Span};

/// A server's response head, as seen by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub(super) headers: Headers,
    pub(super) status: u16,
    pub(super) reason: Span,
    pub(super) version: u8,
}

impl Response {
    /// The status code, e.g. `101`.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, e.g. `Switching Protocols`.
    pub fn reason(&self) -> &str {
        core::str::from_utf8(self.headers.span(self.reason)).unwrap_or("")
    }

    /// The minor HTTP version: `1` for HTTP/1.1.
    pub fn http_version(&self) -> u8 {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// The subprotocol in use (RFC 6455 §4.1, "_Subprotocol In Use_"), if
    /// the server selected one.
    pub fn subprotocol(&self) -> Option<&str> {
        self.headers
            .get("sec-websocket-protocol")
            .and_then(|v| list_items(v).next())
            .and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The extensions in use (RFC 6455 §4.1, "_Extensions In Use_", §9.1),
    /// with their parameters.
    pub fn extensions(&self) -> Result<Vec<Extension<'_>>, HandshakeError> {
        headers::collect_extensions(&self.headers)
            .map_err(|_| HandshakeError::MalformedResponseExtensions)
    }
}
