//! The chat room: one log of lines that every client reads at its own pace.
//!
//! A chat line is encoded into a WebSocket frame once ([`encode_shared`])
//! and appended to the room's log, which keeps the last [`MAX_BEHIND_BYTES`]
//! of frames. Each client's task keeps only its position in the log: when
//! woken it takes the lines it has not sent yet (a few at a time, as shared
//! frames: the bytes are referenced, never copied per client) and its
//! connection writes them in one vectored write. However far behind a
//! client is, it costs the room one cursor; a client whose next line has
//! left the log (more than 1 MiB of lines behind) is disconnected with 1008,
//! so one slow client never delays the others or grows memory. The log's
//! lock is held to append or to queue a few references, never while
//! writing to a socket.
//!
//! A room may have a relay (its log, see `rooms`): then a line said here
//! goes to the relay, which delivers it back in the log's order
//! ([`Room::deliver_id`], with its log id for `chat.v2` clients).

// `axum_chat` shares this file and uses only its plain side.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use rfc6455::connection::encode_shared;
use rfc6455::outgoing::SharedFrame;
use rfc6455::MessageKind;
use tokio::sync::Notify;

use crate::chat_log::{v2, Entry, LogId};

/// Bytes of frames the log keeps: a client further behind is too slow.
pub const MAX_BEHIND_BYTES: usize = 1 << 20;

#[derive(Default)]
struct Log {
    frames: VecDeque<SharedFrame>,
    /// Sequence number of `frames[0]`.
    first: u64,
    bytes: usize,
    /// The log id of each frame (`chat.v2` rooms; zero in the others).
    ids: VecDeque<LogId>,
    /// The id of the last frame that left the log (or where this node's
    /// lines started).
    dropped: LogId,
    /// The id of the last frame appended.
    last: LogId,
}

/// Where lines said in a room go instead of straight to its clients (the
/// room's log, which delivers them back). Must not wait.
pub type Relay = Box<dyn Fn(&str) + Send + Sync>;

/// Why [`Room::join_v2`] did not take a client: ask again a little later.
pub enum JoinAgain {
    /// The log's lines do not reach the lines this node still holds.
    Backlog,
    /// This node has not read up to where the client is yet.
    Behind,
}

#[derive(Default)]
pub struct Room {
    log: Mutex<Log>,
    /// Wakes every client task waiting for a new line.
    appended: Notify,
    online: AtomicUsize,
    relay: OnceLock<Relay>,
    /// A line for each `chat.v2` client that joins while it is set (the
    /// log is unreachable right now).
    status: Mutex<Option<String>>,
}

/// What [`Room::take`] found for a client.
pub enum Taken {
    /// Lines taken; `true` if more are waiting.
    Lines(bool),
    /// The client's next line has left the log.
    Lagged(u64),
}

impl Room {
    /// Adds a client and announces it to everyone, itself included; the
    /// returned cursor points at the announcement.
    pub fn join(&self, name: &str) -> u64 {
        self.online.fetch_add(1, Ordering::Relaxed);
        let cursor = {
            let log = self.log.lock().unwrap();
            log.first + log.frames.len() as u64
        };
        self.broadcast(&format!("{name} just connected."));
        cursor
    }

    /// Removes a client and tells everyone.
    pub fn leave(&self, name: &str) {
        self.online.fetch_sub(1, Ordering::Relaxed);
        self.broadcast(&format!("{name} left."));
    }

    /// Sets the relay, once (see [`Relay`]).
    pub fn set_relay(&self, relay: Relay) {
        let _ = self.relay.set(relay);
    }

    /// Says a line: to the relay if there is one (which delivers it back),
    /// to every client here otherwise.
    pub fn broadcast(&self, line: &str) {
        match self.relay.get() {
            Some(relay) => relay(line),
            None => self.deliver(line),
        }
    }

    /// Sends a line to every client here: encoded once, logged once.
    pub fn deliver(&self, line: &str) {
        self.deliver_id(line, None);
    }

    /// Sends a line of the log (`id`; a notice: `None`) to every client
    /// here.
    pub fn deliver_id(&self, line: &str, id: Option<LogId>) {
        let frame = encode_shared(MessageKind::Text, line.as_bytes());
        {
            let mut log = self.log.lock().unwrap();
            let id = id.unwrap_or(log.last);
            log.last = log.last.max(id);
            log.bytes += frame.as_bytes().len();
            log.frames.push_back(frame);
            log.ids.push_back(id);
            while log.bytes > MAX_BEHIND_BYTES {
                let old = log.frames.pop_front().expect("bytes are in frames");
                log.bytes -= old.as_bytes().len();
                log.first += 1;
                if let Some(id) = log.ids.pop_front() {
                    log.dropped = log.dropped.max(id);
                }
            }
        }
        self.appended.notify_waiters();
    }

    /// Delivers a notice to every client here, and sets (or clears) the
    /// line each `chat.v2` client joining from now on is sent first.
    pub fn notify(&self, notice: &str, status: Option<&str>) {
        *self.status.lock().unwrap() = status.map(String::from);
        self.deliver(notice);
    }

    /// Sets where this room's lines start: the log's lines after `id` all
    /// reach this room (before any client joins).
    pub fn start_after(&self, id: LogId) {
        let mut log = self.log.lock().unwrap();
        log.dropped = id;
        log.last = log.last.max(id);
    }

    /// Adds a `chat.v2` client (no arrival announced: the caller logs it).
    /// Returns its cursor and the messages it is sent first: `welcome`
    /// (session `token`, `name`), then for a resumed client (`resume`: the
    /// last id it has, and the log's lines after it, read before) a `lost`
    /// notice if the log no longer has some lines, and the lines this node
    /// no longer holds. Fails when the backlog does not reach this room's
    /// lines, or this node is behind the client (unless `give_up_waiting`).
    pub fn join_v2(
        &self,
        name: &str,
        token: &str,
        resume: Option<(LogId, &[Entry])>,
        give_up_waiting: bool,
    ) -> Result<(u64, Vec<String>), JoinAgain> {
        let status = self.status.lock().unwrap();
        let log = self.log.lock().unwrap();
        let mut head = Vec::new();
        let cursor;
        match resume {
            None => {
                head.push(v2::welcome(token, name, log.last));
                cursor = log.first + log.frames.len() as u64;
            }
            Some((after, backlog)) => {
                if after > log.last && !give_up_waiting {
                    return Err(JoinAgain::Behind);
                }
                head.push(v2::welcome(token, name, after));
                let d = log.dropped;
                let mut next_n = None;
                if after < d {
                    if backlog.last().is_some_and(|e| e.id < d) {
                        return Err(JoinAgain::Backlog);
                    }
                    next_n = backlog.first().map(|e| e.id.n);
                    cursor = log.first;
                } else {
                    let skip = log.ids.iter().take_while(|id| **id <= after).count();
                    cursor = log.first + skip as u64;
                }
                if next_n.is_none() {
                    let at = (cursor - log.first) as usize;
                    next_n = log.ids.get(at).filter(|id| **id > after).map(|id| id.n);
                }
                match next_n {
                    Some(n) if n > after.n + 1 && after != LogId::ZERO => {
                        head.push(v2::lost(Some(n - after.n - 1)));
                    }
                    Some(n) if n <= after.n => head.push(v2::lost(None)),
                    _ => {}
                }
                for e in backlog.iter().filter(|e| e.id > after && e.id <= d) {
                    head.push(v2::line(e.id, &e.line));
                }
            }
        }
        if let Some(line) = status.as_deref() {
            head.push(line.to_string());
        }
        self.online.fetch_add(1, Ordering::Relaxed);
        Ok((cursor, head))
    }

    /// Removes a `chat.v2` client without a word.
    pub fn leave_quietly(&self) {
        self.online.fetch_sub(1, Ordering::Relaxed);
    }

    /// A future that completes at the next [`broadcast`](Self::broadcast)
    /// (register it, with `enable`, before calling [`take`](Self::take)).
    pub fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.appended.notified()
    }

    /// Hands the lines from `cursor` on, at most `max`, to `send`, and
    /// advances the cursor past them. `send` runs under the log's lock: it
    /// should only queue the frame (one reference count increment), not
    /// write it.
    pub fn take(&self, cursor: &mut u64, max: usize, mut send: impl FnMut(&SharedFrame)) -> Taken {
        let log = self.log.lock().unwrap();
        if *cursor < log.first {
            return Taken::Lagged(log.first - *cursor);
        }
        let start = (*cursor - log.first) as usize;
        let n = max.min(log.frames.len() - start);
        for f in log.frames.range(start..start + n) {
            send(f);
        }
        *cursor += n as u64;
        Taken::Lines(start + n < log.frames.len())
    }

    /// How many lines a client at `cursor` has missed, if its next line
    /// has left the log.
    pub fn missed(&self, cursor: u64) -> Option<u64> {
        let first = self.log.lock().unwrap().first;
        (cursor < first).then(|| first - cursor)
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.online.load(Ordering::Relaxed)
    }
}
