//! Regression tests for bugs found by the cargo-fuzz targets in `fuzz/`
//! (`scripts/fuzz.sh`). Each feeds the minimised input through the public
//! API and asserts the correct behaviour.

use rfc6455::{CloseCode, Config, Connection, Event, State};

/// `fuzz/fuzz_targets/client_connection` (and `server_connection`), found
/// as "buffered input grew after decoding stopped".
///
/// Once a connection has stopped decoding (the peer's Close frame was
/// received, or the connection failed), bytes fed to it are never decoded
/// again, yet `feed` and `read_buf`/`commit_read` kept appending them to the
/// receive buffer. A client must keep reading after the closing handshake
/// until the server closes the TCP connection (RFC 6455 §7.1.1;
/// `should_close_transport` stays false until `feed_eof` or the close
/// timeout), so a server that sends a Close frame and then streams garbage
/// made the client buffer all of it: unbounded memory.
#[test]
fn input_after_close_is_not_buffered() {
    let mut client = Connection::client(Config::default());
    // The server's Close (1000), then garbage the client keeps reading.
    client.feed(&[0x88, 0x02, 0x03, 0xe8]);
    let ev = client.next_event().unwrap();
    assert!(matches!(ev, Some(Event::Close(c)) if c.code == Some(CloseCode::NORMAL)));
    assert_eq!(client.state(), State::Closed);
    let _ = client.take_output();
    assert!(
        !client.should_close_transport(),
        "a client waits for the server's EOF"
    );

    let junk = vec![0x82u8; 64 << 10];
    for _ in 0..64 {
        client.feed(&junk);
        assert_eq!(client.next_event().unwrap(), None);
        // The zero-copy path too.
        let buf = client.read_buf();
        let n = buf.len().min(junk.len());
        buf[..n].copy_from_slice(&junk[..n]);
        client.commit_read(n);
        assert_eq!(client.next_event().unwrap(), None);
    }
    // 4 MiB+ were fed after the Close; none of it can ever be decoded.
    assert!(
        client.buffered_input() <= 64 << 10,
        "{} bytes buffered after the closing handshake",
        client.buffered_input()
    );
}

/// The same after a protocol error (the server role: a reserved opcode).
#[test]
fn input_after_failure_is_not_buffered() {
    let mut server = Connection::server(Config::default());
    server.feed(&[0x83, 0x80, 1, 2, 3, 4]);
    assert!(server.next_event().is_err());
    assert_eq!(server.state(), State::Closed);
    let junk = vec![0u8; 64 << 10];
    for _ in 0..64 {
        server.feed(&junk);
        assert_eq!(server.next_event().unwrap(), None);
    }
    assert!(
        server.buffered_input() <= 64 << 10,
        "{} bytes buffered after the connection failed",
        server.buffered_input()
    );
}

/// Found while analysing the above (the receive buffer's release logic).
///
/// `prepare_event` leaves the event's position in `ready` and the release of
/// its bytes in `release`; `feed`/`read_buf` apply the release (advancing,
/// compacting or shrinking the receive buffer) but leave `ready` set, so a
/// later `event()` slices the buffer with stale positions: it returns other
/// bytes than the message (here the start of the next frame), or panics
/// with "range end index out of range" when the buffer shrank back.
#[test]
fn event_after_feed_is_not_stale() {
    // Masked "Hello" (RFC 6455 §5.7), then the start of the next frame.
    let hello = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let mut server = Connection::server(Config::default());
    server.feed(&hello);
    assert!(server.prepare_event().unwrap());
    assert_eq!(server.event(), Some(Event::Text("Hello")));
    server.feed(&hello[..7]);
    // Either still the same event, or none: never other bytes.
    let ev = server.event();
    assert!(
        ev.is_none() || ev == Some(Event::Text("Hello")),
        "event() after feed returned {ev:?}"
    );
}

#[test]
fn event_after_feed_does_not_panic_when_the_buffer_shrinks() {
    // A 10000-byte masked binary frame: the receive buffer grows for it and
    // shrinks back once it is released.
    let mut frame = vec![0x82, 0xfe, 0x27, 0x10, 1, 2, 3, 4];
    frame.extend(std::iter::repeat(0u8).take(10_000));
    let mut server = Connection::server(Config::default());
    server.feed(&frame);
    assert!(server.prepare_event().unwrap());
    assert!(matches!(server.event(), Some(Event::Binary(b)) if b.len() == 10_000));
    server.feed(&[0x82]);
    let ev = server.event();
    assert!(
        ev.is_none() || matches!(ev, Some(Event::Binary(b)) if b.len() == 10_000),
        "event() after feed returned {ev:?}"
    );
}

/// The same through the zero-copy read path (`read_buf` + `commit_read`):
/// bytes read after the peer's Close are dropped, not buffered.
#[test]
fn input_read_into_read_buf_after_close_is_not_buffered() {
    let mut client = rfc6455::Connection::client(rfc6455::Config::default());
    client.feed(&[0x88, 0x02, 0x03, 0xe8]);
    assert!(matches!(
        client.next_event(),
        Ok(Some(rfc6455::Event::Close(_)))
    ));
    for _ in 0..100 {
        let buf = client.read_buf();
        let n = buf.len().min(1000);
        buf[..n].fill(0x81);
        client.commit_read(n);
        assert_eq!(client.next_event(), Ok(None));
        assert_eq!(client.buffered_input(), 0);
    }
}
