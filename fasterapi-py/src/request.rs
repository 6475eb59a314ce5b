//! The `Request` object handlers receive when they declare `request: Request`.

use fasterapi_http::Request;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::dispatch::Runtime;

/// An HTTP request, as a Python object (`fasterapi.Request`).
///
/// Built only for handlers that ask for it: it owns a copy of the request's parts (the
/// server's view borrows the connection buffer, which a Python object may outlive), and
/// makes Python objects only when an attribute is read.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "Request")]
#[derive(Clone)]
pub(crate) struct PyRequest {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    params: Vec<(String, String)>,
    query_params: Vec<(String, String)>,
    body: Vec<u8>,
    /// `body()`/`json()` return awaitables in an `async def` handler.
    in_async: bool,
}

impl PyRequest {
    /// Copies what the Python object needs out of `req`.
    pub(crate) fn new(req: &Request<'_>, in_async: bool) -> PyRequest {
        PyRequest {
            method: req.method().as_str(),
            path: req.path_decoded().into_owned(),
            query: req.query_string().map(str::to_owned),
            headers: req
                .headers()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                .collect(),
            params: req
                .params()
                .iter()
                .map(|(n, _)| (n.to_owned(), req.param::<String>(n).unwrap_or_default()))
                .collect(),
            query_params: req
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body: req.body().to_vec(),
            in_async,
        }
    }

    /// A request from its parts (the dispatch micro bench's requests).
    pub(crate) fn from_parts(
        path: &str,
        query: Option<&str>,
        body: &[u8],
        in_async: bool,
    ) -> PyRequest {
        PyRequest {
            method: "GET",
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: Vec::new(),
            params: Vec::new(),
            query_params: Vec::new(),
            body: body.to_vec(),
            in_async,
        }
    }

    /// A copy for a handler that is (`in_async`) or is not an `async def`.
    pub(crate) fn with_async(&self, in_async: bool) -> PyRequest {
        PyRequest {
            in_async,
            ..self.clone()
        }
    }

    /// `value`, wrapped in an already-done awaitable inside `async def` handlers.
    fn maybe_awaitable<'py>(
        &self,
        py: Python<'py>,
        value: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.in_async {
            Runtime::get(py)?.ready.bind(py).call1((value,))
        } else {
            Ok(value)
        }
    }
}

#[pymethods]
impl PyRequest {
    /// The method, `"GET"`.
    #[getter]
    fn method(&self) -> &'static str {
        self.method
    }

    /// The path, percent-decoded, without the query.
    #[getter]
    fn path(&self) -> &str {
        &self.path
    }

    /// The raw request target: path and query.
    #[getter]
    fn url(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.path, q),
            None => self.path.clone(),
        }
    }

    /// The raw query string (`""` if none).
    #[getter]
    fn query_string(&self) -> &str {
        self.query.as_deref().unwrap_or("")
    }

    /// The query parameters, decoded: the first value of each name.
    #[getter]
    fn query_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.query_params {
            if !d.contains(k)? {
                d.set_item(k, v)?;
            }
        }
        Ok(d)
    }

    /// The headers (a `fasterapi.Headers`: a dict of lower-case names whose look-ups
    /// ignore case); repeated fields are joined with `", "`. Values are decoded as
    /// Latin-1, as HTTP defines.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        for (name, value) in &self.headers {
            let value: String = value.iter().map(|&b| b as char).collect();
            match d.get_item(name)? {
                Some(prev) => {
                    d.set_item(name, format!("{}, {}", prev.extract::<String>()?, value))?
                }
                None => d.set_item(name, value)?,
            }
        }
        Runtime::get(py)?.headers.bind(py).call1((d,))
    }

    /// The path parameters, decoded.
    #[getter]
    fn path_params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.params {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// The body as bytes (awaitable in an `async def` handler, as in FastAPI).
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.maybe_awaitable(py, PyBytes::new(py, &self.body).into_any())
    }

    /// The body parsed as JSON (awaitable in an `async def` handler, as in FastAPI).
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rt = Runtime::get(py)?;
        let value = rt
            .json_loads
            .bind(py)
            .call1((PyBytes::new(py, &self.body),))?;
        self.maybe_awaitable(py, value)
    }

    fn __repr__(&self) -> String {
        format!("<Request {} {}>", self.method, self.url())
    }
}
