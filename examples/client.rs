//! A minimal command-line client, like websocat: sends each line of stdin as
//! a text message and prints every message received.
//!
//! Usage: `cargo run --example client -- ws://HOST:PORT/PATH [--deflate]`
//!
//! `--deflate` offers permessage-deflate (RFC 7692) with context takeover.
//!
//! Text messages are printed as they are, one per line; binary messages as
//! `<binary N bytes>`. At the end of stdin the client closes the connection
//! (code 1000) after printing what is still in flight, and exits.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use rfc6455::blocking::{self, ClientConfig, Error};
use rfc6455::{CloseCode, Message};

fn main() -> ExitCode {
    let mut url = None;
    let mut config = ClientConfig::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--deflate" => {
                let mut d = rfc6455::deflate::DeflateConfig::default();
                d.server_no_context_takeover = false;
                d.client_no_context_takeover = false;
                config.deflate = Some(d);
            }
            "-h" | "--help" => {
                eprintln!("usage: client ws://HOST:PORT/PATH [--deflate]");
                return ExitCode::SUCCESS;
            }
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => {
                eprintln!("usage: client ws://HOST:PORT/PATH [--deflate]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(url) = url else {
        eprintln!("usage: client ws://HOST:PORT/PATH [--deflate]");
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
