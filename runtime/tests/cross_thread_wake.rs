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
        // A lost wakeup would hang forever; a slow one shows up here. The
        // bound leaves room for a virtual host pausing the test itself
        // (over a second has been seen); a wake takes microseconds.
        assert!(
            slowest < Duration::from_secs(3),
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

/// A task's waker may outlive the task on another thread, holding the last
/// reference to it: the task's future (and what it owns) is still dropped
/// on the shard, and a late wake from there does nothing.
#[test]
fn a_waker_that_outlives_its_task_elsewhere_never_drops_the_future_there() {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::thread::ThreadId;

    struct DropsOn(Rc<Cell<Option<ThreadId>>>);
    impl Drop for DropsOn {
        fn drop(&mut self) {
            self.0.set(Some(std::thread::current().id()));
        }
    }

    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let holder = std::thread::spawn(move || {
        let wakers = [rx.recv().unwrap(), rx.recv().unwrap()];
        // Wait until the tasks are long gone, then wake them and drop the
        // last references here.
        std::thread::sleep(Duration::from_millis(100));
        for waker in wakers {
            waker.wake_by_ref();
            drop(waker);
        }
    });
    shardio::block_on(async move {
        let dropped_on = Rc::new(Cell::new(None));
        for detached in [false, true] {
            dropped_on.set(None);
            let owned = DropsOn(dropped_on.clone());
            let tx = tx.clone();
            let task = async move {
                let _owned = owned;
                poll_fn(|cx| {
                    tx.send(cx.waker().clone()).unwrap();
                    Poll::Ready(())
                })
                .await;
            };
            if detached {
                shardio::spawn_detached(task);
                shardio::yield_now().await;
            } else {
                shardio::spawn(task).await.unwrap();
            }
            assert_eq!(dropped_on.get(), Some(std::thread::current().id()));
        }
        shardio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(shardio::stats().tasks_alive, 0);
    })
    .unwrap();
    holder.join().unwrap();
}
