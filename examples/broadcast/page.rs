//! The chat page, served over HTTP (or HTTPS, with `--tls-cert`) on the
//! WebSocket port.

use std::io::{Read, Write};

use rfc6455::blocking::{Error, Incoming};

/// The page: a message list, a text input and a send button; it connects
/// back over WebSocket to the host it was loaded from.
pub const INDEX_HTML: &str = include_str!("index.html");

/// Answers a request that is not a WebSocket upgrade: the page at `/`,
/// 404 elsewhere.
pub fn serve<S: Read + Write>(incoming: Incoming<S>) -> Result<(), Error> {
    match incoming.request().path() {
        "/" | "/index.html" => {
            incoming.respond(200, "text/html; charset=utf-8", INDEX_HTML.as_bytes())
        }
        _ => incoming.respond(404, "text/plain; charset=utf-8", b"not found\n"),
    }
}
