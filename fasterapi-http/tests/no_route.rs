//! Requests no route takes: `App::redirect_slashes` (307 to the other form of the path)
//! and `App::no_route` (the app's own answer), from a request's head or after it.

use fasterapi_http::{App, Config, NoRoute, Request, Response, StatusCode, TestServer};

fn app() -> App {
    let mut app = App::new();
    app.get("/items", |_req: &Request| "items");
    app.post("/users/", |_req: &Request| "users");
    app
}

fn exchange(app: App, request: &str) -> String {
    let mut server = TestServer::new(app, Config::default()).unwrap();
    String::from_utf8(server.exchange(request.as_bytes()).unwrap()).unwrap()
}

#[test]
fn without_redirect_slashes_the_other_form_is_404() {
    let answer = exchange(app(), "GET /items/ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"detail":"Not Found"}"#), "{answer}");
}

#[test]
fn redirect_slashes_answers_307_to_the_routed_form_with_the_query() {
    let mut app = app();
    app.redirect_slashes(true);
    let answer = exchange(app, "GET /items/?a=1&b HTTP/1.1\r\nHost: h:8\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 307 Temporary Redirect\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nLocation: http://h:8/items?a=1&b\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nContent-Length: 0\r\n"), "{answer}");

    // The reverse, under another method than the routed one, for a request with a body
    // (answered from its head), and without a Host header (HTTP/1.0): a relative location.
    let mut app = self::app();
    app.redirect_slashes(true);
    let answer = exchange(app, "PUT /users HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
    assert!(
        answer.starts_with("HTTP/1.1 307 Temporary Redirect\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nLocation: /users/\r\n"), "{answer}");
}

#[test]
fn redirect_slashes_keeps_https_that_a_local_proxy_forwarded() {
    let mut app = app();
    app.redirect_slashes(true);
    let answer = exchange(
        app,
        "GET /items/ HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-Proto: http, https\r\n\r\n",
    );
    assert!(
        answer.contains("\r\nLocation: https://example.com/items\r\n"),
        "{answer}"
    );
}

#[test]
fn redirect_slashes_leaves_other_misses_alone() {
    for (request, status) in [
        ("GET /nope/ HTTP/1.1\r\nHost: h\r\n\r\n", "404 Not Found"),
        ("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "404 Not Found"),
        ("GET //// HTTP/1.1\r\nHost: h\r\n\r\n", "404 Not Found"),
        // The path exists under another method: 405, not a redirect.
        (
            "DELETE /items HTTP/1.1\r\nHost: h\r\n\r\n",
            "405 Method Not Allowed",
        ),
    ] {
        let mut app = app();
        app.redirect_slashes(true);
        let answer = exchange(app, request);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{request}: {answer}"
        );
    }
}

#[test]
fn no_route_answers_the_misses_with_the_request_and_the_reason() {
    let mut app = app();
    app.redirect_slashes(true);
    app.no_route(|req: &Request, why: NoRoute| {
        let text = match why {
            NoRoute::NotFound => format!("no {} {}", req.method(), req.path()),
            NoRoute::MethodNotAllowed(allow) => format!("{} not in {allow}", req.method()),
        };
        Response::text(text).with_status(StatusCode::from_u16(418).unwrap())
    });
    let answer = exchange(app, "GET /nope?x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 418 "), "{answer}");
    assert!(answer.ends_with("no GET /nope"), "{answer}");

    let mut app = self::app();
    app.no_route(|req: &Request, why: NoRoute| {
        assert!(req.body().is_empty(), "the body is not read");
        Response::text(format!("{why:?}"))
    });
    // With a body: answered from the head, and the connection closes.
    let answer = exchange(
        app,
        "POST /items HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab",
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert!(
        answer.ends_with(r#"MethodNotAllowed("GET, HEAD")"#),
        "{answer}"
    );
}

#[test]
fn a_panicking_no_route_handler_answers_500() {
    let mut app = app();
    app.no_route(|_req: &Request, _why: NoRoute| -> Response { panic!("no route handler") });
    let answer = exchange(app, "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{answer}"
    );
}
