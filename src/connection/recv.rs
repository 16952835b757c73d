//! The receiving half: buffering, frame decoding, message assembly.

use core::str;

use super::{Connection, End, Event, FrameInProgress, MessageKind, Phase, Ready, Release, Role};
use crate::close::{CloseCode, CloseFrame};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_CONTROL_PAYLOAD, RSV1};
use crate::mask::apply_mask;

/// The least free space a read is offered.
const MIN_SPARE: usize = 256;

/// What a decoding step produced.
enum Step {
    NeedMore,
    Continue,
    Ready(Ready),
}

impl Connection {
    // ---- getting bytes in ----

    /// Space at the end of the receive buffer to read the transport into;
    /// report what was read with [`commit_read`](Self::commit_read).
    ///
    /// The space offered starts at [`Config::read_buffer_size`] and doubles
    /// while reads keep filling it, up to [`Config::max_read_size`]; it is
    /// larger while a big frame is arriving, so the frame lands in one buffer
    /// with no copy. Memory is zeroed only when the buffer grows, never per
    /// read.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("hi")?;
    /// let wire = client.take_output();
    ///
    /// let mut server = Connection::server(Config::default());
    /// let buf = server.read_buf(); // a transport read goes here
    /// assert!(buf.len() >= Config::default().read_buffer_size);
    /// buf[..wire.len()].copy_from_slice(&wire);
    /// server.commit_read(wire.len());
    /// assert_eq!(server.next_event()?, Some(Event::Text("hi")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    ///
    /// [`Config::read_buffer_size`]: crate::Config::read_buffer_size
    /// [`Config::max_read_size`]: crate::Config::max_read_size
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.discarding_input() {
            // Nothing more will be decoded: reads land in a scratch area and
            // are thrown away (see `commit_read`).
            self.ready = None;
            self.release = Release::Nothing;
            self.rx_start = 0;
            self.rx_end = 0;
            if self.rx.len() < MIN_SPARE {
                self.rx.resize(MIN_SPARE, 0);
            }
            return &mut self.rx[..];
        }
        // Offer at least half the read size: a buffer that still holds the
        // start of a frame (small frames straddle every read) is compacted,
        // and grown to the read size, rather than offering only the few
        // bytes left behind the partial frame.
        let mut need = MIN_SPARE.max(self.read_size / 2);
        let mut cap = usize::MAX;
        if let Some(f) = &self.frame {
            if f.in_place {
                let total = f.header_len + f.header.payload_len as usize;
                let rest = total.saturating_sub(self.rx_end - self.rx_start);
                need = need.max(rest);
                if rest >= self.read_size {
                    // A large frame: read up to its end and no further, so
                    // the next frame starts at the front of the emptied
                    // buffer instead of being moved there.
                    cap = rest;
                }
            }
        }
        self.reserve_rx(need);
        let end = self.rx.len().min(self.rx_end.saturating_add(cap));
        &mut self.rx[self.rx_end..end]
    }

    /// Records that `n` bytes were read into the start of
    /// [`read_buf`](Self::read_buf).
    ///
    /// Call it right after the read, before any other call on the
    /// connection: [`handle_timeout`](Self::handle_timeout) in between may
    /// give the (empty) receive buffer back, and the bytes with it.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the space `read_buf` offered.
    ///
    /// ```
    /// use std::io::Read;
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("hello")?;
    /// let wire = client.take_output();
    /// let mut transport = &wire[..]; // any `Read`
    ///
    /// let mut server = Connection::server(Config::default());
    /// let n = transport.read(&mut server.read_buf()[..3]).unwrap(); // a short read
    /// server.commit_read(n);
    /// assert_eq!(server.next_event()?, None); // the frame is not all there
    /// let n = transport.read(server.read_buf()).unwrap();
    /// server.commit_read(n);
    /// assert_eq!(server.next_event()?, Some(Event::Text("hello")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn commit_read(&mut self, n: usize) {
        let offered = self.rx.len() - self.rx_end;
        assert!(
            n <= offered,
            "commit_read: more bytes than read_buf offered"
        );
        if self.discarding_input() {
            // Nothing more is decoded after a Close or a failure.
            return;
        }
        self.rx_end += n;
        self.last_read = n;
        // A read that filled a good-sized buffer suggests more is waiting:
        // offer more next time.
        if n == offered && n >= self.read_size / 2 && self.read_size < self.config.max_read_size {
            self.read_size = (self.read_size * 2).min(self.config.max_read_size);
        }
    }

    /// Copies received bytes into the connection. Prefer
    /// [`read_buf`](Self::read_buf) + [`commit_read`](Self::commit_read) to
    /// read straight into the connection's buffer.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_binary(&[1, 2, 3])?;
    /// let wire = client.take_output(); // 2 header bytes, 4 of mask, 3 of payload
    /// server.feed(&wire[..7]);
    /// assert_eq!(server.next_event()?, None); // needs the rest of the frame
    /// server.feed(&wire[7..]);
    /// assert_eq!(server.next_event()?, Some(Event::Binary(&[1, 2, 3])));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn feed(&mut self, data: &[u8]) {
        if data.is_empty() || self.discarding_input() {
            return;
        }
        self.reserve_rx(data.len());
        self.rx[self.rx_end..self.rx_end + data.len()].copy_from_slice(data);
        self.rx_end += data.len();
        self.last_read = data.len();
    }

    /// After the peer's Close, or a failure, nothing more is decoded: bytes
    /// still arriving (a client waits for the server to close TCP) are
    /// dropped rather than buffered.
    fn discarding_input(&self) -> bool {
        self.phase.decoding_over()
    }

    /// Reports that the transport has no more bytes to give (EOF).
    ///
    /// If the closing handshake had not completed, the next
    /// [`next_event`](Self::next_event) reports [`Error::AbnormalClosure`]
    /// (close code 1006, RFC 6455 §7.1.5).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Error, State};
    /// let mut client = Connection::client(Config::default());
    /// client.feed_eof(); // the server hung up without a Close frame
    /// assert_eq!(client.next_event(), Err(Error::AbnormalClosure));
    /// assert_eq!(client.state(), State::Closed);
    /// assert_eq!(client.peer_close_code(), Some(CloseCode::ABNORMAL));
    /// assert_eq!(client.next_event(), Ok(None)); // reported once
    /// ```
    pub fn feed_eof(&mut self) {
        if self.eof {
            return;
        }
        self.eof = true;
        match self.phase {
            Phase::Open => {
                self.phase = Phase::Closed(End::Failed);
                self.peer_close_code = Some(CloseCode::ABNORMAL);
                self.pending_error = Some(Error::AbnormalClosure);
            }
            Phase::Closing => {
                // We sent our Close; the peer hung up without answering.
                self.phase = Phase::Closed(End::Eof);
                self.peer_close_code = Some(CloseCode::ABNORMAL);
            }
            Phase::Closed(_) => {}
        }
    }

    /// Reports that the transport can no longer send: a write failed,
    /// typically because the peer closed or reset the connection right after
    /// sending a Close frame that says why (1009 for a message over its
    /// limit, 1008 for a policy, …).
    ///
    /// Queued output is discarded and nothing more is sent, as if a Close
    /// had gone out (sends fail with [`Error::SendAfterClose`]; no Pong,
    /// Close echo or keepalive Ping is queued). What the peer already sent
    /// is still decoded: its Close frame, with code and reason, comes from
    /// [`next_event`](Self::next_event) like any other, and the connection
    /// ends there, at EOF ([`feed_eof`](Self::feed_eof)), when reading fails
    /// too ([`abort`](Self::abort)), or after
    /// [`Config::close_timeout`](crate::Config::close_timeout).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Config, Connection, Event, State};
    /// let mut client = Connection::client(Config::default());
    /// client.send_binary(&[0; 4096]).unwrap();
    /// // Writing that failed: the server hung up. What it sent first:
    /// client.write_failed();
    /// client.feed(b"\x88\x02\x03\xf1"); // Close 1009
    /// match client.next_event().unwrap() {
    ///     Some(Event::Close(c)) => assert_eq!(c.code, Some(CloseCode::MESSAGE_TOO_BIG)),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(!client.has_output());
    /// assert!(client.should_close_transport());
    /// ```
    pub fn write_failed(&mut self) {
        self.write_closed = true;
        let n = self.out.len();
        self.out.consume(n);
        if !self.close_sent {
            self.note_close_sent();
        }
        if self.phase == Phase::Open {
            self.phase = Phase::Closing;
        }
    }

    /// Ends the connection at once because the transport failed (or the
    /// application gives up on it): state
    /// [`State::Closed`](crate::State::Closed), nothing more is delivered,
    /// queued output is discarded, and
    /// [`should_close_transport`](Self::should_close_transport) is true.
    /// Unlike [`feed_eof`](Self::feed_eof), no error is reported afterwards:
    /// the caller already has the transport's.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, State};
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("never written")?;
    /// server.abort(); // say, the transport reported a reset
    /// assert_eq!(server.state(), State::Closed);
    /// assert!(!server.has_output());
    /// assert!(server.should_close_transport());
    /// assert_eq!(server.next_event()?, None); // no error of its own
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn abort(&mut self) {
        self.eof = true;
        self.phase = Phase::Closed(End::Failed);
        self.frame = None;
        self.message = None;
        self.ready = None;
        self.pending_error = None;
        let n = self.out.len();
        self.out.consume(n);
        if self.peer_close_code.is_none() {
            self.peer_close_code = Some(CloseCode::ABNORMAL);
        }
    }

    /// Bytes received and not yet consumed by decoding.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_text("hello")?;
    /// let wire = client.take_output();
    /// server.feed(&wire[..3]);
    /// assert_eq!(server.next_event()?, None);
    /// assert_eq!(server.buffered_input(), 3); // kept until the frame is whole
    /// server.feed(&wire[3..]);
    /// assert_eq!(server.next_event()?, Some(Event::Text("hello")));
    /// assert_eq!(server.next_event()?, None);
    /// assert_eq!(server.buffered_input(), 0);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn buffered_input(&self) -> usize {
        self.rx_end - self.rx_start
    }

    /// Makes room for at least `need` more bytes at the end of the receive
    /// buffer: first by moving unconsumed bytes to the front, then by growing
    /// (to the current read size at least).
    fn reserve_rx(&mut self, need: usize) {
        self.apply_release();
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
            self.resize_idle_rx();
        }
        if self.rx.len() - self.rx_end >= need {
            return;
        }
        if self.rx_start > 0 {
            self.rx.copy_within(self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
            if self.rx.len() - self.rx_end >= need {
                return;
            }
        }
        let new_len = (self.rx_end + need)
            .max(self.read_size)
            .max(self.rx.len() * 2);
        let new_len =
            new_len.min((self.rx_end + need).max(self.read_size.max(self.config.max_read_size)));
        // Zeroes only the new part, once: later reads reuse it as is.
        self.rx.resize(new_len, 0);
    }

    /// With the buffer empty: adapt its size to the traffic. Reads that
    /// filled little of it shrink the read size (down to
    /// `Config::read_buffer_size`); a buffer grown for a large frame goes
    /// back to the read size.
    fn resize_idle_rx(&mut self) {
        let base = self.config.read_buffer_size.max(MIN_SPARE);
        if self.last_read < self.read_size / 4 && self.read_size > base {
            // Traffic dropped: size the buffer for reads like the last one.
            self.read_size = (self.last_read * 2)
                .next_power_of_two()
                .clamp(base, self.read_size);
        }
        // A buffer grown for large frames is kept while they keep coming
        // (regrowing it per frame would cost a reallocation and a zeroing
        // pass each time); it goes back once traffic drops, here or from
        // the idle timer (`handle_timeout`).
        // (A buffer up to 4x the read size is kept: shrinking it at once
        // would make reads that alternate between full and short reallocate
        // back and forth.)
        if self.rx.len() > self.read_size.saturating_mul(4) && self.last_read < self.read_size / 4 {
            self.shrink_buffers();
        } else if self.rx.len() < self.read_size {
            self.rx.resize(self.read_size, 0);
        }
    }

    /// Gives back memory beyond the idle sizes: the receive buffer (when it
    /// holds nothing), the reassembly and send buffers (when empty).
    pub(super) fn shrink_buffers(&mut self) {
        if self.rx_start == self.rx_end && self.frame.is_none() && self.ready.is_none() {
            let base = self.config.read_buffer_size.max(MIN_SPARE);
            self.rx_start = 0;
            self.rx_end = 0;
            self.read_size = base;
            if self.rx.len() > base {
                self.rx.truncate(base);
                self.rx.shrink_to(base);
            }
        }
        if self.assembly.is_empty()
            && self.message.is_none()
            && self.assembly.capacity() > self.config.buffer_retain
        {
            self.assembly = alloc::vec::Vec::new();
        }
        self.out.shrink_if_idle(self.config.buffer_retain);
    }

    /// Whether some buffer holds more than it keeps when idle.
    pub(super) fn buffers_oversized(&self) -> bool {
        self.rx.len() > self.config.read_buffer_size.max(MIN_SPARE)
            || self.assembly.capacity() > self.config.buffer_retain
            || self.out.oversized(self.config.buffer_retain)
    }

    fn apply_release(&mut self) {
        // Whatever event was prepared is gone once its bytes are released.
        self.ready = None;
        match core::mem::replace(&mut self.release, Release::Nothing) {
            Release::Nothing => {}
            Release::Rx(n) => self.rx_start += n,
            Release::Message => {
                self.assembly.clear();
                // Kept while messages keep coming (regrowing it per message
                // costs reallocations); a large one is dropped at once, the
                // rest by the idle timer (`shrink_buffers`).
                if self.assembly.capacity()
                    > self.config.max_read_size.max(self.config.buffer_retain)
                {
                    self.assembly = alloc::vec::Vec::new();
                }
            }
        }
    }

    // ---- getting events out ----

    /// Decodes the next event from the bytes received so far.
    ///
    /// Returns `Ok(None)` when more bytes are needed — or, once
    /// [`state`](Self::state) is [`State::Closed`](crate::State::Closed),
    /// forever. Returns an error once when the peer violated the protocol;
    /// the Close frame carrying
    /// [`Error::close_code`] is then already queued.
    ///
    /// The event borrows the connection's buffers until the next call.
    /// Equivalent to [`prepare_event`](Self::prepare_event) followed by
    /// [`event`](Self::event).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Error, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_ping(b"?")?;
    /// client.send_text("hi")?;
    /// server.feed(&client.take_output());
    /// assert_eq!(server.next_event()?, Some(Event::Ping(b"?"))); // the Pong is queued
    /// assert_eq!(server.next_event()?, Some(Event::Text("hi")));
    /// assert_eq!(server.next_event()?, None);
    /// assert_eq!(server.take_output(), b"\x8a\x01?");
    ///
    /// server.feed(b"\x81\x02hi"); // unmasked: clients must mask (RFC 6455 §5.1)
    /// assert_eq!(server.next_event(), Err(Error::UnmaskedFrame));
    /// assert_eq!(server.take_output(), b"\x88\x02\x03\xea"); // Close 1002, queued
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, Error> {
        if self.prepare_event()? {
            Ok(self.event())
        } else {
            Ok(None)
        }
    }

    /// Decodes the next event and holds it for [`event`](Self::event);
    /// returns whether one is ready. The two-step form lets a caller loop
    /// "read until an event is ready" and then return the borrowed event.
    /// Errors as [`next_event`](Self::next_event).
    ///
    /// ```
    /// use std::io::Read;
    /// use rfc6455::{Config, Connection, Error, Event};
    ///
    /// /// Reads until an event is ready and returns it, borrowed.
    /// fn recv<'c>(conn: &'c mut Connection, io: &mut impl Read) -> Result<Option<Event<'c>>, Error> {
    ///     while !conn.prepare_event()? {
    ///         match io.read(conn.read_buf()).expect("read") {
    ///             0 => conn.feed_eof(),
    ///             n => conn.commit_read(n),
    ///         }
    ///     }
    ///     Ok(conn.event())
    /// }
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.send_text("hi")?;
    /// let wire = client.take_output();
    /// let mut transport = &wire[..];
    /// let mut server = Connection::server(Config::default());
    /// assert_eq!(recv(&mut server, &mut transport)?, Some(Event::Text("hi")));
    /// assert_eq!(recv(&mut server, &mut transport), Err(Error::AbnormalClosure)); // EOF
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn prepare_event(&mut self) -> Result<bool, Error> {
        self.ready = None;
        self.apply_release();
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        loop {
            if self.phase.decoding_over() {
                return Ok(false);
            }
            let ready = match self.step() {
                Ok(Step::NeedMore) => return Ok(false),
                Ok(Step::Continue) => continue,
                Ok(Step::Ready(r)) => r,
                Err(e) => return self.fail_now(e),
            };
            self.release = match ready {
                Ready::InPlace { end, .. } => Release::Rx(end),
                Ready::Chunk { len, .. } => Release::Rx(len),
                Ready::Assembled(_) => Release::Message,
            };
            self.ready = Some(ready);
            return Ok(true);
        }
    }

    /// The event made ready by the last [`prepare_event`](Self::prepare_event)
    /// that returned `true`, borrowed from the connection's buffers.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_binary(&[1, 2])?;
    /// server.feed(&client.take_output());
    /// assert!(server.prepare_event()?);
    /// assert_eq!(server.event(), Some(Event::Binary(&[1, 2])));
    /// assert_eq!(server.event(), Some(Event::Binary(&[1, 2]))); // held until the next call
    /// assert!(!server.prepare_event()?);
    /// assert_eq!(server.event(), None);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn event(&self) -> Option<Event<'_>> {
        Some(match self.ready? {
            Ready::Assembled(MessageKind::Binary) => Event::Binary(&self.assembly),
            // Validated as it arrived (every byte, and complete at the end).
            Ready::Assembled(MessageKind::Text) => {
                Event::Text(crate::utf8::validated_str(&self.assembly))
            }
            Ready::Chunk { kind, len, fin } => Event::Fragment {
                kind,
                data: &self.rx[self.rx_start..self.rx_start + len],
                fin,
            },
            Ready::InPlace { opcode, start, end } => {
                let payload = &self.rx[self.rx_start + start..self.rx_start + end];
                match opcode {
                    // Validated as it arrived (every byte, and complete at the end).
                    OpCode::Text => Event::Text(crate::utf8::validated_str(payload)),
                    OpCode::Binary | OpCode::Continuation => Event::Binary(payload),
                    OpCode::Ping => Event::Ping(payload),
                    OpCode::Pong => Event::Pong(payload),
                    OpCode::Close => Event::Close(match payload.len() {
                        0 | 1 => CloseFrame {
                            code: None,
                            reason: "",
                        },
                        _ => CloseFrame {
                            code: Some(CloseCode::new(u16::from_be_bytes([
                                payload[0], payload[1],
                            ]))),
                            reason: str::from_utf8(&payload[2..]).unwrap_or_default(),
                        },
                    }),
                }
            }
        })
    }

    /// Like [`next_event`](Self::next_event), but returns an owned
    /// [`Message`](super::Message).
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Message};
    /// let mut client = Connection::client(Config::default());
    /// let mut server = Connection::server(Config::default());
    /// client.send_text("question")?;
    /// server.feed(&client.take_output());
    /// let msg = server.next_message()?; // owned: `server` is free again
    /// server.send_text("answer")?;
    /// assert_eq!(msg, Some(Message::Text("question".into())));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn next_message(&mut self) -> Result<Option<super::Message>, Error> {
        Ok(self.next_event()?.map(|e| e.to_message()))
    }

    /// Fails the connection and returns the error to the caller at once.
    fn fail_now<T>(&mut self, err: Error) -> Result<T, Error> {
        self.fail(err);
        Err(self.pending_error.take().unwrap_or(Error::AbnormalClosure))
    }

    /// Acts on a complete control frame: answers a Ping, matches a Pong to
    /// the keepalive Ping, validates and answers a Close (RFC 6455 §5.5).
    fn receive_control(&mut self, opcode: OpCode, a: usize, b: usize) -> Result<(), Error> {
        let mut copy = [0u8; MAX_CONTROL_PAYLOAD];
        let len = b - a;
        copy[..len].copy_from_slice(&self.rx[a..b]);
        let payload = &copy[..len];
        match opcode {
            OpCode::Ping if self.config.auto_pong && self.phase == Phase::Open => {
                self.send_control(OpCode::Pong, payload)?;
            }
            OpCode::Pong => {
                if let Some((id, _)) = self.ping_outstanding {
                    if payload == id.to_be_bytes() {
                        self.ping_outstanding = None;
                    }
                }
            }
            OpCode::Close => {
                let code = match len {
                    0 => None,
                    1 => return Err(Error::CloseBodyTooShort),
                    _ => {
                        let code = CloseCode::new(u16::from_be_bytes([payload[0], payload[1]]));
                        if !code.is_valid_on_wire() {
                            return Err(Error::InvalidCloseCode(code.as_u16()));
                        }
                        Some(code)
                    }
                };
                let reason = str::from_utf8(payload.get(2..).unwrap_or_default())
                    .map_err(|_| Error::InvalidCloseReason)?;
                self.peer_close_code = Some(code.unwrap_or(CloseCode::NO_STATUS));
                self.message = None;
                if !self.close_sent {
                    // Echo the peer's code and reason (RFC 6455 §5.5.1).
                    let _ = self.queue_close(code, reason);
                }
                self.phase = Phase::Closed(End::PeerClosed);
            }
            _ => {}
        }
        Ok(())
    }

    /// Decodes as far as the buffered bytes allow.
    fn step(&mut self) -> Result<Step, Error> {
        let frame = match self.frame {
            Some(f) => f,
            None => {
                let Some((header, header_len)) =
                    FrameHeader::parse(&self.rx[self.rx_start..self.rx_end])?
                else {
                    return Ok(Step::NeedMore);
                };
                let f = self.begin_frame(header, header_len)?;
                self.frame = Some(f);
                f
            }
        };
        self.last_activity = self.now;
        if frame.in_place {
            self.step_in_place(frame)
        } else {
            self.step_streamed(frame)
        }
    }

    /// Checks a new frame header against RFC 6455 §5 and the limits, and
    /// decides where its payload goes.
    fn begin_frame(&mut self, h: FrameHeader, header_len: usize) -> Result<FrameInProgress, Error> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Error::UnmaskedFrame),
            (Role::Client, true) => return Err(Error::MaskedFrame),
            _ => {}
        }
        let len = h.payload_len;
        let mut data_kind = None;
        let mut compressed = false;
        let in_place = if h.opcode.is_control() {
            if h.rsv != 0 {
                return Err(Error::ReservedBits);
            }
            if !h.fin {
                return Err(Error::FragmentedControl);
            }
            if len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(Error::ControlTooLong(len));
            }
            true
        } else {
            // RSV1 may mark only the first frame of a message (RFC 7692 §6.1).
            let first = h.opcode != OpCode::Continuation;
            let allowed = if first {
                self.allowed_rsv
            } else {
                self.allowed_rsv & !RSV1
            };
            if h.rsv & !allowed != 0 {
                return Err(Error::ReservedBits);
            }
            if len > self.config.max_frame_size as u64 {
                return Err(Error::FrameTooLarge {
                    size: len,
                    limit: self.config.max_frame_size,
                });
            }
            let so_far = match (h.opcode, self.message) {
                (OpCode::Continuation, None) => return Err(Error::UnexpectedContinuation),
                (OpCode::Continuation, Some((_, size))) => size,
                (_, Some(_)) => return Err(Error::ExpectedContinuation),
                (_, None) => 0,
            };
            if so_far as u64 + len > self.config.max_message_size as u64 {
                return Err(Error::MessageTooLarge {
                    limit: self.config.max_message_size,
                });
            }
            if first {
                let kind = if h.opcode == OpCode::Text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                self.utf8.reset();
                compressed = h.rsv & RSV1 != 0 && self.deflate.is_some();
                if !h.fin {
                    self.message = Some((kind, 0));
                    self.message_compressed = compressed;
                    self.assembly.clear();
                }
                if compressed {
                    self.assembly.clear();
                }
                data_kind = Some(kind);
            } else {
                data_kind = self.message.map(|m| m.0);
                compressed = self.message_compressed;
            }
            if let Some((_, size)) = &mut self.message {
                *size += len as usize;
            }
            first && h.fin && (h.rsv & RSV1) == 0 && !self.config.stream_fragments
        };
        if !in_place {
            // The header is done with; the payload moves to the reassembly
            // buffer (or, streaming, to the application) as it arrives.
            self.rx_start += header_len;
            if !self.config.stream_fragments && !compressed {
                self.assembly
                    .reserve((len as usize).min(self.config.max_read_size));
            }
        }
        Ok(FrameInProgress {
            header: h,
            header_len,
            done: 0,
            in_place,
            kind: data_kind,
            compressed,
        })
    }

    /// A frame kept whole in the receive buffer: unmask and check what has
    /// arrived, deliver when complete.
    fn step_in_place(&mut self, mut f: FrameInProgress) -> Result<Step, Error> {
        let len = f.header.payload_len as usize;
        let avail = (self.rx_end - self.rx_start - f.header_len).min(len);
        if avail > f.done {
            let (a, b) = (
                self.rx_start + f.header_len + f.done,
                self.rx_start + f.header_len + avail,
            );
            if let Some(key) = f.header.mask {
                apply_mask(&mut self.rx[a..b], key, f.done);
            }
            // Validated as it arrives, to fail in the frame where the bad
            // byte is (Autobahn 6.4.x).
            if f.header.opcode == OpCode::Text {
                self.utf8
                    .feed(&self.rx[a..b])
                    .map_err(|_| Error::InvalidUtf8)?;
            }
            f.done = avail;
        }
        if avail < len {
            self.frame = Some(f);
            return Ok(Step::NeedMore);
        }
        self.frame = None;
        let (a, b) = (
            self.rx_start + f.header_len,
            self.rx_start + f.header_len + len,
        );
        match f.header.opcode {
            OpCode::Text if !self.utf8.is_complete() => return Err(Error::InvalidUtf8),
            op if op.is_control() => self.receive_control(op, a, b)?,
            _ => {}
        }
        Ok(Step::Ready(Ready::InPlace {
            opcode: f.header.opcode,
            start: f.header_len,
            end: f.header_len + len,
        }))
    }

    /// A frame of a fragmented message: move what has arrived into the
    /// reassembly buffer, unmasked and checked.
    fn step_streamed(&mut self, mut f: FrameInProgress) -> Result<Step, Error> {
        let len = f.header.payload_len as usize;
        let kind = f.kind.unwrap_or(MessageKind::Binary);
        // Compressed messages are always reassembled: the pieces of a deflate
        // stream mean nothing on their own.
        let stream = self.config.stream_fragments && !f.compressed;
        let take = (self.rx_end - self.rx_start).min(len - f.done);
        if take > 0 {
            let (a, b) = (self.rx_start, self.rx_start + take);
            if let Some(key) = f.header.mask {
                apply_mask(&mut self.rx[a..b], key, f.done);
            }
            if f.compressed {
                // The message's last bytes go in with the tail, in one call.
                let last = f.done + take == len && f.header.fin;
                self.inflate_into_assembly(a, b, kind, last)?;
                self.rx_start = b;
            } else {
                if kind == MessageKind::Text {
                    self.utf8
                        .feed(&self.rx[a..b])
                        .map_err(|_| Error::InvalidUtf8)?;
                }
                if !stream {
                    super::reserve_capped(&mut self.assembly, b - a, self.config.max_message_size);
                    self.assembly.extend_from_slice(&self.rx[a..b]);
                    self.rx_start = b;
                }
            }
            f.done += take;
        }
        let complete = f.done == len;
        self.frame = if complete { None } else { Some(f) };
        let fin = complete && f.header.fin;
        if fin {
            self.message = None;
            if f.compressed && take == 0 {
                // An empty last frame: only the tail remains.
                self.inflate_into_assembly(0, 0, kind, true)?;
            }
            if kind == MessageKind::Text && !self.utf8.is_complete() {
                return Err(Error::InvalidUtf8);
            }
        }
        if stream {
            // Hand over what arrived; an empty final frame still ends the message.
            return Ok(if take > 0 || fin {
                Step::Ready(Ready::Chunk {
                    kind,
                    len: take,
                    fin,
                })
            } else if complete {
                Step::Continue
            } else {
                Step::NeedMore
            });
        }
        Ok(if fin {
            Step::Ready(Ready::Assembled(kind))
        } else if complete {
            Step::Continue
        } else {
            Step::NeedMore
        })
    }

    /// Inflates `rx[a..b]` (or, at the end of the message, the removed
    /// tail) onto the reassembly buffer, checking the size limit as output
    /// is produced and validating new text as it appears.
    #[cfg(feature = "deflate")]
    fn inflate_into_assembly(
        &mut self,
        a: usize,
        b: usize,
        kind: MessageKind,
        end: bool,
    ) -> Result<(), Error> {
        let limit = self.config.max_message_size;
        let before = self.assembly.len();
        let Some(d) = self.deflate.as_mut() else {
            return Ok(());
        };
        if end && a < b {
            d.rx.inflate_last(&self.rx[a..b], &mut self.assembly, limit)?;
        } else if end {
            d.rx.finish_message(&mut self.assembly, limit)?;
        } else {
            d.rx.inflate(&self.rx[a..b], &mut self.assembly, limit)?;
        }
        if kind == MessageKind::Text {
            self.utf8
                .feed(&self.assembly[before..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        Ok(())
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate_into_assembly(
        &mut self,
        _: usize,
        _: usize,
        _: MessageKind,
        _: bool,
    ) -> Result<(), Error> {
        Ok(())
    }
}
