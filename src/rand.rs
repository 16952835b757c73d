//! Sources of randomness for masking keys and handshake nonces.
//!
//! RFC 6455 §5.3 requires that a client pick every masking key "freshly and
//! randomly" from "a strong source of entropy", and §4.1 requires the
//! `Sec-WebSocket-Key` nonce to be random too (§10.3 explains why a
//! predictable key lets an attacker poison intermediary caches).
//!
//! The sans-IO core never reaches for an operating-system service itself: the
//! caller hands it a [`KeySource`]. With the `std` feature, [`OsRandom`] draws
//! from the operating system's generator (via `getrandom`), in batches, so
//! that the cost of the system call is shared by many frames.
//!
//! ```
//! use rfc6455::rand::{ChaCha20Rng, KeySource};
//! use rfc6455::{Config, Connection};
//!
//! // Any strong source will do: here a generator seeded by the platform.
//! # let seed = [42; 32];
//! let keys: Box<dyn KeySource + Send> = Box::new(ChaCha20Rng::from_seed(seed));
//! let mut client = Connection::client_with_keys(Config::default(), keys);
//! client.send_text("masked with those keys")?;
//! # Ok::<(), rfc6455::Error>(())
//! ```

use alloc::boxed::Box;

/// A source of random bytes for masking keys and handshake nonces.
///
/// Implementations must be cryptographically strong (RFC 6455 §10.3): an
/// attacker who can predict masking keys can craft frames that intermediaries
/// misread as HTTP requests.
///
/// # Example
///
/// A `no_std` target plugs in its hardware generator:
///
/// ```
/// use rfc6455::rand::KeySource;
///
/// struct Hardware;
/// impl KeySource for Hardware {
///     fn fill(&mut self, dest: &mut [u8]) {
///         for b in dest.iter_mut() {
///             *b = 0x5a; // read the hardware RNG register here
///         }
///     }
/// }
/// let mut src = Hardware;
/// let mut key = [0u8; 4];
/// src.fill(&mut key);
/// assert_eq!(key, [0x5a; 4]);
/// ```
pub trait KeySource {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]);

    /// Four random bytes: a frame's masking key (RFC 6455 §5.3). The
    /// default fills an array with [`fill`](Self::fill); a source with
    /// bytes at hand can hand them over without a variable-length copy
    /// (a client draws one per frame).
    ///
    /// ```
    /// use rfc6455::rand::{ChaCha20Rng, KeySource};
    /// let (mut a, mut b) = (ChaCha20Rng::from_seed([3; 32]), ChaCha20Rng::from_seed([3; 32]));
    /// let mut bytes = [0u8; 4];
    /// a.fill(&mut bytes);
    /// assert_eq!(b.masking_key(), bytes); // the same keystream either way
    /// ```
    #[inline]
    fn masking_key(&mut self) -> [u8; 4] {
        let mut key = [0u8; 4];
        self.fill(&mut key);
        key
    }
}

impl<K: KeySource + ?Sized> KeySource for Box<K> {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }

    #[inline]
    fn masking_key(&mut self) -> [u8; 4] {
        (**self).masking_key()
    }
}

impl<K: KeySource + ?Sized> KeySource for &mut K {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }

    #[inline]
    fn masking_key(&mut self) -> [u8; 4] {
        (**self).masking_key()
    }
}

/// A ChaCha20 keystream generator (RFC 8439 §2.3) used as a
/// cryptographically strong generator once seeded with 32 random bytes.
///
/// In `no_std`, seed it from the platform's hardware generator; with `std`,
/// [`OsRandom`] seeds and periodically reseeds one from the operating
/// system.
///
/// ```
/// use rfc6455::rand::{ChaCha20Rng, KeySource};
/// let mut rng = ChaCha20Rng::from_seed([7; 32]);
/// let mut key = [0u8; 4];
/// rng.fill(&mut key);
/// ```
#[derive(Clone)]
pub struct ChaCha20Rng {
    key: [u32; 8],
    nonce: [u32; 3],
    counter: u32,
    /// Four keystream blocks, computed together.
    block: [u8; 256],
    used: usize,
    /// Blocks produced since seeding.
    produced: u64,
}

impl core::fmt::Debug for ChaCha20Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ChaCha20Rng")
    }
}

impl ChaCha20Rng {
    /// A generator keyed with `seed` (nonce zero, counter zero).
    ///
    /// ```
    /// use rfc6455::rand::{ChaCha20Rng, KeySource};
    /// // The same seed, the same stream: keep seeds secret and never reuse one.
    /// let (mut a, mut b) = (ChaCha20Rng::from_seed([1; 32]), ChaCha20Rng::from_seed([1; 32]));
    /// let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
    /// a.fill(&mut x);
    /// b.fill(&mut y);
    /// assert_eq!(x, y);
    /// ```
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut key = [0u32; 8];
        for (k, c) in key.iter_mut().zip(seed.chunks_exact(4)) {
            *k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        ChaCha20Rng {
            key,
            nonce: [0; 3],
            counter: 0,
            block: [0; 256],
            used: 256,
            produced: 0,
        }
    }

    /// The ChaCha20 block function (RFC 8439 §2.3) for four consecutive
    /// counters at once: each state word is an array of four lanes, which
    /// the compiler turns into vector instructions.
    #[allow(clippy::needless_range_loop)]
    fn next_block(&mut self) {
        let mut init = [[0u32; 4]; 16];
        let words = [
            0x6170_7865,
            0x3320_646e,
            0x7962_2d32,
            0x6b20_6574,
            self.key[0],
            self.key[1],
            self.key[2],
            self.key[3],
            self.key[4],
            self.key[5],
            self.key[6],
            self.key[7],
            self.counter,
            self.nonce[0],
            self.nonce[1],
            self.nonce[2],
        ];
        for (lanes, w) in init.iter_mut().zip(words) {
            *lanes = [w; 4];
        }
        for (l, c) in init[12].iter_mut().enumerate() {
            *c = self.counter.wrapping_add(l as u32);
        }
        let mut s = init;
        for _ in 0..10 {
            quarter_round(&mut s, 0, 4, 8, 12);
            quarter_round(&mut s, 1, 5, 9, 13);
            quarter_round(&mut s, 2, 6, 10, 14);
            quarter_round(&mut s, 3, 7, 11, 15);
            quarter_round(&mut s, 0, 5, 10, 15);
            quarter_round(&mut s, 1, 6, 11, 12);
            quarter_round(&mut s, 2, 7, 8, 13);
            quarter_round(&mut s, 3, 4, 9, 14);
        }
        for l in 0..4 {
            for i in 0..16 {
                let v = s[i][l].wrapping_add(init[i][l]);
                self.block[64 * l + 4 * i..64 * l + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        self.produced += 4;
        let (next, wrapped) = self.counter.overflowing_add(4);
        self.counter = next;
        if wrapped {
            // 256 GiB of keystream: move to the next nonce.
            self.nonce[0] = self.nonce[0].wrapping_add(1);
        }
        self.used = 0;
    }

    /// Blocks produced since seeding.
    #[cfg(feature = "std")]
    fn blocks(&self) -> u64 {
        self.produced
    }
}

// Lane `l` of four parallel states: an index reads clearer than zips of four arrays.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn quarter_round(s: &mut [[u32; 4]; 16], a: usize, b: usize, c: usize, d: usize) {
    for l in 0..4 {
        s[a][l] = s[a][l].wrapping_add(s[b][l]);
        s[d][l] = (s[d][l] ^ s[a][l]).rotate_left(16);
        s[c][l] = s[c][l].wrapping_add(s[d][l]);
        s[b][l] = (s[b][l] ^ s[c][l]).rotate_left(12);
        s[a][l] = s[a][l].wrapping_add(s[b][l]);
        s[d][l] = (s[d][l] ^ s[a][l]).rotate_left(8);
        s[c][l] = s[c][l].wrapping_add(s[d][l]);
        s[b][l] = (s[b][l] ^ s[c][l]).rotate_left(7);
    }
}

impl KeySource for ChaCha20Rng {
    #[inline]
    fn fill(&mut self, mut dest: &mut [u8]) {
        // The common case: a 4-byte masking key from the current block.
        if let Some(src) = self.block.get(self.used..self.used + dest.len()) {
            dest.copy_from_slice(src);
            self.used += dest.len();
            return;
        }
        while !dest.is_empty() {
            if self.used == self.block.len() {
                self.next_block();
            }
            let n = dest.len().min(self.block.len() - self.used);
            // Each keystream byte is handed out once.
            dest[..n].copy_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
            dest = &mut dest[n..];
        }
    }

    #[inline]
    fn masking_key(&mut self) -> [u8; 4] {
        if let Some(&[a, b, c, d]) = self.block.get(self.used..self.used + 4) {
            self.used += 4;
            return [a, b, c, d];
        }
        let mut key = [0u8; 4];
        self.fill(&mut key);
        key
    }
}

/// The default source of masking keys with `std`: a [`ChaCha20Rng`] seeded
/// from the operating system's generator (`getrandom`) and reseeded from it
/// every 64 KiB of output.
///
/// Drawing every key from the kernel costs 10-14 ns per key whatever the
/// batch size (the kernel runs ChaCha itself); a generator in user space
/// costs a few nanoseconds, with the same strength as long as its seed is
/// secret (this is how `rand`'s thread generator works too). After a
/// `fork`, parent and child share the state until the next reseed.
///
/// ```
/// use rfc6455::rand::{KeySource, OsRandom};
/// use rfc6455::{Config, Connection};
///
/// let mut keys = OsRandom::new();
/// let (mut a, mut b) = ([0u8; 4], [0u8; 4]);
/// keys.fill(&mut a);
/// keys.fill(&mut b);
/// assert_ne!(a, b); // (with overwhelming probability)
///
/// // What `Connection::client` uses:
/// let client = Connection::client_with_keys(Config::default(), OsRandom::new());
/// # let _ = client;
/// ```
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct OsRandom {
    rng: Option<ChaCha20Rng>,
}

#[cfg(feature = "std")]
impl OsRandom {
    /// Keystream blocks (of 64 bytes) between reseeds from the OS (64 KiB).
    ///
    /// ```
    /// use rfc6455::rand::OsRandom;
    /// assert_eq!(OsRandom::RESEED_BLOCKS * 64, 64 << 10);
    /// ```
    pub const RESEED_BLOCKS: u64 = 1024;

    /// A source that seeds itself from the OS on first use.
    ///
    /// ```
    /// use rfc6455::handshake::{ClientHandshake, ClientOptions, Uri};
    /// use rfc6455::rand::OsRandom;
    /// let uri = Uri::parse("ws://example.com/")?;
    /// let handshake = ClientHandshake::new(&uri, &ClientOptions::new(), &mut OsRandom::new())?;
    /// # let _ = handshake;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        OsRandom { rng: None }
    }

    #[cold]
    fn reseed(&mut self) -> &mut ChaCha20Rng {
        let mut seed = [0u8; 44];
        // A failing OS generator leaves us no safe way to mask: RFC 6455
        // §10.3 forbids predictable keys, so this is fatal.
        getrandom::fill(&mut seed).expect("the operating system's RNG failed");
        let mut key = [0u8; 32];
        key.copy_from_slice(&seed[..32]);
        let mut rng = ChaCha20Rng::from_seed(key);
        for (n, c) in rng.nonce.iter_mut().zip(seed[32..].chunks_exact(4)) {
            *n = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        self.rng.insert(rng)
    }
}

#[cfg(feature = "std")]
impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl KeySource for OsRandom {
    #[inline]
    fn fill(&mut self, dest: &mut [u8]) {
        let rng = match &mut self.rng {
            Some(rng) if rng.blocks() < Self::RESEED_BLOCKS => rng,
            _ => self.reseed(),
        };
        rng.fill(dest)
    }

    #[inline]
    fn masking_key(&mut self) -> [u8; 4] {
        let rng = match &mut self.rng {
            Some(rng) if rng.blocks() < Self::RESEED_BLOCKS => rng,
            _ => self.reseed(),
        };
        rng.masking_key()
    }
}

#[cfg(test)]
mod chacha_tests {
    use super::*;

    #[test]
    fn rfc_8439_block_function_vector() {
        // RFC 8439 §2.3.2 (the same block OpenSSL's chacha20 produces).
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut rng = ChaCha20Rng::from_seed(seed);
        rng.nonce = [0x0900_0000, 0x4a00_0000, 0];
        rng.counter = 1;
        let mut all = [0u8; 256];
        rng.fill(&mut all);
        // The fourth block (counter 4), as OpenSSL's chacha20 gives it.
        let fourth = "69d09f0d336478ca9068335ae2b3090905fb0fe5d45115371d126e5ba85e9924\
                      32729aa7d77ddc5e3cc689d8445c1ab754a7409ee8befc2bdd3868d27f6e1ad8";
        let hex: alloc::string::String = all[192..]
            .iter()
            .map(|b| alloc::format!("{b:02x}"))
            .collect();
        assert_eq!(hex, fourth.replace(' ', ""));
        let mut out = [0u8; 64];
        out.copy_from_slice(&all[..64]);
        let expected = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20,
            0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a,
            0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2,
            0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
            0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn keystream_is_the_same_however_it_is_drawn() {
        let mut a = ChaCha20Rng::from_seed([3; 32]);
        let mut b = a.clone();
        let mut whole = [0u8; 300];
        a.fill(&mut whole);
        let mut pieces = [0u8; 300];
        for chunk in pieces.chunks_mut(4) {
            b.fill(chunk);
        }
        assert_eq!(whole, pieces);
    }

    #[test]
    fn masking_keys_are_the_keystream_across_block_boundaries() {
        let mut a = ChaCha20Rng::from_seed([9; 32]);
        let mut b = a.clone();
        let mut whole = [0u8; 1030];
        a.fill(&mut whole);
        // Three bytes first, so that keys straddle the 256-byte batches.
        let mut drawn = std::vec::Vec::new();
        let mut three = [0u8; 3];
        b.fill(&mut three);
        drawn.extend_from_slice(&three);
        while drawn.len() + 4 <= whole.len() {
            drawn.extend_from_slice(&b.masking_key());
        }
        assert_eq!(&whole[..drawn.len()], &drawn[..]);
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn os_random_spans_reseeds_without_repeating() {
        let mut r = OsRandom::new();
        let mut a = [0u8; 300];
        let mut b = [0u8; 300];
        let mut big = alloc::vec![0u8; 70 << 10]; // across a reseed
        r.fill(&mut big);
        r.fill(&mut a);
        r.fill(&mut b);
        // 600 bytes of OS randomness are not all equal and the two draws differ.
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
