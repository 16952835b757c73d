//! A request given as parts by another HTTP server (`Request::from_parts`,
//! hyper's HTTP/1.1 path) and an HTTP/2 extended CONNECT
//! (`ConnectRequest::from_parts`, RFC 8441), from arbitrary fields.
//!
//! Input layout: byte 0 = bit 0: the HTTP/2 form; bit 1: HTTP/1.0 (the
//! HTTP/1.1 form); bits 4-7: limits (0 = the defaults, n = at most 37 n
//! bytes and n fields). Then lines split at `\n`: HTTP/1.1: method, target,
//! then `name:value` fields; HTTP/2: method, `:protocol`, `:scheme`,
//! `:path`, `:authority` (an empty line: absent), then fields.
//!
//! Invariants: never panics. HTTP/1.1: parts accepted by `from_parts` and
//! the same head written as bytes and read by `ServerHandshake` (when it
//! reads it) give the same request: the same validation result and the
//! same `101` or refusal, byte for byte. HTTP/2: `validate` and `accept`
//! agree; an acceptance is a `200` with lower-case names and no
//! `sec-websocket-accept`; a refusal has an HTTP/2 answer (400, 431 or
//! 501: never 426, whose `Upgrade` field HTTP/2 forbids); a valid request's
//! answer passes the check of a client that offered what it offered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rfc6455::handshake::{
    Accept, ClientConnect, ClientOptions, ConnectRequest, HandshakeError, Limits, PseudoHeaders,
    Request, ServerHandshake, Uri,
};

fn fields<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    lines
        .map(|l| l.split_once(':').unwrap_or((l, "")))
        .collect()
}

fn outcome(r: &Result<Vec<u8>, HandshakeError>) -> Result<Vec<u8>, (String, Option<Vec<u8>>)> {
    match r {
        Ok(bytes) => Ok(bytes.clone()),
        Err(e) => Err((format!("{e:?}"), e.response())),
    }
}

fn http1(text: &str, version: u8, limits: Limits) {
    let mut lines = text.split('\n');
    let (Some(method), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    let fields = fields(lines);
    let Ok(parts) = Request::from_parts(method, target, version, &fields, limits) else {
        return;
    };
    let mut head = format!("{method} {target} HTTP/1.{version}\r\n");
    for (n, v) in &fields {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let read = match ServerHandshake::new(limits).feed(head.as_bytes()) {
        Ok(Some((read, used))) if used == head.len() => read,
        _ => return, // the head parser is stricter about some bytes
    };
    assert_eq!(
        format!("{:?}", parts.validate()),
        format!("{:?}", read.validate()),
        "{head:?}"
    );
    let accept = Accept::new();
    assert_eq!(
        outcome(&parts.accept(&accept)),
        outcome(&read.accept(&accept)),
        "{head:?}"
    );
    assert_eq!((parts.path(), parts.query()), (read.path(), read.query()));
    assert_eq!(
        parts.subprotocols().collect::<Vec<_>>(),
        read.subprotocols().collect::<Vec<_>>()
    );
    if let Ok(answer) = parts.accept_parts(&accept) {
        assert_eq!(answer.status, 101);
    }
}

fn h2(text: &str, limits: Limits) {
    let mut lines = text.split('\n');
    let Some(method) = lines.next() else {
        return;
    };
    let mut pseudo = || lines.next().filter(|l| !l.is_empty());
    let (protocol, scheme, path, authority) = (pseudo(), pseudo(), pseudo(), pseudo());
    let p = PseudoHeaders {
        method,
        protocol,
        scheme,
        path,
        authority,
    };
    let fields = fields(lines);
    let request = match ConnectRequest::from_parts(&p, &fields, limits) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.h2_response().is_some(), "{e:?}");
            return;
        }
    };
    let _ = (
        request.path(),
        request.query(),
        request.origin(),
        request.extensions(),
    );
    let offered: Vec<String> = request.subprotocols().map(String::from).collect();
    let valid = request.validate();
    let answer = request.accept(&Accept::new());
    assert_eq!(valid.is_ok(), answer.is_ok());
    match answer {
        Ok(answer) => {
            assert_eq!(answer.status, 200);
            assert!(answer
                .headers
                .iter()
                .all(|(n, _)| *n == n.to_ascii_lowercase()));
            assert!(answer.header("sec-websocket-accept").is_none());
            if let Some(first) = offered.first() {
                let chosen = request.accept(&Accept::new().subprotocol(first)).unwrap();
                // A client that offered the same subprotocols accepts it.
                let scheme = if p.scheme == Some("https") {
                    "wss"
                } else {
                    "ws"
                };
                let url = format!("{scheme}://example.com/");
                let mut options = ClientOptions::new();
                for o in &offered {
                    options = options.subprotocol(o.clone());
                }
                if let (Ok(uri), true) = (Uri::parse(&url), offered.iter().all(|o| !o.is_empty())) {
                    if let Ok(client) = ClientConnect::new(&uri, &options) {
                        let r = client.check(chosen.status, &chosen.headers);
                        assert!(r.is_ok(), "{r:?}");
                    }
                }
            }
        }
        Err(e) => {
            let refusal = e.h2_response().expect("a server-side refusal");
            assert!([400, 431, 501].contains(&refusal.status), "{e:?}");
            assert!(refusal.header("upgrade").is_none());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&b0, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let n = usize::from(b0 >> 4);
    let limits = if n == 0 {
        Limits::default()
    } else {
        Limits::default().max_head_bytes(37 * n).max_headers(n)
    };
    if b0 & 1 == 1 {
        h2(text, limits);
    } else {
        http1(text, u8::from(b0 & 2 == 0), limits);
    }
});
