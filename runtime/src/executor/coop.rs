//! The cooperative budget.
//!
//! Every task poll starts with a budget of [`BUDGET`] units. Each resource
//! that is *ready* when polled (an op result, an elapsed timer, a finished
//! join handle) spends one. When the budget is gone the resource answers
//! `Pending` and wakes the task after the shard's next visit to the ring
//! instead, so a task whose awaits are always ready runs behind the other
//! ready tasks and the completions that came in, and starves neither.

use std::cell::Cell;
use std::task::Context;

/// Ready resources a task may consume in one poll.
pub(crate) const BUDGET: u32 = 128;

thread_local! {
    // Outside a task poll (no shard, or a shard's main future) the budget is
    // reset like a task's.
    static REMAINING: Cell<u32> = const { Cell::new(BUDGET) };
}

/// Resets the budget before a task is polled.
pub(crate) fn reset() {
    REMAINING.with(|r| r.set(BUDGET));
}

/// Spends one unit. Returns `false` when the budget is exhausted, having
/// arranged the task's wake past the ring: the caller must then return
/// `Pending`.
pub(crate) fn consume(cx: &mut Context<'_>) -> bool {
    REMAINING.with(|r| {
        let left = r.get();
        if left == 0 {
            super::wake_after_ring(cx);
            false
        } else {
            r.set(left - 1);
            true
        }
    })
}
