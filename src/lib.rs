//! A sans-IO implementation of the WebSocket protocol (RFC 6455), with thin
//! blocking adapters.
//!
//! The core owns no socket, thread or clock: bytes go in, events come out,
//! bytes to send come out, and time is a parameter. It builds as
//! `#![no_std]` + `alloc` (default features off). The layers, bottom up:
//!
//! | module | what it does | RFC 6455 |
//! | --- | --- | --- |
//! | [`handshake`] | the HTTP/1.1 upgrade, both roles: request/response parsing (incremental, linear, bounded), validation, `Sec-WebSocket-Accept` | §4 |
//! | [`frame`], [`mask`], [`utf8`] | frame headers, masking, incremental UTF-8 validation | §5.2, §5.3, §8.1 |
//! | [`connection`] | the open connection: message assembly, control frames, limits, the closing handshake, keepalive | §5-§7 |
//! | [`driver`] | the one loop every adapter runs: what to write, when to read, when to wake, when to shut down | — |
//! | [`blocking`] (feature `std`) | `std::io`/`std::net` adapters: a loop around a [`Connection`] | — |
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
//! # Example: a client and a server talking through byte buffers
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
//! - `std` (default): the [`blocking`] adapters and [`rand::OsRandom`], the
//!   operating system's generator for client masking keys. Without it, give a
//!   client connection a [`rand::KeySource`] with
//!   [`Connection::client_with_keys`].
//! - `deflate` (default; needs `std`): permessage-deflate (RFC 7692), see
//!   the `deflate` module.
//! - `tokio` (off by default): the async adapter, `rfc6455::tokio`.
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
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
#[cfg(feature = "std")]
pub mod upgrade;

pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{Connection, Event, Message, MessageKind, Role, State};
pub use error::Error;
