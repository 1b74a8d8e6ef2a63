//! Ring creation: the setup flags, the feature probe, and errors that name
//! why io_uring cannot be used.

use io_uring::{opcode, register::Probe, IoUring};
use std::io;

/// Ring parameters chosen by the builder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingConfig {
    /// Submission queue entries (the CQ gets four times as many).
    pub(crate) entries: u32,
    /// The default provided buffer ring: count and size of its buffers.
    pub(crate) provided_buffers: (usize, usize),
    /// Let other shards wake this one with IORING_OP_MSG_RING (if the
    /// kernel has it) instead of its eventfd.
    pub(crate) msg_ring: bool,
}

/// How the kernel runs completion work for this ring, from the best setup
/// the kernel accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingMode {
    /// `SINGLE_ISSUER | DEFER_TASKRUN` (Linux 6.1+): completion work runs only
    /// when the shard asks for completions, never interrupting it.
    DeferTaskrun,
    /// `COOP_TASKRUN | TASKRUN_FLAG` (Linux 5.19+).
    CoopTaskrun,
    /// No task-run flags (older kernels).
    Plain,
}

/// Opcodes the runtime cannot work without, with the name used in errors.
const REQUIRED_OPCODES: &[(u8, &str)] = &[
    (opcode::Nop::CODE, "IORING_OP_NOP"),
    (opcode::AsyncCancel::CODE, "IORING_OP_ASYNC_CANCEL"),
    (opcode::Accept::CODE, "IORING_OP_ACCEPT"),
    (opcode::Connect::CODE, "IORING_OP_CONNECT"),
    (opcode::Recv::CODE, "IORING_OP_RECV"),
    (opcode::Send::CODE, "IORING_OP_SEND"),
    (opcode::RecvMsg::CODE, "IORING_OP_RECVMSG"),
    (opcode::SendMsg::CODE, "IORING_OP_SENDMSG"),
    (opcode::PollAdd::CODE, "IORING_OP_POLL_ADD"),
    (opcode::Read::CODE, "IORING_OP_READ"),
    (opcode::Shutdown::CODE, "IORING_OP_SHUTDOWN"),
    (opcode::Close::CODE, "IORING_OP_CLOSE"),
];

/// Builds the ring; also returns the kernel's opcode probe.
pub(crate) fn build_ring(config: &RingConfig) -> io::Result<(IoUring, RingMode, Probe)> {
    let entries = config.entries.max(2).next_power_of_two();
    let cq = entries.saturating_mul(4);
    type Configure = fn(&mut io_uring::Builder, u32);
    let attempts: [(RingMode, Configure); 3] = [
        (RingMode::DeferTaskrun, |b, cq| {
            b.setup_single_issuer()
                .setup_defer_taskrun()
                .setup_submit_all()
                .setup_cqsize(cq);
        }),
        (RingMode::CoopTaskrun, |b, cq| {
            b.setup_coop_taskrun()
                .setup_taskrun_flag()
                .setup_submit_all()
                .setup_cqsize(cq);
        }),
        (RingMode::Plain, |b, cq| {
            b.setup_cqsize(cq);
        }),
    ];
    let mut last = None;
    for (mode, configure) in attempts {
        let mut builder = IoUring::builder();
        configure(&mut builder, cq);
        match builder.build(entries) {
            Ok(ring) => {
                let probe = check_features(&ring)?;
                return Ok((ring, mode, probe));
            }
            // EINVAL: this kernel does not know one of the flags; try fewer.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => last = Some(e),
            Err(e) => return Err(explain_setup_error(e, read_disabled_sysctl())),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::from_raw_os_error(libc::EINVAL));
    Err(explain_setup_error(e, read_disabled_sysctl()))
}

/// Fails if a required feature is missing; returns the opcode probe, which
/// says which optional opcodes (MSG_RING, SPLICE, SEND_ZC…) are there.
fn check_features(ring: &IoUring) -> io::Result<Probe> {
    let params = ring.params();
    if !params.is_feature_ext_arg() {
        return Err(unsupported(
            "io_uring lacks IORING_FEAT_EXT_ARG (timed waits), which needs Linux 5.11 or newer",
        ));
    }
    if !params.is_feature_nodrop() {
        return Err(unsupported(
            "io_uring lacks IORING_FEAT_NODROP (no lost completions), which needs Linux 5.5 or newer",
        ));
    }
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "io_uring opcode probe failed ({e}); the kernel is too old (Linux 5.6+ needed)"
            ),
        )
    })?;
    if let Some(name) = missing_opcode(|code| probe.is_supported(code)) {
        return Err(unsupported(&format!(
            "io_uring on this kernel does not support {name}, which the runtime needs"
        )));
    }
    Ok(probe)
}

/// The first required opcode that `supported` says is missing.
pub(crate) fn missing_opcode(supported: impl Fn(u8) -> bool) -> Option<&'static str> {
    REQUIRED_OPCODES
        .iter()
        .find(|(code, _)| !supported(*code))
        .map(|(_, name)| *name)
}

fn unsupported(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, msg.to_owned())
}

fn read_disabled_sysctl() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Turns an `io_uring_setup` failure into an error that names the cause.
/// `disabled` is the value of `kernel.io_uring_disabled`, if readable.
pub(crate) fn explain_setup_error(e: io::Error, disabled: Option<u32>) -> io::Error {
    let why = match (e.raw_os_error(), disabled) {
        (Some(libc::ENOSYS), _) => {
            "io_uring is not available: the kernel lacks it (Linux 5.11+ needed) or a seccomp \
             filter (container runtime) blocks io_uring_setup"
        }
        (Some(libc::EPERM), Some(2)) => "io_uring is disabled by sysctl kernel.io_uring_disabled=2",
        (Some(libc::EPERM), Some(1)) => {
            "io_uring is restricted by sysctl kernel.io_uring_disabled=1 to members of \
             kernel.io_uring_group, and this process is not one"
        }
        (Some(libc::EPERM), _) => {
            "io_uring_setup was refused (EPERM): blocked by seccomp or a security module"
        }
        (Some(libc::ENOMEM), _) => {
            "io_uring_setup ran out of locked memory: raise RLIMIT_MEMLOCK (ulimit -l) or \
             use a smaller ring"
        }
        (Some(libc::EMFILE) | Some(libc::ENFILE), _) => {
            "io_uring_setup could not get a file descriptor (EMFILE/ENFILE): raise ulimit -n"
        }
        (Some(libc::EINVAL), _) => {
            "io_uring_setup rejected every flag combination (EINVAL): the kernel is too old \
             (Linux 5.11+ needed)"
        }
        _ => "io_uring_setup failed",
    };
    io::Error::new(e.kind(), format!("{why} ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_disabled_is_named() {
        let e = explain_setup_error(io::Error::from_raw_os_error(libc::EPERM), Some(2));
        assert!(e.to_string().contains("kernel.io_uring_disabled=2"), "{e}");
        let e = explain_setup_error(io::Error::from_raw_os_error(libc::EPERM), Some(1));
        assert!(e.to_string().contains("io_uring_group"), "{e}");
    }

    #[test]
    fn seccomp_and_old_kernel_are_named() {
        let e = explain_setup_error(io::Error::from_raw_os_error(libc::ENOSYS), Some(0));
        assert!(e.to_string().contains("seccomp"), "{e}");
        assert!(e.to_string().contains("5.11"), "{e}");
        let e = explain_setup_error(io::Error::from_raw_os_error(libc::EPERM), None);
        assert!(e.to_string().contains("seccomp"), "{e}");
    }

    #[test]
    fn memlock_is_named() {
        let e = explain_setup_error(io::Error::from_raw_os_error(libc::ENOMEM), None);
        assert!(e.to_string().contains("RLIMIT_MEMLOCK"), "{e}");
    }

    #[test]
    fn missing_opcode_is_named() {
        assert_eq!(missing_opcode(|_| true), None);
        let no_shutdown = |code| code != opcode::Shutdown::CODE;
        assert_eq!(missing_opcode(no_shutdown), Some("IORING_OP_SHUTDOWN"));
    }
}
