//! The server's hot path without sockets: parse + route of a typical GET with 6 headers
//! next to httparse alone, building the /json response next to serde_json plus a
//! hand-written head, and decoding chunked request bodies.
//!
//! `cargo bench --bench http` (`-- chunked` for the chunked decoder alone)
use std::hint::black_box;
use std::io::Write;

use bytes::{BufMut, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fasterapi::{App, Error, Request, Response};
use fasterapi_http::bench_support::{chunked, parse_and_route, write_response, ChunkedBody};
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

/// Decodes `raw` fed in pieces of `read` bytes, as the server's reads bring it, into `out`
/// (cleared first): the decoded length.
fn decode(raw: &[u8], read: usize, out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut body = ChunkedBody::new(64 << 20);
    for piece in raw.chunks(read) {
        if let Some(n) = body.feed(piece, out).expect("a well-formed body") {
            assert_eq!(n, piece.len());
            return out.len();
        }
    }
    panic!("the body did not end");
}

/// Chunked body decoding, in bytes of body per second.
///
/// `chunked_decode`: a 4 MiB body in 16-byte, 1 KiB and 64 KiB chunks, fed in 64 KiB
/// pieces (the reads of a busy connection) into an output buffer kept across iterations,
/// as the thread's buffer is (`fresh_output`: a new one each time, grown as the body
/// arrives, as for a body that spans reads).
///
/// `chunked_decode_cold`: 4 and 64 MiB bodies in 1 KiB chunks, each iteration decoding one
/// of several copies that together span 256 MiB, into an output of its own, so that both
/// sizes find their bytes out of cache: linear work gives the same rate. (With the input
/// reused, a 4 MiB body runs from cache and a 64 MiB one from memory, which measures the
/// caches, not the decoder; `memcpy_cold` is the same traffic copied, for scale.)
fn bench_chunked(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunked_decode");
    g.sample_size(20);
    for (name, size) in [
        ("16B_chunks", 16),
        ("1KiB_chunks", 1024),
        ("64KiB_chunks", 64 << 10),
    ] {
        let len = 4 << 20;
        let body = pattern(len);
        let raw = chunked(&body, size);
        let mut out = Vec::new();
        assert_eq!(decode(&raw, 64 << 10, &mut out), len);
        assert!(out == body);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new(name, "4MiB"), &raw, |b, raw| {
            b.iter(|| decode(black_box(raw), 64 << 10, &mut out))
        });
        if size == 1024 {
            let id = BenchmarkId::new("1KiB_chunks_fresh_output", "4MiB");
            g.bench_with_input(id, &raw, |b, raw| {
                b.iter(|| decode(black_box(raw), 64 << 10, &mut Vec::new()))
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("chunked_decode_cold");
    g.sample_size(10);
    for len in [4 << 20, 64 << 20] {
        let raw = chunked(&pattern(len), 1024);
        let copies = (256 << 20) / len;
        let raws: Vec<Vec<u8>> = (0..copies).map(|_| raw.clone()).collect();
        let mut outs: Vec<Vec<u8>> = (0..copies).map(|_| Vec::new()).collect();
        for (raw, out) in raws.iter().zip(&mut outs) {
            assert_eq!(decode(raw, 64 << 10, out), len);
        }
        g.throughput(Throughput::Bytes(len as u64));
        let mut i = 0;
        let id = BenchmarkId::new("1KiB_chunks", format!("{}MiB", len >> 20));
        g.bench_function(id, |b| {
            b.iter(|| {
                i = (i + 1) % copies;
                decode(black_box(&raws[i]), 64 << 10, &mut outs[i])
            })
        });
        let id = BenchmarkId::new("memcpy_cold", format!("{}MiB", len >> 20));
        g.bench_function(id, |b| {
            b.iter(|| {
                i = (i + 1) % copies;
                outs[i].clear();
                outs[i].extend_from_slice(black_box(&raws[i][..len]));
                outs[i].len()
            })
        });
    }
    g.finish();
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i % 251) as u8).collect()
}

criterion_group!(benches, bench_parse, bench_json_response, bench_chunked);
criterion_main!(benches);
