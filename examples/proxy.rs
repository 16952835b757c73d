//! A WebSocket-aware reverse proxy: relays every client to one upstream
//! WebSocket server, frame by frame.
//!
//! Usage: `cargo run --example proxy -- LISTEN_ADDR ws://UPSTREAM_HOST:PORT/PATH`
//! (e.g. `cargo run --example proxy -- 127.0.0.1:8081 ws://127.0.0.1:9001/`).
//!
//! For each client that asks to upgrade, the proxy checks the request,
//! opens the upstream leg (TCP connection and opening handshake), and only
//! then answers the client:
//!
//! - **Where requests go.** Always to the host and port of the upstream URL
//!   given on the command line, and nowhere else: the proxy connects the
//!   socket to that address itself and sends that authority as `Host`. The
//!   client's `Host` header and the authority of an absolute-form target
//!   (`GET ws://other:9/x HTTP/1.1`) are ignored.
//! - **Target mapping.** The client's target must be in origin form
//!   (`/path?query`) or absolute form (`ws://`, `wss://`, `http://` or
//!   `https://` plus an authority); only its path and query are used. The
//!   upstream URL's path is a *prefix*: a client asking for `/chat?room=1`
//!   through `ws://up:9001/api` reaches `/api/chat?room=1` (through
//!   `ws://up:9001/` or `ws://up:9001`, `/chat?room=1`). A query in the
//!   upstream URL comes first, joined to the client's with `&`. The request
//!   is refused with `400 Bad Request` when its target has any other form
//!   (`*`, `chat`, `5/`, `:9/`, `@host/`, `%2e%2e/`), or when its path could
//!   climb out of the prefix or be read differently upstream: an empty
//!   segment (`//host/…`), a `.` or `..` segment however it is
//!   percent-encoded (`/%2e%2e/`, also before a `;` as in `/..;/`), an
//!   encoded `/`, `\` or control character, a malformed `%` escape, or a
//!   character RFC 3986 does not allow in a path or query.
//! - **502 Bad Gateway** is the answer when the upstream cannot be reached
//!   (name not resolved, connection refused or timed out), refuses the
//!   upgrade (the body says `upstream answered 403`, and an
//!   `X-Upstream-Status` header carries the status), or answers with a
//!   handshake that is not valid, including one that selects an extension
//!   or subprotocol that was not offered. No client ever gets `101` without
//!   an upstream leg behind it.
//! - **What is passed on.** The subprotocols the client offered are offered
//!   upstream, and the client is answered with the one the upstream chose
//!   (or none). Extensions: none are offered upstream and none are answered
//!   to the client, so permessage-deflate runs on neither leg; an upstream
//!   that selects an extension anyway is answered with 502. `Origin` is
//!   passed on, and `X-Forwarded-For` carries the client's IP (appended to
//!   one the client sent). No other request header (cookies,
//!   authorization, ...) is.
//! - **Plain HTTP** requests (no `Upgrade: websocket`) get `426 Upgrade
//!   Required` with `Upgrade: websocket` and `Connection: Upgrade`. Upgrade
//!   requests that break RFC 6455 §4.2.1 get the 400 or 426 the library
//!   answers them with.
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
//!   away without a Close (EOF, reset), the client gets a Close with 1001;
//!   when it breaks the protocol, 1011. When the client goes away or breaks
//!   the protocol, the upstream gets 1001. A leg that never answers a Close
//!   is dropped after the close timeout (10 s).
//! - **Accepting.** When `accept` fails (typically out of file
//!   descriptors), the loop backs off and logs once per episode (see
//!   `common/accept_backoff.rs`) instead of spinning.
//!
//! Threads: two per proxied connection, one per direction. Each leg is a
//! [`WebSocket::split`] pair; a thread reads one leg's [`Reader`] and writes
//! the other leg's [`Writer`]. A close on one leg is forwarded to the other,
//! whose reader then ends with that closing handshake (or its close timeout);
//! a leg whose socket failed is shut down, which wakes its blocked reader.
//! Connects, refusals and disconnects are logged to stderr.

#[path = "common/accept_backoff.rs"]
mod accept_backoff;

use std::fmt;
use std::io;
use std::net::{IpAddr, Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;

use accept_backoff::AcceptBackoff;
use rfc6455::blocking::{
    self, ClientConfig, Error, Incoming, Reader, ServerConfig, WebSocket, Writer,
};
use rfc6455::handshake::{Accept, ClientOptions, HandshakeError, Request, Response, Uri, UriError};
use rfc6455::{CloseCode, Config, Message};

/// Largest message (and frame) either leg accepts.
const MAX_MESSAGE: usize = 64 << 20;

/// The content type of every error answer.
const TEXT: &str = "text/plain; charset=utf-8";

/// Why the upstream URL on the command line cannot be used.
#[derive(Debug)]
enum ConfigError {
    /// Not a `ws://` URI.
    Url(UriError),
    /// `wss://`: this example speaks no TLS.
    Secure,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Url(e) => write!(f, "bad upstream URL: {e}"),
            ConfigError::Secure => {
                f.write_str("wss:// upstreams are not supported by this example")
            }
        }
    }
}

/// Why a client's request target is not relayed (answered with 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetError {
    /// Neither origin form (`/…`) nor absolute form with a known scheme.
    Form,
    /// The path the library extracted does not start with `/`.
    NotAbsolutePath,
    /// A byte RFC 3986 does not allow in a path or query.
    Character,
    /// A `%` not followed by two hex digits.
    Escape,
    /// An empty segment (`//`), which some servers read as an authority.
    EmptySegment,
    /// A `.` or `..` segment, plain or percent-encoded.
    DotSegment,
    /// A percent-encoded `/`, `\` or control character.
    EncodedSeparator,
    /// The URL built for the upstream does not name the configured host and
    /// port and the checked resource (a bug: refused rather than followed).
    Mismatch,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetError::Form => {
                "the request target must be /path or an absolute ws:// or http:// URI"
            }
            TargetError::NotAbsolutePath => "the request path must start with /",
            TargetError::Character => "the request target has a character not allowed there",
            TargetError::Escape => "the request path has a malformed % escape",
            TargetError::EmptySegment => "the request path has an empty segment (//)",
            TargetError::DotSegment => "the request path has a . or .. segment",
            TargetError::EncodedSeparator => {
                "the request path has an encoded /, \\ or control character"
            }
            TargetError::Mismatch => "the request target cannot be mapped to the upstream",
        })
    }
}

/// Why the upstream leg could not be opened (answered with 502).
#[derive(Debug)]
enum UpstreamError {
    /// The upstream's name did not resolve.
    Resolve(io::Error),
    /// No address of the upstream took the connection.
    Connect(io::Error),
    /// The upstream answered with this status instead of 101.
    Refused(u16),
    /// The upstream's answer selected an extension nobody offered.
    Extension(String),
    /// Any other failure of the opening handshake (invalid answer,
    /// timeout, reset).
    Handshake(Error),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Resolve(e) => write!(f, "cannot resolve the upstream: {e}"),
            UpstreamError::Connect(e) => write!(f, "cannot connect to the upstream: {e}"),
            UpstreamError::Refused(status) => write!(f, "upstream answered {status}"),
            UpstreamError::Extension(name) => {
                write!(
                    f,
                    "upstream selected extension {name:?}, which was not offered"
                )
            }
            UpstreamError::Handshake(e) => write!(f, "upstream handshake failed: {e}"),
        }
    }
}

impl UpstreamError {
    /// Sorts a failed client handshake by what the upstream did.
    fn from_handshake(e: Error) -> UpstreamError {
        match e {
            Error::Handshake(HandshakeError::UnexpectedStatus { response, .. }) => {
                UpstreamError::Refused(response.status())
            }
            Error::Handshake(HandshakeError::ExtensionNotOffered(name)) => {
                UpstreamError::Extension(name)
            }
            e => UpstreamError::Handshake(e),
        }
    }

    /// The body of the 502 answer: what happened, without the upstream's
    /// address or the system's error text.
    fn client_message(&self) -> String {
        match self {
            UpstreamError::Resolve(_) | UpstreamError::Connect(_) => {
                "Bad Gateway: upstream unreachable\n".into()
            }
            UpstreamError::Refused(status) => format!("Bad Gateway: upstream answered {status}\n"),
            UpstreamError::Extension(_) => {
                "Bad Gateway: upstream selected an extension that was not offered\n".into()
            }
            UpstreamError::Handshake(_) => "Bad Gateway: upstream handshake failed\n".into(),
        }
    }
}

/// Where clients are sent: the upstream URL, parsed once.
struct Upstream {
    /// As given on the command line, for the logs.
    url: String,
    /// The parsed URL: the only source of the host and port connected to.
    uri: Uri,
    /// `host:port` (brackets around an IPv6 host), for the URL handed to
    /// the client handshake.
    authority: String,
    /// The URL's path without a trailing `/`: prefixed to the client's path.
    prefix: String,
    /// The URL's query, if any: put before the client's.
    query: Option<String>,
}

impl Upstream {
    /// Parses the upstream URL of the command line.
    fn parse(url: &str) -> Result<Upstream, ConfigError> {
        let uri = Uri::parse(url).map_err(ConfigError::Url)?;
        if uri.is_secure() {
            return Err(ConfigError::Secure);
        }
        let authority = if uri.is_ipv6() {
            format!("[{}]:{}", uri.host(), uri.port())
        } else {
            format!("{}:{}", uri.host(), uri.port())
        };
        Ok(Upstream {
            url: url.to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
            query: uri.query().map(String::from),
            authority,
            uri,
        })
    }

    /// The resource name (path and query) to ask the upstream for: the
    /// prefix, then the client's checked path, then the queries joined.
    fn resource_for(&self, request: &Request) -> Result<String, TargetError> {
        check_target_form(request.target())?;
        let path = request.path();
        check_path(path)?;
        let client_query = request.query().filter(|q| !q.is_empty());
        if let Some(q) = client_query {
            check_query(q)?;
        }
        let mut resource = format!("{}{path}", self.prefix);
        match (self.query.as_deref(), client_query) {
            (Some(a), Some(b)) => resource.push_str(&format!("?{a}&{b}")),
            (Some(q), None) | (None, Some(q)) => resource.push_str(&format!("?{q}")),
            (None, None) => {}
        }
        Ok(resource)
    }

    /// The URL handed to the client handshake (for its `Host` header and
    /// request line): the configured authority and `resource`. Parsed back
    /// and refused unless it names exactly the configured host and port and
    /// `resource`, so no byte of the client's can move the authority.
    fn url_for(&self, resource: &str) -> Result<String, TargetError> {
        if !resource.starts_with('/') {
            return Err(TargetError::Mismatch);
        }
        let url = format!("ws://{}{resource}", self.authority);
        let parsed = Uri::parse(&url).map_err(|_| TargetError::Mismatch)?;
        let same = !parsed.is_secure()
            && parsed.host() == self.uri.host()
            && parsed.is_ipv6() == self.uri.is_ipv6()
            && parsed.port() == self.uri.port()
            && parsed.resource_name() == resource;
        if same {
            Ok(url)
        } else {
            Err(TargetError::Mismatch)
        }
    }
}

/// Whether `b` may appear in a path (RFC 3986 §3.3: pchar and `/`).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@/".contains(&b)
}

/// The raw target is in origin form (`/…`) or absolute form with a
/// WebSocket or HTTP scheme, an authority, and no user information. Only
/// the path and query of either are ever used.
fn check_target_form(target: &str) -> Result<(), TargetError> {
    if target.starts_with('/') {
        return Ok(());
    }
    let (scheme, rest) = target.split_once("://").ok_or(TargetError::Form)?;
    let known = ["ws", "wss", "http", "https"];
    if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
        return Err(TargetError::Form);
    }
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if authority.is_empty() || authority.contains('@') {
        return Err(TargetError::Form);
    }
    Ok(())
}

/// Checks a client path: starts with `/`, only path characters, well-formed
/// escapes, no empty inner segment, no dot segment (decoded, and before a
/// `;`), no encoded separator or control character.
fn check_path(path: &str) -> Result<(), TargetError> {
    let rest = path.strip_prefix('/').ok_or(TargetError::NotAbsolutePath)?;
    if !path.bytes().all(is_path_byte) {
        return Err(TargetError::Character);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        // A trailing `/` leaves an empty last segment, which is harmless.
        if segment.is_empty() && i != last {
            return Err(TargetError::EmptySegment);
        }
        let decoded = percent_decode(segment)?;
        if decoded
            .iter()
            .any(|&b| b == b'/' || b == b'\\' || b < 0x20 || b == 0x7f)
        {
            return Err(TargetError::EncodedSeparator);
        }
        // `..;x` is `..` to servers that strip path parameters.
        let name = decoded.split(|&b| b == b';').next().unwrap_or(&[]);
        if name == b"." || name == b".." {
            return Err(TargetError::DotSegment);
        }
    }
    Ok(())
}

/// Checks a client query: RFC 3986 §3.4 characters only.
fn check_query(query: &str) -> Result<(), TargetError> {
    if query.bytes().all(|b| is_path_byte(b) || b == b'?') {
        Ok(())
    } else {
        Err(TargetError::Character)
    }
}

/// Decodes the `%XX` escapes of a path segment.
fn percent_decode(segment: &str) -> Result<Vec<u8>, TargetError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(TargetError::Escape)?;
            let digits = std::str::from_utf8(hex).map_err(|_| TargetError::Escape)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(TargetError::Escape);
            }
            out.push(u8::from_str_radix(digits, 16).map_err(|_| TargetError::Escape)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
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

fn main() -> io::Result<()> {
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

    let mut backoff = AcceptBackoff::new("proxy");
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => {
                backoff.succeeded();
                s
            }
            Err(e) => {
                thread::sleep(backoff.failed(&e));
                continue;
            }
        };
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
            "proxy: {peer}: plain HTTP {} {:?} -> 426",
            request.method(),
            request.target()
        );
        // `Connection: Upgrade` goes with `Upgrade` (RFC 9110 §7.8); the
        // library adds its own `Connection: close` line as well.
        let headers = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
        ];
        let body = "Upgrade Required: this is a WebSocket proxy\n";
        refuse(incoming, 426, &headers, body);
        return;
    }
    if let Err(e) = request.validate() {
        eprintln!("proxy: {peer}: invalid upgrade: {e}");
        // Answers with the matching error response (400, 426).
        let _ = incoming.accept(&Accept::new());
        return;
    }
    let url = match upstream
        .resource_for(request)
        .and_then(|r| upstream.url_for(&r))
    {
        Ok(url) => url,
        Err(e) => {
            eprintln!("proxy: {peer}: target {:?} refused: {e}", request.target());
            refuse(incoming, 400, &[], &format!("Bad Request: {e}\n"));
            return;
        }
    };

    // Open the upstream leg first: its answer decides ours.
    let mut config = client.clone();
    config.options = upstream_options(request, peer.ip());
    let (up_ws, response) = match open_upstream(upstream, &url, config) {
        Ok(up) => up,
        Err(e) => {
            eprintln!("proxy: {peer}: {url} -> 502: {e}");
            let status = match &e {
                UpstreamError::Refused(s) => Some(s.to_string()),
                _ => None,
            };
            let header = status.as_deref().map(|s| ("X-Upstream-Status", s));
            refuse(incoming, 502, header.as_slice(), &e.client_message());
            return;
        }
    };
    let chosen = response.subprotocol().map(String::from);
    let mut accept = Accept::new();
    if let Some(p) = &chosen {
        accept = accept.subprotocol(p);
    }
    let client_ws = match incoming.accept(&accept) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("proxy: {peer}: handshake failed: {e}");
            let mut up_ws = up_ws;
            let _ = up_ws.close(CloseCode::GOING_AWAY, "client handshake failed");
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

/// Answers the client with an error `status`, plain-text `body` and extra
/// `headers`, then closes.
fn refuse(incoming: Incoming<TcpStream>, status: u16, headers: &[(&str, &str)], body: &str) {
    let mut all = vec![("Content-Type", TEXT)];
    all.extend_from_slice(headers);
    let _ = incoming.reject_with_headers(status, &all, body.as_bytes());
}

/// Opens the upstream leg: connects to the configured host and port (never
/// to anything taken from `url`, which only supplies the request line and
/// `Host`), then runs the client handshake over that socket.
fn open_upstream(
    upstream: &Upstream,
    url: &str,
    mut config: ClientConfig,
) -> Result<(WebSocket<TcpStream>, Response), UpstreamError> {
    // `connect_over` knows nothing of TCP and cannot enforce a deadline; with
    // one set it would retry a timed-out read forever. The timeout bounds
    // the connect and each read and write of the handshake instead.
    let timeout = config.handshake_timeout.take();
    let addrs = (upstream.uri.host(), upstream.uri.port())
        .to_socket_addrs()
        .map_err(UpstreamError::Resolve)?;
    let mut last_error = None;
    let mut stream = None;
    for addr in addrs {
        let attempt = match timeout {
            Some(t) => TcpStream::connect_timeout(&addr, t),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let stream = stream.ok_or_else(|| {
        UpstreamError::Connect(last_error.unwrap_or_else(|| io::ErrorKind::NotFound.into()))
    })?;
    // Bounds on the handshake's reads and writes, lifted once it is done.
    let setup = |s: &TcpStream| -> io::Result<()> {
        s.set_nodelay(config.nodelay)?;
        s.set_read_timeout(timeout)?;
        s.set_write_timeout(timeout)
    };
    setup(&stream).map_err(UpstreamError::Connect)?;
    let (mut ws, response) =
        blocking::connect_over(stream, url, &config).map_err(UpstreamError::from_handshake)?;
    // The core refuses extensions that were not offered, and none were;
    // checked again because the client is answered with none.
    let extensions = response
        .extensions()
        .map_err(|e| UpstreamError::Handshake(e.into()))?;
    if let Some(extension) = extensions.first() {
        return Err(UpstreamError::Extension(extension.name.to_string()));
    }
    ws.set_read_timeout_hook(|s, t| s.set_read_timeout(t));
    let lifted = ws
        .set_read_timeout(None)
        .and_then(|()| ws.get_ref().set_write_timeout(None));
    lifted.map_err(|e| UpstreamError::Handshake(e.into()))?;
    Ok((ws, response))
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
    let (Ok((client_tx, client_rx)), Ok((up_tx, up_rx))) = halves else {
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

#[cfg(test)]
mod tests {
    //! The target mapping on its own, whatever the library's request
    //! validation lets through (`cargo test --example proxy`).

    use super::*;
    use rfc6455::handshake::{Limits, ServerHandshake};

    /// A request head with `target`, parsed but not validated.
    fn request(target: &str) -> Request {
        let head = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n");
        let parsed = ServerHandshake::new(Limits::default()).feed(head.as_bytes());
        match parsed {
            Ok(Some((r, _))) => r,
            other => panic!("{target:?} does not parse: {other:?}"),
        }
    }

    fn map(upstream: &str, target: &str) -> Result<String, TargetError> {
        let upstream = Upstream::parse(upstream).expect("a valid upstream URL");
        upstream
            .resource_for(&request(target))
            .and_then(|r| upstream.url_for(&r))
    }

    #[test]
    fn targets_that_could_move_the_authority_are_refused() {
        for target in [
            "5/",
            "80/admin",
            "@127.0.0.1:9/",
            "//127.0.0.1:9/",
            "*",
            "chat",
            ":9/",
            "%2e%2e/",
            "127.0.0.1:9",
            "ftp://127.0.0.1:9/x",
            "ws://user@127.0.0.1:9/x",
            "ws:///x",
        ] {
            for upstream in [
                "ws://127.0.0.1:1234/",
                "ws://127.0.0.1/",
                "ws://[::1]:7/base",
            ] {
                assert!(map(upstream, target).is_err(), "{target:?} via {upstream}");
            }
        }
    }

    #[test]
    fn paths_that_could_leave_the_prefix_are_refused() {
        for (target, why) in [
            ("/%2e%2e/", TargetError::DotSegment),
            ("/a/%2E%2E", TargetError::DotSegment),
            ("/a/./b", TargetError::DotSegment),
            ("/..;x/admin", TargetError::DotSegment),
            ("/a//b", TargetError::EmptySegment),
            ("/x%2f..", TargetError::EncodedSeparator),
            ("/x%5C..", TargetError::EncodedSeparator),
            ("/x%00", TargetError::EncodedSeparator),
            ("/x%2", TargetError::Escape),
            ("/x%zz", TargetError::Escape),
            ("/x\"y", TargetError::Character),
        ] {
            assert_eq!(
                map("ws://127.0.0.1:1234/base", target),
                Err(why),
                "{target:?}"
            );
        }
        assert_eq!(
            map("ws://127.0.0.1:1234/", "/x?a\"b"),
            Err(TargetError::Character)
        );
    }

    #[test]
    fn the_authority_is_the_configured_one_and_the_path_is_prefixed() {
        let cases = [
            ("ws://127.0.0.1:1234/", "/x", "ws://127.0.0.1:1234/x"),
            ("ws://127.0.0.1:1234", "/", "ws://127.0.0.1:1234/"),
            ("ws://127.0.0.1/", "/admin", "ws://127.0.0.1:80/admin"),
            ("ws://h.test:1/api/", "/c?r=1", "ws://h.test:1/api/c?r=1"),
            (
                "ws://h.test:1/api?k=v",
                "/c?r=1",
                "ws://h.test:1/api/c?k=v&r=1",
            ),
            ("ws://h.test:1/api?k=v", "/c", "ws://h.test:1/api/c?k=v"),
            (
                "ws://[::1]:7/b",
                "ws://127.0.0.1:9/x?y",
                "ws://[::1]:7/b/x?y",
            ),
            ("ws://h.test:1/", "http://other:9", "ws://h.test:1/"),
            ("ws://h.test:1/", "/a/b/", "ws://h.test:1/a/b/"),
            (
                "ws://h.test:1/",
                "/a..b/.x/%41",
                "ws://h.test:1/a..b/.x/%41",
            ),
        ];
        for (upstream, target, url) in cases {
            assert_eq!(map(upstream, target).as_deref(), Ok(url), "{target:?}");
        }
    }
}
