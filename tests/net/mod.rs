//! Helpers for the loopback tests: raw sockets speaking just enough of the
//! protocol to act as a misbehaving peer, a frame builder and parser, and a
//! guard that kills a child process on drop.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::Duration;

/// A generous upper bound on any single wait, so that a bug shows up as a
/// failure rather than a hang.
pub const LONG: Duration = Duration::from_secs(15);

/// A listener on an ephemeral loopback port.
pub fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Builds a raw frame: `b0` is the first header byte (FIN, RSV, opcode).
pub fn frame(b0: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => v.push(m | n as u8),
        n @ 126..=0xffff => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            v.push(m | 127);
            v.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            v.extend_from_slice(&k);
            v.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => v.extend_from_slice(payload),
    }
    v
}

/// A frame as a client sends it (masked with a fixed key).
pub fn cframe(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, payload, Some([0xa1, 0xb2, 0xc3, 0xd4]))
}

/// A frame read off the wire, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The close code of a Close frame (1005 for an empty body).
    pub fn close_code(&self) -> u16 {
        assert_eq!(self.opcode, 0x8, "not a close frame: {self:?}");
        if self.payload.len() >= 2 {
            u16::from_be_bytes([self.payload[0], self.payload[1]])
        } else {
            1005
        }
    }
}

/// Reads one whole frame from a raw stream. `Ok(None)` on a clean EOF
/// before the first byte of a frame.
pub fn read_frame(s: &mut impl Read) -> io::Result<Option<RawFrame>> {
    let mut h = [0u8; 2];
    match s.read(&mut h[..1])? {
        0 => return Ok(None),
        _ => s.read_exact(&mut h[1..])?,
    }
    let masked = h[1] & 0x80 != 0;
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b)?;
            u16::from_be_bytes(b) as u64
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b)?;
            u64::from_be_bytes(b)
        }
        n => n as u64,
    };
    let mut key = [0u8; 4];
    if masked {
        s.read_exact(&mut key)?;
    }
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload)?;
    if masked {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= key[i % 4];
        }
    }
    Ok(Some(RawFrame {
        fin: h[0] & 0x80 != 0,
        opcode: h[0] & 0x0f,
        masked,
        payload,
    }))
}

/// Reads an HTTP head (up to and including the blank line) byte by byte, so
/// that nothing after it is consumed.
pub fn read_head(s: &mut impl Read) -> io::Result<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(b[0]);
        assert!(head.len() < 64 << 10, "runaway HTTP head");
    }
    Ok(String::from_utf8(head).expect("ASCII head"))
}

/// An upgrade request for `path` with a fixed key.
pub fn upgrade_request(host: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// The accept value for the fixed key above (RFC 6455 §1.3's example).
pub const FIXED_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Connects a raw socket and completes the opening handshake by hand;
/// returns the socket, positioned right after the `101` head.
pub fn raw_client(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(LONG)).unwrap();
    s.set_write_timeout(Some(LONG)).unwrap();
    s.write_all(&upgrade_request(&addr.to_string(), path))
        .unwrap();
    let head = read_head(&mut s).expect("101 head");
    assert!(
        head.starts_with("HTTP/1.1 101 "),
        "unexpected response: {head}"
    );
    assert!(head.contains(FIXED_ACCEPT), "bad accept: {head}");
    s
}

/// Reads a stream to its end (EOF, or an error after some data such as a
/// reset), returning what arrived.
pub fn read_to_end_lenient(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return out,
        }
    }
}

/// Kills (and reaps) a child process when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
