//! Blocking adapters over `std::io` and `std::net` (feature `std`).
//!
//! These add no protocol logic: a [`WebSocket`] is a
//! [`Connection`](crate::Connection) plus a loop that reads the stream into
//! it, writes its output, and drives its timers with the system clock.
//!
//! - Client: [`connect`] (`ws://` over `TcpStream`), [`connect_over`] (any
//!   stream the caller opened, e.g. TLS for `wss://`).
//! - Server: [`accept`], or [`read_request`] to inspect the request first and
//!   then accept (choosing a subprotocol), reject with any status, or answer
//!   plain HTTP on the same port.
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
mod server;
mod split;
mod websocket;

pub use crate::adapter::Error;
pub use client::{connect, connect_over, connect_with, ClientConfig};
pub use server::{accept, accept_with, read_request, read_request_over, Incoming, ServerConfig};
pub use split::{Reader, SplitTransport, Writer};
pub use websocket::WebSocket;
