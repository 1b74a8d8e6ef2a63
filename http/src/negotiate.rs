//! Content negotiation helpers shared by compression and static files.

/// The q-value `Accept-Encoding` gives a coding known by any of `names`
/// (case-insensitive), falling back to `*`, else 0 (RFC 9110 §12.5.3).
pub(crate) fn coding_q(accept: &str, names: &[&str]) -> f32 {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.trim().parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        if names.iter().any(|n| name.eq_ignore_ascii_case(n)) {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::coding_q;

    #[test]
    fn q_values() {
        assert_eq!(coding_q("gzip, br", &["br"]), 1.0);
        assert_eq!(coding_q("gzip;q=0.5, br;q=0", &["br"]), 0.0);
        assert_eq!(coding_q("gzip;q=0.5", &["gzip"]), 0.5);
        assert_eq!(coding_q("X-GZIP", &["gzip", "x-gzip"]), 1.0);
        assert_eq!(coding_q("*;q=0.2", &["br"]), 0.2);
        assert_eq!(coding_q("identity", &["br"]), 0.0);
        assert_eq!(coding_q("", &["br"]), 0.0);
    }
}
