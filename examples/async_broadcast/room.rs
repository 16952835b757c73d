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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rfc6455::connection::encode_shared;
use rfc6455::outgoing::SharedFrame;
use rfc6455::MessageKind;
use tokio::sync::Notify;

/// Bytes of frames the log keeps: a client further behind is too slow.
pub const MAX_BEHIND_BYTES: usize = 1 << 20;

#[derive(Default)]
struct Log {
    frames: VecDeque<SharedFrame>,
    /// Sequence number of `frames[0]`.
    first: u64,
    bytes: usize,
}

#[derive(Default)]
pub struct Room {
    log: Mutex<Log>,
    /// Wakes every client task waiting for a new line.
    appended: Notify,
    online: AtomicUsize,
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

    /// Sends a line to every client: encoded once, logged once.
    pub fn broadcast(&self, line: &str) {
        let frame = encode_shared(MessageKind::Text, line.as_bytes());
        {
            let mut log = self.log.lock().unwrap();
            log.bytes += frame.as_bytes().len();
            log.frames.push_back(frame);
            while log.bytes > MAX_BEHIND_BYTES {
                let old = log.frames.pop_front().expect("bytes are in frames");
                log.bytes -= old.as_bytes().len();
                log.first += 1;
            }
        }
        self.appended.notify_waiters();
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
