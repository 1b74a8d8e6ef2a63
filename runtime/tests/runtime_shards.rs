//! The multi-shard runtime: SO_REUSEPORT listeners on every shard, shard
//! info, errors from a shard coming back to the caller.

use shardio::net::TcpListener;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn every_shard_accepts_on_the_same_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let rt = shardio::Runtime::builder()
        .shards(2)
        .pin_to_cores(false)
        .build()
        .unwrap();
    let handle = rt.shutdown_handle();
    let served: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let ids: Arc<Mutex<Vec<usize>>> = Arc::default();
    let client = std::thread::spawn(move || {
        // Enough connections that both shards (almost surely) take some.
        let mut answers = Vec::new();
        for _ in 0..200 {
            let mut s = loop {
                match std::net::TcpStream::connect(("127.0.0.1", port)) {
                    Ok(s) => break s,
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            };
            s.write_all(b"?").unwrap();
            let mut b = [0u8; 1];
            s.read_exact(&mut b).unwrap();
            answers.push(b[0]);
        }
        handle.shutdown(Duration::from_millis(100));
        answers
    });
    let (served_c, ids_c) = (served.clone(), ids.clone());
    rt.run(move |shard| {
        let served = served_c.clone();
        ids_c.lock().unwrap().push(shard.id());
        assert_eq!(shard.count(), 2);
        async move {
            let listener = TcpListener::bind(("127.0.0.1", port))?;
            loop {
                let (stream, _) = listener.accept().await?;
                served.lock().unwrap().insert(shard.id());
                shardio::spawn(async move {
                    let (_, _) = stream.read(Vec::with_capacity(1)).await;
                    let (_, _) = stream.write_all(vec![b'0' + shard.id() as u8]).await;
                });
            }
        }
    })
    .unwrap();
    let answers = client.join().unwrap();
    assert_eq!(answers.len(), 200);
    let mut ids = ids.lock().unwrap().clone();
    ids.sort();
    assert_eq!(ids, vec![0, 1]);
    assert_eq!(
        served.lock().unwrap().len(),
        2,
        "SO_REUSEPORT should spread connections"
    );
}

#[test]
fn a_shard_error_comes_back_and_stops_the_others() {
    let rt = shardio::Runtime::builder()
        .shards(2)
        .pin_to_cores(false)
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = rt
        .run(|shard| async move {
            if shard.id() == 1 {
                // Bind an address that cannot be bound.
                TcpListener::bind("203.0.113.1:1")?;
            }
            // Shard 0 would run forever if not stopped.
            shardio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().starts_with("shard 1:"), "{err}");
}

#[test]
fn a_shard_panic_comes_back_as_an_error() {
    let rt = shardio::Runtime::builder()
        .shards(1)
        .pin_to_cores(false)
        .build()
        .unwrap();
    let err = rt
        .run(|_| async {
            panic!("entry exploded");
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("shard 0 panicked: entry exploded"),
        "{err}"
    );
}

#[test]
fn pinning_more_shards_than_cores_is_an_error() {
    let cores = std::thread::available_parallelism().unwrap().get();
    let err = shardio::Runtime::builder()
        .shards(cores + 1)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("cores are usable"), "{err}");
    assert!(shardio::Runtime::builder().shards(0).build().is_err());
}

#[test]
fn pinned_shards_report_their_core() {
    let cores: Arc<Mutex<Vec<Option<usize>>>> = Arc::default();
    let c = cores.clone();
    shardio::Runtime::builder()
        .shards(1)
        .build()
        .unwrap()
        .run(move |shard| {
            c.lock().unwrap().push(shard.core());
            async { Ok(()) }
        })
        .unwrap();
    assert!(cores.lock().unwrap()[0].is_some());
}
