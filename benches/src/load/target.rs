//! The URL under load: where to connect and what to put in the request line.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// A resolved `http://` URL.
#[derive(Debug, Clone)]
pub struct Target {
    /// The address connections go to (the first one the host resolves to).
    pub addr: SocketAddr,
    /// The `Host` header value: the URL's host, and its port if given.
    pub host: String,
    /// The request target: path and query, `/` at least.
    pub path: String,
    /// The URL as given, for the report.
    pub url: String,
}

impl Target {
    /// Parses and resolves `url`.
    ///
    /// # Errors
    ///
    /// A malformed URL, a scheme other than `http` (`https` is not
    /// supported: the generator speaks plain HTTP/1.1), or a host that does
    /// not resolve.
    pub fn parse(url: &str) -> io::Result<Target> {
        let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let parsed = url::Url::parse(url).map_err(|e| invalid(format!("{url}: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(invalid(format!(
                "{url}: only http:// URLs are supported, not {}://",
                parsed.scheme()
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| invalid(format!("{url}: no host")))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addr = (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()
            .map_err(|e| io::Error::new(e.kind(), format!("{url}: resolving {host}: {e}")))?
            .next()
            .ok_or_else(|| invalid(format!("{url}: {host} resolves to no address")))?;
        let host = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let mut path = parsed.path().to_string();
        if let Some(query) = parsed.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Target {
            addr,
            host,
            path,
            url: url.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_path_and_query() {
        let t = Target::parse("http://127.0.0.1:8080/a/b?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.path, "/a/b?x=1");

        let t = Target::parse("http://127.0.0.1").unwrap();
        assert_eq!(t.addr.port(), 80);
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.path, "/");

        let t = Target::parse("http://[::1]:9000/").unwrap();
        assert_eq!(t.addr, "[::1]:9000".parse().unwrap());
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        let e = Target::parse("https://127.0.0.1/").unwrap_err();
        assert!(e.to_string().contains("only http://"), "{e}");
        assert!(Target::parse("127.0.0.1:80").is_err());
        assert!(Target::parse("http:///nohost").is_err());
    }
}
