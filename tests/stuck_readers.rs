//! A probe, not a test (ignored by default): a crowd of clients that
//! complete the WebSocket handshake and then never read, plus a few clients
//! chatting at a fixed rate, against a chat server (`broadcast`,
//! `async_broadcast`, or any binary taking `ADDR` and printing
//! `NAME: chat on http://ADDR/`). It reports the chatters' latency and
//! losses, when and how the crowd was dropped, and the server's memory.
//!
//! ```text
//! ulimit -n 20000   # 3,000 sockets on each side, plus the server's
//! STUCK_SERVER=broadcast cargo test --release --test stuck_readers -- --ignored --nocapture
//! ```
//!
//! Settings (environment): `STUCK_SERVER` (example name, or a path to a
//! binary; default `broadcast`), `STUCK_CLIENTS` (the crowd, default 3000),
//! `STUCK_CHATTERS` (10), `STUCK_RATE` (lines per second per chatter, 20),
//! `STUCK_SIZE` (bytes per line, 500), `STUCK_SECONDS` (45),
//! `STUCK_SERVER_ARGS` (extra arguments, split on spaces). Everything is on
//! 127.0.0.1; the probe kills the server and gives up after
//! `STUCK_SECONDS` + 120 s whatever happens.
//!
//! Output: a line per 5 s of chat (chatters' p99 in that window, crowd
//! dropped so far, server RSS), then a summary: latency p50/p99/p99.9/max
//! over the whole chat, lines lost, chatters dropped; crowd members the
//! server found too slow and disconnected (and how long after the chat
//! started, and what the server said of how far behind they were); what
//! they finally read (bytes, and whether a 1008 Close came); the server's
//! RSS before the crowd, at its peak (VmHWM), and after the crowd is gone.

mod examples_bin;
mod net;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use net::{read_head, upgrade_request, ChildGuard};
use rfc6455::blocking;
use rfc6455::Message;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Raises the soft limit on open files to the hard limit (the server, a
/// child, inherits it).
fn raise_fd_limit() -> libc::rlim_t {
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        lim.rlim_cur
    }
}

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Memory held by every TCP socket on the machine, in MiB (the `mem` pages
/// of /proc/net/sockstat).
fn tcp_mem_mib() -> u64 {
    std::fs::read_to_string("/proc/net/sockstat")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("TCP:"))?;
            let mut words = line.split_whitespace();
            words.find(|w| *w == "mem")?;
            words.next()?.parse::<u64>().ok()
        })
        .map_or(0, |pages| (pages * 4096) >> 20)
}

/// The server's resident memory by kind of mapping, in KiB: the main heap,
/// other anonymous mappings by size (thread stacks: 64 KiB readers, 1 MiB
/// handshakes; malloc's per-thread arenas: 64 MiB reservations), the rest.
fn smaps_summary(pid: u32) -> String {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return String::new();
    };
    let mut groups: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut current = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let (a, b) = first.split_once('-').unwrap();
            let size =
                u64::from_str_radix(b, 16).unwrap_or(0) - u64::from_str_radix(a, 16).unwrap_or(0);
            let name = words.nth(4).unwrap_or("");
            current = if name.is_empty() {
                format!("anon {} KiB", size >> 10)
            } else if name.starts_with('[') {
                name.to_string()
            } else {
                "files".to_string()
            };
            groups.entry(current.clone()).or_default().0 += 1;
        } else if first == "Rss:" {
            let kib: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            groups.entry(current.clone()).or_default().1 += kib;
        }
    }
    let mut v: Vec<_> = groups
        .into_iter()
        .filter(|(_, (_, rss))| *rss >= 256)
        .collect();
    v.sort_by_key(|(_, (_, rss))| std::cmp::Reverse(*rss));
    v.iter()
        .take(8)
        .map(|(k, (n, rss))| format!("{k} x{n}: {rss} KiB"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the server said, as it said it.
#[derive(Default)]
struct ServerLog {
    /// Port → (time since the epoch it was found too slow, what it said).
    too_slow: HashMap<u16, (Duration, String)>,
    /// Port → time since the epoch it was disconnected.
    disconnected: HashMap<u16, Duration>,
    lines: usize,
}

/// The port in `User<port>` at the start of `line`, and the rest.
fn user_port(line: &str) -> Option<(u16, &str)> {
    let rest = line.strip_prefix("User")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    Some((rest[..end].parse().ok()?, &rest[end..]))
}

/// Connects a raw client and completes the handshake; never reads after.
fn stuck_client(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(&upgrade_request(&addr.to_string(), "/"))?;
    let head = read_head(&mut s)?;
    if !head.starts_with("HTTP/1.1 101 ") {
        return Err(std::io::Error::other(format!("refused: {head:.40}")));
    }
    Ok(s)
}

/// Follows the frames in a byte stream, keeping only what the report needs.
#[derive(Default)]
struct FrameTally {
    header: Vec<u8>,
    /// Payload bytes left in the current frame, and its opcode.
    left: u64,
    opcode: u8,
    /// The first bytes of a Close frame's payload.
    close_body: Vec<u8>,
    texts: u64,
    bytes: u64,
    close_code: Option<u16>,
    eof: bool,
}

impl FrameTally {
    fn feed(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            if self.left > 0 {
                let k = (self.left as usize).min(data.len());
                if self.opcode == 0x8 && self.close_body.len() < 2 {
                    let want = (2 - self.close_body.len()).min(k);
                    self.close_body.extend_from_slice(&data[..want]);
                    if self.close_body.len() == 2 {
                        self.close_code =
                            Some(u16::from_be_bytes([self.close_body[0], self.close_body[1]]));
                    }
                }
                self.left -= k as u64;
                data = &data[k..];
                continue;
            }
            self.header.push(data[0]);
            data = &data[1..];
            let h = &self.header;
            if h.len() < 2 {
                continue;
            }
            let need = 2 + match h[1] & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            if h.len() < need {
                continue;
            }
            let len = match h[1] & 0x7f {
                126 => u16::from_be_bytes([h[2], h[3]]) as u64,
                127 => u64::from_be_bytes(h[2..10].try_into().unwrap()),
                n => n as u64,
            };
            self.opcode = h[0] & 0x0f;
            if self.opcode == 0x1 {
                self.texts += 1;
            }
            if self.opcode == 0x8 && len < 2 {
                self.close_code = Some(1005);
            }
            self.left = len;
            self.header.clear();
        }
    }
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

#[test]
#[ignore = "a load probe: run by hand, see the module docs"]
fn stuck_readers() {
    let server_name = std::env::var("STUCK_SERVER").unwrap_or_else(|_| "broadcast".into());
    let crowd_n: usize = env_or("STUCK_CLIENTS", 3000);
    let chatters_n: usize = env_or("STUCK_CHATTERS", 10);
    let rate: u64 = env_or("STUCK_RATE", 20);
    let size: usize = env_or("STUCK_SIZE", 500);
    let seconds: u64 = env_or("STUCK_SECONDS", 45);
    let extra: Vec<String> = std::env::var("STUCK_SERVER_ARGS")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();

    let limit = raise_fd_limit();
    assert!(
        limit as usize > crowd_n + chatters_n + 100,
        "open files limited to {limit}: raise `ulimit -n`"
    );
    let bin: PathBuf = if server_name.contains('/') {
        PathBuf::from(&server_name)
    } else {
        examples_bin::example(&server_name)
    };
    let stem = bin.file_name().unwrap().to_string_lossy().into_owned();

    // A watchdog: whatever happens, the probe ends.
    let done = Arc::new(AtomicBool::new(false));
    let server_pid = Arc::new(AtomicU64::new(0));
    {
        let (done, pid) = (Arc::clone(&done), Arc::clone(&server_pid));
        thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(seconds + 120);
            while Instant::now() < until {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                thread::sleep(Duration::from_millis(200));
            }
            eprintln!("stuck_readers: out of time, giving up");
            let p = pid.load(Ordering::SeqCst);
            if p != 0 {
                // SAFETY: signalling the child we started.
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
            std::process::exit(3);
        });
    }

    let mut cmd = Command::new(&bin);
    cmd.arg("127.0.0.1:0")
        .args(&extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start the server");
    let pid = child.id();
    server_pid.store(pid as u64, Ordering::SeqCst);
    let stderr = child.stderr.take().unwrap();
    let _guard = ChildGuard(child);
    let epoch = Instant::now();
    let log = Arc::new(Mutex::new(ServerLog::default()));
    let (tx, rx) = mpsc::channel();
    {
        let log = Arc::clone(&log);
        let banner = format!("{stem}: chat on http://");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let at = epoch.elapsed();
                if let Some(rest) = line.strip_prefix(&banner) {
                    let _ = tx.send(rest.trim_end_matches('/').to_string());
                }
                let mut log = log.lock().unwrap();
                log.lines += 1;
                if let Some((port, rest)) = user_port(&line) {
                    if let Some(why) = rest.strip_prefix(" is too slow ") {
                        log.too_slow.entry(port).or_insert((at, why.to_string()));
                    } else if rest.starts_with(" disconnected") {
                        log.disconnected.entry(port).or_insert(at);
                    }
                } else if !line.starts_with("User") && log.lines < 10_000 {
                    eprintln!("server: {line}");
                }
            }
        });
    }
    let addr: SocketAddr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server did not print its address")
        .parse()
        .unwrap();
    let url = format!("ws://{addr}/");
    let rss = || status_kib(pid, "VmRSS:");
    eprintln!(
        "stuck_readers: {stem} (pid {pid}) on {addr}: {crowd_n} clients that never read, \
         {chatters_n} chatters x {rate} lines/s of {size} bytes, {seconds} s; open files {limit}"
    );
    let rss_start = rss();

    // The chatters, each read by a thread of its own from the start.
    let mut writers = Vec::new();
    let mut ports = Vec::new();
    let mut readers = Vec::new();
    struct Seen {
        /// (sent at, latency) in microseconds since the epoch.
        latencies: Vec<(u64, u64)>,
        /// Lines out of order or missing.
        gaps: u64,
        /// How the chatter's connection ended, if it did before END.
        ended: Option<String>,
    }
    let crowd_left = Arc::new(AtomicUsize::new(0));
    for _ in 0..chatters_n {
        let (mut ws, _) = blocking::connect(&url).expect("a chatter could not connect");
        ws.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        ports.push(ws.get_ref().get_ref().local_addr().unwrap().port());
        let (writer, reader) = ws.split().unwrap();
        writers.push(writer);
        readers.push(reader);
    }
    let prefixes: Arc<Vec<String>> =
        Arc::new(ports.iter().map(|p| format!("User{p} says: ")).collect());
    let reader_threads: Vec<_> = readers
        .into_iter()
        .enumerate()
        .map(|(who, mut reader)| {
            let prefixes = Arc::clone(&prefixes);
            let crowd_left = Arc::clone(&crowd_left);
            thread::spawn(move || {
                let mut seen = Seen {
                    latencies: Vec::new(),
                    gaps: 0,
                    ended: None,
                };
                let mut next = vec![Some(0u64); prefixes.len()];
                while next.iter().any(Option::is_some) {
                    let t = match reader.read() {
                        Ok(Message::Text(t)) => t,
                        Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                        Ok(other) => {
                            seen.ended = Some(format!("{other:?}"));
                            break;
                        }
                        Err(e) => {
                            seen.ended = Some(format!("{e}"));
                            break;
                        }
                    };
                    let now = epoch.elapsed().as_micros() as u64;
                    let Some((s, body)) = prefixes
                        .iter()
                        .enumerate()
                        .find_map(|(i, p)| Some((i, t.strip_prefix(p.as_str())?)))
                    else {
                        if who == 0 && t.ends_with(" left.") {
                            crowd_left.fetch_add(1, Ordering::Relaxed);
                        }
                        continue;
                    };
                    if body == "END" {
                        next[s] = None;
                        continue;
                    }
                    let mut f = body.split(' ');
                    let sent: u64 = f
                        .next()
                        .and_then(|v| v.strip_prefix("t="))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(now);
                    let n: u64 = f
                        .next()
                        .and_then(|v| v.strip_prefix("n="))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(u64::MAX);
                    if next[s] != Some(n) {
                        seen.gaps += 1;
                    }
                    next[s] = Some(n + 1);
                    seen.latencies.push((sent, now.saturating_sub(sent)));
                }
                seen
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    let rss_before = rss();

    // The crowd: connected from 4 threads, then left alone.
    let t0 = Instant::now();
    let per = crowd_n.div_ceil(4);
    let connectors: Vec<_> = (0..4)
        .map(|i| {
            let n = per.min(crowd_n.saturating_sub(i * per));
            thread::spawn(move || {
                let mut ok = Vec::new();
                let mut failed = 0;
                for _ in 0..n {
                    match stuck_client(addr) {
                        Ok(s) => ok.push(s),
                        Err(_) => failed += 1,
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let mut crowd = Vec::new();
    let mut crowd_failed = 0;
    for c in connectors {
        let (ok, failed) = c.join().unwrap();
        crowd.extend(ok);
        crowd_failed += failed;
    }
    let crowd_ports: Vec<u16> = crowd
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    eprintln!(
        "crowd: {} connected ({crowd_failed} failed) in {:.1} s; server RSS {} KiB",
        crowd.len(),
        t0.elapsed().as_secs_f64(),
        rss()
    );
    thread::sleep(Duration::from_secs(1));
    let rss_crowd = rss();

    // The chat.
    let chat_t0 = epoch.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let sent_total = Arc::new(AtomicU64::new(0));
    let dropped_senders = Arc::new(AtomicUsize::new(0));
    let sender_threads: Vec<_> = writers
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let (stop, sent_total, dropped) = (
                Arc::clone(&stop),
                Arc::clone(&sent_total),
                Arc::clone(&dropped_senders),
            );
            thread::spawn(move || {
                // Staggered, so that the chatters do not all speak at once.
                let start = Instant::now()
                    + Duration::from_micros(1_000_000 / rate * i as u64 / chatters_n as u64);
                let mut n = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let due = start + Duration::from_micros(n * 1_000_000 / rate);
                    let now = Instant::now();
                    if now < due {
                        thread::sleep((due - now).min(Duration::from_millis(50)));
                        continue;
                    }
                    let head = format!("t={} n={n} ", epoch.elapsed().as_micros());
                    let line = format!("{head}{}", "x".repeat(size.saturating_sub(head.len())));
                    if w.send_text(&line).is_err() {
                        dropped.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                    sent_total.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                let _ = w.send_text("END");
            })
        })
        .collect();
    let chat_start = Instant::now();
    let mut peak_rss = 0;
    let mut tick = 0;
    let mut peak_tcp = 0;
    while chat_start.elapsed() < Duration::from_secs(seconds) {
        thread::sleep(Duration::from_millis(250));
        let r = rss();
        peak_rss = peak_rss.max(r);
        peak_tcp = peak_tcp.max(tcp_mem_mib());
        tick += 1;
        if tick % 20 == 0 {
            let (slow, disc) = {
                let log = log.lock().unwrap();
                (log.too_slow.len(), log.disconnected.len())
            };
            eprintln!(
                "  t={:>4.1} s: sent {}, server found {slow} too slow, {disc} disconnected, \
                 chatters told of {} departures; RSS {r} KiB; kernel TCP memory {} MiB",
                chat_start.elapsed().as_secs_f64(),
                sent_total.load(Ordering::Relaxed),
                crowd_left.load(Ordering::Relaxed),
                tcp_mem_mib()
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    for s in sender_threads {
        s.join().unwrap();
    }
    let sent = sent_total.load(Ordering::SeqCst);
    let mut all = Vec::new();
    let mut gaps = 0;
    let mut ended = Vec::new();
    let mut windows: HashMap<u64, Vec<u64>> = HashMap::new();
    let chat_t0_us = chat_t0.as_micros() as u64;
    for (i, r) in reader_threads.into_iter().enumerate() {
        let seen = r.join().unwrap();
        gaps += seen.gaps;
        if let Some(e) = seen.ended {
            ended.push(format!("chatter {i} (User{}): {e}", ports[i]));
        }
        for (at, lat) in seen.latencies {
            if at >= chat_t0_us {
                windows
                    .entry((at - chat_t0_us) / 5_000_000)
                    .or_default()
                    .push(lat);
                all.push(lat);
            }
        }
    }
    all.sort_unstable();
    let expected = sent * chatters_n as u64;
    let hwm = status_kib(pid, "VmHWM:");

    // When and how the crowd was dropped.
    let (too_slow, disconnected): (Vec<(Duration, String)>, Vec<Duration>) = {
        let log = log.lock().unwrap();
        (
            crowd_ports
                .iter()
                .filter_map(|p| log.too_slow.get(p).cloned())
                .collect(),
            crowd_ports
                .iter()
                .filter_map(|p| log.disconnected.get(p).copied())
                .collect(),
        )
    };
    let mut drop_at: Vec<f64> = too_slow
        .iter()
        .map(|(t, _)| t.saturating_sub(chat_t0).as_secs_f64())
        .collect();
    drop_at.sort_by(f64::total_cmp);
    let mut disc_at: Vec<f64> = disconnected
        .iter()
        .map(|t| t.saturating_sub(chat_t0).as_secs_f64())
        .collect();
    disc_at.sort_by(f64::total_cmp);
    let mut whys: Vec<&str> = too_slow.iter().map(|(_, w)| w.as_str()).collect();
    whys.sort_unstable();
    whys.dedup();

    // What the crowd finally reads: everything the kernel held for it.
    let rss_chat_end = rss();
    let t_read = Instant::now();
    let mut tallies: Vec<FrameTally> = crowd.iter().map(|_| FrameTally::default()).collect();
    for s in &crowd {
        s.set_nonblocking(true).unwrap();
    }
    let mut open: Vec<usize> = (0..crowd.len()).collect();
    let mut buf = vec![0u8; 256 << 10];
    let read_deadline = Instant::now() + Duration::from_secs(30);
    while !open.is_empty() && Instant::now() < read_deadline {
        let mut fds: Vec<libc::pollfd> = open
            .iter()
            .map(|&i| libc::pollfd {
                fd: crowd[i].as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfds for sockets we hold.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        let mut still = Vec::new();
        for (k, &i) in open.iter().enumerate() {
            if fds[k].revents == 0 {
                still.push(i);
                continue;
            }
            let mut s = &crowd[i];
            let mut closed = false;
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        tallies[i].eof = true;
                        closed = true;
                        break;
                    }
                    Ok(n) => tallies[i].feed(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if !closed {
                still.push(i);
            }
        }
        open = still;
    }
    let with_1008 = tallies
        .iter()
        .filter(|t| t.close_code == Some(1008))
        .count();
    let other_close: Vec<u16> = tallies
        .iter()
        .filter_map(|t| t.close_code.filter(|&c| c != 1008))
        .collect();
    let eofs = tallies.iter().filter(|t| t.eof).count();
    let mut got: Vec<u64> = tallies.iter().map(|t| t.bytes).collect();
    got.sort_unstable();
    let texts: u64 = tallies.iter().map(|t| t.texts).sum();
    let read_secs = t_read.elapsed().as_secs_f64();
    drop(crowd);
    thread::sleep(Duration::from_secs(5));
    let rss_after = rss();
    let smaps_after = smaps_summary(pid);
    done.store(true, Ordering::SeqCst);

    let pct = |v: &[f64], q: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
        }
    };
    println!("== stuck_readers: {stem}, {} stuck, {chatters_n} chatters x {rate}/s x {size} B, {seconds} s", crowd_ports.len());
    let mut keys: Vec<_> = windows.keys().copied().collect();
    keys.sort_unstable();
    for k in keys {
        let mut w = windows.remove(&k).unwrap();
        w.sort_unstable();
        println!(
            "  chat {:>3}-{:<3} s: {:>6} deliveries, p50 {:>8.1} ms, p99 {:>8.1} ms, max {:>8.1} ms",
            k * 5,
            k * 5 + 5,
            w.len(),
            quantile(&w, 0.5),
            quantile(&w, 0.99),
            quantile(&w, 1.0)
        );
    }
    println!(
        "chatters: {sent} lines sent, {expected} deliveries expected, {} received ({} lost), \
         {gaps} out of order or missing; {} senders dropped",
        all.len(),
        expected.saturating_sub(all.len() as u64),
        dropped_senders.load(Ordering::SeqCst)
    );
    for e in &ended {
        println!("  ended early: {e}");
    }
    println!(
        "latency: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        quantile(&all, 0.999),
        quantile(&all, 1.0)
    );
    println!(
        "crowd: {} of {} found too slow, {} disconnected; found too slow at {:.1} / {:.1} / {:.1} s \
         (first / median / last, since the chat started); disconnected by {:.1} s; the server said: {}",
        too_slow.len(),
        crowd_ports.len(),
        disconnected.len(),
        pct(&drop_at, 0.0),
        pct(&drop_at, 0.5),
        pct(&drop_at, 1.0),
        pct(&disc_at, 1.0),
        whys.iter().take(3).copied().collect::<Vec<_>>().join(" | ")
    );
    println!(
        "crowd reads afterwards ({read_secs:.1} s): {with_1008} got a 1008 Close, {} another close {:?}, \
         {eofs} reached EOF, {} still open; bytes each min {} / median {} / max {} ({texts} text frames in all)",
        other_close.len(),
        other_close.iter().take(5).collect::<Vec<_>>(),
        open.len(),
        got.first().copied().unwrap_or(0),
        got.get(got.len() / 2).copied().unwrap_or(0),
        got.last().copied().unwrap_or(0),
    );
    println!(
        "server RSS: start {rss_start} KiB, with the chatters {rss_before} KiB, with the crowd {rss_crowd} KiB, \
         peak sampled {peak_rss} KiB (VmHWM {hwm} KiB), at the end of the chat {rss_chat_end} KiB, \
         5 s after the crowd is gone {rss_after} KiB"
    );
    println!("kernel TCP memory (whole machine): peak sampled {peak_tcp} MiB");
    if std::env::var_os("STUCK_SMAPS").is_some() {
        println!("server mappings, after: {smaps_after}");
    }
}
