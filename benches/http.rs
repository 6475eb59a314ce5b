//! The server's hot path without sockets: parse + route of a typical GET with 6 headers
//! next to httparse alone, and building the /json response next to serde_json plus a
//! hand-written head.
//!
//! `cargo bench --bench http`
use std::hint::black_box;
use std::io::Write;

use bytes::{BufMut, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use fasterapi::bench_support::{parse_and_route, write_response};
use fasterapi::{App, Error, Request, Response};
use serde::Serialize;

const GET: &[u8] = b"GET /users/42?verbose=1 HTTP/1.1\r\n\
Host: api.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench/1.0\r\n\
Accept: application/json\r\n\
Accept-Encoding: gzip, deflate\r\n\
Connection: keep-alive\r\n\
Cookie: session=0123456789abcdef\r\n\r\n";

fn app() -> App {
    let mut app = App::new();
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    app.get("/json", |_req: &Request| {
        Response::json(|o| {
            o.field("message", "Hello, World!");
        })
    });
    app.get("/users/{id}", |req: &Request| -> Result<Response, Error> {
        let id: u64 = req.param("id")?;
        Ok(Response::json(|o| {
            o.field("id", id);
        }))
    });
    app.post("/echo", |req: &Request| {
        Response::bytes(req.body().to_vec(), "application/octet-stream")
    });
    app
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

fn bench_parse(c: &mut Criterion) {
    let app = app();
    assert_eq!(parse_and_route(&app, GET), Some((GET.len(), 1)));
    let mut g = c.benchmark_group("parse_route_get_6_headers");
    g.bench_function("fasterapi_parse_and_route", |b| {
        b.iter(|| parse_and_route(&app, black_box(GET)))
    });
    g.bench_function("httparse_alone", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            black_box(req.parse(black_box(GET)).ok())
        })
    });
    g.finish();
}

fn bench_json_response(c: &mut Criterion) {
    let mut g = c.benchmark_group("json_response");
    let mut out = BytesMut::with_capacity(4096);
    g.bench_function("fasterapi_response_json", |b| {
        b.iter(|| {
            out.clear();
            write_response(
                Response::json(|o| {
                    o.field("message", black_box("Hello, World!"));
                }),
                &mut out,
            );
            black_box(out.len())
        })
    });
    let mut out = BytesMut::with_capacity(4096);
    let mut body = Vec::with_capacity(64);
    g.bench_function("serde_json_with_handwritten_head", |b| {
        b.iter(|| {
            out.clear();
            body.clear();
            serde_json::to_writer(
                &mut body,
                &Message {
                    message: black_box("Hello, World!"),
                },
            )
            .unwrap();
            out.put_slice(
                b"HTTP/1.1 200 OK\r\nServer: x\r\nDate: Sun, 22 Nov 2026 08:00:00 GMT\r\n",
            );
            out.put_slice(b"Content-Type: application/json\r\nContent-Length: ");
            out.put_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            out.put_slice(b"\r\n\r\n");
            (&mut out).writer().write_all(&body).unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_json_response);
criterion_main!(benches);
