//! RFC 6455 §7: the closing handshake, close frame bodies, EOF, and the
//! timers (keepalive, close timeout) driven by the caller's clock.

mod common;
use common::*;
use core::time::Duration;
use rfc6455::{CloseCode, Config, Connection, Error, Event, Message, State};

fn close_body(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(reason);
    v
}

#[test]
fn peer_close_is_echoed_once_and_reported() {
    let mut server = Connection::server(Config::default());
    let mut wire = cframe(0x88, &close_body(4000, b"done"));
    wire.extend(cframe(0x81, b"after close")); // must not be delivered
    let (msgs, err) = feed_all(&mut server, &wire);
    assert_eq!(err, None);
    assert_eq!(
        msgs,
        vec![Message::Close(Some(rfc6455::close::OwnedCloseFrame {
            code: Some(CloseCode::new(4000)),
            reason: "done".into()
        }))]
    );
    assert_eq!(
        server.take_output(),
        frame(0x88, &close_body(4000, b"done"), None)
    );
    assert_eq!(server.state(), State::Closed);
    assert_eq!(server.peer_close_code(), Some(CloseCode::new(4000)));
    // §7.1.1: the server closes the transport first.
    assert!(server.should_close_transport());
    assert_eq!(server.send_text("x"), Err(Error::SendAfterClose));
    // A second Close from the peer is not answered again.
    server.feed(&cframe(0x88, &close_body(1000, b"")));
    assert_eq!(server.next_event(), Ok(None));
    assert!(!server.has_output());
}

#[test]
fn empty_close_is_answered_with_empty_close() {
    let mut client = Connection::client(Config::default());
    let (msgs, _) = feed_all(&mut client, &frame(0x88, b"", None));
    assert_eq!(msgs, vec![Message::Close(None)]);
    assert_eq!(sent_close_code(&client.take_output()), Some(1005));
    assert_eq!(client.peer_close_code(), Some(CloseCode::NO_STATUS));
    // A client waits for the server to close TCP (§7.1.1).
    assert!(!client.should_close_transport());
    client.feed_eof();
    assert!(client.should_close_transport());
    assert_eq!(client.next_event(), Ok(None));
}

#[test]
fn one_byte_close_body_fails_with_1002() {
    let mut server = Connection::server(Config::default());
    let (_, err) = feed_all(&mut server, &cframe(0x88, &[0x03]));
    assert_eq!(err, Some(Error::CloseBodyTooShort));
    assert_eq!(sent_close_code(&server.take_output()), Some(1002));
}

#[test]
fn close_codes_are_checked_against_rfc_7_4() {
    let valid = [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ];
    for code in valid {
        let mut server = Connection::server(Config::default());
        let (msgs, err) = feed_all(&mut server, &cframe(0x88, &close_body(code, b"")));
        assert_eq!(err, None, "{code}");
        assert_eq!(msgs.len(), 1);
        assert_eq!(sent_close_code(&server.take_output()), Some(code));
    }
    let invalid = [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ];
    for code in invalid {
        let mut server = Connection::server(Config::default());
        let (msgs, err) = feed_all(&mut server, &cframe(0x88, &close_body(code, b"")));
        assert!(msgs.is_empty());
        assert_eq!(err, Some(Error::InvalidCloseCode(code)));
        assert_eq!(sent_close_code(&server.take_output()), Some(1002), "{code}");
    }
}

#[test]
fn close_reason_must_be_utf8() {
    let mut server = Connection::server(Config::default());
    let (_, err) = feed_all(
        &mut server,
        &cframe(0x88, &close_body(1000, &[0xce, 0xba, 0xff])),
    );
    assert_eq!(err, Some(Error::InvalidCloseReason));
    assert_eq!(sent_close_code(&server.take_output()), Some(1007));
}

#[test]
fn close_in_the_middle_of_a_fragmented_message_is_answered_with_1000() {
    // Autobahn 7.1.5: a close frame arriving between fragments is a normal close.
    let mut wire = cframe(0x01, b"frag");
    wire.extend(cframe(0x88, &close_body(1000, b"")));
    wire.extend(cframe(0x80, b"ment"));
    let mut server = Connection::server(Config::default());
    let (msgs, err) = feed_all(&mut server, &wire);
    assert_eq!(err, None);
    assert_eq!(msgs.len(), 1);
    assert_eq!(sent_close_code(&server.take_output()), Some(1000));
}

#[test]
fn locally_initiated_close_completes_when_the_peer_answers() {
    let mut p = Pair::new();
    p.client.send_text("last words").unwrap();
    p.client.close(CloseCode::GOING_AWAY, "bye").unwrap();
    assert_eq!(p.client.state(), State::Closing);
    assert_eq!(p.client.send_text("x"), Err(Error::SendAfterClose));
    assert_eq!(p.client.send_ping(b""), Err(Error::SendAfterClose));
    assert_eq!(
        p.client.close(CloseCode::NORMAL, ""),
        Err(Error::SendAfterClose)
    );
    // The server may still send data before it sees the close.
    p.server.send_text("crossing").unwrap();
    let (msgs, _) = p.deliver_to_server(&[3]);
    assert_eq!(msgs[0], Message::from("last words"));
    assert!(
        matches!(msgs[1], Message::Close(Some(ref c)) if c.code == Some(CloseCode::GOING_AWAY))
    );
    assert!(
        !p.server.should_close_transport(),
        "its close reply is not written yet"
    );
    let (msgs, err) = p.deliver_to_client(&[1]);
    assert!(p.server.should_close_transport());
    assert_eq!(err, None);
    assert_eq!(
        msgs[0],
        Message::from("crossing"),
        "data received while closing is delivered"
    );
    assert!(matches!(msgs[1], Message::Close(_)));
    assert_eq!(p.client.state(), State::Closed);
    assert!(
        !p.client.should_close_transport(),
        "client waits for the server's TCP close"
    );
    p.client.feed_eof();
    assert!(p.client.should_close_transport());
}

#[test]
fn close_arguments_are_checked() {
    let mut c = Connection::server(Config::default());
    assert_eq!(
        c.close(CloseCode::ABNORMAL, ""),
        Err(Error::InvalidSendCode(1006))
    );
    assert_eq!(
        c.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(Error::CloseReasonTooLong(124))
    );
    c.close(CloseCode::NORMAL, &"x".repeat(123)).unwrap();
    let out = c.take_output();
    assert_eq!(out.len(), 2 + 125);
}

#[test]
fn eof_before_close_is_an_abnormal_closure() {
    let mut server = Connection::server(Config::default());
    let wire = cframe(0x82, &[0u8; 50]);
    server.feed(&wire[..20]); // mid-frame
    assert_eq!(server.next_event(), Ok(None));
    server.feed_eof();
    assert_eq!(server.next_event(), Err(Error::AbnormalClosure));
    assert_eq!(server.peer_close_code(), Some(CloseCode::ABNORMAL));
    assert!(!server.has_output(), "no close frame on a dead transport");
    assert!(server.should_close_transport());
    assert_eq!(server.next_event(), Ok(None));
}

#[test]
fn keepalive_pings_after_idle_interval_and_fails_without_pong() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(20));
    config.pong_timeout = Duration::from_secs(5);
    let mut server = Connection::server(config);
    let t0 = Duration::from_secs(1000);
    server.handle_timeout(t0);
    assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(20)));
    server.handle_timeout(t0 + Duration::from_secs(19));
    assert!(!server.has_output());
    server.handle_timeout(t0 + Duration::from_secs(20));
    let ping = server.take_output();
    assert_eq!(ping[0], 0x89);
    assert_eq!(server.poll_timeout(), Some(t0 + Duration::from_secs(25)));
    server.handle_timeout(t0 + Duration::from_secs(25));
    assert_eq!(server.next_event(), Err(Error::KeepaliveTimeout));
    assert_eq!(sent_close_code(&server.take_output()), Some(1011));
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn keepalive_pong_clears_the_deadline() {
    let mut config = Config::default();
    config.ping_interval = Some(Duration::from_secs(10));
    let mut p = Pair::with_config(config);
    p.server.handle_timeout(Duration::ZERO);
    p.client.handle_timeout(Duration::ZERO);
    p.server.handle_timeout(Duration::from_secs(10));
    let (msgs, _) = p.deliver_to_client(&[usize::MAX]);
    assert!(matches!(msgs[..], [Message::Ping(_)]));
    let (msgs, _) = p.deliver_to_server(&[1]); // the automatic pong
    assert!(matches!(msgs[..], [Message::Pong(_)]));
    p.server.handle_timeout(Duration::from_secs(19));
    assert_eq!(p.server.state(), State::Open);
    assert_eq!(p.server.next_event(), Ok(None));
    assert!(!p.server.has_output());
    // The next ping is due an interval after the pong arrived.
    assert_eq!(p.server.poll_timeout(), Some(Duration::from_secs(20)));
}

#[test]
fn close_handshake_times_out() {
    let mut config = Config::default();
    config.close_timeout = Duration::from_secs(3);
    let mut client = Connection::client(config);
    client.handle_timeout(Duration::from_secs(1));
    client.close(CloseCode::NORMAL, "").unwrap();
    client.take_output();
    assert_eq!(client.poll_timeout(), Some(Duration::from_secs(4)));
    client.handle_timeout(Duration::from_secs(4));
    assert_eq!(client.state(), State::Closed);
    assert!(client.should_close_transport());
}

#[test]
fn borrowed_close_event_carries_code_and_reason() {
    let mut client = Connection::client(Config::default());
    client.feed(&frame(0x88, &close_body(1001, b"going"), None));
    match client.next_event().unwrap() {
        Some(Event::Close(c)) => {
            assert_eq!(c.code, Some(CloseCode::GOING_AWAY));
            assert_eq!(c.reason, "going");
        }
        other => panic!("{other:?}"),
    }
}

/// The idle timer never reports a deadline that has already passed: when
/// buffers cannot be given back yet (a frame is half received), the next try
/// is a period later. (A past deadline made an adapter's read loop spin
/// without ever reading the rest of the frame.)
#[test]
fn idle_shrink_that_cannot_happen_yet_moves_its_deadline() {
    let mut server = Connection::server(Config::default());
    server.handle_timeout(Duration::ZERO);
    // Half of a 100 KiB binary frame: the receive buffer grows for it.
    let wire = cframe(0x82, &vec![7u8; 100 << 10]);
    server.feed(&wire[..60 << 10]);
    assert_eq!(server.next_event().unwrap(), None);
    assert!(server.buffer_capacity() > 4096);
    let mut now = Duration::ZERO;
    for _ in 0..5 {
        let due = server.poll_timeout().expect("the idle timer");
        now = now.max(due);
        server.handle_timeout(now);
        let next = server.poll_timeout().expect("still oversized");
        assert!(next > now, "deadline {next:?} not after {now:?}");
    }
    // The rest arrives: the frame is delivered whole, then the buffer goes.
    server.feed(&wire[60 << 10..]);
    match server.next_event().unwrap() {
        Some(Event::Binary(b)) => assert_eq!(b.len(), 100 << 10),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.next_event().unwrap(), None);
    let due = server.poll_timeout().expect("the idle timer");
    server.handle_timeout(due);
    assert!(server.buffer_capacity() <= 4096);
    assert_eq!(server.poll_timeout(), None);
}

/// A burst of shared frames grows the queue's list of references; once it
/// is written, the idle timer gives the list back (and reports a deadline
/// for it), as it does for the receive buffer.
#[test]
fn the_send_queue_is_given_back_by_the_idle_timer() {
    use rfc6455::outgoing::encode_shared;
    use rfc6455::MessageKind;
    use std::time::Duration;

    let mut server = Connection::server(Config::default());
    server.handle_timeout(Duration::ZERO);
    let frame = encode_shared(MessageKind::Text, b"a line for everyone");
    for _ in 0..10_000 {
        server.send_shared(&frame).unwrap();
    }
    // Written out the way an adapter does it: consumed, not taken.
    let n = server.output_len();
    server.output().consume(n);
    assert!(
        server.buffer_capacity() > 100_000,
        "{}",
        server.buffer_capacity()
    );
    let deadline = server.poll_timeout().expect("the idle timer is armed");
    server.handle_timeout(deadline);
    assert!(
        server.buffer_capacity() <= 4096,
        "{} bytes kept while idle",
        server.buffer_capacity()
    );
    assert_eq!(server.poll_timeout(), None, "nothing left to give back");
}
