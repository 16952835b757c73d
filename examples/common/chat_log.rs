//! A chat room's log, shared by `broadcast` and `async_broadcast`: in memory
//! (one node), or a Redis Stream per room (`--redis URL`, any number of
//! nodes), and the `chat.v2` subprotocol its resumable clients speak.
//!
//! **The log.** Every line said in a room (the seed's strings:
//! `User<port> says: <text>`, `... just connected.`, `... left.`) is
//! appended to the room's log and delivered to the clients *from* the log,
//! so the log's order is the room's order on every node. A line's id is
//! `<ms>-<n>`: the time it was appended and its number in the room (1, 2,
//! 3, ...), so a gap in the numbers is a count of lines lost to trimming.
//!
//! **Redis.** A room is the stream `chat:{<room>}:log`, appended to by a
//! Lua script ([`APPEND`]) that also numbers the line
//! (`chat:{<room>}:meta`), de-duplicates a resumable client's message by
//! its session and client id (`chat:{<room>}:s:<token>`, which also keeps
//! the session's name), bounds the stream by length (`XADD MAXLEN ~`) and
//! by age (`XTRIM MINID ~`). Every key of a room carries the room in a hash
//! tag (`{/}`, `{/room/NAME}`), so one room stays in one Redis Cluster
//! slot. Each room has, on each node, a reader thread (`XREAD BLOCK` from
//! the last id it delivered, so nothing appended while it was away is
//! missed) and an appender thread draining a bounded queue; neither ever
//! makes a client wait. When Redis is lost, both reconnect (first retry
//! after [`FIRST_RETRY`], then doubling up to [`MAX_RETRY`]); the queue
//! keeps what was said meanwhile, up to [`Options::queue`] lines, and a
//! message that does not fit is refused ([`LogError::Full`]).
//!
//! Included by the chats with `#[path = "../common/chat_log.rs"] mod
//! chat_log;`.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::{Client, Connection, RedisError, Value};

/// The subprotocol of resumable clients.
pub const PROTOCOL: &str = "chat.v2";

/// First reconnection attempt after Redis is lost...
pub const FIRST_RETRY: Duration = Duration::from_millis(50);
/// ...then doubling up to this.
pub const MAX_RETRY: Duration = Duration::from_secs(2);

/// Bounds on waiting for Redis: connecting, and a reply (`XREAD` blocks
/// for [`READ_BLOCK`] on top).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one `XREAD` waits for new lines.
const READ_BLOCK: Duration = Duration::from_millis(1000);
/// Connections per room for the clients' requests (resumes, sessions).
const REQUEST_CONNECTIONS: usize = 4;

/// Lines fetched by one `XREAD` at most.
const READ_COUNT: usize = 512;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A line's place in its room's log: `<ms>-<n>` (a Redis Stream id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogId {
    /// When it was appended (Unix milliseconds, never going back).
    pub ms: u64,
    /// Its number in the room: 1 for the first line.
    pub n: u64,
}

impl LogId {
    /// Before every line.
    pub const ZERO: LogId = LogId { ms: 0, n: 0 };
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.n)
    }
}

impl FromStr for LogId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<LogId, ProtocolError> {
        let bad = || ProtocolError::BadId(s.chars().take(40).collect());
        let (ms, n) = s.split_once('-').ok_or_else(bad)?;
        Ok(LogId {
            ms: ms.parse().map_err(|_| bad())?,
            n: n.parse().map_err(|_| bad())?,
        })
    }
}

/// One line of a room's log.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: LogId,
    /// The line, in the seed's strings.
    pub line: String,
}

/// A room's log failed to take or give lines.
#[derive(Debug)]
pub enum LogError {
    /// The queue of lines waiting for Redis is full: say it again later.
    Full,
    /// Redis failed (or is unreachable).
    Redis(RedisError),
    /// Redis answered something this code does not understand.
    Reply(String),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Full => f.write_str("the queue of lines waiting for redis is full"),
            LogError::Redis(e) => write!(f, "redis: {e}"),
            LogError::Reply(what) => write!(f, "unexpected reply from redis: {what}"),
        }
    }
}

impl std::error::Error for LogError {}

impl From<RedisError> for LogError {
    fn from(e: RedisError) -> LogError {
        LogError::Redis(e)
    }
}

/// A `chat.v2` request that does not parse.
#[derive(Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// Not one of `hello`, `resume TOKEN ID`, `msg CID TEXT`.
    Unknown(String),
    /// A log id that is not `<ms>-<n>`.
    BadId(String),
    /// A client id that is not a number.
    BadCid(String),
    /// A session token that is not 1 to 64 letters and digits.
    BadToken,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Unknown(what) => write!(f, "unknown request {what:?}"),
            ProtocolError::BadId(id) => write!(f, "bad log id {id:?}"),
            ProtocolError::BadCid(id) => write!(f, "bad client id {id:?}"),
            ProtocolError::BadToken => f.write_str("bad session token"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// What a `chat.v2` client sends (one per text message).
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// `hello`: a new session (the first message only).
    Hello,
    /// `resume TOKEN ID`: the session `TOKEN` again, with every line after
    /// `ID` (the first message only).
    Resume { token: String, after: LogId },
    /// `msg CID TEXT`: say `TEXT`; `CID` is the client's id for it (resent
    /// with the same id until acknowledged).
    Msg { cid: u64, text: String },
}

impl FromStr for Request {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Request, ProtocolError> {
        let (verb, rest) = s.split_once(' ').unwrap_or((s, ""));
        match verb {
            "hello" => Ok(Request::Hello),
            "resume" => {
                let (token, id) = rest
                    .split_once(' ')
                    .ok_or_else(|| ProtocolError::Unknown(s.chars().take(40).collect()))?;
                if !valid_token(token) {
                    return Err(ProtocolError::BadToken);
                }
                Ok(Request::Resume {
                    token: token.to_string(),
                    after: id.parse()?,
                })
            }
            "msg" => {
                let (cid, text) = rest.split_once(' ').unwrap_or((rest, ""));
                let cid = cid
                    .parse()
                    .map_err(|_| ProtocolError::BadCid(cid.chars().take(40).collect()))?;
                Ok(Request::Msg {
                    cid,
                    text: text.to_string(),
                })
            }
            _ => Err(ProtocolError::Unknown(s.chars().take(40).collect())),
        }
    }
}

fn valid_token(t: &str) -> bool {
    (1..=64).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// What the server sends a `chat.v2` client.
pub mod v2 {
    use super::LogId;

    /// `welcome TOKEN NAME ID`: the session, the client's name, and the id
    /// the lines that follow come after.
    pub fn welcome(token: &str, name: &str, after: LogId) -> String {
        format!("welcome {token} {name} {after}")
    }
    /// `line ID TEXT`: a line of the log.
    pub fn line(id: LogId, text: &str) -> String {
        format!("line {id} {text}")
    }
    /// `ack CID ID`: message `CID` is line `ID` of the log.
    pub fn ack(cid: u64, id: LogId) -> String {
        format!("ack {cid} {id}")
    }
    /// `busy CID`: message `CID` was not taken (the queue is full); send
    /// it again later.
    pub fn busy(cid: u64) -> String {
        format!("busy {cid}")
    }
    /// `lost N history lost: N lines` (`?` when the count is unknown):
    /// lines between the last one sent and the next are gone from the log.
    pub fn lost(n: Option<u64>) -> String {
        match n {
            Some(n) => format!("lost {n} history lost: {n} lines"),
            None => "lost ? history lost: the log was reset".to_string(),
        }
    }
    /// `notice TEXT`: a status line, not part of the log.
    pub fn notice(text: &str) -> String {
        format!("notice {text}")
    }
    /// `online N NAME NAME ...`: who is in the room, on every node.
    pub fn online(names: &[String]) -> String {
        let mut s = format!("online {}", names.len());
        for n in names {
            s.push(' ');
            s.push_str(n);
        }
        s
    }
}

/// The room's key prefix, with the room as the hash tag: `chat:{/}` or
/// `chat:{/room/NAME}`.
pub fn key_prefix(room: &str) -> String {
    format!("chat:{{{room}}}")
}

/// A room's name from a request path: `/room/NAME` (letters, digits, `-`,
/// `_`, `.`, at most 64) is a named room; anything else is the seed's one
/// room, `/`.
pub fn room_of(path: &str) -> String {
    match path.strip_prefix("/room/") {
        Some(name)
            if (1..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) =>
        {
            format!("/room/{name}")
        }
        _ => "/".to_string(),
    }
}

/// A new session token: 32 hex digits, random per process and counted.
pub fn new_token() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(32);
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
        h.write_u64(i);
        h.write_u32(std::process::id());
        if let Ok(t) = SystemTime::now().duration_since(UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The log's bounds and the resume window (the chats' flags).
#[derive(Clone, Debug)]
pub struct Options {
    /// `--log-maxlen N`: lines a room's log keeps (about: `MAXLEN ~`).
    pub maxlen: usize,
    /// `--log-max-age SECS`: lines older than this leave the log (about:
    /// `MINID ~`); zero keeps them.
    pub max_age: Duration,
    /// `--resume-window SECS`: how long a session (its name, its messages'
    /// ids) is kept after its client went away.
    pub resume_window: Duration,
    /// `--redis-queue N`: lines waiting for Redis beyond which a message is
    /// refused.
    pub queue: usize,
    /// `--max-rooms N`: rooms a node opens at most (each has its threads
    /// and Redis connections, and rooms stay open): an upgrade asking for
    /// one more is refused with 503, so that a client naming room after
    /// room cannot exhaust the node.
    pub max_rooms: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            maxlen: 10_000,
            max_age: Duration::from_secs(3600),
            resume_window: Duration::from_secs(120),
            queue: 1024,
            max_rooms: 64,
        }
    }
}

impl Options {
    /// Takes one of this module's flags (`flag`, with its value from
    /// `value`); `Ok(false)` if `flag` is not one; `Err` if its value is
    /// missing or bad.
    pub fn parse_flag(
        &mut self,
        flag: &str,
        value: impl FnOnce() -> Option<String>,
    ) -> Result<bool, String> {
        let number = |v: Option<String>| -> Result<f64, String> {
            v.and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v >= 0.0 && v.is_finite())
                .ok_or_else(|| format!("{flag} needs a number"))
        };
        match flag {
            "--log-maxlen" => self.maxlen = number(value())? as usize,
            "--log-max-age" => self.max_age = Duration::from_secs_f64(number(value())?),
            "--resume-window" => self.resume_window = Duration::from_secs_f64(number(value())?),
            "--redis-queue" => self.queue = (number(value())? as usize).max(1),
            "--max-rooms" => self.max_rooms = (number(value())? as usize).max(1),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The flags, for a usage line.
    pub const USAGE: &'static str =
        "[--log-maxlen N] [--log-max-age SECS] [--resume-window SECS] [--redis-queue N] [--max-rooms N]";
}

/// Where a room's log delivers its lines on this node. Calls come from
/// one thread at a time per room, in log order; they must not wait.
pub trait Sink: Send + Sync {
    /// The next line of the log.
    fn deliver(&self, entry: &Entry);
    /// Lines between the last delivered and the next are gone from the log
    /// (`None`: how many is unknown, the log was reset).
    fn lost(&self, n: Option<u64>);
    /// Redis was lost (`false`), or is back (`true`).
    fn link(&self, up: bool);
    /// Who is in the room now, on every node (when that changed).
    fn online(&self, names: &[String]);
}

/// How often each node says who is in its rooms (with Redis: refreshes
/// each name's entry in `chat:{<room>}:online`, which lapses after
/// [`PRESENCE_TTL`] when no node refreshes it).
pub const PRESENCE_EVERY: Duration = Duration::from_secs(1);
/// How long a name stays online without a refresh.
pub const PRESENCE_TTL: Duration = Duration::from_secs(5);

/// Who is in a room on this node: names, with their connections.
#[derive(Default)]
pub struct Presence {
    local: Mutex<HashMap<String, usize>>,
    /// The last list, on every node: `online N NAME...`.
    line: Mutex<String>,
}

impl Presence {
    /// `name` joined (one more connection under it).
    pub fn add(&self, name: &str) {
        *lock(&self.local).entry(name.to_string()).or_default() += 1;
    }

    /// One connection of `name` left.
    pub fn remove(&self, name: &str) {
        let mut local = lock(&self.local);
        if let Some(n) = local.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                local.remove(name);
            }
        }
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.local).keys().cloned().collect();
        v.sort();
        v
    }

    /// The last `online` message (for a client that just joined).
    pub fn line(&self) -> String {
        let line = lock(&self.line);
        if line.is_empty() {
            v2::online(&[])
        } else {
            line.clone()
        }
    }
}

/// Appends this node's names to a room's online set and reads it back.
/// KEYS: online. ARGV: now (ms), ttl (ms), names...
const PRESENCE: &str = r"
local now = tonumber(ARGV[1])
for i = 3, #ARGV do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
";

/// The presence thread of a room: every [`PRESENCE_EVERY`], this node's
/// names (and, with Redis, every node's), to `sink` when they changed.
fn presence_loop(presence: &Presence, sink: &dyn Sink, redis: Option<(Client, String)>) {
    let mut con: Option<Connection> = None;
    let mut last: Option<Vec<String>> = None;
    loop {
        let mut names = presence.names();
        if let Some((client, key)) = &redis {
            if con.is_none() {
                con = client.get_connection_with_timeout(CONNECT_TIMEOUT).ok();
                if let Some(c) = &con {
                    let _ = c.set_read_timeout(Some(IO_TIMEOUT));
                    let _ = c.set_write_timeout(Some(IO_TIMEOUT));
                }
            }
            if let Some(c) = con.as_mut() {
                let mut cmd = redis::cmd("EVAL");
                cmd.arg(PRESENCE)
                    .arg(1)
                    .arg(key)
                    .arg(now_ms())
                    .arg(PRESENCE_TTL.as_millis() as u64);
                for n in &names {
                    cmd.arg(n);
                }
                match cmd.query::<Value>(c) {
                    Ok(Value::Array(all)) => {
                        names = all.iter().filter_map(|v| text(v).ok()).collect();
                        names.sort();
                    }
                    _ => con = None,
                }
            }
        }
        if last.as_ref() != Some(&names) {
            *lock(&presence.line) = v2::online(&names);
            sink.online(&names);
            last = Some(names);
        }
        std::thread::sleep(PRESENCE_EVERY);
    }
}

/// Called once a line is in the log (with its id), or refused.
pub type Done = Box<dyn FnOnce(Result<LogId, LogError>) + Send>;

/// A resumable client's message: its session and its id for it.
#[derive(Clone, Debug)]
pub struct Origin {
    pub token: String,
    pub cid: u64,
}

/// One room's log.
pub struct Log {
    inner: Inner,
    sink: Arc<dyn Sink>,
    /// Who is in the room.
    pub presence: Arc<Presence>,
}

enum Inner {
    Memory(Mutex<Memory>),
    Redis(Arc<RedisLog>),
}

/// The log of a node without Redis.
struct Memory {
    lines: VecDeque<Entry>,
    last: LogId,
    /// Client ids already logged, per session: (session, cid) -> id.
    seen: HashMap<(String, u64), LogId>,
    /// Sessions' names, and when they were last used.
    sessions: HashMap<String, (String, Instant)>,
    maxlen: usize,
    max_age: Duration,
    window: Duration,
}

impl Log {
    /// A log kept in this process only.
    pub fn memory(opts: &Options, sink: Arc<dyn Sink>) -> std::io::Result<Log> {
        let presence = Arc::new(Presence::default());
        let (p, s) = (Arc::clone(&presence), Arc::clone(&sink));
        std::thread::Builder::new()
            .name("presence".into())
            .spawn(move || presence_loop(&p, &*s, None))?;
        Ok(Log {
            presence,
            inner: Inner::Memory(Mutex::new(Memory {
                lines: VecDeque::new(),
                last: LogId::ZERO,
                seen: HashMap::new(),
                sessions: HashMap::new(),
                maxlen: opts.maxlen.max(1),
                max_age: opts.max_age,
                window: opts.resume_window,
            })),
            sink,
        })
    }

    /// The Redis Stream of `room` (see the module's doc), with its reader
    /// and appender threads. Returns at once, whether Redis is there or not.
    pub fn redis(
        client: Client,
        room: &str,
        opts: &Options,
        sink: Arc<dyn Sink>,
        program: &'static str,
    ) -> std::io::Result<Log> {
        let prefix = key_prefix(room);
        let log = Arc::new(RedisLog {
            client,
            log_key: format!("{prefix}:log"),
            meta_key: format!("{prefix}:meta"),
            node_key: format!("{prefix}:n:{}", new_token()),
            prefix,
            opts: opts.clone(),
            queue: Mutex::new(VecDeque::new()),
            queued: Condvar::new(),
            up: AtomicBool::new(false),
            start: Mutex::new(None),
            started: Condvar::new(),
            cmd: (0..REQUEST_CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next_cmd: AtomicU64::new(0),
            program,
        });
        let (l, s) = (Arc::clone(&log), Arc::clone(&sink));
        std::thread::Builder::new()
            .name("redis-reader".into())
            .spawn(move || l.read_loop(&*s))?;
        let l = Arc::clone(&log);
        std::thread::Builder::new()
            .name("redis-appender".into())
            .spawn(move || l.append_loop())?;
        let presence = Arc::new(Presence::default());
        let (p, s) = (Arc::clone(&presence), Arc::clone(&sink));
        let online = (log.client.clone(), format!("{}:online", log.prefix));
        std::thread::Builder::new()
            .name("presence".into())
            .spawn(move || presence_loop(&p, &*s, Some(online)))?;
        Ok(Log {
            inner: Inner::Redis(log),
            sink,
            presence,
        })
    }

    /// Whether lines said now go into the shared log: always without
    /// Redis; with it, while Redis is reachable.
    pub fn is_up(&self) -> bool {
        match &self.inner {
            Inner::Memory(_) => true,
            Inner::Redis(r) => r.up.load(Ordering::SeqCst),
        }
    }

    /// The id the lines this node delivers start after (the end of the
    /// log when the node first reached it); waits up to `wait` for Redis
    /// to be reached once.
    pub fn start(&self, wait: Duration) -> LogId {
        match &self.inner {
            Inner::Memory(_) => LogId::ZERO,
            Inner::Redis(r) => {
                let start = lock(&r.start);
                let (start, _) = r
                    .started
                    .wait_timeout_while(start, wait, |s| s.is_none())
                    .unwrap_or_else(|e| e.into_inner());
                start.unwrap_or(LogId { ms: now_ms(), n: 0 })
            }
        }
    }

    /// Appends `line` (a resumable client's message when `origin` is set:
    /// logged once per session and client id), then calls `done` with its
    /// id. Never waits for Redis: refuses with [`LogError::Full`] when the
    /// queue is full.
    pub fn append(
        &self,
        line: String,
        origin: Option<Origin>,
        done: Option<Done>,
    ) -> Result<(), LogError> {
        match &self.inner {
            Inner::Memory(m) => {
                let mut m = lock(m);
                let key = origin.map(|o| (o.token, o.cid));
                if let Some(id) = key.as_ref().and_then(|k| m.seen.get(k)) {
                    let id = *id;
                    drop(m);
                    if let Some(done) = done {
                        done(Ok(id));
                    }
                    return Ok(());
                }
                let ms = now_ms().max(m.last.ms);
                let id = LogId {
                    ms,
                    n: m.last.n + 1,
                };
                m.last = id;
                if let Some(k) = key {
                    m.seen.insert(k, id);
                }
                m.lines.push_back(Entry { id, line });
                let oldest_ms = ms.saturating_sub(m.max_age.as_millis() as u64);
                while m.lines.len() > m.maxlen
                    || (!m.max_age.is_zero()
                        && m.lines.front().is_some_and(|e| e.id.ms < oldest_ms))
                {
                    m.lines.pop_front();
                }
                // Delivered under the log's lock: in order.
                if let Some(e) = m.lines.back() {
                    self.sink.deliver(e);
                }
                drop(m);
                if let Some(done) = done {
                    done(Ok(id));
                }
                Ok(())
            }
            Inner::Redis(r) => r.enqueue(Pending { line, origin, done }),
        }
    }

    /// The lines after `after`, oldest first (at most `limit`). This may
    /// wait for Redis (up to a couple of seconds).
    pub fn range(&self, after: LogId, limit: usize) -> Result<Vec<Entry>, LogError> {
        match &self.inner {
            Inner::Memory(m) => Ok(lock(m)
                .lines
                .iter()
                .filter(|e| e.id > after)
                .take(limit)
                .cloned()
                .collect()),
            Inner::Redis(r) => r.range(after, limit),
        }
    }

    /// The name of session `token`, if it is known (in the resume window).
    /// This may wait for Redis.
    pub fn session(&self, token: &str) -> Result<Option<String>, LogError> {
        match &self.inner {
            Inner::Memory(m) => {
                let mut m = lock(m);
                let window = m.window;
                m.sessions.retain(|_, (_, t)| t.elapsed() < window);
                Ok(m.sessions.get(token).map(|(name, _)| name.clone()))
            }
            Inner::Redis(r) => r.session(token),
        }
    }

    /// Keeps session `token` (named `name`) for the resume window from now.
    /// This may wait for Redis.
    pub fn keep_session(&self, token: &str, name: &str) -> Result<(), LogError> {
        match &self.inner {
            Inner::Memory(m) => {
                let mut m = lock(m);
                m.sessions
                    .insert(token.to_string(), (name.to_string(), Instant::now()));
                let live: std::collections::HashSet<String> = m.sessions.keys().cloned().collect();
                m.seen.retain(|(t, _), _| live.contains(t));
                Ok(())
            }
            Inner::Redis(r) => r.keep_session(token, name),
        }
    }
}

/// A line waiting for the appender.
struct Pending {
    line: String,
    origin: Option<Origin>,
    done: Option<Done>,
}

/// Appends a line to a room's stream: numbers it, de-duplicates a
/// session's message by its client id, and any other line by the appending
/// node's number for it (the node's last one is kept: a retry after a lost
/// reply is logged once), and trims by length and age.
/// KEYS: log, meta, session (or meta again), node (or meta again). ARGV:
/// maxlen, max age (ms, 0: none), line, token ('' for none), client id,
/// session ttl (s), the node's number for the line (0: none).
pub const APPEND: &str = r"
local tok = ARGV[4]
local seq = tonumber(ARGV[7])
if tok ~= '' then
  local prev = redis.call('HGET', KEYS[3], 'c' .. ARGV[5])
  if prev then return prev end
elseif seq > 0 then
  local prev = redis.call('HMGET', KEYS[4], 'seq', 'id')
  if prev[1] and tonumber(prev[1]) >= seq then return prev[2] end
end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('HGET', KEYS[2], 'ms') or '0')
if ms < last then ms = last end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
local sms = string.format('%d', ms)
redis.call('HSET', KEYS[2], 'ms', sms)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], sms .. '-' .. n, 'l', ARGV[3])
local age = tonumber(ARGV[2])
if age > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', ms - age))
end
if tok ~= '' then
  redis.call('HSET', KEYS[3], 'c' .. ARGV[5], id)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
elseif seq > 0 then
  redis.call('HSET', KEYS[4], 'seq', ARGV[7], 'id', id)
  redis.call('EXPIRE', KEYS[4], ARGV[6])
end
return id
";

struct RedisLog {
    client: Client,
    prefix: String,
    log_key: String,
    meta_key: String,
    opts: Options,
    queue: Mutex<VecDeque<Pending>>,
    queued: Condvar,
    /// The reader's connection works.
    up: AtomicBool,
    /// Where the reader started (the end of the stream when first reached).
    start: Mutex<Option<LogId>>,
    started: Condvar,
    /// Connections for the clients' requests (`range`, sessions): a few,
    /// so that a crowd resuming at once does not queue behind one.
    cmd: Vec<Mutex<Option<Connection>>>,
    /// The next of `cmd` to wait for when all are busy.
    next_cmd: AtomicU64,
    program: &'static str,
    /// This node's key for its last line without a session (see [`APPEND`]).
    node_key: String,
}

impl RedisLog {
    fn connect(&self) -> Result<Connection, RedisError> {
        let con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        con.set_write_timeout(Some(IO_TIMEOUT))?;
        con.set_read_timeout(Some(IO_TIMEOUT + READ_BLOCK))?;
        Ok(con)
    }

    fn enqueue(&self, p: Pending) -> Result<(), LogError> {
        let mut q = lock(&self.queue);
        if q.len() >= self.opts.queue {
            return Err(LogError::Full);
        }
        q.push_back(p);
        drop(q);
        self.queued.notify_one();
        Ok(())
    }

    /// Runs a command on the shared request connection (made again once
    /// if it fails: it may be one Redis dropped).
    fn request(&self, cmd: &redis::Cmd) -> Result<Value, LogError> {
        // A free connection, or else wait for one in turn.
        let mut con = match self.cmd.iter().find_map(|c| c.try_lock().ok()) {
            Some(c) => c,
            None => {
                let k = self.next_cmd.fetch_add(1, Ordering::Relaxed) as usize;
                lock(&self.cmd[k % self.cmd.len()])
            }
        };
        let mut last = None;
        for _ in 0..2 {
            if con.is_none() {
                *con = Some(self.connect()?);
            }
            let Some(c) = con.as_mut() else { break };
            match cmd.query::<Value>(c) {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) => {
                    *con = None;
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or(LogError::Reply("no connection".into()), LogError::Redis))
    }

    fn range(&self, after: LogId, limit: usize) -> Result<Vec<Entry>, LogError> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&self.log_key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit);
        entries(&self.request(&cmd)?)
    }

    fn session_key(&self, token: &str) -> String {
        format!("{}:s:{token}", self.prefix)
    }

    fn session(&self, token: &str) -> Result<Option<String>, LogError> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.session_key(token)).arg("name");
        match self.request(&cmd)? {
            Value::Nil => Ok(None),
            v => Ok(Some(text(&v)?)),
        }
    }

    fn keep_session(&self, token: &str, name: &str) -> Result<(), LogError> {
        let key = self.session_key(token);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(
            "redis.call('HSET', KEYS[1], 'name', ARGV[1]) \
             redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1",
        )
        .arg(1)
        .arg(&key)
        .arg(name)
        .arg(self.opts.resume_window.as_secs().max(1));
        self.request(&cmd).map(drop)
    }

    /// The appender thread: appends the queued lines in order, each until
    /// it is in (a retry after a lost reply is de-duplicated: a session's
    /// message by its client id, any other line by this node's number for
    /// it).
    fn append_loop(&self) {
        let mut con: Option<Connection> = None;
        let mut backoff = FIRST_RETRY;
        // This node's number for the line at the front of the queue (kept
        // across retries: a line without a session is de-duplicated by it).
        let mut seq = 0u64;
        let mut numbered = false;
        loop {
            let (line, origin) = {
                let mut q = lock(&self.queue);
                while q.is_empty() {
                    q = self.queued.wait(q).unwrap_or_else(|e| e.into_inner());
                }
                let p = &q[0];
                (p.line.clone(), p.origin.clone())
            };
            if !numbered {
                seq += 1;
                numbered = true;
            }
            if con.is_none() {
                match self.connect() {
                    Ok(c) => con = Some(c),
                    Err(_) => {
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(MAX_RETRY);
                        continue;
                    }
                }
            }
            let Some(c) = con.as_mut() else { continue };
            let session = origin.as_ref().map(|o| self.session_key(&o.token));
            let result = redis::cmd("EVAL")
                .arg(APPEND)
                .arg(4)
                .arg(&self.log_key)
                .arg(&self.meta_key)
                .arg(session.as_deref().unwrap_or(&self.meta_key))
                .arg(match origin {
                    Some(_) => &self.meta_key,
                    None => &self.node_key,
                })
                .arg(self.opts.maxlen.max(1))
                .arg(self.opts.max_age.as_millis() as u64)
                .arg(&line)
                .arg(origin.as_ref().map_or("", |o| o.token.as_str()))
                .arg(origin.as_ref().map_or(0, |o| o.cid))
                .arg(self.opts.resume_window.as_secs().max(1))
                .arg(if origin.is_some() { 0 } else { seq })
                .query::<Value>(c);
            let outcome = match result {
                Ok(v) => text(&v).and_then(|s| {
                    s.parse::<LogId>()
                        .map_err(|e| LogError::Reply(e.to_string()))
                }),
                Err(e) if transient(&e) => {
                    con = None;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_RETRY);
                    continue;
                }
                Err(e) => Err(LogError::Redis(e)),
            };
            backoff = FIRST_RETRY;
            numbered = false;
            let p = lock(&self.queue).pop_front();
            if let Err(e) = &outcome {
                eprintln!("{}: a line was refused by redis: {e}", self.program);
            }
            if let Some(done) = p.and_then(|p| p.done) {
                done(outcome);
            }
        }
    }

    /// The reader thread: delivers the stream's lines from where it last
    /// was, for as long as the process runs; reconnects when Redis is lost.
    fn read_loop(&self, sink: &dyn Sink) {
        let mut last: Option<LogId> = None;
        let mut backoff = FIRST_RETRY;
        // The sink was told Redis is down (and not yet that it is back).
        let mut told_down = false;
        loop {
            let err = match self.connect() {
                Err(e) => LogError::Redis(e),
                Ok(mut con) => {
                    let r = self.read_from(&mut con, &mut last, sink, &mut told_down, &mut backoff);
                    match r {
                        Ok(()) => continue,
                        Err(e) => e,
                    }
                }
            };
            let was_up = self.up.swap(false, Ordering::SeqCst);
            if was_up || !told_down {
                eprintln!(
                    "{}: redis link down ({}): {err}; local chat goes on; reconnecting \
                     (first retry in {} ms, then up to {} s apart)",
                    self.program,
                    self.log_key,
                    FIRST_RETRY.as_millis(),
                    MAX_RETRY.as_secs()
                );
            }
            if !told_down {
                told_down = true;
                sink.link(false);
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_RETRY);
        }
    }

    /// Reads and delivers until the connection fails.
    fn read_from(
        &self,
        con: &mut Connection,
        last: &mut Option<LogId>,
        sink: &dyn Sink,
        told_down: &mut bool,
        backoff: &mut Duration,
    ) -> Result<(), LogError> {
        let mut from = match *last {
            Some(id) => id,
            None => {
                let v: Value = redis::cmd("XREVRANGE")
                    .arg(&self.log_key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query(con)?;
                let id = entries(&v)?.first().map_or(LogId::ZERO, |e| e.id);
                *last = Some(id);
                // Redis answered: lines said from now on go to the log
                // (before this, a room's first plain client's arrival,
                // said as soon as `start` is known, stayed on this node).
                self.up.store(true, Ordering::SeqCst);
                *lock(&self.start) = Some(id);
                self.started.notify_all();
                id
            }
        };
        let mut first = true;
        loop {
            let v: Value = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(READ_COUNT)
                .arg("BLOCK")
                .arg(if first {
                    1
                } else {
                    READ_BLOCK.as_millis() as u64
                })
                .arg("STREAMS")
                .arg(&self.log_key)
                .arg(from.to_string())
                .query(con)?;
            if first {
                first = false;
                *backoff = FIRST_RETRY;
                self.up.store(true, Ordering::SeqCst);
                eprintln!("{}: redis link up ({})", self.program, self.log_key);
                if *told_down {
                    *told_down = false;
                    sink.link(true);
                }
            }
            let got = match &v {
                Value::Nil => Vec::new(),
                Value::Array(streams) => match streams.first() {
                    Some(Value::Array(kv)) if kv.len() == 2 => entries(&kv[1])?,
                    _ => Vec::new(),
                },
                Value::Map(m) => match m.first() {
                    Some((_, e)) => entries(e)?,
                    None => Vec::new(),
                },
                other => return Err(LogError::Reply(format!("{other:?}"))),
            };
            for e in got {
                if from.n != 0 || from.ms != 0 {
                    if e.id.n > from.n + 1 {
                        sink.lost(Some(e.id.n - from.n - 1));
                    } else if e.id.n <= from.n {
                        sink.lost(None);
                    }
                }
                sink.deliver(&e);
                from = e.id;
                *last = Some(from);
            }
        }
    }
}

/// An error worth retrying the same command for: the connection failed,
/// or Redis is not ready yet (loading its data after a restart, busy).
fn transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_timeout()
        || matches!(
            e.code(),
            Some("LOADING" | "BUSY" | "TRYAGAIN" | "MASTERDOWN" | "CLUSTERDOWN" | "READONLY")
        )
}

/// A bulk or simple string reply, as text.
fn text(v: &Value) -> Result<String, LogError> {
    match v {
        Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        Value::VerbatimString { text, .. } => Ok(text.clone()),
        Value::Int(i) => Ok(i.to_string()),
        other => Err(LogError::Reply(format!("{other:?}"))),
    }
}

/// The entries of an `XRANGE`-shaped reply: `[[id, [field, value, ...]], ...]`.
fn entries(v: &Value) -> Result<Vec<Entry>, LogError> {
    let Value::Array(items) = v else {
        return match v {
            Value::Nil => Ok(Vec::new()),
            other => Err(LogError::Reply(format!("{other:?}"))),
        };
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else {
            return Err(LogError::Reply(format!("{item:?}")));
        };
        let [id, fields] = pair.as_slice() else {
            return Err(LogError::Reply(format!("{item:?}")));
        };
        let id: LogId = text(id)?
            .parse()
            .map_err(|e: ProtocolError| LogError::Reply(e.to_string()))?;
        let mut line = String::new();
        if let Value::Array(kv) = fields {
            for pair in kv.chunks(2) {
                if let [k, v] = pair {
                    if text(k)? == "l" {
                        line = text(v)?;
                    }
                }
            }
        }
        out.push(Entry { id, line });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!("hello".parse(), Ok(Request::Hello));
        assert_eq!(
            "msg 7 hi there".parse(),
            Ok(Request::Msg {
                cid: 7,
                text: "hi there".into()
            })
        );
        assert_eq!(
            "resume abc12 17-3".parse(),
            Ok(Request::Resume {
                token: "abc12".into(),
                after: LogId { ms: 17, n: 3 }
            })
        );
        assert!("resume a-b 1-2".parse::<Request>().is_err());
        assert!("nope".parse::<Request>().is_err());
    }

    #[test]
    fn rooms_from_paths() {
        assert_eq!(room_of("/"), "/");
        assert_eq!(room_of("/room/x-1"), "/room/x-1");
        assert_eq!(room_of("/room/"), "/");
        assert_eq!(room_of("/room/a{b"), "/");
        assert_eq!(key_prefix("/room/x"), "chat:{/room/x}");
    }
}
