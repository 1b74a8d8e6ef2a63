//! With io_uring disabled by sysctl, starting a shard fails with an error
//! that names the sysctl — no panic. Needs root and a writable
//! /proc/sys/kernel/io_uring_disabled; skips with a message otherwise.
//! (Cargo runs test binaries one at a time, so flipping the sysctl here does
//! not disturb other tests; a guard restores it even if an assertion fails.)

use std::fs;

const SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

struct Restore(String);

impl Drop for Restore {
    fn drop(&mut self) {
        fs::write(SYSCTL, &self.0).expect("restore kernel.io_uring_disabled");
    }
}

#[test]
fn io_uring_disabled_by_sysctl_is_named() {
    let Ok(original) = fs::read_to_string(SYSCTL) else {
        eprintln!("skipped: {SYSCTL} does not exist (kernel older than 6.6)");
        return;
    };
    if fs::write(SYSCTL, "2").is_err() {
        eprintln!("skipped: {SYSCTL} is not writable (needs root outside a read-only /proc)");
        return;
    }
    let _restore = Restore(original);

    let err = shardio::block_on(async {}).unwrap_err();
    assert!(
        err.to_string().contains("kernel.io_uring_disabled=2"),
        "error does not name the sysctl: {err}"
    );

    let err = shardio::Runtime::builder()
        .shards(1)
        .pin_to_cores(false)
        .build()
        .unwrap()
        .run(|_| async { Ok(()) })
        .unwrap_err();
    assert!(
        err.to_string().contains("shard 0: io_uring is disabled"),
        "{err}"
    );
}
