//! The Redis link: one room spread over several nodes through a Redis
//! pub/sub channel ([`CHANNEL`]).
//!
//! Every line said on this node (messages, join and leave notices) is
//! delivered to the clients here at once by the room, and also handed to the
//! [`Outbox`]: a bounded queue drained by a publisher thread, which publishes
//! `"<node id> <line>"`. Handing a line over never waits: when the queue is
//! full (Redis slow or stuck) the line is dropped with a log line, and stays
//! on this node. A subscriber thread receives what every node published and
//! delivers the lines of the other nodes to the clients here; its own lines
//! (same node id, a random 64-bit number per process) it skips, since they
//! were delivered locally already. One publisher connection and one channel
//! keep each sender's lines in order everywhere.
//!
//! Losing Redis: the node keeps serving its own clients, logs the loss,
//! tells its clients once that other nodes are unreachable (and each client
//! that joins during the outage, once), and reconnects with a backoff from
//! 100 ms doubling to 5 s. Lines said during the outage stay on this node:
//! they are neither queued nor sent later. Once the subscriber is back, the
//! clients are told that other nodes are reachable again and lines cross
//! nodes again. The subscriber pings Redis when nothing came for a while, so
//! a Redis that hangs without closing the connection is noticed too.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use redis::{Client, Connection, PubSub, RedisError};

use crate::room::Room;

/// The channel every node publishes to and subscribes to.
pub const CHANNEL: &str = "rfc6455:chat";

/// What the clients are told when Redis is lost, and while it stays lost.
pub const UNREACHABLE: &str = "Other nodes are unreachable; messages stay on this node.";

/// What the clients are told when Redis is back.
pub const REACHABLE: &str = "Other nodes are reachable again.";

/// Lines waiting for the publisher beyond which new ones are dropped.
const OUTBOX_LINES: usize = 1024;

/// Reconnection delays: from the first to the last, doubling.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Bounds on waiting for Redis: connecting, writing, and replies.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Silence on the subscription after which the subscriber pings Redis.
const IDLE: Duration = Duration::from_secs(2);

/// Longest line accepted from the channel (the clients' messages are at most
/// 64 KiB, plus the name).
const MAX_LINE: usize = 80 << 10;

/// State shared by the publisher and the subscriber.
struct Shared {
    client: Client,
    /// This process's id, in front of every line it publishes.
    node: u64,
    /// The subscriber is connected: Redis is reachable.
    up: AtomicBool,
    /// How many times the subscriber connected: the publisher replaces a
    /// connection made before Redis was last lost.
    sessions: AtomicU64,
}

/// The node's way into Redis, before its threads start.
pub struct Link {
    shared: Arc<Shared>,
    lines: Receiver<String>,
}

/// The publisher's queue, as the room sees it: lines handed over here are
/// published by the publisher thread, or dropped.
pub struct Outbox {
    lines: SyncSender<String>,
    /// Lines dropped in a row because the queue was full.
    dropped: AtomicU64,
}

impl Outbox {
    /// Hands a line to the publisher, never waiting.
    pub fn publish(&self, line: &str) {
        match self.lines.try_send(line.to_string()) {
            Ok(()) => {
                let n = self.dropped.swap(0, Ordering::Relaxed);
                if n > 0 {
                    eprintln!(
                        "broadcast: redis publisher caught up; {n} lines stayed on this node"
                    );
                }
            }
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "broadcast: redis publisher is behind ({OUTBOX_LINES} lines queued): \
                         dropping lines, they stay on this node"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

impl Link {
    /// A link to the Redis at `url` (`redis://HOST:PORT/`), with its outbox.
    /// Nothing is connected yet; this only checks the URL.
    pub fn new(url: &str) -> Result<(Link, Outbox), RedisError> {
        let client = Client::open(url)?;
        let (tx, rx) = mpsc::sync_channel(OUTBOX_LINES);
        let shared = Arc::new(Shared {
            client,
            node: random_node_id(),
            up: AtomicBool::new(false),
            sessions: AtomicU64::new(0),
        });
        let outbox = Outbox {
            lines: tx,
            dropped: AtomicU64::new(0),
        };
        Ok((Link { shared, lines: rx }, outbox))
    }

    /// Starts the publisher and the subscriber, which delivers to `room`.
    pub fn start(self, room: &Arc<Room>) -> std::io::Result<()> {
        eprintln!(
            "broadcast: node {:016x}, sharing the room through redis channel {CHANNEL}",
            self.shared.node
        );
        let (shared, lines) = (Arc::clone(&self.shared), self.lines);
        std::thread::Builder::new()
            .name("redis-publisher".into())
            .spawn(move || publish_lines(&shared, lines))?;
        let (shared, room) = (self.shared, Arc::clone(room));
        std::thread::Builder::new()
            .name("redis-subscriber".into())
            .spawn(move || subscribe(&shared, &room))?;
        Ok(())
    }
}

/// A random id for this process (std's hasher keys are random per process).
fn random_node_id() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}

fn connect(shared: &Shared) -> Result<Connection, RedisError> {
    let con = shared.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    con.set_write_timeout(Some(IO_TIMEOUT))?;
    con.set_read_timeout(Some(IO_TIMEOUT))?;
    Ok(con)
}

/// The publisher thread: publishes each line handed over, while Redis is
/// reachable; drops it otherwise (it was delivered locally already).
fn publish_lines(shared: &Shared, lines: Receiver<String>) {
    // The connection, and the subscriber session it was made in.
    let mut con: Option<(u64, Connection)> = None;
    // Lines kept local while Redis was unreachable, and whether the last
    // attempt failed (to log a failure once, not once per line).
    let mut kept = 0u64;
    let mut failing = false;
    for line in lines {
        if !shared.up.load(Ordering::SeqCst) {
            con = None;
            kept += 1;
            continue;
        }
        if kept > 0 {
            eprintln!("broadcast: {kept} lines stayed on this node while redis was unreachable");
            kept = 0;
        }
        let payload = format!("{:016x} {line}", shared.node);
        // A connection that fails is replaced once, at once: it may be one
        // that Redis dropped while idle.
        let mut last_error = None;
        for _ in 0..2 {
            let session = shared.sessions.load(Ordering::SeqCst);
            if con.as_ref().is_some_and(|(s, _)| *s != session) {
                con = None;
            }
            if con.is_none() {
                match connect(shared) {
                    Ok(c) => con = Some((session, c)),
                    Err(e) => {
                        last_error = Some(e);
                        break;
                    }
                }
            }
            let Some((_, c)) = con.as_mut() else { break };
            match redis::cmd("PUBLISH").arg(CHANNEL).arg(&payload).exec(c) {
                Ok(()) => {
                    last_error = None;
                    break;
                }
                Err(e) => {
                    con = None;
                    last_error = Some(e);
                }
            }
        }
        match last_error {
            None => failing = false,
            Some(e) => {
                if !failing {
                    eprintln!("broadcast: redis publish failed, line kept on this node: {e}");
                }
                failing = true;
            }
        }
    }
}

/// The subscriber thread: relays other nodes' lines to `room`, and keeps
/// reconnecting to Redis, for as long as the process runs.
fn subscribe(shared: &Shared, room: &Room) {
    let mut backoff = BACKOFF_MIN;
    // The clients were told that other nodes are unreachable.
    let mut told = false;
    loop {
        let mut was_up = false;
        let lost = match connect(shared) {
            Err(e) => e,
            Ok(mut con) => {
                let mut sub = con.as_pubsub();
                match sub
                    .subscribe(CHANNEL)
                    .and_then(|()| sub.set_read_timeout(Some(IDLE)))
                {
                    Err(e) => e,
                    Ok(()) => {
                        was_up = true;
                        backoff = BACKOFF_MIN;
                        shared.sessions.fetch_add(1, Ordering::SeqCst);
                        shared.up.store(true, Ordering::SeqCst);
                        eprintln!("broadcast: redis link up (channel {CHANNEL})");
                        if told {
                            told = false;
                            room.notify(REACHABLE, None);
                        }
                        relay_incoming(shared, room, &mut sub)
                    }
                }
            }
        };
        shared.up.store(false, Ordering::SeqCst);
        if was_up || !told {
            eprintln!(
                "broadcast: redis link down: {lost}; local chat goes on; reconnecting \
                 (backoff {} ms doubling to {} s)",
                BACKOFF_MIN.as_millis(),
                BACKOFF_MAX.as_secs()
            );
        }
        if !told {
            told = true;
            room.notify(UNREACHABLE, Some(UNREACHABLE));
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Delivers the lines other nodes publish, until the connection fails.
fn relay_incoming(shared: &Shared, room: &Room, sub: &mut PubSub<'_>) -> RedisError {
    let mut warned = false;
    loop {
        let msg = match sub.get_message() {
            Ok(msg) => msg,
            Err(e) if e.is_timeout() => {
                // Quiet for a while: is Redis still there?
                if let Err(e) = sub.ping::<redis::Value>() {
                    return e;
                }
                continue;
            }
            Err(e) => return e,
        };
        let parsed = std::str::from_utf8(msg.get_payload_bytes())
            .ok()
            .and_then(|text| text.split_once(' '))
            .and_then(|(id, line)| Some((u64::from_str_radix(id, 16).ok()?, line)))
            .filter(|(_, line)| line.len() <= MAX_LINE);
        match parsed {
            // Our own line, delivered here already.
            Some((node, _)) if node == shared.node => {}
            Some((_, line)) => room.deliver(line),
            None if !warned => {
                warned = true;
                eprintln!("broadcast: ignoring a malformed message on redis channel {CHANNEL}");
            }
            None => {}
        }
    }
}
