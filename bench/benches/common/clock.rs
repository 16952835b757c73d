//! The clock the single-threaded benchmarks are measured with.
//!
//! By default, the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): on
//! a shared machine, time spent descheduled while other processes run is
//! not counted, so the ratios between functions of a group do not depend on
//! how busy the machine was while each ran. (Cache and memory-bandwidth
//! contention from other processes still shows.) Set
//! `RFC6455_BENCH_CLOCK=wall` to measure wall-clock time instead, as
//! criterion does by default.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time consumed by the calling thread, in nanoseconds.
pub struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // Linux supports for the calling thread.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for wall time.
        WALL.formatter()
    }
}

/// Whether `RFC6455_BENCH_CLOCK=wall` asks for wall-clock time.
pub fn wall_clock() -> bool {
    std::env::var("RFC6455_BENCH_CLOCK").is_ok_and(|v| v == "wall")
}
