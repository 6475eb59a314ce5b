//! Response compression: the content coding chosen from `Accept-Encoding`, and the
//! encoders (gzip, brotli, zstd) that apply it to a body.
//!
//! What a route with compression on does with each response (see [`Compression`]):
//! - Left alone: statuses without a body (1xx, 204, 304), `206 Partial Content` (its
//!   ranges count bytes of the uncompressed representation), a response that has a
//!   `Content-Encoding` already, and media types that are compressed already
//!   ([`is_precompressed`]: images but SVG, video, audio, archives, fonts in WOFF, gRPC,
//!   `text/event-stream`).
//! - Left alone too: a file body ([`Body::File`](crate::Body::File)), which goes from the
//!   page cache to the socket by sendfile(2) without passing through user space.
//! - Every other response gets `Vary: Accept-Encoding`, compressed or not, so a cache
//!   keeps one copy per coding.
//! - A streamed body ([`Body::Stream`](crate::Body::Stream)) is compressed whatever its
//!   (unknown) size when the client accepts a coding, piece by piece, with a flush after
//!   each piece so that it reaches the client as soon as it was produced. Server-Sent
//!   Events (`text/event-stream`) are not compressed at all (as Starlette's middleware
//!   has it): an event must not wait in a compressor, and proxies buffer compressed ones.
//! - Its body is compressed when it is at least [`Compression::min_size`] bytes and the
//!   client accepts one of the enabled codings ([`negotiate`]), or whatever its size
//!   when the client refuses `identity` (`identity;q=0`, or `*;q=0` without `identity`).
//!   A strong `ETag` becomes weak: the compressed bytes are not the uncompressed ones.
//! - A `HEAD` response has the headers the `GET` would have (RFC 9110 section 9.3.2):
//!   `Content-Encoding`, `Vary`, and the compressed body's `Content-Length`, which takes
//!   compressing the body once, then not sending it. (Leaving `Content-Length` out would
//!   be allowed too, but a length that differs from the `GET`'s is not.)

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Write};

use bytes::Bytes;

use crate::http::response::{recycle_json_buffer, take_json_buffer, Body, Response};
use crate::http::stream::{PieceFilter, StreamError};

/// A content coding the server can apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `gzip` (RFC 1952), with flate2 on its zlib-rs backend.
    Gzip,
    /// `br` (RFC 7932), with the `brotli` crate.
    Brotli,
    /// `zstd` (RFC 8878), with the `zstd` crate (the reference C library).
    Zstd,
}

impl Encoding {
    /// The coding's name in `Content-Encoding` and `Accept-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }

    /// Ties in the client's preference go to the first of these, the cheapest for the
    /// size at the default levels (benches/RESULTS.md, "Response compression"): zstd 3
    /// makes a 10 KiB JSON body 21.3% of its size for 0.3 M instructions, gzip 4 21.8%
    /// for 0.9 M, brotli 3 21.4% for 1.5 M (a 100 KiB HTML page: 12.8% for 1.8 M, 12.4%
    /// for 5.3 M, 12.9% for 8.1 M).
    const PREFERENCE: [Encoding; 3] = [Encoding::Zstd, Encoding::Gzip, Encoding::Brotli];
}

/// Response compression settings, for a whole app ([`Config::compression`]) or one route
/// ([`RouteMut::compress`]). Off unless asked for.
///
/// Each coding is on with its level, or off with `None`. The default levels were picked by
/// counting the instructions per response against the size on a 10 KiB JSON and a 100 KiB
/// HTML body (benches/RESULTS.md, "Response compression"): zstd 3, gzip 4, brotli 3, each
/// the level past which more CPU buys only a few percent of size. When the client accepts
/// several equally, zstd goes first, then gzip, then brotli (cheapest first for the
/// same size).
///
/// ```
/// use fasterapi_http::{App, Compression, Request, Response};
///
/// let mut app = App::new();
/// // Every route: zstd, brotli or gzip, for bodies from 1 KiB.
/// app.config_mut().compression = Some(Compression::default());
/// app.get("/report", |_req: &Request| Response::html("<p>...</p>"));
/// // This one: gzip only, at level 9, from 100 bytes.
/// app.get("/big", |_req: &Request| Response::text("..."))
///     .compress(Compression::gzip_only(9).min_size(100));
/// // This one never.
/// app.get("/plaintext", |_req: &Request| "Hello, World!").no_compress();
/// ```
///
/// [`Config::compression`]: crate::Config::compression
/// [`RouteMut::compress`]: crate::RouteMut::compress
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compression {
    /// Bodies shorter than this are sent as they are (a few hundred bytes gain little
    /// and cost a compressor's setup).
    pub min_size: usize,
    /// gzip's level, `0..=9`; `None`: gzip off.
    pub gzip: Option<u32>,
    /// brotli's quality, `0..=11`; `None`: brotli off.
    pub brotli: Option<u32>,
    /// zstd's level, `1..=22` (or a negative "fast" level down to `-7`); `None`: zstd off.
    pub zstd: Option<i32>,
}

/// The default levels; see [`Compression`].
const GZIP_LEVEL: u32 = 4;
const BROTLI_LEVEL: u32 = 3;
const ZSTD_LEVEL: i32 = 3;
/// The default [`Compression::min_size`].
const MIN_SIZE: usize = 1024;

impl Default for Compression {
    fn default() -> Compression {
        Compression {
            min_size: MIN_SIZE,
            gzip: Some(GZIP_LEVEL),
            brotli: Some(BROTLI_LEVEL),
            zstd: Some(ZSTD_LEVEL),
        }
    }
}

impl Compression {
    /// gzip alone at `level` (`0..=9`), as Starlette's `GZipMiddleware` does.
    pub fn gzip_only(level: u32) -> Compression {
        Compression {
            gzip: Some(level),
            brotli: None,
            zstd: None,
            ..Compression::default()
        }
    }

    /// Sets [`Compression::min_size`].
    pub fn min_size(mut self, bytes: usize) -> Compression {
        self.min_size = bytes;
        self
    }

    /// Refuses levels out of range, naming the field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.gzip.is_some_and(|l| l > 9) {
            return Err(format!("gzip level {:?} is not within 0..=9", self.gzip));
        }
        if self.brotli.is_some_and(|l| l > 11) {
            return Err(format!(
                "brotli quality {:?} is not within 0..=11",
                self.brotli
            ));
        }
        if self.zstd.is_some_and(|l| !(-7..=22).contains(&l) || l == 0) {
            return Err(format!(
                "zstd level {:?} is not within -7..=22 (0 excluded)",
                self.zstd
            ));
        }
        Ok(())
    }

    fn enabled(&self, e: Encoding) -> bool {
        match e {
            Encoding::Gzip => self.gzip.is_some(),
            Encoding::Brotli => self.brotli.is_some(),
            Encoding::Zstd => self.zstd.is_some(),
        }
    }
}

/// What a request's `Accept-Encoding` allows, for the codings `c` enables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The coding to use, if any is acceptable: the client's highest q-value, ties to
    /// the server's preference (zstd, gzip, br).
    pub encoding: Option<Encoding>,
    /// The client refused an uncompressed body (`identity;q=0`, or `*;q=0` without
    /// `identity` listed): compress whatever the size.
    pub identity_refused: bool,
}

/// Chooses the coding for a request whose `Accept-Encoding` is `header` (RFC 9110
/// section 12.5.3): no header, no coding. Codings are matched without regard to case,
/// `x-gzip` is `gzip`, `*` stands for every coding not listed, `q=0` refuses, and an
/// entry with a malformed q-value is ignored.
pub fn negotiate(header: Option<&[u8]>, c: &Compression) -> Choice {
    let mut choice = Choice {
        encoding: None,
        identity_refused: false,
    };
    let Some(header) = header else {
        return choice;
    };
    // q-values in thousandths; None: not listed.
    let mut listed: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    let mut identity: Option<u16> = None;
    for entry in header.split(|&b| b == b',') {
        let mut parts = entry.split(|&b| b == b';');
        let name = trim(parts.next().unwrap_or_default());
        if name.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            let param = trim(param);
            if param.len() >= 2 && param[..2].eq_ignore_ascii_case(b"q=") {
                q = parse_q(trim(&param[2..]));
            }
        }
        let Some(q) = q else { continue };
        let slot = if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
            &mut listed[0]
        } else if name.eq_ignore_ascii_case(b"br") {
            &mut listed[1]
        } else if name.eq_ignore_ascii_case(b"zstd") {
            &mut listed[2]
        } else if name == b"*" {
            &mut star
        } else if name.eq_ignore_ascii_case(b"identity") {
            &mut identity
        } else {
            continue;
        };
        // A coding listed twice keeps its highest q-value.
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }
    choice.identity_refused = identity == Some(0) || (identity.is_none() && star == Some(0));
    let mut best = 0;
    for e in Encoding::PREFERENCE {
        let i = match e {
            Encoding::Gzip => 0,
            Encoding::Brotli => 1,
            Encoding::Zstd => 2,
        };
        let q = listed[i].or(star).unwrap_or(0);
        if c.enabled(e) && q > best {
            best = q;
            choice.encoding = Some(e);
        }
    }
    choice
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let end = s.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    match (start, end) {
        (Some(a), Some(b)) => &s[a..=b],
        _ => &[],
    }
}

/// A qvalue (`0`, `0.5`, `1.000`; RFC 9110 section 12.4.2) in thousandths.
fn parse_q(s: &[u8]) -> Option<u16> {
    let (int, frac) = match s.iter().position(|&b| b == b'.') {
        Some(dot) => (&s[..dot], &s[dot + 1..]),
        None => (s, &[][..]),
    };
    if int.len() != 1 || frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| u16::from(d - b'0'));
    }
    match int[0] {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether a body of `media_type` (a `Content-Type` value) is compressed already, or is
/// an event stream whose events must not wait in a compressor: such bodies are sent as
/// they are. Everything else is compressible, a missing type included (as Starlette's
/// `GZipMiddleware` has it).
pub fn is_precompressed(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    let (kind, sub) = essence.split_once('/').unwrap_or((essence, ""));
    let is = |a: &str, b: &str| kind.eq_ignore_ascii_case(a) && sub.eq_ignore_ascii_case(b);
    if kind.eq_ignore_ascii_case("image") {
        // Vector and raw bitmaps compress well; every other image format is compressed.
        return !["svg+xml", "bmp", "x-icon", "vnd.microsoft.icon"]
            .iter()
            .any(|s| sub.eq_ignore_ascii_case(s));
    }
    if kind.eq_ignore_ascii_case("video") || kind.eq_ignore_ascii_case("audio") {
        return true;
    }
    if is("text", "event-stream") || is("font", "woff") || is("font", "woff2") {
        return true;
    }
    if kind.eq_ignore_ascii_case("application") {
        let sub = sub.to_ascii_lowercase();
        return sub.starts_with("grpc")
            || [
                "zip",
                "gzip",
                "x-gzip",
                "zstd",
                "x-bzip2",
                "x-xz",
                "x-7z-compressed",
                "vnd.rar",
                "x-rar-compressed",
                "x-brotli",
                "pdf",
                "font-woff",
                "wasm",
            ]
            .contains(&sub.as_str());
    }
    false
}

// Encoders, one per thread and coding, reused from response to response: setting one up
// costs more than compressing a 10 KiB body at a low level (benches/RESULTS.md).
thread_local! {
    static GZIP: RefCell<Option<(u32, flate2::Compress)>> = const { RefCell::new(None) };
    static ZSTD: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
}

/// Appends `data` compressed with `e` at the level `c` gives it to `out`, as one whole
/// stream.
pub fn compress_to(e: Encoding, c: &Compression, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    match e {
        Encoding::Gzip => gzip_to(c.gzip.unwrap_or(GZIP_LEVEL), data, out),
        Encoding::Brotli => {
            let params = brotli_params(c.brotli.unwrap_or(BROTLI_LEVEL), Some(data.len()));
            brotli::BrotliCompress(&mut &data[..], out, &params).map(drop)
        }
        Encoding::Zstd => ZSTD.with(|z| {
            let level = c.zstd.unwrap_or(ZSTD_LEVEL);
            let mut z = z.borrow_mut();
            match &mut *z {
                Some((l, _)) if *l == level => {}
                slot => *slot = Some((level, zstd::bulk::Compressor::new(level)?)),
            }
            let (_, compressor) = z.as_mut().expect("set just above");
            // Into a slice after what `out` holds (a `Vec` would be written from its start).
            let start = out.len();
            out.resize(start + zstd::zstd_safe::compress_bound(data.len()), 0);
            let n = compressor.compress_to_buffer(data, &mut out[start..])?;
            out.truncate(start + n);
            Ok(())
        }),
    }
}

/// gzip (RFC 1952) around a raw deflate stream, with the thread's deflate state reset
/// rather than made anew.
fn gzip_to(level: u32, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    // Magic, deflate, no flags, no mtime, no extra flags, OS "unknown".
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    GZIP.with(|g| {
        let mut g = g.borrow_mut();
        match &mut *g {
            Some((l, deflate)) if *l == level => deflate.reset(),
            slot => {
                *slot = Some((
                    level,
                    flate2::Compress::new(flate2::Compression::new(level), false),
                ))
            }
        }
        let (_, deflate) = g.as_mut().expect("set just above");
        // Deflate's worst case is the input plus 5 bytes per 16 KiB block, plus a little.
        out.reserve(data.len() + data.len() / 16_000 * 5 + 64);
        let start = deflate.total_in();
        loop {
            let done = (deflate.total_in() - start) as usize;
            let status = deflate
                .compress_vec(&data[done..], out, flate2::FlushCompress::Finish)
                .map_err(io::Error::other)?;
            match status {
                flate2::Status::StreamEnd => break,
                _ => out.reserve(out.capacity().max(1024)),
            }
        }
        Ok::<(), io::Error>(())
    })?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(())
}

/// brotli's settings for a body of `size` bytes, if known.
fn brotli_params(quality: u32, size: Option<usize>) -> brotli::enc::BrotliEncoderParams {
    // A 4 MiB window (what decoders are sized for) for a stream of unknown length; no
    // larger than the body otherwise, since the encoder sets up (and zeroes) tables for
    // the whole window on every call: a 10 KiB body costs 2-10x less with a 16 KiB one.
    let lgwin = match size {
        Some(size) => (usize::BITS - size.max(1).leading_zeros()).clamp(10, 22),
        None => 22,
    };
    let mut params = brotli::enc::BrotliEncoderParams {
        quality: quality as i32,
        lgwin: lgwin as i32,
        ..Default::default()
    };
    if let Some(size) = size {
        params.size_hint = size;
    }
    params
}

/// `resp` as a route with compression `c` sends it to a client whose `Accept-Encoding`
/// gave `choice` (see the module's docs for what is left alone). Should compressing fail,
/// the body goes as it was.
pub(crate) fn compress_response(mut resp: Response, c: &Compression, choice: Choice) -> Response {
    // A file region goes by sendfile(2), from the kernel's page cache to the socket:
    // compressing it would mean reading it through user space for every response, so it
    // goes as it is (a precompressed sibling file is the way to serve it compressed).
    if resp.status.forbids_body()
        || resp.status.as_u16() == 206
        || matches!(resp.body, Body::File(_))
    {
        return resp;
    }
    if resp
        .content_type
        .as_ref()
        .is_some_and(|t| is_precompressed(t.as_str()))
        || resp
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
    {
        return resp;
    }
    add_vary(&mut resp.headers);
    let Some(encoding) = choice.encoding else {
        return resp;
    };
    if let Body::Stream(_) = resp.body {
        // Whatever its size, which is not known: piece by piece, flushed after each.
        let Ok(encoder) = Encoder::new(encoding, c) else {
            return resp;
        };
        let Body::Stream(body) = std::mem::replace(&mut resp.body, Body::Empty) else {
            unreachable!("matched just above");
        };
        resp.body = Body::Stream(body.filtered(Box::new(Pieces(Some(encoder)))));
    } else {
        let body = resp.body.as_bytes();
        if body.len() < c.min_size && !choice.identity_refused {
            return resp;
        }
        let mut out = take_json_buffer();
        if compress_to(encoding, c, body, &mut out).is_err() {
            recycle_json_buffer(out);
            return resp;
        }
        if let Body::Owned(old) = std::mem::replace(&mut resp.body, Body::Owned(out)) {
            recycle_json_buffer(old);
        }
    }
    for (name, value) in &mut resp.headers {
        // A strong validator names these exact bytes; the compressed ones differ.
        if name.eq_ignore_ascii_case("etag") && !value.starts_with("W/") {
            *value = Cow::Owned(format!("W/{value}"));
        }
    }
    resp.headers.push((
        Cow::Borrowed("Content-Encoding"),
        Cow::Borrowed(encoding.as_str()),
    ));
    resp
}

/// Adds `Accept-Encoding` to the response's `Vary` (one is made if there is none).
fn add_vary(headers: &mut Vec<(Cow<'static, str>, Cow<'static, str>)>) {
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case("vary"))
    {
        Some((_, value)) => {
            let listed = value
                .split(',')
                .map(str::trim)
                .any(|v| v == "*" || v.eq_ignore_ascii_case("accept-encoding"));
            if !listed {
                *value = Cow::Owned(format!("{value}, Accept-Encoding"));
            }
        }
        None => headers.push((Cow::Borrowed("Vary"), Cow::Borrowed("Accept-Encoding"))),
    }
}

/// A streamed body's compressor: each piece compressed and flushed, so it reaches the
/// client when the producer made it (a slow producer's pieces do not wait in the
/// compressor for more to come), at the cost of a few bytes per flush.
struct Pieces(Option<Encoder>);

impl PieceFilter for Pieces {
    fn piece(&mut self, piece: &[u8]) -> Result<Bytes, StreamError> {
        let Some(encoder) = &mut self.0 else {
            return Err(StreamError::new("a piece after the end"));
        };
        let mut out = Vec::new();
        encoder
            .write_flush(piece, &mut out)
            .map_err(StreamError::new)?;
        Ok(Bytes::from(out))
    }

    fn end(&mut self) -> Result<Bytes, StreamError> {
        let mut out = Vec::new();
        if let Some(encoder) = self.0.take() {
            encoder.finish(&mut out).map_err(StreamError::new)?;
        }
        Ok(Bytes::from(out))
    }
}

/// A compressor that takes a body piece by piece, for streamed bodies: each piece can be
/// flushed, so what was written so far can be decoded on the other side at once.
pub struct Encoder {
    inner: Inner,
}

enum Inner {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let e = match self.inner {
            Inner::Gzip(_) => Encoding::Gzip,
            Inner::Brotli(_) => Encoding::Brotli,
            Inner::Zstd(_) => Encoding::Zstd,
        };
        f.debug_struct("Encoder").field("encoding", &e).finish()
    }
}

impl Encoder {
    /// A streaming compressor for `e` at the level `c` gives it.
    pub fn new(e: Encoding, c: &Compression) -> io::Result<Encoder> {
        let inner = match e {
            Encoding::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::new(c.gzip.unwrap_or(GZIP_LEVEL)),
            )),
            Encoding::Brotli => Inner::Brotli(Box::new(brotli::CompressorWriter::with_params(
                Vec::new(),
                4096,
                &brotli_params(c.brotli.unwrap_or(BROTLI_LEVEL), None),
            ))),
            Encoding::Zstd => Inner::Zstd(zstd::stream::write::Encoder::new(
                Vec::new(),
                c.zstd.unwrap_or(ZSTD_LEVEL),
            )?),
        };
        Ok(Encoder { inner })
    }

    /// Compresses `data` and flushes, so the bytes returned (appended to `out`) decode to
    /// everything written so far.
    pub fn write_flush(&mut self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let produced = match &mut self.inner {
            Inner::Gzip(w) => {
                w.write_all(data)?;
                w.flush()?;
                w.get_mut()
            }
            Inner::Brotli(w) => {
                w.write_all(data)?;
                w.flush()?;
                w.get_mut()
            }
            Inner::Zstd(w) => {
                w.write_all(data)?;
                w.flush()?;
                w.get_mut()
            }
        };
        out.append(produced);
        Ok(())
    }

    /// Ends the stream, appending its last bytes to `out`.
    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<()> {
        let mut rest = match self.inner {
            Inner::Gzip(w) => w.finish()?,
            Inner::Brotli(w) => w.into_inner(),
            Inner::Zstd(w) => w.finish()?,
        };
        out.append(&mut rest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(header: &str) -> Choice {
        negotiate(Some(header.as_bytes()), &Compression::default())
    }

    #[test]
    fn q_values_pick_the_coding() {
        use Encoding::*;
        let cases = [
            ("gzip", Some(Gzip)),
            ("gzip, deflate, br, zstd", Some(Zstd)),
            ("gzip, deflate, br", Some(Gzip)),
            ("deflate, br", Some(Brotli)),
            ("br;q=0.5, gzip;q=0.8", Some(Gzip)),
            ("br;q=1.0, gzip;q=0.999, zstd;q=0.9", Some(Brotli)),
            ("GZIP", Some(Gzip)),
            ("x-gzip", Some(Gzip)),
            ("*", Some(Zstd)),
            ("*;q=0.5, zstd;q=0.1", Some(Gzip)),
            ("gzip;q=0, br;q=0, zstd;q=0", None),
            ("*;q=0", None),
            ("identity", None),
            ("deflate", None),
            ("", None),
            (" , ,", None),
            ("gzip;q=2", None),
            ("gzip;q=0.5555", None),
            ("gzip;q=abc, br", Some(Brotli)),
            ("gzip ; q = 0.3 ,br;Q=0.2", Some(Gzip)),
            ("zstd;q=0, zstd;q=0.5", Some(Zstd)),
            ("gzip;level=1", Some(Gzip)),
        ];
        for (header, want) in cases {
            assert_eq!(choose(header).encoding, want, "{header:?}");
        }
        assert_eq!(negotiate(None, &Compression::default()).encoding, None);
        let gzip_only = Compression::gzip_only(6);
        assert_eq!(
            negotiate(Some(b"br, zstd, gzip;q=0.1"), &gzip_only).encoding,
            Some(Gzip)
        );
        assert_eq!(negotiate(Some(b"br, zstd"), &gzip_only).encoding, None);
    }

    #[test]
    fn identity_refusal() {
        assert!(choose("identity;q=0, gzip").identity_refused);
        assert!(choose("*;q=0, gzip").identity_refused);
        assert!(!choose("*;q=0, identity, gzip").identity_refused);
        assert!(!choose("gzip").identity_refused);
        assert!(!choose("identity;q=0.1").identity_refused);
    }

    #[test]
    fn precompressed_media_types() {
        for t in [
            "image/png",
            "IMAGE/JPEG",
            "image/webp",
            "video/mp4",
            "audio/ogg; codecs=opus",
            "application/zip",
            "application/gzip",
            "application/grpc+proto",
            "font/woff2",
            "text/event-stream",
        ] {
            assert!(is_precompressed(t), "{t}");
        }
        for t in [
            "text/html; charset=utf-8",
            "application/json",
            "image/svg+xml",
            "application/javascript",
            "text/css",
            "",
            "application/octet-stream",
        ] {
            assert!(!is_precompressed(t), "{t}");
        }
    }

    fn decode(e: Encoding, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match e {
            Encoding::Gzip => {
                io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).unwrap();
            }
            Encoding::Brotli => {
                io::Read::read_to_end(&mut brotli::Decompressor::new(data, 4096), &mut out)
                    .unwrap();
            }
            Encoding::Zstd => out = zstd::stream::decode_all(data).unwrap(),
        }
        out
    }

    #[test]
    fn one_shot_and_streamed_bodies_decode_to_the_input() {
        let body: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("{{\"id\":{i},\"name\":\"user{}\"}},", i % 97).into_bytes())
            .collect();
        for e in Encoding::PREFERENCE {
            for c in [Compression::default(), Compression::gzip_only(1)] {
                if !c.enabled(e) {
                    continue;
                }
                // Twice, so the second reuses the thread's encoder.
                for _ in 0..2 {
                    let mut out = b"prefix".to_vec();
                    compress_to(e, &c, &body, &mut out).unwrap();
                    assert!(out.len() < body.len() / 4, "{e:?}: {}", out.len());
                    assert_eq!(decode(e, &out[6..]), body, "{e:?}");
                }
            }
            let mut enc = Encoder::new(e, &Compression::default()).unwrap();
            let mut wire = Vec::new();
            for piece in body.chunks(7_000) {
                let before = wire.len();
                enc.write_flush(piece, &mut wire).unwrap();
                assert!(wire.len() > before, "{e:?}: a flush gives bytes");
            }
            enc.finish(&mut wire).unwrap();
            assert_eq!(decode(e, &wire), body, "{e:?} streamed");
        }
    }

    #[test]
    fn levels_out_of_range_are_refused() {
        assert!(Compression::default().validate().is_ok());
        assert!(Compression::gzip_only(10).validate().is_err());
        let mut c = Compression {
            brotli: Some(12),
            ..Compression::default()
        };
        assert!(c.validate().is_err());
        c.brotli = None;
        c.zstd = Some(0);
        assert!(c.validate().is_err());
        c.zstd = Some(-7);
        assert!(c.validate().is_ok());
    }
}
