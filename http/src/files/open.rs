//! Opening files beneath the served root: `openat2` with `RESOLVE_BENEATH`
//! through the ring, so the kernel itself refuses any path (`..`, an
//! absolute or escaping symlink) that would leave the root.

use shardio::uring::{opcode, types, Completion, Op, OpDef, Orphan};
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::rc::Rc;

/// Read-only, close-on-exec, and non-blocking so that opening a FIFO
/// cannot hang the shard (only regular files and directories are served).
const FLAGS: u64 = (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK) as u64;
/// Never leave the directory; no `/proc` magic links.
const RESOLVE: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;

/// The served directory, held open: every lookup starts from this fd, so
/// renaming or replacing the root's path later changes nothing.
#[derive(Clone, Debug)]
pub(crate) struct Root(Rc<OwnedFd>);

impl Root {
    /// Opens `dir` (`O_PATH | O_DIRECTORY`).
    pub(crate) fn open(dir: &Path) -> io::Result<Root> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", dir.display())))?;
        Ok(Root(Rc::new(file.into())))
    }

    /// Opens `path` (relative) beneath the root.
    pub(crate) async fn open_beneath(&self, path: CString) -> io::Result<File> {
        let ring = shardio::uring::is_supported(opcode::OpenAt2::CODE)?;
        if !ring {
            return self.open_sync(&path);
        }
        let data = OpenAt2 {
            root: self.0.clone(),
            how: Box::new(types::OpenHow::new().flags(FLAGS).resolve(RESOLVE)),
            path,
        };
        let sqe = opcode::OpenAt2::new(
            types::Fd(data.root.as_raw_fd()),
            data.path.as_ptr(),
            &*data.how,
        )
        .build();
        // SAFETY: the path and the `open_how` are heap allocations owned by
        // `data`, and `data.root` keeps the directory fd open, until the
        // final completion.
        let op = unsafe { Op::submit(data, sqe) }.map_err(|(e, _)| e)?;
        op.await
    }

    /// `openat2(2)` as a plain system call, for kernels whose ring lacks it.
    fn open_sync(&self, path: &CString) -> io::Result<File> {
        let how = types::OpenHow::new().flags(FLAGS).resolve(RESOLVE);
        // SAFETY: `path` and `how` are live for the call, `how`'s size is
        // passed with it, and `self.0` keeps the directory fd open.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.0.as_raw_fd(),
                path.as_ptr(),
                &raw const how,
                std::mem::size_of::<types::OpenHow>(),
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOSYS) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "openat2 with RESOLVE_BENEATH is not supported by this kernel (Linux 5.6 \
                     or later is needed to serve files safely)",
                ));
            }
            return Err(e);
        }
        // SAFETY: a successful openat2 returns a new fd that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd as i32) })
    }
}

/// An `openat2` in flight: owns the path, the `open_how` and a share of
/// the root's fd.
struct OpenAt2 {
    root: Rc<OwnedFd>,
    path: CString,
    how: Box<types::OpenHow>,
}

impl Orphan for OpenAt2 {
    fn on_cqe(&mut self, c: &Completion) {
        if c.result() >= 0 {
            // SAFETY: the open succeeded after its future was dropped; the new
            // fd is known to nobody else, so closing it is all that is left.
            drop(unsafe { OwnedFd::from_raw_fd(c.result()) });
        }
    }
}

impl OpDef for OpenAt2 {
    type Output = io::Result<File>;
    fn complete(self, c: Completion) -> io::Result<File> {
        let fd = c.into_result()?;
        // SAFETY: a successful open CQE returns a new fd owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd as i32) })
    }
}
