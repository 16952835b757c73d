//! A connection with permessage-deflate (RFC 7692) negotiated, fed arbitrary
//! bytes — frames with RSV1 carrying arbitrary "compressed" payloads
//! included — with the invariants of `common::run_connection` (no panic,
//! bounded buffering, nothing delivered after Close or an error, errors
//! mapped to valid close codes: 1007 for corrupt data, 1009 past the message
//! limit), and everything the connection sends decoded by a peer with the
//! same parameters.
//!
//! Input layout: byte 0 = bit 0: role (0 server, 1 client); bit 1:
//! server_no_context_takeover; bit 2: client_no_context_takeover; bits 3-4:
//! compression level (0, 1, 6, 9); bit 5: threshold (0, else 16) for the
//! connection's own sends; bit 7: plaintext mode (below). Byte 1 = bits 0-2:
//! server_max_window_bits 9 + (x % 7); bits 4-6: client_max_window_bits
//! 8 + x. Then `run_connection`'s input (control prefix, then bytes).
//!
//! Plaintext mode: the bytes after the control prefix are plaintext, split
//! into messages at 0xFF bytes; each message's first byte chooses text
//! (bit 0; the text is the valid UTF-8 prefix), uncompressed (bit 1, rare
//! in practice), and a number of fragments (bits 4-7). A peer connection
//! with the same parameters (threshold 0) sends them, and its wire bytes are
//! what the connection receives: real compressed frames for the fuzzer to
//! reach deep into inflate with.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{DeflateConfig, Negotiated};
use rfc6455::{MessageKind, Role};

fn plaintext_wire(role: Role, agreed: Negotiated, level: u32, plain: &[u8]) -> Vec<u8> {
    let mut dc = DeflateConfig::default();
    dc.threshold = 0;
    dc.level = level;
    // The other role, sending to `role`.
    let mut peer = common::deflate_peer(role, agreed, &dc);
    for msg in plain.split(|&b| b == 0xff).take(64) {
        let (ctl, body) = match msg.split_first() {
            Some((&c, b)) => (c, b),
            None => (0, &[][..]),
        };
        let (kind, body) = if ctl & 1 != 0 {
            let valid = match core::str::from_utf8(body) {
                Ok(s) => s.len(),
                Err(e) => e.valid_up_to(),
            };
            (MessageKind::Text, &body[..valid])
        } else {
            (MessageKind::Binary, body)
        };
        let frags = (ctl >> 4) as usize;
        if ctl & 2 != 0 && ctl & 4 != 0 {
            peer.send_uncompressed(kind, body).unwrap();
        } else if frags <= 1 {
            peer.send_message(kind, body).unwrap();
        } else {
            // `frags` pieces; text pieces may split code points.
            let step = (body.len() / frags).max(1);
            let mut at = 0;
            for i in 0..frags {
                let end = if i + 1 == frags { body.len() } else { (at + step).min(body.len()) };
                peer.send_fragment(kind, &body[at..end], i + 1 == frags).unwrap();
                at = end;
            }
        }
    }
    peer.take_output()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (p0, p1) = (data[0], data[1]);
    let rest = &data[2..];
    let role = if p0 & 1 != 0 { Role::Client } else { Role::Server };
    let agreed = Negotiated {
        server_no_context_takeover: p0 & 2 != 0,
        client_no_context_takeover: p0 & 4 != 0,
        server_max_window_bits: 9 + (p1 & 7) % 7,
        client_max_window_bits: 8 + ((p1 >> 4) & 7),
    };
    let level = [0, 1, 6, 9][((p0 >> 3) & 3) as usize];
    let mut dc = DeflateConfig::default();
    dc.level = level;
    dc.threshold = if p0 & 0x20 != 0 { 16 } else { 0 };

    if p0 & 0x80 != 0 {
        let pl = common::prefix_len(rest);
        let mut input = rest[..pl].to_vec();
        input.extend_from_slice(&plaintext_wire(role, agreed, level, &rest[pl..]));
        common::run_connection_with(role, &input, Some((agreed, dc)));
    } else {
        common::run_connection_with(role, rest, Some((agreed, dc)));
    }
});
