//! The settings of both adapters: one client and one server config.

use core::time::Duration;

use crate::config::Config;
use crate::driver::DEFAULT_HIGH_WATER;
use crate::handshake::{ClientOptions, Limits};

/// Settings for opening client connections, in either adapter
/// (`connect_with`, `connect_over`).
///
/// ```
/// use rfc6455::adapter::ClientConfig;
/// use rfc6455::handshake::ClientOptions;
/// let mut config = ClientConfig::default().max_message_size(1 << 20);
/// config.options = ClientOptions::new().subprotocol("chat").origin("https://example.com");
/// assert_eq!(config.config.max_message_size, 1 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The connection's settings once open (limits, keepalive, timeouts).
    pub config: Config,
    /// The request: subprotocols, Origin, extra headers, head limits.
    pub options: ClientOptions,
    /// How long resolving the host, connecting and the opening handshake
    /// may take. Default: 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Disable Nagle's algorithm on the socket (TCP only). Default: `true`.
    pub nodelay: bool,
    /// The connection's high-water mark (async adapters: sends wait, and
    /// reads pause, while more is queued and the stream takes nothing; see
    /// [`Driver::has_room`](crate::driver::Driver::has_room)). Default: 128 KiB.
    pub high_water: usize,
    /// Offer permessage-deflate (RFC 7692 §5.1) with these settings (unless
    /// `options` already carries an extension offer); `None` offers nothing.
    /// A server answer that does not fit the offer (§7.1), or no answer when
    /// [`required`](crate::deflate::DeflateConfig::required), fails the
    /// handshake with [`Error::Deflate`](super::Error::Deflate). Default:
    /// `None`.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// The TLS config `connect` uses for `wss://` URLs (feature `rustls`):
    /// your own roots (a private CA), a client certificate, another
    /// verifier or provider. It is used as given: set its
    /// `alpn_protocols` to `http/1.1` if the server wants ALPN. `None`
    /// uses [`tls::default_client_config`](super::tls::default_client_config)
    /// (Mozilla's roots from `webpki-roots`). The server name checked, and
    /// sent as SNI, is the URL's host. Default: `None`.
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            config: Config::default(),
            options: ClientOptions::new(),
            handshake_timeout: Some(Duration::from_secs(10)),
            nodelay: true,
            high_water: DEFAULT_HIGH_WATER,
            #[cfg(feature = "deflate")]
            deflate: None,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

#[cfg(feature = "rustls")]
impl ClientConfig {
    /// Sets [`tls`](Self::tls): the TLS config for `wss://` URLs.
    ///
    /// ```
    /// use rfc6455::adapter::{tls, ClientConfig};
    /// use rfc6455::rustls::RootCertStore;
    /// let roots = RootCertStore::empty(); // add your CA's certificate here
    /// let config = ClientConfig::default().with_tls(tls::client_config(roots));
    /// assert!(config.tls.is_some());
    /// ```
    pub fn with_tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Settings for accepting connections, in either adapter (`accept_with`,
/// `read_request`, `read_request_over`).
///
/// ```
/// use std::time::Duration;
/// use rfc6455::adapter::ServerConfig;
/// let config = ServerConfig::default()
///     .max_message_size(1 << 20)
///     .ping_interval(Some(Duration::from_secs(30)));
/// assert_eq!(config.config.max_message_size, 1 << 20);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The connection's settings once open (limits, keepalive, timeouts).
    pub config: Config,
    /// Limits on the request head (size, header count).
    pub limits: Limits,
    /// How long a client may take to send its request, so that a client
    /// trickling bytes cannot hold a thread or task forever (answered 408).
    /// The blocking adapter enforces it on TCP streams (and on streams with
    /// a read timeout of their own), the tokio adapter on any stream.
    /// Default: 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Disable Nagle's algorithm on the socket (TCP only). Default: `true`.
    pub nodelay: bool,
    /// The connection's high-water mark (async adapters; see
    /// [`ClientConfig::high_water`]). Default: 128 KiB.
    pub high_water: usize,
    /// Accept permessage-deflate (RFC 7692) offers with these settings: the
    /// first offer they can accept is taken (§5.1); `None` declines
    /// compression. Default: `Some(DeflateConfig::default())` (no context
    /// takeover either way: no compression state while idle).
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// Serve TLS with this config (feature `rustls`): `accept_maybe_tls`
    /// and `read_request_maybe_tls` run the TLS handshake before reading
    /// the request, within [`handshake_timeout`](Self::handshake_timeout).
    /// Build one with [`tls::server_config`](super::tls::server_config), or
    /// with rustls' builder for client certificates. `accept`,
    /// `accept_with` and `read_request` (plain `TcpStream`s) ignore it.
    /// Default: `None` (plain TCP).
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            config: Config::default(),
            limits: Limits::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
            nodelay: true,
            high_water: DEFAULT_HIGH_WATER,
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::default()),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

#[cfg(feature = "rustls")]
impl ServerConfig {
    /// Sets [`tls`](Self::tls): serve TLS with this config.
    ///
    /// ```no_run
    /// use rfc6455::adapter::{tls, ServerConfig};
    /// use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    ///
    /// let chain = CertificateDer::pem_file_iter("cert.pem")?.collect::<Result<Vec<_>, _>>()?;
    /// let key = PrivateKeyDer::from_pem_file("key.pem")?;
    /// let config = ServerConfig::default().with_tls(tls::server_config(chain, key)?);
    /// assert!(config.tls.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_tls(mut self, tls: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// The connection limits and keepalive, in one step from either config.
macro_rules! connection_setters {
    ($ty:ty) => {
        impl $ty {
            /// Sets [`Config::max_message_size`]: the largest message
            /// accepted (after decompression), 1009 beyond.
            ///
            /// ```
            /// use rfc6455::adapter::{ClientConfig, ServerConfig};
            /// let client = ClientConfig::default().max_message_size(1 << 20);
            /// let server = ServerConfig::default().max_message_size(1 << 20);
            /// assert_eq!(client.config.max_message_size, 1 << 20);
            /// assert_eq!(server.config.max_message_size, 1 << 20);
            /// ```
            pub fn max_message_size(mut self, bytes: usize) -> Self {
                self.config.max_message_size = bytes;
                self
            }

            /// Sets [`Config::max_frame_size`]: the largest frame accepted,
            /// 1009 beyond.
            ///
            /// ```
            /// use rfc6455::adapter::{ClientConfig, ServerConfig};
            /// let client = ClientConfig::default().max_frame_size(64 << 10);
            /// let server = ServerConfig::default().max_frame_size(64 << 10);
            /// assert_eq!(client.config.max_frame_size, server.config.max_frame_size);
            /// ```
            pub fn max_frame_size(mut self, bytes: usize) -> Self {
                self.config.max_frame_size = bytes;
                self
            }

            /// Sets [`Config::ping_interval`]: a keepalive Ping after this
            /// long without traffic (`None`: never).
            ///
            /// ```
            /// use std::time::Duration;
            /// use rfc6455::adapter::{ClientConfig, ServerConfig};
            /// let every_30s = Some(Duration::from_secs(30));
            /// let client = ClientConfig::default().ping_interval(every_30s);
            /// let server = ServerConfig::default().ping_interval(every_30s);
            /// assert_eq!(client.config.ping_interval, every_30s);
            /// assert_eq!(server.config.ping_interval, every_30s);
            /// ```
            pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
                self.config.ping_interval = interval;
                self
            }

            /// Replaces the connection's settings as a whole.
            ///
            /// ```
            /// use rfc6455::adapter::{ClientConfig, ServerConfig};
            /// use rfc6455::Config;
            /// let mut config = Config::default();
            /// config.auto_pong = false; // the application answers Pings itself
            /// let client = ClientConfig::default().with_config(config.clone());
            /// let server = ServerConfig::default().with_config(config);
            /// assert!(!client.config.auto_pong && !server.config.auto_pong);
            /// ```
            pub fn with_config(mut self, config: Config) -> Self {
                self.config = config;
                self
            }
        }
    };
}

connection_setters!(ClientConfig);
connection_setters!(ServerConfig);
