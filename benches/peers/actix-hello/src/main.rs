//! actix-web hello server with one worker. Usage: actix-hello ADDR

use actix_web::{web, App, HttpResponse, HttpServer};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("Hello, World!")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8085".into());
    let server = HttpServer::new(|| App::new().route("/", web::get().to(hello)))
        .workers(1)
        .bind(&addr)?;
    println!("listening on {addr}");
    server.run().await
}
