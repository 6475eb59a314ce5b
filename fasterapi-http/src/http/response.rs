//! Responses: what handlers build, and how they are written into a connection's output.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use fasterapi_core::json::{self, Object};

use crate::app::error::Error;
use crate::proto::h1::date;

/// An HTTP status code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

macro_rules! status_codes {
    ($($name:ident = $code:literal, $reason:literal;)*) => {
        impl StatusCode {
            $(
                #[doc = concat!("`", stringify!($code), " ", $reason, "`")]
                pub const $name: StatusCode = StatusCode($code);
            )*

            /// The reason phrase for a known code, `""` otherwise.
            pub fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "",
                }
            }

            /// The whole status line, `HTTP/1.1 200 OK\r\n`, for a known code.
            fn status_line(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(concat!("HTTP/1.1 ", stringify!($code), " ", $reason, "\r\n")),)*
                    _ => None,
                }
            }
        }
    };
}

status_codes! {
    CONTINUE = 100, "Continue";
    SWITCHING_PROTOCOLS = 101, "Switching Protocols";
    OK = 200, "OK";
    CREATED = 201, "Created";
    ACCEPTED = 202, "Accepted";
    NO_CONTENT = 204, "No Content";
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    FOUND = 302, "Found";
    SEE_OTHER = 303, "See Other";
    NOT_MODIFIED = 304, "Not Modified";
    TEMPORARY_REDIRECT = 307, "Temporary Redirect";
    PERMANENT_REDIRECT = 308, "Permanent Redirect";
    BAD_REQUEST = 400, "Bad Request";
    UNAUTHORIZED = 401, "Unauthorized";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not Found";
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    NOT_ACCEPTABLE = 406, "Not Acceptable";
    REQUEST_TIMEOUT = 408, "Request Timeout";
    CONFLICT = 409, "Conflict";
    GONE = 410, "Gone";
    LENGTH_REQUIRED = 411, "Length Required";
    PAYLOAD_TOO_LARGE = 413, "Content Too Large";
    URI_TOO_LONG = 414, "URI Too Long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    EXPECTATION_FAILED = 417, "Expectation Failed";
    UNPROCESSABLE_ENTITY = 422, "Unprocessable Content";
    TOO_MANY_REQUESTS = 429, "Too Many Requests";
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, "Request Header Fields Too Large";
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    NOT_IMPLEMENTED = 501, "Not Implemented";
    BAD_GATEWAY = 502, "Bad Gateway";
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    GATEWAY_TIMEOUT = 504, "Gateway Timeout";
    HTTP_VERSION_NOT_SUPPORTED = 505, "HTTP Version Not Supported";
}

impl StatusCode {
    /// A status code from its number; `None` outside `100..=999`.
    pub fn from_u16(code: u16) -> Option<StatusCode> {
        (100..=999).contains(&code).then_some(StatusCode(code))
    }

    /// The number.
    pub fn as_u16(self) -> u16 {
        self.0
    }

    /// Whether a response with this status never carries a body (1xx, 204, 304).
    pub fn forbids_body(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

/// A response body.
///
/// Small bodies are copied into the connection's output buffer next to the headers, so
/// one `write` sends both. A large [`Bytes`] body (from 16 KiB) is not copied: it is
/// sent by `writev` straight from its own memory.
#[derive(Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// Bytes that live for the whole program.
    Static(&'static [u8]),
    /// Refcounted bytes, shared without a copy.
    Bytes(Bytes),
    /// An owned buffer.
    Owned(Vec<u8>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Body::Empty => "Empty",
            Body::Static(_) => "Static",
            Body::Bytes(_) => "Bytes",
            Body::Owned(_) => "Owned",
        };
        write!(f, "Body::{kind}({} bytes)", self.as_bytes().len())
    }
}

impl Body {
    /// The body's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty => b"",
            Body::Static(s) => s,
            Body::Bytes(b) => b,
            Body::Owned(v) => v,
        }
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Body::Static(s.as_bytes())
    }
}
impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Body::Static(s)
    }
}
impl From<String> for Body {
    fn from(s: String) -> Body {
        Body::Owned(s.into_bytes())
    }
}
impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Body::Owned(v)
    }
}
impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body::Bytes(b)
    }
}

/// An HTTP response under construction.
///
/// ```
/// use fasterapi_http::{Response, StatusCode};
///
/// let plain = Response::text("Hello, World!");
/// let created = Response::json(|o| {
///     o.field("id", 42);
///     o.field("name", "alice");
/// })
/// .with_status(StatusCode::CREATED)
/// .with_header("Location", "/users/42");
/// assert_eq!(created.body().as_bytes(), br#"{"id":42,"name":"alice"}"#);
/// assert_eq!(plain.status(), StatusCode::OK);
/// ```
pub struct Response {
    status: StatusCode,
    content_type: Option<MediaType>,
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    body: Body,
}

/// A response's `Content-Type`. The common ones carry their header line ready-made, so the
/// usual response head is a few fixed-size copies.
#[derive(Clone, Debug)]
enum MediaType {
    Text,
    Json,
    Html,
    Other(Cow<'static, str>),
}

// The common media types as macros, so that each is written once and can go both into a
// `const` and into `concat!` (which takes literals only) for its ready-made header line.
macro_rules! text_plain {
    () => {
        "text/plain; charset=utf-8"
    };
}
macro_rules! application_json {
    () => {
        "application/json"
    };
}
macro_rules! text_html {
    () => {
        "text/html; charset=utf-8"
    };
}

impl MediaType {
    fn new(media_type: Cow<'static, str>) -> MediaType {
        match &*media_type {
            Response::TEXT_PLAIN => MediaType::Text,
            Response::APPLICATION_JSON => MediaType::Json,
            Response::TEXT_HTML => MediaType::Html,
            _ => MediaType::Other(media_type),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            MediaType::Text => Response::TEXT_PLAIN,
            MediaType::Json => Response::APPLICATION_JSON,
            MediaType::Html => Response::TEXT_HTML,
            MediaType::Other(t) => t,
        }
    }

    /// `Content-Type: <type>\r\nContent-Length: ` for the common types.
    fn head_line(&self) -> Option<&'static [u8]> {
        macro_rules! line {
            ($t:expr) => {
                concat!("Content-Type: ", $t, "\r\nContent-Length: ").as_bytes()
            };
        }
        match self {
            MediaType::Text => Some(line!(text_plain!())),
            MediaType::Json => Some(line!(application_json!())),
            MediaType::Html => Some(line!(text_html!())),
            MediaType::Other(_) => None,
        }
    }
}

/// Bodies from this size go out by `writev` without being copied.
const ZERO_COPY_MIN: usize = 16 * 1024;

thread_local! {
    /// Spare buffers for JSON and copied bodies: a response takes one and gives it back
    /// once written, so building such bodies does not allocate in steady state.
    static JSON_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}
const JSON_BUFFER_CAPACITY: usize = 1024;
const JSON_BUFFER_KEEP_MAX: usize = 64 * 1024;
const JSON_BUFFERS_KEPT: usize = 64;

fn take_json_buffer() -> Vec<u8> {
    JSON_BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(JSON_BUFFER_CAPACITY))
}

fn recycle_json_buffer(mut v: Vec<u8>) {
    // Smaller buffers (a handler's own `Vec` or `String` body) are not kept: one taken for
    // JSON would only grow again.
    if (JSON_BUFFER_CAPACITY..=JSON_BUFFER_KEEP_MAX).contains(&v.capacity()) {
        v.clear();
        JSON_BUFFERS.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < JSON_BUFFERS_KEPT {
                b.push(v);
            }
        });
    }
}

impl Response {
    /// `text/plain; charset=utf-8`, the type of [`Response::text`] bodies.
    pub const TEXT_PLAIN: &'static str = text_plain!();
    /// `application/json`, the type of [`Response::json`] bodies.
    pub const APPLICATION_JSON: &'static str = application_json!();
    /// `text/html; charset=utf-8`, the type of [`Response::html`] bodies.
    pub const TEXT_HTML: &'static str = text_html!();

    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// `200 OK` with a `text/plain; charset=utf-8` body.
    #[inline]
    pub fn text(body: impl Into<Body>) -> Response {
        Response {
            status: StatusCode::OK,
            content_type: Some(MediaType::Text),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `200 OK` with a `text/html; charset=utf-8` body.
    pub fn html(body: impl Into<Body>) -> Response {
        Response {
            content_type: Some(MediaType::Html),
            ..Response::text(body)
        }
    }

    /// `200 OK` with a JSON object built in place by `build` (see [`fasterapi_core::json`]).
    ///
    /// The bytes go into a per-thread recycled buffer: no allocation in steady state.
    #[inline]
    pub fn json(build: impl FnOnce(&mut Object<'_, Vec<u8>>)) -> Response {
        let mut buf = take_json_buffer();
        json::object(&mut buf, build);
        Response::json_bytes(buf)
    }

    /// `200 OK` with a JSON body that `write` appends to a per-thread recycled buffer, for
    /// writers that can fail (walking a dynamic value, say). On `Err` the buffer goes
    /// back to the pool and the error is returned.
    ///
    /// ```
    /// use fasterapi_http::Response;
    ///
    /// let resp = Response::json_with(|buf| {
    ///     fasterapi_core::json::write_str(buf, "hi");
    ///     Ok::<(), std::fmt::Error>(())
    /// })
    /// .unwrap(); // the writer above never fails
    /// assert_eq!(resp.body().as_bytes(), br#""hi""#);
    /// ```
    pub fn json_with<E>(write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Response, E> {
        let mut buf = take_json_buffer();
        match write(&mut buf) {
            Ok(()) => Ok(Response::json_bytes(buf)),
            Err(e) => {
                recycle_json_buffer(buf);
                Err(e)
            }
        }
    }

    /// `200 OK` with an already encoded JSON body.
    pub fn json_bytes(body: impl Into<Body>) -> Response {
        Response {
            status: StatusCode::OK,
            content_type: Some(MediaType::Json),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// `200 OK` with a body of any media type.
    pub fn bytes(body: impl Into<Body>, content_type: impl Into<Cow<'static, str>>) -> Response {
        Response::text(body).with_content_type(content_type)
    }

    /// Sets the status.
    #[inline]
    pub fn with_status(mut self, status: StatusCode) -> Response {
        self.status = status;
        self
    }

    /// Sets the `Content-Type`. A value holding CR, LF or NUL is ignored, so a handler
    /// cannot split a response.
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Response {
        let content_type = content_type.into();
        if header_is_safe(&content_type) {
            self.content_type = Some(MediaType::new(content_type));
        }
        self
    }

    /// Adds a header. `Content-Length`, `Date`, `Connection` and `Transfer-Encoding` are
    /// the server's to write, and `Content-Type` is set with
    /// [`Response::with_content_type`]: those names are ignored here. A name or value
    /// holding CR, LF or NUL is dropped when the response is written, so a handler cannot
    /// split a response.
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Response {
        self.body = body.into();
        self
    }

    /// Replaces the body with a copy of `body`, made in a buffer the I/O thread recycles
    /// once the response is written, so that a steady stream of such responses does not
    /// allocate (the same buffers [`Response::json_with`] writes into).
    ///
    /// ```
    /// use fasterapi_http::{Response, StatusCode};
    ///
    /// let borrowed: &[u8] = b"Hello, World!";
    /// let resp = Response::new(StatusCode::OK).with_body_copied(borrowed);
    /// assert_eq!(resp.body().as_bytes(), b"Hello, World!");
    /// ```
    pub fn with_body_copied(self, body: &[u8]) -> Response {
        let mut buf = take_json_buffer();
        buf.extend_from_slice(body);
        self.with_body(buf)
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The `Content-Type`, if set.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_ref().map(MediaType::as_str)
    }

    /// The extra headers added with [`Response::with_header`].
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (&**n, &**v))
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("headers", &self.headers)
            .field("body_len", &self.body.as_bytes().len())
            .finish()
    }
}

/// Anything a handler may return.
pub trait IntoResponse {
    /// Converts into the response to send.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    #[inline]
    fn into_response(self) -> Response {
        self
    }
}
impl IntoResponse for &'static str {
    #[inline]
    fn into_response(self) -> Response {
        Response::text(self)
    }
}
impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}
impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::bytes(self, "application/octet-stream")
    }
}
impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        Response::new(self)
    }
}
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        Error::into_response(self)
    }
}
impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}
impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    #[inline]
    fn into_response(self) -> Response {
        match self {
            Ok(v) => v.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

/// What the `Connection` header of a response says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Persistence {
    /// HTTP/1.1 default: keep the connection, say nothing.
    KeepAlive,
    /// HTTP/1.0 client that asked for keep-alive: say `Connection: keep-alive`.
    KeepAlive10,
    /// The connection closes after this response: say `Connection: close`.
    Close,
}

/// The bytes queued for one connection's next write: frozen segments (large bodies sent
/// without a copy) followed by the buffer everything small is copied into.
pub(crate) struct Output {
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) buf: BytesMut,
}

impl Output {
    pub(crate) fn new(buf: BytesMut) -> Output {
        Output {
            chunks: Vec::new(),
            buf,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.buf.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.buf.len()
    }

    fn push_shared(&mut self, bytes: Bytes) {
        if !self.buf.is_empty() {
            self.chunks.push(self.buf.split().freeze());
        }
        self.chunks.push(bytes);
    }
}

/// Appends `n` in decimal. Numbers under 10,000 (most bodies) are written as fixed-size
/// copies, which compile to plain stores, rather than as itoa's variable-length output.
#[inline]
fn put_decimal(buf: &mut BytesMut, n: usize) {
    let digit = |v: usize| b'0' + (v % 10) as u8;
    match n {
        0..=9 => buf.put_u8(digit(n)),
        10..=99 => buf.put_slice(&[digit(n / 10), digit(n)]),
        100..=999 => buf.put_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        1000..=9999 => buf.put_slice(&[digit(n / 1000), digit(n / 100), digit(n / 10), digit(n)]),
        _ => buf.put_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

#[inline]
fn header_is_safe(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

impl Response {
    /// Writes status line, headers and (unless `head_only` or the status forbids one) the
    /// body into `out`.
    #[inline]
    pub(crate) fn write_to(self, out: &mut Output, head_only: bool, persistence: Persistence) {
        let Response {
            status,
            content_type,
            headers,
            body,
        } = self;
        let buf = &mut out.buf;
        date::with_head(|head| match status.status_line() {
            Some(_) if status == StatusCode::OK => buf.put_slice(head),
            Some(line) => {
                buf.put_slice(line.as_bytes());
                buf.put_slice(&head[date::STATUS_LINE_LEN..]);
            }
            None => {
                buf.put_slice(b"HTTP/1.1 ");
                buf.put_slice(itoa::Buffer::new().format(status.0).as_bytes());
                buf.put_slice(b" \r\n");
                buf.put_slice(&head[date::STATUS_LINE_LEN..]);
            }
        });
        let body_allowed = !status.forbids_body();
        // Lines are written as "\r\n" + field, so that the common response (type, length,
        // keep-alive) ends in a single "\r\n\r\n": fewer, larger copies.
        let body_bytes = body.as_bytes();
        let mut mid_line = false;
        if body_allowed {
            match content_type.as_ref().map(|t| (t.head_line(), t)) {
                Some((Some(line), _)) => buf.put_slice(line),
                Some((None, t)) => {
                    buf.put_slice(b"Content-Type: ");
                    buf.put_slice(t.as_str().as_bytes());
                    buf.put_slice(b"\r\nContent-Length: ");
                }
                None => buf.put_slice(b"Content-Length: "),
            }
            put_decimal(buf, body_bytes.len());
            mid_line = true;
        }
        for (name, value) in &headers {
            let reserved = [
                "content-length",
                "date",
                "connection",
                "transfer-encoding",
                "content-type",
            ]
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r));
            if reserved || name.is_empty() || !header_is_safe(name) || !header_is_safe(value) {
                continue;
            }
            if mid_line {
                buf.put_slice(b"\r\n");
            }
            buf.put_slice(name.as_bytes());
            buf.put_slice(b": ");
            buf.put_slice(value.as_bytes());
            mid_line = true;
        }
        let connection: &[u8] = match persistence {
            Persistence::KeepAlive => b"",
            Persistence::KeepAlive10 => b"Connection: keep-alive",
            Persistence::Close => b"Connection: close",
        };
        if !connection.is_empty() {
            if mid_line {
                buf.put_slice(b"\r\n");
            }
            buf.put_slice(connection);
            mid_line = true;
        }
        buf.put_slice(if mid_line { b"\r\n\r\n" } else { b"\r\n" });
        if body_allowed && !head_only {
            match body {
                Body::Bytes(b) if b.len() >= ZERO_COPY_MIN => out.push_shared(b),
                Body::Static(s) if s.len() >= ZERO_COPY_MIN => {
                    out.push_shared(Bytes::from_static(s))
                }
                Body::Owned(v) => {
                    out.buf.put_slice(&v);
                    recycle_json_buffer(v);
                }
                other => out.buf.put_slice(other.as_bytes()),
            }
        } else if let Body::Owned(v) = body {
            recycle_json_buffer(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_decimal_matches_itoa() {
        let mut values: Vec<usize> = (0..20_000).collect();
        values.extend([99_999, 100_000, 1 << 40, usize::MAX]);
        for n in values {
            let mut buf = BytesMut::new();
            put_decimal(&mut buf, n);
            assert_eq!(&buf[..], itoa::Buffer::new().format(n).as_bytes(), "{n}");
        }
    }

    #[test]
    fn media_types_keep_their_text() {
        for (resp, want) in [
            (Response::text("a"), Response::TEXT_PLAIN),
            (Response::html("a"), Response::TEXT_HTML),
            (Response::json_bytes("1"), Response::APPLICATION_JSON),
            (
                Response::bytes("a", "text/plain; charset=utf-8"),
                Response::TEXT_PLAIN,
            ),
            (Response::bytes("a", "image/png"), "image/png"),
        ] {
            assert_eq!(resp.content_type(), Some(want));
            let text = written(resp, false, Persistence::KeepAlive);
            assert!(
                text.contains(&format!(
                    "\r\nContent-Type: {want}\r\nContent-Length: 1\r\n\r\n"
                )),
                "{text}"
            );
        }
    }

    fn written(resp: Response, head_only: bool, p: Persistence) -> String {
        let mut out = Output::new(BytesMut::new());
        resp.write_to(&mut out, head_only, p);
        let mut all = Vec::new();
        for c in &out.chunks {
            all.extend_from_slice(c);
        }
        all.extend_from_slice(&out.buf);
        String::from_utf8(all)
            .unwrap()
            .replace(&format!("Date: {}\r\n", date::cached_date()), "Date: D\r\n")
    }

    #[test]
    fn text_response_bytes() {
        assert_eq!(
            written(Response::text("Hello, World!"), false, Persistence::KeepAlive),
            "HTTP/1.1 200 OK\r\nServer: fasterapi\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 13\r\n\r\nHello, World!"
        );
    }

    #[test]
    fn head_keeps_length_drops_body_and_connection_headers() {
        let s = written(Response::text("abc"), true, Persistence::Close);
        assert!(
            s.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"),
            "{s}"
        );
        let s = written(Response::text("abc"), false, Persistence::KeepAlive10);
        assert!(s.ends_with("Connection: keep-alive\r\n\r\nabc"), "{s}");
    }

    #[test]
    fn no_body_statuses_have_no_length_or_body() {
        let s = written(
            Response::text("x").with_status(StatusCode::NO_CONTENT),
            false,
            Persistence::KeepAlive,
        );
        assert_eq!(
            s,
            "HTTP/1.1 204 No Content\r\nServer: fasterapi\r\nDate: D\r\n\r\n"
        );
        let s = written(
            Response::new(StatusCode::NOT_MODIFIED),
            false,
            Persistence::KeepAlive,
        );
        assert!(!s.contains("Content-Length"), "{s}");
    }

    #[test]
    fn unknown_status_and_unsafe_headers() {
        let r = Response::new(StatusCode::from_u16(599).unwrap())
            .with_header("X-Ok", "1")
            .with_header("X-Bad", "a\r\nInjected: yes")
            .with_header("Content-Length", "99");
        let s = written(r, false, Persistence::KeepAlive);
        assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
        assert!(s.contains("X-Ok: 1\r\n"));
        assert!(!s.contains("Injected"));
        assert!(
            s.contains("Content-Length: 0\r\n") && !s.contains("Content-Length: 99"),
            "{s}"
        );
    }

    #[test]
    fn large_bytes_body_is_not_copied() {
        let big = Bytes::from(vec![b'x'; ZERO_COPY_MIN]);
        let mut out = Output::new(BytesMut::new());
        Response::bytes(big.clone(), "application/octet-stream").write_to(
            &mut out,
            false,
            Persistence::KeepAlive,
        );
        assert_eq!(out.chunks.len(), 2, "head, then the shared body");
        assert_eq!(out.chunks[1].as_ptr(), big.as_ptr());
        assert!(out.buf.is_empty());
        assert_eq!(out.len(), out.chunks[0].len() + big.len());
    }

    #[test]
    fn json_and_error_bodies() {
        let r = Response::json(|o| {
            o.field("message", "Hello, World!");
        });
        assert_eq!(r.body().as_bytes(), br#"{"message":"Hello, World!"}"#);
        assert_eq!(r.content_type(), Some("application/json"));
        let e = Error::new(StatusCode::NOT_FOUND, "no \"such\" user").into_response();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.body().as_bytes(), br#"{"detail":"no \"such\" user"}"#);
    }

    #[test]
    fn into_response_conversions() {
        assert_eq!(
            (StatusCode::CREATED, "x").into_response().status(),
            StatusCode::CREATED
        );
        let r: Result<&'static str, Error> = Err(Error::new(StatusCode::CONFLICT, "taken"));
        assert_eq!(r.into_response().status(), StatusCode::CONFLICT);
        assert_eq!(String::from("s").into_response().body().as_bytes(), b"s");
    }
}
