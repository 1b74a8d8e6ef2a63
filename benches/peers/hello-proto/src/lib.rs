//! The hello answer for peers built on a bare runtime: every complete
//! request in the buffer gets `200 Hello, World!`, in order, appended to one
//! output buffer so pipelined responses leave in one write.

use std::time::{Duration, SystemTime};

const BODY: &str = "Hello, World!";

/// What [`answer`] found in the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// This many bytes were whole requests and have been answered.
    Consumed(usize),
    /// The input is not HTTP; close the connection.
    Invalid,
}

/// A `Date` header value, refreshed at most once a second.
#[derive(Debug)]
pub struct DateCache {
    value: String,
    at: SystemTime,
}

impl Default for DateCache {
    fn default() -> Self {
        let at = SystemTime::now();
        DateCache { value: httpdate::fmt_http_date(at), at }
    }
}

impl DateCache {
    fn get(&mut self) -> &str {
        let now = SystemTime::now();
        if now.duration_since(self.at).unwrap_or_default() >= Duration::from_secs(1) {
            *self = DateCache::default();
        }
        &self.value
    }
}

/// Answers every complete request at the start of `input` into `out`.
pub fn answer(input: &[u8], out: &mut Vec<u8>, date: &mut DateCache) -> Parsed {
    let mut used = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&input[used..]) {
            Ok(httparse::Status::Complete(n)) => {
                used += n;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nDate: {}\r\n\r\n",
                    BODY.len(),
                    date.get()
                );
                out.extend_from_slice(head.as_bytes());
                out.extend_from_slice(BODY.as_bytes());
            }
            Ok(httparse::Status::Partial) => return Parsed::Consumed(used),
            Err(_) => return Parsed::Invalid,
        }
    }
}
