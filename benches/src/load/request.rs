//! The request every connection sends, built once.

use super::Config;
use bytes::{BufMut, Bytes, BytesMut};

/// The bytes of `pipeline` copies of the configured request, back to back,
/// so one write sends a whole pipelined batch.
pub(crate) fn build(config: &Config) -> Bytes {
    let one = one(config);
    let mut batch = BytesMut::with_capacity(one.len() * config.pipeline);
    for _ in 0..config.pipeline {
        batch.put_slice(&one);
    }
    batch.freeze()
}

fn one(config: &Config) -> Vec<u8> {
    let mut r = Vec::with_capacity(256);
    r.extend_from_slice(config.method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(config.target.path.as_bytes());
    r.extend_from_slice(b" HTTP/1.1\r\n");
    let given = |name: &str| {
        config
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !given("host") {
        header(&mut r, "Host", &config.target.host);
    }
    if !config.keepalive && !given("connection") {
        header(&mut r, "Connection", "close");
    }
    if let Some(body) = &config.body {
        if !given("content-length") {
            header(&mut r, "Content-Length", &body.len().to_string());
        }
    }
    for (name, value) in &config.headers {
        header(&mut r, name, value);
    }
    r.extend_from_slice(b"\r\n");
    if let Some(body) = &config.body {
        r.extend_from_slice(body);
    }
    r
}

fn header(r: &mut Vec<u8>, name: &str, value: &str) {
    r.extend_from_slice(name.as_bytes());
    r.extend_from_slice(b": ");
    r.extend_from_slice(value.as_bytes());
    r.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Target;

    #[test]
    fn builds_pipelined_batches_with_host_body_and_headers() {
        let mut config = Config::new(Target::parse("http://127.0.0.1:9/p?q").unwrap());
        config.method = "POST".into();
        config.body = Some(Bytes::from_static(b"hi"));
        config.headers = vec![("X-A".into(), "1".into())];
        config.pipeline = 2;
        let one =
            "POST /p?q HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nhi";
        assert_eq!(build(&config), format!("{one}{one}").as_bytes());

        let mut config = Config::new(Target::parse("http://127.0.0.1:9/").unwrap());
        config.keepalive = false;
        config.headers = vec![("host".into(), "example".into())];
        let got = build(&config);
        let got = std::str::from_utf8(&got).unwrap();
        assert!(got.contains("Connection: close\r\n"), "{got}");
        assert!(
            got.contains("host: example\r\n") && !got.contains("Host:"),
            "{got}"
        );
    }
}
