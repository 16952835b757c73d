//! Async echo server (tokio): sends every message back with its type.
//!
//! Usage: `cargo run --release --features tokio --example async_echo_server [ADDR]`
//! (default `127.0.0.1:9002`), or over TLS (`wss://`):
//! `cargo run --release --features tokio,rustls --example async_echo_server --
//! [ADDR] --tls-cert cert.pem --tls-key key.pem` (see
//! `common/server_args.rs`; without the feature the flags fail at start-up).
//!
//! The same behaviour and limits as `echo_server`: limits raised to 64 MiB
//! (so Autobahn's 16 MiB messages pass), no keepalive pings (Autobahn counts
//! unsolicited pings), permessage-deflate accepted with context takeover and
//! every message compressed, echo through `echo_event` (the payload goes
//! straight from the receive buffer into the send buffer). One task per
//! connection on a multi-threaded runtime.
//!
//! When `accept` fails (out of file descriptors, typically) the loop backs
//! off and logs once per episode (see `common/accept_backoff.rs`).

#[path = "common/accept_backoff.rs"]
mod accept_backoff;
#[path = "common/server_args.rs"]
mod server_args;

use accept_backoff::AcceptBackoff;
use rfc6455::tokio::{self as ws, ServerConfig};
use server_args::ServerArgs;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = ServerArgs::from_env("async_echo_server");
    let mut config = ServerConfig::default();
    let scheme = args.apply_tls("async_echo_server", "tokio,rustls", &mut config);
    let addr = args.addr.unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "async_echo_server listening on {scheme}://{}",
        listener.local_addr()?
    );
    config.config.max_frame_size = 64 << 20;
    config.config.max_message_size = 64 << 20;
    // permessage-deflate: accept what the client asks for, keep context when
    // allowed, compress every message (threshold 0, as the Autobahn run wants).
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = false;
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
    let config = std::sync::Arc::new(config);
    let mut backoff = AcceptBackoff::new("async_echo_server");
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(e) => {
                tokio::time::sleep(backoff.failed(&e)).await;
                continue;
            }
        };
        let config = std::sync::Arc::clone(&config);
        tokio::spawn(async move {
            // TLS first when `config.tls` is set.
            let Ok(mut ws) = ws::accept_maybe_tls(stream, &config).await else {
                return;
            };
            loop {
                if ws.read_event().await.is_err() {
                    return;
                }
                // Queued only: the next read writes it before it waits for
                // the peer, so echoes of messages that arrived together
                // leave in one write. Pings and closes are answered by the
                // connection itself.
                if ws.connection_mut().echo_event().is_err() {
                    return;
                }
            }
        });
    }
}
