//! Load generator for echo and chat servers, on the tokio adapter.
//!
//! ```text
//! cargo run --release --features tokio --example load -- URL --conns N
//!     [--senders S] [--rate R | --window W] [--size B] [--seconds T]
//!     [--server-pid PID] [--batch K] [--ca FILE]
//! ```
//!
//! Opens N client connections (up to K connecting at once, default 100:
//! each one that is up or has failed starts the next; the soft limit on
//! open files is raised to the hard limit first). If the first message a
//! client receives is `User… just connected.`, the server is a chat server
//! (`broadcast`, `async_broadcast`, the Node.js seed): it waits until every
//! join notice arrived (N joins make N(N+1)/2 notices) and reports the time.
//! Otherwise it is an echo server, and every client sends it one message
//! and waits for the echo before anything is measured.
//!
//! Then the first S clients (default 1) send for T seconds (default 10):
//! at a fixed total rate R messages/s, or keeping W messages in flight each
//! (a message is in flight until it comes back to its sender: the echo, or
//! the sender's own line in the chat). Each message is text
//! `t=<nanoseconds since start> ` padded to B bytes (default 64), and every
//! client records the delivery latency in a log-bucketed histogram (32
//! buckets per power of two: a quantile is reported at most 3.2% high). A progress line per second; at
//! the end, connect time, deliveries/s, p50/p99/p99.9/max latency and
//! deliveries lost (expected = messages sent × receivers: N for a chat
//! server, 1 for echo). With `--server-pid`, also the server's CPU time per
//! delivery (utime+stime from /proc/PID/stat) and its resident memory
//! growth per connection (VmRSS before connecting vs. after all joined, or
//! after every connection echoed one message).
//!
//! `wss://` URLs need the `rustls` feature (`--features tokio,rustls`);
//! `--ca FILE` trusts the CA certificates in a PEM file (a private CA, or a
//! self-signed server certificate) instead of the public roots.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rfc6455::tokio::{self as ws, ClientConfig, MaybeTlsStream, Reader, WebSocketStream, Writer};
use rfc6455::Event;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;

// ---------------------------------------------------------------------------
// Options

struct Options {
    url: String,
    conns: usize,
    senders: usize,
    rate: Option<f64>,
    window: Option<usize>,
    size: usize,
    seconds: f64,
    server_pid: Option<u32>,
    batch: usize,
    /// `--ca FILE`: a PEM CA certificate to trust for `wss://` URLs
    /// (feature `rustls`), e.g. the one a chat server's `--tls-cert` was
    /// signed with.
    ca: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: load URL --conns N [--senders S] [--rate R | --window W] [--size B] \
         [--seconds T] [--server-pid PID] [--batch K] [--ca FILE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut o = Options {
        url: String::new(),
        conns: 0,
        senders: 1,
        rate: None,
        window: None,
        size: 64,
        seconds: 10.0,
        server_pid: None,
        batch: 100,
        ca: None,
    };
    let mut args = std::env::args().skip(1);
    fn val<T: std::str::FromStr>(a: Option<String>) -> T {
        a.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage())
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--conns" => o.conns = val(args.next()),
            "--senders" => o.senders = val(args.next()),
            "--rate" => o.rate = Some(val(args.next())),
            "--window" => o.window = Some(val(args.next())),
            "--size" => o.size = val(args.next()),
            "--seconds" => o.seconds = val(args.next()),
            "--server-pid" => o.server_pid = Some(val(args.next())),
            "--batch" => o.batch = val::<usize>(args.next()).max(1),
            "--ca" => o.ca = Some(args.next().unwrap_or_else(|| usage())),
            "-h" | "--help" => usage(),
            u if !u.starts_with('-') && o.url.is_empty() => o.url = u.to_string(),
            _ => usage(),
        }
    }
    if o.url.is_empty() || o.conns == 0 || (o.rate.is_some() && o.window.is_some()) {
        usage();
    }
    if o.rate.is_none() && o.window.is_none() {
        o.window = Some(1);
    }
    o.senders = o.senders.clamp(1, o.conns);
    o
}

// ---------------------------------------------------------------------------
// Histogram

/// Latencies in nanoseconds, 32 buckets per power of two: a quantile is
/// reported as the top of its bucket, at most 3.2% above the true value.
struct Histogram {
    buckets: Vec<AtomicU64>,
    max: AtomicU64,
}

/// log2 of the buckets per power of two.
const SUB_BITS: usize = 5;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = SUB * 64;

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as usize; // >= SUB_BITS
    let sub = ((v >> (msb - SUB_BITS)) as usize) & (SUB - 1);
    (msb - SUB_BITS + 1) * SUB + sub
}

/// The largest value that falls in bucket `i`.
fn bucket_top(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let msb = i / SUB + SUB_BITS - 1;
    let sub = (i % SUB) as u64;
    ((SUB as u64 + sub + 1) << (msb - SUB_BITS)) - 1
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }

    /// Called by one thread only (each has its own histograms), so the
    /// maximum needs no compare-and-swap loop; the counts are atomic
    /// because the main thread resets them.
    fn record(&self, v: u64) {
        self.buckets[bucket_of(v)].fetch_add(1, Relaxed);
        if v > self.max.load(Relaxed) {
            self.max.store(v, Relaxed);
        }
    }

    /// A copy of the counts; with `reset`, the histogram starts over.
    fn snapshot(&self, reset: bool) -> Snapshot {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| {
                if reset {
                    b.swap(0, Relaxed)
                } else {
                    b.load(Relaxed)
                }
            })
            .collect();
        let max = if reset {
            self.max.swap(0, Relaxed)
        } else {
            self.max.load(Relaxed)
        };
        Snapshot { counts, max }
    }
}

struct Snapshot {
    counts: Vec<u64>,
    max: u64,
}

impl Snapshot {
    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn quantile(&self, q: f64) -> u64 {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_top(i).min(self.max);
            }
        }
        self.max
    }
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

// ---------------------------------------------------------------------------
// Shared counters

struct Stats {
    start: Instant,
    connected: AtomicUsize,
    failed: AtomicUsize,
    sent: AtomicU64,
    chat: AtomicBool,
    first_seen: AtomicBool,
    closed: AtomicUsize,
    /// Per worker thread: what every received message updates, so that
    /// the generator's own threads do not contend on shared cache lines.
    shards: Mutex<Vec<Arc<Shard>>>,
}

/// One thread's counters and histograms (on cache lines of its own).
#[repr(align(128))]
struct Shard {
    joins: AtomicU64,
    deliveries: AtomicU64,
    last_delivery_ns: AtomicU64,
    all: Histogram,
    second: Histogram,
}

thread_local! {
    static SHARD: Arc<Shard> = {
        let shard = Arc::new(Shard {
            joins: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            all: Histogram::new(),
            second: Histogram::new(),
        });
        stats().shards.lock().unwrap().push(Arc::clone(&shard));
        shard
    };
}

impl Stats {
    fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn shards(&self) -> Vec<Arc<Shard>> {
        self.shards.lock().unwrap().clone()
    }

    fn joins(&self) -> u64 {
        self.shards().iter().map(|s| s.joins.load(Relaxed)).sum()
    }

    fn deliveries(&self) -> u64 {
        self.shards()
            .iter()
            .map(|s| s.deliveries.load(Relaxed))
            .sum()
    }

    fn last_delivery_ns(&self) -> u64 {
        let shards = self.shards();
        shards
            .iter()
            .map(|s| s.last_delivery_ns.load(Relaxed))
            .max()
            .unwrap_or(0)
    }

    /// The histogram of all latencies (`all`) or of the last second's.
    fn snapshot(&self, second: bool, reset: bool) -> Snapshot {
        let mut total = Snapshot {
            counts: vec![0; BUCKETS],
            max: 0,
        };
        for shard in self.shards() {
            let h = if second { &shard.second } else { &shard.all };
            let snap = h.snapshot(reset);
            for (t, c) in total.counts.iter_mut().zip(&snap.counts) {
                *t += c;
            }
            total.max = total.max.max(snap.max);
        }
        total
    }
}

static STATS: OnceLock<Stats> = OnceLock::new();

fn stats() -> &'static Stats {
    STATS.get().expect("stats")
}

// ---------------------------------------------------------------------------
// Clients

/// Adds one to a counter only this thread writes (and nobody resets).
fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed) + 1, Relaxed);
}

/// A client's stream (TCP, or TLS for wss://) that notes when a read last brought bytes: every
/// message decoded after that read had arrived by then, so its receive time
/// costs one clock reading per read, not one per message.
struct Stamped {
    tcp: MaybeTlsStream,
    /// Nanoseconds since the generator started, at the last read.
    last_read: Arc<AtomicU64>,
}

impl AsyncRead for Stamped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.last_read.store(stats().now_ns(), Relaxed);
        }
        r
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// What a client does with a received text that arrived at `now`.
fn on_text(text: &str, my_name: &str, now: u64) -> bool {
    let s = stats();
    if !s.first_seen.load(Relaxed)
        && !s.first_seen.swap(true, Relaxed)
        && text.starts_with("User")
        && text.ends_with(" just connected.")
    {
        s.chat.store(true, Relaxed);
    }
    if let Some(sent) = send_time(text) {
        {
            let lat = now.saturating_sub(sent);
            SHARD.with(|shard| {
                shard.last_delivery_ns.store(now, Relaxed);
                shard.all.record(lat);
                shard.second.record(lat);
                bump(&shard.deliveries);
            });
            // Mine: the echo, or my own line in the chat (not the greeting
            // every client sends an echo server once).
            if text.ends_with(GREETING_PAD) {
                return false;
            }
            return !s.chat.load(Relaxed) || text.starts_with(my_name);
        }
    }
    if text.ends_with(" just connected.") {
        SHARD.with(|shard| bump(&shard.joins));
    }
    false
}

/// The send time a timed message carries (`t=<nanoseconds> `): the first
/// `=` in a line (names and notices have none), preceded by `t`.
fn send_time(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    let eq = b.iter().position(|&c| c == b'=')?;
    if eq == 0 || b[eq - 1] != b't' {
        return None;
    }
    let mut v: u64 = 0;
    let mut digits = 0;
    for &c in &b[eq + 1..] {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(v)
}

async fn receive(
    mut reader: Reader<Stamped>,
    last_read: Arc<AtomicU64>,
    my_name: String,
    window: Option<Arc<Semaphore>>,
) {
    loop {
        let mine = reader
            .read_with(|e| match e {
                Event::Text(t) => on_text(t, &my_name, last_read.load(Relaxed)),
                _ => false,
            })
            .await;
        match mine {
            Ok(true) => {
                if let Some(w) = &window {
                    w.add_permits(1);
                }
            }
            Ok(false) => {}
            Err(e) => {
                if stats().closed.fetch_add(1, Relaxed) < 5 {
                    eprintln!("{my_name}connection ended: {e}");
                }
                return;
            }
        }
    }
}

fn payload(size: usize) -> String {
    padded(size, 'x')
}

/// Pads the greeting each client sends an echo server before memory is
/// measured, so that its echo does not open a sender's window.
const GREETING_PAD: char = 'g';

fn padded(size: usize, pad: char) -> String {
    let mut m = format!("t={} ", stats().now_ns());
    while m.len() < size {
        m.push(pad);
    }
    if !m.ends_with(pad) {
        m.push(pad);
    }
    m
}

async fn send_loop(
    writer: Writer<Stamped>,
    window: Option<Arc<Semaphore>>,
    rate_each: Option<f64>,
    size: usize,
    until: tokio::time::Instant,
) {
    let s = stats();
    if let Some(rate) = rate_each {
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        loop {
            tick.tick().await;
            if tokio::time::Instant::now() >= until {
                return;
            }
            if writer.send_text(&payload(size)).await.is_err() {
                return;
            }
            s.sent.fetch_add(1, Relaxed);
        }
    }
    let window = window.expect("window mode");
    loop {
        // A message lost by the server would stall the window: give up on
        // waiting for it after a second.
        match tokio::time::timeout_at(
            until.min(tokio::time::Instant::now() + Duration::from_secs(1)),
            window.acquire(),
        )
        .await
        {
            Ok(Ok(p)) => p.forget(),
            Ok(Err(_)) => return,
            Err(_) => {}
        }
        if tokio::time::Instant::now() >= until {
            return;
        }
        if writer.send_text(&payload(size)).await.is_err() {
            return;
        }
        s.sent.fetch_add(1, Relaxed);
    }
}

// ---------------------------------------------------------------------------
// The server's /proc figures

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn proc_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn raise_nofile_limit() {
    // SAFETY: getrlimit/setrlimit with a valid pointer.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

// ---------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let o = parse_args();
    raise_nofile_limit();
    let _ = STATS.set(Stats {
        start: Instant::now(),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        sent: AtomicU64::new(0),
        chat: AtomicBool::new(false),
        first_seen: AtomicBool::new(false),
        closed: AtomicUsize::new(0),
        shards: Mutex::new(Vec::new()),
    });
    let s = stats();
    let rss_before = o.server_pid.and_then(proc_rss_kib);

    // --- connect ---
    let t0 = Instant::now();
    let mut writers: Vec<(Writer<Stamped>, Option<Arc<Semaphore>>)> = Vec::new();
    let mut all_writers: Vec<Writer<Stamped>> = Vec::new();
    let mut config = ClientConfig::default();
    config.handshake_timeout = Some(Duration::from_secs(30));
    if let Some(ca) = &o.ca {
        config = trust_ca(config, ca);
    }
    let config = Arc::new(config);
    let mut next_report = Instant::now() + Duration::from_secs(1);
    // Up to K connects in flight at once; each one that ends starts the next.
    let mut connecting = tokio::task::JoinSet::new();
    let mut started = 0;
    let mut index = 0;
    while index < o.conns {
        while started < o.conns && connecting.len() < o.batch {
            let (url, config) = (o.url.clone(), Arc::clone(&config));
            connecting.spawn(async move { ws::connect_with(&url, &config).await });
            started += 1;
        }
        let Some(done) = connecting.join_next().await else {
            break;
        };
        match done.expect("connect task") {
            Ok((socket, _)) => {
                let port = socket
                    .get_ref()
                    .get_ref()
                    .local_addr()
                    .map(|a| a.port())
                    .unwrap_or(0);
                // The same connection over a stream that stamps its reads
                // (bytes behind the handshake are already in `conn`).
                let (tcp, conn) = socket.into_parts();
                let last_read = Arc::new(AtomicU64::new(s.now_ns()));
                let stamped = Stamped {
                    tcp,
                    last_read: Arc::clone(&last_read),
                };
                let (writer, reader) = WebSocketStream::from_connection(stamped, conn).split();
                let sender = index < o.senders;
                let window = (sender && o.window.is_some())
                    .then(|| Arc::new(Semaphore::new(o.window.unwrap_or(1))));
                if sender {
                    writers.push((writer.clone(), window.clone()));
                }
                all_writers.push(writer);
                tokio::spawn(receive(
                    reader,
                    last_read,
                    format!("User{port} says: "),
                    window,
                ));
                s.connected.fetch_add(1, Relaxed);
            }
            Err(e) => {
                if s.failed.fetch_add(1, Relaxed) < 5 {
                    eprintln!("connect failed: {e}");
                }
            }
        }
        index += 1;
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            println!(
                "[connect {:5.1}s] conns={} failed={} join notices={}",
                t0.elapsed().as_secs_f64(),
                s.connected.load(Relaxed),
                s.failed.load(Relaxed),
                s.joins()
            );
        }
    }
    let connected = s.connected.load(Relaxed);
    let connect_time = t0.elapsed();
    // Chat servers greet at once; give the first greeting a moment.
    let grace = Instant::now() + Duration::from_millis(500);
    while !s.first_seen.load(Relaxed) && Instant::now() < grace {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let chat = s.chat.load(Relaxed);
    let mut joined_time = None;
    if chat {
        let want = (connected as u64) * (connected as u64 + 1) / 2;
        let deadline = Instant::now() + Duration::from_secs(120);
        while s.joins() < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(1);
                println!(
                    "[joins   {:5.1}s] conns={} join notices={}/{}",
                    t0.elapsed().as_secs_f64(),
                    connected,
                    s.joins(),
                    want
                );
            }
        }
        let got = s.joins();
        joined_time = Some(t0.elapsed());
        if got < want {
            println!("join notices: only {got} of {want} arrived within 120 s");
        }
    }
    println!(
        "connected {connected}/{} in {:.2} s{} ({} server)",
        o.conns,
        connect_time.as_secs_f64(),
        joined_time.map_or(String::new(), |t| format!(
            ", all join notices in {:.2} s",
            t.as_secs_f64()
        )),
        if chat { "chat" } else { "echo" }
    );
    if !chat && connected > 0 {
        // Echo server: every connection echoes one message before memory is
        // measured, so that what a connection costs once used is counted.
        let t = Instant::now();
        let before = s.deliveries();
        for w in &all_writers {
            let (w, size) = (w.clone(), o.size);
            tokio::spawn(async move { w.send_text(&padded(size, GREETING_PAD)).await });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while s.deliveries() - before < connected as u64 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        println!(
            "every connection echoed one message: {} of {connected} in {:.2} s",
            s.deliveries() - before,
            t.elapsed().as_secs_f64()
        );
    }
    drop(all_writers);
    let rss_after = o.server_pid.and_then(proc_rss_kib);

    // --- send ---
    let receivers = if chat { connected as u64 } else { 1 };
    let cpu_before = o.server_pid.and_then(proc_cpu_ticks);
    s.snapshot(false, true);
    s.snapshot(true, true);
    let delivered_before = s.deliveries();
    let send_start = Instant::now();
    let until = tokio::time::Instant::now() + Duration::from_secs_f64(o.seconds);
    let rate_each = o.rate.map(|r| r / writers.len().max(1) as f64);
    let mut senders = Vec::new();
    for (w, win) in writers.iter().cloned() {
        senders.push(tokio::spawn(send_loop(w, win, rate_each, o.size, until)));
    }
    let mut last = delivered_before;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let drain_end = until + Duration::from_secs(2);
    loop {
        tick.tick().await;
        let now_d = s.deliveries();
        let sec = s.snapshot(true, true);
        println!(
            "[{:5.1}s] conns={} sent={} deliveries/s={} p50={} p99={}",
            send_start.elapsed().as_secs_f64(),
            s.connected.load(Relaxed) - s.closed.load(Relaxed).min(connected),
            s.sent.load(Relaxed),
            now_d - last,
            ms(sec.quantile(0.5)),
            ms(sec.quantile(0.99)),
        );
        last = now_d;
        let sent = s.sent.load(Relaxed);
        let done =
            tokio::time::Instant::now() >= until && now_d - delivered_before >= sent * receivers;
        if done || tokio::time::Instant::now() >= drain_end {
            break;
        }
    }
    for t in senders {
        let _ = t.await;
    }
    // From the first send to the last delivery.
    let start_ns = send_start.duration_since(s.start).as_nanos() as u64;
    let elapsed = (s.last_delivery_ns().saturating_sub(start_ns) as f64 / 1e9).max(0.001);
    let cpu_after = o.server_pid.and_then(proc_cpu_ticks);
    let all = s.snapshot(false, false);
    let delivered = s.deliveries() - delivered_before;
    let sent = s.sent.load(Relaxed);
    let expected = sent * receivers;

    println!("--- summary ---");
    println!("url                {}", o.url);
    println!(
        "server             {} ({} receivers per message)",
        if chat { "chat" } else { "echo" },
        receivers
    );
    println!(
        "connections        {connected} of {} ({} failed) in {:.2} s{}",
        o.conns,
        s.failed.load(Relaxed),
        connect_time.as_secs_f64(),
        joined_time.map_or(String::new(), |t| format!(
            "; all join notices after {:.2} s",
            t.as_secs_f64()
        ))
    );
    println!(
        "load               {} senders, {}, {} B messages, {} s",
        writers.len(),
        match (o.rate, o.window) {
            (Some(r), _) => format!("rate {r} msg/s total"),
            (_, Some(w)) => format!("window {w} per sender"),
            _ => unreachable!(),
        },
        o.size,
        o.seconds
    );
    println!("messages sent      {sent}");
    println!(
        "deliveries         {delivered} ({:.0}/s, first send to last delivery {:.2} s)",
        delivered as f64 / elapsed,
        elapsed
    );
    println!(
        "latency            p50 {}  p99 {}  p99.9 {}  max {}",
        ms(all.quantile(0.5)),
        ms(all.quantile(0.99)),
        ms(all.quantile(0.999)),
        ms(all.max)
    );
    println!(
        "deliveries lost    {} of {expected} expected",
        expected.saturating_sub(delivered)
    );
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        let secs = (b - a) as f64 / clock_ticks();
        println!(
            "server CPU         {:.2} s, {:.2} µs per delivery, {:.1} µs per message sent",
            secs,
            if delivered > 0 {
                secs * 1e6 / delivered as f64
            } else {
                0.0
            },
            if sent > 0 {
                secs * 1e6 / sent as f64
            } else {
                0.0
            }
        );
    }
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "server RSS         {} KiB -> {} KiB, {:.1} KiB per connection",
            a,
            b,
            (b as f64 - a as f64) / connected.max(1) as f64
        );
    }
    std::process::exit(0);
}

/// `--ca FILE`: trust the CA certificates in the PEM file for `wss://`.
#[cfg(feature = "rustls")]
fn trust_ca(config: ClientConfig, file: &str) -> ClientConfig {
    use rfc6455::rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rfc6455::rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file).and_then(|c| c.collect::<Result<Vec<_>, _>>());
    match certs {
        Ok(certs) if !certs.is_empty() => {
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                eprintln!("load: --ca {file}: no usable certificate");
                std::process::exit(2);
            }
        }
        Ok(_) => {
            eprintln!("load: --ca {file}: no CERTIFICATE in the file");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("load: --ca {file}: {e}");
            std::process::exit(2);
        }
    }
    config.with_tls(rfc6455::adapter::tls::client_config(roots))
}

#[cfg(not(feature = "rustls"))]
fn trust_ca(_: ClientConfig, _: &str) -> ClientConfig {
    eprintln!(
        "load: --ca needs the `rustls` feature: cargo run --release --features tokio,rustls --example load -- ..."
    );
    std::process::exit(2)
}
