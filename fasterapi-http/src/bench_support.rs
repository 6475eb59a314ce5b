//! Entry points for the criterion benches in `benches/`: the hot path's pieces, callable
//! without a socket. Not a public API.

use bytes::BytesMut;

use crate::app::App;
use crate::parse::{self, Head, Limits};
use crate::response::{Output, Persistence, Response};
use crate::router::Lookup;

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
