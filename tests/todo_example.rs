//! examples/todo.rs over real sockets: its app (the example's own code, included) serves
//! the documented answers: 201 with the item and `Location`, the list, 404 with a JSON
//! detail, PATCH, 204 on DELETE then 404, 422/415 for bad bodies, CORS preflights.
#![cfg(feature = "serde")]

#[allow(dead_code)] // its `main` is the binary's
#[path = "../examples/todo.rs"]
mod todo;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// Sends one request on a new connection and returns (status, headers, body).
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (
        head[9..12].parse().unwrap(),
        head.to_ascii_lowercase(),
        body.to_owned(),
    )
}

const JSON: &str = "Content-Type: application/json\r\n";

#[test]
fn the_todo_api_answers_as_documented() {
    let mut app = todo::app();
    app.config_mut().threads = 1;
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let addr = server.local_addr();

    assert_eq!(call(addr, "GET", "/todos", "", "").2, "[]");
    let (status, head, body) = call(addr, "POST", "/todos", JSON, r#"{"title":"milk"}"#);
    assert_eq!(status, 201);
    assert!(head.contains("\r\nlocation: /todos/1\r\n"), "{head}");
    assert_eq!(body, r#"{"id":1,"title":"milk","completed":false}"#);
    let (status, _, _) = call(
        addr,
        "POST",
        "/todos",
        JSON,
        r#"{"title":"eggs","completed":true}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(
        call(addr, "GET", "/todos", "", "").2,
        r#"[{"id":1,"title":"milk","completed":false},{"id":2,"title":"eggs","completed":true}]"#
    );
    let (status, _, body) = call(addr, "GET", "/todos/2", "", "");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"id":2,"title":"eggs","completed":true}"#)
    );
    let (status, _, body) = call(addr, "GET", "/todos/9", "", "");
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"detail":"todo 9 not found"}"#)
    );
    let (status, _, body) = call(addr, "PATCH", "/todos/1", JSON, r#"{"completed":true}"#);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"id":1,"title":"milk","completed":true}"#)
    );
    let (status, _, body) = call(addr, "DELETE", "/todos/1", "", "");
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(call(addr, "DELETE", "/todos/1", "", "").0, 404);
    assert_eq!(call(addr, "GET", "/todos/1", "", "").0, 404);

    // Refusals: a wrong type names the field, a missing content type is 415, a bad id 400.
    let (status, _, body) = call(addr, "POST", "/todos", JSON, r#"{"title":7}"#);
    assert_eq!(status, 422);
    assert!(body.contains(r#""loc":["body","title"]"#), "{body}");
    assert_eq!(call(addr, "POST", "/todos", "", r#"{"title":"x"}"#).0, 415);
    assert_eq!(call(addr, "GET", "/todos/abc", "", "").0, 400);

    // CORS: a browser's preflight for PATCH, and the header on a simple answer.
    let preflight = "Origin: https://web.example\r\nAccess-Control-Request-Method: PATCH\r\n";
    let (status, head, _) = call(addr, "OPTIONS", "/todos/2", preflight, "");
    assert_eq!(status, 200);
    assert!(head.contains("access-control-allow-methods: "), "{head}");
    let (_, head, _) = call(addr, "GET", "/todos", "Origin: https://web.example\r\n", "");
    assert!(
        head.contains("\r\naccess-control-allow-origin: *\r\n"),
        "{head}"
    );

    // Metrics: the requests above, counted by route pattern, method and status class.
    let (status, _, metrics) = call(addr, "GET", "/metrics", "", "");
    assert_eq!(status, 200);
    for sample in [
        r#"fasterapi_requests_total{route="/todos/{id}",method="DELETE",status="2xx"} 1"#,
        r#"fasterapi_requests_total{route="/todos/{id}",method="DELETE",status="4xx"} 1"#,
        r#"fasterapi_requests_total{route="/todos",method="POST",status="4xx"} 2"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == sample),
            "{sample} in {metrics}"
        );
    }
}
