//! The command line of the example servers: `[ADDR] [--tls-cert FILE
//! --tls-key FILE]`.
//!
//! With both files (PEM: the certificate chain, the server's certificate
//! first, and its private key, PKCS#8, PKCS#1 or SEC1), the server sets
//! `ServerConfig::tls` and serves `wss://`. That needs the `rustls`
//! feature; without it the flags fail at start-up with a message that says
//! so (and how to run with it), rather than serving plaintext to a client
//! that expects TLS.
//!
//! A certificate for trying it out, with `openssl`:
//!
//! ```sh
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//!   -subj /CN=localhost -addext subjectAltName=DNS:localhost \
//!   -addext basicConstraints=critical,CA:FALSE \
//!   -keyout key.pem -out cert.pem
//! ```
//!
//! Shared by the examples with `#[path = "common/server_args.rs"] mod
//! server_args;`.
#![allow(dead_code)]

use rfc6455::adapter::ServerConfig;

/// What the command line asked for.
pub struct ServerArgs {
    /// The address to listen on, if one was given.
    pub addr: Option<String>,
    /// `--tls-cert` and `--tls-key`.
    pub tls: Option<(String, String)>,
}

impl ServerArgs {
    /// Parses `args` (without the program name), or says what is wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<ServerArgs, String> {
        let mut addr = None;
        let (mut cert, mut key) = (None, None);
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--tls-cert" => cert = Some(args.next().ok_or("--tls-cert needs a FILE")?),
                "--tls-key" => key = Some(args.next().ok_or("--tls-key needs a FILE")?),
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                _ if addr.is_none() => addr = Some(arg),
                _ => return Err(format!("unexpected argument {arg}")),
            }
        }
        let tls = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        Ok(ServerArgs { addr, tls })
    }

    /// The command line of this process, or exits with a usage message.
    pub fn from_env(program: &str) -> ServerArgs {
        match ServerArgs::parse(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(e) => {
                eprintln!("{program}: {e}");
                eprintln!("usage: {program} [ADDR] [--tls-cert FILE --tls-key FILE]");
                std::process::exit(2);
            }
        }
    }

    /// Sets `config.tls` from the files when they were given; returns the
    /// URL scheme the server serves. Exits with a message when the files
    /// cannot be used, or when the `rustls` feature is off (`features`:
    /// what to run the example with instead).
    pub fn apply_tls(
        &self,
        program: &str,
        features: &str,
        config: &mut ServerConfig,
    ) -> &'static str {
        let Some((cert, key)) = &self.tls else {
            return "ws";
        };
        let loaded = if cfg!(feature = "rustls") {
            load(cert, key, config)
        } else {
            Err(format!(
                "--tls-cert/--tls-key need the `rustls` feature: \
                 cargo run --release --features {features} --example {program} -- \
                 [ADDR] --tls-cert {cert} --tls-key {key}"
            ))
        };
        match loaded {
            Ok(()) => "wss",
            Err(e) => {
                eprintln!("{program}: {e}");
                std::process::exit(2);
            }
        }
    }
}

#[cfg(feature = "rustls")]
fn load(cert: &str, key: &str, config: &mut ServerConfig) -> Result<(), String> {
    use rfc6455::adapter::tls;
    use rfc6455::rustls::pki_types::pem::PemObject;
    use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--tls-cert {cert}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("--tls-cert {cert}: no CERTIFICATE in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--tls-key {key}: {e}"))?;
    let tls = tls::server_config(chain, key).map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    *config = config.clone().with_tls(tls);
    Ok(())
}

#[cfg(not(feature = "rustls"))]
fn load(_cert: &str, _key: &str, _config: &mut ServerConfig) -> Result<(), String> {
    unreachable!("apply_tls checks the feature first")
}
