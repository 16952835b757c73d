//! The `Sec-WebSocket-Accept` computation (RFC 6455 §4.2.2 item 5.4, §1.3).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};
use sha1::{Digest, Sha1};

/// The GUID that RFC 6455 §1.3 appends to the client's key.
///
/// ```
/// use rfc6455::handshake::GUID;
/// assert_eq!(GUID, b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
/// ```
pub const GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Standard base64 (RFC 4648 §4) for encoding.
const B64: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Lenient decoder for `Sec-WebSocket-Key`: tolerates non-zero trailing bits
/// (the RFC's own §4.1 example `AQIDBAUGBwgJCgsMDQ4PEC==` has them).
const KEY_DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key ++ GUID)) (RFC 6455 §1.3, §4.2.2 item 5.4).
///
/// `key` is the header value as sent (not decoded), with surrounding
/// whitespace already removed. The result is 28 ASCII bytes.
///
/// ```
/// use rfc6455::handshake::accept_key;
/// // RFC 6455 §1.3
/// assert_eq!(&accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    let mut h = Sha1::new();
    h.update(key);
    h.update(GUID);
    let digest = h.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters, so this cannot fail.
    let _ = B64.encode_slice(digest.as_slice(), &mut out);
    out
}

/// Whether `key` is the base64 encoding of exactly 16 bytes (RFC 6455
/// §4.2.1 item 5).
pub(crate) fn key_is_valid(key: &[u8]) -> bool {
    if key.len() != 24 {
        return false;
    }
    let mut out = [0u8; 18];
    matches!(KEY_DECODER.decode_slice(key, &mut out), Ok(16))
}

/// Encodes 16 nonce bytes as a 24-character `Sec-WebSocket-Key` (RFC 6455
/// §4.1 item 7).
pub(crate) fn encode_key(nonce: &[u8; 16]) -> [u8; 24] {
    let mut out = [0u8; 24];
    let _ = B64.encode_slice(nonce, &mut out);
    out
}
