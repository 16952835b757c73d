//! A chat server a person opens in a browser.
//!
//! Usage: `cargo run --example broadcast -- [ADDR] [--redis URL]
//! [--ping-interval SECS]` (default address `127.0.0.1:8080`; open
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
//! With `--redis redis://127.0.0.1:6379/` the node shares its room with every
//! other node started with the same Redis: each node publishes its clients'
//! lines to a Redis pub/sub channel and delivers the other nodes' lines to its
//! own clients, so clients on different nodes chat as if on one server. Redis
//! is never waited for: local lines are delivered at once. If Redis is lost,
//! each node goes on serving its own clients, tells them once that other nodes
//! are unreachable, and reconnects (100 ms doubling to 5 s); lines said during
//! the outage stay on their node. See `redis_link`.
//!
//! Modules: `room` (the clients and getting lines to them), `redis_link` (the
//! other nodes), `page` (the HTML page), `tls` (a TLS client's state, shared
//! by its reader and the writer). Threads: each connection's request
//! is read and answered on a short-lived thread of its own (which serves the
//! page, or accepts the WebSocket and adds the client to the room); then each
//! client has a reader thread (64 KiB stack) that reads and decodes its
//! messages; one writer thread writes to every client without ever waiting
//! for a socket, and one watcher thread waits for the sockets that were full
//! to take more (see `room`); with `--redis`, a publisher and a subscriber
//! thread (see `redis_link`).
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
mod page;
mod redis_link;
mod room;
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
use room::Room;
use server_args::ServerArgs;
use tls::Tls;

struct Options {
    addr: String,
    redis: Option<String>,
    ping_interval: Option<Duration>,
    /// `--tls-cert` and `--tls-key`.
    tls: Option<(String, String)>,
}

fn usage() -> ! {
    eprintln!(
        "usage: broadcast [ADDR] [--redis URL] [--ping-interval SECS] \
         [--tls-cert FILE --tls-key FILE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut opts = Options {
        addr: "127.0.0.1:8080".into(),
        redis: None,
        ping_interval: Some(Duration::from_secs(20)),
        tls: None,
    };
    let (mut cert, mut key) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
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
    let link = opts.redis.as_deref().map(|url| {
        redis_link::Link::new(url).unwrap_or_else(|e| {
            eprintln!("broadcast: bad redis URL {url:?}: {e}");
            std::process::exit(2)
        })
    });
    let listener = TcpListener::bind(&opts.addr)?;
    let addr = listener.local_addr()?;
    eprintln!("broadcast: chat on {scheme}://{addr}/");
    let room = match link {
        None => Room::new(None)?,
        Some((link, outbox)) => {
            let relay: room::Relay = Box::new(move |line: &str| outbox.publish(line));
            let room = Room::new(Some(relay))?;
            link.start(&room)?;
            room
        }
    };
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
fn handshake(stream: TcpStream, room: &Arc<Room>, config: &ServerConfig) {
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
/// stream `parts` takes apart into the socket and the TLS state.
fn welcome<S: Read + Write>(
    incoming: Incoming<S>,
    port: u16,
    room: &Arc<Room>,
    parts: fn(S) -> (TcpStream, Option<Box<Tls>>),
) {
    if !incoming.request().is_upgrade() {
        let _ = page::serve(incoming);
        return;
    }
    let ws = match incoming.accept(&Accept::new()) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("broadcast: handshake from port {port} failed: {e}");
            return;
        }
    };
    let (stream, conn) = ws.into_parts();
    let (stream, tls) = parts(stream);
    #[cfg(feature = "rustls")]
    let stack = if tls.is_some() {
        TLS_READER_STACK
    } else {
        READER_STACK
    };
    #[cfg(not(feature = "rustls"))]
    let stack = READER_STACK;
    let name = format!("User{port}");
    eprintln!("{name} connected ({} online)", room.len() + 1);
    let client = room.join(name, stream, tls);
    // Boxed: moved by value, the connection (some 500 bytes) would be copied
    // onto the reader's stack a few times on its way into `chat`.
    let conn = Box::new(conn);
    let reader = {
        let (room, client) = (Arc::clone(room), Arc::clone(&client));
        move || {
            let why = chat(conn, &room, &client);
            room.leave(&client);
            let name = &client.name;
            eprintln!("{name} disconnected: {why} ({} online)", room.len());
        }
    };
    let spawned = std::thread::Builder::new().stack_size(stack).spawn(reader);
    if let Err(e) = spawned {
        eprintln!("broadcast: cannot start a thread: {e}");
        room.leave(&client);
    }
}

/// Reads one client's messages until the connection ends; returns why.
/// The loop carries out the core's [`Driver`] steps: what it says to
/// write goes to the client's own queue (the writer thread sends it between
/// whole chat lines), and reads wake up by the deadline it reports.
fn chat(mut conn: Box<Connection>, room: &Room, client: &room::Client) -> String {
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
                    room.broadcast(&format!("{} says: {t}", client.name));
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
