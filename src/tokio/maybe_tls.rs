//! [`MaybeTlsStream`]: the stream [`connect`](super::connect) opens and
//! [`accept_maybe_tls`](super::accept_maybe_tls) serves: TCP, or TLS over
//! TCP (feature `rustls`).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::net::TcpStream;

use crate::adapter::{Error, ServerConfig};

/// A TCP stream, or a TLS stream over one (feature `rustls`): what
/// [`connect`](super::connect) returns for `ws://` and `wss://` URLs, and
/// what [`accept_maybe_tls`](super::accept_maybe_tls) serves. It is an
/// `AsyncRead + AsyncWrite` like any other stream (vectored writes
/// included), so a [`WebSocketStream`](super::WebSocketStream) over it
/// splits as over any stream.
///
/// ```no_run
/// use rfc6455::tokio::{self as ws, MaybeTlsStream};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let (socket, _) = ws::connect("wss://example.com/chat").await?;
/// match socket.get_ref() {
///     MaybeTlsStream::Plain(tcp) => println!("ws:// to {}", tcp.peer_addr()?),
///     #[cfg(feature = "rustls")]
///     MaybeTlsStream::Rustls(tls) => println!("wss:// over {:?}", tls.protocol_version()),
///     _ => {}
/// }
/// # Ok(())
/// # }
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
    /// use rfc6455::tokio::MaybeTlsStream;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let tcp = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let stream = MaybeTlsStream::from(tcp);
    /// assert_eq!(stream.get_ref().peer_addr()?, listener.local_addr()?);
    /// # Ok(())
    /// # }
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
    /// use rfc6455::tokio::MaybeTlsStream;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let tcp = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(!MaybeTlsStream::from(tcp).is_tls());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTlsStream::Plain(_))
    }
}

impl MaybeTlsStream {
    /// The server side of a connection whose TLS is an option: the TLS
    /// handshake with the client when `ServerConfig::tls` is set (feature
    /// `rustls`), within [`ServerConfig::handshake_timeout`]; plain TCP
    /// when it is not. [`ServerConfig::nodelay`] is applied either way.
    ///
    /// [`accept_maybe_tls`](super::accept_maybe_tls) is this and then the
    /// WebSocket upgrade; with the stream alone, anything can be served over
    /// it: a hyper server (feature `hyper`) serves HTTP/1.1 and HTTP/2 on
    /// it, WebSocket routes included (`rfc6455::hyper`), with a TLS config
    /// that offers `h2` (`adapter::tls::server_config_h2`).
    /// A TLS handshake that fails returns `Error::Tls`, naming the client's
    /// address and rustls' reason; one that does not end in time,
    /// [`Error::HandshakeTimeout`].
    ///
    /// ```
    /// use rfc6455::tokio::{MaybeTlsStream, ServerConfig};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), rfc6455::tokio::Error> {
    /// let config = ServerConfig::default(); // `tls` set: the TLS handshake first
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// client.write_all(b"ping").await?;
    ///
    /// let (tcp, _) = listener.accept().await?;
    /// let mut stream = MaybeTlsStream::accept(tcp, &config).await?;
    /// assert!(!stream.is_tls());
    /// let mut buf = [0; 4];
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"ping");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(tcp: TcpStream, config: &ServerConfig) -> Result<MaybeTlsStream, Error> {
        if config.nodelay {
            tcp.set_nodelay(true)?;
        }
        #[cfg(feature = "rustls")]
        if let Some(tls) = &config.tls {
            let accept = TlsStream::accept(tcp, std::sync::Arc::clone(tls));
            let tls = match config.handshake_timeout {
                Some(t) => ::tokio::time::timeout(t, alloc::boxed::Box::pin(accept))
                    .await
                    .map_err(|_| Error::HandshakeTimeout)??,
                None => alloc::boxed::Box::pin(accept).await?,
            };
            return Ok(MaybeTlsStream::Rustls(tls));
        }
        Ok(MaybeTlsStream::Plain(tcp))
    }
}

impl From<TcpStream> for MaybeTlsStream {
    fn from(tcp: TcpStream) -> Self {
        MaybeTlsStream::Plain(tcp)
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTlsStream::Plain(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}

#[cfg(feature = "rustls")]
pub use tls_stream::TlsStream;

#[cfg(feature = "rustls")]
mod tls_stream {
    use std::future::poll_fn;
    use std::io::{self, BufRead, IoSlice, Read};
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{ready, Context, Poll};
    use std::vec::Vec;

    use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use ::tokio::net::TcpStream;
    use rustls::pki_types::{CertificateDer, ServerName};

    use crate::adapter::tls::{self, Sniff};
    use crate::adapter::Error;

    /// A TLS stream over TCP (feature `rustls`): rustls' state machine
    /// driven over a tokio `TcpStream`, client or server side.
    ///
    /// A TCP end without a TLS `close_notify` reads as the end of the
    /// stream, not as an error: whether the conversation was complete is
    /// the WebSocket closing handshake's to say (a connection that ends
    /// without a Close frame fails with 1006).
    ///
    /// ```no_run
    /// use rfc6455::tokio::{self as ws, MaybeTlsStream};
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let (socket, _) = ws::connect("wss://example.com/chat").await?;
    /// if let MaybeTlsStream::Rustls(tls) = socket.get_ref() {
    ///     println!("{:?}, ALPN {:?}", tls.protocol_version(), tls.alpn_protocol());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub struct TlsStream {
        // Boxed: rustls' state is large, and `MaybeTlsStream` stays the
        // size of a `TcpStream` and a pointer.
        inner: alloc::boxed::Box<Inner>,
    }

    struct Inner {
        tcp: TcpStream,
        conn: rustls::Connection,
        /// Records rustls produced that the socket has not taken yet.
        out: Vec<u8>,
        out_pos: usize,
        eof: bool,
        close_notify_sent: bool,
    }

    impl std::fmt::Debug for TlsStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsStream")
                .field("tcp", &self.inner.tcp)
                .field("protocol_version", &self.inner.conn.protocol_version())
                .finish_non_exhaustive()
        }
    }

    /// `std::io::Read` over a tokio stream for rustls' `read_tls`: "not
    /// ready" is `WouldBlock`, and the waker is registered.
    struct SyncRead<'a, 'b> {
        tcp: &'a mut TcpStream,
        cx: &'a mut Context<'b>,
        sniff: Option<&'a mut Sniff>,
    }

    impl Read for SyncRead<'_, '_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let mut rb = ReadBuf::new(buf);
            match Pin::new(&mut *self.tcp).poll_read(self.cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    if let Some(sniff) = self.sniff.as_deref_mut() {
                        sniff.record(rb.filled());
                    }
                    Ok(rb.filled().len())
                }
                Poll::Ready(Err(e)) => Err(e),
                Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    impl TlsStream {
        /// The client side: the TLS handshake with `host` (SNI, and the
        /// name the certificate must carry). The caller bounds it in time.
        pub(crate) async fn connect(
            tcp: TcpStream,
            host: &str,
            name: ServerName<'static>,
            config: Arc<rustls::ClientConfig>,
        ) -> Result<Self, Error> {
            let conn = tls::client_connection(config, host, name)?;
            let mut stream = TlsStream::new(tcp, conn.into());
            let mut sniff = Sniff::default();
            match poll_fn(|cx| stream.inner.poll_handshake(cx, &mut sniff)).await {
                Ok(()) => Ok(stream),
                Err(e) => Err(tls::name_failure(e.into(), host, &sniff)),
            }
        }

        /// The server side: the TLS handshake with a client. The caller
        /// bounds it in time.
        pub(crate) async fn accept(
            tcp: TcpStream,
            config: Arc<rustls::ServerConfig>,
        ) -> Result<Self, Error> {
            let host = tls::peer_name(tcp.peer_addr());
            let conn = match rustls::ServerConnection::new(config) {
                Ok(conn) => conn,
                Err(source) => return Err(Error::Tls { host, source }),
            };
            let mut stream = TlsStream::new(tcp, conn.into());
            let mut sniff = Sniff::default();
            match poll_fn(|cx| stream.inner.poll_handshake(cx, &mut sniff)).await {
                Ok(()) => Ok(stream),
                Err(e) => Err(match tls::rustls_error(&e) {
                    Some(source) => Error::Tls { host, source },
                    None => Error::Io(e),
                }),
            }
        }

        fn new(tcp: TcpStream, conn: rustls::Connection) -> Self {
            TlsStream {
                inner: alloc::boxed::Box::new(Inner {
                    tcp,
                    conn,
                    out: Vec::new(),
                    out_pos: 0,
                    eof: false,
                    close_notify_sent: false,
                }),
            }
        }

        /// The TCP stream underneath (for its addresses and socket
        /// options; reading or writing it directly corrupts the stream).
        ///
        /// ```no_run
        /// use rfc6455::tokio::{self as ws, MaybeTlsStream};
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// let (socket, _) = ws::connect("wss://example.com/").await?;
        /// if let MaybeTlsStream::Rustls(tls) = socket.get_ref() {
        ///     println!("connected to {}", tls.get_ref().peer_addr()?);
        /// }
        /// # Ok(())
        /// # }
        /// ```
        pub fn get_ref(&self) -> &TcpStream {
            &self.inner.tcp
        }

        /// The protocol the peers agreed with ALPN (`http/1.1` with this
        /// crate's configs), if any.
        ///
        /// ```no_run
        /// use rfc6455::tokio::{self as ws, MaybeTlsStream};
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// let (socket, _) = ws::connect("wss://example.com/").await?;
        /// if let MaybeTlsStream::Rustls(tls) = socket.get_ref() {
        ///     assert_eq!(tls.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
        /// }
        /// # Ok(())
        /// # }
        /// ```
        pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
            self.inner.conn.alpn_protocol().map(<[u8]>::to_vec)
        }

        /// The TLS version in use.
        ///
        /// ```no_run
        /// use rfc6455::rustls::ProtocolVersion;
        /// use rfc6455::tokio::{self as ws, MaybeTlsStream};
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// let (socket, _) = ws::connect("wss://example.com/").await?;
        /// if let MaybeTlsStream::Rustls(tls) = socket.get_ref() {
        ///     assert_eq!(tls.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        /// }
        /// # Ok(())
        /// # }
        /// ```
        pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
            self.inner.conn.protocol_version()
        }

        /// The certificate chain the peer presented, its own first: the
        /// server's on a client, the client's (if it was asked for one) on
        /// a server.
        ///
        /// ```no_run
        /// use rfc6455::tokio::{self as ws, MaybeTlsStream};
        /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
        /// let (socket, _) = ws::connect("wss://example.com/").await?;
        /// if let MaybeTlsStream::Rustls(tls) = socket.get_ref() {
        ///     let chain = tls.peer_certificates().unwrap_or_default();
        ///     println!("the server sent {} certificates", chain.len());
        /// }
        /// # Ok(())
        /// # }
        /// ```
        pub fn peer_certificates(&self) -> Option<Vec<CertificateDer<'static>>> {
            self.inner.conn.peer_certificates().map(<[_]>::to_vec)
        }
    }

    impl Inner {
        /// Writes the records not yet written.
        fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            while self.out_pos < self.out.len() {
                let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.out[self.out_pos..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.out_pos += n;
            }
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > 16 << 10 {
                // After a large message: an idle connection keeps little.
                self.out = Vec::new();
            }
            Poll::Ready(Ok(()))
        }

        /// Reads ciphertext into rustls (`Ok(0)`: the transport ended).
        fn poll_read_tls(
            &mut self,
            cx: &mut Context<'_>,
            sniff: Option<&mut Sniff>,
        ) -> Poll<io::Result<usize>> {
            let mut rd = SyncRead {
                tcp: &mut self.tcp,
                cx,
                sniff,
            };
            match self.conn.read_tls(&mut rd) {
                Ok(n) => Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            }
        }

        /// Processes what `read_tls` took. What rustls queues in reply (a
        /// KeyUpdate answer) goes with the next write or flush: a read
        /// does not write, so that it never takes the place of a writer's
        /// waker on the socket. On an error, the alert that says why is
        /// tried once (the connection is over).
        fn process(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
            let result = self.conn.process_new_packets();
            tls::drain(&mut self.conn, &mut self.out);
            if result.is_err() {
                let _ = self.poll_send(cx);
            }
            result.map(|_| ()).map_err(tls::io_error)
        }

        fn poll_handshake(
            &mut self,
            cx: &mut Context<'_>,
            sniff: &mut Sniff,
        ) -> Poll<io::Result<()>> {
            loop {
                tls::drain(&mut self.conn, &mut self.out);
                ready!(self.poll_send(cx))?;
                if !self.conn.is_handshaking() {
                    return Poll::Ready(Ok(()));
                }
                if self.eof {
                    return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
                }
                if ready!(self.poll_read_tls(cx, Some(&mut *sniff)))? == 0 {
                    self.eof = true;
                    continue;
                }
                self.process(cx)?;
            }
        }
    }

    impl AsyncRead for TlsStream {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = &mut *self.get_mut().inner;
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            loop {
                let mut reader = this.conn.reader();
                match reader.fill_buf() {
                    Ok(chunk) => {
                        // Empty: the peer's close_notify, the clean end.
                        let n = chunk.len().min(buf.remaining());
                        buf.put_slice(&chunk[..n]);
                        reader.consume(n);
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The TCP end without a close_notify: the end of the
                    // stream (see the type's docs).
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
                if this.eof {
                    tls::feed_eof(&mut this.conn)?;
                    continue;
                }
                if ready!(this.poll_read_tls(cx, None))? == 0 {
                    this.eof = true;
                    continue;
                }
                this.process(cx)?;
            }
        }
    }

    impl AsyncWrite for TlsStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        /// Encrypts as much as rustls takes (up to 64 KiB) once the records
        /// of earlier writes are out, and writes the new records; those the
        /// socket does not take yet go first with the next write or flush.
        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = &mut *self.get_mut().inner;
            ready!(this.poll_send(cx))?;
            let taken = io::Write::write_vectored(&mut this.conn.writer(), bufs)?;
            tls::drain(&mut this.conn, &mut this.out);
            match this.poll_send(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(taken)),
            }
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self.get_mut().inner;
            tls::drain(&mut this.conn, &mut this.out);
            ready!(this.poll_send(cx))?;
            Pin::new(&mut this.tcp).poll_flush(cx)
        }

        /// Sends a `close_notify`, then shuts the TCP stream's sending
        /// side down.
        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self.get_mut().inner;
            if !this.close_notify_sent {
                this.close_notify_sent = true;
                this.conn.send_close_notify();
                tls::drain(&mut this.conn, &mut this.out);
            }
            ready!(this.poll_send(cx))?;
            Pin::new(&mut this.tcp).poll_shutdown(cx)
        }
    }
}
