//! Compressing and decompressing message payloads (RFC 7692 §7.2), in
//! bounded steps.

use alloc::vec::Vec;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::Error;

/// The 4 octets a sync flush ends with, removed on send and put back on
/// receive (RFC 7692 §7.2.1, §7.2.2).
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Room for output is added at most this much at a time, and the buffer's
/// capacity never passes the message limit plus one byte: a decompression
/// bomb is caught as soon as its output passes the limit, with the buffer
/// no larger than the limit allows.
const STEP: usize = 64 << 10;

/// The smallest first step: room for a chat message and inflate's fast path.
const MIN_STEP: usize = 4 << 10;

/// One direction's compressor. With `no_context_takeover` the state is
/// dropped after every message, so an idle connection keeps none.
pub(crate) struct Deflater {
    state: Option<Compress>,
    level: u32,
    window_bits: u8,
    keep: bool,
}

impl Deflater {
    pub(crate) fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        Deflater {
            state: None,
            level: level.min(9),
            window_bits,
            keep: !no_context_takeover,
        }
    }

    /// Whether this direction can compress at all: a window of 8 bits is
    /// not available from the library (see `DeflateConfig`).
    pub(crate) fn usable(&self) -> bool {
        self.window_bits >= 9
    }

    /// Appends the compressed form of `input` to `out`, ending with a sync
    /// flush; strips the tail when `last` (the message's final fragment).
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, last: bool) {
        let (bits, level) = (self.window_bits, self.level);
        let c = self.state.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        let start = out.len();
        let mut rest = input;
        loop {
            out.reserve(rest.len() / 2 + 64);
            let before_in = c.total_in();
            // A raw deflate stream fed valid buffers cannot fail.
            let _ = c.compress_vec(rest, out, FlushCompress::Sync);
            rest = &rest[(c.total_in() - before_in) as usize..];
            // The flush is complete once all input is in and room was left over.
            if rest.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if last {
            if out.len() >= start + 4 && out[out.len() - 4..] == TAIL {
                out.truncate(out.len() - 4);
            }
            if out.len() == start {
                // An empty message: one empty block (RFC 7692 §7.2.3.6).
                out.push(0x00);
            }
            self.end_message();
        }
    }

    /// The LZ77 window this direction may use, in bits.
    pub(crate) fn window_bits(&self) -> u8 {
        self.window_bits
    }

    /// Whether state is kept between messages (context takeover).
    pub(crate) fn keeps_context(&self) -> bool {
        self.keep
    }

    fn end_message(&mut self) {
        if !self.keep {
            self.state = None;
        }
    }
}

/// One direction's decompressor.
pub(crate) struct Inflater {
    state: Option<Decompress>,
    keep: bool,
    /// A short last piece of a message with the tail appended, so that it
    /// is inflated in one call rather than two.
    scratch: Vec<u8>,
    /// Set once a block with BFINAL ended the deflate stream inside the
    /// current message: what followed it so far.
    trailer: Option<Trailer>,
}

/// The bytes that follow a final block (BFINAL set) in a message, the tail
/// appended on receive included: RFC 7692 §7.2.3.4 lets a sender end a
/// message's stream with BFINAL and then add one byte, `0x00`, so that the
/// usual `00 00 ff ff` completes an empty stored block behind it. Nothing
/// but empty stored blocks may follow a final block; a few are kept to be
/// checked at the message's end, and more are garbage.
#[derive(Default)]
struct Trailer {
    bytes: [u8; 24],
    len: usize,
}

impl Trailer {
    /// Adds bytes that came after the final block; more than a few is an
    /// error.
    fn push(&mut self, input: &[u8]) -> Result<(), Error> {
        let end = self.len + input.len();
        let dest = self
            .bytes
            .get_mut(self.len..end)
            .ok_or(Error::InvalidCompressedData)?;
        dest.copy_from_slice(input);
        self.len = end;
        Ok(())
    }

    /// Whether the message may end here: nothing was sent after the final
    /// block (only our tail is here), or one or more empty stored blocks,
    /// each a header byte with BFINAL either way, BTYPE 00 and zero padding,
    /// then LEN 0 and NLEN 0xffff (RFC 1951 §3.2.4), the last completed by
    /// our tail.
    fn is_complete(&self) -> bool {
        let t = &self.bytes[..self.len];
        t == TAIL
            || (!t.is_empty()
                && t.len() % 5 == 0
                && t.chunks_exact(5).all(|b| b[0] <= 1 && b[1..] == TAIL))
    }
}

/// Last pieces up to this size are joined with the tail (one library call).
const JOIN_LIMIT: usize = 16 << 10;

impl Inflater {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Inflater {
            state: None,
            keep: !no_context_takeover,
            scratch: Vec::new(),
            trailer: None,
        }
    }

    /// Inflates `input` onto the end of `out`, never letting `out` exceed
    /// `limit` bytes: output is produced in bounded steps and counted as it
    /// comes, so a decompression bomb fails with 1009 having produced at most
    /// the limit plus one byte.
    pub(crate) fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        if let Some(t) = &mut self.trailer {
            return t.push(input);
        }
        // Always a full window: it decodes streams made with any smaller one.
        let d = self
            .state
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
        // The first step guesses generously (text inflates 3-8x; inflate's
        // fast path wants a few hundred bytes of room to spare), later ones
        // double. Output goes straight into the buffer's spare capacity
        // (never zero-filled), which `reserve_capped` keeps within
        // `limit + 1` bytes in total: however much a step inflates, the
        // buffer never outgrows the limit.
        let mut step = (input.len() * 8).clamp(MIN_STEP, STEP);
        loop {
            let len = out.len();
            if len > limit {
                return Err(Error::MessageTooLarge { limit });
            }
            let room = step.min(limit + 1 - len);
            crate::connection::reserve_capped(out, room, limit + 1);
            let spare = out.capacity() - len;
            let before_in = d.total_in();
            let status = d.decompress_vec(input, out, FlushDecompress::Sync);
            let produced = out.len() - len;
            let status = status.map_err(|_| Error::InvalidCompressedData)?;
            input = &input[(d.total_in() - before_in) as usize..];
            if out.len() > limit {
                return Err(Error::MessageTooLarge { limit });
            }
            if status == Status::StreamEnd {
                // A final block (BFINAL): the stream is over. What follows is
                // checked at the message's end (see `Trailer`); the next
                // message starts a new stream, with an empty window: a sender
                // that ended its stream has no context left to take over.
                self.state = None;
                let mut trailer = Trailer::default();
                trailer.push(input)?;
                self.trailer = Some(trailer);
                return Ok(());
            }
            if input.is_empty() && produced < spare {
                return Ok(());
            }
            if produced == 0 && status == Status::BufError {
                return Err(Error::InvalidCompressedData);
            }
            step = (step * 2).min(STEP);
        }
    }

    /// Inflates the last piece of a message together with the tail the
    /// sender removed, and ends the message.
    pub(crate) fn inflate_last(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), Error> {
        if input.len() > JOIN_LIMIT {
            if let Err(e) = self.inflate(input, out, limit) {
                self.state = None;
                self.trailer = None;
                return Err(e);
            }
            return self.finish_message(out, limit);
        }
        let mut joined = core::mem::take(&mut self.scratch);
        joined.clear();
        joined.extend_from_slice(input);
        joined.extend_from_slice(&TAIL);
        let r = self.inflate(&joined, out, limit);
        if self.keep {
            self.scratch = joined;
        }
        self.end_message(r)
    }

    /// Ends a message: inflates the tail the sender removed, and drops the
    /// state if the peer does not keep its context.
    pub(crate) fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), Error> {
        let r = self.inflate(&TAIL, out, limit);
        self.end_message(r)
    }

    /// The message is over, with the tail inflated (`r`): checks what
    /// followed a final block, if one came, and drops the state when the
    /// peer keeps no context or the message failed.
    fn end_message(&mut self, r: Result<(), Error>) -> Result<(), Error> {
        let r = r.and_then(|()| match self.trailer.take() {
            Some(t) if !t.is_complete() => Err(Error::InvalidCompressedData),
            _ => Ok(()),
        });
        self.trailer = None;
        if !self.keep || r.is_err() {
            self.state = None;
        }
        r
    }
}
