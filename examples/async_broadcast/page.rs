//! The chat page, served over HTTP (or HTTPS, with `--tls-cert`) on the
//! WebSocket port (the same page as the blocking `broadcast` example).

use rfc6455::tokio::{Error, Incoming};
use tokio::io::{AsyncRead, AsyncWrite};

/// The page: a message list, a text input and a send button; it connects
/// back over WebSocket to the host it was loaded from.
pub const INDEX_HTML: &str = include_str!("../broadcast/index.html");

/// The page for a server that does not speak `chat.v2` (the `--uring` chat,
/// `axum_chat`): it offers no subprotocol, and so gets the seed's strings.
/// (Chromium fails a handshake whose answer picks none of the offered
/// subprotocols, so the page must not offer one the server ignores.)
#[allow(dead_code)] // not every program including this module serves it
pub fn plain_page() -> String {
    INDEX_HTML.replacen("const OFFER = [\"chat.v2\"];", "const OFFER = [];", 1)
}

/// Answers a request that is not a WebSocket upgrade: the page at `/`,
/// 404 elsewhere.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(incoming: Incoming<S>) -> Result<(), Error> {
    match incoming.request().path() {
        "/" | "/index.html" => {
            incoming
                .respond(200, "text/html; charset=utf-8", INDEX_HTML.as_bytes())
                .await
        }
        _ => {
            incoming
                .respond(404, "text/plain; charset=utf-8", b"not found\n")
                .await
        }
    }
}
