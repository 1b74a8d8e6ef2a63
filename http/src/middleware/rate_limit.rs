use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// A token bucket per client: `burst` requests at once, refilled at `rate`
/// per second. A client with an empty bucket gets `429 Too Many Requests`
/// with `Retry-After` (whole seconds until a token is back).
///
/// A client is its peer address, except that an IPv6 client is the block
/// of addresses around it, a `/64` by default
/// ([`ipv6_prefix`](RateLimit::ipv6_prefix)): a subscriber is usually
/// given a whole `/64`, and keyed by address could take a fresh allowance
/// with every one of its 2⁶⁴ addresses. An IPv4 address mapped into IPv6
/// (`::ffff:a.b.c.d`, from a dual-stack listener) is its IPv4 address.
///
/// Buckets are per shard, like everything else: a client whose connections
/// land on several shards gets each shard's allowance, so divide the rate
/// by the shard count for a process-wide figure.
///
/// The table is bounded: it keeps at most `max_clients` buckets, and a
/// client not seen while between half and all of that many other clients
/// arrived is forgotten (its next request starts a full bucket, as a
/// client that waited long enough would have). Each request costs the
/// same however full the table is: there is no sweep over it.
///
/// ```
/// use shardio_http::middleware::RateLimit;
/// use std::net::IpAddr;
///
/// let limit = RateLimit::new(10.0, 2);
/// let ip: IpAddr = "2001:db8::1".parse().unwrap();
/// assert!(limit.check(ip).is_ok());
/// // Another address of the same /64 shares the bucket.
/// assert!(limit.check("2001:db8::2".parse().unwrap()).is_ok());
/// assert!(limit.check(ip).is_err());
/// ```
pub struct RateLimit {
    rate: f64,
    burst: f64,
    max_clients: usize,
    ipv6_prefix: u8,
    /// Where a request's client address comes from, when not the peer's.
    client_of: Option<ClientOf>,
    buckets: RefCell<Generations>,
}

type ClientOf = Box<dyn Fn(&Request) -> Option<IpAddr> + Send>;

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .field("max_clients", &self.max_clients)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("client_of", &self.client_of.as_ref().map(|_| ".."))
            .field("clients", &self.buckets.borrow().len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of the clients seen lately, in two generations: new and
/// returning clients go into `current`; when it holds half the table,
/// it becomes `previous` and the old `previous` (clients not seen for a
/// whole generation) is forgotten at once. A bounded table with no scan
/// per request, which a sweep for idle buckets would need.
#[derive(Debug, Default)]
struct Generations {
    current: HashMap<IpAddr, Bucket>,
    previous: HashMap<IpAddr, Bucket>,
}

impl Generations {
    /// The bucket of `key` in the current generation: the one the table
    /// has for it, moved there from the previous generation if need be,
    /// or `new`.
    fn bucket(&mut self, key: IpAddr, generation: usize, new: Bucket) -> &mut Bucket {
        if self.current.len() >= generation && !self.current.contains_key(&key) {
            // A full generation and a client it does not hold: the next
            // generation starts, and `previous`'s entries go with the
            // clear (its allocation is kept for the next one), all but
            // `key`'s, carried over.
            let carried = self.previous.remove(&key);
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
            if let Some(b) = carried {
                return self.current.entry(key).or_insert(b);
            }
        }
        let previous = &mut self.previous;
        self.current
            .entry(key)
            .or_insert_with(|| previous.remove(&key).unwrap_or(new))
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
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
            ipv6_prefix: 64,
            client_of: None,
            buckets: RefCell::new(Generations::default()),
        }
    }

    /// Caps the number of client buckets kept (default 100,000; at least
    /// 2).
    pub fn max_clients(mut self, n: usize) -> RateLimit {
        self.max_clients = n.max(2);
        self
    }

    /// How many leading bits of an IPv6 address name its client (default
    /// 64; at most 128, one bucket per address; 0 puts every IPv6 client in
    /// one bucket).
    pub fn ipv6_prefix(mut self, bits: u8) -> RateLimit {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// Takes the client's address from the request rather than from the
    /// connection: behind a reverse proxy, every request comes from the
    /// proxy's address, and the client's is in a field the proxy sets. A
    /// request for which `client_of` gives `None` counts against its peer
    /// address, so leaving the field out gains a client nothing.
    ///
    /// Only trust a field your own proxy sets (and overwrites): a client
    /// can send any value in it.
    ///
    /// ```
    /// use shardio_http::middleware::RateLimit;
    ///
    /// let limit = RateLimit::new(10.0, 20)
    ///     .client_of(|req| req.header("x-real-ip")?.trim().parse().ok());
    /// # let _ = limit;
    /// ```
    pub fn client_of(
        mut self,
        client_of: impl Fn(&Request) -> Option<IpAddr> + Send + 'static,
    ) -> RateLimit {
        self.client_of = Some(Box::new(client_of));
        self
    }

    /// Takes a token for the client at `ip`, as the middleware does for
    /// each request: `Err` with the time until one is back when the bucket
    /// is empty. For limits on something other than requests (logins,
    /// say) applied inside a handler.
    ///
    /// # Errors
    ///
    /// The client's bucket is empty.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.take(ip, shardio::time::coarse_now())
    }

    /// The bucket a peer address counts against.
    fn client(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(self.ipv6_prefix))
                        .unwrap_or(0);
                    IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
                }
            },
        }
    }

    /// Takes a token for `ip` at `now`.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let key = self.client(ip);
        let mut buckets = self.buckets.borrow_mut();
        let full = Bucket {
            tokens: self.burst,
            at: now,
        };
        let b = buckets.bucket(key, self.max_clients / 2, full);
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate))
        }
    }
}

impl Middleware for RateLimit {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let given = self.client_of.as_ref().and_then(|of| of(&req));
        let Some(ip) = given.or_else(|| req.peer_addr().map(|a| a.ip())) else {
            return next.run(req);
        };
        match self.check(ip) {
            Ok(()) => next.run(req),
            Err(wait) => Box::pin(async move {
                // Whole seconds, rounded up: a client that waits as long
                // finds a token.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Response::error(429).with_header("retry-after", secs.max(1).to_string())
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bucket_refills() {
        let rl = RateLimit::new(2.0, 2);
        let t = Instant::now();
        assert!(rl.take(ip("10.0.0.1"), t).is_ok());
        assert!(rl.take(ip("10.0.0.1"), t).is_ok());
        assert_eq!(rl.take(ip("10.0.0.1"), t), Err(Duration::from_millis(500)));
        assert!(rl
            .take(ip("10.0.0.1"), t + Duration::from_millis(600))
            .is_ok());
        assert!(rl.take(ip("10.0.0.2"), t).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_its_prefix() {
        let rl = RateLimit::new(1.0, 1);
        let t = Instant::now();
        assert!(rl.take(ip("2001:db8:0:1::1"), t).is_ok());
        assert!(rl.take(ip("2001:db8:0:1:ffff::9"), t).is_err());
        assert!(rl.take(ip("2001:db8:0:2::1"), t).is_ok());

        let per_address = RateLimit::new(1.0, 1).ipv6_prefix(128);
        assert!(per_address.take(ip("2001:db8::1"), t).is_ok());
        assert!(per_address.take(ip("2001:db8::2"), t).is_ok());
        assert!(per_address.take(ip("2001:db8::1"), t).is_err());

        let all = RateLimit::new(1.0, 1).ipv6_prefix(0);
        assert!(all.take(ip("2001:db8::1"), t).is_ok());
        assert!(all.take(ip("fe80::1"), t).is_err());
        // IPv4 clients are not affected by the IPv6 prefix.
        assert!(all.take(ip("10.0.0.1"), t).is_ok());
    }

    #[test]
    fn a_mapped_ipv4_address_is_that_address() {
        let rl = RateLimit::new(1.0, 1);
        let t = Instant::now();
        assert!(rl.take(ip("::ffff:10.0.0.1"), t).is_ok());
        assert!(rl.take(ip("10.0.0.1"), t).is_err());
        // Another IPv4 client in the same /64 of the mapped range.
        assert!(rl.take(ip("::ffff:10.0.0.2"), t).is_ok());
    }

    #[test]
    fn bucket_count_is_capped() {
        let rl = RateLimit::new(1.0, 1).max_clients(10);
        let t = Instant::now();
        for i in 0..=255u8 {
            let _ = rl.take(IpAddr::from([10, 0, 1, i]), t);
            assert!(rl.buckets.borrow().len() <= 10);
        }
    }

    #[test]
    fn a_returning_client_keeps_its_bucket() {
        // Clients seen within a generation stay, however many others
        // arrive: only those not seen for a whole generation go.
        let rl = RateLimit::new(1.0, 1).max_clients(10);
        let t = Instant::now();
        assert!(rl.take(ip("10.0.0.1"), t).is_ok());
        for i in 0..100u8 {
            assert!(rl.take(IpAddr::from([10, 0, 1, i]), t).is_ok());
            assert!(rl.take(ip("10.0.0.1"), t).is_err(), "after {i} others");
        }
        // A client gone for a generation starts again with a full bucket.
        for i in 100..110u8 {
            let _ = rl.take(IpAddr::from([10, 0, 1, i]), t);
        }
        assert!(rl.take(ip("10.0.0.1"), t).is_ok());
    }

    #[test]
    fn an_earlier_instant_takes_no_token_back() {
        let rl = RateLimit::new(1.0, 1);
        let t = Instant::now() + Duration::from_secs(1);
        assert!(rl.take(ip("10.0.0.1"), t).is_ok());
        assert!(rl.take(ip("10.0.0.1"), t - Duration::from_secs(1)).is_err());
    }
}
