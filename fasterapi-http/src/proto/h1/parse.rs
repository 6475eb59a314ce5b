//! Request heads and body framing (RFC 9112), on top of httparse.
//!
//! httparse splits the request line and header fields without copying; this module
//! decides what they mean for the connection: where the body ends, whether the
//! connection persists, and which malformed or ambiguous requests are refused. Ambiguous
//! framing is refused and the connection closed, since a front proxy might have framed
//! the same bytes differently (request smuggling).

use std::mem::MaybeUninit;

use crate::http::method::Method;
use crate::http::response::StatusCode;
use crate::proto::h1::scan;

#[cfg(test)]
pub(crate) use crate::proto::h1::chunked::work as chunked_work;
pub(crate) use crate::proto::h1::chunked::{ChunkLimits, ChunkedDecoder};

/// Header fields one request may carry at most; more is answered 431.
pub(crate) const MAX_HEADERS: usize = 100;

/// Size limits of one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_head: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_target: usize,
    pub(crate) max_body: usize,
    /// Largest multipart body a route that reads forms as they arrive takes.
    pub(crate) max_upload: usize,
    /// Largest `Content-Length` the head may announce: `max_body`, or more when some
    /// routes read multipart forms as they arrive (those bodies are not held in memory);
    /// the connection holds other routes to `max_body` once the request is routed.
    pub(crate) max_length: usize,
}

impl Limits {
    /// The caps of a chunked body: `max_body` decoded bytes, and a trailer section held to
    /// the head's limits.
    #[inline]
    pub(crate) fn chunked(&self) -> ChunkLimits {
        ChunkLimits::new(
            self.max_body,
            self.max_head,
            self.max_headers.min(MAX_HEADERS),
        )
    }
}

/// A request refused before it reached a handler. The connection closes after the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
}

pub(crate) const fn reject(status: StatusCode, reason: &'static str) -> Reject {
    Reject { status, reason }
}

/// A request refused for no more specific reason.
pub(crate) const MALFORMED: Reject = reject(StatusCode::BAD_REQUEST, "malformed request");

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length: n` (or no body at all: `Length(0)`).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What the header fields say about the message and the connection.
#[derive(Debug)]
pub(crate) struct Meta<'b> {
    pub(crate) method: Method,
    pub(crate) path: &'b str,
    pub(crate) query: Option<&'b str>,
    pub(crate) minor_version: u8,
    pub(crate) framing: Framing,
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// Uninitialised header storage for one parse; httparse fills a prefix.
pub(crate) type HeaderSlots<'b> = [MaybeUninit<httparse::Header<'b>>; MAX_HEADERS];

/// An empty [`HeaderSlots`].
#[inline]
pub(crate) fn header_slots<'b>() -> HeaderSlots<'b> {
    [const { MaybeUninit::uninit() }; MAX_HEADERS]
}

/// The outcome of parsing the head of the request at the start of `buf`.
pub(crate) enum Head<'h, 'b> {
    /// The head is not all here yet.
    Partial,
    /// A complete head of `len` bytes.
    Complete {
        len: usize,
        headers: &'h [httparse::Header<'b>],
        meta: Meta<'b>,
    },
}

/// Parses the head at the start of `buf`.
#[inline]
pub(crate) fn parse_head<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut HeaderSlots<'b>,
    limits: &Limits,
) -> Result<Head<'h, 'b>, Reject> {
    #[cfg(test)]
    HEAD_PARSES.set(HEAD_PARSES.get() + 1);
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    if let Some(head) = scan::scan(buf, &mut slots[..max_headers]) {
        let init = &slots[..head.headers];
        // SAFETY: `scan` wrote the first `head.headers` slots (MaybeUninit::write), so they
        // are initialised `Header`s, and `MaybeUninit<T>` has the layout of `T`. httparse
        // hands out its headers from the same slots the same way.
        let headers: &'h [httparse::Header<'b>] =
            unsafe { &*(init as *const [MaybeUninit<httparse::Header<'b>>] as *const [_]) };
        let split = match head.query_at {
            _ if !head.target.starts_with('/') => None,
            Some(q) => Some((&head.target[..q], Some(&head.target[q + 1..]))),
            None => Some((head.target, None)),
        };
        let line = RequestLine {
            method: head.method,
            target: head.target,
            split,
            minor_version: head.minor_version,
        };
        return complete(head.len, line, headers, limits);
    }
    parse_head_httparse(buf, slots, limits)
}

/// [`parse_head`] for the heads the scanner leaves to httparse. Out of line, so that the
/// common path stays small.
#[cold]
#[inline(never)]
fn parse_head_httparse<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut HeaderSlots<'b>,
    limits: &Limits,
) -> Result<Head<'h, 'b>, Reject> {
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    // The slots are reborrowed through a pointer so that the `Error::Version` path can
    // have them again: the borrow httparse keeps is returned on the complete path only,
    // which the borrow checker cannot tell apart (NLL "problem case #3").
    let slots_ptr: *mut HeaderSlots<'b> = slots;
    let mut req = httparse::Request::new(&mut []);
    // SAFETY: `slots_ptr` comes from the unique borrow `slots`, which is not used again.
    let fields = unsafe { &mut (&mut *slots_ptr)[..max_headers] };
    let len = match req.parse_with_uninit_headers(buf, fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return partial(buf, limits),
        Err(httparse::Error::Version) => {
            // SAFETY: `req`, the only holder of the first reborrow, is not used on this
            // path, so this is again the only borrow of the slots.
            return other_version(buf, unsafe { &mut *slots_ptr }, limits);
        }
        Err(e) => return Err(refusal(e)),
    };
    // httparse guarantees these are set on a complete parse.
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(reject(StatusCode::BAD_REQUEST, "malformed request line"));
    };
    let line = RequestLine {
        method,
        target,
        split: None,
        minor_version,
    };
    complete(len, line, req.headers, limits)
}

#[cfg(test)]
thread_local! {
    /// Calls of [`parse_head`] on this thread, for the tests that count work.
    pub(crate) static HEAD_PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A head not all here yet, unless it is already too long.
fn partial<'h, 'b>(buf: &[u8], limits: &Limits) -> Result<Head<'h, 'b>, Reject> {
    match memchr_newline(buf) {
        None if buf.len() > limits.max_target => {
            Err(reject(StatusCode::URI_TOO_LONG, "request target too long"))
        }
        _ if buf.len() > limits.max_head => Err(reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header section too large",
        )),
        _ => Ok(Head::Partial),
    }
}

/// The answer to a head httparse refused (`Error::Version` aside: see [`other_version`]).
fn refusal(e: httparse::Error) -> Reject {
    match e {
        httparse::Error::TooManyHeaders => reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "too many header fields",
        ),
        httparse::Error::HeaderName | httparse::Error::HeaderValue => {
            reject(StatusCode::BAD_REQUEST, "malformed header field")
        }
        httparse::Error::NewLine => reject(StatusCode::BAD_REQUEST, "malformed line ending"),
        httparse::Error::Token | httparse::Error::Version => {
            reject(StatusCode::BAD_REQUEST, "malformed request line")
        }
        _ => MALFORMED,
    }
}

/// A head httparse refused with `Error::Version`, which it returns whenever the request
/// line's third part does not start `HTTP/1.0` or `HTTP/1.1`: for a version it does not
/// take (`HTTP/2.0`, `HTTP/1.2`), and for lines that are no request line at all (`GE T
/// /plaintext HTTP/1.1` is method `GE`, target `T`, version `/plaintext HTTP/1.1`).
///
/// RFC 9112 §2.3 and §3: a request line is `method SP request-target SP HTTP-version`
/// and an HTTP-version is `HTTP/` DIGIT `.` DIGIT, so anything else is malformed: 400. A
/// well-formed version of another major version gets 505 (RFC 9110 §15.6.6 concerns the
/// major version); one of major version 1 and a higher minor version is served as
/// HTTP/1.1, which RFC 9112 §2.6 asks of an HTTP/1.1 server.
#[cold]
fn other_version<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut HeaderSlots<'b>,
    limits: &Limits,
) -> Result<Head<'h, 'b>, Reject> {
    let (method, target, fields_at) = match request_line(buf) {
        Line::Partial => return partial(buf, limits),
        Line::Malformed => return Err(refusal(httparse::Error::Version)),
        Line::Complete {
            major: 1,
            method,
            target,
            len,
            ..
        } => (method, target, len),
        Line::Complete { .. } => {
            return Err(reject(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "only HTTP/1.x is served",
            ))
        }
    };
    let max_headers = limits.max_headers.min(MAX_HEADERS);
    let slots = &mut slots[..max_headers];
    for slot in slots.iter_mut() {
        slot.write(httparse::EMPTY_HEADER);
    }
    // SAFETY: every slot was initialised just above, and `MaybeUninit<T>` has the layout
    // of `T`.
    let headers: &'h mut [httparse::Header<'b>] =
        unsafe { &mut *(slots as *mut [MaybeUninit<httparse::Header<'b>>] as *mut [_]) };
    let (len, headers) = match httparse::parse_headers(&buf[fields_at..], headers) {
        Ok(httparse::Status::Complete((len, headers))) => (fields_at + len, headers),
        Ok(httparse::Status::Partial) => return partial(buf, limits),
        Err(e) => return Err(refusal(e)),
    };
    let line = RequestLine {
        method,
        target,
        split: None,
        minor_version: 1,
    };
    complete(len, line, headers, limits)
}

/// A request line taken apart by [`request_line`].
#[derive(Debug, PartialEq, Eq)]
enum Line<'b> {
    /// Not all here yet, and what is here may still begin a request line.
    Partial,
    /// Not a request line.
    Malformed,
    /// A well-formed request line of `len` bytes (line ending and any empty lines before
    /// it included).
    Complete {
        method: &'b str,
        target: &'b str,
        major: u8,
        minor: u8,
        len: usize,
    },
}

/// Takes apart the request line at the start of `buf` by RFC 9112's grammar, with the
/// same byte classes as httparse (a method is a token; a target is visible ASCII or
/// UTF-8), and, as httparse does, skipping empty lines before it and taking LF for CRLF.
fn request_line(buf: &[u8]) -> Line<'_> {
    let mut i = 0;
    loop {
        match buf.get(i) {
            Some(b'\r') => match buf.get(i + 1) {
                Some(b'\n') => i += 2,
                None => return Line::Partial,
                Some(_) => return Line::Malformed,
            },
            Some(b'\n') => i += 1,
            None => return Line::Partial,
            Some(_) => break,
        }
    }
    let method_at = i;
    while i < buf.len() && scan::is_token(buf[i]) {
        i += 1;
    }
    match buf.get(i) {
        None => return Line::Partial,
        Some(b' ') if i > method_at => {}
        Some(_) => return Line::Malformed,
    }
    let method = &buf[method_at..i];
    i += 1;
    let target_at = i;
    while i < buf.len() && matches!(buf[i], b'!'..=b'~' | 0x80..) {
        i += 1;
    }
    match buf.get(i) {
        None => return Line::Partial,
        Some(b' ') if i > target_at => {}
        Some(_) => return Line::Malformed,
    }
    let target = &buf[target_at..i];
    i += 1;
    for (k, &want) in b"HTTP/0.0".iter().enumerate() {
        let Some(&b) = buf.get(i + k) else {
            return Line::Partial;
        };
        let fits = match want {
            b'0' => b.is_ascii_digit(),
            _ => b == want,
        };
        if !fits {
            return Line::Malformed;
        }
    }
    let (major, minor) = (buf[i + 5] - b'0', buf[i + 7] - b'0');
    i += 8;
    match buf.get(i) {
        Some(b'\r') => match buf.get(i + 1) {
            Some(b'\n') => i += 2,
            None => return Line::Partial,
            Some(_) => return Line::Malformed,
        },
        Some(b'\n') => i += 1,
        None => return Line::Partial,
        Some(_) => return Line::Malformed,
    }
    match (std::str::from_utf8(method), std::str::from_utf8(target)) {
        (Ok(method), Ok(target)) => Line::Complete {
            method,
            target,
            major,
            minor,
            len: i,
        },
        _ => Line::Malformed,
    }
}

/// The request line of a complete head.
struct RequestLine<'b> {
    method: &'b str,
    target: &'b str,
    /// Path and query of an origin-form target, when the scanner found them already.
    split: Option<(&'b str, Option<&'b str>)>,
    minor_version: u8,
}

/// The checks after a complete parse, whichever parser made it.
#[inline]
fn complete<'h, 'b>(
    len: usize,
    line: RequestLine<'b>,
    headers: &'h [httparse::Header<'b>],
    limits: &Limits,
) -> Result<Head<'h, 'b>, Reject> {
    if len > limits.max_head {
        return Err(reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header section too large",
        ));
    }
    if line.target.len() > limits.max_target {
        return Err(reject(StatusCode::URI_TOO_LONG, "request target too long"));
    }
    let meta = analyze(line, headers, limits)?;
    Ok(Head::Complete { len, headers, meta })
}

/// Whether the field name `name` is `lower` (given in lowercase) in any case. Setting bit
/// 0x20 lowercases ASCII letters; it maps no other tchar onto a letter, `-` or a digit
/// (those already have it set), so for a valid field name this is exactly
/// `eq_ignore_ascii_case`, compared eight bytes at a time.
#[inline(always)]
fn is_field<const N: usize>(name: &[u8], lower: &[u8; N]) -> bool {
    let Ok(name) = <&[u8; N]>::try_from(name) else {
        return false;
    };
    let mut diff = 0u64;
    let mut i = 0;
    while i + 8 <= N {
        let mut a = [0; 8];
        let mut b = [0; 8];
        a.copy_from_slice(&name[i..i + 8]);
        b.copy_from_slice(&lower[i..i + 8]);
        diff |= (u64::from_le_bytes(a) | 0x2020_2020_2020_2020) ^ u64::from_le_bytes(b);
        i += 8;
    }
    while i < N {
        diff |= u64::from((name[i] | 0x20) ^ lower[i]);
        i += 1;
    }
    diff == 0
}

fn memchr_newline(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// Applies RFC 9112's message rules to a complete head.
fn analyze<'b>(
    line: RequestLine<'b>,
    headers: &[httparse::Header<'b>],
    limits: &Limits,
) -> Result<Meta<'b>, Reject> {
    let RequestLine {
        method,
        target,
        split,
        minor_version,
    } = line;
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    let mut hosts = 0;
    let mut close = false;
    let mut keep_alive_token = false;
    let mut expect_continue = false;

    for h in headers {
        let name = h.name.as_bytes();
        // Dispatch on length first: most fields are none of these, and this skips them
        // with one comparison.
        match name.len() {
            4 if is_field(name, b"host") => hosts += 1,
            6 if is_field(name, b"expect") => {
                if trim(h.value).eq_ignore_ascii_case(b"100-continue") {
                    expect_continue = true;
                } else {
                    return Err(reject(
                        StatusCode::EXPECTATION_FAILED,
                        "unsupported expectation",
                    ));
                }
            }
            10 if is_field(name, b"connection") => {
                for token in h.value.split(|&b| b == b',').map(trim) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive_token = true;
                    }
                }
            }
            14 if is_field(name, b"content-length") => {
                // A list of identical values is allowed (RFC 9112 §6.3); anything else is
                // ambiguous.
                for v in h.value.split(|&b| b == b',').map(trim) {
                    let n = parse_decimal(v)
                        .ok_or(reject(StatusCode::BAD_REQUEST, "malformed Content-Length"))?;
                    match content_length {
                        Some(prev) if prev != n => {
                            return Err(reject(
                                StatusCode::BAD_REQUEST,
                                "conflicting Content-Length values",
                            ));
                        }
                        _ => content_length = Some(n),
                    }
                }
            }
            17 if is_field(name, b"transfer-encoding") => {
                transfer_encoding = true;
                for coding in h.value.split(|&b| b == b',').map(trim) {
                    if coding.is_empty() {
                        continue;
                    }
                    if chunked {
                        // Anything after `chunked` leaves the body's end undefined.
                        return Err(reject(
                            StatusCode::BAD_REQUEST,
                            "chunked must be the final transfer coding",
                        ));
                    }
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        chunked = true;
                    } else {
                        return Err(reject(
                            StatusCode::NOT_IMPLEMENTED,
                            "unsupported transfer coding",
                        ));
                    }
                }
            }
            _ => {}
        }
    }

    if minor_version == 1 && hosts != 1 {
        let reason = if hosts == 0 {
            "missing Host header"
        } else {
            "more than one Host header"
        };
        return Err(reject(StatusCode::BAD_REQUEST, reason));
    }
    if hosts > 1 {
        return Err(reject(StatusCode::BAD_REQUEST, "more than one Host header"));
    }
    let framing = match (transfer_encoding, content_length) {
        (true, Some(_)) => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Content-Length together with Transfer-Encoding",
            ));
        }
        (true, None) if !chunked => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding without chunked",
            ));
        }
        (true, None) if minor_version == 0 => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        (true, None) => Framing::Chunked,
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::Length(0),
    };
    if let Framing::Length(n) = framing {
        if n > limits.max_length {
            return Err(reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
    }

    let method = Method::from_bytes(method.as_bytes())
        .ok_or(reject(StatusCode::NOT_IMPLEMENTED, "unknown method"))?;
    let (path, query) = split.or_else(|| split_target(target)).ok_or(reject(
        StatusCode::BAD_REQUEST,
        "request target must be a path or an absolute URI",
    ))?;
    let keep_alive = if minor_version == 1 {
        !close
    } else {
        keep_alive_token && !close
    };
    Ok(Meta {
        method,
        path,
        query,
        minor_version,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// Splits origin-form `/p?q` (or absolute-form `http://host/p?q`) into path and query.
fn split_target(target: &str) -> Option<(&str, Option<&str>)> {
    let origin = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))?;
        match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => &rest[i..],
            Some(i) => return Some(("/", Some(&rest[i + 1..]))),
            None => "/",
        }
    };
    // A plain byte loop: paths are short, and str::split_once's memchr set-up costs more.
    let bytes = origin.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'?' {
            return Some((&origin[..i], Some(&origin[i + 1..])));
        }
        i += 1;
    }
    Some((origin, None))
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// `1*DIGIT` into a usize; `None` when empty, not all digits, or overflowing.
fn parse_decimal(v: &[u8]) -> Option<usize> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0usize, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_in_any_case_and_only_exactly() {
        assert!(is_field(b"Content-Length", b"content-length"));
        assert!(is_field(b"CONTENT-LENGTH", b"content-length"));
        assert!(is_field(b"host", b"host") && is_field(b"HoSt", b"host"));
        assert!(!is_field(b"Content_Length", b"content-length"));
        assert!(!is_field(b"Hosts", b"host") && !is_field(b"Hos", b"host"));
        assert!(!is_field(b"Transfer-Encodinf", b"transfer-encoding"));
    }

    const LIMITS: Limits = Limits {
        max_head: 8192,
        max_headers: 64,
        max_target: 1024,
        max_body: 1 << 20,
        max_upload: 1 << 20,
        max_length: 1 << 20,
    };

    fn meta(raw: &str) -> Result<Option<(usize, Meta<'_>)>, Reject> {
        let mut slots = header_slots();
        match parse_head(raw.as_bytes(), &mut slots, &LIMITS)? {
            Head::Partial => Ok(None),
            Head::Complete { len, meta, .. } => Ok(Some((len, meta))),
        }
    }

    fn status(raw: &str) -> u16 {
        meta(raw).err().map_or(0, |r| r.status.as_u16())
    }

    #[test]
    fn plain_get() {
        let raw = "GET /users/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\nrest";
        let (len, m) = meta(raw).unwrap().unwrap();
        assert_eq!(len, raw.len() - 4);
        assert_eq!(
            (m.method, m.path, m.query),
            (Method::Get, "/users/42", Some("x=1"))
        );
        assert_eq!(m.framing, Framing::Length(0));
        assert!(m.keep_alive && !m.expect_continue);
    }

    #[test]
    fn partial_heads_wait() {
        assert!(meta("GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        assert!(meta("GE").unwrap().is_none());
    }

    #[test]
    fn persistence_rules() {
        let ka = |raw| meta(raw).unwrap().unwrap().1.keep_alive;
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n"
        ));
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn framing_rules() {
        let framing = |raw| meta(raw).unwrap().unwrap().1.framing;
        assert_eq!(
            framing("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
            Framing::Length(5)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"),
            Framing::Chunked
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            400
        );
        assert_eq!(status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
            501
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n"),
            413
        );
    }

    #[test]
    fn host_version_method_and_limits() {
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.0\r\n\r\n"), 0);
        assert_eq!(status("GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/0.9\r\n\r\n"), 505);
        assert_eq!(status("BREW / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n"),
            417
        );
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            400,
            "space before colon"
        );
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n"),
            400,
            "obs-fold"
        );
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(2000));
        assert_eq!(status(&long_target), 414);
        assert_eq!(
            status(&format!("GET /{}", "a".repeat(2000))),
            414,
            "partial, no line end yet"
        );
        let many = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", "X: 1\r\n".repeat(70));
        assert_eq!(status(&many), 431);
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(9000)
        );
        assert_eq!(status(&big), 431);
        assert_eq!(
            status(&big[..8500]),
            431,
            "partial but already over the limit"
        );
    }

    #[test]
    fn absolute_form_targets() {
        assert_eq!(split_target("http://h:80/a?b"), Some(("/a", Some("b"))));
        assert_eq!(split_target("http://h"), Some(("/", None)));
        assert_eq!(split_target("http://h?q"), Some(("/", Some("q"))));
        assert_eq!(split_target("*"), None);
    }

    #[test]
    fn a_malformed_request_line_is_400_and_only_a_well_formed_version_is_505() {
        // httparse calls all of these a bad version.
        for raw in [
            "GE T /plaintext HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / http/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1x\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.20\r\nHost: a\r\n\r\n",
            "GET / HTTP/2\r\nHost: a\r\n\r\n",
            "GET / HTTP/a.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.2 \r\nHost: a\r\n\r\n",
            "GET / HTTP/1.2\rHost: a\r\n\r\n",
            "GET / HTTP/2.0\r\r\n",
        ] {
            assert_eq!(status(raw), 400, "{raw:?}");
        }
        // Malformed is told before the line ends.
        assert_eq!(status("GE T /pl"), 400);
        assert_eq!(status("GET / HTTX"), 400);
        // A well-formed line waits for its end.
        assert!(meta("GET / HTTP/2").unwrap().is_none());
        assert!(meta("GET / HTTP/2.0").unwrap().is_none());
        assert!(meta("GET / HTTP/2.0\r").unwrap().is_none());
        for raw in [
            "GET / HTTP/2.0\r\n",
            "GET / HTTP/3.0\n",
            "\r\nGET / HTTP/0.9\r\n",
        ] {
            assert_eq!(status(raw), 505, "{raw:?}");
        }
    }

    #[test]
    fn a_higher_http_1_minor_version_is_served_as_http_1_1() {
        let raw = "POST /echo?x=1 HTTP/1.2\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        let mut slots = header_slots();
        let Ok(Head::Complete {
            len,
            headers,
            meta: m,
        }) = parse_head(raw.as_bytes(), &mut slots, &LIMITS)
        else {
            panic!("not parsed");
        };
        assert_eq!(len, raw.len() - 3);
        assert_eq!(
            (m.method, m.path, m.query),
            (Method::Post, "/echo", Some("x=1"))
        );
        assert_eq!((m.minor_version, m.framing), (1, Framing::Length(3)));
        assert!(m.keep_alive);
        assert_eq!(headers.len(), 2);
        assert_eq!(
            (headers[1].name, headers[1].value),
            ("Content-Length", &b"3"[..])
        );
        // The same rules as any HTTP/1.1 head: Host required, fields checked, limits.
        assert_eq!(status("GET / HTTP/1.9\r\n\r\n"), 400);
        assert_eq!(
            status("GET / HTTP/1.9\r\nHost: a\r\nBad Name: 1\r\n\r\n"),
            400
        );
        assert_eq!(
            status("GET / HTTP/1.9\r\nHost: a\r\nConnection: close\r\n\r\n"),
            0
        );
        assert!(
            !meta("GET / HTTP/1.9\r\nHost: a\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap()
                .1
                .keep_alive
        );
        assert!(meta("GET / HTTP/1.9\r\nHost: a\r\n").unwrap().is_none());
        let many = format!("GET / HTTP/1.2\r\nHost: a\r\n{}\r\n", "X: 1\r\n".repeat(70));
        assert_eq!(status(&many), 431);
        let long = format!("GET /{} HTTP/1.2\r\nHost: a\r\n\r\n", "a".repeat(2000));
        assert_eq!(status(&long), 414);
        assert_eq!(status("GET /é HTTP/1.2\r\nHost: a\r\n\r\n"), 0);
    }

    #[test]
    fn request_lines_by_the_grammar() {
        assert_eq!(
            request_line(b"\r\n\nGET /a?b HTTP/1.7\r\nHost"),
            Line::Complete {
                method: "GET",
                target: "/a?b",
                major: 1,
                minor: 7,
                len: 22
            }
        );
        assert_eq!(request_line(b""), Line::Partial);
        assert_eq!(request_line(b"\r"), Line::Partial);
        assert_eq!(request_line(b"GET / HTTP/1."), Line::Partial);
        assert_eq!(request_line(b"\rX"), Line::Malformed);
        assert_eq!(request_line(b" GET / HTTP/1.1\r\n"), Line::Malformed);
        assert_eq!(request_line(b"GET  / HTTP/1.1\r\n"), Line::Malformed);
        assert_eq!(request_line(b"G(T / HTTP/1.1\r\n"), Line::Malformed);
        assert_eq!(request_line(b"GET /\x7f HTTP/1.1\r\n"), Line::Malformed);
        assert_eq!(
            request_line(b"GET /\xff HTTP/1.1\r\n"),
            Line::Malformed,
            "not UTF-8"
        );
    }
}
