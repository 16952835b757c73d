//! Blocking adapters over `std::io` and `std::net` (feature `std`).
//!
//! These add no protocol logic: a [`WebSocket`] is a
//! [`Connection`](crate::Connection) plus a loop that reads the stream into
//! it, writes its output, and drives its timers with the system clock.
//!
//! - Client: [`connect`] (`ws://`, and `wss://` with the `rustls` feature,
//!   over a [`MaybeTlsStream`]), [`connect_over`] (any stream the caller
//!   opened).
//! - Server: [`accept`], or [`read_request`] to inspect the request first and
//!   then accept (choosing a subprotocol), reject with any status, or answer
//!   plain HTTP on the same port; [`accept_maybe_tls`] /
//!   [`read_request_maybe_tls`] for TLS in the same call (feature `rustls`,
//!   `ServerConfig::tls`); [`accept_over`] for any stream.
//! - [`WebSocket::split`] gives a reader and a writer for two threads.
//!
//! ```no_run
//! use rfc6455::blocking;
//! use rfc6455::Message;
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! for stream in listener.incoming() {
//!     let mut ws = blocking::accept(stream?)?;
//!     std::thread::spawn(move || {
//!         while let Ok(msg) = ws.read() {
//!             if msg.is_data() && ws.send(&msg).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod maybe_tls;
mod server;
mod split;
mod websocket;

pub use crate::adapter::Error;
pub use client::{connect, connect_over, connect_with, ClientConfig};
pub use maybe_tls::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use maybe_tls::TlsStream;
pub use server::{
    accept, accept_maybe_tls, accept_over, accept_with, read_request, read_request_maybe_tls,
    read_request_over, Incoming, ServerConfig,
};
pub use split::{Reader, SplitTransport, Writer};
pub use websocket::WebSocket;
