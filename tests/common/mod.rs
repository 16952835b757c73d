//! Test helpers: an in-memory client/server pair that moves bytes between
//! two connections in chopped pieces, deterministic keys, a raw frame builder.
#![allow(dead_code)]

use rfc6455::rand::KeySource;
use rfc6455::{Config, Connection, Message};

/// Masking keys from a fixed cycle, for byte-exact expectations.
pub struct FixedKeys(pub [u8; 4]);

impl KeySource for FixedKeys {
    fn fill(&mut self, dest: &mut [u8]) {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = self.0[i % 4];
        }
    }
}

/// A client with fixed masking key `key`.
pub fn client_with_key(config: Config, key: [u8; 4]) -> Connection {
    Connection::client_with_keys(config, FixedKeys(key))
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

/// Feeds `bytes` to `conn` in pieces of the given sizes (cycled), pulling
/// every event after each piece. Stops at the first error and returns it
/// alongside the messages received before it.
pub fn feed_chopped(
    conn: &mut Connection,
    bytes: &[u8],
    sizes: &[usize],
) -> (Vec<Message>, Option<rfc6455::Error>) {
    let mut msgs = Vec::new();
    let mut at = 0;
    let mut i = 0;
    loop {
        loop {
            match conn.next_event() {
                Ok(Some(ev)) => msgs.push(ev.to_message()),
                Ok(None) => break,
                Err(e) => return (msgs, Some(e)),
            }
        }
        if at == bytes.len() {
            return (msgs, None);
        }
        let n = sizes[i % sizes.len()].max(1).min(bytes.len() - at);
        i += 1;
        // Alternate the two ways of getting bytes in.
        if i % 2 == 0 {
            conn.feed(&bytes[at..at + n]);
        } else {
            let mut done = 0;
            while done < n {
                let buf = conn.read_buf();
                let k = buf.len().min(n - done);
                buf[..k].copy_from_slice(&bytes[at + done..at + done + k]);
                conn.commit_read(k);
                done += k;
            }
        }
        at += n;
    }
}

/// Feeds everything at once and collects the events.
pub fn feed_all(conn: &mut Connection, bytes: &[u8]) -> (Vec<Message>, Option<rfc6455::Error>) {
    feed_chopped(conn, bytes, &[usize::MAX])
}

/// A client and a server talking through memory.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
}

impl Pair {
    pub fn new() -> Pair {
        Pair::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Pair {
        Pair {
            client: Connection::client(config.clone()),
            server: Connection::server(config),
        }
    }

    /// Moves the client's output into the server in pieces of `sizes` and
    /// returns what the server received.
    pub fn deliver_to_server(&mut self, sizes: &[usize]) -> (Vec<Message>, Option<rfc6455::Error>) {
        let bytes = self.client.take_output();
        feed_chopped(&mut self.server, &bytes, sizes)
    }

    /// Moves the server's output into the client in pieces of `sizes`.
    pub fn deliver_to_client(&mut self, sizes: &[usize]) -> (Vec<Message>, Option<rfc6455::Error>) {
        let bytes = self.server.take_output();
        feed_chopped(&mut self.client, &bytes, sizes)
    }
}

/// Decodes the single close frame a connection queued, returning its code.
pub fn sent_close_code(out: &[u8]) -> Option<u16> {
    // Find the last frame (a close may follow other frames).
    let mut at = 0;
    let mut last = None;
    while at + 2 <= out.len() {
        let (h, hl) = rfc6455::frame::FrameHeader::parse(&out[at..])
            .unwrap()
            .unwrap();
        let mut payload = out[at + hl..at + hl + h.payload_len as usize].to_vec();
        if let Some(k) = h.mask {
            rfc6455::mask::apply_mask(&mut payload, k, 0);
        }
        if h.opcode == rfc6455::frame::OpCode::Close {
            last = Some(if payload.len() >= 2 {
                u16::from_be_bytes([payload[0], payload[1]])
            } else {
                1005
            });
        }
        at += hl + h.payload_len as usize;
    }
    last
}
