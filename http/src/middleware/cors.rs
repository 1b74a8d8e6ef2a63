use super::{Middleware, Next};
use crate::method::Method;
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;

/// Cross-origin resource sharing (the Fetch standard's CORS protocol).
///
/// Preflight requests (`OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`) from an allowed origin are answered
/// `204` here, with the allowed methods and headers and `Max-Age`; other
/// requests from an allowed origin get `Access-Control-Allow-Origin` (and
/// the credentials and exposed-headers fields when configured). Requests
/// from other origins pass through with no CORS fields, so browsers block
/// them. `Vary: Origin` is set whenever the answer depends on the origin.
///
/// ```
/// use shardio_http::middleware::Cors;
/// let cors = Cors::any().max_age(600);
/// let strict = Cors::origins(["https://app.example"]).allow_credentials(true);
/// # let _ = (cors, strict);
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    /// `None`: any origin.
    origins: Option<Vec<String>>,
    methods: String,
    headers: Option<String>,
    expose: Option<String>,
    credentials: bool,
    max_age: u32,
}

impl Cors {
    /// Allows every origin (`*`, or the origin itself with credentials).
    pub fn any() -> Cors {
        Cors {
            origins: None,
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
            origins: Some(origins.into_iter().map(Into::into).collect()),
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
        self.origins
            .as_ref()
            .is_none_or(|list| list.iter().any(|o| o == origin))
    }

    /// The `Access-Control-Allow-Origin` value for an allowed origin.
    fn allow_origin(&self, origin: &str) -> String {
        if self.origins.is_none() && !self.credentials {
            "*".into()
        } else {
            origin.into()
        }
    }

    fn decorate(&self, res: &mut Response, origin: &str) {
        res.set_header("access-control-allow-origin", self.allow_origin(origin));
        if self.credentials {
            res.set_header("access-control-allow-credentials", "true");
        }
        if self.origins.is_some() || self.credentials {
            res.add_header("vary", "Origin");
        }
    }
}

impl Middleware for Cors {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let Some(origin) = req.header("origin").map(str::to_owned) else {
            return next.run(req);
        };
        if !self.allows(&origin) {
            return next.run(req);
        }
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
