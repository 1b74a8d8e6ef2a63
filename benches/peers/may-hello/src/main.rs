//! may-minihttp hello server on one worker. Usage: may-hello ADDR

use may_minihttp::{HttpServer, HttpService, Request, Response};
use std::io;

#[derive(Clone)]
struct Hello;

impl HttpService for Hello {
    fn call(&mut self, _req: Request, rsp: &mut Response) -> io::Result<()> {
        rsp.header("Content-Type: text/plain").body("Hello, World!");
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8084".into());
    may::config().set_workers(1);
    let server = HttpServer(Hello).start(&addr)?;
    println!("listening on {addr}");
    server.join().map_err(|_| io::Error::other("server thread panicked"))
}
