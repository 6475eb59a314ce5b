//! Routes that stream forms, over real sockets: a multipart upload far larger than the
//! body limit is read into a form as it arrives (files spooled, the handler's body empty),
//! inline and on the worker pool; refused forms are answered with Starlette's statuses
//! and the connection goes on; the body limit still holds for other routes.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

use common::*;
use fasterapi_http::form::{FormLimits, FormValue, Spooled};
use fasterapi_http::{App, Request, Response, RunningServer, StatusCode};

/// What a handler reports of a streamed form: each item as `name=text` or
/// `name:filename:size:checksum:where`, and the length of the body it saw.
fn describe(req: &Request) -> Response {
    let items = match req.take_form() {
        None => return Response::text("no form"),
        Some(Err(e)) => return Response::text(e.detail).with_status(e.status),
        Some(Ok(items)) => items,
    };
    let mut out = vec![format!("body={}", req.body().len())];
    for (name, value) in items {
        out.push(match value {
            FormValue::Text(t) => format!("{name}={t}"),
            FormValue::File(f) => {
                let (data, place) = match f.content {
                    Spooled::Memory(m) => (m, "memory"),
                    Spooled::Pooled(m) => (m.slices().collect::<Vec<_>>().concat(), "pooled"),
                    Spooled::File(mut file) => {
                        let mut d = Vec::new();
                        file.read_to_end(&mut d).unwrap();
                        (d, "file")
                    }
                };
                assert_eq!(data.len() as u64, f.size);
                format!(
                    "{name}:{}:{}:{}:{place}",
                    f.filename,
                    f.size,
                    checksum(&data)
                )
            }
        });
    }
    Response::text(out.join("\n"))
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn server() -> RunningServer {
    let mut app: App = test_app(1);
    // Far below the uploads: a body held whole this large would be refused.
    app.config_mut().max_body_bytes = 64 * 1024;
    app.config_mut().max_upload_bytes = 16 * 1024 * 1024;
    app.post("/upload", describe)
        .stream_forms(FormLimits::default());
    app.post("/pool-upload", describe)
        .stream_forms(FormLimits::default())
        .blocking();
    let mut few = FormLimits::default();
    few.max_fields = 2;
    few.max_file_size = 1000;
    app.post("/few", describe).stream_forms(few);
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

const BOUNDARY: &str = "----fasterapi-test-7MA4YWxkTrZu0gW";

fn part(name: &str, filename: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut p = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
    if let Some(f) = filename {
        p += &format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream");
    }
    p += "\r\n\r\n";
    [p.as_bytes(), data, b"\r\n"].concat()
}

fn request(path: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

fn file_5mib() -> Vec<u8> {
    (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

fn send(s: &TcpStream, raw: &[u8], piece: usize) {
    let mut w = s.try_clone().unwrap();
    for chunk in raw.chunks(piece) {
        w.write_all(chunk).unwrap();
    }
}

#[test]
fn a_5_mib_upload_is_read_into_a_form_as_it_arrives_inline_and_on_the_pool() {
    let server = server();
    let file = file_5mib();
    let body = [
        part("note", None, "caf\u{e9}".as_bytes()),
        part("doc", Some("../../etc/passwd"), &file),
        part("small", Some("s.txt"), b"tiny"),
        format!("--{BOUNDARY}--\r\n").into_bytes(),
    ]
    .concat();
    for path in ["/upload", "/pool-upload"] {
        let s = connect(server.local_addr());
        let mut r = BufReader::new(s.try_clone().unwrap());
        // The next request rides behind the upload's last bytes.
        let raw = [request(path, &body), get("/plaintext")].concat();
        send(&s, &raw, 64 * 1024);
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        let expected = format!(
            "body=0\nnote=caf\u{e9}\ndoc:../../etc/passwd:{}:{}:file\nsmall:s.txt:4:{}:memory",
            file.len(),
            checksum(&file),
            checksum(b"tiny")
        );
        // In the process's upload memory, or in a temporary file when the other tests of
        // this binary (run at the same time) hold that memory.
        let text = resp.text().replace(":pooled\n", ":file\n");
        assert_eq!(text, expected, "{path}");
        assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    }
}

#[test]
fn the_body_limit_still_holds_for_routes_that_hold_bodies_and_uploads_have_their_own() {
    let server = server();
    // 100 KiB to a route that holds its body: over max_body_bytes.
    let resp = roundtrip(
        server.local_addr(),
        &request("/echo", &vec![b'x'; 100 * 1024]),
    );
    assert_eq!(resp.status, 413);
    // Over max_upload_bytes, told from Content-Length alone.
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        17 * 1024 * 1024
    );
    assert_eq!(roundtrip(server.local_addr(), head.as_bytes()).status, 413);
    // Another content type to a streaming route is held whole, so the body limit holds.
    let raw = b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 70000\r\n\r\n";
    assert_eq!(roundtrip(server.local_addr(), raw).status, 413);
    let raw = b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi";
    assert_eq!(roundtrip(server.local_addr(), raw).text(), "no form");
}

#[test]
fn an_upload_limit_below_the_body_limit_holds_for_streamed_forms() {
    let mut app: App = test_app(1);
    app.config_mut().max_body_bytes = 1024 * 1024;
    app.config_mut().max_upload_bytes = 64 * 1024;
    app.post("/upload", describe)
        .stream_forms(FormLimits::default());
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let body = |n: usize| {
        let end = format!("--{BOUNDARY}--\r\n").into_bytes();
        [part("f", Some("a.bin"), &vec![b'x'; n]), end].concat()
    };
    let big = roundtrip(server.local_addr(), &request("/upload", &body(100 * 1024)));
    assert_eq!(big.status, 413);
    let small = roundtrip(server.local_addr(), &request("/upload", &body(10 * 1024)));
    assert_eq!(small.status, 200);
}

#[test]
fn refused_forms_are_answered_and_the_connection_goes_on() {
    let server = server();
    let end = format!("--{BOUNDARY}--\r\n").into_bytes();
    let three_fields = [
        part("a", None, b"1"),
        part("b", None, b"2"),
        part("c", None, b"3"),
        end.clone(),
    ]
    .concat();
    let big_file = [part("f", Some("f.bin"), &[7u8; 100_000]), end.clone()].concat();
    let truncated = part("a", None, b"no closing boundary");
    let bad_header =
        format!("--{BOUNDARY}\r\nno colon here\r\n\r\nx\r\n--{BOUNDARY}--\r\n").into_bytes();
    let cases: [(&str, &[u8], u16, &str); 4] = [
        (
            "/few",
            &three_fields,
            400,
            "Too many fields. Maximum number of fields is 2.",
        ),
        (
            "/few",
            &big_file,
            413,
            "File exceeded maximum size of 1000 bytes.",
        ),
        (
            "/upload",
            &truncated,
            400,
            "Invalid multipart data: the multipart body ended before its closing boundary.",
        ),
        (
            "/upload",
            &bad_header,
            400,
            "Invalid multipart data: a multipart part has a malformed header line.",
        ),
    ];
    let s = connect(server.local_addr());
    let mut r = BufReader::new(s.try_clone().unwrap());
    for (path, body, status, detail) in cases {
        send(&s, &request(path, body), 1000);
        let resp = read_response(&mut r, false);
        assert_eq!((resp.status, resp.text()), (status, detail), "{path}");
    }
    // Without a boundary: Starlette's 400, and still the same connection.
    let raw = b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data\r\nContent-Length: 3\r\n\r\nabc";
    send(&s, raw, 1000);
    let resp = read_response(&mut r, false);
    assert_eq!(
        (resp.status, resp.text()),
        (400, "Missing boundary in multipart.")
    );
    send(&s, &get("/plaintext"), 1000);
    assert_eq!(read_response(&mut r, false).status, StatusCode::OK.as_u16());
}

/// Uploads arriving together past the upload memory (three of 6 MiB into 12 MiB): those
/// behind wait for memory (or spill, past their wait) and go on when the ones ahead are
/// answered, inline or from the worker pool (whose threads give the memory back); every
/// upload arrives whole and is answered.
#[test]
fn uploads_arriving_together_past_the_upload_memory_all_arrive_whole() {
    let server = server();
    for path in ["/upload", "/pool-upload"] {
        let sends: Vec<_> = (0..3u32)
            .map(|k| {
                let addr = server.local_addr();
                std::thread::spawn(move || {
                    let file: Vec<u8> = (0..6 * 1024 * 1024u32)
                        .map(|i| ((i + k) % 251) as u8)
                        .collect();
                    let body = [
                        part("doc", Some("d.bin"), &file),
                        format!("--{BOUNDARY}--\r\n").into_bytes(),
                    ]
                    .concat();
                    let s = connect(addr);
                    let mut r = BufReader::new(s.try_clone().unwrap());
                    send(&s, &request(path, &body), 64 * 1024);
                    let resp = read_response(&mut r, false);
                    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
                    let expected =
                        format!("body=0\ndoc:d.bin:{}:{}:file", file.len(), checksum(&file));
                    assert_eq!(resp.text().replace(":pooled", ":file"), expected, "{path}");
                })
            })
            .collect();
        for s in sends {
            s.join().unwrap();
        }
    }
}
