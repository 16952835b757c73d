//! The Autobahn TestSuite through the HTTP/2 path (RFC 8441), both roles.
//!
//! Autobahn's runners speak HTTP/1.1 only, so this is a byte relay between
//! an HTTP/1.1 WebSocket connection and a WebSocket stream of an HTTP/2
//! connection (h2c). It does the opening handshake on each side itself,
//! copying the offered `Sec-WebSocket-Extensions` / `Sec-WebSocket-Protocol`
//! (and `Origin`) from one to the other and the answer back, then relays
//! the frame bytes unchanged both ways: every frame the runner sends
//! reaches our WebSocket layer as HTTP/2 DATA frames, and every frame ours
//! sends reaches the runner as it was written. It never parses, masks or
//! inflates a frame: permessage-deflate is negotiated end to end.
//!
//! Usage:
//!
//! - `h2_bridge server ADDR [--backend HOST:PORT]` (for
//!   `kosoku -m fuzzingclient`): accepts HTTP/1.1 WebSocket upgrades on
//!   ADDR and turns each into an extended CONNECT on one HTTP/2 connection
//!   to the backend, whose answer (`200` → `101`, anything else as it is)
//!   goes back to the runner. Without `--backend`, the backend is an h2c
//!   hyper echo server started in this process on a loopback port of its
//!   own (the route of `hyper_server`, with Autobahn's limits: 64 MiB
//!   messages, every echo compressed when deflate is agreed); with it,
//!   any server that takes extended CONNECTs (e.g. `hyper_server`).
//! - `h2_bridge client ws://HOST:PORT` (against `kosoku -m
//!   fuzzingserver`): starts the reverse bridge on a loopback port (an
//!   h2c server that turns each extended CONNECT into an HTTP/1.1 upgrade
//!   to HOST:PORT), then runs the Autobahn client protocol (`getCaseCount`,
//!   `runCase`, `updateReports`, as `async_autobahn_client` does, with the
//!   same deflate offer) with `rfc6455::hyper::Http2Connection`: every
//!   case is one more WebSocket stream of the same HTTP/2 connection.
//!
//! `scripts/autobahn.sh` runs both (`.ci/run`, reports in
//! `reports/autobahn-h2/`):
//!
//! ```text
//! ECHO_SERVER_BIN="target/release/examples/h2_bridge server" \
//! AUTOBAHN_CLIENT_BIN="target/release/examples/h2_bridge client" \
//! AUTOBAHN_REPORTS=reports/autobahn-h2 scripts/autobahn.sh
//! ```
//!
//! Closing: the end of one side's byte stream is the end of the other's (a
//! TCP FIN becomes END_STREAM and the reverse), so the closing handshake's
//! "who closes the transport first" (RFC 6455 §7.1.1) is seen by the
//! runner as the WebSocket layer behind the bridge did it. A reset stream
//! closes the TCP connection; a TCP connection that fails resets the
//! stream.

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rfc6455::handshake::{accept_key, Accept};
use rfc6455::hyper::{ClientConfig, Http2Connection, ServerConfig};
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The handshake fields the bridge copies, request and answer alike. The
/// hop-by-hop ones (`Connection`, `Upgrade`) and the key/accept pair are
/// each side's own.
const COPIED: [&str; 3] = [
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "origin",
];

/// The largest HTTP/1.1 head read.
const MAX_HEAD: usize = 16 << 10;

const AGENT: &str = "rfc6455-h2";

fn usage() -> ! {
    eprintln!(
        "usage: h2_bridge server ADDR [--backend HOST:PORT]\n       h2_bridge client ws://HOST:PORT"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => {
            let addr = args.get(1).cloned().unwrap_or_else(|| usage());
            let backend = match (args.get(2).map(String::as_str), args.get(3)) {
                (Some("--backend"), Some(b)) => Some(b.clone()),
                (None, _) => None,
                _ => usage(),
            };
            server_role(&addr, backend).await
        }
        Some("client") => {
            let url = args.get(1).cloned().unwrap_or_else(|| usage());
            client_role(&url).await
        }
        _ => usage(),
    }
}

// --- the relay -------------------------------------------------------------

/// Queues `data` on `send` as the peer's window allows.
async fn send_all(send: &mut SendStream<Bytes>, mut data: Bytes) -> Result<(), h2::Error> {
    while !data.is_empty() {
        send.reserve_capacity(data.len());
        let mut room = send.capacity();
        while room == 0 {
            match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(n)) => room = n,
                Some(Err(e)) => return Err(e),
                None => return Err(Reason::STREAM_CLOSED.into()),
            }
        }
        let chunk = data.split_to(room.min(data.len()));
        send.send_data(chunk, false)?;
    }
    Ok(())
}

/// Relays bytes between `tcp` and an HTTP/2 stream until both directions
/// have ended. `early`: bytes read from `tcp` past the handshake head, sent
/// first.
async fn relay(tcp: TcpStream, early: Bytes, mut send: SendStream<Bytes>, mut recv: RecvStream) {
    let (mut rd, mut wr) = tcp.into_split();
    // TCP -> stream: EOF becomes END_STREAM, a read error a reset.
    let up = async {
        if send_all(&mut send, early).await.is_err() {
            return;
        }
        let mut buf = BytesMut::with_capacity(64 << 10);
        loop {
            buf.reserve(64 << 10);
            match rd.read_buf(&mut buf).await {
                Ok(0) => {
                    let _ = send.send_data(Bytes::new(), true);
                    return;
                }
                Ok(_) => {
                    if send_all(&mut send, buf.split().freeze()).await.is_err() {
                        // The stream is gone (reset): what it received
                        // before still goes out the other way.
                        return;
                    }
                }
                Err(_) => {
                    send.send_reset(Reason::CANCEL);
                    return;
                }
            }
        }
    };
    // Stream -> TCP: END_STREAM becomes a FIN (true); a reset, or TCP that
    // takes no more, closes the connection (false).
    let down = async {
        while let Some(data) = recv.data().await {
            let Ok(data) = data else { return false };
            if wr.write_all(&data).await.is_err() {
                return false;
            }
            let _ = recv.flow_control().release_capacity(data.len());
        }
        wr.shutdown().await.is_ok()
    };
    tokio::pin!(up, down);
    let mut up_done = false;
    loop {
        tokio::select! {
            () = &mut up, if !up_done => up_done = true,
            clean = &mut down => {
                if clean && !up_done {
                    // Half closed: wait for the other side's end.
                    (&mut up).await;
                }
                break;
            }
        }
    }
}

/// Reads an HTTP/1.1 head from `tcp`: the head's bytes and what came after.
async fn read_head(tcp: &mut TcpStream) -> Result<(BytesMut, Bytes), BoxError> {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4).freeze();
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err("HTTP head too large".into());
        }
        if tcp.read_buf(&mut buf).await? == 0 {
            return Err("connection closed before the end of the HTTP head".into());
        }
    }
}

fn copied_fields<'a>(
    headers: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, value) in headers {
        if let Some(c) = COPIED.iter().find(|c| name.eq_ignore_ascii_case(c)) {
            out.push((*c, value.to_vec()));
        }
    }
    out
}

fn status_head(status: u16) -> Vec<u8> {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

// --- server role: HTTP/1.1 from the runner -> extended CONNECT to our server --

/// The WebSocket route of `hyper_server`, with Autobahn's limits and
/// deflate settings (those of `async_echo_server`).
fn echo_config() -> ServerConfig {
    let mut config = ServerConfig::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = false;
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
    config
}

async fn echo_route(
    mut req: http::Request<Incoming>,
    config: Arc<ServerConfig>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (response, ws) = rfc6455::hyper::upgrade(&mut req, &config, &Accept::new());
    if let Ok(ws) = ws {
        tokio::spawn(echo(ws));
    }
    Ok(response)
}

async fn echo(ws: rfc6455::hyper::Upgrading) -> Result<(), rfc6455::hyper::Error> {
    let mut ws = ws.await?;
    loop {
        ws.read_event().await?;
        // Queued from the receive buffer, written by the next read; pings
        // and the close are answered by the connection itself.
        ws.connection_mut().echo_event()?;
    }
}

/// An h2c echo server in this process (HTTP/2 only, RFC 8441 enabled).
async fn start_echo_backend() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = Arc::new(echo_config());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let config = Arc::clone(&config);
            tokio::spawn(async move {
                let mut server = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                server.enable_connect_protocol();
                let service =
                    hyper::service::service_fn(move |req| echo_route(req, Arc::clone(&config)));
                server.serve_connection(TokioIo::new(tcp), service).await
            });
        }
    });
    Ok(addr)
}

/// One HTTP/2 connection to the backend, shared by every WebSocket (made
/// again if it fails).
struct Backend {
    addr: String,
    conn: Mutex<Option<h2::client::SendRequest<Bytes>>>,
}

impl Backend {
    async fn connect(&self) -> Result<h2::client::SendRequest<Bytes>, BoxError> {
        let mut conn = self.conn.lock().await;
        if let Some(send) = conn.as_ref() {
            if let Ok(send) = send.clone().ready().await {
                return Ok(send);
            }
        }
        let tcp = TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        // The windows and frame size of `rfc6455::hyper::Http2Config`'s
        // defaults.
        let (send, mut connection) = h2::client::Builder::new()
            .initial_window_size(2 << 20)
            .initial_connection_window_size(5 << 20)
            .max_frame_size(256 << 10)
            .handshake::<_, Bytes>(tcp)
            .await?;
        let mut ping = connection.ping_pong();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("h2_bridge: HTTP/2 connection to the backend ended: {e}");
            }
        });
        // The server's SETTINGS arrive before the PING's answer: only then
        // is SETTINGS_ENABLE_CONNECT_PROTOCOL known.
        if let Some(ping) = ping.as_mut() {
            ping.ping(h2::Ping::opaque()).await?;
        }
        if !send.is_extended_connect_protocol_enabled() {
            return Err("the backend does not accept extended CONNECT (RFC 8441)".into());
        }
        let ready = send.clone().ready().await?;
        *conn = Some(send);
        Ok(ready)
    }
}

async fn server_role(addr: &str, backend: Option<String>) -> Result<(), BoxError> {
    let backend = match backend {
        Some(b) => b,
        None => start_echo_backend().await?.to_string(),
    };
    let backend = Arc::new(Backend {
        addr: backend,
        conn: Mutex::new(None),
    });
    backend.connect().await?;
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "h2_bridge: HTTP/1.1 WebSockets on ws://{} relayed as extended CONNECTs to h2c://{}",
        listener.local_addr()?,
        backend.addr
    );
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("h2_bridge: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let backend = Arc::clone(&backend);
        tokio::spawn(async move {
            if let Err(e) = bridge_http1_to_h2(tcp, &backend).await {
                eprintln!("h2_bridge: {peer}: {e}");
            }
        });
    }
}

async fn bridge_http1_to_h2(mut tcp: TcpStream, backend: &Backend) -> Result<(), BoxError> {
    tcp.set_nodelay(true)?;
    let mut peek = [0u8; 1];
    if tcp.peek(&mut peek).await? == 0 {
        return Ok(()); // a connection that only checks the port
    }
    let (head, early) = read_head(&mut tcp).await?;
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut fields);
    if !req.parse(&head)?.is_complete() {
        tcp.write_all(&status_head(400)).await?;
        return Ok(());
    }
    let headers = || req.headers.iter().map(|h| (h.name, h.value));
    let field = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let (Some(key), Some(path)) = (field("sec-websocket-key"), req.path) else {
        tcp.write_all(&status_head(400)).await?;
        return Ok(());
    };
    let host = field("host")
        .and_then(|h| std::str::from_utf8(h).ok())
        .unwrap_or(&backend.addr);
    let mut request = http::Request::builder()
        .method(Method::CONNECT)
        .version(http::Version::HTTP_2)
        .uri(format!("http://{host}{path}"))
        .extension(h2::ext::Protocol::from("websocket"));
    if let Some(v) = field("sec-websocket-version") {
        request = request.header("sec-websocket-version", v);
    }
    for (name, value) in copied_fields(headers()) {
        request = request.header(name, value);
    }
    let request = request.body(())?;
    let mut send_request = backend.connect().await?;
    let (response, send) = send_request.send_request(request, false)?;
    let (parts, recv) = response.await?.into_parts();
    if parts.status != StatusCode::OK {
        tcp.write_all(&status_head(parts.status.as_u16())).await?;
        return Ok(());
    }
    let mut answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        std::str::from_utf8(&accept_key(key))?
    )
    .into_bytes();
    for (name, value) in copied_fields(
        parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    ) {
        answer.extend_from_slice(name.as_bytes());
        answer.extend_from_slice(b": ");
        answer.extend_from_slice(&value);
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"\r\n");
    tcp.write_all(&answer).await?;
    relay(tcp, early, send, recv).await;
    Ok(())
}

// --- client role: our HTTP/2 client -> HTTP/1.1 upgrade to the runner --------

/// Starts the reverse bridge: an h2c server on a loopback port whose
/// extended CONNECTs become HTTP/1.1 upgrades to `target`.
async fn start_reverse_bridge(target: String) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let target = Arc::new(target);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let target = Arc::clone(&target);
            tokio::spawn(async move {
                // hyper's server defaults: 1 MiB windows, 16 KiB frames.
                let handshake = h2::server::Builder::new()
                    .initial_window_size(1 << 20)
                    .initial_connection_window_size(1 << 20)
                    .enable_connect_protocol()
                    .handshake::<_, Bytes>(tcp)
                    .await;
                let mut conn = match handshake {
                    Ok(conn) => conn,
                    Err(e) => {
                        eprintln!("h2_bridge: HTTP/2 handshake: {e}");
                        return;
                    }
                };
                while let Some(stream) = conn.accept().await {
                    let Ok((request, respond)) = stream else {
                        break;
                    };
                    let target = Arc::clone(&target);
                    tokio::spawn(async move {
                        if let Err(e) = bridge_h2_to_http1(request, respond, &target).await {
                            eprintln!("h2_bridge: {e}");
                        }
                    });
                }
            });
        }
    });
    Ok(addr)
}

fn h2_response(status: u16, fields: &[(&'static str, Vec<u8>)]) -> http::Response<()> {
    let mut response = http::Response::new(());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers: &mut HeaderMap = response.headers_mut();
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    response
}

async fn bridge_h2_to_http1(
    request: http::Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    target: &str,
) -> Result<(), BoxError> {
    let is_websocket = request.method() == Method::CONNECT
        && request
            .extensions()
            .get::<h2::ext::Protocol>()
            .is_some_and(|p| p.as_str() == "websocket");
    if !is_websocket {
        respond.send_response(h2_response(400, &[]), true)?;
        return Ok(());
    }
    let (parts, recv) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = parts.uri.authority().map_or(target, |a| a.as_str());
    let mut tcp = match TcpStream::connect(target).await {
        Ok(tcp) => tcp,
        Err(e) => {
            respond.send_response(h2_response(502, &[]), true)?;
            return Err(e.into());
        }
    };
    tcp.set_nodelay(true)?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| format!("getrandom: {e}"))?;
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, nonce);
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    .into_bytes();
    for (name, value) in copied_fields(
        parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    ) {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(&value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    tcp.write_all(&head).await?;
    let (head, early) = match read_head(&mut tcp).await {
        Ok(pair) => pair,
        Err(e) => {
            respond.send_response(h2_response(502, &[]), true)?;
            return Err(e);
        }
    };
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut fields);
    let parsed = response.parse(&head).ok().filter(|s| s.is_complete());
    let accept = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|h| h.value);
    match (parsed, response.code) {
        (Some(_), Some(101)) if accept == Some(&accept_key(key.as_bytes())[..]) => {}
        (Some(_), Some(code)) if code != 101 => {
            respond.send_response(h2_response(code, &[]), true)?;
            return Ok(());
        }
        _ => {
            respond.send_response(h2_response(502, &[]), true)?;
            return Err("the runner's answer is not a valid 101".into());
        }
    }
    let answer = copied_fields(response.headers.iter().map(|h| (h.name, h.value)));
    let send = respond.send_response(h2_response(200, &answer), false)?;
    relay(tcp, early, send, recv).await;
    Ok(())
}

/// Keeps a finished WebSocket's stream until the runner ends it (it does
/// once it has our Close: RFC 6455 §7.1.1, the server closes first).
///
/// Over TCP, what the connection wrote before it failed (an echo, its
/// Close 1002) is in the kernel's hands when `read_event` returns the
/// error. Over HTTP/2 it may still be in the h2 crate's send buffer.
/// Dropping an `Http2Stream` sends it and END_STREAM, then drains the peer's
/// side in the background (its `Drop`); the bridge waits here instead so
/// that the next case starts only once the runner has finished this one.
async fn linger(mut socket: rfc6455::tokio::WebSocketStream<rfc6455::hyper::Http2Stream>) {
    let _ = socket.flush().await;
    let stream = socket.get_mut();
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The deflate offer and limits of `async_autobahn_client`.
fn client_config() -> ClientConfig {
    let mut config = ClientConfig::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    let mut deflate = rfc6455::deflate::DeflateConfig::default();
    deflate.server_no_context_takeover = false;
    deflate.client_no_context_takeover = true;
    deflate.threshold = 0;
    deflate.level = 1;
    config.deflate = Some(deflate);
    config
}

/// The HTTP/2 connection to the reverse bridge, made again if it fails.
struct Client {
    bridge: SocketAddr,
    conn: Option<Http2Connection>,
    config: ClientConfig,
}

impl Client {
    async fn websocket(
        &mut self,
        url: &str,
    ) -> Result<rfc6455::tokio::WebSocketStream<rfc6455::hyper::Http2Stream>, BoxError> {
        if let Some(conn) = &self.conn {
            match conn.websocket(url, &self.config).await {
                Ok((ws, _)) => return Ok(ws),
                Err(rfc6455::hyper::Error::Http2(e)) => {
                    eprintln!("h2_bridge: HTTP/2 connection failed ({e}); a new one");
                }
                Err(e) => return Err(e.into()),
            }
        }
        let tcp = TcpStream::connect(self.bridge).await?;
        tcp.set_nodelay(true)?;
        let conn = self.conn.insert(Http2Connection::handshake(tcp).await?);
        Ok(conn.websocket(url, &self.config).await?.0)
    }
}

async fn client_role(url: &str) -> Result<(), BoxError> {
    let base = url.trim_end_matches('/');
    let target = base
        .strip_prefix("ws://")
        .ok_or("client: a ws:// URL")?
        .to_owned();
    let bridge = start_reverse_bridge(target.clone()).await?;
    eprintln!("h2_bridge: h2c on {bridge}, extended CONNECTs relayed to ws://{target}");
    // The URLs name the runner: `:authority` is its host, the bridge only
    // the transport.
    let mut client = Client {
        bridge,
        conn: None,
        config: client_config(),
    };
    let mut socket = client.websocket(&format!("{base}/getCaseCount")).await?;
    let count: u32 = match socket.read().await? {
        Message::Text(t) => t.trim().parse()?,
        other => return Err(format!("unexpected case count message: {other:?}").into()),
    };
    let _ = socket.close(CloseCode::NORMAL, "").await;
    drop(socket);
    eprintln!("h2_bridge: {count} cases");

    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let mut socket = match client.websocket(&url).await {
            Ok(socket) => socket,
            Err(e) => {
                eprintln!("case {case}: opening failed: {e}");
                continue;
            }
        };
        while socket.read_event().await.is_ok() {
            if let Ok(true) = socket.connection_mut().echo_event() {
                if socket.flush().await.is_err() {
                    break;
                }
            }
        }
        linger(socket).await;
    }

    let url = format!("{base}/updateReports?agent={AGENT}");
    if let Ok(mut socket) = client.websocket(&url).await {
        // The runner may drop this connection without a close frame.
        let _ = socket.close(CloseCode::NORMAL, "").await;
    }
    Ok(())
}
