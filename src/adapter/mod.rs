//! What the [`blocking`](crate::blocking) and `tokio` adapters share
//! (feature `std`): one [`Error`] type, one [`ClientConfig`] and one
//! [`ServerConfig`]. Each adapter re-exports them, so
//! `rfc6455::blocking::Error` and `rfc6455::tokio::Error` are this same
//! type, and a config built for one adapter works with the other.
//!
//! The loop both adapters run is the core's [`driver`](crate::driver); the
//! opening step both take (request in, response and connection out) is
//! [`upgrade`](crate::upgrade). With the `rustls` feature, `tls` holds the
//! TLS configs both adapters use for `wss://` and TLS servers
//! (`ClientConfig::tls`, `ServerConfig::tls`), and why they use the
//! provider and roots they do.
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::adapter::{ClientConfig, Error, ServerConfig};
//!
//! // `blocking::ServerConfig` (and `tokio::ServerConfig`) is this type.
//! let server: rfc6455::blocking::ServerConfig =
//!     ServerConfig::default().ping_interval(Some(Duration::from_secs(30)));
//! let client = ClientConfig::default().max_message_size(1 << 20);
//! # let _ = (server, client);
//!
//! // One error type: one handler for errors from either adapter.
//! fn is_normal_end(e: &Error) -> bool {
//!     e.is_closed()
//! }
//! assert!(is_normal_end(&rfc6455::blocking::Error::ConnectionClosed));
//! ```

mod config;
mod error;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod tls;

pub use config::{ClientConfig, ServerConfig};
pub use error::Error;
pub(crate) use error::{is_retry, is_tls_record};
