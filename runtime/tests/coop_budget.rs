//! A task whose awaits are always ready cannot starve other tasks: the
//! cooperative budget sends it to the back of the queue.

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
