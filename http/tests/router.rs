//! Router tables: priorities, parameters, 404/405/OPTIONS/HEAD, groups;
//! and a randomized check that every route finds itself among many.

use futures_util::future::LocalBoxFuture;
use shardio_http::middleware::{Middleware, Next};
use shardio_http::{Method, Request, Response, Router};

fn call(router: &Router, raw: &str) -> Response {
    let req = Request::parse(raw.as_bytes()).unwrap();
    shardio::block_on(router.call(req)).unwrap()
}

fn get(router: &Router, path: &str) -> (u16, String) {
    let mut res = call(router, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    let body = match res.take_body() {
        shardio_http::ResponseBody::Bytes(b) => String::from_utf8(b.to_vec()).unwrap(),
        _ => String::new(),
    };
    (res.status(), body)
}

fn echo_route(name: &'static str) -> impl Fn(Request) -> std::future::Ready<String> {
    move |req: Request| {
        let mut out = name.to_owned();
        for p in ["id", "rest", "file", "a", "b"] {
            if let Some(v) = req.param(p) {
                out.push_str(&format!(" {p}={v}"));
            }
        }
        std::future::ready(out)
    }
}

#[test]
fn parameters_and_query_values_are_decoded() {
    let r = Router::new()
        .get("/files/:name", |req: Request| async move {
            let (decoded, raw) = (req.param("name"), req.param_raw("name"));
            format!(
                "{}|{}",
                decoded.unwrap_or_default(),
                raw.unwrap_or_default()
            )
        })
        .get("/all/*rest", |req: Request| async move {
            req.param("rest").unwrap_or_default().into_owned()
        })
        .get("/search", |req: Request| async move {
            let pairs: Vec<String> = req.query_pairs().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{:?} [{}]", req.query_param("q"), pairs.join(","))
        });
    let table = [
        ("/files/a%20b", "a b|a%20b"),
        // An encoded slash is part of the parameter, not a separator.
        ("/files/a%2Fb", "a/b|a%2Fb"),
        // `+` is a space in a query only.
        ("/files/a+b", "a+b|a+b"),
        ("/files/caf%C3%A9", "café|caf%C3%A9"),
        ("/files/%FF", "\u{FFFD}|%FF"),
        // Not an escape: kept as sent.
        ("/files/100%", "100%|100%"),
        ("/files/%zz", "%zz|%zz"),
        ("/all/a%2Fb/c%20d", "a/b/c d"),
        (
            "/search?q=hello+world&x=%E2%9C%93&&q=second&flag",
            r#"Some("hello world") [q=hello world,x=✓,q=second,flag=]"#,
        ),
        (
            "/search?%71=by+encoded+name",
            r#"Some("by encoded name") [q=by encoded name]"#,
        ),
        ("/search?q=a%26b%3Dc", r#"Some("a&b=c") [q=a&b=c]"#),
        ("/search?qq=1", "None [qq=1]"),
        ("/search", "None []"),
    ];
    for (path, want) in table {
        assert_eq!(get(&r, path), (200, want.to_owned()), "{path}");
    }
}

#[test]
fn static_beats_param_beats_wildcard() {
    let r = Router::new()
        .get("/users/*rest", echo_route("wild"))
        .get("/users/:id", echo_route("param"))
        .get("/users/new", echo_route("static"))
        .get("/users/:id/posts", echo_route("posts"))
        .get("/files/*file", echo_route("files"))
        .get("/a/:a/b/:b", echo_route("ab"));
    let table = [
        ("/users/new", "static"),
        ("/users/7", "param id=7"),
        ("/users/newer", "param id=newer"),
        ("/users/7/posts", "posts id=7"),
        ("/users/7/other", "wild rest=7/other"),
        ("/users/", "wild rest="),
        ("/files/a/b.txt", "files file=a/b.txt"),
        ("/a/1/b/2", "ab a=1 b=2"),
        ("/users/new?x=1", "static"),
    ];
    for (path, want) in table {
        assert_eq!(get(&r, path), (200, want.to_owned()), "{path}");
    }
    assert_eq!(get(&r, "/nothing").0, 404);
    assert_eq!(get(&r, "/a/1/b").0, 404);
}

#[test]
fn method_rules() {
    let r = Router::new()
        .get("/x", echo_route("get"))
        .post("/x", echo_route("post"))
        .route(Method::Options, "/custom", echo_route("options"))
        .get("/custom", echo_route("get"));
    let res = call(&r, "PUT /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(res.status(), 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    let res = call(&r, "OPTIONS /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        (res.status(), res.header("allow")),
        (204, Some("GET, HEAD, POST, OPTIONS"))
    );
    let res = call(&r, "HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(res.status(), 200, "HEAD falls back to GET");
    let res = call(&r, "OPTIONS /custom HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(res.status(), 200, "an explicit OPTIONS handler wins");
    // `OPTIONS *`: the server as a whole.
    let res = call(&r, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        (res.status(), res.header("allow")),
        (204, Some("GET, HEAD, POST, OPTIONS"))
    );
    // A fallback answers for every path no route has, `*` too.
    let r = r.not_found(echo_route("fallback"));
    let res = call(&r, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(res.status(), 200);
    let only_put = Router::new().put("/y", echo_route("put"));
    let res = call(&only_put, "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(res.header("allow"), Some("PUT, OPTIONS"));
}

struct Tag(&'static str);

impl Middleware for Tag {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async move {
            let res = next.run(req).await;
            res.with_header("x-tag", self.0)
        })
    }
}

struct Deny;

impl Middleware for Deny {
    fn call<'a>(&'a self, _req: Request, _next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        Box::pin(async { Response::error(403) })
    }
}

#[test]
fn groups_have_prefixes_and_their_own_middleware() {
    let r = Router::new()
        .middleware(Tag("global"))
        .get("/open", echo_route("open"))
        .group("/api", |g| {
            g.middleware(Tag("api"))
                .get("/v", echo_route("api"))
                .group("/admin", |g| {
                    g.middleware(Deny).get("/x", echo_route("admin"))
                })
        });
    let res = call(&r, "GET /api/v HTTP/1.1\r\nHost: t\r\n\r\n");
    let tags: Vec<_> = res
        .headers()
        .filter(|(n, _)| *n == "x-tag")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        tags,
        ["api", "global"],
        "group middleware runs inside global"
    );
    let res = call(&r, "GET /open HTTP/1.1\r\nHost: t\r\n\r\n");
    let tags: Vec<_> = res
        .headers()
        .filter(|(n, _)| *n == "x-tag")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(tags, ["global"]);
    assert_eq!(get(&r, "/api/admin/x").0, 403, "short-circuit");
    let res = call(&r, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        (res.status(), res.header("x-tag")),
        (404, Some("global")),
        "global middleware sees 404s"
    );
}

#[test]
fn state_reaches_handlers() {
    let r = Router::new()
        .state(41u32)
        .get("/", |req: Request| async move {
            format!("{}", req.state::<u32>().unwrap() + 1)
        });
    assert_eq!(get(&r, "/").1, "42");
}

#[test]
#[should_panic(expected = "conflicting parameter names")]
fn conflicting_parameter_names_panic() {
    let _ = Router::new()
        .get("/u/:id", echo_route("a"))
        .get("/u/:name/x", echo_route("b"));
}

#[test]
fn many_random_routes_each_find_themselves() {
    // A small deterministic generator (xorshift), so failures reproduce.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"abcdefgh";
    let mut paths = std::collections::BTreeSet::new();
    while paths.len() < 1000 {
        let segments = 1 + next() % 4;
        let mut p = String::new();
        for _ in 0..segments {
            p.push('/');
            for _ in 0..1 + next() % 5 {
                p.push(alphabet[(next() % alphabet.len() as u64) as usize] as char);
            }
        }
        paths.insert(p);
    }
    let mut r = Router::new();
    for p in &paths {
        let name: &'static str = Box::leak(p.clone().into_boxed_str());
        r = r.get(p, echo_route(name));
    }
    for p in &paths {
        assert_eq!(get(&r, p), (200, p.clone()));
        assert_eq!(get(&r, &format!("{p}z/zz")).0, 404, "{p}z/zz");
    }
}

#[test]
fn absolute_form_targets_route_by_their_path() {
    let r = Router::new()
        .get("/", echo_route("root"))
        .get("/b", echo_route("b"));
    assert_eq!(get(&r, "http://host").1, "root");
    assert_eq!(get(&r, "http://host?x=1").1, "root");
    assert_eq!(get(&r, "http://host/b?x=1").1, "b");
    let req = Request::parse(b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    assert_eq!(req.path(), "*");
}

#[test]
fn a_group_has_every_method_shorthand_the_router_has() {
    let r = Router::new().group("/g", |g| {
        g.get("/x", echo_route("get"))
            .post("/x", echo_route("post"))
            .put("/x", echo_route("put"))
            .delete("/x", echo_route("delete"))
            .patch("/x", echo_route("patch"))
    });
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
        let mut res = call(
            &r,
            &format!("{method} /g/x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"),
        );
        assert_eq!(res.status(), 200, "{method}");
        let body = match res.take_body() {
            shardio_http::ResponseBody::Bytes(b) => b,
            _ => panic!("{method}: no body in memory"),
        };
        assert_eq!(
            &body[..],
            method.to_ascii_lowercase().as_bytes(),
            "{method}"
        );
    }
}

#[test]
fn a_request_passed_on_to_a_second_router_keeps_no_parameters_of_the_first() {
    let inner = std::rc::Rc::new(
        Router::new()
            .get("/users/:id", echo_route("inner-param"))
            .get("/users/static", echo_route("inner-static")),
    );
    let outer = Router::new().get("/users/:id", move |req: Request| {
        let inner = inner.clone();
        async move { inner.call(req).await }
    });
    // The outer route gave the request `id`; the inner router's static
    // route has no parameters, and its handler must see none.
    assert_eq!(get(&outer, "/users/static"), (200, "inner-static".into()));
}
