//! Where an [`AccessLog`](super::AccessLog)'s lines go: a writer that is
//! only ever written on the blocking pool ([`shardio::spawn_blocking`]),
//! so that a slow sink (a pipe nobody reads, a full disk, a terminal)
//! never stops the shard.
//!
//! The shard hands over whole batches of lines through a queue. Whoever
//! writes, a pool thread or an explicit [`flush`](super::AccessLog::flush),
//! holds the writer's lock while it takes batches off the queue, so the
//! batches reach the writer in the order they were queued.

use crossbeam_queue::SegQueue;
use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes queued for the writer beyond which new lines are dropped (and
/// counted) rather than kept: a stuck sink costs at most this much memory
/// per shard.
pub(super) const MAX_QUEUED: usize = 4 * 1024 * 1024;

/// What the shard and the pool's threads share.
struct Shared {
    writer: Mutex<Box<dyn Write + Send>>,
    batches: SegQueue<Vec<u8>>,
    /// Bytes in `batches`.
    queued: AtomicUsize,
}

impl Shared {
    /// Writes every queued batch, in order. Errors drop the batch: a failing
    /// log must not fail requests.
    fn drain(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.drain_into(&mut **writer);
    }

    /// [`drain`](Shared::drain) with the writer's lock already held.
    fn drain_into(&self, writer: &mut dyn Write) {
        let mut wrote = false;
        while let Some(batch) = self.batches.pop() {
            let _ = writer.write_all(&batch);
            self.queued.fetch_sub(batch.len(), Ordering::AcqRel);
            wrote = true;
        }
        if wrote {
            let _ = writer.flush();
        }
    }
}

/// The shard's end of the sink.
pub(super) struct LogSink {
    shared: Arc<Shared>,
    /// A pool write is queued or running; it drains whatever is queued
    /// before it ends.
    writing: Rc<Cell<bool>>,
    /// Lines dropped because [`MAX_QUEUED`] bytes were waiting.
    dropped: Cell<u64>,
}

impl LogSink {
    pub(super) fn new(writer: Box<dyn Write + Send>) -> LogSink {
        LogSink {
            shared: Arc::new(Shared {
                writer: Mutex::new(writer),
                batches: SegQueue::new(),
                queued: AtomicUsize::new(0),
            }),
            writing: Rc::new(Cell::new(false)),
            dropped: Cell::new(0),
        }
    }

    /// Whether `bytes` more may be buffered: `false` (and the line
    /// counted as dropped) while the writer is that far behind.
    pub(super) fn admits(&self, buffered: usize) -> bool {
        if self.shared.queued.load(Ordering::Acquire) + buffered < MAX_QUEUED {
            return true;
        }
        self.dropped.set(self.dropped.get() + 1);
        false
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Queues `batch` and makes sure a pool write will take it. Must run
    /// on a shard (it spawns the task that waits for the pool).
    pub(super) fn send(&self, batch: Vec<u8>) {
        self.queue(batch);
        if self.writing.replace(true) {
            return;
        }
        let shared = self.shared.clone();
        let writing = self.writing.clone();
        shardio::spawn_detached(async move {
            loop {
                let drained = shared.clone();
                shardio::spawn_blocking(move || drained.drain()).await;
                // A batch queued after the pool's last look is taken by
                // another round, not left for the next flush.
                if shared.batches.is_empty() {
                    break;
                }
            }
            writing.set(false);
        });
    }

    /// Queues `batch` and writes everything queued on this thread, after
    /// any pool write in progress.
    pub(super) fn send_now(&self, batch: Vec<u8>) {
        self.queue(batch);
        self.shared.drain();
    }

    /// The last lines, when the log is dropped: written on this thread
    /// if the writer is free, so they are out before the process can
    /// exit; handed to the pool if a write holds it (the sink may be
    /// stuck, and a shard shutting down must not wait for it).
    pub(super) fn send_last(&self, batch: Vec<u8>) {
        self.queue(batch);
        if self.shared.batches.is_empty() {
            return;
        }
        if let Ok(mut writer) = self.shared.writer.try_lock() {
            self.shared.drain_into(&mut **writer);
            return;
        }
        let shared = self.shared.clone();
        shardio::spawn_blocking(move || shared.drain()).detach();
    }

    fn queue(&self, batch: Vec<u8>) {
        if batch.is_empty() {
            return;
        }
        self.shared.queued.fetch_add(batch.len(), Ordering::AcqRel);
        self.shared.batches.push(batch);
    }
}
