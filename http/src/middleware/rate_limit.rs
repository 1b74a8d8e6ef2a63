use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// A token bucket per client address: `burst` requests at once, refilled
/// at `rate` per second. A client with an empty bucket gets `429 Too Many
/// Requests` with `Retry-After` (whole seconds until a token is back).
///
/// Buckets are per shard, like everything else: a client whose connections
/// land on several shards gets each shard's allowance, so divide the rate
/// by the shard count for a process-wide figure. At most `max_clients`
/// buckets are kept; when full, buckets that have refilled completely (idle
/// clients) are dropped first.
#[derive(Debug)]
pub struct RateLimit {
    rate: f64,
    burst: f64,
    max_clients: usize,
    buckets: RefCell<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// `rate` requests per second, bursts of up to `burst`.
    ///
    /// # Panics
    ///
    /// If `rate` is not positive or `burst` is below 1.
    pub fn new(rate: f64, burst: u32) -> RateLimit {
        assert!(rate > 0.0, "rate must be positive");
        assert!(burst >= 1, "burst must be at least 1");
        RateLimit {
            rate,
            burst: f64::from(burst),
            max_clients: 100_000,
            buckets: RefCell::new(HashMap::new()),
        }
    }

    /// Caps the number of client buckets kept (default 100,000).
    pub fn max_clients(mut self, n: usize) -> RateLimit {
        self.max_clients = n.max(1);
        self
    }

    /// Takes a token for `ip`; `Err(seconds)` to wait when there is none.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.borrow_mut();
        if buckets.len() >= self.max_clients && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if buckets.len() >= self.max_clients {
                // Every client is busy: forget one rather than grow.
                if let Some(k) = buckets.keys().next().copied() {
                    buckets.remove(&k);
                }
            }
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

impl Middleware for RateLimit {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let Some(ip) = req.peer_addr().map(|a| a.ip()) else {
            return next.run(req);
        };
        match self.take(ip, Instant::now()) {
            Ok(()) => next.run(req),
            Err(wait) => Box::pin(async move {
                Response::error(429).with_header("retry-after", wait.to_string())
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_refills() {
        let rl = RateLimit::new(2.0, 2);
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t = Instant::now();
        assert!(rl.take(ip, t).is_ok());
        assert!(rl.take(ip, t).is_ok());
        assert_eq!(rl.take(ip, t), Err(1));
        assert!(rl.take(ip, t + Duration::from_millis(600)).is_ok());
        let other: IpAddr = [10, 0, 0, 2].into();
        assert!(rl.take(other, t).is_ok());
    }

    #[test]
    fn bucket_count_is_capped() {
        let rl = RateLimit::new(1.0, 1).max_clients(10);
        let t = Instant::now();
        for i in 0..100u8 {
            let _ = rl.take([10, 0, 1, i].into(), t);
        }
        assert!(rl.buckets.borrow().len() <= 10);
    }
}
