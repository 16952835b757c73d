//! The broadcast chat example scaled out over Redis pub/sub: two nodes
//! (processes) sharing one room through a real `redis-server`, started here
//! on an ephemeral loopback port with persistence off.
//!
//! Where `redis-server` is missing or cannot start, these tests print
//! `SKIPPED: redis-server not available` and pass, except under CI (`CI`
//! set), where they fail.

mod net;

mod examples_bin;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use net::{ChildGuard, LONG};
use rfc6455::blocking::{self, MaybeTlsStream, WebSocket};
use rfc6455::{CloseCode, Message};

const UNREACHABLE: &str = "Other nodes are unreachable; messages stay on this node.";
const REACHABLE: &str = "Other nodes are reachable again.";

/// How long cross-node traffic may take to resume once Redis is back (the
/// reconnection backoff is capped at 5 s).
const RESUME: Duration = Duration::from_secs(15);

/// The broadcast example's binary (built on first use).
fn broadcast_binary() -> PathBuf {
    examples_bin::example("broadcast")
}

/// Says why Redis cannot be had here: a loud skip, or a failure under CI.
fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}, and CI is set: install redis-server (apt-get install -y redis-server)"
    );
    eprintln!("SKIPPED: redis-server not available ({why})");
}

/// A free loopback port, as far as anyone can tell.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// A `redis-server` on loopback, without persistence; killed when dropped.
struct Redis {
    port: u16,
    child: Option<ChildGuard>,
}

impl Redis {
    /// Starts one on a free port (retrying if the port was taken meanwhile);
    /// `None` (after saying so) when that is not possible here.
    fn start() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            skip("no redis-server on PATH");
            return None;
        }
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            match Redis::spawn(port) {
                Ok(child) => {
                    return Some(Redis {
                        port,
                        child: Some(child),
                    })
                }
                Err(e) => last = e,
            }
        }
        skip(&format!("cannot start it: {last}"));
        None
    }

    fn spawn(port: u16) -> Result<ChildGuard, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let mut guard = ChildGuard(child);
        // Ready when it answers PING.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = guard.0.try_wait() {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            if redis_ping(port) {
                return Ok(guard);
            }
            if Instant::now() > deadline {
                return Err(format!("redis-server on port {port} did not answer PING"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it (SIGKILL: no goodbye to its clients beyond the kernel's).
    fn kill(&mut self) {
        drop(self.child.take());
    }

    /// Starts it again on the same port.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Redis::spawn(self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(e) if Instant::now() > deadline => panic!("cannot restart redis-server: {e}"),
                Err(_) => thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

fn redis_ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A running broadcast node; killed when dropped.
struct Node {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    child: ChildGuard,
}

impl Node {
    /// Starts a node on Redis and waits until its link is up.
    fn start(redis: &Redis) -> Node {
        let node = Node::spawn(redis);
        node.wait_log("redis link up", 1);
        node
    }

    /// Starts a node on Redis (which may not be running).
    fn spawn(redis: &Redis) -> Node {
        let mut child = Command::new(broadcast_binary())
            .args([
                "127.0.0.1:0",
                "--redis",
                &redis.url(),
                "--ping-interval",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the broadcast example");
        let stderr = child.stderr.take().unwrap();
        let child = ChildGuard(child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("broadcast: chat on http://") {
                    let _ = tx.send(rest.trim_end_matches('/').to_string());
                }
                log2.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(LONG)
            .expect("the node did not print its address");
        Node {
            addr: addr.parse().expect("a socket address"),
            log,
            child,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn log_count(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until `needle` has been logged `n` times.
    fn wait_log(&self, needle: &str, n: usize) {
        let deadline = Instant::now() + LONG;
        while self.log_count(needle) < n {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} (x{n}) in the node's log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Still running, and no panic logged.
    fn assert_alive(&mut self) {
        assert!(
            self.child.0.try_wait().unwrap().is_none(),
            "the node exited; log:\n{}",
            self.log()
        );
        assert_eq!(self.log_count("panicked"), 0, "log:\n{}", self.log());
    }
}

/// A chat client that records every line it reads.
struct Client {
    ws: WebSocket<MaybeTlsStream>,
    port: u16,
    lines: Vec<String>,
}

impl Client {
    fn name(&self) -> String {
        format!("User{}", self.port)
    }

    fn say(&mut self, text: &str) {
        self.ws.send_text(text).expect("send");
    }

    /// Whether `want` was read already, or is within `within`. Lines read
    /// on the way are recorded too.
    fn wait_for(&mut self, want: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.lines.iter().any(|l| l == want) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.read_one(left);
        }
    }

    fn expect(&mut self, want: &str) {
        assert!(
            self.wait_for(want, LONG),
            "{} never got {want:?}; it got:\n{}",
            self.name(),
            self.lines.join("\n")
        );
    }

    /// Reads whatever arrives within `within` (recorded).
    fn drain(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            self.read_one(left);
        }
    }

    fn read_one(&mut self, within: Duration) {
        self.ws
            .set_read_timeout(Some(within.max(Duration::from_millis(1))))
            .unwrap();
        match self.ws.read() {
            Ok(Message::Text(t)) => self.lines.push(t),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Err(e) if e.is_would_block() => {}
            other => panic!("{}: unexpected {other:?}", self.name()),
        }
    }

    /// How many times it read `line`.
    fn count(&self, line: &str) -> usize {
        self.lines.iter().filter(|l| *l == line).count()
    }

    /// No chat message (`… says: …`) read twice. (Arrivals and departures
    /// could repeat legitimately: see `join`.)
    fn assert_no_duplicates(&self) {
        let mut seen = HashMap::new();
        for l in &self.lines {
            *seen.entry(l.as_str()).or_insert(0) += 1;
        }
        for (l, n) in seen {
            assert!(
                n == 1 || !l.contains(" says: "),
                "{} read {l:?} {n} times",
                self.name()
            );
        }
    }

    /// The numbers of `sender`'s lines `"<tag>#<i>"`, in the order read.
    fn numbered(&self, sender: &str, tag: &str) -> Vec<usize> {
        let prefix = format!("{sender} says: {tag}#");
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix)?.parse().ok())
            .collect()
    }
}

/// Connects a client to `node`, with a port (hence a name) no other client
/// in `taken` has: two connections to different nodes may share a local
/// port. Reads its own arrival.
fn join(node: &Node, taken: &mut HashSet<u16>) -> Client {
    for _ in 0..10 {
        let (ws, _) = blocking::connect(&node.url()).expect("connect");
        let port = ws.get_ref().get_ref().local_addr().unwrap().port();
        if taken.insert(port) {
            let mut c = Client {
                ws,
                port,
                lines: Vec::new(),
            };
            let own = format!("{} just connected.", c.name());
            c.expect(&own);
            return c;
        }
        // A namesake (rare): drop it and try again. Its arrival and
        // departure are announced under a name another client has.
        drop(ws);
    }
    panic!("no unique client port in 10 attempts");
}

#[test]
fn two_nodes_share_one_room() {
    let Some(redis) = Redis::start() else { return };
    let mut na = Node::start(&redis);
    let mut nb = Node::start(&redis);
    let mut taken = HashSet::new();

    // Arrivals cross both ways.
    let mut a1 = join(&na, &mut taken);
    let mut b1 = join(&nb, &mut taken);
    a1.expect(&format!("{} just connected.", b1.name()));
    let mut a2 = join(&na, &mut taken);
    for c in [&mut a1, &mut b1] {
        c.expect(&format!("{} just connected.", a2.name()));
    }

    // 50 numbered lines from each node's client, interleaved: everyone
    // gets each sender's lines once, in order.
    const N: usize = 50;
    for i in 0..N {
        a1.say(&format!("A#{i}"));
        b1.say(&format!("B#{i}"));
    }
    let (an, bn) = (a1.name(), b1.name());
    for c in [&mut a1, &mut a2, &mut b1] {
        c.expect(&format!("{an} says: A#{}", N - 1));
        c.expect(&format!("{bn} says: B#{}", N - 1));
        let all: Vec<usize> = (0..N).collect();
        assert_eq!(c.numbered(&an, "A"), all, "{} read A's lines", c.name());
        assert_eq!(c.numbered(&bn, "B"), all, "{} read B's lines", c.name());
    }

    // Departures cross too.
    b1.ws.close(CloseCode::NORMAL, "").unwrap();
    let left = format!("{bn} left.");
    a1.expect(&left);
    a2.expect(&left);

    // Nothing arrives twice, even late.
    a1.drain(Duration::from_millis(300));
    a2.drain(Duration::from_millis(50));
    for c in [&a1, &a2, &b1] {
        c.assert_no_duplicates();
        assert_eq!(c.count(UNREACHABLE), 0, "{}: {:?}", c.name(), c.lines);
    }
    assert_eq!(a1.count(&left), 1);
    na.assert_alive();
    nb.assert_alive();
}

#[test]
fn losing_redis_keeps_local_chat_and_cross_node_chat_resumes() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let mut na = Node::start(&redis);
    let mut nb = Node::start(&redis);
    let mut taken = HashSet::new();
    let mut a1 = join(&na, &mut taken);
    let mut a2 = join(&na, &mut taken);
    a1.expect(&format!("{} just connected.", a2.name()));
    let mut b1 = join(&nb, &mut taken);
    for c in [&mut a1, &mut a2] {
        c.expect(&format!("{} just connected.", b1.name()));
    }
    let (an, bn) = (a1.name(), b1.name());

    // Chatting across nodes, then Redis dies.
    a1.say("before");
    b1.expect(&format!("{an} says: before"));
    let killed = Instant::now();
    redis.kill();

    // Everyone is told, and local chat goes on.
    for c in [&mut a1, &mut a2, &mut b1] {
        c.expect(UNREACHABLE);
    }
    let told_after = killed.elapsed();
    a1.say("during the outage");
    a2.expect(&format!("{an} says: during the outage"));
    a2.say("still here");
    a1.expect(&format!("{} says: still here", a2.name()));
    b1.say("alone on B");
    b1.expect(&format!("{bn} says: alone on B"));
    // Let the nodes fail a few reconnection attempts (100, 200, 400, 800 ms).
    thread::sleep(Duration::from_millis(1500));
    na.assert_alive();
    nb.assert_alive();

    // Redis comes back: lines cross nodes again.
    redis.restart();
    let restarted = Instant::now();
    let mut resumed = None;
    for k in 0.. {
        assert!(
            restarted.elapsed() < RESUME,
            "no line from A reached B within {RESUME:?} of Redis' restart; B read:\n{}\nlog A:\n{}\nlog B:\n{}",
            b1.lines.join("\n"),
            na.log(),
            nb.log()
        );
        a1.say(&format!("probe {k}"));
        if b1.wait_for(&format!("{an} says: probe {k}"), Duration::from_millis(250)) {
            resumed = Some(restarted.elapsed());
            break;
        }
    }
    let mut back = false;
    for k in 0.. {
        assert!(
            restarted.elapsed() < RESUME,
            "no line from B reached A within {RESUME:?} of Redis' restart; A read:\n{}",
            a1.lines.join("\n")
        );
        b1.say(&format!("reply {k}"));
        if a1.wait_for(&format!("{bn} says: reply {k}"), Duration::from_millis(250)) {
            back = true;
            break;
        }
    }
    assert!(back);
    for c in [&mut a1, &mut a2, &mut b1] {
        c.expect(REACHABLE);
    }
    eprintln!(
        "outage noticed by every client within {told_after:?}; A->B resumed {:?} after the restart",
        resumed.unwrap()
    );

    // Once told each way; what was said during the outage stayed local.
    a1.drain(Duration::from_millis(300));
    a2.drain(Duration::from_millis(50));
    b1.drain(Duration::from_millis(50));
    for c in [&a1, &a2, &b1] {
        assert_eq!(c.count(UNREACHABLE), 1, "{}: {:?}", c.name(), c.lines);
        assert_eq!(c.count(REACHABLE), 1, "{}: {:?}", c.name(), c.lines);
        c.assert_no_duplicates();
    }
    assert!(
        !b1.lines.iter().any(|l| l.contains("during the outage")),
        "{:?}",
        b1.lines
    );
    assert!(
        !a1.lines.iter().any(|l| l.contains("alone on B")),
        "{:?}",
        a1.lines
    );
    assert!(na.log_count("redis link down") >= 1, "{}", na.log());
    na.assert_alive();
    nb.assert_alive();
}

#[test]
fn a_node_without_redis_serves_its_clients_and_says_so() {
    // Redis is not there when the node starts, and comes later.
    let Some(mut redis) = Redis::start() else {
        return;
    };
    redis.kill();
    let mut node = Node::spawn(&redis);
    node.wait_log("redis link down", 1);

    // A client joining during the outage is told, once.
    let mut taken = HashSet::new();
    let mut a1 = join(&node, &mut taken);
    a1.expect(UNREACHABLE);
    a1.say("hello");
    a1.expect(&format!("{} says: hello", a1.name()));

    redis.restart();
    a1.expect(REACHABLE);
    let mut nb = Node::start(&redis);
    let b1 = join(&nb, &mut taken);
    a1.expect(&format!("{} just connected.", b1.name()));
    a1.drain(Duration::from_millis(200));
    assert_eq!(a1.count(UNREACHABLE), 1, "{:?}", a1.lines);
    a1.assert_no_duplicates();
    node.assert_alive();
    nb.assert_alive();
}
