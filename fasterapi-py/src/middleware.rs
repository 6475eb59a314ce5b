//! The app's middleware (`app.add_middleware`, `@app.middleware("http")`) around its
//! routes.
//!
//! The Python package describes the stack outermost first (`FasterAPI._spec()`), each
//! layer a tuple: `("cors", options)`, `("trustedhost", hosts, www_redirect)`,
//! `("httpsredirect",)` for the native ones, run here without entering Python, and
//! `("python", dispatch)` for a Python middleware (an `async def dispatch(request,
//! call_next)`). The native layers outside every Python one ([`Stack::outer`]) run on the
//! server's request; the Python ones run as one coroutine (the package's chain) on the
//! worker's event loop, whose innermost `call_next` runs the route (see [`CallNext`]); a
//! native layer added inside a Python one runs around the route, inside every Python
//! layer ([`Stack::inner`]).
//!
//! An app without middleware has no [`Stack`]: its routes are served as before, and a
//! stack of native layers alone keeps every route on its own placement (inline, pool).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use fasterapi_http::cors::{CorsOptions, CorsPolicy, CorsRequest, SimpleCors};
use fasterapi_http::{Body, Method, NoRoute, Reply, Request, Response, StatusCode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::dispatch::{keep_thread_state, PyRoute, Runtime, Stage};
use crate::plan::Incoming;
use crate::request::{PyRequest, RequestCell};

/// A middleware layer run in Rust.
pub(crate) enum Native {
    /// `CORSMiddleware`.
    Cors(Arc<CorsPolicy>),
    /// `TrustedHostMiddleware`: lower-case host patterns (`*.example.com` matches the
    /// subdomains), and whether `example.com` is redirected to an allowed `www.` form.
    TrustedHost {
        hosts: Vec<String>,
        www_redirect: bool,
    },
    /// `HTTPSRedirectMiddleware`: every request (the server speaks plain HTTP) is
    /// redirected to its `https://` URL.
    HttpsRedirect,
}

/// What a native layer makes of a request.
enum Before {
    /// Goes on to the next layer; the response gets the CORS headers, if any.
    Continue(Option<SimpleCors>),
    /// Answered by the layer.
    Answer(Response),
}

/// What the native layers read of a request: the server's or a Python request object.
trait Heads {
    fn method(&self) -> Method;
    fn header(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The raw path and the query.
    fn target(&self) -> (Cow<'_, str>, Option<Cow<'_, str>>);
    /// The client's address, if known.
    fn peer(&self) -> Option<std::net::SocketAddr>;

    /// Calls `f` with the request's CORS headers (decoded as Latin-1, as Starlette does).
    fn with_cors<R>(&self, f: impl FnOnce(&CorsRequest<'_>) -> R) -> R {
        cors_by_name(self, f)
    }

    /// Whether the request came over HTTPS to a proxy on this machine that forwarded
    /// it: `X-Forwarded-Proto: https` from a loopback peer (uvicorn's default trust,
    /// `forwarded_allow_ips=127.0.0.1`), or from the in-process test server, to which
    /// the TestClient says so for an `https://` base URL.
    fn forwarded_https(&self) -> bool {
        let trusted = self
            .peer()
            .is_some_and(|p| p.ip().is_loopback() || p.ip().is_unspecified());
        trusted
            && self.header("x-forwarded-proto").is_some_and(|v| {
                let last = v.rsplit(',').next().unwrap_or_default().trim();
                last.eq_ignore_ascii_case("https") || last.eq_ignore_ascii_case("wss")
            })
    }
}

/// [`Heads::with_cors`] by looking each header up.
fn cors_by_name<H: Heads + ?Sized, R>(h: &H, f: impl FnOnce(&CorsRequest<'_>) -> R) -> R {
    let origin = h.header("origin");
    let acrm = h.header("access-control-request-method");
    let acrh = h.header("access-control-request-headers");
    let acrpn = h.header("access-control-request-private-network");
    f(&CorsRequest {
        method: h.method(),
        origin: origin.as_deref(),
        request_method: acrm.as_deref(),
        request_headers: acrh.as_deref(),
        request_private_network: acrpn.as_deref(),
    })
}

impl Heads for Request<'_> {
    fn method(&self) -> Method {
        Request::method(self)
    }
    /// One pass over the headers; values are borrowed unless one is not ASCII (then
    /// Latin-1 needs a copy, made by looking the headers up again).
    fn with_cors<R>(&self, f: impl FnOnce(&CorsRequest<'_>) -> R) -> R {
        let mut cors = CorsRequest {
            method: Request::method(self),
            ..CorsRequest::default()
        };
        let mut ascii = true;
        cors.read_headers(self.headers(), |v| {
            if !v.is_ascii() {
                ascii = false;
                return None;
            }
            // SAFETY: ASCII is UTF-8. (`from_utf8` checks again, at about a tenth of a
            // preflight's instructions for its three values: measured with callgrind.)
            Some(unsafe { std::str::from_utf8_unchecked(v) })
        });
        if ascii {
            f(&cors)
        } else {
            cors_by_name(self, f)
        }
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        Incoming::header(self, name)
    }
    fn target(&self) -> (Cow<'_, str>, Option<Cow<'_, str>>) {
        (
            Cow::Borrowed(self.path()),
            self.query_string().map(Cow::Borrowed),
        )
    }
    fn peer(&self) -> Option<std::net::SocketAddr> {
        Some(self.peer_addr())
    }
}

impl Heads for PyRequest {
    fn method(&self) -> Method {
        Method::from_bytes(self.method_str().as_bytes()).unwrap_or(Method::Get)
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.header_pairs()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| latin1(v))
    }
    fn target(&self) -> (Cow<'_, str>, Option<Cow<'_, str>>) {
        (
            Cow::Borrowed(self.raw_path_str()),
            self.query_str().map(Cow::Borrowed),
        )
    }
    fn peer(&self) -> Option<std::net::SocketAddr> {
        self.peer_addr()
    }
}

fn latin1(v: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) if v.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(v.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Starlette's `PlainTextResponse("Invalid host header", status_code=400)`.
fn invalid_host() -> Response {
    Response::text("Invalid host header").with_status(StatusCode::BAD_REQUEST)
}

/// The host of a `Host` header without its port (brackets of an IPv6 literal kept), or
/// `None` if it is not one (Starlette's `parse_host_header`).
fn host_of(value: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        let literal = &rest[..end];
        literal.parse::<std::net::Ipv6Addr>().ok()?;
        (&value[..end + 2], &rest[end + 1..])
    } else {
        match value.rfind(':') {
            Some(i) => (&value[..i], &value[i..]),
            None => (value, ""),
        }
    };
    if let Some(port) = port.strip_prefix(':') {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    } else if !port.is_empty() {
        return None;
    }
    let name_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    name_ok.then_some(host)
}

/// `path?query` of a request target.
fn path_and_query(h: &impl Heads) -> String {
    let (path, query) = h.target();
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path.into_owned(),
    }
}

impl Native {
    /// The layer a Python spec tuple describes.
    fn from_py(spec: &Bound<'_, PyAny>) -> PyResult<Native> {
        let spec = spec.cast::<PyTuple>()?;
        let kind: String = spec.get_item(0)?.extract()?;
        match kind.as_str() {
            "cors" => {
                let o = spec.get_item(1)?;
                let o = o.cast::<PyDict>()?;
                let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
                    o.get_item(k)?
                        .ok_or_else(|| PyValueError::new_err(format!("cors: missing {k}")))
                };
                let options = CorsOptions {
                    allow_origins: get("allow_origins")?.extract()?,
                    allow_origin_regex: get("allow_origin_regex")?.extract()?,
                    allow_methods: get("allow_methods")?.extract()?,
                    allow_headers: get("allow_headers")?.extract()?,
                    allow_credentials: get("allow_credentials")?.extract()?,
                    allow_private_network: get("allow_private_network")?.extract()?,
                    expose_headers: get("expose_headers")?.extract()?,
                    max_age: get("max_age")?.extract()?,
                };
                let policy =
                    CorsPolicy::new(options).map_err(|e| PyValueError::new_err(e.to_string()))?;
                Ok(Native::Cors(Arc::new(policy)))
            }
            "trustedhost" => Ok(Native::TrustedHost {
                hosts: spec.get_item(1)?.extract()?,
                www_redirect: spec.get_item(2)?.extract()?,
            }),
            "httpsredirect" => Ok(Native::HttpsRedirect),
            other => Err(PyValueError::new_err(format!(
                "unknown native middleware {other:?}"
            ))),
        }
    }

    fn before(&self, h: &impl Heads) -> Before {
        match self {
            Native::Cors(policy) => h.with_cors(|req| match policy.preflight(req) {
                Some(answer) => Before::Answer(answer),
                None => Before::Continue(Some(policy.simple(req))),
            }),
            Native::TrustedHost {
                hosts,
                www_redirect,
            } => {
                if hosts.iter().any(|p| p == "*") {
                    return Before::Continue(None);
                }
                let value = h.header("host");
                let Some(host) = value.as_deref().and_then(host_of) else {
                    return Before::Answer(invalid_host());
                };
                let host = host.to_ascii_lowercase();
                let mut found_www = false;
                for pattern in hosts {
                    if host == *pattern
                        || (pattern.starts_with('*') && host.ends_with(&pattern[1..]))
                    {
                        return Before::Continue(None);
                    }
                    if format!("www.{host}") == *pattern {
                        found_www = true;
                    }
                }
                if found_www && *www_redirect {
                    let netloc = value.as_deref().unwrap_or_default();
                    let url = format!("http://www.{netloc}{}", path_and_query(h));
                    return Before::Answer(
                        Response::new(StatusCode::TEMPORARY_REDIRECT).with_header("location", url),
                    );
                }
                Before::Answer(invalid_host())
            }
            Native::HttpsRedirect => {
                if h.forwarded_https() {
                    return Before::Continue(None);
                }
                let value = h.header("host");
                let Some(netloc) = value.as_deref().filter(|v| !v.is_empty()) else {
                    return Before::Answer(invalid_host());
                };
                // Starlette drops the port when it is 80 or 443.
                let netloc = match netloc.rsplit_once(':') {
                    Some((host, "80" | "443")) if !host.ends_with(']') || host.starts_with('[') => {
                        host
                    }
                    _ => netloc,
                };
                let url = format!("https://{netloc}{}", path_and_query(h));
                Before::Answer(
                    Response::new(StatusCode::TEMPORARY_REDIRECT).with_header("location", url),
                )
            }
        }
    }
}

/// The CORS headers of the layers a request went through, innermost last.
type Amends = Vec<SimpleCors>;

fn apply(mut response: Response, amends: Amends) -> Response {
    for amend in amends.into_iter().rev() {
        amend.apply(&mut response);
    }
    response
}

/// Runs `layers` (outermost first) on `h`: the answer of one that answers, with the
/// CORS headers of those outside it, or the headers every layer adds to the response.
fn run_before(layers: &[Native], h: &impl Heads) -> Result<Amends, Response> {
    let mut amends = Amends::new();
    for layer in layers {
        match layer.before(h) {
            Before::Continue(Some(c)) => amends.push(c),
            Before::Continue(None) => {}
            Before::Answer(answer) => return Err(apply(answer, amends)),
        }
    }
    Ok(amends)
}

/// An app's middleware, compiled.
pub(crate) struct Stack {
    /// Native layers outside every Python one, outermost first.
    outer: Vec<Native>,
    /// The Python layers' chain: `chain(request, call_next) -> coroutine` (the package's
    /// `fasterapi.middleware._chain`), if any.
    python: Option<Py<PyAny>>,
    /// Native layers inside a Python one, outermost first: run around the route.
    inner: Vec<Native>,
    /// Turns a server response into the Python `Response` `call_next` returns.
    to_python: Option<Py<PyAny>>,
}

impl Stack {
    /// The stack of the spec's `middleware` list (outermost first, with the chain of
    /// its Python layers made by the package); `None` for no middleware.
    pub(crate) fn from_py(
        layers: &Bound<'_, PyList>,
        chain: Option<Py<PyAny>>,
    ) -> PyResult<Option<Stack>> {
        if layers.is_empty() {
            return Ok(None);
        }
        let (mut outer, mut inner) = (Vec::new(), Vec::new());
        let mut seen_python = false;
        for spec in layers.iter() {
            let kind: String = spec.cast::<PyTuple>()?.get_item(0)?.extract()?;
            if kind == "python" {
                seen_python = true;
                continue;
            }
            if kind == "gzip" {
                // The server's own compression, around the route (see `serve::add_app`).
                continue;
            }
            let native = Native::from_py(&spec)?;
            if seen_python {
                inner.push(native);
            } else {
                outer.push(native);
            }
        }
        if !seen_python && outer.is_empty() && inner.is_empty() {
            // GZip alone: nothing to run around the routes here.
            return Ok(None);
        }
        let python = match (seen_python, chain) {
            (false, _) => None,
            (true, Some(chain)) => Some(chain),
            (true, None) => {
                return Err(PyTypeError::new_err(
                    "an app with Python middleware needs its chain",
                ))
            }
        };
        let py = layers.py();
        let to_python = match python {
            Some(_) => Some(
                py.import("fasterapi.middleware")?
                    .getattr("_response_from")?
                    .unbind(),
            ),
            None => None,
        };
        Ok(Some(Stack {
            outer,
            python,
            inner,
            to_python,
        }))
    }

    /// Whether Python code runs around each route: then routes run on the event loop
    /// (the middleware is a coroutine), wherever their handlers would run without it.
    pub(crate) fn has_python(&self) -> bool {
        self.python.is_some()
    }

    /// Answers `req` for `route` through the stack.
    pub(crate) fn serve(
        self: &Arc<Self>,
        req: &Request<'_>,
        route: &Arc<PyRoute>,
        shell: &Arc<PyRoute>,
    ) -> Response {
        let amends = match run_before(&self.outer, req) {
            Ok(amends) => amends,
            Err(answer) => return answer,
        };
        let wrapped = Amended {
            req,
            amends: RefCell::new(Some(amends)),
        };
        let response = match &self.python {
            None => route.serve_incoming(&wrapped),
            Some(_) => self.run_python(&wrapped, Target::Route(route.clone()), shell),
        };
        match wrapped.amends.take() {
            Some(amends) => apply(response, amends),
            // Deferred: the reply carries them.
            None => response,
        }
    }

    /// Answers `req` with `miss` inside the stack (a request no route takes, or bytes
    /// built once): `miss` is the answer without middleware, made before the Python
    /// layers run (their innermost `call_next` hands it over).
    pub(crate) fn serve_answer(
        self: &Arc<Self>,
        req: &Request<'_>,
        miss: impl FnOnce(&Request<'_>) -> Response,
        shell: &Arc<PyRoute>,
    ) -> Response {
        let amends = match run_before(&self.outer, req) {
            Ok(amends) => amends,
            Err(answer) => return answer,
        };
        if self.python.is_none() {
            return apply(miss(req), amends);
        }
        // Made first: the Python layers' `call_next` hands it over.
        let answer = match run_before(&self.inner, req) {
            Ok(inner) => apply(miss(req), inner),
            Err(answer) => answer,
        };
        let wrapped = Amended {
            req,
            amends: RefCell::new(Some(amends)),
        };
        let response = self.run_python(&wrapped, Target::Answer(Mutex::new(Some(answer))), shell);
        match wrapped.amends.take() {
            Some(amends) => apply(response, amends),
            None => response,
        }
    }

    /// Runs the Python layers' chain for `req` as a coroutine (answered as an exception
    /// handler's: its value must be a `Response`), `target` at its innermost `call_next`.
    fn run_python(
        self: &Arc<Self>,
        req: &Amended<'_, '_>,
        target: Target,
        shell: &Arc<PyRoute>,
    ) -> Response {
        keep_thread_state();
        Python::attach(|py| {
            let rt = match Runtime::get(py) {
                Ok(rt) => rt,
                Err(e) => return shell.internal_error(py, e),
            };
            let mut cell = RequestCell::new(shell.app.as_ref());
            let result = (|| -> PyResult<Response> {
                let request = cell.get(py, req)?;
                let step = Bound::new(
                    py,
                    CallNext {
                        stack: self.clone(),
                        target,
                    },
                )?;
                // Invariant: `run_python` runs only for a stack with Python layers.
                let chain = self.python.as_ref().expect("a Python chain");
                let coro = chain.bind(py).call1((request, step))?;
                shell.run_coroutine(py, rt, coro, req, &mut cell, None, Stage::ExceptionHandler)
            })();
            result.unwrap_or_else(|e| shell.internal_error(py, e))
        })
    }
}

/// The server's request, with the CORS headers its response gets: if the route defers,
/// its reply takes them (see [`Reply::amend`]).
struct Amended<'a, 'r> {
    req: &'a Request<'r>,
    amends: RefCell<Option<Amends>>,
}

impl Incoming for Amended<'_, '_> {
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.req.path_param(name)
    }
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.req.query_param(name)
    }
    fn query_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.req.query_all(name)
    }
    fn query_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.req.query_items()
    }
    fn header_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.req.header_items()
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        Incoming::header(self.req, name)
    }
    fn header_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.req.header_all(name)
    }
    fn body_bytes(&self) -> &[u8] {
        self.req.body_bytes()
    }
    fn to_py(&self, py: Python<'_>, app: Option<&Py<PyAny>>) -> PyRequest {
        self.req.to_py(py, app)
    }
    fn defer(&self, on_abandon: Box<dyn FnOnce()>) -> Option<Reply> {
        let reply = Incoming::defer(self.req, on_abandon)?;
        Some(match self.amends.take() {
            Some(amends) if !amends.is_empty() => reply.amend(move |response: &mut Response| {
                let taken = std::mem::replace(response, Response::new(StatusCode::OK));
                *response = apply(taken, amends);
            }),
            _ => reply,
        })
    }
    fn can_defer(&self) -> bool {
        Incoming::can_defer(self.req)
    }
}

/// What the innermost `call_next` runs.
enum Target {
    /// A route.
    Route(Arc<PyRoute>),
    /// An answer made already (a request no route takes).
    Answer(Mutex<Option<Response>>),
}

/// The innermost `call_next` of the Python layers, called by the package's chain as
/// `step(request)`: runs the route for `request` (a `Request` object) and returns its
/// `Response` object, or, when the route's coroutine suspends, `(task, finish)`: the
/// chain awaits the task and calls `finish(task)` for the `Response`.
#[pyclass(frozen)]
pub(crate) struct CallNext {
    stack: Arc<Stack>,
    target: Target,
}

#[pymethods]
impl CallNext {
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        request: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rt = Runtime::get(py)?;
        let request = request.cast_into::<PyRequest>().map_err(|_| {
            PyTypeError::new_err("call_next takes the Request object the middleware was given")
        })?;
        let route = match &self.target {
            Target::Answer(answer) => {
                let answer = answer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_else(|| {
                        Response::text("call_next was called twice")
                            .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                    });
                return self.to_python(py, answer);
            }
            Target::Route(route) => route,
        };
        let amends = match run_before(&self.stack.inner, request.get()) {
            Ok(amends) => amends,
            Err(answer) => return self.to_python(py, answer),
        };
        let running = py
            .import("asyncio")?
            .getattr("events")?
            .call_method0("_get_running_loop")?;
        if !route.is_async && !running.is_none() && on_pool(route) {
            // A def handler that may block: on a thread of the loop's executor, as
            // FastAPI runs def endpoints on its thread pool, while the loop goes on.
            let call = Bound::new(
                py,
                BlockingCall {
                    route: route.clone(),
                    request: request.unbind(),
                    amends: Mutex::new(Some(amends)),
                    to_python: self.stack.to_python.as_ref().map(|f| f.clone_ref(py)),
                },
            )?;
            let future = running.call_method1("run_in_executor", (py.None(), call))?;
            let finish = py
                .import("operator")?
                .getattr("methodcaller")?
                .call1(("result",))?;
            return Ok(PyTuple::new(py, [future, finish])?.into_any());
        }
        let view = Owned {
            object: request.clone().into_any(),
            slot: RefCell::new(None),
        };
        let response = route.handle(py, &view);
        // A def handler clears the running loop's mark: the chain goes on on that loop.
        let now = py
            .import("asyncio")?
            .getattr("events")?
            .call_method0("_get_running_loop")?;
        if !now.is(&running) && !running.is_none() {
            crate::aio::mark_running(py, rt, &running)?;
        }
        if let Some((task, finish)) = view.slot.take() {
            let finish = Finish {
                route: route.clone(),
                stage: finish.0,
                temporal: finish.1,
                background: finish.2,
                request: request.unbind(),
                amends: Mutex::new(Some(amends)),
                to_python: self.stack.to_python.as_ref().map(|f| f.clone_ref(py)),
            };
            let finish = Bound::new(py, finish)?.into_any();
            return Ok(PyTuple::new(py, [task.bind(py).clone(), finish])?.into_any());
        }
        self.to_python(py, apply(response, amends))
    }
}

impl CallNext {
    fn to_python<'py>(&self, py: Python<'py>, response: Response) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.stack.to_python.as_ref(), response)
    }
}

/// `response` as the Python `Response` `call_next` returns.
fn to_python<'py>(
    py: Python<'py>,
    helper: Option<&Py<PyAny>>,
    response: Response,
) -> PyResult<Bound<'py, PyAny>> {
    let helper = helper.ok_or_else(|| PyTypeError::new_err("no Python middleware"))?;
    let mut headers: Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> = Vec::new();
    if let Some(t) = response.content_type() {
        headers.push((
            PyBytes::new(py, b"content-type"),
            PyBytes::new(py, t.as_bytes()),
        ));
    }
    for (name, value) in response.headers() {
        headers.push((
            PyBytes::new(py, name.to_ascii_lowercase().as_bytes()),
            PyBytes::new(py, value.as_bytes()),
        ));
    }
    let body = match response.body() {
        Body::File(region) => PyBytes::new(py, &crate::files::region_bytes(region)?),
        other => PyBytes::new(py, other.as_bytes()),
    };
    helper
        .bind(py)
        .call1((response.status().as_u16(), headers, body))
}

/// Whether a `def` route runs on a thread now: `blocking=True`, or while its timed calls
/// keep it on the pool (see `Adaptive`).
fn on_pool(route: &PyRoute) -> bool {
    match (route.blocking, &route.adaptive) {
        (Some(blocking), _) => blocking,
        (None, Some(adaptive)) => adaptive.on_pool.load(std::sync::atomic::Ordering::Relaxed),
        (None, None) => false,
    }
}

/// A `def` route run for `call_next` on a thread of the loop's executor: called there, it
/// returns the route's `Response` object.
#[pyclass(frozen)]
pub(crate) struct BlockingCall {
    route: Arc<PyRoute>,
    request: Py<PyRequest>,
    amends: Mutex<Option<Amends>>,
    to_python: Option<Py<PyAny>>,
}

#[pymethods]
impl BlockingCall {
    fn __call__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let view = Owned {
            object: self.request.bind(py).clone().into_any(),
            slot: RefCell::new(None),
        };
        let response = self.route.handle(py, &view);
        let amends = self
            .amends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        to_python(py, self.to_python.as_ref(), apply(response, amends))
    }
}

/// Turns the outcome of a route's suspended coroutine into the `Response` object
/// `call_next` returns (see [`CallNext`]).
#[pyclass(frozen)]
pub(crate) struct Finish {
    route: Arc<PyRoute>,
    stage: Stage,
    temporal: Option<Py<PyAny>>,
    /// The request's `BackgroundTasks`, scheduled once the route's task is done.
    background: Option<Py<PyAny>>,
    request: Py<PyRequest>,
    amends: Mutex<Option<Amends>>,
    to_python: Option<Py<PyAny>>,
}

#[pymethods]
impl Finish {
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        task: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rt = Runtime::get(py)?;
        let route = &self.route;
        // A cancelled task raises CancelledError into the chain here.
        let out = task.call_method0(pyo3::intern!(py, "result"));
        let view = Owned {
            object: self.request.bind(py).clone().into_any(),
            slot: RefCell::new(None),
        };
        let response = match self.stage {
            Stage::Endpoint => {
                let temporal = self.temporal.as_ref().map(|t| t.bind(py));
                match out.and_then(|out| route.to_response(py, rt, &out, temporal)) {
                    Ok(response) => {
                        if let Some(background) = &self.background {
                            crate::dispatch::schedule_background(background.bind(py))?;
                        }
                        response
                    }
                    Err(e) => {
                        let mut cell = RequestCell::new(route.app.as_ref());
                        route.error_response(py, rt, e, &view, &mut cell)
                    }
                }
            }
            Stage::ExceptionHandler => out
                .and_then(|out| route.handler_response(py, rt, &out))
                .unwrap_or_else(|e| route.internal_error(py, e)),
        };
        let amends = self
            .amends
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default();
        to_python(py, self.to_python.as_ref(), apply(response, amends))
    }
}

/// The suspended task of a route run by `call_next`, with how its value is answered:
/// its stage, temporal response and `BackgroundTasks`.
type Pending = (Py<PyAny>, (Stage, Option<Py<PyAny>>, Option<Py<PyAny>>));

/// A Python `Request` object as the route's [`Incoming`] request, inside the middleware's
/// task: the route reads the object's copy of the request, gets that object itself as
/// its `Request` (so `request.state` is shared with the middleware), and a coroutine of
/// its that suspends is handed back to `call_next` rather than deferred.
pub(crate) struct Owned<'py> {
    object: Bound<'py, PyAny>,
    slot: RefCell<Option<Pending>>,
}

impl Owned<'_> {
    fn request(&self) -> &PyRequest {
        // Invariant: made from a `PyRequest` (see `CallNext::__call__`, `Finish`).
        self.object
            .cast::<PyRequest>()
            .expect("a Request object")
            .get()
    }
}

impl Incoming for Owned<'_> {
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.request().path_param_str(name).map(Cow::Borrowed)
    }
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_items()
            .into_iter()
            .rfind(|(k, _)| k == name)
            .map(|(_, v)| Cow::Owned(v.into_owned()))
    }
    fn query_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.query_items()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Cow::Owned(v.into_owned()))
            .collect()
    }
    fn query_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        let Some(query) = self.request().query_str() else {
            return Vec::new();
        };
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (form_decode(k), form_decode(v))
            })
            .collect()
    }
    fn header_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.request()
            .header_pairs()
            .map(|(n, v)| (latin1(n), latin1(v)))
            .collect()
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        Heads::header(self.request(), name)
    }
    fn header_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.request()
            .header_pairs()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| latin1(v))
            .collect()
    }
    fn body_bytes(&self) -> &[u8] {
        self.request().body_slice()
    }
    fn to_py(&self, _py: Python<'_>, _app: Option<&Py<PyAny>>) -> PyRequest {
        // Never called: `py_object` gives the object itself.
        unreachable!("the middleware's request is its own object")
    }
    fn py_object(&self) -> Option<&Bound<'_, PyAny>> {
        Some(&self.object)
    }
    fn keeps_tasks(&self) -> bool {
        true
    }
    fn keep_task(
        &self,
        task: &Bound<'_, PyAny>,
        stage: Stage,
        temporal: Option<&Bound<'_, PyAny>>,
        background: Option<Bound<'_, PyAny>>,
    ) -> bool {
        *self.slot.borrow_mut() = Some((
            task.clone().unbind(),
            (
                stage,
                temporal.map(|t| t.clone().unbind()),
                background.map(Bound::unbind),
            ),
        ));
        true
    }
}

/// A query string component, `+` as a space and percent-decoded (invalid UTF-8
/// replaced), as Starlette's `parse_qsl`.
fn form_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The answer of the server's own router to a request no route takes, for a stack
/// around it: FastAPI's 404 and 405.
pub(crate) fn default_miss(why: NoRoute<'_>) -> Response {
    match why {
        NoRoute::NotFound => Response::json(|o| {
            o.field("detail", "Not Found");
        })
        .with_status(StatusCode::NOT_FOUND),
        NoRoute::MethodNotAllowed(allow) => Response::json(|o| {
            o.field("detail", "Method Not Allowed");
        })
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
        .with_header("allow", allow.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_starlette_parses_them() {
        assert_eq!(host_of("example.com"), Some("example.com"));
        assert_eq!(host_of("example.com:8000"), Some("example.com"));
        assert_eq!(host_of("[::1]:8000"), Some("[::1]"));
        assert_eq!(host_of("[zz]:8000"), None);
        assert_eq!(host_of("exa mple.com"), None);
        assert_eq!(host_of("example.com:x"), None);
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%21"), "a b!");
        assert_eq!(form_decode("%zz"), "%zz");
        assert_eq!(form_decode("%4"), "%4");
        assert_eq!(form_decode("plain"), "plain");
    }
}

/// `_check_middleware(layers)`: raises what serving the native layers among `layers`
/// would raise (a bad `allow_origin_regex`, say), so that `add_middleware` does.
#[pyfunction]
#[pyo3(name = "_check_middleware")]
pub(crate) fn check_middleware(layers: &Bound<'_, PyList>) -> PyResult<()> {
    for spec in layers.iter() {
        let kind: String = spec.cast::<PyTuple>()?.get_item(0)?.extract()?;
        if kind != "python" && kind != "gzip" {
            Native::from_py(&spec)?;
        }
    }
    Ok(())
}
