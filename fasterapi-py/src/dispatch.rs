//! Calling a Python handler for a request and turning what it returns or raises into a
//! response.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use fasterapi_http::{Request, Response, StatusCode};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyType};

use crate::json::write_value;
use crate::plan::{Incoming, Plan};

/// The Python package's classes and helpers, registered once by `_setup`.
pub(crate) struct Runtime {
    http_exception: Py<PyType>,
    response: Py<PyType>,
    pub(crate) validation_error: Option<Py<PyType>>,
    pub(crate) jsonable: Py<PyAny>,
    pub(crate) validation_detail: Py<PyAny>,
    finish: Py<PyAny>,
    pub(crate) ready: Py<PyAny>,
    pub(crate) headers: Py<PyAny>,
    pub(crate) json_loads: Py<PyAny>,
    set_running_loop: Py<PyAny>,
    new_event_loop: Py<PyAny>,
}

static RUNTIME: PyOnceLock<Runtime> = PyOnceLock::new();

impl Runtime {
    /// The registered runtime; an error until the `fasterapi` package was imported.
    pub(crate) fn get(py: Python<'_>) -> PyResult<&'static Runtime> {
        RUNTIME.get(py).ok_or_else(|| {
            PyRuntimeError::new_err("fasterapi._fasterapi used before `import fasterapi`")
        })
    }
}

/// `_setup(**helpers)`: called once by the `fasterapi` package at import.
#[pyfunction]
#[pyo3(name = "_setup", signature = (**helpers))]
pub(crate) fn setup(py: Python<'_>, helpers: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    let helpers = helpers.ok_or_else(|| PyTypeError::new_err("_setup needs keyword arguments"))?;
    let get = |name: &str| -> PyResult<Bound<'_, PyAny>> {
        helpers
            .get_item(name)?
            .ok_or_else(|| PyTypeError::new_err(format!("_setup: missing {name}")))
    };
    let asyncio = py.import("asyncio")?;
    let validation_error = get("ValidationError")?;
    let rt = Runtime {
        http_exception: get("HTTPException")?.cast_into::<PyType>()?.unbind(),
        response: get("Response")?.cast_into::<PyType>()?.unbind(),
        validation_error: if validation_error.is_none() {
            None
        } else {
            Some(validation_error.cast_into::<PyType>()?.unbind())
        },
        jsonable: get("jsonable")?.unbind(),
        validation_detail: get("validation_detail")?.unbind(),
        finish: get("finish")?.unbind(),
        ready: get("ready")?.unbind(),
        headers: get("headers")?.unbind(),
        json_loads: py.import("json")?.getattr("loads")?.unbind(),
        set_running_loop: asyncio
            .getattr("events")?
            .getattr("_set_running_loop")?
            .unbind(),
        new_event_loop: asyncio.getattr("new_event_loop")?.unbind(),
    };
    // A second import of the package (a reload) keeps the first registration.
    let _ = RUNTIME.set(py, rt);
    Ok(())
}

/// A Python route, ready to serve.
pub(crate) struct PyRoute {
    handler: Py<PyAny>,
    is_async: bool,
    plan: Plan,
    status: StatusCode,
    /// `METHOD /pattern`, for logs.
    label: String,
}

impl PyRoute {
    /// Compiles one entry of `FasterAPI.routes`:
    /// `(method, path, handler, is_async, plan, blocking, status_code)`.
    pub(crate) fn from_py(
        entry: &Bound<'_, PyAny>,
    ) -> PyResult<(String, String, bool, Arc<PyRoute>)> {
        let (method, path, handler, is_async, plan, blocking, status): (
            String,
            String,
            Py<PyAny>,
            bool,
            Bound<'_, PyAny>,
            bool,
            u16,
        ) = entry.extract()?;
        let status = StatusCode::from_u16(status).ok_or_else(|| {
            PyTypeError::new_err(format!("{method} {path}: bad status_code {status}"))
        })?;
        let route = PyRoute {
            handler,
            is_async,
            plan: Plan::from_py(&plan)?,
            status,
            label: format!("{method} {path}"),
        };
        Ok((method, path, blocking, Arc::new(route)))
    }

    /// Answers `req`: runs on the thread that serves the request, attaching to the
    /// interpreter for the call.
    pub(crate) fn serve(&self, req: &Request<'_>) -> Response {
        self.serve_incoming(req)
    }

    /// [`PyRoute::serve`] for any [`Incoming`] request.
    pub(crate) fn serve_incoming(&self, req: &impl Incoming) -> Response {
        keep_thread_state();
        Python::attach(|py| self.handle(py, req))
    }

    /// Answers `req` while attached.
    pub(crate) fn handle(&self, py: Python<'_>, req: &impl Incoming) -> Response {
        let rt = match Runtime::get(py) {
            Ok(rt) => rt,
            Err(e) => return self.internal_error(py, e),
        };
        let result = self
            .plan
            .arguments(py, rt, req, self.is_async)
            .and_then(|args| match args {
                Err(errors) => {
                    let body = PyDict::new(py);
                    body.set_item("detail", errors)?;
                    Ok(json_response(py, rt, body.as_any())?
                        .with_status(StatusCode::UNPROCESSABLE_ENTITY))
                }
                Ok(args) => {
                    let out = if self.is_async {
                        let coro = self.handler.bind(py).call1(args)?;
                        drive(py, rt, coro)?
                    } else {
                        unmark_loop_running(py, rt)?;
                        self.handler.bind(py).call1(args)?
                    };
                    self.to_response(py, rt, &out)
                }
            });
        match result {
            Ok(resp) => resp,
            Err(e) => self.error_response(py, rt, e),
        }
    }

    /// What a handler's return value is answered with.
    fn to_response(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<Response> {
        // The common case first: a plain dict or list.
        if out.cast_exact::<PyDict>().is_ok() || out.cast_exact::<pyo3::types::PyList>().is_ok() {
            return Ok(json_response(py, rt, out)?.with_status(self.status));
        }
        if let Ok(b) = out.cast_exact::<PyBytes>() {
            return Ok(Response::new(self.status)
                .with_content_type("application/octet-stream")
                .with_body_copied(b.as_bytes()));
        }
        if out.is_instance(rt.response.bind(py))? {
            return response_object(out);
        }
        Ok(json_response(py, rt, out)?.with_status(self.status))
    }

    /// What an exception raised while answering is answered with.
    fn error_response(&self, py: Python<'_>, rt: &Runtime, e: PyErr) -> Response {
        if e.is_instance(py, rt.http_exception.bind(py)) {
            match http_exception(py, rt, e.value(py)) {
                Ok(resp) => return resp,
                Err(e2) => return self.internal_error(py, e2),
            }
        }
        self.internal_error(py, e)
    }

    /// Logs the traceback and answers 500.
    fn internal_error(&self, py: Python<'_>, e: PyErr) -> Response {
        crate::serve::log_line(&format!("exception in handler of {}:", self.label));
        e.display(py);
        Response::text("Internal Server Error").with_status(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// `obj` as a JSON response.
fn json_response(py: Python<'_>, rt: &Runtime, obj: &Bound<'_, PyAny>) -> PyResult<Response> {
    Response::json_with(|buf| write_value(py, rt, buf, obj, 0))
}

/// `{"detail": ...}` with the status and headers of an `HTTPException`.
fn http_exception(
    py: Python<'_>,
    rt: &Runtime,
    exc: &Bound<'_, pyo3::exceptions::PyBaseException>,
) -> PyResult<Response> {
    let status: u16 = exc.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let status = StatusCode::from_u16(status)
        .ok_or_else(|| PyTypeError::new_err(format!("HTTPException: bad status_code {status}")))?;
    let body = PyDict::new(py);
    body.set_item("detail", exc.getattr(pyo3::intern!(py, "detail"))?)?;
    let mut resp = json_response(py, rt, body.as_any())?.with_status(status);
    let headers = exc.getattr(pyo3::intern!(py, "headers"))?;
    if !headers.is_none() {
        resp = add_headers(resp, &headers)?;
    }
    Ok(resp)
}

/// A `fasterapi.Response` (or subclass) as it is.
fn response_object(obj: &Bound<'_, PyAny>) -> PyResult<Response> {
    let py = obj.py();
    let status: u16 = obj.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let status = StatusCode::from_u16(status)
        .ok_or_else(|| PyTypeError::new_err(format!("Response: bad status_code {status}")))?;
    let body = obj.getattr(pyo3::intern!(py, "body"))?;
    let body = body
        .cast::<PyBytes>()
        .map_err(|_| PyTypeError::new_err("Response.body must be bytes"))?;
    let mut resp = Response::new(status).with_body_copied(body.as_bytes());
    let media_type = obj.getattr(pyo3::intern!(py, "media_type"))?;
    if let Ok(mt) = media_type.cast::<PyString>() {
        resp = resp.with_content_type(content_type(mt.to_str()?));
    }
    let headers = obj.getattr(pyo3::intern!(py, "headers"))?;
    if !headers.is_none() {
        resp = add_headers(resp, &headers)?;
    }
    Ok(resp)
}

/// The `Content-Type` for a `Response.media_type`: `text/*` gets `; charset=utf-8` unless
/// it names a charset. The classes' own types need no allocation.
fn content_type(media_type: &str) -> Cow<'static, str> {
    match media_type {
        "text/plain" => Cow::Borrowed(Response::TEXT_PLAIN),
        "text/html" => Cow::Borrowed(Response::TEXT_HTML),
        "application/json" => Cow::Borrowed(Response::APPLICATION_JSON),
        t if t.starts_with("text/") && !t.contains("charset") => {
            Cow::Owned(format!("{t}; charset=utf-8"))
        }
        t => Cow::Owned(t.to_owned()),
    }
}

/// Adds every `(name, value)` of a mapping.
fn add_headers(mut resp: Response, headers: &Bound<'_, PyAny>) -> PyResult<Response> {
    let items = headers.call_method0(pyo3::intern!(headers.py(), "items"))?;
    for item in items.try_iter()? {
        let (name, value): (String, String) = item?.extract()?;
        if name.eq_ignore_ascii_case("content-type") {
            resp = resp.with_content_type(value);
        } else {
            resp = resp.with_header(name, value);
        }
    }
    Ok(resp)
}

thread_local! {
    /// Whether this thread keeps a Python thread state for its whole life.
    static KEPT: Cell<bool> = const { Cell::new(false) };
    /// This thread's event loop for coroutines that really suspend.
    static EVENT_LOOP: RefCell<Option<Py<PyAny>>> = const { RefCell::new(None) };
    /// Whether this thread's event loop is marked running (see [`drive`]).
    static LOOP_MARKED: Cell<bool> = const { Cell::new(false) };
}

/// Gives this thread a Python thread state it keeps for its whole life, so that each
/// later `Python::attach` only takes the GIL instead of creating and destroying a thread
/// state (~0.5 µs). Does nothing on a thread that is attached already.
pub(crate) fn keep_thread_state() {
    if KEPT.with(Cell::get) {
        return;
    }
    KEPT.with(|k| k.set(true));
    // SAFETY: the interpreter is initialized (the routes were compiled by it). If this
    // thread holds the GIL already, nothing is done. Otherwise `PyGILState_Ensure`
    // creates this thread's state and takes the GIL, and `PyEval_SaveThread` releases
    // the GIL while leaving the state's gilstate counter at 1, so the state outlives
    // every later `PyGILState_Ensure`/`PyGILState_Release` pair (those pyo3 makes).
    unsafe {
        if ffi::PyGILState_Check() == 0 {
            ffi::PyGILState_Ensure();
            ffi::PyEval_SaveThread();
        }
    }
}

/// Runs a handler's coroutine to completion.
///
/// It is sent `None` once while this thread's event loop is marked running (so
/// `asyncio.get_running_loop()` works inside); a coroutine that returns then needed no
/// loop. One that suspends is finished by `run_until_complete` on that loop.
///
/// Marking a loop running costs a few hundred nanoseconds, so the mark stays between
/// async handlers and is only removed before a sync handler runs (which may start a loop
/// of its own, `asyncio.run`) or before the loop runs. Tasks a coroutine spawns without
/// awaiting them run the next time this thread's loop runs.
fn drive<'py>(
    py: Python<'py>,
    rt: &Runtime,
    coro: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let event_loop = EVENT_LOOP.with(|l| -> PyResult<Py<PyAny>> {
        let mut l = l.borrow_mut();
        if let Some(lp) = l.as_ref() {
            return Ok(lp.clone_ref(py));
        }
        let lp = rt.new_event_loop.bind(py).call0()?.unbind();
        *l = Some(lp.clone_ref(py));
        Ok(lp)
    })?;
    let event_loop = event_loop.bind(py);
    if !LOOP_MARKED.with(Cell::get) {
        rt.set_running_loop.bind(py).call1((event_loop,))?;
        LOOP_MARKED.with(|m| m.set(true));
    }
    let mut result: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: attached (`py`); `coro` and `Py_None` are valid objects for the call, and
    // `result` is a valid out-pointer that receives a new reference unless -1 is returned.
    let status = unsafe { ffi::PyIter_Send(coro.as_ptr(), ffi::Py_None(), &mut result) };
    if status == ffi::PySendResult::PYGEN_ERROR {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: not an error, so `result` holds a new reference (the return value or the
    // yielded object).
    let value = unsafe { Bound::from_owned_ptr(py, result) };
    if status == ffi::PySendResult::PYGEN_RETURN {
        return Ok(value);
    }
    unmark_loop_running(py, rt)?;
    let task = rt.finish.bind(py).call1((coro, value))?;
    event_loop.call_method1(pyo3::intern!(py, "run_until_complete"), (task,))
}

/// Clears this thread's "event loop running" mark if an async handler left it.
fn unmark_loop_running(py: Python<'_>, rt: &Runtime) -> PyResult<()> {
    if LOOP_MARKED.with(Cell::get) {
        LOOP_MARKED.with(|m| m.set(false));
        rt.set_running_loop.bind(py).call1((py.None(),))?;
    }
    Ok(())
}
