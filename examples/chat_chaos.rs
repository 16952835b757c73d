//! The chat's chaos test: real `redis-server` and chat nodes, `chat.v2`
//! clients, faults, and every transcript checked against the log.
//!
//! ```text
//! cargo build --release --features tokio --example broadcast --example async_broadcast --example chat_chaos
//! target/release/examples/chat_chaos [--clients 1000] [--senders 50] [--rate 50] [--seconds 60]
//!     [--bin-dir target/release/examples]
//! ```
//! (`scripts/chaos.sh` does both.) It starts a `redis-server` (`appendonly
//! yes`, `appendfsync always`, in a temporary directory) and 4 nodes (2
//! `broadcast`, 2 `async_broadcast`) on loopback, then opens `--clients`
//! `chat.v2` clients spread over the nodes, all in one room, and a plain
//! client (the seed's strings) on each node. The first `--senders` clients
//! say numbered lines at `--rate` lines/s in total for `--seconds`. At
//! 1/6, 2/6, 3/6 and 4/6 of the run it: kills a `broadcast` node with
//! `SIGKILL` (its clients reconnect to the next node and resume), cuts
//! every node's Redis connections (`CLIENT KILL TYPE normal`), kills Redis
//! (`SIGKILL`) and restarts it on its append-only file, and drops 10% of the
//! clients' TCP connections (`SO_LINGER` 0: a reset, no Close frame).
//!
//! A client resumes (`resume TOKEN LAST`) after every disconnect and resends
//! every message not yet acknowledged, under its client id. At the end,
//! once every sender's messages are acknowledged and every client has read
//! up to the end of the stream, each transcript is compared with the stream
//! (`XRANGE`): from the client's first line to its last, every line once,
//! in order (a `lost` notice would count as lost lines). Exits non-zero if
//! any acknowledged message is missing, duplicated or out of order for any
//! client. Reports, per fault, the longest gap between two lines each client
//! saw within 10 s after it (p50/p99 over the clients concerned), and the
//! counts.
//!
//! The plain clients (one per node to begin with) say `p<k>.<n>` every
//! 500 ms, every 20 ms from just before each Redis fault to a second after
//! it; when their connection ends (their node killed; one of them is reset
//! with the 10%) they come back, to the next live node, as new clients.
//! They have no resume, so they are checked for what the README promises
//! them: every line a plain client reads is a line of the stream (in the
//! stream's order, so nothing twice), or one of the outage notices
//! (`Other nodes are unreachable; …`, `… reachable again.`), or a line a
//! plain client on the same node said while Redis was unreachable (up to 5 s
//! after a Redis fault); no line of the stream is missing between two lines
//! one connection read, the last connection reads to the end, and no line a
//! plain client said is in the log twice. Reported: the lines they missed
//! while reconnecting, per fault, and what became of the lines they said
//! (in the log, on their node only, nowhere).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfc6455::handshake::ClientOptions;
use rfc6455::tokio::{self as ws, ClientConfig, WebSocketStream};
use rfc6455::Message;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// The room every client is in.
const ROOM: &str = "/room/chaos";

/// A log id: (ms, n).
type Id = (u64, u64);

fn parse_id(s: &str) -> Option<Id> {
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

struct Args {
    clients: usize,
    senders: usize,
    rate: f64,
    seconds: f64,
    bin_dir: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        clients: 1000,
        senders: 50,
        rate: 50.0,
        seconds: 60.0,
        bin_dir: std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--clients" => a.clients = v.parse().unwrap_or_else(|_| usage()),
            "--senders" => a.senders = v.parse().unwrap_or_else(|_| usage()),
            "--rate" => a.rate = v.parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = v.parse().unwrap_or_else(|_| usage()),
            "--bin-dir" => a.bin_dir = PathBuf::from(v),
            _ => usage(),
        }
    }
    a.senders = a.senders.min(a.clients);
    a
}

fn usage() -> ! {
    eprintln!(
        "usage: chat_chaos [--clients N] [--senders S] [--rate LINES_PER_S] [--seconds T] [--bin-dir DIR]"
    );
    std::process::exit(2)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis(port: u16, dir: &std::path::Path) -> Proc {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_con(port).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Proc(child)
}

fn redis_con(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))?.get_connection()
}

/// Starts a node; returns it and its address.
fn start_node(bin: &std::path::Path, name: &str, redis_port: u16) -> (Proc, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin)
        .args([
            "127.0.0.1:0",
            "--redis",
            &format!("redis://127.0.0.1:{redis_port}/"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let prefix = format!("{name}: chat on http://");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix(&prefix) {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the node's address");
    (Proc(child), addr)
}

/// What one client saw.
#[derive(Default)]
struct Record {
    /// Lines read: (id, text, when).
    lines: Vec<(Id, String, Instant)>,
    /// Acknowledged messages: cid -> (id, text).
    acked: HashMap<u64, (Id, String)>,
    /// Disconnects (and when the client was back).
    reconnects: Vec<(Instant, Instant)>,
    lost_notices: u64,
    busy: u64,
}

/// Shared by the clients and the conductor.
struct World {
    addrs: Vec<String>,
    /// A node that was killed: its clients go elsewhere.
    dead: Vec<AtomicBool>,
    stop_sending: AtomicBool,
    /// Set for clients to drop their connection abruptly (the `chat.v2`
    /// clients, then the plain ones).
    drop_now: Vec<AtomicBool>,
    dropped: Notify,
    sent: AtomicU64,
    /// Set around the Redis faults: the plain clients speak every
    /// [`PLAIN_BURST`] instead of every [`PLAIN_EVERY`].
    plain_burst: AtomicBool,
}

/// One `chat.v2` client, for as long as the run lasts; returns what it saw.
async fn client(i: usize, w: Arc<World>, sender_rate: Option<f64>, done: Arc<Notify>) -> Record {
    let mut rec = Record::default();
    let mut node = i % w.addrs.len();
    let mut token: Option<String> = None;
    let mut pending: Vec<(u64, String)> = Vec::new();
    let mut next_cid = 1u64;
    let mut lost_at: Option<Instant> = None;
    // When to send the pending messages again after a push-back.
    let mut resend_at: Option<Instant> = None;
    let mut config = ClientConfig::default();
    config.options = ClientOptions::new().subprotocol("chat.v2");
    let period = sender_rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut next_send = Instant::now() + Duration::from_millis((i as u64 * 37) % 1000);
    let finished = done.notified();
    tokio::pin!(finished);
    loop {
        while w.dead[node].load(Relaxed) {
            node = (node + 1) % w.addrs.len();
        }
        let url = format!("ws://{}{ROOM}", w.addrs[node]);
        let tcp = match TcpStream::connect(&w.addrs[node]).await {
            Ok(t) => t,
            Err(_) => {
                node = (node + 1) % w.addrs.len();
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let mut sock: WebSocketStream<TcpStream> = match ws::connect_over(tcp, &url, &config).await
        {
            Ok((s, _)) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let hello = match (&token, rec.lines.last()) {
            (Some(t), Some(last)) => format!("resume {t} {}-{}", last.0 .0, last.0 .1),
            _ => "hello".to_string(),
        };
        if sock.send_text(&hello).await.is_err() {
            continue;
        }
        // The welcome, then resend what is not acknowledged.
        let mut welcomed = false;
        let end = loop {
            if w.drop_now[i].swap(false, Relaxed) {
                // A reset: no Close frame, no FIN.
                reset_on_close(sock.get_ref());
                break false;
            }
            let due = resend_at.map_or(next_send, |r| r.min(next_send));
            let tick = tokio::time::sleep_until(due.max(Instant::now()).into());
            tokio::select! {
                msg = sock.read() => {
                    let t = match msg {
                        Ok(Message::Text(t)) => t,
                        Ok(_) => continue,
                        Err(_) => break false,
                    };
                    let (verb, rest) = t.split_once(' ').unwrap_or((&t, ""));
                    match verb {
                        "welcome" => {
                            let tok = rest.split(' ').next().unwrap_or("").to_string();
                            if token.as_deref().is_some_and(|t| t != tok) {
                                eprintln!("client {i}: session not resumed; its transcript restarts");
                            }
                            token = Some(tok);
                            welcomed = true;
                            if let Some(at) = lost_at.take() {
                                rec.reconnects.push((at, Instant::now()));
                            }
                            for (cid, text) in &pending {
                                if sock.send_text(&format!("msg {cid} {text}")).await.is_err() {
                                    break;
                                }
                            }
                        }
                        "line" => {
                            if let Some((id, text)) = rest.split_once(' ') {
                                if let Some(id) = parse_id(id) {
                                    rec.lines.push((id, text.to_string(), Instant::now()));
                                }
                            }
                        }
                        "ack" => {
                            if let Some((cid, id)) = rest.split_once(' ') {
                                let (Ok(cid), Some(id)) = (cid.parse::<u64>(), parse_id(id)) else { continue };
                                if let Some(at) = pending.iter().position(|p| p.0 == cid) {
                                    let (_, text) = pending.remove(at);
                                    rec.acked.insert(cid, (id, text));
                                }
                            }
                        }
                        "busy" => {
                            // Pushed back: everything pending goes again soon.
                            rec.busy += 1;
                            resend_at.get_or_insert(Instant::now() + Duration::from_millis(200));
                        }
                        "lost" => rec.lost_notices += 1,
                        _ => {}
                    }
                }
                _ = tick, if (period.is_some() || resend_at.is_some()) && welcomed => {
                    if resend_at.is_some_and(|r| r <= Instant::now()) {
                        resend_at = None;
                        for (cid, text) in &pending {
                            if sock.send_text(&format!("msg {cid} {text}")).await.is_err() {
                                break;
                            }
                        }
                        continue;
                    }
                    if let Some(p) = period {
                        next_send += p;
                        if !w.stop_sending.load(Relaxed) {
                            let cid = next_cid;
                            next_cid += 1;
                            let text = format!("c{i}#{cid}");
                            pending.push((cid, text.clone()));
                            w.sent.fetch_add(1, Relaxed);
                            if sock.send_text(&format!("msg {cid} {text}")).await.is_err() {
                                break false;
                            }
                        } else {
                            next_send += Duration::from_secs(3600);
                        }
                    }
                }
                _ = w.dropped.notified() => {
                    if w.drop_now[i].swap(false, Relaxed) {
                        // A reset: no Close frame, no FIN.
                        reset_on_close(sock.get_ref());
                        break false;
                    }
                }
                _ = &mut finished => break true,
            }
        };
        if end {
            let _ = sock.close(rfc6455::CloseCode::NORMAL, "").await;
            return rec;
        }
        drop(sock);
        lost_at.get_or_insert_with(Instant::now);
        // Reconnect at once (another node if this one is dead).
        tokio::time::sleep(Duration::from_millis(i as u64 % 10)).await;
    }
}

/// The line a plain client is sent when its node loses Redis, and the one
/// when Redis is back (`examples/*/rooms.rs`): local, not in the log.
const UNREACHABLE: &str = "Other nodes are unreachable; messages stay on this node.";
const REACHABLE: &str = "Other nodes are reachable again.";

/// How often a plain client says a line.
const PLAIN_EVERY: Duration = Duration::from_millis(500);
/// ...and from just before a Redis fault to a second after it, so that
/// some of their lines are said while their node has no Redis.
const PLAIN_BURST: Duration = Duration::from_millis(20);

/// What one plain client (the seed's strings, no resume) saw, over all its
/// connections: each is a new client to the chat (a new name, no history).
#[derive(Default)]
struct PlainRecord {
    /// Its connections: (node, name, when it opened, when it was lost).
    conns: Vec<(usize, String, Instant, Option<Instant>)>,
    /// Lines read: (connection, text, when).
    lines: Vec<(usize, String, Instant)>,
    /// Lines it said: (connection, text, when).
    said: Vec<(usize, String, Instant)>,
}

/// Plain client `k` (the seed's strings), from node `k` on, for as long as
/// the run lasts: says `p<k>.<n>` every [`PLAIN_EVERY`] (every
/// [`PLAIN_BURST`] around the Redis faults), reconnects (as a
/// new client, to the next node if its own is dead) when its connection is
/// lost; returns what it saw.
async fn plain_client(k: usize, w: Arc<World>, drop_at: usize, done: Arc<Notify>) -> PlainRecord {
    let mut rec = PlainRecord::default();
    let mut node = k % w.addrs.len();
    let mut seq = 0u64;
    let finished = done.notified();
    tokio::pin!(finished);
    let mut next_send = Instant::now() + PLAIN_EVERY;
    let mut tick = tokio::time::interval(PLAIN_BURST);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        while w.dead[node].load(Relaxed) {
            node = (node + 1) % w.addrs.len();
        }
        let url = format!("ws://{}{ROOM}", w.addrs[node]);
        let Ok(tcp) = TcpStream::connect(&w.addrs[node]).await else {
            node = (node + 1) % w.addrs.len();
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        // The node names a client after its port.
        let name = format!("User{}", tcp.local_addr().map_or(0, |a| a.port()));
        let mut sock: WebSocketStream<TcpStream> =
            match ws::connect_over(tcp, &url, &ClientConfig::default()).await {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
        let c = rec.conns.len();
        rec.conns.push((node, name, Instant::now(), None));
        let end = loop {
            if w.drop_now[drop_at].swap(false, Relaxed) {
                reset_on_close(sock.get_ref());
                break false;
            }
            tokio::select! {
                msg = sock.read() => match msg {
                    Ok(Message::Text(t)) => rec.lines.push((c, t, Instant::now())),
                    Ok(_) => {}
                    Err(_) => break false,
                },
                _ = tick.tick() => {
                    let now = Instant::now();
                    if !w.plain_burst.load(Relaxed) && now < next_send {
                        continue;
                    }
                    next_send = now + PLAIN_EVERY;
                    if !w.stop_sending.load(Relaxed) {
                        seq += 1;
                        let text = format!("p{k}.{seq}");
                        rec.said.push((c, text.clone(), Instant::now()));
                        if sock.send_text(&text).await.is_err() {
                            break false;
                        }
                    }
                }
                _ = w.dropped.notified() => {
                    if w.drop_now[drop_at].swap(false, Relaxed) {
                        reset_on_close(sock.get_ref());
                        break false;
                    }
                }
                _ = &mut finished => break true,
            }
        };
        if end {
            let _ = sock.close(rfc6455::CloseCode::NORMAL, "").await;
            return rec;
        }
        drop(sock);
        rec.conns[c].3 = Some(Instant::now());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The speaker of a line in the seed's strings (`User… says: …`, `User…
/// just connected.`, `User… left.`).
fn speaker(line: &str) -> Option<&str> {
    line.split_once(" says: ")
        .map(|(who, _)| who)
        .or_else(|| line.strip_suffix(" just connected."))
        .or_else(|| line.strip_suffix(" left."))
}

/// What the plain clients' transcripts came to (see [`check_plain`]).
#[derive(Default)]
struct PlainCheck {
    connections: usize,
    read: u64,
    /// Lines read that are lines of the stream, each once, in order.
    from_stream: u64,
    /// The outage notices ([`UNREACHABLE`], [`REACHABLE`]).
    notices: u64,
    /// Lines read that are not in the stream but were said on the reader's
    /// own node by a plain client while Redis was unreachable; per outage.
    local_only: u64,
    local_per_outage: Vec<u64>,
    /// Bad: read again, or before a line read already.
    dups_or_disorder: u64,
    /// Bad: in neither the stream nor the local lines allowed.
    foreign: u64,
    /// Bad: lines of the stream missing between two lines one connection read.
    missing_in_connection: u64,
    /// Bad: lines of the stream the last connection had not read at the end.
    short_at_end: u64,
    /// Lines of the stream missed between two connections (no resume), per
    /// fault that ended the connection.
    missed_reconnecting: Vec<(String, u64)>,
    /// Lines said: in the stream once, twice or more, only on the speaker's
    /// node (during an outage), nowhere.
    said: u64,
    said_logged: u64,
    said_logged_twice: u64,
    said_local_only: u64,
    said_lost: u64,
}

/// Checks the plain clients' transcripts against the stream: every line a
/// plain client read is a line of the stream (in the stream's order, once,
/// and none missing while its connection lasted), an outage notice, or a
/// line said by a plain client on its own node during a Redis outage
/// (`outages`, from the fault to 10 s after it). Counts what they lost.
fn check_plain(
    plain: &[PlainRecord],
    stream: &[(Id, String)],
    settled: Option<usize>,
    outages: &[(Instant, Instant)],
    faults: &[(&str, Instant, Vec<usize>)],
) -> PlainCheck {
    let mut at: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, l) in stream.iter().enumerate() {
        at.entry(l.1.as_str()).or_default().push(k);
    }
    // Every plain client's name on each node (over all its connections).
    let plain_names: HashMap<&str, usize> = plain
        .iter()
        .flat_map(|p| p.conns.iter().map(|c| (c.1.as_str(), c.0)))
        .collect();
    let outage_of = |t: Instant| outages.iter().position(|(a, b)| t >= *a && t <= *b);
    let mut ck = PlainCheck {
        local_per_outage: vec![0; outages.len()],
        ..PlainCheck::default()
    };
    let mut shown_bad = 0;
    for (k, p) in plain.iter().enumerate() {
        ck.connections += p.conns.len();
        let mut pos = 0usize;
        // Per connection: the stream positions read.
        let mut matched: Vec<Vec<usize>> = vec![Vec::new(); p.conns.len()];
        for (c, text, t) in &p.lines {
            ck.read += 1;
            if text == UNREACHABLE || text == REACHABLE {
                ck.notices += 1;
                continue;
            }
            let places = at.get(text.as_str()).map_or(&[][..], Vec::as_slice);
            let next = places.partition_point(|&j| j < pos);
            if let Some(&j) = places.get(next) {
                matched[*c].push(j);
                pos = j + 1;
                ck.from_stream += 1;
                continue;
            }
            let outage = outage_of(*t);
            let local = places.is_empty()
                && speaker(text).and_then(|s| plain_names.get(s)) == Some(&p.conns[*c].0);
            if let (true, Some(o)) = (local, outage) {
                ck.local_only += 1;
                ck.local_per_outage[o] += 1;
                continue;
            }
            if places.is_empty() {
                ck.foreign += 1;
            } else {
                ck.dups_or_disorder += 1;
            }
            if shown_bad < 5 {
                shown_bad += 1;
                let whose = speaker(text).and_then(|s| plain_names.get(s));
                eprintln!(
                    "chaos: plain client {k}: unexpected line {text:?} on node {} (a plain client's \
                     on node {whose:?}), {:?} after its connection {c} opened",
                    p.conns[*c].0,
                    t.duration_since(p.conns[*c].2)
                );
            }
        }
        for (c, m) in matched.iter().enumerate() {
            if let (Some(f), Some(l)) = (m.first(), m.last()) {
                let missing = (l + 1 - f) - m.len();
                if missing > 0 && shown_bad < 5 {
                    shown_bad += 1;
                    eprintln!("chaos: plain client {k}: connection {c} misses {missing} lines");
                }
                ck.missing_in_connection += missing as u64;
            }
            // Between this connection and the next that read anything.
            let next_first = matched[c + 1..].iter().find_map(|m| m.first());
            if let (Some(l), Some(nf)) = (m.last(), next_first) {
                let lost_at = p.conns[c].3.unwrap_or(p.conns[c].2);
                let why = faults
                    .iter()
                    .rfind(|f| f.1 <= lost_at + Duration::from_millis(500))
                    .map_or("?", |f| f.0);
                ck.missed_reconnecting
                    .push((format!("plain client {k}, {why}"), (nf - l - 1) as u64));
            }
        }
        let last = matched.iter().rev().find_map(|m| m.last());
        if let (Some(&end), Some(&l)) = (settled.as_ref(), last) {
            if l < end {
                ck.short_at_end += (end - l) as u64;
                eprintln!("chaos: plain client {k} stops {} lines short", end - l);
            }
        }
    }
    // What the plain clients said.
    let mut said_at: HashMap<&str, usize> = HashMap::new();
    for l in stream {
        if let Some((_, text)) = l.1.split_once(" says: ") {
            *said_at.entry(text).or_default() += 1;
        }
    }
    let heard: std::collections::HashSet<&str> = plain
        .iter()
        .flat_map(|p| p.lines.iter().filter_map(|l| l.1.split_once(" says: ")))
        .map(|(_, text)| text)
        .collect();
    for p in plain {
        for (_, text, _) in &p.said {
            ck.said += 1;
            match said_at.get(text.as_str()).copied().unwrap_or(0) {
                0 if heard.contains(text.as_str()) => ck.said_local_only += 1,
                0 => ck.said_lost += 1,
                1 => ck.said_logged += 1,
                _ => ck.said_logged_twice += 1,
            }
        }
    }
    ck
}

/// Makes closing `tcp` send a reset (`SO_LINGER` 0), not a FIN.
fn reset_on_close(tcp: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket, and a `linger` option value of its size.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

/// The stream: (id, line), oldest first.
fn read_stream(port: u16) -> Vec<(Id, String)> {
    let mut con = redis_con(port).expect("redis");
    let v: redis::Value = redis::cmd("XRANGE")
        .arg(format!("chat:{{{ROOM}}}:log"))
        .arg("-")
        .arg("+")
        .query(&mut con)
        .expect("XRANGE");
    let text = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    if let redis::Value::Array(items) = v {
        for item in items {
            if let redis::Value::Array(pair) = item {
                if let (Some(id), Some(redis::Value::Array(f))) =
                    (parse_id(&text(&pair[0])), pair.get(1))
                {
                    let line = f.get(1).map(text).unwrap_or_default();
                    out.push((id, line));
                }
            }
        }
    }
    out
}

fn quantile(v: &mut [Duration], q: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    // SAFETY: plain rlimit calls on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    let dir = std::env::temp_dir().join(format!("chat_chaos_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rport = free_port();
    let mut redis = Some(start_redis(rport, &dir));
    let kinds = [
        "broadcast",
        "async_broadcast",
        "broadcast",
        "async_broadcast",
    ];
    let mut nodes = Vec::new();
    let mut addrs = Vec::new();
    for k in kinds {
        let (p, a) = start_node(&args.bin_dir.join(k), k, rport);
        nodes.push(Some(p));
        addrs.push(a);
    }
    eprintln!("chaos: redis on {rport}, nodes {addrs:?}");
    let w = Arc::new(World {
        dead: addrs.iter().map(|_| AtomicBool::new(false)).collect(),
        addrs,
        stop_sending: AtomicBool::new(false),
        // The `chat.v2` clients', then the plain clients' (one per node).
        drop_now: (0..args.clients + kinds.len())
            .map(|_| AtomicBool::new(false))
            .collect(),
        dropped: Notify::new(),
        sent: AtomicU64::new(0),
        plain_burst: AtomicBool::new(false),
    });
    let done = Arc::new(Notify::new());
    let per_sender = args.rate / args.senders.max(1) as f64;
    let mut tasks = Vec::new();
    for i in 0..args.clients {
        let rate = (i < args.senders).then_some(per_sender);
        tasks.push(tokio::spawn(client(
            i,
            Arc::clone(&w),
            rate,
            Arc::clone(&done),
        )));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Plain clients, one per node: the seed's strings, no resume.
    let plain_tasks: Vec<_> = (0..w.addrs.len())
        .map(|k| {
            tokio::spawn(plain_client(
                k,
                Arc::clone(&w),
                args.clients + k,
                Arc::clone(&done),
            ))
        })
        .collect();
    let run = Duration::from_secs_f64(args.seconds);
    let t0 = Instant::now();
    let at = |k: u32| t0 + run * k / 6;
    let mut faults: Vec<(&str, Instant, Vec<usize>)> = Vec::new();
    let everyone: Vec<usize> = (0..args.clients).collect();
    // When Redis was unreachable (to 5 s after the fault): a plain client's
    // line may stay on its node then.
    let mut outages: Vec<(Instant, Instant)> = Vec::new();

    tokio::time::sleep_until(at(1).into()).await;
    let killed = 0;
    w.dead[killed].store(true, Relaxed);
    if let Some(mut p) = nodes[killed].take() {
        let _ = p.0.kill();
        let _ = p.0.wait();
    }
    let of_killed: Vec<usize> = (0..args.clients).filter(|i| i % 4 == killed).collect();
    faults.push(("kill -9 a broadcast node", Instant::now(), of_killed));
    eprintln!(
        "chaos: {:.1}s: killed node 0 (broadcast)",
        t0.elapsed().as_secs_f64()
    );

    // The plain clients speak fast from just before each Redis fault to a
    // second after it.
    let burst = |w: &Arc<World>| {
        w.plain_burst.store(true, Relaxed);
        let w = Arc::clone(w);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            w.plain_burst.store(false, Relaxed);
        });
    };
    tokio::time::sleep_until((at(2) - Duration::from_millis(200)).into()).await;
    burst(&w);
    tokio::time::sleep_until(at(2).into()).await;
    let cut_at = Instant::now();
    let killed_conns = tokio::task::spawn_blocking(move || -> redis::RedisResult<i64> {
        let mut con = redis_con(rport)?;
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .query(&mut con)
    })
    .await
    .expect("join");
    faults.push(("CLIENT KILL TYPE normal", Instant::now(), everyone.clone()));
    outages.push((cut_at, Instant::now() + Duration::from_secs(5)));
    eprintln!(
        "chaos: {:.1}s: CLIENT KILL TYPE normal: {killed_conns:?}",
        t0.elapsed().as_secs_f64()
    );

    tokio::time::sleep_until((at(3) - Duration::from_millis(200)).into()).await;
    burst(&w);
    tokio::time::sleep_until(at(3).into()).await;
    let redis_killed_at = Instant::now();
    drop(redis.take());
    let restarted_at = Instant::now();
    let dir2 = dir.clone();
    redis = Some(
        tokio::task::spawn_blocking(move || start_redis(rport, &dir2))
            .await
            .expect("join"),
    );
    outages.push((redis_killed_at, Instant::now() + Duration::from_secs(5)));
    faults.push((
        "redis kill -9 + restart (appendonly yes)",
        restarted_at,
        everyone.clone(),
    ));
    eprintln!(
        "chaos: {:.1}s: redis killed and restarted in {:?}",
        t0.elapsed().as_secs_f64(),
        restarted_at.elapsed()
    );

    tokio::time::sleep_until(at(4).into()).await;
    let dropped: Vec<usize> = (0..args.clients).filter(|i| i % 10 == 3).collect();
    for &i in &dropped {
        w.drop_now[i].store(true, Relaxed);
    }
    // And one plain client's (the one that started on node 2).
    w.drop_now[args.clients + 2].store(true, Relaxed);
    w.dropped.notify_waiters();
    faults.push((
        "10% of client TCP connections reset",
        Instant::now(),
        dropped,
    ));
    eprintln!(
        "chaos: {:.1}s: reset 10% of the clients' connections",
        t0.elapsed().as_secs_f64()
    );

    tokio::time::sleep_until((t0 + run).into()).await;
    w.stop_sending.store(true, Relaxed);
    // Settle: everything acknowledged, everyone at the stream's end.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Every client must have read up to here (lines after it are the
    // clients' own departures).
    let settled = tokio::task::spawn_blocking(move || read_stream(rport))
        .await
        .expect("join")
        .last()
        .map(|l| l.0);
    done.notify_waiters();
    let mut records = Vec::new();
    for t in tasks {
        records.push(t.await.expect("client task"));
    }
    let mut plain = Vec::new();
    for t in plain_tasks {
        plain.push(t.await.expect("plain client task"));
    }
    let stream = read_stream(rport);
    let index: HashMap<Id, usize> = stream.iter().enumerate().map(|(k, l)| (l.0, k)).collect();
    let settled_at = settled.and_then(|id| index.get(&id)).copied();
    let pc = check_plain(&plain, &stream, settled_at, &outages, &faults);
    let (mut lost, mut dups, mut disorder, mut gaps, mut unacked) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut acked_total = 0u64;
    let mut bad_clients = 0;
    for (i, r) in records.iter().enumerate() {
        let mut bad = false;
        // In order, once.
        for pair in r.lines.windows(2) {
            if pair[1].0 == pair[0].0 {
                dups += 1;
                bad = true;
            } else if pair[1].0 < pair[0].0 {
                disorder += 1;
                bad = true;
            }
        }
        // Nothing missing between its first and last line.
        if let (Some(f), Some(l)) = (r.lines.first(), r.lines.last()) {
            if let (Some(&a), Some(&b)) = (index.get(&f.0), index.get(&l.0)) {
                let want = b + 1 - a;
                let mut ids: Vec<Id> = r.lines.iter().map(|x| x.0).collect();
                ids.dedup();
                if ids.len() < want {
                    gaps += (want - ids.len()) as u64;
                    bad = true;
                    if bad_clients < 3 {
                        let have: std::collections::HashSet<Id> = ids.iter().copied().collect();
                        let missing: Vec<_> = stream[a..=b]
                            .iter()
                            .filter(|l| !have.contains(&l.0))
                            .take(5)
                            .collect();
                        eprintln!("chaos: client {i} misses {missing:?}");
                    }
                }
                // Its transcript reaches the settled end of the stream.
                let end = settled_at.unwrap_or(0);
                if b < end {
                    gaps += (end - b) as u64;
                    bad = true;
                    if bad_clients < 3 {
                        eprintln!("chaos: client {i} stops {} lines short", end - b);
                    }
                }
            }
            for l in &r.lines {
                if index.get(&l.0).map(|&k| &stream[k].1) != Some(&l.1) {
                    lost += 1;
                    bad = true;
                }
            }
        }
        // Every acknowledged message is in the stream, once, with its text.
        for (id, text) in r.acked.values() {
            acked_total += 1;
            let n = stream
                .iter()
                .filter(|l| l.1.ends_with(&format!("says: {text}")))
                .count();
            if !index.contains_key(id) || n != 1 {
                lost += u64::from(n == 0);
                dups += u64::from(n > 1);
                bad = true;
            }
        }
        if i < args.senders {
            let sent_here = r.acked.len();
            let max_cid = r.acked.keys().max().copied().unwrap_or(0) as usize;
            unacked += (max_cid - sent_here) as u64;
        }
        if bad {
            bad_clients += 1;
            if bad_clients <= 5 {
                eprintln!(
                    "chaos: client {i}: {} lines, first {:?}",
                    r.lines.len(),
                    r.lines.first().map(|l| l.0)
                );
            }
        }
    }
    let lost_notices: u64 = records.iter().map(|r| r.lost_notices).sum();
    let busy: u64 = records.iter().map(|r| r.busy).sum();
    let reconnects: usize = records.iter().map(|r| r.reconnects.len()).sum();
    println!(
        "chaos: {} clients on 4 nodes (2 broadcast, 2 async_broadcast), {} senders at {} lines/s for {} s",
        args.clients, args.senders, args.rate, args.seconds
    );
    println!(
        "chaos: stream {} lines; {} messages sent, {} acknowledged; {} reconnects",
        stream.len(),
        w.sent.load(Relaxed),
        acked_total,
        reconnects,
    );
    for (name, at, who) in &faults {
        let until = *at + Duration::from_secs(10);
        let mut worst: Vec<Duration> = Vec::new();
        for &i in who {
            let r = &records[i];
            let mut prev: Option<Instant> = r.lines.iter().rev().map(|l| l.2).find(|t| t < at);
            let mut max = Duration::ZERO;
            for l in r.lines.iter().filter(|l| l.2 >= *at && l.2 < until) {
                if let Some(p) = prev {
                    max = max.max(l.2 - p);
                }
                prev = Some(l.2);
            }
            worst.push(max);
        }
        let p50 = quantile(&mut worst, 0.5);
        let p99 = quantile(&mut worst, 0.99);
        println!(
            "chaos: {name}: {} clients, longest gap between lines p50 {} ms, p99 {} ms",
            who.len(),
            p50.as_millis(),
            p99.as_millis()
        );
    }
    println!(
        "chaos: check: {lost} acknowledged/logged lines lost, {dups} duplicates, {disorder} out of order, \
         {gaps} missing from transcripts, {unacked} messages never acknowledged, {lost_notices} history-lost \
         notices, {busy} push-backs; {bad_clients} clients with a bad transcript"
    );
    let missed: u64 = pc.missed_reconnecting.iter().map(|m| m.1).sum();
    println!(
        "chaos: plain clients: {} ({} connections), {} lines read: {} of the stream (in order, once, \
         none missing within a connection), {} outage notices, {} said on their own node while Redis \
         was unreachable (not in the log: {:?} in the CLIENT KILL and Redis restart outages); {} \
         duplicated or out of order, {} not in the log, {} missing within a connection, {} missing \
         at the end",
        plain.len(),
        pc.connections,
        pc.read,
        pc.from_stream,
        pc.notices,
        pc.local_only,
        pc.local_per_outage,
        pc.dups_or_disorder,
        pc.foreign,
        pc.missing_in_connection,
        pc.short_at_end
    );
    println!(
        "chaos: plain clients' losses: {missed} lines of the log missed while reconnecting (no resume): {}",
        pc.missed_reconnecting
            .iter()
            .map(|(why, n)| format!("{n} ({why})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "chaos: plain clients said {} lines: {} in the log once, {} twice, {} on their own node only \
         (Redis unreachable), {} nowhere",
        pc.said, pc.said_logged, pc.said_logged_twice, pc.said_local_only, pc.said_lost
    );
    drop(nodes);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    let plain_ok = pc.dups_or_disorder == 0
        && pc.said_logged_twice == 0
        && pc.foreign == 0
        && pc.missing_in_connection == 0
        && pc.short_at_end == 0
        && pc.from_stream > 0;
    let ok = lost == 0
        && dups == 0
        && disorder == 0
        && gaps == 0
        && unacked == 0
        && lost_notices == 0
        && plain_ok;
    println!("chaos: {}", if ok { "PASS" } else { "FAIL" });
    std::process::exit(if ok { 0 } else { 1 });
}
