//! Real headless Chromium against the `broadcast` example over `https://`
//! (`--tls-cert`, `--tls-key`: a CA and a certificate made here by `rcgen`):
//! the chat page loads, connects back over `wss://` with the resumable
//! subprotocol `chat.v2`, shows who it is and who is online, and sends a
//! line, typed and sent as a person would. The proof comes from three
//! sides:
//!
//! - Chromium's own record (the DevTools `Network` events): the page's
//!   WebSocket went to `wss://…/room/browser` and the server answered
//!   `Sec-WebSocket-Protocol: chat.v2`;
//! - a second `chat.v2` client, in Rust, over `wss://` in the same room:
//!   it sees the page's session arrive (`User… just connected.`), sees its
//!   name in the room's `online` list, and gets the page's line, with a log
//!   id, under the name the page was welcomed with;
//! - the server's log: the page's name connected on `chat.v2`.
//!
//! Chromium is driven over the DevTools protocol (see
//! `common/devtools.rs`). Chromium is `$CHROMIUM`, or `chromium`, `chromium-browser`,
//! `google-chrome` on the `PATH`; without one the test says so loudly and
//! passes, unless `RFC6455_BROWSER_REQUIRED` is set (`scripts/browser_chat.sh`
//! sets it, after installing Chromium with apt if it is missing; CI runs
//! that script).
#![cfg(all(feature = "tokio", feature = "rustls"))]

#[path = "common/devtools.rs"]
mod devtools;
mod examples_bin;
mod tls_chat;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use devtools::{chromium_or_skip, json_field, json_string, Chromium, DevTools, SHOWN_LINES};
use rfc6455::handshake::ClientOptions;
use rfc6455::tokio::{self as ws, MaybeTlsStream, WebSocketStream};
use rfc6455::Message;
use tls_chat::{Certs, LONG};

/// The line the page sends.
const LINE: &str = "hello from Chromium over wss on chat.v2";

/// The room the page is opened in (`#room=browser`).
const ROOM: &str = "/room/browser";

/// `broadcast ADDR --tls-cert … --tls-key … [--redis URL]`, killed when
/// dropped; its log lines are kept.
struct Broadcast {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Broadcast {
    fn start(certs: &Certs, addr: &str, redis: Option<&str>) -> Broadcast {
        let mut cmd = Command::new(examples_bin::example("broadcast"));
        cmd.args([addr, "--ping-interval", "0"])
            .args(["--tls-cert", &certs.path("cert.pem")])
            .args(["--tls-key", &certs.path("key.pem")]);
        if let Some(url) = redis {
            cmd.args(["--redis", url]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the broadcast example");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("broadcast: chat on ") {
                    let _ = tx.send(addr.to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let banner = rx
            .recv_timeout(LONG)
            .expect("broadcast did not print its address");
        let addr = banner
            .strip_prefix("https://")
            .unwrap_or_else(|| panic!("broadcast does not serve https://: {banner}"))
            .trim_end_matches('/');
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Broadcast { child, port, log }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Broadcast {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `redis-server` of the test's own on loopback (no persistence), killed
/// when dropped; `None` where there is none (an error under CI).
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "redis-server: {e}, and CI is set"
                );
                return None;
            }
        };
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let deadline = Instant::now() + LONG;
        loop {
            use std::io::{Read, Write};
            let pong = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut c| {
                c.write_all(b"PING\r\n")?;
                let mut buf = [0; 7];
                c.read_exact(&mut buf)?;
                Ok(buf)
            });
            if pong.is_ok_and(|b| &b == b"+PONG\r\n") {
                return Some(redis);
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `chat.v2` client in Rust, over `wss://`: what it read, as
/// `(verb, rest)`.
struct Watcher {
    ws: WebSocketStream<MaybeTlsStream>,
    token: String,
    name: String,
    read: Vec<(String, String)>,
}

impl Watcher {
    async fn open(url: &str, certs: &Certs) -> WebSocketStream<MaybeTlsStream> {
        let mut config = certs.client();
        config.options = ClientOptions::new().subprotocol("chat.v2");
        let (ws, response) = ws::connect_with(url, &config)
            .await
            .expect("the Rust chat.v2 client connects over wss://");
        assert_eq!(
            response.subprotocol(),
            Some("chat.v2"),
            "the server did not pick chat.v2"
        );
        ws
    }

    async fn connect(url: &str, certs: &Certs) -> Watcher {
        let mut w = Watcher {
            ws: Watcher::open(url, certs).await,
            token: String::new(),
            name: String::new(),
            read: Vec::new(),
        };
        w.ws.send_text("hello").await.unwrap();
        let (_, welcome) = w.until("its welcome", |v, _| v == "welcome").await;
        // welcome TOKEN NAME ID
        let mut fields = welcome.split(' ');
        w.token = fields.next().unwrap().to_string();
        w.name = fields.next().unwrap().to_string();
        w
    }

    /// Connects again (the server may still be starting) and resumes its
    /// session after the last line it read; checks it kept its name.
    async fn resume(&mut self, url: &str, certs: &Certs) {
        let deadline = Instant::now() + LONG;
        let mut config = certs.client();
        config.options = ClientOptions::new().subprotocol("chat.v2");
        self.ws = loop {
            match ws::connect_with(url, &config).await {
                Ok((ws, _)) => break ws,
                Err(e) => {
                    assert!(Instant::now() < deadline, "cannot connect again: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let last = self
            .read
            .iter()
            .rev()
            .find(|(v, _)| v == "line")
            .map(|(_, r)| r.split(' ').next().unwrap().to_string())
            .expect("a line read before");
        self.ws
            .send_text(&format!("resume {} {last}", self.token))
            .await
            .unwrap();
        let since = self.read.len();
        let (_, welcome) = self
            .until_from(since, "its welcome back", |v, _| v == "welcome")
            .await;
        assert_eq!(
            welcome,
            format!("{} {} {last}", self.token, self.name),
            "the session was not resumed"
        );
    }

    /// Reads until a message `matches` (verb, rest); returns it (one
    /// read before counts).
    async fn until(
        &mut self,
        what: &str,
        matches: impl Fn(&str, &str) -> bool,
    ) -> (String, String) {
        self.until_from(0, what, matches).await
    }

    /// Reads until a message `matches`; one read before counts from the
    /// `since`th on.
    async fn until_from(
        &mut self,
        since: usize,
        what: &str,
        matches: impl Fn(&str, &str) -> bool,
    ) -> (String, String) {
        if let Some(found) = self.read[since..].iter().find(|(v, r)| matches(v, r)) {
            return found.clone();
        }
        let deadline = Instant::now() + LONG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = match tokio::time::timeout(left, self.ws.read()).await {
                Ok(Ok(msg)) => msg,
                Ok(Err(e)) => panic!("the Rust client's connection failed before {what}: {e}"),
                Err(_) => panic!(
                    "the Rust client never got {what}; it read:\n{}",
                    self.read
                        .iter()
                        .map(|(v, r)| format!("  {v} {r}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            };
            let Message::Text(t) = msg else { continue };
            let (verb, rest) = t.split_once(' ').unwrap_or((&t, ""));
            let got = (verb.to_string(), rest.to_string());
            self.read.push(got.clone());
            if matches(verb, rest) {
                return got;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_speaks_chat_v2_over_wss_to_broadcast() {
    let Some(chromium_bin) = chromium_or_skip(
        "NO CHROMIUM: the chat.v2 page's browser test (wss://) did not run. \
         Install it (apt-get install -y chromium), set $CHROMIUM, \
         or run scripts/browser_chat.sh, which installs it.",
    ) else {
        return;
    };
    let certs = Certs::new();
    // On Redis where there is one: then the node is also killed and started
    // again under the page, which must resume.
    let redis = Redis::start();
    if redis.is_none() {
        eprintln!(
            "\n{0}\n# NO redis-server: the page's resume over wss:// is NOT tested \
             (the log is in memory)\n{0}\n",
            "#".repeat(72)
        );
    }
    let redis_url = redis.as_ref().map(|r| r.url.clone());
    let server = Broadcast::start(&certs, "127.0.0.1:0", redis_url.as_deref());
    let page_url = format!("https://127.0.0.1:{}/#room=browser", server.port);
    let ws_url = format!("wss://localhost:{}{ROOM}", server.port);

    // A Rust chat.v2 client in the room first, over wss:// too.
    let mut watcher = Watcher::connect(&ws_url, &certs).await;

    let profile = certs.dir().join("chromium-profile");
    let chromium = Chromium::start(&chromium_bin, &profile, None);
    let mut devtools = DevTools::connect(&chromium.devtools).await;
    let session = devtools.open_page("about:blank").await;
    // Chromium's own record of the page's WebSocket, from before it opens.
    devtools
        .call(Some(&session), "Network.enable", "{}")
        .await
        .unwrap();
    devtools
        .call(
            Some(&session),
            "Page.navigate",
            &format!("{{\"url\":{}}}", json_string(&page_url)),
        )
        .await
        .unwrap();

    // The page connects, is welcomed (it shows its name) and learns who is
    // online: itself and the Rust client, two names.
    let state = "((document.getElementById('state') || {}).className || '') + ' | ' + \
                 ((document.getElementById('who') || {}).textContent || '')";
    let shown = devtools
        .eval_until(&session, state, "its name and both names online", |v| {
            v.starts_with("connected | you are User")
                && v.contains(" · 2 online: ")
                && v.contains(&watcher.name)
        })
        .await;
    let page_name = shown
        .strip_prefix("connected | you are ")
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    assert_ne!(page_name, watcher.name);
    eprintln!("the page shows: {shown:?}");

    // Chromium says: a wss:// WebSocket to the room, chat.v2 picked.
    let created = devtools.events_of("Network.webSocketCreated");
    let wss = created
        .iter()
        .find_map(|e| json_field(e, "url"))
        .unwrap_or_else(|| panic!("Chromium made no WebSocket: {created:?}"));
    assert_eq!(wss, format!("wss://127.0.0.1:{}{ROOM}", server.port));
    let handshakes = devtools.events_of("Network.webSocketHandshakeResponseReceived");
    let handshake = handshakes
        .first()
        .unwrap_or_else(|| panic!("no WebSocket handshake in Chromium's events"));
    assert!(
        handshake.contains("\"status\":101"),
        "not switched: {handshake}"
    );
    let protocol = json_field(handshake, "Sec-WebSocket-Protocol")
        .or_else(|| json_field(handshake, "sec-websocket-protocol"));
    assert_eq!(
        protocol.as_deref(),
        Some("chat.v2"),
        "the page's WebSocket is not on chat.v2: {handshake}"
    );
    eprintln!("Chromium: WebSocket {wss}, 101, Sec-WebSocket-Protocol: chat.v2");

    // The Rust client saw the page's session arrive, and the page online.
    watcher
        .until("the page's arrival", |v, r| {
            v == "line" && r.ends_with(&format!(" {page_name} just connected."))
        })
        .await;
    watcher
        .until("the page's name online", |v, r| {
            v == "online" && r.split(' ').any(|n| n == page_name)
        })
        .await;

    // The page sends a line, typed and sent as a person would ...
    devtools.send_line(&session, LINE).await;
    // ... it reaches the room under the page's name, with a log id ...
    let said = format!("{page_name} says: {LINE}");
    let (_, line) = watcher
        .until("the page's line", |v, r| {
            v == "line" && r.split_once(' ').is_some_and(|(_, text)| text == said)
        })
        .await;
    let id = line.split(' ').next().unwrap().to_string();
    assert!(
        id.split_once('-')
            .is_some_and(|(a, b)| a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok()),
        "not a log id: {id}"
    );
    // ... and the page shows it once.
    let page_lines = devtools
        .eval_until(&session, SHOWN_LINES, "its own line", |v| {
            v.lines().any(|l| l == said)
        })
        .await;
    assert_eq!(
        page_lines.lines().filter(|l| *l == said).count(),
        1,
        "the page shows its line more than once:\n{page_lines}"
    );
    eprintln!("the Rust chat.v2 client got: line {line}");

    // The server's word: the page's name on chat.v2.
    let want = format!("{page_name} connected (chat.v2, ");
    let log = server.log();
    assert!(
        log.iter().any(|l| l.starts_with(&want)),
        "the server never logged {want:?}:\n{}",
        log.join("\n")
    );
    eprintln!(
        "server log: {}",
        log.iter().find(|l| l.starts_with(&want)).unwrap()
    );

    // With Redis: the node dies (SIGKILL) under the page and the Rust
    // client, and another starts on the same port. The page resumes: the
    // same name, one status line, the Rust client's line said after the
    // blip shown once, and its own next line reaches the room.
    if let Some(url) = redis_url.as_deref() {
        let before = page_lines.lines().count();
        let port = server.port;
        drop(server);
        let server = Broadcast::start(&certs, &format!("127.0.0.1:{port}"), Some(url));
        watcher.resume(&ws_url, &certs).await;
        let back = "back after the blip";
        watcher
            .ws
            .send_text(&format!("msg 1 {back}"))
            .await
            .unwrap();
        let since = watcher.read.len();
        watcher
            .until_from(since, "the ack of its line", |v, r| {
                v == "ack" && r.starts_with("1 ")
            })
            .await;
        let theirs = format!("{} says: {back}", watcher.name);
        let shown = devtools
            .eval_until(&session, state, "itself again, resumed", |v| {
                v.starts_with(&format!("connected | you are {page_name} "))
            })
            .await;
        eprintln!("after the node was killed and started again, the page shows: {shown:?}");
        let all = devtools
            .eval_until(&session, SHOWN_LINES, "the line said after the blip", |v| {
                v.lines().any(|l| l == theirs)
            })
            .await;
        let list: Vec<&str> = all.lines().collect();
        assert!(list.len() > before, "{all}");
        for l in list.iter().filter(|l| l.contains(" says: ")) {
            assert_eq!(
                list.iter().filter(|m| *m == l).count(),
                1,
                "the page shows {l:?} twice:\n{all}"
            );
        }
        assert!(
            !list.iter().any(|l| l.contains("reconnecting")
                || l.contains("disconnected")
                || l.contains("a new session")),
            "status lines in the page's list (one status line is wanted, in its place):\n{all}"
        );
        // The page says something after the resume; the room has it.
        let again = "and again after the resume";
        devtools.send_line(&session, again).await;
        let said_again = format!("{page_name} says: {again}");
        watcher
            .until_from(since, "the page's line after the resume", |v, r| {
                v == "line" && r.split_once(' ').is_some_and(|(_, t)| t == said_again)
            })
            .await;
        let resumed = format!("{page_name} connected (chat.v2, resumed, ");
        let log = server.log();
        assert!(
            log.iter().any(|l| l.starts_with(&resumed)),
            "the new node never logged {resumed:?}:\n{}",
            log.join("\n")
        );
        eprintln!(
            "the page resumed on the new node: {}",
            log.iter().find(|l| l.starts_with(&resumed)).unwrap()
        );
    }

    let _ = devtools.call(None, "Browser.close", "{}").await;
    drop(chromium);
}
