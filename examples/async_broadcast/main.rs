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
//! the lines queued for it by the room (see `room`) into the connection, and
//! lets the connection write them, all from one poll function; no lock is
//! held while writing to a socket.

mod page;
mod room;

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use rfc6455::handshake::Accept;
use rfc6455::tokio::{self as ws, Error, ServerConfig, WebSocketStream};
use rfc6455::{CloseCode, Event};
use tokio::net::{TcpListener, TcpStream};

use room::{Client, Room};

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
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, typically: back off a little.
                eprintln!("async_broadcast: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
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
    let (id, client) = room.join(name.clone());
    let why = chat(&mut socket, room, &client).await;
    room.leave(id);
    eprintln!("{name} disconnected: {why} ({} online)", room.len());
}

/// Drives one client until its connection ends; returns why.
async fn chat(socket: &mut WebSocketStream<TcpStream>, room: &Room, client: &Client) -> String {
    let mut closing = false;
    loop {
        let next = poll_fn(|cx| loop {
            // Move what the room queued into the connection while its
            // output is below the high-water mark (above it, the lines wait
            // in the room's bounded queue, and a client that stays behind is
            // dropped there).
            {
                let mut q = client.queue.lock().unwrap();
                q.set_waker(cx.waker());
                if q.too_slow && !closing {
                    closing = true;
                    let _ = socket
                        .connection_mut()
                        .close(CloseCode::POLICY_VIOLATION, "too slow!");
                }
                let high = socket.high_water();
                while !closing && socket.connection_mut().output().len() <= high {
                    let Some(frame) = q.pop() else { break };
                    if socket.connection_mut().send_shared(&frame).is_err() {
                        break;
                    }
                }
            }
            // Reading writes what is queued (vectored), drives keepalive,
            // and answers pings and closes.
            match socket.poll_prepare(cx) {
                Poll::Ready(r) => return Poll::Ready(r),
                Poll::Pending => {
                    // Writing may have made room for more queued lines.
                    let room_left = socket.connection_mut().output().len() <= socket.high_water();
                    let open = socket.connection().state() == rfc6455::State::Open;
                    let waiting = !client.queue.lock().unwrap().frames.is_empty();
                    if closing || !open || !room_left || !waiting {
                        return Poll::Pending;
                    }
                }
            }
        })
        .await;
        match next {
            Ok(()) => {
                if let Some(Event::Text(t)) = socket.connection().event() {
                    room.broadcast(&format!("{} says: {t}", client.name));
                }
            }
            Err(Error::ConnectionClosed) => {
                return if closing {
                    "too slow".into()
                } else {
                    "closed".into()
                };
            }
            Err(e) => return format!("{e}"),
        }
    }
}
