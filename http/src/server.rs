//! The accept loop: one per shard, each with its own listener
//! (`SO_REUSEPORT`), connection cap and drain.

use crate::config::{Limits, Timeouts, MAX_HEADERS_CAP};
use crate::conn::{After, Conn};
use crate::deadlines::Deadlines;
use crate::drain::Drain;
use crate::request::Parts;
use crate::response::Response;
use crate::router::Router;
use crate::slots::{PooledSlot, SlotPool};
use crate::storage::Spares;
use shardio::buf::BufRing;
use shardio::net::TcpListener;
use shardio::pool::{LocalPool, LocalPooled, Pool};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::ToSocketAddrs;
use std::pin::pin;
use std::rc::{Rc, Weak};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

/// Output buffers kept per shard for reuse; one is held only while a
/// connection is writing.
const OUTPUT_POOL: usize = 1024;
/// Output buffers larger than this are not kept.
const OUTPUT_KEEP_MAX: usize = 256 * 1024;
/// Request states kept for reuse per server (one per request in flight;
/// more are made, and dropped after, when a burst needs them).
const PARTS_POOL: usize = 1024;
/// Future slots kept for reuse per server, of each kind (one of each per
/// connection answering a burst of requests; a burst's is about 720 B).
/// More are made, and freed after, when more connections are busy at once.
const SLOT_POOL: usize = 256;
/// Receive wrappers kept for reuse per server (one per connection
/// answering a burst; 40 B each).
const STORAGE_SPARES: usize = 1024;
/// With a multishot receive ([`Receive`]): filled receive buffers a connection
/// may have waiting unread before its receive is stopped.
pub const MULTISHOT_LIMIT: u16 = 4;
/// Under [`Receive::Adaptive`]: connections per shard that may keep a
/// multishot receive at once, by default ([`Server::max_multishot`]).
pub const MAX_MULTISHOT: usize = 256;

/// How a connection receives its bytes ([`Server::receive`]).
///
/// A connection waiting for its client holds no receive buffer in any mode:
/// the kernel picks one from the shard's ring when bytes arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Receive {
    /// A receive submitted each time the connection waits for bytes. The
    /// least memory per connection, about 500 B in all whatever the
    /// connection did before; but each request's receive arms a poll in the
    /// kernel: it goes out with the previous answer's send, before the
    /// client can answer.
    PerWait,
    /// `PerWait` for a connection's first two requests; from its third, a
    /// multishot receive kept armed, which saves the poll and the receive's
    /// submission for every request (8.5 % of the server's CPU per request
    /// at 256 connections in the newest runs of `docs/BENCHMARKS.md`, up
    /// to 12 % at 64 in earlier ones, nothing pipelined). A connection that
    /// then waits a tick of the deadline sweep (an eighth of the shorter of
    /// the idle and write timeouts, at most a second) stops that receive,
    /// keeping every byte it had received, and goes back to `PerWait`: an
    /// idle connection then holds what it holds under `PerWait`. The
    /// default.
    ///
    /// At most [`Server::max_multishot`] connections of a shard (default
    /// [`MAX_MULTISHOT`], 256) keep a multishot receive at once; the others
    /// stay on `PerWait` until one stops. A receive's state is about 245 B
    /// while it is kept, so the shard's memory for them is bounded (about
    /// 64 KiB at the default) however many connections are busy: 10,000
    /// connections that all made four requests and then idled left the
    /// server's RSS within the 512 B per connection of those that asked
    /// once (`scripts/bench-http-idle-rss.sh`).
    #[default]
    Adaptive,
    /// One multishot receive armed for every connection's whole life: its
    /// state, about 245 B, stays allocated while the connection idles.
    ///
    /// Under either multishot mode, a connection whose handler is busy does
    /// not take bytes from the kernel without bound: once
    /// [`MULTISHOT_LIMIT`] filled buffers wait unread, its receive is
    /// cancelled, and armed again when the handler reads on. (A few more may
    /// land before the cancellation does: the kernel fills up to 32 buffers
    /// from one wake-up.)
    Multishot,
}

/// An HTTP/1.1 server: configuration, then [`serve`](Server::serve) on each
/// shard.
///
/// Every shard runs its own server with its own listener (bound with
/// `SO_REUSEPORT`, so the kernel spreads connections), router, limits and
/// connection count; nothing is shared between shards.
///
/// # Examples
///
/// ```no_run
/// use shardio_http::{Request, Router, Server};
///
/// shardio::Runtime::builder()
///     .shards(2)
///     .build()?
///     .run(|_shard| async {
///         let router = Router::new().get("/", |_req: Request| async { "Hello, World!" });
///         Server::new().bind_and_serve("0.0.0.0:8080", router).await
///     })
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    limits: Limits,
    timeouts: Timeouts,
    max_connections: usize,
    grace: Duration,
    receive: Receive,
    max_multishot: usize,
}

impl Default for Server {
    fn default() -> Server {
        Server::new()
    }
}

impl Server {
    /// Default limits and timeouts, at most 10,000 connections per shard.
    pub fn new() -> Server {
        Server {
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            max_connections: 10_000,
            grace: Duration::from_secs(10),
            receive: Receive::Adaptive,
            max_multishot: MAX_MULTISHOT,
        }
    }

    /// Sets the request limits.
    ///
    /// # Panics
    ///
    /// If `max_headers` is over [`MAX_HEADERS_CAP`].
    pub fn limits(mut self, limits: Limits) -> Server {
        assert!(
            limits.max_headers <= MAX_HEADERS_CAP,
            "max_headers over {MAX_HEADERS_CAP}"
        );
        self.limits = limits;
        self
    }

    /// Sets the per-connection timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Server {
        self.timeouts = timeouts;
        self
    }

    /// Sets the most connections open at once on each shard. At the cap the
    /// shard stops accepting ([`TcpListener::pause`]) until one closes;
    /// new connections wait in the listen backlog.
    pub fn max_connections(mut self, n: usize) -> Server {
        self.max_connections = n.max(1);
        self
    }

    /// How long [`serve_until`](Server::serve_until) lets in-flight requests
    /// finish after its signal before it returns (default 10 s). Under
    /// [`shardio::Runtime`], the runtime's own grace period also applies.
    pub fn grace(mut self, grace: Duration) -> Server {
        self.grace = grace;
        self
    }

    /// How connections receive their bytes (default [`Receive::Adaptive`]).
    pub fn receive(mut self, receive: Receive) -> Server {
        self.receive = receive;
        self
    }

    /// Under [`Receive::Adaptive`], the most connections of each shard that
    /// keep a multishot receive at once (default [`MAX_MULTISHOT`]); each
    /// costs about 245 B while it does. `0`: none, as under
    /// [`Receive::PerWait`].
    pub fn max_multishot(mut self, n: usize) -> Server {
        self.max_multishot = n;
        self
    }

    /// `true`: [`Receive::Multishot`], one multishot receive armed for each
    /// connection's whole life; `false`: [`Receive::PerWait`], a receive
    /// submitted each time a connection waits for bytes.
    pub fn multishot_receive(self, on: bool) -> Server {
        self.receive(if on {
            Receive::Multishot
        } else {
            Receive::PerWait
        })
    }

    /// Binds `addr` on this shard and serves `router` until the runtime
    /// shuts down.
    ///
    /// # Errors
    ///
    /// The address cannot be bound, or the shard's receive buffers cannot
    /// be set up.
    pub async fn bind_and_serve(self, addr: impl ToSocketAddrs, router: Router) -> io::Result<()> {
        let listener = TcpListener::bind(addr)?;
        self.serve(listener, router).await
    }

    /// Serves `router` on `listener` until the runtime shuts down
    /// ([`shardio::shutdown_signal`]).
    ///
    /// # Errors
    ///
    /// As for [`serve_until`](Server::serve_until).
    pub async fn serve(self, listener: TcpListener, router: Router) -> io::Result<()> {
        self.serve_until(listener, router, shardio::shutdown_signal())
            .await
    }

    /// Serves `router` on `listener` until `signal` completes, then drains:
    /// the listener closes, idle connections close at once, and requests
    /// in flight finish (their responses say `Connection: close`) until
    /// the [`grace`](Server::grace) period ends.
    ///
    /// Accept errors such as `EMFILE` are survived: the loop backs off for
    /// a moment and goes on.
    ///
    /// # Errors
    ///
    /// The shard's receive buffers cannot be set up, or this is not a
    /// shard.
    pub async fn serve_until(
        self,
        listener: TcpListener,
        router: Router,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let ring = BufRing::shard_default()?;
        let shared = Rc::new_cyclic(|me| {
            let mut shared = Shared::new(self.limits, self.timeouts, ring, me.clone());
            shared.receive = self.receive;
            shared.max_multishot = self.max_multishot;
            shared
        });
        let router = Rc::new(router);
        crate::date::server_started();
        // Drains even when this future is dropped rather than finished
        // (the runtime drops its entry futures at shutdown).
        let _guard = DrainOnDrop(shared.clone());
        let sweeper = shared.clone();
        shardio::spawn_detached(async move {
            // Until the last connection closes: a send under way in a
            // drain keeps its write timeout.
            let stop = || sweeper.is_draining() && sweeper.open.get() == 0;
            sweeper.deadlines.sweep(stop).await;
        });
        let mut signal = pin!(signal);
        loop {
            if shared.open.get() >= self.max_connections {
                listener.pause();
                let stop = poll_fn(|cx| {
                    if signal.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(true);
                    }
                    if shared.open.get() < self.max_connections {
                        return Poll::Ready(false);
                    }
                    *shared.accept_waiter.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await;
                if stop {
                    break;
                }
                continue;
            }
            let accepted = {
                let mut accept = pin!(listener.accept());
                poll_fn(|cx| {
                    if signal.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    accept.as_mut().poll(cx).map(Some)
                })
                .await
            };
            match accepted {
                None => break,
                Some(Ok((stream, peer))) => {
                    let conn = Conn::new(stream, peer, shared.clone());
                    shardio::spawn_detached(crate::conn::serve(conn, router.clone()));
                }
                Some(Err(_)) => {
                    // EMFILE, ENFILE, ENOBUFS, ECONNABORTED: the listener
                    // stays usable; pause so a loop of failures does not spin.
                    shardio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(listener);
        shared.start_draining();
        let deadline = Instant::now() + self.grace;
        let drained = poll_fn(|cx| {
            if shared.open.get() == 0 {
                return Poll::Ready(());
            }
            *shared.accept_waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        });
        let _ = shardio::time::timeout_at(deadline, drained).await;
        Ok(())
    }
}

/// What a shard's connections share with its accept loop.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
    pub(crate) ring: BufRing,
    /// See [`Server::receive`].
    pub(crate) receive: Receive,
    /// See [`Server::max_multishot`].
    max_multishot: usize,
    /// Connections holding a multishot receive, in any mode; only
    /// `Receive::Adaptive` asks it for room ([`Shared::stream_left`]).
    streams: Cell<usize>,
    output: LocalPool<Vec<u8>>,
    /// What requests hold; see [`Parts`].
    parts: LocalPool<Parts>,
    /// Where a connection's burst of requests runs.
    bursts: SlotPool<After>,
    /// Where the handlers of a burst run, one after the other.
    handlers: SlotPool<Response>,
    /// What a burst's receive is shared in.
    pub(crate) storage: Spares,
    /// Set when a graceful shutdown begins.
    pub(crate) drain: Drain,
    /// Connections waiting for their next request, or for a send.
    pub(crate) deadlines: Deadlines,
    open: Cell<usize>,
    /// The accept loop, waiting for a connection to close.
    accept_waiter: RefCell<Option<Waker>>,
}

impl Shared {
    /// `me`: where this `Shared` will be, which every request's parts
    /// keep (a weak pointer, set once per pooled `Parts`: no request pays
    /// for it) so that [`Request::draining`](crate::Request::draining)
    /// can find the server.
    pub(crate) fn new(
        limits: Limits,
        timeouts: Timeouts,
        ring: BufRing,
        me: Weak<Shared>,
    ) -> Shared {
        let output = Pool::builder(|| Vec::with_capacity(4096))
            .capacity(OUTPUT_POOL)
            .reset(|v: &mut Vec<u8>| {
                v.clear();
                if v.capacity() > OUTPUT_KEEP_MAX {
                    *v = Vec::with_capacity(4096);
                }
            })
            .build_local();
        let parts = Pool::builder(move || Parts::in_server(me.clone()))
            .capacity(PARTS_POOL)
            .build_local();
        let deadlines = Deadlines::new(timeouts.idle, timeouts.write);
        Shared {
            limits,
            timeouts,
            ring,
            receive: Receive::Adaptive,
            max_multishot: MAX_MULTISHOT,
            streams: Cell::new(0),
            output,
            parts,
            bursts: SlotPool::new(SLOT_POOL),
            handlers: SlotPool::new(SLOT_POOL),
            storage: Spares::new(STORAGE_SPARES),
            drain: Drain::default(),
            deadlines,
            open: Cell::new(0),
            accept_waiter: RefCell::new(None),
        }
    }

    pub(crate) fn output_buffer(&self) -> LocalPooled<Vec<u8>> {
        // The pool allocates past its capacity rather than fail.
        self.output
            .get()
            .unwrap_or_else(|_| unreachable!("the output pool allocates on overflow"))
    }

    /// A request's state, from the pool: the header vector keeps the
    /// capacity an earlier request gave it.
    pub(crate) fn request_parts(&self) -> LocalPooled<Parts> {
        // The pool allocates past its capacity rather than fail.
        self.parts
            .get()
            .unwrap_or_else(|_| unreachable!("the parts pool allocates on overflow"))
    }

    /// An empty slot for a connection's burst of requests.
    pub(crate) fn burst_slot(&self) -> PooledSlot<After> {
        self.bursts.get()
    }

    /// An empty slot for the handlers of one burst.
    pub(crate) fn handler_slot(&self) -> PooledSlot<Response> {
        self.handlers.get()
    }

    /// Under `Receive::Adaptive`: whether a connection may make a
    /// multishot receive ([`Server::max_multishot`]).
    pub(crate) fn stream_left(&self) -> bool {
        self.streams.get() < self.max_multishot
    }

    /// Counts a multishot receive made (an upgraded connection's read
    /// makes one whatever the count).
    pub(crate) fn stream_made(&self) {
        self.streams.set(self.streams.get() + 1);
    }

    /// Counts one that [`stream_made`](Shared::stream_made) counted gone.
    pub(crate) fn stream_gone(&self) {
        self.streams.set(self.streams.get() - 1);
    }

    /// Counts a connection open.
    pub(crate) fn opened(&self) {
        self.open.set(self.open.get() + 1);
    }

    /// Counts a connection closed, waking the accept loop if it waits for
    /// one (at the maximum, or draining).
    pub(crate) fn closed(&self) {
        self.open.set(self.open.get() - 1);
        if let Some(w) = self.accept_waiter.borrow_mut().take() {
            w.wake();
        }
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.drain.is_started()
    }

    fn start_draining(&self) {
        if !self.drain.start() {
            return;
        }
        crate::date::server_stopped();
        self.deadlines.wake_all();
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("open", &self.open.get())
            .field("drain", &self.drain)
            .finish()
    }
}

struct DrainOnDrop(Rc<Shared>);

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        self.0.start_draining();
    }
}
