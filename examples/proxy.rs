//! A WebSocket-aware reverse proxy: relays every client to one upstream
//! WebSocket server, frame by frame.
//!
//! Usage: `cargo run --example proxy -- LISTEN_ADDR ws://UPSTREAM_HOST:PORT/PATH`
//! (e.g. `cargo run --example proxy -- 127.0.0.1:8081 ws://127.0.0.1:9001/`).
//!
//! For each client that upgrades, the proxy first opens one connection to
//! the upstream, then answers the client:
//!
//! - **Target.** The upstream URL's path is a *prefix*: a client asking for
//!   `/chat?room=1` through `ws://up:9001/api` reaches `/api/chat?room=1`
//!   (with `ws://up:9001/` or no path it reaches `/chat?room=1`). A query in
//!   the upstream URL comes first, joined to the client's with `&`.
//! - **Headers.** The subprotocols the client offered are offered upstream,
//!   and the one the upstream picks is the one the client is answered with
//!   (which is why the upstream is connected first). `Origin` is passed on,
//!   and `X-Forwarded-For` carries the client's IP (appended to one the
//!   client sent). permessage-deflate is negotiated on neither leg.
//! - **Messages** are relayed without reassembly: both legs run with
//!   [`Config::stream_fragments`](rfc6455::Config::stream_fragments), so data
//!   arrives as pieces (at most one socket read each) and every piece goes
//!   out at once as a frame of the same message on the other leg — an
//!   intermediary may refragment (RFC 6455 §5.4). A 16 MiB message passes
//!   with a few KiB of buffers; messages up to 64 MiB are accepted.
//! - **Pings and pongs** are per leg: each leg answers its own peer's Pings
//!   and none is forwarded.
//! - **Closing.** A Close from either side is passed to the other with the
//!   same code and reason (an empty Close as 1000). When the upstream goes
//!   away without a Close (EOF, reset) or cannot be connected to at all
//!   (refused, or its handshake fails: the client is then accepted without
//!   a subprotocol and closed at once), the client gets a Close with 1001;
//!   when it breaks the protocol, 1011. When the client goes away or breaks
//!   the protocol, the upstream gets 1001. A leg that never answers a Close
//!   is dropped after the close timeout (10 s).
//! - **Plain HTTP** requests (not upgrades) get `404 Not Found`.
//!
//! Threads: two per proxied connection, one per direction. Each leg is a
//! [`WebSocket::split`] pair; a thread reads one leg's [`Reader`] and writes
//! the other leg's [`Writer`]. A close on one leg is forwarded to the other,
//! whose reader then ends with that closing handshake (or its close timeout);
//! a leg whose socket failed is shut down, which wakes its blocked reader.
//! Connects and disconnects are logged to stderr.

use std::net::{IpAddr, Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use rfc6455::blocking::{self, ClientConfig, Error, Reader, ServerConfig, WebSocket, Writer};
use rfc6455::handshake::{Accept, ClientOptions, Request, Uri};
use rfc6455::{CloseCode, Config, Message};

/// Largest message (and frame) either leg accepts.
const MAX_MESSAGE: usize = 64 << 20;

/// Where clients are sent.
struct Upstream {
    /// As given on the command line, for the logs.
    url: String,
    /// `ws://host:port` (with brackets for IPv6).
    origin: String,
    /// The URL's path without a trailing `/`: prefixed to the client's path.
    prefix: String,
    /// The URL's query, if any: put before the client's.
    query: Option<String>,
}

impl Upstream {
    fn parse(url: &str) -> Result<Upstream, String> {
        let uri = Uri::parse(url).map_err(|e| format!("bad upstream URL {url:?}: {e}"))?;
        if uri.is_secure() {
            return Err("wss:// upstreams are not supported by this example".into());
        }
        Ok(Upstream {
            url: url.to_string(),
            origin: format!("ws://{}", authority(&uri)),
            prefix: uri.path().trim_end_matches('/').to_string(),
            query: uri.query().filter(|q| !q.is_empty()).map(String::from),
        })
    }

    /// The upstream URL for a client's request: the upstream path as a
    /// prefix of the client's, the queries joined.
    fn url_for(&self, request: &Request) -> String {
        let mut url = format!("{}{}{}", self.origin, self.prefix, request.path());
        let client_query = request.query().filter(|q| !q.is_empty());
        match (&self.query, client_query) {
            (Some(a), Some(b)) => url.push_str(&format!("?{a}&{b}")),
            (Some(q), None) => url.push_str(&format!("?{q}")),
            (None, Some(q)) => url.push_str(&format!("?{q}")),
            (None, None) => {}
        }
        url
    }
}

/// `host:port` of a URI, with brackets around an IPv6 host.
fn authority(uri: &Uri) -> String {
    if uri.is_ipv6() {
        format!("[{}]:{}", uri.host(), uri.port())
    } else {
        format!("{}:{}", uri.host(), uri.port())
    }
}

fn usage() -> ! {
    eprintln!("usage: proxy LISTEN_ADDR ws://UPSTREAM_HOST:PORT/PATH");
    std::process::exit(2)
}

/// The settings both legs share: streamed fragments, raised limits.
fn leg_config() -> Config {
    let mut config = Config::default();
    config.stream_fragments = true;
    config.max_message_size = MAX_MESSAGE;
    config.max_frame_size = MAX_MESSAGE;
    config
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(url), None) = (args.next(), args.next(), args.next()) else {
        usage()
    };
    if listen.starts_with('-') {
        usage();
    }
    let upstream = match Upstream::parse(&url) {
        Ok(u) => Arc::new(u),
        Err(e) => {
            eprintln!("proxy: {e}");
            std::process::exit(2)
        }
    };
    let listener = TcpListener::bind(&listen)?;
    eprintln!(
        "proxy listening on ws://{} -> {}",
        listener.local_addr()?,
        upstream.url
    );

    let mut server = ServerConfig::default();
    server.config = leg_config();
    server.deflate = None;
    let mut client = ClientConfig::default();
    client.config = leg_config();
    client.deflate = None;
    let configs = Arc::new((server, client));

    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (upstream, configs) = (Arc::clone(&upstream), Arc::clone(&configs));
        let spawned = thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || serve(stream, &upstream, &configs.0, &configs.1));
        if let Err(e) = spawned {
            eprintln!("proxy: cannot start a thread: {e}");
        }
    }
    Ok(())
}

/// Handles one client from its request to the end of both legs.
fn serve(stream: TcpStream, upstream: &Upstream, server: &ServerConfig, client: &ClientConfig) {
    let Ok(peer) = stream.peer_addr() else {
        return;
    };
    let incoming = match blocking::read_request(stream, server) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("proxy: {peer}: bad request: {e}");
            return;
        }
    };
    let request = incoming.request();
    if !request.is_upgrade() {
        eprintln!(
            "proxy: {peer}: plain HTTP {} {} -> 404",
            request.method(),
            request.target()
        );
        let _ = incoming.respond(404, "text/plain", b"Not Found: this is a WebSocket proxy\n");
        return;
    }
    if let Err(e) = request.validate() {
        eprintln!("proxy: {peer}: invalid upgrade: {e}");
        // Answers with the matching error response (400, 426).
        let _ = incoming.accept(&Accept::new());
        return;
    }

    // Connect upstream first: its choice of subprotocol goes into our answer.
    let url = upstream.url_for(request);
    let mut config = client.clone();
    config.options = upstream_options(request, peer.ip());
    let up = blocking::connect_with(&url, &config);
    let chosen = match &up {
        Ok((_, response)) => response.subprotocol().map(String::from),
        Err(_) => None,
    };
    let mut accept = Accept::new();
    if let Some(p) = &chosen {
        accept = accept.subprotocol(p);
    }
    let mut client_ws = match incoming.accept(&accept) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("proxy: {peer}: handshake failed: {e}");
            if let Ok((mut up, _)) = up {
                let _ = up.close(CloseCode::GOING_AWAY, "client handshake failed");
            }
            return;
        }
    };
    let up_ws = match up {
        Ok((ws, _)) => ws,
        Err(e) => {
            eprintln!("proxy: {peer}: upstream {url} unreachable: {e}");
            let _ = client_ws.close(CloseCode::GOING_AWAY, "upstream unavailable");
            return;
        }
    };
    let via = up_ws
        .get_ref()
        .local_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string());
    eprintln!(
        "proxy: {peer} connected -> {url} (via {via}, subprotocol {})",
        chosen.as_deref().unwrap_or("none")
    );
    let why = relay(client_ws, up_ws);
    eprintln!("proxy: {peer} disconnected: {why}");
}

/// The upstream request's options: the client's subprotocols and Origin,
/// and `X-Forwarded-For`.
fn upstream_options(request: &Request, ip: IpAddr) -> ClientOptions {
    let mut options = ClientOptions::new();
    for p in request.subprotocols() {
        options = options.subprotocol(p);
    }
    if let Some(origin) = request.origin() {
        options = options.origin(origin);
    }
    let forwarded = match request.headers().get_str("x-forwarded-for") {
        Some(prior) if !prior.trim().is_empty() => format!("{}, {ip}", prior.trim()),
        _ => ip.to_string(),
    };
    options.header("X-Forwarded-For", forwarded)
}

/// Which way a pump moves messages.
#[derive(Clone, Copy)]
enum Direction {
    ClientToUpstream,
    UpstreamToClient,
}

impl Direction {
    fn source(self) -> &'static str {
        match self {
            Direction::ClientToUpstream => "client",
            Direction::UpstreamToClient => "upstream",
        }
    }
}

/// Relays both ways until both legs are done; returns a line for the log.
fn relay(client: WebSocket<TcpStream>, upstream: WebSocket<TcpStream>) -> String {
    let socks = (client.get_ref().try_clone(), upstream.get_ref().try_clone());
    let (Ok(client_sock), Ok(up_sock)) = socks else {
        return "cannot clone sockets".into();
    };
    let halves = (client.split(), upstream.split());
    let (Ok((client_rx, client_tx)), Ok((up_rx, up_tx))) = halves else {
        let _ = client_sock.shutdown(Shutdown::Both);
        let _ = up_sock.shutdown(Shutdown::Both);
        return "cannot split the connections".into();
    };
    let back = {
        let client_sock = match client_sock.try_clone() {
            Ok(s) => s,
            Err(e) => return format!("cannot clone a socket: {e}"),
        };
        thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || pump(up_rx, &client_tx, &client_sock, Direction::UpstreamToClient))
    };
    let back = match back {
        Ok(h) => h,
        Err(e) => {
            let _ = client_sock.shutdown(Shutdown::Both);
            let _ = up_sock.shutdown(Shutdown::Both);
            return format!("cannot start a thread: {e}");
        }
    };
    let forth = pump(client_rx, &up_tx, &up_sock, Direction::ClientToUpstream);
    let back = back
        .join()
        .unwrap_or_else(|_| "relay thread panicked".into());
    format!("{forth}; {back}")
}

/// Reads `from` and writes `to` until `from` ends; forwards the end as a
/// Close on `to`. Returns how `from` ended.
fn pump(mut from: Reader, to: &Writer, to_sock: &TcpStream, dir: Direction) -> String {
    let name = dir.source();
    // Once `to` cannot be written, what still arrives is dropped; `from` is
    // still read so that its closing handshake completes.
    let mut to_open = true;
    let mut outcome: Option<String> = None;
    loop {
        let sent = match from.read() {
            Ok(Message::Fragment { kind, data, fin }) => {
                if to_open {
                    to.send_fragment(kind, &data, fin)
                } else {
                    Ok(())
                }
            }
            // Not produced in stream_fragments mode; relayed all the same.
            Ok(Message::Text(t)) if to_open => to.send_text(&t),
            Ok(Message::Binary(b)) if to_open => to.send_binary(&b),
            Ok(Message::Text(_) | Message::Binary(_)) => Ok(()),
            // Each leg answers its own pings (auto-pong).
            Ok(Message::Ping(_) | Message::Pong(_)) => Ok(()),
            Ok(Message::Close(frame)) => {
                let (code, reason) = match frame {
                    Some(f) => match f.code {
                        Some(c) if c.is_valid_on_wire() => (c, f.reason),
                        _ => (CloseCode::NORMAL, String::new()),
                    },
                    None => (CloseCode::NORMAL, String::new()),
                };
                outcome = Some(format!("{name} closed with {}", code.as_u16()));
                if to_open {
                    to_open = false;
                    forward_close(to, to_sock, code, &reason);
                }
                Ok(())
            }
            Err(Error::ConnectionClosed) => {
                return outcome.unwrap_or_else(|| format!("{name} closed"));
            }
            Err(e) => {
                let gone = matches!(
                    e,
                    Error::Io(_) | Error::Protocol(rfc6455::Error::AbnormalClosure)
                );
                let (code, reason) = match (dir, gone) {
                    (Direction::UpstreamToClient, true) => {
                        (CloseCode::GOING_AWAY, "upstream went away")
                    }
                    (Direction::UpstreamToClient, false) => {
                        (CloseCode::INTERNAL_ERROR, "upstream protocol error")
                    }
                    (Direction::ClientToUpstream, true) => {
                        (CloseCode::GOING_AWAY, "client went away")
                    }
                    (Direction::ClientToUpstream, false) => {
                        (CloseCode::GOING_AWAY, "client protocol error")
                    }
                };
                if to_open {
                    forward_close(to, to_sock, code, reason);
                }
                let what = if gone { "went away" } else { "failed" };
                return outcome
                    .unwrap_or_else(|| format!("{name} {what} ({e}); sent {}", code.as_u16()));
            }
        };
        if let Err(e) = sent {
            // The other leg is gone (or closing): its own reader reports it.
            to_open = false;
            if matches!(e, Error::Io(_)) {
                let _ = to_sock.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Starts the closing handshake on the other leg; if its socket is broken,
/// shuts it down so that the thread reading it wakes up.
fn forward_close(to: &Writer, to_sock: &TcpStream, code: CloseCode, reason: &str) {
    if let Err(Error::Io(_)) = to.close(code, reason) {
        let _ = to_sock.shutdown(Shutdown::Both);
    }
}
