//! permessage-deflate (RFC 7692), feature `deflate` (requires `std`).
//!
//! Negotiation: a client offers [`DeflateConfig::client_offer`] and checks the
//! answer with [`DeflateConfig::client_accept`]; a server picks an offer with
//! [`DeflateConfig::server_accept`]. Either side then calls
//! [`Connection::enable_deflate`](crate::Connection::enable_deflate) with the
//! agreed [`Negotiated`] parameters. The adapters do all of this when their
//! config carries a `DeflateConfig` (`deflate` in
//! [`blocking::ClientConfig`](crate::blocking::ClientConfig) and
//! [`blocking::ServerConfig`](crate::blocking::ServerConfig), and in the
//! same two types of `rfc6455::tokio`): a client offers and fails on an
//! answer that does not fit its offer (RFC 7692 §7.1), a server takes the
//! first offer it can accept (§5.1) and answers 400 when compression is
//! [`required`](DeflateConfig::required) and none fits.
//!
//! On the wire (RFC 7692 §6, §7.2): RSV1 marks the first frame of a
//! compressed message; the trailing `00 00 ff ff` of each message's sync
//! flush is removed on send and put back on receive; messages under
//! [`DeflateConfig::threshold`] go out uncompressed.
//!
//! Hostile input: inflated output is produced in bounded steps and counted
//! as it comes, so a decompression bomb fails with 1009 as soon as it passes
//! [`Config::max_message_size`](crate::Config::max_message_size), having
//! buffered at most that plus 16 KiB. Corrupt compressed data fails with
//! 1007 (RFC 7692 §8.1 leaves the code open; 1007 is "data inconsistent with
//! the message type", which is what undecodable payload is).
//!
//! Memory: with `no_context_takeover` in a direction, that direction's
//! compression state is created for each message and dropped at its end, so
//! an idle connection holds none (the defaults). With context takeover, a
//! compressor and a decompressor stay allocated for the connection's life.
//!
//! The compression library is `flate2` with its `zlib-rs` backend (pure
//! Rust).
//!
//! ```
//! use rfc6455::deflate::DeflateConfig;
//! use rfc6455::handshake::{Accept, ClientHandshake, ClientOptions, Limits, ServerHandshake, Uri};
//! use rfc6455::{Config, Connection, Event};
//!
//! // The client offers, the server accepts, the client checks the answer.
//! let config = DeflateConfig::default();
//! let uri = Uri::parse("ws://example.com/")?;
//! let options = ClientOptions::new().extensions(config.client_offer());
//! let mut client_hs = ClientHandshake::new(&uri, &options, &mut rfc6455::rand::OsRandom::new())?;
//! let (request, _) = ServerHandshake::new(Limits::default()).feed(client_hs.request_bytes())?.unwrap();
//! let (server_agreed, answer) = config.server_accept(&request.extensions()?).unwrap();
//! let response = request.accept(&Accept::new().extensions(&answer))?;
//! let (response, _) = client_hs.feed(&response)?.unwrap();
//! let client_agreed = config.client_accept(&response.extensions()?)?.unwrap();
//! assert_eq!(client_agreed, server_agreed);
//!
//! // Both ends turn compression on with what they agreed.
//! let mut client = Connection::client(Config::default());
//! let mut server = Connection::server(Config::default());
//! client.enable_deflate(client_agreed, &config);
//! server.enable_deflate(server_agreed, &config);
//! let text = "the same words again and again, ".repeat(30);
//! server.send_text(&text)?;
//! let wire = server.take_output();
//! assert!(wire.len() < text.len() / 5);
//! client.feed(&wire);
//! assert_eq!(client.next_event()?, Some(Event::Text(text.as_str())));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
pub(crate) mod negotiate;
mod params;

pub(crate) use codec::{Deflater, Inflater};
pub use params::{DeflateConfig, Negotiated, ParamError, NAME};
