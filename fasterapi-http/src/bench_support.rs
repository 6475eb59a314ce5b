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
