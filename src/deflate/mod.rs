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

mod codec;
pub(crate) mod negotiate;
mod params;

pub(crate) use codec::{Deflater, Inflater};
pub use params::{DeflateConfig, Negotiated, ParamError, NAME};
