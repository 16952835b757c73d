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
}

/// Last pieces up to this size are joined with the tail (one library call).
const JOIN_LIMIT: usize = 16 << 10;

impl Inflater {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Inflater {
            state: None,
            keep: !no_context_takeover,
            scratch: Vec::new(),
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
                // A final block (BFINAL): the stream is over. Only the tail we
                // append ourselves may follow; the next message starts afresh.
                self.state = None;
                return if input.is_empty() || input == TAIL {
                    Ok(())
                } else {
                    Err(Error::InvalidCompressedData)
                };
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
            self.inflate(input, out, limit)?;
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
        if !self.keep || r.is_err() {
            self.state = None;
        }
        r
    }

    /// Ends a message: inflates the tail the sender removed, and drops the
    /// state if the peer does not keep its context.
    pub(crate) fn finish_message(&mut self, out: &mut Vec<u8>, limit: usize) -> Result<(), Error> {
        let r = self.inflate(&TAIL, out, limit);
        if !self.keep || r.is_err() {
            self.state = None;
        }
        r
    }
}
