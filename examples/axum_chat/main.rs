//! The chat of `broadcast` as an axum app: the page and the chat's
//! WebSocket both at `/`, on one port, over HTTP/1.1 and HTTP/2.
//!
//! Usage: `cargo run --release --features hyper --example axum_chat [ADDR] [--ping-interval SECS]`
//! (default address `127.0.0.1:8082`; open `http://ADDR/`).
//!
//! Same page, same strings and same limits as `broadcast` and
//! `async_broadcast` (the page file, the room and the client's task are
//! theirs): everyone is told `User<port> just connected.` when a client
//! joins, `User<port> says: <text>` for each message, and `User<port>
//! left.` when it leaves. `axum::serve` speaks HTTP/1.1 and HTTP/2 with
//! prior knowledge (h2c) on the same port and advertises
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`, so a WebSocket is an HTTP/1.1
//! upgrade or an HTTP/2 extended CONNECT (RFC 8441): one handler answers
//! both with `rfc6455::hyper::upgrade`. (WebSockets that share one HTTP/2
//! connection share its port, and so their name.)

#[path = "../async_broadcast/chat.rs"]
mod chat;
#[path = "../async_broadcast/room.rs"]
mod room;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use rfc6455::handshake::Accept;
use rfc6455::hyper::ServerConfig;

use room::Room;

/// The page `broadcast` serves: a message list, a text input and a send
/// button; it connects back over WebSocket to the host it came from.
const INDEX_HTML: &str = include_str!("../broadcast/index.html");

struct App {
    room: Room,
    config: ServerConfig,
}

fn usage() -> ! {
    eprintln!("usage: axum_chat [ADDR] [--ping-interval SECS]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:8082");
    let mut ping_interval = Some(Duration::from_secs(20));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ping-interval" => {
                let secs: f64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                ping_interval = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            "-h" | "--help" => usage(),
            other if !other.starts_with('-') => addr = other.to_string(),
            _ => usage(),
        }
    }
    let mut config = ServerConfig::default()
        .ping_interval(ping_interval)
        .max_message_size(64 << 10)
        .max_frame_size(64 << 10);
    config.handshake_timeout = None; // hyper has read the request already
    let app = Arc::new(App {
        room: Room::default(),
        config,
    });
    let router = Router::new().route("/", any(root)).with_state(app);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("axum_chat: chat on http://{}/", listener.local_addr()?);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// `/`: the page, or the chat's WebSocket.
async fn root(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
) -> Response {
    if !rfc6455::hyper::is_websocket(&req) {
        return match *req.method() {
            Method::GET | Method::HEAD => (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                INDEX_HTML,
            )
                .into_response(),
            _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        };
    }
    let port = peer.port();
    let (response, ws) = rfc6455::hyper::upgrade::<_, Body>(&mut req, &app.config, &Accept::new());
    match ws {
        Ok(ws) => {
            tokio::spawn(async move {
                let mut socket = match ws.await {
                    Ok(s) => s,
                    Err(e) => return eprintln!("axum_chat: upgrade from port {port} failed: {e}"),
                };
                let name = format!("User{port}");
                eprintln!("{name} connected ({} online)", app.room.len() + 1);
                let cursor = app.room.join(&name);
                let why = chat::chat(&mut socket, &app.room, &name, cursor).await;
                app.room.leave(&name);
                eprintln!("{name} disconnected: {why} ({} online)", app.room.len());
            });
        }
        Err(e) => eprintln!("axum_chat: handshake from port {port} failed: {e}"),
    }
    response
}
