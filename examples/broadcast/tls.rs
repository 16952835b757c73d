//! TLS for the chat (`--tls-cert`/`--tls-key`, feature `rustls`): a
//! client's rustls state, shared by its reader thread (which decrypts) and
//! the room's writer (which encrypts), so that the writer keeps its shape:
//! it still never waits for a socket.
//!
//! **Opening** ([`accept`]): on the short-lived handshake thread, the TLS
//! handshake with rustls' own blocking stream (`rustls::StreamOwned`),
//! within the handshake timeout; the request is then read and answered
//! over that stream ([`rfc6455::blocking::read_request_over`]), the page
//! or the upgrade, as over TCP. A WebSocket's stream is then taken apart
//! ([`into_parts`]): the socket, and the rustls connection, which becomes
//! the client's [`Tls`].
//!
//! **Writing.** A plain client is written its lines straight from the log
//! (each line encoded once, one vectored `sendmsg` per client); a TLS
//! client's lines must be encrypted for it alone. The writer takes a batch
//! of its bytes (own replies, then lines from its cursor: at most
//! [`BATCH_BYTES`], or one line), has rustls *seal* them
//! ([`Tls::seal`]: one `write_vectored`, so many short lines share a
//! record), and writes the records with the same `sendmsg(MSG_DONTWAIT)`
//! ([`Tls::send`]). Records the socket does not take stay in the client's
//! `sealed` buffer and go first next time; nothing more is sealed until
//! they are out. So a TLS client that does not read holds at most one
//! batch of ciphertext (plus a goodbye), the lines it has not been sent
//! stay in the room's log, and it falls out of the log, and is dropped with
//! 1008, exactly as a plain client does. Its socket is parked and watched
//! by `poll(2)` as a plain one is.
//!
//! **Reading** ([`Tls::read`]): the reader thread reads ciphertext from the
//! socket into a buffer of its own ([`Input`]), without the lock, then
//! hands it to rustls and takes the plaintext under the lock. What rustls
//! wants to send in reply (a KeyUpdate answer, an alert) is written by the
//! writer, which the reader wakes.
//!
//! Locks: a client's `out` lock (the writer, or its reader queueing a
//! reply) is taken before its TLS lock, never after; the reader holds the
//! TLS lock only to feed rustls and take plaintext, never across a read of
//! the socket, and the writer only to seal and write without waiting.
//!
//! Without the `rustls` feature, [`Tls`] has no values: every client is
//! plain, and the TLS branches compile away.

pub use imp::*;

#[cfg(feature = "rustls")]
mod imp {
    use std::io::{self, IoSlice, Read};
    use std::net::TcpStream;
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::{Duration, Instant};

    use rfc6455::rustls::{self, ServerConnection, StreamOwned};

    use crate::room::send_now;

    /// Plaintext sealed for a client in one go, at most (unless one chunk
    /// is longer): what its ciphertext backlog is, besides a goodbye.
    pub const BATCH_BYTES: usize = 64 << 10;

    /// Ciphertext read from the socket per read (a record is at most
    /// 16 KiB and some; rustls takes it in pieces).
    const READ_SIZE: usize = 4 << 10;

    /// `sealed` keeps no more capacity than this once written out: an idle
    /// client holds little.
    const KEEP_SEALED: usize = 4 << 10;

    /// The TLS stream of a client while its request is read and answered.
    pub type Opening = StreamOwned<ServerConnection, TcpStream>;

    /// Why a TLS client's opening failed.
    #[derive(Debug)]
    pub enum OpenError {
        /// The connection could not be set up (the config has no usable
        /// certificate, typically).
        Config(rustls::Error),
        /// The TLS handshake failed: the client left, refused the
        /// certificate, spoke plaintext, or took too long.
        Handshake(io::Error),
    }

    impl std::fmt::Display for OpenError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                OpenError::Config(e) => write!(f, "TLS setup failed: {e}"),
                OpenError::Handshake(e) if is_timeout(e) => f.write_str("TLS handshake timed out"),
                OpenError::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
            }
        }
    }

    fn is_timeout(e: &io::Error) -> bool {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The TLS handshake with a client, within `timeout`. The socket keeps
    /// read and write timeouts (what is left of `timeout`, or `timeout`
    /// again for the request) until [`into_parts`] takes them off.
    pub fn accept(
        mut tcp: TcpStream,
        config: Arc<rustls::ServerConfig>,
        timeout: Option<Duration>,
    ) -> Result<Opening, OpenError> {
        let mut conn = ServerConnection::new(config).map_err(OpenError::Config)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let timed_out = || OpenError::Handshake(io::ErrorKind::TimedOut.into());
        while conn.is_handshaking() {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timed_out());
                }
                set_timeouts(&tcp, Some(left)).map_err(OpenError::Handshake)?;
            }
            match conn.complete_io(&mut tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OpenError::Handshake(e)),
            }
        }
        // The request's turn: the blocking adapter's deadline for the head
        // holds on a socket with a read timeout.
        set_timeouts(&tcp, timeout).map_err(OpenError::Handshake)?;
        Ok(StreamOwned::new(conn, tcp))
    }

    fn set_timeouts(tcp: &TcpStream, t: Option<Duration>) -> io::Result<()> {
        tcp.set_read_timeout(t)?;
        tcp.set_write_timeout(t)
    }

    /// A client's socket and TLS state once its WebSocket is open.
    pub fn into_parts(stream: Opening) -> (TcpStream, Option<Box<Tls>>) {
        let StreamOwned { mut conn, sock } = stream;
        let _ = set_timeouts(&sock, None);
        // Sealing must take every byte it is given: the writer bounds the
        // backlog itself (one batch at a time).
        conn.set_buffer_limit(None);
        let tls = Tls {
            state: Mutex::new(State {
                conn,
                sealed: Vec::new(),
                sent: 0,
            }),
        };
        (sock, Some(Box::new(tls)))
    }

    /// A client's TLS state, shared by its reader and the writer.
    pub struct Tls {
        state: Mutex<State>,
    }

    struct State {
        conn: ServerConnection,
        /// Records sealed for the client, in order; `sent` of them are
        /// written.
        sealed: Vec<u8>,
        sent: usize,
    }

    /// What the reader thread keeps between reads: ciphertext read from
    /// the socket that rustls has not taken yet.
    pub struct Input {
        buf: Box<[u8]>,
        start: usize,
        end: usize,
        eof: bool,
    }

    impl Input {
        /// The reader's buffer for a TLS client (`None` for a plain one).
        pub fn for_client(tls: Option<&Tls>) -> Option<Input> {
            tls.map(|_| Input {
                buf: vec![0; READ_SIZE].into_boxed_slice(),
                start: 0,
                end: 0,
                eof: false,
            })
        }
    }

    impl Tls {
        /// Records sealed but not yet written.
        pub fn pending(&self) -> usize {
            let state = lock(&self.state);
            state.sealed.len() - state.sent
        }

        /// Encrypts `bufs` into records for the client (written by
        /// [`send`](Self::send)). Fails if the TLS connection has failed.
        pub fn seal(&self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
            let mut state = lock(&self.state);
            let State { conn, sealed, .. } = &mut *state;
            let total: usize = bufs.iter().map(|b| b.len()).sum();
            let taken = io::Write::write_vectored(&mut conn.writer(), bufs)?;
            if taken < total {
                // Cannot happen without a buffer limit; the stream would be
                // cut mid-line otherwise.
                return Err(io::ErrorKind::WriteZero.into());
            }
            drain(conn, sealed);
            Ok(())
        }

        /// Writes the records not yet written, without waiting, and then
        /// whatever rustls has queued by itself (a reply to the client's
        /// KeyUpdate, an alert). `Ok(true)`: all out; `Ok(false)`: the
        /// socket is full.
        pub fn send(&self, tcp: &TcpStream) -> io::Result<bool> {
            let mut state = lock(&self.state);
            let State { conn, sealed, sent } = &mut *state;
            loop {
                if *sent == sealed.len() {
                    sealed.clear();
                    *sent = 0;
                    if sealed.capacity() > KEEP_SEALED {
                        *sealed = Vec::new();
                    }
                    if !conn.wants_write() {
                        return Ok(true);
                    }
                    drain(conn, sealed);
                    continue;
                }
                match send_now(tcp, &[IoSlice::new(&sealed[*sent..])]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => *sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
        }

        /// Seals a `close_notify` and tries once to write it (the socket
        /// is shut down next, whether it went or not).
        pub fn close_notify(&self, tcp: &TcpStream) {
            {
                let mut state = lock(&self.state);
                let State { conn, sealed, .. } = &mut *state;
                conn.send_close_notify();
                drain(conn, sealed);
            }
            let _ = self.send(tcp);
        }

        /// Reads plaintext for the reader thread: what rustls has
        /// decrypted, else ciphertext from the socket (waiting, as the
        /// socket's read timeout allows, without the lock). `Ok(0)` is the
        /// end of the stream, with or without the client's
        /// `close_notify` (the WebSocket's closing handshake says whether
        /// the conversation was complete). `wake` is called when rustls
        /// queued something to send in reply.
        pub fn read(
            &self,
            tcp: &TcpStream,
            input: &mut Input,
            buf: &mut [u8],
            wake: impl Fn(),
        ) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            loop {
                {
                    let mut state = lock(&self.state);
                    let conn = &mut state.conn;
                    match conn.reader().read(buf) {
                        Ok(n) => return Ok(n),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                        Err(e) => return Err(e),
                    }
                    if input.start < input.end {
                        let fed = feed(conn, input);
                        let reply = conn.wants_write();
                        drop(state);
                        if reply {
                            wake();
                        }
                        fed?;
                        continue;
                    }
                    if input.eof {
                        conn.read_tls(&mut io::empty())?;
                        conn.process_new_packets().map_err(invalid_data)?;
                        return match conn.reader().read(buf) {
                            Ok(n) => Ok(n),
                            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                            Err(e) => Err(e),
                        };
                    }
                }
                let n = (&*tcp).read(&mut input.buf)?;
                input.start = 0;
                input.end = n;
                input.eof = n == 0;
            }
        }
    }

    /// Moves the records rustls has made into `sealed`.
    fn drain(conn: &mut ServerConnection, sealed: &mut Vec<u8>) {
        while conn.wants_write() {
            // Writing into a Vec cannot fail.
            if conn.write_tls(sealed).is_err() {
                break;
            }
        }
    }

    /// Hands the ciphertext in `input` to rustls and processes it; stops
    /// early when rustls' plaintext buffer is full (the plaintext is read
    /// first, then the rest fed).
    fn feed(conn: &mut ServerConnection, input: &mut Input) -> io::Result<()> {
        let before = input.start;
        while input.start < input.end {
            let mut rest = &input.buf[input.start..input.end];
            match conn.read_tls(&mut rest) {
                // A close_notify came: nothing after it counts.
                Ok(0) => input.start = input.end,
                Ok(n) => input.start += n,
                // "Plaintext buffer full" (only after some progress: this
                // is called with no plaintext waiting).
                Err(e) if e.kind() == io::ErrorKind::Other && input.start > before => return Ok(()),
                Err(e) => return Err(e),
            }
            conn.process_new_packets().map_err(invalid_data)?;
        }
        Ok(())
    }

    fn invalid_data(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Without the `rustls` feature: no client is TLS.
#[cfg(not(feature = "rustls"))]
mod imp {
    use std::io::{self, IoSlice};
    use std::net::TcpStream;

    /// See the `rustls` build's.
    pub const BATCH_BYTES: usize = 64 << 10;

    /// A client's TLS state: none without the feature.
    pub enum Tls {}

    /// The reader's TLS buffer: none without the feature.
    pub enum Input {}

    impl Input {
        pub fn for_client(tls: Option<&Tls>) -> Option<Input> {
            tls.map(|t| match *t {})
        }
    }

    impl Tls {
        pub fn pending(&self) -> usize {
            match *self {}
        }

        pub fn seal(&self, _: &[IoSlice<'_>]) -> io::Result<()> {
            match *self {}
        }

        pub fn send(&self, _: &TcpStream) -> io::Result<bool> {
            match *self {}
        }

        pub fn close_notify(&self, _: &TcpStream) {
            match *self {}
        }

        pub fn read(
            &self,
            _: &TcpStream,
            _: &mut Input,
            _: &mut [u8],
            _: impl Fn(),
        ) -> io::Result<usize> {
            match *self {}
        }
    }
}

#[cfg(all(test, feature = "rustls"))]
mod tests {
    use std::io::{IoSlice, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use rfc6455::adapter::tls as config;
    use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rfc6455::rustls::{self, RootCertStore};

    use super::{accept, into_parts, Input, Tls};

    /// The pattern the server sends: byte `i` of the stream.
    fn byte(i: usize) -> u8 {
        (i % 251) as u8
    }

    /// A server's `Tls` and the client's end, a TLS stream of rustls' own,
    /// over loopback.
    fn pair() -> (
        TcpStream,
        Box<Tls>,
        rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    ) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let der = CertificateDer::from(cert.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let server_config = config::server_config(vec![der.clone()], key).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let opening = accept(tcp, server_config, Some(Duration::from_secs(10)))
                .unwrap_or_else(|e| panic!("{e}"));
            into_parts(opening)
        });
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config::client_config(roots), name).unwrap();
        let mut client = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
        client
            .sock
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        while client.conn.is_handshaking() {
            client.conn.complete_io(&mut client.sock).unwrap();
        }
        let (tcp, tls) = server.join().unwrap();
        (tcp, tls.unwrap(), client)
    }

    /// Sealed records wait while the client does not read, nothing is lost
    /// or reordered, and the writer never waits: `send` says "full" and
    /// returns, and says "all out" once the client has read.
    #[test]
    fn records_wait_for_a_full_socket_in_order() {
        let (tcp, tls, mut client) = pair();
        let chunk: Vec<u8> = (0..super::BATCH_BYTES).map(byte).collect();
        let mut sealed = 0;
        // Seal batches (each in several pieces, as lines are) until the
        // socket is full, as the writer does: nothing more is sealed while
        // records wait.
        loop {
            let pieces: Vec<IoSlice<'_>> = chunk.chunks(1000).map(IoSlice::new).collect();
            tls.seal(&pieces).unwrap();
            sealed += chunk.len();
            if !tls.send(&tcp).unwrap() {
                break;
            }
            assert!(sealed < 256 << 20, "the socket never filled up");
        }
        let waiting = tls.pending();
        assert!(
            waiting > 0 && waiting <= super::BATCH_BYTES + 1024,
            "{waiting}"
        );
        // The client reads everything while the server keeps writing what
        // the socket takes.
        let reader = std::thread::spawn(move || {
            let mut got = vec![0u8; sealed];
            client.read_exact(&mut got).unwrap();
            let mut rest = Vec::new();
            // The close_notify ends the stream.
            client.read_to_end(&mut rest).unwrap();
            (got, rest)
        });
        while !tls.send(&tcp).unwrap() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(tls.pending(), 0);
        tls.close_notify(&tcp);
        let (got, rest) = reader.join().unwrap();
        assert!(rest.is_empty());
        let bad = got
            .iter()
            .enumerate()
            .position(|(i, &b)| b != byte(i % chunk.len()));
        assert_eq!(bad, None, "{sealed} bytes sent");
    }

    /// The reader gets the client's plaintext, whatever the size of its
    /// reads, and the end of the stream as `Ok(0)`.
    #[test]
    fn the_reader_decrypts_and_sees_the_end() {
        let (tcp, tls, mut client) = pair();
        let sent: Vec<u8> = (0..100_000).map(byte).collect();
        let writer = std::thread::spawn(move || {
            client.write_all(&sent).unwrap();
            client.conn.send_close_notify();
            client.flush().unwrap();
            // Kept open (returned) until the server has read everything:
            // closing with the session tickets unread would reset it.
            (sent, client)
        });
        let mut input = Input::for_client(Some(&tls)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            let n = tls.read(&tcp, &mut input, &mut buf, || {}).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, writer.join().unwrap().0);
    }
}
