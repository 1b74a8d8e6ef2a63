//! Writing a handler's response: the head and a sized body into the output
//! buffer; streamed and file bodies straight to the socket after it.

use super::{progress, Conn};
use crate::encode::{self, Length};
use crate::response::{Response, ResponseBody};
use crate::status::has_body;
use futures_util::StreamExt;
use shardio_zerocopy::{send_with_head, FileRange, Strategy};
use std::fs::File;
use std::rc::Rc;

/// Bodies at least this large are sent from their own buffer rather than
/// copied into the output buffer.
const SEND_DIRECT_AT: usize = 16 * 1024;

/// What [`Conn::queue_response`] did with a response; each carries
/// whether the connection may carry another request.
pub(super) enum Queued {
    /// It is in the output buffer, which is `full` when it has reached
    /// [`FLUSH_AT`](super::FLUSH_AT) and must be sent before more requests
    /// are parsed.
    Done { keep: bool, full: bool },
    /// Its body needs writes of its own ([`Conn::write_response`]).
    Later(bool),
}

impl Conn {
    /// Appends `res` to the output buffer when that is all it takes (no
    /// body, or a small one in memory): the common case, with no `await`.
    /// A response with a field that could split it becomes a `500` that
    /// closes the connection.
    pub(super) fn queue_response(
        &self,
        res: &mut Response,
        is_head: bool,
        keep: bool,
        minor: u8,
    ) -> Queued {
        res.make_writable();
        let keep = keep && !res.closes_connection();
        let with_body = has_body(res.status());
        let send_body = with_body && !is_head;
        match res.body() {
            ResponseBody::Empty => {}
            ResponseBody::Bytes(b) if !send_body || b.len() < SEND_DIRECT_AT => {}
            // Also `Upgrade`: the connection switches after a flush.
            _ => return Queued::Later(keep),
        }
        let mut out = self.out();
        encode::sized(
            &mut out,
            res.status(),
            res.fields(),
            res.body(),
            is_head,
            keep,
            minor,
        );
        // Read while the buffer is at hand, rather than borrowed again.
        let full = out.len() >= super::FLUSH_AT;
        Queued::Done { keep, full }
    }

    /// Writes `res`, which [`queue_response`](Conn::queue_response) gave
    /// back: a large in-memory, streamed or file body (never an empty
    /// one). Returns whether the connection may carry another request
    /// (`keep` and nothing failed).
    pub(super) async fn write_response(
        &self,
        res: Response,
        is_head: bool,
        keep: bool,
        minor: u8,
    ) -> bool {
        let (status, headers, body, strategy) = res.into_parts();
        let with_body = has_body(status);
        let sized = |n: u64| {
            if with_body {
                Length::Known(n)
            } else {
                Length::None
            }
        };
        match body {
            ResponseBody::Empty => unreachable!("queue_response writes bodiless responses"),
            ResponseBody::Upgrade(_) => unreachable!("an upgrade is switched, not written"),
            ResponseBody::Bytes(bytes) => {
                // Large enough to go from its own buffer (and to be sent).
                let len = sized(bytes.len() as u64);
                encode::head(&mut self.out(), status, &headers, len, keep, minor);
                return self.send(bytes).await.is_ok() && keep;
            }
            ResponseBody::File { file, offset, len } => {
                encode::head(&mut self.out(), status, &headers, sized(len), keep, minor);
                if with_body && !is_head && len > 0 {
                    // A body cut short leaves the client expecting bytes
                    // that will never come: only closing tells it.
                    return self.send_file_range(&file, offset, len, strategy).await && keep;
                }
            }
            ResponseBody::FileParts(parts) => {
                let total = parts.len();
                encode::head(&mut self.out(), status, &headers, sized(total), keep, minor);
                if with_body && !is_head {
                    for part in &parts.parts {
                        self.out().extend_from_slice(&part.head);
                        if part.len > 0
                            && !self
                                .send_file_range(&parts.file, part.offset, part.len, strategy)
                                .await
                        {
                            return false;
                        }
                    }
                    self.out().extend_from_slice(&parts.tail);
                }
            }
            ResponseBody::Stream(mut stream) => {
                // HTTP/1.0 has no chunked coding: the close ends the body.
                let (length, keep) = if minor == 0 {
                    (Length::UntilClose, false)
                } else {
                    (Length::Chunked, keep)
                };
                encode::head(
                    &mut self.out(),
                    status,
                    &headers,
                    if with_body { length } else { Length::None },
                    keep,
                    minor,
                );
                if !with_body || is_head {
                    return keep;
                }
                if !self.flush().await {
                    return false;
                }
                while let Some(piece) = stream.next().await {
                    let Ok(piece) = piece else {
                        // No way to signal the error but to cut the body.
                        return false;
                    };
                    if minor == 0 {
                        self.out().extend_from_slice(&piece);
                    } else {
                        encode::chunk(&mut self.out(), &piece);
                    }
                    if !self.flush().await {
                        return false;
                    }
                }
                if minor == 1 {
                    self.out().extend_from_slice(encode::LAST_CHUNK);
                }
            }
        }
        keep
    }

    /// Sends what the output buffer holds, then `len` bytes of `file` from
    /// `offset`, through the zero-copy path by `strategy`, giving up when
    /// the client acknowledges nothing for a write timeout. `false`: the
    /// body was cut short and the connection must close.
    async fn send_file_range(
        &self,
        file: &Rc<File>,
        offset: u64,
        len: u64,
        strategy: Strategy,
    ) -> bool {
        if !self.settled_now() && !self.settle().await {
            return false;
        }
        let Some(head) = self.out.borrow_mut().take() else {
            return false;
        };
        let range = FileRange::shared(file, offset, len);
        let send = send_with_head(&self.stream, head, range, strategy);
        match progress::unless_stalled(&self.stream, self.shared.timeouts.write, send).await {
            Some((res, mut head)) => {
                head.clear();
                *self.out.borrow_mut() = Some(head);
                res.is_ok()
            }
            // The transfer was cancelled; the buffer went with it.
            None => false,
        }
    }
}
