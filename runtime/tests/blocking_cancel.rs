//! A `spawn_blocking` future dropped before the pool starts its closure:
//! the closure never runs. Its own test binary, because the pool is made
//! one thread wide here (`BLOCKING_MAX_THREADS=1`, read when the pool
//! starts), so that a closure can be kept waiting behind another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

#[test]
fn a_future_dropped_before_its_closure_starts_never_runs_it() {
    std::env::set_var("BLOCKING_MAX_THREADS", "1");
    let ran = Arc::new(AtomicBool::new(false));
    let ran_in_closure = ran.clone();
    shardio::block_on(async move {
        // The pool's one thread is kept busy until `release` is sent.
        let (release, released) = mpsc::channel::<()>();
        let busy = shardio::spawn_blocking(move || released.recv().is_ok());
        let queued = shardio::spawn_blocking(move || ran_in_closure.store(true, Ordering::SeqCst));
        drop(queued);
        release.send(()).unwrap();
        assert!(busy.await);
        // The pool runs its queue in order on its one thread: once a
        // closure queued after the dropped one has run, the dropped one
        // would have run before it.
        shardio::spawn_blocking(|| ()).await;
    })
    .unwrap();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a closure ran after its future was dropped"
    );
}
