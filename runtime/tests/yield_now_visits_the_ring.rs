//! `yield_now` lets the ring in: a task that yields between slices of a
//! computation sees completions after one yield, even with no other task
//! ready to run.

use std::cell::Cell;
use std::rc::Rc;

#[test]
fn a_yield_lets_completions_in_even_alone() {
    shardio::block_on(async {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        shardio::spawn_detached(async move {
            shardio::nop().await.unwrap();
            d.set(true);
        });
        // The spawned task runs first and submits its NOP; from then on
        // this loop is the only ready task. Its first yield must let the
        // shard submit and reap, and its second find the task woken and run.
        let mut yields = 0;
        while !done.get() {
            shardio::yield_now().await;
            yields += 1;
            assert!(yields < 1000, "the NOP's completion never came in");
        }
        assert!(
            yields <= 3,
            "{yields} yields before a ready completion came in"
        );
    })
    .unwrap();
}

#[test]
fn yielding_tasks_take_turns() {
    shardio::block_on(async {
        let turns = Rc::new(Cell::new(Vec::new()));
        let mut tasks = Vec::new();
        for id in 0..3 {
            let turns = turns.clone();
            tasks.push(shardio::spawn(async move {
                for _ in 0..3 {
                    let mut t = turns.take();
                    t.push(id);
                    turns.set(t);
                    shardio::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(turns.take(), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    })
    .unwrap();
}
