//! Real headless Chromium against the `axum_chat` example over `https://`
//! with a certificate made here: the page loads, its `wss://` WebSocket
//! connects and sends a chat line, and the proof that the WebSocket rode
//! the page's own HTTP/2 connection (RFC 8441) comes from both ends:
//!
//! - the server's log: the page's `GET /` and the WebSocket's extended
//!   CONNECT arrived on the same connection (the client's address), which
//!   agreed on `h2` by ALPN;
//! - Chromium's net log (`--log-net-log`): one `HTTP2_SESSION` sent both
//!   the `GET /` and the `CONNECT` with `:protocol: websocket`.
//!
//! Chromium is driven over the DevTools protocol, a WebSocket, with this
//! crate's own tokio client (see `common/devtools.rs`). Chromium is `$CHROMIUM`, or `chromium`,
//! `chromium-browser`, `google-chrome` on the `PATH`; without one the test
//! says so loudly and passes, unless `RFC6455_BROWSER_REQUIRED` is set
//! (`scripts/browser_h2.sh` sets it, after installing Chromium with apt if
//! it is missing; CI runs that script).
#![cfg(all(feature = "hyper", feature = "rustls"))]

#[path = "common/devtools.rs"]
mod devtools;
mod examples_bin;
mod tls_chat;

use devtools::{chromium_or_skip, Chromium, DevTools, SHOWN_LINES};
use rfc6455::Message;
use tls_chat::{Certs, TlsChat, LONG};

/// The line the page sends.
const LINE: &str = "hello from Chromium over HTTP/2";

// ---------------------------------------------------------------------------
// Chromium's net log

/// Lines of the net log (one event a line) of event type `name` whose
/// text contains every one of `needles`: (the event's source id, the line).
fn net_log_events<'a>(log: &'a str, name: &str, needles: &[&str]) -> Vec<(u64, &'a str)> {
    let key = format!("\"{name}\":");
    let Some(at) = log.find(&key) else {
        return Vec::new();
    };
    let number: String = log[at + key.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let ending = format!("\"type\":{number}}}");
    log.lines()
        .filter(|l| l.trim_end_matches(',').ends_with(&ending))
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .filter_map(|l| {
            let source = l.split("\"source\":{\"id\":").nth(1)?;
            let id: String = source.chars().take_while(char::is_ascii_digit).collect();
            Some((id.parse().ok()?, l))
        })
        .collect()
}

fn stream_id(line: &str) -> &str {
    line.split("\"stream_id\":")
        .nth(1)
        .map(|s| s.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
        .unwrap_or("?")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_opens_the_chat_websocket_on_the_pages_http2_connection() {
    let Some(chromium_bin) = chromium_or_skip(
        "NO CHROMIUM: the HTTP/2 WebSocket browser test did not run. \
         Install it (apt-get install -y chromium), set $CHROMIUM, \
         or run scripts/browser_h2.sh, which installs it.",
    ) else {
        return;
    };
    let certs = Certs::new();
    let server = TlsChat::start(examples_bin::example("axum_chat"), &certs);
    let url = format!("https://127.0.0.1:{}/", server.addr.port());

    // A Rust client in the room, over HTTP/2 too, to see the browser's line.
    let (mut watcher, _) = rfc6455::hyper::connect(
        &format!("wss://localhost:{}/", server.addr.port()),
        &certs.client(),
    )
    .await
    .unwrap();
    assert!(watcher.get_ref().is_h2());

    let profile = certs.dir().join("chromium-profile");
    let net_log = certs.dir().join("netlog.json");
    let mut chromium = Chromium::start(&chromium_bin, &profile, Some(&net_log));
    let mut devtools = DevTools::connect(&chromium.devtools).await;
    let session = devtools.open_page(&url).await;

    // The page loads and its WebSocket connects ...
    let state = "location.href + ' ' + ((document.getElementById('state') || {}).className || '')";
    devtools
        .eval_until(&session, state, "a connected WebSocket", |v| {
            v == format!("{url} connected")
        })
        .await;
    // ... and sends a line, typed and sent as a person would.
    devtools.send_line(&session, LINE).await;
    let shown = devtools
        .eval_until(&session, SHOWN_LINES, "its own line", |v| {
            v.contains(&format!(" says: {LINE}"))
        })
        .await;
    let said = shown
        .lines()
        .find(|l| l.ends_with(&format!(" says: {LINE}")))
        .unwrap()
        .to_string();
    let port = said
        .strip_prefix("User")
        .and_then(|l| l.split(' ').next())
        .unwrap();
    // The room has it: the Rust client got the same line.
    loop {
        let msg = tokio::time::timeout(LONG, watcher.read())
            .await
            .expect("the browser's line never reached the room")
            .unwrap();
        if msg == Message::Text(said.clone()) {
            break;
        }
    }

    // The server's word: the page and the WebSocket, one HTTP/2 connection.
    let peer = format!("127.0.0.1:{port}");
    let tls_line = format!("axum_chat: connection {peer}: TLS, ALPN h2");
    let page_line = format!("axum_chat: GET / over HTTP/2 on connection {peer}");
    let ws_line = tls_chat::h2_websocket_line(&peer);
    let log = server.log();
    for want in [&tls_line, &page_line, &ws_line] {
        assert!(
            log.contains(want),
            "missing from the server's log: {want}\n{}",
            log.join("\n")
        );
    }
    eprintln!("the page showed: {said}");
    eprintln!("server log (axum_chat over TLS, Chromium's connection {peer}):");
    for line in log.iter().filter(|l| l.contains(&peer)) {
        eprintln!("  {line}");
    }

    // Chromium's word: one HTTP/2 session sent the GET and the CONNECT.
    let _ = devtools.call(None, "Browser.close", "{}").await;
    assert!(
        chromium.wait_exit(LONG),
        "Chromium did not exit: its net log may be cut short"
    );
    let net = std::fs::read_to_string(&net_log).expect("Chromium's net log");
    let sends = "HTTP2_SESSION_SEND_HEADERS";
    let connects = net_log_events(
        &net,
        sends,
        &["\":method: CONNECT\"", "\":protocol: websocket\""],
    );
    let gets = net_log_events(&net, sends, &["\":method: GET\"", "\":path: /\""]);
    let (session_id, connect) = connects
        .first()
        .unwrap_or_else(|| panic!("no extended CONNECT on an HTTP/2 session in the net log"));
    let (_, get) = gets
        .iter()
        .find(|(id, _)| id == session_id)
        .unwrap_or_else(|| {
            panic!("the WebSocket's HTTP/2 session {session_id} did not load the page")
        });
    eprintln!(
        "Chromium's net log: HTTP2_SESSION {session_id} sent `GET /` on stream {} and \
         `CONNECT :protocol: websocket` on stream {}",
        stream_id(get),
        stream_id(connect)
    );
    eprintln!("  {:.300}", connect);
}
