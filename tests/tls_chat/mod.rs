//! The `axum_chat` example over TLS, run as a process, for tests/h2_tls.rs
//! and tests/browser_h2.rs: a CA and a server certificate for `localhost`
//! and `127.0.0.1` made by `rcgen` and written to PEM files, and the
//! server's log (stderr) kept to be searched.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rfc6455::adapter::{tls, ClientConfig, ServerConfig};
use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rfc6455::rustls::RootCertStore;

/// Long enough never to pass in a passing test.
pub const LONG: Duration = Duration::from_secs(20);

/// A CA made for the test, a certificate it issued for `localhost` and
/// `127.0.0.1`, and both as PEM files in a directory of the test's own
/// (removed when dropped).
pub struct Certs {
    ca: CertifiedIssuer<'static, KeyPair>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    dir: PathBuf,
}

impl Certs {
    pub fn new() -> Certs {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &ca).unwrap();

        let dir = std::env::temp_dir().join(format!(
            "rfc6455-tls-chat-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem() + &ca.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        Certs {
            chain: vec![cert.der().clone(), ca.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            ca,
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        roots
    }

    /// A client config trusting the CA (ALPN `http/1.1`, as
    /// `tls::client_config` makes it: the HTTP/2 client offers `h2` itself).
    pub fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::default()
            .with_tls(tls::client_config(self.roots()))
            .max_message_size(32 << 20);
        config.handshake_timeout = Some(LONG);
        config
    }

    /// A server config with the certificate: ALPN `h2` and `http/1.1`
    /// when `h2`, `http/1.1` alone when not.
    pub fn server(&self, h2: bool) -> ServerConfig {
        let chain = self.chain.clone();
        let key = PrivateKeyDer::Pkcs8(self.key.clone_key());
        let tls = match h2 {
            true => tls::server_config_h2(chain, key),
            false => tls::server_config(chain, key),
        };
        let mut config = ServerConfig::default()
            .with_tls(tls.unwrap())
            .max_message_size(32 << 20);
        config.handshake_timeout = Some(LONG);
        config
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `axum_chat ADDR --tls-cert … --tls-key …` as a process, killed when
/// dropped; its log lines are kept.
pub struct TlsChat {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl TlsChat {
    /// Starts the example binary `bin` on an ephemeral port with the
    /// certificate of `certs`; waits for its banner.
    pub fn start(bin: PathBuf, certs: &Certs) -> TlsChat {
        let mut child = Command::new(bin)
            .args(["127.0.0.1:0", "--ping-interval", "0"])
            .args(["--tls-cert", &certs.path("cert.pem")])
            .args(["--tls-key", &certs.path("key.pem")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the axum_chat example");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut chat = TlsChat {
            child,
            addr: ([0, 0, 0, 0], 0).into(),
            log,
        };
        let banner = chat.wait_for("the banner", |l| {
            l.starts_with("axum_chat: chat on https://")
        });
        chat.addr = banner
            .trim_start_matches("axum_chat: chat on https://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        chat
    }

    /// The log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (up to [`LONG`]) for a log line that `matches`; returns it.
    pub fn wait_for(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LONG;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|l| matches(l)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "axum_chat never logged {what}; its log:\n{}",
                self.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsChat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log line of a WebSocket that arrived as an HTTP/2 extended CONNECT
/// stream of the connection from `peer`.
pub fn h2_websocket_line(peer: &str) -> String {
    let port = peer.rsplit(':').next().unwrap();
    format!(
        "axum_chat: WebSocket over HTTP/2 (extended CONNECT stream, RFC 8441) on connection {peer}: User{port}"
    )
}

/// The log line of a WebSocket that arrived as an HTTP/1.1 upgrade of the
/// connection from `peer`.
pub fn http1_websocket_line(peer: &str) -> String {
    let port = peer.rsplit(':').next().unwrap();
    format!("axum_chat: WebSocket over HTTP/1.1 (upgrade) on connection {peer}: User{port}")
}
