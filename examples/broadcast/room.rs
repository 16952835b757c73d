//! The chat room: one log of lines that every client is written from at its
//! own pace, by a writer that never waits for a socket.
//!
//! **The log.** A chat line is encoded into a WebSocket frame once
//! ([`encode_shared`]) and appended to the room's log; a client is only a
//! cursor into it (the next line it has not been sent), plus a short queue
//! of bytes for it alone (its pongs, its close reply). The log keeps the
//! lines some client still needs, at most [`MAX_BEHIND_BYTES`] of them:
//! once every client has been sent a line, the line is dropped, so with no
//! one behind the log is empty. A client whose next line has left the log
//! (more than 1 MiB of lines behind) is sent a Close frame (1008, `too
//! slow!`) and disconnected.
//!
//! **The writer** (one thread) is woken by every new line and by every
//! reply queued. It goes through the clients whose sockets have room and
//! writes to each, in one vectored write, what it has not been sent yet
//! (up to [`MAX_IOV`] lines), with `MSG_DONTWAIT`: the write takes what the
//! socket's buffer has room for and returns at once, so no client ever
//! makes it wait. A client whose socket is full is *parked*: set aside,
//! and handed to the watcher. The writer does not go through the parked
//! clients for each line, only when the oldest line a parked client needs
//! is about to leave the log, when one of them is leaving, or when one is
//! out of time: a crowd of clients that do not read costs each line
//! nothing. When a crowd falls out of the log at once, its goodbyes go out
//! [`LEAVING_PER_PASS`] at a time, the others' lines in between.
//!
//! **The watcher** (one thread) waits in `poll(2)` for the parked clients'
//! sockets to become writable (or to fail), and gives each one back to the
//! writer when it does. A client that never reads stays parked until it is
//! more than the log's worth of lines behind, then is dropped; a slow
//! reader is written to whenever its socket has room.
//!
//! The sockets stay blocking for their reader threads: only the writer's
//! calls are non-blocking (`MSG_DONTWAIT` on each `sendmsg`). Each socket's
//! send buffer is fixed at [`SEND_BUFFER`] rather than left to grow to
//! 4 MiB, so a client that stops reading holds little kernel memory and
//! is parked soon; the backlog is then the log's, shared by everyone. To
//! drop a client whose socket is full, the writer lends its send buffer
//! the room for the rest of a line partly written and the Close frame, so
//! that the client, if it ever reads, learns why it was dropped.
//!
//! Locks: the log's lock is held to append a line, to take a few
//! references to lines (never while writing to a socket), or to drop the
//! lines no one needs. A client's own lock is held by the writer while
//! writing to it (a call that does not wait) and by its reader thread to
//! queue a reply.
//!
//! **TLS clients** (`--tls-cert`) go through the same writer, watcher and
//! log: the writer seals a batch of a TLS client's lines for it alone and
//! writes the records the same way, never waiting; records the socket does
//! not take wait in the client's TLS state, and nothing more is sealed for
//! it until they are out, so its backlog is the log's, as a plain client's
//! (see `tls`). A plain client's path is untouched: its lines go from the
//! log to its socket as they are.
//!
//! The room knows nothing of other nodes: with a [`Relay`] (the room's
//! log, see `rooms`), a line said here ([`Room::broadcast`]) goes to the
//! relay, which delivers it back in the log's order ([`Room::deliver`], or
//! [`Room::deliver_id`] with its log id for the `chat.v2` clients' room);
//! without one it is delivered here at once. A `chat.v2` room also keeps
//! each line's log id, so that a resumed client starts right after the
//! last line it had ([`Room::join_v2`]).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rfc6455::connection::encode_shared;
use rfc6455::outgoing::SharedFrame;
use rfc6455::MessageKind;

use crate::chat_log::{v2, Entry, LogId};
use crate::tls::{self, Tls};

/// Bytes of lines the log keeps for a client that is behind: a client whose
/// next line is older than that is too slow.
pub const MAX_BEHIND_BYTES: usize = 1 << 20;

/// Bytes queued for one client alone (its pongs, and the rest of a line
/// partly written) beyond which it is too slow.
const MAX_OWN_BYTES: usize = 256 << 10;

/// The send buffer asked for on each client's socket (Linux doubles it for
/// its bookkeeping: about 128 KiB of data, instead of up to 4 MiB with the
/// default autotuning). Plenty for chat lines; what a client has not taken
/// waits in the log instead.
pub const SEND_BUFFER: usize = 64 << 10;

/// Lent to a full socket's send buffer, besides what is left to write, so
/// that a Close frame still gets in (Linux lets a socket's queue overshoot
/// its buffer by up to a segment's worth of memory).
const GOODBYE_ROOM: usize = 32 << 10;

/// How long a client that is leaving (closing handshake done, disconnected,
/// or too slow) has to take its last bytes before its socket is shut down.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Pieces of one vectored write at most (Linux takes up to 1024)...
const MAX_IOV: usize = 1024;

/// ...and bytes of lines at most: twice what a socket's buffer holds.
const MAX_BATCH_BYTES: usize = 4 * SEND_BUFFER;

/// Parked clients that are leaving (a goodbye to write, a socket to shut
/// down) dealt with in one pass at most: when thousands fall behind at once,
/// the others' lines still go out between batches.
const LEAVING_PER_PASS: usize = 128;

/// The Close frame sent to a client that is too slow: 1008, `too slow!`.
const TOO_SLOW: [u8; 13] = [
    0x88, 0x0b, 0x03, 0xf0, b't', b'o', b'o', b' ', b's', b'l', b'o', b'w', b'!',
];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Bytes for one client: a line from the log, or its own.
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

/// What is left to write to one client.
struct Out {
    /// Sequence number of the next line of the log to write.
    cursor: u64,
    /// Written before any more lines of the log: the client's own bytes,
    /// and the rest of a line partly written.
    own: VecDeque<Chunk>,
    /// Bytes of `own[0]` already written.
    offset: usize,
    /// Bytes in `own`, not counting `offset`.
    own_bytes: usize,
    /// Set when the client is leaving: no more lines of the log, `own` is
    /// written out, then the socket is shut down, at this time at the latest.
    closing: Option<Instant>,
}

/// One connected client, as the room sees it.
pub struct Client {
    pub name: String,
    /// The socket: the client's reader thread reads from it (blocking), the
    /// writer writes to it (never blocking).
    pub stream: TcpStream,
    /// Its TLS state, for a TLS client (shared with its reader).
    tls: Option<Box<Tls>>,
    /// Its socket was full: the watcher has it until the socket is writable.
    parked: AtomicBool,
    out: Mutex<Out>,
}

/// What the writer did with a client.
#[derive(PartialEq, Eq)]
enum Step {
    /// Nothing more to write for now.
    Idle,
    /// Wrote, and more is waiting.
    More,
    /// Its socket is full.
    Park,
    /// Gone: shut down, or its last bytes written.
    Done,
}

/// What the writer learnt of a client, besides the [`Step`].
struct Report {
    step: Step,
    /// It wrote a goodbye, or shut the socket down (the costly part of
    /// dropping a client).
    busy: bool,
    /// The next line it needs (`None` if it is leaving).
    needs: Option<u64>,
    /// When it is to be cut off, if it is leaving.
    deadline: Option<Instant>,
}

impl Client {
    /// Queues bytes for this client alone (the connection's own replies).
    /// `last` marks the end of the connection: shut down once written.
    pub fn push_own(&self, room: &Room, bytes: Vec<u8>, last: bool) {
        let mut out = lock(&self.out);
        if out.closing.is_some() {
            return;
        }
        if out.own_bytes + bytes.len() > MAX_OWN_BYTES {
            // It sends pings and does not read the pongs.
            self.too_slow(&mut out, "its replies pile up");
        } else if !bytes.is_empty() {
            out.own_bytes += bytes.len();
            out.own.push_back(Chunk::Own(bytes));
        }
        if last && out.closing.is_none() {
            out.closing = Some(Instant::now() + CLOSE_GRACE);
        }
        let leaving = out.closing.is_some();
        drop(out);
        // A parked client that is leaving: the writer looks at it now.
        room.wake(leaving && self.parked.load(Ordering::Acquire));
    }

    /// Queues a text message for this client alone (a `chat.v2` reply: an
    /// acknowledgement, a push-back).
    pub fn push_text(&self, room: &Room, text: &str) {
        let mut out = lock(&self.out);
        if out.closing.is_some() {
            return;
        }
        let frame = text_frame(text);
        out.own_bytes += frame.as_bytes().len();
        out.own.push_back(Chunk::Shared(frame));
        drop(out);
        room.wake(false);
    }

    /// Stops sending lines, and queues a Close frame (1008) behind a line
    /// partly written (or, for a TLS client, behind the records not yet
    /// written), dropping the rest; lends the socket's buffer room for
    /// them.
    fn too_slow(&self, out: &mut Out, why: &str) {
        eprintln!("{} is too slow ({why}): disconnecting", self.name);
        let keep = usize::from(out.offset > 0);
        out.own.truncate(keep);
        out.own_bytes = out.own.front().map_or(0, |c| c.bytes().len() - out.offset);
        out.own.push_back(Chunk::Own(TOO_SLOW.to_vec()));
        out.own_bytes += TOO_SLOW.len();
        out.closing = Some(Instant::now() + CLOSE_GRACE);
        let sealed = self.tls.as_ref().map_or(0, |t| t.pending());
        set_send_buffer(
            &self.stream,
            SEND_BUFFER + GOODBYE_ROOM + out.own_bytes + sealed,
        );
    }

    /// Shuts the socket down (its reader thread then sees the end and
    /// leaves) and forgets what was left to write.
    fn cut_off(&self, out: &mut Out) {
        let _ = self.stream.shutdown(Shutdown::Both);
        out.own.clear();
        out.own_bytes = 0;
        out.offset = 0;
        out.closing.get_or_insert_with(Instant::now);
    }

    /// The writer's turn with a client whose socket has room: writes what
    /// it can without waiting. `lines` is scratch space for references to
    /// lines.
    fn write(&self, room: &Room, now: Instant, lines: &mut Vec<SharedFrame>) -> Report {
        let mut out = lock(&self.out);
        let step = self.write_locked(&mut out, room, now, lines);
        out.report(step)
    }

    /// The writer's look at a parked client: drops it if its next line has
    /// left the log (`first` is the oldest line there); if it is leaving,
    /// tries once (`tried`) to write its last bytes at once (the socket's
    /// buffer was lent room for a goodbye), and cuts it off when out of
    /// time.
    fn check_parked(
        &self,
        room: &Room,
        (first, now): (u64, Instant),
        tried: &mut bool,
        lines: &mut Vec<SharedFrame>,
    ) -> Report {
        let mut out = lock(&self.out);
        if out.closing.is_none() && out.cursor < first {
            let missed = first - out.cursor;
            self.too_slow(&mut out, &format!("{missed} lines missed"));
            *tried = false;
        }
        let (step, busy) = match out.closing {
            Some(t) if now >= t => {
                self.cut_off(&mut out);
                (Step::Done, true)
            }
            Some(_) if !*tried => {
                *tried = true;
                match self.write_locked(&mut out, room, now, lines) {
                    Step::Done => (Step::Done, true),
                    _ => (Step::Park, true),
                }
            }
            _ => (Step::Park, false),
        };
        let mut report = out.report(step);
        report.busy = busy;
        report
    }

    fn write_locked(
        &self,
        out: &mut Out,
        room: &Room,
        now: Instant,
        lines: &mut Vec<SharedFrame>,
    ) -> Step {
        if let Some(tls) = &self.tls {
            return self.write_tls(tls, out, room, now, lines);
        }
        if out.closing.is_some_and(|t| now >= t) {
            self.cut_off(out);
            return Step::Done;
        }
        // Own bytes first, then lines from the log.
        let own = out.own.len().min(MAX_IOV);
        let mut more = out.own.len() > own;
        lines.clear();
        if out.closing.is_none() && own < MAX_IOV {
            match room.take(out.cursor, MAX_IOV - own, MAX_BATCH_BYTES, lines) {
                Ok(left) => more |= left,
                Err(missed) => {
                    self.too_slow(out, &format!("{missed} lines missed"));
                    return Step::More;
                }
            }
        }
        if own + lines.len() == 0 {
            if out.closing.is_some() {
                self.cut_off(out);
                return Step::Done;
            }
            return Step::Idle;
        }
        let mut iov = Vec::with_capacity(own + lines.len());
        for (i, c) in out.own.iter().take(own).enumerate() {
            let skip = if i == 0 { out.offset } else { 0 };
            iov.push(IoSlice::new(&c.bytes()[skip..]));
        }
        iov.extend(lines.iter().map(|f| IoSlice::new(f.as_bytes())));
        let total: usize = iov.iter().map(|s| s.len()).sum();
        let written = match send_now(&self.stream, &iov) {
            Ok(w) => w,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Step::More,
            Err(_) => {
                // The connection is gone: its reader will notice and leave.
                self.cut_off(out);
                return Step::Done;
            }
        };
        drop(iov);
        out.consume(written, lines);
        if written < total {
            Step::Park
        } else if more {
            Step::More
        } else if out.closing.is_some() && out.own.is_empty() {
            self.cut_off(out);
            Step::Done
        } else {
            Step::Idle
        }
    }

    /// [`write_locked`](Self::write_locked) for a TLS client: the records
    /// sealed before go first; once they are all out, a batch of its own
    /// bytes and lines (up to [`tls::BATCH_BYTES`]) is sealed for it and
    /// written. Every piece is sealed whole, so `offset` stays 0.
    fn write_tls(
        &self,
        tls: &Tls,
        out: &mut Out,
        room: &Room,
        now: Instant,
        lines: &mut Vec<SharedFrame>,
    ) -> Step {
        if out.closing.is_some_and(|t| now >= t) {
            self.cut_off(out);
            return Step::Done;
        }
        match self.send_sealed(tls, out) {
            Step::Idle => {}
            other => return other,
        }
        // Own bytes first, then lines from the log, a batch at most.
        let mut own = 0;
        let mut bytes = 0;
        for c in out.own.iter().take(MAX_IOV) {
            if bytes >= tls::BATCH_BYTES {
                break;
            }
            bytes += c.bytes().len();
            own += 1;
        }
        let mut more = out.own.len() > own;
        lines.clear();
        if out.closing.is_none() && !more && own < MAX_IOV && bytes < tls::BATCH_BYTES {
            let room_left = tls::BATCH_BYTES - bytes;
            match room.take(out.cursor, MAX_IOV - own, room_left, lines) {
                Ok(left) => more |= left,
                Err(missed) => {
                    self.too_slow(out, &format!("{missed} lines missed"));
                    return Step::More;
                }
            }
        }
        if own + lines.len() == 0 {
            if out.closing.is_some() {
                tls.close_notify(&self.stream);
                self.cut_off(out);
                return Step::Done;
            }
            return Step::Idle;
        }
        let mut iov = Vec::with_capacity(own + lines.len());
        iov.extend(out.own.iter().take(own).map(|c| IoSlice::new(c.bytes())));
        iov.extend(lines.iter().map(|f| IoSlice::new(f.as_bytes())));
        let sealed = tls.seal(&iov);
        drop(iov);
        if sealed.is_err() {
            self.cut_off(out);
            return Step::Done;
        }
        out.sealed(own, lines.len());
        match self.send_sealed(tls, out) {
            Step::Idle if more => Step::More,
            Step::Idle if out.closing.is_some() && out.own.is_empty() => {
                tls.close_notify(&self.stream);
                self.cut_off(out);
                Step::Done
            }
            step => step,
        }
    }

    /// Writes a TLS client's sealed records: `Idle` when all are out,
    /// `Park` when its socket is full.
    fn send_sealed(&self, tls: &Tls, out: &mut Out) -> Step {
        match tls.send(&self.stream) {
            Ok(true) => Step::Idle,
            Ok(false) => Step::Park,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Step::More,
            Err(_) => {
                // The connection is gone: its reader will notice and leave.
                self.cut_off(out);
                Step::Done
            }
        }
    }

    /// Reads from the client's socket for its reader thread: plaintext,
    /// through TLS for a TLS client (`input` is its buffer, see
    /// [`tls::Input::for_client`]).
    pub fn read(
        &self,
        room: &Room,
        input: Option<&mut tls::Input>,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        match (&self.tls, input) {
            (Some(tls), Some(input)) => tls.read(&self.stream, input, buf, || room.wake(false)),
            _ => (&self.stream).read(buf),
        }
    }

    /// The reader thread's TLS buffer, for a TLS client.
    pub fn tls_input(&self) -> Option<tls::Input> {
        tls::Input::for_client(self.tls.as_deref())
    }
}

impl Out {
    fn report(&self, step: Step) -> Report {
        Report {
            step,
            busy: false,
            needs: self.closing.is_none().then_some(self.cursor),
            deadline: self.closing,
        }
    }

    /// Marks `written` bytes as written: of `own` first, then of `lines`
    /// (the lines from the cursor on that were in the write).
    fn consume(&mut self, written: usize, lines: &[SharedFrame]) {
        let mut left = written;
        while left > 0 {
            let Some(first) = self.own.front() else { break };
            let len = first.bytes().len() - self.offset;
            if left < len {
                self.offset += left;
                self.own_bytes -= left;
                return;
            }
            left -= len;
            self.own_bytes -= len;
            self.own.pop_front();
            self.offset = 0;
        }
        for f in lines {
            if left == 0 {
                break;
            }
            self.cursor += 1;
            let len = f.as_bytes().len();
            if left < len {
                // The rest of this line goes before anything else.
                self.own.push_back(Chunk::Shared(f.clone()));
                self.offset = left;
                self.own_bytes = len - left;
                return;
            }
            left -= len;
        }
        if self.own.is_empty() && self.own.capacity() > 8 {
            self.own = VecDeque::new();
        }
    }

    /// Marks the first `own` of the client's own chunks and `lines` lines
    /// from the cursor as sealed (TLS: they are the client's records now).
    fn sealed(&mut self, own: usize, lines: usize) {
        for c in self.own.drain(..own) {
            self.own_bytes -= c.bytes().len();
        }
        self.cursor += lines as u64;
        if self.own.is_empty() && self.own.capacity() > 8 {
            self.own = VecDeque::new();
        }
    }
}

/// `sendmsg(2)` with `MSG_DONTWAIT`: writes what the socket has room for,
/// and never waits (the socket itself stays blocking for its reader).
pub fn send_now(stream: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const FLAGS: libc::c_int = libc::MSG_DONTWAIT;
    // SAFETY: a zeroed msghdr is valid (no name, no control data); `IoSlice`
    // is ABI-compatible with `iovec` on Unix, and `bufs` outlives the call.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len() as _;
        libc::sendmsg(stream.as_raw_fd(), &msg, FLAGS)
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Asks for a socket send buffer of `bytes` (`SO_SNDBUF`; Linux doubles
/// it, and no longer grows it by itself).
fn set_send_buffer(stream: &TcpStream, bytes: usize) {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket and a c_int option value of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// The log and the writer's to-do, under one lock.
#[derive(Default)]
struct Shared {
    /// Lines some client may still need, oldest first.
    frames: VecDeque<SharedFrame>,
    /// Sequence number of `frames[0]`.
    first: u64,
    /// Bytes in `frames`.
    bytes: usize,
    /// The log id of each line of `frames` (`chat.v2` rooms; zero in the
    /// others).
    ids: VecDeque<LogId>,
    /// The id of the last line that left `frames` (or where the node's
    /// log started): the lines after it are all in `frames`.
    dropped: LogId,
    /// The id of the last line appended.
    last: LogId,
    /// Clients that joined since the writer last looked.
    joined: Vec<Arc<Client>>,
    /// The earliest line those clients need (a resumed client may need
    /// lines the writer would otherwise drop).
    joined_needs: Option<u64>,
    /// Something to write: a new line, a reply, a client given back by the
    /// watcher.
    dirty: bool,
    /// The watcher gave clients back.
    returned: bool,
    /// A parked client is leaving: the writer looks at the parked ones.
    parked_changed: bool,
}

impl Shared {
    fn end(&self) -> u64 {
        self.first + self.frames.len() as u64
    }

    fn append(&mut self, frame: SharedFrame) {
        let id = self.last;
        self.append_id(frame, id);
    }

    /// Appends a line with its log id (or, for a notice, the last line's).
    fn append_id(&mut self, frame: SharedFrame, id: LogId) {
        self.bytes += frame.as_bytes().len();
        self.frames.push_back(frame);
        self.ids.push_back(id);
        self.last = self.last.max(id);
        while self.bytes > MAX_BEHIND_BYTES {
            self.pop_front();
        }
        self.dirty = true;
    }

    fn pop_front(&mut self) -> bool {
        let Some(old) = self.frames.pop_front() else {
            return false;
        };
        self.bytes -= old.as_bytes().len();
        self.first += 1;
        if let Some(id) = self.ids.pop_front() {
            self.dropped = self.dropped.max(id);
        }
        true
    }

    /// Drops the lines before `seq`, and memory a burst left behind.
    fn drop_before(&mut self, seq: u64) {
        let seq = self.joined_needs.map_or(seq, |j| j.min(seq));
        while self.first < seq {
            if !self.pop_front() {
                break;
            }
        }
        if self.ids.capacity() > 64 && self.ids.len() < self.ids.capacity() / 8 {
            self.ids.shrink_to(self.ids.len() * 2);
        }
        if self.frames.capacity() > 64 && self.frames.len() < self.frames.capacity() / 8 {
            self.frames.shrink_to(self.frames.len() * 2);
        }
    }
}

/// Where lines said in this room go instead of straight to its own clients
/// (the room's log, which delivers them back). It must not block: it runs
/// on the clients' reader threads.
pub type Relay = Box<dyn Fn(&str) + Send + Sync>;

/// A resumed `chat.v2` client's start: where its transcript stopped, and
/// the lines after that the log gave (see [`Room::join_v2`]).
pub struct Resume<'a> {
    pub after: LogId,
    pub backlog: &'a [Entry],
}

/// Why [`Room::join_v2`] did not take a client: ask the log again, a
/// little later.
pub enum JoinAgain {
    /// The log's lines do not reach the lines this node still holds.
    Backlog,
    /// This node has not read up to where the client is yet.
    Behind,
}

/// Everyone in the chat.
pub struct Room {
    shared: Mutex<Shared>,
    /// Wakes the writer.
    ready: Condvar,
    /// Clients just parked, for the watcher.
    to_watch: Mutex<Vec<Arc<Client>>>,
    /// Wakes the watcher (a byte written to it).
    watcher_bell: UnixStream,
    online: AtomicUsize,
    relay: OnceLock<Relay>,
    /// A line for each client that joins while it is set (for example: other
    /// nodes are unreachable right now).
    status: Mutex<Option<String>>,
}

impl Room {
    /// A room, with its writer and watcher threads. Lines said here also go
    /// to `relay`, if any.
    pub fn new(relay: Option<Relay>) -> io::Result<Arc<Room>> {
        let (bell, bell_rx) = UnixStream::pair()?;
        bell.set_nonblocking(true)?;
        bell_rx.set_nonblocking(true)?;
        let room = Arc::new(Room {
            shared: Mutex::new(Shared::default()),
            ready: Condvar::new(),
            to_watch: Mutex::new(Vec::new()),
            watcher_bell: bell,
            online: AtomicUsize::new(0),
            relay: OnceLock::new(),
            status: Mutex::new(None),
        });
        if let Some(relay) = relay {
            let _ = room.relay.set(relay);
        }
        let r = Arc::clone(&room);
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || r.run_writer())?;
        let r = Arc::clone(&room);
        std::thread::Builder::new()
            .name("watcher".into())
            .spawn(move || r.run_watcher(bell_rx))?;
        Ok(room)
    }

    /// Sets the relay, once (see [`Relay`]).
    pub fn set_relay(&self, relay: Relay) {
        let _ = self.relay.set(relay);
    }

    /// Adds a client (`stream` is its socket, see [`Client::stream`]; `tls`
    /// its TLS state, for a TLS client) and announces it to everyone,
    /// itself included.
    pub fn join(&self, name: String, stream: TcpStream, tls: Option<Box<Tls>>) -> Arc<Client> {
        // No Nagle delay: the writer batches by itself.
        let _ = stream.set_nodelay(true);
        set_send_buffer(&stream, SEND_BUFFER);
        let line = format!("{name} just connected.");
        let notice = text_frame(&line);
        let relay = self.relay.get();
        // Under the status lock, so that a status line delivered at the same
        // time (`notify`) reaches the newcomer exactly once.
        let status = lock(&self.status);
        let client = {
            let mut shared = lock(&self.shared);
            // The newcomer starts after its own arrival, which it is sent
            // first, with the status line if there is one. With a relay,
            // its arrival comes back through the log, like any line.
            let mut own = VecDeque::new();
            if relay.is_none() {
                shared.append(notice.clone());
                own.push_back(Chunk::Shared(notice));
            }
            if let Some(line) = status.as_deref() {
                own.push_back(Chunk::Shared(text_frame(line)));
            }
            let own_bytes = own.iter().map(|c| c.bytes().len()).sum();
            let client = Arc::new(Client {
                name,
                stream,
                tls,
                parked: AtomicBool::new(false),
                out: Mutex::new(Out {
                    cursor: shared.end(),
                    own,
                    offset: 0,
                    own_bytes,
                    closing: None,
                }),
            });
            shared.joined.push(Arc::clone(&client));
            client
        };
        drop(status);
        self.online.fetch_add(1, Ordering::Relaxed);
        self.ready.notify_one();
        if let Some(relay) = relay {
            relay(&line);
        }
        client
    }

    /// Adds a `chat.v2` client (no arrival is announced here: the caller
    /// logs it). Its first message is `welcome` (session `token`, `name`);
    /// a resumed client then gets every line after `resume.after`: those
    /// this node no longer holds from `resume.backlog` (read from the log
    /// before), the rest from this room's lines, with a `lost` notice first
    /// if the log no longer has some of them. Gives the socket back when
    /// the backlog does not reach this room's lines, or this node is behind
    /// the client.
    #[allow(clippy::type_complexity)]
    pub fn join_v2(
        &self,
        name: String,
        token: &str,
        (stream, tls): (TcpStream, Option<Box<Tls>>),
        resume: Option<Resume<'_>>,
        give_up_waiting: bool,
    ) -> Result<Arc<Client>, (JoinAgain, TcpStream, Option<Box<Tls>>)> {
        let _ = stream.set_nodelay(true);
        set_send_buffer(&stream, SEND_BUFFER);
        let status = lock(&self.status);
        let mut shared = lock(&self.shared);
        let mut own: VecDeque<Chunk> = VecDeque::new();
        let cursor;
        match resume {
            None => {
                own.push_back(Chunk::Shared(text_frame(&v2::welcome(
                    token,
                    &name,
                    shared.last,
                ))));
                cursor = shared.end();
            }
            Some(Resume { after, backlog }) => {
                if after > shared.last && !give_up_waiting {
                    return Err((JoinAgain::Behind, stream, tls));
                }
                own.push_back(Chunk::Shared(text_frame(&v2::welcome(token, &name, after))));
                let d = shared.dropped;
                let mut next_n = None;
                if after < d {
                    // Lines (after, d] come from the backlog.
                    if backlog.last().is_some_and(|e| e.id < d) {
                        return Err((JoinAgain::Backlog, stream, tls));
                    }
                    next_n = backlog.first().map(|e| e.id.n);
                    cursor = shared.first;
                } else {
                    let skip = shared.ids.iter().take_while(|id| **id <= after).count();
                    cursor = shared.first + skip as u64;
                }
                if next_n.is_none() {
                    // The first line from this room's own, if it is a line.
                    let at = (cursor - shared.first) as usize;
                    next_n = shared.ids.get(at).filter(|id| **id > after).map(|id| id.n);
                }
                match next_n {
                    Some(n) if n > after.n + 1 && after != LogId::ZERO => {
                        own.push_back(Chunk::Shared(text_frame(&v2::lost(Some(n - after.n - 1)))));
                    }
                    Some(n) if n <= after.n => {
                        own.push_back(Chunk::Shared(text_frame(&v2::lost(None))));
                    }
                    _ => {}
                }
                for e in backlog.iter().filter(|e| e.id > after && e.id <= d) {
                    own.push_back(Chunk::Shared(text_frame(&v2::line(e.id, &e.line))));
                }
            }
        }
        if let Some(line) = status.as_deref() {
            own.push_back(Chunk::Shared(text_frame(line)));
        }
        let own_bytes = own.iter().map(|c| c.bytes().len()).sum();
        let client = Arc::new(Client {
            name,
            stream,
            tls,
            parked: AtomicBool::new(false),
            out: Mutex::new(Out {
                cursor,
                own,
                offset: 0,
                own_bytes,
                closing: None,
            }),
        });
        shared.joined.push(Arc::clone(&client));
        shared.joined_needs = Some(shared.joined_needs.map_or(cursor, |j| j.min(cursor)));
        shared.dirty = true;
        drop(shared);
        drop(status);
        self.online.fetch_add(1, Ordering::Relaxed);
        self.ready.notify_one();
        Ok(client)
    }

    /// Removes a client without a word (a `chat.v2` client: the caller
    /// says what is to be said, through the log).
    pub fn leave_quietly(&self, client: &Client) {
        let newly = {
            let mut out = lock(&client.out);
            let newly = out.closing.is_none();
            out.closing
                .get_or_insert_with(|| Instant::now() + CLOSE_GRACE);
            newly
        };
        self.wake(newly && client.parked.load(Ordering::Acquire));
        self.online.fetch_sub(1, Ordering::Relaxed);
    }

    /// Delivers a line of the log (`id`; a notice: `None`) to every client
    /// here.
    pub fn deliver_id(&self, line: &str, id: Option<LogId>) {
        let frame = text_frame(line);
        {
            let mut shared = lock(&self.shared);
            let id = id.unwrap_or(shared.last);
            shared.append_id(frame, id);
        }
        self.ready.notify_one();
    }

    /// Sets where this room's lines start: the log's lines after `id` are
    /// all delivered to this room (before any client joins).
    pub fn start_after(&self, id: LogId) {
        let mut shared = lock(&self.shared);
        shared.dropped = id;
        shared.last = shared.last.max(id);
    }

    /// Removes a client (its last bytes, if any, get [`CLOSE_GRACE`] to go)
    /// and tells everyone.
    pub fn leave(&self, client: &Client) {
        let newly = {
            let mut out = lock(&client.out);
            let newly = out.closing.is_none();
            out.closing
                .get_or_insert_with(|| Instant::now() + CLOSE_GRACE);
            newly
        };
        // A parked client that is leaving: the writer looks at it now.
        self.wake(newly && client.parked.load(Ordering::Acquire));
        self.online.fetch_sub(1, Ordering::Relaxed);
        self.broadcast(&format!("{} left.", client.name));
    }

    /// Says a line in this room: to the relay if there is one (which
    /// delivers it back), to every client here otherwise.
    pub fn broadcast(&self, line: &str) {
        match self.relay.get() {
            Some(relay) => relay(line),
            None => self.deliver(line),
        }
    }

    /// Sends a line to every client here (and not to the relay): encoded
    /// once, logged once.
    pub fn deliver(&self, line: &str) {
        let frame = text_frame(line);
        lock(&self.shared).append(frame);
        self.ready.notify_one();
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
        self.online.load(Ordering::Relaxed)
    }

    /// Wakes the writer; `parked`: for a parked client.
    fn wake(&self, parked: bool) {
        let mut shared = lock(&self.shared);
        shared.dirty = true;
        shared.parked_changed |= parked;
        drop(shared);
        self.ready.notify_one();
    }

    /// Hands references to the lines from `cursor` on, at most `max` and
    /// `max_bytes` (but at least one), to `lines`; returns whether more are
    /// waiting, or how many lines the client missed if its next one has
    /// left the log.
    fn take(
        &self,
        cursor: u64,
        max: usize,
        max_bytes: usize,
        lines: &mut Vec<SharedFrame>,
    ) -> Result<bool, u64> {
        let shared = lock(&self.shared);
        if cursor < shared.first {
            return Err(shared.first - cursor);
        }
        let start = (cursor - shared.first) as usize;
        let mut bytes = 0;
        for f in shared.frames.range(start.min(shared.frames.len())..) {
            if lines.len() == max || (bytes >= max_bytes && !lines.is_empty()) {
                return Ok(true);
            }
            bytes += f.as_bytes().len();
            lines.push(f.clone());
        }
        Ok(false)
    }

    /// The writer thread: whenever there is something to write, goes
    /// through the clients whose sockets have room and writes to each what
    /// it can without waiting; sets aside those whose sockets are full.
    fn run_writer(&self) {
        let mut active: Vec<Arc<Client>> = Vec::new();
        // Parked clients, with the next line each needs (u64::MAX if it is
        // leaving) and whether its goodbye was tried; the oldest of those
        // lines, and the earliest time one is to be cut off.
        let mut parked: Vec<(Arc<Client>, u64, bool)> = Vec::new();
        let mut parked_needs = u64::MAX;
        let mut parked_deadline: Option<Instant> = None;
        let mut to_watch = Vec::new();
        let mut lines = Vec::with_capacity(MAX_IOV);
        let mut active_deadline: Option<Instant> = None;
        // The last look at the parked clients stopped short.
        let mut parked_rest = false;
        let mut again = false;
        loop {
            let (first, end, returned, parked_changed) = {
                let mut shared = lock(&self.shared);
                let deadline = earliest(active_deadline, parked_deadline);
                while !shared.dirty && !again {
                    let Some(d) = deadline else {
                        shared = self.ready.wait(shared).unwrap_or_else(|e| e.into_inner());
                        continue;
                    };
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    shared = self
                        .ready
                        .wait_timeout(shared, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                shared.dirty = false;
                active.append(&mut shared.joined);
                shared.joined_needs = None;
                let flags = (
                    std::mem::take(&mut shared.returned),
                    std::mem::take(&mut shared.parked_changed),
                );
                // Lines appended from now on are written in the next pass;
                // clients joining from now on need `end` or later.
                (shared.first, shared.end(), flags.0, flags.1)
            };
            again = false;
            let now = Instant::now();
            if returned {
                parked.retain(|(c, _, _)| {
                    let still = c.parked.load(Ordering::Acquire);
                    if !still {
                        active.push(Arc::clone(c));
                    }
                    still
                });
                // The log need not keep lines for them any more.
                parked_needs = parked.iter().map(|p| p.1).min().unwrap_or(u64::MAX);
            }
            // The clients whose sockets have room: everything they can take.
            let mut needed = end;
            active_deadline = None;
            active.retain(|c| {
                let r = c.write(self, now, &mut lines);
                match r.step {
                    Step::Done => return false,
                    Step::Park => {
                        c.parked.store(true, Ordering::Release);
                        let needs = r.needs.unwrap_or(u64::MAX);
                        parked_needs = parked_needs.min(needs);
                        parked_deadline = earliest(parked_deadline, r.deadline);
                        parked.push((Arc::clone(c), needs, false));
                        to_watch.push(Arc::clone(c));
                        return false;
                    }
                    Step::More => again = true,
                    Step::Idle => {}
                }
                if let Some(needs) = r.needs {
                    needed = needed.min(needs);
                }
                active_deadline = earliest(active_deadline, r.deadline);
                true
            });
            // Then the parked ones, only when one may have fallen out of the
            // log, is leaving, or is out of time; at most LEAVING_PER_PASS
            // goodbyes and cut-offs in a pass (the rest in the next one).
            let parked_due = parked_deadline.is_some_and(|d| now >= d);
            if parked_changed || parked_due || parked_rest || parked_needs < first {
                parked_needs = u64::MAX;
                parked_deadline = None;
                parked_rest = false;
                let mut leaving = 0;
                parked.retain_mut(|(c, needs, tried)| {
                    if leaving == LEAVING_PER_PASS {
                        parked_rest = true;
                        parked_needs = parked_needs.min(*needs);
                        return true;
                    }
                    let r = c.check_parked(self, (first, now), tried, &mut lines);
                    leaving += usize::from(r.busy);
                    if r.step == Step::Done {
                        return false;
                    }
                    *needs = r.needs.unwrap_or(u64::MAX);
                    parked_needs = parked_needs.min(*needs);
                    parked_deadline = earliest(parked_deadline, r.deadline);
                    true
                });
                again |= parked_rest;
            }
            needed = needed.min(parked_needs);
            lines.clear();
            lock(&self.shared).drop_before(needed);
            shrink(&mut active);
            shrink(&mut parked);
            if !to_watch.is_empty() {
                lock(&self.to_watch).append(&mut to_watch);
                let _ = (&self.watcher_bell).write(&[1]);
                shrink(&mut to_watch);
            }
        }
    }

    /// The watcher thread: waits for parked clients' sockets to become
    /// writable (or to fail), and gives them back to the writer.
    fn run_watcher(&self, mut bell: UnixStream) {
        let mut parked: Vec<Arc<Client>> = Vec::new();
        let mut fds: Vec<libc::pollfd> = Vec::new();
        loop {
            fds.clear();
            fds.push(libc::pollfd {
                fd: bell.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            fds.extend(parked.iter().map(|c| libc::pollfd {
                fd: c.stream.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            }));
            // SAFETY: `fds` is a valid array of `fds.len()` pollfds, and each
            // fd stays open: `parked` holds its client.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    eprintln!("broadcast: poll: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            // From the end, so that `swap_remove` only moves entries already
            // looked at.
            let mut returned = false;
            for i in (1..fds.len()).rev() {
                if fds[i].revents != 0 {
                    let c = parked.swap_remove(i - 1);
                    c.parked.store(false, Ordering::Release);
                    returned = true;
                }
            }
            if fds[0].revents != 0 {
                let mut buf = [0u8; 64];
                while matches!(bell.read(&mut buf), Ok(n) if n > 0) {}
                parked.append(&mut lock(&self.to_watch));
            }
            shrink(&mut parked);
            if returned {
                let mut shared = lock(&self.shared);
                shared.dirty = true;
                shared.returned = true;
                drop(shared);
                self.ready.notify_one();
            }
        }
    }
}

/// The earlier of two optional times.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Gives back most of a list's memory once it is mostly empty.
fn shrink<T>(v: &mut Vec<T>) {
    if v.capacity() > 64 && v.len() < v.capacity() / 4 {
        v.shrink_to(v.len() * 2);
    }
}

/// A text line, encoded once for every client.
fn text_frame(line: &str) -> SharedFrame {
    encode_shared(MessageKind::Text, line.as_bytes())
}
