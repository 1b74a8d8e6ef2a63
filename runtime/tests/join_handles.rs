//! Spawn, join, abort, panics, yield.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Counts its drops.
struct Count(Rc<Cell<i32>>);

impl Drop for Count {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn join_returns_output() {
    let out = shardio::block_on(async { shardio::spawn(async { 7 }).await.unwrap() }).unwrap();
    assert_eq!(out, 7);
}

#[test]
fn abort_cancels_and_drops_the_task() {
    shardio::block_on(async {
        struct Flag(Rc<Cell<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let flag = Flag(dropped.clone());
        let task = shardio::spawn(async move {
            let _flag = flag;
            shardio::time::sleep(Duration::from_secs(3600)).await;
        });
        shardio::yield_now().await;
        task.abort();
        let err = task.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(dropped.get());
        let s = shardio::stats();
        assert_eq!(s.tasks_alive, 0);
        assert_eq!(s.timers_pending, 0);
    })
    .unwrap();
}

#[test]
fn task_can_abort_itself() {
    shardio::block_on(async {
        let slot: Rc<Cell<Option<shardio::JoinHandle<()>>>> = Rc::default();
        let s = slot.clone();
        let task = shardio::spawn(async move {
            shardio::yield_now().await;
            if let Some(me) = s.take() {
                me.abort();
            }
            shardio::yield_now().await;
            unreachable!("aborted task polled again");
        });
        // Keep a second view of completion through tasks_alive.
        slot.set(Some(task));
        for _ in 0..10 {
            shardio::yield_now().await;
        }
        assert_eq!(shardio::stats().tasks_alive, 0);
    })
    .unwrap();
}

#[test]
fn panic_in_task_is_reported_and_shard_survives() {
    shardio::block_on(async {
        let task = shardio::spawn(async {
            panic!("boom");
        });
        let err = task.await.unwrap_err();
        assert!(err.is_panic());
        assert!(err.to_string().contains("boom"));
        // The shard keeps working.
        assert_eq!(shardio::spawn(async { 1 }).await.unwrap(), 1);
    })
    .unwrap();
}

#[test]
fn detached_tasks_are_dropped_when_block_on_returns() {
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    shardio::block_on(async move {
        for _ in 0..10 {
            let c = Count(d.clone());
            drop(shardio::spawn(async move {
                let _c = c;
                shardio::time::sleep(Duration::from_secs(3600)).await;
            }));
        }
        shardio::yield_now().await;
    })
    .unwrap();
    assert_eq!(dropped.get(), 10);
}

#[test]
fn spawn_detached_runs_survives_a_panic_and_is_dropped_at_the_end() {
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    shardio::block_on(async move {
        let ran = Rc::new(Cell::new(0));
        for _ in 0..3 {
            let r = ran.clone();
            shardio::spawn_detached(async move {
                shardio::time::sleep(Duration::from_millis(1)).await;
                r.set(r.get() + 1);
            });
        }
        // A panicking detached task ends alone; its locals are dropped.
        let c = Count(d.clone());
        shardio::spawn_detached(async move {
            let _c = c;
            shardio::yield_now().await;
            panic!("detached boom");
        });
        // One still sleeping when `block_on` returns is dropped then.
        let c = Count(d.clone());
        shardio::spawn_detached(async move {
            let _c = c;
            shardio::time::sleep(Duration::from_secs(3600)).await;
        });
        shardio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(ran.get(), 3);
        assert_eq!(d.get(), 1, "the panicked task's locals are dropped");
        assert_eq!(shardio::stats().tasks_alive, 1);
        assert_eq!(shardio::spawn(async { 1 }).await.unwrap(), 1);
    })
    .unwrap();
    assert_eq!(dropped.get(), 2);
}

#[test]
fn nested_block_on_is_an_error() {
    shardio::block_on(async {
        let err = shardio::block_on(async {}).unwrap_err();
        assert!(err.to_string().contains("already running"), "{err}");
    })
    .unwrap();
}

#[test]
fn io_outside_a_shard_is_an_error() {
    let err = futures_lite_block(shardio::nop()).unwrap_err();
    assert!(err.to_string().contains("not on a shardio shard"), "{err}");
}

/// Polls a future once on the test thread (no shard).
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::noop();
    match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("expected an immediate result"),
    }
}

#[test]
fn a_task_that_spawns_thousands_in_one_poll_runs_on() {
    // The spawns grow the executor's task table, moving its entries,
    // while the spawning task is being polled: the poll must not depend
    // on where its own entry was. Each spawned task also wakes itself
    // through a clone of the waker its poll was given, which must outlive
    // that poll.
    let out = shardio::block_on(async {
        let spawner = shardio::spawn(async {
            let tasks: Vec<_> = (0..5_000u64)
                .map(|i| {
                    shardio::spawn(async move {
                        let waker =
                            std::future::poll_fn(|cx| std::task::Poll::Ready(cx.waker().clone()))
                                .await;
                        waker.wake();
                        shardio::yield_now().await;
                        i
                    })
                })
                .collect();
            shardio::yield_now().await;
            let mut sum = 0;
            for task in tasks {
                sum += task.await.unwrap();
            }
            sum
        });
        let sum = spawner.await.unwrap();
        let stats = shardio::stats();
        (sum, stats.tasks_alive)
    })
    .unwrap();
    assert_eq!(out.0, (0..5_000u64).sum::<u64>());
    assert_eq!(out.1, 0, "every task finished and was dropped");
}
