//! The node's chat rooms, for `broadcast` and `async_broadcast` alike, each
//! on its own `crate::room::Room` (what differs is in the [`NodeRoom`] each
//! implements for it): `/` (the seed's one room) and `/room/NAME`, each
//! made on first use, each with its log (`chat_log`: in memory, or a Redis
//! Stream with `--redis`) and two [`Room`]s of clients: the plain ones (the
//! seed's strings) and the `chat.v2` ones (the same lines with their ids).
//!
//! Every line said in a room goes into its log and reaches the clients
//! from there, so the log's order is the room's order. While Redis is
//! unreachable, a plain client's line is delivered on this node only (the
//! plain clients were told that messages stay on this node), and a
//! `chat.v2` client's message waits in the log's queue until Redis is back
//! (it is acknowledged then).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::chat_log::{self, v2, Entry, Log, Options, Sink};
use crate::room::Room;

/// What each example's rooms differ in: it implements this for its
/// [`Room`] (in its `main.rs`).
pub trait NodeRoom {
    /// The program's name, which starts its log lines.
    const PROGRAM: &'static str;
    /// Whether the plain clients' room keeps [`UNREACHABLE`] as its status
    /// line while Redis is lost (see `Room::notify`), or only says it once.
    const PLAIN_STATUS: bool;
    /// A room of clients, with no relay yet.
    fn open() -> std::io::Result<Arc<Self>>;
}

/// What the plain clients are told when Redis is lost, and while it stays
/// lost.
pub const UNREACHABLE: &str = "Other nodes are unreachable; messages stay on this node.";

/// What the plain clients are told when Redis is back.
pub const REACHABLE: &str = "Other nodes are reachable again.";

/// What the `chat.v2` clients are told when Redis is lost...
pub const V2_UNREACHABLE: &str =
    "The chat log is unreachable; your messages wait on this node and are sent when it is back.";
/// ...and when it is back.
pub const V2_REACHABLE: &str = "The chat log is reachable again.";

/// One chat room on this node.
pub struct Chan {
    /// `/` or `/room/NAME`.
    pub name: String,
    pub clients: Arc<Clients>,
    pub log: Arc<Log>,
}

/// A room's clients: plain and `chat.v2`.
pub struct Clients {
    pub plain: Arc<Room>,
    pub v2: Arc<Room>,
}

impl Sink for Clients {
    fn deliver(&self, entry: &Entry) {
        self.plain.deliver(&entry.line);
        self.v2
            .deliver_id(&v2::line(entry.id, &entry.line), Some(entry.id));
    }

    fn lost(&self, n: Option<u64>) {
        self.v2.deliver_id(&v2::lost(n), None);
    }

    fn online(&self, names: &[String]) {
        self.v2.deliver_id(&v2::online(names), None);
    }

    fn link(&self, up: bool) {
        if up {
            self.plain.notify(REACHABLE, None);
            self.v2.notify(&v2::notice(V2_REACHABLE), None);
        } else {
            let status = Room::PLAIN_STATUS.then_some(UNREACHABLE);
            self.plain.notify(UNREACHABLE, status);
            let notice = v2::notice(V2_UNREACHABLE);
            self.v2.notify(&notice, Some(&notice));
        }
    }
}

impl Chan {
    /// Clients in this room on this node.
    pub fn len(&self) -> usize {
        self.clients.plain.len() + self.clients.v2.len()
    }
}

/// Every room of this node.
pub struct Rooms {
    rooms: Mutex<HashMap<String, Arc<Chan>>>,
    redis: Option<redis::Client>,
    opts: Options,
}

impl Rooms {
    /// No rooms yet; each one's log will be a Redis Stream if `redis` is
    /// set.
    pub fn new(redis: Option<redis::Client>, opts: Options) -> Rooms {
        Rooms {
            rooms: Mutex::new(HashMap::new()),
            redis,
            opts,
        }
    }

    /// The room `name` (`/` or `/room/NAME`), made if it is new.
    pub fn get(&self, name: &str) -> std::io::Result<Arc<Chan>> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(chan) = rooms.get(name) {
            return Ok(Arc::clone(chan));
        }
        if rooms.len() >= self.opts.max_rooms {
            return Err(std::io::Error::other(format!(
                "this node has {} rooms open, its limit (--max-rooms)",
                rooms.len()
            )));
        }
        let clients = Arc::new(Clients {
            plain: Room::open()?,
            v2: Room::open()?,
        });
        let sink: Arc<dyn Sink> = Arc::clone(&clients) as Arc<dyn Sink>;
        let log = Arc::new(match &self.redis {
            Some(client) => Log::redis(client.clone(), name, &self.opts, sink, Room::PROGRAM)?,
            None => Log::memory(&self.opts, sink)?,
        });
        // Where this node's lines start (with Redis: the stream's end when
        // first reached; resumed clients get what is older from Redis).
        let start = log.start(Duration::from_millis(1500));
        clients.v2.start_after(start);
        let (weak, relay_log): (Weak<Room>, _) = (Arc::downgrade(&clients.plain), Arc::clone(&log));
        clients.plain.set_relay(Box::new(move |line: &str| {
            if relay_log.is_up() {
                match relay_log.append(line.to_string(), None, None) {
                    Ok(()) => return,
                    Err(e) => eprintln!("{}: a line stays on this node: {e}", Room::PROGRAM),
                }
            }
            if let Some(plain) = weak.upgrade() {
                plain.deliver(line);
            }
        }));
        let chan = Arc::new(Chan {
            name: name.to_string(),
            clients,
            log,
        });
        rooms.insert(name.to_string(), Arc::clone(&chan));
        Ok(chan)
    }
}

/// The room a request's path names (see [`chat_log::room_of`]).
pub fn room_of(path: &str) -> String {
    chat_log::room_of(path)
}
