//! Echo server: sends every message back with its type.
//!
//! Usage: `cargo run --release --example echo_server [ADDR]` (default
//! `127.0.0.1:9001`), or over TLS (`wss://`):
//! `cargo run --release --features rustls --example echo_server -- [ADDR]
//! --tls-cert cert.pem --tls-key key.pem` (see `common/server_args.rs`;
//! without the feature the flags fail at start-up).
//!
//! One thread per connection, limits raised to 64 MiB (so Autobahn's 16 MiB
//! messages pass), no keepalive pings (Autobahn counts unsolicited pings),
//! permessage-deflate accepted with context takeover and every message
//! compressed.
//! Used by the conformance and interop scripts and by load tests.
//!
//! When `accept` fails (out of file descriptors, typically) the loop backs
//! off and logs once per episode (see `common/accept_backoff.rs`); a
//! connection whose thread cannot be started is dropped and logged, and the
//! server carries on.

#[path = "common/accept_backoff.rs"]
mod accept_backoff;
#[path = "common/server_args.rs"]
mod server_args;

use std::net::{TcpListener, TcpStream};
use std::thread;

use accept_backoff::AcceptBackoff;
use rfc6455::blocking::{self, ServerConfig};
use server_args::ServerArgs;

fn main() -> std::io::Result<()> {
    let args = ServerArgs::from_env("echo_server");
    let mut config = ServerConfig::default();
    let scheme = args.apply_tls("echo_server", "rustls", &mut config);
    let addr = args.addr.unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = TcpListener::bind(&addr)?;
    eprintln!(
        "echo_server listening on {scheme}://{}",
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
    let mut backoff = AcceptBackoff::new("echo_server");
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => {
                backoff.succeeded();
                s
            }
            Err(e) => {
                thread::sleep(backoff.failed(&e));
                continue;
            }
        };
        let config = config.clone();
        let spawned = thread::Builder::new()
            .stack_size(128 << 10)
            .spawn(move || serve(stream, &config));
        if let Err(e) = spawned {
            eprintln!("echo_server: cannot start a thread: {e}");
        }
    }
    Ok(())
}

/// Echoes one client's messages until its connection ends (TLS first when
/// `config.tls` is set).
fn serve(stream: TcpStream, config: &ServerConfig) {
    let Ok(mut ws) = blocking::accept_maybe_tls(stream, config) else {
        return;
    };
    // Echo through the borrowed path: the payload goes straight from the
    // receive buffer into the send buffer, no allocation.
    loop {
        if ws.read_event().is_err() {
            return;
        }
        // Queued only: the next read writes it before it waits for the
        // peer, so echoes of messages that arrived together leave in one
        // write.
        if ws.connection_mut().echo_event().is_err() {
            return;
        }
    }
}
