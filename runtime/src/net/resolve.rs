//! Names to socket addresses. A literal address needs no resolver and is
//! used at once; a name goes to the system resolver (`getaddrinfo(3)`,
//! which may wait seconds for a DNS server) on the blocking pool
//! ([`spawn_blocking`](crate::spawn_blocking)), never on the shard.

use std::any::Any;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};

/// Resolves `addr` (anything [`TcpStream::connect`](super::TcpStream::connect)
/// takes: `"host:port"`, `("host", port)`, a `SocketAddr`, ...) without
/// blocking the shard: a literal address at once, a name on the blocking
/// pool.
///
/// # Errors
///
/// The resolver's error, or `InvalidInput` if `addr` names no address.
///
/// # Examples
///
/// ```
/// shardio::block_on(async {
///     let addrs = shardio::net::lookup_host(("localhost", 8080)).await?;
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub async fn lookup_host<A>(addr: A) -> io::Result<Vec<SocketAddr>>
where
    A: ToSocketAddrs + Send + 'static,
{
    match literal(&addr) {
        Some(addr) => Ok(vec![addr]),
        None => crate::spawn_blocking(move || resolve_now(addr)).await,
    }
}

/// `addr` as one socket address, if it is one already or is written as
/// one, so that no resolver is needed.
fn literal(addr: &dyn Any) -> Option<SocketAddr> {
    fn parse(host: &str, port: u16) -> Option<SocketAddr> {
        host.parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, port))
    }
    if let Some(a) = addr.downcast_ref::<SocketAddr>() {
        Some(*a)
    } else if let Some(a) = addr.downcast_ref::<SocketAddrV4>() {
        Some((*a).into())
    } else if let Some(a) = addr.downcast_ref::<SocketAddrV6>() {
        Some((*a).into())
    } else if let Some(&(ip, port)) = addr.downcast_ref::<(IpAddr, u16)>() {
        Some(SocketAddr::new(ip, port))
    } else if let Some(s) = addr.downcast_ref::<&str>() {
        s.parse().ok()
    } else if let Some(s) = addr.downcast_ref::<String>() {
        s.parse().ok()
    } else if let Some(&(host, port)) = addr.downcast_ref::<(&str, u16)>() {
        parse(host, port)
    } else if let Some((host, port)) = addr.downcast_ref::<(String, u16)>() {
        parse(host, *port)
    } else {
        None
    }
}

/// Resolves `addr` on the calling thread, failing with a clear error if it
/// names nothing.
pub(crate) fn resolve_now(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "address resolved to nothing",
        ));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::literal;
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    #[test]
    fn literal_addresses_need_no_resolver() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(literal(&a), Some(a));
        assert_eq!(literal(&"127.0.0.1:80"), Some(a));
        assert_eq!(literal(&String::from("127.0.0.1:80")), Some(a));
        assert_eq!(literal(&("127.0.0.1", 80u16)), Some(a));
        assert_eq!(literal(&(String::from("127.0.0.1"), 80u16)), Some(a));
        assert_eq!(literal(&(IpAddr::V4(Ipv4Addr::LOCALHOST), 80u16)), Some(a));
        assert_eq!(literal(&"[::1]:80"), Some("[::1]:80".parse().unwrap()));
        // Names go to the resolver.
        assert_eq!(literal(&"localhost:80"), None);
        assert_eq!(literal(&("localhost", 80u16)), None);
    }
}
