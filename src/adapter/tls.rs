//! TLS for both adapters (feature `rustls`): the configs `wss://` clients
//! and TLS servers use by default, and the helpers to build your own.
//!
//! With the feature on, [`blocking::connect`](crate::blocking::connect) and
//! `tokio::connect` open `wss://` URLs themselves (SNI from the URL's host,
//! ALPN `http/1.1`, the handshake timeout covering name resolution, the TCP
//! connect, the TLS handshake and the upgrade), and servers accept TLS in
//! one call (`accept_maybe_tls`, with [`ServerConfig::tls`] set).
//!
//! # The crypto provider: ring
//!
//! rustls needs a provider of cryptography; this crate uses *ring* for
//! every config it builds ([`provider`]). Both were measured in one run on
//! this project's machine (x86-64 with AES-NI and VAES, no AVX-512;
//! rustls 0.23.46, an ECDSA P-256 certificate, full handshakes in memory,
//! both ends; README, "TLS"): aws-lc-rs's TLS 1.3 handshake costs 6% less
//! CPU (381 µs against 405 µs for both ends), while ring moves AES-GCM
//! records 1.36 times as fast (1.13 against 0.83 GiB/s) and builds in a
//! quarter of the time (23 s against 82 s, without aws-lc's C build). A
//! WebSocket lives long and carries its data after one handshake: ring.
//! aws-lc-rs brings post-quantum key exchange (X25519MLKEM768) and a FIPS
//! mode: an application that needs them builds its own
//! `rustls::ClientConfig`/`ServerConfig` with that provider and hands it
//! over through [`ClientConfig::tls`]/[`ServerConfig::tls`]: nothing in the
//! adapters depends on the provider.
//!
//! # Trusted roots: webpki-roots
//!
//! The default client config ([`default_client_config`]) trusts Mozilla's
//! root certificates as compiled into the `webpki-roots` crate: the same
//! roots on every operating system and in every container (no
//! `/etc/ssl` needed in a `FROM scratch` image), reproducible from the
//! lock file, and no platform code. The cost: the roots are as fresh as
//! the crate version, and enterprise roots installed in the OS are not
//! seen. For a private CA, build a config from your own roots
//! ([`client_config`]); to use the platform's verifier (the
//! `rustls-platform-verifier` crate), build a `rustls::ClientConfig` with
//! it and set [`ClientConfig::tls`]:
//!
//! ```no_run
//! use std::sync::Arc;
//! use rfc6455::adapter::{tls, ClientConfig};
//! use rfc6455::rustls;
//!
//! /// `verifier`: e.g. `Arc::new(rustls_platform_verifier::Verifier::new())`.
//! fn connect_verified_by(
//!     verifier: Arc<dyn rustls::client::danger::ServerCertVerifier>,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut tls_config = rustls::ClientConfig::builder_with_provider(tls::provider())
//!         .with_safe_default_protocol_versions()?
//!         .dangerous() // only the name: the verifier does the checking
//!         .with_custom_certificate_verifier(verifier)
//!         .with_no_client_auth();
//!     tls_config.alpn_protocols = vec![b"http/1.1".to_vec()];
//!     let config = ClientConfig::default().with_tls(Arc::new(tls_config));
//!     let (ws, _) = rfc6455::blocking::connect_with("wss://example.com/", &config)?;
//!     drop(ws);
//!     Ok(())
//! }
//! ```
//!
//! # Errors
//!
//! A certificate that does not verify fails with
//! [`Error::Tls`], which names the host and carries
//! rustls' reason (expired, not valid for the name, unknown issuer, …).
//! A `wss://` URL whose server answers in plaintext fails with
//! [`Error::PlaintextServer`] as soon as the
//! answer arrives, and a `ws://` URL whose server answers with TLS with
//! [`Error::TlsServer`].
//!
//! [`ClientConfig::tls`]: super::ClientConfig::tls
//! [`ServerConfig::tls`]: super::ServerConfig::tls

use std::io;
use std::string::{String, ToString};
use std::sync::{Arc, OnceLock};
use std::vec::Vec;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::RootCertStore;

use super::Error;

/// ALPN: WebSockets ride HTTP/1.1 (RFC 6455 §4.1).
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// ALPN: HTTP/2 over TLS (RFC 9113 §3.2), where WebSockets are streams
/// (RFC 8441).
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The crypto provider of every config this crate builds: *ring* (see the
/// [module docs](self) for why). Use it for configs of your own, so that
/// they do not depend on a process-wide default provider.
///
/// ```
/// use rfc6455::adapter::tls;
/// let provider = tls::provider();
/// assert!(!provider.cipher_suites.is_empty());
/// ```
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// The client config `connect` uses for `wss://` when
/// [`ClientConfig::tls`](super::ClientConfig::tls) is `None`: Mozilla's
/// roots from `webpki-roots`, TLS 1.2 and 1.3, ALPN `http/1.1`, no client
/// certificate. Built once; every call returns the same config (so TLS
/// sessions are resumed across connections).
///
/// ```
/// use rfc6455::adapter::tls;
/// let config = tls::default_client_config();
/// assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
/// assert!(std::sync::Arc::ptr_eq(&config, &tls::default_client_config()));
/// ```
pub fn default_client_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        client_config(roots)
    }))
}

/// A client config that trusts `roots` (a private CA, a self-signed
/// server certificate), with this crate's provider, TLS 1.2 and 1.3,
/// ALPN `http/1.1` and no client certificate. For client certificates,
/// build the config with `rustls::ClientConfig::builder_with_provider(`[`provider()`]`)`
/// and `with_client_auth_cert`.
///
/// ```no_run
/// use rfc6455::adapter::{tls, ClientConfig};
/// use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
/// use rfc6455::rustls::RootCertStore;
///
/// let mut roots = RootCertStore::empty();
/// for cert in CertificateDer::pem_file_iter("my-ca.pem")? {
///     roots.add(cert?)?;
/// }
/// let config = ClientConfig::default().with_tls(tls::client_config(roots));
/// let (ws, _) = rfc6455::blocking::connect_with("wss://internal.example:8443/", &config)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_config(roots: RootCertStore) -> Arc<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = std::vec![ALPN_HTTP11.to_vec()];
    Arc::new(config)
}

/// A server config presenting `cert_chain` (the server's certificate first,
/// then the intermediates) with `key`, this crate's provider, TLS 1.2 and
/// 1.3, ALPN `http/1.1` and no client certificates asked for. For client
/// certificates, build the config with
/// `rustls::ServerConfig::builder_with_provider(`[`provider()`]`)` and
/// `with_client_cert_verifier`. Fails when the key does not fit the
/// certificate or is of a kind the provider cannot sign with.
///
/// ```no_run
/// use rfc6455::adapter::{tls, ServerConfig};
/// use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
///
/// let chain = CertificateDer::pem_file_iter("cert.pem")?.collect::<Result<Vec<_>, _>>()?;
/// let key = PrivateKeyDer::from_pem_file("key.pem")?;
/// let config = ServerConfig::default().with_tls(tls::server_config(chain, key)?);
///
/// let listener = std::net::TcpListener::bind("0.0.0.0:8443")?;
/// let (tcp, _) = listener.accept()?;
/// let mut ws = rfc6455::blocking::accept_maybe_tls(tcp, &config)?; // TLS, then the upgrade
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(cert_chain, key)?;
    config.alpn_protocols = std::vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// A server config for a port that serves HTTP/2 and HTTP/1.1: as
/// [`server_config`], with ALPN `h2` first, then `http/1.1`. For a hyper
/// server (hyper-util's `auto` builder, HTTP/2 with
/// `enable_connect_protocol()`) whose WebSocket routes answer with
/// `rfc6455::hyper` (feature `hyper`): browsers that agree on `h2` open
/// their `wss://` WebSockets as streams of the page's own connection (RFC
/// 8441), the others upgrade an HTTP/1.1 connection. Not for
/// `accept_maybe_tls`, which speaks HTTP/1.1 only: a client that agreed on
/// `h2` would send it HTTP/2.
///
/// ```
/// use rfc6455::adapter::{tls, ServerConfig};
/// use rfc6455::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
///
/// // From PEM files: `CertificateDer::pem_file_iter("cert.pem")` and
/// // `PrivateKeyDer::from_pem_file("key.pem")` (`pki_types::pem::PemObject`).
/// // Here a self-signed certificate made by `rcgen`:
/// let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
/// let chain = vec![made.cert.der().clone()];
/// let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
///
/// let tls = tls::server_config_h2(chain, key)?;
/// assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// // For `rfc6455::tokio::MaybeTlsStream::accept`, then hyper-util's `auto` builder.
/// let config = ServerConfig::default().with_tls(tls);
/// assert!(config.tls.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_config_h2(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut config = Arc::unwrap_or_clone(server_config(cert_chain, key)?);
    config.alpn_protocols = std::vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// The client config a `wss://` connection uses.
pub(crate) fn client_config_for(config: &super::ClientConfig) -> Arc<rustls::ClientConfig> {
    match &config.tls {
        Some(tls) => Arc::clone(tls),
        None => default_client_config(),
    }
}

/// The client config a `wss://` connection uses, offering exactly the
/// protocols `alpn` by ALPN: `config.tls`'s own list is replaced when it
/// differs (on a copy; the copy shares its session cache). The default
/// configs are built once for each list.
#[cfg(feature = "hyper")]
pub(crate) fn client_config_offering(
    config: &super::ClientConfig,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    static H2: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    let base = client_config_for(config);
    if base
        .alpn_protocols
        .iter()
        .map(Vec::as_slice)
        .eq(alpn.iter().copied())
    {
        return base;
    }
    let offer = || {
        let mut copy = rustls::ClientConfig::clone(&base);
        copy.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(copy)
    };
    if config.tls.is_none() && alpn == [ALPN_H2, ALPN_HTTP11] {
        return Arc::clone(H2.get_or_init(offer));
    }
    offer()
}

/// ALPN `h2`, then `http/1.1`: what an HTTP/2 client offers.
#[cfg(feature = "hyper")]
pub(crate) const OFFER_H2: [&[u8]; 2] = [ALPN_H2, ALPN_HTTP11];

/// ALPN `http/1.1` alone: an HTTP/1.1 upgrade's offer.
#[cfg(feature = "hyper")]
pub(crate) const OFFER_HTTP11: [&[u8]; 1] = [ALPN_HTTP11];

/// The name the server's certificate must carry (and SNI, for a DNS name).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(host.to_string()).map_err(|source| Error::TlsServerName {
        host: host.to_string(),
        source,
    })
}

/// A new client connection to `host`, whose certificate must carry `name`.
pub(crate) fn client_connection(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    name: ServerName<'static>,
) -> Result<rustls::ClientConnection, Error> {
    rustls::ClientConnection::new(config, name).map_err(|source| Error::Tls {
        host: host.to_string(),
        source,
    })
}

/// The first bytes received on a TLS connection, kept to tell "the peer
/// does not speak TLS" from other handshake failures.
#[derive(Debug, Default)]
pub(crate) struct Sniff {
    first: Option<u8>,
}

impl Sniff {
    pub(crate) fn record(&mut self, bytes: &[u8]) {
        if self.first.is_none() {
            self.first = bytes.first().copied();
        }
    }

    /// Whether the peer's first byte cannot begin a TLS record (content
    /// types 20-24): it answered in plaintext (typically `HTTP/1.1 400`).
    pub(crate) fn is_plaintext(&self) -> bool {
        self.first.is_some_and(|b| !(0x14..=0x18).contains(&b))
    }
}

/// The rustls error an I/O error carries (rustls' own streams and ours
/// wrap it in `InvalidData`).
pub(crate) fn rustls_error(e: &io::Error) -> Option<rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}

/// An I/O error carrying a rustls error, as the TLS streams report it.
pub(crate) fn io_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Names the peer in a failure of a TLS connection's opening (the TLS
/// handshake or the upgrade over it): a plaintext answer, or rustls'
/// reason.
pub(crate) fn name_failure(e: Error, host: &str, sniff: &Sniff) -> Error {
    match e {
        Error::Io(_) if sniff.is_plaintext() => Error::PlaintextServer {
            host: host.to_string(),
        },
        Error::Io(io) => match rustls_error(&io) {
            Some(source) => Error::Tls {
                host: host.to_string(),
                source,
            },
            None => Error::Io(io),
        },
        other => other,
    }
}

/// The server side's name for a client: its address.
pub(crate) fn peer_name(addr: io::Result<std::net::SocketAddr>) -> String {
    match addr {
        Ok(a) => a.to_string(),
        Err(_) => String::from("the client"),
    }
}

/// Moves everything rustls has to send into `out`.
pub(crate) fn drain(conn: &mut rustls::Connection, out: &mut Vec<u8>) {
    while conn.wants_write() {
        // Writing into a Vec cannot fail.
        if conn.write_tls(out).is_err() {
            break;
        }
    }
}

/// Hands received TLS bytes to rustls and processes them; returns how many
/// of `input` it took: all, unless its plaintext buffer filled up (read
/// the plaintext, then feed the rest), or a close_notify came (whatever
/// follows it is dropped, counted as taken).
pub(crate) fn feed(conn: &mut rustls::Connection, mut input: &[u8]) -> io::Result<usize> {
    let len = input.len();
    while !input.is_empty() {
        match conn.read_tls(&mut input) {
            // A close_notify was received: nothing more is read.
            Ok(0) => return Ok(len),
            Ok(_) => {}
            // "Plaintext buffer full": the plaintext must be read first.
            Err(e) if e.kind() == io::ErrorKind::Other && input.len() < len => break,
            Err(e) => return Err(e),
        }
        conn.process_new_packets().map_err(io_error)?;
    }
    Ok(len - input.len())
}

/// Tells rustls that the transport reached its end.
pub(crate) fn feed_eof(conn: &mut rustls::Connection) -> io::Result<()> {
    conn.read_tls(&mut io::empty())?;
    conn.process_new_packets().map_err(io_error)?;
    Ok(())
}
