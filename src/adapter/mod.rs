//! What the [`blocking`](crate::blocking) and `tokio` adapters share
//! (feature `std`): one [`Error`] type, one [`ClientConfig`] and one
//! [`ServerConfig`]. Each adapter re-exports them, so
//! `rfc6455::blocking::Error` and `rfc6455::tokio::Error` are this same
//! type, and a config built for one adapter works with the other.
//!
//! The loop both adapters run is the core's [`driver`](crate::driver); the
//! opening step both take (request in, response and connection out) is
//! [`upgrade`](crate::upgrade).

mod config;
mod error;

pub use config::{ClientConfig, ServerConfig};
pub(crate) use error::is_retry;
pub use error::Error;
