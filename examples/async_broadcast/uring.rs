//! `async_broadcast --uring`: the same chat on io_uring (feature `uring`,
//! `rfc6455::uring`): one loop (thread and ring) per core, sharing the room.
//!
//! The same page, strings and rules as the tokio path: the same [`Room`]
//! (one log of encoded frames, each client a cursor in it, at most
//! [`BATCH`] lines moved into a connection at a time and only while its
//! queue is at or below the high-water mark, a client whose next line left
//! the log closed with 1008 "too slow!"). What differs is who moves the
//! lines: instead of one task per client woken by every line, each loop's
//! [`Handler::turn`] moves the room's new lines into every connection of
//! that loop at once, at most every [`PUMP_EVERY`], and the ring submits
//! all their sends together. A loop that added lines in a turn wakes the
//! other loops once ([`Waker`]), and they move the lines to their own
//! clients.
#![cfg_attr(
    not(all(feature = "uring", target_os = "linux")),
    allow(dead_code, unused_imports)
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfc6455::handshake::{http_response, Request};
use rfc6455::tokio::ServerConfig;
use rfc6455::{CloseCode, Event};

use crate::room::{Room, Taken};

/// Lines moved from the room's log into a connection at a time (as the
/// tokio path's `chat::BATCH`).
const BATCH: usize = 64;

/// The room's new lines are moved to this loop's clients at most this
/// often. A line that comes later than that after the last move goes out at
/// once (a quiet room adds no delay); lines that come faster wait for the
/// next move, at most this long, so that each send carries more of them: a
/// send costs the kernel about the same whatever it carries. Measured at
/// saturation (1,000 clients, 4 senders × 8 in flight, two rounds taking
/// turns): 0.58-0.62× the server CPU per delivery of moving every turn's
/// lines at once, 1.27-1.32× the deliveries/s, and a lower p99 (23-31
/// against 38 ms). README, "io_uring".
const PUMP_EVERY: Duration = Duration::from_millis(10);

#[cfg(all(feature = "uring", target_os = "linux"))]
use rfc6455::uring::{Answer, ConnId, Conns, Error, Handler, Server, Waker};

struct Client {
    name: String,
    cursor: u64,
    /// Fell out of the log: closing with 1008.
    too_slow: bool,
    /// Stopped taking lines at the high-water mark.
    blocked: bool,
}

#[cfg(all(feature = "uring", target_os = "linux"))]
struct Chat {
    room: Arc<Room>,
    /// This loop's clients.
    clients: HashMap<ConnId, Client>,
    /// Lines were added this turn: every client gets them in `turn`, and
    /// the other loops are woken.
    appended: bool,
    /// Another loop added lines, or the pump's timer fired.
    woken: bool,
    /// Lines wait to be moved to the clients (see [`PUMP_EVERY`]).
    pending: bool,
    /// When the lines were last moved to every client.
    pumped: Instant,
    /// When the [`Conns::wake_in`] armed last fires.
    timer: Option<Instant>,
    /// The other loops' wakers.
    others: Vec<Waker>,
}

#[cfg(all(feature = "uring", target_os = "linux"))]
impl Chat {
    /// Moves the lines `id` has not sent yet into its connection, while it
    /// has room; closes it if it fell out of the log.
    fn pump(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.too_slow {
            return;
        }
        let mut missed = None;
        loop {
            if !conns.has_room(id) {
                // `writable` pumps again when the queue drains.
                client.blocked = true;
                missed = self.room.missed(client.cursor);
                break;
            }
            let Some(conn) = conns.connection_mut(id) else {
                return;
            };
            match self.room.take(&mut client.cursor, BATCH, |frame| {
                let _ = conn.send_shared(frame);
            }) {
                Taken::Lines(true) => continue,
                Taken::Lines(false) => break,
                Taken::Lagged(n) => {
                    missed = Some(n);
                    break;
                }
            }
        }
        if let Some(n) = missed {
            eprintln!(
                "{} is too slow ({n} lines missed): disconnecting",
                client.name
            );
            client.too_slow = true;
            // Behind the queued lines; the close timeout ends it if the
            // client never reads them.
            let _ = conns.close(id, Some(CloseCode::POLICY_VIOLATION), "too slow!");
        }
    }
}

#[cfg(all(feature = "uring", target_os = "linux"))]
impl Handler for Chat {
    fn request(&mut self, _id: ConnId, request: &Request) -> Answer {
        if request.is_upgrade() {
            return Answer::Accept;
        }
        let response = match request.path() {
            "/" | "/index.html" => {
                http_response(200, "text/html; charset=utf-8", PLAIN_PAGE.as_bytes())
            }
            _ => http_response(404, "text/plain; charset=utf-8", b"not found\n"),
        };
        Answer::Respond(response.unwrap_or_default())
    }

    fn open(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        let port = conns.peer_addr(id).map_or(0, |a| a.port());
        let name = format!("User{port}");
        eprintln!("{name} connected ({} online)", self.room.len() + 1);
        let cursor = self.room.join(&name);
        self.clients.insert(
            id,
            Client {
                name,
                cursor,
                too_slow: false,
                blocked: false,
            },
        );
        self.appended = true;
    }

    fn event(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        let Some(Event::Text(t)) = conns.connection(id).and_then(|c| c.event()) else {
            return;
        };
        if let Some(client) = self.clients.get(&id) {
            self.room.broadcast(&format!("{} says: {t}", client.name));
            self.appended = true;
        }
    }

    fn writable(&mut self, conns: &mut Conns<'_>, id: ConnId) {
        // Only a client that stopped at its high-water mark: the others get
        // the next lines with everyone (`turn`), so that a send carries
        // what arrived since the last pump rather than since its last send.
        if self
            .clients
            .get_mut(&id)
            .is_some_and(|c| std::mem::take(&mut c.blocked))
        {
            self.pump(conns, id);
        }
    }

    fn closed(&mut self, _: &mut Conns<'_>, id: ConnId, error: Option<rfc6455::adapter::Error>) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        self.room.leave(&client.name);
        self.appended = true;
        let why = match (client.too_slow, error) {
            (true, _) => "too slow".to_string(),
            (false, None) => "closed".to_string(),
            (false, Some(e)) => e.to_string(),
        };
        eprintln!(
            "{} disconnected: {why} ({} online)",
            client.name,
            self.room.len()
        );
    }

    fn woken(&mut self, _: &mut Conns<'_>) {
        self.woken = true;
    }

    fn turn(&mut self, conns: &mut Conns<'_>) {
        let appended = std::mem::take(&mut self.appended);
        if appended {
            for other in &self.others {
                other.wake();
            }
        }
        // Woken by another loop (new lines), or by the timer below.
        self.pending |= appended | std::mem::take(&mut self.woken);
        if !self.pending {
            return;
        }
        let now = Instant::now();
        self.timer = self.timer.filter(|&at| at > now);
        let since = now - self.pumped;
        if since < PUMP_EVERY {
            if self.timer.is_none() {
                self.timer = Some(now + (PUMP_EVERY - since));
                conns.wake_in(PUMP_EVERY - since);
            }
            return;
        }
        self.pending = false;
        self.pumped = now;
        let ids: Vec<ConnId> = self.clients.keys().copied().collect();
        for id in ids {
            self.pump(conns, id);
        }
    }
}

/// Serves the chat on io_uring, forever; returns `Ok` only if io_uring is
/// unavailable (having said why).
#[cfg(all(feature = "uring", target_os = "linux"))]
pub fn serve(addr: &str, ping_interval: Option<Duration>) -> std::io::Result<()> {
    let mut config = ServerConfig::default();
    config.config.ping_interval = ping_interval;
    config.config.max_message_size = 64 << 10;
    config.config.max_frame_size = 64 << 10;
    let server = match Server::bind(addr, config) {
        Ok(server) => server,
        Err(Error::Unavailable(why)) => {
            eprintln!("async_broadcast: io_uring is unavailable: {why}");
            return Ok(());
        }
        Err(e) => return Err(std::io::Error::other(e)),
    };
    // One loop per core, as tokio has a worker per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut loops = vec![server];
    for _ in 1..cores {
        match loops[0].another_loop() {
            Ok(another) => loops.push(another),
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
    let wakers: Vec<Waker> = loops.iter().map(Server::waker).collect();
    let room = Arc::new(Room::default());
    let chat = |i: usize| Chat {
        room: Arc::clone(&room),
        clients: HashMap::new(),
        appended: false,
        woken: false,
        pending: false,
        pumped: Instant::now(),
        timer: None,
        others: (wakers.iter().enumerate())
            .filter(|&(j, _)| j != i)
            .map(|(_, w)| w.clone())
            .collect(),
    };
    eprintln!("async_broadcast: on io_uring");
    eprintln!(
        "async_broadcast: chat on http://{}/",
        loops[0].local_addr()?
    );
    let first = loops.remove(0);
    for (i, server) in loops.into_iter().enumerate() {
        let mut chat = chat(i + 1);
        std::thread::spawn(move || {
            if let Err(e) = server.run(&mut chat) {
                // The first loop may be serving: no falling back now.
                eprintln!("async_broadcast: an io_uring loop failed: {e}");
                std::process::exit(1);
            }
        });
    }
    match first.run(&mut chat(0)) {
        // The ring is set up on the loop's thread; refused there (out of
        // locked memory, say) it is unavailable as well.
        Err(Error::Unavailable(why)) => {
            eprintln!("async_broadcast: io_uring is unavailable: {why}");
            Ok(())
        }
        r => r.map_err(std::io::Error::other),
    }
}

/// Without the `uring` feature: says so, for the caller to fall back.
#[cfg(not(all(feature = "uring", target_os = "linux")))]
pub fn serve(_addr: &str, _ping_interval: Option<Duration>) -> std::io::Result<()> {
    eprintln!(
        "async_broadcast: io_uring is unavailable: built without the `uring` feature \
         (cargo run --release --features tokio,uring --example async_broadcast -- [ADDR] --uring)"
    );
    Ok(())
}

/// The page without the `chat.v2` offer: this chat speaks the seed's
/// strings only.
static PLAIN_PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(crate::page::plain_page);
