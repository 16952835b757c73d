//! The chat server of `broadcast`, on the tokio adapter.
//!
//! Usage: `cargo run --release --features tokio --example async_broadcast [ADDR] [--ping-interval SECS]`
//! (default address `127.0.0.1:8081`; open `http://ADDR/`).
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

use std::sync::Arc;
use std::time::Duration;

use accept_backoff::AcceptBackoff;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{self as ws, ServerConfig};
use tokio::net::{TcpListener, TcpStream};

use chat::chat;
use room::Room;

struct Options {
    addr: String,
    ping_interval: Option<Duration>,
}

fn usage() -> ! {
    eprintln!("usage: async_broadcast [ADDR] [--ping-interval SECS]");
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        addr: "127.0.0.1:8081".into(),
        ping_interval: Some(Duration::from_secs(20)),
    };
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
            "-h" | "--help" => usage(),
            other if !other.starts_with('-') => opts.addr = other.to_string(),
            _ => usage(),
        }
    }
    opts
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let opts = parse_args();
    let listener = TcpListener::bind(&opts.addr).await?;
    let addr = listener.local_addr()?;
    eprintln!("async_broadcast: chat on http://{addr}/");
    let room = Arc::new(Room::default());
    let mut config = ServerConfig::default();
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
        tokio::spawn(async move { serve(stream, peer.port(), &room, &config).await });
    }
}

async fn serve(stream: TcpStream, port: u16, room: &Room, config: &ServerConfig) {
    let Ok(incoming) = ws::read_request(stream, config).await else {
        return;
    };
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
