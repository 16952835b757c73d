//! The ring, and the only `unsafe` code of the io_uring adapter.
//!
//! io_uring reads and writes memory the kernel was given a pointer to,
//! after the call that gave it returned: that is why pushing a submission
//! is `unsafe`. This module keeps every such buffer alive for as long as
//! the kernel may use it, and hands the rest of the adapter a safe
//! interface:
//!
//! - sends take their buffer by value ([`Ring::send`]) and give it back
//!   with the completion ([`Completion::sent`]);
//! - receives pick a buffer from a pool this module owns (provided
//!   buffers, `IOSQE_BUFFER_SELECT`): a completion lends it out as a
//!   slice ([`Ring::received`]) and [`Ring::recycle`] gives it back to the
//!   kernel, so an idle connection holds no receive buffer at all;
//! - accepted sockets arrive as owned [`TcpStream`]s.
//!
//! When the ring is dropped with operations still in flight, the memory
//! they point to is leaked rather than freed (the kernel cancels them
//! asynchronously, after `close`).
#![allow(unsafe_code)]

use std::boxed::Box;
use std::collections::HashMap;
use std::io;
use std::net::TcpStream;
use std::os::fd::{FromRawFd, RawFd};
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};

use super::Unavailable;

/// The buffer group of the receive pool.
const GROUP: u16 = 0;

/// `IORING_RECVSEND_POLL_FIRST` (Linux 5.19): a receive waits for the
/// socket to be readable before trying, instead of trying first. The loop
/// queues a receive once it has consumed what came, when more has rarely
/// arrived yet, so the first try would usually fail.
const RECVSEND_POLL_FIRST: u16 = 1;

/// One completion, copied out of the completion queue.
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
    pub(crate) flags: u32,
    /// The buffer of a send, given back.
    pub(crate) sent: Option<Vec<u8>>,
}

impl Completion {
    /// More completions will follow for this submission (multishot).
    pub(crate) fn more(&self) -> bool {
        cqueue::more(self.flags)
    }
}

/// An io_uring instance with a pool of provided receive buffers.
pub(crate) struct Ring {
    // Dropped first: the kernel lets go of the pool with it (see Drop).
    ring: IoUring,
    /// `count` buffers of `size` bytes, back to back.
    pool: Box<[u8]>,
    size: usize,
    /// Buffers the kernel holds, by the user data of their send.
    sends: HashMap<u64, Vec<u8>>,
    /// Receives in flight (each may hold a pool buffer when it completes).
    recvs: usize,
    /// Buffers given back post no completion (`IOSQE_CQE_SKIP_SUCCESS`).
    skip_success: bool,
}

impl Ring {
    /// Sets up a ring of `entries` submission entries and a pool of
    /// `count` receive buffers of `size` bytes, and checks that the kernel
    /// has every operation the adapter uses. `one_thread`: the ring is
    /// only ever entered from this thread, and completions are processed
    /// only when it waits for them (`IORING_SETUP_SINGLE_ISSUER` and
    /// `IORING_SETUP_DEFER_TASKRUN`, Linux 6.1; without them where the
    /// kernel refuses them).
    pub(crate) fn new(
        entries: u32,
        count: u16,
        size: usize,
        one_thread: bool,
    ) -> Result<Ring, Unavailable> {
        let mut builder = IoUring::builder();
        builder.setup_cqsize(entries.saturating_mul(4));
        let mut built = Err(io::ErrorKind::Unsupported.into());
        if one_thread {
            built = builder
                .clone()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .build(entries);
        }
        if matches!(&built, Err(e) if !one_thread || e.raw_os_error() == Some(libc::EINVAL)) {
            built = builder.build(entries);
        }
        let ring = built.map_err(|e| match e.raw_os_error() {
            Some(libc::ENOSYS) => Unavailable::NoSyscall,
            Some(libc::EPERM) | Some(libc::EACCES) => Unavailable::NotPermitted(e),
            _ => Unavailable::Setup(e),
        })?;
        if !ring.params().is_feature_ext_arg() {
            return Err(Unavailable::MissingFeature(
                "IORING_FEAT_EXT_ARG (Linux 5.11)",
            ));
        }
        let mut probe = Probe::new();
        ring.submitter()
            .register_probe(&mut probe)
            .map_err(Unavailable::Setup)?;
        for (code, name) in [
            (opcode::Accept::CODE, "IORING_OP_ACCEPT"),
            (opcode::Recv::CODE, "IORING_OP_RECV"),
            (opcode::Send::CODE, "IORING_OP_SEND"),
            (opcode::ProvideBuffers::CODE, "IORING_OP_PROVIDE_BUFFERS"),
        ] {
            if !probe.is_supported(code) {
                return Err(Unavailable::MissingFeature(name));
            }
        }
        let mut ring = Ring {
            ring,
            pool: vec![0; usize::from(count) * size].into_boxed_slice(),
            size,
            sends: HashMap::new(),
            recvs: 0,
            skip_success: false,
        };
        let entry =
            opcode::ProvideBuffers::new(ring.pool.as_mut_ptr(), size as i32, count, GROUP, 0)
                .build()
                .user_data(u64::MAX);
        // SAFETY: `pool` is `count * size` bytes, owned by the ring and never
        // touched by us while a buffer is provided (see `received`); it
        // lives until the ring is dropped (and is leaked then if the kernel
        // may still hold buffers).
        unsafe { ring.push(&entry) }.map_err(Unavailable::Setup)?;
        ring.ring.submit_and_wait(1).map_err(Unavailable::Setup)?;
        let cqe = ring.ring.completion().next();
        match cqe {
            Some(c) if c.result() >= 0 => {
                ring.skip_success = ring.ring.params().is_feature_skip_cqe_on_success();
                Ok(ring)
            }
            Some(c) => Err(Unavailable::Setup(io::Error::from_raw_os_error(
                -c.result(),
            ))),
            None => Err(Unavailable::MissingFeature("IORING_OP_PROVIDE_BUFFERS")),
        }
    }

    /// Queues an entry, submitting what is queued first if the submission
    /// queue is full.
    ///
    /// # Safety
    /// Whatever memory `entry` points to must stay valid until its
    /// completion arrives.
    unsafe fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: passed on to the caller.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
    }

    /// Accepts connections on `listener`: one submission that completes
    /// once per connection (multishot, Linux 5.19), or once (`multi` false).
    pub(crate) fn accept(
        &mut self,
        listener: RawFd,
        multi: bool,
        user_data: u64,
    ) -> io::Result<()> {
        let fd = types::Fd(listener);
        let entry = match multi {
            true => opcode::AcceptMulti::new(fd).build(),
            false => opcode::Accept::new(fd, std::ptr::null_mut(), std::ptr::null_mut()).build(),
        };
        // SAFETY: no memory is shared with the kernel (no address wanted).
        unsafe { self.push(&entry.user_data(user_data)) }
    }

    /// Takes ownership of a socket the kernel accepted.
    pub(crate) fn accepted(&self, result: i32) -> TcpStream {
        // SAFETY: a non-negative accept result is a new descriptor that
        // nothing else owns.
        unsafe { TcpStream::from_raw_fd(result) }
    }

    /// Completes (again and again: multishot) whenever `fd` becomes
    /// readable: the loop's [`eventfd`].
    pub(crate) fn poll_readable(&mut self, fd: RawFd, user_data: u64) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(fd), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(user_data);
        // SAFETY: no memory is shared with the kernel.
        unsafe { self.push(&entry) }
    }

    /// Receives into a buffer the kernel picks from the pool.
    pub(crate) fn recv(&mut self, fd: RawFd, user_data: u64) -> io::Result<()> {
        let entry = opcode::Recv::new(types::Fd(fd), std::ptr::null_mut(), self.size as u32)
            .buf_group(GROUP)
            .ioprio(RECVSEND_POLL_FIRST)
            .build()
            .flags(squeue::Flags::BUFFER_SELECT)
            .user_data(user_data);
        // SAFETY: the kernel writes only into a provided pool buffer, which
        // the ring owns until it is dropped.
        unsafe { self.push(&entry) }?;
        self.recvs += 1;
        Ok(())
    }

    /// The bytes a receive completion delivered, and the buffer's id to
    /// [`recycle`](Self::recycle) once they are consumed.
    pub(crate) fn received(&self, c: &Completion) -> Option<(&[u8], u16)> {
        let bid = cqueue::buffer_select(c.flags)?;
        let start = usize::from(bid) * self.size;
        let len = usize::try_from(c.result).ok()?.min(self.size);
        Some((&self.pool[start..start + len], bid))
    }

    /// Gives a pool buffer back to the kernel (queued now, so a receive
    /// queued after it can use it).
    pub(crate) fn recycle(&mut self, bid: u16) -> io::Result<()> {
        let start = usize::from(bid) * self.size;
        let entry = opcode::ProvideBuffers::new(
            self.pool[start..].as_mut_ptr(),
            self.size as i32,
            1,
            GROUP,
            bid,
        )
        .build()
        .user_data(u64::MAX);
        let entry = match self.skip_success {
            true => entry.flags(squeue::Flags::SKIP_SUCCESS),
            false => entry,
        };
        // SAFETY: the buffer came back in a completion and is no longer lent
        // out (`received`'s slice borrows the ring, so it is not alive
        // here); the pool outlives the kernel's use of it.
        unsafe { self.push(&entry) }
    }

    /// Sends `buf` (given back by the completion).
    pub(crate) fn send(&mut self, fd: RawFd, buf: Vec<u8>, user_data: u64) -> io::Result<()> {
        let entry = opcode::Send::new(types::Fd(fd), buf.as_ptr(), buf.len() as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(user_data);
        // The heap block does not move when the Vec does.
        let previous = self.sends.insert(user_data, buf);
        debug_assert!(previous.is_none(), "one send in flight per user data");
        // SAFETY: the buffer is kept in `sends` until its completion (and
        // leaked if the ring is dropped before).
        unsafe { self.push(&entry) }
    }

    /// Submits what is queued and waits for at
    /// least one completion, or for `timeout`; then moves the completions
    /// into `out`.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        out: &mut Vec<Completion>,
    ) -> io::Result<()> {
        let result = match timeout {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submit_and_wait(1),
        };
        match result {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
        for cqe in self.ring.completion() {
            let user_data = cqe.user_data();
            if user_data == u64::MAX {
                continue; // buffers provided
            }
            let sent = self.sends.remove(&user_data);
            out.push(Completion {
                user_data,
                result: cqe.result(),
                flags: cqe.flags(),
                sent,
            });
        }
        Ok(())
    }

    /// A receive completed (the adapter tells which completions are receives).
    pub(crate) fn recv_done(&mut self) {
        self.recvs = self.recvs.saturating_sub(1);
    }
}

/// A new non-blocking eventfd (a counter another thread adds to, to wake
/// the loop; see `Waker`).
pub(crate) fn eventfd() -> io::Result<std::fs::File> {
    // SAFETY: `eventfd` takes no pointers.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result is a new descriptor nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

impl Drop for Ring {
    fn drop(&mut self) {
        if !self.sends.is_empty() || self.recvs > 0 {
            // The kernel may still write into the pool or read from a send
            // buffer after the ring's descriptor is closed.
            std::mem::forget(std::mem::take(&mut self.pool));
            std::mem::forget(std::mem::take(&mut self.sends));
        }
    }
}
