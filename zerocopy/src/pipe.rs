//! The per-shard pool of pipes that splice transfers go through.
//!
//! A transfer leases a pipe, moves file pages into it and out to the socket,
//! and gives it back empty. A pipe that may still hold bytes — the transfer
//! failed half-way, or a cancelled splice might still be running — is
//! closed instead (once the last op naming it completes), so no stale byte
//! ever reaches the next transfer.

use crate::stats::{self, Counters};
use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;

/// The pipe size asked for by default (`F_SETPIPE_SZ`); the kernel may
/// round it up or, for unprivileged users over `fs.pipe-user-pages-soft`,
/// refuse, in which case the pipe keeps the default 64 KiB.
pub const DEFAULT_PIPE_SIZE: usize = 1 << 20;

/// How many idle pipes a shard keeps by default.
pub const DEFAULT_MAX_IDLE_PIPES: usize = 64;

/// One pipe: both ends, non-blocking.
#[derive(Debug)]
pub(crate) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// What the pipe holds at most (`F_GETPIPE_SZ`).
    capacity: usize,
    /// The size asked for when it was made: a pipe made before
    /// `configure_pipes` changed the size does not go back to the pool.
    asked: usize,
}

impl Pipe {
    fn new(size: usize) -> io::Result<Pipe> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: `fds` is a valid two-element array for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("creating a pipe for splice failed ({e})"),
            ));
        }
        // SAFETY: pipe2 succeeded, so both fds are new and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let want = size.min(i32::MAX as usize) as libc::c_int;
        // SAFETY: fcntl on an fd we own; a refusal leaves the default size.
        unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, want) };
        // SAFETY: fcntl on an fd we own.
        let capacity = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) };
        let capacity = usize::try_from(capacity).unwrap_or(0).max(libc::PIPE_BUF);
        stats::add(|c: &Counters| &c.pipes_created, 1);
        Ok(Pipe {
            read,
            write,
            capacity,
            asked: size,
        })
    }

    pub(crate) fn read_fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    pub(crate) fn write_fd(&self) -> RawFd {
        self.write.as_raw_fd()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

struct PipePool {
    idle: Vec<Pipe>,
    size: usize,
    max_idle: usize,
}

thread_local! {
    static POOL: RefCell<PipePool> = const {
        RefCell::new(PipePool {
            idle: Vec::new(),
            size: DEFAULT_PIPE_SIZE,
            max_idle: DEFAULT_MAX_IDLE_PIPES,
        })
    };
}

/// Sets the size of new pipes and how many idle pipes this shard keeps.
/// Pipes of another size are closed: idle ones now, leased ones when they
/// come back. Call it on each shard (for
/// example at the top of the entry future); the defaults are
/// [`DEFAULT_PIPE_SIZE`] and [`DEFAULT_MAX_IDLE_PIPES`].
pub fn configure_pipes(size: usize, max_idle: usize) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.size != size {
            p.idle.clear();
        }
        p.size = size;
        p.max_idle = max_idle;
        p.idle.truncate(max_idle);
    });
}

/// Idle pipes in this shard's pool.
pub(crate) fn idle() -> usize {
    POOL.with(|p| p.borrow().idle.len())
}

/// A pipe borrowed from the pool for one transfer. Ops hold clones of the
/// `Rc` while in flight; the lease tracks how many bytes the pipe holds.
#[derive(Debug)]
pub(crate) struct PipeLease {
    /// `Some` until dropped.
    pipe: Option<Rc<Pipe>>,
    /// Bytes spliced into the pipe and not yet out of it.
    pub(crate) filled: usize,
}

impl PipeLease {
    /// An idle pipe, or a new one.
    pub(crate) fn get() -> io::Result<PipeLease> {
        let (pipe, size) = POOL.with(|p| {
            let mut p = p.borrow_mut();
            (p.idle.pop(), p.size)
        });
        let pipe = match pipe {
            Some(pipe) => pipe,
            None => {
                stats::add(|c: &Counters| &c.pipe_misses, 1);
                Pipe::new(size)?
            }
        };
        Ok(PipeLease {
            pipe: Some(Rc::new(pipe)),
            filled: 0,
        })
    }

    pub(crate) fn pipe(&self) -> &Rc<Pipe> {
        self.pipe.as_ref().expect("lease used after drop")
    }
}

impl Drop for PipeLease {
    fn drop(&mut self) {
        let Some(pipe) = self.pipe.take() else {
            return;
        };
        // Reusable only if empty and no op (a cancelled splice still in
        // flight) holds it; otherwise the last holder closes it.
        let pipe = match (self.filled, Rc::try_unwrap(pipe)) {
            (0, Ok(pipe)) => pipe,
            _ => {
                stats::add(|c: &Counters| &c.pipes_discarded, 1);
                return;
            }
        };
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.idle.len() < p.max_idle && pipe.asked == p.size {
                p.idle.push(pipe);
            }
        });
    }
}
