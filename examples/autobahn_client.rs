//! The Autobahn TestSuite client driver: runs every case of a fuzzing server
//! against our client, echoing each message back.
//!
//! Usage: `cargo run --release --example autobahn_client -- ws://127.0.0.1:9001`
//!
//! Follows the Autobahn client protocol: `GET /getCaseCount`, then
//! `/runCase?case=N&agent=rfc6455` for each case, then
//! `/updateReports?agent=rfc6455`.

use rfc6455::blocking::{self, ClientConfig};
use rfc6455::Message;

const AGENT: &str = "rfc6455";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/');
    let mut config = ClientConfig::default();
    config.config.max_frame_size = 64 << 20;
    config.config.max_message_size = 64 << 20;
    // Offer `client_no_context_takeover` (we commit to resetting our own
    // context, RFC 7692 §7.1.1.2), which lets the runner's server exercise
    // every parameter combination of section 13; leave the server's choice open.
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = true;
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);

    let (mut ws, _) = blocking::connect_with(&format!("{base}/getCaseCount"), &config)?;
    let count: u32 = match ws.read()? {
        Message::Text(t) => t.trim().parse()?,
        other => return Err(format!("unexpected case count message: {other:?}").into()),
    };
    let _ = ws.close(rfc6455::CloseCode::NORMAL, "");
    eprintln!("autobahn_client: {count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let (mut ws, _) = match blocking::connect_with(&url, &config) {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("case {case}: connect failed: {e}");
                continue;
            }
        };
        loop {
            if ws.read_event().is_err() {
                break;
            }
            match ws.connection_mut().echo_event() {
                Ok(true) => {
                    if ws.flush().is_err() {
                        break;
                    }
                }
                Ok(false) => {}
                Err(_) => break,
            }
        }
    }

    let url = format!("{base}/updateReports?agent={AGENT}");
    if let Ok((mut ws, _)) = blocking::connect_with(&url, &config) {
        // The runner may drop this connection without a close frame.
        let _ = ws.close(rfc6455::CloseCode::NORMAL, "");
    }
    Ok(())
}
