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
}

impl<K: KeySource + ?Sized> KeySource for Box<K> {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

impl<K: KeySource + ?Sized> KeySource for &mut K {
    fn fill(&mut self, dest: &mut [u8]) {
        (**self).fill(dest)
    }
}

/// The operating system's random generator (`getrandom`), drawn in batches.
///
/// Each refill asks the OS for [`OsRandom::BATCH`] bytes, so a client that
/// sends many small frames makes one system call per 256 masking keys rather
/// than one per frame. Each byte drawn is handed out once.
#[cfg(feature = "std")]
pub struct OsRandom {
    pool: [u8; Self::BATCH],
    used: usize,
}

#[cfg(feature = "std")]
impl OsRandom {
    /// Bytes drawn from the operating system per refill (256 masking keys).
    pub const BATCH: usize = 1024;

    /// A source whose pool is empty; the first use fills it.
    pub fn new() -> Self {
        OsRandom {
            pool: [0; Self::BATCH],
            used: Self::BATCH,
        }
    }
}

#[cfg(feature = "std")]
impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "std")]
impl core::fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OsRandom")
    }
}

#[cfg(feature = "std")]
impl KeySource for OsRandom {
    #[inline]
    fn fill(&mut self, dest: &mut [u8]) {
        // The common case, a 4-byte masking key from a pool that has it.
        if let Some(src) = self.pool.get(self.used..self.used + dest.len()) {
            dest.copy_from_slice(src);
            self.used += dest.len();
            return;
        }
        self.fill_slow(dest)
    }
}

#[cfg(feature = "std")]
impl OsRandom {
    #[cold]
    fn fill_slow(&mut self, mut dest: &mut [u8]) {
        while !dest.is_empty() {
            if self.used == Self::BATCH {
                // A failing OS generator leaves us no safe way to mask: RFC 6455
                // §10.3 forbids predictable keys, so this is fatal.
                getrandom::fill(&mut self.pool).expect("the operating system's RNG failed");
                self.used = 0;
            }
            let n = dest.len().min(Self::BATCH - self.used);
            // Each byte is handed out once: `used` only moves forward.
            dest[..n].copy_from_slice(&self.pool[self.used..self.used + n]);
            self.used += n;
            dest = &mut dest[n..];
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn os_random_spans_batches_without_repeating() {
        let mut r = OsRandom::new();
        let mut a = [0u8; 300];
        let mut b = [0u8; 300];
        r.fill(&mut a);
        r.fill(&mut b);
        // 600 bytes of OS randomness are not all equal and the two draws differ.
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
