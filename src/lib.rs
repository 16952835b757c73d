//! A sans-IO implementation of the WebSocket protocol (RFC 6455), with
//! blocking and tokio adapters and permessage-deflate (RFC 7692).
//!
//! # A blocking client
//!
//! ```no_run
//! use rfc6455::{blocking, CloseCode};
//!
//! fn main() -> Result<(), blocking::Error> {
//!     let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/chat")?;
//!     ws.send_text("hello")?;
//!     let reply = ws.read()?; // Pings are answered from within read()
//!     println!("{reply:?}");
//!     ws.close(CloseCode::NORMAL, "done") // waits for the server's Close
//! }
//! ```
//!
//! # A tokio server
//!
//! An echo server (feature `tokio`):
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let mut ws = rfc6455::tokio::accept(tcp).await?;
//!             while let Ok(msg) = ws.read().await {
//!                 if msg.is_data() {
//!                     ws.send(&msg).await?; // text and binary go back
//!                 }
//!             }
//!             Ok::<_, rfc6455::tokio::Error>(())
//!         });
//!     }
//! }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! # A sans-IO loop
//!
//! The same [`Connection`] under both adapters, driven by hand: bytes in,
//! events out, bytes to send out. Here the transport is a byte buffer.
//!
//! ```
//! use rfc6455::{Config, Connection, Event};
//!
//! // What the transport delivers: a client's "hello" and a Ping.
//! let mut peer = Connection::client(Config::default());
//! peer.send_text("hello")?;
//! peer.send_ping(b"still there?")?;
//! let received = peer.take_output();
//!
//! let mut conn = Connection::server(Config::default());
//! let mut to_send = Vec::new();
//! for chunk in received.chunks(5) {
//!     conn.feed(chunk); // bytes in, split however the transport splits them
//!     while let Some(event) = conn.next_event()? {
//!         if let Event::Text(text) = event {
//!             let reply = text.to_uppercase();
//!             conn.send_text(&reply)?;
//!         }
//!     }
//!     to_send.extend(conn.take_output()); // bytes out: the reply, then the Pong
//! }
//!
//! peer.feed(&to_send);
//! assert_eq!(peer.next_event()?, Some(Event::Text("HELLO")));
//! assert_eq!(peer.next_event()?, Some(Event::Pong(b"still there?")));
//! # Ok::<(), rfc6455::Error>(())
//! ```
//!
//! Time is a parameter too: [`Connection::poll_timeout`] says when to call
//! [`Connection::handle_timeout`] (keepalive Pings, the close timeout). The
//! [`driver`] module is this loop written once, the way both adapters run
//! it.
//!
//! # The layers
//!
//! The core owns no socket, thread or clock, and builds as `#![no_std]` +
//! `alloc` (default features off). The adapters add a transport and a clock
//! and no protocol logic.
//!
//! | module | what it does | RFC |
//! | --- | --- | --- |
//! | [`blocking`] (feature `std`) | `std::io`/`std::net` adapter: [`connect`](blocking::connect), [`accept`](blocking::accept), [`read_request`](blocking::read_request) (then accept, reject or answer plain HTTP), a [`WebSocket`](blocking::WebSocket) over any `Read + Write`, split into a reader and a writer for two threads | — |
//! | [`hyper`](hyper/index.html) (feature `hyper`) | WebSockets in hyper and axum services, HTTP/1.1 upgrades and HTTP/2 extended CONNECTs, one call in the handler (`upgrade`); an HTTP/2 client (`Http2Connection`, `connect`), `ws://` (h2c) and `wss://` (ALPN `h2`, with `rustls`) | RFC 8441 |
//! | [`tokio`](tokio/index.html) (feature `tokio`) | the same over any `AsyncRead + AsyncWrite`: `connect`, `accept`, `read_request`, a `WebSocketStream` that is a `Stream` and a `Sink` of messages, split halves for two tasks | — |
//! | [`adapter`] (feature `std`) | what both adapters share: one [`Error`](adapter::Error), one [`ClientConfig`](adapter::ClientConfig), one [`ServerConfig`](adapter::ServerConfig) | — |
//! | [`driver`] | the one loop every adapter runs: what to write, when to read, when to wake, when to shut the transport down | — |
//! | [`upgrade`] (feature `std`) | the opening step, public: a request in, the response bytes and an open [`Connection`] out (and the client side), permessage-deflate negotiated; for any HTTP server that hands a connection over | §4.2, RFC 7692 §5 |
//! | [`handshake`] | the HTTP/1.1 upgrade, both roles: request/response parsing (incremental, linear, bounded), validation, `Sec-WebSocket-Accept`, refusals; the HTTP/2 extended CONNECT (`ConnectRequest`, `ClientConnect`), and requests given as parts by another HTTP server (`Request::from_parts`) | §4, RFC 8441 |
//! | [`connection`] | the open connection: message assembly, control frames, limits, the closing handshake, keepalive | §5-§7 |
//! | [`outgoing`] | the connection's send queue, and frames encoded once for many connections | — |
//! | [`close`] | close codes and Close frame bodies | §5.5.1, §7.4 |
//! | [`config`] | a connection's limits, buffer sizes, keepalive and timeouts | §10.4 |
//! | [`deflate`](deflate/index.html) (feature `deflate`) | permessage-deflate: parameters, negotiation, compression | RFC 7692 |
//! | [`error`] | the connection's error type and the close code each error sends | §7.4.1 |
//! | [`frame`], [`mask`], [`utf8`], [`rand`] | low-level building blocks most users never touch: frame headers, payload masking, incremental UTF-8 validation, masking-key sources | §5.2, §5.3, §8.1, §10.3 |
//!
//! # The buffer model
//!
//! A [`Connection`] reads into one receive buffer
//! ([`Connection::read_buf`] hands its free space to the reader, so a read
//! lands there with no copy). A message that arrives in one frame is
//! unmasked in place and handed out as a borrowed [`Event`] pointing into that
//! buffer; a fragmented message is unmasked into a reassembly buffer as its
//! frames arrive. Text is validated as bytes arrive, so invalid UTF-8 fails
//! the connection (1007) in the frame where it appears. Both buffers are
//! reused; in steady state reading allocates nothing, and an idle connection
//! keeps at most a few KiB (they shrink back after a large message). Sending
//! encodes into an output queue; frames encoded once for many connections
//! ([`connection::encode_shared`]) are queued by reference.
//!
//! # Example: a whole connection through byte buffers
//!
//! Both handshakes and both roles, from the opening handshake to the
//! closing one:
//!
//! ```
//! use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Limits, ServerHandshake, Uri};
//! use rfc6455::rand::OsRandom;
//! use rfc6455::{CloseCode, Config, Connection, Event, State};
//!
//! // Opening handshake (RFC 6455 §4).
//! let uri = Uri::parse("ws://example.com/chat")?;
//! let mut client_hs = ClientHandshake::new(&uri, &ClientOptions::new(), &mut OsRandom::new())?;
//! let mut server_hs = ServerHandshake::new(Limits::default());
//! let (request, _) = server_hs.feed(client_hs.request_bytes())?.expect("whole request");
//! let response = request.accept(&Accept::new())?;
//! let (_, used) = client_hs.feed(&response)?.expect("whole response");
//! assert_eq!(used, response.len());
//!
//! // Data transfer (RFC 6455 §5, §6).
//! let mut client = Connection::client(Config::default());
//! let mut server = Connection::server(Config::default());
//! client.send_text("Hello")?;
//! client.send_ping(b"are you there?")?;
//! server.feed(&client.take_output());
//! assert_eq!(server.next_event()?, Some(Event::Text("Hello")));
//! assert_eq!(server.next_event()?, Some(Event::Ping(b"are you there?")));
//! assert_eq!(server.next_event()?, None); // needs more bytes
//!
//! // The server answered the ping by itself.
//! client.feed(&server.take_output());
//! assert_eq!(client.next_event()?, Some(Event::Pong(b"are you there?")));
//!
//! // Closing handshake (RFC 6455 §7).
//! client.close(CloseCode::NORMAL, "bye")?;
//! server.feed(&client.take_output());
//! assert!(matches!(server.next_event()?, Some(Event::Close(c)) if c.reason == "bye"));
//! client.feed(&server.take_output()); // the echoed Close
//! assert!(matches!(client.next_event()?, Some(Event::Close(_))));
//! assert_eq!((client.state(), server.state()), (State::Closed, State::Closed));
//! assert!(server.should_close_transport()); // the server closes TCP first (§7.1.1)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - `std` (default): the [`blocking`] adapter, [`adapter`], [`upgrade`],
//!   and [`rand::OsRandom`], the operating system's generator for client
//!   masking keys. Without it, give a client connection a
//!   [`rand::KeySource`] with [`Connection::client_with_keys`].
//! - `deflate` (default; needs `std`): permessage-deflate (RFC 7692), see
//!   the [`deflate`](deflate/index.html) module. Both adapters negotiate it:
//!   servers accept offers by default, clients offer it when their
//!   `ClientConfig::deflate` is set.
//! - `tokio` (off by default; needs `std`): the async adapter,
//!   [`rfc6455::tokio`](tokio/index.html).
//! - `hyper` (off by default; needs `tokio`): WebSocket routes in hyper 1
//!   servers and every framework on it (axum, ...) in one call, over
//!   HTTP/1.1 and HTTP/2 (RFC 8441), and an HTTP/2 client that opens
//!   WebSockets as streams of one connection; with `rustls` too, both over
//!   TLS (ALPN `h2`, HTTP/1.1 and HTTP/2 on one port):
//!   [`rfc6455::hyper`](hyper/index.html).
//! - `rustls` (off by default; needs `std`): `wss://` in `connect` and TLS
//!   servers in one call, in both adapters, with rustls on the *ring*
//!   provider and Mozilla's roots from `webpki-roots`; see
//!   `adapter::tls` (why this provider and these roots) and the
//!   re-exported `rfc6455::rustls` crate for configs of your own.
#![no_std]
#![deny(missing_docs)]
// One function uses `unsafe` (`utf8::validated_str`): measured, documented, fuzzed.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod config;
pub mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod driver;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod outgoing;
pub mod rand;
pub mod utf8;

#[cfg(feature = "std")]
pub mod adapter;
#[cfg(feature = "std")]
pub mod blocking;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
#[cfg(feature = "std")]
pub mod upgrade;
#[cfg(all(feature = "uring", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(feature = "uring")))]
pub mod uring;

pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{Connection, Event, Message, MessageKind, Role, State};
pub use error::Error;
/// The rustls crate this one is built with (feature `rustls`), for TLS
/// configs of your own (`ClientConfig::tls`, `ServerConfig::tls`).
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub use rustls;
