//! What a connection reports to the application.

use alloc::string::String;
use alloc::vec::Vec;

use crate::close::{CloseFrame, OwnedCloseFrame};

/// The kind of a data message (RFC 6455 §5.6).
///
/// ```
/// use rfc6455::{Config, Connection, MessageKind};
/// let mut conn = Connection::server(Config::default());
/// conn.send_message(MessageKind::Binary, &[1, 2])?;
/// conn.send_fragment(MessageKind::Text, b"a message in ", false)?;
/// conn.send_fragment(MessageKind::Text, b"two frames", true)?;
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
///
/// ```
/// use rfc6455::{Config, Connection, Event};
///
/// let mut client = Connection::client(Config::default());
/// client.send_text("hello")?;
/// client.send_binary(&[1, 2, 3])?;
/// client.send_ping(b"?")?;
/// let mut server = Connection::server(Config::default());
/// server.feed(&client.take_output());
///
/// while let Some(event) = server.next_event()? {
///     match event {
///         Event::Text(text) => assert_eq!(text, "hello"),
///         Event::Binary(bytes) => assert_eq!(bytes, [1, 2, 3]),
///         Event::Ping(payload) => assert_eq!(payload, b"?"), // the Pong is queued
///         Event::Pong(_) | Event::Close(_) | Event::Fragment { .. } => unreachable!(),
///     }
/// }
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Message};
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("keep me")?;
    /// let mut server = Connection::server(Config::default());
    /// server.feed(&client.take_output());
    /// let kept: Message = server.next_event()?.unwrap().to_message();
    /// server.send_text("thanks")?; // the borrow has ended; the copy lives on
    /// assert_eq!(kept, Message::Text("keep me".into()));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
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
///
/// What the adapters' `read` returns and their `send` takes:
///
/// ```
/// use rfc6455::{Config, Connection, Message};
///
/// let mut client = Connection::client(Config::default());
/// client.send_text("hi")?;
/// let mut server = Connection::server(Config::default());
/// server.feed(&client.take_output());
/// match server.next_message()? {
///     Some(Message::Text(text)) => println!("{text}"),
///     Some(Message::Binary(bytes)) => println!("{} bytes", bytes.len()),
///     Some(Message::Close(frame)) => println!("closed: {frame:?}"),
///     Some(_) => {} // Ping, Pong, Fragment
///     None => {} // more bytes needed
/// }
/// assert_eq!(Message::from("hi"), Message::Text("hi".into()));
/// assert_eq!(Message::from(vec![1, 2]), Message::Binary(vec![1, 2]));
/// # Ok::<(), rfc6455::Error>(())
/// ```
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
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::from("hi").is_data());
    /// assert!(Message::Binary(vec![1]).is_data());
    /// assert!(!Message::Ping(vec![]).is_data() && !Message::Close(None).is_data());
    /// ```
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
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::from(vec![0xff]).is_binary());
    /// assert!(!Message::from("text").is_binary());
    /// ```
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a Ping.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::Ping(b"?".to_vec()).is_ping());
    /// assert!(!Message::Pong(b"?".to_vec()).is_ping());
    /// ```
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a Pong.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::Pong(Vec::new()).is_pong());
    /// assert!(!Message::Ping(Vec::new()).is_pong());
    /// ```
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// Whether this is a Close.
    ///
    /// ```
    /// use rfc6455::Message;
    /// assert!(Message::Close(None).is_close());
    /// assert!(!Message::from("bye").is_close());
    /// ```
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
