//! Files as responses: [`FileResponse`], with the validators, conditional requests and
//! byte ranges of a static file server.
//!
//! - `Content-Type` from the file name's extension (`mime_guess`'s table, the one
//!   tower-http's `ServeDir` and actix-files use); `text/*` types get `; charset=utf-8`,
//!   as Starlette's `FileResponse` gives them; unknown extensions are
//!   `application/octet-stream`.
//! - `ETag`: strong, `"<size>-<mtime in ns>"` in hex, from the file's metadata (as nginx
//!   makes its strong tags from size and mtime, to the second). A change that keeps both
//!   size and modification time is not seen; no content hash is computed.
//! - `Last-Modified` from the modification time; `Accept-Ranges: bytes`.
//! - `If-None-Match` (weak comparison, `*` included) answers `304 Not Modified`; without
//!   it, `If-Modified-Since` at or after the modification time (to the second) does. Only
//!   for `GET` and `HEAD`. The 304 keeps `ETag`, `Last-Modified`, `Cache-Control`,
//!   `Content-Location`, `Expires` and `Vary`. `If-Match` and `If-Unmodified-Since` are
//!   not evaluated.
//! - One `Range: bytes=` range (`a-b`, `a-`, `-n`) answers `206 Partial Content` with
//!   `Content-Range`; one starting at or past the end, or a zero suffix, answers `416
//!   Range Not Satisfiable` with `Content-Range: bytes */<size>`. Several ranges answer
//!   the whole file with `200` (allowed by RFC 9110 §14.2; a `multipart/byteranges` body
//!   costs a copy for a feature clients rarely use), and so does a malformed `Range`
//!   or another unit. `If-Range` with the current strong ETag or the exact
//!   `Last-Modified` date keeps the range; anything else sends the whole file.
//! - `HEAD` gets the same head as `GET`, without the body (the server drops it).
//! - Responses with a status other than `200` are sent as they are: no conditional or
//!   range handling (as Starlette's `FileResponse` does for, say, a `404.html`).
//!
//! The body is a [`Body::File`](crate::Body::File): the server sends it with
//! `sendfile(2)`, from the page cache to the socket.

use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::app::request::Request;
use crate::app::router::Method;
use crate::http::response::{Body, FileRegion, IntoResponse, Response, StatusCode};
use crate::proto::h1::date;

/// `416 Range Not Satisfiable`.
const RANGE_NOT_SATISFIABLE: StatusCode = StatusCode(416);
/// `206 Partial Content`.
const PARTIAL_CONTENT: StatusCode = StatusCode(206);

/// A file to answer a request with: see the [module docs](self) for what is sent.
///
/// ```no_run
/// use fasterapi_http::{App, Error, FileResponse, Request, Response, StatusCode};
///
/// let mut app = App::new();
/// app.get("/report", |req: &Request| -> Result<Response, Error> {
///     let file = FileResponse::open("report.pdf")
///         .map_err(|_| Error::new(StatusCode::NOT_FOUND, "Not Found"))?;
///     Ok(file.attachment("report.pdf").respond(req))
/// });
/// ```
#[derive(Debug)]
pub struct FileResponse {
    file: Arc<File>,
    size: u64,
    modified: Option<SystemTime>,
    content_type: Cow<'static, str>,
    status: StatusCode,
    etag: Option<String>,
    last_modified: Option<String>,
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// What of a request decides how a file is answered: its method and its conditional and
/// range headers. [`Conditions::of`] reads them from a [`Request`]; a caller holding the
/// values elsewhere fills the fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conditions<'a> {
    /// Whether the request is `GET` or `HEAD` (conditionals and ranges apply only then).
    pub get_or_head: bool,
    /// `Range`.
    pub range: Option<&'a str>,
    /// `If-Range`.
    pub if_range: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
}

impl<'a> Conditions<'a> {
    /// The conditions of `req`.
    pub fn of(req: &Request<'a>) -> Conditions<'a> {
        Conditions {
            get_or_head: matches!(req.method(), Method::Get | Method::Head),
            range: req.header("range"),
            if_range: req.header("if-range"),
            if_none_match: req.header("if-none-match"),
            if_modified_since: req.header("if-modified-since"),
        }
    }
}

impl FileResponse {
    /// Opens the regular file at `path`, its `Content-Type` guessed from the path's
    /// extension. A directory or other non-regular file is an `InvalidInput` error.
    pub fn open(path: impl AsRef<Path>) -> io::Result<FileResponse> {
        let path = path.as_ref();
        FileResponse::from_file(File::open(path)?, path)
    }

    /// Answers with the open `file`, its `Content-Type` guessed from `name`'s extension.
    /// Its size and modification time are read now (`fstat`).
    pub fn from_file(file: File, name: impl AsRef<Path>) -> io::Result<FileResponse> {
        let meta = file.metadata()?;
        FileResponse::with_metadata(file, &meta, name.as_ref())
    }

    /// [`FileResponse::from_file`] with the file's metadata already read.
    pub(crate) fn with_metadata(
        file: File,
        meta: &std::fs::Metadata,
        name: &Path,
    ) -> io::Result<FileResponse> {
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(FileResponse {
            file: Arc::new(file),
            size: meta.len(),
            modified: meta.modified().ok(),
            content_type: content_type_for(name),
            status: StatusCode::OK,
            etag: None,
            last_modified: None,
            headers: Vec::new(),
        })
    }

    /// Sets the `Content-Type` (sent as given).
    pub fn with_content_type(mut self, content_type: impl Into<Cow<'static, str>>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Sets the status. Any other than `200` sends the file as it is, without
    /// conditional or range handling.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header. An `ETag` or `Last-Modified` given here replaces the computed one,
    /// and is what conditional requests are compared with.
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        let (name, value) = (name.into(), value.into());
        if name.eq_ignore_ascii_case("etag") {
            self.etag = Some(value.into_owned());
        } else if name.eq_ignore_ascii_case("last-modified") {
            self.last_modified = Some(value.into_owned());
        } else {
            self.headers.push((name, value));
        }
        self
    }

    /// Adds `Content-Disposition: attachment` with `filename` (RFC 6266: quoted when it
    /// is plain ASCII, else `filename*=utf-8''` percent-encoded, as Starlette does).
    pub fn attachment(self, filename: &str) -> Self {
        let value = content_disposition("attachment", filename);
        self.with_header("Content-Disposition", value)
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The `ETag` sent: the one given, or the computed one.
    pub fn etag(&self) -> Cow<'_, str> {
        match &self.etag {
            Some(tag) => Cow::Borrowed(tag),
            None => Cow::Owned(self.computed_etag()),
        }
    }

    fn computed_etag(&self) -> String {
        let nanos = self
            .modified
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{:x}\"", self.size, nanos)
    }

    fn last_modified_value(&self) -> Option<Cow<'_, str>> {
        if let Some(given) = &self.last_modified {
            return Some(Cow::Borrowed(given));
        }
        let secs = self.modified?.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let text = date::format(secs);
        Some(Cow::Owned(String::from_utf8_lossy(&text).into_owned()))
    }

    /// The answer to `req`: see the [module docs](self).
    pub fn respond(self, req: &Request<'_>) -> Response {
        self.respond_to(&Conditions::of(req))
    }

    /// The answer to a request with `conditions`: see the [module docs](self).
    pub fn respond_to(self, conditions: &Conditions<'_>) -> Response {
        apply_conditions(self.into_response(), conditions)
    }

    /// The whole file with its status, content type, `Last-Modified`, `ETag`,
    /// `Accept-Ranges` (unless given) and the headers given.
    fn whole(self) -> Response {
        let etag = self.etag().into_owned();
        let last_modified = self.last_modified_value().map(Cow::into_owned);
        let region = FileRegion::new(self.file.clone(), 0, self.size);
        let mut response = Response::new(self.status)
            .with_content_type(self.content_type)
            .with_body(region);
        if let Some(date) = last_modified {
            response = response.with_header("Last-Modified", date);
        }
        response = response.with_header("ETag", etag);
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept-ranges"))
        {
            response = response.with_header("Accept-Ranges", "bytes");
        }
        for (name, value) in self.headers {
            response = response.with_header(name, value);
        }
        response
    }
}

/// What [`FileResponse::respond_to`] does, for a whole-file response already made: a
/// `200` whose body is a [`Body::File`](crate::Body::File) from offset 0, its `ETag` and
/// `Last-Modified` among its headers, becomes the `304`, `206` or `416` the
/// `conditions` call for (see the [module docs](self)). Any other response is returned
/// as it is. For servers that build file responses elsewhere (the Python package's
/// `FileResponse`) and know the request only afterwards.
pub fn apply_conditions(response: Response, conditions: &Conditions<'_>) -> Response {
    let size = match &response.body {
        Body::File(region) if region.offset == 0 => region.len,
        _ => return response,
    };
    if response.status != StatusCode::OK || !conditions.get_or_head {
        return response;
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    };
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    if not_modified(conditions, etag, last_modified) {
        return not_modified_response(response);
    }
    let range = match conditions.range {
        Some(range) if if_range_holds(conditions.if_range, etag, last_modified) => {
            parse_range(range, size)
        }
        _ => RangeAnswer::Whole,
    };
    match range {
        RangeAnswer::Whole => response,
        RangeAnswer::Part { start, len } => {
            let mut response = response;
            if let Body::File(region) = &mut response.body {
                region.offset = start;
                region.len = len;
            }
            response.status = PARTIAL_CONTENT;
            response.with_header(
                "Content-Range",
                format!("bytes {start}-{}/{size}", start + len - 1),
            )
        }
        RangeAnswer::Unsatisfiable => Response::new(RANGE_NOT_SATISFIABLE)
            .with_header("Content-Range", format!("bytes */{size}")),
    }
}

/// `304 Not Modified` with the headers of `full` that a 304 keeps (RFC 9110 §15.4.5:
/// `ETag`, `Last-Modified`, `Cache-Control`, `Content-Location`, `Expires`, `Vary`, as
/// Starlette's `NotModifiedResponse` keeps them).
fn not_modified_response(full: Response) -> Response {
    const KEPT: [&str; 6] = [
        "etag",
        "last-modified",
        "cache-control",
        "content-location",
        "expires",
        "vary",
    ];
    let mut response = Response::new(StatusCode::NOT_MODIFIED);
    for (name, value) in full.headers {
        if KEPT.iter().any(|k| name.eq_ignore_ascii_case(k)) {
            response = response.with_header(name, value);
        }
    }
    response
}

impl IntoResponse for FileResponse {
    /// The whole file (with its status), validators included, whatever the request.
    fn into_response(self) -> Response {
        self.whole()
    }
}

/// The `Content-Type` for a file name: `mime_guess`'s first guess for its extension
/// (`text/*` with `; charset=utf-8`), `application/octet-stream` when it has none.
pub fn content_type_for(name: &Path) -> Cow<'static, str> {
    match mime_guess::from_path(name).first_raw() {
        Some(t) if t.starts_with("text/") => Cow::Owned(format!("{t}; charset=utf-8")),
        Some(t) => Cow::Borrowed(t),
        None => Cow::Borrowed("application/octet-stream"),
    }
}

/// A `Content-Disposition` value of `kind` (`attachment`, `inline`) for `filename`.
pub(crate) fn content_disposition(kind: &str, filename: &str) -> String {
    // Starlette's `quote(filename)`: unreserved characters and '/' stay.
    let plain = filename
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b));
    if plain {
        return format!("{kind}; filename=\"{filename}\"");
    }
    let mut encoded = String::with_capacity(filename.len() * 3);
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename*=utf-8''{encoded}")
}

/// Whether the conditions say the client's copy is current: `If-None-Match` (weak
/// comparison) when present, else `If-Modified-Since`.
fn not_modified(c: &Conditions<'_>, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    if let Some(list) = c.if_none_match {
        return etag.is_some_and(|etag| etag_list_matches(list, etag));
    }
    let (Some(since), Some(modified)) = (c.if_modified_since, last_modified) else {
        return false;
    };
    match (
        httpdate::parse_http_date(since.trim()),
        httpdate::parse_http_date(modified),
    ) {
        (Ok(since), Ok(modified)) => modified <= since,
        _ => false,
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison: `W/` ignored) or is
/// `*`. A malformed list matches nothing.
fn etag_list_matches(list: &str, etag: &str) -> bool {
    let list = list.trim();
    if list == "*" {
        return true;
    }
    let ours = etag.strip_prefix("W/").unwrap_or(etag);
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(end) = inner.find('"') else {
            return false;
        };
        if &tag[..end + 2] == ours {
            return true;
        }
        rest = &inner[end + 1..];
    }
}

/// Whether a `Range` is to be honoured under `If-Range`: absent, or the current strong
/// ETag, or exactly the `Last-Modified` date.
fn if_range_holds(if_range: Option<&str>, etag: Option<&str>, last_modified: Option<&str>) -> bool {
    let Some(value) = if_range.map(str::trim) else {
        return true;
    };
    if value.starts_with('"') || value.starts_with("W/") {
        return etag.is_some_and(|etag| !etag.starts_with("W/") && value == etag);
    }
    last_modified.is_some_and(|m| m == value)
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAnswer {
    /// Send the whole file (no usable single range).
    Whole,
    /// Send `len` bytes from `start`.
    Part { start: u64, len: u64 },
    /// `416`.
    Unsatisfiable,
}

fn parse_range(header: &str, size: u64) -> RangeAnswer {
    let header = header.trim();
    let Some((unit, spec)) = header.split_once('=') else {
        return RangeAnswer::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() {
        // A suffix: the last `n` bytes.
        if !digits(last) {
            return RangeAnswer::Whole;
        }
        let n = last.parse::<u64>().unwrap_or(u64::MAX);
        if n == 0 || size == 0 {
            return RangeAnswer::Unsatisfiable;
        }
        let len = n.min(size);
        return RangeAnswer::Part {
            start: size - len,
            len,
        };
    }
    if !digits(first) || !(last.is_empty() || digits(last)) {
        return RangeAnswer::Whole;
    }
    // Digits too many for a u64 are past any file's end.
    let start = first.parse::<u64>().unwrap_or(u64::MAX);
    let end = match last {
        "" => u64::MAX,
        l => l.parse::<u64>().unwrap_or(u64::MAX),
    };
    if end < start {
        return RangeAnswer::Whole;
    }
    if start >= size {
        return RangeAnswer::Unsatisfiable;
    }
    let end = end.min(size - 1);
    RangeAnswer::Part {
        start,
        len: end - start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        let part = |start, len| Part { start, len };
        for (header, want) in [
            ("bytes=0-0", part(0, 1)),
            ("bytes=0-99", part(0, 100)),
            ("bytes=0-1000", part(0, 100)),
            ("bytes=10-", part(10, 90)),
            ("bytes=-10", part(90, 10)),
            ("bytes=-1000", part(0, 100)),
            ("BYTES = 5 - 6 ", part(5, 2)),
            ("bytes=99-99", part(99, 1)),
            ("bytes=100-", Unsatisfiable),
            ("bytes=100-200", Unsatisfiable),
            ("bytes=99999999999999999999999-", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=0-1,5-6", Whole),
            ("bytes=5-1", Whole),
            ("bytes=a-b", Whole),
            ("bytes=1-2x", Whole),
            ("bytes=-", Whole),
            ("items=0-1", Whole),
            ("bytes", Whole),
            ("bytes=+1-2", Whole),
        ] {
            assert_eq!(parse_range(header, 100), want, "{header}");
        }
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
    }

    #[test]
    fn etag_lists() {
        let tag = "\"1f-abc\"";
        assert!(etag_list_matches("\"1f-abc\"", tag));
        assert!(etag_list_matches("W/\"1f-abc\"", tag));
        assert!(etag_list_matches("\"x\", W/\"1f-abc\"", tag));
        assert!(etag_list_matches("\"a,b\",\"1f-abc\"", tag));
        assert!(etag_list_matches(" * ", tag));
        assert!(!etag_list_matches("\"1f-abd\"", tag));
        assert!(!etag_list_matches("1f-abc", tag));
        assert!(!etag_list_matches("\"1f-abc", tag));
        assert!(!etag_list_matches("", tag));
    }

    #[test]
    fn if_range() {
        let raw = "\"1f-abc\"";
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let tag = Some(raw);
        assert!(if_range_holds(None, tag, Some(date)));
        assert!(if_range_holds(Some(raw), tag, Some(date)));
        assert!(!if_range_holds(Some(raw), None, Some(date)));
        assert!(!if_range_holds(Some("W/\"1f-abc\""), tag, Some(date)));
        assert!(!if_range_holds(Some("\"other\""), tag, Some(date)));
        assert!(if_range_holds(Some(date), tag, Some(date)));
        assert!(!if_range_holds(
            Some("Sun, 06 Nov 1994 08:49:38 GMT"),
            tag,
            Some(date)
        ));
        assert!(!if_range_holds(Some(date), tag, None));
    }

    #[test]
    fn content_types_and_dispositions() {
        let t = |n: &str| content_type_for(Path::new(n)).into_owned();
        assert_eq!(t("a.html"), "text/html; charset=utf-8");
        assert_eq!(t("a.css"), "text/css; charset=utf-8");
        assert_eq!(t("a.png"), "image/png");
        assert_eq!(t("a.json"), "application/json");
        assert_eq!(t("a.unknownext"), "application/octet-stream");
        assert_eq!(t("noext"), "application/octet-stream");
        assert_eq!(
            content_disposition("attachment", "report.pdf"),
            "attachment; filename=\"report.pdf\""
        );
        assert_eq!(
            content_disposition("attachment", "résumé v2.pdf"),
            "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20v2.pdf"
        );
    }
}
