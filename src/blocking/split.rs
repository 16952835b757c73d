//! A TCP WebSocket split into a reader and a writer for two threads.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::error::{is_retry, Error};
use super::websocket::WebSocket;
use crate::close::CloseCode;
use crate::connection::{Connection, Message, MessageKind, State};

struct Shared {
    /// The protocol state. Held only to feed bytes, decode, or encode — never
    /// across a read or a write on the socket.
    conn: Mutex<Connection>,
    /// The writing side. Held for the whole of a write, so frames from
    /// several threads never interleave; always taken before `conn`.
    out: Mutex<WriteSide>,
    epoch: Instant,
}

struct WriteSide {
    stream: TcpStream,
    buf: Vec<u8>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another thread while holding the lock leaves the state as
    // consistent as the protocol allows; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Moves everything the connection has queued to the socket.
    fn flush(&self) -> Result<(), Error> {
        let mut out = lock(&self.out);
        let close = {
            let mut conn = lock(&self.conn);
            let WriteSide { buf, .. } = &mut *out;
            buf.clear();
            let o = conn.output();
            while !o.is_empty() {
                let f = o.front();
                let n = f.len();
                buf.extend_from_slice(f);
                o.consume(n);
            }
            conn.release_output_buffer();
            conn.should_close_transport()
        };
        let WriteSide { stream, buf } = &mut *out;
        if let Err(e) = stream.write_all(buf) {
            if !is_retry(&e) {
                // The reader still delivers what the peer sent (its Close).
                lock(&self.conn).write_failed();
            }
            return Err(e.into());
        }
        if buf.capacity() > 64 << 10 {
            *buf = Vec::new();
        }
        if close {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ok(())
    }

    fn send(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<(), crate::Error>,
    ) -> Result<(), Error> {
        f(&mut lock(&self.conn))?;
        self.flush()
    }
}

/// The reading half of a split [`WebSocket`]: reads messages and, from
/// within [`read`](Self::read), answers Pings, echoes Close frames and sends
/// keepalive Pings, so those replies go out even if no [`Writer`] sends.
pub struct Reader {
    stream: TcpStream,
    shared: Arc<Shared>,
    buf: Vec<u8>,
}

/// The writing half of a split [`WebSocket`]. Clone it to send from several
/// threads; each frame is written whole, never interleaved with another.
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a [`Reader`] for one thread and a
    /// [`Writer`] for others (`TcpStream::try_clone` underneath).
    ///
    /// ```no_run
    /// let (ws, _) = rfc6455::blocking::connect("ws://127.0.0.1:9001")?;
    /// let (mut reader, writer) = ws.split()?;
    /// let w = writer.clone();
    /// std::thread::spawn(move || w.send_text("from another thread"));
    /// while let Ok(msg) = reader.read() {
    ///     println!("{msg:?}");
    /// }
    /// # Ok::<(), rfc6455::blocking::Error>(())
    /// ```
    pub fn split(self) -> io::Result<(Reader, Writer)> {
        let (stream, conn) = self.into_parts();
        let write_stream = stream.try_clone()?;
        let shared = Arc::new(Shared {
            conn: Mutex::new(conn),
            out: Mutex::new(WriteSide {
                stream: write_stream,
                buf: Vec::new(),
            }),
            epoch: Instant::now(),
        });
        Ok((
            Reader {
                stream,
                shared: Arc::clone(&shared),
                buf: Vec::new(),
            },
            Writer { shared },
        ))
    }
}

impl Reader {
    /// Reads the next message (owned: the connection is shared with the
    /// writer, so nothing can stay borrowed from it).
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            let (msg, waiting, deadline) = {
                let mut conn = lock(&self.shared.conn);
                let msg = conn.next_message();
                let waiting = conn.has_output();
                let closed =
                    conn.should_close_transport() || (conn.state() == State::Closed && waiting);
                let deadline = conn.poll_timeout();
                match msg {
                    Ok(Some(m)) => (Some(Ok(m)), waiting, deadline),
                    Ok(None) if closed => (Some(Err(Error::ConnectionClosed)), waiting, deadline),
                    Ok(None) => (None, waiting, deadline),
                    Err(e) => (Some(Err(e.into())), waiting, deadline),
                }
            };
            if waiting {
                match self.shared.flush() {
                    // The write side is gone: read on, the peer's Close
                    // (which says why) may be waiting.
                    Err(Error::Io(e)) if !is_retry(&e) => {}
                    other => other?,
                }
            }
            if let Some(result) = msg {
                return result;
            }
            self.fill(deadline)?;
        }
    }

    fn fill(&mut self, deadline: Option<Duration>) -> Result<(), Error> {
        if self.buf.len() < 4096 {
            self.buf.resize(4096, 0);
        }
        let now = self.shared.epoch.elapsed();
        if let Some(d) = deadline {
            self.stream
                .set_read_timeout(Some(d.saturating_sub(now).max(Duration::from_millis(1))))?;
        }
        let result = self.stream.read(&mut self.buf);
        if deadline.is_some() {
            self.stream.set_read_timeout(None)?;
        }
        let mut conn = lock(&self.shared.conn);
        conn.handle_timeout(self.shared.epoch.elapsed());
        match result {
            Ok(0) => conn.feed_eof(),
            Ok(n) => conn.feed(&self.buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_retry(&e) && deadline.is_some() => {}
            Err(e) if is_retry(&e) => return Err(e.into()),
            Err(e) => {
                conn.abort();
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// A writer for this connection.
    pub fn writer(&self) -> Writer {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Writer {
    /// Sends a text message.
    pub fn send_text(&self, text: &str) -> Result<(), Error> {
        self.shared.send(|c| c.send_text(text))
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), Error> {
        self.shared.send(|c| c.send_binary(data))
    }

    /// Sends one fragment of a message sent in several frames. Only one
    /// thread should stream a fragmented message at a time.
    pub fn send_fragment(&self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), Error> {
        self.shared.send(|c| c.send_fragment(kind, data, fin))
    }

    /// Sends a Ping.
    pub fn send_ping(&self, payload: &[u8]) -> Result<(), Error> {
        self.shared.send(|c| c.send_ping(payload))
    }

    /// Sends any [`Message`]; a `Close` (possibly with an empty body) starts
    /// the closing handshake.
    pub fn send(&self, message: &Message) -> Result<(), Error> {
        self.shared.send(|c| match message {
            Message::Text(t) => c.send_text(t),
            Message::Binary(b) => c.send_binary(b),
            Message::Ping(p) => c.send_ping(p),
            Message::Pong(p) => c.send_pong(p),
            Message::Fragment { kind, data, fin } => c.send_fragment(*kind, data, *fin),
            Message::Close(Some(f)) => c.close_with(f.code, &f.reason),
            Message::Close(None) => c.close_with(None, ""),
        })
    }

    /// Starts the closing handshake; the [`Reader`] sees the peer's Close
    /// and the end of the connection.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.shared.send(|c| c.close(code, reason))
    }
}
