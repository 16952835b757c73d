//! Headless Chromium driven over the DevTools protocol (a WebSocket, with
//! this crate's own tokio client), for tests/browser_h2.rs and
//! tests/browser_chat.rs, each of which includes it with
//! `#[path = "common/devtools.rs"] mod devtools;` (next to `mod tls_chat;`,
//! whose [`LONG`] bounds every wait here).
//!
//! Chromium is `$CHROMIUM`, or `chromium`, `chromium-browser`,
//! `google-chrome` on the `PATH` ([`find_chromium`]); without one a test
//! says so loudly and passes, unless `RFC6455_BROWSER_REQUIRED` is set
//! ([`chromium_or_skip`]).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rfc6455::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use rfc6455::Message;

use crate::tls_chat::LONG;

/// The JavaScript expression for the lines a chat page shows (its
/// `#messages` list), one a line.
pub const SHOWN_LINES: &str =
    "Array.from(document.querySelectorAll('#messages li'), li => li.textContent).join('\\n')";

pub fn find_chromium() -> Option<PathBuf> {
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

/// Chromium, or `None` after saying loudly, with `message`, that the test
/// did not run (it fails instead if `RFC6455_BROWSER_REQUIRED` is set).
pub fn chromium_or_skip(message: &str) -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        let banner = "#".repeat(72);
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
    }
    found
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

/// Headless Chromium with remote debugging on an ephemeral port, killed
/// when dropped.
pub struct Chromium {
    child: Child,
    /// Its DevTools WebSocket's URL.
    pub devtools: String,
}

impl Chromium {
    /// Starts `bin` with the profile directory `profile`, and its net log
    /// written to `net_log` if given (`--log-net-log`).
    pub fn start(bin: &Path, profile: &Path, net_log: Option<&Path>) -> Chromium {
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
        .arg(format!("--user-data-dir={}", profile.display()));
        if let Some(net_log) = net_log {
            cmd.arg(format!("--log-net-log={}", net_log.display()));
        }
        cmd.arg("about:blank")
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
    pub fn wait_exit(&mut self, within: Duration) -> bool {
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

// ---------------------------------------------------------------------------
// Just enough JSON for the DevTools protocol

/// `s` as a JSON string.
pub fn json_string(s: &str) -> String {
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
pub fn json_field(json: &str, key: &str) -> Option<String> {
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

/// A DevTools protocol connection (to the browser; pages by session). The
/// events that arrive while waiting for answers are kept.
pub struct DevTools {
    ws: WebSocketStream<MaybeTlsStream>,
    next: u64,
    events: Vec<String>,
}

impl DevTools {
    pub async fn connect(url: &str) -> DevTools {
        let config = ws::ClientConfig::default().max_message_size(64 << 20);
        let (ws, _) = ws::connect_with(url, &config)
            .await
            .expect("connect to Chromium's DevTools WebSocket");
        DevTools {
            ws,
            next: 1,
            events: Vec::new(),
        }
    }

    /// Sends a command; returns its answer (`Err`: the protocol's error).
    pub async fn call(
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
                self.events.push(text);
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

    /// Opens a page (a target) on `url` and attaches to it; its session.
    pub async fn open_page(&mut self, url: &str) -> String {
        let target = self
            .call(
                None,
                "Target.createTarget",
                &format!("{{\"url\":{}}}", json_string(url)),
            )
            .await
            .unwrap();
        let target = json_field(&target, "targetId").unwrap();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                &format!("{{\"targetId\":{},\"flatten\":true}}", json_string(&target)),
            )
            .await
            .unwrap();
        json_field(&attached, "sessionId").unwrap()
    }

    /// Evaluates `expression` in the page; its string value.
    pub async fn eval(&mut self, session: &str, expression: &str) -> Result<String, String> {
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
    pub async fn eval_until(
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

    /// Sends `line` from a chat page, typed and sent as a person would
    /// (its `#text` field and `#send` button).
    pub async fn send_line(&mut self, session: &str, line: &str) {
        let send = format!(
            "(() => {{ document.getElementById('text').value = {}; \
             document.getElementById('send').click(); return 'sent'; }})()",
            json_string(line)
        );
        assert_eq!(self.eval(session, &send).await.unwrap(), "sent");
    }

    /// The events kept so far of `method` (the raw JSON).
    pub fn events_of(&self, method: &str) -> Vec<&str> {
        let head = format!("{{\"method\":\"{method}\"");
        self.events
            .iter()
            .filter(|e| e.starts_with(&head))
            .map(String::as_str)
            .collect()
    }
}
