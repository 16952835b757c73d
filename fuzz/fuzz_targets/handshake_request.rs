//! The server side of the opening handshake reading arbitrary bytes in
//! arbitrary chunks.
//!
//! Input layout: byte 0 = low nibble: number of chunk-size bytes (cycled, 0
//! = all the rest); high nibble: limits (0 = the defaults, n = a head of at
//! most 37 n bytes and n header fields). Then the chunk sizes, then the
//! bytes received.
//!
//! Invariants: never panics; buffers at most the head limit; consumes at
//! most what it is given; completes exactly at the first `\r\n\r\n` when it
//! lies within the limit (so `input[used..]` is exactly what followed the
//! head), fails with `MalformedHead` as soon as an incomplete head cannot
//! begin an HTTP/1.x request line, with `HeadTooLarge` exactly when no head
//! can end within the limit, needs more otherwise; is finished afterwards; every accessor of
//! the request and of the error works; an accepted request gets a `101`
//! with the right `Sec-WebSocket-Accept`.
#![no_main]

mod common;

use common::{HeadExpect, HeadModel};
use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{accept_key, Accept, HandshakeError, Limits, Request, ServerHandshake};

fn exercise(req: &Request) {
    let _ = (req.method(), req.target(), req.path(), req.query(), req.http_version());
    let _ = (req.host(), req.origin(), req.key(), req.version_header(), req.is_upgrade());
    for (name, value) in req.headers().iter() {
        assert_eq!(req.headers().get(name).is_some(), true);
        let _ = value;
    }
    let protocols: Vec<&str> = req.subprotocols().collect();
    for p in &protocols {
        assert!(!p.is_empty() && p.trim() == *p, "subprotocol {p:?}");
    }
    let _ = req.extensions();
    let valid = req.validate();
    let plain = req.accept(&Accept::new());
    assert_eq!(valid.is_ok(), plain.is_ok(), "validate {valid:?} vs accept");
    match plain {
        Ok(reply) => {
            assert!(reply.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(reply.ends_with(b"\r\n\r\n"));
            let key = req.key().expect("accepted without a key");
            let expected = accept_key(key.as_bytes());
            let needle = [&b"Sec-WebSocket-Accept: "[..], &expected[..], b"\r\n"].concat();
            assert!(
                reply.windows(needle.len()).any(|w| w == needle),
                "101 without the right Sec-WebSocket-Accept"
            );
            // Choosing an offered subprotocol works; one not offered does not.
            if let Some(p) = protocols.first() {
                let r = req.accept(&Accept::new().subprotocol(p));
                assert!(r.is_ok(), "accepting offered subprotocol {p:?}: {r:?}");
            }
            if !protocols.contains(&"not-offered") {
                assert!(req.accept(&Accept::new().subprotocol("not-offered")).is_err());
            }
        }
        Err(e) => check_error(&e),
    }
}

fn check_error(e: &HandshakeError) {
    let _ = e.to_string();
    if let Some(status) = e.http_status() {
        assert!((400..500).contains(&status));
        let resp = e.response().expect("a status but no response");
        let head = format!("HTTP/1.1 {status} ");
        assert!(resp.starts_with(head.as_bytes()));
    } else {
        assert!(e.response().is_none());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&b0, rest)) = data.split_first() else {
        return;
    };
    let n = (b0 & 0x0f) as usize;
    if rest.len() < n {
        return;
    }
    let (sizes, wire) = rest.split_at(n);
    let limits = match b0 >> 4 {
        0 => Limits::default(),
        h => Limits::default()
            .max_head_bytes(h as usize * 37)
            .max_headers(h as usize),
    };
    let max = limits.max_head_bytes;
    let mut server = ServerHandshake::new(limits);
    let mut model = HeadModel { stream: Vec::new(), max, request: true };
    let mut fed = 0;

    for chunk in common::chunks(wire, sizes) {
        let before = server.buffered();
        let expect = model.feed(chunk);
        let got = server.feed(chunk);
        fed += chunk.len();
        assert!(server.buffered() <= max, "buffered {} > limit {max}", server.buffered());
        assert!(server.bytes_scanned() <= fed);
        assert!(server.parse_calls() <= 1);
        match (expect, got) {
            (HeadExpect::NeedMore, Ok(None)) => {
                assert_eq!(server.buffered(), before + chunk.len(), "not all input buffered");
            }
            (HeadExpect::Complete { used }, Ok(Some((req, n)))) => {
                assert!(n <= chunk.len());
                assert_eq!(n, used, "head ends at the first blank line");
                assert!(req.headers().len() <= limits.max_headers);
                exercise(&req);
                break;
            }
            (HeadExpect::Complete { .. }, Err(e)) => {
                // A complete head that does not parse as HTTP.
                assert!(
                    matches!(e, HandshakeError::MalformedHead(_) | HandshakeError::TooManyHeaders { .. }),
                    "complete head fails with {e:?}"
                );
                check_error(&e);
                break;
            }
            (HeadExpect::TooLarge, Err(e)) => {
                assert!(
                    matches!(e, HandshakeError::HeadTooLarge { limit } if limit == max),
                    "expected HeadTooLarge, got {e:?}"
                );
                check_error(&e);
                break;
            }
            (HeadExpect::NotHttp, Err(e)) => {
                // Answered 400 at once, without waiting for the rest.
                assert!(matches!(e, HandshakeError::MalformedHead(_)), "not HTTP: got {e:?}");
                check_error(&e);
                break;
            }
            (_, got) => {
                let got = got.map(|o| o.map(|(_, n)| n));
                panic!("model and reader disagree: got {got:?}");
            }
        }
    }
    // Once finished (or still waiting), nothing breaks.
    let after = server.feed(b"GET / HTTP/1.1\r\n\r\n");
    if !matches!(after, Err(HandshakeError::Finished)) {
        let _ = after;
    }
});
