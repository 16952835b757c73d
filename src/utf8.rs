//! Incremental UTF-8 validation (RFC 6455 §5.6, §8.1).
//!
//! A text message may be split anywhere: across frames, and within a frame
//! whose payload arrives in pieces. [`Utf8Validator`] accepts the bytes in
//! whatever pieces they come and reports an error as soon as the bytes seen
//! so far cannot begin any valid UTF-8 string: Autobahn cases 6.4.1-6.4.4
//! require failing in the frame where the bad byte arrives, not at its end.
//!
//! The bulk of each piece is checked with `core::str::from_utf8` (which has a
//! word-at-a-time ASCII fast path); this module handles what that function
//! does not: a code point split between pieces. `from_utf8` reports an input
//! that stops inside a sequence with `error_len() == None` only when the
//! truncated sequence is still a valid prefix (for instance `F4 90` is
//! rejected at once, since no code point above U+10FFFF exists), which is
//! exactly the fail-fast rule.
//!
//! ```
//! use rfc6455::utf8::Utf8Validator;
//! let mut v = Utf8Validator::new();
//! v.feed(b"caf\xc3")?; // a frame ends inside "é"
//! v.feed(b"\xa9 ok")?; // the next one completes it
//! assert!(v.is_complete());
//! # Ok::<(), rfc6455::utf8::InvalidUtf8>(())
//! ```

/// Validates UTF-8 fed in arbitrary pieces.
///
/// ```
/// use rfc6455::utf8::Utf8Validator;
/// let text = "κόσμε 🦀".as_bytes();
/// let mut v = Utf8Validator::new();
/// for b in text {
///     v.feed(core::slice::from_ref(b)).unwrap(); // one byte at a time
/// }
/// assert!(v.is_complete());
///
/// let mut v = Utf8Validator::new();
/// assert!(v.feed(&[0xF4]).is_ok()); // could still become U+10xxxx
/// assert!(v.feed(&[0x90]).is_err()); // would exceed U+10FFFF: fail now
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Bytes of an incomplete code point carried over from the last piece.
    partial: [u8; 4],
    partial_len: u8,
}

/// The bytes fed so far cannot be the start of valid UTF-8.
///
/// ```
/// use rfc6455::utf8::{InvalidUtf8, Utf8Validator};
/// assert_eq!(Utf8Validator::new().feed(&[0xc0, 0x80]), Err(InvalidUtf8)); // overlong
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a string.
    ///
    /// ```
    /// use rfc6455::utf8::Utf8Validator;
    /// let v = Utf8Validator::new();
    /// assert!(v.is_complete()); // the empty string
    /// ```
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Validates the next piece. After an error, the validator's state is
    /// unspecified; call [`reset`](Self::reset) before reusing it.
    ///
    /// ```
    /// use rfc6455::utf8::Utf8Validator;
    /// let euro = "€".as_bytes(); // E2 82 AC
    /// let mut v = Utf8Validator::new();
    /// v.feed(&euro[..2])?; // split inside the code point: fine so far
    /// assert!(!v.is_complete());
    /// v.feed(&euro[2..])?;
    /// assert!(v.is_complete());
    /// assert!(v.feed(b"\xff").is_err()); // never valid
    /// # Ok::<(), rfc6455::utf8::InvalidUtf8>(())
    /// ```
    #[inline]
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            input = self.complete_partial(input)?;
            if self.partial_len > 0 {
                // The whole input went into the pending code point.
                return Ok(());
            }
        }
        // Most text is ASCII, and `from_utf8` costs about a hundred
        // instructions even on a short ASCII input: check whole words first,
        // and hand only what follows the ASCII prefix to it (the prefix ends
        // on a code point boundary).
        input = &input[ascii_prefix(input)..];
        if input.is_empty() {
            return Ok(());
        }
        match core::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) => {
                if e.error_len().is_some() {
                    return Err(InvalidUtf8);
                }
                // An incomplete but so far valid sequence at the end (at most 3 bytes).
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Moves bytes from `input` into the pending code point until it is
    /// complete (or `input` runs out) and returns the rest of `input`.
    fn complete_partial<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let mut used = 0;
        while used < input.len() {
            let len = self.partial_len as usize;
            self.partial[len] = input[used];
            self.partial_len += 1;
            used += 1;
            match core::str::from_utf8(&self.partial[..len + 1]) {
                Ok(_) => {
                    self.partial_len = 0;
                    break;
                }
                Err(e) if e.error_len().is_none() => {}
                Err(_) => return Err(InvalidUtf8),
            }
        }
        Ok(&input[used..])
    }

    /// Whether everything fed so far is complete, valid UTF-8 (no code point
    /// left unfinished). Call at the end of a message.
    ///
    /// ```
    /// use rfc6455::utf8::Utf8Validator;
    /// let mut v = Utf8Validator::new();
    /// v.feed(&[0xf0, 0x9f])?; // the start of an emoji
    /// assert!(!v.is_complete()); // a message ending here is invalid
    /// # Ok::<(), rfc6455::utf8::InvalidUtf8>(())
    /// ```
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Forgets any pending partial code point.
    ///
    /// ```
    /// use rfc6455::utf8::Utf8Validator;
    /// let mut v = Utf8Validator::new();
    /// v.feed(&[0xe2])?;
    /// v.reset(); // the next message starts afresh
    /// assert!(v.is_complete());
    /// v.feed(b"ok")?;
    /// # Ok::<(), rfc6455::utf8::InvalidUtf8>(())
    /// ```
    #[inline]
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }
}

/// The length of `bytes`' ASCII prefix, in whole 8-byte words (the rest,
/// if any, starts at the first word holding a byte ≥ 0x80, or is shorter
/// than a word and all ASCII): safe code the compiler keeps in registers.
#[inline]
fn ascii_prefix(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let mut n = 0;
    for word in words {
        let w = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        if w & HIGH != 0 {
            return n;
        }
        n += 8;
    }
    if tail.iter().all(|b| b.is_ascii()) {
        n + tail.len()
    } else {
        n
    }
}

/// Views bytes that a [`Utf8Validator`] has accepted completely as `&str`,
/// without checking them a second time.
///
/// Text is validated as it arrives (to fail fast, RFC 6455 §8.1); checking
/// it again to produce the `&str` of the event cost 30% of the time to
/// decode small text messages (profile of the `decode_small` benchmark).
///
/// Callers guarantee that every byte of `bytes` was fed, in order and
/// unmodified since, to a validator that then reported
/// [`is_complete`](Utf8Validator::is_complete). The validator agrees with
/// `core::str::from_utf8` on every input: proptests
/// (`tests/properties.rs`) and a differential fuzz target
/// (`fuzz/fuzz_targets/utf8_validator.rs`) check it; debug builds re-check
/// here.
#[allow(unsafe_code)]
#[inline]
pub(crate) fn validated_str(bytes: &[u8]) -> &str {
    debug_assert!(
        core::str::from_utf8(bytes).is_ok(),
        "validated_str on invalid UTF-8"
    );
    // SAFETY: per the caller's guarantee above, `bytes` is exactly a byte
    // string the validator accepted as complete UTF-8, and the validator
    // accepts precisely what `core::str::from_utf8` accepts.
    unsafe { core::str::from_utf8_unchecked(bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(bytes: &[u8]) {
        let expected = core::str::from_utf8(bytes).is_ok();
        for cut in 0..=bytes.len() {
            let mut v = Utf8Validator::new();
            let ok =
                v.feed(&bytes[..cut]).is_ok() && v.feed(&bytes[cut..]).is_ok() && v.is_complete();
            assert_eq!(ok, expected, "{bytes:x?} cut at {cut}");
        }
        let mut v = Utf8Validator::new();
        let ok = bytes
            .iter()
            .all(|b| v.feed(core::slice::from_ref(b)).is_ok())
            && v.is_complete();
        assert_eq!(ok, expected, "{bytes:x?} bytewise");
    }

    #[test]
    fn boundary_cases() {
        let cases: &[&[u8]] = &[
            b"",
            b"hello",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}".as_bytes(),
            &[0xef, 0xbf, 0xbf],       // U+FFFF
            &[0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
            &[0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
            &[0xed, 0xa0, 0x80],       // surrogate
            &[0xc0, 0x80],             // overlong
            &[0xe0, 0x80, 0x80],       // overlong
            &[0xf0, 0x80, 0x80, 0x80], // overlong
            &[0x80],                   // lone continuation
            &[0xf8, 0x88, 0x80, 0x80, 0x80],
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
                0x65, 0x64, 0x69,
            ],
            &[0xe2, 0x82], // truncated
            &[0xff],
        ];
        for c in cases {
            check_all_splits(c);
        }
    }

    #[test]
    fn ascii_words_then_anything() {
        // The word-at-a-time ASCII prefix must hand the right rest to
        // from_utf8 wherever the first non-ASCII byte falls: in a word, in
        // the tail, straddling a cut.
        let odd: &[&[u8]] = &[
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            &[0xff],
            &[0xe2, 0x82],
            &[0xed, 0xa0, 0x80],
        ];
        for prefix in 0..20 {
            for o in odd {
                for suffix in [0, 1, 9] {
                    let mut bytes = alloc::vec![b'a'; prefix];
                    bytes.extend_from_slice(o);
                    bytes.extend(core::iter::repeat(b'z').take(suffix));
                    check_all_splits(&bytes);
                }
            }
        }
        assert_eq!(ascii_prefix(b"0123456789abcdef!"), 17);
        assert_eq!(ascii_prefix("01234567é".as_bytes()), 8);
        assert_eq!(ascii_prefix("0123é".as_bytes()), 0);
        assert_eq!(ascii_prefix(b"abc"), 3);
    }

    #[test]
    fn fails_at_the_first_impossible_byte() {
        // Autobahn 6.4.1: κόσμε then an encoded surrogate/out-of-range.
        let mut v = Utf8Validator::new();
        assert!(v
            .feed(&[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5])
            .is_ok());
        assert!(v.feed(&[0xf4]).is_ok());
        assert!(v.feed(&[0x90]).is_err());
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xed]).is_ok());
        assert!(v.feed(&[0xa0]).is_err());
    }
}
