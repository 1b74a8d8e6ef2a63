//! `send_zc`: byte-exact, counted, a plain send below the threshold, and a
//! dropped send keeps its buffer until the kernel's notification.

mod util;

use shardio::IoBuf;
use shardio_zerocopy::{send_zc, send_zc_all, set_zc_threshold, stats};
use std::future::Future;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use util::*;

fn kernel_has_send_zc() -> bool {
    shardio::uring::is_supported(shardio::uring::opcode::SendZc::CODE).unwrap()
}

#[test]
fn large_buffer_goes_zero_copy_and_arrives_intact() {
    run_within(30, || async {
        if !kernel_has_send_zc() {
            eprintln!("skipped: this kernel lacks IORING_OP_SEND_ZC");
            return;
        }
        // Every send goes zero-copy, however short a partial one leaves the rest.
        set_zc_threshold(0);
        let (server, client) = pair_with_std().await;
        let reader = std::thread::spawn(move || read_to_end(client));
        let body: Vec<u8> = (0..8u64 << 20).map(byte_at).collect();
        let before = stats();
        let (res, body) = send_zc_all(&server, body).await;
        res.unwrap();
        drop(server);
        let got = join_thread(reader).await;
        assert_eq!(got.len(), body.len());
        assert_pattern(&got, 0);
        let after = stats();
        assert!(after.zc_sends > before.zc_sends);
        assert_eq!(after.zc_bytes - before.zc_bytes, 8 << 20);
        assert_eq!(after.zc_fallbacks, before.zc_fallbacks);
    });
}

#[test]
fn small_buffer_falls_back_to_a_plain_send() {
    run_within(30, || async {
        set_zc_threshold(1 << 20);
        let (server, client) = pair_with_std().await;
        let reader = std::thread::spawn(move || read_to_end(client));
        let before = stats();
        let (res, _) = send_zc(&server, b"small body".to_vec()).await;
        assert_eq!(res.unwrap(), 10);
        drop(server);
        assert_eq!(join_thread(reader).await, b"small body");
        let after = stats();
        assert_eq!(after.zc_fallbacks, before.zc_fallbacks + 1);
        assert_eq!(after.zc_sends, before.zc_sends);
        set_zc_threshold(shardio_zerocopy::DEFAULT_ZC_THRESHOLD);
    });
}

/// A buffer that counts how many of its kind are alive.
struct Counted {
    bytes: Vec<u8>,
    live: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards to the inner Vec, whose heap storage does not move when
// `Counted` moves and is not touched while the buffer is owned by an op.
unsafe impl IoBuf for Counted {
    fn stable_ptr(&self) -> *const u8 {
        self.bytes.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.bytes.len()
    }
    fn bytes_total(&self) -> usize {
        self.bytes.capacity()
    }
}

#[test]
fn dropped_send_keeps_its_buffer_until_the_notification() {
    run_within(30, || async {
        if !kernel_has_send_zc() {
            eprintln!("skipped: this kernel lacks IORING_OP_SEND_ZC");
            return;
        }
        let live = Arc::new(AtomicUsize::new(1));
        let buf = Counted {
            bytes: vec![7u8; 1 << 20],
            live: live.clone(),
        };
        let (server, client) = pair_with_std().await;
        let server = Rc::new(server);
        {
            let send = send_zc(&server, buf);
            let mut send = std::pin::pin!(send);
            // One poll submits the op; then the future goes.
            let waker = std::task::Waker::noop();
            let polled = send
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker));
            assert!(polled.is_pending());
        }
        assert_eq!(
            live.load(Ordering::SeqCst),
            1,
            "freed while the kernel owns it"
        );
        let reader = std::thread::spawn(move || read_to_end(client));
        settle().await;
        drop(server);
        settle().await;
        assert_eq!(live.load(Ordering::SeqCst), 0, "never freed");
        let got = join_thread(reader).await;
        assert!(got.iter().all(|&b| b == 7));
    });
}
