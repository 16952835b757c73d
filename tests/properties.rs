//! Property tests: any sequence of messages, fragmented any way, with control
//! frames interleaved, encoded by one role and fed to the other split at
//! arbitrary points, yields exactly the same events; and the incremental
//! UTF-8 validator agrees with `core::str::from_utf8` on any split input.

mod common;
use common::*;
use proptest::prelude::*;
use rfc6455::utf8::Utf8Validator;
use rfc6455::{Config, Connection, Message, MessageKind};

#[derive(Clone, Debug)]
enum Op {
    /// A message sent in fragments of the given sizes (one fragment if empty).
    Data {
        text: bool,
        payload: Vec<u8>,
        cuts: Vec<usize>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<String>(), prop::collection::vec(0usize..50, 0..4))
            .prop_map(|(s, cuts)| Op::Data { text: true, payload: s.into_bytes(), cuts }),
        4 => (prop::collection::vec(any::<u8>(), 0..300), prop::collection::vec(0usize..120, 0..4))
            .prop_map(|(b, cuts)| Op::Data { text: false, payload: b, cuts }),
        1 => (prop::collection::vec(any::<u8>(), 70_000..70_100), Just(vec![]))
            .prop_map(|(b, cuts)| Op::Data { text: false, payload: b, cuts }),
        1 => prop::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
        1 => prop::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Pong),
    ]
}

/// Encodes `ops` on `sender`; control frames are slipped between fragments.
fn encode(sender: &mut Connection, ops: &[Op]) -> Vec<Message> {
    let mut expected = Vec::new();
    let mut pending_control: Vec<&Op> = Vec::new();
    for op in ops {
        match op {
            Op::Data {
                text,
                payload,
                cuts,
            } => {
                let kind = if *text {
                    MessageKind::Text
                } else {
                    MessageKind::Binary
                };
                let mut pieces = Vec::new();
                let mut at = 0;
                for &c in cuts {
                    let end = (at + c).min(payload.len());
                    pieces.push(&payload[at..end]);
                    at = end;
                }
                pieces.push(&payload[at..]);
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    sender.send_fragment(kind, piece, i == last).unwrap();
                    if i == last {
                        expected.push(if *text {
                            Message::Text(String::from_utf8(payload.clone()).unwrap())
                        } else {
                            Message::Binary(payload.clone())
                        });
                    }
                    // Interleave any waiting control frames after the first fragment.
                    for c in pending_control.drain(..) {
                        match c {
                            Op::Ping(p) => {
                                sender.send_ping(p).unwrap();
                                expected.push(Message::Ping(p.clone()));
                            }
                            Op::Pong(p) => {
                                sender.send_pong(p).unwrap();
                                expected.push(Message::Pong(p.clone()));
                            }
                            Op::Data { .. } => unreachable!(),
                        }
                    }
                }
            }
            c => pending_control.push(c),
        }
    }
    for c in pending_control {
        match c {
            Op::Ping(p) => {
                sender.send_ping(p).unwrap();
                expected.push(Message::Ping(p.clone()));
            }
            Op::Pong(p) => {
                sender.send_pong(p).unwrap();
                expected.push(Message::Pong(p.clone()));
            }
            Op::Data { .. } => unreachable!(),
        }
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn client_to_server_any_split(ops in prop::collection::vec(op(), 0..12),
                                  sizes in prop::collection::vec(1usize..400, 1..6)) {
        let mut client = Connection::client(Config::default());
        let expected = encode(&mut client, &ops);
        let wire = client.take_output();
        let mut server = Connection::server(Config::default());
        let (got, err) = feed_chopped(&mut server, &wire, &sizes);
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn server_to_client_any_split(ops in prop::collection::vec(op(), 0..12),
                                  sizes in prop::collection::vec(1usize..400, 1..6)) {
        let mut server = Connection::server(Config::default());
        let expected = encode(&mut server, &ops);
        let wire = server.take_output();
        let mut client = Connection::client(Config::default());
        let (got, err) = feed_chopped(&mut client, &wire, &sizes);
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn one_byte_at_a_time(ops in prop::collection::vec(op(), 0..6)) {
        let mut client = Connection::client(Config::default());
        let expected = encode(&mut client, &ops);
        let wire = client.take_output();
        let mut server = Connection::server(Config::default());
        let (got, err) = feed_chopped(&mut server, &wire, &[1]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn utf8_validator_agrees_with_from_utf8(bytes in prop::collection::vec(any::<u8>(), 0..64),
                                            cuts in prop::collection::vec(0usize..64, 0..5)) {
        check_validator(&bytes, &cuts)?;
    }

    #[test]
    fn utf8_validator_agrees_on_mostly_valid_text(s in any::<String>(), flip in any::<(usize, u8)>(),
                                                  cuts in prop::collection::vec(0usize..64, 0..5)) {
        let mut bytes = s.into_bytes();
        if !bytes.is_empty() {
            let i = flip.0 % bytes.len();
            bytes[i] ^= flip.1;
        }
        check_validator(&bytes, &cuts)?;
    }
}

fn check_validator(bytes: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut v = Utf8Validator::new();
    let mut prev = 0;
    let mut ok = true;
    for p in points.into_iter().chain([bytes.len()]) {
        if ok && v.feed(&bytes[prev..p]).is_err() {
            ok = false;
            // Fail-fast: the prefix up to here must already be impossible.
            prop_assert!(core::str::from_utf8(&bytes[..p])
                .map_err(|e| e.error_len().is_some())
                .unwrap_err());
        }
        prev = p;
    }
    let ours = ok && v.is_complete();
    prop_assert_eq!(ours, core::str::from_utf8(bytes).is_ok());
    Ok(())
}

/// Joins `Fragment` events back into messages; other events pass through.
fn join_fragments(events: Vec<Message>) -> Vec<Message> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    for e in events {
        match e {
            Message::Fragment { kind, data, fin } => {
                buf.extend_from_slice(&data);
                if fin {
                    let bytes = std::mem::take(&mut buf);
                    out.push(match kind {
                        MessageKind::Text => Message::Text(String::from_utf8(bytes).unwrap()),
                        MessageKind::Binary => Message::Binary(bytes),
                    });
                }
            }
            other => out.push(other),
        }
    }
    assert!(buf.is_empty(), "a message was left unfinished");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// In streaming mode the pieces join back into exactly the messages sent,
    /// and no piece is larger than what one read brought in.
    #[test]
    fn streamed_fragments_join_into_the_same_messages(ops in prop::collection::vec(op(), 0..10),
                                                      sizes in prop::collection::vec(1usize..3000, 1..6)) {
        let mut client = Connection::client(Config::default());
        let expected = encode(&mut client, &ops);
        let wire = client.take_output();
        let mut config = Config::default();
        config.stream_fragments = true;
        let mut server = Connection::server(config);
        let (got, err) = feed_chopped(&mut server, &wire, &sizes);
        prop_assert_eq!(err, None);
        let max_piece = sizes.iter().max().copied().unwrap_or(1);
        for m in &got {
            if let Message::Fragment { data, .. } = m {
                prop_assert!(data.len() <= max_piece);
            }
        }
        prop_assert_eq!(join_fragments(got), expected);
    }
}
