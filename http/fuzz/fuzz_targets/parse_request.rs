//! The request parser fed arbitrary bytes: it never panics, and what it
//! accepts is self-consistent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shardio_http::Request;

fuzz_target!(|data: &[u8]| {
    match Request::parse(data) {
        Ok(req) => {
            // Everything it hands out must be readable.
            let path = req.path();
            assert!(path.starts_with('/') || path == "*");
            assert!(!path.contains('#') && !req.query().unwrap_or_default().contains('#'));
            if let Some(host) = req.host() {
                // `host[:port]`: nothing that ends an authority or starts
                // userinfo, and no whitespace.
                assert!(!host.contains(['/', '?', '#', '@', ' ', '\t']), "{host:?}");
            }
            for (name, value) in req.headers() {
                assert!(!name.is_empty());
                assert!(!value.contains(&b'\r') && !value.contains(&b'\n'));
            }
            assert!(req.minor_version() <= 1);
        }
        Err(e) => {
            let s = e.status();
            assert!(s == 0 || (400..=505).contains(&s), "odd status {s}");
        }
    }
});
