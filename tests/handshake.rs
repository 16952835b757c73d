//! Opening-handshake tests (RFC 6455 §1.2, §1.3, §3, §4.1, §4.2, §9.1, §10.4).

use proptest::prelude::*;
use rfc6455::handshake::{
    accept_key, http_response, reject, Accept, ClientHandshake, ClientOptions, HandshakeError,
    Limits, Request, Response, ServerHandshake, Uri, UriError,
};
use rfc6455::rand::KeySource;

// ---------------------------------------------------------------------------
// Sample requests, written from the formats these clients document/send.
// ---------------------------------------------------------------------------

/// A Chrome upgrade request (about 500 bytes). Benchmarks reuse this.
pub const CHROME_REQUEST: &[u8] = b"GET /chat?room=lobby HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://example.com:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// Firefox sends `Connection: keep-alive, Upgrade` and Sec-Fetch-* headers.
pub const FIREFOX_REQUEST: &[u8] = b"GET /socket HTTP/1.1\r\n\
Host: example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\n\
Connection: keep-alive, Upgrade\r\n\
Sec-Fetch-Dest: empty\r\n\
Sec-Fetch-Mode: websocket\r\n\
Sec-Fetch-Site: same-origin\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\
\r\n";

/// Safari.
pub const SAFARI_REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Accept-Encoding: gzip, deflate\r\n\
\r\n";

/// `curl --include --no-buffer -H 'Connection: Upgrade' -H 'Upgrade: websocket'
///  -H 'Sec-WebSocket-Key: ...' -H 'Sec-WebSocket-Version: 13' http://localhost:8080/`
pub const CURL_REQUEST: &[u8] = b"GET / HTTP/1.1\r\n\
Host: localhost:8080\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
Connection: Upgrade\r\n\
Upgrade: websocket\r\n\
Sec-WebSocket-Key: E4WSEcseoWr4csPLS2QJHA==\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// Python `websockets` (the asyncio client).
pub const PYTHON_REQUEST: &[u8] = b"GET /echo HTTP/1.1\r\n\
Host: localhost:8765\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: 9nUSXSwcsXqGvb0BkA7Gmw==\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
User-Agent: Python/3.12 websockets/12.0\r\n\
\r\n";

/// RFC 6455 §1.2 sample client handshake.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

/// RFC 6455 §1.2 sample server handshake.
const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Deterministic key source (tests only; real code uses OsRandom).
struct Counter(u8);
impl KeySource for Counter {
    fn fill(&mut self, dest: &mut [u8]) {
        for b in dest {
            self.0 = self.0.wrapping_mul(5).wrapping_add(17);
            *b = self.0;
        }
    }
}

fn parse_request(bytes: &[u8]) -> Request {
    let mut s = ServerHandshake::new(Limits::default());
    let (req, used) = s.feed(bytes).expect("valid head").expect("complete head");
    assert_eq!(used, bytes.len());
    req
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Status line of a response.
fn status_line(resp: &[u8]) -> &str {
    let end = resp.windows(2).position(|w| w == b"\r\n").unwrap();
    std::str::from_utf8(&resp[..end]).unwrap()
}

/// Feeds `bytes` to a server in two parts, split at `at`.
fn feed_split(bytes: &[u8], at: usize) -> (Request, usize) {
    let mut s = ServerHandshake::new(Limits::default());
    match s.feed(&bytes[..at]).unwrap() {
        Some((r, n)) => (r, n),
        None => {
            let (r, n) = s.feed(&bytes[at..]).unwrap().expect("complete");
            (r, at + n)
        }
    }
}

// ---------------------------------------------------------------------------
// RFC examples
// ---------------------------------------------------------------------------

#[test]
fn rfc_accept_key_examples() {
    // RFC 6455 §1.3 and §4.2.2 item 5.4.
    assert_eq!(
        &accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    // Another well-known pair.
    assert_eq!(
        &accept_key(b"x3JJHMbDL1EzLkh9GBhXDw=="),
        b"HSmrc0sMlYUkAGmm5OPpG2HaGWk="
    );
}

#[test]
fn rfc_sample_request_and_response() {
    // RFC 6455 §1.2: the server's answer to the sample is byte-exact.
    let req = parse_request(RFC_REQUEST);
    assert_eq!(req.method(), "GET");
    assert_eq!(req.target(), "/chat");
    assert_eq!(req.http_version(), 1);
    assert_eq!(req.host(), Some("server.example.com"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_eq!(
        req.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    assert!(req.is_upgrade());
    req.validate().unwrap();
    let resp = req.accept(&Accept::new().subprotocol("chat")).unwrap();
    assert_eq!(resp, RFC_RESPONSE);
}

#[test]
fn rfc_4_1_example_key_with_trailing_bits_accepted() {
    // RFC 6455 §4.1 item 7 gives `AQIDBAUGBwgJCgsMDQ4PEC==` (non-canonical
    // trailing bits); it still decodes to 16 bytes.
    let req = parse_request(FIREFOX_REQUEST);
    assert_eq!(req.key(), Some("AQIDBAUGBwgJCgsMDQ4PEC=="));
    req.validate().unwrap();
}

// ---------------------------------------------------------------------------
// Real clients
// ---------------------------------------------------------------------------

fn accepted(bytes: &[u8]) -> (Request, Vec<u8>) {
    let req = parse_request(bytes);
    assert!(req.is_upgrade());
    let resp = req.accept(&Accept::new()).expect("accepted");
    let key = req.key().unwrap();
    let mut expect = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".to_vec();
    expect.extend_from_slice(&accept_key(key.as_bytes()));
    expect.extend_from_slice(b"\r\n\r\n");
    assert_eq!(resp, expect);
    (req, resp)
}

#[test]
fn chrome_request() {
    assert!(
        (450..=560).contains(&CHROME_REQUEST.len()),
        "{}",
        CHROME_REQUEST.len()
    );
    let (req, resp) = accepted(CHROME_REQUEST);
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=lobby"));
    assert_eq!(req.host(), Some("example.com:8080"));
    assert_eq!(req.origin(), Some("http://example.com:8080"));
    assert_eq!(req.headers().len(), 12);
    assert_eq!(
        req.header("user-agent")
            .map(|v| v.starts_with(b"Mozilla/5.0")),
        Some(true)
    );
    let ext = req.extensions().unwrap();
    assert_eq!(ext.len(), 1);
    assert_eq!(ext[0].name, "permessage-deflate");
    assert_eq!(ext[0].params.len(), 1);
    assert_eq!(ext[0].param("client_max_window_bits"), Some(None));
    assert_eq!(req.subprotocols().count(), 0);
    assert!(find(
        &resp,
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    ));
}

#[test]
fn firefox_request_keep_alive_upgrade() {
    let (req, _) = accepted(FIREFOX_REQUEST);
    assert_eq!(req.header("CONNECTION"), Some(&b"keep-alive, Upgrade"[..]));
    assert_eq!(
        req.subprotocols().collect::<Vec<_>>(),
        ["chat", "superchat"]
    );
    let ext = req.extensions().unwrap();
    assert_eq!(ext.len(), 1);
    assert!(ext[0].params.is_empty());
    // The application picks the second offer.
    let r = req.accept(&Accept::new().subprotocol("superchat")).unwrap();
    assert!(find(&r, b"\r\nSec-WebSocket-Protocol: superchat\r\n"));
}

#[test]
fn safari_request() {
    let (req, resp) = accepted(SAFARI_REQUEST);
    assert_eq!(req.origin(), Some("https://example.com"));
    assert!(find(
        &resp,
        b"Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n"
    ));
}

#[test]
fn curl_request() {
    let (req, _) = accepted(CURL_REQUEST);
    assert_eq!(req.path(), "/");
    assert_eq!(req.query(), None);
    assert_eq!(req.origin(), None);
    assert_eq!(req.header("user-agent"), Some(&b"curl/8.5.0"[..]));
}

#[test]
fn python_websockets_request() {
    let (req, _) = accepted(PYTHON_REQUEST);
    assert_eq!(
        req.header("User-Agent"),
        Some(&b"Python/3.12 websockets/12.0"[..])
    );
    assert_eq!(req.extensions().unwrap()[0].name, "permessage-deflate");
    // The extension response value chosen by a (future) negotiator.
    let r = req
        .accept(&Accept::new().extensions("permessage-deflate; client_max_window_bits=15"))
        .unwrap();
    assert!(find(
        &r,
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\r\n"
    ));
}

#[test]
fn all_clients_split_at_every_byte() {
    for req in [
        CHROME_REQUEST,
        FIREFOX_REQUEST,
        SAFARI_REQUEST,
        CURL_REQUEST,
        PYTHON_REQUEST,
        RFC_REQUEST,
    ] {
        let whole = parse_request(req);
        for at in 0..=req.len() {
            let (r, used) = feed_split(req, at);
            assert_eq!(used, req.len());
            assert_eq!(r, whole);
        }
        // One byte at a time.
        let mut s = ServerHandshake::new(Limits::default());
        for (i, b) in req.iter().enumerate() {
            match s.feed(std::slice::from_ref(b)).unwrap() {
                None => assert!(i + 1 < req.len()),
                Some((r, used)) => {
                    assert_eq!(i + 1, req.len());
                    assert_eq!(used, 1);
                    assert_eq!(r, whole);
                }
            }
        }
        assert_eq!(s.parse_calls(), 1);
    }
}

// ---------------------------------------------------------------------------
// Headers, token lists and extension lists
// ---------------------------------------------------------------------------

#[test]
fn repeated_headers_combine() {
    // RFC 7230 §3.2.2: repeated list headers combine; case-insensitive tokens.
    let req = parse_request(
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nconnection: UPGRADE\r\n\
upgrade: WebSocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: a ,b\r\nSec-WebSocket-Protocol: , c,\r\n\
Sec-WebSocket-Extensions: x-one\r\nSec-WebSocket-Extensions: x-two; p=1\r\n\r\n",
    );
    req.validate().unwrap();
    assert_eq!(req.subprotocols().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        req.headers().get_all("connection").collect::<Vec<_>>(),
        [&b"keep-alive"[..], &b"UPGRADE"[..]]
    );
    let names: Vec<_> = req.headers().iter().map(|(n, _)| n).collect();
    assert_eq!(names[2], "connection");
    let ext = req.extensions().unwrap();
    assert_eq!(ext.len(), 2);
    assert_eq!(ext[1].name, "x-two");
    assert_eq!(ext[1].param("P"), Some(Some("1")));
}

#[test]
fn extension_offers_with_params() {
    // RFC 6455 §9.1 and RFC 7692 §5.1 (quoted-string values).
    let req = parse_request(
        b"GET / HTTP/1.1\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; \
server_max_window_bits=10, x-foo, permessage-deflate ;server_max_window_bits=\"1\\2\" ; \
client_no_context_takeover\r\n\r\n",
    );
    let ext = req.extensions().unwrap();
    assert_eq!(ext.len(), 3);
    assert_eq!(ext[0].name, "permessage-deflate");
    assert_eq!(ext[0].params.len(), 2);
    assert_eq!(ext[0].params[0].name, "client_max_window_bits");
    assert_eq!(ext[0].params[0].value, None);
    assert_eq!(ext[0].param("server_max_window_bits"), Some(Some("10")));
    assert_eq!(ext[1].name, "x-foo");
    assert!(ext[1].params.is_empty());
    assert_eq!(ext[2].param("server_max_window_bits"), Some(Some("12")));
    assert_eq!(ext[2].param("client_no_context_takeover"), Some(None));
    assert_eq!(ext[2].param("absent"), None);
}

#[test]
fn malformed_extension_lists() {
    for bad in [
        &b"permessage-deflate; =1"[..],
        b"permessage-deflate; a=",
        b"permessage-deflate; a=\"unterminated",
        b"permessage-deflate; a=\"not a token\"",
        b"; a",
        b"x y",
        b"x; a=1 b",
    ] {
        let mut head = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: "
            .to_vec();
        head.extend_from_slice(bad);
        head.extend_from_slice(b"\r\n\r\n");
        let req = parse_request(&head);
        assert!(
            matches!(req.extensions(), Err(HandshakeError::MalformedExtensions)),
            "{}",
            String::from_utf8_lossy(bad)
        );
        let err = req.accept(&Accept::new()).unwrap_err();
        assert!(matches!(err, HandshakeError::MalformedExtensions));
        assert_eq!(err.http_status(), Some(400));
    }
}

// ---------------------------------------------------------------------------
// Rejections (RFC 6455 §4.2.1, §4.4; RFC 6585 §5)
// ---------------------------------------------------------------------------

const GOOD: &str = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// The good request with `from` replaced by `to`.
fn variant(from: &str, to: &str) -> Vec<u8> {
    assert!(GOOD.contains(from), "{from}");
    let mut s = GOOD.replacen(from, to, 1);
    s.push_str("\r\n");
    s.into_bytes()
}

fn rejected(req: &[u8]) -> (HandshakeError, Vec<u8>) {
    let r = parse_request(req);
    let err = r.accept(&Accept::new()).unwrap_err();
    let again = r.validate().unwrap_err();
    assert_eq!(format!("{err:?}"), format!("{again:?}"));
    let resp = err.response().expect("server error has a response");
    (err, resp)
}

fn assert_400(resp: &[u8], body: &str) {
    assert_eq!(status_line(resp), "HTTP/1.1 400 Bad Request");
    assert!(find(resp, b"\r\nConnection: close\r\n"));
    assert!(find(
        resp,
        b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
    ));
    let head_end = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let got_body = std::str::from_utf8(&resp[head_end..]).unwrap();
    assert!(got_body.contains(body), "{got_body:?} lacks {body:?}");
    let len = format!("\r\nContent-Length: {}\r\n", resp.len() - head_end);
    assert!(find(resp, len.as_bytes()));
}

#[test]
fn good_baseline_is_accepted() {
    parse_request(&variant("", ""))
        .accept(&Accept::new())
        .unwrap();
}

#[test]
fn reject_wrong_method() {
    let (e, r) = rejected(&variant("GET /chat", "POST /chat"));
    assert!(matches!(e, HandshakeError::MethodNotGet));
    assert_400(&r, "GET");
}

#[test]
fn reject_http_1_0() {
    let (e, r) = rejected(&variant("HTTP/1.1", "HTTP/1.0"));
    assert!(matches!(e, HandshakeError::HttpVersion));
    assert_400(&r, "HTTP/1.1");
}

#[test]
fn reject_missing_host() {
    let (e, r) = rejected(&variant("Host: example.com\r\n", ""));
    assert!(matches!(e, HandshakeError::MissingHost));
    assert_400(&r, "Host");
}

/// RFC 6455 §4.1 and §3: the `Host` field names the URI's host and port,
/// and a port is 1 to 65535 (or absent, or empty as RFC 3986 allows); RFC
/// 9112 §3.2: an invalid or repeated `Host` is answered with 400.
#[test]
fn host_ports_out_of_range_are_refused() {
    for host in [
        "example.com:99999",
        "example.com:0",
        "[::1]:65536",
        "example.com:65536",
        "exa mple.com",
        "example.com\r\nHost: example.org", // two Host fields
    ] {
        let (e, r) = rejected(&variant("Host: example.com", &format!("Host: {host}")));
        assert!(matches!(e, HandshakeError::InvalidHost), "{host}: {e:?}");
        assert_400(&r, "Host");
    }
    for host in [
        "example.com:1",
        "example.com:65535",
        "[::1]:9001",
        "example.com:",
    ] {
        accepted(&variant("Host: example.com", &format!("Host: {host}")));
    }
}

#[test]
fn reject_missing_or_wrong_upgrade() {
    for req in [
        variant("Upgrade: websocket\r\n", ""),
        variant("Upgrade: websocket", "Upgrade: h2c"),
        variant("Upgrade: websocket", "Upgrade: websocketx"),
    ] {
        let (e, r) = rejected(&req);
        assert!(matches!(e, HandshakeError::UpgradeNotWebSocket), "{e:?}");
        assert_426(&r);
        assert!(find(&r, b"\r\nUpgrade: websocket\r\n"));
    }
}

#[test]
fn reject_missing_or_wrong_connection() {
    for req in [
        variant("Connection: Upgrade\r\n", ""),
        variant("Connection: Upgrade", "Connection: keep-alive"),
        variant("Connection: Upgrade", "Connection: Upgraded"),
    ] {
        let (e, r) = rejected(&req);
        assert!(matches!(e, HandshakeError::ConnectionNotUpgrade), "{e:?}");
        assert_426(&r);
        assert!(find(&r, b"\r\nUpgrade: websocket\r\n"));
    }
}

#[test]
fn reject_missing_key() {
    let (e, r) = rejected(&variant(
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "",
    ));
    assert!(matches!(e, HandshakeError::MissingKey));
    assert_400(&r, "Sec-WebSocket-Key");
}

#[test]
fn reject_invalid_keys() {
    for key in [
        "SGVsbG8sIHdvcmxkIQ==",         // 13 bytes ("Hello, world!")
        "dGhlIHNhbXBsZSBub25jZQ",       // unpadded
        "dGhlIHNhbXBsZSBub25jZQ=!",     // bad character
        "dGhlIHNhbXBsZSBub25jZQdGhlIA", // 18+ bytes
        "",
        "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==",
    ] {
        let (e, r) = rejected(&variant(
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            &format!("Sec-WebSocket-Key: {key}"),
        ));
        assert!(matches!(e, HandshakeError::InvalidKey), "{key}: {e:?}");
        assert_400(&r, "Sec-WebSocket-Key");
    }
    // Two Sec-WebSocket-Key lines.
    let (e, _) = rejected(&variant(
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version",
    ));
    assert!(matches!(e, HandshakeError::InvalidKey));
}

/// RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
fn assert_426(resp: &[u8]) {
    assert_eq!(status_line(resp), "HTTP/1.1 426 Upgrade Required");
    assert!(find(resp, b"\r\nUpgrade: websocket\r\n"));
    assert!(find(resp, b"\r\nSec-WebSocket-Version: 13\r\n"));
    assert!(find(resp, b"\r\nConnection: close\r\n"));
}

#[test]
fn reject_missing_version_with_426() {
    let (e, r) = rejected(&variant("Sec-WebSocket-Version: 13\r\n", ""));
    assert!(matches!(e, HandshakeError::MissingVersion));
    assert_eq!(e.http_status(), Some(426));
    assert_426(&r);
}

#[test]
fn reject_wrong_version_with_426() {
    for v in ["8", "12", "14", "13, 8", "013", ""] {
        let (e, r) = rejected(&variant(
            "Sec-WebSocket-Version: 13",
            &format!("Sec-WebSocket-Version: {v}"),
        ));
        assert!(matches!(e, HandshakeError::UnsupportedVersion), "{v}");
        assert_426(&r);
    }
}

#[test]
fn reject_malformed_subprotocols() {
    let (e, r) = rejected(&variant(
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol: chat, s p a c e\r\nSec-WebSocket-Version",
    ));
    assert!(matches!(e, HandshakeError::MalformedSubprotocols));
    assert_400(&r, "Sec-WebSocket-Protocol");
}

#[test]
fn reject_malformed_head_with_400() {
    let mut s = ServerHandshake::new(Limits::default());
    let err = s
        .feed(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
        .unwrap_err();
    assert!(matches!(err, HandshakeError::MalformedHead(_)));
    assert_eq!(
        status_line(&err.response().unwrap()),
        "HTTP/1.1 400 Bad Request"
    );
    // The reader is finished after an error.
    assert!(matches!(s.feed(b"x"), Err(HandshakeError::Finished)));
}

#[test]
fn head_too_large_is_431_with_bounded_buffering() {
    let limit = 1024;
    let mut head = GOOD.as_bytes().to_vec();
    while head.len() < 4000 {
        head.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    head.extend_from_slice(b"\r\n");
    // Chunked.
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(limit));
    let mut err = None;
    for chunk in head.chunks(100) {
        match s.feed(chunk) {
            Ok(None) => assert!(s.buffered() <= limit),
            Ok(Some(_)) => panic!("head over the limit accepted"),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let err = err.expect("limit enforced");
    assert!(matches!(err, HandshakeError::HeadTooLarge { limit: 1024 }));
    let resp = err.response().unwrap();
    assert_eq!(
        status_line(&resp),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert!(find(&resp, b"\r\nConnection: close\r\n"));
    // In one piece: rejected without buffering anything.
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(limit));
    assert!(matches!(
        s.feed(&head),
        Err(HandshakeError::HeadTooLarge { .. })
    ));
    assert_eq!(s.buffered(), 0);
    // One byte at a time: fails exactly when the limit is reached.
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(limit));
    let mut fed = 0;
    loop {
        fed += 1;
        if s.feed(&head[fed - 1..fed]).is_err() {
            break;
        }
        assert!(s.buffered() < limit);
    }
    assert_eq!(fed, limit);
}

#[test]
fn head_exactly_at_limit_is_accepted() {
    let req = CHROME_REQUEST;
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(req.len()));
    assert!(s.feed(req).unwrap().is_some());
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(req.len() - 1));
    assert!(matches!(
        s.feed(req),
        Err(HandshakeError::HeadTooLarge { .. })
    ));
    // Frames behind a head at the limit are not counted against it.
    let mut wire = req.to_vec();
    wire.extend_from_slice(&[0x81; 100]);
    let mut s = ServerHandshake::new(Limits::default().max_head_bytes(req.len()));
    let (_, used) = s.feed(&wire).unwrap().unwrap();
    assert_eq!(used, req.len());
}

#[test]
fn too_many_headers_is_431() {
    // CURL_REQUEST has 7 header fields.
    let mut s = ServerHandshake::new(Limits::default().max_headers(7));
    assert!(s.feed(CURL_REQUEST).unwrap().is_some());
    let mut s = ServerHandshake::new(Limits::default().max_headers(6));
    let err = s.feed(CURL_REQUEST).unwrap_err();
    assert!(matches!(err, HandshakeError::TooManyHeaders { limit: 6 }));
    assert_eq!(err.http_status(), Some(431));
    let resp = err.response().unwrap();
    assert_eq!(
        status_line(&resp),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // Default limit (64), with 100 tiny headers.
    let mut head = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut s = ServerHandshake::new(Limits::default());
    assert!(matches!(
        s.feed(&head),
        Err(HandshakeError::TooManyHeaders { limit: 64 })
    ));
    // A huge max_headers does not allocate a huge table.
    let mut s = ServerHandshake::new(Limits::default().max_headers(usize::MAX));
    assert_eq!(s.feed(&head).unwrap().unwrap().0.headers().len(), 100);
}

#[test]
fn head_is_parsed_once_when_fed_byte_by_byte() {
    // CVE-2023-43669: a reader that re-parses on every read is quadratic.
    let mut head = GOOD.as_bytes().to_vec();
    let filler =
        b"X-Filler: 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv\r\n";
    while head.len() + filler.len() + 2 <= 16 * 1024 {
        head.extend_from_slice(filler);
    }
    head.extend_from_slice(b"\r\n");
    assert!(head.len() > 16 * 1024 - filler.len() && head.len() <= 16 * 1024);
    let mut s = ServerHandshake::new(Limits::default().max_headers(1000));
    for (i, b) in head.iter().enumerate() {
        let r = s.feed(std::slice::from_ref(b)).unwrap();
        if i + 1 < head.len() {
            assert!(r.is_none());
            assert_eq!(s.parse_calls(), 0, "parsed before the head was complete");
        } else {
            let (req, used) = r.expect("complete");
            assert_eq!(used, 1);
            req.validate().unwrap();
        }
    }
    assert_eq!(s.parse_calls(), 1);
    // Every input byte was examined by the terminator search at most once.
    assert!(s.bytes_scanned() <= head.len());
}

#[test]
fn absolute_form_target() {
    // RFC 6455 §4.2.1 item 1: "or an absolute HTTP/HTTPS URI containing the
    // /resource name/".
    let req = parse_request(&variant(
        "GET /chat",
        "GET http://example.com:80/chat/x?y=1",
    ));
    assert_eq!(req.target(), "http://example.com:80/chat/x?y=1");
    assert_eq!(req.path(), "/chat/x");
    assert_eq!(req.query(), Some("y=1"));
    req.validate().unwrap();
    let req = parse_request(&variant("GET /chat", "GET ws://example.com?q"));
    assert_eq!((req.path(), req.query()), ("/", Some("q")));
}

#[test]
fn plain_http_request_is_handed_to_application() {
    let req = parse_request(
        b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\r\n",
    );
    assert!(!req.is_upgrade());
    assert_eq!(req.path(), "/index.html");
    assert!(matches!(
        req.validate(),
        Err(HandshakeError::UpgradeNotWebSocket)
    ));
    let resp = http_response(200, "text/html; charset=utf-8", b"<h1>chat</h1>").unwrap();
    assert_eq!(
        resp,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 13\r\n\
Connection: close\r\n\r\n<h1>chat</h1>"
    );
    // A POST with a body: the body is left in the input.
    let wire = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
    let mut s = ServerHandshake::new(Limits::default());
    let (req, used) = s.feed(wire).unwrap().unwrap();
    assert_eq!(req.method(), "POST");
    assert_eq!(&wire[used..], b"abc");
}

// ---------------------------------------------------------------------------
// Accepting and rejecting: application choices
// ---------------------------------------------------------------------------

#[test]
fn accept_with_extra_headers() {
    let req = parse_request(RFC_REQUEST);
    let resp = req
        .accept(
            &Accept::new()
                .subprotocol("superchat")
                .extensions("x-foo")
                .header("Set-Cookie", "a=b; HttpOnly")
                .header("X-Server", "rfc6455"),
        )
        .unwrap();
    assert_eq!(
        resp,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: superchat\r\n\
Sec-WebSocket-Extensions: x-foo\r\nSet-Cookie: a=b; HttpOnly\r\nX-Server: rfc6455\r\n\r\n"
    );
}

#[test]
fn accept_subprotocol_not_offered() {
    let req = parse_request(RFC_REQUEST);
    let err = req.accept(&Accept::new().subprotocol("CHAT")).unwrap_err();
    assert!(matches!(err, HandshakeError::SubprotocolNotOffered(ref p) if p == "CHAT"));
    assert_eq!(err.http_status(), None);
    assert!(err.response().is_none());
    let req = parse_request(CURL_REQUEST);
    assert!(matches!(
        req.accept(&Accept::new().subprotocol("chat")),
        Err(HandshakeError::SubprotocolNotOffered(_))
    ));
}

#[test]
fn accept_rejects_header_injection() {
    let req = parse_request(RFC_REQUEST);
    for a in [
        Accept::new().header("Set-Cookie", "a=b\r\nX-Evil: 1"),
        Accept::new().header("Set-Cookie", "a=b\nX-Evil: 1"),
        Accept::new().header("Set-Cookie", "a=b\rX"),
        Accept::new().header("Bad Name", "v"),
        Accept::new().header("X\r\nEvil", "v"),
        Accept::new().header("", "v"),
        Accept::new().extensions("x\r\nX-Evil: 1"),
    ] {
        assert!(matches!(req.accept(&a), Err(HandshakeError::InvalidHeader)));
    }
    assert!(matches!(
        reject(403, &[("X-A", "b\r\nc")], b""),
        Err(HandshakeError::InvalidHeader)
    ));
    assert!(matches!(
        http_response(200, "text/html\r\nX: y", b""),
        Err(HandshakeError::InvalidHeader)
    ));
}

#[test]
fn reject_builds_responses() {
    let r = reject(403, &[], b"origin not allowed").unwrap();
    assert_eq!(
        r,
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 18\r\nConnection: close\r\n\r\norigin not allowed"
    );
    let r = reject(401, &[("WWW-Authenticate", "Bearer")], b"").unwrap();
    assert_eq!(
        r,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\
WWW-Authenticate: Bearer\r\n\r\n"
    );
    assert_eq!(
        status_line(&reject(404, &[], b"").unwrap()),
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        status_line(&reject(503, &[], b"").unwrap()),
        "HTTP/1.1 503 Service Unavailable"
    );
    assert_eq!(
        status_line(&reject(599, &[], b"").unwrap()),
        "HTTP/1.1 599 "
    );
    assert!(matches!(
        reject(42, &[], b""),
        Err(HandshakeError::InvalidStatus(42))
    ));
    assert!(matches!(
        reject(1000, &[], b""),
        Err(HandshakeError::InvalidStatus(1000))
    ));
}

// ---------------------------------------------------------------------------
// Pipelined bytes
// ---------------------------------------------------------------------------

#[test]
fn frames_after_request_are_left_intact() {
    let frame = [
        0x81u8, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let mut wire = CHROME_REQUEST.to_vec();
    wire.extend_from_slice(&frame);
    for at in 0..=wire.len() {
        let (_, used) = feed_split(&wire, at);
        assert_eq!(used, CHROME_REQUEST.len());
        assert_eq!(&wire[used..], &frame);
    }
    // A frame that itself contains "\r\n\r\n" does not confuse the reader.
    let mut wire = CURL_REQUEST.to_vec();
    wire.extend_from_slice(b"\r\n\r\n\r\n");
    let (_, used) = feed_split(&wire, 0);
    assert_eq!(used, CURL_REQUEST.len());
}

#[test]
fn feed_after_completion_is_an_error() {
    let mut s = ServerHandshake::new(Limits::default());
    assert!(s.feed(CURL_REQUEST).unwrap().is_some());
    assert!(matches!(s.feed(b"x"), Err(HandshakeError::Finished)));
    // Empty input before completion is harmless.
    let mut s = ServerHandshake::new(Limits::default());
    assert!(s.feed(b"").unwrap().is_none());
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

fn client(opts: &ClientOptions) -> ClientHandshake {
    let uri = Uri::parse("ws://example.com/chat").unwrap();
    ClientHandshake::new(&uri, opts, &mut Counter(1)).unwrap()
}

/// The server's 101 for a client's request, with `f` editing it.
fn server_reply(c: &ClientHandshake, a: &Accept<'_>) -> Vec<u8> {
    parse_request(c.request_bytes()).accept(a).unwrap()
}

#[test]
fn client_request_bytes() {
    let uri = Uri::parse("ws://example.com:8080/chat?x=1").unwrap();
    let opts = ClientOptions::new()
        .origin("http://example.com")
        .subprotocol("chat")
        .subprotocol("superchat")
        .extensions("permessage-deflate; client_max_window_bits")
        .header("Authorization", "Bearer abc")
        .header("Cookie", "s=1");
    let mut keys = Counter(0);
    let c = ClientHandshake::new(&uri, &opts, &mut keys).unwrap();
    let mut nonce = [0u8; 16];
    Counter(0).fill(&mut nonce);
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(nonce);
    let expect = format!(
        "GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Authorization: Bearer abc\r\nCookie: s=1\r\n\r\n"
    );
    assert_eq!(std::str::from_utf8(c.request_bytes()).unwrap(), expect);
    // Fresh randomness for every handshake (RFC 6455 §4.1 item 7).
    let c2 = ClientHandshake::new(&uri, &opts, &mut keys).unwrap();
    assert_ne!(c.request_bytes(), c2.request_bytes());
}

#[test]
fn client_host_header_ports() {
    for (uri, host) in [
        ("ws://example.com/", "example.com"),
        ("ws://example.com:80/", "example.com"),
        ("wss://example.com:443/", "example.com"),
        ("ws://example.com:443/", "example.com:443"),
        ("wss://example.com:80/", "example.com:80"),
        ("ws://[::1]:9001", "[::1]:9001"),
        ("wss://[::1]", "[::1]"),
    ] {
        let u = Uri::parse(uri).unwrap();
        let c = ClientHandshake::new(&u, &ClientOptions::new(), &mut Counter(0)).unwrap();
        let r = parse_request(c.request_bytes());
        assert_eq!(r.host(), Some(host), "{uri}");
        r.validate().unwrap();
    }
}

#[test]
fn client_options_injection() {
    let uri = Uri::parse("ws://h/").unwrap();
    for opts in [
        ClientOptions::new().origin("http://a\r\nX: y"),
        ClientOptions::new().header("Cookie", "a\nb"),
        ClientOptions::new().header("Bad:Name", "v"),
        ClientOptions::new().subprotocol("a b"),
        ClientOptions::new().subprotocol("a\r\nX: y"),
        ClientOptions::new().extensions("x\r\nX: y"),
    ] {
        assert!(matches!(
            ClientHandshake::new(&uri, &opts, &mut Counter(0)),
            Err(HandshakeError::InvalidHeader)
        ));
    }
    assert!(matches!(
        ClientHandshake::new(
            &uri,
            &ClientOptions::new().extensions("x;;"),
            &mut Counter(0)
        ),
        Err(HandshakeError::MalformedExtensions)
    ));
}

#[test]
fn client_accepts_valid_response_and_keeps_frames() {
    let opts = ClientOptions::new()
        .subprotocol("chat")
        .extensions("permessage-deflate; client_max_window_bits");
    let c = client(&opts);
    let reply = server_reply(
        &c,
        &Accept::new()
            .subprotocol("chat")
            .extensions("permessage-deflate; server_max_window_bits=10")
            .header("Set-Cookie", "id=7"),
    );
    let mut wire = reply.clone();
    wire.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    for at in 0..=wire.len() {
        let mut c = client(&opts);
        let (resp, used) = match c.feed(&wire[..at]).unwrap() {
            Some(x) => x,
            None => {
                let (r, n) = c.feed(&wire[at..]).unwrap().unwrap();
                (r, at + n)
            }
        };
        assert_eq!(used, reply.len());
        assert_eq!(&wire[used..], &[0x81, 0x02, b'h', b'i']);
        assert_eq!(resp.status(), 101);
        assert_eq!(resp.reason(), "Switching Protocols");
        assert_eq!(resp.http_version(), 1);
        assert_eq!(resp.subprotocol(), Some("chat"));
        assert_eq!(resp.header("set-cookie"), Some(&b"id=7"[..]));
        let ext = resp.extensions().unwrap();
        assert_eq!(ext[0].name, "permessage-deflate");
        assert_eq!(ext[0].param("server_max_window_bits"), Some(Some("10")));
        assert_eq!(c.parse_calls(), 1);
    }
}

#[test]
fn client_accepts_rfc_sample_response() {
    // Build a client whose key is the RFC's: the §1.2 nonce decodes to
    // "the sample nonce".
    struct Sample;
    impl KeySource for Sample {
        fn fill(&mut self, dest: &mut [u8]) {
            dest.copy_from_slice(b"the sample nonce");
        }
    }
    let uri = Uri::parse("ws://server.example.com/chat").unwrap();
    let opts = ClientOptions::new()
        .origin("http://example.com")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut c = ClientHandshake::new(&uri, &opts, &mut Sample).unwrap();
    assert!(find(
        c.request_bytes(),
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    ));
    let (resp, used) = c.feed(RFC_RESPONSE).unwrap().unwrap();
    assert_eq!(used, RFC_RESPONSE.len());
    assert_eq!(resp.subprotocol(), Some("chat"));
}

fn client_error(opts: &ClientOptions, edit: impl Fn(String) -> String) -> HandshakeError {
    let c = client(opts);
    let reply = String::from_utf8(server_reply(&c, &Accept::new())).unwrap();
    let mut c = c;
    let err = c.feed(edit(reply).as_bytes()).unwrap_err();
    assert_eq!(err.http_status(), None);
    assert!(err.response().is_none());
    err
}

#[test]
fn client_rejects_non_101() {
    let mut c = client(&ClientOptions::new());
    let wire = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nX-Why: origin\r\n\r\nnope!\n";
    match c.feed(wire) {
        Err(HandshakeError::UnexpectedStatus { response, body }) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.reason(), "Forbidden");
            assert_eq!(response.header("x-why"), Some(&b"origin"[..]));
            assert_eq!(body, b"nope!\n");
        }
        other => panic!("{other:?}"),
    }
    // A redirect whose body has not arrived yet.
    let mut c = client(&ClientOptions::new());
    match c.feed(b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n") {
        Err(HandshakeError::UnexpectedStatus { response, body }) => {
            assert_eq!(response.status(), 302);
            assert_eq!(response.header("Location"), Some(&b"/x"[..]));
            assert!(body.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_rejects_bad_upgrade_and_connection() {
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace("Upgrade: websocket\r\n", "")
    });
    assert!(matches!(e, HandshakeError::ResponseUpgrade));
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace("Upgrade: websocket", "Upgrade: h2c")
    });
    assert!(matches!(e, HandshakeError::ResponseUpgrade));
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace("Connection: Upgrade\r\n", "")
    });
    assert!(matches!(e, HandshakeError::ResponseConnection));
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace("Connection: Upgrade", "Connection: close")
    });
    assert!(matches!(e, HandshakeError::ResponseConnection));
    // Case-insensitive tokens are fine.
    let c = client(&ClientOptions::new());
    let reply = String::from_utf8(server_reply(&c, &Accept::new()))
        .unwrap()
        .replace("Upgrade: websocket", "upgrade: WEBSOCKET")
        .replace("Connection: Upgrade", "connection: keep-alive, upgrade");
    let mut c = c;
    assert!(c.feed(reply.as_bytes()).unwrap().is_some());
}

#[test]
fn client_rejects_bad_accept() {
    let e = client_error(&ClientOptions::new(), |r| {
        let start = r.find("Sec-WebSocket-Accept").unwrap();
        let end = start + r[start..].find("\r\n").unwrap() + 2;
        format!("{}{}", &r[..start], &r[end..])
    });
    assert!(matches!(e, HandshakeError::MissingAccept));
    let e = client_error(&ClientOptions::new(), |r| {
        let start = r.find("Sec-WebSocket-Accept: ").unwrap() + 22;
        format!(
            "{}s3pPLMBiTxaQ9kYGzzhZRbK+xOo={}",
            &r[..start],
            &r[start + 28..]
        )
    });
    assert!(matches!(e, HandshakeError::AcceptMismatch));
}

#[test]
fn client_rejects_unoffered_subprotocol() {
    let opts = ClientOptions::new().subprotocol("chat");
    let e = client_error(&opts, |r| {
        r.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: superchat\r\n\r\n")
    });
    assert!(matches!(e, HandshakeError::ResponseSubprotocol));
    // Server selecting a list rather than one token.
    let e = client_error(&opts, |r| {
        r.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat, chat\r\n\r\n")
    });
    assert!(matches!(e, HandshakeError::ResponseSubprotocol));
    // None offered, one selected.
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    });
    assert!(matches!(e, HandshakeError::ResponseSubprotocol));
    // Offered but none selected: fine.
    let mut c = client(&opts);
    let reply = server_reply(&c, &Accept::new());
    let (resp, _) = c.feed(&reply).unwrap().unwrap();
    assert_eq!(resp.subprotocol(), None);
}

#[test]
fn client_rejects_unoffered_extension() {
    let e = client_error(&ClientOptions::new(), |r| {
        r.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        )
    });
    assert!(matches!(e, HandshakeError::ExtensionNotOffered(ref n) if n == "permessage-deflate"));
    let opts = ClientOptions::new().extensions("permessage-deflate");
    let e = client_error(&opts, |r| {
        r.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate, x-other\r\n\r\n",
        )
    });
    assert!(matches!(e, HandshakeError::ExtensionNotOffered(ref n) if n == "x-other"));
    let e = client_error(&opts, |r| {
        r.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate;\r\n\r\n",
        )
    });
    assert!(matches!(e, HandshakeError::MalformedResponseExtensions));
}

#[test]
fn client_response_limits() {
    let opts = ClientOptions::new().limits(Limits::default().max_head_bytes(64));
    let mut c = client(&opts);
    let reply = server_reply(&c, &Accept::new());
    assert!(matches!(
        c.feed(&reply),
        Err(HandshakeError::ResponseTooLarge { limit: 64 })
    ));
    assert!(matches!(c.feed(b""), Err(HandshakeError::Finished)));
    let mut c = client(&ClientOptions::new().limits(Limits::default().max_headers(2)));
    let e = c.feed(&reply).unwrap_err();
    assert!(matches!(
        e,
        HandshakeError::ResponseTooManyHeaders { limit: 2 }
    ));
    assert!(e.response().is_none());
    let mut c = client(&ClientOptions::new());
    let e = c.feed(b"HTTP/1.1 1O1 Nope\r\n\r\n").unwrap_err();
    assert!(matches!(e, HandshakeError::MalformedResponse(_)));
    assert!(e.response().is_none());
}

// ---------------------------------------------------------------------------
// URIs (RFC 6455 §3)
// ---------------------------------------------------------------------------

#[test]
fn uri_parsing() {
    let u = Uri::parse("ws://example.com").unwrap();
    assert!(!u.is_secure());
    assert_eq!(u.scheme(), "ws");
    assert_eq!(
        (u.host(), u.port(), u.resource_name()),
        ("example.com", 80, "/")
    );
    assert_eq!(u.path(), "/");
    assert_eq!(u.query(), None);

    let u = Uri::parse("WSS://Example.com:8443/a/b?c=d&e").unwrap();
    assert!(u.is_secure());
    assert_eq!((u.host(), u.port()), ("Example.com", 8443));
    assert_eq!(u.resource_name(), "/a/b?c=d&e");
    assert_eq!(u.path(), "/a/b");
    assert_eq!(u.query(), Some("c=d&e"));
    assert_eq!(u.host_header(), "Example.com:8443");

    let u = Uri::parse("wss://example.com?x").unwrap();
    assert_eq!((u.port(), u.resource_name()), (443, "/?x"));
    // An empty query is dropped (RFC 6455 §3: "?" only if non-empty).
    assert_eq!(Uri::parse("ws://h/p?").unwrap().resource_name(), "/p");
    // An empty port means the default (RFC 3986 §3.2.3).
    assert_eq!(Uri::parse("ws://h:/").unwrap().port(), 80);

    let u = Uri::parse("ws://[::1]:9001/x").unwrap();
    assert_eq!((u.host(), u.port(), u.is_ipv6()), ("::1", 9001, true));
    assert_eq!(u.host_header(), "[::1]:9001");
    let u = Uri::parse("wss://[2001:db8::7]").unwrap();
    assert_eq!(
        (u.host(), u.port(), u.resource_name()),
        ("2001:db8::7", 443, "/")
    );
    let u = Uri::parse("ws://127.0.0.1:8080/").unwrap();
    assert_eq!(
        (u.host(), u.port(), u.is_ipv6()),
        ("127.0.0.1", 8080, false)
    );
    assert_eq!(u.port(), 8080);
    assert_eq!(Uri::parse("ws://h:65535").unwrap().port(), 65535);
    // "#" escaped as %23 is fine.
    assert_eq!(
        Uri::parse("ws://h/a%23b").unwrap().resource_name(),
        "/a%23b"
    );
}

#[test]
fn uri_errors() {
    use UriError::*;
    for (text, err) in [
        ("ws://example.com/chat#frag", Fragment),
        ("ws://example.com#", Fragment),
        ("http://example.com/", UnsupportedScheme),
        ("wsx://example.com/", UnsupportedScheme),
        ("example.com/chat", NotAbsolute),
        ("ws:/example.com", NotAbsolute),
        ("ws:///chat", EmptyHost),
        ("ws://:80/chat", EmptyHost),
        ("ws://[]/", EmptyHost),
        ("ws://h:0/", InvalidPort),
        ("ws://h:65536/", InvalidPort),
        ("ws://h:99999999999999999999/", InvalidPort),
        ("ws://h:8o/", InvalidPort),
        ("ws://h:-1/", InvalidPort),
        ("ws://[::1]:x/", InvalidPort),
        ("ws://user:pw@h/", UserInfo),
        ("ws://[::1/", InvalidHost),
        ("ws://[::1]x/", InvalidHost),
        ("ws://[zz]/", InvalidHost),
        ("ws://ho st/", InvalidHost),
        ("ws://h/a b", InvalidCharacter),
        ("ws://h/a\r\nX: y", InvalidCharacter),
        ("ws://h/caf\u{e9}", InvalidCharacter),
    ] {
        assert_eq!(Uri::parse(text), Err(err.clone()), "{text}");
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.!#$%&'*+^_`|~-]{0,10}"
}

/// (path, query, subprotocols, extra headers)
type Options = (String, Option<String>, Vec<String>, Vec<(String, String)>);

fn options() -> impl Strategy<Value = Options> {
    (
        "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,12}){0,4}",
        proptest::option::of("[a-zA-Z0-9._~%!$&'()*+,;=:@/?-]{1,20}"),
        proptest::collection::btree_set(token(), 0..5).prop_map(|s| s.into_iter().collect()),
        proptest::collection::vec(("X-[a-zA-Z0-9-]{1,10}", "[ -~]{0,30}"), 0..6),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Our client's request passes our server, and our server's answer passes
    /// our client (RFC 6455 §4.1 / §4.2 round trip).
    #[test]
    fn client_server_round_trip(
        (path, query, protocols, extra) in options(),
        seed in any::<u8>(),
        pick in any::<prop::sample::Index>(),
        split in any::<prop::sample::Index>(),
    ) {
        let text = match &query {
            Some(q) => format!("ws://example.com:9000{path}?{q}"),
            None => format!("ws://example.com:9000{path}"),
        };
        let uri = Uri::parse(&text).unwrap();
        let mut opts = ClientOptions::new();
        opts.subprotocols = protocols.clone();
        opts.headers = extra.clone();
        let mut c = ClientHandshake::new(&uri, &opts, &mut Counter(seed)).unwrap();
        let wire = c.request_bytes().to_vec();

        let (req, used) = feed_split(&wire, split.index(wire.len() + 1));
        prop_assert_eq!(used, wire.len());
        req.validate().unwrap();
        let want_path = if path.is_empty() { "/" } else { path.as_str() };
        prop_assert_eq!(req.path(), want_path);
        prop_assert_eq!(req.query(), query.as_deref());
        prop_assert_eq!(req.host(), Some("example.com:9000"));
        prop_assert_eq!(req.subprotocols().collect::<Vec<_>>(), protocols.clone());
        for (n, v) in &extra {
            prop_assert!(req.headers().get_all(n).any(|got| got == v.trim().as_bytes()));
        }

        let chosen = if protocols.is_empty() { None } else { Some(protocols[pick.index(protocols.len())].as_str()) };
        let mut accept = Accept::new();
        if let Some(p) = chosen {
            accept = accept.subprotocol(p);
        }
        for (n, v) in &extra {
            accept = accept.header(n, v);
        }
        let reply = req.accept(&accept).unwrap();
        let at = split.index(reply.len() + 1);
        let resp: Response = match c.feed(&reply[..at]).unwrap() {
            Some((r, n)) => { prop_assert_eq!(n, reply.len()); r }
            None => {
                let (r, n) = c.feed(&reply[at..]).unwrap().unwrap();
                prop_assert_eq!(at + n, reply.len());
                r
            }
        };
        prop_assert_eq!(resp.status(), 101);
        prop_assert_eq!(resp.subprotocol(), chosen);
    }

    /// Requests and responses parse identically at every split, and one byte
    /// at a time, and frame bytes behind the head are returned untouched.
    #[test]
    fn every_split_and_trailing_bytes(
        (path, query, protocols, extra) in options(),
        trailing in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let text = format!("ws://h{path}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
        let uri = Uri::parse(&text).unwrap();
        let mut opts = ClientOptions::new();
        opts.subprotocols = protocols;
        opts.headers = extra;
        let c = ClientHandshake::new(&uri, &opts, &mut Counter(3)).unwrap();
        let head = c.request_bytes().to_vec();
        let whole = parse_request(&head);
        let mut wire = head.clone();
        wire.extend_from_slice(&trailing);
        for at in 0..=wire.len() {
            let (r, used) = feed_split(&wire, at);
            prop_assert_eq!(used, head.len());
            prop_assert_eq!(&wire[used..], &trailing[..]);
            prop_assert_eq!(&r, &whole);
        }
        // One byte at a time.
        let mut s = ServerHandshake::new(Limits::default());
        let mut got = None;
        for (i, b) in head.iter().enumerate() {
            if let Some((r, used)) = s.feed(std::slice::from_ref(b)).unwrap() {
                prop_assert_eq!(i + 1, head.len());
                prop_assert_eq!(used, 1);
                got = Some(r);
            }
        }
        prop_assert_eq!(got.as_ref(), Some(&whole));

        // The response side, likewise.
        let reply = whole.accept(&Accept::new()).unwrap();
        let mut rwire = reply.clone();
        rwire.extend_from_slice(&trailing);
        for at in 0..=rwire.len() {
            let mut c = ClientHandshake::new(&uri, &opts, &mut Counter(3)).unwrap();
            let used = match c.feed(&rwire[..at]).unwrap() {
                Some((_, n)) => n,
                None => at + c.feed(&rwire[at..]).unwrap().unwrap().1,
            };
            prop_assert_eq!(used, reply.len());
            prop_assert_eq!(&rwire[used..], &trailing[..]);
        }
        let mut c = ClientHandshake::new(&uri, &opts, &mut Counter(3)).unwrap();
        let mut done = false;
        for b in &reply {
            prop_assert!(!done);
            done = c.feed(std::slice::from_ref(b)).unwrap().is_some();
        }
        prop_assert!(done);
    }

    /// Arbitrary input never panics, and never buffers past the limit.
    #[test]
    fn hostile_input_never_panics(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10),
    ) {
        let limits = Limits::default().max_head_bytes(1000).max_headers(8);
        let mut s = ServerHandshake::new(limits);
        for chunk in &chunks {
            match s.feed(chunk) {
                Ok(None) => prop_assert!(s.buffered() <= 1000),
                Ok(Some((req, used))) => {
                    prop_assert!(used <= chunk.len());
                    let _ = req.validate();
                    let _ = req.extensions();
                    let _ = req.accept(&Accept::new());
                    break;
                }
                Err(e) => {
                    prop_assert!(e.response().is_some());
                    break;
                }
            }
        }
    }

    /// Arbitrary extension header values never panic.
    #[test]
    fn extension_parser_total(value in "[ -~]{0,60}") {
        let head = format!("GET / HTTP/1.1\r\nSec-WebSocket-Extensions: {value}\r\n\r\n");
        let mut s = ServerHandshake::new(Limits::default());
        if let Ok(Some((req, _))) = s.feed(head.as_bytes()) {
            if let Ok(exts) = req.extensions() {
                for e in exts {
                    prop_assert!(!e.name.is_empty());
                }
            }
        }
    }

    /// Arbitrary URIs never panic; accepted ones produce valid requests.
    #[test]
    fn uri_parser_total(text in "(ws|wss|WS|http)://[ -~]{0,40}") {
        if let Ok(u) = Uri::parse(&text) {
            let c = ClientHandshake::new(&u, &ClientOptions::new(), &mut Counter(0)).unwrap();
            parse_request(c.request_bytes()).validate().unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// Request targets (RFC 6455 §3, §4.1 item 2; RFC 9112 §3.2)
// ---------------------------------------------------------------------------

/// A target that a proxy or router could resolve against a base URL and
/// land on another host or port is refused with 400 before any upgrade.
#[test]
fn request_targets_that_are_neither_origin_nor_absolute_form_get_400() {
    for target in [
        "5/",
        "80/admin",
        "@127.0.0.1:9/",
        "*",
        "chat",
        ":9/",
        "%2e%2e/",
        "127.0.0.1:9",
        "ws:/chat",
        "ws:chat",
        "ws:///chat",
        "ws://user@example.com/chat",
        "ws://a@127.0.0.1:9/",
        "ftp://example.com/chat",
        "ws://example.com:123456/",
        "ws://example.com:9x/",
        "ws://[::1/chat",
        "ws://[zz]/chat",
        "ws://exa mple.com/",
        "/chat#fragment",
        "ws://example.com/chat#fragment",
    ] {
        let req = variant("GET /chat HTTP/1.1", &format!("GET {target} HTTP/1.1"));
        let mut s = ServerHandshake::new(Limits::default());
        let request = match s.feed(&req) {
            Ok(Some((request, _))) => request,
            // A space splits the line: httparse refuses the head itself.
            Err(e) => {
                assert!(target.contains(' '), "{target}: {e:?}");
                assert_eq!(e.http_status(), Some(400));
                continue;
            }
            Ok(None) => panic!("{target}: head incomplete"),
        };
        let err = request.accept(&Accept::new()).unwrap_err();
        assert!(
            matches!(err, HandshakeError::InvalidTarget),
            "{target}: {err:?}"
        );
        assert_400(&err.response().unwrap(), "Request target");
    }
}

#[test]
fn origin_and_absolute_form_targets_are_accepted() {
    for (target, path, query) in [
        ("/", "/", None),
        ("/chat?room=1", "/chat", Some("room=1")),
        // Origin form whose path starts with an empty segment: a path, not
        // an authority (RFC 9112 §3.2.1).
        ("//127.0.0.1:9/", "//127.0.0.1:9/", None),
        ("/%2e%2e/x", "/%2e%2e/x", None),
        ("ws://example.com/chat", "/chat", None),
        ("WS://Example.com:80", "/", None),
        ("wss://example.com?x=1", "/", Some("x=1")),
        ("http://example.com/a/b?c", "/a/b", Some("c")),
        ("https://127.0.0.1:443/", "/", None),
        ("ws://[::1]:9001/x", "/x", None),
        ("ws://[::1]/x", "/x", None),
    ] {
        let req = variant("GET /chat HTTP/1.1", &format!("GET {target} HTTP/1.1"));
        let request = parse_request(&req);
        request
            .accept(&Accept::new())
            .unwrap_or_else(|e| panic!("{target}: {e:?}"));
        assert_eq!(request.path(), path, "{target}");
        assert_eq!(request.query(), query, "{target}");
    }
}

// ---------------------------------------------------------------------------
// Input that cannot be HTTP fails at once (RFC 9112 §3: request-line)
// ---------------------------------------------------------------------------

/// The first bytes of a TLS 1.2/1.3 ClientHello record.
const CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x1b,
];

#[test]
fn bytes_that_cannot_start_a_request_fail_at_the_first_impossible_byte() {
    // (input, index of the first byte that cannot be HTTP)
    let cases: &[(&[u8], usize)] = &[
        (CLIENT_HELLO, 0),
        (b"\0GET / HTTP/1.1\r\n", 0),
        (b"\x80\x81\x82\x83", 0),
        (b"GE\0T / HTTP/1.1\r\n", 2),
        (b"GET /a\x01b HTTP/1.1\r\n", 6),
        (b"GET / FTP/1.1\r\n", 6),
        (b"GET / HTTP/2.0\r\n", 11),
        (b"GET /\r\nHost: x\r\n", 5),
        (b"SSH-2.0-OpenSSH_9.6\r\n", 19),
    ];
    for &(input, at) in cases {
        // Whole: the very first call fails, no terminator needed.
        let mut s = ServerHandshake::new(Limits::default());
        let err = s.feed(input).unwrap_err();
        assert!(
            matches!(err, HandshakeError::MalformedHead(_)),
            "{input:?}: {err:?}"
        );
        assert_eq!(
            status_line(&err.response().unwrap()),
            "HTTP/1.1 400 Bad Request"
        );
        // Byte by byte: everything before the bad byte is plausible.
        let mut s = ServerHandshake::new(Limits::default());
        for (i, b) in input.iter().enumerate() {
            let r = s.feed(&[*b]);
            if i < at {
                assert!(matches!(r, Ok(None)), "{input:?} byte {i}: {r:?}");
            } else {
                assert!(r.is_err(), "{input:?} byte {i} accepted");
                break;
            }
        }
        assert!(matches!(s.feed(b"x"), Err(HandshakeError::Finished)));
    }
}

#[test]
fn a_plausible_partial_head_waits_for_more() {
    let good = variant("", "");
    for split in 1..good.len() {
        let mut s = ServerHandshake::new(Limits::default());
        assert!(
            matches!(s.feed(&good[..split]), Ok(None)),
            "split at {split}"
        );
        let (req, used) = s.feed(&good[split..]).unwrap().unwrap();
        assert_eq!(used, good.len() - split);
        req.validate().unwrap();
    }
    // Empty lines before the request line are skipped (RFC 9112 §2.2).
    let mut lead = b"\r\n".to_vec();
    lead.extend_from_slice(&good);
    let mut s = ServerHandshake::new(Limits::default());
    assert!(matches!(s.feed(&lead[..2]), Ok(None)));
    assert!(s.feed(&lead[2..]).unwrap().is_some());
}

#[test]
fn a_client_fails_at_once_on_an_answer_that_is_not_http() {
    let mut client = client(&ClientOptions::new());
    let err = client.feed(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap_err();
    assert!(
        matches!(err, HandshakeError::MalformedResponse(_)),
        "{err:?}"
    );
}

/// The 408 an adapter sends when its handshake timer fires.
#[test]
fn request_timeout_answers_408() {
    let r = HandshakeError::RequestTimeout.response().unwrap();
    assert_eq!(status_line(&r), "HTTP/1.1 408 Request Timeout");
    assert!(find(&r, b"\r\nConnection: close\r\n"));
}
