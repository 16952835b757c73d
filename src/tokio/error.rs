//! The tokio adapters' error type.

use std::io;

use crate::handshake::{HandshakeError, UriError};

/// What can go wrong in a tokio adapter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The peer violated the protocol, or the caller misused the connection
    /// (the `Send*` errors of [`crate::Error`], which leave it usable).
    #[error(transparent)]
    Protocol(#[from] crate::Error),
    /// The opening handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The URL given to connect is not a WebSocket URI.
    #[error("invalid URL: {0}")]
    Url(#[from] UriError),
    /// permessage-deflate negotiation failed: the server's answer does not
    /// fit the client's offer (RFC 7692 §7.1), or compression is
    /// [`required`](crate::deflate::DeflateConfig::required) and the peer
    /// did not agree to it ([`ParamError::Required`](crate::deflate::ParamError::Required);
    /// a server has answered the request with 400).
    #[cfg(feature = "deflate")]
    #[error("permessage-deflate negotiation failed: {0}")]
    Deflate(#[from] crate::deflate::ParamError),
    /// The handshake (including, for a client, resolving the host and
    /// opening the TCP connection) did not complete within the configured
    /// timeout.
    #[error("the opening handshake timed out")]
    HandshakeTimeout,
    /// `connect` was given a `wss://` URL; open a TLS stream and use
    /// [`connect_over`](super::connect_over).
    #[error("wss:// needs a TLS stream: open one and use connect_over")]
    TlsRequired,
    /// The connection is closed: the closing handshake completed, or it
    /// failed earlier (that error was returned then). The transport has been
    /// shut down (server) or closed by the peer (client).
    #[error("the connection is closed")]
    ConnectionClosed,
}

impl Error {
    /// Whether this is [`Error::ConnectionClosed`], the normal end of a
    /// connection.
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::ConnectionClosed)
    }
}
