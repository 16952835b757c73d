//! The chat room: who is connected, and getting every line to all of them.
//!
//! Each client has a bounded queue of frames. A chat line is encoded into a
//! WebSocket frame once ([`encode_shared`]) and the same bytes are queued,
//! by reference, on every client; the queue's lock is held only to push or
//! pop, never while writing to a socket. Each client's own task moves its
//! queue into its connection (as shared frames, not copied) and the
//! connection writes everything queued in one vectored write. A client that
//! falls [`MAX_QUEUED_BYTES`] behind is sent a Close frame (1008) and
//! disconnected, so one slow client never delays the others.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::Waker;

use rfc6455::connection::encode_shared;
use rfc6455::outgoing::SharedFrame;
use rfc6455::MessageKind;

/// Bytes queued for one client beyond which it is dropped as too slow.
pub const MAX_QUEUED_BYTES: usize = 1 << 20;

#[derive(Default)]
pub struct Queue {
    pub frames: VecDeque<SharedFrame>,
    pub bytes: usize,
    /// Fell too far behind: send a Close and disconnect.
    pub too_slow: bool,
    /// The client's task, woken when something is queued.
    waker: Option<Waker>,
}

impl Queue {
    /// Registers the task to wake on the next push.
    pub fn set_waker(&mut self, w: &Waker) {
        if !self.waker.as_ref().is_some_and(|x| x.will_wake(w)) {
            self.waker = Some(w.clone());
        }
    }

    pub fn pop(&mut self) -> Option<SharedFrame> {
        let f = self.frames.pop_front()?;
        self.bytes -= f.as_bytes().len();
        Some(f)
    }
}

/// One connected client, as the room sees it.
pub struct Client {
    pub name: String,
    pub queue: Mutex<Queue>,
}

impl Client {
    fn push(&self, frame: &SharedFrame) {
        let mut q = self.queue.lock().unwrap();
        if q.too_slow {
            return;
        }
        if q.bytes + frame.as_bytes().len() > MAX_QUEUED_BYTES {
            eprintln!(
                "{} is too slow ({} bytes queued): disconnecting",
                self.name, q.bytes
            );
            q.frames.clear();
            q.bytes = 0;
            q.too_slow = true;
        } else {
            q.bytes += frame.as_bytes().len();
            q.frames.push_back(frame.clone());
        }
        let w = q.waker.take();
        drop(q);
        if let Some(w) = w {
            w.wake();
        }
    }
}

#[derive(Default)]
pub struct Room {
    clients: RwLock<HashMap<u64, Arc<Client>>>,
    next_id: AtomicU64,
}

impl Room {
    /// Adds a client and announces it to everyone, itself included.
    pub fn join(&self, name: String) -> (u64, Arc<Client>) {
        let client = Arc::new(Client {
            name,
            queue: Mutex::new(Queue::default()),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.clients
            .write()
            .unwrap()
            .insert(id, Arc::clone(&client));
        self.broadcast(&format!("{} just connected.", client.name));
        (id, client)
    }

    /// Removes a client and tells everyone.
    pub fn leave(&self, id: u64) {
        let gone = self.clients.write().unwrap().remove(&id);
        if let Some(c) = gone {
            self.broadcast(&format!("{} left.", c.name));
        }
    }

    /// Sends a line to every client: encoded once, queued by reference.
    pub fn broadcast(&self, line: &str) {
        let frame = encode_shared(MessageKind::Text, line.as_bytes());
        for c in self.clients.read().unwrap().values() {
            c.push(&frame);
        }
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.clients.read().unwrap().len()
    }
}
