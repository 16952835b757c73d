//! The chat of `broadcast` as an axum app: the page and the chat's
//! WebSocket both at `/`, on one port, over HTTP/1.1 and HTTP/2, in
//! plaintext or over TLS.
//!
//! Usage: `cargo run --release --features hyper --example axum_chat [ADDR] [--ping-interval SECS]`
//! (default address `127.0.0.1:8082`; open `http://ADDR/`), or with
//! `--features hyper,rustls` and `--tls-cert FILE --tls-key FILE` (PEM: the
//! certificate chain, the server's certificate first, and its key): open
//! `https://ADDR/`.
//!
//! Same page, same strings and same limits as `broadcast` and
//! `async_broadcast` (the page file, the room and the client's task are
//! theirs): everyone is told `User<port> just connected.` when a client
//! joins, `User<port> says: <text>` for each message, and `User<port>
//! left.` when it leaves. (WebSockets that share one HTTP/2 connection
//! share its port, and so their name.)
//!
//! - Plaintext: `axum::serve` speaks HTTP/1.1 and HTTP/2 with prior
//!   knowledge (h2c) on the same port and advertises
//!   `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
//! - TLS: each connection's TLS handshake is the crate's own
//!   (`MaybeTlsStream::accept`, rustls), offering ALPN `h2` and `http/1.1`
//!   (`tls::server_config_h2`); hyper-util's `auto` builder then serves
//!   whichever the client chose, HTTP/2 with extended CONNECT enabled. A
//!   browser that loads the page over HTTP/2 opens the chat's `wss://` as
//!   one more stream of that same connection (RFC 8441).
//!
//! Either way a WebSocket is an HTTP/1.1 upgrade or an HTTP/2 extended
//! CONNECT: one handler answers both with `rfc6455::hyper::upgrade`. The
//! log (stderr) says which, and on which connection (the client's address):
//!
//! ```text
//! axum_chat: connection 127.0.0.1:40112: TLS, ALPN h2
//! axum_chat: GET / over HTTP/2 on connection 127.0.0.1:40112
//! axum_chat: WebSocket over HTTP/2 (extended CONNECT stream, RFC 8441) on connection 127.0.0.1:40112: User40112
//! ```

#[cfg(feature = "rustls")]
#[path = "../common/accept_backoff.rs"]
mod accept_backoff;
#[path = "../async_broadcast/chat.rs"]
mod chat;
// The room's `chat.v2` side (used by `async_broadcast`) needs its log's types.
#[path = "../common/chat_log.rs"]
mod chat_log;
#[path = "../async_broadcast/room.rs"]
mod room;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use rfc6455::handshake::Accept;
use rfc6455::hyper::ServerConfig;

use room::Room;

/// The page `broadcast` serves: a message list, a text input and a send
/// button; it connects back over WebSocket to the host it came from
/// (`wss:` when the page came over `https:`).
const INDEX_HTML: &str = include_str!("../broadcast/index.html");

/// The page without the `chat.v2` offer: this chat speaks the seed's
/// strings only, and Chromium fails a handshake whose answer picks none of
/// the offered subprotocols.
static PLAIN_PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    INDEX_HTML.replacen("const OFFER = [\"chat.v2\"];", "const OFFER = [];", 1)
});

struct App {
    room: Room,
    config: ServerConfig,
}

fn usage() -> ! {
    eprintln!("usage: axum_chat [ADDR] [--ping-interval SECS] [--tls-cert FILE --tls-key FILE]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = String::from("127.0.0.1:8082");
    let mut ping_interval = Some(Duration::from_secs(20));
    let (mut cert, mut key) = (None, None);
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
            "--tls-cert" => cert = Some(args.next().unwrap_or_else(|| usage())),
            "--tls-key" => key = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            other if !other.starts_with('-') => addr = other.to_string(),
            _ => usage(),
        }
    }
    let mut config = ServerConfig::default()
        .ping_interval(ping_interval)
        .max_message_size(64 << 10)
        .max_frame_size(64 << 10);
    // Bounds the TLS handshake; hyper reads the requests.
    config.handshake_timeout = Some(Duration::from_secs(10));
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => match tls::load(&cert, &key, &mut config) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("axum_chat: {e}");
                std::process::exit(2);
            }
        },
        (None, None) => false,
        _ => usage(),
    };
    let app = Arc::new(App {
        room: Room::default(),
        config,
    });
    let router = Router::new()
        .route("/", any(root))
        .with_state(Arc::clone(&app));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let scheme = if tls { "https" } else { "http" };
    eprintln!("axum_chat: chat on {scheme}://{}/", listener.local_addr()?);
    if tls {
        tls::serve(listener, router, app).await
    } else {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    }
}

/// The protocol of a request, for the log.
fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

/// `/`: the page, or the chat's WebSocket.
async fn root(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
) -> Response {
    let over = protocol(req.version());
    if !rfc6455::hyper::is_websocket(&req) {
        eprintln!(
            "axum_chat: {} {} over {over} on connection {peer}",
            req.method(),
            req.uri().path()
        );
        return match *req.method() {
            Method::GET | Method::HEAD => (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                PLAIN_PAGE.as_str(),
            )
                .into_response(),
            _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        };
    }
    let port = peer.port();
    let (response, ws) = rfc6455::hyper::upgrade::<_, Body>(&mut req, &app.config, &Accept::new());
    match ws {
        Ok(ws) => {
            let how = match req.version() {
                Version::HTTP_2 => "over HTTP/2 (extended CONNECT stream, RFC 8441)",
                _ => "over HTTP/1.1 (upgrade)",
            };
            eprintln!("axum_chat: WebSocket {how} on connection {peer}: User{port}");
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
        Err(e) => eprintln!("axum_chat: handshake over {over} from port {port} failed: {e}"),
    }
    response
}

/// `--tls-cert`/`--tls-key`: HTTP/1.1 and HTTP/2 on one TLS port.
#[cfg(feature = "rustls")]
mod tls {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::extract::ConnectInfo;
    use axum::Router;
    use hyper::body::Incoming;
    use hyper::service::Service;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;
    use rfc6455::adapter::tls;
    use rfc6455::hyper::ServerConfig;
    use rfc6455::rustls::pki_types::pem::PemObject;
    use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rfc6455::tokio::MaybeTlsStream;
    use tokio::net::TcpListener;

    use super::{accept_backoff, App};

    /// Sets `config.tls` from the PEM files: ALPN `h2`, then `http/1.1`.
    pub fn load(cert: &str, key: &str, config: &mut ServerConfig) -> Result<(), String> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("--tls-cert {cert}: {e}"))?;
        if chain.is_empty() {
            return Err(format!("--tls-cert {cert}: no CERTIFICATE in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--tls-key {key}: {e}"))?;
        let tls =
            tls::server_config_h2(chain, key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
        config.tls = Some(tls);
        Ok(())
    }

    /// Accepts TLS connections and serves each with hyper: HTTP/2 when the
    /// client chose `h2`, HTTP/1.1 otherwise (the auto builder reads the
    /// first bytes), extended CONNECT enabled.
    pub async fn serve(
        listener: TcpListener,
        router: Router,
        app: Arc<App>,
    ) -> std::io::Result<()> {
        let mut backoff = accept_backoff::AcceptBackoff::new("axum_chat");
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => {
                    backoff.succeeded();
                    accepted
                }
                Err(e) => {
                    tokio::time::sleep(backoff.failed(&e)).await;
                    continue;
                }
            };
            let router = router.clone();
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let stream = match MaybeTlsStream::accept(tcp, &app.config).await {
                    Ok(stream) => stream,
                    Err(e) => return eprintln!("axum_chat: connection {peer}: {e}"),
                };
                drop(app);
                if let MaybeTlsStream::Rustls(tls) = &stream {
                    let alpn = tls.alpn_protocol();
                    let alpn = alpn.as_deref().map(String::from_utf8_lossy);
                    eprintln!(
                        "axum_chat: connection {peer}: TLS, ALPN {}",
                        alpn.as_deref().unwrap_or("none")
                    );
                }
                serve_connection(stream, peer, router).await;
            });
        }
    }

    async fn serve_connection(stream: MaybeTlsStream, peer: SocketAddr, router: Router) {
        let router = TowerToHyperService::new(router);
        // What `into_make_service_with_connect_info` gives the handler.
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.call(req)
        });
        let mut server = auto::Builder::new(TokioExecutor::new());
        server.http2().enable_connect_protocol();
        if let Err(e) = server
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .await
        {
            eprintln!("axum_chat: connection {peer}: {e}");
        }
    }
}

#[cfg(not(feature = "rustls"))]
mod tls {
    use std::sync::Arc;

    use axum::Router;
    use rfc6455::hyper::ServerConfig;
    use tokio::net::TcpListener;

    use super::App;

    pub fn load(cert: &str, key: &str, _: &mut ServerConfig) -> Result<(), String> {
        Err(format!(
            "--tls-cert/--tls-key need the `rustls` feature: cargo run --release \
             --features hyper,rustls --example axum_chat -- [ADDR] --tls-cert {cert} --tls-key {key}"
        ))
    }

    pub async fn serve(_: TcpListener, _: Router, _: Arc<App>) -> std::io::Result<()> {
        unreachable!("load refuses TLS without the feature")
    }
}
