//! The Rust API for services, over real sockets: shared state, middleware (order,
//! short-circuit, changed responses, the built-ins), route groups, any-method routes, the
//! typed route-table error, cookies, errors with headers, custom 404/405 answers.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{get, roundtrip};
use fasterapi_http::router::RouteErrorKind;
use fasterapi_http::{
    App, DefaultHeaders, Error, IntoResponse, Method, Middleware, Next, NoRoute, Request,
    RequestId, Response, RouteTableError, RunningServer, StatusCode,
};

fn serve(mut app: App) -> RunningServer {
    app.config_mut().threads = 1;
    app.bind("127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn")
}

fn request(method: &str, path: &str, headers: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: t\r\n{headers}Content-Length: 0\r\n\r\n")
        .into_bytes()
}

/// Appends its name to a shared log before and after the rest of the chain.
struct Trace {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Middleware for Trace {
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        self.log.lock().unwrap().push(format!("{}>", self.name));
        let resp = next.run(req);
        self.log.lock().unwrap().push(format!("<{}", self.name));
        resp
    }
}

#[test]
fn state_is_shared_by_every_request_and_thread() {
    struct Counter(AtomicU64);
    let mut app = App::new().with_state(Counter(AtomicU64::new(0)));
    app.set_state(String::from("the name"));
    app.get("/count", |req: &Request| -> Result<Response, Error> {
        let n = req.state::<Counter>()?.0.fetch_add(1, Ordering::Relaxed) + 1;
        let name = req.state::<String>()?;
        Ok(Response::text(format!("{name}: {n}")))
    });
    app.get("/missing", |req: &Request| -> Result<Response, Error> {
        req.state::<u8>()?;
        Ok(Response::text("unreachable"))
    });
    app.config_mut().threads = 2;
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    for n in 1..=4 {
        let r = roundtrip(server.local_addr(), &get("/count"));
        assert_eq!(r.text(), format!("the name: {n}"));
    }
    let r = roundtrip(server.local_addr(), &get("/missing"));
    assert_eq!(r.status, 500);
    assert!(r.text().contains("`u8`"), "{}", r.text());
}

#[test]
fn middleware_run_app_first_then_outer_then_inner_groups_around_the_handler() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let trace = |name| Trace {
        name,
        log: log.clone(),
    };
    let mut app = App::new();
    let handler_log = log.clone();
    app.scope("/api", |api| {
        api.middleware(trace("api"));
        api.scope("/v1", |v1| {
            v1.middleware(trace("v1"));
            v1.get("/x", move |_req: &Request| {
                handler_log.lock().unwrap().push("handler".into());
                "x"
            });
        });
    });
    // Added after the routes, and still outermost.
    app.middleware(trace("app1"));
    app.middleware(trace("app2"));
    app.get("/plain", |_req: &Request| "plain");
    let server = serve(app);

    let r = roundtrip(server.local_addr(), &get("/api/v1/x"));
    assert_eq!((r.status, r.text()), (200, "x"));
    assert_eq!(
        *log.lock().unwrap(),
        ["app1>", "app2>", "api>", "v1>", "handler", "<v1", "<api", "<app2", "<app1"]
    );
    log.lock().unwrap().clear();
    let r = roundtrip(server.local_addr(), &get("/plain"));
    assert_eq!(r.text(), "plain");
    assert_eq!(*log.lock().unwrap(), ["app1>", "app2>", "<app2", "<app1"]);
}

#[test]
fn before_short_circuits_and_after_changes_status_and_headers() {
    let calls = Arc::new(AtomicU64::new(0));
    let seen = calls.clone();
    let mut app = App::new();
    // Outside the `before` hook: sees its short-circuit.
    app.after(|_req: &Request, resp: &mut Response| resp.set_header("x-outer", "1"));
    app.before(|req: &Request| {
        (req.header("authorization") != Some("Bearer ok")).then(|| {
            Error::new(StatusCode::UNAUTHORIZED, "Not authenticated")
                .with_header("WWW-Authenticate", "Bearer")
                .into_response()
        })
    });
    app.after(|req: &Request, resp: &mut Response| {
        resp.set_header("x-path", req.path().to_owned());
        if resp.status() == StatusCode::OK && req.query_string() == Some("teapot") {
            resp.set_status(StatusCode::ACCEPTED);
        }
    });
    app.get("/secret", move |_req: &Request| {
        seen.fetch_add(1, Ordering::Relaxed);
        "secret"
    });
    let server = serve(app);

    let r = roundtrip(server.local_addr(), &get("/secret"));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    assert_eq!(r.text(), r#"{"detail":"Not authenticated"}"#);
    // Hooks added after the `before` hook run inside it: the short-circuit skipped them.
    assert_eq!((r.header("x-outer"), r.header("x-path")), (Some("1"), None));
    assert_eq!(calls.load(Ordering::Relaxed), 0, "the handler ran");

    let authorized = "Authorization: Bearer ok\r\n";
    let r = roundtrip(
        server.local_addr(),
        &request("GET", "/secret?teapot", authorized),
    );
    assert_eq!((r.status, r.text()), (202, "secret"));
    assert_eq!(
        (r.header("x-outer"), r.header("x-path")),
        (Some("1"), Some("/secret"))
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn app_middleware_wrap_404_405_and_the_no_route_handler_but_group_middleware_do_not() {
    let mut app = App::new();
    app.after(|_req: &Request, resp: &mut Response| resp.set_header("x-app", "1"));
    app.scope("/g", |g| {
        g.after(|_req: &Request, resp: &mut Response| resp.set_header("x-group", "1"));
        g.get("/item", |_req: &Request| "item");
    });
    let server = serve(app);
    let r = roundtrip(server.local_addr(), &get("/nowhere"));
    assert_eq!((r.status, r.header("x-app")), (404, Some("1")));
    let r = roundtrip(server.local_addr(), &request("DELETE", "/g/item", ""));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!((r.header("x-app"), r.header("x-group")), (Some("1"), None));
    let r = roundtrip(server.local_addr(), &get("/g/item"));
    assert_eq!(
        (r.header("x-app"), r.header("x-group")),
        (Some("1"), Some("1"))
    );

    // A custom fallback, inside the app's middleware, told why.
    let mut app = App::new();
    app.get("/only-get", |_req: &Request| "ok");
    app.no_route(|req: &Request, why: NoRoute| match why {
        NoRoute::NotFound => (
            StatusCode::NOT_FOUND,
            Response::json(|o| {
                o.field("missing", req.path());
            }),
        )
            .into_response(),
        NoRoute::MethodNotAllowed(allow) => Response::text(format!("use {allow}"))
            .with_status(StatusCode::METHOD_NOT_ALLOWED)
            .with_header("Allow", allow.to_owned()),
    });
    app.middleware(DefaultHeaders::new().header("x-default", "on"));
    let server = serve(app);
    let r = roundtrip(server.local_addr(), &get("/gone"));
    assert_eq!((r.status, r.text()), (404, r#"{"missing":"/gone"}"#));
    assert_eq!(r.header("x-default"), Some("on"));
    let r = roundtrip(server.local_addr(), &request("POST", "/only-get", ""));
    assert_eq!((r.status, r.text()), (405, "use GET, HEAD"));
}

#[test]
fn around_middleware_in_a_group_short_circuits_only_its_routes() {
    let mut app = App::new();
    app.scope("/admin", |admin| {
        admin.around(|req: &Request, next: Next| {
            if req.header("x-admin").is_none() {
                return Response::text("admins only").with_status(StatusCode::FORBIDDEN);
            }
            let mut resp = next.run(req);
            resp.set_header("x-admin-seen", "yes");
            resp
        });
        admin.get("/panel", |_req: &Request| "panel");
    });
    app.get("/public", |_req: &Request| "public");
    let server = serve(app);
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/admin/panel")).status, 403);
    let r = roundtrip(addr, &request("GET", "/admin/panel", "X-Admin: 1\r\n"));
    assert_eq!((r.status, r.text()), (200, "panel"));
    assert_eq!(r.header("x-admin-seen"), Some("yes"));
    let r = roundtrip(addr, &get("/public"));
    assert_eq!((r.status, r.header("x-admin-seen")), (200, None));
}

#[test]
fn a_panicking_middleware_answers_500_and_the_server_goes_on() {
    let mut app = App::new();
    app.before(|req: &Request| {
        if req.path() == "/boom" {
            panic!("middleware panic (expected by the test)");
        }
        None
    });
    app.get("/boom", |_req: &Request| "never");
    app.get("/fine", |_req: &Request| "fine");
    let server = serve(app);
    assert_eq!(roundtrip(server.local_addr(), &get("/boom")).status, 500);
    assert_eq!(roundtrip(server.local_addr(), &get("/fine")).text(), "fine");
    // On a miss too.
    assert_eq!(roundtrip(server.local_addr(), &get("/boom/x")).status, 404);
}

#[test]
fn request_ids_are_kept_when_usable_and_made_unique_otherwise() {
    let mut app = App::new();
    app.middleware(RequestId::new());
    app.get("/", |_req: &Request| "ok");
    let server = serve(app);
    let addr = server.local_addr();
    let r = roundtrip(addr, &request("GET", "/", "X-Request-Id: abc-123\r\n"));
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let a = roundtrip(addr, &get("/"))
        .header("x-request-id")
        .unwrap()
        .to_owned();
    let b = roundtrip(addr, &get("/"))
        .header("x-request-id")
        .unwrap()
        .to_owned();
    assert_ne!(a, b);
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    // An id with a space is not reused.
    let r = roundtrip(addr, &request("GET", "/", "X-Request-Id: a b\r\n"));
    assert_eq!(r.header("x-request-id").map(str::len), Some(32));
}

#[test]
fn default_headers_do_not_override_the_handlers() {
    let mut app = App::new();
    app.middleware(
        DefaultHeaders::new()
            .header("Cache-Control", "no-store")
            .header("X-Frame-Options", "DENY")
            .header("X-Bad", "a\r\nInjected: 1"),
    );
    app.get("/cached", |_req: &Request| {
        Response::text("c").with_header("cache-control", "max-age=60")
    });
    let server = serve(app);
    let r = roundtrip(server.local_addr(), &get("/cached"));
    assert_eq!(r.header("cache-control"), Some("max-age=60"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!((r.header("x-bad"), r.header("injected")), (None, None));
}

#[test]
fn groups_nest_prefixes_and_any_routes_take_every_method_but_the_routed_ones() {
    let mut app = App::new();
    app.scope("/api", |api| {
        api.get("", |_req: &Request| "api root");
        api.scope("/v1", |v1| {
            v1.get("/users/{id}", |req: &Request| -> Result<String, Error> {
                Ok(format!("user {}", req.param::<u32>("id")?))
            });
            v1.any("/echo-method", |req: &Request| req.method().as_str());
        });
    });
    app.get("/mixed", |_req: &Request| "get");
    app.any("/mixed", |req: &Request| {
        format!("any {}", req.method().as_str())
    });
    let server = serve(app);
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/api")).text(), "api root");
    assert_eq!(roundtrip(addr, &get("/api/v1/users/7")).text(), "user 7");
    assert_eq!(roundtrip(addr, &get("/v1/users/7")).status, 404);
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let r = roundtrip(addr, &request(method, "/api/v1/echo-method", ""));
        assert_eq!((r.status, r.text()), (200, method));
    }
    assert_eq!(roundtrip(addr, &get("/mixed")).text(), "get");
    let r = roundtrip(addr, &request("HEAD", "/mixed", ""));
    assert_eq!((r.status, r.header("content-length")), (200, Some("3")));
    assert_eq!(
        roundtrip(addr, &request("PUT", "/mixed", "")).text(),
        "any PUT"
    );
}

#[test]
fn bind_refuses_with_a_typed_route_table_error() {
    let mut app = App::new();
    app.get("/ok", |_req: &Request| "ok");
    app.get("/ok", |_req: &Request| "again");
    app.any("/a", |_req: &Request| "a");
    app.any("/a", |_req: &Request| "a again");
    app.route(Method::Get, "/u/{id}/{*rest}/x", |_req: &Request| "");
    app.scope("/bad/", |g| {
        g.get("/x", |_req: &Request| "x");
    });
    app.scope("/p", |g| {
        g.get("/{name}", |_req: &Request| "n");
        g.get("/{other}/y", |_req: &Request| "o");
    });
    let expected = [
        ("/ok", RouteErrorKind::Duplicate),
        ("/a", RouteErrorKind::Duplicate),
        ("/u/{id}/{*rest}/x", RouteErrorKind::CatchAllNotLast),
        ("/x", RouteErrorKind::BadPrefix),
        ("/p/{other}/y", RouteErrorKind::ParamNameConflict),
    ];
    let table = app.check_routes().unwrap_err();
    let got: Vec<_> = table
        .errors()
        .iter()
        .map(|e| (e.pattern(), e.kind()))
        .collect();
    assert_eq!(got, expected);
    let err = app.bind("127.0.0.1:0").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<RouteTableError>());
    assert_eq!(inner, Some(&table));
    assert!(err.to_string().contains("route `/ok`: "), "{err}");
}

#[test]
fn cookies_are_read_from_the_cookie_headers() {
    let mut app = App::new();
    app.get("/me", |req: &Request| -> Result<String, Error> {
        let session = req.cookie("session").ok_or_else(|| {
            Error::new(StatusCode::UNAUTHORIZED, "no session")
                .with_header("WWW-Authenticate", r#"Cookie realm="app""#)
        })?;
        let names: Vec<_> = req.cookies().map(|(n, _)| n).collect();
        Ok(format!("{session} of {}", names.join(",")))
    });
    let server = serve(app);
    let addr = server.local_addr();
    let r = roundtrip(
        addr,
        &request(
            "GET",
            "/me",
            "Cookie: theme=dark; session=\"s1\"\r\nCookie: lang=fr\r\n",
        ),
    );
    assert_eq!((r.status, r.text()), (200, "s1 of theme,session,lang"));
    let r = roundtrip(addr, &request("GET", "/me", "Cookie: sessionx=1\r\n"));
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some(r#"Cookie realm="app""#));
    assert_eq!(r.text(), r#"{"detail":"no session"}"#);
}

#[test]
fn handlers_return_unit_bytes_strings_and_status_pairs() {
    let mut app = App::new();
    app.get("/unit", |_req: &Request| ());
    app.get("/vec", |_req: &Request| vec![0u8, 159, 146, 150]);
    app.get("/created", |_req: &Request| {
        (StatusCode::CREATED, String::from("made"))
    });
    app.get("/peer", |req: &Request| req.peer_addr().ip().to_string());
    let server = serve(app);
    let addr = server.local_addr();
    let r = roundtrip(addr, &get("/unit"));
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
    let r = roundtrip(addr, &get("/vec"));
    assert_eq!(r.body, [0u8, 159, 146, 150]);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    let r = roundtrip(addr, &get("/created"));
    assert_eq!((r.status, r.text()), (201, "made"));
    assert_eq!(roundtrip(addr, &get("/peer")).text(), "127.0.0.1");
}

#[test]
fn the_cors_policy_as_middleware_answers_preflights_and_marks_responses() {
    use fasterapi_http::cors::{CorsOptions, CorsPolicy};
    let mut app = App::new();
    app.middleware(
        CorsPolicy::new(CorsOptions {
            allow_origins: vec!["https://app.example".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            ..CorsOptions::default()
        })
        .unwrap(),
    );
    app.get("/items", |_req: &Request| "items");
    let server = serve(app);
    let addr = server.local_addr();
    // A preflight for a path routed under GET only: answered by the policy, not 405.
    let preflight = "Origin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n";
    let r = roundtrip(addr, &request("OPTIONS", "/items", preflight));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let refused = "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n";
    let r = roundtrip(addr, &request("OPTIONS", "/items", refused));
    assert_eq!(r.status, 400);
    let r = roundtrip(
        addr,
        &request("GET", "/items", "Origin: https://app.example\r\n"),
    );
    assert_eq!((r.status, r.text()), (200, "items"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = roundtrip(
        addr,
        &request("GET", "/items", "Origin: https://evil.example\r\n"),
    );
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (200, None)
    );
}
