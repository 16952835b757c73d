//! Loopback echo over real TCP (127.0.0.1 only): our blocking client and
//! server against tungstenite's, 64-byte binary messages.
//!
//! Each side runs a thread-per-connection echo server on an ephemeral
//! loopback port. The benchmark thread drives the clients: per iteration,
//! every connection sends a burst of `BURST` messages (one write each), then
//! reads all the echoes back. `echo_1conn` uses one connection,
//! `echo_16conn` sixteen (the server then runs 16 threads on the machine's
//! cores). Nagle is off on every socket for both libraries. Throughput is in
//! messages echoed.
//!
//! - ours: `blocking::accept` + `read_event` + `Connection::echo_event` on
//!   the server (the borrowed path, as `examples/echo_server.rs`);
//!   `blocking::connect` + `send_binary` + `read_event` on the client.
//! - tungstenite: `accept` + `read` + `send` on the server; `client` +
//!   `send` + `read` on the client.
//!
//! Wall-clock time (several threads and the kernel take part), so the
//! ratios are only as steady as the machine is quiet: repeat the runs
//! (`--save-baseline rN`) and read the median with
//! `scripts/bench_ratios.py --baselines ...`.
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench echo -- --warm-up-time 1 --measurement-time 3
//! python3 scripts/bench_ratios.py
//! ```

use std::hint::black_box;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rfc6455::blocking;
use rfc6455::Event;
use tungstenite::{Bytes, Message as TMessage};

const MSG_LEN: usize = 64;
const BURST: usize = 100;

fn ours_server(conns: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for _ in 0..conns {
            let (stream, _) = listener.accept().unwrap();
            thread::spawn(move || {
                let Ok(mut ws) = blocking::accept(stream) else {
                    return;
                };
                loop {
                    if ws.read_event().is_err() {
                        return;
                    }
                    match ws.connection_mut().echo_event() {
                        Ok(true) => {
                            if ws.flush().is_err() {
                                return;
                            }
                        }
                        Ok(false) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    port
}

fn tung_server(conns: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for _ in 0..conns {
            let (stream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    return;
                };
                loop {
                    match ws.read() {
                        Ok(msg @ (TMessage::Binary(_) | TMessage::Text(_))) => {
                            if ws.send(msg).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    port
}

fn ours_clients(port: u16, conns: usize) -> Vec<blocking::WebSocket<blocking::MaybeTlsStream>> {
    (0..conns)
        .map(|_| {
            blocking::connect(&format!("ws://127.0.0.1:{port}/echo"))
                .unwrap()
                .0
        })
        .collect()
}

fn tung_clients(port: u16, conns: usize) -> Vec<tungstenite::WebSocket<TcpStream>> {
    (0..conns)
        .map(|_| {
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.set_nodelay(true).unwrap();
            tungstenite::client(format!("ws://127.0.0.1:{port}/echo"), stream)
                .unwrap()
                .0
        })
        .collect()
}

fn ours_round(clients: &mut [blocking::WebSocket<blocking::MaybeTlsStream>], payload: &[u8]) {
    for ws in clients.iter_mut() {
        for _ in 0..BURST {
            ws.send_binary(payload).unwrap();
        }
    }
    for ws in clients.iter_mut() {
        for _ in 0..BURST {
            match ws.read_event().unwrap() {
                Event::Binary(b) => assert_eq!(black_box(b).len(), MSG_LEN),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn tung_round(clients: &mut [tungstenite::WebSocket<TcpStream>], payload: &Bytes) {
    for ws in clients.iter_mut() {
        for _ in 0..BURST {
            ws.send(TMessage::Binary(payload.clone())).unwrap();
        }
    }
    for ws in clients.iter_mut() {
        for _ in 0..BURST {
            match ws.read().unwrap() {
                TMessage::Binary(b) => assert_eq!(black_box(&b[..]).len(), MSG_LEN),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn echo(c: &mut Criterion) {
    let payload: Vec<u8> = (0..MSG_LEN as u8).collect();
    let shared = Bytes::from(payload.clone());
    for (name, conns) in [("echo_1conn", 1), ("echo_16conn", 16)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements((conns * BURST) as u64));

        let mut ours = ours_clients(ours_server(conns), conns);
        g.bench_function("rfc6455", |b| b.iter(|| ours_round(&mut ours, &payload)));
        drop(ours);

        let mut tung = tung_clients(tung_server(conns), conns);
        g.bench_function("tungstenite", |b| b.iter(|| tung_round(&mut tung, &shared)));
        drop(tung);

        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = echo
}
criterion_main!(benches);
