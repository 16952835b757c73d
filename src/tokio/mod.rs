//! Async adapters over tokio (feature `tokio`).
//!
//! Like the [`blocking`](crate::blocking) adapters these add no protocol
//! logic: a [`WebSocketStream`] is a [`Connection`](crate::Connection) plus
//! poll functions that read the stream into it, write its output, and drive
//! its timers with tokio's clock.
//!
//! - Client: [`connect`] / [`connect_with`] (`ws://`, and `wss://` with
//!   the `rustls` feature, over a [`MaybeTlsStream`]; host names
//!   resolved), [`connect_over`] (any stream the caller opened).
//! - Server: [`accept`] / [`accept_with`], or [`read_request`] (TCP) /
//!   [`read_request_over`] (any stream) to inspect the request first and
//!   then accept (choosing a subprotocol), reject with any status, or
//!   answer plain HTTP on the same port ([`Incoming`]);
//!   [`accept_maybe_tls`] / [`read_request_maybe_tls`] for TLS in the same
//!   call (feature `rustls`, `ServerConfig::tls`); [`accept_over`] for
//!   any stream in one call.
//! - permessage-deflate (RFC 7692, feature `deflate`), negotiated exactly as
//!   by the blocking adapters (the negotiation code is shared): a server
//!   accepts the first offer its `ServerConfig::deflate` can take (§5.1; on
//!   by default, no context takeover either way) and answers 400 when
//!   compression is `required` and no offer fits; a client offers
//!   `ClientConfig::deflate` (off by default) and fails with
//!   `Error::Deflate` on an answer that does not fit its offer (§7.1).
//!   Either way the agreed parameters go to `Connection::enable_deflate`;
//!   [`Connection::deflate_enabled`](crate::Connection::deflate_enabled)
//!   tells whether compression is on.
//! - Handshake timeouts ([`ServerConfig::handshake_timeout`],
//!   [`ClientConfig::handshake_timeout`]) run on tokio timers, over any
//!   stream.
//! - [`WebSocketStream`]: `read`/`read_event` (cancel-safe), `send_*`
//!   (waiting above a high-water mark), `flush`, `close`; it is a
//!   [`futures_core::Stream`] of messages and a [`futures_sink::Sink`] of
//!   them.
//! - [`WebSocketStream::split`] gives a [`Reader`] and a [`Writer`] for
//!   different tasks; see the [`split` design notes](self#splitting) below.
//!
//! The library needs only tokio's `net`, `io-util` and `time` features; the
//! caller picks the runtime.
//!
//! ```no_run
//! use rfc6455::tokio as ws;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), ws::Error> {
//!     let (mut socket, _) = ws::connect("ws://127.0.0.1:9002/").await?;
//!     socket.send_text("hello").await?;
//!     let reply = socket.read().await?;
//!     println!("{reply:?}");
//!     socket.close(rfc6455::CloseCode::NORMAL, "bye").await
//! }
//! ```
//!
//! # Splitting
//!
//! Both halves share the stream and the connection behind one
//! `std::sync::Mutex`, taken only for a single non-blocking poll (a
//! `poll_read`, a `poll_write_vectored`, decoding or encoding) and never
//! held across an await. The reader writes its own automatic replies
//! (Pongs, the Close echo, keepalive Pings) from within
//! [`Reader::read`], so they reach the wire even if the application never
//! sends; writes from either side are polled with a proxy waker that wakes
//! every task waiting for the stream to be writable. See the
//! `split` module source for why this beats a tokio `Mutex` around the
//! write half.
//!
//! # Cancellation
//!
//! - Receiving ([`WebSocketStream::read`], [`read_event`](WebSocketStream::read_event),
//!   [`Reader::read`], the `Stream` impls) is cancel-safe: received bytes
//!   live in the connection, never in the future.
//! - A cancelled send has queued its message entirely or not at all (see
//!   [`WebSocketStream`]); a message queued by a cancelled send goes out
//!   with the next flush or send, or the next read that has to wait for
//!   the peer.

mod client;
mod inner;
mod maybe_tls;
mod server;
mod split;
mod stream;

pub use crate::adapter::Error;
#[cfg(all(feature = "hyper", feature = "rustls"))]
pub(crate) use client::tls_named;
pub use client::{connect, connect_over, connect_with, ClientConfig};
#[cfg(feature = "hyper")]
pub(crate) use client::{handshake, open_tcp};
pub use maybe_tls::MaybeTlsStream;
#[cfg(feature = "rustls")]
pub use maybe_tls::TlsStream;
pub use server::{
    accept, accept_maybe_tls, accept_over, accept_with, read_request, read_request_maybe_tls,
    read_request_over, Incoming, ServerConfig,
};
pub use split::{Reader, Writer};
pub use stream::{WebSocketStream, DEFAULT_HIGH_WATER};
