//! `spawn_blocking`: the closure runs off the shard, the shard keeps
//! running meanwhile, closures run side by side, a dropped future leaks
//! nothing, a panic reaches the task that awaits it, and names are
//! resolved on the pool.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn the_closure_runs_on_another_thread_and_its_result_comes_back() {
    let shard_thread = thread::current().id();
    let (value, ran_on) = shardio::block_on(async {
        shardio::spawn_blocking(|| (6 * 7, thread::current().id())).await
    })
    .unwrap();
    assert_eq!(value, 42);
    assert_ne!(ran_on, shard_thread, "the closure ran on the shard");
}

#[test]
fn the_shard_keeps_running_while_a_closure_blocks() {
    shardio::block_on(async {
        let (release, released) = mpsc::channel::<()>();
        // The closure blocks until a task on the shard lets it go: were it
        // run on the shard, nothing could ever release it.
        let blocked = shardio::spawn_blocking(move || released.recv().is_ok());
        let releaser = shardio::spawn(async move {
            shardio::time::sleep(Duration::from_millis(10)).await;
            release.send(()).unwrap();
        });
        assert!(blocked.await);
        releaser.await.unwrap();
    })
    .unwrap();
}

#[test]
fn closures_run_side_by_side() {
    const N: usize = 8;
    // Every closure waits at the barrier until all N are waiting: this
    // completes only if the pool runs them at once.
    let barrier = Arc::new(Barrier::new(N));
    let leaders = shardio::block_on(async move {
        let waits: Vec<_> = (0..N)
            .map(|_| {
                let barrier = barrier.clone();
                shardio::spawn_blocking(move || barrier.wait().is_leader())
            })
            .collect();
        let mut leaders = 0;
        for wait in waits {
            leaders += usize::from(wait.await);
        }
        leaders
    })
    .unwrap();
    assert_eq!(leaders, 1);
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_future_dropped_while_its_closure_runs_leaks_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (started_tx, started) = mpsc::channel();
    let (finish, finish_rx) = mpsc::channel::<()>();
    let (done_tx, done) = mpsc::channel();
    let counted = Counted(drops.clone());
    shardio::block_on(async move {
        let fut = shardio::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            finish_rx.recv().unwrap();
            done_tx.send(()).unwrap();
            counted // the result, dropped on the pool's thread
        });
        // Poll it once so the closure is queued, wait for it to start,
        // then drop the future mid-flight.
        let mut fut = Box::pin(fut);
        let waker = std::task::Waker::noop();
        let polled = fut
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(polled.is_pending());
        started.recv().unwrap();
        drop(fut);
    })
    .unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "dropped before it was made"
    );
    finish.send(()).unwrap();
    done.recv().unwrap();
    // The closure has returned; its result is dropped right after.
    for _ in 0..1000 {
        if drops.load(Ordering::SeqCst) == 1 {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!("the result of a closure whose future was dropped was never dropped");
}

#[test]
fn a_panic_in_the_closure_reaches_the_awaiting_task() {
    let err = shardio::block_on(async {
        shardio::spawn(async {
            shardio::spawn_blocking(|| -> u8 { panic!("blocking boom") }).await
        })
        .await
    })
    .unwrap()
    .expect_err("the task should have panicked");
    assert!(err.is_panic());
    let payload = err.into_panic();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "blocking boom");
}

#[test]
fn names_are_resolved_off_the_shard_and_connected_to() {
    use shardio::net::{lookup_host, TcpListener, TcpStream};
    shardio::block_on(async {
        let literal = lookup_host("127.0.0.1:9").await.unwrap();
        assert_eq!(literal, vec!["127.0.0.1:9".parse().unwrap()]);
        // `localhost` comes from /etc/hosts, no network needed.
        let named = lookup_host(("localhost", 9)).await.unwrap();
        assert!(!named.is_empty());
        assert!(named.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        let err = lookup_host("no port here").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // `localhost` may resolve to ::1 first, which refuses; the next
        // address is tried.
        let accepting = shardio::spawn(async move { listener.accept().await.map(|_| ()) });
        let stream = TcpStream::connect(format!("localhost:{port}"))
            .await
            .unwrap();
        assert!(stream.peer_addr().unwrap().ip().is_loopback());
        accepting.await.unwrap().unwrap();
    })
    .unwrap();
}
