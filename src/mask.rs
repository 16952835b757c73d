//! Payload masking (RFC 6455 §5.3).
//!
//! Masking XORs each payload byte `i` with byte `i % 4` of the 4-byte masking
//! key. The functions here take an `offset` (how many payload bytes precede
//! `buf` in the frame) so a payload can be unmasked piece by piece as it
//! arrives.
//!
//! The work is done on 32-byte blocks with a fixed-size inner loop, which the
//! compiler turns into vector instructions, in safe code.
//!
//! ```
//! use rfc6455::mask::apply_mask;
//! let key = [1, 2, 3, 4];
//! let mut payload = b"masked on the wire".to_vec();
//! apply_mask(&mut payload, key, 0);
//! assert_ne!(payload, b"masked on the wire");
//! apply_mask(&mut payload, key, 0); // its own inverse
//! assert_eq!(payload, b"masked on the wire");
//! ```

const BLOCK: usize = 32;

#[inline]
fn rotated(key: [u8; 4], offset: usize) -> [u8; 4] {
    let r = offset % 4;
    [key[r], key[(r + 1) % 4], key[(r + 2) % 4], key[(r + 3) % 4]]
}

#[inline]
fn block_of(key: [u8; 4]) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    for (i, b) in block.iter_mut().enumerate() {
        *b = key[i % 4];
    }
    block
}

/// Masks or unmasks `buf` in place with `key`, where `buf` starts `offset`
/// bytes into the frame payload (RFC 6455 §5.3).
///
/// Masking is its own inverse.
///
/// ```
/// use rfc6455::mask::apply_mask;
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key, 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// // Unmask in two pieces, as if the payload arrived split.
/// let (a, b) = data.split_at_mut(2);
/// apply_mask(a, key, 0);
/// apply_mask(b, key, 2);
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotated(key, offset);
    if buf.len() < BLOCK {
        mask_short(buf, key);
        return;
    }
    let block = block_of(key);
    let mut chunks = buf.chunks_exact_mut(BLOCK);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= *k;
        }
    }
    mask_short(chunks.into_remainder(), key);
}

/// Short payloads (and the tail of long ones, which starts at a multiple of
/// 4): 4 bytes at a time, no block set-up.
#[inline]
fn mask_short(buf: &mut [u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut words = buf.chunks_exact_mut(4);
    for w in &mut words {
        let v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) ^ word;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (b, k) in words.into_remainder().iter_mut().zip(key.iter()) {
        *b ^= *k;
    }
}

/// Writes `src` masked with `key` into `dst` in one pass (the client's send
/// path: no copy-then-mask), where `src` starts `offset` bytes into the
/// frame payload.
///
/// # Panics
///
/// If `dst` and `src` differ in length.
///
/// ```
/// use rfc6455::mask::mask_into;
/// let mut out = [0u8; 5];
/// mask_into(&mut out, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(out, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn mask_into(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) {
    assert_eq!(dst.len(), src.len(), "mask_into: length mismatch");
    let key = rotated(key, offset);
    if src.len() < BLOCK {
        mask_into_short(dst, src, key);
        return;
    }
    let block = block_of(key);
    let mut d = dst.chunks_exact_mut(BLOCK);
    let mut s = src.chunks_exact(BLOCK);
    for (dc, sc) in (&mut d).zip(&mut s) {
        for ((o, i), k) in dc.iter_mut().zip(sc.iter()).zip(block.iter()) {
            *o = *i ^ *k;
        }
    }
    mask_into_short(d.into_remainder(), s.remainder(), key);
}

#[inline]
fn mask_into_short(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut d = dst.chunks_exact_mut(4);
    let mut s = src.chunks_exact(4);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let v = u32::from_ne_bytes([sw[0], sw[1], sw[2], sw[3]]) ^ word;
        dw.copy_from_slice(&v.to_ne_bytes());
    }
    for ((o, i), k) in d
        .into_remainder()
        .iter_mut()
        .zip(s.remainder().iter())
        .zip(key.iter())
    {
        *o = *i ^ *k;
    }
}

/// Appends `src` masked with `key` to `out` in one pass, where `src` starts
/// `offset` bytes into the frame payload. The client's send path uses it to
/// mask while copying into the outgoing buffer.
///
/// ```
/// use rfc6455::mask::mask_extend;
/// let mut out = vec![0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
/// mask_extend(&mut out, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&out[6..], &[0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn mask_extend(out: &mut alloc::vec::Vec<u8>, src: &[u8], key: [u8; 4], offset: usize) {
    if src.len() < BLOCK {
        // Short payloads (chat messages): a plain loop, no block set-up.
        let key = rotated(key, offset);
        out.extend(src.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        return;
    }
    // Copy, then mask the copy while it is still in cache: two passes that
    // each run at memory-copy speed beat one pass through a temporary.
    let start = out.len();
    out.extend_from_slice(src);
    apply_mask(&mut out[start..], key, offset);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn agrees_with_bytewise_xor_at_every_offset_and_length() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            for offset in 0..8 {
                let mut a = data[..len].to_vec();
                let mut b = a.clone();
                apply_mask(&mut a, key, offset);
                naive(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
                let mut c = alloc::vec![0u8; len];
                mask_into(&mut c, &data[..len], key, offset);
                assert_eq!(c, b, "mask_into len {len} offset {offset}");
                let mut d = alloc::vec![0xAAu8; 3];
                mask_extend(&mut d, &data[..len], key, offset);
                assert_eq!(&d[3..], &b[..], "mask_extend len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn pieces_equal_whole() {
        let key = [9, 8, 7, 6];
        let mut whole: Vec<u8> = (0..100u8).collect();
        let mut pieces = whole.clone();
        apply_mask(&mut whole, key, 0);
        let mut at = 0;
        for step in [1, 3, 5, 31, 33, 27] {
            let end = (at + step).min(pieces.len());
            apply_mask(&mut pieces[at..end], key, at);
            at = end;
        }
        apply_mask(&mut pieces[at..], key, at);
        assert_eq!(whole, pieces);
    }
}
