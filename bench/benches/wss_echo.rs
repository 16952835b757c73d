//! `wss://` echo over loopback: rfc6455's tokio server against
//! tokio-tungstenite 0.30 over tokio-rustls 0.26, 16 connections, 64-byte
//! binary messages, one message in flight per connection (as
//! `async_echo.rs` measures `ws://`), both servers driven by the same
//! client.
//!
//! # The servers
//!
//! Each runs in a child process (this benchmark binary re-executed with
//! `RFC6455_WSS_ECHO_ROLE` set), on a tokio multi-thread runtime with 2
//! workers, so that its CPU time can be read from `/proc/<pid>` without the
//! clients'. Both present the same certificate (ECDSA P-256, from a CA made
//! here by `rcgen`) through the same `rustls::ServerConfig`, built by
//! `rfc6455::adapter::tls::server_config`: rustls 0.23, the *ring*
//! provider, TLS 1.3, ALPN `http/1.1`. Only the WebSocket layer and the
//! TLS glue differ:
//!
//! - `rfc6455`: `rfc6455::tokio::accept_maybe_tls` with
//!   `ServerConfig::tls` set (the TLS handshake, then the upgrade; rustls
//!   driven by the adapter itself), then `read_event` +
//!   `Connection::echo_event`, the echo written by the next `read_event`
//!   before it waits (as `examples/async_echo_server.rs`).
//! - `tokio_tungstenite`: `tokio_rustls::TlsAcceptor::accept`, then
//!   `tokio_tungstenite::accept_async` over the TLS stream (the README's
//!   "TLS server" row), then `StreamExt::next` + `SinkExt::send` of every
//!   data message (`send` flushes).
//!
//! `TCP_NODELAY` on, no compression, no keepalive timers on either.
//!
//! # The client
//!
//! 16 `rfc6455::tokio` `wss://` connections (`connect_with`, trusting the
//! CA) on a current-thread runtime in the benchmark process, one task each;
//! each sends a message, waits for its echo, sends the next.
//!
//! # What is reported
//!
//! Criterion groups `wss_echo_16conns` (wall clock: throughput in
//! messages/s) and `wss_echo_16conns_server_cpu` (the server process's CPU
//! time from its threads' schedstat, so "time per iteration" is server CPU
//! per 16 messages). Then, in `--bench` mode, fixed rounds
//! (`RFC6455_WSS_ECHO_ROUNDS`, default 9, of `RFC6455_WSS_ECHO_MSGS`
//! messages per connection, default 3000), the two servers taking turns
//! within each round in alternating order, and the medians of the
//! per-round ratios: the figures to quote on a shared machine.
//!
//! ```text
//! server_cpu rfc6455             9.10 us/msg (8.80..9.60)  schedstat ...  client ...  27000 msg/s
//! wss_ratio rfc6455/tokio_tungstenite: msg/s 1.30 (1.20..1.40); server CPU per message 0.70 (...) ...
//! ```
//!
//! The same figures go to `<criterion dir>/wss_echo_rounds/<baseline>.json`.
//!
//! ```text
//! cargo bench -p rfc6455-bench --bench wss_echo
//! ```

#[path = "common/child.rs"]
mod child;

use std::sync::Arc;
use std::time::{Duration, Instant};

use child::{criterion_dir, env_u64, loadavg, sched_cpu_ns, spread, Round, Server};
use criterion::{Criterion, Throughput};
use futures_util::{SinkExt, StreamExt};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rfc6455::adapter::tls;
use rfc6455::rustls::pki_types::pem::PemObject;
use rfc6455::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rfc6455::rustls::{self, RootCertStore};
use rfc6455::tokio as ws;
use rfc6455::Event;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const MSG_LEN: usize = 64;
const CONNS: usize = 16;
const SERVER_WORKERS: usize = 2;
const ROLE_ENV: &str = "RFC6455_WSS_ECHO_ROLE";
/// The server's certificate chain and key, PEM, handed to the children.
const CERT_ENV: &str = "RFC6455_WSS_ECHO_CERT";
const KEY_ENV: &str = "RFC6455_WSS_ECHO_KEY";
const SERVERS: [&str; 2] = ["rfc6455", "tokio_tungstenite"];

type Client = ws::WebSocketStream<ws::MaybeTlsStream>;

// ---------------------------------------------------------------------------
// Certificates

/// A CA, and a certificate for `localhost` it signed.
struct Pki {
    /// The CA's certificate, for the client's roots.
    ca: CertificateDer<'static>,
    /// The server's chain (its certificate, then the CA's) and key, PEM.
    chain_pem: String,
    key_pem: String,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pki {
            ca: issuer.der().clone(),
            chain_pem: cert.pem() + &issuer.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn client_config(&self) -> ws::ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        let mut config = ws::ClientConfig::default().with_tls(tls::client_config(roots));
        // As in async_echo: no compression offered.
        config.deflate = None;
        config
    }
}

/// The servers' TLS config, from the PEM the parent handed over.
fn server_tls() -> Arc<rustls::ServerConfig> {
    let chain_pem = std::env::var(CERT_ENV).expect("the certificate in the environment");
    let key_pem = std::env::var(KEY_ENV).expect("the key in the environment");
    let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    tls::server_config(chain, key).unwrap()
}

// ---------------------------------------------------------------------------
// The servers (child processes)

fn server_main(role: &str) {
    child::die_with_benchmark();
    let tls_config = server_tls();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_WORKERS)
        .enable_all()
        .build()
        .unwrap();
    let role = role.to_owned();
    rt.block_on(async move {
        let mut config = ws::ServerConfig::default().with_tls(Arc::clone(&tls_config));
        config.deflate = None;
        let config = Arc::new(config);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            match role.as_str() {
                "rfc6455" => tokio::spawn(serve_rfc6455(stream, Arc::clone(&config))),
                "tokio_tungstenite" => {
                    tokio::spawn(serve_tokio_tungstenite(stream, acceptor.clone()))
                }
                other => panic!("unknown {ROLE_ENV} {other:?}"),
            };
        }
    });
}

async fn serve_rfc6455(stream: TcpStream, config: Arc<ws::ServerConfig>) {
    // TLS, then the upgrade; TCP_NODELAY on (the default).
    let Ok(mut ws) = ws::accept_maybe_tls(stream, &config).await else {
        return;
    };
    loop {
        if ws.read_event().await.is_err() {
            return;
        }
        // Queued; the next read_event writes it before waiting.
        if ws.connection_mut().echo_event().is_err() {
            return;
        }
    }
}

async fn serve_tokio_tungstenite(stream: TcpStream, acceptor: tokio_rustls::TlsAcceptor) {
    use tokio_tungstenite::tungstenite::Message;
    stream.set_nodelay(true).unwrap();
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
        return;
    };
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(m @ (Message::Binary(_) | Message::Text(_))) => {
                if ws.send(m).await.is_err() {
                    return;
                }
            }
            // Pings are answered and the Close echoed by tungstenite itself.
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

// ---------------------------------------------------------------------------
// Server processes, seen from the benchmark

// ---------------------------------------------------------------------------
// The client

/// A server and the 16 `wss://` connections to it.
struct Peer {
    clients: Vec<Client>,
    server: Server,
}

impl Peer {
    fn start(rt: &Runtime, name: &'static str, pki: &Pki) -> Peer {
        let server = Server::spawn(&[
            (ROLE_ENV, name),
            (CERT_ENV, &pki.chain_pem),
            (KEY_ENV, &pki.key_pem),
        ]);
        let url = format!("wss://localhost:{}/echo", server.port);
        let config = pki.client_config();
        let clients = rt.block_on(async {
            let mut v = Vec::with_capacity(CONNS);
            for _ in 0..CONNS {
                let (ws, _) = ws::connect_with(&url, &config).await.unwrap();
                assert!(ws.get_ref().is_tls());
                v.push(ws);
            }
            v
        });
        Peer { clients, server }
    }

    /// Every connection echoes `n` messages, one at a time; returns the
    /// wall-clock time.
    fn run(&mut self, rt: &Runtime, n: u64) -> Duration {
        let clients = std::mem::take(&mut self.clients);
        let (elapsed, clients) = rt.block_on(async move {
            let start = Instant::now();
            let tasks: Vec<_> = clients
                .into_iter()
                .map(|c| tokio::spawn(drive(c, n)))
                .collect();
            let mut back = Vec::with_capacity(CONNS);
            for t in tasks {
                back.push(t.await.unwrap());
            }
            (start.elapsed(), back)
        });
        self.clients = clients;
        elapsed
    }
}

async fn drive(mut ws: Client, n: u64) -> Client {
    let payload: [u8; MSG_LEN] = std::array::from_fn(|i| i as u8);
    for _ in 0..n {
        ws.send_binary(&payload).await.unwrap();
        match ws.read_event().await.unwrap() {
            Event::Binary(b) => assert_eq!(b.len(), MSG_LEN),
            other => panic!("unexpected {other:?}"),
        }
    }
    ws
}

/// The peers, started when first needed, and the clients' runtime.
struct Peers {
    // Dropped in this order: connections, servers, then the runtime.
    peers: Vec<(&'static str, Option<Peer>)>,
    rt: Runtime,
    pki: Pki,
}

impl Peers {
    fn get(&mut self, name: &'static str) -> (&Runtime, &mut Peer) {
        let (rt, pki) = (&self.rt, &self.pki);
        let slot = &mut self.peers.iter_mut().find(|p| p.0 == name).unwrap().1;
        (rt, slot.get_or_insert_with(|| Peer::start(rt, name, pki)))
    }
}

// ---------------------------------------------------------------------------
// Rounds

/// Fixed rounds of window-1 echo, both servers in each round (in
/// alternating order), the ratios taken round by round; printed, and
/// written to `<criterion dir>/wss_echo_rounds/<baseline>.json`.
fn rounds(peers: &mut Peers) {
    let rounds = env_u64("RFC6455_WSS_ECHO_ROUNDS", 9) as usize;
    let per_conn = env_u64("RFC6455_WSS_ECHO_MSGS", 3000);
    if rounds == 0 || per_conn == 0 {
        return;
    }
    let msgs = per_conn * CONNS as u64;
    let load_before = loadavg();
    let mut res: Vec<Vec<Round>> = vec![Vec::with_capacity(rounds); SERVERS.len()];
    for r in 0..rounds {
        for k in 0..SERVERS.len() {
            let i = (r + k) % SERVERS.len();
            let (rt, peer) = peers.get(SERVERS[i]);
            let pid = peer.server.pid();
            res[i].push(Round::measure(pid, msgs, || peer.run(rt, per_conn)));
        }
    }
    println!(
        "\nwss:// echo over {rounds} rounds x {msgs} messages ({CONNS} connections, window 1, \
         {MSG_LEN} B, TLS 1.3, ring), median (min..max); load average {load_before} before, {} after:",
        loadavg()
    );
    let mut json = Vec::new();
    for (i, name) in SERVERS.iter().enumerate() {
        let col = |f: fn(&Round) -> f64| spread(res[i].iter().map(f).collect());
        let (stat, smin, smax) = col(|r| r.stat);
        let (sched, _, _) = col(|r| r.sched);
        let (client, _, _) = col(|r| r.client);
        let (rate, rmin, rmax) = col(|r| r.rate);
        println!(
            "server_cpu {name:<18} {stat:5.2} us/msg ({smin:.2}..{smax:.2})  schedstat {sched:5.2} us/msg  \
             client {client:5.2} us/msg  {rate:7.0} msg/s ({rmin:.0}..{rmax:.0})"
        );
        json.push(format!(
            "\"{name}\": {{\"server_cpu_us_per_msg\": {stat:.4}, \"server_sched_us_per_msg\": {sched:.4}, \
             \"client_cpu_us_per_msg\": {client:.4}, \"msgs_per_s\": {rate:.1}}}"
        ));
    }
    let per_round =
        |f: fn(&Round) -> f64| spread((0..rounds).map(|r| f(&res[0][r]) / f(&res[1][r])).collect());
    let (rate, rmin, rmax) = per_round(|r| r.rate);
    let (cpu, cmin, cmax) = per_round(|r| r.stat);
    let (sched, xmin, xmax) = per_round(|r| r.sched);
    println!(
        "wss_ratio rfc6455/tokio_tungstenite: msg/s {rate:.2} ({rmin:.2}..{rmax:.2}); server CPU per \
         message {cpu:.2} ({cmin:.2}..{cmax:.2}), schedstat {sched:.2} ({xmin:.2}..{xmax:.2}) \
         [median of {rounds} per-round ratios]"
    );
    let args: Vec<String> = std::env::args().collect();
    let baseline = args
        .iter()
        .position(|a| a == "--save-baseline")
        .and_then(|i| args.get(i + 1))
        .map_or("new", |b| b.as_str());
    let dir = criterion_dir().join("wss_echo_rounds");
    let body = format!(
        "{{\"rounds\": {rounds}, \"messages_per_round\": {msgs}, \"servers\": {{{}}}, \
         \"ratios_rfc6455_over_tokio_tungstenite\": {{\"msgs_per_s\": {rate:.4}, \"server_cpu\": {cpu:.4}, \
         \"server_sched\": {sched:.4}}}}}\n",
        json.join(", ")
    );
    let path = dir.join(format!("{baseline}.json"));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, body)) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

// ---------------------------------------------------------------------------
// The benchmarks

fn bench(c: &mut Criterion, peers: &mut Peers) {
    let mut g = c.benchmark_group("wss_echo_16conns");
    g.throughput(Throughput::Elements(CONNS as u64));
    for name in SERVERS {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (rt, peer) = peers.get(name);
                peer.run(rt, iters)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("wss_echo_16conns_server_cpu");
    g.throughput(Throughput::Elements(CONNS as u64));
    for name in SERVERS {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let (rt, peer) = peers.get(name);
                let pid = peer.server.pid();
                let t0 = sched_cpu_ns(pid);
                peer.run(rt, iters);
                Duration::from_nanos(sched_cpu_ns(pid) - t0)
            })
        });
    }
    g.finish();
}

fn main() {
    if let Ok(role) = std::env::var(ROLE_ENV) {
        server_main(&role);
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    let bench_mode = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    let mut peers = Peers {
        peers: SERVERS.iter().map(|&n| (n, None)).collect(),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        pki: Pki::new(),
    };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    bench(&mut c, &mut peers);
    if bench_mode {
        rounds(&mut peers);
    }
    c.final_summary();
}
