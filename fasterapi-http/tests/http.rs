//! End-to-end tests: a real server on 127.0.0.1, raw `TcpStream` clients, exact bytes.

mod common;

use std::io::{BufReader, Write};
use std::sync::Arc;

use common::*;

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    for path in ["/plaintext", "/json", "/users/42", "/plaintext"] {
        w.write_all(&get(path)).unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200, "{path}");
        assert!(
            resp.header("connection").is_none(),
            "HTTP/1.1 keep-alive is implicit"
        );
    }
    server.shutdown().unwrap();
}

#[test]
fn plaintext_and_json_bytes() {
    let server = start(1);
    let resp = roundtrip(server.local_addr(), &get("/plaintext"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "Hello, World!");
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(resp.header("content-length"), Some("13"));
    assert_eq!(resp.header("server"), Some("fasterapi"));
    let date = resp.header("date").expect("Date header");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    let resp = roundtrip(server.local_addr(), &get("/json"));
    assert_eq!(resp.text(), r#"{"message":"Hello, World!"}"#);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    server.shutdown().unwrap();
}

#[test]
fn sixteen_pipelined_requests_are_answered_in_order() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut batch = Vec::new();
    for i in 0..16 {
        batch.extend_from_slice(&get(&format!("/users/{i}")));
    }
    w.write_all(&batch).unwrap();
    let mut r = BufReader::new(s);
    for i in 0..16 {
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), format!(r#"{{"id":{i}}}"#));
    }
    server.shutdown().unwrap();
}

#[test]
fn request_dribbled_one_byte_at_a_time() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let raw = b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello";
    for b in raw {
        w.write_all(&[*b]).unwrap();
        w.flush().unwrap();
    }
    let resp = read_response(&mut BufReader::new(s), false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "hello");
    server.shutdown().unwrap();
}

#[test]
fn chunked_request_body_is_decoded_and_echoed() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(
        b"POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n\
          4\r\nWiki\r\n5;name=value\r\npedia\r\n",
    )
    .unwrap();
    w.write_all(b"E\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "Wikipedia in\r\n\r\nchunks.");
    // The connection stays usable after a chunked body.
    w.write_all(&get("/plaintext")).unwrap();
    assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    server.shutdown().unwrap();
}

#[test]
fn head_gets_headers_without_body() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(b"HEAD /plaintext HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut r, true);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("13"));
    // Had a body been sent, it would now be read as the next response's status line.
    w.write_all(&get("/json")).unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), r#"{"message":"Hello, World!"}"#);
    server.shutdown().unwrap();
}

#[test]
fn not_found_and_method_not_allowed() {
    let server = start(1);
    let resp = roundtrip(server.local_addr(), &get("/nope"));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.text(), r#"{"detail":"Not Found"}"#);
    let resp = roundtrip(
        server.local_addr(),
        b"DELETE /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    let resp = roundtrip(
        server.local_addr(),
        b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    server.shutdown().unwrap();
}

#[test]
fn path_and_query_parameters() {
    let server = start(1);
    let addr = server.local_addr();
    let resp = roundtrip(addr, &get("/users/abc"));
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains(r#""loc":["path","id"]"#),
        "{}",
        resp.text()
    );
    assert_eq!(
        roundtrip(addr, &get("/files/a/b%20c.txt")).text(),
        "a/b%20c.txt"
    );
    assert_eq!(
        roundtrip(addr, &get("/search?q=caf%C3%A9+au+lait&page=3")).text(),
        "café au lait:3"
    );
    let resp = roundtrip(addr, &get("/search?page=x"));
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains(r#""loc":["query","page"]"#),
        "{}",
        resp.text()
    );
    server.shutdown().unwrap();
}

#[test]
fn http10_closes_unless_keep_alive() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(b"GET /plaintext HTTP/1.0\r\n\r\n").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.text(), "Hello, World!");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut r), "HTTP/1.0 without keep-alive must close");

    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    for _ in 0..2 {
        w.write_all(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let resp = read_response(&mut r, false);
        assert_eq!(resp.header("connection"), Some("keep-alive"));
    }
    server.shutdown().unwrap();
}

#[test]
fn connection_close_is_honored_even_mid_pipeline() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /json HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(
        closed(&mut r),
        "nothing may follow a Connection: close response"
    );
    server.shutdown().unwrap();
}

#[test]
fn expect_continue_is_answered_before_the_body() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let interim = read_response(&mut r, true);
    assert_eq!(interim.status, 100);
    w.write_all(b"data").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!((resp.status, resp.text()), (200, "data"));
    server.shutdown().unwrap();
}

#[test]
fn malformed_requests_get_a_status_and_a_close() {
    let server = start(1);
    let addr = server.local_addr();
    let cases: &[(&[u8], u16)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br\r\n\r\n", 501),
        (b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    ];
    for (raw, status) in cases {
        let s = connect(addr);
        let mut w = s.try_clone().unwrap();
        w.write_all(raw).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, *status, "{}", String::from_utf8_lossy(raw));
        assert_eq!(resp.header("connection"), Some("close"));
        assert!(resp.text().starts_with(r#"{"detail":"#));
        assert!(closed(&mut r));
    }
    // The server is still serving.
    assert_eq!(roundtrip(addr, &get("/plaintext")).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn handler_panic_answers_500_and_the_server_goes_on() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(&get("/panic")).unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 500);
    assert_eq!(resp.text(), r#"{"detail":"Internal Server Error"}"#);
    // Same connection, and a new one, both still served.
    w.write_all(&get("/plaintext")).unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
    assert_eq!(roundtrip(server.local_addr(), &get("/json")).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn large_bodies_arrive_whole() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    // Two in a row: the zero-copy writev path, then the same connection again.
    w.write_all(&[get("/big"), get("/big"), get("/plaintext")].concat())
        .unwrap();
    let expected = big_body();
    for _ in 0..2 {
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200);
        assert!(resp.body == expected, "1 MB body corrupted");
    }
    assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    // A large request body, echoed back.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8 + b'a').collect();
    let mut req = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let writer = std::thread::spawn(move || w.write_all(&req).unwrap());
    let resp = read_response(&mut r, false);
    writer.join().unwrap();
    assert!(resp.body == body);
    server.shutdown().unwrap();
}

#[test]
fn sixty_four_concurrent_clients_two_hundred_requests_each() {
    let server = start(2);
    let addr = server.local_addr();
    let failures = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..64)
        .map(|c| {
            let failures = failures.clone();
            std::thread::spawn(move || {
                let s = connect(addr);
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                for i in 0..200u64 {
                    let id = c * 1000 + i;
                    w.write_all(&get(&format!("/users/{id}"))).unwrap();
                    let resp = read_response(&mut r, false);
                    if resp.status != 200 || resp.text() != format!(r#"{{"id":{id}}}"#) {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    assert_eq!(failures.load(std::sync::atomic::Ordering::Relaxed), 0);
    server.shutdown().unwrap();
}

#[test]
fn shutdown_stops_accepting() {
    let server = start(2);
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/plaintext")).status, 200);
    server.shutdown().unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "listener must be closed after shutdown"
    );
}

#[test]
fn bad_routes_refuse_to_start() {
    let mut app = fasterapi_http::App::new();
    app.get("/x/{id", |_req: &fasterapi_http::Request| "x");
    let err = app.bind("127.0.0.1:0").expect_err("bind must fail");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("/x/{id"), "{err}");
}

#[test]
fn curl_smoke() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not installed; skipping");
        return;
    }
    let server = start(1);
    let base = format!("http://{}", server.local_addr());
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "-i", &format!("{base}/users/7")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.ends_with(r#"{"id":7}"#), "{text}");
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "--data-binary",
            "posted by curl",
            &format!("{base}/echo"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "posted by curl");
    // curl sends Expect: 100-continue for bodies above 1 MiB; chunked with -H.
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            "chunky",
        ])
        .arg(format!("{base}/echo"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "chunky");
    server.shutdown().unwrap();
}

#[test]
fn handlers_inline_and_on_the_pool_see_the_address_of_their_own_client() {
    let mut app = fasterapi_http::App::new();
    app.config_mut().threads = 1;
    let peer =
        |req: &fasterapi_http::Request| fasterapi_http::Response::text(req.peer_addr().to_string());
    app.get("/peer", peer);
    app.get("/pool/peer", peer).blocking();
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    // Two connections open at once, each asking twice: every answer names the port of
    // the connection it came on.
    let clients: Vec<_> = (0..2).map(|_| connect(server.local_addr())).collect();
    for s in &clients {
        let mine = s.local_addr().unwrap().to_string();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        for path in ["/peer", "/pool/peer", "/peer"] {
            w.write_all(&get(path)).unwrap();
            let resp = read_response(&mut r, false);
            assert_eq!(resp.status, 200, "{path}");
            assert_eq!(resp.text(), mine, "{path}");
        }
    }
    server.shutdown().unwrap();
}
