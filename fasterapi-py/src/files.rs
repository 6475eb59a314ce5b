//! Files in the Python package: `FileResponse` objects sent by the core (`sendfile(2)`,
//! validators, conditional requests, ranges) and `StaticFiles` mounts served by the core's
//! static directories, with no Python per request.

use std::borrow::Cow;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use fasterapi_http::files::{apply_conditions, Conditions};
use fasterapi_http::{
    App, Body, FileRegion, FileResponse, Request, Response, StaticDir, StatusCode,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple, PyType};

use crate::dispatch::PyRoute;
use crate::middleware::Stack;
use crate::plan::Incoming;

static FILE_RESPONSE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `fasterapi.responses.FileResponse`.
fn file_response_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    FILE_RESPONSE
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(
                py.import("fasterapi.responses")?
                    .getattr("FileResponse")?
                    .cast_into::<PyType>()?
                    .unbind(),
            )
        })
        .map(|t| t.bind(py))
}

/// The response for a `Response` object without a `body`: a `FileResponse`, opened and
/// sent whole (its request's conditions are applied later, by [`with_conditions`]);
/// anything else is the error `missing` (reading `body` failed).
pub(crate) fn bodiless_response(obj: &Bound<'_, PyAny>, missing: PyErr) -> PyResult<Response> {
    let py = obj.py();
    if !obj.is_instance(file_response_type(py)?)? {
        return Err(missing);
    }
    let path: PathBuf = obj.getattr(pyo3::intern!(py, "path"))?.extract()?;
    let file = FileResponse::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            PyRuntimeError::new_err(format!("File at path {} does not exist.", path.display()))
        }
        io::ErrorKind::InvalidInput => {
            PyRuntimeError::new_err(format!("File at path {} is not a file.", path.display()))
        }
        _ => PyErr::from(e),
    })?;
    let status: u16 = obj.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let status = StatusCode::from_u16(status)
        .ok_or_else(|| PyTypeError::new_err(format!("Response: bad status_code {status}")))?;
    let mut file = file.with_status(status);
    let raw = obj.getattr(pyo3::intern!(py, "raw_headers"))?;
    let raw = raw
        .cast::<PyList>()
        .map_err(|_| PyTypeError::new_err("Response.raw_headers must be a list"))?;
    for item in raw.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err("Response.raw_headers must hold (name, value) byte pairs")
        })?;
        let (name, value): (Bound<'_, PyBytes>, Bound<'_, PyBytes>) = pair.extract()?;
        let (name, value) = (latin1(name.as_bytes()), latin1(value.as_bytes()));
        if name.eq_ignore_ascii_case("content-length") {
            // The file's own length is sent.
            continue;
        }
        if name.eq_ignore_ascii_case("content-type") {
            file = file.with_content_type(value);
        } else {
            file = file.with_header(name, value);
        }
    }
    let background = obj.getattr(pyo3::intern!(py, "background"))?;
    if !background.is_none() {
        crate::dispatch::schedule_background(&background)?;
    }
    Ok(fasterapi_http::IntoResponse::into_response(file))
}

fn latin1(v: &[u8]) -> String {
    v.iter().map(|&b| char::from(b)).collect()
}

/// `response` answered to `req` (a request for a route of `method_label`, `GET /path`
/// and the like): a whole-file response becomes the `304`, `206` or `416` the request's
/// conditional and range headers call for. Any other response is returned at once.
#[inline]
pub(crate) fn with_conditions(response: Response, req: &impl Incoming, label: &str) -> Response {
    if !matches!(response.body(), Body::File(_)) {
        return response;
    }
    match OwnedConditions::of(req, label) {
        Some(c) => apply_conditions(response, &c.as_conditions()),
        None => response,
    }
}

/// A request's conditional and range headers, kept for an answer that comes later (a
/// suspended coroutine's).
#[derive(Debug)]
pub(crate) struct OwnedConditions {
    get_or_head: bool,
    range: Option<String>,
    if_range: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
}

impl OwnedConditions {
    /// The conditions of `req`; `None` when it has none of the headers.
    pub(crate) fn of(req: &impl Incoming, label: &str) -> Option<Box<OwnedConditions>> {
        let get = |name: &str| req.header(name).map(Cow::into_owned);
        let c = OwnedConditions {
            get_or_head: label.starts_with("GET ") || label.starts_with("HEAD "),
            range: get("range"),
            if_range: get("if-range"),
            if_none_match: get("if-none-match"),
            if_modified_since: get("if-modified-since"),
        };
        let any = c.range.is_some() || c.if_none_match.is_some() || c.if_modified_since.is_some();
        any.then(|| Box::new(c))
    }

    fn as_conditions(&self) -> Conditions<'_> {
        Conditions {
            get_or_head: self.get_or_head,
            range: self.range.as_deref(),
            if_range: self.if_range.as_deref(),
            if_none_match: self.if_none_match.as_deref(),
            if_modified_since: self.if_modified_since.as_deref(),
        }
    }

    /// `response` with these conditions applied (see [`with_conditions`]).
    pub(crate) fn apply(this: Option<&OwnedConditions>, response: Response) -> Response {
        match this {
            Some(c) if matches!(response.body(), Body::File(_)) => {
                apply_conditions(response, &c.as_conditions())
            }
            _ => response,
        }
    }
}

/// A `StaticFiles` mount as the package describes it: `(path, directory, html,
/// follow_symlink)`.
pub(crate) type StaticMount = (String, String, bool, bool);

/// Serves each mount from the core's static directories (see [`StaticDir`]): with no
/// Python per request, inside the app's native middleware layers (CORS, trusted hosts,
/// HTTPS redirect) if it has some. An app with Python middleware runs it for its static
/// files too, as Starlette does (`call_next` gets the file's bytes): only then does a
/// static request enter Python.
pub(crate) fn add_static_mounts(
    app: &mut App,
    mounts: &[StaticMount],
    stack: Option<&Arc<Stack>>,
    shell: &Arc<PyRoute>,
) -> PyResult<()> {
    for (path, directory, html, follow_symlink) in mounts {
        let dir = StaticDir::new(directory).map_err(|e| {
            PyRuntimeError::new_err(match e.kind() {
                io::ErrorKind::NotFound => {
                    format!("StaticFiles directory '{directory}' does not exist.")
                }
                io::ErrorKind::InvalidInput => {
                    format!("StaticFiles path '{directory}' is not a directory.")
                }
                _ => format!("StaticFiles directory '{directory}': {e}"),
            })
        })?;
        let dir = dir.html(*html).follow_symlinks(*follow_symlink);
        let Some(stack) = stack.cloned() else {
            app.static_dir(path, dir);
            continue;
        };
        let pattern = format!("{}/{{*path}}", path.trim_end_matches('/'));
        let serve = move |req: &Request<'_>| dir.serve(req, req.param_str("path").unwrap_or(""));
        let shell = shell.clone();
        app.get(&pattern, move |req: &Request<'_>| {
            stack.serve_answer(req, &serve, &shell)
        });
    }
    Ok(())
}

/// The bytes of a file body, for the Python middleware's `call_next`, which hands the
/// response to Python (Starlette's gives it the body as it is sent).
pub(crate) fn region_bytes(region: &FileRegion) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(region.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large"))?;
    let mut buf = vec![0; len];
    region.file().read_exact_at(&mut buf, region.offset())?;
    Ok(buf)
}
