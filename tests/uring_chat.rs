//! `async_broadcast --uring` (feature `uring`): the chat's strings and
//! rules on the io_uring path. Skipped loudly where the kernel refuses
//! io_uring (failing instead with `RFC6455_REQUIRE_URING=1`, as in CI).
#![cfg(all(feature = "uring", feature = "tokio", target_os = "linux"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rfc6455::blocking;
use rfc6455::Message;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `async_broadcast 127.0.0.1:0 --uring`; its address and log lines.
fn start() -> Option<(String, mpsc::Receiver<String>, Kill)> {
    if let Err(why) = rfc6455::uring::probe() {
        if std::env::var_os("RFC6455_REQUIRE_URING").is_some() {
            panic!("io_uring unavailable but RFC6455_REQUIRE_URING is set: {why}");
        }
        eprintln!("\n!!!!!!!! SKIPPED: io_uring is unavailable here: {why} !!!!!!!!\n");
        return None;
    }
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let mut build = Command::new(env!("CARGO"));
    build
        .args(["build", "--quiet", "--example", "async_broadcast"])
        .args(["--features", "tokio,uring"])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    if cfg!(feature = "rustls") {
        build.args(["--features", "rustls"]);
    }
    if profile.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(build.status().unwrap().success());
    let mut child = Command::new(profile.join("examples/async_broadcast"))
        .args(["127.0.0.1:0", "--uring"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let guard = Kill(child);
    let mut on_uring = false;
    loop {
        let line = rx.recv_timeout(Duration::from_secs(30)).expect("no banner");
        on_uring |= line == "async_broadcast: on io_uring";
        if let Some(rest) = line.strip_prefix("async_broadcast: chat on http://") {
            assert!(on_uring, "not on io_uring");
            return Some((rest.trim_end_matches('/').to_string(), rx, guard));
        }
    }
}

fn text(ws: &mut blocking::WebSocket<blocking::MaybeTlsStream>) -> String {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return t,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a line, got {other:?}"),
        }
    }
}

fn port(ws: &blocking::WebSocket<blocking::MaybeTlsStream>) -> u16 {
    match ws.get_ref() {
        blocking::MaybeTlsStream::Plain(s) => s.local_addr().unwrap().port(),
        #[allow(unreachable_patterns)]
        _ => unreachable!(),
    }
}

#[test]
fn joins_lines_and_leaves_with_the_same_strings() {
    let Some((addr, log, _server)) = start() else {
        return;
    };
    let (mut a, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let pa = port(&a);
    assert_eq!(text(&mut a), format!("User{pa} just connected."));
    let (mut b, _) = blocking::connect(&format!("ws://{addr}/")).unwrap();
    let pb = port(&b);
    assert_eq!(text(&mut b), format!("User{pb} just connected."));
    assert_eq!(text(&mut a), format!("User{pb} just connected."));
    a.send_text("hello").unwrap();
    assert_eq!(text(&mut a), format!("User{pa} says: hello"));
    assert_eq!(text(&mut b), format!("User{pa} says: hello"));
    b.close(rfc6455::CloseCode::NORMAL, "").unwrap();
    assert_eq!(text(&mut a), format!("User{pb} left."));
    let lines: Vec<String> = std::iter::from_fn(|| log.recv_timeout(Duration::from_secs(5)).ok())
        .take_while(|l| !l.contains("disconnected"))
        .chain(std::iter::once(String::new()))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("User{pa} connected (1 online)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("User{pb} connected (2 online)")),
        "{lines:?}"
    );
}

/// `n` clients join, one after the other; each hears the join notices of
/// everyone who joined after it (itself included). Returns them and their
/// ports (their names are `User<port>`).
fn join(addr: &str, n: usize) -> (Vec<blocking::WebSocket<blocking::MaybeTlsStream>>, Vec<u16>) {
    let mut clients: Vec<_> = (0..n)
        .map(|_| blocking::connect(&format!("ws://{addr}/")).unwrap().0)
        .collect();
    let ports: Vec<u16> = clients.iter().map(port).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        for p in &ports[i..] {
            assert_eq!(text(c), format!("User{p} just connected."));
        }
    }
    (clients, ports)
}

#[test]
fn many_clients_get_every_line() {
    let Some((addr, _log, _server)) = start() else {
        return;
    };
    let (mut clients, ports) = join(&addr, 50);
    for i in 0..20 {
        clients[i % 50].send_text(&format!("line {i}")).unwrap();
        let who = ports[i % 50];
        for c in clients.iter_mut() {
            assert_eq!(text(c), format!("User{who} says: line {i}"));
        }
    }
}

#[test]
fn a_burst_of_lines_reaches_everyone_in_order() {
    // Lines that come faster than the chat moves them to its clients wait
    // for the next move (a timer of the loop's own): none is lost or held.
    let Some((addr, _log, _server)) = start() else {
        return;
    };
    let (mut clients, ports) = join(&addr, 12);
    for c in clients.iter_mut() {
        // A line held forever fails the test instead of hanging it.
        c.set_read_timeout(Some(std::time::Duration::from_secs(3)))
            .unwrap();
    }
    // The first line goes out at once (nothing was moved for a while);
    // the rest, sent right after it arrived, come within the chat's
    // interval of that move and wait for its timer.
    clients[0].send_text("burst 0").unwrap();
    assert_eq!(
        text(&mut clients[0]),
        format!("User{} says: burst 0", ports[0])
    );
    // Queued, then written at once: one segment, one receive, one turn.
    for i in 1..200 {
        let line = format!("burst {i}");
        clients[0].connection_mut().send_text(&line).unwrap();
    }
    clients[0].flush().unwrap();
    for (n, c) in clients.iter_mut().enumerate() {
        for i in usize::from(n == 0)..200 {
            assert_eq!(text(c), format!("User{} says: burst {i}", ports[0]));
        }
    }
}

#[test]
fn serves_the_page_and_404() {
    let Some((addr, _log, _server)) = start() else {
        return;
    };
    for (path, status) in [("/", "200 OK"), ("/nope", "404 Not Found")] {
        let mut tcp = TcpStream::connect(&addr).unwrap();
        write!(tcp, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{answer}"
        );
    }
}
