//! [`MaybeTlsStream`]: the stream [`connect`](super::connect) opens and
//! [`accept_maybe_tls`](super::accept_maybe_tls) serves: TCP, or TLS over
//! TCP (feature `rustls`).

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::split::SplitTransport;
use super::websocket::Hooks;

/// A TCP stream, or a TLS stream over one (feature `rustls`): what
/// [`connect`](super::connect) returns for `ws://` and `wss://` URLs, and
/// what [`accept_maybe_tls`](super::accept_maybe_tls) serves. It is a
/// `Read + Write` like any other stream, and a [`SplitTransport`], so
/// [`WebSocket::split`](super::WebSocket::split) works over TLS too.
///
/// ```no_run
/// use rfc6455::blocking::{self, MaybeTlsStream};
///
/// let (ws, _) = blocking::connect("wss://example.com/chat")?;
/// match ws.get_ref() {
///     MaybeTlsStream::Plain(tcp) => println!("ws:// to {}", tcp.peer_addr()?),
///     #[cfg(feature = "rustls")]
///     MaybeTlsStream::Rustls(tls) => println!("wss:// over {:?}", tls.protocol_version()),
///     _ => {}
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// Plain TCP (`ws://`).
    Plain(TcpStream),
    /// TLS over TCP (`wss://`; feature `rustls`).
    #[cfg(feature = "rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
    Rustls(TlsStream),
}

impl MaybeTlsStream {
    /// The TCP stream underneath (for its addresses and socket options;
    /// reading or writing it directly corrupts the stream).
    ///
    /// ```
    /// use rfc6455::blocking::MaybeTlsStream;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let tcp = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let stream = MaybeTlsStream::from(tcp);
    /// assert_eq!(stream.get_ref().peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &TcpStream {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.get_ref(),
        }
    }

    /// Whether the stream is TLS.
    ///
    /// ```
    /// use rfc6455::blocking::MaybeTlsStream;
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let tcp = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// assert!(!MaybeTlsStream::from(tcp).is_tls());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }

    /// Ends the stream: a TLS `close_notify` first, where there is TLS.
    fn close(&self) -> io::Result<()> {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.shutdown(Shutdown::Both),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.shutdown(),
        }
    }
}

impl From<TcpStream> for MaybeTlsStream {
    fn from(tcp: TcpStream) -> Self {
        MaybeTlsStream::Plain(tcp)
    }
}

impl Hooks<MaybeTlsStream> {
    pub(crate) fn maybe_tls() -> Self {
        Hooks {
            set_read_timeout: Some(|s, t| s.get_ref().set_read_timeout(t)),
            shutdown: Some(MaybeTlsStream::close),
        }
    }
}

impl Read for &MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match *self {
            MaybeTlsStream::Plain(tcp) => (&*tcp).read(buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.read_plain(buf),
        }
    }
}

impl Write for &MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match *self {
            MaybeTlsStream::Plain(tcp) => (&*tcp).write_vectored(bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.write_plain(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match *self {
            MaybeTlsStream::Plain(tcp) => (&*tcp).flush(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.flush_plain(),
        }
    }
}

impl Read for MaybeTlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for MaybeTlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl SplitTransport for MaybeTlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.get_ref().set_read_timeout(timeout)
    }

    fn shutdown(&self) -> io::Result<()> {
        self.close()
    }
}

#[cfg(feature = "rustls")]
pub use tls_stream::TlsStream;

#[cfg(feature = "rustls")]
mod tls_stream {
    use std::io::{self, IoSlice, Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::{Duration, Instant};
    use std::vec::Vec;

    use rustls::pki_types::{CertificateDer, ServerName};

    use crate::adapter::tls::{self, Sniff};
    use crate::adapter::{is_retry, Error};

    /// Ciphertext read from the socket per read (rustls reads as much).
    const READ_SIZE: usize = 4096;

    /// How long closing waits to write the `close_notify` alert.
    const CLOSE_NOTIFY_WAIT: Duration = Duration::from_millis(100);

    /// A TLS stream over TCP (feature `rustls`): rustls' state machine
    /// driven over a `TcpStream`, client or server side.
    ///
    /// It is read and written through shared references, so that the
    /// halves of a [split](super::super::WebSocket::split) WebSocket can
    /// use it from two threads: a read waits for the socket without
    /// holding the TLS state, so a write (which encrypts, then writes the
    /// records in order) is never held up by a read waiting for the peer.
    ///
    /// A TCP end without a TLS `close_notify` reads as the end of the
    /// stream, not as an error: whether the conversation was complete is
    /// the WebSocket closing handshake's to say (a connection that ends
    /// without a Close frame fails with 1006).
    ///
    /// ```no_run
    /// use rfc6455::blocking::{self, MaybeTlsStream};
    ///
    /// let (ws, _) = blocking::connect("wss://example.com/chat")?;
    /// if let MaybeTlsStream::Rustls(tls) = ws.get_ref() {
    ///     println!("{:?}, ALPN {:?}", tls.protocol_version(), tls.alpn_protocol());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct TlsStream {
        tcp: TcpStream,
        /// rustls' state (boxed: it is large, and `MaybeTlsStream` stays
        /// small). Held only to feed it, encrypt, decrypt or drain it,
        /// never across a read or write of the socket.
        conn: alloc::boxed::Box<Mutex<rustls::Connection>>,
        /// Ciphertext read but not yet taken by rustls. Held across a
        /// socket read (reads are serialised).
        input: Mutex<Input>,
        /// Ciphertext rustls produced that the socket has not taken yet.
        /// Held across a socket write, so records go out in order; always
        /// taken before `conn`.
        output: Mutex<Output>,
    }

    struct Input {
        buf: Vec<u8>,
        start: usize,
        end: usize,
        eof: bool,
    }

    #[derive(Default)]
    struct Output {
        buf: Vec<u8>,
        pos: usize,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    impl std::fmt::Debug for TlsStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsStream")
                .field("tcp", &self.tcp)
                .field("protocol_version", &self.protocol_version())
                .finish_non_exhaustive()
        }
    }

    /// The time left before `deadline`, or a timeout once it has passed.
    fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, Error> {
        match deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(Error::HandshakeTimeout)
                } else {
                    Ok(Some(left))
                }
            }
        }
    }

    impl TlsStream {
        /// The client side: the TLS handshake with `host` (SNI, and the
        /// name the certificate must carry), by `deadline`.
        pub(crate) fn connect(
            tcp: TcpStream,
            host: &str,
            name: ServerName<'static>,
            config: Arc<rustls::ClientConfig>,
            deadline: Option<Instant>,
        ) -> Result<Self, Error> {
            let conn = tls::client_connection(config, host, name)?;
            let mut sniff = Sniff::default();
            let mut stream = TlsStream::new(tcp, conn.into());
            match stream.handshake(deadline, &mut sniff) {
                Ok(()) => Ok(stream),
                Err(e) => Err(tls::name_failure(e, host, &sniff)),
            }
        }

        /// The server side: the TLS handshake with a client, by `deadline`.
        pub(crate) fn accept(
            tcp: TcpStream,
            config: Arc<rustls::ServerConfig>,
            deadline: Option<Instant>,
        ) -> Result<Self, Error> {
            let peer = || tls::peer_name(tcp.peer_addr());
            let conn = match rustls::ServerConnection::new(config) {
                Ok(conn) => conn,
                Err(source) => {
                    return Err(Error::Tls {
                        host: peer(),
                        source,
                    })
                }
            };
            let host = peer();
            let mut stream = TlsStream::new(tcp, conn.into());
            match stream.handshake(deadline, &mut Sniff::default()) {
                Ok(()) => Ok(stream),
                Err(Error::Io(e)) => Err(match tls::rustls_error(&e) {
                    Some(source) => Error::Tls { host, source },
                    None => Error::Io(e),
                }),
                Err(e) => Err(e),
            }
        }

        fn new(tcp: TcpStream, conn: rustls::Connection) -> Self {
            TlsStream {
                tcp,
                conn: alloc::boxed::Box::new(Mutex::new(conn)),
                input: Mutex::new(Input {
                    buf: std::vec![0; READ_SIZE],
                    start: 0,
                    end: 0,
                    eof: false,
                }),
                output: Mutex::new(Output::default()),
            }
        }

        /// Runs the TLS handshake to its end (and sends what follows it
        /// at once, a TLS 1.3 server's session tickets), the socket's
        /// timeouts bounded by `deadline`; the socket's own timeouts (those
        /// of a socket handed to `accept_maybe_tls`, say) are put back
        /// after.
        fn handshake(&mut self, deadline: Option<Instant>, sniff: &mut Sniff) -> Result<(), Error> {
            let before = (self.tcp.read_timeout()?, self.tcp.write_timeout()?);
            let result = self.handshake_inner(deadline, sniff);
            self.tcp.set_read_timeout(before.0)?;
            self.tcp.set_write_timeout(before.1)?;
            result
        }

        fn handshake_inner(
            &mut self,
            deadline: Option<Instant>,
            sniff: &mut Sniff,
        ) -> Result<(), Error> {
            let TlsStream {
                tcp,
                conn,
                input,
                output,
            } = self;
            let conn = conn.get_mut().unwrap_or_else(|e| e.into_inner());
            let input = input.get_mut().unwrap_or_else(|e| e.into_inner());
            let out = &mut output.get_mut().unwrap_or_else(|e| e.into_inner()).buf;
            loop {
                tls::drain(conn, out);
                if !out.is_empty() {
                    tcp.set_write_timeout(remaining(deadline)?)?;
                    match tcp.write_all(out) {
                        Ok(()) => out.clear(),
                        Err(e) if is_retry(&e) => return Err(Error::HandshakeTimeout),
                        Err(e) => return Err(e.into()),
                    }
                }
                if !conn.is_handshaking() {
                    return Ok(());
                }
                if input.start < input.end {
                    match tls::feed(conn, &input.buf[input.start..input.end]) {
                        Ok(n) => input.start += n,
                        Err(e) => {
                            // The alert that says why, if there is one;
                            // the error is what is reported.
                            tls::drain(conn, out);
                            let _ = tcp.write_all(out);
                            return Err(e.into());
                        }
                    }
                    continue;
                }
                if input.eof {
                    return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
                }
                tcp.set_read_timeout(remaining(deadline)?)?;
                match tcp.read(&mut input.buf) {
                    Ok(n) => {
                        sniff.record(&input.buf[..n]);
                        input.start = 0;
                        input.end = n;
                        input.eof = n == 0;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // Timed out: the deadline check above says whether
                    // there is time left.
                    Err(e) if is_retry(&e) && deadline.is_some() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }

        /// The TCP stream underneath (for its addresses and socket
        /// options; reading or writing it directly corrupts the stream).
        ///
        /// ```no_run
        /// use rfc6455::blocking::{self, MaybeTlsStream};
        /// let (ws, _) = blocking::connect("wss://example.com/")?;
        /// if let MaybeTlsStream::Rustls(tls) = ws.get_ref() {
        ///     println!("connected to {}", tls.get_ref().peer_addr()?);
        /// }
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn get_ref(&self) -> &TcpStream {
            &self.tcp
        }

        /// The protocol the peers agreed with ALPN (`http/1.1` with this
        /// crate's configs), if any.
        ///
        /// ```no_run
        /// use rfc6455::blocking::{self, MaybeTlsStream};
        /// let (ws, _) = blocking::connect("wss://example.com/")?;
        /// if let MaybeTlsStream::Rustls(tls) = ws.get_ref() {
        ///     assert_eq!(tls.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
        /// }
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
            lock(&self.conn).alpn_protocol().map(<[u8]>::to_vec)
        }

        /// The TLS version in use.
        ///
        /// ```no_run
        /// use rfc6455::blocking::{self, MaybeTlsStream};
        /// use rfc6455::rustls::ProtocolVersion;
        /// let (ws, _) = blocking::connect("wss://example.com/")?;
        /// if let MaybeTlsStream::Rustls(tls) = ws.get_ref() {
        ///     assert_eq!(tls.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        /// }
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
            lock(&self.conn).protocol_version()
        }

        /// The certificate chain the peer presented, its own first: the
        /// server's on a client, the client's (if it was asked for one) on
        /// a server.
        ///
        /// ```no_run
        /// use rfc6455::blocking::{self, MaybeTlsStream};
        /// let (ws, _) = blocking::connect("wss://example.com/")?;
        /// if let MaybeTlsStream::Rustls(tls) = ws.get_ref() {
        ///     let chain = tls.peer_certificates().unwrap_or_default();
        ///     println!("the server sent {} certificates", chain.len());
        /// }
        /// # Ok::<(), Box<dyn std::error::Error>>(())
        /// ```
        pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
            lock(&self.conn).peer_certificates().map(<[_]>::to_vec)
        }

        /// Reads plaintext: what rustls has decrypted, else ciphertext
        /// from the socket (waiting without holding the TLS state).
        pub(super) fn read_plain(&self, buf: &mut [u8]) -> io::Result<usize> {
            if buf.is_empty() {
                return Ok(0);
            }
            let mut input = lock(&self.input);
            loop {
                let mut conn = lock(&self.conn);
                match conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The TCP end without a close_notify: the end of the
                    // stream (see the type's docs).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
                if input.start < input.end {
                    // What rustls queues in reply (a KeyUpdate answer) goes
                    // with the next write or flush, in order: a read never
                    // waits on the socket's sending side.
                    match tls::feed(&mut conn, &input.buf[input.start..input.end]) {
                        Ok(n) => input.start += n,
                        Err(e) => {
                            input.start = input.end;
                            drop(conn);
                            // The alert that says why, if the socket takes it.
                            self.try_send_pending();
                            return Err(e);
                        }
                    }
                    continue;
                }
                if input.eof {
                    tls::feed_eof(&mut conn)?;
                    continue;
                }
                drop(conn);
                let n = (&self.tcp).read(&mut input.buf)?;
                input.start = 0;
                input.end = n;
                input.eof = n == 0;
            }
        }

        /// Encrypts as much of `bufs` as rustls takes (up to 64 KiB) and
        /// writes the records. Returns how much plaintext was taken; if
        /// the socket could not take all the records (a non-blocking
        /// socket, a write timeout), the rest goes first with the next
        /// write or flush.
        pub(super) fn write_plain(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut out = lock(&self.output);
            self.send(&mut out)?;
            let taken = {
                let mut conn = lock(&self.conn);
                let taken = conn.writer().write_vectored(bufs)?;
                tls::drain(&mut conn, &mut out.buf);
                taken
            };
            match self.send(&mut out) {
                Err(e) if !is_retry(&e) => Err(e),
                _ => Ok(taken),
            }
        }

        /// Writes every record not yet written.
        pub(super) fn flush_plain(&self) -> io::Result<()> {
            let mut out = lock(&self.output);
            tls::drain(&mut lock(&self.conn), &mut out.buf);
            self.send(&mut out)?;
            (&self.tcp).flush()
        }

        /// Sends the alert rustls queued about a failure, unless a writer is
        /// busy (the connection is over anyway).
        fn try_send_pending(&self) {
            if let Ok(mut out) = self.output.try_lock() {
                tls::drain(&mut lock(&self.conn), &mut out.buf);
                let _ = self.send(&mut out);
            }
        }

        fn send(&self, out: &mut Output) -> io::Result<()> {
            while out.pos < out.buf.len() {
                match (&self.tcp).write(&out.buf[out.pos..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => out.pos += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            out.buf.clear();
            out.pos = 0;
            if out.buf.capacity() > 16 << 10 {
                // After a large message: an idle connection keeps little.
                out.buf = Vec::new();
            }
            Ok(())
        }

        /// Sends a `close_notify` (waiting at most a moment for the socket
        /// to take it) and shuts the TCP stream down, which also wakes a
        /// reader blocked on it.
        pub(super) fn shutdown(&self) -> io::Result<()> {
            // A writer stuck on a full socket holds `output`: then there is
            // no room for the alert anyway.
            if let Ok(mut out) = self.output.try_lock() {
                {
                    let mut conn = lock(&self.conn);
                    conn.send_close_notify();
                    tls::drain(&mut conn, &mut out.buf);
                }
                let before = self.tcp.write_timeout();
                let _ = self.tcp.set_write_timeout(Some(CLOSE_NOTIFY_WAIT));
                let _ = self.send(&mut out);
                if let Ok(before) = before {
                    let _ = self.tcp.set_write_timeout(before);
                }
            }
            self.tcp.shutdown(Shutdown::Both)
        }
    }
}
