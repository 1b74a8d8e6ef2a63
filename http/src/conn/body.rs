//! The connection's side of request bodies: what `Body::chunk` reads.

use super::io::CutIfDropped;
use super::{BodyFraming, BodyState, Conn, Input};
use crate::body::chunked::{Kept, Step};
use crate::body::{BodyError, BodyErrorKind};
use crate::storage::{Chunk, Storage};
use std::rc::Rc;

/// `100 Continue`, sent before the first body read when asked for (RFC
/// 9110 §10.1.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl Conn {
    /// Starts the body of a new request; returns its generation.
    pub(super) fn begin_body(&self, framing: BodyFraming, expect_continue: bool) -> u32 {
        let mut st = self.body.borrow_mut();
        st.generation = st.generation.wrapping_add(1);
        let done = matches!(framing, BodyFraming::Done);
        *st = BodyState {
            generation: st.generation,
            framing,
            limit: self.shared.limits.max_body,
            received: 0,
            expect_continue: expect_continue && !done,
            upgraded: false,
            single_waits: st.single_waits,
        };
        st.generation
    }

    pub(crate) fn lower_body_limit(&self, generation: u32, limit: u64) {
        let mut st = self.body.borrow_mut();
        if st.generation == generation {
            st.limit = st.limit.min(limit);
        }
    }

    /// After the handler, when no I/O is needed to know: detaches the body
    /// and returns whether the request's bytes were all consumed. `None`:
    /// a small unread remainder must be skipped first
    /// ([`drain_body`](Conn::drain_body)).
    pub(super) fn settle_body(&self) -> Option<bool> {
        let verdict = {
            let st = self.body.borrow();
            if matches!(st.framing, BodyFraming::Failed(_)) {
                Some(false)
            } else if matches!(st.framing, BodyFraming::Done) {
                Some(true)
            } else if st.expect_continue {
                // The client waits for our verdict and may never send the
                // body: where the next request would start is unknowable.
                Some(false)
            } else if let BodyFraming::Length(left) = st.framing {
                (left > self.shared.limits.max_body_drain).then_some(false)
            } else {
                None
            }
        };
        verdict.map(|reusable| self.detach(reusable))
    }

    /// Skips what the handler left of the body (up to the drain
    /// allowance), then detaches it. Returns whether the request's bytes
    /// were all consumed.
    pub(super) async fn drain_body(self: &Rc<Self>) -> bool {
        let generation = self.body.borrow().generation;
        // The drain allowance is a limit on what we skip.
        let allowance = self.shared.limits.max_body_drain;
        let mut skipped = 0u64;
        loop {
            // Trailers of a body the handler did not finish are dropped.
            match self.read_body(generation, None).await {
                Ok(Some(c)) => {
                    skipped += c.len() as u64;
                    if skipped > allowance {
                        return self.detach(false);
                    }
                }
                Ok(None) => return self.detach(true),
                Err(_) => return self.detach(false),
            }
        }
    }

    /// Ends the current body's life; returns `reusable`.
    fn detach(&self, reusable: bool) -> bool {
        let mut st = self.body.borrow_mut();
        st.generation = st.generation.wrapping_add(1);
        reusable
    }

    fn fail(&self, kind: BodyErrorKind) -> BodyError {
        self.body.borrow_mut().framing = BodyFraming::Failed(kind);
        BodyError::new(kind)
    }

    /// The next piece of the body of request `generation`; trailer field
    /// lines go to `keep`, if given.
    pub(crate) async fn read_body(
        self: &Rc<Self>,
        generation: u32,
        mut keep: Option<&mut Kept>,
    ) -> Result<Option<Chunk>, BodyError> {
        loop {
            match self.next_piece(generation, keep.as_deref_mut()) {
                Next::Ready(r) => return r,
                Next::Continue => {
                    // A send dropped part way leaves the stream cut short
                    // somewhere: nothing may follow it.
                    let guard = FailIfDropped::new(self, generation);
                    let cut = CutIfDropped::new(self);
                    self.out().extend_from_slice(CONTINUE);
                    let sent = self.flush().await;
                    cut.disarm();
                    guard.disarm();
                    if !sent {
                        return Err(self.fail(BodyErrorKind::Incomplete));
                    }
                }
                Next::Read => {
                    // Every received byte is used: read more. The multishot
                    // receive is the connection's, so a read dropped while
                    // it waits loses nothing; a receive of its own would be
                    // cancelled, and what the kernel had given it lost.
                    let guard = (!self.streaming()).then(|| FailIfDropped::new(self, generation));
                    let read = self.recv();
                    let read = shardio::time::timeout(self.shared.timeouts.body_read, read).await;
                    if let Some(guard) = guard {
                        guard.disarm();
                    }
                    match read {
                        Ok(Ok(Some(buf))) => self.push_input(buf),
                        Ok(_) => return Err(self.fail(BodyErrorKind::Incomplete)),
                        Err(_) => return Err(self.fail(BodyErrorKind::Timeout)),
                    }
                }
            }
        }
    }

    /// What the body reader does next, from what is already received.
    fn next_piece(&self, generation: u32, keep: Option<&mut Kept>) -> Next {
        let mut st = self.body.borrow_mut();
        if st.generation != generation {
            return Next::Ready(Err(BodyError::new(BodyErrorKind::Detached)));
        }
        match st.framing {
            BodyFraming::Failed(kind) => return Next::Ready(Err(BodyError::new(kind))),
            BodyFraming::Done => return Next::Ready(Ok(None)),
            BodyFraming::Length(_) | BodyFraming::Chunked(_) => {}
        }
        let failed = |st: &mut BodyState, kind| {
            st.framing = BodyFraming::Failed(kind);
            Next::Ready(Err(BodyError::new(kind)))
        };
        if let BodyFraming::Length(left) = st.framing {
            if st.received + left > st.limit {
                return failed(&mut st, BodyErrorKind::TooLarge);
            }
        }
        if st.expect_continue {
            st.expect_continue = false;
            return Next::Continue;
        }
        let mut input = self.input.borrow_mut();
        let Some(buf) = input.buf.clone().filter(|b| input.pos < b.len()) else {
            return Next::Read;
        };
        match take(&mut st, &mut input, &buf, keep) {
            Taken::Chunk(c) => {
                st.received += c.len() as u64;
                if st.received > st.limit {
                    return failed(&mut st, BodyErrorKind::TooLarge);
                }
                Next::Ready(Ok(Some(c)))
            }
            Taken::End => Next::Ready(Ok(None)),
            Taken::More => Next::Read,
            Taken::Malformed(why) => failed(&mut st, BodyErrorKind::Malformed(why)),
        }
    }
}

/// Fails the body of request `generation` when dropped armed: the read it
/// guards was given up (its future dropped) while bytes may have been on
/// their way, so where the body ends is no longer known. Later reads fail
/// and the connection closes after the response, rather than read the
/// next request as body.
struct FailIfDropped<'a> {
    conn: &'a Conn,
    generation: u32,
    armed: bool,
}

impl<'a> FailIfDropped<'a> {
    fn new(conn: &'a Conn, generation: u32) -> FailIfDropped<'a> {
        FailIfDropped {
            conn,
            generation,
            armed: true,
        }
    }

    /// The read finished: nothing to fail.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for FailIfDropped<'_> {
    fn drop(&mut self) {
        let mut st = self.conn.body.borrow_mut();
        if self.armed && st.generation == self.generation {
            st.framing = BodyFraming::Failed(BodyErrorKind::Dropped);
        }
    }
}

enum Next {
    Ready(Result<Option<Chunk>, BodyError>),
    /// Send `100 Continue` first.
    Continue,
    Read,
}

enum Taken {
    Chunk(Chunk),
    End,
    More,
    Malformed(&'static str),
}

/// Takes body bytes from the input.
fn take(
    st: &mut BodyState,
    input: &mut Input,
    buf: &Rc<Storage>,
    keep: Option<&mut Kept>,
) -> Taken {
    let pos = input.pos;
    match &mut st.framing {
        BodyFraming::Length(left) => {
            let n = (*left).min((buf.len() - pos) as u64) as usize;
            *left -= n as u64;
            input.pos += n;
            if *left == 0 {
                st.framing = BodyFraming::Done;
            }
            Taken::Chunk(Chunk::new(buf.clone(), pos, pos + n))
        }
        BodyFraming::Chunked(decoder) => match decoder.step(&buf[pos..], keep) {
            Ok((used, step)) => {
                input.pos += used;
                match step {
                    Step::Data(a, b) => Taken::Chunk(Chunk::new(buf.clone(), pos + a, pos + b)),
                    Step::Done => {
                        st.framing = BodyFraming::Done;
                        Taken::End
                    }
                    Step::NeedMore => Taken::More,
                }
            }
            Err(why) => Taken::Malformed(why),
        },
        // `next_piece` answers these before taking anything.
        BodyFraming::Done | BodyFraming::Failed(_) => Taken::End,
    }
}
