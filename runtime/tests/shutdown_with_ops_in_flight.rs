//! Graceful shutdown while connections sit in reads, a task sleeps for an
//! hour and accepts are armed: `run` returns Ok promptly, every op was reaped
//! before the rings went away, and no fd is left open.

mod util;

use shardio::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::open_fds;

#[test]
fn shutdown_with_ops_in_flight() {
    let before = open_fds();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let stopped: Arc<Mutex<Vec<shardio::ShardStats>>> = Arc::default();
    let accepted = Arc::new(AtomicUsize::new(0));
    let rt = shardio::Runtime::builder()
        .shards(2)
        .pin_to_cores(false)
        .shutdown_grace(Duration::from_millis(200))
        .on_shard_stop({
            let stopped = stopped.clone();
            move |_, s| stopped.lock().unwrap().push(s)
        })
        .build()
        .unwrap();
    let handle = rt.shutdown_handle();

    // Clients on a plain thread: connect, send nothing, wait for the server
    // to close (which shutdown causes).
    let client_addr = addr.clone();
    let accepted_c = accepted.clone();
    let clients = std::thread::spawn(move || {
        let mut streams = Vec::new();
        for _ in 0..20 {
            loop {
                match std::net::TcpStream::connect(&client_addr) {
                    Ok(s) => break streams.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        while accepted_c.load(Ordering::SeqCst) < 20 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let start = Instant::now();
        handle.shutdown(Duration::from_millis(200));
        (streams, start)
    });

    let start_run = Instant::now();
    let accepted_s = accepted.clone();
    rt.run(move |_| {
        let addr = addr.clone();
        let accepted = accepted_s.clone();
        async move {
            let listener = TcpListener::bind(&addr)?;
            shardio::spawn(shardio::time::sleep(Duration::from_secs(3600)));
            loop {
                let (stream, _) = listener.accept().await?;
                accepted.fetch_add(1, Ordering::SeqCst);
                shardio::spawn(async move {
                    // Blocks in a read until shutdown cancels it.
                    let (_n, _b) = stream.read(Vec::with_capacity(1024)).await;
                });
            }
        }
    })
    .unwrap();
    let (streams, shutdown_at) = clients.join().unwrap();
    assert!(
        shutdown_at.elapsed() < Duration::from_secs(3),
        "run took {:?} after shutdown (started {:?} ago)",
        shutdown_at.elapsed(),
        start_run.elapsed()
    );
    let stopped = stopped.lock().unwrap();
    assert_eq!(stopped.len(), 2);
    for s in stopped.iter() {
        assert_eq!(
            s.ops_in_flight, 0,
            "ops left when the ring was torn down: {s:?}"
        );
        assert_eq!(s.tasks_alive, 0, "{s:?}");
        assert_eq!(s.connections_open, 0, "{s:?}");
    }
    // The server side closed every connection: each client reads EOF or reset.
    for mut s in streams {
        use std::io::Read;
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut b = [0u8; 8];
        match s.read(&mut b) {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!("unexpected {n} bytes"),
        }
    }
    assert_eq!(open_fds(), before);
}
