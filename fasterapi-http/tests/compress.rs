//! Response compression over real sockets: the coding chosen from `Accept-Encoding`,
//! bodies that decode to the handler's bytes, `Vary`, what is left alone (small bodies,
//! compressed media types, a preset `Content-Encoding`, 206, 304), HEAD, per-route
//! settings, deferred and worker-pool answers, and misses.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{mpsc, Mutex};

use common::*;
use fasterapi_http::bench_support::{sample_html, sample_json};
use std::sync::Arc;

use fasterapi_http::{
    App, Body, BodyStream, Compression, FileRegion, Request, Response, RunningServer, StatusCode,
};

fn json() -> Vec<u8> {
    sample_json(10 * 1024)
}

fn html() -> Vec<u8> {
    sample_html(100 * 1024)
}

fn decode(coding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .expect("gzip");
        }
        "br" => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .expect("br");
        }
        "zstd" => out = zstd::stream::decode_all(data).expect("zstd"),
        other => panic!("unexpected coding {other}"),
    }
    out
}

/// An app with compression on for every route (the default settings), and routes that
/// exercise what is left alone.
fn app() -> App {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.config_mut().compression = Some(Compression::default());
    app.get("/json", |_req: &Request| Response::json_bytes(json()));
    app.get("/html", |_req: &Request| Response::html(html()));
    app.get("/small", |_req: &Request| Response::text("x".repeat(1000)));
    app.get("/png", |_req: &Request| {
        Response::bytes(json(), "image/png")
    });
    app.get("/svg", |_req: &Request| {
        Response::bytes(json(), "image/svg+xml")
    });
    app.get("/encoded", |_req: &Request| {
        Response::bytes(json(), "application/json").with_header("Content-Encoding", "gzip")
    });
    app.get("/partial", |_req: &Request| {
        Response::text("x".repeat(5000))
            .with_status(StatusCode::from_u16(206).unwrap())
            .with_header("Content-Range", "bytes 0-4999/10000")
    });
    app.get("/not-modified", |_req: &Request| {
        Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", "\"v1\"")
    });
    app.get("/tagged", |_req: &Request| {
        Response::html(html())
            .with_header("ETag", "\"v1\"")
            .with_header("Vary", "Origin")
    });
    app.get("/never", |_req: &Request| Response::html(html()))
        .no_compress();
    app.get("/gzip9", |_req: &Request| Response::html(html()))
        .compress(Compression::gzip_only(9).min_size(10));
    app.get("/pool", |_req: &Request| Response::json_bytes(json()))
        .blocking();
    app.get("/later", |req: &Request| {
        let reply = req.defer().expect("an inline request can wait");
        std::thread::spawn(move || reply.send(Response::json_bytes(json())));
        Response::text("not sent")
    });
    app.get("/file", |_req: &Request| {
        let path = std::env::temp_dir().join(format!("compress-test-{}.html", std::process::id()));
        std::fs::write(&path, html()).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let region = FileRegion::new(Arc::new(file), 0, html().len() as u64);
        Response::html(Body::File(region))
    });
    app.get("/stream", |_req: &Request| {
        Response::stream(
            json()
                .chunks(1000)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
                .into_iter(),
        )
        .with_content_type("application/json")
    });
    app.get("/events", |_req: &Request| {
        Response::stream(["data: 1\n\n", "data: 2\n\n"].into_iter())
            .with_content_type("text/event-stream")
    });
    app.get("/stepped", |_req: &Request| {
        // The second piece is made only once the client said it decoded the first.
        let (sender, body) = BodyStream::channel(64 * 1024);
        let proceed = STEP
            .lock()
            .unwrap()
            .take()
            .expect("a step channel per request");
        std::thread::spawn(move || {
            sender.send(FIRST).unwrap();
            if proceed.recv().is_ok() {
                sender.send(SECOND).unwrap();
                sender.finish();
            }
        });
        Response::stream(body).with_content_type("text/plain")
    });
    app.no_route(|_req, _why| Response::html(html()).with_status(StatusCode::NOT_FOUND));
    app
}

const FIRST: &str = "first piece of a slow stream\n";
const SECOND: &str = "second piece, made after the first was decoded\n";

/// Where `/stepped` finds the receiving end of its next request's go-ahead.
static STEP: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);

/// The next chunk of a chunked body; `None` after the last.
fn read_chunk(r: &mut BufReader<std::net::TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    r.read_line(&mut line).expect("chunk size");
    let size = usize::from_str_radix(line.trim_end(), 16).expect("hex chunk size");
    if size == 0 {
        let mut end = String::new();
        r.read_line(&mut end).expect("end of the chunked body");
        assert_eq!(end, "\r\n");
        return None;
    }
    let mut chunk = vec![0; size + 2];
    r.read_exact(&mut chunk).expect("chunk");
    assert!(chunk.ends_with(b"\r\n"));
    chunk.truncate(size);
    Some(chunk)
}

/// What the start of a stream, `wire`, decodes to so far (a decoder reads up to where the
/// bytes stop, then fails for want of the rest).
fn decode_so_far(coding: &str, wire: &[u8]) -> Vec<u8> {
    let mut reader: Box<dyn Read + '_> = match coding {
        "gzip" => Box::new(flate2::read::GzDecoder::new(wire)),
        "br" => Box::new(brotli::Decompressor::new(wire, 4096)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(wire).unwrap()),
        other => panic!("{other}"),
    };
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = reader.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn serve(app: App) -> RunningServer {
    app.bind("127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn")
}

fn get(server: &RunningServer, path: &str, accept: Option<&str>) -> Resp {
    let accept = accept.map_or(String::new(), |a| format!("Accept-Encoding: {a}\r\n"));
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\n{accept}Connection: close\r\n\r\n");
    roundtrip(server.local_addr(), raw.as_bytes())
}

/// Checks a compressed answer: its coding, a length that is the compressed body's, and
/// a body that decodes to `want`.
fn assert_compressed(r: &Resp, coding: &str, want: &[u8]) {
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-encoding"), Some(coding), "{}", r.head);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{}", r.head);
    assert!(
        r.body.len() < want.len() / 3,
        "{coding}: {} bytes",
        r.body.len()
    );
    assert_eq!(decode(coding, &r.body), want, "{coding}");
}

#[test]
fn each_coding_decodes_to_the_handlers_bytes() {
    let server = serve(app());
    for (path, want) in [("/json", json()), ("/html", html())] {
        for coding in ["gzip", "br", "zstd"] {
            let r = get(&server, path, Some(coding));
            assert_compressed(&r, coding, &want);
        }
    }
    // Answers that the worker pool and a deferred reply give are compressed too.
    assert_compressed(&get(&server, "/pool", Some("gzip")), "gzip", &json());
    assert_compressed(&get(&server, "/later", Some("br")), "br", &json());
    server.shutdown().unwrap();
}

#[test]
fn q_values_choose_the_coding() {
    let server = serve(app());
    for (accept, want) in [
        ("gzip, deflate, br, zstd", Some("zstd")),
        ("gzip, deflate, br", Some("gzip")),
        ("deflate, br", Some("br")),
        ("br;q=0.5, gzip;q=0.8", Some("gzip")),
        ("zstd;q=0.1, *;q=0.5", Some("gzip")),
        ("*", Some("zstd")),
        ("x-gzip", Some("gzip")),
        ("gzip;q=0, br;q=0, zstd;q=0", None),
        ("identity", None),
        ("deflate, compress", None),
        ("gzip;q=7", None),
    ] {
        let r = get(&server, "/json", Some(accept));
        assert_eq!(r.header("content-encoding"), want, "{accept}: {}", r.head);
        assert_eq!(r.header("vary"), Some("Accept-Encoding"), "{accept}");
        match want {
            Some(coding) => assert_eq!(decode(coding, &r.body), json()),
            None => assert_eq!(r.body, json(), "{accept}"),
        }
    }
    // No Accept-Encoding: no coding, and still Vary.
    let r = get(&server, "/json", None);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.body, json());
    server.shutdown().unwrap();
}

#[test]
fn small_bodies_compressed_types_and_encoded_bodies_are_left_alone() {
    let server = serve(app());
    // Under min_size (1 KiB): as it was, with Vary.
    let r = get(&server, "/small", Some("gzip"));
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    assert_eq!(r.body, "x".repeat(1000).as_bytes());
    // ... unless the client refuses identity.
    let r = get(&server, "/small", Some("identity;q=0, gzip"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(decode("gzip", &r.body), "x".repeat(1000).as_bytes());
    // Compressed media types: no coding, no Vary; SVG is compressed.
    let r = get(&server, "/png", Some("gzip"));
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    assert_eq!(r.body, json());
    assert_compressed(&get(&server, "/svg", Some("gzip")), "gzip", &json());
    // A body the handler encoded itself goes as it is.
    let r = get(&server, "/encoded", Some("br"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("vary"), None);
    assert_eq!(r.body, json());
    // A file body goes by sendfile, as it is (even to a client refusing identity).
    let r = get(&server, "/file", Some("identity;q=0, gzip"));
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    assert_eq!(r.body, html());
    // 206 and 304 untouched.
    let r = get(&server, "/partial", Some("gzip"));
    assert_eq!((r.status, r.header("content-encoding")), (206, None));
    assert_eq!(r.body.len(), 5000);
    let r = get(&server, "/not-modified", Some("gzip"));
    assert_eq!(r.status, 304);
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    server.shutdown().unwrap();
}

#[test]
fn etag_weakened_and_vary_merged() {
    let server = serve(app());
    let r = get(&server, "/tagged", Some("gzip"));
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("etag"), Some("W/\"v1\""));
    assert_eq!(r.header("vary"), Some("Origin, Accept-Encoding"));
    assert_eq!(r.head.matches("Vary").count(), 1, "{}", r.head);
    // Uncompressed: the strong validator stays.
    let r = get(&server, "/tagged", Some("identity"));
    assert_eq!(r.header("etag"), Some("\"v1\""));
    server.shutdown().unwrap();
}

/// HEAD says what GET would (coding, Vary, and the compressed body's length) and sends no
/// body: the request pipelined behind it is answered right after its head.
#[test]
fn head_has_the_get_headers_and_no_body() {
    let server = serve(app());
    let got = get(&server, "/html", Some("gzip"));
    let mut s = connect(server.local_addr());
    s.write_all(
        b"HEAD /html HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n\
          GET /small HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let head = read_response(&mut r, true);
    assert_eq!(head.header("content-encoding"), Some("gzip"));
    assert_eq!(head.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        head.header("content-length"),
        Some(got.body.len().to_string().as_str())
    );
    let next = read_response(&mut r, false);
    assert_eq!(next.status, 200);
    assert_eq!(next.body, "x".repeat(1000).as_bytes());
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

#[test]
fn per_route_settings() {
    let server = serve(app());
    // Off for this route despite the app's setting: no coding, no Vary.
    let r = get(&server, "/never", Some("gzip, br, zstd"));
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    assert_eq!(r.body, html());
    // Its own settings: gzip only, even when the client prefers brotli.
    assert_compressed(
        &get(&server, "/gzip9", Some("br, gzip;q=0.5")),
        "gzip",
        &html(),
    );
    let r = get(&server, "/gzip9", Some("br, zstd"));
    assert_eq!(r.header("content-encoding"), None);
    server.shutdown().unwrap();

    // Without app-wide compression only the routes that ask compress.
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/plain", |_req: &Request| Response::html(html()));
    app.get("/on", |_req: &Request| Response::html(html()))
        .compress(Compression::default());
    let server = serve(app);
    let r = get(&server, "/plain", Some("gzip"));
    assert_eq!(
        (r.header("content-encoding"), r.header("vary")),
        (None, None)
    );
    assert_compressed(&get(&server, "/on", Some("zstd")), "zstd", &html());
    // Misses are not compressed without the app's setting.
    let r = get(&server, "/nowhere", Some("gzip"));
    assert_eq!((r.status, r.header("vary")), (404, None));
    server.shutdown().unwrap();
}

#[test]
fn misses_follow_the_apps_setting() {
    let server = serve(app());
    let r = get(&server, "/nowhere", Some("gzip"));
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(decode("gzip", &r.body), html());
    server.shutdown().unwrap();
}

#[test]
fn bad_levels_are_refused_at_bind() {
    let mut app = App::new();
    app.config_mut().compression = Some(Compression::gzip_only(10));
    let err = app.bind("127.0.0.1:0").expect_err("refused");
    assert!(err.to_string().contains("Config::compression"), "{err}");
    let mut app = App::new();
    let mut c = Compression::default();
    c.brotli = Some(12);
    app.get("/", |_req: &Request| "x").compress(c);
    let err = app.bind("127.0.0.1:0").expect_err("refused");
    assert!(err.to_string().contains("RouteMut::compress"), "{err}");
}

/// curl with `--compressed` (it asks for every coding it decodes, and decodes) gets the
/// handler's bytes, for each coding it can be held to.
#[test]
fn curl_compressed() {
    let server = serve(app());
    let url = format!("http://{}/html", server.local_addr());
    for accept in [None, Some("gzip"), Some("br"), Some("zstd")] {
        let mut cmd = std::process::Command::new("curl");
        cmd.args(["-sS", "--compressed", "-D", "-", "-o", "-", &url]);
        if let Some(a) = accept {
            cmd.args(["-H", &format!("Accept-Encoding: {a}")]);
        }
        let out = cmd.output().expect("curl runs (the CI installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let split = out
            .stdout
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4;
        let head = String::from_utf8_lossy(&out.stdout[..split]).to_lowercase();
        let want = accept.unwrap_or("zstd");
        assert!(
            head.contains(&format!("content-encoding: {want}\r\n")),
            "{accept:?}: {head}"
        );
        assert!(
            out.stdout[split..] == html()[..],
            "{accept:?}: body differs"
        );
    }
    server.shutdown().unwrap();
}

/// A streamed body is compressed piece by piece: it decodes to the pieces, and HEAD says
/// the coding without a body. Server-Sent Events are sent as they are.
#[test]
fn streamed_bodies_are_compressed_and_sse_is_not() {
    let server = serve(app());
    for coding in ["gzip", "br", "zstd"] {
        let mut s = connect(server.local_addr());
        write!(
            s,
            "GET /stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {coding}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut r = BufReader::new(s);
        let head = read_response(&mut r, true);
        assert_eq!(
            head.header("transfer-encoding"),
            Some("chunked"),
            "{}",
            head.head
        );
        assert_eq!(head.header("content-encoding"), Some(coding));
        assert_eq!(head.header("vary"), Some("Accept-Encoding"));
        let mut wire = Vec::new();
        while let Some(chunk) = read_chunk(&mut r) {
            wire.extend_from_slice(&chunk);
        }
        assert_eq!(decode(coding, &wire), json(), "{coding}");
        assert!(
            wire.len() < json().len() / 2,
            "{coding}: {} bytes",
            wire.len()
        );
    }
    let r = roundtrip(
        server.local_addr(),
        b"HEAD /stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"), "{}", r.head);
    let mut s = connect(server.local_addr());
    s.write_all(
        b"GET /events HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let head = read_response(&mut r, true);
    assert_eq!(
        (head.header("content-encoding"), head.header("vary")),
        (None, None)
    );
    let mut events = Vec::new();
    while let Some(chunk) = read_chunk(&mut r) {
        events.extend_from_slice(&chunk);
    }
    assert_eq!(events, b"data: 1\n\ndata: 2\n\n");
    server.shutdown().unwrap();
}

/// Each piece of a stream is flushed through the compressor: the client decodes the first
/// piece before the producer makes the second (which waits for the client to say so; a
/// compressor holding the piece back would leave the client waiting, and the read time
/// out).
#[test]
fn each_streamed_piece_arrives_decodable_at_once() {
    let server = serve(app());
    for coding in ["gzip", "br", "zstd"] {
        let (go, proceed) = mpsc::channel();
        *STEP.lock().unwrap() = Some(proceed);
        let mut s = connect(server.local_addr());
        write!(
            s,
            "GET /stepped HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {coding}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut r = BufReader::new(s);
        let head = read_response(&mut r, true);
        assert_eq!(head.header("content-encoding"), Some(coding));
        let mut wire = Vec::new();
        // Chunks until the first piece decodes; the producer waits meanwhile.
        while decode_so_far(coding, &wire) != FIRST.as_bytes() {
            let chunk = read_chunk(&mut r).expect("the body goes on until told to end");
            wire.extend_from_slice(&chunk);
        }
        go.send(()).unwrap();
        while let Some(chunk) = read_chunk(&mut r) {
            wire.extend_from_slice(&chunk);
        }
        assert_eq!(
            decode(coding, &wire),
            [FIRST, SECOND].concat().as_bytes(),
            "{coding}"
        );
    }
    server.shutdown().unwrap();
}
