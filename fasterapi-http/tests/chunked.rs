//! Chunked request bodies over real sockets: tiny chunks arrive whole (inline, on the
//! worker pool, and to a handler that answers later), and floods of chunk extensions,
//! trailer fields or framing are refused while the client is still sending, long before
//! a megabyte of them is taken. Also: a malformed request line is 400, not 505.

mod common;

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::SocketAddr;

use common::*;
use fasterapi_http::bench_support::chunked;
use fasterapi_http::{App, Request, Response, RunningServer};

fn head(path: &str) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes()
}

fn body_64k() -> Vec<u8> {
    (0..64 * 1024u32).map(|i| (i % 253) as u8).collect()
}

/// The test app, plus an echo on the worker pool and one answered from another thread.
fn server() -> RunningServer {
    let mut app: App = test_app(1);
    app.post("/pool-echo", |req: &Request| {
        Response::bytes(req.body().to_vec(), "application/octet-stream")
    })
    .blocking();
    app.post("/later-echo", |req: &Request| {
        let body = req.body().to_vec();
        let reply = req.defer().expect("an inline request can wait");
        std::thread::spawn(move || reply.send(Response::bytes(body, "application/octet-stream")));
        Response::text("not sent")
    });
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

#[test]
fn a_64_kib_body_in_1_byte_chunks_is_echoed_whole() {
    let server = server();
    let body = body_64k();
    let raw = chunked(&body, 1);
    assert_eq!(raw.len(), 6 * body.len() + 5, "6 raw bytes per body byte");
    for path in ["/echo", "/pool-echo", "/later-echo"] {
        let s = connect(server.local_addr());
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        w.write_all(&head(path)).unwrap();
        // In many writes, so that the body spans many reads and passes.
        for piece in raw.chunks(4096) {
            w.write_all(piece).unwrap();
        }
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200, "{path}");
        assert!(resp.body == body, "{path}: the echo differs");
        // The connection goes on.
        w.write_all(&get("/plaintext")).unwrap();
        assert_eq!(
            read_response(&mut r, false).text(),
            "Hello, World!",
            "{path}"
        );
    }
    server.shutdown().unwrap();
}

#[test]
fn pipelined_requests_after_a_chunked_body_are_served() {
    let server = server();
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let body = body_64k();
    let mut batch = Vec::new();
    for path in ["/echo", "/pool-echo", "/echo"] {
        batch.extend_from_slice(&head(path));
        batch.extend_from_slice(&chunked(&body, 100));
        batch.extend_from_slice(&get("/plaintext"));
    }
    w.write_all(&batch).unwrap();
    for path in ["/echo", "/pool-echo", "/echo"] {
        let resp = read_response(&mut r, false);
        assert!(resp.status == 200 && resp.body == body, "{path}");
        assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    }
    server.shutdown().unwrap();
}

/// Sends `head` and then `piece` again and again, checking for an answer after each write,
/// until the answer arrives or a write fails (or 16 MiB went, which fails the test).
///
/// The client's socket blocks, with a small send buffer: it cannot run further ahead of
/// the server than that buffer and the server's receive window, whatever the scheduling
/// (with the send buffer left to autotuning, a client whose server thread waited for a CPU
/// wrote 4 MB before the server read any). Returns the answer and the bytes written.
fn flood(addr: SocketAddr, head: &[u8], piece: &[u8]) -> (Resp, usize) {
    let s = connect(addr);
    socket2::SockRef::from(&s)
        .set_send_buffer_size(16 * 1024)
        .unwrap();
    let mut w = s.try_clone().unwrap();
    w.write_all(head).unwrap();
    let mut written = head.len();
    let mut probe = [0u8; 1];
    while written < 16 << 20 {
        match w.write(piece) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        s.set_nonblocking(true).unwrap();
        let answered = match s.peek(&mut probe) {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        s.set_nonblocking(false).unwrap();
        if answered {
            break;
        }
    }
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r, false);
    assert_eq!(resp.header("connection"), Some("close"));
    // Nothing after the answer: the server closed.
    let mut rest = Vec::new();
    match r.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "bytes after the answer"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
    }
    (resp, written)
}

#[test]
fn an_extension_flood_is_refused_before_a_megabyte() {
    let server = server();
    let piece = format!("1;ext={}\r\nx\r\n", "e".repeat(1000));
    let (resp, written) = flood(server.local_addr(), &head("/echo"), piece.as_bytes());
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("chunk extensions too long"),
        "{}",
        resp.text()
    );
    assert!(
        written < 1 << 20,
        "{written} bytes written before the answer"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_trailer_flood_is_refused_before_a_megabyte() {
    let server = server();
    let mut start = head("/echo");
    start.extend_from_slice(b"5\r\nhello\r\n0\r\n");
    let piece = format!("X-Flood: {}\r\n", "t".repeat(1000));
    let (resp, written) = flood(server.local_addr(), &start, piece.as_bytes());
    assert_eq!(resp.status, 431);
    assert!(
        resp.text().contains("trailer section too large"),
        "{}",
        resp.text()
    );
    assert!(
        written < 1 << 20,
        "{written} bytes written before the answer"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_zero_padded_chunk_size_flood_is_refused_before_a_megabyte() {
    // Each line is under the 4 KiB line cap and has no extension: only the framing
    // overhead cap (64 KiB beyond 5 bytes per body byte) stops it.
    let server = server();
    let piece = format!("{}1\r\nx\r\n", "0".repeat(4000));
    let (resp, written) = flood(server.local_addr(), &head("/echo"), piece.as_bytes());
    assert_eq!(resp.status, 400);
    assert!(
        resp.text().contains("chunked framing too large"),
        "{}",
        resp.text()
    );
    assert!(
        written < 1 << 20,
        "{written} bytes written before the answer"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_malformed_request_line_is_400_and_a_later_http_1_minor_version_is_served() {
    let server = server();
    let addr = server.local_addr();
    for (raw, status) in [
        (&b"GE T /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"[..], 400),
        (b"GET /plain text HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /plaintext HTTP/1.1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /plaintext http/1.1\r\nHost: t\r\n\r\n", 400),
        (b"GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (b"GET /plaintext HTTP/0.9\r\nHost: t\r\n\r\n", 505),
    ] {
        let mut s = connect(addr);
        s.write_all(raw).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, status, "{}", String::from_utf8_lossy(raw));
        assert!(closed(&mut r));
    }
    // HTTP/1.2 is served as HTTP/1.1 (RFC 9112 §2.6), and the connection persists.
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(b"GET /plaintext HTTP/1.2\r\nHost: t\r\n\r\n")
        .unwrap();
    let resp = read_response(&mut r, false);
    assert!(
        resp.head.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        resp.head
    );
    assert_eq!(resp.text(), "Hello, World!");
    w.write_all(&get("/json")).unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn chunked_and_content_length_bodies_trickled_a_byte_at_a_time() {
    let server = server();
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut raw = head("/echo");
    raw.extend_from_slice(b"3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n");
    raw.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    for b in &raw {
        w.write_all(std::slice::from_ref(b)).unwrap();
    }
    assert_eq!(read_response(&mut r, false).text(), "abc0123456789abcdef");
    assert_eq!(read_response(&mut r, false).text(), "hello");
    // Shut our side: the server closes too, with nothing more to say.
    w.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}
