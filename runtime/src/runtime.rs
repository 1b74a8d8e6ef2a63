//! `Runtime`: starting shards on pinned threads and collecting their results.

use crate::driver::RingConfig;
use crate::mesh::Cluster;
use crate::shard::{run_shard, ShardConfig, ShardInfo};
use crate::shutdown::{ShutdownHandle, ShutdownState};
use crate::stats::ShardStats;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Default room for closures queued between two shards.
pub(crate) const DEFAULT_MESSAGE_CAPACITY: usize = 1024;

/// Default shard buffer ring: 512 buffers of 4 KiB.
pub(crate) const DEFAULT_PROVIDED_BUFFERS: (usize, usize) = (512, 4096);

type StopHook = Arc<dyn Fn(ShardInfo, ShardStats) + Send + Sync>;

/// Configures a [`Runtime`]. Made by [`Runtime::builder`].
pub struct Builder {
    shards: Option<usize>,
    pin: bool,
    ring_entries: u32,
    provided_buffers: (usize, usize),
    message_capacity: usize,
    msg_ring: bool,
    thread_name: String,
    grace: Duration,
    signals: bool,
    on_stop: Option<StopHook>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("shards", &self.shards)
            .field("pin", &self.pin)
            .field("ring_entries", &self.ring_entries)
            .field("thread_name", &self.thread_name)
            .field("grace", &self.grace)
            .field("signals", &self.signals)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// How many shards (threads) to start. Default: the number of cores this
    /// process may run on.
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// Pin each shard to its own core (default: on). With pinning on, asking
    /// for more shards than usable cores is an error.
    pub fn pin_to_cores(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Submission queue entries per shard ring (rounded up to a power of two;
    /// the completion queue gets four times as many). Default: 1024.
    pub fn ring_entries(mut self, entries: u32) -> Self {
        self.ring_entries = entries;
        self
    }

    /// The size of each shard's default provided buffer ring
    /// ([`BufRing::shard_default`](crate::buf::BufRing::shard_default), used
    /// by [`TcpStream::recv_stream`](crate::net::TcpStream::recv_stream)):
    /// `count` buffers (a power of two) of `size` bytes. It is allocated on
    /// first use. Default: 512 buffers of 4 KiB.
    pub fn provided_buffers(mut self, count: usize, size: usize) -> Self {
        self.provided_buffers = (count, size);
        self
    }

    /// How many closures ([`mesh::submit_to`](crate::mesh::submit_to)) may
    /// be queued from one shard to another before the sender waits.
    /// Default: 1024.
    pub fn message_capacity(mut self, capacity: usize) -> Self {
        self.message_capacity = capacity.max(1);
        self
    }

    /// Whether a shard wakes a sleeping shard with IORING_OP_MSG_RING from
    /// its own ring (when the kernel has it) rather than by writing the
    /// target's eventfd. Default: true; turning it off is for comparison.
    pub fn msg_ring_doorbell(mut self, on: bool) -> Self {
        self.msg_ring = on;
        self
    }

    /// Thread name prefix; shard `i` is named `{prefix}-{i}`. Default: `shardio`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name = prefix.into();
        self
    }

    /// How long running tasks may go on after a shutdown request before they
    /// are cancelled. Default: 5 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Shut down gracefully on SIGINT or SIGTERM while `run` runs (default:
    /// off). The handlers are removed when `run` returns.
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Called on each shard's thread as it stops, with its final counters.
    pub fn on_shard_stop(
        mut self,
        f: impl Fn(ShardInfo, ShardStats) + Send + Sync + 'static,
    ) -> Self {
        self.on_stop = Some(Arc::new(f));
        self
    }

    /// Checks the configuration and finds the cores to pin to.
    ///
    /// # Errors
    ///
    /// Fails if the shard count is zero, or pinning is on and there are fewer
    /// usable cores than shards.
    pub fn build(self) -> io::Result<Runtime> {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let available = thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        let shards = self.shards.unwrap_or(if cores.is_empty() {
            available
        } else {
            cores.len()
        });
        if shards == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shard count must be at least 1",
            ));
        }
        let pins = if self.pin {
            if cores.len() < shards {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{shards} shards asked for with pinning on, but only {} cores are usable \
                         (use fewer shards or pin_to_cores(false))",
                        cores.len()
                    ),
                ));
            }
            cores.into_iter().take(shards).map(Some).collect()
        } else {
            vec![None; shards]
        };
        Ok(Runtime {
            pins,
            ring: RingConfig {
                entries: self.ring_entries,
                provided_buffers: self.provided_buffers,
                msg_ring: self.msg_ring,
            },
            message_capacity: self.message_capacity,
            thread_name: self.thread_name,
            signals: self.signals,
            on_stop: self.on_stop,
            shutdown: Arc::new(ShutdownState::new(self.grace)),
        })
    }
}

/// A set of shards, one pinned thread each, each with its own io_uring ring.
///
/// # Examples
///
/// ```no_run
/// use shardio::net::TcpListener;
///
/// shardio::Runtime::builder().shards(2).build()?.run(|_shard| async move {
///     // Every shard binds the same address (SO_REUSEPORT); the kernel
///     // spreads connections across them.
///     let listener = TcpListener::bind("127.0.0.1:9000")?;
///     loop {
///         let (stream, _peer) = listener.accept().await?;
///         shardio::spawn(async move {
///             let mut buf = Vec::with_capacity(4096);
///             loop {
///                 let (n, b) = stream.read(buf).await;
///                 if !matches!(n, Ok(n) if n > 0) { break; }
///                 let (w, b) = stream.write_all(b).await;
///                 if w.is_err() { break; }
///                 buf = b;
///                 buf.clear();
///             }
///         });
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    pins: Vec<Option<core_affinity::CoreId>>,
    ring: RingConfig,
    message_capacity: usize,
    thread_name: String,
    signals: bool,
    on_stop: Option<StopHook>,
    shutdown: Arc<ShutdownState>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("shards", &self.pins.len())
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts configuring a runtime.
    pub fn builder() -> Builder {
        Builder {
            shards: None,
            pin: true,
            ring_entries: 1024,
            provided_buffers: DEFAULT_PROVIDED_BUFFERS,
            message_capacity: DEFAULT_MESSAGE_CAPACITY,
            msg_ring: true,
            thread_name: "shardio".to_owned(),
            grace: Duration::from_secs(5),
            signals: false,
            on_stop: None,
        }
    }

    /// How many shards `run` starts.
    pub fn shards(&self) -> usize {
        self.pins.len()
    }

    /// A handle that shuts the runtime down from any thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            state: self.shutdown.clone(),
        }
    }

    /// Starts the shards, runs `entry(shard)` on each, and returns when every
    /// shard has finished: its entry future returned, or shutdown was
    /// requested and its tasks drained.
    ///
    /// Tasks a shard spawned that are still running when its entry future
    /// returns are dropped (their operations cancelled) at that point.
    ///
    /// # Errors
    ///
    /// The first error a shard returned (setting up its ring, or from its
    /// entry future), or a panic of a shard's entry future, with the shard's
    /// index in the message. A failing shard asks the others to shut down.
    pub fn run<F, Fut>(self, entry: F) -> io::Result<()>
    where
        F: Fn(ShardInfo) -> Fut + Send + Sync,
        Fut: Future<Output = io::Result<()>>,
    {
        let signals = if self.signals {
            Some(SignalWatcher::start(self.shutdown_handle())?)
        } else {
            None
        };
        let count = self.pins.len();
        let cluster = Arc::new(Cluster::new(count, self.message_capacity));
        let result = thread::scope(|scope| {
            let mut handles = Vec::with_capacity(count);
            for (id, pin) in self.pins.iter().copied().enumerate() {
                let entry = &entry;
                let shutdown = self.shutdown.clone();
                let on_stop = self.on_stop.clone();
                let ring = self.ring;
                let cluster = cluster.clone();
                let spawned = thread::Builder::new()
                    .name(format!("{}-{id}", self.thread_name))
                    .spawn_scoped(scope, move || {
                        if let Some(core) = pin {
                            if !core_affinity::set_for_current(core) {
                                return Err(io::Error::other(format!(
                                    "could not pin shard {id} to core {}",
                                    core.id
                                )));
                            }
                        }
                        let config = ShardConfig {
                            id,
                            count,
                            core: pin.map(|c| c.id),
                            ring,
                            shutdown: Some(shutdown.clone()),
                            cluster,
                        };
                        let stop = |info: ShardInfo, stats: ShardStats| {
                            if let Some(f) = &on_stop {
                                f(info, stats);
                            }
                        };
                        let exit = run_shard(config, entry, stop);
                        let result = match exit {
                            Ok(crate::shard::run::Exit::Returned(r)) => r,
                            Ok(crate::shard::run::Exit::ShutDown) => Ok(()),
                            Err(e) => Err(e),
                        };
                        if result.is_err() {
                            shutdown.request(None);
                        }
                        result
                    });
                if spawned.is_err() {
                    // The shards already started must not wait for this one.
                    self.shutdown.request(Some(Duration::ZERO));
                }
                handles.push(spawned);
            }
            let mut first_error = None;
            for (id, handle) in handles.into_iter().enumerate() {
                let joined = match handle {
                    Ok(handle) => handle.join(),
                    Err(e) => Ok(Err(io::Error::new(
                        e.kind(),
                        format!("could not start the thread: {e}"),
                    ))),
                };
                let outcome = match joined {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => io::Error::new(e.kind(), format!("shard {id}: {e}")),
                    Err(panic) => {
                        self.shutdown.request(None);
                        io::Error::other(format!("shard {id} panicked: {}", panic_message(&*panic)))
                    }
                };
                first_error.get_or_insert(outcome);
            }
            first_error.map_or(Ok(()), Err)
        });
        drop(signals);
        result
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic payload>".to_owned())
}

/// Turns SIGINT/SIGTERM into a shutdown request while `run` runs.
struct SignalWatcher {
    handle: signal_hook::iterator::Handle,
    thread: Option<thread::JoinHandle<()>>,
}

impl SignalWatcher {
    fn start(shutdown: ShutdownHandle) -> io::Result<SignalWatcher> {
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])?;
        let handle = signals.handle();
        let thread = thread::Builder::new()
            .name("shardio-signals".to_owned())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    shutdown.shutdown_default();
                }
            })?;
        Ok(SignalWatcher {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for SignalWatcher {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
