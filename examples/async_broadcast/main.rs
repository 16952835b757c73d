//! The chat server of `broadcast`, on the tokio adapter.
//!
//! Usage: `cargo run --release --features tokio --example async_broadcast [ADDR] [--ping-interval SECS]`
//! (default address `127.0.0.1:8081`; open `http://ADDR/`), or over TLS:
//! `cargo run --release --features tokio,rustls --example async_broadcast --
//! [ADDR] --tls-cert cert.pem --tls-key key.pem` (PEM; see
//! `common/server_args.rs`), which serves the page on `https://ADDR/` and
//! the chat on `wss://ADDR/`, TLS only: with the flags the port takes no
//! plain `http://` or `ws://`. Without the `rustls` feature the flags fail
//! at start-up, naming the command to run instead.
//!
//! Same page, same strings and same limits as the blocking `broadcast`
//! example: everyone is told `User<port> just connected.` when a client
//! joins, `User<port> says: <text>` for each message, and `User<port> left.`
//! when it leaves. Clients are pinged every 20 s by default
//! (`--ping-interval`, 0 to disable) and dropped with 1011 if the pong is
//! 20 s late. Connects and disconnects are logged to stderr.
//!
//! One task per client drives its connection: it reads and decodes, moves
//! the lines it has not sent yet from the room's log (see `room`) into the
//! connection, and lets the connection write them; no lock is held while
//! writing to a socket, and a client costs the room only its position in
//! the log.

#[path = "../common/accept_backoff.rs"]
mod accept_backoff;
mod chat;
mod page;
mod room;
#[path = "../common/server_args.rs"]
mod server_args;

use std::sync::Arc;
use std::time::Duration;

use accept_backoff::AcceptBackoff;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{self as ws, Incoming, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use chat::chat;
use room::Room;
use server_args::ServerArgs;

struct Options {
    addr: String,
    ping_interval: Option<Duration>,
    /// `--tls-cert` and `--tls-key`.
    tls: Option<(String, String)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: async_broadcast [ADDR] [--ping-interval SECS] [--tls-cert FILE --tls-key FILE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        addr: "127.0.0.1:8081".into(),
        ping_interval: Some(Duration::from_secs(20)),
        tls: None,
    };
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ping-interval" => {
                let secs: f64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                opts.ping_interval = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            "--tls-cert" => cert = Some(args.next().unwrap_or_else(|| usage())),
            "--tls-key" => key = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            other if !other.starts_with('-') => opts.addr = other.to_string(),
            _ => usage(),
        }
    }
    opts.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => usage(),
    };
    opts
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = parse_args();
    let mut config = ServerConfig::default();
    let tls_args = ServerArgs {
        addr: None,
        tls: opts.tls.clone(),
    };
    // Exits with a message when the files are unusable or the `rustls`
    // feature is off.
    let tls = tls_args.apply_tls("async_broadcast", "tokio,rustls", &mut config) == "wss";
    let listener = TcpListener::bind(&opts.addr).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls { "https" } else { "http" };
    eprintln!("async_broadcast: chat on {scheme}://{addr}/");
    let room = Arc::new(Room::default());
    config.config.ping_interval = opts.ping_interval;
    config.config.max_message_size = 64 << 10;
    config.config.max_frame_size = 64 << 10;
    let config = Arc::new(config);
    let mut backoff = AcceptBackoff::new("async_broadcast");
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => {
                backoff.succeeded();
                s
            }
            Err(e) => {
                // Out of file descriptors, typically: back off, log once
                // per episode.
                tokio::time::sleep(backoff.failed(&e)).await;
                continue;
            }
        };
        let (room, config) = (Arc::clone(&room), Arc::clone(&config));
        tokio::spawn(async move {
            if tls {
                serve_tls(stream, peer.port(), &room, &config).await;
            } else {
                serve(stream, peer.port(), &room, &config).await;
            }
        });
    }
}

async fn serve(stream: TcpStream, port: u16, room: &Room, config: &ServerConfig) {
    let Ok(incoming) = ws::read_request(stream, config).await else {
        return;
    };
    welcome(incoming, port, room).await;
}

/// [`serve`] over TLS (`config.tls` is set): the TLS handshake, then the
/// request, within the handshake timeout.
async fn serve_tls(stream: TcpStream, port: u16, room: &Room, config: &ServerConfig) {
    let incoming = match ws::read_request_maybe_tls(stream, config).await {
        Ok(incoming) => incoming,
        Err(e) => {
            // A browser that does not trust the certificate ends up here.
            eprintln!("async_broadcast: TLS request from port {port} failed: {e}");
            return;
        }
    };
    welcome(incoming, port, room).await;
}

/// Answers a request: the page, or the chat until the client leaves.
async fn welcome<S: AsyncRead + AsyncWrite + Unpin>(incoming: Incoming<S>, port: u16, room: &Room) {
    if !incoming.request().is_upgrade() {
        let _ = page::serve(incoming).await;
        return;
    }
    let mut socket = match incoming.accept(&Accept::new()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("async_broadcast: handshake from port {port} failed: {e}");
            return;
        }
    };
    let name = format!("User{port}");
    eprintln!("{name} connected ({} online)", room.len() + 1);
    let cursor = room.join(&name);
    let why = chat(&mut socket, room, &name, cursor).await;
    room.leave(&name);
    eprintln!("{name} disconnected: {why} ({} online)", room.len());
}
