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
//! crate's own tokio client. Chromium is `$CHROMIUM`, or `chromium`,
//! `chromium-browser`, `google-chrome` on the `PATH`; without one the test
//! says so loudly and passes, unless `RFC6455_BROWSER_REQUIRED` is set
//! (`scripts/browser_h2.sh` sets it, after installing Chromium with apt if
//! it is missing; CI runs that script).
#![cfg(all(feature = "hyper", feature = "rustls"))]

mod examples_bin;
mod tls_chat;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rfc6455::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use rfc6455::Message;
use tls_chat::{Certs, TlsChat, LONG};

/// The line the page sends.
const LINE: &str = "hello from Chromium over HTTP/2";

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
    .find(|candidate| candidate.is_file())
}

/// Headless Chromium with remote debugging on an ephemeral port, killed
/// when dropped.
struct Chromium {
    child: Child,
    devtools: String,
}

impl Chromium {
    fn start(bin: &Path, profile: &Path, net_log: &Path) -> Chromium {
        let mut cmd = Command::new(bin);
        cmd.args([
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-port=0",
            // The certificate is from the test's own CA.
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        // Chromium's sandbox refuses to run as root.
        if is_root() {
            cmd.arg("--no-sandbox");
        }
        let mut child = cmd.spawn().expect("start Chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let devtools = rx
            .recv_timeout(LONG)
            .expect("Chromium did not print its DevTools address");
        Chromium { child, devtools }
    }

    /// Waits (a while) for Chromium to exit by itself.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the test runs as root (from /proc: no libc call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// Just enough JSON for the DevTools protocol

/// `s` as a JSON string.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The first string value of `"key":` in `json`, unescaped.
fn json_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let unit = u32::from_str_radix(&hex, 16).ok()?;
                    out.push(char::from_u32(unit).unwrap_or('\u{fffd}'));
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A DevTools protocol connection (to the browser; pages by session).
struct DevTools {
    ws: WebSocketStream<MaybeTlsStream>,
    next: u64,
}

impl DevTools {
    async fn connect(url: &str) -> DevTools {
        let config = ws::ClientConfig::default().max_message_size(64 << 20);
        let (ws, _) = ws::connect_with(url, &config)
            .await
            .expect("connect to Chromium's DevTools WebSocket");
        DevTools { ws, next: 1 }
    }

    /// Sends a command; returns its answer (`Err`: the protocol's error).
    async fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: &str,
    ) -> Result<String, String> {
        let id = self.next;
        self.next += 1;
        let session = session
            .map(|s| format!(",\"sessionId\":{}", json_string(s)))
            .unwrap_or_default();
        let command =
            format!("{{\"id\":{id},\"method\":\"{method}\",\"params\":{params}{session}}}");
        self.ws.send_text(&command).await.unwrap();
        let (tail_comma, tail_brace) = (format!("\"id\":{id},"), format!("\"id\":{id}}}"));
        loop {
            let msg = tokio::time::timeout(LONG, self.ws.read())
                .await
                .expect("Chromium did not answer")
                .unwrap();
            let Message::Text(text) = msg else { continue };
            // Events carry a "method" (keys come sorted: it is first).
            if text.starts_with("{\"method\"") {
                continue;
            }
            if text.contains(&tail_comma) || text.contains(&tail_brace) {
                return match text.contains("\"error\":{") && !text.contains("\"result\":{") {
                    true => Err(text),
                    false => Ok(text),
                };
            }
        }
    }

    /// Evaluates `expression` in the page; its string value.
    async fn eval(&mut self, session: &str, expression: &str) -> Result<String, String> {
        let params = format!(
            "{{\"expression\":{},\"returnByValue\":true}}",
            json_string(expression)
        );
        let answer = self
            .call(Some(session), "Runtime.evaluate", &params)
            .await?;
        if answer.contains("\"exceptionDetails\"") {
            return Err(answer);
        }
        json_field(&answer, "value").ok_or(answer)
    }

    /// Evaluates `expression` until `done` says yes (the page may still be
    /// loading or connecting); returns the value.
    async fn eval_until(
        &mut self,
        session: &str,
        expression: &str,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + LONG;
        let mut last = Err(String::new());
        while Instant::now() < deadline {
            last = self.eval(session, expression).await;
            if let Ok(value) = &last {
                if done(value) {
                    return value.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never showed {what}; last: {last:?}")
    }
}

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
    let Some(chromium_bin) = find_chromium() else {
        let banner = "#".repeat(72);
        let message = "NO CHROMIUM: the HTTP/2 WebSocket browser test did not run. \
                       Install it (apt-get install -y chromium), set $CHROMIUM, \
                       or run scripts/browser_h2.sh, which installs it.";
        assert!(
            std::env::var_os("RFC6455_BROWSER_REQUIRED").is_none(),
            "{message}"
        );
        // Straight to the process's stderr: libtest captures `eprintln!`
        // of a passing test, and this must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n{banner}\n# SKIPPED: {message}\n{banner}\n"
        );
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
    let mut chromium = Chromium::start(&chromium_bin, &profile, &net_log);
    let mut devtools = DevTools::connect(&chromium.devtools).await;
    let target = devtools
        .call(
            None,
            "Target.createTarget",
            &format!("{{\"url\":{}}}", json_string(&url)),
        )
        .await
        .unwrap();
    let target = json_field(&target, "targetId").unwrap();
    let attached = devtools
        .call(
            None,
            "Target.attachToTarget",
            &format!("{{\"targetId\":{},\"flatten\":true}}", json_string(&target)),
        )
        .await
        .unwrap();
    let session = json_field(&attached, "sessionId").unwrap();

    // The page loads and its WebSocket connects ...
    let state = "location.href + ' ' + ((document.getElementById('state') || {}).className || '')";
    devtools
        .eval_until(&session, state, "a connected WebSocket", |v| {
            v == format!("{url} connected")
        })
        .await;
    // ... and sends a line, typed and sent as a person would.
    let send = format!(
        "(() => {{ document.getElementById('text').value = {}; \
         document.getElementById('send').click(); return 'sent'; }})()",
        json_string(LINE)
    );
    assert_eq!(devtools.eval(&session, &send).await.unwrap(), "sent");
    let lines =
        "Array.from(document.querySelectorAll('#messages li'), li => li.textContent).join('\\n')";
    let shown = devtools
        .eval_until(&session, lines, "its own line", |v| {
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
