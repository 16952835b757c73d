//! The Autobahn TestSuite client driver over the tokio adapter: runs every
//! case of a fuzzing server against our async client, echoing each message.
//!
//! Usage: `cargo run --release --features tokio --example async_autobahn_client -- ws://127.0.0.1:9001`
//!
//! Follows the Autobahn client protocol: `GET /getCaseCount`, then
//! `/runCase?case=N&agent=rfc6455` for each case, then
//! `/updateReports?agent=rfc6455`. Offers permessage-deflate as
//! `autobahn_client` does (compressing every message), for sections 12-13.

use rfc6455::tokio::{self as ws, ClientConfig};
use rfc6455::{CloseCode, Message};

const AGENT: &str = "rfc6455";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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

    let (mut socket, _) = ws::connect_with(&format!("{base}/getCaseCount"), &config).await?;
    let count: u32 = match socket.read().await? {
        Message::Text(t) => t.trim().parse()?,
        other => return Err(format!("unexpected case count message: {other:?}").into()),
    };
    let _ = socket.close(CloseCode::NORMAL, "").await;
    eprintln!("async_autobahn_client: {count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let (mut socket, _) = match ws::connect_with(&url, &config).await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("case {case}: connect failed: {e}");
                continue;
            }
        };
        loop {
            if socket.read_event().await.is_err() {
                break;
            }
            match socket.connection_mut().echo_event() {
                Ok(true) => {
                    if socket.flush().await.is_err() {
                        break;
                    }
                }
                Ok(false) => {}
                Err(_) => break,
            }
        }
    }

    let url = format!("{base}/updateReports?agent={AGENT}");
    if let Ok((mut socket, _)) = ws::connect_with(&url, &config).await {
        // The runner may drop this connection without a close frame.
        let _ = socket.close(CloseCode::NORMAL, "").await;
    }
    Ok(())
}
