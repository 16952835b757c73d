//! Frame headers: decoding from partial input and encoding (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! ```
//!
//! This module knows the wire format only. Which combinations are allowed
//! (masking direction, RSV bits, control frame rules, limits) is decided by
//! the [`Connection`](crate::Connection), which knows the role and the
//! negotiated extensions.

use crate::error::Error;

/// The longest possible frame header: 2 bytes, an 8-byte length, a 4-byte key.
///
/// ```
/// use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
/// let h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: Some([1; 4]), payload_len: 1 << 40 };
/// assert_eq!(h.encoded_len(), MAX_HEADER_LEN);
/// ```
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 §5.5).
///
/// ```
/// use rfc6455::frame::MAX_CONTROL_PAYLOAD;
/// use rfc6455::{Config, Connection};
/// let mut conn = Connection::server(Config::default());
/// assert!(conn.send_ping(&[0; MAX_CONTROL_PAYLOAD]).is_ok());
/// assert!(conn.send_ping(&[0; MAX_CONTROL_PAYLOAD + 1]).is_err());
/// ```
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2, §11.8). Reserved opcodes are rejected when
/// decoding, so this type holds only the six defined ones.
///
/// ```
/// use rfc6455::frame::{FrameHeader, OpCode};
/// let (header, _) = FrameHeader::parse(&[0x89, 0x00])?.unwrap(); // an empty Ping
/// assert_eq!(header.opcode, OpCode::Ping);
/// assert!(header.opcode.is_control());
/// assert_eq!(OpCode::Text as u8, 0x1);
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: continues a fragmented message (§5.4).
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: Close (§5.5.1).
    Close = 0x8,
    /// 0x9: Ping (§5.5.2).
    Ping = 0x9,
    /// 0xA: Pong (§5.5.3).
    Pong = 0xA,
}

impl OpCode {
    /// Decodes the low four bits of the first header byte.
    ///
    /// ```
    /// use rfc6455::frame::OpCode;
    /// use rfc6455::Error;
    /// assert_eq!(OpCode::from_u8(0x2), Ok(OpCode::Binary));
    /// assert_eq!(OpCode::from_u8(0x3), Err(Error::ReservedOpcode(0x3)));
    /// ```
    pub fn from_u8(v: u8) -> Result<OpCode, Error> {
        Ok(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(Error::ReservedOpcode(other)),
        })
    }

    /// Whether this is a control opcode (most significant bit set, §5.5).
    ///
    /// ```
    /// use rfc6455::frame::OpCode;
    /// assert!(OpCode::Close.is_control() && OpCode::Pong.is_control());
    /// assert!(!OpCode::Continuation.is_control());
    /// ```
    #[inline]
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// A decoded frame header.
///
/// ```
/// use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
/// // A masked "Hello" (RFC 6455 §5.7).
/// let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (header, len) = FrameHeader::parse(&wire)?.unwrap();
/// assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
/// assert_eq!((header.opcode, header.payload_len, len), (OpCode::Text, 5, 6));
///
/// let mut out = [0; MAX_HEADER_LEN];
/// let n = header.encode(&mut out);
/// assert_eq!(out[..n], wire[..len]);
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The three RSV bits, RSV1 as `0b100`, RSV2 as `0b010`, RSV3 as `0b001`.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the MASK bit was set.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// RSV1, as it appears in [`FrameHeader::rsv`] (used by permessage-deflate, RFC 7692).
///
/// ```
/// use rfc6455::frame::{FrameHeader, RSV1};
/// let (header, _) = FrameHeader::parse(&[0xc1, 0x00])?.unwrap(); // a compressed text frame
/// assert_eq!(header.rsv & RSV1, RSV1);
/// # Ok::<(), rfc6455::Error>(())
/// ```
pub const RSV1: u8 = 0b100;

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold the whole header; never
    /// reads past `buf`. Fails on a reserved opcode or a 64-bit length with
    /// its most significant bit set (§5.2).
    ///
    /// ```
    /// use rfc6455::frame::{FrameHeader, OpCode};
    /// // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
    /// let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    /// let (h, len) = FrameHeader::parse(&wire).unwrap().unwrap();
    /// assert_eq!((h.fin, h.opcode, h.payload_len, len), (true, OpCode::Text, 5, 2));
    /// assert_eq!(FrameHeader::parse(&wire[..1]).unwrap(), None);
    /// ```
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let b0 = buf[0];
        let b1 = buf[1];
        let opcode = OpCode::from_u8(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let (payload_len, mut at) = match b1 & 0x7f {
            126 => {
                if buf.len() < 4 {
                    return Ok(None);
                }
                (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
            }
            127 => {
                if buf.len() < 10 {
                    return Ok(None);
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                let len = u64::from_be_bytes(b);
                if len >> 63 != 0 {
                    return Err(Error::InvalidLength);
                }
                (len, 10)
            }
            n => (n as u64, 2),
        };
        let mask = if masked {
            if buf.len() < at + 4 {
                return Ok(None);
            }
            let key = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
            at += 4;
            Some(key)
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv: (b0 >> 4) & 0x7,
                opcode,
                mask,
                payload_len,
            },
            at,
        )))
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    ///
    /// ```
    /// use rfc6455::frame::{FrameHeader, OpCode};
    /// let mut h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Text, mask: None, payload_len: 125 };
    /// assert_eq!(h.encoded_len(), 2);
    /// h.payload_len = 126; // a 16-bit length follows
    /// assert_eq!(h.encoded_len(), 4);
    /// h.mask = Some([0; 4]);
    /// assert_eq!(h.encoded_len(), 8);
    /// ```
    #[inline]
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header into `out`, using the shortest length form as
    /// §5.2 requires, and returns the number of bytes written.
    ///
    /// ```
    /// use rfc6455::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
    /// // RFC 6455 §5.7: 256 bytes binary data in a single unmasked frame.
    /// let h = FrameHeader { fin: true, rsv: 0, opcode: OpCode::Binary, mask: None, payload_len: 256 };
    /// let mut out = [0u8; MAX_HEADER_LEN];
    /// let n = h.encode(&mut out);
    /// assert_eq!(&out[..n], &[0x82, 0x7E, 0x01, 0x00]);
    /// ```
    #[inline]
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_5_7_headers() {
        type Case<'a> = (&'a [u8], OpCode, bool, Option<[u8; 4]>, u64);
        let cases: &[Case] = &[
            (&[0x81, 0x05], OpCode::Text, true, None, 5),
            (
                &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d],
                OpCode::Text,
                true,
                Some([0x37, 0xfa, 0x21, 0x3d]),
                5,
            ),
            (&[0x01, 0x03], OpCode::Text, false, None, 3),
            (&[0x80, 0x02], OpCode::Continuation, true, None, 2),
            (&[0x89, 0x05], OpCode::Ping, true, None, 5),
            (
                &[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d],
                OpCode::Pong,
                true,
                Some([0x37, 0xfa, 0x21, 0x3d]),
                5,
            ),
            (&[0x82, 0x7E, 0x01, 0x00], OpCode::Binary, true, None, 256),
            (
                &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0],
                OpCode::Binary,
                true,
                None,
                65536,
            ),
        ];
        for &(wire, opcode, fin, mask, len) in cases {
            for cut in 0..wire.len() {
                assert_eq!(
                    FrameHeader::parse(&wire[..cut]).unwrap(),
                    None,
                    "{wire:x?} cut {cut}"
                );
            }
            let (h, n) = FrameHeader::parse(wire).unwrap().unwrap();
            assert_eq!(n, wire.len());
            assert_eq!(
                (h.opcode, h.fin, h.mask, h.payload_len, h.rsv),
                (opcode, fin, mask, len, 0)
            );
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut out);
            assert_eq!(&out[..n], wire);
            assert_eq!(h.encoded_len(), wire.len());
        }
    }

    #[test]
    fn reserved_opcodes_and_msb_length_fail() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                FrameHeader::parse(&[0x80 | op, 0]),
                Err(Error::ReservedOpcode(op))
            );
        }
        let wire = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(FrameHeader::parse(&wire), Err(Error::InvalidLength));
    }

    #[test]
    fn rsv_bits_are_reported() {
        let (h, _) = FrameHeader::parse(&[0xf1, 0]).unwrap().unwrap();
        assert_eq!(h.rsv, 0b111);
        let (h, _) = FrameHeader::parse(&[0xc1, 0]).unwrap().unwrap();
        assert_eq!(h.rsv, RSV1);
    }

    #[test]
    fn minimal_length_encoding() {
        for (len, hlen) in [
            (0u64, 2),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
            (1 << 40, 10),
        ] {
            let h = FrameHeader {
                fin: true,
                rsv: 0,
                opcode: OpCode::Binary,
                mask: None,
                payload_len: len,
            };
            let mut out = [0u8; MAX_HEADER_LEN];
            assert_eq!(h.encode(&mut out), hlen);
            let (back, n) = FrameHeader::parse(&out[..hlen]).unwrap().unwrap();
            assert_eq!((back, n), (h, hlen));
        }
    }
}
