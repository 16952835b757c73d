//! A chat server a person opens in a browser.
//!
//! Usage: `cargo run --example broadcast -- [ADDR] [--redis URL]
//! [--ping-interval SECS] [--log-maxlen N] [--log-max-age SECS]
//! [--resume-window SECS] [--redis-queue N]` (default address `127.0.0.1:8080`; open
//! `http://ADDR/`), or over TLS: `cargo run --features rustls --example
//! broadcast -- [ADDR] --tls-cert cert.pem --tls-key key.pem` (PEM; see
//! `common/server_args.rs`), which serves the page on `https://ADDR/` and
//! the chat on `wss://ADDR/` (the page connects with `wss:` when it was
//! loaded over `https:`). With the flags the port is TLS only: it takes no
//! plain `http://` or `ws://` clients. Without the `rustls` feature the
//! flags fail at start-up, naming the command to run instead.
//!
//! `GET /` serves a small page that connects back over WebSocket. Everyone is
//! told `User<port> just connected.` when a client joins, `User<port> says:
//! <text>` for each message, and `User<port> left.` when it leaves (cleanly
//! or not). Every client is pinged every 20 s by default (`--ping-interval`,
//! 0 to disable) and dropped with close code 1011 if its pong does not come
//! back within 20 s, so idle connections survive proxies' idle timeouts and
//! dead clients are reaped. Connects and disconnects are logged to stderr.
//!
//! Rooms: `ws://ADDR/` is the seed's one room; `ws://ADDR/room/NAME` is a
//! room of its own. Every line said in a room goes into the room's log and
//! reaches the clients from there (see `rooms` and `common/chat_log.rs`):
//! in memory, or, with `--redis redis://127.0.0.1:6379/`, a Redis Stream
//! per room shared by every node started with the same Redis (blocking or
//! tokio), so clients on different nodes chat as if on one server, in the
//! same order everywhere. `--log-maxlen`, `--log-max-age`,
//! `--resume-window` and `--redis-queue` bound the logs and the sessions.
//! A client that offers the subprotocol `chat.v2` gets every line with its
//! log id, its messages acknowledged, and can resume its session after a
//! disconnect, on any node, with no gap and nothing twice. If Redis is
//! lost, the node goes on serving: plain clients are told once that other
//! nodes are unreachable and their lines stay on this node meanwhile;
//! `chat.v2` messages wait (bounded) and are logged once Redis is back.
//!
//! Modules: `room` (the clients and getting lines to them), `rooms` (the
//! node's rooms and their logs), `page` (the HTML page), `tls` (a TLS
//! client's state, shared by its reader and the writer). Threads: each
//! connection's request is read and answered on a short-lived thread of its
//! own (which serves the page, or accepts the WebSocket and adds the client
//! to its room); then each client has a reader thread (64 KiB stack) that
//! reads and decodes its messages; per room, one writer thread writes to
//! every client without ever waiting for a socket, and one watcher thread
//! waits for the sockets that were full to take more (see `room`); a
//! presence thread per room, and with `--redis` a reader and an appender
//! per room (see `chat_log`).
//!
//! A client that does not read costs the others nothing: a chat line is
//! encoded and logged once, each client is a cursor into the log, writes
//! never wait (`MSG_DONTWAIT`), and a client whose socket is full is set
//! aside until `poll(2)` says it has room. Once it is more than 1 MiB of
//! lines behind, it is sent a Close frame (1008, `too slow!`) and
//! disconnected. Each socket's send buffer is fixed (`room::SEND_BUFFER`,
//! 64 KiB, which Linux doubles) instead of growing to 4 MiB, so what a
//! stuck client holds in the kernel is bounded too. With 3,000 clients that
//! never read and 10 chatting at 20 lines/s, the chatters' p99 stays at
//! about 20 ms, and each of the 3,000 is dropped some 12 s in.
//!
//! An idle client costs about 11 KiB at 5,000 clients: the two pages of its
//! reader's stack that the chat loop touches (the handshake, which goes
//! deeper, ran elsewhere), a 512-byte receive buffer (it grows for longer
//! messages, and shrinks back), the connection state, and the room's record
//! of it: a cursor into the log and an empty queue for its own replies. The
//! log holds only the lines some client has not been sent yet. The reader
//! and the writer share one socket, so a client takes one file descriptor.
//!
//! A TLS client (`--tls-cert`) goes through the same writer and watcher:
//! the writer encrypts a batch of its lines for it alone and writes the
//! records without waiting; records its socket does not take wait, and
//! nothing more is encrypted for it until they are out, so a TLS client
//! that does not read is dropped by the same rule (see `tls`). It costs
//! about 27 KiB idle (rustls' state, a 4 KiB buffer for its reader, and
//! the pages decrypting touches on its reader's stack).
//!
//! If `accept` fails (out of file descriptors, typically) the loop waits a
//! little before trying again, and logs once per run of failures.

#[path = "../common/accept_backoff.rs"]
mod accept_backoff;
#[path = "../common/chat_log.rs"]
mod chat_log;
mod page;
mod room;
#[path = "../common/rooms.rs"]
mod rooms;
#[path = "../common/server_args.rs"]
mod server_args;
mod tls;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rfc6455::blocking::{self, Incoming, ServerConfig};
use rfc6455::driver::{Driver, ReadStep};
use rfc6455::handshake::Accept;
use rfc6455::{Connection, Event};

use accept_backoff::AcceptBackoff;
use chat_log::{Origin, Request};
use room::{JoinAgain, Resume, Room};
use rooms::{Chan, Rooms};
use server_args::ServerArgs;
use tls::Tls;

/// The rooms (`common/rooms.rs`) on this example's [`Room`]: a plain client
/// that joins while Redis is lost is told so ([`rooms::UNREACHABLE`]).
impl rooms::NodeRoom for Room {
    const PROGRAM: &'static str = "broadcast";
    const PLAIN_STATUS: bool = true;
    fn open() -> std::io::Result<Arc<Room>> {
        Room::new(None)
    }
}

struct Options {
    addr: String,
    redis: Option<String>,
    ping_interval: Option<Duration>,
    /// `--tls-cert` and `--tls-key`.
    tls: Option<(String, String)>,
    /// The rooms' logs: bounds, resume window, queue.
    log: chat_log::Options,
}

fn usage() -> ! {
    eprintln!(
        "usage: broadcast [ADDR] [--redis URL] [--ping-interval SECS] \
         [--tls-cert FILE --tls-key FILE] {}",
        chat_log::Options::USAGE
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        addr: "127.0.0.1:8080".into(),
        redis: None,
        ping_interval: Some(Duration::from_secs(20)),
        tls: None,
        log: chat_log::Options::default(),
    };
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match opts.log.parse_flag(&a, || args.next()) {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                eprintln!("broadcast: {e}");
                usage()
            }
        }
        match a.as_str() {
            "--ping-interval" => {
                let secs: f64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage());
                opts.ping_interval = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            "--redis" => opts.redis = Some(args.next().unwrap_or_else(|| usage())),
            "--tls-cert" => cert = Some(args.next().unwrap_or_else(|| usage())),
            "--tls-key" => key = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            other if !other.starts_with('-') => opts.addr = other.to_string(),
            _ => usage(),
        }
    }
    opts.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => usage(),
    };
    opts
}

fn main() -> std::io::Result<()> {
    let opts = parse_args();
    let mut config = ServerConfig::default();
    let tls_args = ServerArgs {
        addr: None,
        tls: opts.tls.clone(),
    };
    // Exits with a message when the files are unusable or the `rustls`
    // feature is off.
    let scheme = match tls_args.apply_tls("broadcast", "rustls", &mut config) {
        "wss" => "https",
        _ => "http",
    };
    let redis = opts.redis.as_deref().map(|url| {
        redis::Client::open(url).unwrap_or_else(|e| {
            eprintln!("broadcast: bad redis URL {url:?}: {e}");
            std::process::exit(2)
        })
    });
    let listener = TcpListener::bind(&opts.addr)?;
    let addr = listener.local_addr()?;
    eprintln!("broadcast: chat on {scheme}://{addr}/");
    let room = Arc::new(Rooms::new(redis, opts.log.clone()));
    // The seed's room is there from the start (and its Redis link with it).
    room.get("/")?;
    config.config.ping_interval = opts.ping_interval;
    config.config.max_message_size = 64 << 10;
    config.config.max_frame_size = 64 << 10;
    // Chat lines are short: idle clients keep a small receive buffer.
    config.config.read_buffer_size = 512;
    let config = Arc::new(config);
    let mut backoff = AcceptBackoff::new("broadcast");
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => {
                backoff.succeeded();
                s
            }
            Err(e) => {
                std::thread::sleep(backoff.failed(&e));
                continue;
            }
        };
        let (room, config) = (Arc::clone(&room), Arc::clone(&config));
        let spawned = std::thread::Builder::new()
            .stack_size(HANDSHAKE_STACK)
            .spawn(move || handshake(stream, &room, &config));
        if let Err(e) = spawned {
            eprintln!("broadcast: cannot start a thread: {e}");
        }
    }
    Ok(())
}

/// Stack of a client's reader thread, which runs [`chat`] only: that touches
/// two pages of it (three once it has inflated a compressed message).
const READER_STACK: usize = 64 << 10;

/// Stack of the short-lived thread that reads a request and answers it (the
/// handshake touches more of its stack than the chat loop does). More than 4
/// times `READER_STACK`: glibc gives a finished thread's stack, with the
/// pages it touched, only to a thread asking for at least a quarter of it.
const HANDSHAKE_STACK: usize = 1 << 20;

/// Stack of a TLS client's reader thread: decrypting takes more than the
/// chat loop alone (still only the pages touched count).
#[cfg(feature = "rustls")]
const TLS_READER_STACK: usize = 128 << 10;

/// Reads one request and answers it: serves the page, or accepts the
/// WebSocket, adds the client to the room and starts its reader thread. This
/// runs on a thread of its own so that the stack the handshake touched does
/// not stay with the reader for as long as the client stays. With
/// `config.tls` set, the TLS handshake comes first, here too.
fn handshake(stream: TcpStream, room: &Arc<Rooms>, config: &ServerConfig) {
    let Ok(port) = stream.peer_addr().map(|a| a.port()) else {
        return;
    };
    #[cfg(feature = "rustls")]
    if let Some(tls_config) = &config.tls {
        let tls_config = Arc::clone(tls_config);
        let stream = match tls::accept(stream, tls_config, config.handshake_timeout) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("broadcast: port {port}: {e}");
                return;
            }
        };
        if let Ok(incoming) = blocking::read_request_over(stream, config) {
            welcome(incoming, port, room, tls::into_parts);
        }
        return;
    }
    if let Ok(incoming) = blocking::read_request(stream, config) {
        welcome(incoming, port, room, |tcp| (tcp, None));
    }
}

/// Answers a request (over TCP, or TLS): the page, or the WebSocket, whose
/// stream `parts` takes apart into the socket and the TLS state. The path
/// picks the room (`/room/NAME`, or the seed's room); a client that offers
/// `chat.v2` speaks it (see [`resumable`]).
fn welcome<S: Read + Write>(
    incoming: Incoming<S>,
    port: u16,
    rooms: &Arc<Rooms>,
    parts: fn(S) -> (TcpStream, Option<Box<Tls>>),
) {
    if !incoming.request().is_upgrade() {
        let _ = page::serve(incoming);
        return;
    }
    let chan = match rooms.get(&rooms::room_of(incoming.request().path())) {
        Ok(chan) => chan,
        Err(e) => {
            eprintln!("broadcast: cannot open a room: {e}");
            let _ = incoming.reject(503, format!("Cannot open this room: {e}\n").as_bytes());
            return;
        }
    };
    let v2 = incoming
        .request()
        .subprotocols()
        .any(|p| p == chat_log::PROTOCOL);
    let accept = if v2 {
        Accept::new().subprotocol(chat_log::PROTOCOL)
    } else {
        Accept::new()
    };
    let ws = match incoming.accept(&accept) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("broadcast: handshake from port {port} failed: {e}");
            return;
        }
    };
    if v2 {
        resumable(ws, port, chan, parts);
        return;
    }
    let room = &chan.clients.plain;
    let (stream, conn) = ws.into_parts();
    let (stream, tls) = parts(stream);
    let stack = reader_stack(tls.is_some());
    let name = format!("User{port}");
    eprintln!(
        "{name} connected to {} ({} online)",
        chan.name,
        chan.len() + 1
    );
    chan.log.presence.add(&name);
    let client = room.join(name, stream, tls);
    // Boxed: moved by value, the connection (some 500 bytes) would be copied
    // onto the reader's stack a few times on its way into `chat`.
    let conn = Box::new(conn);
    let reader = {
        let (chan, client) = (Arc::clone(&chan), Arc::clone(&client));
        move || {
            let room = &chan.clients.plain;
            let name = client.name.clone();
            let why = chat(conn, room, &client, &mut |t| {
                room.broadcast(&format!("{name} says: {t}"))
            });
            room.leave(&client);
            chan.log.presence.remove(&name);
            eprintln!("{name} disconnected: {why} ({} online)", chan.len());
        }
    };
    let spawned = std::thread::Builder::new().stack_size(stack).spawn(reader);
    if let Err(e) = spawned {
        eprintln!("broadcast: cannot start a thread: {e}");
        room.leave(&client);
    }
}

/// The stack of a client's reader thread.
fn reader_stack(tls: bool) -> usize {
    #[cfg(feature = "rustls")]
    if tls {
        return TLS_READER_STACK;
    }
    let _ = tls;
    READER_STACK
}

/// How long a `chat.v2` client has to say `hello` or `resume`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of backlog a resumed client is sent at most (the log's bound is
/// the other limit).
const MAX_BACKLOG: usize = 100_000;

/// A `chat.v2` client: reads its `hello` (a new session, named after its
/// port) or `resume TOKEN ID` (the session's name again, and every line
/// after `ID`), then its messages, each logged once per client id and
/// acknowledged with its log id.
fn resumable<S: Read + Write>(
    mut ws: blocking::WebSocket<S>,
    port: u16,
    chan: Arc<Chan>,
    parts: fn(S) -> (TcpStream, Option<Box<Tls>>),
) {
    let _ = ws.set_read_timeout(Some(HELLO_TIMEOUT));
    let request = match ws.read() {
        Ok(rfc6455::Message::Text(t)) => t.parse::<Request>(),
        _ => return,
    };
    let (token, name, after) = match request {
        Ok(Request::Resume { token, after }) => match chan.log.session(&token) {
            Ok(Some(name)) => (token, name, Some(after)),
            Ok(None) => (chat_log::new_token(), format!("User{port}"), None),
            Err(e) => {
                eprintln!("broadcast: port {port}: cannot resume: {e}");
                let _ = ws.close(rfc6455::CloseCode::TRY_AGAIN_LATER, "log unreachable");
                return;
            }
        },
        Ok(Request::Hello) => (chat_log::new_token(), format!("User{port}"), None),
        Ok(Request::Msg { .. }) | Err(_) => {
            let _ = ws.close(rfc6455::CloseCode::PROTOCOL_ERROR, "hello first");
            return;
        }
    };
    let _ = ws.set_read_timeout(None);
    if let Err(e) = chan.log.keep_session(&token, &name) {
        eprintln!("broadcast: {name}: session not saved: {e}");
    }
    let (stream, conn) = ws.into_parts();
    let mut socket = parts(stream);
    let stack = reader_stack(socket.1.is_some());
    let room = &chan.clients.v2;
    // Joins once the log's backlog meets this room's lines.
    let waited = std::time::Instant::now();
    let client = loop {
        let backlog = match after {
            Some(after) => match chan.log.range(after, MAX_BACKLOG) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("broadcast: {name}: cannot resume: {e}");
                    return;
                }
            },
            None => Vec::new(),
        };
        let resume = after.map(|after| Resume {
            after,
            backlog: &backlog,
        });
        let give_up = waited.elapsed() > Duration::from_secs(2);
        match room.join_v2(name.clone(), &token, socket, resume, give_up) {
            Ok(client) => break client,
            Err((why, stream, tls)) => {
                socket = (stream, tls);
                if matches!(why, JoinAgain::Behind) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    };
    chan.log.presence.add(&name);
    client.push_text(room, &chan.log.presence.line());
    eprintln!(
        "{name} connected (chat.v2{}, {} online)",
        if after.is_some() { ", resumed" } else { "" },
        chan.len()
    );
    if after.is_none() {
        let _ = chan
            .log
            .append(format!("{name} just connected."), None, None);
    }
    let conn = Box::new(conn);
    let reader = {
        let (chan, client) = (Arc::clone(&chan), Arc::clone(&client));
        move || {
            let room = &chan.clients.v2;
            let on_text = &mut |t: &str| match t.parse::<Request>() {
                Ok(Request::Msg { cid, text }) => {
                    let (room2, client2) = (Arc::clone(room), Arc::clone(&client));
                    let done: chat_log::Done = Box::new(move |r| match r {
                        Ok(id) => client2.push_text(&room2, &chat_log::v2::ack(cid, id)),
                        Err(_) => client2.push_text(&room2, &chat_log::v2::busy(cid)),
                    });
                    let origin = Origin {
                        token: token.clone(),
                        cid,
                    };
                    let line = format!("{} says: {text}", client.name);
                    if chan.log.append(line, Some(origin), Some(done)).is_err() {
                        client.push_text(room, &chat_log::v2::busy(cid));
                    }
                }
                Ok(_) | Err(_) => {
                    client.push_text(room, &chat_log::v2::notice("not understood"));
                }
            };
            let why = chat(conn, room, &client, on_text);
            room.leave_quietly(&client);
            let name = &client.name;
            chan.log.presence.remove(name);
            if let Err(e) = chan.log.keep_session(&token, name) {
                eprintln!("broadcast: {name}: session not saved: {e}");
            }
            // A client that closed is gone; one that vanished may resume.
            if why == "closed" {
                let _ = chan.log.append(format!("{name} left."), None, None);
            }
            eprintln!("{name} disconnected: {why} ({} online)", chan.len());
        }
    };
    let spawned = std::thread::Builder::new().stack_size(stack).spawn(reader);
    if let Err(e) = spawned {
        eprintln!("broadcast: cannot start a thread: {e}");
        room.leave_quietly(&client);
    }
}

/// Reads one client's messages until the connection ends; returns why.
/// The loop carries out the core's [`Driver`] steps: what it says to
/// write goes to the client's own queue (the writer thread sends it between
/// whole chat lines), and reads wake up by the deadline it reports.
fn chat(
    mut conn: Box<Connection>,
    room: &Room,
    client: &room::Client,
    on_text: &mut dyn FnMut(&str),
) -> String {
    let stream = &client.stream;
    // A TLS client's ciphertext, read but not yet decrypted.
    let mut tls_input = client.tls_input();
    let epoch = Instant::now();
    let mut driver = Driver::new();
    conn.handle_timeout(Duration::ZERO);
    // The read timeout is re-set only when the deadline moved noticeably
    // (a system call per read is not free).
    let mut applied: Option<Duration> = None;
    loop {
        driver.start_read(&conn);
        let step = match driver.poll_read(&mut conn, || epoch.elapsed(), false) {
            Ok(step) => step,
            Err(e) => {
                client.push_own(room, conn.take_output(), true);
                return format!("{e}");
            }
        };
        match step {
            ReadStep::Deliver { write_first } => {
                if let Some(Event::Text(t)) = conn.event() {
                    on_text(t);
                }
                if write_first {
                    let last = conn.state() == rfc6455::State::Closed;
                    client.push_own(room, conn.take_output(), last);
                }
            }
            ReadStep::Write | ReadStep::WaitWritable => {
                let last = conn.state() == rfc6455::State::Closed;
                client.push_own(room, conn.take_output(), last);
            }
            // The writer shuts the socket down after the last bytes.
            ReadStep::Shutdown => driver.shutdown_done(),
            ReadStep::Closed => return "closed".into(),
            ReadStep::Read { deadline } => {
                let wait = deadline.map(|d| {
                    d.saturating_sub(epoch.elapsed())
                        .max(Duration::from_millis(1))
                });
                let stale = match (wait, applied) {
                    (Some(w), Some(a)) => {
                        w + Duration::from_millis(50) < a || w > a + Duration::from_secs(1)
                    }
                    (w, a) => w != a,
                };
                if stale {
                    let _ = stream.set_read_timeout(wait);
                    applied = wait;
                }
                match client.read(room, tls_input.as_mut(), conn.read_buf()) {
                    Ok(0) => {
                        driver.commit_read(&mut conn, 0, epoch.elapsed());
                        return "connection lost".into();
                    }
                    Ok(n) => driver.commit_read(&mut conn, n, epoch.elapsed()),
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock
                                | std::io::ErrorKind::TimedOut
                                | std::io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return format!("{e}"),
                }
            }
        }
    }
}
