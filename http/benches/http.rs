#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Criterion benches for the HTTP layer without I/O:
//!
//! * `plaintext`: parse a request head, route it, run the handler (its
//!   future in a reused `FutureSlot`, as the server runs it), encode the
//!   response — everything the server does per request but the socket;
//!   and the same with the handler's future boxed (`Router::call`).
//! * `router`: lookup alone, among 10 and 1,000 routes.
//! * `httparse alone`: the same head through httparse and nothing else —
//!   the part of `plaintext` no HTTP layer built on httparse can avoid.
//! * `rate limit`: a token taken for a client the table knows, and for a
//!   new client each time with the table full of clients whose buckets
//!   are empty (the case a flood of fresh addresses makes).
//! * `compress`: a 16 KiB JSON answer through the `Compress` middleware,
//!   gzip at the default level: one slice, the most compression does
//!   between two turns of the shard's other tasks.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use futures_util::task::noop_waker_ref;
use shardio_http::middleware::{Compress, RateLimit};
use shardio_http::{FutureSlot, Request, Response, Router};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::task::{Context, Poll};

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n";

/// Runs a future that is ready at once (the handlers here never wait).
fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    match fut
        .as_mut()
        .poll(&mut Context::from_waker(noop_waker_ref()))
    {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the handler waited"),
    }
}

fn hello_router() -> Router {
    Router::new()
        .get("/", |_r: Request| async { Response::text("Hello, World!") })
        .get("/json", |_r: Request| async {
            Response::json(r#"{"message":"Hello, World!"}"#)
        })
        .get("/user/:id", |r: Request| async move {
            r.param("id").unwrap_or_default().into_owned()
        })
}

fn plaintext(c: &mut Criterion) {
    let router = hello_router();
    let mut out = Vec::with_capacity(4096);
    let mut slot = FutureSlot::new();
    c.bench_function("plaintext: parse + route + respond", |b| {
        b.iter(|| {
            out.clear();
            let req = Request::parse(black_box(REQUEST)).unwrap();
            let res = now(router.call_in(req, &mut slot));
            shardio_http::encode_response(res, false, 1, &mut out);
            black_box(out.len())
        })
    });
    // The same with the handler's future boxed (`Router::call`), as it was
    // before the server reused a slot for it.
    c.bench_function("plaintext: parse + route + respond, boxed future", |b| {
        b.iter(|| {
            out.clear();
            let req = Request::parse(black_box(REQUEST)).unwrap();
            let res = now(router.call(req));
            shardio_http::encode_response(res, false, 1, &mut out);
            black_box(out.len())
        })
    });
}

fn httparse_alone(c: &mut Criterion) {
    c.bench_function("httparse alone", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(REQUEST)).unwrap();
            black_box((status.is_complete(), req.headers.len()))
        })
    });
}

/// `n` routes shaped like a real API: static resources, ids, nesting.
fn router_with(n: usize) -> (Router, Vec<String>) {
    let mut router = Router::new();
    let mut paths = Vec::new();
    for i in 0..n {
        let pattern = match i % 4 {
            0 => format!("/api/v1/resource{i}"),
            1 => format!("/api/v1/resource{i}/:id"),
            2 => format!("/api/v1/resource{i}/:id/items"),
            _ => format!("/static{i}/*path"),
        };
        let path = pattern
            .replace(":id", "12345")
            .replace("*path", "css/site.css");
        router = router.get(&pattern, |_r: Request| async { "" });
        paths.push(path);
    }
    (router, paths)
}

fn router_lookup(c: &mut Criterion) {
    for n in [10, 1000] {
        let (router, paths) = router_with(n);
        let requests: Vec<Vec<u8>> = paths
            .iter()
            .map(|p| format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes())
            .collect();
        let mut i = 0;
        let mut slot = FutureSlot::new();
        c.bench_function(&format!("router: route + handler, {n} routes"), |b| {
            b.iter_batched(
                || {
                    i = (i + 1) % requests.len();
                    Request::parse(&requests[i]).unwrap()
                },
                |req| black_box(now(router.call_in(req, &mut slot)).status()),
                criterion::BatchSize::SmallInput,
            )
        });
    }
}

fn rate_limit(c: &mut Criterion) {
    let known = RateLimit::new(1e9, 1_000_000);
    let ip = IpAddr::from([10, 0, 0, 1]);
    c.bench_function("rate limit: known client", |b| {
        b.iter(|| black_box(known.check(black_box(ip)).is_ok()))
    });
    // One token per client and almost no refill: every bucket the table
    // holds is empty, so none can be dropped as idle.
    let full = RateLimit::new(1e-6, 1).max_clients(100_000);
    for i in 0..100_000u32 {
        let _ = full.check(IpAddr::from(Ipv4Addr::from((1u32 << 24) + i)));
    }
    let mut next = 2u32 << 24;
    c.bench_function("rate limit: new client, 100,000 busy clients kept", |b| {
        b.iter(|| {
            next += 1;
            black_box(full.check(IpAddr::from(Ipv4Addr::from(next))).is_ok())
        })
    });
}

fn compress(c: &mut Criterion) {
    let rows: String = (0..1000)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i}","ok":true}},"#))
        .collect();
    let body = bytes::Bytes::from(rows[..16 * 1024].to_owned());
    let router = Router::new()
        .middleware(Compress::new())
        .get("/rows", move |_r: Request| {
            let body = body.clone();
            async move { Response::json(body) }
        });
    let request = b"GET /rows HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n";
    let mut slot = FutureSlot::new();
    c.bench_function("compress: gzip a 16 KiB JSON body (one slice)", |b| {
        b.iter(|| {
            let req = Request::parse(black_box(request)).unwrap();
            let res = now(router.call_in(req, &mut slot));
            black_box(res.body().len())
        })
    });
}

criterion_group!(
    benches,
    plaintext,
    httparse_alone,
    router_lookup,
    rate_limit,
    compress
);
criterion_main!(benches);
