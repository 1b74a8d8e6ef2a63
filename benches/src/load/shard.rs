//! One shard of the generator: its share of the connections, its own
//! numbers, and (when the progress line is on) a flush of those numbers to
//! the printer every [`FLUSH`].

use super::live::Live;
use super::stats::{histogram, nanos, ErrorKind, Stats};
use super::{conn, Config};
use bytes::Bytes;
use hdrhistogram::Histogram;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLUSH: Duration = Duration::from_millis(200);

/// What a shard's connections share.
pub(crate) struct ShardCtx {
    pub(crate) config: Arc<Config>,
    /// The request bytes (a whole pipelined batch), shared by every write.
    pub(crate) request: Bytes,
    /// The schedule's origin: the warm-up starts here.
    pub(crate) start: Instant,
    /// The measurement window is `measure_from..end`.
    pub(crate) measure_from: Instant,
    pub(crate) end: Instant,
    stats: RefCell<Stats>,
    /// Only when the progress line is on.
    feed: Option<Feed>,
}

/// What the shard saw since its last flush to the progress line.
struct Feed {
    live: Arc<Live>,
    latencies: RefCell<Histogram<u64>>,
    errors: Cell<u64>,
}

impl ShardCtx {
    pub(crate) fn response_if(&self, counted: bool, status: u16, latency: Duration) {
        if counted {
            self.stats.borrow_mut().response(status, latency);
        }
        if let Some(feed) = &self.feed {
            feed.latencies
                .borrow_mut()
                .saturating_record(nanos(latency));
        }
    }

    pub(crate) fn error_if(&self, counted: bool, kind: ErrorKind, requests: u64) {
        if counted {
            self.error(kind, requests);
        }
    }

    pub(crate) fn error(&self, kind: ErrorKind, requests: u64) {
        self.stats.borrow_mut().error(kind, requests);
        if let Some(feed) = &self.feed {
            feed.errors.set(feed.errors.get() + requests);
        }
    }

    pub(crate) fn sent_if(&self, counted: bool, requests: u64) {
        if counted {
            self.stats.borrow_mut().sent += requests;
        }
    }

    pub(crate) fn bytes_if(&self, counted: bool, n: u64) {
        if counted {
            self.stats.borrow_mut().bytes += n;
        }
    }

    fn flush(&self) {
        if let Some(feed) = &self.feed {
            let mut latencies = feed.latencies.borrow_mut();
            feed.live.add(&latencies, feed.errors.replace(0));
            latencies.reset();
        }
    }
}

/// Runs shard `id` of `shards`: connections `id, id + shards, …` until the
/// window ends and their last requests are answered or timed out.
pub(crate) async fn run(
    config: Arc<Config>,
    request: Bytes,
    start: Instant,
    id: usize,
    shards: usize,
    live: Option<Arc<Live>>,
) -> Stats {
    let measure_from = start + config.warmup;
    let ctx = Rc::new(ShardCtx {
        request,
        start,
        measure_from,
        end: measure_from + config.duration,
        stats: RefCell::new(Stats::default()),
        feed: live.map(|live| Feed {
            live,
            latencies: RefCell::new(histogram()),
            errors: Cell::new(0),
        }),
        config,
    });
    let connections: Vec<_> = (id..ctx.config.connections)
        .step_by(shards)
        .map(|index| match ctx.config.rate {
            Some(_) => shardio::spawn(conn::open_loop(ctx.clone(), index)),
            None => shardio::spawn(conn::closed_loop(ctx.clone())),
        })
        .collect();
    let flusher = ctx.feed.is_some().then(|| {
        let ctx = ctx.clone();
        shardio::spawn(async move {
            let mut tick = shardio::time::interval(FLUSH);
            loop {
                tick.tick().await;
                ctx.flush();
            }
        })
    });
    for connection in connections {
        // A connection task that panicked has lost its numbers; the rest
        // still count.
        let _ = connection.await;
    }
    if let Some(flusher) = flusher {
        flusher.abort();
    }
    ctx.flush();
    ctx.stats.take()
}
