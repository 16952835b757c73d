//! A floor for issue 21's echo target: what an echoed WebSocket message
//! costs on io_uring when the WebSocket layer costs (almost) nothing.
//!
//! One thread, one ring on the raw `io-uring` crate (no runtime, no
//! `rfc6455` core: only `rfc6455::handshake::accept_key`). A multishot
//! accept; per connection a 64 KiB receive buffer (a plain `Recv` into it,
//! no provided buffers), one receive and at most one send in flight, and
//! an output `Vec` the frames are echoed into. The handshake is answered
//! with a fixed 101 (no extensions, no subprotocol, no validation beyond
//! finding `Sec-WebSocket-Key`); then each client frame is unmasked and
//! written back unmasked with its FIN bit and opcode (fragments are echoed
//! as they come, no UTF-8 check, no limits), a ping is answered with a
//! pong, a pong is dropped, a close is echoed and the socket closed once it
//! is sent. A frame that fits in the buffer is echoed once it is complete
//! (a partial one waits for the next receive); a larger one is streamed
//! (its header first, then its payload as it arrives). Whatever a real
//! server costs beyond this program's figure is the WebSocket layer's and
//! the runtime's.
//!
//! ```text
//! cargo run --release --manifest-path bench/uring_candidates/Cargo.toml \
//!     --bin floor_echo -- 127.0.0.1:9331
//! cargo run --release --features tokio --example load -- \
//!     ws://127.0.0.1:9331/ --conns 16 --senders 16 --window 1 --size 64 --seconds 10
//! ```
//!
//! Linux 6.1 or later for `IORING_SETUP_SINGLE_ISSUER` +
//! `IORING_SETUP_DEFER_TASKRUN` (set up without them where the kernel
//! refuses them), 5.19 for the multishot accept.

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, RawFd};

use io_uring::{cqueue, opcode, squeue, types, IoUring};

/// Receive buffer per connection.
const BUF: usize = 64 << 10;
/// Largest upgrade request.
const HEAD_MAX: usize = 8 << 10;
/// No new receive while this much output waits (a peer that does not read).
const OUT_HIGH: usize = 4 << 20;

/// User data: `index << 2 | kind`; the accept is 0.
const ACCEPT: u64 = 0;
const RECV: u64 = 1;
const SEND: u64 = 2;

/// The frame being echoed (its header is parsed, its payload in part).
struct Frame {
    remaining: u64,
    mask: [u8; 4],
    /// Payload bytes unmasked so far, modulo 4.
    offset: usize,
    /// Echo the payload (data, ping, close) or drop it (pong, unknown).
    keep: bool,
    close: bool,
}

struct Conn {
    fd: RawFd,
    open: bool,
    /// Received bytes not yet consumed are `buf[start..end]`.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    frame: Option<Frame>,
    /// Echoed bytes waiting for the send in flight to finish.
    out: Vec<u8>,
    /// The bytes of the send in flight (`sent` of them done).
    sending: Vec<u8>,
    sent: usize,
    recv_busy: bool,
    send_busy: bool,
    /// A close was echoed: no more receives, close once it is sent.
    closing: bool,
    /// An error or end of stream: close once nothing is in flight.
    dead: bool,
}

impl Conn {
    fn new(fd: RawFd) -> Conn {
        Conn {
            fd,
            open: false,
            buf: vec![0; BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            frame: None,
            out: Vec::with_capacity(BUF),
            sending: Vec::with_capacity(BUF),
            sent: 0,
            recv_busy: false,
            send_busy: false,
            closing: false,
            dead: false,
        }
    }

    fn fail(&mut self) {
        if !self.dead {
            self.dead = true;
            // Ends a receive in flight (it completes with 0).
            // SAFETY: `fd` is this connection's open socket.
            unsafe { libc::shutdown(self.fd, libc::SHUT_RDWR) };
        }
    }

    /// The upgrade request is complete: answer it and start on frames.
    fn handshake(&mut self) {
        let data = &self.buf[..self.end];
        let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.end >= HEAD_MAX {
                self.fail();
            }
            return;
        };
        let key = data[..at].split(|&b| b == b'\n').find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            line[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(b"sec-websocket-key")
                .then(|| line[colon + 1..].trim_ascii())
        });
        let Some(key) = key else {
            self.fail();
            return;
        };
        let accept = rfc6455::handshake::accept_key(key);
        self.out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Accept: ",
        );
        self.out.extend_from_slice(&accept);
        self.out.extend_from_slice(b"\r\n\r\n");
        self.open = true;
        self.start = at + 4;
    }

    /// Echoes every frame (or part of a large one) in the buffer.
    fn frames(&mut self) {
        while !self.closing {
            if let Some(frame) = &mut self.frame {
                let n = (self.end - self.start).min(frame.remaining.min(usize::MAX as u64) as usize);
                if frame.keep {
                    let at = self.out.len();
                    self.out.extend_from_slice(&self.buf[self.start..self.start + n]);
                    unmask(&mut self.out[at..], frame.mask, frame.offset);
                    frame.offset = (frame.offset + n) & 3;
                }
                self.start += n;
                frame.remaining -= n as u64;
                if frame.remaining > 0 {
                    break;
                }
                self.closing = frame.close;
                self.frame = None;
                continue;
            }
            let data = &self.buf[self.start..self.end];
            if data.len() < 2 {
                break;
            }
            let (b0, b1) = (data[0], data[1]);
            let (mut head, len) = match b1 & 0x7f {
                126 if data.len() >= 4 => (4, u64::from(u16::from_be_bytes([data[2], data[3]]))),
                127 if data.len() >= 10 => {
                    (10, u64::from_be_bytes(data[2..10].try_into().unwrap()))
                }
                126 | 127 => break,
                n => (2, u64::from(n)),
            };
            let mut mask = [0; 4];
            if b1 & 0x80 != 0 {
                if data.len() < head + 4 {
                    break;
                }
                mask.copy_from_slice(&data[head..head + 4]);
                head += 4;
            }
            // A frame that fits waits until it is complete.
            let total = head as u64 + len;
            if total <= BUF as u64 && (data.len() as u64) < total {
                break;
            }
            let opcode = b0 & 0x0f;
            let (keep, out_b0) = match opcode {
                0..=2 => (true, b0 & 0x8f),
                0x8 => (true, 0x88),
                0x9 => (true, 0x8a),
                _ => (false, 0),
            };
            if keep {
                if len < 126 {
                    self.out.extend_from_slice(&[out_b0, len as u8]);
                } else if len <= 0xffff {
                    self.out.extend_from_slice(&[out_b0, 126]);
                    self.out.extend_from_slice(&(len as u16).to_be_bytes());
                } else {
                    self.out.extend_from_slice(&[out_b0, 127]);
                    self.out.extend_from_slice(&len.to_be_bytes());
                }
            }
            self.start += head;
            self.frame = Some(Frame {
                remaining: len,
                mask,
                offset: 0,
                keep,
                close: opcode == 0x8,
            });
        }
    }

    /// After a receive: consume what arrived, keep the rest at the front.
    fn received(&mut self) {
        if !self.open {
            self.handshake();
        }
        if self.open {
            self.frames();
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
        }
    }
}

/// XORs `data` with `mask`, `data[0]` being payload byte `offset` (mod 4).
fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut m = mask;
    m.rotate_left(offset & 3);
    let word = u64::from_ne_bytes([m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().unwrap()) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i & 3];
    }
}

struct Server {
    ring: IoUring,
    listener: RawFd,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
}

impl Server {
    /// Queues an entry, submitting what is queued if the queue is full.
    ///
    /// # Safety
    /// The memory `entry` points to must stay valid until it completes.
    unsafe fn push(&mut self, entry: &squeue::Entry) {
        loop {
            // SAFETY: passed on to the caller.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
            self.ring.submit().expect("io_uring_enter");
        }
    }

    fn arm_accept(&mut self) {
        let entry = opcode::AcceptMulti::new(types::Fd(self.listener))
            .build()
            .user_data(ACCEPT);
        // SAFETY: the accept points to no memory of ours.
        unsafe { self.push(&entry) };
    }

    fn accepted(&mut self, fd: RawFd) {
        let one: libc::c_int = 1;
        // SAFETY: `fd` is the socket just accepted; `one` outlives the call.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.conns[i] = Some(Conn::new(fd));
                i
            }
            None => {
                self.conns.push(Some(Conn::new(fd)));
                self.conns.len() - 1
            }
        };
        self.arm(index);
    }

    /// Starts the send and the receive the connection can have, or closes
    /// it when it is done.
    fn arm(&mut self, index: usize) {
        let conn = self.conns[index].as_mut().unwrap();
        let mut entries: [Option<squeue::Entry>; 2] = [None, None];
        if !conn.dead && !conn.send_busy && !conn.out.is_empty() {
            std::mem::swap(&mut conn.out, &mut conn.sending);
            conn.sent = 0;
            conn.send_busy = true;
            entries[0] = Some(send_entry(conn, index));
        }
        if !conn.dead && !conn.closing && !conn.recv_busy && conn.out.len() < OUT_HIGH {
            let limit = if conn.open { BUF } else { HEAD_MAX };
            conn.recv_busy = true;
            let spare = &mut conn.buf[conn.end..limit];
            entries[1] = Some(
                opcode::Recv::new(types::Fd(conn.fd), spare.as_mut_ptr(), spare.len() as u32)
                    .build()
                    .user_data((index as u64) << 2 | RECV),
            );
        }
        let done = (conn.dead || conn.closing && conn.out.is_empty())
            && !conn.send_busy
            && !conn.recv_busy;
        if done {
            // SAFETY: nothing of the kernel's refers to the socket or the
            // buffers any more (no operation in flight).
            unsafe { libc::close(conn.fd) };
            self.conns[index] = None;
            self.free.push(index);
            return;
        }
        for entry in entries.iter().flatten() {
            // SAFETY: the receive writes into `buf[end..limit]`, the send
            // reads `sending[sent..]`: both are heap memory owned by the
            // connection (they do not move with it), neither is touched
            // (`sending` is not written, `buf` not past `end`) nor dropped
            // while their operation is in flight (`recv_busy`/`send_busy`;
            // the connection is dropped only when both are false).
            unsafe { self.push(entry) };
        }
    }

    fn complete(&mut self, data: u64, result: i32, flags: u32) {
        if data == ACCEPT {
            if result >= 0 {
                self.accepted(result);
            } else {
                eprintln!("accept: {}", io::Error::from_raw_os_error(-result));
            }
            if !cqueue::more(flags) {
                self.arm_accept();
            }
            return;
        }
        let index = (data >> 2) as usize;
        let conn = self.conns[index].as_mut().unwrap();
        match data & 3 {
            RECV => {
                conn.recv_busy = false;
                if result > 0 {
                    conn.end += result as usize;
                    conn.received();
                } else if result != -libc::EINTR && result != -libc::EAGAIN {
                    conn.fail();
                }
            }
            _ => {
                conn.send_busy = false;
                if result <= 0 {
                    conn.sending.clear();
                    conn.fail();
                } else {
                    conn.sent += result as usize;
                    if conn.sent < conn.sending.len() {
                        conn.send_busy = true;
                        let entry = send_entry(conn, index);
                        // SAFETY: as in `arm`.
                        unsafe { self.push(&entry) };
                    } else {
                        conn.sending.clear();
                    }
                }
            }
        }
        self.arm(index);
    }
}

fn send_entry(conn: &Conn, index: usize) -> squeue::Entry {
    let rest = &conn.sending[conn.sent..];
    opcode::Send::new(types::Fd(conn.fd), rest.as_ptr(), rest.len() as u32)
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data((index as u64) << 2 | SEND)
}

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:9331".into());
    let listener = TcpListener::bind(&addr)?;
    // SAFETY: a listening socket; listen again only raises the backlog.
    unsafe { libc::listen(listener.as_raw_fd(), 4096) };

    let mut builder = IoUring::builder();
    builder.setup_cqsize(4096);
    let ring = match builder
        .clone()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(256)
    {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!("floor_echo: no SINGLE_ISSUER/DEFER_TASKRUN, plain ring");
            builder.build(256)?
        }
        built => built?,
    };
    eprintln!("floor_echo: listening on {addr}");

    let mut server = Server {
        ring,
        listener: listener.as_raw_fd(),
        conns: Vec::new(),
        free: Vec::new(),
    };
    server.arm_accept();
    let mut done: Vec<(u64, i32, u32)> = Vec::with_capacity(4096);
    loop {
        match server.ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Err(e),
        }
        done.extend(
            server
                .ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for (data, result, flags) in done.drain(..) {
            server.complete(data, result, flags);
        }
    }
}
