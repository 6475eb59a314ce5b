//! Entry points for the criterion benches in `benches/`: the hot path's pieces, callable
//! without a socket. Not a public API: compiled with the `harness` feature only.

use bytes::BytesMut;

use crate::app::router::Lookup;
use crate::app::App;
use crate::http::response::Response;
use crate::proto::h1::encode::{Output, Persistence};
use crate::proto::h1::parse::{self, ChunkLimits, ChunkedDecoder, Head, Limits};

/// Parses the request head at the start of `buf` with the default limits and looks up its
/// route in `app`. Returns the head's length and the number of path parameters captured,
/// or `None` if the head is incomplete, refused, or unrouted.
#[inline]
pub fn parse_and_route(app: &App, buf: &[u8]) -> Option<(usize, usize)> {
    let limits = Limits::from_config(&app.config);
    let mut slots = parse::header_slots();
    match parse::parse_head(buf, &mut slots, &limits) {
        Ok(Head::Complete { len, meta, .. }) => match app.router.lookup(meta.method, meta.path) {
            Lookup::Found(_, params) => Some((len, params.len())),
            _ => None,
        },
        _ => None,
    }
}

/// Writes `response` as the server would (status line, cached `Server`/`Date`, type,
/// length, body) into `out`, keep-alive.
#[inline]
pub fn write_response(response: Response, out: &mut BytesMut) {
    let mut output = Output::new(std::mem::take(out));
    response.write_to(&mut output, false, Persistence::KeepAlive);
    *out = output.buf;
}

/// A chunked request body's decoder as the server runs it: fed each read's new bytes,
/// with the server's caps for a body of at most `max_body` bytes and the default head
/// limits for trailers.
#[derive(Debug)]
pub struct ChunkedBody {
    decoder: ChunkedDecoder,
    limits: ChunkLimits,
}

impl ChunkedBody {
    /// A decoder at the start of a body of at most `max_body` bytes.
    pub fn new(max_body: usize) -> ChunkedBody {
        let c = crate::Config::default();
        ChunkedBody {
            decoder: ChunkedDecoder::new(),
            limits: Limits {
                max_body,
                max_length: max_body,
                ..Limits::from_config(&c)
            }
            .chunked(),
        }
    }

    /// Decodes `raw`, the bytes after those of earlier calls, appending the body to `out`:
    /// `Ok(None)` while incomplete (all of `raw` consumed), `Ok(Some(n))` once the body
    /// ended after `n` bytes of `raw`, or the status it was refused with.
    #[inline]
    pub fn feed(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<Option<usize>, u16> {
        self.decoder
            .decode(raw, out, &self.limits)
            .map_err(|r| r.status.as_u16())
    }
}

/// `body` in chunks of `size` bytes, then the last chunk and an empty trailer section:
/// chunked transfer coding, for the benches and tests.
pub fn chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(body.len() + body.len() / size.max(1) * 10 + 16);
    for chunk in body.chunks(size.max(1)) {
        raw.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    raw
}

/// A JSON API answer of about `bytes` bytes: a page of user records with ids, names,
/// emails, dates, flags, scores and tags drawn from a fixed pseudo-random sequence (so
/// every run compresses the same bytes), as a realistic body to measure compression on.
pub fn sample_json(bytes: usize) -> Vec<u8> {
    const FIRST: [&str; 12] = [
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "oscar",
    ];
    const LAST: [&str; 8] = [
        "smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore",
    ];
    const TAGS: [&str; 9] = [
        "admin", "beta", "billing", "eu", "us", "mobile", "trial", "vip", "support",
    ];
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut out = br#"{"page":1,"per_page":50,"users":["#.to_vec();
    let mut id = 1000;
    while out.len() < bytes.saturating_sub(80) {
        if id > 1000 {
            out.push(b',');
        }
        let (f, l) = (FIRST[next(12) as usize], LAST[next(8) as usize]);
        let tags: Vec<String> = (0..next(4))
            .map(|_| format!("\"{}\"", TAGS[next(9) as usize]))
            .collect();
        out.extend_from_slice(
            format!(
                r#"{{"id":{id},"name":"{f} {l}","email":"{f}.{l}{}@example.com","created":"2026-{:02}-{:02}T{:02}:{:02}:{:02}Z","active":{},"score":{}.{:02},"tags":[{}]}}"#,
                next(1000),
                1 + next(12),
                1 + next(28),
                next(24),
                next(60),
                next(60),
                next(2) == 0,
                next(100),
                next(100),
                tags.join(",")
            )
            .as_bytes(),
        );
        id += 1 + next(3);
    }
    out.extend_from_slice(br#"],"total":12345}"#);
    out
}

/// An HTML page of about `bytes` bytes: a head with styles, a navigation list, and a
/// table of orders with links and varying text, as a realistic body to measure
/// compression on (deterministic, as [`sample_json`]).
pub fn sample_html(bytes: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "shipped", "pending", "refunded", "widget", "gadget", "deluxe", "blue", "large", "express",
        "standard", "gift", "wrapped", "priority", "returned", "bundle", "spare",
    ];
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Orders - Example Shop</title>\n<style>\nbody{font-family:sans-serif;margin:0}\n\
         table{border-collapse:collapse;width:100%}\ntd,th{padding:4px 8px;border-bottom:1px solid #ddd}\n\
         .status-shipped{color:#080}.status-pending{color:#a60}\n</style>\n</head>\n<body>\n\
         <nav><ul><li><a href=\"/\">Home</a></li><li><a href=\"/orders\">Orders</a></li>\
         <li><a href=\"/account\">Account</a></li></ul></nav>\n<main>\n<h1>Your orders</h1>\n\
         <table>\n<thead><tr><th>Order</th><th>Date</th><th>Item</th><th>Status</th><th>Total</th></tr></thead>\n<tbody>\n",
    );
    let mut order = 50_000;
    while out.len() < bytes.saturating_sub(60) {
        let status = WORDS[next(3) as usize];
        let item: Vec<&str> = (0..2 + next(3))
            .map(|_| WORDS[3 + next(13) as usize])
            .collect();
        out.push_str(&format!(
            "<tr class=\"row\"><td><a href=\"/orders/{order}\">#{order}</a></td><td>2026-{:02}-{:02}</td>\
             <td>{}</td><td class=\"status-{status}\">{status}</td><td>${}.{:02}</td></tr>\n",
            1 + next(12),
            1 + next(28),
            item.join(" "),
            next(500),
            next(100),
        ));
        order += 1 + next(7);
    }
    out.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    out.into_bytes()
}

/// Compresses `data` with `encoding` at `level` the way a route does (the thread's
/// encoder reused), appending to `out`.
pub fn compress(
    encoding: crate::proto::compress::Encoding,
    level: i32,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    use crate::proto::compress::{compress_to, Compression};
    let c = Compression {
        gzip: Some(level as u32),
        brotli: Some(level as u32),
        zstd: Some(level),
        ..Compression::default()
    };
    // The benches give levels in range; the encoders only fail on bad levels.
    compress_to(encoding, &c, data, out).expect("compressed");
}
