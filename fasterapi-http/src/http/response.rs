//! Responses: what handlers build and return (written out by `proto::h1::encode`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::sync::Arc;

use bytes::Bytes;
use fasterapi_core::json::{self, Object};

use crate::http::stream::BodyStream;

/// An HTTP status code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub(crate) u16);

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
            pub(crate) fn status_line(self) -> Option<&'static str> {
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
    UPGRADE_REQUIRED = 426, "Upgrade Required";
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
/// sent by `writev` straight from its own memory. A [`Body::File`] is sent from the page
/// cache with `sendfile(2)`, after its head. A [`Body::Stream`] has no length known in
/// advance: it is sent piece by piece as the client takes it (see [`BodyStream`]).
pub enum Body {
    /// No body.
    Empty,
    /// Bytes that live for the whole program.
    Static(&'static [u8]),
    /// Refcounted bytes, shared without a copy.
    Bytes(Bytes),
    /// An owned buffer.
    Owned(Vec<u8>),
    /// Pieces produced while the response is sent: chunked for HTTP/1.1 clients, ended by
    /// closing the connection for HTTP/1.0 ones (no `Content-Length` either way).
    Stream(BodyStream),
    /// A region of an open file, sent with `sendfile(2)`: no copy through user space.
    File(FileRegion),
}

/// A region of an open file: `len` bytes from `offset`, the body of a
/// [`Body::File`]. The file is shared (`Arc`), so one open file can answer many requests.
///
/// The length is promised in `Content-Length` when the head is written: a file that
/// shrinks under the server ends the connection early (the client sees a short body),
/// one that grows sends only `len` bytes.
#[derive(Clone, Debug)]
pub struct FileRegion {
    pub(crate) file: Arc<File>,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl FileRegion {
    /// `len` bytes of `file` from `offset`. Nothing is checked against the file's size
    /// here: see [`crate::FileResponse`] for a file answered whole or by range.
    pub fn new(file: Arc<File>, offset: u64, len: u64) -> FileRegion {
        FileRegion { file, offset, len }
    }

    /// The file.
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// Where the region starts in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The region's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Body::Empty => "Empty",
            Body::Static(_) => "Static",
            Body::Bytes(_) => "Bytes",
            Body::Owned(_) => "Owned",
            Body::File(_) => "File",
            Body::Stream(_) => return f.write_str("Body::Stream"),
        };
        write!(f, "Body::{kind}({} bytes)", self.len())
    }
}

impl Body {
    /// The body's bytes in memory: empty for a [`Body::File`], whose bytes stay in the
    /// file (see [`Body::len`]), and for a [`Body::Stream`], whose bytes are produced as
    /// it is sent.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Empty | Body::File(_) | Body::Stream(_) => b"",
            Body::Static(s) => s,
            Body::Bytes(b) => b,
            Body::Owned(v) => v,
        }
    }

    /// The body's length in bytes, what `Content-Length` says.
    pub fn len(&self) -> u64 {
        match self {
            Body::File(region) => region.len,
            other => other.as_bytes().len() as u64,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
impl From<FileRegion> for Body {
    fn from(region: FileRegion) -> Body {
        Body::File(region)
    }
}
impl From<BodyStream> for Body {
    fn from(s: BodyStream) -> Body {
        Body::Stream(s)
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
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<MediaType>,
    pub(crate) headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub(crate) body: Body,
}

/// A response's `Content-Type`. The common ones carry their header line ready-made, so the
/// usual response head is a few fixed-size copies.
#[derive(Clone, Debug)]
pub(crate) enum MediaType {
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

    pub(crate) fn as_str(&self) -> &str {
        match self {
            MediaType::Text => Response::TEXT_PLAIN,
            MediaType::Json => Response::APPLICATION_JSON,
            MediaType::Html => Response::TEXT_HTML,
            MediaType::Other(t) => t,
        }
    }

    /// `Content-Type: <type>\r\nContent-Length: ` for the common types.
    pub(crate) fn head_line(&self) -> Option<&'static [u8]> {
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

thread_local! {
    /// Spare buffers for JSON and copied bodies: a response takes one and gives it back
    /// once written, so building such bodies does not allocate in steady state.
    static JSON_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}
const JSON_BUFFER_CAPACITY: usize = 1024;
const JSON_BUFFER_KEEP_MAX: usize = 64 * 1024;
const JSON_BUFFERS_KEPT: usize = 64;

pub(crate) fn take_json_buffer() -> Vec<u8> {
    JSON_BUFFERS
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(JSON_BUFFER_CAPACITY))
}

pub(crate) fn recycle_json_buffer(mut v: Vec<u8>) {
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

/// A response's extra headers.
pub(crate) type HeaderList = Vec<(Cow<'static, str>, Cow<'static, str>)>;

thread_local! {
    /// Spare header lists: a response that gets headers takes one and the encoder gives
    /// it back once the response is written, so that adding headers does not allocate in
    /// steady state.
    static HEADER_LISTS: RefCell<Vec<HeaderList>> = const { RefCell::new(Vec::new()) };
}
const HEADER_LIST_CAPACITY: usize = 8;
const HEADER_LIST_KEEP_MAX: usize = 32;
const HEADER_LISTS_KEPT: usize = 64;

/// An empty header list with room for `additional` headers, a spare one if the thread
/// has one.
pub(crate) fn take_header_list(additional: usize) -> HeaderList {
    let mut list = HEADER_LISTS
        .with(|l| l.borrow_mut().pop())
        .unwrap_or_default();
    list.reserve(additional.max(HEADER_LIST_CAPACITY));
    list
}

/// Keeps `list` (emptied) for [`take_header_list`], unless it never held anything or
/// grew large.
#[inline]
pub(crate) fn recycle_header_list(mut list: HeaderList) {
    if list.capacity() == 0 || list.capacity() > HEADER_LIST_KEEP_MAX {
        return;
    }
    list.clear();
    HEADER_LISTS.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < HEADER_LISTS_KEPT {
            l.push(list);
        }
    });
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

    /// `200 OK` with a streamed body (see [`BodyStream`]): the pieces an iterator yields
    /// (pulled on the I/O thread, so it must not block), or a [`BodyStream`] itself (one
    /// fed through [`BodyStream::channel`] from any thread). No `Content-Type` unless
    /// set with [`Response::with_content_type`].
    ///
    /// ```
    /// use fasterapi_http::{App, Request, Response};
    ///
    /// let mut app = App::new();
    /// app.get("/count", |_req: &Request| {
    ///     Response::stream((1..=3).map(|i| format!("{i}\n"))).with_content_type("text/plain")
    /// });
    /// ```
    pub fn stream(body: impl Into<Streamed>) -> Response {
        Response {
            status: StatusCode::OK,
            content_type: None,
            headers: Vec::new(),
            body: Body::Stream(body.into().0),
        }
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
        self.push_header(name.into(), value.into());
        self
    }

    /// Appends a header, in a spare header list if this is the first.
    #[inline]
    pub(crate) fn push_header(&mut self, name: Cow<'static, str>, value: Cow<'static, str>) {
        if self.headers.capacity() == 0 {
            self.headers = take_header_list(1);
        }
        self.headers.push((name, value));
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

    /// The first extra header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Whether an extra header named `name` (case-insensitive) is set.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// Sets the status, in place (for middleware holding a `&mut Response`).
    pub fn set_status(&mut self, status: StatusCode) {
        self.status = status;
    }

    /// Sets the header `name` to `value` in place, replacing every header of that name
    /// (case-insensitive); the rules of [`Response::with_header`] apply.
    pub fn set_header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) {
        let name = name.into();
        self.remove_header(&name);
        self.push_header(name, value.into());
    }

    /// Removes every extra header named `name` (case-insensitive).
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What [`Response::stream`] takes: a [`BodyStream`], or an iterator of pieces (anything
/// [`BodyStream::iter`] takes).
#[derive(Debug)]
pub struct Streamed(BodyStream);

impl From<BodyStream> for Streamed {
    fn from(s: BodyStream) -> Streamed {
        Streamed(s)
    }
}

impl<I> From<I> for Streamed
where
    I: Iterator + Send + 'static,
    I::Item: Into<Bytes>,
{
    fn from(pieces: I) -> Streamed {
        Streamed(BodyStream::iter(pieces))
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
/// `200 OK` with no body.
impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(StatusCode::OK)
    }
}
/// `200 OK`, `application/octet-stream`.
impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::bytes(self, "application/octet-stream")
    }
}
/// `200 OK`, `application/octet-stream`.
impl IntoResponse for &'static [u8] {
    fn into_response(self) -> Response {
        Response::bytes(self, "application/octet-stream")
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

#[inline]
pub(crate) fn header_is_safe(s: &str) -> bool {
    // Eight bytes at a time: a word with no byte below 0x0e (CR, the largest of the three)
    // is safe at once; only a word with one (a tab, say) is looked at byte by byte. (A
    // SIMD search such as memchr's costs more to set up than a header value takes.)
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = s.as_bytes().chunks_exact(8);
    for word in &mut words {
        // Invariant: `chunks_exact(8)` yields 8 bytes.
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        // Sets the high bit of some byte if any byte is below 0x0e (exact as to whether
        // one is: the classic "has a byte less than n" test, n <= 128).
        if x.wrapping_sub(ONES * 0x0e) & !x & HIGH != 0 && !bytes_are_safe(word) {
            return false;
        }
    }
    bytes_are_safe(words.remainder())
}

#[inline]
fn bytes_are_safe(bytes: &[u8]) -> bool {
    !bytes.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// A JSON `{"detail": text}` response with `status`.
pub(crate) fn detail(status: StatusCode, text: &str) -> Response {
    Response::json(|o| {
        o.field("detail", text);
    })
    .with_status(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::error::Error;

    #[test]
    fn header_safety_finds_cr_lf_and_nul_anywhere() {
        assert!(header_is_safe(""));
        assert!(header_is_safe(
            "text/plain; charset=utf-8 and\ttabs, then more than eight"
        ));
        // Every position of a word and of the remainder, after bytes just above and below.
        for len in 1..40 {
            for at in 0..len {
                for bad in ['\r', '\n', '\0'] {
                    let mut s: Vec<char> = "\x0e\x0f~\x7f\x0b\x0c\t\x01"
                        .chars()
                        .cycle()
                        .take(len)
                        .collect();
                    s[at] = bad;
                    let s: String = s.into_iter().collect();
                    assert!(!header_is_safe(&s), "{s:?}");
                }
            }
        }
        assert!(header_is_safe("é\u{7ff}\u{ffff} high bytes are fine"));
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
        let unit = ().into_response();
        assert_eq!(
            (unit.status(), unit.body().as_bytes()),
            (StatusCode::OK, &b""[..])
        );
        let bytes = vec![1u8, 2].into_response();
        assert_eq!(bytes.content_type(), Some("application/octet-stream"));
        assert_eq!(bytes.body().as_bytes(), [1, 2]);
        let made = (StatusCode::ACCEPTED, String::from("queued")).into_response();
        assert_eq!(made.status(), StatusCode::ACCEPTED);
        assert_eq!(made.content_type(), Some("text/plain; charset=utf-8"));
    }

    #[test]
    fn headers_set_in_place_replace_case_insensitively() {
        let mut r = Response::text("x")
            .with_header("X-A", "1")
            .with_header("x-a", "2");
        assert_eq!(r.header("X-a"), Some("1"));
        r.set_header("X-A", "3");
        assert_eq!(r.headers().collect::<Vec<_>>(), [("X-A", "3")]);
        r.set_status(StatusCode::CONFLICT);
        assert_eq!(r.status().as_u16(), 409);
        r.remove_header("x-A");
        assert!(!r.has_header("x-a"));
    }
}
