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
//! Rooms, logs, `--redis URL` (a Redis Stream per room, shared with
//! `broadcast` nodes), the `chat.v2` subprotocol and the log flags are
//! `broadcast`'s (see `rooms`, `chat_v2` and `common/chat_log.rs`).
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
#[path = "../common/chat_log.rs"]
mod chat_log;
mod chat_v2;
mod page;
mod room;
#[path = "../common/rooms.rs"]
mod rooms;
#[path = "../common/server_args.rs"]
mod server_args;
mod uring;

use std::sync::Arc;
use std::time::Duration;

use accept_backoff::AcceptBackoff;
use rfc6455::handshake::Accept;
use rfc6455::tokio::{self as ws, Incoming, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use chat::chat;
use rooms::Rooms;
use server_args::ServerArgs;

/// The rooms (`common/rooms.rs`) on this example's [`Room`](room::Room):
/// its plain clients are told once that Redis is lost
/// ([`rooms::UNREACHABLE`]); the status line is for `chat.v2` clients.
impl rooms::NodeRoom for room::Room {
    const PROGRAM: &'static str = "async_broadcast";
    const PLAIN_STATUS: bool = false;
    fn open() -> std::io::Result<Arc<room::Room>> {
        Ok(Arc::new(room::Room::default()))
    }
}

struct Options {
    addr: String,
    ping_interval: Option<Duration>,
    /// `--tls-cert` and `--tls-key`.
    tls: Option<(String, String)>,
    /// `--redis URL`: each room's log is a Redis Stream (see `chat_log`).
    redis: Option<String>,
    /// The rooms' logs: bounds, resume window, queue.
    log: chat_log::Options,
    /// `--uring`: the chat on io_uring (see `uring`), falling back to
    /// epoll (tokio) with a log line where io_uring is unavailable.
    uring: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: async_broadcast [ADDR] [--ping-interval SECS] [--tls-cert FILE --tls-key FILE] \
         [--redis URL] [--uring] {}",
        chat_log::Options::USAGE
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        addr: "127.0.0.1:8081".into(),
        ping_interval: Some(Duration::from_secs(20)),
        tls: None,
        redis: None,
        log: chat_log::Options::default(),
        uring: false,
    };
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match opts.log.parse_flag(&a, || args.next()) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                eprintln!("async_broadcast: {e}");
                usage()
            }
        }
        match a.as_str() {
            "--uring" => opts.uring = true,
            "--redis" => opts.redis = Some(args.next().unwrap_or_else(|| usage())),
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
    if opts.uring {
        if tls || opts.redis.is_some() {
            eprintln!(
                "async_broadcast: --uring serves plain http:// and ws:// only, without --redis"
            );
            std::process::exit(2);
        }
        // Returns only if io_uring is unavailable (having said why).
        uring::serve(&opts.addr, opts.ping_interval)?;
        eprintln!("async_broadcast: falling back to epoll (tokio)");
    }
    let listener = listen(&opts.addr).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls { "https" } else { "http" };
    eprintln!("async_broadcast: chat on {scheme}://{addr}/");
    let redis = opts.redis.as_deref().map(|url| {
        redis::Client::open(url).unwrap_or_else(|e| {
            eprintln!("async_broadcast: bad redis URL {url:?}: {e}");
            std::process::exit(2)
        })
    });
    let room = Arc::new(Rooms::new(redis, opts.log.clone()));
    // The seed's room is there from the start (and its Redis link with it).
    room.get("/")?;
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

async fn serve(stream: TcpStream, port: u16, room: &Rooms, config: &ServerConfig) {
    let Ok(incoming) = ws::read_request(stream, config).await else {
        return;
    };
    welcome(incoming, port, room).await;
}

/// [`serve`] over TLS (`config.tls` is set): the TLS handshake, then the
/// request, within the handshake timeout.
/// Each client socket's send buffer: 64 KiB asked (Linux doubles it, and
/// stops growing it by itself, up to 4 MiB otherwise). A client that stops
/// reading then holds little kernel memory and falls behind in the room's
/// log soon, where the 1 MiB rule drops it (as `broadcast`'s `SEND_BUFFER`).
const SEND_BUFFER: u32 = 64 << 10;

/// The listening socket, bound to `addr` with [`SEND_BUFFER`] set on it:
/// on Linux the sockets it accepts inherit it.
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_send_buffer_size(SEND_BUFFER)?;
        match socket.bind(a) {
            Ok(()) => return socket.listen(1024),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{addr}: no address"))))
}

async fn serve_tls(stream: TcpStream, port: u16, room: &Rooms, config: &ServerConfig) {
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

/// Answers a request: the page, or the chat until the client leaves. The
/// path picks the room (`/room/NAME`, or the seed's room); a client that
/// offers `chat.v2` speaks it (see `chat_v2`).
async fn welcome<S: AsyncRead + AsyncWrite + Unpin>(
    incoming: Incoming<S>,
    port: u16,
    rooms: &Rooms,
) {
    if !incoming.request().is_upgrade() {
        let _ = page::serve(incoming).await;
        return;
    }
    let name = rooms::room_of(incoming.request().path());
    // Made on first use: may wait (briefly) for Redis.
    let multi = tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread;
    let opened = if multi {
        tokio::task::block_in_place(|| rooms.get(&name))
    } else {
        rooms.get(&name)
    };
    let chan = match opened {
        Ok(chan) => chan,
        Err(e) => {
            eprintln!("async_broadcast: cannot open a room: {e}");
            let body = format!("Cannot open this room: {e}\n");
            let _ = incoming.reject(503, body.as_bytes()).await;
            return;
        }
    };
    let v2 = incoming
        .request()
        .subprotocols()
        .any(|p| p == chat_log::PROTOCOL);
    let accept = if v2 {
        Accept::new().subprotocol(chat_log::PROTOCOL)
    } else {
        Accept::new()
    };
    let mut socket = match incoming.accept(&accept).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("async_broadcast: handshake from port {port} failed: {e}");
            return;
        }
    };
    if v2 {
        chat_v2::serve(&mut socket, chan, port).await;
        return;
    }
    let room = &chan.clients.plain;
    let name = format!("User{port}");
    eprintln!(
        "{name} connected to {} ({} online)",
        chan.name,
        chan.len() + 1
    );
    chan.log.presence.add(&name);
    let cursor = room.join(&name);
    let why = chat(&mut socket, room, &name, cursor).await;
    room.leave(&name);
    chan.log.presence.remove(&name);
    eprintln!("{name} disconnected: {why} ({} online)", chan.len());
}
