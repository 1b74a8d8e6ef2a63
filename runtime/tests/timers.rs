//! Sleep, sleep_until, timeout and interval on the timer wheel, including
//! 100,000 pending deadlines on one shard.

use shardio::time::{interval, sleep, sleep_until, timeout};
use std::future::Future;
use std::task::Poll;
use std::time::{Duration, Instant};

#[test]
fn sleep_never_fires_early() {
    shardio::block_on(async {
        for ms in [1u64, 3, 10, 25, 70] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms));
        }
        let deadline = Instant::now() + Duration::from_millis(15);
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
    })
    .unwrap();
}

/// A deadline the wheel has already passed completes on its first poll,
/// without a clock read and without waiting for another turn of the loop.
#[test]
fn a_deadline_the_wheel_passed_is_ready_at_once() {
    shardio::block_on(async {
        let past = Instant::now();
        sleep(Duration::from_millis(5)).await;
        let mut late = std::pin::pin!(sleep_until(past));
        let first = std::future::poll_fn(|cx| Poll::Ready(late.as_mut().poll(cx))).await;
        assert!(first.is_ready());
        // A pending future under an elapsed timeout gives up the same way.
        let r = timeout(Duration::ZERO, std::future::pending::<()>());
        let mut r = std::pin::pin!(r);
        sleep(Duration::from_millis(2)).await;
        assert!(r.as_mut().await.is_err());
    })
    .unwrap();
}

#[test]
fn concurrent_sleeps_complete_in_deadline_order() {
    shardio::block_on(async {
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let tasks: Vec<_> = [50u64, 10, 30, 20, 40]
            .into_iter()
            .map(|ms| {
                let order = order.clone();
                shardio::spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    order.borrow_mut().push(ms);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.borrow(), vec![10, 20, 30, 40, 50]);
    })
    .unwrap();
}

#[test]
fn hundred_thousand_pending_timers() {
    shardio::block_on(async {
        let fired = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let mut tasks = Vec::with_capacity(100_000);
        for i in 0..100_000u64 {
            let fired = fired.clone();
            tasks.push(shardio::spawn(async move {
                // Half time out soon, half are cancelled while pending.
                if i % 2 == 0 {
                    sleep(Duration::from_millis(20 + i % 50)).await;
                    fired.set(fired.get() + 1);
                } else {
                    sleep(Duration::from_secs(3600 + i)).await;
                }
            }));
        }
        shardio::yield_now().await;
        assert_eq!(shardio::stats().timers_pending, 100_000);
        for (i, t) in tasks.into_iter().enumerate() {
            if i % 2 == 1 {
                t.abort();
            } else {
                t.await.unwrap();
            }
        }
        shardio::yield_now().await;
        assert_eq!(fired.get(), 50_000);
        assert_eq!(shardio::stats().timers_pending, 0);
    })
    .unwrap();
}

#[test]
fn timeout_passes_through_a_fast_future() {
    shardio::block_on(async {
        let v = timeout(Duration::from_secs(1), async { 5 }).await.unwrap();
        assert_eq!(v, 5);
        let e = timeout(Duration::from_millis(5), sleep(Duration::from_secs(1)))
            .await
            .unwrap_err();
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    })
    .unwrap();
}

#[test]
fn a_timeout_is_its_future_and_a_sleep_side_by_side() {
    // Code that wraps every write in a timeout keeps its futures small: the
    // wrapper holds the future once, not once as an argument and again
    // inside a nested future.
    let inner = async {
        let big = [7u8; 512];
        sleep(Duration::from_millis(1)).await;
        big[3]
    };
    let inner_size = std::mem::size_of_val(&inner);
    let deadline = Instant::now() + Duration::from_secs(5);
    let t = shardio::time::timeout_at(deadline, inner);
    assert!(std::mem::size_of_val(&t) <= inner_size + std::mem::size_of::<shardio::time::Sleep>());
    assert_eq!(t.deadline(), deadline);
    let inner = t.into_inner();
    assert_eq!(shardio::block_on(inner).unwrap(), 7);
}

#[test]
fn interval_ticks_at_its_period_and_skips_missed_ticks() {
    shardio::block_on(async {
        let mut iv = interval(Duration::from_millis(10));
        let start = Instant::now();
        let first = iv.tick().await;
        assert!(
            first <= start + Duration::from_millis(1),
            "the first tick is immediate"
        );
        let t1 = iv.tick().await;
        let t2 = iv.tick().await;
        assert_eq!(t2 - t1, Duration::from_millis(10));
        assert!(Instant::now() >= t2);
        // Block the shard for 5 periods: the missed ticks are skipped.
        std::thread::sleep(Duration::from_millis(55));
        // The first missed tick is still answered, at once and as scheduled;
        // the ones after it are skipped, so the next is the first on the
        // period's grid after the shard woke: at least 5 periods on.
        let late = iv.tick().await;
        assert_eq!(late, t2 + Duration::from_millis(10));
        let next = iv.tick().await;
        let gap = next - late;
        assert_eq!(gap.as_nanos() % Duration::from_millis(10).as_nanos(), 0);
        assert!(
            gap >= Duration::from_millis(50),
            "missed ticks skipped: {gap:?}"
        );
        assert!(Instant::now() >= next);
    })
    .unwrap();
}

#[test]
fn coarse_now_is_the_turns_start_never_ahead_of_the_clock() {
    use shardio::time::coarse_now;
    shardio::block_on(async {
        let turn = coarse_now();
        assert!(turn <= Instant::now());
        // Within one poll the turn does not move.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(coarse_now(), turn);
        assert!(Instant::now() - turn >= Duration::from_millis(5));
        // A later turn starts at a later read.
        let before = Instant::now();
        sleep(Duration::from_millis(3)).await;
        let later = coarse_now();
        assert!(later >= before + Duration::from_millis(3));
        assert!(later <= Instant::now());
    })
    .unwrap();
    // Off a shard it is the clock.
    let before = Instant::now();
    assert!(coarse_now() >= before);
}
