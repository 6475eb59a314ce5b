//! The `Request` object handlers receive when they declare `request: Request`.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::OnceLock;

use fasterapi_http::{Request, TestServer};
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::dispatch::Runtime;
use crate::plan::Incoming;

/// An HTTP request, as a Python object (`fasterapi.Request`, Starlette's `Request` as
/// FastAPI hands it to handlers).
///
/// Built only for handlers that ask for it. It owns a copy of the request's parts (the
/// server's view borrows the connection buffer, which a Python object may outlive), made
/// with two allocations whatever the number of headers; Python objects are made when an
/// attribute is first read, and kept for later reads (`request.state` is one object for
/// the request's life, as in Starlette). The object takes attributes of the user's own
/// (`request.custom = ...`), as Starlette's does.
#[pyclass(frozen, dict, module = "fasterapi._fasterapi", name = "Request")]
pub(crate) struct PyRequest {
    method: &'static str,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    minor_version: u8,
    /// The request's text, piece after piece (see [`Piece`]): the raw path, the decoded
    /// path, the query, each header's name (lower-case) and value, each path parameter's
    /// name and decoded value, then the body.
    text: Vec<u8>,
    /// Where each piece of `text` ends.
    ends: Vec<usize>,
    has_query: bool,
    headers: usize,
    params: usize,
    /// The client's address; `None` for requests made up by the dispatch micro bench.
    peer: Option<SocketAddr>,
    /// The application being served (`request.app`).
    app: Option<Py<PyAny>>,
    /// Python objects made on first use.
    cache: Cache,
}

/// The Python objects of a request, made on first use. A `OnceLock` read is one atomic
/// load; it is set, never waited on: the Python code that makes a value runs outside it
/// (that code may release the GIL), and of two threads racing to make one the first to
/// set it wins.
#[derive(Default)]
struct Cache {
    url: OnceLock<Py<PyAny>>,
    base_url: OnceLock<Py<PyAny>>,
    headers: OnceLock<Py<PyAny>>,
    query_params: OnceLock<Py<PyAny>>,
    path_params: OnceLock<Py<PyAny>>,
    cookies: OnceLock<Py<PyAny>>,
    state: OnceLock<Py<PyAny>>,
    scope: OnceLock<Py<PyAny>>,
    body: OnceLock<Py<PyAny>>,
    json: OnceLock<Py<PyAny>>,
}

/// The `Request` object of one request, made when first asked for (by the handler's
/// parameters, its dependencies' or an exception handler) and the same object for all
/// of them, as Starlette's requests share one scope: what `request.state` holds is seen
/// by each.
pub(crate) struct RequestCell<'py, 'a> {
    app: Option<&'a Py<PyAny>>,
    object: Option<Bound<'py, PyAny>>,
    /// The request's `BackgroundTasks`, if a parameter asked for one: scheduled once the
    /// handler is done adding to it (see `dispatch.rs`).
    pub(crate) background: Option<Bound<'py, PyAny>>,
}

impl<'py, 'a> RequestCell<'py, 'a> {
    /// No object yet, for a request of the application `app`.
    pub(crate) fn new(app: Option<&'a Py<PyAny>>) -> RequestCell<'py, 'a> {
        RequestCell {
            app,
            object: None,
            background: None,
        }
    }

    /// The cell of a request whose object is `object` already (a WebSocket's).
    pub(crate) fn with_object(
        app: Option<&'a Py<PyAny>>,
        object: Bound<'py, PyAny>,
    ) -> RequestCell<'py, 'a> {
        RequestCell {
            app,
            object: Some(object),
            background: None,
        }
    }

    /// The request's object, made from `req` the first time.
    pub(crate) fn get(
        &mut self,
        py: Python<'py>,
        req: &impl Incoming,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(object) = &self.object {
            return Ok(object.clone());
        }
        if let Some(object) = req.py_object() {
            let object = object.clone().unbind().into_bound(py);
            return Ok(self.object.insert(object).clone());
        }
        let object = Bound::new(py, req.to_py(py, self.app))?.into_any();
        Ok(self.object.insert(object).clone())
    }
}

/// The value in `cell`, made by `make` the first time.
fn cached<'py>(
    py: Python<'py>,
    cell: &OnceLock<Py<PyAny>>,
    make: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(v) = cell.get() {
        return Ok(v.bind(py).clone());
    }
    let made = make()?;
    // Lost a race with another thread: its value is the one every reader sees.
    match cell.set(made.clone().unbind()) {
        Ok(()) => Ok(made),
        Err(_) => Ok(cell.get().map_or(made, |v| v.bind(py).clone())),
    }
}

/// Indices of the fixed pieces of [`PyRequest::text`].
enum Piece {
    RawPath = 0,
    Path = 1,
    Query = 2,
    /// The first header's name.
    Headers = 3,
}

/// [`PyRequest::text`] and its piece ends, being filled.
struct Text {
    text: Vec<u8>,
    ends: Vec<usize>,
}

impl Text {
    fn with_capacity(bytes: usize, pieces: usize) -> Text {
        Text {
            text: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(pieces),
        }
    }

    fn push(&mut self, piece: &[u8]) {
        self.text.extend_from_slice(piece);
        self.ends.push(self.text.len());
    }

    fn push_lowercase(&mut self, piece: &[u8]) {
        let start = self.text.len();
        self.push(piece);
        self.text[start..].make_ascii_lowercase();
    }
}

/// The Python helpers of `fasterapi.requests` the getters call.
struct Support {
    done: Py<PyAny>,
    /// `object.__new__`: instances made without running Python code.
    object_new: Py<PyAny>,
    url: Py<PyAny>,
    authority: Py<PyAny>,
    headers: Py<PyAny>,
    query_params: Py<PyAny>,
    cookies: Py<PyAny>,
    address: Py<PyAny>,
    /// `_request_state(app)`: a `State` holding the app's lifespan state.
    state: Py<PyAny>,
    scope: Py<PyAny>,
    form: Py<PyAny>,
    stream: Py<PyAny>,
    url_for: Py<PyAny>,
}

static SUPPORT: PyOnceLock<Support> = PyOnceLock::new();

impl Support {
    fn get(py: Python<'_>) -> PyResult<&'static Support> {
        SUPPORT.get_or_try_init(py, || {
            let m = py.import("fasterapi.requests")?;
            let get = |name: &str| m.getattr(name).map(Bound::unbind);
            let builtins = py.import("builtins")?;
            Ok(Support {
                done: get("_done")?,
                object_new: builtins.getattr("object")?.getattr("__new__")?.unbind(),
                url: get("URL")?,
                authority: get("_authority")?,
                headers: get("Headers")?,
                query_params: get("QueryParams")?,
                cookies: get("_cookies")?,
                address: get("Address")?,
                state: get("_request_state")?,
                scope: get("_scope")?,
                form: get("_form")?,
                stream: get("_stream")?,
                url_for: get("_url_for")?,
            })
        })
    }

    /// A `URL` of `url`, whose parts (`scheme`, `netloc`, `path`, `query`) are set too
    /// when given (`URL._parts`): no parsing then, as `urlsplit` would find the same.
    fn url<'py>(
        &self,
        py: Python<'py>,
        url: &str,
        parts: Option<[&str; 4]>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let made = self.object_new.bind(py).call1((self.url.bind(py),))?;
        made.setattr(pyo3::intern!(py, "_url"), url)?;
        if let Some(parts) = parts {
            made.setattr(pyo3::intern!(py, "_parts"), PyTuple::new(py, parts)?)?;
        }
        Ok(made)
    }
}

impl PyRequest {
    /// Copies what the Python object needs out of `req`.
    pub(crate) fn new(req: &Request<'_>, app: Option<&Py<PyAny>>, py: Python<'_>) -> PyRequest {
        let raw_path = req.path();
        let path = req.path_decoded();
        let query = req.query_string();
        let params = req.params();
        let mut bytes = raw_path.len() + path.len() + query.map_or(0, str::len) + req.body().len();
        let mut headers = 0;
        for (name, value) in req.headers() {
            bytes += name.len() + value.len();
            headers += 1;
        }
        for (name, raw) in params.iter() {
            bytes += name.len() + raw.len();
        }
        let mut text = Text::with_capacity(bytes, 4 + 2 * (headers + params.len()));
        text.push(raw_path.as_bytes());
        text.push(path.as_bytes());
        text.push(query.unwrap_or("").as_bytes());
        for (name, value) in req.headers() {
            text.push_lowercase(name.as_bytes());
            text.push(value);
        }
        for (name, raw) in params.iter() {
            text.push(name.as_bytes());
            match raw.contains('%').then(|| req.param::<String>(name)) {
                Some(Ok(decoded)) => text.push(decoded.as_bytes()),
                _ => text.push(raw.as_bytes()),
            }
        }
        text.push(req.body());
        PyRequest {
            method: req.method().as_str(),
            minor_version: req.http_minor_version(),
            text: text.text,
            ends: text.ends,
            has_query: query.is_some(),
            headers,
            params: params.len(),
            peer: Some(req.peer_addr()),
            app: app.map(|a| a.clone_ref(py)),
            cache: Cache::default(),
        }
    }

    /// A request from its parts: the dispatch micro bench's requests, which come from no
    /// client.
    pub(crate) fn from_parts(
        path: &str,
        query: Option<&str>,
        headers: &[(String, String)],
        params: &[(String, String)],
        body: &[u8],
    ) -> PyRequest {
        let pairs =
            |v: &[(String, String)]| v.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        let bytes = 2 * path.len() + query.map_or(0, str::len) + pairs(headers) + pairs(params);
        let pieces = 4 + 2 * (headers.len() + params.len());
        let mut text = Text::with_capacity(bytes + body.len(), pieces);
        text.push(path.as_bytes());
        text.push(path.as_bytes());
        text.push(query.unwrap_or("").as_bytes());
        for (name, value) in headers {
            text.push_lowercase(name.as_bytes());
            text.push(value.as_bytes());
        }
        for (name, value) in params {
            text.push(name.as_bytes());
            text.push(value.as_bytes());
        }
        text.push(body);
        PyRequest {
            method: "GET",
            minor_version: 1,
            text: text.text,
            ends: text.ends,
            has_query: query.is_some(),
            headers: headers.len(),
            params: params.len(),
            peer: None,
            app: None,
            cache: Cache::default(),
        }
    }

    /// The client's address, if it came from one.
    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The request method.
    pub(crate) fn method_str(&self) -> &'static str {
        self.method
    }

    /// The raw path, still percent-encoded.
    pub(crate) fn raw_path_str(&self) -> &str {
        self.piece_str(Piece::RawPath as usize)
    }

    /// The query string, if the target had one.
    pub(crate) fn query_str(&self) -> Option<&str> {
        self.has_query
            .then(|| self.piece_str(Piece::Query as usize))
    }

    /// Every header as `(name, value)` bytes, names lower-case, in order.
    pub(crate) fn header_pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        (0..self.headers).map(|i| self.header(i))
    }

    /// The path parameter `name`, decoded.
    pub(crate) fn path_param_str(&self, name: &str) -> Option<&str> {
        let first = Piece::Headers as usize + 2 * self.headers;
        (0..self.params)
            .map(|i| {
                (
                    self.piece_str(first + 2 * i),
                    self.piece_str(first + 2 * i + 1),
                )
            })
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// The body.
    pub(crate) fn body_slice(&self) -> &[u8] {
        self.body_bytes()
    }

    /// Piece `i` of the text.
    fn piece(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// A piece that was copied from a `&str`.
    fn piece_str(&self, i: usize) -> &str {
        // Invariant: the path, query and parameter pieces were pushed from `&str`s.
        std::str::from_utf8(self.piece(i)).unwrap_or_default()
    }

    /// The `(name, value)` of header `i`.
    fn header(&self, i: usize) -> (&[u8], &[u8]) {
        let at = Piece::Headers as usize + 2 * i;
        (self.piece(at), self.piece(at + 1))
    }

    /// The first header `name` (lower-case).
    fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        (0..self.headers)
            .map(|i| self.header(i))
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| v)
    }

    fn body_bytes(&self) -> &[u8] {
        self.piece(self.ends.len() - 1)
    }

    /// A coroutine that returns `value` (as Starlette's `async def body()` does).
    fn coroutine<'py>(py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        Support::get(py)?.done.bind(py).call1((value,))
    }

    fn body_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.body, || {
            Ok(PyBytes::new(py, self.body_bytes()).into_any())
        })
    }

    /// The URL's authority: the `Host` header if it is valid by Starlette's grammar
    /// (`parse_host_header`, a port of at most 65535), else none. Bracketed IP literals
    /// are checked by the package's copy of Starlette's code.
    fn authority(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let Some(host) = self.header_bytes("host") else {
            return Ok(None);
        };
        if host.first() == Some(&b'[') {
            return Support::get(py)?
                .authority
                .bind(py)
                .call1((latin1(host),))?
                .extract();
        }
        let (name, port) = match host.iter().position(|&b| b == b':') {
            Some(i) => (&host[..i], Some(&host[i + 1..])),
            None => (host, None),
        };
        let name_ok = !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"._~%!$&'()*+,;=-".contains(&b));
        let port_ok = port.is_none_or(|p| {
            // Leading zeros do not count: `0080` is port 80.
            let digits = &p[p.iter().position(|&b| b != b'0').unwrap_or(p.len())..];
            !p.is_empty()
                && p.iter().all(u8::is_ascii_digit)
                && digits.len() <= 5
                && digits
                    .iter()
                    .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'))
                    <= 65535
        });
        // Valid ones are ASCII.
        Ok((name_ok && port_ok)
            .then(|| std::str::from_utf8(host).ok().map(str::to_owned))
            .flatten())
    }

    fn url_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.url, || {
            // As Starlette's URL(scope=...): the decoded path with `?`, `#` and `\`
            // escaped, the raw query, the valid `Host` header as the authority (with no
            // server address to fall back on, a URL of the path alone).
            let mut path = Cow::Borrowed(self.piece_str(Piece::Path as usize));
            if path.contains(['?', '#', '\\']) {
                path = Cow::Owned(
                    path.replace('?', "%3F")
                        .replace('#', "%23")
                        .replace('\\', "%5C"),
                );
            }
            let query = self.piece_str(Piece::Query as usize);
            let netloc = self.authority(py)?;
            let (scheme, url) = match &netloc {
                Some(netloc) => {
                    if !path.starts_with('/') {
                        path = Cow::Owned(format!("/{path}"));
                    }
                    let url = match query {
                        "" => format!("http://{netloc}{path}"),
                        q => format!("http://{netloc}{path}?{q}"),
                    };
                    ("http", url)
                }
                None => {
                    // Without an authority, a leading `//` would be read as one.
                    if let Some(rest) = path.strip_prefix("//") {
                        path = Cow::Owned(format!("/%2F{rest}"));
                    }
                    let url = match query {
                        "" => path.to_string(),
                        q => format!("{path}?{q}"),
                    };
                    ("", url)
                }
            };
            // `urlsplit` reads these parts back from the URL unless it holds a `#` (the
            // path's are escaped) or characters it drops (tabs, newlines): then the URL
            // object splits it itself when asked.
            let parts_known = !query.contains('#') && !url.contains(['\t', '\r', '\n']);
            let netloc = netloc.unwrap_or_default();
            let parts = parts_known.then_some([scheme, netloc.as_str(), path.as_ref(), query]);
            Support::get(py)?.url(py, &url, parts)
        })
    }

    fn headers_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.headers, || {
            let raw = PyList::empty(py);
            for i in 0..self.headers {
                let (name, value) = self.header(i);
                raw.append(PyTuple::new(
                    py,
                    [PyBytes::new(py, name), PyBytes::new(py, value)],
                )?)?;
            }
            let support = Support::get(py)?;
            let headers = support
                .object_new
                .bind(py)
                .call1((support.headers.bind(py),))?;
            headers.setattr(pyo3::intern!(py, "_list"), raw)?;
            Ok(headers)
        })
    }

    fn state_object<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.state, || {
            let app = match &self.app {
                Some(app) => app.bind(py).clone(),
                None => py.None().into_bound(py),
            };
            Support::get(py)?.state.bind(py).call1((app,))
        })
    }
}

/// Header bytes as text: HTTP's Latin-1.
fn latin1(v: &[u8]) -> String {
    v.iter().map(|&b| char::from(b)).collect()
}

#[pymethods]
impl PyRequest {
    /// The method, `"GET"`.
    #[getter]
    fn method(&self) -> &'static str {
        self.method
    }

    /// The URL (`fasterapi.datastructures.URL`, Starlette's): `scheme`, `netloc`
    /// (from the `Host` header; a request without a valid one has none), `path`
    /// (percent-decoded), `query` (raw), `str(url)`.
    #[getter]
    fn url<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.url_object(py)
    }

    /// The URL of the application's root: the request's scheme and host, path `/`.
    #[getter]
    fn base_url<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.base_url, || {
            let support = Support::get(py)?;
            match self.authority(py)? {
                Some(netloc) => {
                    let url = format!("http://{netloc}/");
                    support.url(py, &url, Some(["http", &netloc, "/", ""]))
                }
                None => support.url(py, "/", Some(["", "", "/", ""])),
            }
        })
    }

    /// The path, percent-decoded, without the query (`request.url.path`).
    #[getter]
    fn path(&self) -> &str {
        self.piece_str(Piece::Path as usize)
    }

    /// The raw query string (`""` if none).
    #[getter]
    fn query_string(&self) -> &str {
        self.piece_str(Piece::Query as usize)
    }

    /// The query parameters (`fasterapi.datastructures.QueryParams`, Starlette's
    /// immutable multi-dict: `params["k"]` is the last value of `k`,
    /// `params.getlist("k")` every one).
    #[getter]
    fn query_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.query_params, || {
            let query = PyBytes::new(py, self.piece(Piece::Query as usize));
            Support::get(py)?.query_params.bind(py).call1((query,))
        })
    }

    /// The headers (`fasterapi.datastructures.Headers`, Starlette's: an immutable
    /// multi-dict whose look-ups ignore case; `headers["x"]` is the first value,
    /// `headers.getlist("x")` every one; names are lower-case, values Latin-1).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.headers_object(py)
    }

    /// The path parameters, percent-decoded: a `dict`.
    #[getter]
    fn path_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.path_params, || {
            let d = PyDict::new(py);
            let first = Piece::Headers as usize + 2 * self.headers;
            for i in 0..self.params {
                d.set_item(
                    self.piece_str(first + 2 * i),
                    self.piece_str(first + 2 * i + 1),
                )?;
            }
            Ok(d.into_any())
        })
    }

    /// The cookies of the `Cookie` headers, parsed as Starlette does: a `dict`.
    #[getter]
    fn cookies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        cached(py, &self.cache.cookies, || {
            let headers = self.headers_object(py)?;
            Support::get(py)?.cookies.bind(py).call1((headers,))
        })
    }

    /// The client's address, `Address(host, port)` (Starlette's named tuple), as the
    /// connection was accepted from (a proxy's, behind one). Under the test client it is
    /// Starlette's `("testclient", 50000)`.
    #[getter]
    fn client<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(peer) = self.peer else {
            return Ok(None);
        };
        let host = if peer == TestServer::PEER_ADDR {
            "testclient".to_owned()
        } else {
            peer.ip().to_string()
        };
        let address = &Support::get(py)?.address;
        address.bind(py).call1((host, peer.port())).map(Some)
    }

    /// Attributes for the request's own use (`request.state.user = ...`), one object for
    /// the request's whole life: Starlette's `State`.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.state_object(py)
    }

    /// The application being served.
    #[getter]
    fn app<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.app {
            Some(app) => Ok(app.bind(py).clone()),
            None => Err(PyAttributeError::new_err(
                "this request was made up outside a server (the dispatch micro bench): \
                 it has no app",
            )),
        }
    }

    /// The request as an ASGI scope `dict` (made when first read), with the keys
    /// Starlette's has for a request: `type`, `asgi`, `http_version`, `method`,
    /// `scheme`, `path`, `raw_path`, `root_path`, `query_string`, `headers`, `client`,
    /// `server` (`None`: not known), `app`, `path_params` and `state`. Changes to it do
    /// not change the request's attributes, except through `state`.
    #[getter]
    fn scope<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        cached(py, &this.cache.scope, || {
            Support::get(py)?.scope.bind(py).call1((slf,))
        })
    }

    /// The raw path, still percent-encoded, as bytes (the scope's `raw_path`).
    #[getter]
    fn raw_path<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.piece(Piece::RawPath as usize))
    }

    /// `"1.1"` or `"1.0"`.
    #[getter]
    fn http_version(&self) -> &'static str {
        if self.minor_version == 0 {
            "1.0"
        } else {
            "1.1"
        }
    }

    /// The body as `bytes`: a coroutine, as in Starlette (`await request.body()`).
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let body = self.body_object(py)?;
        PyRequest::coroutine(py, body)
    }

    /// The body parsed as JSON (`json.loads`, whose error a server answers 500, as
    /// Starlette's): a coroutine (`await request.json()`). Parsed once.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = cached(py, &self.cache.json, || {
            let body = self.body_object(py)?;
            Runtime::get(py)?.json_loads.bind(py).call1((body,))
        })?;
        PyRequest::coroutine(py, value)
    }

    /// The form fields of a url-encoded body (`application/x-www-form-urlencoded`) as
    /// Starlette's `FormData`: `await request.form()` or `async with request.form() as
    /// form:`. Another content type gives an empty form; a `multipart/form-data` body is
    /// answered 415 (fasterapi does not read multipart bodies yet).
    #[pyo3(signature = (*, max_files = 1000, max_fields = 1000, max_part_size = 1024 * 1024))]
    fn form<'py>(
        slf: &Bound<'py, Self>,
        max_files: usize,
        max_fields: usize,
        max_part_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        Support::get(py)?
            .form
            .bind(py)
            .call1((slf, max_files, max_fields, max_part_size))
    }

    /// The body as an async iterator of `bytes` chunks (the whole body, then `b""`).
    fn stream<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let body = self.body_object(py)?;
        Support::get(py)?.stream.bind(py).call1((body,))
    }

    /// The absolute URL of the route `name` with `path_params`:
    /// `request.app.url_path_for(name, **path_params)` on this request's base URL.
    #[pyo3(signature = (name, /, **path_params))]
    fn url_for<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyString>,
        path_params: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        Support::get(py)?
            .url_for
            .bind(py)
            .call1((slf, name, path_params))
    }

    /// `request[key]`: the scope's `key`, as Starlette's requests are mappings of it.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        PyRequest::scope(slf)?.get_item(key)
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyRequest::scope(slf)?.try_iter()?.into_any())
    }

    fn __len__(slf: &Bound<'_, Self>) -> PyResult<usize> {
        PyRequest::scope(slf)?.len()
    }

    /// What the request holds, for the garbage collector: a cycle through it (a request
    /// kept in its own `state`) is collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let c = &self.cache;
        for cell in [
            &c.url,
            &c.base_url,
            &c.headers,
            &c.query_params,
            &c.path_params,
            &c.cookies,
            &c.state,
            &c.scope,
            &c.body,
            &c.json,
        ] {
            visit.call(cell.get())?;
        }
        visit.call(self.app.as_ref())
    }

    fn __repr__(&self) -> String {
        let path = self.piece_str(Piece::RawPath as usize);
        if self.has_query {
            format!("<Request {} {}?{}>", self.method, path, self.query_string())
        } else {
            format!("<Request {} {}>", self.method, path)
        }
    }
}
