//! The `Date` header value (RFC 9110 §6.6.1), formatted once a second per
//! shard instead of once per response.

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT` is 29 bytes.
const LEN: usize = 29;

thread_local! {
    static CACHE: RefCell<[u8; LEN]> = const { RefCell::new([0; LEN]) };
    /// The whole second `CACHE` was formatted for (0: never).
    static SECOND: Cell<u64> = const { Cell::new(0) };
    /// Servers running on this shard.
    static SERVERS: Cell<usize> = const { Cell::new(0) };
    /// Whether this shard runs the refresh task.
    static TICKING: Cell<bool> = const { Cell::new(false) };
}

/// Brings the date up to the clock where no server's refresh task does
/// it on this shard (a response encoded outside a server, as in the
/// benches).
pub(crate) fn refresh_unless_ticking() {
    if !TICKING.with(Cell::get) {
        refresh();
    }
}

/// Appends the date, as of the last refresh, to `out`.
pub(crate) fn append(out: &mut Vec<u8>) {
    CACHE.with(|c| out.extend_from_slice(&*c.borrow()));
}

fn refresh() {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    if SECOND.with(Cell::get) == second {
        return;
    }
    SECOND.with(|s| s.set(second));
    let text = httpdate::fmt_http_date(now);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let n = text.len().min(LEN);
        c[..n].copy_from_slice(&text.as_bytes()[..n]);
    });
    // Heads written until now carry the old date.
    crate::encode::clear_cache();
}

/// Formats the date again, as when the second changes.
#[cfg(test)]
pub(crate) fn force_refresh() {
    SECOND.with(|s| s.set(0));
    refresh();
}

/// Counts a server starting on this shard, and starts the shard's
/// once-a-second refresh unless it runs already. The refresh stops by
/// itself after the last server calls [`server_stopped`].
pub(crate) fn server_started() {
    refresh();
    SERVERS.with(|n| n.set(n.get() + 1));
    if TICKING.with(|t| t.replace(true)) {
        return;
    }
    shardio::spawn(async move {
        let mut tick = shardio::time::interval(Duration::from_secs(1));
        while SERVERS.with(Cell::get) > 0 {
            tick.tick().await;
            refresh();
        }
        TICKING.with(|t| t.set(false));
    });
}

/// Counts a server stopping on this shard.
pub(crate) fn server_stopped() {
    SERVERS.with(|n| n.set(n.get().saturating_sub(1)));
}
