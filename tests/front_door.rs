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
    // Past the high-water mark (64 KiB) the queue is written out as it
    // goes, in one write per 64 KiB.
    for i in 100..100_000u32 {
        ws.write(Message::Text(format!("{i:016}"))).unwrap();
    }
    ws.flush().unwrap();
    let writes = ws.get_ref().writes;
    assert!(writes <= 30, "{writes} writes for 1.8 MB");
    assert_eq!(ws.get_ref().output.len(), 100_000 * 18);
    // A lone message with `send` is written at once.
    ws.send(Message::Text("now".into())).unwrap();
    assert_eq!(ws.get_ref().writes, writes + 1);
}
