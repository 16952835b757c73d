//! Structured round trip: a list of operations is sent by one role and fed,
//! in fuzz-chosen chunks, to the other; what is received must equal what was
//! sent, with no error. Optionally with permessage-deflate negotiated on
//! both ends (same parameters), so compressed messages round-trip too.
#![no_main]

mod common;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rfc6455::deflate::{DeflateConfig, Negotiated};
use rfc6455::{CloseCode, Config, Connection, Message, MessageKind, Role};

#[derive(Arbitrary, Debug)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
    /// A message of `len` copies of `byte` (reaching the 16- and 64-bit
    /// length forms without a huge fuzz input).
    Big { byte: u8, len: u32 },
    /// A message in fragments; `ping_between` sends a Ping after the fragment
    /// with that index.
    Fragmented {
        text: bool,
        data: Vec<u8>,
        cuts: Vec<u16>,
        ping_between: Option<u8>,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// `send_uncompressed` (RSV1 clear even with deflate on).
    Uncompressed { text: bool, data: Vec<u8> },
    /// Server only: a message encoded once (`encode_shared`, or with
    /// `compressed` `encode_shared_compressed` at window 9 + bits % 7) and
    /// queued with `send_shared`.
    Shared { text: bool, data: Vec<u8>, compressed: bool, bits: u8, level: u8 },
}

/// permessage-deflate parameters both ends agree on.
#[derive(Arbitrary, Debug)]
struct Deflate {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// 9 + x % 7.
    server_bits: u8,
    /// 8 + x % 8 (a client window of 8 bits: its messages go uncompressed).
    client_bits: u8,
    /// Threshold 0 when < 128, else x - 128.
    threshold: u8,
    /// x % 10.
    level: u8,
}

#[derive(Arbitrary, Debug)]
enum Close {
    None,
    Empty,
    Code { code: u16, reason: String },
}

#[derive(Arbitrary, Debug)]
struct Input {
    deflate: Option<Deflate>,
    client_sends: bool,
    key: [u8; 4],
    ops: Vec<Op>,
    close: Close,
    chunks: Vec<u16>,
    /// Use `read_buf`/`commit_read` rather than `feed` for chunk i when bit
    /// i % 8 is set.
    read_buf_mask: u8,
}

const BIG_LIMIT: usize = 128 << 10;

fn valid_code(c: u16) -> CloseCode {
    const CODES: [u16; 12] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
    let code = CloseCode::new(c);
    if code.is_valid_on_wire() {
        code
    } else if c < 2000 {
        CloseCode::new(CODES[c as usize % CODES.len()])
    } else {
        CloseCode::new(3000 + c % 2000)
    }
}

/// Truncates to at most `max` bytes at a char boundary.
fn truncate_str(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A text message of `data`'s valid UTF-8 prefix, or a binary one of all of it.
fn kind_and_data(text: bool, data: &[u8]) -> (MessageKind, &[u8]) {
    if text {
        let valid = match core::str::from_utf8(data) {
            Ok(s) => s.len(),
            Err(e) => e.valid_up_to(),
        };
        (MessageKind::Text, &data[..valid])
    } else {
        (MessageKind::Binary, data)
    }
}

/// The message `data` of `kind` arrives as.
fn message_of(kind: MessageKind, data: &[u8]) -> Message {
    match kind {
        MessageKind::Text => Message::Text(String::from_utf8(data.to_vec()).unwrap()),
        MessageKind::Binary => Message::Binary(data.to_vec()),
    }
}

/// Cuts `data` into pieces at the given offsets (taken modulo its length).
fn pieces<'a>(data: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .take(64)
        .map(|&c| c as usize % (data.len() + 1))
        .collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

fuzz_target!(|input: Input| {
    let mut config = Config::default();
    config.max_frame_size = BIG_LIMIT;
    config.max_message_size = BIG_LIMIT;
    config.read_buffer_size = 512;
    config.max_read_size = 16 << 10;

    // Messages are generated up to BIG_LIMIT; compressed, incompressible
    // data grows by a few bytes per stored block, so the receiver's wire
    // limits leave room for that (its inflated-size limit still applies).
    let mut receiver_config = config.clone();
    receiver_config.max_frame_size = BIG_LIMIT + BIG_LIMIT / 64 + 1024;
    receiver_config.max_message_size = BIG_LIMIT + BIG_LIMIT / 64 + 1024;
    let (mut sender, mut receiver) = if input.client_sends {
        (
            Connection::client_with_keys(config, common::FixedKeys(input.key)),
            Connection::server(receiver_config),
        )
    } else {
        (
            Connection::server(config),
            Connection::client_with_keys(receiver_config, common::FixedKeys(input.key)),
        )
    };
    let sender_role = if input.client_sends { Role::Client } else { Role::Server };

    let mut compress_all = false;
    if let Some(d) = &input.deflate {
        let agreed = Negotiated {
            server_no_context_takeover: d.server_no_context_takeover,
            client_no_context_takeover: d.client_no_context_takeover,
            server_max_window_bits: 9 + d.server_bits % 7,
            client_max_window_bits: 8 + d.client_bits % 8,
        };
        let mut dc = DeflateConfig::default();
        dc.threshold = if d.threshold < 128 { 0 } else { (d.threshold - 128) as usize };
        dc.level = (d.level % 10) as u32;
        sender.enable_deflate(agreed, &dc);
        receiver.enable_deflate(agreed, &dc);
        let sender_bits = match sender_role {
            Role::Server => agreed.server_max_window_bits,
            Role::Client => agreed.client_max_window_bits,
        };
        compress_all = dc.threshold == 0 && sender_bits >= 9;
    }
    let mut data_messages = 0usize;

    let mut expected: Vec<Message> = Vec::new();
    let mut total = 0usize;
    for op in input.ops.iter().take(64) {
        match op {
            Op::Text(s) => {
                sender.send_text(s).unwrap();
                expected.push(Message::Text(s.clone()));
            }
            Op::Binary(b) => {
                sender.send_binary(b).unwrap();
                expected.push(Message::Binary(b.clone()));
            }
            Op::Big { byte, len } => {
                let len = *len as usize % (BIG_LIMIT + 1);
                if total + len > 2 * BIG_LIMIT {
                    continue;
                }
                total += len;
                let data = vec![*byte; len];
                sender.send_binary(&data).unwrap();
                expected.push(Message::Binary(data));
            }
            Op::Fragmented { text, data, cuts, ping_between } => {
                // Cuts may split code points.
                let (kind, data) = kind_and_data(*text, data);
                let parts = pieces(data, cuts);
                let mut ping = None;
                for (i, p) in parts.iter().enumerate() {
                    let fin = i + 1 == parts.len();
                    sender.send_fragment(kind, p, fin).unwrap();
                    if !fin && ping_between.map(|x| x as usize % parts.len()) == Some(i) {
                        let payload = vec![i as u8; i % 126];
                        sender.send_ping(&payload).unwrap();
                        ping = Some(Message::Ping(payload));
                    }
                }
                // The ping arrives before the message it interrupts completes.
                expected.extend(ping);
                expected.push(message_of(kind, data));
            }
            Op::Ping(p) => {
                let p = &p[..p.len().min(125)];
                sender.send_ping(p).unwrap();
                expected.push(Message::Ping(p.to_vec()));
            }
            Op::Pong(p) => {
                let p = &p[..p.len().min(125)];
                sender.send_pong(p).unwrap();
                expected.push(Message::Pong(p.to_vec()));
            }
            Op::Uncompressed { text, data } => {
                let (kind, data) = kind_and_data(*text, data);
                sender.send_uncompressed(kind, data).unwrap();
                expected.push(message_of(kind, data));
                continue;
            }
            Op::Shared { text, data, compressed, bits, level } => {
                if sender_role != Role::Server {
                    continue;
                }
                let (kind, data) = kind_and_data(*text, data);
                let frame = if *compressed {
                    let mut dc = DeflateConfig::default();
                    dc.server_max_window_bits = 9 + bits % 7;
                    dc.level = (level % 10) as u32;
                    rfc6455::connection::encode_shared_compressed(kind, data, &dc)
                } else {
                    rfc6455::connection::encode_shared(kind, data)
                };
                sender.send_shared(&frame).unwrap();
                expected.push(message_of(kind, data));
                if !*compressed {
                    continue;
                }
            }
        }
        if matches!(
            op,
            Op::Text(_) | Op::Binary(_) | Op::Big { .. } | Op::Fragmented { .. } | Op::Shared { .. }
        ) {
            data_messages += 1;
        }
    }
    match &input.close {
        Close::None => {}
        Close::Empty => {
            sender.close_with(None, "").unwrap();
            expected.push(Message::Close(None));
        }
        Close::Code { code, reason } => {
            let code = valid_code(*code);
            let reason = truncate_str(reason, 123);
            sender.close(code, reason).unwrap();
            expected.push(Message::Close(Some(rfc6455::close::OwnedCloseFrame {
                code: Some(code),
                reason: reason.into(),
            })));
        }
    }

    // Collect the wire bytes, checking them as they go.
    let mut checker = if input.deflate.is_some() {
        common::SentChecker::with_deflate(sender_role, None)
    } else {
        common::SentChecker::new(sender_role)
    };
    let mut wire = Vec::with_capacity(sender.output().len());
    while !sender.output().is_empty() {
        let out = sender.output();
        let f = out.front();
        let n = f.len();
        wire.extend_from_slice(f);
        checker.push(f);
        out.consume(n);
    }
    checker.finish_stream(true);
    if compress_all {
        // Threshold 0: every data message goes out compressed.
        assert_eq!(checker.compressed_frames, data_messages, "compressed messages sent");
    } else if input.deflate.is_none() {
        assert_eq!(checker.compressed_frames, 0);
    }

    // Feed them to the other role in fuzz-chosen chunks.
    let mut got: Vec<Message> = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < wire.len() {
        let c = input.chunks.get(i % input.chunks.len().max(1)).copied().unwrap_or(0);
        let n = if c == 0 { wire.len() } else { c as usize }.min(wire.len() - at);
        if input.read_buf_mask & (1 << (i % 8)) != 0 {
            let mut done = 0;
            while done < n {
                let buf = receiver.read_buf();
                let k = buf.len().min(n - done);
                buf[..k].copy_from_slice(&wire[at + done..at + done + k]);
                receiver.commit_read(k);
                done += k;
            }
        } else {
            receiver.feed(&wire[at..at + n]);
        }
        at += n;
        i += 1;
        loop {
            match receiver.next_message() {
                Ok(Some(m)) => got.push(m),
                Ok(None) => break,
                Err(e) => panic!("receiver failed with {e:?} after {} messages", got.len()),
            }
        }
        // Discard the receiver's replies (pongs, the close echo).
        let _ = receiver.take_output();
    }
    assert_eq!(got.len(), expected.len(), "message count");
    for (k, (g, e)) in got.iter().zip(expected.iter()).enumerate() {
        assert!(g == e, "message {k} differs: got {g:?}, sent {e:?}");
    }
    assert_eq!(receiver.buffered_input(), 0);
});
