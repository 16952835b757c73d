//! The sending half: encoding frames into the outgoing queue.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Connection, MessageKind, Phase, Role};
use crate::close::{CloseCode, MAX_REASON_LEN};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::outgoing::SharedFrame;

impl Connection {
    /// Queues a text message in one frame.
    ///
    /// Fails with [`Error::SendAfterClose`] once a Close frame was sent, and
    /// with [`Error::SendSequence`] while a fragmented message is being sent.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("hi")?;
    /// assert_eq!(server.take_output(), [0x81, 0x02, b'h', b'i']); // FIN + text, 2 bytes, unmasked
    ///
    /// server.send_fragment(MessageKind::Binary, b"part", false)?;
    /// assert_eq!(server.send_text("cut in"), Err(Error::SendSequence));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        // A `&str` is UTF-8 already: no second check.
        self.send_checked(MessageKind::Text, text.as_bytes())
    }

    /// [`send_text`](Self::send_text) for bytes known to be UTF-8.
    #[cfg(feature = "std")]
    pub(crate) fn send_text_checked(&mut self, text: &[u8]) -> Result<(), Error> {
        self.send_checked(MessageKind::Text, text)
    }

    /// Queues a binary message in one frame.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_binary(&[0xde, 0xad])?;
    /// let wire = client.take_output();
    /// assert_eq!(&wire[..2], [0x82, 0x80 | 2]); // FIN + binary; masked, 2 bytes
    /// assert_eq!(wire.len(), 2 + 4 + 2); // header, masking key, payload
    /// server.feed(&wire);
    /// assert_eq!(server.next_event()?, Some(Event::Binary(&[0xde, 0xad])));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_message(MessageKind::Binary, data)
    }

    /// Queues a message of the given kind in one frame. `data` must be UTF-8
    /// for [`MessageKind::Text`].
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// server.send_message(MessageKind::Text, b"ok")?;
    /// server.send_message(MessageKind::Binary, &[0xff])?;
    /// assert_eq!(server.take_output(), b"\x81\x02ok\x82\x01\xff");
    /// let not_utf8 = server.send_message(MessageKind::Text, &[0xff]);
    /// assert_eq!(not_utf8, Err(Error::SendInvalidUtf8));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_message(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::SendSequence);
        }
        if kind == MessageKind::Text && core::str::from_utf8(data).is_err() {
            return Err(Error::SendInvalidUtf8);
        }
        self.send_checked(kind, data)
    }

    /// Sends a whole message whose text, if any, is known to be UTF-8.
    fn send_checked(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::SendSequence);
        }
        let compress = self.should_compress(data.len());
        encode_data(
            &mut self.out,
            self.keys.as_mut(),
            self.deflate.as_deref_mut(),
            opcode_of(kind),
            true,
            data,
            compress,
        );
        Ok(())
    }

    /// Sends a whole message without copying its payload: returns the
    /// frame header, which the caller writes to the transport followed
    /// immediately by `data` itself, before anything else. Returns
    /// `Ok(None)`, having done nothing, when that cannot be done: for a
    /// client (its frames are masked, which takes a copy; that copy is the
    /// one pass [`send_message`](Self::send_message) makes anyway), when
    /// bytes are already queued (they must go first), or when the message
    /// would be compressed. Then use `send_message`.
    ///
    /// If the transport takes only part of the header and payload, queue
    /// the rest with [`Outgoing::push_bytes`](crate::outgoing::Outgoing::push_bytes)
    /// so that it goes out first. Worth it for large messages: a 1 MiB frame
    /// is written with no copy at all.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// let payload = vec![7u8; 70_000];
    /// let header = server.send_direct(MessageKind::Binary, &payload)?.expect("server, nothing queued");
    /// assert_eq!(header.as_bytes(), &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    /// assert!(!server.has_output()); // the caller writes header and payload
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_direct(
        &mut self,
        kind: MessageKind,
        data: &[u8],
    ) -> Result<Option<DirectHeader>, Error> {
        if kind == MessageKind::Text && core::str::from_utf8(data).is_err() {
            return Err(Error::SendInvalidUtf8);
        }
        self.send_direct_checked(kind, data)
    }

    /// [`send_direct`](Self::send_direct) for a payload whose text, if any,
    /// is known to be UTF-8.
    pub(crate) fn send_direct_checked(
        &mut self,
        kind: MessageKind,
        data: &[u8],
    ) -> Result<Option<DirectHeader>, Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::SendSequence);
        }
        if self.role == Role::Client || !self.out.is_empty() || self.should_compress(data.len()) {
            return Ok(None);
        }
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: opcode_of(kind),
            mask: None,
            payload_len: data.len() as u64,
        };
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = header.encode(&mut bytes);
        Ok(Some(DirectHeader {
            bytes,
            len: len as u8,
        }))
    }

    /// Like [`send_message`](Self::send_message), but never compressed, even
    /// with permessage-deflate on (e.g. data already compressed).
    ///
    /// ```
    /// use rfc6455::deflate::{DeflateConfig, Negotiated};
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let agreed = Negotiated {
    ///     server_no_context_takeover: true,
    ///     client_no_context_takeover: true,
    ///     server_max_window_bits: 15,
    ///     client_max_window_bits: 15,
    /// };
    /// let mut server = Connection::server(Config::default());
    /// server.enable_deflate(agreed, &DeflateConfig::default());
    /// let data = vec![0u8; 1000];
    /// server.send_binary(&data)?;
    /// let wire = server.take_output();
    /// assert_eq!(wire[0], 0xc2); // FIN, RSV1 (compressed), binary
    /// assert!(wire.len() < 100);
    /// server.send_uncompressed(MessageKind::Binary, &data)?;
    /// let wire = server.take_output();
    /// assert_eq!(wire[0], 0x82); // RSV1 clear
    /// assert_eq!(wire.len(), 4 + 1000);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_uncompressed(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::SendSequence);
        }
        if kind == MessageKind::Text && core::str::from_utf8(data).is_err() {
            return Err(Error::SendInvalidUtf8);
        }
        self.encode_frame(true, opcode_of(kind), data);
        Ok(())
    }

    /// Whether a message of `len` bytes goes out compressed.
    fn should_compress(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = &self.deflate {
            return len >= d.threshold && d.tx.usable();
        }
        let _ = len;
        false
    }

    /// Queues one fragment of a message sent in several frames (RFC 6455
    /// §5.4), so a large message can be streamed without building it whole.
    ///
    /// The first call opens the message with `kind`; later calls continue it
    /// (with the same `kind`) and the one with `fin` set ends it. Control
    /// frames ([`send_ping`](Self::send_ping) etc.) may be sent between
    /// fragments; other messages may not. Text fragments may split a code
    /// point; the joined text must be UTF-8, checked as fragments go.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event, MessageKind};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// let euro = "€".as_bytes(); // 3 bytes, split inside the code point
    /// client.send_fragment(MessageKind::Text, &euro[..1], false).unwrap();
    /// client.send_ping(b"between").unwrap();
    /// client.send_fragment(MessageKind::Text, &euro[1..], true).unwrap();
    /// server.feed(&client.take_output());
    /// assert_eq!(server.next_event().unwrap(), Some(Event::Ping(b"between")));
    /// assert_eq!(server.next_event().unwrap(), Some(Event::Text("€")));
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.check_can_send()?;
        let opcode = match self.sending {
            None => {
                self.send_utf8.reset();
                // Streamed messages are compressed whatever their size: it is
                // not known yet.
                self.sending_compressed = self.should_compress(usize::MAX);
                opcode_of(kind)
            }
            Some(k) if k == kind => OpCode::Continuation,
            Some(_) => return Err(Error::SendSequence),
        };
        if kind == MessageKind::Text {
            let mut check = self.send_utf8.clone();
            if check.feed(data).is_err() || (fin && !check.is_complete()) {
                return Err(Error::SendInvalidUtf8);
            }
            self.send_utf8 = check;
        }
        self.sending = if fin { None } else { Some(kind) };
        let compress = self.sending_compressed;
        encode_data(
            &mut self.out,
            self.keys.as_mut(),
            self.deflate.as_deref_mut(),
            opcode,
            fin,
            data,
            compress,
        );
        Ok(())
    }

    /// Queues a Ping with `payload` (at most 125 bytes, RFC 6455 §5.5).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_ping(b"still there?")?;
    /// server.feed(&client.take_output());
    /// assert_eq!(server.next_event()?, Some(Event::Ping(b"still there?")));
    /// client.feed(&server.take_output()); // the server's automatic Pong
    /// assert_eq!(client.next_event()?, Some(Event::Pong(b"still there?")));
    /// assert_eq!(client.send_ping(&[0; 126]), Err(Error::InvalidControlPayload(126)));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Queues a Pong with `payload` (at most 125 bytes). Pongs are sent
    /// automatically in answer to Pings unless
    /// [`Config::auto_pong`](crate::Config::auto_pong) is off; an unsolicited
    /// Pong serves as a one-way heartbeat (§5.5.3).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut config = Config::default();
    /// config.auto_pong = false;
    /// let mut server = Connection::server(config);
    /// let mut client = Connection::client(Config::default());
    /// client.send_ping(b"1")?;
    /// server.feed(&client.take_output());
    /// assert_eq!(server.next_event()?, Some(Event::Ping(b"1")));
    /// assert!(!server.has_output()); // not answered: the application does it
    /// server.send_pong(b"1")?;
    /// assert_eq!(server.take_output(), b"\x8a\x011");
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2): queues a Close frame
    /// with `code` and `reason` (at most 123 bytes of UTF-8). Received
    /// messages are still delivered until the peer's Close arrives; nothing
    /// more can be sent.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Error, State};
    /// let mut server = Connection::server(Config::default());
    /// server.close(CloseCode::NORMAL, "bye").unwrap();
    /// assert_eq!(server.state(), State::Closing);
    /// assert_eq!(server.take_output(), b"\x88\x05\x03\xe8bye");
    /// assert_eq!(server.send_text("late"), Err(Error::SendAfterClose));
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.close_with(Some(code), reason)
    }

    /// Like [`close`](Self::close), with an empty body when `code` is `None`.
    /// Both check the frame with [`check_outgoing`](crate::close::check_outgoing)
    /// first: a code RFC 6455 §7.4 keeps off the wire (1005, 1006, 1015,
    /// reserved ones) is [`Error::InvalidSendCode`], whatever the state.
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Error};
    /// let mut c = Connection::server(Config::default());
    /// assert_eq!(c.close_with(Some(CloseCode::ABNORMAL), ""), Err(Error::InvalidSendCode(1006)));
    /// assert!(!c.has_output());
    /// ```
    pub fn close_with(&mut self, code: Option<CloseCode>, reason: &str) -> Result<(), Error> {
        crate::close::check_outgoing(code, reason)?;
        self.check_can_send()?;
        self.queue_close(code, reason)?;
        Ok(())
    }

    /// Queues frames encoded once with [`encode_shared`] (or
    /// `encode_shared_compressed`, feature `deflate`) without copying them: the bytes are
    /// referenced from the queue. Only for the server role, whose frames are
    /// not masked (a client must mask every frame with a fresh key).
    ///
    /// With permessage-deflate on, what goes out depends on how the frame
    /// was made and on what this connection agreed (RFC 7692 §7.1):
    ///
    /// - made with [`encode_shared`]: the uncompressed frame, always (an
    ///   uncompressed message is valid on any connection and does not touch
    ///   the compression context);
    /// - made with `encode_shared_compressed`, message at least the
    ///   connection's threshold: if the connection keeps no context in its
    ///   sending direction (`server_no_context_takeover`) and its window is
    ///   at least the one the frame was compressed with, the compressed
    ///   frame made once; otherwise (context takeover, or a smaller window)
    ///   the connection compresses the message itself, since its peer's
    ///   window must hold the history this connection's compressor assumes.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, MessageKind};
    /// use rfc6455::connection::encode_shared;
    /// let frame = encode_shared(MessageKind::Text, b"to everyone");
    /// let mut a = Connection::server(Config::default());
    /// let mut b = Connection::server(Config::default());
    /// a.send_shared(&frame).unwrap();
    /// b.send_shared(&frame).unwrap();
    /// assert_eq!(a.take_output(), frame.as_bytes());
    /// ```
    pub fn send_shared(&mut self, frame: &SharedFrame) -> Result<(), Error> {
        self.check_can_send()?;
        if self.sending.is_some() || self.role == Role::Client {
            return Err(Error::SendSequence);
        }
        #[cfg(feature = "deflate")]
        if let (Some(d), Some(m)) = (self.deflate.as_deref_mut(), &frame.message) {
            let (compressed, bits) = &m.compressed;
            let payload = &frame.bytes[m.header_len..];
            if payload.len() >= d.threshold && d.tx.usable() {
                if !d.tx.keeps_context() && d.tx.window_bits() >= *bits {
                    self.out.push_shared(Arc::clone(compressed));
                } else {
                    let opcode = m.opcode;
                    encode_data(&mut self.out, None, Some(d), opcode, true, payload, true);
                }
                return Ok(());
            }
        }
        self.out.push_shared(Arc::clone(&frame.bytes));
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), Error> {
        if self.close_sent || self.phase != Phase::Open {
            return Err(Error::SendAfterClose);
        }
        Ok(())
    }

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::InvalidControlPayload(payload.len()));
        }
        self.encode_frame(true, opcode, payload);
        Ok(())
    }

    /// Queues a Close frame and moves to closing.
    pub(super) fn queue_close(
        &mut self,
        code: Option<CloseCode>,
        reason: &str,
    ) -> Result<(), Error> {
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => {
                body[..2].copy_from_slice(&code.as_u16().to_be_bytes());
                let r = &reason.as_bytes()[..reason.len().min(MAX_REASON_LEN)];
                body[2..2 + r.len()].copy_from_slice(r);
                2 + r.len()
            }
            None => 0,
        };
        self.encode_frame(true, OpCode::Close, &body[..len]);
        self.note_close_sent();
        if self.phase == Phase::Open {
            self.phase = Phase::Closing;
        }
        Ok(())
    }

    /// Encodes one uncompressed frame into the outgoing buffer.
    fn encode_frame(&mut self, fin: bool, opcode: OpCode, payload: &[u8]) {
        encode_into(&mut self.out, self.keys.as_mut(), fin, opcode, 0, payload);
    }

    /// Queues the text or binary message just returned by
    /// [`next_event`](Self::next_event) (or made ready by
    /// [`prepare_event`](Self::prepare_event)) back to the peer, copied
    /// straight from the receive buffer into the send buffer: an echo with
    /// no intermediate copy. Returns `false` (queuing nothing) if the ready
    /// event is not a data message.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_text("echo me").unwrap();
    /// server.feed(&client.take_output());
    /// assert!(server.next_event().unwrap().is_some());
    /// assert!(server.echo_event().unwrap());
    /// client.feed(&server.take_output());
    /// assert_eq!(client.next_event().unwrap(), Some(Event::Text("echo me")));
    /// ```
    pub fn echo_event(&mut self) -> Result<bool, Error> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(Error::SendSequence);
        }
        let compress = self.should_compress(self.event().map_or(0, |e| match e {
            crate::Event::Text(t) => t.len(),
            crate::Event::Binary(b) => b.len(),
            _ => 0,
        }));
        let (opcode, payload): (OpCode, &[u8]) = match self.ready {
            Some(super::Ready::Assembled(kind)) => (opcode_of(kind), &self.assembly),
            Some(super::Ready::InPlace {
                opcode: op @ (OpCode::Text | OpCode::Binary),
                start,
                end,
            }) => (op, &self.rx[self.rx_start + start..self.rx_start + end]),
            _ => return Ok(false),
        };
        encode_data(
            &mut self.out,
            self.keys.as_mut(),
            self.deflate.as_deref_mut(),
            opcode,
            true,
            payload,
            compress,
        );
        Ok(true)
    }
}

type Keys<'a> = Option<&'a mut alloc::boxed::Box<dyn crate::rand::KeySource + Send>>;

/// Encodes a data frame, compressing its payload first when `compress`
/// (RFC 7692 §7.2.1: RSV1 on the message's first frame only; the sync
/// flush's tail removed from its last).
fn encode_data(
    out: &mut crate::outgoing::Outgoing,
    keys: Keys<'_>,
    deflate: Option<&mut super::DeflateState>,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    compress: bool,
) {
    #[cfg(feature = "deflate")]
    if let (true, Some(d)) = (compress, deflate) {
        d.scratch.clear();
        d.tx.compress(payload, &mut d.scratch, fin);
        let rsv = if opcode == OpCode::Continuation {
            0
        } else {
            crate::frame::RSV1
        };
        encode_into(out, keys, fin, opcode, rsv, &d.scratch);
        if fin && (d.scratch.capacity() > 64 << 10 || !d.tx.keeps_context()) {
            // Nothing kept between messages when the context is not either.
            d.scratch = Vec::new();
        }
        return;
    }
    #[cfg(not(feature = "deflate"))]
    let _ = (deflate, compress);
    encode_into(out, keys, fin, opcode, 0, payload);
}

/// Encodes one frame into `out`: unmasked for a server (`keys` is `None`),
/// masked while copying for a client (one pass, RFC 6455 §5.3).
fn encode_into(
    out: &mut crate::outgoing::Outgoing,
    keys: Keys<'_>,
    fin: bool,
    opcode: OpCode,
    rsv: u8,
    payload: &[u8],
) {
    let mask = keys.map(|k| k.masking_key());
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let hlen = header.encode(&mut head);
    let slot = out.slot(hlen + payload.len());
    slot[..hlen].copy_from_slice(&head[..hlen]);
    match mask {
        None => slot[hlen..].copy_from_slice(payload),
        // Masked while copying: one pass over the payload.
        Some(key) => crate::mask::mask_into(&mut slot[hlen..], payload, key, 0),
    }
}

/// The header of a frame whose payload the caller writes itself (see
/// [`Connection::send_direct`]).
///
/// ```
/// use rfc6455::{Config, Connection, MessageKind};
/// let mut server = Connection::server(Config::default());
/// let payload = b"hello";
/// let mut transport = Vec::new(); // any `Write`
/// match server.send_direct(MessageKind::Text, payload)? {
///     Some(header) => {
///         transport.extend_from_slice(header.as_bytes());
///         transport.extend_from_slice(payload); // straight from the caller's buffer
///     }
///     None => server.send_text("hello")?,
/// }
/// assert_eq!(transport, b"\x81\x05hello");
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl DirectHeader {
    /// The header's bytes (2 to 10 for a server frame).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// for (len, header_len) in [(125, 2), (126, 4), (65_536, 10)] {
    ///     let header = server.send_direct(MessageKind::Binary, &vec![0; len])?.unwrap();
    ///     assert_eq!(header.as_bytes().len(), header_len);
    /// }
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

fn opcode_of(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}

/// Encodes a complete unmasked (server-role) message once, to be queued on
/// any number of connections with [`Connection::send_shared`].
///
/// ```
/// use rfc6455::connection::encode_shared;
/// use rfc6455::{Config, Connection, Event, MessageKind};
/// let frame = encode_shared(MessageKind::Binary, &[1, 2, 3]);
/// assert_eq!(frame.as_bytes(), [0x82, 0x03, 1, 2, 3]);
/// let mut server = Connection::server(Config::default());
/// server.send_shared(&frame)?;
/// let mut client = Connection::client(Config::default());
/// client.feed(&server.take_output());
/// assert_eq!(client.next_event()?, Some(Event::Binary(&[1, 2, 3])));
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub fn encode_shared(kind: MessageKind, payload: &[u8]) -> SharedFrame {
    let (bytes, _) = encode_whole(kind, 0, payload);
    SharedFrame {
        bytes,
        message: None,
    }
}

/// Like [`encode_shared`], and also compresses the message once
/// (permessage-deflate, RFC 7692 §7.2.1) with no context, at `config.level`
/// and a window of `config.server_max_window_bits`. Every connection that
/// agreed `server_no_context_takeover` with a window at least that large
/// sends these compressed bytes, made once; see
/// [`Connection::send_shared`] for the others.
///
/// ```
/// use rfc6455::connection::encode_shared_compressed;
/// use rfc6455::deflate::{DeflateConfig, Negotiated};
/// use rfc6455::{Config, Connection, Event, MessageKind};
/// let line = "the same line, for every client ".repeat(4);
/// let frame = encode_shared_compressed(MessageKind::Text, line.as_bytes(), &DeflateConfig::default());
/// let agreed = Negotiated {
///     server_no_context_takeover: true,
///     client_no_context_takeover: true,
///     server_max_window_bits: 15,
///     client_max_window_bits: 15,
/// };
/// let mut server = Connection::server(Config::default());
/// server.enable_deflate(agreed, &DeflateConfig::default());
/// server.send_shared(&frame).unwrap();
/// let wire = server.take_output();
/// assert_eq!(Some(&wire[..]), frame.compressed_bytes());
/// assert!(wire.len() < line.len());
///
/// let mut client = Connection::client(Config::default());
/// client.enable_deflate(agreed, &DeflateConfig::default());
/// client.feed(&wire);
/// assert_eq!(client.next_event().unwrap(), Some(Event::Text(&line)));
/// ```
#[cfg(feature = "deflate")]
pub fn encode_shared_compressed(
    kind: MessageKind,
    payload: &[u8],
    config: &crate::deflate::DeflateConfig,
) -> SharedFrame {
    let (bytes, header_len) = encode_whole(kind, 0, payload);
    let bits = config.server_max_window_bits;
    let mut deflater = crate::deflate::Deflater::new(config.level, bits, true);
    let message = deflater.usable().then(|| {
        let mut z = Vec::new();
        deflater.compress(payload, &mut z, true);
        let (compressed, _) = encode_whole(kind, crate::frame::RSV1, &z);
        Arc::new(crate::outgoing::SharedMessage {
            opcode: opcode_of(kind),
            header_len,
            compressed: (compressed, bits),
        })
    });
    SharedFrame { bytes, message }
}

/// One whole unmasked frame, and the length of its header.
fn encode_whole(kind: MessageKind, rsv: u8, payload: &[u8]) -> (Arc<[u8]>, usize) {
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode: opcode_of(kind),
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let hlen = header.encode(&mut head);
    let mut v = Vec::with_capacity(hlen + payload.len());
    v.extend_from_slice(&head[..hlen]);
    v.extend_from_slice(payload);
    (Arc::from(v), hlen)
}
