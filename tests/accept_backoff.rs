//! The server examples at their file-descriptor limit.
//!
//! Each example runs as a child process with a low `RLIMIT_NOFILE`; the test
//! opens more connections than it has descriptors for, so the rest wait in
//! the listen queue and every `accept` fails with `EMFILE`. The server must
//! then back off instead of retrying at once (a loop that just `continue`s
//! burns a whole core), log once per episode instead of once per failure,
//! and serve again as soon as descriptors are free.
//!
//! Linux only: the CPU time and open descriptors are read from `/proc`.
//!
//! `RFC6455_EXAMPLES_DIR`, when set, names a directory of prebuilt example
//! binaries to run instead of building them (to compare two versions).
#![cfg(target_os = "linux")]

mod examples_bin;

/// The examples' back-off module, for its unit tests (which run here).
#[path = "../examples/common/accept_backoff.rs"]
mod accept_backoff;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::blocking::{self, ClientConfig};
use rfc6455::Message;

/// The servers' descriptor limit (soft and hard).
const LIMIT: u64 = 64;
/// Connections opened to a server: enough to use up its descriptors and
/// leave some waiting in the listen queue (std listens with a backlog of 128).
const CONNECTIONS: usize = LIMIT as usize + 50;
/// How long the CPU use at the limit is measured.
const MEASURE: Duration = Duration::from_secs(2);
/// Largest share of one core a server may use while at the limit.
const MAX_CPU: f64 = 0.10;
/// Most lines about `accept` a server may log from its start to the end of
/// the measurement (one episode: its start, and its end if it was cut short).
const MAX_ACCEPT_LINES: usize = 2;
/// How soon a server must serve again once descriptors are free.
const RECOVER: Duration = Duration::from_secs(3);
/// Upper bound on waits for startup and for reaching the limit.
const LONG: Duration = Duration::from_secs(10);

/// The binary of example `name`: from `RFC6455_EXAMPLES_DIR` when set, else
/// built (with `--features tokio` for the async ones) next to this test.
fn binary(name: &str) -> PathBuf {
    match std::env::var_os("RFC6455_EXAMPLES_DIR") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => examples_bin::example(name),
    }
}

/// A running example process, killed when dropped; its stderr is collected.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts example `name` with `args` and waits for its stderr line
    /// starting with `banner`, followed by the address it listens on. With
    /// `limit`, the child (only) gets that `RLIMIT_NOFILE`.
    fn start(name: &'static str, args: &[&str], banner: &'static str, limit: Option<u64>) -> Self {
        let mut cmd = Command::new(binary(name));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(n) = limit {
            // SAFETY: runs in the forked child before exec; setrlimit is
            // async-signal-safe and the closure touches nothing shared.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n as libc::rlim_t,
                        rlim_max: n as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(banner) {
                    let addr = rest.split(['/', ' ']).next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                log2.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(LONG) {
            Ok(a) => a.parse().expect("a socket address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{name} did not print its address:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Server {
            name,
            child,
            addr,
            log,
        }
    }

    /// Starts example `name` listening on an ephemeral loopback port, at
    /// [`LIMIT`] descriptors; `upstream` is the proxy's upstream URL.
    fn limited(name: &'static str, upstream: Option<&str>) -> Self {
        let (args, banner): (Vec<&str>, &'static str) = match name {
            "echo_server" => (vec![], "echo_server listening on ws://"),
            "async_echo_server" => (vec![], "async_echo_server listening on ws://"),
            "broadcast" => (vec!["--ping-interval", "0"], "broadcast: chat on http://"),
            "async_broadcast" => (
                vec!["--ping-interval", "0"],
                "async_broadcast: chat on http://",
            ),
            "proxy" => (
                vec![upstream.expect("the proxy's upstream")],
                "proxy listening on ws://",
            ),
            other => panic!("no such server example: {other}"),
        };
        let mut all = vec!["127.0.0.1:0"];
        all.extend(args);
        Server::start(name, &all, banner, Some(LIMIT))
    }

    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails the test if the process has exited.
    fn assert_running(&mut self, when: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) {when}; its log:\n{}",
                self.name,
                self.log()
            );
        }
    }

    /// Its stderr so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Its last ten lines of stderr.
    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(10)..].join("\n")
    }

    /// The stderr lines about `accept` so far.
    fn accept_lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|l| l.contains("accept"))
            .cloned()
            .collect()
    }

    /// Descriptors it has open.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// User plus system CPU time so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("read /proc/PID/stat");
        // Fields after the parenthesised command name start at field 3
        // (state); utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').expect("a command name") + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| -> u64 { fields[i - 3].parse().expect("a tick count") };
        field(14) + field(15)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second, the unit of [`Server::cpu_ticks`].
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    assert!(t > 0, "sysconf(_SC_CLK_TCK) failed");
    t as f64
}

/// A client that gives up after a couple of seconds at any step.
fn client_config() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.handshake_timeout = Some(Duration::from_secs(2));
    c
}

/// What shows that a server serves again.
#[derive(Clone, Copy)]
enum Probe {
    /// A WebSocket handshake, then a text message that comes back.
    Echo,
    /// A WebSocket handshake (a chat server greets, it does not echo).
    Handshake,
}

impl Probe {
    fn run(self, url: &str) -> Result<(), String> {
        let (mut ws, _) =
            blocking::connect_with(url, &client_config()).map_err(|e| format!("handshake: {e}"))?;
        if let Probe::Echo = self {
            ws.set_read_timeout(Some(Duration::from_secs(2)))
                .map_err(|e| e.to_string())?;
            ws.send_text("still there?")
                .map_err(|e| format!("send: {e}"))?;
            match ws.read() {
                Ok(Message::Text(t)) if t == "still there?" => {}
                other => return Err(format!("expected the echo, got {other:?}")),
            }
        }
        Ok(())
    }
}

/// Runs `server` out of descriptors and checks that it idles, logs once,
/// stays up and serves again when descriptors are free.
fn at_the_limit(mut server: Server, probe: Probe) {
    let started = Instant::now();
    // The server is fine before the limit.
    let idle = server.open_fds();
    probe
        .run(&server.url())
        .unwrap_or_else(|e| panic!("{} before the limit: {e}\n{}", server.name, server.log()));
    // Its descriptors for that client are closed (a close that came later
    // would let one accept through in the middle of the episode).
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.open_fds() > idle && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }

    // Use up its descriptors; the connections beyond wait in the queue.
    let mut held = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        match TcpStream::connect_timeout(&server.addr, Duration::from_secs(1)) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    let deadline = Instant::now() + LONG;
    while server.open_fds() < LIMIT as usize {
        server.assert_running("while connections arrive");
        assert!(
            Instant::now() < deadline,
            "{} never reached its {LIMIT} descriptors ({} open, {} connections held)",
            server.name,
            server.open_fds(),
            held.len()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        held.len() > LIMIT as usize,
        "only {} connections held: nothing waits in the queue",
        held.len()
    );
    // Let the first failures happen (and any first log line appear).
    thread::sleep(Duration::from_millis(200));

    let before = server.cpu_ticks();
    let t0 = Instant::now();
    thread::sleep(MEASURE);
    let ticks = server.cpu_ticks() - before;
    let cpu = ticks as f64 / ticks_per_second() / t0.elapsed().as_secs_f64();
    server.assert_running("at the limit");
    let lines = server.accept_lines();
    eprintln!(
        "{}: at {LIMIT} descriptors: {:.1}% of a core over {:.1} s, {} accept line(s) in {:.1} s",
        server.name,
        cpu * 100.0,
        t0.elapsed().as_secs_f64(),
        lines.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        cpu < MAX_CPU,
        "{} used {:.0}% of a core while out of descriptors (at most {:.0}% allowed); \
         {} accept lines; last lines:\n{}",
        server.name,
        cpu * 100.0,
        MAX_CPU * 100.0,
        lines.len(),
        server.log_tail()
    );
    assert!(
        lines.len() <= MAX_ACCEPT_LINES,
        "{} logged {} lines about accept while out of descriptors (at most {MAX_ACCEPT_LINES}); \
         first ones:\n{}",
        server.name,
        lines.len(),
        lines[..lines.len().min(5)].join("\n")
    );

    // Free the descriptors: the server serves again.
    drop(held);
    let freed = Instant::now();
    let deadline = freed + RECOVER;
    loop {
        match probe.run(&server.url()) {
            Ok(()) => break,
            Err(e) => {
                server.assert_running("after the descriptors were freed");
                assert!(
                    Instant::now() < deadline,
                    "{} did not serve again within {RECOVER:?} of the descriptors being freed: \
                     {e}\nlast lines:\n{}",
                    server.name,
                    server.log_tail()
                );
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    server.assert_running("after recovering");
    eprintln!(
        "{}: served again {:.2} s after the descriptors were freed; log lines about accept:\n  {}",
        server.name,
        freed.elapsed().as_secs_f64(),
        server.accept_lines().join("\n  ")
    );
}

#[test]
fn echo_server_backs_off_at_the_descriptor_limit() {
    at_the_limit(Server::limited("echo_server", None), Probe::Echo);
}

#[test]
fn async_echo_server_backs_off_at_the_descriptor_limit() {
    at_the_limit(Server::limited("async_echo_server", None), Probe::Echo);
}

#[test]
fn broadcast_backs_off_at_the_descriptor_limit() {
    at_the_limit(Server::limited("broadcast", None), Probe::Handshake);
}

#[test]
fn async_broadcast_backs_off_at_the_descriptor_limit() {
    at_the_limit(Server::limited("async_broadcast", None), Probe::Handshake);
}

#[test]
fn proxy_backs_off_at_the_descriptor_limit() {
    // The upstream runs without a limit of its own.
    let upstream = Server::start(
        "echo_server",
        &["127.0.0.1:0"],
        "echo_server listening on ws://",
        None,
    );
    let proxy = Server::limited("proxy", Some(&upstream.url()));
    at_the_limit(proxy, Probe::Echo);
}
