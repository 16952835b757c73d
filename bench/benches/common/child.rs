//! What the benchmarks that run their servers in child processes share
//! (`async_echo`, `wss_echo`, `h2_echo`): starting a server (the benchmark
//! binary itself, re-executed with its role in the environment), tying the
//! server's life to the benchmark's, a process's CPU time from `/proc`,
//! and the statistics of interleaved rounds. `front_door` uses
//! [`criterion_dir`] only.
#![allow(dead_code)] // each benchmark uses its own subset

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server child process, killed and reaped on drop (also when a
/// benchmark panics).
pub struct Server {
    child: Child,
    /// The loopback port it listens on (its first line of output is
    /// `PORT <n>`).
    pub port: u16,
}

impl Server {
    /// Runs this benchmark binary again with `env` set (a role variable
    /// that [`Server`]'s `main` checks first, and whatever the role
    /// needs), and waits for its `PORT <n>` line.
    pub fn spawn(env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(std::env::current_exe().unwrap());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let port = match (read, line.trim().strip_prefix("PORT ")) {
            (Ok(_), Some(p)) => p.parse().unwrap(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server {env:?} did not start: {line:?}");
            }
        };
        Server { child, port }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In the server process: die with the benchmark (SIGKILL when the parent
/// goes away, and exit when stdin, a pipe from the parent, reaches EOF).
pub fn die_with_benchmark() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

/// utime + stime of a process (all its threads, live and exited), in
/// nanoseconds, at the resolution of clock ticks.
pub fn proc_cpu_ns(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which may contain spaces: state is
    // field 3, utime field 14, stime field 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf takes a constant and no pointers.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    ticks * 1_000_000_000 / hz
}

/// Run time of a process's live threads from the scheduler, in ns (exact;
/// the servers' threads live as long as the process).
pub fn sched_cpu_ns(pid: u32) -> u64 {
    let mut sum = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(path) {
            sum += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    sum
}

/// The load average, as `/proc/loadavg` gives it (1, 5 and 15 minutes).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One server's figures over one round.
#[derive(Clone, Copy)]
pub struct Round {
    /// Server CPU, µs per message, from `/proc/<pid>/stat` (clock ticks).
    pub stat: f64,
    /// Server CPU, µs per message, from the threads' schedstat (ns).
    pub sched: f64,
    /// The benchmark process's (the clients') CPU, µs per message.
    pub client: f64,
    /// Messages per second, wall clock.
    pub rate: f64,
}

impl Round {
    /// Runs `run` (which returns its wall-clock time) against the server
    /// `server_pid`, `msgs` messages in all, and takes the figures.
    pub fn measure(server_pid: u32, msgs: u64, run: impl FnOnce() -> Duration) -> Round {
        let me = std::process::id();
        let (s0, x0, c0) = (
            proc_cpu_ns(server_pid),
            sched_cpu_ns(server_pid),
            proc_cpu_ns(me),
        );
        let wall = run();
        let (s1, x1, c1) = (
            proc_cpu_ns(server_pid),
            sched_cpu_ns(server_pid),
            proc_cpu_ns(me),
        );
        let us_per_msg = |d: u64| d as f64 / 1e3 / msgs as f64;
        Round {
            stat: us_per_msg(s1 - s0),
            sched: us_per_msg(x1 - x0),
            client: us_per_msg(c1 - c0),
            rate: msgs as f64 / wall.as_secs_f64(),
        }
    }
}

/// `(median, min, max)` of a non-empty sample.
pub fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    let median = if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    };
    (median, v[0], v[v.len() - 1])
}

/// An environment variable as a number, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Where criterion writes, for the summaries the benchmarks save beside
/// its results: `CRITERION_HOME`, else the target directory's `criterion`,
/// the target directory found as criterion finds it (`CARGO_TARGET_DIR`,
/// else `cargo metadata`'s, which is the workspace's, not this package's:
/// the benchmarks run in `bench/`), falling back to the workspace root's
/// `target`.
pub fn criterion_dir() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .or_else(cargo_metadata_target_dir)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    target.join("criterion")
}

/// `target_directory` from `cargo metadata` (run with `$CARGO`, as criterion
/// does).
fn cargo_metadata_target_dir() -> Option<std::path::PathBuf> {
    let out = Command::new(std::env::var_os("CARGO")?)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let json = String::from_utf8(out.stdout).ok()?;
    let key = "\"target_directory\":\"";
    let rest = &json[json.find(key)? + key.len()..];
    Some(rest[..rest.find('"')?].into())
}
