//! TLS (feature `rustls`): `wss://` clients and TLS servers in both
//! adapters, against each other, with a CA and certificates made here by
//! `rcgen` (no network: everything runs on 127.0.0.1, the certificates name
//! `localhost`).
//!
//! - echo across every pair of adapters (blocking/tokio client against
//!   blocking/tokio server): text, a 1 MiB binary message, a fragmented
//!   message, a ping, the closing handshake over TLS;
//! - refusals, with errors that say why: an expired certificate, a
//!   certificate for another host, a server that requires a client
//!   certificate (accepted with one, refused without);
//! - the wrong scheme fails fast: `wss://` to a plaintext port, `ws://` to
//!   a TLS port;
//! - the handshake timeout covers a TLS server that never answers the
//!   ClientHello (both adapters), and a client that never sends one;
//! - a blocking WebSocket over TLS split into a reader and a writer for two
//!   threads; one port for `https://` and `wss://`;
//! - the examples: `echo_server`/`async_echo_server --tls-cert --tls-key`
//!   serve `wss://`, and `client wss://… --ca FILE` talks to them.
#![cfg(feature = "rustls")]

mod examples_bin;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rfc6455::adapter::{tls, ClientConfig, Error, ServerConfig};
use rfc6455::blocking::{self, MaybeTlsStream};
use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rfc6455::rustls::{self, RootCertStore};
use rfc6455::{CloseCode, Message, MessageKind};

/// Long enough never to fire in a passing test; what "fails fast" is
/// measured against.
const LONG: Duration = Duration::from_secs(20);

/// "Fast": well under `LONG`, with room for a slow machine.
const FAST: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// A CA and its certificates

/// A certificate authority made for the test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate chain and its key.
struct Leaf {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Ca {
    fn new() -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        roots
    }

    /// A certificate for `names`, valid now unless `expired`.
    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose, expired: bool) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.extended_key_usages = vec![usage];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            chain: vec![cert.der().clone(), self.issuer.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    fn server_leaf(&self) -> Leaf {
        self.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server config presenting `leaf`.
    fn server(&self, leaf: Leaf) -> ServerConfig {
        let mut config = ServerConfig::default()
            .with_tls(tls::server_config(leaf.chain, leaf.key).unwrap())
            .max_message_size(4 << 20);
        config.handshake_timeout = Some(LONG);
        config
    }

    /// A server config that requires a client certificate from this CA.
    fn server_requiring_client_cert(&self) -> ServerConfig {
        let leaf = self.server_leaf();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(self.roots()),
            tls::provider(),
        )
        .build()
        .unwrap();
        let mut tls_config = rustls::ServerConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(leaf.chain, leaf.key)
            .unwrap();
        tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut config = ServerConfig::default().with_tls(Arc::new(tls_config));
        config.handshake_timeout = Some(LONG);
        config
    }

    /// A client config trusting this CA.
    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::default()
            .with_tls(tls::client_config(self.roots()))
            .max_message_size(4 << 20);
        config.handshake_timeout = Some(LONG);
        config
    }

    /// A client config trusting this CA and presenting a client certificate.
    fn client_with_cert(&self) -> ClientConfig {
        let leaf = self.leaf(&["client"], ExtendedKeyUsagePurpose::ClientAuth, false);
        let mut tls_config = rustls::ClientConfig::builder_with_provider(tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots())
            .with_client_auth_cert(leaf.chain, leaf.key)
            .unwrap();
        tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut config = ClientConfig::default().with_tls(Arc::new(tls_config));
        config.handshake_timeout = Some(LONG);
        config
    }
}

// ---------------------------------------------------------------------------
// Servers

fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

fn wss_url(addr: SocketAddr) -> String {
    format!("wss://localhost:{}/echo", addr.port())
}

/// A blocking server for one connection: TLS (as `config` says), then the
/// upgrade, then an echo of every data message until the client closes.
/// Returns what accepting returned, and the messages echoed.
fn blocking_server(config: ServerConfig) -> (SocketAddr, JoinHandle<Result<usize, Error>>) {
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut ws = blocking::accept_maybe_tls(tcp, &config)?;
        assert_eq!(ws.get_ref().is_tls(), config.tls.is_some());
        let mut echoed = 0;
        loop {
            match ws.read() {
                Ok(msg) if msg.is_data() => {
                    ws.send(&msg)?;
                    echoed += 1;
                }
                Ok(_) => {}
                Err(e) if e.is_closed() => return Ok(echoed),
                Err(e) => return Err(e),
            }
        }
    });
    (addr, server)
}

/// The same server on the tokio adapter, on a runtime of its own.
#[cfg(feature = "tokio")]
fn tokio_server(config: ServerConfig) -> (SocketAddr, JoinHandle<Result<usize, Error>>) {
    use rfc6455::tokio as ws;
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        runtime().block_on(async move {
            l.set_nonblocking(true).unwrap();
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            let (tcp, _) = l.accept().await.unwrap();
            let mut socket = ws::accept_maybe_tls(tcp, &config).await?;
            assert_eq!(socket.get_ref().is_tls(), config.tls.is_some());
            let mut echoed = 0;
            loop {
                match socket.read().await {
                    Ok(msg) if msg.is_data() => {
                        socket.send(&msg).await?;
                        echoed += 1;
                    }
                    Ok(_) => {}
                    Err(e) if e.is_closed() => return Ok(echoed),
                    Err(e) => return Err(e),
                }
            }
        })
    });
    (addr, server)
}

#[cfg(feature = "tokio")]
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A TCP server that accepts one connection and never says anything (a
/// TLS server that never answers the ClientHello). Holds the connection
/// until `hold` has passed.
fn silent_server(hold: Duration) -> (SocketAddr, JoinHandle<()>) {
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        thread::sleep(hold);
        drop(tcp);
    });
    (addr, server)
}

// ---------------------------------------------------------------------------
// Clients

/// 1 MiB of bytes that are not all alike.
fn big() -> Vec<u8> {
    (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect()
}

/// The exchange every echo test runs: texts, a 1 MiB binary message, a
/// fragmented text, a ping; then the closing handshake. Returns the data
/// messages sent (the server's echo count).
fn blocking_exchange(url: &str, config: &ClientConfig) -> usize {
    let (mut ws, response) = blocking::connect_with(url, config).expect("connect over TLS");
    assert_eq!(response.status(), 101);
    match ws.get_ref() {
        MaybeTlsStream::Rustls(tls) => {
            assert_eq!(tls.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
            assert!(tls.protocol_version().is_some());
            assert_eq!(tls.peer_certificates().map(|c| c.len()), Some(2));
        }
        other => panic!("wss:// gave {other:?}"),
    }
    for i in 0..3 {
        let text = format!("hello {i} over TLS");
        ws.send_text(&text).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Text(text));
    }
    let data = big();
    ws.send_binary(&data).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(data));
    ws.send_fragment(MessageKind::Text, b"frag", false).unwrap();
    ws.send_fragment(MessageKind::Text, b"men", false).unwrap();
    ws.send_fragment(MessageKind::Text, b"ted", true).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("fragmented".into()));
    ws.send_ping(b"still there?").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"still there?".to_vec()));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    5
}

#[cfg(feature = "tokio")]
fn tokio_exchange(url: &str, config: &ClientConfig) -> usize {
    use rfc6455::tokio::{self as ws, MaybeTlsStream};
    runtime().block_on(async {
        let (mut socket, response) = ws::connect_with(url, config)
            .await
            .expect("connect over TLS");
        assert_eq!(response.status(), 101);
        match socket.get_ref() {
            MaybeTlsStream::Rustls(tls) => {
                assert_eq!(tls.alpn_protocol().as_deref(), Some(&b"http/1.1"[..]));
                assert!(tls.protocol_version().is_some());
                assert_eq!(tls.peer_certificates().map(|c| c.len()), Some(2));
            }
            other => panic!("wss:// gave {other:?}"),
        }
        for i in 0..3 {
            let text = format!("hello {i} over TLS");
            socket.send_text(&text).await.unwrap();
            assert_eq!(socket.read().await.unwrap(), Message::Text(text));
        }
        let data = big();
        socket.send_binary(&data).await.unwrap();
        assert_eq!(socket.read().await.unwrap(), Message::Binary(data));
        socket
            .send_fragment(MessageKind::Text, b"frag", false)
            .await
            .unwrap();
        socket
            .send_fragment(MessageKind::Text, b"men", false)
            .await
            .unwrap();
        socket
            .send_fragment(MessageKind::Text, b"ted", true)
            .await
            .unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Text("fragmented".into())
        );
        socket.send_ping(b"still there?").await.unwrap();
        assert_eq!(
            socket.read().await.unwrap(),
            Message::Pong(b"still there?".to_vec())
        );
        socket.close(CloseCode::NORMAL, "done").await.unwrap();
        5
    })
}

/// What a blocking client's connect returns, as an error.
fn blocking_connect_err(url: &str, config: &ClientConfig) -> Error {
    match blocking::connect_with(url, config) {
        Ok(_) => panic!("{url}: connected"),
        Err(e) => e,
    }
}

#[cfg(feature = "tokio")]
fn tokio_connect_err(url: &str, config: &ClientConfig) -> Error {
    match runtime().block_on(rfc6455::tokio::connect_with(url, config)) {
        Ok(_) => panic!("{url}: connected"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------
// Both roles, both adapters

#[test]
fn blocking_client_blocking_server() {
    let ca = Ca::new();
    let (addr, server) = blocking_server(ca.server(ca.server_leaf()));
    let sent = blocking_exchange(&wss_url(addr), &ca.client());
    assert_eq!(server.join().unwrap().unwrap(), sent);
}

#[cfg(feature = "tokio")]
#[test]
fn blocking_client_tokio_server() {
    let ca = Ca::new();
    let (addr, server) = tokio_server(ca.server(ca.server_leaf()));
    let sent = blocking_exchange(&wss_url(addr), &ca.client());
    assert_eq!(server.join().unwrap().unwrap(), sent);
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_client_blocking_server() {
    let ca = Ca::new();
    let (addr, server) = blocking_server(ca.server(ca.server_leaf()));
    let sent = tokio_exchange(&wss_url(addr), &ca.client());
    assert_eq!(server.join().unwrap().unwrap(), sent);
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_client_tokio_server() {
    let ca = Ca::new();
    let (addr, server) = tokio_server(ca.server(ca.server_leaf()));
    let sent = tokio_exchange(&wss_url(addr), &ca.client());
    assert_eq!(server.join().unwrap().unwrap(), sent);
}

/// TLS 1.2 as well as 1.3 (the `tls12` feature of rustls is on).
#[test]
fn tls12_both_ways() {
    let ca = Ca::new();
    let leaf = ca.server_leaf();
    let mut tls_config = rustls::ServerConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)
        .unwrap();
    tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = ServerConfig::default()
        .with_tls(Arc::new(tls_config))
        .max_message_size(4 << 20);
    let (addr, server) = blocking_server(config);
    let (mut ws, _) = blocking::connect_with(&wss_url(addr), &ca.client()).unwrap();
    match ws.get_ref() {
        MaybeTlsStream::Rustls(tls) => {
            assert_eq!(
                tls.protocol_version(),
                Some(rustls::ProtocolVersion::TLSv1_2)
            )
        }
        other => panic!("{other:?}"),
    }
    let data = big();
    ws.send_binary(&data).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(data));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().unwrap().unwrap(), 1);
}

/// A blocking WebSocket over TLS splits like one over TCP: a reader thread
/// and writers on other threads share the TLS stream, and a message the
/// reader is waiting for arrives while writers keep sending.
#[test]
fn blocking_split_over_tls() {
    let ca = Ca::new();
    let (addr, server) = blocking_server(ca.server(ca.server_leaf()));
    let (ws, _) = blocking::connect_with(&wss_url(addr), &ca.client()).unwrap();
    let (writer, mut reader) = ws.split().unwrap();
    let senders: Vec<_> = (0..4)
        .map(|t| {
            let writer = writer.clone();
            thread::spawn(move || {
                for i in 0..50 {
                    writer.send_text(&format!("{t}:{i}")).unwrap();
                }
                writer.send_binary(&big()).unwrap();
            })
        })
        .collect();
    let mut texts = 0;
    let mut bigs = 0;
    while texts + bigs < 4 * 51 {
        match reader.read().unwrap() {
            Message::Text(_) => texts += 1,
            Message::Binary(b) => {
                assert_eq!(b, big());
                bigs += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!((texts, bigs), (200, 4));
    writer.close(CloseCode::NORMAL, "").unwrap();
    loop {
        match reader.read() {
            Ok(Message::Close(_)) => {}
            Ok(other) => panic!("{other:?}"),
            Err(e) if e.is_closed() => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(server.join().unwrap().unwrap(), 204);
}

/// Records a socket did not take yet are not forgotten: a message larger
/// than the socket buffers, sent while the server does not read, over a
/// non-blocking TLS stream: `flush` reports `WouldBlock` until the TLS
/// stream's last records are out too, and the echo comes back.
#[test]
fn nonblocking_tls_flush_finishes_the_records() {
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf()).max_message_size(32 << 20);
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let mut ws = blocking::accept_maybe_tls(tcp, &config).unwrap();
        thread::sleep(Duration::from_millis(300)); // the client's socket fills up
        let msg = ws.read().unwrap();
        ws.send(&msg).unwrap();
        assert!(ws.read().unwrap().is_close());
    });
    let config = ca.client().max_message_size(32 << 20);
    let (mut ws, _) = blocking::connect_with(&wss_url(addr), &config).unwrap();
    let data: Vec<u8> = (0..16u32 << 20).map(|i| (i % 253) as u8).collect();
    ws.get_ref().get_ref().set_nonblocking(true).unwrap();
    let mut blocked = 0;
    let mut result = ws.send_binary(&data);
    let deadline = Instant::now() + LONG;
    while let Err(e) = &result {
        assert!(e.is_would_block(), "{e}");
        assert!(Instant::now() < deadline, "flush never finished");
        blocked += 1;
        thread::sleep(Duration::from_millis(1));
        result = ws.flush();
    }
    assert!(blocked > 0, "the socket never filled up: not a test");
    ws.get_ref().get_ref().set_nonblocking(false).unwrap();
    ws.set_read_timeout(Some(LONG)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(data));
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

/// The same on the tokio adapter: a send completes only once the TLS
/// stream has written its records, so a reply to the last message comes.
#[cfg(feature = "tokio")]
#[test]
fn tokio_tls_send_finishes_the_records() {
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf()).max_message_size(32 << 20);
    let (addr, server) = tokio_server(config);
    let config = ca.client().max_message_size(32 << 20);
    runtime().block_on(async {
        let (mut socket, _) = rfc6455::tokio::connect_with(&wss_url(addr), &config)
            .await
            .unwrap();
        for round in 0..2u8 {
            let data: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8 ^ round).collect();
            socket.send_binary(&data).await.unwrap();
            let echo = tokio::time::timeout(LONG, socket.read()).await;
            assert_eq!(echo.expect("the echo came").unwrap(), Message::Binary(data));
        }
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
    assert_eq!(server.join().unwrap().unwrap(), 2);
}

// ---------------------------------------------------------------------------
// Certificates refused, and why

/// The error names the host and rustls' reason.
fn assert_tls_error(e: &Error, reason: impl Fn(&rustls::Error) -> bool) {
    match e {
        Error::Tls { host, source } => {
            assert_eq!(host, "localhost");
            assert!(reason(source), "reason: {source:?}");
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("localhost"), "{text}");
}

fn is_expired(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
        )
    )
}

fn is_wrong_name(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        )
    )
}

#[test]
fn expired_certificate_is_refused() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth, true);
    let (addr, server) = blocking_server(ca.server(leaf));
    let e = blocking_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, is_expired);
    assert!(e.to_string().to_lowercase().contains("expired"), "{e}");
    // The server heard why: the client's alert.
    assert!(matches!(server.join().unwrap(), Err(Error::Tls { .. })));
}

#[cfg(feature = "tokio")]
#[test]
fn expired_certificate_is_refused_tokio() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth, true);
    let (addr, server) = tokio_server(ca.server(leaf));
    let e = tokio_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, is_expired);
    assert!(matches!(server.join().unwrap(), Err(Error::Tls { .. })));
}

#[test]
fn wrong_host_certificate_is_refused() {
    let ca = Ca::new();
    let leaf = ca.leaf(
        &["other.example"],
        ExtendedKeyUsagePurpose::ServerAuth,
        false,
    );
    let (addr, server) = blocking_server(ca.server(leaf));
    let e = blocking_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, is_wrong_name);
    let text = e.to_string();
    assert!(text.contains("not valid for name"), "{text}");
    assert!(text.contains("other.example"), "{text}"); // what the certificate is for
    assert!(server.join().unwrap().is_err());
}

#[cfg(feature = "tokio")]
#[test]
fn wrong_host_certificate_is_refused_tokio() {
    let ca = Ca::new();
    let leaf = ca.leaf(
        &["other.example"],
        ExtendedKeyUsagePurpose::ServerAuth,
        false,
    );
    let (addr, server) = tokio_server(ca.server(leaf));
    let e = tokio_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, is_wrong_name);
    assert!(server.join().unwrap().is_err());
}

/// A certificate from a CA the client does not trust (the default roots
/// are Mozilla's: the test CA is not among them).
#[test]
fn unknown_issuer_is_refused_with_the_default_roots() {
    let ca = Ca::new();
    let (addr, server) = blocking_server(ca.server(ca.server_leaf()));
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(LONG);
    let e = blocking_connect_err(&wss_url(addr), &config);
    assert_tls_error(&e, |e| {
        matches!(
            e,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        )
    });
    assert!(server.join().unwrap().is_err());
}

#[test]
fn client_certificate_required_blocking() {
    let ca = Ca::new();
    // With a certificate: accepted.
    let (addr, server) = blocking_server(ca.server_requiring_client_cert());
    let sent = blocking_exchange(&wss_url(addr), &ca.client_with_cert());
    assert_eq!(server.join().unwrap().unwrap(), sent);
    // Without: refused, on both sides, with TLS errors that say so.
    let (addr, server) = blocking_server(ca.server_requiring_client_cert());
    let e = blocking_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, |e| matches!(e, rustls::Error::AlertReceived(_)));
    match server.join().unwrap() {
        Err(Error::Tls { source, host }) => {
            assert!(host.starts_with("127.0.0.1:"), "{host}");
            assert_eq!(source, rustls::Error::NoCertificatesPresented);
        }
        other => panic!("{other:?}"),
    }
}

#[cfg(feature = "tokio")]
#[test]
fn client_certificate_required_tokio() {
    let ca = Ca::new();
    let (addr, server) = tokio_server(ca.server_requiring_client_cert());
    let sent = tokio_exchange(&wss_url(addr), &ca.client_with_cert());
    assert_eq!(server.join().unwrap().unwrap(), sent);
    let (addr, server) = tokio_server(ca.server_requiring_client_cert());
    let e = tokio_connect_err(&wss_url(addr), &ca.client());
    assert_tls_error(&e, |e| matches!(e, rustls::Error::AlertReceived(_)));
    match server.join().unwrap() {
        Err(Error::Tls { source, .. }) => {
            assert_eq!(source, rustls::Error::NoCertificatesPresented)
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The wrong scheme fails fast

#[test]
fn wss_to_a_plaintext_port_fails_fast() {
    let (addr, server) = blocking_server(ServerConfig::default());
    let start = Instant::now();
    let e = blocking_connect_err(&wss_url(addr), &Ca::new().client());
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    assert!(
        matches!(&e, Error::PlaintextServer { host } if host == "localhost"),
        "{e:?}"
    );
    assert!(e.to_string().contains("plaintext"), "{e}");
    assert!(e.to_string().contains("ws://"), "{e}");
    assert!(server.join().unwrap().is_err()); // it answered 400 to the ClientHello
}

#[cfg(feature = "tokio")]
#[test]
fn wss_to_a_plaintext_port_fails_fast_tokio() {
    let (addr, server) = tokio_server(ServerConfig::default());
    let start = Instant::now();
    let e = tokio_connect_err(&wss_url(addr), &Ca::new().client());
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    assert!(matches!(&e, Error::PlaintextServer { .. }), "{e:?}");
    assert!(server.join().unwrap().is_err());
}

#[test]
fn ws_to_a_tls_port_fails_fast() {
    let ca = Ca::new();
    let (addr, server) = blocking_server(ca.server(ca.server_leaf()));
    let start = Instant::now();
    let url = format!("ws://localhost:{}/", addr.port());
    let e = blocking_connect_err(&url, &ca.client());
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    assert!(
        matches!(&e, Error::TlsServer { host } if host == "localhost"),
        "{e:?}"
    );
    assert!(e.to_string().contains("wss://"), "{e}");
    // The server saw a plaintext request where a ClientHello belongs.
    assert!(matches!(server.join().unwrap(), Err(Error::Tls { .. })));
}

#[cfg(feature = "tokio")]
#[test]
fn ws_to_a_tls_port_fails_fast_tokio() {
    let ca = Ca::new();
    let (addr, server) = tokio_server(ca.server(ca.server_leaf()));
    let start = Instant::now();
    let url = format!("ws://localhost:{}/", addr.port());
    let e = tokio_connect_err(&url, &ca.client());
    assert!(start.elapsed() < FAST, "took {:?}", start.elapsed());
    assert!(matches!(&e, Error::TlsServer { .. }), "{e:?}");
    assert!(matches!(server.join().unwrap(), Err(Error::Tls { .. })));
}

// ---------------------------------------------------------------------------
// Timeouts

/// The handshake timeout covers the TLS handshake: a server that takes the
/// connection and never answers the ClientHello.
#[test]
fn handshake_timeout_covers_a_silent_tls_server() {
    let (addr, server) = silent_server(Duration::from_secs(3));
    let mut config = Ca::new().client();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let start = Instant::now();
    let e = blocking_connect_err(&wss_url(addr), &config);
    let took = start.elapsed();
    assert!(matches!(e, Error::HandshakeTimeout), "{e:?}");
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    server.join().unwrap();
}

#[cfg(feature = "tokio")]
#[test]
fn handshake_timeout_covers_a_silent_tls_server_tokio() {
    let (addr, server) = silent_server(Duration::from_secs(3));
    let mut config = Ca::new().client();
    config.handshake_timeout = Some(Duration::from_millis(300));
    let start = Instant::now();
    let e = tokio_connect_err(&wss_url(addr), &config);
    let took = start.elapsed();
    assert!(matches!(e, Error::HandshakeTimeout), "{e:?}");
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    server.join().unwrap();
}

/// A TLS server's handshake timeout covers a client that connects and
/// never sends its ClientHello.
#[test]
fn server_handshake_timeout_covers_a_silent_client() {
    let ca = Ca::new();
    let mut config = ca.server(ca.server_leaf());
    config.handshake_timeout = Some(Duration::from_millis(300));
    let (l, addr) = listen();
    let _client = TcpStream::connect(addr).unwrap();
    let (tcp, _) = l.accept().unwrap();
    let start = Instant::now();
    let e = blocking::accept_maybe_tls(tcp, &config).unwrap_err();
    assert!(matches!(e, Error::HandshakeTimeout), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    #[cfg(feature = "tokio")]
    {
        let _client = TcpStream::connect(addr).unwrap();
        let (tcp, _) = l.accept().unwrap();
        tcp.set_nonblocking(true).unwrap();
        let start = Instant::now();
        let e = runtime().block_on(async {
            let tcp = tokio::net::TcpStream::from_std(tcp).unwrap();
            rfc6455::tokio::accept_maybe_tls(tcp, &config)
                .await
                .unwrap_err()
        });
        assert!(matches!(e, Error::HandshakeTimeout), "{e:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}

/// One port for `https://` and `wss://`: a plain HTTPS GET is answered
/// with a page through `read_request_maybe_tls`.
#[test]
fn https_page_and_wss_on_one_port() {
    use std::io::{Read, Write};
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf());
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        for _ in 0..2 {
            let (tcp, _) = l.accept().unwrap();
            let incoming = blocking::read_request_maybe_tls(tcp, &config).unwrap();
            if incoming.request().is_upgrade() {
                let mut ws = incoming.accept(&Default::default()).unwrap();
                let msg = ws.read().unwrap();
                ws.send(&msg).unwrap();
                assert!(ws.read().unwrap().is_close());
            } else {
                incoming.respond(200, "text/plain", b"the page").unwrap();
            }
        }
    });
    // The page, over a TLS stream of rustls' own.
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls::client_config(ca.roots()), name).unwrap();
    let mut https = rustls::StreamOwned::new(conn, TcpStream::connect(addr).unwrap());
    https
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut page = Vec::new();
    let _ = https.read_to_end(&mut page); // the server ends with close_notify
    let page = String::from_utf8_lossy(&page);
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.ends_with("\r\n\r\nthe page"), "{page}");
    // The WebSocket.
    let (mut ws, _) = blocking::connect_with(&wss_url(addr), &ca.client()).unwrap();
    ws.send_text("same port").unwrap();
    assert_eq!(ws.read().unwrap(), Message::Text("same port".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
}

// ---------------------------------------------------------------------------
// The examples: `echo_server --tls-cert FILE --tls-key FILE`, its tokio
// twin, and `client wss://… --ca FILE`

/// PEM files in a directory of the test's own, removed at the end.
struct PemFiles {
    dir: std::path::PathBuf,
}

impl PemFiles {
    /// The CA's certificate, and a server certificate and key for
    /// `localhost`.
    fn new(ca: &Ca) -> PemFiles {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rfc6455-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &ca.issuer).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.issuer.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem() + &ca.issuer.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        PemFiles { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for PemFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An example server process, killed when dropped.
struct ExampleServer {
    child: std::process::Child,
    addr: SocketAddr,
}

impl ExampleServer {
    /// Starts `name` on an ephemeral port with `args`; waits for its
    /// banner, `NAME listening on wss://ADDR`.
    fn start(name: &str, args: &[&str]) -> ExampleServer {
        use std::io::BufRead;
        let mut child = std::process::Command::new(examples_bin::example(name))
            .arg("127.0.0.1:0")
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut banner = String::new();
        stderr.read_line(&mut banner).unwrap();
        let prefix = format!("{name} listening on wss://");
        let addr = banner
            .trim()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{name} said {banner:?}"))
            .parse()
            .unwrap();
        // Keep draining its log so it never blocks on a full pipe.
        thread::spawn(move || for _ in stderr.lines() {});
        ExampleServer { child, addr }
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn echo_example_serves_wss(name: &str) {
    let ca = Ca::new();
    let pem = PemFiles::new(&ca);
    let server = ExampleServer::start(
        name,
        &[
            "--tls-cert",
            &pem.path("cert.pem"),
            "--tls-key",
            &pem.path("key.pem"),
        ],
    );
    let (mut ws, _) = blocking::connect_with(&wss_url(server.addr), &ca.client()).unwrap();
    assert!(ws.get_ref().is_tls());
    ws.send_text("over the example's TLS").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Message::Text("over the example's TLS".into())
    );
    let data = big();
    ws.send_binary(&data).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Binary(data));
    ws.close(CloseCode::NORMAL, "").unwrap();
}

#[test]
fn echo_server_example_serves_wss() {
    echo_example_serves_wss("echo_server");
}

#[cfg(feature = "tokio")]
#[test]
fn async_echo_server_example_serves_wss() {
    echo_example_serves_wss("async_echo_server");
}

/// `client wss://localhost:PORT/ --ca FILE` against `echo_server
/// --tls-cert`: each line of stdin comes back.
#[test]
fn client_example_speaks_wss() {
    use std::io::Write;
    let ca = Ca::new();
    let pem = PemFiles::new(&ca);
    let server = ExampleServer::start(
        "echo_server",
        &[
            "--tls-cert",
            &pem.path("cert.pem"),
            "--tls-key",
            &pem.path("key.pem"),
        ],
    );
    let mut client = std::process::Command::new(examples_bin::example("client"))
        .arg(wss_url(server.addr))
        .args(["--ca", &pem.path("ca.pem")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all(b"first line\nsecond line\n")
        .unwrap();
    let out = client.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "first line\nsecond line\n"
    );
}

// ---------------------------------------------------------------------------
// The TLS stream itself, against rustls' own blocking stream as the peer

/// A rustls client over blocking TCP to `addr`, trusting `ca`.
#[cfg(feature = "tokio")]
fn rustls_peer(
    ca: &Ca,
    addr: SocketAddr,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls::client_config(ca.roots()), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(LONG)).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Everything a peer sends before its close_notify and TCP end is read,
/// however it arrives (here: far more than rustls' 16 KiB plaintext
/// buffer, then the alert and the FIN at once).
#[cfg(feature = "tokio")]
#[test]
fn tokio_tls_reads_everything_before_close_notify() {
    use std::io::Write;
    use tokio::io::AsyncReadExt;
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf());
    let (l, addr) = listen();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let peer_ca = Ca { issuer: ca.issuer };
    let client = thread::spawn(move || {
        let mut peer = rustls_peer(&peer_ca, addr);
        peer.write_all(&sent).unwrap();
        peer.conn.send_close_notify();
        peer.flush().unwrap();
        peer.sock.shutdown(std::net::Shutdown::Write).unwrap();
        thread::sleep(Duration::from_millis(200));
    });
    let got = runtime().block_on(async move {
        l.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        let (tcp, _) = l.accept().await.unwrap();
        let mut s = rfc6455::tokio::MaybeTlsStream::accept(tcp, &config)
            .await
            .unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(LONG, s.read_to_end(&mut got))
            .await
            .expect("the read ended")
            .unwrap();
        got
    });
    client.join().unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data);
}

/// What the server writes before shutting down reaches the peer, then
/// its close_notify.
#[cfg(feature = "tokio")]
#[test]
fn tokio_tls_shutdown_delivers_what_was_written() {
    use std::io::{Read, Write};
    use tokio::io::AsyncWriteExt;
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf());
    let (l, addr) = listen();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 249) as u8).collect();
    let expected = data.clone();
    let peer_ca = Ca { issuer: ca.issuer };
    let client = thread::spawn(move || {
        let mut peer = rustls_peer(&peer_ca, addr);
        peer.write_all(b"x").unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        got
    });
    runtime().block_on(async move {
        l.set_nonblocking(true).unwrap();
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        let (tcp, _) = l.accept().await.unwrap();
        let mut s = rfc6455::tokio::MaybeTlsStream::accept(tcp, &config)
            .await
            .unwrap();
        s.write_all(&data).await.unwrap();
        s.shutdown().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let got = client.join().unwrap();
    assert_eq!(got.len(), expected.len());
}

/// The TLS handshake bounds the socket's timeouts by its deadline, then
/// puts back the write timeout the caller had set on the socket it handed
/// over. (Reads are the WebSocket's to time, as over plain TCP: after the
/// upgrade the read timeout is `WebSocket::set_read_timeout`'s.)
#[test]
fn blocking_tls_accept_keeps_the_callers_socket_timeouts() {
    let ca = Ca::new();
    let config = ca.server(ca.server_leaf());
    let (l, addr) = listen();
    let server = thread::spawn(move || {
        let (tcp, _) = l.accept().unwrap();
        let (read, write) = (Duration::from_secs(7), Duration::from_secs(9));
        tcp.set_read_timeout(Some(read)).unwrap();
        tcp.set_write_timeout(Some(write)).unwrap();
        let ws = blocking::accept_maybe_tls(tcp, &config).unwrap();
        let tcp = ws.get_ref().get_ref();
        tcp.write_timeout().unwrap()
    });
    let (mut client, _) = blocking::connect_with(&wss_url(addr), &ca.client()).unwrap();
    assert_eq!(server.join().unwrap(), Some(Duration::from_secs(9)));
    let _ = client.close(rfc6455::CloseCode::NORMAL, "");
}
