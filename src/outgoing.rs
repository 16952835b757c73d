//! The queue of encoded bytes waiting to be written to the transport.
//!
//! Frames are encoded into one contiguous buffer. Frames encoded once and
//! shared between many connections ([`SharedFrame`]) are queued by reference
//! instead, between the inline bytes, so that a broadcast to thousands of
//! connections neither re-encodes nor copies the payload per connection.
//! The caller writes [`Outgoing::chunks`] (vectored, in order) and reports
//! what was written with [`Outgoing::consume`].
//!
//! [`encode_shared`] (and, with permessage-deflate, `encode_shared_compressed`)
//! make a [`SharedFrame`]; both are here, beside the type.
//!
//! ```
//! use rfc6455::outgoing::encode_shared;
//! use rfc6455::{Config, Connection, MessageKind};
//! let frame = encode_shared(MessageKind::Text, b"to all");
//! let mut room: Vec<Connection> = (0..3).map(|_| Connection::server(Config::default())).collect();
//! for conn in &mut room {
//!     conn.send_shared(&frame)?; // queued by reference: no copy per connection
//! }
//! assert_eq!(room[2].output_len(), frame.as_bytes().len());
//! # Ok::<(), rfc6455::Error>(())
//! ```

pub use crate::connection::encode_shared;
#[cfg(feature = "deflate")]
pub use crate::connection::encode_shared_compressed;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// One or more complete frames, encoded once, that can be queued on many
/// connections without copying (see [`Connection::send_shared`]).
///
/// [`Connection::send_shared`]: crate::Connection::send_shared
///
/// Made by [`encode_shared`] (one uncompressed frame) or, with
/// permessage-deflate, `encode_shared_compressed` (the same frame plus a
/// compressed encoding made once, for every connection that can take it).
///
/// ```
/// use rfc6455::outgoing::encode_shared;
/// use rfc6455::{Config, Connection, Error, MessageKind};
/// let frame = encode_shared(MessageKind::Text, b"news");
/// let copy = frame.clone(); // a reference count, not a copy of the bytes
/// assert_eq!(copy.as_bytes().as_ptr(), frame.as_bytes().as_ptr());
/// let mut server = Connection::server(Config::default());
/// server.send_shared(&copy)?;
/// let mut client = Connection::client(Config::default());
/// assert_eq!(client.send_shared(&frame), Err(Error::SendSequence)); // clients mask every frame
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedFrame {
    pub(crate) bytes: Arc<[u8]>,
    /// With a compressed encoding: what a connection needs to choose
    /// (boxed, so that a queued frame costs a queue three words).
    pub(crate) message: Option<Arc<SharedMessage>>,
}

/// What a connection needs to send a shared message some other way than
/// its uncompressed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SharedMessage {
    pub(crate) opcode: crate::frame::OpCode,
    /// The frame header's length in `SharedFrame::bytes`; the payload follows.
    pub(crate) header_len: usize,
    /// The message compressed with no context (RSV1 set), made once, and
    /// the LZ77 window it was made with (in bits).
    pub(crate) compressed: (Arc<[u8]>, u8),
}

impl SharedFrame {
    /// The encoded frame bytes, uncompressed.
    ///
    /// ```
    /// use rfc6455::outgoing::encode_shared;
    /// use rfc6455::MessageKind;
    /// let frame = encode_shared(MessageKind::Text, b"hi");
    /// assert_eq!(frame.as_bytes(), b"\x81\x02hi"); // header and payload, unmasked
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The compressed encoding of the message (RSV1 set, made once), if
    /// it was made with `encode_shared_compressed`.
    ///
    /// ```
    /// use rfc6455::deflate::DeflateConfig;
    /// use rfc6455::outgoing::{encode_shared, encode_shared_compressed};
    /// use rfc6455::MessageKind;
    /// let text = "again and ".repeat(50);
    /// let plain = encode_shared(MessageKind::Text, text.as_bytes());
    /// assert_eq!(plain.compressed_bytes(), None);
    ///
    /// let both = encode_shared_compressed(MessageKind::Text, text.as_bytes(), &DeflateConfig::default());
    /// let z = both.compressed_bytes().unwrap();
    /// assert_eq!(z[0], 0xc1); // FIN, RSV1 (compressed), text
    /// assert!(z.len() < both.as_bytes().len());
    /// assert_eq!(both.as_bytes(), plain.as_bytes()); // the uncompressed frame is kept too
    /// ```
    pub fn compressed_bytes(&self) -> Option<&[u8]> {
        self.message.as_ref().map(|m| &m.compressed.0[..])
    }
}

#[derive(Debug)]
struct SharedChunk {
    /// Position in the inline buffer after which this chunk is to be sent.
    at: usize,
    data: Arc<[u8]>,
    /// Bytes of `data` already written.
    start: usize,
}

/// Encoded bytes waiting to be written, in order.
///
/// A connection's queue is [`Connection::output`](crate::Connection::output).
/// Frames encoded by the connection are copied in; shared frames are queued
/// by reference, and come out in the order they were sent.
///
/// ```
/// use rfc6455::outgoing::{encode_shared, Outgoing};
/// use rfc6455::{Config, Connection, MessageKind};
/// let mut server = Connection::server(Config::default());
/// server.send_text("a")?;
/// server.send_shared(&encode_shared(MessageKind::Text, b"all"))?;
/// server.send_text("b")?;
/// let out: &mut Outgoing = server.output();
/// let mut transport = Vec::new(); // any `Write`
/// while !out.is_empty() {
///     let run = out.front();
///     transport.extend_from_slice(run);
///     let n = run.len();
///     out.consume(n);
/// }
/// assert_eq!(transport, b"\x81\x01a\x81\x03all\x81\x01b");
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Inline bytes live in `buf[..end]`; `buf[end..]` is initialised spare
    /// room (zeroed once, when the buffer grew), so frames are written into
    /// it in place with no second pass.
    buf: Vec<u8>,
    end: usize,
    /// Bytes of `buf` already written.
    pos: usize,
    shared: VecDeque<SharedChunk>,
    queued: usize,
}

impl Outgoing {
    /// Total bytes waiting.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("hello")?;
    /// assert_eq!(server.output().len(), 2 + 5);
    /// server.output().consume(2); // the header was written
    /// assert_eq!(server.output().len(), 5);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Heap bytes held by the queue: its inline buffer and its list of
    /// references to shared frames (not the shared frames themselves).
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut server = Connection::server(Config::default());
    /// assert_eq!(server.output().capacity(), 0); // nothing held until something is sent
    /// server.send_binary(&vec![0; 1 << 20])?;
    /// assert!(server.output().capacity() >= (1 << 20) + 10);
    /// let _ = server.take_output(); // written: the buffer goes back
    /// assert!(server.output().capacity() <= Config::default().buffer_retain);
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.shared.capacity() * core::mem::size_of::<SharedChunk>()
    }

    /// Whether nothing is waiting.
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut server = Connection::server(Config::default());
    /// assert!(server.output().is_empty());
    /// server.send_ping(b"")?;
    /// assert!(!server.output().is_empty());
    /// server.output().consume(2);
    /// assert!(server.output().is_empty());
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Appends `n` bytes to the inline buffer and returns them to be filled
    /// in (their previous contents are unspecified).
    #[inline]
    pub(crate) fn slot(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() - self.end < n {
            let new_len = (self.end + n).max(self.buf.len() * 2).max(64);
            // Zeroes only the new part, once.
            self.buf.resize(new_len, 0);
        }
        let start = self.end;
        self.end += n;
        self.queued += n;
        &mut self.buf[start..self.end]
    }

    /// Appends bytes, copied, to be written after everything queued: the
    /// part of a [directly written](crate::Connection::send_direct) frame
    /// the transport did not take. Bytes that are not the rest of a frame
    /// corrupt the stream.
    ///
    /// ```
    /// use rfc6455::{Config, Connection, Event, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// let payload = vec![7u8; 1000];
    /// let header = server.send_direct(MessageKind::Binary, &payload)?.unwrap();
    /// let mut transport = Vec::new();
    /// // A vectored write of header and payload that took only 100 bytes:
    /// transport.extend_from_slice(header.as_bytes()); // 4 bytes
    /// transport.extend_from_slice(&payload[..96]);
    /// server.output().push_bytes(&payload[96..]); // the rest goes out before anything else
    /// server.send_text("next")?;
    /// transport.extend_from_slice(&server.take_output());
    ///
    /// let mut client = Connection::client(Config::default());
    /// client.feed(&transport);
    /// assert_eq!(client.next_event()?, Some(Event::Binary(&payload)));
    /// assert_eq!(client.next_event()?, Some(Event::Text("next")));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        self.slot(bytes.len()).copy_from_slice(bytes);
    }

    pub(crate) fn push_shared(&mut self, data: Arc<[u8]>) {
        self.queued += data.len();
        if !data.is_empty() {
            self.shared.push_back(SharedChunk {
                at: self.end,
                data,
                start: 0,
            });
        }
    }

    /// The first contiguous run of bytes to write (empty when nothing waits).
    ///
    /// ```
    /// use rfc6455::outgoing::encode_shared;
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let frame = encode_shared(MessageKind::Binary, &[9; 3]);
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("a")?;
    /// server.send_shared(&frame)?;
    /// let out = server.output();
    /// assert_eq!(out.front(), b"\x81\x01a"); // the inline bytes before the shared frame
    /// out.consume(3);
    /// assert_eq!(out.front().as_ptr(), frame.as_bytes().as_ptr()); // then the frame itself
    /// out.consume(5);
    /// assert_eq!(out.front(), b"");
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[inline]
    pub fn front(&self) -> &[u8] {
        let limit = self.shared.front().map_or(self.end, |s| s.at);
        if self.pos < limit {
            &self.buf[self.pos..limit]
        } else if let Some(s) = self.shared.front() {
            &s.data[s.start..]
        } else {
            &[]
        }
    }

    /// Fills `out` with the runs of bytes to write, in order, and returns how
    /// many it filled (for a vectored write).
    ///
    /// ```
    /// use std::io::{IoSlice, Write};
    /// use rfc6455::outgoing::encode_shared;
    /// use rfc6455::{Config, Connection, MessageKind};
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("a")?;
    /// server.send_shared(&encode_shared(MessageKind::Text, b"all"))?;
    /// server.send_text("b")?;
    /// let out = server.output();
    /// let mut runs: [&[u8]; 8] = [&[]; 8];
    /// let n = out.chunks(&mut runs);
    /// assert_eq!(n, 3); // inline, shared, inline
    /// let slices: Vec<IoSlice> = runs[..n].iter().map(|r| IoSlice::new(r)).collect();
    /// let mut transport = Vec::new(); // any `Write`
    /// let written = transport.write_vectored(&slices).unwrap();
    /// out.consume(written);
    /// assert!(out.is_empty());
    /// assert_eq!(transport, b"\x81\x01a\x81\x03all\x81\x01b");
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn chunks<'a>(&'a self, out: &mut [&'a [u8]]) -> usize {
        let mut n = 0;
        let mut pos = self.pos;
        let mut first = true;
        for s in self.shared.iter() {
            if n == out.len() {
                return n;
            }
            if pos < s.at {
                out[n] = &self.buf[pos..s.at];
                n += 1;
                if n == out.len() {
                    return n;
                }
            }
            pos = pos.max(s.at);
            let start = if first { s.start } else { 0 };
            first = false;
            out[n] = &s.data[start..];
            n += 1;
        }
        if n < out.len() && pos < self.end {
            out[n] = &self.buf[pos..self.end];
            n += 1;
        }
        n
    }

    /// Marks the first `n` bytes as written.
    ///
    /// # Panics
    ///
    /// If `n` exceeds [`len`](Self::len).
    ///
    /// ```
    /// use rfc6455::{Config, Connection};
    /// let mut server = Connection::server(Config::default());
    /// server.send_text("hello")?;
    /// let out = server.output();
    /// out.consume(4); // a short write: the header and "he"
    /// assert_eq!(out.front(), b"llo");
    /// out.consume(3);
    /// assert!(out.is_empty());
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn consume(&mut self, mut n: usize) {
        assert!(n <= self.queued, "consumed more output than was queued");
        self.queued -= n;
        while n > 0 {
            let limit = self.shared.front().map_or(self.end, |s| s.at);
            if self.pos < limit {
                let k = n.min(limit - self.pos);
                self.pos += k;
                n -= k;
            } else if let Some(s) = self.shared.front_mut() {
                let k = n.min(s.data.len() - s.start);
                s.start += k;
                n -= k;
                if s.start == s.data.len() {
                    self.shared.pop_front();
                }
            }
        }
        // A shared chunk fully written leaves nothing else to do; inline bytes
        // fully written let the buffer start over.
        if self.queued == 0 {
            self.end = 0;
            self.pos = 0;
            self.shared.clear();
        }
    }

    /// Whether [`shrink_if_idle`](Self::shrink_if_idle) with `retain` would
    /// give something back (once everything is written).
    pub(crate) fn oversized(&self, retain: usize) -> bool {
        self.buf.capacity() > retain
            || self.shared.capacity() * core::mem::size_of::<SharedChunk>() > retain
    }

    /// Releases capacity beyond `retain` once everything has been written.
    pub(crate) fn shrink_if_idle(&mut self, retain: usize) {
        if self.queued != 0 {
            return;
        }
        if self.buf.capacity() > retain {
            self.buf = Vec::new();
            self.end = 0;
        }
        // A burst of shared frames grew the list of references: give it
        // back too (it costs 32 bytes per frame queued at once).
        if self.shared.capacity() * core::mem::size_of::<SharedChunk>() > retain {
            self.shared = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_all(o: &mut Outgoing, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while !o.is_empty() {
            let f = o.front();
            let k = f.len().min(step);
            got.extend_from_slice(&f[..k]);
            o.consume(k);
        }
        got
    }

    #[test]
    fn inline_and_shared_come_out_in_order() {
        for step in [1, 2, 3, 7, 100] {
            let mut o = Outgoing::default();
            o.slot(2).copy_from_slice(b"ab");
            o.push_shared(Arc::from(&b"SHARED"[..]));
            o.push_shared(Arc::from(&b"TWO"[..]));
            o.slot(2).copy_from_slice(b"cd");
            o.push_shared(Arc::from(&b"END"[..]));
            let mut v: [&[u8]; 8] = [&[]; 8];
            let n = o.chunks(&mut v);
            let joined: Vec<u8> = v[..n].concat();
            assert_eq!(joined, b"abSHAREDTWOcdEND");
            assert_eq!(drain_all(&mut o, step), b"abSHAREDTWOcdEND", "step {step}");
            assert_eq!(o.len(), 0);
        }
    }

    #[test]
    fn chunks_after_partial_consume() {
        let mut o = Outgoing::default();
        o.slot(3).copy_from_slice(b"abc");
        o.push_shared(Arc::from(&b"XYZ"[..]));
        o.consume(4);
        let mut v: [&[u8]; 4] = [&[]; 4];
        let n = o.chunks(&mut v);
        assert_eq!(v[..n].concat(), b"YZ");
        let mut one: [&[u8]; 1] = [&[]; 1];
        assert_eq!(o.chunks(&mut one), 1);
        assert_eq!(one[0], b"YZ");
    }
}
