//! What a connection reports to the application.

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::{CloseFrame, OwnedCloseFrame};

/// The kind of a data message (RFC 6455 §5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Arbitrary bytes (opcode 0x2).
    Binary,
}

/// Something received, borrowed from the connection's buffers.
///
/// Borrowing means no allocation per message: a message that arrived in one
/// frame is handed out straight from the receive buffer, a fragmented one
/// from the reassembly buffer, both reused. Use [`Event::to_message`] for an
/// owned copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete text message, validated as UTF-8.
    Text(&'a str),
    /// A complete binary message.
    Binary(&'a [u8]),
    /// A Ping (RFC 6455 §5.5.2). With [`Config::auto_pong`](crate::Config::auto_pong)
    /// the Pong is already queued.
    Ping(&'a [u8]),
    /// A Pong (RFC 6455 §5.5.3).
    Pong(&'a [u8]),
    /// The peer's Close frame (RFC 6455 §5.5.1). The reply is already
    /// queued; nothing more will be received.
    Close(CloseFrame<'a>),
    /// Only with [`Config::stream_fragments`](crate::Config::stream_fragments):
    /// payload bytes of a data message as they arrived, without reassembly.
    /// `fin` marks the last piece of the message. Text has been validated
    /// so far, but a piece may end inside a code point.
    Fragment {
        /// The kind of the message the bytes belong to.
        kind: MessageKind,
        /// The bytes, unmasked.
        data: &'a [u8],
        /// This piece ends the message.
        fin: bool,
    },
}

impl Event<'_> {
    /// An owned copy of the event.
    pub fn to_message(&self) -> Message {
        match *self {
            Event::Text(t) => Message::Text(String::from(t)),
            Event::Binary(b) => Message::Binary(b.to_vec()),
            Event::Ping(p) => Message::Ping(p.to_vec()),
            Event::Pong(p) => Message::Pong(p.to_vec()),
            Event::Close(c) => Message::Close(c.code.map(|_| c.to_owned())),
            Event::Fragment { kind, data, fin } => Message::Fragment {
                kind,
                data: data.to_vec(),
                fin,
            },
        }
    }
}

/// An owned [`Event`]: the convenient form when allocation per message does
/// not matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A Ping's payload.
    Ping(Vec<u8>),
    /// A Pong's payload.
    Pong(Vec<u8>),
    /// A Close frame: its code and reason, or `None` for an empty body.
    Close(Option<OwnedCloseFrame>),
    /// A piece of a message, in [`Config::stream_fragments`](crate::Config::stream_fragments) mode.
    Fragment {
        /// The kind of the message the bytes belong to.
        kind: MessageKind,
        /// The bytes.
        data: Vec<u8>,
        /// This piece ends the message.
        fin: bool,
    },
}

impl Message {
    /// Whether this is a text or binary message (not a control frame).
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a text message.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::from("hi").is_text());
    /// assert!(Message::Binary(vec![1]).is_binary());
    /// assert!(!Message::Ping(vec![]).is_data());
    /// ```
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a Ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a Pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// Whether this is a Close.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(String::from(s))
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}
