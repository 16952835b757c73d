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
//!
//! `--uring` (feature `uring`, Linux): the same server on io_uring
//! (`rfc6455::uring`: a loop, thread and ring per core, batched
//! submissions), with the same settings and output. Where io_uring is unavailable (an old kernel,
//! `kernel.io_uring_disabled`, a seccomp filter, `RFC6455_NO_URING` set, or
//! the feature off) it logs why and falls back to the tokio (epoll) server:
//! `cargo run --release --features tokio,uring --example async_echo_server -- [ADDR] --uring`.

#[path = "common/accept_backoff.rs"]
mod accept_backoff;
#[path = "common/server_args.rs"]
mod server_args;

use accept_backoff::AcceptBackoff;
use rfc6455::tokio::{self as ws, ServerConfig};
use server_args::ServerArgs;
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    // `--uring` is taken out before the shared parser sees the arguments.
    let mut uring = false;
    let rest: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| {
            let flag = a == "--uring";
            uring |= flag;
            !flag
        })
        .collect();
    let args = match ServerArgs::parse(rest) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("async_echo_server: {e}");
            eprintln!("usage: async_echo_server [ADDR] [--uring] [--tls-cert FILE --tls-key FILE]");
            std::process::exit(2);
        }
    };
    let mut config = ServerConfig::default();
    let scheme = args.apply_tls("async_echo_server", "tokio,rustls", &mut config);
    let addr = args.addr.unwrap_or_else(|| "127.0.0.1:9002".into());
    configure(&mut config);
    if uring {
        if scheme != "ws" {
            eprintln!("async_echo_server: --uring serves plain ws:// only (no TLS)");
            std::process::exit(2);
        }
        // Returns only if io_uring is unavailable (having said why).
        uring_echo::serve(&addr, &config)?;
        eprintln!("async_echo_server: falling back to epoll (tokio)");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(addr, scheme, config))
}

/// The echo server's settings, on either path.
fn configure(config: &mut ServerConfig) {
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
}

async fn serve(addr: String, scheme: &str, config: ServerConfig) -> std::io::Result<()> {
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "async_echo_server listening on {scheme}://{}",
        listener.local_addr()?
    );
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

/// The echo server on io_uring.
#[cfg(all(feature = "uring", target_os = "linux"))]
mod uring_echo {
    use rfc6455::tokio::ServerConfig;
    use rfc6455::uring::{ConnId, Conns, Error, Handler, Server};

    struct Echo;

    impl Handler for Echo {
        fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
            // Queued only, as on the tokio path: written when the next
            // read has to wait, with the other echoes of this loop turn.
            if let Some(conn) = conns.connection_mut(id) {
                let _ = conn.echo_event();
            }
        }
    }

    /// Serves forever; returns `Ok` only if io_uring is unavailable.
    pub fn serve(addr: &str, config: &ServerConfig) -> std::io::Result<()> {
        let server = match Server::bind(addr, config.clone()) {
            Ok(server) => server,
            Err(Error::Unavailable(why)) => {
                eprintln!("async_echo_server: io_uring is unavailable: {why}");
                return Ok(());
            }
            Err(e) => return Err(std::io::Error::other(e)),
        };
        eprintln!("async_echo_server: on io_uring");
        eprintln!(
            "async_echo_server listening on ws://{}",
            server.local_addr()?
        );
        // One loop (thread and ring) per core, as tokio has a worker per
        // core: echo connections share nothing.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        match server.run_threads(cores, |_| Echo) {
            // The ring is set up on the loop's thread; refused there (out of
            // locked memory, say) it is unavailable as well.
            Err(Error::Unavailable(why)) => {
                eprintln!("async_echo_server: io_uring is unavailable: {why}");
                Ok(())
            }
            r => r.map_err(std::io::Error::other),
        }
    }
}

#[cfg(not(all(feature = "uring", target_os = "linux")))]
mod uring_echo {
    use rfc6455::tokio::ServerConfig;

    pub fn serve(_addr: &str, _config: &ServerConfig) -> std::io::Result<()> {
        eprintln!(
            "async_echo_server: io_uring is unavailable: built without the `uring` feature \
             (cargo run --release --features tokio,uring --example async_echo_server -- [ADDR] --uring)"
        );
        Ok(())
    }
}
