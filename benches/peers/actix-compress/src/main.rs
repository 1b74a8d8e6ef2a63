//! actix-web with one worker and `middleware::Compress`: `GET /` is
//! `Hello, World!`, `GET /report` the same 4 MiB JSON array as shardio-http's
//! compress example. actix compresses at flate2's fast level (1), on a
//! blocking thread for every chunk of 1 KiB and more. Usage:
//! actix-compress ADDR

use actix_web::web::Bytes;
use actix_web::{middleware, web, App, HttpResponse, HttpServer};

fn report() -> Bytes {
    let rows: Vec<String> = (0..60_000)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i}","price":{},"stock":true}}"#, i % 997))
        .collect();
    Bytes::from(format!("[{}]", rows.join(",")))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8086".into());
    let report = web::Data::new(report());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(report.clone())
            .wrap(middleware::Compress::default())
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Ok().content_type("text/plain").body("Hello, World!")
                }),
            )
            .route(
                "/report",
                web::get().to(|report: web::Data<Bytes>| async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(report.get_ref().clone())
                }),
            )
    })
    .workers(1)
    .bind(&addr)?;
    println!("listening on {addr}");
    server.run().await
}
