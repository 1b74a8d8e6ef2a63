use super::{Middleware, Next};
use crate::method::Method;
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::fmt;
use std::sync::Arc;

/// Cross-origin resource sharing (the Fetch standard's CORS protocol).
///
/// Preflight requests (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) from an allowed origin are answered
/// `204` here, with the allowed methods and headers and `Max-Age`; other
/// requests from an allowed origin get `Access-Control-Allow-Origin` (and
/// the credentials and exposed-headers fields when configured). Requests
/// from other origins pass through with no CORS fields, so browsers block
/// them. `Vary: Origin` is set on every answer whenever an allowed
/// origin's would name it (a list, a predicate, or credentials), those
/// without CORS fields included, so that caches keep them apart.
///
/// ```
/// use shardio_http::middleware::Cors;
/// let cors = Cors::any().max_age(600);
/// let strict = Cors::origins(["https://app.example"]).allow_credentials(true);
/// let subdomains = Cors::origins_matching(|origin| {
///     origin.strip_prefix("https://").is_some_and(|host| host.ends_with(".example.com"))
/// });
/// # let _ = (cors, strict, subdomains);
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Origins,
    methods: String,
    headers: Option<String>,
    expose: Option<String>,
    credentials: bool,
    max_age: u32,
}

/// Which origins a [`Cors`] allows.
#[derive(Clone)]
enum Origins {
    Any,
    List(Vec<String>),
    Matching(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl fmt::Debug for Origins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origins::Any => f.write_str("Any"),
            Origins::List(list) => f.debug_tuple("List").field(list).finish(),
            Origins::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

impl Cors {
    /// Allows every origin (`*`, or the origin itself with credentials).
    pub fn any() -> Cors {
        Cors {
            origins: Origins::Any,
            methods: "GET, HEAD, POST, PUT, DELETE, PATCH".into(),
            headers: None,
            expose: None,
            credentials: false,
            max_age: 86_400,
        }
    }

    /// Allows only these origins (`scheme://host[:port]`, compared exactly).
    pub fn origins<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Cors {
        Cors {
            origins: Origins::List(origins.into_iter().map(Into::into).collect()),
            ..Cors::any()
        }
    }

    /// Allows the origins `allow` says yes to: subdomains of a site, say.
    /// It sees the `Origin` field as sent (`scheme://host[:port]`, or
    /// `null`), so compare whole labels: `ends_with(".example.com")`, not
    /// `ends_with("example.com")`, which `https://evilexample.com` passes.
    pub fn origins_matching(allow: impl Fn(&str) -> bool + Send + Sync + 'static) -> Cors {
        Cors {
            origins: Origins::Matching(Arc::new(allow)),
            ..Cors::any()
        }
    }

    /// The methods preflights allow.
    pub fn methods(mut self, methods: &[Method]) -> Cors {
        self.methods = methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        self
    }

    /// The request headers preflights allow (default: whatever the
    /// preflight asks for).
    pub fn headers(mut self, headers: &[&str]) -> Cors {
        self.headers = Some(headers.join(", "));
        self
    }

    /// Response headers scripts may read (`Access-Control-Expose-Headers`).
    pub fn expose(mut self, headers: &[&str]) -> Cors {
        self.expose = Some(headers.join(", "));
        self
    }

    /// Allows credentials (cookies); the origin is then echoed, never `*`.
    pub fn allow_credentials(mut self, on: bool) -> Cors {
        self.credentials = on;
        self
    }

    /// How long browsers may cache a preflight, in seconds.
    pub fn max_age(mut self, seconds: u32) -> Cors {
        self.max_age = seconds;
        self
    }

    fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o == origin),
            Origins::Matching(allow) => allow(origin),
        }
    }

    /// Whether the answer names one origin (and so varies with it).
    fn echoes_origin(&self) -> bool {
        self.credentials || !matches!(self.origins, Origins::Any)
    }

    /// The `Access-Control-Allow-Origin` value for an allowed origin.
    fn allow_origin(&self, origin: &str) -> String {
        if self.echoes_origin() {
            origin.into()
        } else {
            "*".into()
        }
    }

    /// A request with no `Origin`, or one not allowed: no CORS fields.
    /// When the answer to an allowed origin would name it, this one still
    /// says it varies with `Origin`, so that a cache never gives it (with
    /// no `Access-Control-Allow-Origin`) to an allowed origin's request.
    fn without_cors<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        if !self.echoes_origin() {
            return next.run(req);
        }
        Box::pin(async move {
            let mut res = next.run(req).await;
            res.add_header("vary", "Origin");
            res
        })
    }

    fn decorate(&self, res: &mut Response, origin: &str) {
        res.set_header("access-control-allow-origin", self.allow_origin(origin));
        if self.credentials {
            res.set_header("access-control-allow-credentials", "true");
        }
        if self.echoes_origin() {
            res.add_header("vary", "Origin");
        }
    }
}

impl Middleware for Cors {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let origin = req.header("origin").filter(|o| self.allows(o));
        let Some(origin) = origin.map(str::to_owned) else {
            return self.without_cors(req, next);
        };
        let preflight = req.method() == Method::Options
            && req.header("access-control-request-method").is_some();
        if preflight {
            let mut res = Response::new(204);
            self.decorate(&mut res, &origin);
            res.set_header("access-control-allow-methods", self.methods.clone());
            let headers = match &self.headers {
                Some(h) => Some(h.clone()),
                None => req
                    .header("access-control-request-headers")
                    .map(str::to_owned),
            };
            if let Some(h) = headers {
                res.set_header("access-control-allow-headers", h);
            }
            res.set_header("access-control-max-age", self.max_age.to_string());
            if self.headers.is_none() {
                res.add_header("vary", "Access-Control-Request-Headers");
            }
            return Box::pin(async move { res });
        }
        Box::pin(async move {
            let mut res = next.run(req).await;
            self.decorate(&mut res, &origin);
            if let Some(expose) = &self.expose {
                res.set_header("access-control-expose-headers", expose.clone());
            }
            res
        })
    }
}
