//! Differential test of the masking functions against a byte-by-byte XOR.
//!
//! Input layout: 4 key bytes, 1 offset byte, 1 count byte `k` (low 3 bits),
//! `k` split-point bytes, then the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::mask::{apply_mask, mask_extend, mask_into};

fn naive(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[(offset.wrapping_add(i)) % 4])
        .collect()
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 6 {
        return;
    }
    let key = [input[0], input[1], input[2], input[3]];
    // Offsets far from zero (and near usize::MAX - data.len()) as well as small ones.
    let offset = match input[4] >> 6 {
        0 => (input[4] & 0x3f) as usize,
        1 => (input[4] & 0x3f) as usize * 4093,
        2 => usize::MAX / 2 + (input[4] & 0x3f) as usize,
        _ => (u32::MAX as usize) - (input[4] & 0x3f) as usize,
    };
    let nsplits = (input[5] & 7) as usize;
    if input.len() < 6 + nsplits {
        return;
    }
    let splits = &input[6..6 + nsplits];
    let data = &input[6 + nsplits..];
    let expected = naive(data, key, offset);

    // apply_mask in place, whole.
    let mut a = data.to_vec();
    apply_mask(&mut a, key, offset);
    assert_eq!(a, expected, "apply_mask key {key:x?} offset {offset}");
    // Masking is its own inverse.
    apply_mask(&mut a, key, offset);
    assert_eq!(a, data);

    // mask_into, whole.
    let mut b = vec![0xA5u8; data.len()];
    mask_into(&mut b, data, key, offset);
    assert_eq!(b, expected, "mask_into key {key:x?} offset {offset}");

    // mask_extend onto a non-empty vector leaves the prefix alone.
    let prefix_len = (input[5] >> 3) as usize;
    let mut c = vec![0x5Au8; prefix_len];
    mask_extend(&mut c, data, key, offset);
    assert!(c[..prefix_len].iter().all(|&x| x == 0x5A));
    assert_eq!(&c[prefix_len..], &expected[..], "mask_extend key {key:x?} offset {offset}");

    // In pieces, with running offsets: split points taken from the input.
    let mut cuts: Vec<usize> = splits
        .iter()
        .map(|&s| if data.is_empty() { 0 } else { s as usize * 7 % (data.len() + 1) })
        .collect();
    cuts.push(0);
    cuts.push(data.len());
    cuts.sort_unstable();
    let mut p = data.to_vec();
    let mut q = Vec::new();
    let mut r = vec![0u8; data.len()];
    for w in cuts.windows(2) {
        let (s, e) = (w[0], w[1]);
        let off = offset.wrapping_add(s);
        apply_mask(&mut p[s..e], key, off);
        mask_extend(&mut q, &data[s..e], key, off);
        mask_into(&mut r[s..e], &data[s..e], key, off);
    }
    assert_eq!(p, expected, "apply_mask in pieces {cuts:?}");
    assert_eq!(q, expected, "mask_extend in pieces {cuts:?}");
    assert_eq!(r, expected, "mask_into in pieces {cuts:?}");
});
