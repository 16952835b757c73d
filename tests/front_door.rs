//! The adapters at default settings, counted: how many reads a burst of
//! small messages takes, how many writes a queue of them takes. (Speed is
//! measured in `bench/`; these are the system-call counts behind it.)

mod common;

use std::io::{self, Read, Write};

use common::cframe;
use rfc6455::blocking::WebSocket;
use rfc6455::{Config, Connection, Event, Message};

/// An in-memory stream: reads hand out as much of `input` as asked for,
/// writes are collected; both are counted.
struct Counted {
    input: Vec<u8>,
    at: usize,
    reads: usize,
    output: Vec<u8>,
    writes: usize,
}

impl Counted {
    fn new(input: Vec<u8>) -> Self {
        Counted {
            input,
            at: 0,
            reads: 0,
            output: Vec::new(),
            writes: 0,
        }
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let n = buf.len().min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.writes += 1;
        let mut n = 0;
        for b in bufs {
            self.output.extend_from_slice(b);
            n += b.len();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// 100,000 masked 16-byte texts (2.2 MB on the wire) are read in large
/// reads: the receive buffer grows while reads keep filling it, even though
/// every read ends in the middle of a frame.
#[test]
fn a_burst_of_small_messages_takes_few_reads() {
    let mut wire = Vec::new();
    for _ in 0..100_000 {
        wire.extend(cframe(0x81, b"0123456789abcdef"));
    }
    assert_eq!(wire.len(), 2_200_000);
    let mut ws =
        WebSocket::from_connection(Counted::new(wire), Connection::server(Config::default()));
    for _ in 0..100_000 {
        match ws.read_event().unwrap() {
            Event::Text(t) => assert_eq!(t, "0123456789abcdef"),
            other => panic!("{other:?}"),
        }
    }
    let reads = ws.get_ref().reads;
    assert!(reads <= 30, "{reads} reads for 2.2 MB");
}

/// Messages queued with `write` go out with the next `flush`, in one write
/// per vectored batch rather than one per message.
#[test]
fn queued_messages_leave_in_few_writes() {
    let mut ws = WebSocket::from_connection(
        Counted::new(Vec::new()),
        Connection::server(Config::default()),
    );
    for i in 0..100u32 {
        ws.write(Message::Text(format!("{i:016}"))).unwrap();
    }
    assert_eq!(ws.get_ref().writes, 0, "write only queues");
    // Past the high-water mark (128 KiB) the queue is written out as it
    // goes, in one write per 128 KiB.
    for i in 100..100_000u32 {
        ws.write(Message::Text(format!("{i:016}"))).unwrap();
    }
    ws.flush().unwrap();
    let writes = ws.get_ref().writes;
    assert!(writes <= 16, "{writes} writes for 1.8 MB");
    assert_eq!(ws.get_ref().output.len(), 100_000 * 18);
    // A lone message with `send` is written at once.
    ws.send(Message::Text("now".into())).unwrap();
    assert_eq!(ws.get_ref().writes, writes + 1);
}

/// A large server message is written from the caller's buffer: header and
/// payload in one vectored write, nothing copied into the queue.
#[test]
fn a_large_server_message_is_written_without_joining_header_and_payload() {
    let payload = vec![0x5a; 1 << 20];
    let mut ws = WebSocket::from_connection(
        Counted::new(Vec::new()),
        Connection::server(Config::default()),
    );
    ws.send_binary(&payload).unwrap();
    assert_eq!(ws.get_ref().writes, 1);
    assert_eq!(ws.connection().output_len(), 0);
    let out = &ws.get_ref().output;
    assert_eq!(&out[..10], &[0x82, 127, 0, 0, 0, 0, 0, 0x10, 0, 0]);
    assert_eq!(&out[10..], &payload[..]);
    assert_eq!(
        ws.connection().buffer_capacity(),
        0,
        "no queue buffer was grown for it"
    );
}

/// A stream that takes at most `limit` bytes, then would block once.
struct Stingy {
    taken: Vec<u8>,
    limit: usize,
    blocked: bool,
}

impl Read for Stingy {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Write for Stingy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.blocked && self.taken.len() >= self.limit {
            self.blocked = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(4096);
        self.taken.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// On a non-blocking stream, what a direct write could not finish is
/// queued and goes out, first, with the next flush: the frame arrives whole.
#[test]
fn a_direct_write_that_would_block_leaves_the_rest_queued() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let stream = Stingy {
        taken: Vec::new(),
        limit: 10_000,
        blocked: false,
    };
    let mut ws = WebSocket::from_connection(stream, Connection::server(Config::default()));
    let e = ws.send_binary(&payload).unwrap_err();
    assert!(e.is_would_block(), "{e:?}");
    assert!(ws.connection().has_output());
    ws.flush().unwrap();
    ws.send_text("after").unwrap();
    let mut server = Connection::client(Config::default());
    server.feed(&ws.get_ref().taken);
    assert_eq!(
        server.next_message().unwrap(),
        Some(Message::Binary(payload))
    );
    assert_eq!(
        server.next_message().unwrap(),
        Some(Message::Text("after".into()))
    );
}
