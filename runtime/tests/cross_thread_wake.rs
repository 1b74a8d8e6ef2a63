//! Wakers are Send + Sync: a task woken from another thread runs, and no wake
//! is lost when it races with the shard going to sleep.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn fire(&self) {
        self.set.store(true, Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }

    async fn wait(&self) {
        poll_fn(|cx| {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.set.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn cross_thread_wake_never_lost() {
    shardio::block_on(async {
        let mut slowest = Duration::ZERO;
        for i in 0..5_000u32 {
            let signal = Arc::new(Signal::default());
            let remote = signal.clone();
            // Vary the delay so the wake lands before, during and after the
            // shard's transition to sleep.
            let spin = (i % 50) * 20;
            let t = std::thread::spawn(move || {
                for _ in 0..spin {
                    std::hint::spin_loop();
                }
                remote.fire();
            });
            let start = Instant::now();
            // No timer is pending: only the doorbell can wake the shard.
            signal.wait().await;
            slowest = slowest.max(start.elapsed());
            t.join().unwrap();
        }
        // A lost wakeup would hang forever; a slow one shows up here.
        assert!(
            slowest < Duration::from_secs(1),
            "a remote wake took {slowest:?}"
        );
    })
    .unwrap();
}

#[test]
fn spawned_task_woken_from_many_threads() {
    shardio::block_on(async {
        let signals: Vec<Arc<Signal>> = (0..64).map(|_| Arc::default()).collect();
        let tasks: Vec<_> = signals
            .iter()
            .map(|s| {
                let s = s.clone();
                shardio::spawn(async move { s.wait().await })
            })
            .collect();
        shardio::yield_now().await;
        let threads: Vec<_> = signals
            .iter()
            .map(|s| {
                let s = s.clone();
                std::thread::spawn(move || s.fire())
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
    })
    .unwrap();
}
