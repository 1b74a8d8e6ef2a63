//! The connection loops: closed loop (send a batch, wait for its responses,
//! repeat) and open loop (send each request at its scheduled instant).

use super::response::{Done, Invalid, Reader};
use super::shard::ShardCtx;
use super::stats::ErrorKind;
use shardio::net::TcpStream;
use shardio::time::{precise_sleep_until, sleep, timeout, timeout_at};
use shardio::IoBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long a connection waits after a failed connect before the next
/// attempt, so a refusing server is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
const READ_CHUNK: usize = 16 * 1024;

/// One open connection and the bytes read but not yet parsed.
struct Conn {
    stream: TcpStream,
    reader: Reader,
    buf: Vec<u8>,
    /// Bytes read since the connection opened.
    read: u64,
}

/// Why a batch of requests ended early, and how many of it went unanswered.
struct Failed {
    kind: ErrorKind,
    unanswered: u64,
}

impl Conn {
    async fn open(ctx: &ShardCtx) -> Option<Conn> {
        let config = &ctx.config;
        let connected = timeout(config.timeout, TcpStream::connect_addr(config.target.addr)).await;
        match connected {
            Ok(Ok(stream)) => {
                // Requests are single writes; Nagle would only add delay.
                let _ = stream.set_nodelay(true);
                Some(Conn {
                    stream,
                    reader: Reader::new(config.method.eq_ignore_ascii_case("HEAD")),
                    buf: Vec::with_capacity(READ_CHUNK),
                    read: 0,
                })
            }
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// Reads until `want` responses are complete, calling `done` with each
    /// and the instant its last byte was read. Returns whether the
    /// connection may be reused.
    async fn responses(
        &mut self,
        want: u64,
        deadline: Instant,
        mut done: impl FnMut(Done, Instant),
    ) -> Result<bool, Failed> {
        let mut got = 0;
        let fail = |kind, got| Failed {
            kind,
            unanswered: want - got,
        };
        loop {
            let now = Instant::now();
            let mut used = 0;
            loop {
                let (n, response) = self
                    .reader
                    .feed(&self.buf[used..])
                    .map_err(|Invalid| fail(ErrorKind::Invalid, got))?;
                used += n;
                if let Some(response) = response {
                    got += 1;
                    done(response, now);
                    if response.close {
                        return if got == want {
                            Ok(false)
                        } else {
                            Err(fail(ErrorKind::Read, got))
                        };
                    }
                    if got == want {
                        break;
                    }
                } else if n == 0 {
                    break;
                }
            }
            self.buf.drain(..used);
            if got == want {
                return Ok(true);
            }
            if self.buf.len() == self.buf.capacity() {
                self.buf.reserve(READ_CHUNK);
            }
            let filled = self.buf.len();
            // On a timeout the buffer goes with the cancelled read; the
            // connection is discarded then anyway.
            let buf = std::mem::take(&mut self.buf).slice(filled..);
            let read = timeout_at(deadline, self.stream.read(buf)).await;
            let Ok((n, slice)) = read else {
                return Err(fail(ErrorKind::Timeout, got));
            };
            self.buf = slice.into_inner();
            match n {
                Ok(0) => {
                    return match self.reader.eof() {
                        Ok(Some(response)) if got + 1 == want => {
                            done(response, Instant::now());
                            Ok(false)
                        }
                        Ok(_) => Err(fail(ErrorKind::Read, got)),
                        Err(Invalid) => Err(fail(ErrorKind::Invalid, got)),
                    };
                }
                Ok(n) => self.read += n as u64,
                Err(_) => return Err(fail(ErrorKind::Read, got)),
            }
        }
    }
}

/// Opens a connection in `slot` if there is none; whether there is one
/// now. A failed attempt is counted (when `count` says the window is open)
/// and paused after.
async fn ensure(ctx: &ShardCtx, slot: &mut Option<Conn>, count: bool) -> bool {
    if slot.is_none() {
        *slot = Conn::open(ctx).await;
        if slot.is_none() {
            if count {
                ctx.error(ErrorKind::Connect, 1);
            }
            sleep(RECONNECT_PAUSE).await;
        }
    }
    slot.is_some()
}

/// Writes the request (a batch of `batch`) on the connection in `slot` and
/// reads the responses, each one's latency measured from `from`. Counts
/// everything when `counted`, and empties `slot` when the connection cannot
/// be used again.
async fn exchange(
    ctx: &ShardCtx,
    slot: &mut Option<Conn>,
    batch: u64,
    from: Instant,
    counted: bool,
) {
    let Some(c) = slot.as_mut() else {
        return;
    };
    let (written, _) = c.stream.write_all(ctx.request.clone()).await;
    if written.is_err() {
        ctx.error_if(counted, ErrorKind::Write, batch);
        *slot = None;
        return;
    }
    ctx.sent_if(counted, batch);
    let deadline = Instant::now() + ctx.config.timeout;
    let read_before = c.read;
    let result = c
        .responses(batch, deadline, |done, at| {
            ctx.response_if(counted, done.status, at - from)
        })
        .await;
    ctx.bytes_if(counted, c.read - read_before);
    match result {
        // Without keep-alive every request gets its own connection, even
        // from a server that would keep it open.
        Ok(true) if ctx.config.keepalive => {}
        Ok(_) => *slot = None,
        Err(failed) => {
            ctx.error_if(counted, failed.kind, failed.unanswered);
            *slot = None;
        }
    }
}

/// Closed loop: write `pipeline` requests in one send, read their
/// responses, repeat until the window ends. Latency runs from the send.
pub(crate) async fn closed_loop(ctx: Rc<ShardCtx>) {
    let batch = ctx.config.pipeline as u64;
    let mut conn = None;
    while Instant::now() < ctx.end {
        if ensure(&ctx, &mut conn, Instant::now() >= ctx.measure_from).await {
            let sent = Instant::now();
            exchange(&ctx, &mut conn, batch, sent, sent >= ctx.measure_from).await;
        }
    }
}

/// How close to a request's scheduled instant the open loop stops sleeping
/// and spins (yielding to the shard's other tasks) instead. A kernel timer
/// wakes a thread tens of microseconds late, and up to a millisecond on a
/// virtual machine; the lateness would be counted as the server's latency.
/// Spinning also keeps a shard at high rates out of sleep-and-wake cycles,
/// which cost more CPU than the requests themselves.
const SPIN: Duration = Duration::from_micros(200);

/// Waits until `due`: a precise sleep until shortly before, then spinning.
async fn wait_until(due: Instant) {
    if let Some(wake) = due.checked_sub(SPIN) {
        if precise_sleep_until(wake).await.is_err() {
            shardio::time::sleep_until(wake).await;
        }
    }
    while Instant::now() < due {
        shardio::yield_now().await;
    }
}

/// Open loop: request `k` of connection `index` is due at
/// `start + (index + k * connections) / rate`, so all connections together
/// send at `rate`, evenly spread. Latency runs from when a request was due,
/// not from when it could be sent: a stalled server delays every request
/// scheduled behind it, and each of those delays is counted (coordinated
/// omission corrected, as wrk2 does).
pub(crate) async fn open_loop(ctx: Rc<ShardCtx>, index: usize) {
    let rate = ctx.config.rate.expect("open loop has a rate");
    let connections = ctx.config.connections as f64;
    let mut conn = None;
    for k in 0u64.. {
        let due =
            ctx.start + Duration::from_secs_f64((index as f64 + k as f64 * connections) / rate);
        if due >= ctx.end {
            break;
        }
        wait_until(due).await;
        let counted = due >= ctx.measure_from;
        if ensure(&ctx, &mut conn, counted).await {
            exchange(&ctx, &mut conn, 1, due, counted).await;
        }
    }
}
