//! permessage-deflate (RFC 7692): negotiation, framing, hostile input.
#![cfg(feature = "deflate")]

mod common;
use common::*;
use rfc6455::deflate::{DeflateConfig, Negotiated, ParamError};
use rfc6455::handshake::{Extension, ExtensionParam};
use rfc6455::{Config, Connection, Error, Message, MessageKind};

fn pair(agreed: Negotiated, config: &DeflateConfig) -> Pair {
    let mut p = Pair::new();
    p.client.enable_deflate(agreed, config);
    p.server.enable_deflate(agreed, config);
    p
}

fn agreed(nct: bool) -> Negotiated {
    Negotiated {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    }
}

fn zero_threshold() -> DeflateConfig {
    let mut c = DeflateConfig::default();
    c.threshold = 0;
    c
}

fn ext<'a>(params: &[(&'a str, Option<&'a str>)]) -> Extension<'a> {
    Extension {
        name: "permessage-deflate",
        params: params
            .iter()
            .map(|&(name, value)| ExtensionParam {
                name,
                value: value.map(Into::into),
            })
            .collect(),
    }
}

// ---- negotiation (RFC 7692 §7.1) ----

#[test]
fn server_accepts_first_supported_offer_and_answers_with_agreed_parameters() {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = false;
    config.client_no_context_takeover = false;
    // An offer with an unknown parameter is skipped; the next one is taken.
    let offers = [
        ext(&[("x_unknown", None)]),
        ext(&[
            ("client_max_window_bits", None),
            ("server_max_window_bits", Some("10")),
        ]),
    ];
    let (n, answer) = config.server_accept(&offers).unwrap();
    assert_eq!(n.server_max_window_bits, 10);
    assert_eq!(n.client_max_window_bits, 15);
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
    // Requests are honoured in the answer.
    let (n, answer) = config
        .server_accept(&[ext(&[
            ("server_no_context_takeover", None),
            ("client_no_context_takeover", None),
        ])])
        .unwrap();
    assert!(n.server_no_context_takeover && n.client_no_context_takeover);
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn server_declines_rather_than_fails() {
    let config = DeflateConfig::default();
    for bad in [
        ext(&[("server_max_window_bits", Some("16"))]),
        ext(&[("server_max_window_bits", Some("08"))]),
        ext(&[("server_max_window_bits", None)]),
        ext(&[("client_max_window_bits", Some("7"))]),
        ext(&[("server_no_context_takeover", Some("1"))]),
        ext(&[
            ("server_no_context_takeover", None),
            ("server_no_context_takeover", None),
        ]),
        // We cannot compress with an 8-bit window.
        ext(&[("server_max_window_bits", Some("8"))]),
    ] {
        assert_eq!(
            config.server_accept(std::slice::from_ref(&bad)),
            None,
            "{bad:?}"
        );
    }
    let other = Extension {
        name: "x-webkit-deflate-frame",
        params: vec![],
    };
    assert_eq!(config.server_accept(&[other]), None);
}

#[test]
fn quoted_values_and_several_header_lines_are_parsed() {
    use rfc6455::handshake::{Limits, ServerHandshake};
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"20\"\r\n\
        Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"12\"; client_max_window_bits\r\n\r\n";
    let (request, _) = ServerHandshake::new(Limits::default())
        .feed(req)
        .unwrap()
        .unwrap();
    let offers = request.extensions().unwrap();
    assert_eq!(offers.len(), 2);
    let (n, _) = DeflateConfig::default().server_accept(&offers).unwrap();
    assert_eq!(n.server_max_window_bits, 12);
}

#[test]
fn client_accepts_only_answers_that_fit_the_offer() {
    let mut config = DeflateConfig::default();
    config.server_no_context_takeover = false;
    config.client_no_context_takeover = false;
    assert_eq!(
        config.client_offer(),
        "permessage-deflate; client_max_window_bits"
    );
    let ok = config
        .client_accept(&[ext(&[("client_max_window_bits", Some("10"))])])
        .unwrap()
        .unwrap();
    assert_eq!(ok.client_max_window_bits, 10);
    assert_eq!(config.client_accept(&[]).unwrap(), None, "declined");
    let cases = [
        ext(&[("bogus", None)]),
        ext(&[
            ("server_max_window_bits", Some("9")),
            ("server_max_window_bits", Some("9")),
        ]),
        ext(&[("server_max_window_bits", Some("16"))]),
        ext(&[("client_max_window_bits", None)]),
    ];
    for c in cases {
        assert!(
            config.client_accept(std::slice::from_ref(&c)).is_err(),
            "{c:?}"
        );
    }
    let two = [ext(&[]), ext(&[])];
    assert_eq!(config.client_accept(&two), Err(ParamError::Twice));
    // A client that limited its window rejects a larger one.
    let mut small = config.clone();
    small.client_max_window_bits = 10;
    assert!(small
        .client_accept(&[ext(&[("client_max_window_bits", Some("12"))])])
        .is_err());
    // A client that asked for server_no_context_takeover needs it answered.
    let mut nct = config.clone();
    nct.server_no_context_takeover = true;
    assert!(nct.client_accept(&[ext(&[])]).is_err());
    let mut required = config;
    required.required = true;
    assert!(required.client_accept(&[]).is_err());
}

// ---- framing (RFC 7692 §6, §7.2) ----

#[test]
fn round_trip_small_messages_with_and_without_context_takeover() {
    for nct in [false, true] {
        let mut p = pair(agreed(nct), &zero_threshold());
        for i in 0..50 {
            let text = format!("{{\"type\":\"message\",\"n\":{i},\"text\":\"hello hello hello\"}}");
            p.client.send_text(&text).unwrap();
            let wire = p.client.take_output();
            assert_eq!(wire[0] & 0x40, 0x40, "RSV1 on a compressed message");
            let (msgs, err) = feed_chopped(&mut p.server, &wire, &[3]);
            assert_eq!((msgs, err), (vec![Message::Text(text.clone())], None));
            p.server.send_text(&text).unwrap();
            let (msgs, err) = p.deliver_to_client(&[usize::MAX]);
            assert_eq!((msgs, err), (vec![Message::Text(text)], None));
        }
    }
}

#[test]
fn no_context_takeover_compresses_each_message_afresh() {
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(true), &zero_threshold());
    server.send_text("the same message, twice").unwrap();
    let a = server.take_output();
    server.send_text("the same message, twice").unwrap();
    let b = server.take_output();
    assert_eq!(a, b, "no state carried between messages");
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(false), &zero_threshold());
    server.send_text("the same message, twice").unwrap();
    let a = server.take_output();
    server.send_text("the same message, twice").unwrap();
    let b = server.take_output();
    assert!(b.len() < a.len(), "the second refers back to the first");
}

#[test]
fn empty_and_threshold_and_uncompressed_sends() {
    let mut config = DeflateConfig::default();
    config.threshold = 100;
    let mut p = pair(agreed(false), &config);
    p.server.send_text("short").unwrap();
    p.server.send_text(&"long ".repeat(40)).unwrap();
    p.server
        .send_uncompressed(MessageKind::Text, "long ".repeat(40).as_bytes())
        .unwrap();
    let wire = p.server.take_output();
    assert_eq!(wire[0], 0x81, "below the threshold: RSV1 clear");
    let (msgs, err) = feed_all(&mut p.client, &wire);
    assert_eq!(err, None);
    assert_eq!(
        msgs,
        vec![
            Message::from("short"),
            Message::from("long ".repeat(40)),
            Message::from("long ".repeat(40))
        ]
    );
    // An empty message compresses to one byte and comes back empty.
    let mut p = pair(agreed(false), &zero_threshold());
    p.client.send_binary(b"").unwrap();
    let (msgs, err) = p.deliver_to_server(&[1]);
    assert_eq!((msgs, err), (vec![Message::Binary(vec![])], None));
}

// ---- encode once, send to many (RFC 7692 §7.1.1, §7.2.1) ----

#[test]
fn shared_compressed_frame_is_made_once_for_connections_without_server_context() {
    use rfc6455::connection::encode_shared_compressed;
    let line = "User50123 says: the build is green again, deploy at noon ".repeat(3);
    let config = zero_threshold();
    let frame = encode_shared_compressed(MessageKind::Text, line.as_bytes(), &config);
    let compressed = frame.compressed_bytes().expect("compressed once").to_vec();
    assert_eq!(compressed[0], 0xC1, "FIN + RSV1 + text");
    assert!(compressed.len() < frame.as_bytes().len());
    for _ in 0..3 {
        let mut p = pair(agreed(true), &config);
        p.server.send_shared(&frame).unwrap();
        // Queued by reference: the very bytes made once, not a copy.
        let mut slices: [&[u8]; 4] = [&[]; 4];
        let n = p.server.output().chunks(&mut slices);
        assert_eq!(n, 1);
        assert_eq!(
            slices[0].as_ptr(),
            frame.compressed_bytes().unwrap().as_ptr(),
            "payload not copied per connection"
        );
        let (msgs, err) = p.deliver_to_client(&[5]);
        assert_eq!((msgs, err), (vec![Message::Text(line.clone())], None));
    }
}

#[test]
fn shared_compressed_frame_keeps_a_context_taking_connection_in_step() {
    use rfc6455::connection::encode_shared_compressed;
    let config = zero_threshold();
    let line = "a line for everyone, a line for everyone, a line for everyone";
    let frame = encode_shared_compressed(MessageKind::Text, line.as_bytes(), &config);
    // Context takeover: the connection compresses the message itself, so
    // that its own later messages may refer back to it.
    let mut p = pair(agreed(false), &config);
    p.server.send_text("before: a line for everyone").unwrap();
    p.server.send_shared(&frame).unwrap();
    p.server.send_text(line).unwrap();
    let wire = p.server.take_output();
    assert!(!wire
        .windows(frame.compressed_bytes().unwrap().len())
        .any(|w| w == frame.compressed_bytes().unwrap()));
    let (msgs, err) = feed_chopped(&mut p.client, &wire, &[1, 7]);
    assert_eq!(err, None);
    assert_eq!(
        msgs,
        vec![
            Message::from("before: a line for everyone"),
            Message::from(line),
            Message::from(line)
        ]
    );
    // A smaller agreed window than the frame was made with: compressed
    // here too, within the connection's window.
    let mut small = agreed(true);
    small.server_max_window_bits = 9;
    let mut p = pair(small, &config);
    p.server.send_shared(&frame).unwrap();
    let mut slices: [&[u8]; 4] = [&[]; 4];
    let n = p.server.output().chunks(&mut slices);
    assert_eq!(n, 1);
    assert_ne!(
        slices[0].as_ptr(),
        frame.compressed_bytes().unwrap().as_ptr(),
        "compressed by the connection, not the shared bytes"
    );
    assert_eq!(slices[0][0] & 0x40, 0x40, "still compressed");
    let (msgs, err) = p.deliver_to_client(&[usize::MAX]);
    assert_eq!((msgs, err), (vec![Message::from(line)], None));
}

#[test]
fn shared_frames_go_out_uncompressed_when_they_must() {
    use rfc6455::connection::{encode_shared, encode_shared_compressed};
    let line = "x".repeat(80);
    let mut config = DeflateConfig::default();
    config.threshold = 100;
    let frame = encode_shared_compressed(MessageKind::Text, line.as_bytes(), &config);
    // Below the connection's threshold.
    let mut p = pair(agreed(true), &config);
    p.server.send_shared(&frame).unwrap();
    assert_eq!(p.server.take_output(), frame.as_bytes());
    // No permessage-deflate on this connection.
    let mut plain = Connection::server(Config::default());
    plain.send_shared(&frame).unwrap();
    assert_eq!(plain.take_output(), frame.as_bytes());
    // Made without compression: sent as made, context untouched.
    let frame = encode_shared(MessageKind::Text, line.as_bytes());
    let mut p = pair(agreed(false), &zero_threshold());
    p.server.send_shared(&frame).unwrap();
    p.server.send_text(&line).unwrap();
    let wire = p.server.take_output();
    assert_eq!(&wire[..frame.as_bytes().len()], frame.as_bytes());
    let (msgs, err) = feed_all(&mut p.client, &wire);
    assert_eq!(
        (msgs, err),
        (vec![Message::from(line.clone()), Message::from(line)], None)
    );
}

#[test]
fn fragmented_compressed_messages_with_control_frames_between() {
    for nct in [false, true] {
        let mut p = pair(agreed(nct), &zero_threshold());
        let text: String = (0..3000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect::<String>()
            + "€🦀";
        let bytes = text.as_bytes();
        // Streamed send: the whole message is compressed, fragment by fragment.
        for (i, chunk) in bytes.chunks(700).enumerate() {
            p.client
                .send_fragment(MessageKind::Text, chunk, (i + 1) * 700 >= bytes.len())
                .unwrap();
            p.client.send_ping(b"between").unwrap();
        }
        let wire = p.client.take_output();
        assert_eq!(wire[0] & 0x40, 0x40, "RSV1 on the first frame");
        let (msgs, err) = feed_chopped(&mut p.server, &wire, &[1, 5, 100]);
        assert_eq!(err, None);
        let pings = msgs
            .iter()
            .filter(|m| **m == Message::Ping(b"between".to_vec()))
            .count();
        assert_eq!(pings, bytes.chunks(700).count());
        assert_eq!(
            msgs.iter()
                .filter(|m| matches!(m, Message::Text(_)))
                .collect::<Vec<_>>(),
            vec![&Message::Text(text.clone())]
        );
    }
}

#[test]
fn rsv1_on_continuation_or_control_fails_with_1002() {
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(false), &DeflateConfig::default());
    let mut wire = cframe(0x41, &[0x02, 0x00]); // compressed first fragment
    wire.extend(cframe(0xC0, &[0x00])); // RSV1 on a continuation
    let (_, err) = feed_all(&mut server, &wire);
    assert_eq!(err, Some(Error::ReservedBits));
    assert_eq!(sent_close_code(&server.take_output()), Some(1002));
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(false), &DeflateConfig::default());
    let (_, err) = feed_all(&mut server, &cframe(0xC9, b""));
    assert_eq!(err, Some(Error::ReservedBits));
}

#[test]
fn corrupt_compressed_data_fails_with_1007() {
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(false), &DeflateConfig::default());
    // Block type 11 (reserved) is invalid DEFLATE.
    let (_, err) = feed_all(&mut server, &cframe(0xC2, &[0xff, 0xff, 0xff, 0xff]));
    assert_eq!(err, Some(Error::InvalidCompressedData));
    assert_eq!(sent_close_code(&server.take_output()), Some(1007));
}

#[test]
fn invalid_utf8_inside_compressed_text_fails_with_1007() {
    let mut client = Connection::client(Config::default());
    client.enable_deflate(agreed(false), &zero_threshold());
    // Compress invalid UTF-8 as a binary message, then relabel it as text.
    client.send_binary(&[b'o', b'k', 0xff, b'x']).unwrap();
    let mut wire = client.take_output();
    wire[0] = (wire[0] & 0xf0) | 0x1;
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(false), &DeflateConfig::default());
    let (_, err) = feed_all(&mut server, &wire);
    assert_eq!(err, Some(Error::InvalidUtf8));
    assert_eq!(sent_close_code(&server.take_output()), Some(1007));
}

#[test]
fn compressed_message_over_the_limit_fails_with_1009() {
    let mut config = Config::default();
    config.max_message_size = 10_000;
    let mut client = Connection::client(config.clone());
    client.enable_deflate(agreed(false), &zero_threshold());
    client.send_binary(&vec![7u8; 10_001]).unwrap();
    let wire = client.take_output();
    assert!(wire.len() < 200, "compresses well");
    let mut server = Connection::server(config);
    server.enable_deflate(agreed(false), &DeflateConfig::default());
    let (_, err) = feed_all(&mut server, &wire);
    assert_eq!(err, Some(Error::MessageTooLarge { limit: 10_000 }));
    assert_eq!(sent_close_code(&server.take_output()), Some(1009));
}

// ---- a final block inside a message (RFC 7692 §7.2.3.4) ----

/// RFC 7692 §7.2.3.4, verbatim: "Hello" in a DEFLATE block with BFINAL set,
/// followed by the one octet (`0x00`) that lets the receiver append
/// `00 00 ff ff` as for any other message.
const HELLO_BFINAL: [u8; 8] = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];

/// RFC 7692 §7.2.3.1: "Hello" in a block without BFINAL.
const HELLO: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

fn deflate_server(nct: bool) -> Connection {
    let mut server = Connection::server(Config::default());
    server.enable_deflate(agreed(nct), &DeflateConfig::default());
    server
}

#[test]
fn a_final_block_followed_by_an_empty_block_header_is_accepted() {
    for nct in [false, true] {
        for sizes in [&[usize::MAX][..], &[1], &[3, 1, 7]] {
            let mut server = deflate_server(nct);
            let mut wire = cframe(0xC1, &HELLO_BFINAL);
            // The next message starts a stream of its own.
            wire.extend(cframe(0xC1, &HELLO));
            let (msgs, err) = feed_chopped(&mut server, &wire, sizes);
            assert_eq!(err, None, "context takeover {}, {sizes:?}", !nct);
            assert_eq!(
                msgs,
                vec![Message::Text("Hello".into()), Message::Text("Hello".into())]
            );
        }
    }
}

#[test]
fn what_a_compressor_may_put_after_a_final_block_is_accepted() {
    let with = |trailer: &[u8]| {
        let mut p = HELLO_BFINAL[..7].to_vec();
        p.extend_from_slice(trailer);
        p
    };
    for nct in [false, true] {
        for payload in [
            // Nothing after the final block.
            with(&[]),
            // An empty stored block, then the header of another (§7.2.3.4
            // with one more flush).
            with(&[0x00, 0x00, 0x00, 0xff, 0xff, 0x00]),
            // The trailing block's header with BFINAL set.
            with(&[0x01]),
        ] {
            let mut server = deflate_server(nct);
            let (msgs, err) = feed_all(&mut server, &cframe(0xC1, &payload));
            assert_eq!(err, None, "{payload:02x?}");
            assert_eq!(msgs, vec![Message::Text("Hello".into())]);
        }
        // The final block in one frame, the trailing octet in the next.
        let mut server = deflate_server(nct);
        let mut wire = cframe(0x41, &HELLO_BFINAL[..7]);
        wire.extend(cframe(0x80, &HELLO_BFINAL[7..]));
        let (msgs, err) = feed_chopped(&mut server, &wire, &[2]);
        assert_eq!(err, None);
        assert_eq!(msgs, vec![Message::Text("Hello".into())]);
    }
}

/// A last piece too large to be joined with the tail takes the other path
/// (inflate, then the tail on its own): a final stored block of 20,000
/// bytes, then the trailing octet.
#[test]
fn a_large_final_stored_block_with_its_trailing_octet_is_accepted() {
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let len = data.len() as u16;
    let mut payload = vec![0x01];
    payload.extend_from_slice(&len.to_le_bytes());
    payload.extend_from_slice(&(!len).to_le_bytes());
    payload.extend_from_slice(&data);
    payload.push(0x00);
    for nct in [false, true] {
        let mut server = deflate_server(nct);
        let (msgs, err) = feed_chopped(&mut server, &cframe(0xC2, &payload), &[4096]);
        assert_eq!(err, None);
        assert_eq!(msgs, vec![Message::Binary(data.clone())]);
    }
}

#[test]
fn garbage_after_a_final_block_still_fails_with_1007() {
    let with = |trailer: &[u8]| {
        let mut p = HELLO_BFINAL[..7].to_vec();
        p.extend_from_slice(trailer);
        p
    };
    for nct in [false, true] {
        for payload in [
            // Not an empty stored block's header (padding bits set).
            with(&[0xff]),
            with(&[0x00, 0x01, 0x02, 0x03]),
            // A second compressed block after the final one.
            with(&HELLO),
            // Much more than any flush would add.
            with(&[0x00; 100]),
        ] {
            let mut server = deflate_server(nct);
            let (_, err) = feed_chopped(&mut server, &cframe(0xC1, &payload), &[1, 3]);
            assert_eq!(err, Some(Error::InvalidCompressedData), "{payload:02x?}");
            assert_eq!(sent_close_code(&server.take_output()), Some(1007));
        }
    }
}
