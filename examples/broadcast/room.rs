//! The chat room: who is connected, and getting every line to all of them.
//!
//! Each client has a bounded outgoing queue. A chat line is encoded into a
//! WebSocket frame once ([`encode_shared`]) and the same bytes are queued,
//! by reference (one pointer per client), on every client; a queue that a
//! burst grew is shrunk once written out. A small pool of writer threads
//! drains the queues, writing everything queued for a client in one vectored
//! write. No lock is held while writing to a socket, and a client whose
//! socket does not accept data is retried later rather than waited for: one
//! slow or stuck client never delays the others. A client that falls too far
//! behind is sent a Close frame (1008) and disconnected.
//!
//! The room knows nothing of other nodes: lines said here ([`Room::broadcast`])
//! are also handed to an optional [`Relay`] (the Redis link, when there is
//! one), and lines that come from elsewhere are delivered to the clients here
//! only ([`Room::deliver`]).

use std::collections::{HashMap, VecDeque};
use std::io::{IoSlice, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use rfc6455::connection::encode_shared;
use rfc6455::outgoing::SharedFrame;
use rfc6455::MessageKind;

/// How long one write may wait for a client's socket before the writer moves
/// on to other clients.
const WRITE_TIMEOUT: Duration = Duration::from_millis(20);

/// Bytes queued for one client beyond which it is dropped as too slow.
pub const MAX_QUEUED_BYTES: usize = 1 << 20;

/// Bytes to write, queued by reference (`Arc<Chunk>`): a line said to
/// everyone costs each client's queue one pointer.
enum Chunk {
    /// A frame encoded once for everyone.
    Shared(SharedFrame),
    /// Bytes for this client only (pong, close reply).
    Own(Vec<u8>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Shared(f) => f.as_bytes(),
            Chunk::Own(v) => v,
        }
    }
}

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Arc<Chunk>>,
    /// Bytes of the first chunk already written.
    offset: usize,
    bytes: usize,
    /// On the writers' work list (or being written) right now.
    scheduled: bool,
    /// Shut the socket down once the queue is written (close handshake done,
    /// or dropped as too slow).
    closing: bool,
    /// The backlog passed the limit; the writer (the only one that removes
    /// chunks) drops it and queues a Close frame.
    overflowed: bool,
    /// Writes in a row that made no progress while closing.
    stalls: u32,
}

/// A client's queue, once written out, is shrunk to room for this many
/// chunks if a burst grew it past 8 times that (thousands of clients joining
/// at once queue thousands of lines on every client).
const IDLE_CAPACITY: usize = 8;

/// Writes without progress after which a closing client is cut off.
const MAX_STALLS: u32 = 5;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One connected client, as the room sees it.
pub struct Client {
    pub name: String,
    /// The socket: the client's reader thread reads from it, the writers
    /// write to it.
    pub stream: TcpStream,
    queue: Mutex<Queue>,
}

impl Client {
    /// Queues bytes for this client alone (the connection's own replies).
    /// `last` marks the end of the connection: shut down once written.
    pub fn push_own(self: &Arc<Self>, room: &Room, bytes: Vec<u8>, last: bool) {
        let mut q = lock(&self.queue);
        if q.closing {
            return;
        }
        q.bytes += bytes.len();
        q.chunks.push_back(Arc::new(Chunk::Own(bytes)));
        q.closing |= last;
        self.schedule(room, q);
    }

    fn push_shared(self: &Arc<Self>, room: &Room, frame: &Arc<Chunk>) {
        let mut q = lock(&self.queue);
        if q.closing {
            return;
        }
        if q.bytes + frame.bytes().len() > room.max_queued {
            // Too far behind: keep a frame being written intact, drop the
            // rest, say why, and disconnect.
            eprintln!(
                "{} is too slow ({} bytes queued): disconnecting",
                self.name, q.bytes
            );
            let keep = usize::from(q.offset > 0);
            q.chunks.truncate(keep);
            q.bytes = q.chunks.front().map_or(0, |c| c.bytes().len() - q.offset);
            let close = [
                0x88, 0x0b, 0x03, 0xf0, b't', b'o', b'o', b' ', b's', b'l', b'o', b'w', b'!',
            ];
            q.chunks.push_back(Arc::new(Chunk::Own(close.to_vec())));
            q.bytes += close.len();
            q.closing = true;
        } else {
            q.bytes += frame.bytes().len();
            q.chunks.push_back(Arc::clone(frame));
        }
        self.schedule(room, q);
    }

    fn schedule(self: &Arc<Self>, room: &Room, mut q: std::sync::MutexGuard<'_, Queue>) {
        if !q.scheduled {
            q.scheduled = true;
            drop(q);
            room.work.push(Arc::clone(self));
        }
    }

    /// Writes what is queued, in one vectored write. Returns whether the
    /// client should go back on the work list.
    fn write_some(&self) -> bool {
        let mut q = lock(&self.queue);
        if q.overflowed {
            // Keep a frame already partly written intact, drop the rest, and
            // say why (1008: policy violation).
            q.overflowed = false;
            let keep = usize::from(q.offset > 0);
            q.chunks.truncate(keep);
            q.bytes = q.chunks.front().map_or(0, |c| c.bytes().len() - q.offset);
            let close = [
                0x88, 0x0b, 0x03, 0xf0, b't', b'o', b'o', b' ', b's', b'l', b'o', b'w', b'!',
            ];
            q.chunks.push_back(Arc::new(Chunk::Own(close.to_vec())));
            q.bytes += close.len();
        }
        if q.chunks.is_empty() {
            q.scheduled = false;
            if q.closing {
                let _ = self.stream.shutdown(Shutdown::Both);
            }
            return false;
        }
        // Take cheap handles to the first chunks and write without the lock.
        let batch: Vec<Arc<Chunk>> = q.chunks.iter().take(64).cloned().collect();
        let offset = q.offset;
        drop(q);
        let slices: Vec<IoSlice<'_>> = batch
            .iter()
            .enumerate()
            .map(|(i, c)| {
                IoSlice::new(if i == 0 {
                    &c.bytes()[offset..]
                } else {
                    c.bytes()
                })
            })
            .collect();
        let written = match (&self.stream).write_vectored(&slices) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                0
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
            Err(_) => {
                // The socket is gone: the reader will notice and leave.
                let mut q = lock(&self.queue);
                q.chunks.clear();
                q.bytes = 0;
                q.offset = 0;
                q.closing = true;
                q.scheduled = false;
                let _ = self.stream.shutdown(Shutdown::Both);
                return false;
            }
        };
        let mut q = lock(&self.queue);
        if written == 0 && q.closing {
            q.stalls += 1;
            if q.stalls >= MAX_STALLS {
                // It will not read: cut it off (its reader thread then leaves).
                q.chunks.clear();
                q.bytes = 0;
                q.offset = 0;
                q.scheduled = false;
                let _ = self.stream.shutdown(Shutdown::Both);
                return false;
            }
        } else if written > 0 {
            q.stalls = 0;
        }
        let mut left = written;
        q.bytes = q.bytes.saturating_sub(written);
        while left > 0 && !q.chunks.is_empty() {
            let first = q
                .chunks
                .front()
                .map_or(0, |c| c.bytes().len())
                .saturating_sub(q.offset);
            if left >= first {
                q.chunks.pop_front();
                q.offset = 0;
                left -= first;
            } else {
                q.offset += left;
                left = 0;
            }
        }
        if q.chunks.is_empty() {
            if q.chunks.capacity() > 8 * IDLE_CAPACITY {
                q.chunks.shrink_to(IDLE_CAPACITY);
            }
            q.scheduled = false;
            if q.closing {
                let _ = self.stream.shutdown(Shutdown::Both);
            }
            return false;
        }
        true
    }
}

/// The writers' work list: clients with something to write.
#[derive(Default)]
struct WorkList {
    list: Mutex<VecDeque<Arc<Client>>>,
    ready: Condvar,
}

impl WorkList {
    fn push(&self, c: Arc<Client>) {
        lock(&self.list).push_back(c);
        self.ready.notify_one();
    }

    fn pop(&self) -> Arc<Client> {
        let mut list = lock(&self.list);
        loop {
            if let Some(c) = list.pop_front() {
                return c;
            }
            list = self.ready.wait(list).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A text line, encoded once for every client.
fn text_frame(line: &str) -> Arc<Chunk> {
    let frame = encode_shared(MessageKind::Text, line.as_bytes());
    Arc::new(Chunk::Shared(frame))
}

/// Where lines said in this room go besides its own clients. It must not
/// block: it runs on the clients' reader threads.
pub type Relay = Box<dyn Fn(&str) + Send + Sync>;

/// Everyone in the chat.
pub struct Room {
    clients: RwLock<HashMap<u64, Arc<Client>>>,
    next_id: AtomicU64,
    work: WorkList,
    max_queued: usize,
    relay: Option<Relay>,
    /// A line for each client that joins while it is set (for example: other
    /// nodes are unreachable right now).
    status: Mutex<Option<String>>,
}

impl Room {
    /// A room whose clients are dropped past `max_queued` bytes of backlog,
    /// served by `writers` writer threads. Lines said here also go to
    /// `relay`, if any.
    pub fn new(writers: usize, max_queued: usize, relay: Option<Relay>) -> Arc<Room> {
        let room = Arc::new(Room {
            clients: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            work: WorkList::default(),
            max_queued,
            relay,
            status: Mutex::new(None),
        });
        for i in 0..writers.max(1) {
            let room = Arc::clone(&room);
            std::thread::Builder::new()
                .name(format!("writer-{i}"))
                .spawn(move || loop {
                    let client = room.work.pop();
                    if client.write_some() {
                        room.work.push(client);
                    }
                })
                .expect("spawn writer thread");
        }
        room
    }

    /// Adds a client (`stream` is its socket, see [`Client::stream`]) and
    /// announces it to everyone, itself included.
    pub fn join(&self, name: String, stream: TcpStream) -> (u64, Arc<Client>) {
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let client = Arc::new(Client {
            name,
            stream,
            queue: Mutex::new(Queue::default()),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // Under the status lock, so that a status line delivered at the same
        // time (`notify`) reaches the newcomer exactly once.
        let status = lock(&self.status);
        self.clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::clone(&client));
        self.broadcast(&format!("{} just connected.", client.name));
        if let Some(line) = status.as_deref() {
            client.push_shared(self, &text_frame(line));
        }
        drop(status);
        (id, client)
    }

    /// Removes a client and tells everyone.
    pub fn leave(&self, id: u64) {
        let gone = self
            .clients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(c) = gone {
            self.broadcast(&format!("{} left.", c.name));
        }
    }

    /// Says a line in this room: to every client here, and to the relay.
    pub fn broadcast(&self, line: &str) {
        self.deliver(line);
        if let Some(relay) = &self.relay {
            relay(line);
        }
    }

    /// Sends a line to every client here (and not to the relay): encoded
    /// once, queued by reference.
    pub fn deliver(&self, line: &str) {
        let frame = text_frame(line);
        for c in self
            .clients
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            c.push_shared(self, &frame);
        }
    }

    /// Delivers a notice to every client here, and sets (or clears, with
    /// `None`) the status line that each client joining from now on is sent
    /// after its own arrival.
    pub fn notify(&self, notice: &str, status: Option<&str>) {
        let mut current = lock(&self.status);
        *current = status.map(String::from);
        self.deliver(notice);
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.clients.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}
