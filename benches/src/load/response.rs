//! Reading responses off a connection: an incremental parser that finds
//! where each response ends (Content-Length, chunked, or the connection's
//! end) without keeping the body, so a 1 GiB download costs no memory.

use std::mem::MaybeUninit;

/// The most a response head may take before the response is called
/// invalid.
const MAX_HEAD: usize = 64 * 1024;

/// A response that has been read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) status: u16,
    /// The server will close the connection after it (`Connection: close`,
    /// or HTTP/1.0 without keep-alive, or a body that ends with the
    /// connection).
    pub(crate) close: bool,
}

/// The response is not HTTP/1.x as RFC 9112 frames it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    /// Content-Length bytes still to come.
    Sized(u64),
    /// Waiting for a chunk-size line.
    ChunkSize,
    /// Chunk data still to come, then its CRLF.
    ChunkData(u64),
    ChunkEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
    /// No length: the body is whatever arrives before the connection ends.
    UntilEof,
}

/// Finds response boundaries in the bytes of one connection.
#[derive(Debug)]
pub(crate) struct Reader {
    state: State,
    /// The request was HEAD: responses have no body whatever they say.
    head_request: bool,
    status: u16,
    close: bool,
}

impl Reader {
    pub(crate) fn new(head_request: bool) -> Reader {
        Reader {
            state: State::Head,
            head_request,
            status: 0,
            close: false,
        }
    }

    /// Consumes bytes from the start of `buf`. Returns how many it used and
    /// the response they completed, if they completed one; `(0, None)` means
    /// more bytes are needed before anything can be used.
    pub(crate) fn feed(&mut self, buf: &[u8]) -> Result<(usize, Option<Done>), Invalid> {
        match self.state {
            State::Head => self.head(buf),
            State::Sized(left) => {
                let take = left.min(buf.len() as u64);
                self.state = State::Sized(left - take);
                Ok((take as usize, self.finish_if(left == take)))
            }
            State::ChunkSize => match httparse::parse_chunk_size(buf) {
                Ok(httparse::Status::Complete((used, 0))) => {
                    self.state = State::Trailers;
                    Ok((used, None))
                }
                Ok(httparse::Status::Complete((used, size))) => {
                    self.state = State::ChunkData(size);
                    Ok((used, None))
                }
                Ok(httparse::Status::Partial) => Ok((0, None)),
                Err(_) => Err(Invalid),
            },
            State::ChunkData(left) => {
                let take = left.min(buf.len() as u64);
                self.state = if left == take {
                    State::ChunkEnd
                } else {
                    State::ChunkData(left - take)
                };
                Ok((take as usize, None))
            }
            State::ChunkEnd => match buf {
                [b'\r', b'\n', ..] => {
                    self.state = State::ChunkSize;
                    Ok((2, None))
                }
                [] | [b'\r'] => Ok((0, None)),
                _ => Err(Invalid),
            },
            State::Trailers => match buf.windows(2).position(|w| w == b"\r\n") {
                // The empty line ends the message (RFC 9112 §7.1).
                Some(0) => Ok((2, self.finish_if(true))),
                Some(end) => Ok((end + 2, None)),
                None if buf.len() > MAX_HEAD => Err(Invalid),
                None => Ok((0, None)),
            },
            State::UntilEof => Ok((buf.len(), None)),
        }
    }

    /// The connection ended: completes a response whose body runs to the
    /// end; anything else in progress is cut short.
    pub(crate) fn eof(&mut self) -> Result<Option<Done>, Invalid> {
        match self.state {
            State::UntilEof => Ok(self.finish_if(true)),
            State::Head => Ok(None),
            _ => Err(Invalid),
        }
    }

    fn head(&mut self, buf: &[u8]) -> Result<(usize, Option<Done>), Invalid> {
        // Uninitialised slots: filling 64 empty headers before every
        // response would cost more than parsing a small one.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
        let mut response = httparse::Response::new(&mut []);
        let used = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut headers,
        ) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD => return Ok((0, None)),
            _ => return Err(Invalid),
        };
        let status = response.code.ok_or(Invalid)?;
        // Interim responses (100 Continue) come before the real one.
        if (100..200).contains(&status) {
            return Ok((used, None));
        }
        let mut close = response.version == Some(0);
        let mut length = None;
        let mut chunked = false;
        for h in response.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let value = std::str::from_utf8(h.value).map_err(|_| Invalid)?;
                let n: u64 = value.trim().parse().map_err(|_| Invalid)?;
                if length.is_some_and(|l| l != n) {
                    return Err(Invalid);
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = last_token(h.value).eq_ignore_ascii_case(b"chunked");
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        close = false;
                    }
                }
            }
        }
        self.status = status;
        self.close = close;
        // RFC 9112 §6.3: no body for HEAD, 204 and 304; chunked wins over
        // Content-Length; with neither, the body runs to the connection's end.
        self.state = if self.head_request || status == 204 || status == 304 {
            State::Sized(0)
        } else if chunked {
            State::ChunkSize
        } else if let Some(n) = length {
            State::Sized(n)
        } else {
            self.close = true;
            State::UntilEof
        };
        if self.state == State::Sized(0) {
            return Ok((used, self.finish_if(true)));
        }
        Ok((used, None))
    }

    fn finish_if(&mut self, done: bool) -> Option<Done> {
        if !done {
            return None;
        }
        self.state = State::Head;
        Some(Done {
            status: self.status,
            close: self.close,
        })
    }
}

fn last_token(value: &[u8]) -> &[u8] {
    value
        .rsplit(|&b| b == b',')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` split at `split`, returning every response completed
    /// and whether the reader is between responses at the end.
    fn run(head: bool, input: &[u8], split: usize, eof: bool) -> Result<Vec<Done>, Invalid> {
        let mut reader = Reader::new(head);
        let mut done = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for part in [&input[..split], &input[split..]] {
            pending.extend_from_slice(part);
            loop {
                let (used, d) = reader.feed(&pending)?;
                pending.drain(..used);
                done.extend(d);
                if used == 0 && d.is_none() {
                    break;
                }
            }
        }
        if eof {
            done.extend(reader.eof()?);
        }
        Ok(done)
    }

    fn ok(status: u16, close: bool) -> Done {
        Done { status, close }
    }

    #[test]
    fn frames_every_kind_of_body_at_every_split() {
        let cases: &[(&str, bool, bool, Vec<Done>)] = &[
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, false, vec![ok(200, false)]),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
                false,
                false,
                vec![ok(200, false), ok(404, false)],
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
                false,
                false,
                vec![ok(200, false)],
            ),
            ("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end", false, true, vec![ok(200, true)]),
            ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, false, vec![ok(200, true)]),
            (
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
                false,
                false,
                vec![ok(200, false)],
            ),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, false, vec![ok(200, false)]),
            ("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", false, false, vec![ok(304, false)]),
            (
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                false,
                false,
                vec![ok(201, false)],
            ),
        ];
        for (input, head, eof, want) in cases {
            for split in 0..=input.len() {
                let got = run(*head, input.as_bytes(), split, *eof);
                assert_eq!(got.as_ref(), Ok(want), "{input:?} split at {split}");
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_framed_response() {
        for input in [
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert_eq!(
                run(false, input.as_bytes(), 0, false),
                Err(Invalid),
                "{input:?}"
            );
        }
        // A body cut short by the connection's end.
        let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(run(false, cut, 0, true), Err(Invalid));
        // A head that never ends.
        let mut endless = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        endless.resize(MAX_HEAD + 1, b'a');
        assert_eq!(Reader::new(false).feed(&endless), Err(Invalid));
    }
}
