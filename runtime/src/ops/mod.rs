//! One file per io_uring operation. Each defines the resources the op owns
//! while in flight (its `OpDef`), how its CQE becomes a result, and what a
//! late CQE undoes once nobody waits for it (`Orphan`).

mod accept;
mod close;
mod connect;
mod nop;
mod poll;
mod readv;
mod recv;
mod recv_multi;
mod recv_select;
mod send;
mod shutdown;
mod timeout;
mod writev;

pub(crate) use accept::{accept, accept_multi, AcceptMulti};
pub(crate) use close::close;
pub(crate) use connect::connect;
pub(crate) use nop::nop;
pub(crate) use poll::poll;
pub(crate) use readv::readv;
pub(crate) use recv::recv;
pub(crate) use recv_multi::{recv_multi, RecvMulti};
pub(crate) use recv_select::{recv_select, RecvSelect};
pub(crate) use send::{send, send_all, Send};
pub(crate) use shutdown::shutdown;
pub(crate) use timeout::timeout;
pub(crate) use writev::writev;

/// A `msghdr` for `iovecs`, boxed so its address survives moves of the op
/// data that owns it.
fn msghdr(iovecs: &[libc::iovec]) -> Box<libc::msghdr> {
    // SAFETY: `msghdr` is plain old data; all-zero is a valid empty header.
    let mut msg: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
    msg.msg_iov = iovecs.as_ptr().cast_mut();
    msg.msg_iovlen = iovecs.len();
    msg
}
