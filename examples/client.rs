//! A minimal command-line client, like websocat: sends each line of stdin as
//! a text message and prints every message received.
//!
//! Usage: `cargo run --example client -- ws://HOST:PORT/PATH [--deflate]`,
//! and `wss://` URLs with the `rustls` feature:
//! `cargo run --features rustls --example client -- wss://HOST:PORT/PATH
//! [--ca FILE]`.
//!
//! `--deflate` offers permessage-deflate (RFC 7692) with context takeover.
//! `--ca FILE` trusts the certificates of a PEM file (a private CA, or the
//! self-signed certificate of `echo_server --tls-cert`) instead of
//! Mozilla's roots.
//!
//! Text messages are printed as they are, one per line; binary messages as
//! `<binary N bytes>`. At the end of stdin the client closes the connection
//! (code 1000) after printing what is still in flight, and exits.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use rfc6455::blocking::{self, ClientConfig, Error};
use rfc6455::{CloseCode, Message};

const USAGE: &str = "usage: client ws://HOST:PORT/PATH [--deflate] [--ca FILE]";

fn main() -> ExitCode {
    let mut url = None;
    let mut config = ClientConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--deflate" => {
                let mut d = rfc6455::deflate::DeflateConfig::default();
                d.server_no_context_takeover = false;
                d.client_no_context_takeover = false;
                config.deflate = Some(d);
            }
            "--ca" => {
                let Some(file) = args.next() else {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                };
                if let Err(e) = trust(&mut config, &file) {
                    eprintln!("client: --ca {file}: {e}");
                    return ExitCode::from(2);
                }
            }
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(url) = url else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    config.config.max_message_size = 64 << 20;
    config.config.max_frame_size = 64 << 20;
    let (ws, _response) = match blocking::connect_with(&url, &config) {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("client: cannot connect to {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (writer, mut reader) = match ws.split() {
        Ok(halves) => halves,
        Err(e) => {
            eprintln!("client: {e}");
            return ExitCode::FAILURE;
        }
    };
    // stdin → server, on its own thread; closes at EOF.
    let sender = std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if writer.send_text(&line).is_err() {
                return;
            }
        }
        // Give the replies to the last lines a moment to arrive.
        std::thread::sleep(Duration::from_millis(300));
        let _ = writer.close(CloseCode::NORMAL, "");
    });
    let stdout = std::io::stdout();
    let code = loop {
        match reader.read() {
            Ok(Message::Text(t)) => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{t}");
                let _ = out.flush();
            }
            Ok(Message::Binary(b)) => println!("<binary {} bytes>", b.len()),
            Ok(Message::Close(c)) => {
                if let Some(c) = c.filter(|c| c.code != Some(CloseCode::NORMAL)) {
                    eprintln!("client: server closed: {:?} {}", c.code, c.reason);
                }
            }
            Ok(_) => {}
            Err(Error::ConnectionClosed) => break ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("client: {e}");
                break ExitCode::FAILURE;
            }
        }
    };
    drop(sender);
    code
}

/// Trusts the certificates in a PEM file for `wss://` (feature `rustls`).
#[cfg(feature = "rustls")]
fn trust(config: &mut ClientConfig, file: &str) -> Result<(), String> {
    use rfc6455::adapter::tls;
    use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
    use rfc6455::rustls::RootCertStore;

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(file).map_err(|e| e.to_string())? {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    if roots.is_empty() {
        return Err("no CERTIFICATE in the file".into());
    }
    config.tls = Some(tls::client_config(roots));
    Ok(())
}

#[cfg(not(feature = "rustls"))]
fn trust(_config: &mut ClientConfig, _file: &str) -> Result<(), String> {
    Err("wss:// and --ca need the `rustls` feature: cargo run --features rustls --example client -- ...".into())
}
