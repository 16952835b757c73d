//! A sans-IO implementation of the WebSocket protocol (RFC 6455).
//!
//! (Crate documentation is completed in a later commit.)
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod close;
pub mod config;
pub mod connection;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod outgoing;
pub mod rand;
pub mod utf8;

#[cfg(feature = "std")]
pub mod blocking;

pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{Connection, Event, Message, MessageKind, Role, State};
pub use error::Error;
