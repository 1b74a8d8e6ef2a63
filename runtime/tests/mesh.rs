//! Messages between shards: `submit_to` and `Mesh<T>`, their errors,
//! backpressure, and the race between a message and its target going to
//! sleep.

use shardio::mesh::{submit_to, Mesh};
use shardio::time::sleep;
use shardio::Runtime;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn runtime(shards: usize, msg_ring: bool) -> Runtime {
    Runtime::builder()
        .shards(shards)
        .pin_to_cores(false)
        .msg_ring_doorbell(msg_ring)
        .message_capacity(8)
        .build()
        .unwrap()
}

/// Fails the test (instead of hanging CI) if `f` does not finish in time: a
/// lost wakeup shows up as a hang.
fn within<R: Send>(limit: Duration, f: impl FnOnce() -> R + Send) -> R {
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > limit {
                    eprintln!("no progress for {limit:?}: a wakeup was lost");
                    std::process::abort();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let r = f();
    done.store(true, Ordering::SeqCst);
    watchdog.join().unwrap();
    r
}

#[test]
fn submit_to_runs_on_the_target_and_returns_its_result() {
    let done = Mesh::<()>::new(2, 1);
    runtime(2, true)
        .run(|shard| {
            let done = done.clone();
            async move {
                if shard.id() == 0 {
                    let (id, thread) = submit_to(1, || {
                        (
                            shardio::current().unwrap().id(),
                            std::thread::current().id(),
                        )
                    })
                    .await?;
                    assert_eq!(id, 1);
                    assert_ne!(thread, std::thread::current().id());
                    // To itself.
                    assert_eq!(submit_to(0, || 5).await?, 5);
                    let err = submit_to(2, || ()).await.unwrap_err();
                    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
                    // A panicking closure is an error; the target lives on.
                    let err = submit_to(1, || panic!("boom")).await.unwrap_err();
                    assert!(err.to_string().contains("panicked"), "{err}");
                    assert_eq!(submit_to(1, || 7).await?, 7);
                    assert!(shardio::stats().messages_sent >= 4);
                    done.send_to(1, ()).await?;
                } else {
                    done.recv().await?;
                }
                Ok(())
            }
        })
        .unwrap();
}

#[test]
fn submit_to_a_stopped_shard_fails() {
    runtime(2, true)
        .run(|shard| async move {
            if shard.id() == 0 {
                sleep(Duration::from_millis(100)).await;
                let err = submit_to(1, || ()).await.unwrap_err();
                assert!(err.to_string().contains("stopped"), "{err}");
            }
            Ok(())
        })
        .unwrap();
    assert!(shardio::block_on(async { submit_to(0, || 1).await.unwrap() }).unwrap() == 1);
}

/// Every shard sends numbered messages to every shard; each lane must
/// deliver all of them, in order.
#[test]
fn mesh_all_to_all_in_order() {
    const SHARDS: usize = 3;
    const PER_LANE: u64 = 20_000;
    let mesh = Mesh::<(usize, u64)>::new(SHARDS, 16);
    within(Duration::from_secs(60), || {
        runtime(SHARDS, true)
            .run(|shard| {
                let mesh = mesh.clone();
                async move {
                    let me = shard.id();
                    let receiver = shardio::spawn({
                        let mesh = mesh.clone();
                        async move {
                            let mut next = [0u64; SHARDS];
                            for _ in 0..PER_LANE * SHARDS as u64 {
                                let (from, (claimed, n)) = mesh.recv().await.unwrap();
                                assert_eq!(from, claimed);
                                assert_eq!(n, next[from], "lane {from}->{me} out of order");
                                next[from] += 1;
                            }
                        }
                    });
                    for n in 0..PER_LANE {
                        for to in 0..SHARDS {
                            mesh.send_to(to, (me, n)).await?;
                        }
                    }
                    receiver.await.unwrap();
                    let s = shardio::stats();
                    assert_eq!(s.messages_received, PER_LANE * SHARDS as u64);
                    Ok(())
                }
            })
            .unwrap();
    });
}

/// A full lane makes the sender wait — without spinning — until the
/// receiver makes room.
#[test]
fn full_lane_makes_the_sender_wait_not_spin() {
    const CAPACITY: usize = 4;
    let mesh = Mesh::<u32>::new(2, CAPACITY);
    let sent = Arc::new(AtomicU64::new(0));
    runtime(2, true)
        .run(|shard| {
            let (mesh, sent) = (mesh.clone(), sent.clone());
            async move {
                if shard.id() == 0 {
                    for n in 0..100 {
                        mesh.send_to(1, n).await?;
                        sent.fetch_add(1, Ordering::SeqCst);
                    }
                } else {
                    // Let the sender fill the lane and block.
                    sleep(Duration::from_millis(100)).await;
                    assert_eq!(sent.load(Ordering::SeqCst), CAPACITY as u64);
                    for n in 0..100 {
                        let (from, got) = mesh.recv().await?;
                        assert_eq!((from, got), (0, n));
                    }
                }
                Ok(())
            }
        })
        .unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 100);
}

/// The sender's shard, blocked on a full lane, sleeps in its ring: it makes
/// only a handful of ring calls while it waits.
#[test]
fn blocked_sender_sleeps() {
    let mesh = Mesh::<u32>::new(2, 1);
    let calls = Arc::new(AtomicU64::new(0));
    runtime(2, true)
        .run(|shard| {
            let (mesh, calls) = (mesh.clone(), calls.clone());
            async move {
                if shard.id() == 0 {
                    mesh.send_to(1, 0).await?;
                    let before = shardio::stats().submit_calls;
                    mesh.send_to(1, 1).await?; // waits ~200 ms for room
                    calls.store(shardio::stats().submit_calls - before, Ordering::SeqCst);
                } else {
                    sleep(Duration::from_millis(200)).await;
                    mesh.recv().await?;
                    mesh.recv().await?;
                }
                Ok(())
            }
        })
        .unwrap();
    let calls = calls.load(Ordering::SeqCst);
    assert!(
        calls < 20,
        "the blocked sender spun: {calls} ring calls in 200 ms"
    );
}

/// Ping-pong where the target is, every round, just going to sleep: a lost
/// wakeup hangs (and the watchdog fails the test). Both doorbells.
fn ping_pong(msg_ring: bool) {
    const ROUNDS: u64 = 20_000;
    let mesh = Mesh::<u64>::new(2, 1);
    within(Duration::from_secs(60), || {
        runtime(2, msg_ring)
            .run(|shard| {
                let mesh = mesh.clone();
                async move {
                    let me = shard.id();
                    for n in 0..ROUNDS {
                        if me == 0 {
                            mesh.send_to(1, n).await?;
                            assert_eq!(mesh.recv().await?, (1, n));
                            // And the closure path, every tenth round.
                            if n % 10 == 0 {
                                assert_eq!(submit_to(1, move || n * 2).await?, n * 2);
                            }
                        } else {
                            let (_, got) = mesh.recv().await?;
                            mesh.send_to(0, got).await?;
                        }
                    }
                    Ok(())
                }
            })
            .unwrap();
    });
}

#[test]
fn sleep_race_msg_ring_doorbell() {
    ping_pong(true);
}

#[test]
fn sleep_race_eventfd_doorbell() {
    ping_pong(false);
}
