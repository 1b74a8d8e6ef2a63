//! A task whose awaits are always ready cannot starve other tasks or the
//! ring: when the cooperative budget runs out, the task runs again only
//! after the others and the shard's next visit to the ring.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

#[test]
fn always_ready_task_does_not_starve_others() {
    shardio::block_on(async {
        let flag = Rc::new(Cell::new(false));
        let f = flag.clone();
        let spinner = shardio::spawn(async move {
            let mut iterations = 0u64;
            // Each sleep(0) is ready at once; without a budget this loop would
            // never return control to the executor.
            while !f.get() {
                shardio::time::sleep(Duration::ZERO).await;
                iterations += 1;
                assert!(iterations < 10_000_000, "the other task never ran");
            }
            iterations
        });
        let f = flag.clone();
        shardio::spawn(async move { f.set(true) });
        let iterations = spinner.await.unwrap();
        assert!(iterations >= 1);
    })
    .unwrap();
}

#[test]
fn always_ready_task_does_not_starve_io() {
    shardio::block_on(async {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        // Completions must still be reaped while the spinner runs.
        shardio::spawn(async move {
            shardio::nop().await.unwrap();
            d.set(true);
        });
        let mut iterations = 0u64;
        while !done.get() {
            shardio::time::sleep(Duration::ZERO).await;
            iterations += 1;
            assert!(iterations < 10_000_000, "the nop never completed");
        }
    })
    .unwrap();
}

#[test]
fn a_spent_budget_lets_completions_in_at_once() {
    shardio::block_on(async {
        // A thousand finished tasks: awaiting each handle is always ready.
        let handles: Vec<_> = (0..1000)
            .map(|i| shardio::spawn(async move { i }))
            .collect();
        shardio::yield_now().await;
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        shardio::spawn_detached(async move {
            shardio::nop().await.unwrap();
            d.set(true);
        });
        // The budget runs out after 128 ready handles. The NOP's task then
        // runs and queues its NOP, and the shard must submit and reap
        // before this task is polled again: the completion comes in while
        // handles are left.
        let mut awaited_before_done = None;
        for (n, handle) in handles.into_iter().enumerate() {
            assert_eq!(handle.await.unwrap(), n);
            if done.get() && awaited_before_done.is_none() {
                awaited_before_done = Some(n);
            }
        }
        let n = awaited_before_done.expect("the NOP completed only after every handle");
        assert!(
            n <= 2 * 128,
            "{n} ready handles before a ready completion came in"
        );
    })
    .unwrap();
}
