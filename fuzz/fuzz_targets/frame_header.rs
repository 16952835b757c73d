//! `FrameHeader::parse` on arbitrary bytes.
//!
//! Invariants: never panics; never claims more bytes than given; needs more
//! input exactly when the header is truncated; fails only on a reserved
//! opcode or a 64-bit length with its top bit set; a parsed header
//! re-encodes to a header that parses back to itself, byte-identical to the
//! input when the input used the minimal length form, and `encoded_len`
//! agrees with `encode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, MAX_HEADER_LEN};
use rfc6455::Error;

/// The header length the bytes announce, from the first two bytes alone.
fn announced_len(b1: u8) -> usize {
    let base = match b1 & 0x7f {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    base + if b1 & 0x80 != 0 { 4 } else { 0 }
}

fuzz_target!(|data: &[u8]| {
    let parsed = FrameHeader::parse(data);

    // Which outcome the bytes call for, computed independently.
    if data.len() >= 2 {
        let op = data[0] & 0x0f;
        if matches!(op, 3..=7 | 0xb..=0xf) {
            assert_eq!(parsed, Err(Error::ReservedOpcode(op)), "{data:x?}");
            return;
        }
    }
    match parsed {
        Err(Error::InvalidLength) => {
            assert!(data.len() >= 10 && data[1] & 0x7f == 127, "{data:x?}");
            assert!(data[2] & 0x80 != 0, "{data:x?}");
        }
        Err(e) => panic!("unexpected error {e:?} for {data:x?}"),
        Ok(None) => {
            assert!(
                data.len() < 2 || data.len() < announced_len(data[1]),
                "needs more bytes though the header is complete: {data:x?}"
            );
        }
        Ok(Some((h, n))) => {
            assert!(n <= data.len(), "claimed {n} of {} bytes", data.len());
            assert!(n <= MAX_HEADER_LEN);
            assert_eq!(n, announced_len(data[1]), "{data:x?}");
            assert_eq!(h.fin, data[0] & 0x80 != 0);
            assert_eq!(h.rsv, (data[0] >> 4) & 7);
            assert_eq!(h.opcode as u8, data[0] & 0x0f);
            assert_eq!(h.mask.is_some(), data[1] & 0x80 != 0);
            assert!(h.payload_len >> 63 == 0);

            // Every strict prefix of the header needs more bytes.
            for cut in 0..n {
                assert_eq!(
                    FrameHeader::parse(&data[..cut]),
                    Ok(None),
                    "prefix {cut} of {data:x?}"
                );
            }
            // Extra trailing bytes change nothing.
            assert_eq!(FrameHeader::parse(&data[..n]), Ok(Some((h, n))));

            let mut out = [0u8; MAX_HEADER_LEN];
            let m = h.encode(&mut out);
            assert_eq!(m, h.encoded_len(), "encoded_len disagrees with encode");
            assert_eq!(
                FrameHeader::parse(&out[..m]),
                Ok(Some((h, m))),
                "re-encoded header does not parse back"
            );
            let minimal = match data[1] & 0x7f {
                126 => h.payload_len >= 126,
                127 => h.payload_len > 0xffff,
                _ => true,
            };
            if minimal {
                assert_eq!(m, n, "minimal input, different encoded length");
                assert_eq!(&out[..m], &data[..n], "minimal input, different bytes");
            } else {
                assert!(m < n, "non-minimal input must re-encode shorter");
            }
        }
    }
});
