//! Differential test of the incremental UTF-8 validator against
//! `core::str::from_utf8`.
//!
//! Input layout: 1 count byte `k` (low 4 bits), `k` split-point bytes, then
//! the text. The text is fed in the pieces the split points make.
//!
//! Invariants: the final verdict (every feed accepted and `is_complete()`)
//! equals `from_utf8`'s; an error is reported only once the bytes fed so far
//! are invalid per `from_utf8` (`error_len().is_some()`), and as soon as they
//! are (fail fast, in the piece holding the bad byte); `is_complete()` after
//! an accepted piece is true exactly when the prefix is valid UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::utf8::Utf8Validator;

fn check(text: &[u8], cuts: &[usize]) {
    let expected = core::str::from_utf8(text).is_ok();
    let mut v = Utf8Validator::new();
    let mut ok = true;
    for w in cuts.windows(2) {
        let (s, e) = (w[0], w[1]);
        let prefix = core::str::from_utf8(&text[..e]);
        let prefix_invalid = matches!(&prefix, Err(err) if err.error_len().is_some());
        match v.feed(&text[s..e]) {
            Err(_) => {
                assert!(
                    prefix_invalid,
                    "error reported at {e} but the prefix {:x?} can still be valid",
                    &text[..e]
                );
                ok = false;
                break;
            }
            Ok(()) => {
                assert!(
                    !prefix_invalid,
                    "prefix {:x?} is invalid but the piece ending at {e} was accepted",
                    &text[..e]
                );
                assert_eq!(
                    v.is_complete(),
                    prefix.is_ok(),
                    "is_complete after the prefix {:x?}",
                    &text[..e]
                );
            }
        }
    }
    let ours = ok && v.is_complete();
    assert_eq!(ours, expected, "verdict on {text:x?} split at {cuts:?}");

    // A reset validator starts over.
    if !ok || !v.is_complete() {
        v.reset();
        assert!(v.is_complete());
        assert!(v.feed(b"ok").is_ok());
        assert!(v.is_complete());
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let n = (n & 0x0f) as usize;
    if rest.len() < n {
        return;
    }
    let (splits, text) = rest.split_at(n);
    let mut cuts: Vec<usize> = splits
        .iter()
        .map(|&s| s as usize % (text.len() + 1))
        .collect();
    cuts.push(0);
    cuts.push(text.len());
    cuts.sort_unstable();
    check(text, &cuts);

    // And byte by byte, the finest split of all (on a bounded prefix: the
    // check is quadratic).
    let text = &text[..text.len().min(256)];
    let all: Vec<usize> = (0..=text.len()).collect();
    check(text, &all);
});
