//! The request a handler sees: a zero-copy view into the connection's read buffer.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::app::error::Error;
use crate::app::later::{Later, Reply};
use crate::app::router::{Method, Params};
use crate::app::state::State;

/// One parsed request, borrowed from the connection's buffer for the handler call.
///
/// Nothing here is copied out of the read buffer: path, query, headers and body are
/// slices of it, and path parameters are slices captured by the router. Decoding
/// (percent-decoding, number parsing) happens on demand.
///
/// ```
/// use fasterapi_http::{Error, Request, Response};
///
/// fn search(req: &Request) -> Result<Response, Error> {
///     let page: u32 = req.query("page")?.unwrap_or(1);
///     let agent = req.header("user-agent").unwrap_or("unknown");
///     Ok(Response::text(format!("page {page} for {agent}")))
/// }
/// ```
pub struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) minor_version: u8,
    pub(crate) headers: &'a [httparse::Header<'a>],
    pub(crate) params: &'a Params<'a, 'a>,
    pub(crate) body: &'a [u8],
    /// Set when the request is served by a connection that can wait for a [`Reply`].
    pub(crate) later: Option<&'a Later>,
    /// The client's address, kept by the connection since it was accepted.
    pub(crate) peer: &'a SocketAddr,
    /// The app's shared state.
    pub(crate) state: &'a State,
    /// The form read from the body as it arrived, for a route that streams forms.
    pub(crate) form: Option<&'a crate::app::form::FormSlot>,
}

impl<'a> Request<'a> {
    /// The request of a parsed head, its captured path parameters and its body.
    #[inline]
    pub(crate) fn from_parts(
        meta: &crate::proto::h1::parse::Meta<'a>,
        headers: &'a [httparse::Header<'a>],
        params: &'a Params<'a, 'a>,
        body: &'a [u8],
        later: Option<&'a Later>,
        peer: &'a SocketAddr,
        state: &'a State,
    ) -> Request<'a> {
        Request {
            method: meta.method,
            path: meta.path,
            query: meta.query,
            minor_version: meta.minor_version,
            headers,
            params,
            body,
            later,
            peer,
            state,
            form: None,
        }
    }

    /// This request with the form its body was read into (a route that streams forms).
    #[inline]
    pub(crate) fn with_form(mut self, form: Option<&'a crate::app::form::FormSlot>) -> Request<'a> {
        self.form = form;
        self
    }

    /// The form of a route that [streams forms](crate::RouteMut::stream_forms), read
    /// from a `multipart/form-data` body as it arrived: its items in order, or why the
    /// body was refused (answer with its status and detail). The first call takes it;
    /// `None` after that, and for requests whose body is held whole (other routes, other
    /// content types, chunked bodies: read those from [`Request::body`] with
    /// [`MultipartReader`](crate::app::form::MultipartReader)).
    pub fn take_form(
        &self,
    ) -> Option<Result<crate::app::form::FormItems, crate::app::form::FormError>> {
        self.form?.take()
    }

    /// The app's shared state of type `T` (see [`App::with_state`](crate::App::with_state)):
    /// a reference into the app, found without allocating or locking.
    ///
    /// An app without a `T` is a programming error answered `500` (with `?`), naming the
    /// type.
    #[inline]
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&'a T, Error> {
        self.state.get::<T>().ok_or_else(|| missing_state::<T>())
    }

    /// Answers this request later, through the returned [`Reply`], from any thread.
    ///
    /// The handler returns at once and its I/O thread goes on serving other connections;
    /// requests pipelined behind this one on the same connection wait for the reply, so
    /// answers leave in order. Once a handler has deferred, the response it returns is not
    /// sent: the reply is the answer. `None` when the request cannot wait (it runs on the
    /// worker pool, whose thread is the one to block, or it was deferred already).
    ///
    /// ```
    /// use fasterapi_http::{App, Request, Response, StatusCode};
    ///
    /// let mut app = App::new();
    /// app.get("/later", |req: &Request| {
    ///     if let Some(reply) = req.defer() {
    ///         std::thread::spawn(move || reply.send(Response::text("done")));
    ///     }
    ///     Response::new(StatusCode::NO_CONTENT) // not sent once deferred
    /// });
    /// ```
    pub fn defer(&self) -> Option<Reply> {
        self.later?.defer(None)
    }

    /// [`Request::defer`], with `on_abandon` run on the I/O thread if the connection
    /// closes before the reply is sent (the client left, or shutdown's deadline passed),
    /// so that the work behind the reply can be cancelled.
    pub fn defer_with_abandon(&self, on_abandon: impl FnOnce() + 'static) -> Option<Reply> {
        self.later?.defer(Some(Box::new(on_abandon)))
    }

    /// Whether [`Request::defer`] would give a reply: false on the worker pool, for a
    /// request deferred already, and for the answers made from a request's head alone
    /// (see [`App::no_route`](crate::App::no_route)).
    pub fn can_defer(&self) -> bool {
        self.later.is_some_and(|l| !l.is_deferred())
    }

    /// The request method.
    #[inline]
    pub fn method(&self) -> Method {
        self.method
    }

    /// The raw path of the request target, without the query, still percent-encoded.
    #[inline]
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The path, percent-decoded; borrowed when it holds no escapes.
    ///
    /// Escapes that do not form valid UTF-8 become U+FFFD.
    pub fn path_decoded(&self) -> Cow<'a, str> {
        percent_decode(self.path, false)
    }

    /// The raw query string (after `?`), if the target had one.
    #[inline]
    pub fn query_string(&self) -> Option<&'a str> {
        self.query
    }

    /// The address of the client, as the connection was accepted from (a proxy's, behind
    /// one). Requests of a [`TestServer`](crate::TestServer) come from
    /// [`TestServer::PEER_ADDR`](crate::TestServer::PEER_ADDR).
    #[inline]
    pub fn peer_addr(&self) -> SocketAddr {
        *self.peer
    }

    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    #[inline]
    pub fn http_minor_version(&self) -> u8 {
        self.minor_version
    }

    /// The raw value of the path parameter `name`, as captured by the router.
    #[inline]
    pub fn param_str(&self, name: &str) -> Option<&'a str> {
        self.params.get(name)
    }

    /// All path parameters, raw.
    pub fn params(&self) -> &'a Params<'a, 'a> {
        self.params
    }

    /// The path parameter `name`, percent-decoded and converted with [`FromStr`].
    ///
    /// A missing or unconvertible parameter is an [`Error`] answered with 400 and a JSON
    /// detail naming the parameter.
    #[inline]
    pub fn param<T: FromStr>(&self, name: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self
            .params
            .get(name)
            .ok_or_else(|| Error::param("path", name, "no such path parameter in the route"))?;
        percent_decode(raw, false)
            .parse()
            .map_err(|e| Error::param("path", name, e))
    }

    /// The first query parameter `name`, decoded (`+` is a space, `%XX` escapes).
    pub fn query_str(&self, name: &str) -> Option<Cow<'a, str>> {
        self.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The first query parameter `name`, converted with [`FromStr`]; `Ok(None)` when absent.
    ///
    /// An unconvertible value is an [`Error`] answered with 400 naming the parameter.
    pub fn query<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error>
    where
        T::Err: std::fmt::Display,
    {
        match self.query_str(name) {
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| Error::param("query", name, e)),
            None => Ok(None),
        }
    }

    /// Every query parameter as decoded `(name, value)` pairs, in order.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)> + 'a {
        pairs(self.query.unwrap_or(""))
    }

    /// The first header named `name` (case-insensitive) as text; `None` if absent or not
    /// visible ASCII/UTF-8.
    #[inline]
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first header named `name` (case-insensitive), raw.
    #[inline]
    pub fn header_bytes(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// Every header as `(name, raw value)`, in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        self.headers.iter().map(|h| (h.name, h.value))
    }

    /// The request body, de-chunked when it came with `Transfer-Encoding: chunked`.
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The value of the first cookie named `name` (case-sensitive, as cookie names are)
    /// in the request's `Cookie` headers; see [`Request::cookies`].
    ///
    /// ```
    /// use fasterapi_http::{Error, Request, Response, StatusCode};
    ///
    /// fn whoami(req: &Request) -> Result<Response, Error> {
    ///     let session = req
    ///         .cookie("session")
    ///         .ok_or(Error::new(StatusCode::UNAUTHORIZED, "no session"))?;
    ///     Ok(Response::text(format!("session {session}")))
    /// }
    /// ```
    pub fn cookie(&self, name: &str) -> Option<&'a str> {
        self.cookies().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every cookie of the request's `Cookie` headers as `(name, value)`, in order,
    /// parsed when asked for, borrowed from the request (nothing is allocated). Pairs are
    /// split on `;` and the first `=`, with surrounding spaces trimmed and one pair of
    /// double quotes around a value removed (RFC 6265 §4.2.1); values are not
    /// percent-decoded. A pair without `=` or with an empty name, and a header that is not
    /// UTF-8, are skipped.
    pub fn cookies(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("cookie"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                let name = name.trim_matches([' ', '\t']);
                let value = value.trim_matches([' ', '\t']);
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                (!name.is_empty()).then_some((name, value))
            })
    }
}

/// The error of [`Request::state`] for a type the app does not hold. Out of line: a
/// working app never comes here.
#[cold]
#[inline(never)]
fn missing_state<T>() -> Error {
    Error::new(
        crate::http::response::StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "the app has no state of type `{}` (App::with_state)",
            std::any::type_name::<T>()
        ),
    )
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("params", &self.params)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The decoded `(name, value)` pairs of a query string or url-encoded form.
pub(crate) fn pairs(s: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    s.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k, true), percent_decode(v, true))
    })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, for query strings).
/// A `%` not followed by two hex digits is kept literally.
pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let digit = |at: usize| bytes.get(at).and_then(|&b| hex(b));
                match (digit(i + 1), digit(i + 2)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_plus_and_keeps_stray_percent() {
        assert!(matches!(
            percent_decode("/plain", false),
            Cow::Borrowed("/plain")
        ));
        assert_eq!(percent_decode("/a%20b%2Fc", false), "/a b/c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("a+b%2B", true), "a b+");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%C3%A9", false), "é");
        assert_eq!(percent_decode("%FF", false), "\u{FFFD}");
    }

    static NO_PARAMS: Params<'static, 'static> = Params::new();

    fn request<'a>(query: Option<&'a str>, headers: &'a [httparse::Header<'a>]) -> Request<'a> {
        Request {
            method: Method::Get,
            path: "/x",
            query,
            minor_version: 1,
            headers,
            params: &NO_PARAMS,
            body: b"",
            later: None,
            peer: &crate::TestServer::PEER_ADDR,
            state: &NO_STATE,
            form: None,
        }
    }

    static NO_STATE: State = State::EMPTY;

    #[test]
    fn query_params_decode_and_convert() {
        let req = request(Some("a=1&name=J%C3%A9r%C3%B4me+X&flag&a=2&bad=x1"), &[]);
        assert_eq!(req.query::<u32>("a").unwrap(), Some(1));
        assert_eq!(req.query_str("name").as_deref(), Some("Jérôme X"));
        assert_eq!(req.query_str("flag").as_deref(), Some(""));
        assert_eq!(req.query::<u32>("missing").unwrap(), None);
        let err = req.query::<u32>("bad").unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert!(err.to_string().contains("`bad`"), "{err}");
        assert_eq!(request(None, &[]).query_pairs().count(), 0);
    }

    #[test]
    fn headers_are_case_insensitive() {
        let headers = [
            httparse::Header {
                name: "Content-Type",
                value: b"text/plain",
            },
            httparse::Header {
                name: "X-Bin",
                value: b"\xff",
            },
        ];
        let req = request(None, &headers);
        assert_eq!(req.header("content-type"), Some("text/plain"));
        assert_eq!(req.header("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(req.header("x-bin"), None);
        assert_eq!(req.header_bytes("x-bin"), Some(&b"\xff"[..]));
        assert_eq!(req.headers().count(), 2);
    }

    #[test]
    fn cookies_split_trim_unquote_and_skip_malformed_pairs() {
        let headers = [
            httparse::Header {
                name: "Cookie",
                value: b"a=1; b = \"two\" ;junk; =x; c=",
            },
            httparse::Header {
                name: "cookie",
                value: b"a=later;d=e=f",
            },
        ];
        let req = request(None, &headers);
        let all: Vec<_> = req.cookies().collect();
        assert_eq!(
            all,
            [
                ("a", "1"),
                ("b", "two"),
                ("c", ""),
                ("a", "later"),
                ("d", "e=f")
            ]
        );
        assert_eq!(req.cookie("a"), Some("1"));
        assert_eq!(req.cookie("d"), Some("e=f"));
        assert_eq!(req.cookie("A"), None);
        assert_eq!(request(None, &[]).cookies().count(), 0);
    }

    #[test]
    fn missing_state_is_a_500_naming_the_type() {
        let err = request(None, &[]).state::<u32>().unwrap_err();
        assert_eq!(err.status().as_u16(), 500);
        assert!(err.to_string().contains("`u32`"), "{err}");
    }

    #[test]
    fn missing_param_is_a_400_naming_it() {
        let req = request(None, &[]);
        let err = req.param::<u64>("id").unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert!(err.to_string().contains("`id`"));
    }
}
