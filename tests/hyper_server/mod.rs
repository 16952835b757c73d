//! A hyper server (HTTP/1.1 and HTTP/2 with prior knowledge on one port,
//! hyper-util's `auto` builder) whose every route answers WebSocket
//! requests with `rfc6455::hyper` and echoes: what tests/hyper.rs and
//! tests/h2.rs run against. `/page` is a plain page.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rfc6455::handshake::Accept;
use rfc6455::hyper::{Handshake, ServerConfig};
use tokio::net::TcpListener;

/// Subprotocols the echo route speaks, in its order of preference.
pub const PROTOCOLS: [&str; 2] = ["echo.v2", "echo.v1"];

/// Starts the server on an ephemeral loopback port; `connect_protocol`
/// says whether HTTP/2 connections advertise
/// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441 §3).
pub async fn start(config: ServerConfig, connect_protocol: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Arc::new(config);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tcp.set_nodelay(true).unwrap();
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                let mut server = auto::Builder::new(TokioExecutor::new());
                if connect_protocol {
                    server.http2().enable_connect_protocol();
                }
                let service = hyper::service::service_fn(move |req| {
                    let config = Arc::clone(&config);
                    async move { Ok::<_, Infallible>(route(req, &config)) }
                });
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// Starts the server over TLS (`config.tls`, which must be set; its ALPN
/// list says whether clients may choose `h2`); returns its address and the
/// number of TLS connections it has accepted so far.
#[cfg(feature = "rustls")]
pub async fn start_tls(
    config: ServerConfig,
    connect_protocol: bool,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    assert!(config.tls.is_some(), "start_tls needs config.tls");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Arc::new(config);
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let config = Arc::clone(&config);
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                let Ok(stream) = rfc6455::tokio::MaybeTlsStream::accept(tcp, &config).await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let mut server = auto::Builder::new(TokioExecutor::new());
                if connect_protocol {
                    server.http2().enable_connect_protocol();
                }
                let service = hyper::service::service_fn(move |req| {
                    let config = Arc::clone(&config);
                    async move { Ok::<_, Infallible>(route(req, &config)) }
                });
                let _ = server
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

fn route(mut req: http::Request<Incoming>, config: &ServerConfig) -> http::Response<Full<Bytes>> {
    if req.uri().path() == "/page" {
        return http::Response::new(Full::from("a page"));
    }
    let handshake = Handshake::new(&mut req, config);
    let choice = PROTOCOLS
        .iter()
        .find(|p| handshake.subprotocols().any(|o| o == **p));
    let accept = match choice {
        Some(p) => Accept::new().subprotocol(p),
        None => Accept::new(),
    };
    let (response, ws) = handshake.answer(&accept);
    if let Ok(ws) = ws {
        tokio::spawn(async move {
            let mut ws = ws.await?;
            loop {
                match ws.read().await {
                    Ok(msg) if msg.is_data() => ws.send(&msg).await?,
                    Ok(_) => {}
                    Err(e) if e.is_closed() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        });
    }
    response
}
