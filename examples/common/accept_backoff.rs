//! What every example's accept loop does when `accept` fails.
//!
//! The usual failure is running out of file descriptors (`EMFILE`,
//! `ENFILE`): the pending connection stays in the listen queue, so retrying
//! at once fails again at once and a loop that just `continue`s burns a
//! whole core. [`AcceptBackoff`] decides how long to wait before the next
//! try and logs once per *episode* (a run of consecutive failures): one line
//! when it starts, one with the count when `accept` works again.
//!
//! A server that hovers at its limit (every closed connection lets one
//! `accept` through, the next fails again) has many short episodes; their
//! lines are limited to one start every [`QUIET`]: an episode that starts
//! sooner after the last line is counted, not logged, and the next line that
//! is logged says how many went unlogged. Either way the log never says
//! "recovered" for longer than [`QUIET`] while `accept` keeps failing.
//!
//! It owns no clock of its own beyond [`Instant`] and does not sleep: the
//! blocking examples pass the returned duration to `std::thread::sleep`, the
//! tokio ones to `tokio::time::sleep`.
//!
//! Shared by the examples with `#[path = "common/accept_backoff.rs"] mod
//! accept_backoff;` (`../common/…` from an example in a folder of its own),
//! and by `tests/accept_backoff.rs`, which runs the unit tests below.
#![allow(dead_code)]

use std::io;
use std::time::{Duration, Instant};

/// Wait after the first failure of an episode.
pub const FIRST_WAIT: Duration = Duration::from_millis(50);
/// Wait after every later failure of the same episode.
pub const LATER_WAIT: Duration = Duration::from_millis(100);
/// While a logged episode goes on, one summary line at most this often.
pub const REMIND_EVERY: Duration = Duration::from_secs(60);
/// The start of an episode is logged only this long after the last line;
/// episodes that start sooner are counted and reported with the next line.
pub const QUIET: Duration = Duration::from_secs(10);

/// Back-off state of one accept loop. See the module documentation.
#[derive(Debug)]
pub struct AcceptBackoff {
    /// Prefix of the log lines (the example's name).
    name: &'static str,
    /// Failures in the current episode (0: none going on).
    failures: u64,
    /// When the current episode started.
    started: Option<Instant>,
    /// Whether the current episode has been logged (its end is then too).
    announced: bool,
    /// When the last line was logged.
    logged: Option<Instant>,
    /// Episodes that ended without being logged since the last line.
    unlogged_episodes: u64,
    /// Their failures.
    unlogged_failures: u64,
}

impl AcceptBackoff {
    /// A loop that logs as `name: accept: …`.
    pub fn new(name: &'static str) -> Self {
        AcceptBackoff {
            name,
            failures: 0,
            started: None,
            announced: false,
            logged: None,
            unlogged_episodes: 0,
            unlogged_failures: 0,
        }
    }

    /// Records a failed `accept` and returns how long to wait before the
    /// next one. Logs the start of an episode (unless the last line is less
    /// than [`QUIET`] old, see the module documentation) and a reminder with
    /// the count every [`REMIND_EVERY`] while a logged one lasts.
    pub fn failed(&mut self, error: &io::Error) -> Duration {
        let (wait, line) = self.failed_at(error, Instant::now());
        if let Some(line) = line {
            eprintln!("{line}");
        }
        wait
    }

    /// Records a successful `accept`; ends an episode, with one line that
    /// gives its count and length if its start was logged.
    pub fn succeeded(&mut self) {
        if let Some(line) = self.succeeded_at(Instant::now()) {
            eprintln!("{line}");
        }
    }

    /// Failures in the episode going on (0 when none is).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// [`failed`](Self::failed) at time `now`: the wait, and the line to
    /// log if any.
    fn failed_at(&mut self, error: &io::Error, now: Instant) -> (Duration, Option<String>) {
        self.failures += 1;
        let wait = if self.failures == 1 {
            self.started = Some(now);
            FIRST_WAIT
        } else {
            LATER_WAIT
        };
        let since_line = self.logged.map(|t| now.duration_since(t));
        let line = if !self.announced && !since_line.is_some_and(|d| d < QUIET) {
            self.announced = true;
            let mut line = format!(
                "{}: accept: {error}{}; retrying every {} ms, logged again when it recovers",
                self.name,
                hint(error),
                LATER_WAIT.as_millis()
            );
            if self.unlogged_episodes > 0 {
                line += &format!(
                    " ({} more brief episode{} with {} failure{} since the last line)",
                    self.unlogged_episodes,
                    plural(self.unlogged_episodes),
                    self.unlogged_failures,
                    plural(self.unlogged_failures)
                );
                self.unlogged_episodes = 0;
                self.unlogged_failures = 0;
            }
            Some(line)
        } else if self.announced && since_line.is_some_and(|d| d >= REMIND_EVERY) {
            Some(format!(
                "{}: accept: still failing ({error}): {} failures in {:.0} s",
                self.name,
                self.failures,
                self.elapsed(now).as_secs_f64()
            ))
        } else {
            None
        };
        if line.is_some() {
            self.logged = Some(now);
        }
        (wait, line)
    }

    /// [`succeeded`](Self::succeeded) at time `now`: the line to log if any.
    fn succeeded_at(&mut self, now: Instant) -> Option<String> {
        if self.failures == 0 {
            return None;
        }
        let line = if self.announced {
            self.logged = Some(now);
            Some(format!(
                "{}: accept: recovered after {} failure{} in {:.1} s",
                self.name,
                self.failures,
                plural(self.failures),
                self.elapsed(now).as_secs_f64()
            ))
        } else {
            self.unlogged_episodes += 1;
            self.unlogged_failures += self.failures;
            None
        };
        self.failures = 0;
        self.started = None;
        self.announced = false;
        line
    }

    fn elapsed(&self, now: Instant) -> Duration {
        self.started
            .map_or(Duration::ZERO, |t| now.duration_since(t))
    }
}

/// `"s"` unless `n` is 1.
fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A word on the likely cause, for the errors that have one.
fn hint(error: &io::Error) -> &'static str {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs.
    match error.raw_os_error() {
        Some(24) => " (the process is out of file descriptors: see `ulimit -n`)",
        Some(23) => " (the system is out of file descriptors)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(24)
    }

    #[test]
    fn waits_grow_then_reset_after_success() {
        let mut b = AcceptBackoff::new("test");
        let e = emfile();
        let t = Instant::now();
        assert_eq!(b.failed_at(&e, t).0, FIRST_WAIT);
        assert_eq!(b.failed_at(&e, t).0, LATER_WAIT);
        assert_eq!(b.failures(), 2);
        b.succeeded_at(t);
        assert_eq!(b.failures(), 0);
        assert_eq!(b.failed_at(&e, t).0, FIRST_WAIT);
    }

    #[test]
    fn an_episode_logs_its_start_and_its_end_only() {
        let mut b = AcceptBackoff::new("test");
        let e = emfile();
        let t0 = Instant::now();
        let start = b.failed_at(&e, t0).1.expect("the start is logged");
        assert!(start.starts_with("test: accept: "), "{start}");
        assert!(start.contains("ulimit -n"), "{start}");
        for i in 1..300 {
            let (_, line) = b.failed_at(&e, t0 + LATER_WAIT * i);
            assert_eq!(line, None, "failure {i}");
        }
        assert_eq!(
            b.succeeded_at(t0 + LATER_WAIT * 300).as_deref(),
            Some("test: accept: recovered after 300 failures in 30.0 s")
        );
        assert_eq!(b.succeeded_at(t0 + LATER_WAIT * 301), None);
    }

    #[test]
    fn a_long_episode_is_reminded_of() {
        let mut b = AcceptBackoff::new("test");
        let e = emfile();
        let t0 = Instant::now();
        assert!(b.failed_at(&e, t0).1.is_some());
        assert_eq!(b.failed_at(&e, t0 + REMIND_EVERY / 2).1, None);
        let line = b.failed_at(&e, t0 + REMIND_EVERY).1.expect("a reminder");
        assert!(
            line.contains("still failing") && line.contains("3 failures"),
            "{line}"
        );
        assert_eq!(b.failed_at(&e, t0 + REMIND_EVERY * 3 / 2).1, None);
    }

    #[test]
    fn hovering_at_the_limit_logs_a_few_lines_not_one_per_episode() {
        let mut b = AcceptBackoff::new("test");
        let e = emfile();
        let t0 = Instant::now();
        let mut lines = Vec::new();
        // 30 s of: one accept fails, the next works (a connection closed).
        let mut t = t0;
        while t < t0 + Duration::from_secs(30) {
            lines.extend(b.failed_at(&e, t).1);
            t += FIRST_WAIT;
            lines.extend(b.succeeded_at(t));
            t += Duration::from_millis(10);
        }
        // A start and an end for the first episode, then a start (with the
        // count of the unlogged ones) and an end every QUIET.
        assert!(
            (3..=8).contains(&lines.len()),
            "{} lines:\n{}",
            lines.len(),
            lines.join("\n")
        );
        assert!(
            lines[2].contains("more brief episodes with"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn an_unlogged_episode_is_logged_once_it_lasts() {
        let mut b = AcceptBackoff::new("test");
        let e = emfile();
        let t0 = Instant::now();
        assert!(b.failed_at(&e, t0).1.is_some());
        assert!(b.succeeded_at(t0 + FIRST_WAIT).is_some());
        // Fails again at once: not logged yet…
        let t1 = t0 + FIRST_WAIT * 2;
        assert_eq!(b.failed_at(&e, t1).1, None);
        let mut t = t1;
        while t < t0 + FIRST_WAIT + QUIET - LATER_WAIT {
            t += LATER_WAIT;
            assert_eq!(b.failed_at(&e, t).1, None);
        }
        // …but once the last line is QUIET old, it is.
        let line = b.failed_at(&e, t + LATER_WAIT).1.expect("logged");
        assert!(line.contains("retrying every"), "{line}");
        let end = b.succeeded_at(t + LATER_WAIT * 2).expect("its end too");
        assert!(end.contains("recovered after"), "{end}");
    }

    #[test]
    fn other_errors_back_off_too_without_a_hint() {
        let mut b = AcceptBackoff::new("test");
        let e = io::Error::from(io::ErrorKind::ConnectionAborted);
        let (wait, line) = b.failed_at(&e, Instant::now());
        assert_eq!(wait, FIRST_WAIT);
        let line = line.expect("logged");
        assert!(!line.contains("ulimit"), "{line}");
    }
}
