//! A plain hyper server with a WebSocket echo route: every path answers
//! WebSocket requests (HTTP/1.1 upgrades and HTTP/2 extended CONNECTs,
//! RFC 8441) with `rfc6455::hyper::upgrade` and echoes text and binary
//! messages; other requests get a line of text. HTTP/1.1 and HTTP/2 with
//! prior knowledge (h2c) on one port.
//!
//! Usage: `cargo run --release --features hyper --example hyper_server [ADDR]`
//! (default address `127.0.0.1:8083`), then e.g.
//! `cargo run --example client -- ws://127.0.0.1:8083/`.

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rfc6455::handshake::Accept;
use rfc6455::hyper::ServerConfig;

async fn route(
    mut req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    // A CONNECT is never answered by the page: a 200 would tell the client
    // its tunnel is open. `upgrade` refuses the ones that are not
    // WebSockets (an unknown `:protocol`: 501; no `:protocol`: 400).
    if !rfc6455::hyper::is_websocket(&req) && req.method() != http::Method::CONNECT {
        return Ok(http::Response::new(Full::from("a WebSocket echo server\n")));
    }
    let (response, ws) =
        rfc6455::hyper::upgrade(&mut req, &ServerConfig::default(), &Accept::new());
    if let Ok(ws) = ws {
        tokio::spawn(async move {
            let mut ws = ws.await?;
            loop {
                match ws.read().await {
                    Ok(msg) if msg.is_data() => ws.send(&msg).await?,
                    Ok(_) => {} // Pings answered, the Close echoed, by read itself
                    Err(e) if e.is_closed() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        });
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8083".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("hyper_server: echo on ws://{}/", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let mut server = auto::Builder::new(TokioExecutor::new());
            server.http2().enable_connect_protocol(); // RFC 8441 §3
            let service = hyper::service::service_fn(route);
            server
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
        });
    }
}
