//! RFC 6455 §5: framing, masking, fragmentation, control frames, UTF-8 and
//! limits. Every rule has a test that feeds the violating bytes and checks
//! both the error and the close code sent to the peer.

mod common;
use common::*;
use rfc6455::{CloseCode, Config, Connection, Error, Event, Message, MessageKind, State};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Feeds `bytes` to a fresh server and expects `err` and the close `code`.
fn server_rejects(bytes: &[u8], err: Error, code: u16) {
    server_rejects_with(Config::default(), bytes, err, code)
}

fn server_rejects_with(config: Config, bytes: &[u8], err: Error, code: u16) {
    for sizes in [&[usize::MAX][..], &[1][..], &[3, 1, 7][..]] {
        let mut server = Connection::server(config.clone());
        let (_, got) = feed_chopped(&mut server, bytes, sizes);
        assert_eq!(got.as_ref(), Some(&err), "sizes {sizes:?}");
        assert_eq!(err.close_code().map(u16::from), Some(code));
        assert_eq!(
            sent_close_code(&server.take_output()),
            Some(code),
            "close frame sent"
        );
        assert_eq!(server.state(), State::Closed);
        assert!(server.should_close_transport());
        // Nothing is delivered after a failure, and the error is not repeated.
        assert_eq!(server.next_event(), Ok(None));
    }
}

fn client_rejects(bytes: &[u8], err: Error, code: u16) {
    let mut client = client_with_key(Config::default(), KEY);
    let (_, got) = feed_all(&mut client, bytes);
    assert_eq!(got, Some(err));
    assert_eq!(sent_close_code(&client.take_output()), Some(code));
}

// ---- RFC 6455 §5.7 examples, byte for byte ----

#[test]
fn rfc_5_7_unmasked_hello() {
    let mut server = Connection::server(Config::default());
    server.send_text("Hello").unwrap();
    let wire = server.take_output();
    assert_eq!(wire, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let mut client = Connection::client(Config::default());
    assert_eq!(
        feed_all(&mut client, &wire).0,
        vec![Message::Text("Hello".into())]
    );
}

#[test]
fn rfc_5_7_masked_hello() {
    let mut client = client_with_key(Config::default(), KEY);
    client.send_text("Hello").unwrap();
    let wire = client.take_output();
    assert_eq!(
        wire,
        [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    );
    let mut server = Connection::server(Config::default());
    assert_eq!(
        feed_all(&mut server, &wire).0,
        vec![Message::Text("Hello".into())]
    );
}

#[test]
fn rfc_5_7_fragmented_hello() {
    let mut server = Connection::server(Config::default());
    server
        .send_fragment(MessageKind::Text, b"Hel", false)
        .unwrap();
    server
        .send_fragment(MessageKind::Text, b"lo", true)
        .unwrap();
    let wire = server.take_output();
    assert_eq!(wire, [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    for sizes in [&[usize::MAX][..], &[1][..], &[2, 5][..]] {
        let mut client = Connection::client(Config::default());
        assert_eq!(
            feed_chopped(&mut client, &wire, sizes).0,
            vec![Message::Text("Hello".into())]
        );
    }
}

#[test]
fn rfc_5_7_ping_and_masked_pong() {
    let mut server = Connection::server(Config::default());
    server.send_ping(b"Hello").unwrap();
    assert_eq!(
        server.take_output(),
        [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    let mut client = client_with_key(Config::default(), KEY);
    client.send_pong(b"Hello").unwrap();
    let wire = client.take_output();
    assert_eq!(
        wire,
        [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    );
    assert_eq!(
        feed_all(&mut server, &wire).0,
        vec![Message::Pong(b"Hello".to_vec())]
    );
}

#[test]
fn rfc_5_7_binary_length_forms() {
    let mut server = Connection::server(Config::default());
    server.send_binary(&[0u8; 256]).unwrap();
    let wire = server.take_output();
    assert_eq!(&wire[..4], &[0x82, 0x7E, 0x01, 0x00]);
    assert_eq!(wire.len(), 4 + 256);
    server.send_binary(&vec![7u8; 65536]).unwrap();
    let wire = server.take_output();
    assert_eq!(
        &wire[..10],
        &[0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
    );
    let mut client = Connection::client(Config::default());
    assert_eq!(
        feed_chopped(&mut client, &wire, &[1000]).0,
        vec![Message::Binary(vec![7u8; 65536])]
    );
}

#[test]
fn every_length_boundary_round_trips_in_both_roles() {
    for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut p = Pair::new();
        p.client.send_binary(&data).unwrap();
        assert_eq!(
            p.deliver_to_server(&[4096]).0,
            vec![Message::Binary(data.clone())],
            "len {len}"
        );
        p.server.send_binary(&data).unwrap();
        assert_eq!(
            p.deliver_to_client(&[777]).0,
            vec![Message::Binary(data)],
            "len {len}"
        );
    }
}

// ---- §5.2: reserved bits and opcodes ----

#[test]
fn rsv_bits_without_extension_fail_with_1002() {
    for rsv in [0x40u8, 0x20, 0x10, 0x70] {
        server_rejects(&cframe(0x81 | rsv, b"x"), Error::ReservedBits, 1002);
        server_rejects(&cframe(0x89 | rsv, b"x"), Error::ReservedBits, 1002);
        client_rejects(&frame(0x82 | rsv, b"x", None), Error::ReservedBits, 1002);
    }
}

#[test]
fn rsv1_allowed_only_on_first_frame_when_negotiated() {
    let mut server = Connection::server(Config::default());
    server.set_allowed_rsv(0b100);
    let mut bytes = cframe(0x41, b"a"); // RSV1 on the first frame: allowed
    bytes.extend(cframe(0xC0, b"b")); // RSV1 on a continuation: not
    let (_, err) = feed_all(&mut server, &bytes);
    assert_eq!(err, Some(Error::ReservedBits));
    assert_eq!(sent_close_code(&server.take_output()), Some(1002));
    let mut server = Connection::server(Config::default());
    server.set_allowed_rsv(0b100);
    let (_, err) = feed_all(&mut server, &cframe(0xC9, b"")); // RSV1 on a ping
    assert_eq!(err, Some(Error::ReservedBits));
}

#[test]
fn reserved_opcodes_fail_with_1002() {
    for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        server_rejects(&cframe(0x80 | op, b""), Error::ReservedOpcode(op), 1002);
        // Also after a valid message (Autobahn 4.1.x/4.2.x).
        let mut bytes = cframe(0x81, b"ok");
        bytes.extend(cframe(0x80 | op, b"payload"));
        let mut server = Connection::server(Config::default());
        let (msgs, err) = feed_all(&mut server, &bytes);
        assert_eq!(msgs, vec![Message::Text("ok".into())]);
        assert_eq!(err, Some(Error::ReservedOpcode(op)));
    }
}

#[test]
fn length_with_msb_set_fails() {
    let bytes = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4];
    server_rejects(&bytes, Error::InvalidLength, 1002);
}

// ---- §5.1: masking direction ----

#[test]
fn server_rejects_unmasked_and_client_rejects_masked() {
    server_rejects(&frame(0x81, b"hi", None), Error::UnmaskedFrame, 1002);
    client_rejects(&cframe(0x81, b"hi"), Error::MaskedFrame, 1002);
}

// ---- §5.5: control frames ----

#[test]
fn control_frames_must_be_final_and_short() {
    server_rejects(&cframe(0x09, b"x"), Error::FragmentedControl, 1002);
    server_rejects(&cframe(0x89, &[0u8; 126]), Error::ControlTooLong(126), 1002);
    // A 126-byte Close (Autobahn 7.3.6) is too long as well.
    server_rejects(&cframe(0x88, &[3; 126]), Error::ControlTooLong(126), 1002);
    // 125 is fine.
    let mut server = Connection::server(Config::default());
    let (msgs, err) = feed_all(&mut server, &cframe(0x89, &[9u8; 125]));
    assert_eq!((msgs, err), (vec![Message::Ping(vec![9u8; 125])], None));
}

#[test]
fn ping_is_answered_with_same_payload_and_reported() {
    let mut server = Connection::server(Config::default());
    let (msgs, _) = feed_all(&mut server, &cframe(0x89, b"are you there"));
    assert_eq!(msgs, vec![Message::Ping(b"are you there".to_vec())]);
    assert_eq!(server.take_output(), frame(0x8A, b"are you there", None));

    let mut config = Config::default();
    config.auto_pong = false;
    let mut server = Connection::server(config);
    let (msgs, _) = feed_all(&mut server, &cframe(0x89, b"x"));
    assert_eq!(msgs.len(), 1);
    assert!(!server.has_output());
}

#[test]
fn control_frames_between_fragments_are_delivered_at_once() {
    let mut bytes = cframe(0x01, b"Hel");
    bytes.extend(cframe(0x89, b"p1"));
    bytes.extend(cframe(0x8A, b"p2"));
    bytes.extend(cframe(0x00, b"l"));
    bytes.extend(cframe(0x89, b""));
    bytes.extend(cframe(0x80, b"o"));
    for sizes in [&[usize::MAX][..], &[1][..], &[5, 2][..]] {
        let mut server = Connection::server(Config::default());
        let (msgs, err) = feed_chopped(&mut server, &bytes, sizes);
        assert_eq!(err, None);
        assert_eq!(
            msgs,
            vec![
                Message::Ping(b"p1".to_vec()),
                Message::Pong(b"p2".to_vec()),
                Message::Ping(vec![]),
                Message::Text("Hello".into())
            ]
        );
    }
}

// ---- §5.4: fragmentation ----

#[test]
fn continuation_without_message_fails() {
    server_rejects(&cframe(0x80, b"x"), Error::UnexpectedContinuation, 1002);
    server_rejects(&cframe(0x00, b"x"), Error::UnexpectedContinuation, 1002);
}

#[test]
fn new_message_inside_fragmented_one_fails() {
    let mut bytes = cframe(0x01, b"a");
    bytes.extend(cframe(0x81, b"b"));
    server_rejects(&bytes, Error::ExpectedContinuation, 1002);
    let mut bytes = cframe(0x02, b"a");
    bytes.extend(cframe(0x02, b"b"));
    server_rejects(&bytes, Error::ExpectedContinuation, 1002);
}

// ---- §8.1: UTF-8 ----

#[test]
fn invalid_utf8_fails_with_1007() {
    server_rejects(&cframe(0x81, &[0xce, 0xba, 0xff]), Error::InvalidUtf8, 1007);
    // Truncated at the end of the message.
    server_rejects(&cframe(0x81, &[b'a', 0xe2, 0x82]), Error::InvalidUtf8, 1007);
    // Split over fragments.
    let mut bytes = cframe(0x01, &[0xe2, 0x82]);
    bytes.extend(cframe(0x80, &[0x28]));
    server_rejects(&bytes, Error::InvalidUtf8, 1007);
}

#[test]
fn valid_multibyte_text_split_inside_code_points() {
    let text = "a\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}κόσμε";
    let bytes = text.as_bytes();
    for cut in 1..bytes.len() {
        let mut wire = cframe(0x01, &bytes[..cut]);
        wire.extend(cframe(0x80, &bytes[cut..]));
        for sizes in [&[usize::MAX][..], &[1][..]] {
            let mut server = Connection::server(Config::default());
            let (msgs, err) = feed_chopped(&mut server, &wire, sizes);
            assert_eq!(
                (msgs, err),
                (vec![Message::Text(text.into())], None),
                "cut {cut}"
            );
        }
    }
}

#[test]
fn invalid_utf8_fails_fast_inside_a_frame() {
    // Autobahn 6.4.3: the frame announces 20 bytes; the bad byte is in the
    // first few. The error must come before the rest of the frame arrives.
    let mut payload = vec![
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90,
    ];
    payload.extend_from_slice(b"0123456");
    let wire = cframe(0x81, &payload);
    let header_len = 6;
    let mut server = Connection::server(Config::default());
    server.feed(&wire[..header_len + 12]);
    assert_eq!(server.next_event(), Ok(None), "F4 alone may still be valid");
    server.feed(&wire[header_len + 12..header_len + 13]);
    assert_eq!(
        server.next_event(),
        Err(Error::InvalidUtf8),
        "F4 90 is impossible"
    );
    assert_eq!(sent_close_code(&server.take_output()), Some(1007));
}

#[test]
fn invalid_utf8_fails_fast_across_fragments() {
    let mut server = Connection::server(Config::default());
    // The first fragment is complete, the message is not: still fail now.
    server.feed(&cframe(0x01, &[b'o', b'k', 0xed, 0xa0]));
    assert_eq!(server.next_event(), Err(Error::InvalidUtf8));
}

// ---- limits ----

#[test]
fn oversized_frame_fails_with_1009_before_payload_arrives() {
    let mut config = Config::default();
    config.max_frame_size = 1000;
    let wire = cframe(0x82, &vec![0u8; 1001]);
    let mut server = Connection::server(config);
    server.feed(&wire[..8]); // header only
    assert_eq!(
        server.next_event(),
        Err(Error::FrameTooLarge {
            size: 1001,
            limit: 1000
        })
    );
    assert_eq!(sent_close_code(&server.take_output()), Some(1009));
}

#[test]
fn oversized_message_fails_with_1009_at_the_offending_header() {
    let mut config = Config::default();
    config.max_message_size = 100;
    let mut wire = cframe(0x02, &[1u8; 60]);
    wire.extend(cframe(0x80, &[2u8; 41]));
    server_rejects_with(
        config.clone(),
        &wire,
        Error::MessageTooLarge { limit: 100 },
        1009,
    );
    let mut server = Connection::server(config);
    // The second header alone triggers the error.
    server.feed(&wire[..6 + 60 + 6]);
    assert_eq!(
        server.next_event(),
        Err(Error::MessageTooLarge { limit: 100 })
    );
}

#[test]
fn huge_announced_length_does_not_allocate_it() {
    // 2^62 bytes announced: rejected by the limit, nothing reserved.
    let mut wire = vec![0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0];
    wire.extend_from_slice(&[1, 2, 3, 4]);
    let mut server = Connection::server(Config::default());
    server.feed(&wire);
    assert!(matches!(
        server.next_event(),
        Err(Error::FrameTooLarge { .. })
    ));
}

// ---- sending ----

#[test]
fn streaming_send_round_trips_with_control_frames_between() {
    let mut p = Pair::new();
    let chunk = vec![b'z'; 10_000];
    for i in 0..10 {
        p.client
            .send_fragment(MessageKind::Binary, &chunk, i == 9)
            .unwrap();
        if i == 4 {
            p.client.send_ping(b"mid").unwrap();
        }
    }
    let (msgs, err) = p.deliver_to_server(&[1500]);
    assert_eq!(err, None);
    assert_eq!(
        msgs,
        vec![
            Message::Ping(b"mid".to_vec()),
            Message::Binary(vec![b'z'; 100_000])
        ]
    );
}

#[test]
fn send_sequence_errors() {
    let mut c = Connection::server(Config::default());
    c.send_fragment(MessageKind::Text, b"a", false).unwrap();
    assert_eq!(c.send_text("x"), Err(Error::SendSequence));
    assert_eq!(
        c.send_fragment(MessageKind::Binary, b"a", true),
        Err(Error::SendSequence)
    );
    c.send_fragment(MessageKind::Text, b"b", true).unwrap();
    c.send_text("x").unwrap();
    assert_eq!(
        c.send_ping(&[0; 126]),
        Err(Error::InvalidControlPayload(126))
    );
    assert_eq!(
        c.send_message(MessageKind::Text, &[0xff]),
        Err(Error::SendInvalidUtf8)
    );
    assert_eq!(
        c.send_fragment(MessageKind::Text, &[0xe2], true),
        Err(Error::SendInvalidUtf8)
    );
}

#[test]
fn shared_frames_are_queued_without_copy_and_in_order() {
    let frame_bytes = rfc6455::connection::encode_shared(MessageKind::Text, b"all");
    let mut p = Pair::new();
    p.server.send_text("one").unwrap();
    p.server.send_shared(&frame_bytes).unwrap();
    p.server.send_text("two").unwrap();
    let (msgs, err) = p.deliver_to_client(&[2]);
    assert_eq!(err, None);
    assert_eq!(
        msgs,
        vec![
            Message::from("one"),
            Message::from("all"),
            Message::from("two")
        ]
    );
    assert_eq!(
        p.client.send_shared(&frame_bytes),
        Err(Error::SendSequence),
        "clients must mask"
    );
    // Encoded once: a thousand connections queue the very same bytes.
    let mut many: Vec<Connection> = (0..1000)
        .map(|_| Connection::server(Config::default()))
        .collect();
    for conn in &mut many {
        conn.send_shared(&frame_bytes).unwrap();
        let mut slices: [&[u8]; 2] = [&[]; 2];
        assert_eq!(conn.output().chunks(&mut slices), 1);
        assert_eq!(slices[0].as_ptr(), frame_bytes.as_bytes().as_ptr());
    }
}

#[test]
fn client_masking_keys_differ_per_frame() {
    let mut c = Connection::client(Config::default());
    c.send_binary(b"a").unwrap();
    c.send_binary(b"a").unwrap();
    let out = c.take_output();
    let (h1, l1) = rfc6455::frame::FrameHeader::parse(&out).unwrap().unwrap();
    let (h2, _) = rfc6455::frame::FrameHeader::parse(&out[l1 + 1..])
        .unwrap()
        .unwrap();
    assert_ne!(h1.mask, h2.mask);
}

#[test]
fn borrowed_events_point_into_the_buffers() {
    let mut server = Connection::server(Config::default());
    server.feed(&cframe(0x82, b"abc"));
    match server.next_event().unwrap() {
        Some(Event::Binary(b)) => assert_eq!(b, b"abc"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.buffered_input(), 9);
    assert_eq!(server.next_event(), Ok(None));
    let _ = CloseCode::NORMAL;
}

#[test]
fn streaming_mode_delivers_payload_as_it_arrives_and_still_fails_fast() {
    let mut config = Config::default();
    config.stream_fragments = true;
    config.max_message_size = 1 << 20;
    // A 100 KiB binary frame fed in 10 KiB pieces comes out in pieces.
    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let wire = cframe(0x82, &payload);
    let mut server = Connection::server(config.clone());
    let (got, err) = feed_chopped(&mut server, &wire, &[10_000]);
    assert_eq!(err, None);
    assert!(got.len() >= 10, "{} pieces", got.len());
    let mut joined = Vec::new();
    for (i, m) in got.iter().enumerate() {
        match m {
            Message::Fragment {
                kind: MessageKind::Binary,
                data,
                fin,
            } => {
                assert_eq!(*fin, i == got.len() - 1);
                joined.extend_from_slice(data);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(joined, payload);
    // Invalid UTF-8 still fails in the piece where it arrives.
    let mut server = Connection::server(config.clone());
    let mut wire = cframe(0x01, b"ok ");
    wire.extend(cframe(0x80, &[0xc0, 0xaf]));
    let (got, err) = feed_all(&mut server, &wire);
    assert_eq!(
        got,
        vec![Message::Fragment {
            kind: MessageKind::Text,
            data: b"ok ".to_vec(),
            fin: false
        }]
    );
    assert_eq!(err, Some(Error::InvalidUtf8));
    // The message limit still applies across pieces.
    let mut server = Connection::server(config);
    let wire = cframe(0x82, &vec![0u8; (1 << 20) + 1]);
    server.feed(&wire[..14]);
    assert!(matches!(
        server.next_event(),
        Err(Error::MessageTooLarge { .. })
    ));
}
