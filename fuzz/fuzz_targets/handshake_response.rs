//! The client side of the opening handshake reading arbitrary responses in
//! arbitrary chunks.
//!
//! Input layout: byte 0 = low nibble: number of chunk-size bytes (cycled, 0
//! = all the rest); high nibble: limits (0 = the defaults, n = a head of at
//! most 37 n bytes and n header fields). Then the chunk sizes, then the
//! bytes received. The request's key is the RFC 6455 §1.2 sample nonce (so
//! the RFC's sample response is valid), offering subprotocols `chat` and
//! `superchat` and the extension `permessage-deflate`.
//!
//! Invariants: as for `handshake_request` (bounded buffering, completion
//! exactly at the first blank line within the limit, `HeadTooLarge` exactly
//! when none can come), mapped to the client's errors; a response accepted
//! is a 101 with the right accept key and an offered subprotocol; a non-101
//! reports the bytes that followed the head as its body.
#![no_main]

mod common;

use common::{HeadExpect, HeadModel};
use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{ClientHandshake, ClientOptions, HandshakeError, Limits, Uri};
use rfc6455::rand::KeySource;

/// Fills with the RFC 6455 §1.2 sample nonce, "the sample nonce".
struct SampleNonce;

impl KeySource for SampleNonce {
    fn fill(&mut self, dest: &mut [u8]) {
        for (d, s) in dest.iter_mut().zip(b"the sample nonce".iter().cycle()) {
            *d = *s;
        }
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
    let uri = Uri::parse("ws://server.example.com/chat").unwrap();
    let opts = ClientOptions::new()
        .origin("http://example.com")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extensions("permessage-deflate")
        .limits(limits);
    let mut client = ClientHandshake::new(&uri, &opts, &mut SampleNonce).unwrap();
    assert!(client
        .request_bytes()
        .windows(24)
        .any(|w| w == b"dGhlIHNhbXBsZSBub25jZQ=="));
    let mut model = HeadModel { stream: Vec::new(), max, request: false };

    for chunk in common::chunks(wire, sizes) {
        let expect = model.feed(chunk);
        let got = client.feed(chunk);
        assert!(client.parse_calls() <= 1);
        match (expect, got) {
            (HeadExpect::NeedMore, Ok(None)) => {}
            (HeadExpect::Complete { used }, Ok(Some((resp, n)))) => {
                assert!(n <= chunk.len());
                assert_eq!(n, used, "head ends at the first blank line");
                assert_eq!(resp.status(), 101);
                let _ = (resp.reason(), resp.http_version(), resp.headers().len());
                let _ = resp.header("sec-websocket-accept");
                if let Some(p) = resp.subprotocol() {
                    assert!(p == "chat" || p == "superchat", "subprotocol {p:?} not offered");
                }
                if let Ok(exts) = resp.extensions() {
                    for e in exts {
                        assert!(e.name.eq_ignore_ascii_case("permessage-deflate"));
                    }
                }
                assert_eq!(
                    resp.header("sec-websocket-accept"),
                    Some(&b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="[..])
                );
                break;
            }
            (HeadExpect::Complete { used }, Err(e)) => {
                let _ = e.to_string();
                assert!(e.response().is_none(), "client error {e:?} with a response to send");
                if let HandshakeError::UnexpectedStatus { response, body } = &e {
                    assert_ne!(response.status(), 101);
                    assert_eq!(&body[..], &chunk[used..], "body of a non-101");
                }
                assert!(
                    !matches!(
                        e,
                        HandshakeError::ResponseTooLarge { .. } | HandshakeError::Finished
                    ),
                    "complete head fails with {e:?}"
                );
                break;
            }
            (HeadExpect::TooLarge, Err(e)) => {
                assert!(
                    matches!(e, HandshakeError::ResponseTooLarge { limit } if limit == max),
                    "expected ResponseTooLarge, got {e:?}"
                );
                break;
            }
            (HeadExpect::NotHttp, Err(e)) => {
                assert!(
                    matches!(e, HandshakeError::MalformedResponse(_)),
                    "not HTTP: got {e:?}"
                );
                break;
            }
            (_, got) => {
                let got = got.map(|o| o.map(|(_, n)| n));
                panic!("model and reader disagree: got {got:?}");
            }
        }
    }
    let _ = client.feed(b"HTTP/1.1 101 OK\r\n\r\n");
});
