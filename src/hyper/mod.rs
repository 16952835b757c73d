//! WebSockets in hyper and every framework built on it (axum, ...), over
//! HTTP/1.1 and HTTP/2 (feature `hyper`).
//!
//! - Server: [`upgrade`] in a service answers a WebSocket request in one
//!   call, with the crate's own opening step: the request validated
//!   exactly as [`tokio::accept`](crate::tokio::accept) validates it (same
//!   400/426/431 answers), the subprotocol the application chose, and
//!   permessage-deflate negotiated (`ServerConfig::deflate`, on by
//!   default). It returns the response for the service to return and an
//!   [`Upgrading`] future of a [`WebSocketStream`](crate::tokio::WebSocketStream)
//!   over hyper's upgraded connection. HTTP/1.1 requests are upgrades
//!   (`101`); HTTP/2 requests are extended CONNECTs (RFC 8441, `200`), for
//!   which the server is built with `enable_connect_protocol()`.
//!   [`Handshake`] does the same in two steps, to look at the request
//!   first; [`is_websocket`] tells a WebSocket request from a page request
//!   at the same path.
//! - Client: [`Http2Connection`] opens WebSockets as streams of one
//!   HTTP/2 connection (RFC 8441): [`Http2Connection::connect`] to a
//!   `ws://` URL (TCP with prior knowledge) or a `wss://` URL (feature
//!   `rustls`: TLS with ALPN `h2`), [`Http2Connection::handshake`] over any
//!   transport; it says whether the server accepts them
//!   ([`Error::ExtendedConnectDisabled`] when it does not). [`connect`]
//!   opens one over HTTP/2 when the server takes it and over HTTP/1.1 when
//!   not (for `wss://`, on the same TLS connection when the server's ALPN
//!   chose `http/1.1`).
//! - TLS servers (feature `rustls`): HTTP/1.1 and HTTP/2 on one TLS port
//!   with the crate's own TLS handshake,
//!   [`MaybeTlsStream::accept`](crate::tokio::MaybeTlsStream::accept), and
//!   a config that offers ALPN `h2`,
//!   `tls::server_config_h2`; hyper-util's `auto` builder serves the
//!   connection, as below over TCP. A browser that loaded the page over
//!   HTTP/2 opens its `wss://` WebSocket as a stream of that connection
//!   (the `axum_chat` example, and tests/browser_h2.rs with Chromium).
//!
//! Frames on an HTTP/2 stream are RFC 6455 frames: only the opening
//! handshake differs, and it is the core's
//! ([`ConnectRequest`](crate::handshake::ConnectRequest),
//! [`ClientConnect`](crate::handshake::ClientConnect)).
//!
//! A hyper server with a WebSocket echo route, serving HTTP/1.1 and HTTP/2
//! (prior knowledge) on one port:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::server::conn::auto;
//! use rfc6455::handshake::Accept;
//! use rfc6455::hyper::ServerConfig;
//!
//! async fn route(mut req: http::Request<Incoming>) -> Result<http::Response<Full<Bytes>>, Infallible> {
//!     let (response, ws) = rfc6455::hyper::upgrade(&mut req, &ServerConfig::default(), &Accept::new());
//!     if let Ok(ws) = ws {
//!         tokio::spawn(async move {
//!             let mut ws = ws.await?;
//!             while let Ok(msg) = ws.read().await {
//!                 if msg.is_data() {
//!                     ws.send(&msg).await?;
//!                 }
//!             }
//!             Ok::<_, rfc6455::hyper::Error>(())
//!         });
//!     }
//!     Ok(response)
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let mut server = auto::Builder::new(TokioExecutor::new());
//!             server.http2().enable_connect_protocol();
//!             let service = hyper::service::service_fn(route);
//!             server.serve_connection_with_upgrades(TokioIo::new(tcp), service).await
//!         });
//!     }
//! }
//! ```

mod client;
mod server;

pub use crate::adapter::{ClientConfig, Error, ServerConfig};
pub use client::{connect, ClientStream, Http2Config, Http2Connection, Http2Stream};
pub use server::{is_websocket, upgrade, Handshake, Upgraded, Upgrading};
