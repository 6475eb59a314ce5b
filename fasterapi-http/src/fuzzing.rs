//! Entry points for the fuzz targets under `fuzz/`. Not a public API: compiled with the
//! `harness` feature only.

use std::sync::{Arc, OnceLock};

use bytes::{Buf, BytesMut};
use fasterapi_core::buf::BufPool;

use crate::app::request::Request;
use crate::app::App;
use crate::http::response::Response;
use crate::proto::h1::encode::Output;
use crate::proto::h1::parse::{ChunkLimits, ChunkedDecoder, Limits};
use crate::server::conn::{serve_one, Ctx, Origin, Pending, Step};

fn app() -> Arc<App> {
    static APP: OnceLock<Arc<App>> = OnceLock::new();
    APP.get_or_init(|| {
        let mut app = App::new();
        app.get("/", |_r: &Request| "root");
        app.get("/users/{id}", |r: &Request| {
            r.param::<u64>("id")
                .map(|id| Response::text(id.to_string()))
        });
        app.post("/echo", |r: &Request| {
            Response::bytes(r.body().to_vec(), "application/octet-stream")
        });
        app.get("/files/{*path}", |r: &Request| {
            Response::text(r.path_decoded().into_owned())
        });
        app.get("/q", |r: &Request| {
            let n: usize = r.query_pairs().count();
            Response::text(n.to_string())
        });
        Arc::new(app)
    })
    .clone()
}

/// Where the fuzzed requests come from.
const ORIGIN: Origin = Origin {
    token: 0,
    id: 0,
    peer: crate::TestServer::PEER_ADDR,
};

/// Feeds `data` to a connection as if it arrived in pieces of the given sizes, answering
/// every complete request, and checks that the output is a sequence of well-formed
/// responses. Panics on any broken invariant.
pub fn serve_bytes(data: &[u8], split_points: &[u8]) {
    let limits = Limits {
        max_head: 4096,
        max_headers: 32,
        max_target: 1024,
        max_body: 64 * 1024,
        max_upload: 64 * 1024,
        max_length: 64 * 1024,
    };
    let mut ctx = Ctx {
        app: app(),
        limits,
        pool: BufPool::new(1024, 4),
        out: Output::new(BytesMut::new()),
        chunked_body: Vec::new(),
        rbuf: BytesMut::new(),
        queue: None,
        home: 0,
        later: None,
        now: std::time::Instant::now(),
        stopping: false,
    };
    let mut rbuf = BytesMut::new();
    let mut pending = Pending::default();
    let mut fed = 0;
    let mut pieces = split_points
        .iter()
        .map(|&p| usize::from(p) + 1)
        .chain(std::iter::repeat(usize::MAX));
    'feed: while fed < data.len() {
        let n = pieces.next().unwrap_or(usize::MAX).min(data.len() - fed);
        rbuf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        while !rbuf.is_empty() {
            match serve_one(&rbuf, &mut ctx, &mut pending, &ORIGIN) {
                Step::Incomplete { keep } => {
                    // As the connection does: consumed bytes of a partial request go.
                    assert!(keep <= rbuf.len(), "keep {keep} of {}", rbuf.len());
                    rbuf.truncate(keep);
                    break;
                }
                Step::Served {
                    consumed,
                    keep_alive,
                } => {
                    assert!(
                        consumed > 0 && consumed <= rbuf.len(),
                        "consumed {consumed} of {}",
                        rbuf.len()
                    );
                    rbuf.advance(consumed);
                    if !keep_alive {
                        break 'feed;
                    }
                }
                // The fuzz app has no blocking routes.
                Step::Defer { .. } => unreachable!("no blocking routes here"),
                Step::Later { .. } => unreachable!("nothing can wait here: no mailboxes"),
                Step::Rejected => break 'feed,
            }
        }
    }
    let mut out = Vec::new();
    for c in &ctx.out.chunks {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&ctx.out.buf);
    check_responses(&out);
}

/// Every byte of `out` belongs to a complete response with a status line, a head ending
/// in CRLF CRLF and a body of exactly its Content-Length (bodiless statuses aside).
fn check_responses(mut out: &[u8]) {
    while !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1.1 "),
            "response must start with a status line"
        );
        let end = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head must end");
        let head = std::str::from_utf8(&out[..end]).expect("head is ASCII");
        let status: u16 = head[9..12].parse().expect("status code");
        let len = head
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |v| {
                v.parse::<usize>().expect("Content-Length is a number")
            });
        // HEAD answers carry a Content-Length but no body; a fuzzer cannot tell them apart
        // from the output alone, so accept either when the rest would not parse.
        let after = end + 4;
        let with_body = after + len;
        out = if status == 100 || len == 0 {
            &out[after..]
        } else if out.len() >= with_body
            && (out.len() == with_body || out[with_body..].starts_with(b"HTTP/1.1 "))
        {
            &out[with_body..]
        } else {
            &out[after..]
        };
    }
}

/// Runs the request-head scanner (the fast path in front of httparse) on `data` and
/// panics if it accepts a head httparse parses differently, or refuses.
pub fn parse_head(data: &[u8]) {
    crate::proto::h1::scan::check_against_httparse(data);
}

/// The `chunked_splits` fuzz target's input: a first byte `n`, then `n % 32` piece sizes
/// for the split (see [`chunked_splits`]), then the body.
pub fn chunked_splits_input(data: &[u8]) {
    let (splits, input) = match data.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 32).min(rest.len())),
        None => (&[][..], data),
    };
    chunked_splits(input, splits);
}

/// Decodes `data` as a chunked body twice, whole and fed in pieces of the given sizes, and
/// panics unless both give the same answer: the same body and end, or the same refusal.
/// Under two sets of caps: small ones, which short inputs reach, and the server's.
pub fn chunked_splits(data: &[u8], split_points: &[u8]) {
    let small = ChunkLimits {
        max_body: 2048,
        max_line: 32,
        max_extensions: 96,
        max_trailer: 128,
        max_trailer_fields: 4,
        overhead_base: 256,
    };
    for limits in [small, ChunkLimits::new(64 * 1024, 4096, 32)] {
        let mut whole = ChunkedDecoder::new();
        let mut expected = Vec::new();
        let once = whole.decode(data, &mut expected, &limits);
        if let Ok(Some(n)) = once {
            assert!(n <= data.len());
        }
        let mut decoder = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut fed = 0;
        let mut pieces = split_points.iter().map(|&p| usize::from(p) + 1);
        let split = loop {
            if fed == data.len() {
                break Ok(None);
            }
            let n = pieces.next().unwrap_or(usize::MAX).min(data.len() - fed);
            match decoder.decode(&data[fed..fed + n], &mut out, &limits) {
                Ok(None) => {
                    fed += n;
                    // An incomplete body consumed every byte offered: none is offered twice.
                    assert_eq!(decoder.raw(), fed);
                }
                Ok(Some(k)) => {
                    assert!(k <= n, "consumed {k} of {n}");
                    break Ok(Some(fed + k));
                }
                Err(e) => break Err(e),
            }
        };
        assert_eq!(split, once, "split decoding differs from one-shot");
        assert_eq!(out, expected, "split decoding produced another body");
        assert_eq!(decoder.decoded(), out.len());
        if let Ok(Some(n)) = split {
            assert_eq!(decoder.raw(), n);
            assert!(out.len() <= limits.max_body);
        }
    }
}
