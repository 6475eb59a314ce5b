//! Calling a Python handler for a request and turning what it returns or raises into a
//! response.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fasterapi_http::{Method, Reply, Request, Response, StatusCode};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFrozenSet, PyList, PyString, PyTuple, PyType};

use crate::aio;
use crate::built::BuiltRoute;
use crate::errors::AppErrors;
use crate::json::{write_fields, write_shaped, write_value, Shape};
use crate::plan::{Incoming, ParamSpec, Plan};
use crate::request::RequestCell;
use crate::testing::Unhandled;

/// The Python package's classes and helpers, registered once by `_setup`.
pub(crate) struct Runtime {
    /// `StarletteHTTPException`, the base of every `HTTPException`.
    pub(crate) http_exception: Py<PyType>,
    pub(crate) response: Py<PyType>,
    pub(crate) validation_error: Option<Py<PyType>>,
    pub(crate) jsonable: Py<PyAny>,
    pub(crate) validation_detail: Py<PyAny>,
    pub(crate) json_loads: Py<PyAny>,
    pub(crate) set_running_loop: Py<PyAny>,
    /// `_new_loop(driven) -> (loop, fd)`.
    pub(crate) new_loop: Py<PyAny>,
    /// `_start(coro, loop) -> task`: a task that has taken its first step.
    pub(crate) start: Py<PyAny>,
    /// `_turn(loop) -> seconds | None`: one iteration of the loop, and when it is next due.
    pub(crate) turn: Py<PyAny>,
    /// `_close_loop(loop, timeout)`.
    pub(crate) close_loop: Py<PyAny>,
    /// `_temporal_response()`: the `response: Response` a handler receives.
    pub(crate) temporal_response: Py<PyAny>,
    /// `_response_validation_error(exc, body)`: FastAPI's `ResponseValidationError` for
    /// pydantic's `ValidationError` of a returned value.
    response_validation_error: Py<PyAny>,
    /// pydantic's `BaseModel`, if pydantic is installed.
    pub(crate) base_model: Option<Py<PyType>>,
    /// `("by_alias",)`.
    by_alias_kwnames: Py<PyTuple>,
}

impl Runtime {
    /// The JSON of a pydantic model as FastAPI's `jsonable_encoder` makes it
    /// (`model_dump(mode="json", by_alias=True)`), written by pydantic's own serializer
    /// (`__pydantic_serializer__.to_json(model, by_alias=True)`: the same values, in one
    /// pass); `None` if `obj` is no model.
    pub(crate) fn model_json<'py>(
        &self,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let py = obj.py();
        let Some(base) = &self.base_model else {
            return Ok(None);
        };
        if !obj.is_instance(base.bind(py))? {
            return Ok(None);
        }
        let serializer = obj.getattr(pyo3::intern!(py, "__pydantic_serializer__"))?;
        let to_json = serializer.getattr(pyo3::intern!(py, "to_json"))?;
        let json = call_with_keyword(&to_json, obj, self.by_alias_kwnames.bind(py), true)?;
        Ok(Some(json.cast_into::<PyBytes>().map_err(|_| {
            PyTypeError::new_err("__pydantic_serializer__.to_json must return bytes")
        })?))
    }
}

/// `func(arg, <keyword>=flag)`, the one keyword named by `kwnames` given in the vector
/// call itself: a kwargs dict per call costs more than the rest of the call.
pub(crate) fn call_with_keyword<'py>(
    func: &Bound<'py, PyAny>,
    arg: &Bound<'py, PyAny>,
    kwnames: &Bound<'py, PyTuple>,
    flag: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = func.py();
    let flag = PyBool::new(py, flag);
    let args = [arg.as_ptr(), flag.as_ptr()];
    // SAFETY: `args` holds the one positional argument and the value of the one keyword
    // `kwnames` names (the caller passes a tuple of one str), as borrowed references that
    // outlive the call. `PyObject_Vectorcall` returns a new reference, or NULL with an
    // exception set, which `from_owned_ptr_or_err` takes over.
    unsafe {
        let result = ffi::PyObject_Vectorcall(func.as_ptr(), args.as_ptr(), 1, kwnames.as_ptr());
        Bound::from_owned_ptr_or_err(py, result)
    }
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
        json_loads: py.import("json")?.getattr("loads")?.unbind(),
        set_running_loop: asyncio
            .getattr("events")?
            .getattr("_set_running_loop")?
            .unbind(),
        new_loop: get("new_loop")?.unbind(),
        start: get("start")?.unbind(),
        turn: get("turn")?.unbind(),
        close_loop: get("close_loop")?.unbind(),
        temporal_response: get("temporal_response")?.unbind(),
        response_validation_error: get("response_validation_error")?.unbind(),
        base_model: {
            let base = get("BaseModel")?;
            if base.is_none() {
                None
            } else {
                Some(base.cast_into::<PyType>()?.unbind())
            }
        },
        by_alias_kwnames: PyTuple::new(py, ["by_alias"])?.unbind(),
    };
    // A second import of the package (a reload) keeps the first registration.
    let _ = RUNTIME.set(py, rt);
    Ok(())
}

/// A Python route, ready to serve.
pub(crate) struct PyRoute {
    /// What the route calls, and with what.
    target: Target,
    /// The route runs on the event loop (as registered: placed by the server so).
    pub(crate) is_async: bool,
    status: StatusCode,
    /// How what the handler returns becomes the response.
    output: Output,
    /// `METHOD /pattern`, for logs.
    pub(crate) label: String,
    /// `blocking=True` (the pool), `False` (inline) or unset (see [`Adaptive`]).
    pub(crate) blocking: Option<bool>,
    /// For a `def` handler without `blocking=`: where it runs, learnt from its calls.
    pub(crate) adaptive: Option<Adaptive>,
    /// Where the exceptions answered 500 go instead of the log: the test client's, which
    /// raises them in the test (`raise_server_exceptions`). `None` when serving.
    pub(crate) unhandled: Option<Arc<Unhandled>>,
    /// The application object (`request.app`); `None` in the dispatch micro bench.
    pub(crate) app: Option<Py<PyAny>>,
    /// The app's exception handlers (see `errors.rs`).
    pub(crate) errors: Arc<AppErrors>,
    /// For a route with dependencies: its recompilation when dependency overrides change.
    overridable: Option<Overridable>,
}

/// What a coroutine run for a request is: the route's handler, or an exception
/// handler answering what the route's handler raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Its value is answered as a handler's; its exception goes to the exception handlers.
    Endpoint,
    /// Its value must be a `Response`; its exception answers 500.
    ExceptionHandler,
}

/// How a route turns what its handler returns (other than a `Response` object, sent as
/// it is) into a response.
enum Output {
    /// No response model, the default response class: a dict or a list walked into JSON,
    /// other values converted as FastAPI's `jsonable_encoder` first.
    Plain,
    /// A response model with the default response class: see [`ModelOutput`].
    Model(Box<ModelOutput>),
    /// Another response class: `render(value, status)` makes the `Response` object
    /// (`status` is the temporal response's, or `None`).
    Render(Py<PyAny>),
}

/// A response model's validation and JSON, as FastAPI's: pydantic's
/// `validate_python(value, from_attributes=True)` (a `ValidationError` is FastAPI's
/// `ResponseValidationError`, a 500), then pydantic's JSON of the validated value
/// (`to_json` with the route's `by_alias`, `include`, `exclude`, `exclude_*`).
///
/// Two shortcuts give the same bytes for less work: a model whose JSON is its fields'
/// native values (its [`Shape`]) is written by the Rust walker from the validated
/// model's `__dict__`; and a plain `dict`, `list` or `Any` model (`-> dict`) takes a
/// value of that exact type as it is, without pydantic's copy. A value either shortcut
/// cannot write (a `Decimal` in an `Any` field, a NaN...) goes through pydantic.
struct ModelOutput {
    /// The model's `SchemaValidator.validate_python` (or `TypeAdapter`'s).
    validate: Py<PyAny>,
    /// `("from_attributes",)`: the keyword of the validation call.
    validate_kwnames: Py<PyTuple>,
    /// `to_json` with the route's options bound: `serialize(model) -> bytes`.
    serialize: Py<PyAny>,
    /// The model's shape, if the walker writes its JSON.
    shape: Option<Shape>,
    /// With a model shape (or a list of models): the `validate_python` of the model's
    /// fields alone (its `model-fields` core schema), for a `dict` value (or each `dict` of
    /// a list): the field values pydantic checks for the model, without the model object,
    /// which only the walk would read.
    validate_fields: Option<Py<PyAny>>,
    /// For a `dict`, `list` or `Any` model, the type a value passes as it is.
    passthrough: Option<Passthrough>,
}

/// The values a plain container model takes unvalidated (pydantic would only copy them).
#[derive(Clone, Copy)]
enum Passthrough {
    /// `dict`: an exact `dict`.
    Dict,
    /// `list`: an exact `list`.
    List,
    /// `Any`: any value.
    Any,
}

impl Passthrough {
    fn takes(self, value: &Bound<'_, PyAny>) -> bool {
        match self {
            Passthrough::Dict => value.is_exact_instance_of::<PyDict>(),
            Passthrough::List => value.is_exact_instance_of::<PyList>(),
            Passthrough::Any => true,
        }
    }
}

impl ModelOutput {
    /// The JSON body of `value`, or the error to answer with.
    fn json(&self, py: Python<'_>, rt: &Runtime, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        let mut buf = Vec::with_capacity(256);
        if let Some(kind) = self.passthrough {
            if kind.takes(value) && write_shaped(py, rt, &mut buf, value, &Shape::Value, 0).is_ok()
            {
                return Ok(buf);
            }
            buf.clear();
        }
        if let (Some(validate_fields), Some(shape)) = (&self.validate_fields, &self.shape) {
            let validate_fields = validate_fields.bind(py);
            match shape {
                Shape::Model(fields) if value.is_exact_instance_of::<PyDict>() => {
                    // An error is the model's own: answered as it is.
                    match self.write_dict(py, rt, &mut buf, validate_fields, value, fields) {
                        Ok(true) => return Ok(buf),
                        Ok(false) => buf.clear(),
                        Err(e) => return Err(response_validation_error(py, rt, e, value)),
                    }
                }
                Shape::List(items) if value.is_exact_instance_of::<PyList>() => {
                    if let Shape::Model(fields) = items.as_ref() {
                        // An error here has no index in its loc: the list is validated
                        // whole below, which raises FastAPI's.
                        if let Ok(true) =
                            self.write_dicts(py, rt, &mut buf, validate_fields, value, fields)
                        {
                            return Ok(buf);
                        }
                        buf.clear();
                    }
                }
                _ => {}
            }
        }
        let model = match self.validate_from_attributes(value) {
            Ok(model) => model,
            Err(e) => return Err(response_validation_error(py, rt, e, value)),
        };
        if let Some(shape) = &self.shape {
            if write_shaped(py, rt, &mut buf, &model, shape, 0).is_ok() {
                return Ok(buf);
            }
        }
        let body = self.serialize.bind(py).call1((&model,))?;
        let body = body
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err("a response model's serializer must return bytes"))?;
        Ok(body.as_bytes().to_vec())
    }

    /// Validates the dict `value` as a model's fields and writes them: `Ok(false)` if the
    /// walk cannot write them as pydantic would (the caller then makes the model).
    fn write_dict(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        buf: &mut Vec<u8>,
        validate_fields: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        fields: &[(Py<PyString>, Vec<u8>, Shape)],
    ) -> PyResult<bool> {
        // `(fields, extra, fields_set)`.
        let validated =
            call_with_keyword(validate_fields, value, self.validate_kwnames.bind(py), true)?;
        Ok(validated
            .cast::<PyTuple>()
            .map_err(PyErr::from)
            .and_then(|t| Ok(t.get_item(0)?.cast_into::<PyDict>()?))
            .and_then(|values| write_fields(py, rt, buf, &values, fields, 0))
            .is_ok())
    }

    /// [`ModelOutput::write_dict`] for each item of the list `value`, as a JSON array:
    /// `Ok(false)` if an item is no dict or the walk cannot write it, an error if one does
    /// not validate.
    fn write_dicts(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        buf: &mut Vec<u8>,
        validate_fields: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        fields: &[(Py<PyString>, Vec<u8>, Shape)],
    ) -> PyResult<bool> {
        let list = value.cast::<PyList>()?;
        buf.push(b'[');
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            if !item.is_exact_instance_of::<PyDict>()
                || !self.write_dict(py, rt, buf, validate_fields, &item, fields)?
            {
                return Ok(false);
            }
        }
        buf.push(b']');
        Ok(true)
    }

    /// `validate(value, from_attributes=True)`.
    fn validate_from_attributes<'py>(
        &self,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = value.py();
        call_with_keyword(
            self.validate.bind(py),
            value,
            self.validate_kwnames.bind(py),
            true,
        )
    }
}

/// Where a `def` handler without `blocking=` runs, learnt from timing its calls.
///
/// It starts on the worker pool. After [`PROMOTE_AFTER`] calls in a row that each
/// returned within [`FAST`] it moves inline, onto the I/O thread (hand-offs to the pool
/// cost several microseconds of server CPU per request; a trivial handler costs well
/// under one). A call on the I/O thread that takes [`SLOW`] or more moves it back to the
/// pool for good, logged once with the route's name. So a handler that blocks stays on
/// the pool, one that returns at once runs at the inline speed, and a handler that
/// blocks only now and then holds up its I/O thread at most once.
pub(crate) struct Adaptive {
    /// Read by the server for each request (`RouteMut::blocking_while`).
    pub(crate) on_pool: Arc<AtomicBool>,
    fast_calls: AtomicU32,
    state: AtomicU8,
}

/// A call this fast counts towards moving a route inline.
pub(crate) const FAST: Duration = Duration::from_micros(100);
/// Calls in a row within [`FAST`] that move a route inline.
pub(crate) const PROMOTE_AFTER: u32 = 32;
/// An inline call this slow moves its route to the pool for good.
pub(crate) const SLOW: Duration = Duration::from_millis(1);

const PROBING: u8 = 0;
const INLINE: u8 = 1;
const POOLED: u8 = 2;

impl Adaptive {
    fn new() -> Adaptive {
        Adaptive {
            on_pool: Arc::new(AtomicBool::new(true)),
            fast_calls: AtomicU32::new(0),
            state: AtomicU8::new(PROBING),
        }
    }

    /// Records a call that took `took`, run inline (on an I/O thread) or on the pool.
    fn observe(&self, took: Duration, inline: bool, label: &str) {
        match self.state.load(Ordering::Relaxed) {
            PROBING if !inline => {
                if took >= FAST {
                    self.fast_calls.store(0, Ordering::Relaxed);
                } else if self.fast_calls.fetch_add(1, Ordering::Relaxed) + 1 >= PROMOTE_AFTER
                    && self.promote(PROBING, INLINE)
                {
                    self.on_pool.store(false, Ordering::Relaxed);
                }
            }
            INLINE if inline && took >= SLOW && self.promote(INLINE, POOLED) => {
                self.on_pool.store(true, Ordering::Relaxed);
                crate::serve::log_line(&format!(
                    "{label} held up its I/O thread for {:.1} ms; it runs on the thread \
                     pool from now on (blocking=True puts it there from the start, \
                     blocking=False keeps it inline)",
                    took.as_secs_f64() * 1e3
                ));
            }
            _ => {}
        }
    }

    fn promote(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Whether the route has moved inline.
    #[cfg(test)]
    fn is_inline(&self) -> bool {
        self.state.load(Ordering::Relaxed) == INLINE
    }
}

/// A route as the Python package registers it (its fields for a route with dependencies:
/// `solver=, on_invalid=, rebuild=, overrides_version=`): `fasterapi._fasterapi.RouteSpec(method=,
/// path=, endpoint=, is_async=, plan=, blocking=, status_code=)`, the entries of
/// `FasterAPI.routes`, checked when made and compiled into a [`PyRoute`] per server.
#[pyclass(frozen, get_all, module = "fasterapi._fasterapi")]
pub(crate) struct RouteSpec {
    /// The HTTP method, upper-case.
    method: String,
    /// The route's path pattern (`{name}` captures a segment, `{*name}` the rest).
    path: String,
    /// The handler.
    endpoint: Py<PyAny>,
    /// The handler is an `async def`: it runs on the I/O thread's event loop.
    is_async: bool,
    /// The handler's parameters, in order.
    plan: Vec<Py<ParamSpec>>,
    /// `True`: a `def` handler on the worker pool; `False`: on the I/O thread; `None`:
    /// where its timed calls say (see [`Adaptive`]).
    blocking: Option<bool>,
    /// The status of a successful answer.
    status_code: u16,
    /// With a response model and the default response class: pydantic's validation of
    /// the returned value (`validate(value) -> model`).
    validate: Option<Py<PyAny>>,
    /// With `validate`: the model's JSON (`serialize(model) -> bytes`).
    serialize: Option<Py<PyAny>>,
    /// With `validate`: the model's shape, if the Rust walker writes its JSON: `("value",)`,
    /// `("model", [(attr, key, shape), ...])`, `("list", shape)`, `("nullable", shape)`.
    shape: Option<Py<PyAny>>,
    /// With a model `shape`: `validate_python` of the model's `model-fields` core schema
    /// (see [`ModelOutput`]).
    validate_fields: Option<Py<PyAny>>,
    /// With `validate`: `"dict"`, `"list"` or `"any"` for a plain container model, whose
    /// values of that exact type are sent as they are.
    passthrough: Option<String>,
    /// With another response class: `render(value, status) -> Response`.
    render: Option<Py<PyAny>>,
    /// For a route with dependencies: the function generated at registration
    /// (`dependencies/graph.py`) that takes the plan's values, calls the dependencies in
    /// order and then the handler, and returns what the handler returns. `None`: the
    /// handler itself takes the plan's values.
    solver: Option<Py<PyAny>>,
    /// For a route with dependencies: what the server calls instead of `solver` when some
    /// values failed validation, with the `RequestValidationError`, the set of the failed
    /// values' indices and the values (`None` for those): it runs the dependencies whose
    /// values are valid, as FastAPI does (one may answer first, a 401 say), then raises
    /// the error (their exit code sees it).
    on_invalid: Option<Py<PyAny>>,
    /// For a route with dependencies: recompiles it with the app's current
    /// `dependency_overrides`, returning `(plan, solver, is_async, on_invalid)`; called
    /// when the overrides changed since `overrides_version` (see `_overrides_changed`).
    rebuild: Option<Py<PyAny>>,
    /// The version of the dependency overrides the plan and solver were compiled with.
    overrides_version: u64,
}

#[pymethods]
impl RouteSpec {
    #[new]
    #[pyo3(signature = (
        *, method, path, endpoint, is_async, plan, blocking = None, status_code = 200,
        validate = None, serialize = None, shape = None, validate_fields = None,
        passthrough = None, render = None,
        solver = None, on_invalid = None, rebuild = None, overrides_version = 0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        method: String,
        path: String,
        endpoint: Py<PyAny>,
        is_async: bool,
        plan: Vec<Py<ParamSpec>>,
        blocking: Option<bool>,
        status_code: u16,
        validate: Option<Py<PyAny>>,
        serialize: Option<Py<PyAny>>,
        shape: Option<Py<PyAny>>,
        validate_fields: Option<Py<PyAny>>,
        passthrough: Option<String>,
        render: Option<Py<PyAny>>,
        solver: Option<Py<PyAny>>,
        on_invalid: Option<Py<PyAny>>,
        rebuild: Option<Py<PyAny>>,
        overrides_version: u64,
    ) -> PyResult<RouteSpec> {
        if validate.is_some() != serialize.is_some() || (validate.is_some() && render.is_some()) {
            return Err(PyValueError::new_err(format!(
                "{method} {path}: give validate and serialize together, or render alone"
            )));
        }
        if Method::from_bytes(method.as_bytes()).is_none() {
            return Err(PyValueError::new_err(format!(
                "{method} {path}: unsupported method {method}"
            )));
        }
        if StatusCode::from_u16(status_code).is_none() {
            return Err(PyValueError::new_err(format!(
                "{method} {path}: bad status_code {status_code}"
            )));
        }
        if is_async && blocking == Some(true) {
            return Err(PyValueError::new_err(format!(
                "{method} {path}: blocking=True is for def handlers; an async def handler \
                 runs on the event loop"
            )));
        }
        Ok(RouteSpec {
            method,
            path,
            endpoint,
            is_async,
            plan,
            blocking,
            status_code,
            validate,
            serialize,
            shape,
            validate_fields,
            passthrough,
            render,
            solver,
            on_invalid,
            rebuild,
            overrides_version,
        })
    }

    fn __repr__(&self) -> String {
        format!("RouteSpec({} {})", self.method, self.path)
    }
}

/// An app as the Python package gives it to the server:
/// `fasterapi._fasterapi.AppSpec(routes=, redirect_slashes=, exception_handlers=, app=)`, made
/// by `FasterAPI._spec()`.
#[pyclass(frozen, get_all, module = "fasterapi._fasterapi")]
pub(crate) struct AppSpec {
    /// The routes, one per method and path.
    routes: Vec<Py<RouteSpec>>,
    /// Whether a request for `/items/` is redirected to `/items` when only that is
    /// routed, and the reverse (see `App::redirect_slashes`).
    redirect_slashes: bool,
    /// The app's exception handlers: the package's `_ExceptionHandlers`.
    exception_handlers: Py<PyAny>,
    /// The application object, which handlers see as `request.app`.
    app: Option<Py<PyAny>>,
    /// `(path, content_type, builder)` of the `GET` routes answered with bytes built
    /// once (`built.rs`): the OpenAPI document and the docs pages.
    built: Vec<(String, String, Py<PyAny>)>,
    /// The middleware, outermost first (see `middleware.rs`).
    middleware: Py<PyList>,
    /// With Python middleware: their chain, `chain(request, call_next) -> coroutine`.
    chain: Option<Py<PyAny>>,
    /// The app's lifespan: `startup(loop)` and `shutdown(loop)` run on each worker's
    /// event loop before it serves and after it drained (see `aio.rs`); `None`: none.
    lifespan: Option<Py<PyAny>>,
    /// `(prefix, app)`: the apps mounted here (`app.mount(prefix, other_app)`), whose
    /// routes are served under `prefix` with their own exception handlers. Their built
    /// routes come in `built`, prefixed by the package.
    mounts: Vec<(String, Py<AppSpec>)>,
    /// `(path, directory, html, follow_symlink)` of the `StaticFiles` mounts, served by
    /// the core's static directories (`files.rs`).
    statics: Vec<crate::files::StaticMount>,
    /// The WebSocket routes (`GET` routes whose handshakes `websocket.rs` serves).
    websockets: Vec<Py<RouteSpec>>,
    /// `GZipMiddleware`'s `(minimum_size, compresslevel)`, when the app added it (its
    /// `("gzip", minimum_size, compresslevel)` entry of `middleware`): the server
    /// compresses (see `fasterapi_http::Compression`).
    pub(crate) gzip: Option<(usize, u32)>,
}

#[pymethods]
impl AppSpec {
    #[new]
    #[pyo3(signature = (
        *, routes, exception_handlers, redirect_slashes = true, app = None, built = Vec::new(),
        middleware = None, chain = None, lifespan = None, mounts = Vec::new(),
        statics = Vec::new(),
        websockets = Vec::new()
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        routes: Vec<Py<RouteSpec>>,
        exception_handlers: Py<PyAny>,
        redirect_slashes: bool,
        app: Option<Py<PyAny>>,
        built: Vec<(String, String, Py<PyAny>)>,
        middleware: Option<Py<PyList>>,
        chain: Option<Py<PyAny>>,
        lifespan: Option<Py<PyAny>>,
        mounts: Vec<(String, Py<AppSpec>)>,
        statics: Vec<crate::files::StaticMount>,
        websockets: Vec<Py<RouteSpec>>,
    ) -> PyResult<AppSpec> {
        let middleware = middleware.unwrap_or_else(|| PyList::empty(py).unbind());
        let gzip = gzip_of(middleware.bind(py))?;
        Ok(AppSpec {
            routes,
            redirect_slashes,
            exception_handlers,
            app,
            built,
            middleware,
            chain,
            lifespan,
            mounts,
            statics,
            websockets,
            gzip,
        })
    }

    fn __repr__(&self) -> String {
        format!("AppSpec({} routes)", self.routes.len())
    }
}

/// The `GZipMiddleware` settings among an app's middleware (`("gzip", minimum_size,
/// compresslevel)` entries; the outermost wins): the server compresses around everything
/// else, so where it was added among the other middleware does not matter.
fn gzip_of(middleware: &Bound<'_, PyList>) -> PyResult<Option<(usize, u32)>> {
    for spec in middleware.iter() {
        let spec = spec.cast::<PyTuple>()?;
        if spec.get_item(0)?.extract::<String>()? == "gzip" {
            let (min_size, level): (usize, u32) =
                (spec.get_item(1)?.extract()?, spec.get_item(2)?.extract()?);
            if level > 9 {
                return Err(PyValueError::new_err(format!(
                    "GZipMiddleware: compresslevel must be within 0..=9, not {level}"
                )));
            }
            return Ok(Some((min_size, level)));
        }
    }
    Ok(None)
}

impl AppSpec {
    /// The routes, each compiled to serve, with the app's exception handlers.
    /// `unhandled` (the test client's) takes the exceptions a server would log.
    pub(crate) fn compile(
        &self,
        py: Python<'_>,
        unhandled: Option<&Arc<Unhandled>>,
    ) -> PyResult<CompiledApp> {
        let errors = Arc::new(AppErrors::from_py(self.exception_handlers.bind(py))?);
        let mut routes: Vec<(Method, String, Arc<PyRoute>)> = self
            .routes
            .iter()
            .map(|spec| {
                let (method, path, mut route) = PyRoute::from_spec(spec.bind(py), &errors)?;
                route.unhandled = unhandled.cloned();
                route.app = self.app.as_ref().map(|a| a.clone_ref(py));
                Ok((method, path, Arc::new(route)))
            })
            .collect::<PyResult<_>>()?;
        // A mounted app's routes under its prefix; as Starlette matches in order, a route
        // of this app (or a built one) with the same method and path wins.
        let mut statics = self.statics.clone();
        for (prefix, mounted) in &self.mounts {
            let sub = mounted.get().compile(py, unhandled)?;
            statics.extend(sub.statics.iter().map(|(path, dir, html, follow)| {
                (format!("{prefix}{path}"), dir.clone(), *html, *follow)
            }));
            for (method, path, route) in sub.routes {
                let path = format!("{prefix}{path}");
                let taken = routes.iter().any(|(m, p, _)| *m == method && *p == path)
                    || (matches!(method, Method::Get | Method::Head)
                        && self.built.iter().any(|(p, _, _)| *p == path));
                if !taken {
                    routes.push((method, path, route));
                }
            }
        }
        let websockets = self
            .websockets
            .iter()
            .map(|spec| {
                let (_, path, mut route) = PyRoute::from_spec(spec.bind(py), &errors)?;
                route.unhandled = unhandled.cloned();
                route.app = self.app.as_ref().map(|a| a.clone_ref(py));
                Ok((path, Arc::new(route)))
            })
            .collect::<PyResult<_>>()?;
        let misses = if errors.custom_misses {
            let mut route = PyRoute::for_misses(py, errors.clone())?;
            route.unhandled = unhandled.cloned();
            route.app = self.app.as_ref().map(|a| a.clone_ref(py));
            Some(Arc::new(route))
        } else {
            None
        };
        let built = self
            .built
            .iter()
            .map(|(path, content_type, builder)| {
                Arc::new(BuiltRoute::new(
                    path.clone(),
                    content_type.clone(),
                    builder.clone_ref(py),
                    unhandled.cloned(),
                ))
            })
            .collect();
        let stack = crate::middleware::Stack::from_py(
            self.middleware.bind(py),
            self.chain.as_ref().map(|c| c.clone_ref(py)),
        )?
        .map(Arc::new);
        let mut shell = PyRoute::bare(py, "middleware".to_owned(), errors.clone())?;
        shell.unhandled = unhandled.cloned();
        shell.app = self.app.as_ref().map(|a| a.clone_ref(py));
        Ok(CompiledApp {
            routes,
            websockets,
            redirect_slashes: self.redirect_slashes,
            misses,
            built,
            stack,
            shell: Arc::new(shell),
            lifespan: self.lifespan.as_ref().map(|l| l.clone_ref(py)),
            statics,
        })
    }
}

/// An [`AppSpec`] compiled to serve.
pub(crate) struct CompiledApp {
    /// Each route's method, path and route.
    pub(crate) routes: Vec<(Method, String, Arc<PyRoute>)>,
    /// Each WebSocket route's path and route.
    pub(crate) websockets: Vec<(String, Arc<PyRoute>)>,
    pub(crate) redirect_slashes: bool,
    /// Answers the requests no route takes, when the app's exception handlers handle
    /// the router's 404 and 405; `None`: the server's own answers are FastAPI's.
    pub(crate) misses: Option<Arc<PyRoute>>,
    /// The `GET` routes answered with bytes built once.
    pub(crate) built: Vec<Arc<BuiltRoute>>,
    /// The app's middleware, if any.
    pub(crate) stack: Option<Arc<crate::middleware::Stack>>,
    /// Answers for the middleware's own coroutine (its errors, its `Response`).
    pub(crate) shell: Arc<PyRoute>,
    /// The app's lifespan (see [`AppSpec`]).
    pub(crate) lifespan: Option<Py<PyAny>>,
    /// The `StaticFiles` mounts.
    pub(crate) statics: Vec<crate::files::StaticMount>,
}

/// Bumped by the Python package each time an app's `dependency_overrides` change.
static OVERRIDES_VERSION: AtomicU64 = AtomicU64::new(0);

/// `_overrides_changed() -> int`: records a change of some app's
/// `dependency_overrides`; routes with dependencies recompile at their next request.
#[pyfunction]
#[pyo3(name = "_overrides_changed")]
pub(crate) fn overrides_changed() -> u64 {
    OVERRIDES_VERSION.fetch_add(1, Ordering::AcqRel) + 1
}

/// `_overrides_version() -> int`: the version a route compiled now is compiled at.
#[pyfunction]
#[pyo3(name = "_overrides_version")]
pub(crate) fn overrides_version() -> u64 {
    OVERRIDES_VERSION.load(Ordering::Acquire)
}

/// How a route with dependencies follows `app.dependency_overrides`, which tests change
/// after registration and between requests: the version its plan was compiled at, read
/// against [`OVERRIDES_VERSION`] per request (one atomic load: the route's own plan and
/// solver serve while nothing changed), and the route recompiled for a later version.
struct Overridable {
    rebuild: Py<PyAny>,
    compiled_at: u64,
    /// The recompiled route, with the version it was compiled at.
    rebuilt: Mutex<Option<(u64, Arc<Target>)>>,
}

/// What a route calls (its handler, or the solver of its dependencies), and with what.
struct Target {
    handler: Py<PyAny>,
    /// The values `handler` takes.
    plan: Plan,
    /// `handler` is a coroutine function.
    is_async: bool,
    /// For a route with dependencies: what is called instead of `handler` when some
    /// values failed validation (those dependencies whose values are valid run first,
    /// as in FastAPI, before the 422).
    on_invalid: Option<Py<PyAny>>,
}

impl Target {
    fn from_parts(
        py: Python<'_>,
        handler: Py<PyAny>,
        plan: &[Py<ParamSpec>],
        is_async: bool,
        on_invalid: Option<Py<PyAny>>,
    ) -> PyResult<Target> {
        Ok(Target {
            handler,
            plan: Plan::from_specs(py, plan)?,
            is_async,
            on_invalid,
        })
    }
}

impl Overridable {
    /// The route compiled for the current overrides (`version`).
    fn current(&self, py: Python<'_>, version: u64) -> PyResult<Arc<Target>> {
        if let Some((at, target)) = lock(&self.rebuilt).as_ref() {
            if *at == version {
                return Ok(target.clone());
            }
        }
        // Compiled without holding the lock: the rebuild runs Python code.
        let (plan, solver, is_async, on_invalid): (Vec<Py<ParamSpec>>, Py<PyAny>, bool, Py<PyAny>) =
            self.rebuild.bind(py).call0()?.extract()?;
        let target = Arc::new(Target::from_parts(
            py,
            solver,
            &plan,
            is_async,
            Some(on_invalid),
        )?);
        *lock(&self.rebuilt) = Some((version, target.clone()));
        Ok(target)
    }
}

/// Locks `m`, whether or not a thread panicked holding it (the data stays consistent:
/// each write replaces it whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PyRoute {
    /// Whether the server may read this route's multipart bodies into forms as they
    /// arrive (its plan reads form values and not the `Request`).
    pub(crate) fn streams_forms(&self) -> bool {
        self.target.plan.streams_forms()
    }

    /// Compiles a [`RouteSpec`] (checked when it was made) into a route to serve: its
    /// method, its path and the route.
    pub(crate) fn from_spec(
        spec: &Bound<'_, RouteSpec>,
        errors: &Arc<AppErrors>,
    ) -> PyResult<(Method, String, PyRoute)> {
        let py = spec.py();
        let spec = spec.get();
        // Invariants: `RouteSpec::new` checked the method and the status.
        let method = Method::from_bytes(spec.method.as_bytes())
            .ok_or_else(|| PyValueError::new_err(format!("unsupported method {}", spec.method)))?;
        let status = StatusCode::from_u16(spec.status_code).ok_or_else(|| {
            PyValueError::new_err(format!("bad status_code {}", spec.status_code))
        })?;
        let route = PyRoute {
            target: Target::from_parts(
                py,
                spec.solver.as_ref().unwrap_or(&spec.endpoint).clone_ref(py),
                &spec.plan,
                spec.is_async,
                spec.on_invalid.as_ref().map(|f| f.clone_ref(py)),
            )?,
            is_async: spec.is_async,
            status,
            output: match (&spec.validate, &spec.serialize, &spec.render) {
                (Some(validate), Some(serialize), _) => Output::Model(Box::new(ModelOutput {
                    validate: validate.clone_ref(py),
                    validate_kwnames: PyTuple::new(py, ["from_attributes"])?.unbind(),
                    serialize: serialize.clone_ref(py),
                    shape: spec
                        .shape
                        .as_ref()
                        .map(|s| Shape::from_py(s.bind(py)))
                        .transpose()?,
                    validate_fields: spec.validate_fields.as_ref().map(|v| v.clone_ref(py)),
                    passthrough: match spec.passthrough.as_deref() {
                        None => None,
                        Some("dict") => Some(Passthrough::Dict),
                        Some("list") => Some(Passthrough::List),
                        Some("any") => Some(Passthrough::Any),
                        Some(other) => {
                            return Err(PyValueError::new_err(format!(
                                "unknown passthrough {other:?}"
                            )))
                        }
                    },
                })),
                (_, _, Some(render)) => Output::Render(render.clone_ref(py)),
                _ => Output::Plain,
            },
            label: format!("{} {}", spec.method, spec.path),
            blocking: spec.blocking,
            adaptive: (!spec.is_async && spec.blocking.is_none()).then(Adaptive::new),
            unhandled: None,
            app: None,
            errors: errors.clone(),
            overridable: spec.rebuild.as_ref().map(|rebuild| Overridable {
                rebuild: rebuild.clone_ref(py),
                compiled_at: spec.overrides_version,
                rebuilt: Mutex::new(None),
            }),
        };
        Ok((method, spec.path.clone(), route))
    }

    /// A route with no handler of its own, for the error path alone (the answers to
    /// requests no route takes): `label` names it in logs.
    pub(crate) fn bare(py: Python<'_>, label: String, errors: Arc<AppErrors>) -> PyResult<PyRoute> {
        Ok(PyRoute {
            target: Target::from_parts(py, py.None(), &[], false, None)?,
            is_async: false,
            status: StatusCode::NOT_FOUND,
            output: Output::Plain,
            label,
            blocking: Some(false),
            adaptive: None,
            unhandled: None,
            app: None,
            errors,
            overridable: None,
        })
    }

    /// Runs `f` with what the route calls and its plan: the route's own, or the one
    /// recompiled for the current dependency overrides.
    pub(crate) fn with_target<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Bound<'_, PyAny>, &Plan) -> PyResult<R>,
    ) -> PyResult<R> {
        if let Some(overridable) = &self.overridable {
            let version = OVERRIDES_VERSION.load(Ordering::Acquire);
            if version != overridable.compiled_at {
                let target = overridable.current(py, version)?;
                return f(target.handler.bind(py), &target.plan);
            }
        }
        f(self.target.handler.bind(py), &self.target.plan)
    }

    /// Answers `req`: runs on the thread that serves the request, attaching to the
    /// interpreter for the call.
    pub(crate) fn serve(self: &Arc<Self>, req: &Request<'_>) -> Response {
        self.serve_incoming(req)
    }

    /// [`PyRoute::serve`] for any [`Incoming`] request.
    pub(crate) fn serve_incoming(self: &Arc<Self>, req: &impl Incoming) -> Response {
        keep_thread_state();
        Python::attach(|py| self.handle(py, req))
    }

    /// Answers `req` while attached.
    pub(crate) fn handle(self: &Arc<Self>, py: Python<'_>, req: &impl Incoming) -> Response {
        let rt = match Runtime::get(py) {
            Ok(rt) => rt,
            Err(e) => return self.internal_error(py, e),
        };
        if let Some(overridable) = &self.overridable {
            let version = OVERRIDES_VERSION.load(Ordering::Acquire);
            if version != overridable.compiled_at {
                return match overridable.current(py, version) {
                    Ok(target) => self.answer_request(py, rt, req, &target),
                    Err(e) => self.internal_error(py, e),
                };
            }
        }
        self.answer_request(py, rt, req, &self.target)
    }

    /// Answers `req` with `target`'s handler called with the values its plan reads.
    fn answer_request(
        self: &Arc<Self>,
        py: Python<'_>,
        rt: &Runtime,
        req: &impl Incoming,
        target: &Target,
    ) -> Response {
        let (handler, plan, is_async) = (target.handler.bind(py), &target.plan, target.is_async);
        if is_async && aio::at_capacity() && aio::on_io_thread() {
            return overloaded();
        }
        let mut request = RequestCell::new(self.app.as_ref());
        let result = plan
            .arguments(py, rt, req, &mut request)
            .and_then(|args| match args {
                // A route with dependencies runs those whose values are valid first, as
                // FastAPI does (one may answer 401 before the 422).
                Err(invalid) if target.on_invalid.is_some() && !invalid.body_not_json => {
                    let exc =
                        self.errors
                            .validation_error(py, invalid.errors, req, plan.reads_body());
                    let mut args = Vec::with_capacity(invalid.values.len() + 2);
                    args.push(exc.into_value(py).into_bound(py).into_any());
                    args.push(PyFrozenSet::new(py, &invalid.failed)?.into_any());
                    args.extend(invalid.values);
                    // Invariant: checked by the guard.
                    let on_invalid = target.on_invalid.as_ref().map(|f| f.bind(py));
                    let out = on_invalid
                        .expect("on_invalid is set")
                        .call1(PyTuple::new(py, args)?)?;
                    if is_async {
                        self.run_coroutine(py, rt, out, req, &mut request, None, Stage::Endpoint)
                    } else {
                        self.to_response(py, rt, &out, None)
                    }
                }
                Err(invalid) if self.errors.custom_validation => {
                    Err(self
                        .errors
                        .validation_error(py, invalid.errors, req, plan.reads_body()))
                }
                Err(invalid) => {
                    let body = PyDict::new(py);
                    body.set_item("detail", invalid.errors)?;
                    Ok(json_response(py, rt, body.as_any())?
                        .with_status(StatusCode::UNPROCESSABLE_ENTITY))
                }
                Ok(args) if is_async => {
                    let temporal = self.temporal(plan, &args)?;
                    let coro = plan.call(handler, args)?;
                    let stage = Stage::Endpoint;
                    self.run_coroutine(py, rt, coro, req, &mut request, temporal, stage)
                }
                Ok(args) => {
                    aio::unmark_running(py, rt)?;
                    let temporal = self.temporal(plan, &args)?;
                    let out = match &self.adaptive {
                        Some(adaptive) => {
                            let start = Instant::now();
                            let out = plan.call(handler, args);
                            adaptive.observe(start.elapsed(), aio::on_io_thread(), &self.label);
                            out?
                        }
                        None => plan.call(handler, args)?,
                    };
                    self.to_response(py, rt, &out, temporal.as_ref())
                }
            });
        let response = match result {
            Ok(resp) => {
                // The handler is done adding background tasks (a suspended one took them
                // along); one that raised has none run, as in FastAPI.
                if let Some(background) = request.background.take() {
                    if let Err(e) = schedule_background(&background) {
                        self.report(py, e);
                    }
                }
                resp
            }
            Err(e) => self.error_response(py, rt, e, req, &mut request),
        };
        // Exit code of dependencies to run after the response, on a thread whose loop
        // the server does not drive (the worker pool, the dispatch bench): now.
        if aio::after_response_pending() && !aio::on_io_thread() {
            if let Err(e) = aio::run_after_response_now(py, rt) {
                self.internal_error(py, e);
            }
        }
        crate::files::with_conditions(response, req, &self.label)
    }

    /// Runs a handler's coroutine: its first step at once, inside a task of this thread's
    /// loop (so `current_task()`, timeouts and contextvars behave as under uvicorn, each
    /// request in a context of its own). A coroutine that finishes there is answered
    /// inline. One that suspends goes on as that task on the loop the I/O thread drives,
    /// and answers through a [`Reply`] when it ends; the connection closing first cancels
    /// the task. `stage` says how its value is answered; `temporal` is the `response:
    /// Response` the handler was given, if any; `request` holds the request's object,
    /// kept for the app's exception handlers if the coroutine suspends.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_coroutine<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        rt: &Runtime,
        coro: Bound<'py, PyAny>,
        req: &impl Incoming,
        request: &mut RequestCell<'py, '_>,
        temporal: Option<Bound<'py, PyAny>>,
        stage: Stage,
    ) -> PyResult<Response> {
        if req.keeps_tasks() {
            // Inside a middleware's task: on the loop running it, handed back if it waits.
            let running = py
                .import("asyncio")?
                .getattr("events")?
                .call_method0("_get_running_loop")?;
            let task = rt.start.bind(py).call1((coro, running))?;
            if task.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                let out = task.call_method0(pyo3::intern!(py, "result"))?;
                return self.answer(py, rt, &out, temporal.as_ref(), stage);
            }
            req.keep_task(&task, stage, temporal.as_ref(), request.background.take());
            // Not sent: `call_next` answers with the task's value.
            return Ok(Response::new(StatusCode::NO_CONTENT));
        }
        aio::with_loop(py, rt, |lp| {
            if stage == Stage::ExceptionHandler && lp.driven && !req.can_defer() {
                let out = aio::run_to_end(py, rt, coro)?;
                return self.handler_response(py, rt, &out);
            }
            aio::mark_running(py, rt, lp.event_loop.bind(py))?;
            let task = rt.start.bind(py).call1((coro, lp.event_loop.bind(py)))?;
            if task.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                lp.note_work(py)?;
                let out = task.call_method0(pyo3::intern!(py, "result"))?;
                return self.answer(py, rt, &out, temporal.as_ref(), stage);
            }
            if lp.driven {
                let target = task.clone().unbind();
                let on_abandon = Box::new(move || {
                    Python::attach(|py| {
                        if let Err(e) = target.bind(py).call_method0("cancel") {
                            e.display(py);
                        }
                    });
                    aio::request_turn();
                });
                if let Some(reply) = req.defer(on_abandon) {
                    // Scheduled once the coroutine is done adding to it.
                    let cell_background = request.background.take();
                    // The app's own exception handlers get the request if it raises later.
                    let keep_request = stage == Stage::Endpoint && self.errors.custom;
                    let request = match keep_request {
                        true => Some(request.get(py, req)?.unbind()),
                        false => None,
                    };
                    let resume = Resume {
                        route: self.clone(),
                        stage,
                        background: cell_background.map(Bound::unbind),
                        request,
                        reply: Mutex::new(Some((reply, aio::Suspended::new()))),
                        temporal: temporal.as_ref().map(|t| t.clone().unbind()),
                        conditions: crate::files::OwnedConditions::of(req, &self.label),
                    };
                    task.call_method1(
                        pyo3::intern!(py, "add_done_callback"),
                        (Bound::new(py, resume)?,),
                    )?;
                    lp.note_work(py)?;
                    // Not sent: the reply is the answer.
                    return Ok(Response::new(StatusCode::NO_CONTENT));
                }
            }
            // Nobody drives this thread's loop, or the request cannot wait: finish here.
            aio::unmark_running(py, rt)?;
            let out = lp
                .event_loop
                .bind(py)
                .call_method1(pyo3::intern!(py, "run_until_complete"), (task,))?;
            self.answer(py, rt, &out, temporal.as_ref(), stage)
        })
    }

    /// What the value of a coroutine of `stage` is answered with.
    fn answer(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        out: &Bound<'_, PyAny>,
        temporal: Option<&Bound<'_, PyAny>>,
        stage: Stage,
    ) -> PyResult<Response> {
        match stage {
            Stage::Endpoint => self.to_response(py, rt, out, temporal),
            Stage::ExceptionHandler => self.handler_response(py, rt, out),
        }
    }

    /// The temporal `Response` among a handler's arguments, if it takes one.
    fn temporal<'py>(
        &self,
        plan: &Plan,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        plan.response_param.map(|i| args.get_item(i)).transpose()
    }

    /// What a handler's return value is answered with; `temporal` is the `response:
    /// Response` it was given, if any.
    pub(crate) fn to_response(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        out: &Bound<'_, PyAny>,
        temporal: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Response> {
        if temporal.is_none() {
            if let Output::Plain = self.output {
                return self.plain_response(py, rt, out, self.status);
            }
        }
        // As FastAPI: a returned `Response` is sent as it is, the temporal one ignored.
        if out.is_instance(rt.response.bind(py))? {
            return response_object(out);
        }
        let temporal_status = match temporal {
            Some(t) => t.getattr(pyo3::intern!(py, "status_code"))?,
            None => py.None().into_bound(py),
        };
        let status = if temporal_status.is_none() {
            self.status
        } else {
            let code: u16 = temporal_status.extract()?;
            StatusCode::from_u16(code)
                .ok_or_else(|| PyValueError::new_err(format!("bad status_code {code}")))?
        };
        let mut resp = match &self.output {
            Output::Plain => self.plain_response(py, rt, out, status)?,
            Output::Model(model) => {
                Response::json_bytes(model.json(py, rt, out)?).with_status(status)
            }
            Output::Render(render) => {
                let obj = render.bind(py).call1((out, temporal_status))?;
                response_object(&obj)?
            }
        };
        // FastAPI's `is_body_allowed_for_status_code`.
        let code = resp.status().as_u16();
        if code < 200 || matches!(code, 204 | 205 | 304) {
            resp = resp.with_body(Vec::new());
        }
        if let Some(t) = temporal {
            // The temporal response's list as it is (made with one), without the
            // `raw_headers` property's call.
            let mut raw = t.getattr(pyo3::intern!(py, "_raw_headers"))?;
            if raw.is_none() {
                raw = t.getattr(pyo3::intern!(py, "raw_headers"))?;
            }
            resp = add_raw_headers(resp, &raw)?;
        }
        Ok(resp)
    }

    /// What a route without a response model answers for `out`, today's fast path.
    fn plain_response(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        out: &Bound<'_, PyAny>,
        status: StatusCode,
    ) -> PyResult<Response> {
        // The common case first: a plain dict or list.
        if out.cast_exact::<PyDict>().is_ok() || out.cast_exact::<pyo3::types::PyList>().is_ok() {
            return Ok(json_response(py, rt, out)?.with_status(status));
        }
        if let Ok(b) = out.cast_exact::<PyBytes>() {
            return Ok(Response::new(status)
                .with_content_type("application/octet-stream")
                .with_body_copied(b.as_bytes()));
        }
        if out.is_instance(rt.response.bind(py))? {
            return response_object(out);
        }
        Ok(json_response(py, rt, out)?.with_status(status))
    }

    /// Logs the traceback (or hands the exception to the test client) and answers 500.
    pub(crate) fn internal_error(&self, py: Python<'_>, e: PyErr) -> Response {
        self.report(py, e);
        Response::text("Internal Server Error").with_status(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Logs an exception nothing handled, with its traceback, or hands it to the test
    /// client, which raises it in the test.
    pub(crate) fn report(&self, py: Python<'_>, e: PyErr) {
        match &self.unhandled {
            Some(unhandled) => unhandled.push(e),
            None => {
                crate::serve::log_line(&format!("exception in handler of {}:", self.label));
                e.display(py);
            }
        }
    }
}

/// `obj` as a JSON response.
fn json_response(py: Python<'_>, rt: &Runtime, obj: &Bound<'_, PyAny>) -> PyResult<Response> {
    Response::json_with(|buf| write_value(py, rt, buf, obj, 0))
}

/// `{"detail": ...}` with the status and headers of an `HTTPException`.
pub(crate) fn http_exception(
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
pub(crate) fn response_object(obj: &Bound<'_, PyAny>) -> PyResult<Response> {
    let py = obj.py();
    let status: u16 = obj.getattr(pyo3::intern!(py, "status_code"))?.extract()?;
    let status = StatusCode::from_u16(status)
        .ok_or_else(|| PyTypeError::new_err(format!("Response: bad status_code {status}")))?;
    let background = obj.getattr(pyo3::intern!(py, "background"))?;
    let resp = match obj.getattr(pyo3::intern!(py, "body")) {
        Ok(body) => match body.cast::<PyBytes>() {
            Ok(body) => {
                if !background.is_none() {
                    schedule_background(&background)?;
                }
                Response::new(status).with_body_copied(body.as_bytes())
            }
            Err(_) => return Err(PyTypeError::new_err("Response.body must be bytes")),
        },
        // A StreamingResponse has a `body_iterator` instead of a body (its background
        // runs once the body is sent: fasterapi._streaming).
        Err(missing) => match obj.hasattr(pyo3::intern!(py, "body_iterator"))? {
            true => crate::stream::streaming_response(obj, status)?,
            false => return crate::files::bodiless_response(obj, missing),
        },
    };
    // `_raw_headers` is `None` while no one has read or changed the headers: then there
    // are none but the content type, made here from `media_type` as Starlette would.
    let raw = obj.getattr(pyo3::intern!(py, "_raw_headers"))?;
    if !raw.is_none() {
        return add_raw_headers(resp, &raw);
    }
    let media_type = obj.getattr(pyo3::intern!(py, "media_type"))?;
    if media_type.is_none() {
        return Ok(resp);
    }
    let media_type = media_type
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("Response.media_type must be a str"))?
        .to_cow()?;
    Ok(resp.with_content_type(content_type_of(obj, media_type)?))
}

/// Runs a response's `background` (`fasterapi.background._schedule`) once it is out.
#[cold]
pub(crate) fn schedule_background(background: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = background.py();
    static SCHEDULE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let schedule = SCHEDULE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("fasterapi.background")?
            .getattr("_schedule")?
            .unbind())
    })?;
    schedule.bind(py).call1((background,))?;
    Ok(())
}

/// Starlette's `content-type` for a response's `media_type`: `text/*` types get `;
/// charset=` and the response's `charset` unless they name one.
fn content_type_of(
    obj: &Bound<'_, PyAny>,
    media_type: Cow<'_, str>,
) -> PyResult<Cow<'static, str>> {
    let names_charset = media_type
        .as_bytes()
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"charset="));
    if !media_type.starts_with("text/") || names_charset {
        return Ok(content_type_cow(media_type));
    }
    let charset = obj.getattr(pyo3::intern!(obj.py(), "charset"))?;
    let charset = charset
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err("Response.charset must be a str"))?
        .to_cow()?;
    Ok(match (media_type.as_ref(), charset.as_ref()) {
        ("text/plain", "utf-8") => Cow::Borrowed(Response::TEXT_PLAIN),
        ("text/html", "utf-8") => Cow::Borrowed(Response::TEXT_HTML),
        _ => Cow::Owned(format!("{media_type}; charset={charset}")),
    })
}

/// FastAPI's `ResponseValidationError` for the `ValidationError` of a returned value
/// (`body`); any other error as it is.
fn response_validation_error(
    py: Python<'_>,
    rt: &Runtime,
    e: PyErr,
    body: &Bound<'_, PyAny>,
) -> PyErr {
    let is_validation = match &rt.validation_error {
        Some(t) => e.is_instance(py, t.bind(py)),
        None => false,
    };
    if !is_validation {
        return e;
    }
    match rt
        .response_validation_error
        .bind(py)
        .call1((e.value(py), body))
    {
        Ok(exc) => PyErr::from_value(exc),
        Err(e2) => e2,
    }
}

/// Adds a Starlette `raw_headers` list (`(name, value)` byte pairs, names lower-case):
/// `content-type` as the content type, every other but `content-length` (the server
/// frames the body) as it is, in order (several `set-cookie` stay several).
fn add_raw_headers(mut resp: Response, raw: &Bound<'_, PyAny>) -> PyResult<Response> {
    let raw = raw
        .cast::<PyList>()
        .map_err(|_| PyTypeError::new_err("Response.raw_headers must be a list"))?;
    for item in raw.iter() {
        let pair = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err("Response.raw_headers must hold (name, value) byte pairs")
        })?;
        let (name, value): (Bound<'_, PyBytes>, Bound<'_, PyBytes>) = pair.extract()?;
        let (name, value) = (name.as_bytes(), value.as_bytes());
        if name.eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        let value = latin1(value);
        if name.eq_ignore_ascii_case(b"content-type") {
            resp = resp.with_content_type(content_type_cow(value));
        } else {
            resp = resp.with_header(latin1(name).into_owned(), value.into_owned());
        }
    }
    Ok(resp)
}

/// Header bytes as text: HTTP's Latin-1.
fn latin1(v: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) if v.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(v.iter().map(|&b| char::from(b)).collect()),
    }
}

/// The classes' own content types without an allocation.
fn content_type_cow(t: Cow<'_, str>) -> Cow<'static, str> {
    match t.as_ref() {
        Response::TEXT_PLAIN => Cow::Borrowed(Response::TEXT_PLAIN),
        Response::TEXT_HTML => Cow::Borrowed(Response::TEXT_HTML),
        Response::APPLICATION_JSON => Cow::Borrowed(Response::APPLICATION_JSON),
        _ => Cow::Owned(t.into_owned()),
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
            let made = ffi::PyGILState_GetThisThreadState().is_null();
            ffi::PyGILState_Ensure();
            ffi::PyEval_SaveThread();
            MADE.with(|m| m.set(made));
        }
    }
}

thread_local! {
    /// [`keep_thread_state`] made this thread's state (it had none: a thread Rust started).
    static MADE: Cell<bool> = const { Cell::new(false) };
}

/// Deletes the thread state that [`keep_thread_state`] made for this thread (one that had
/// none: a thread Rust started), which is about to end and is done with Python: the test
/// server's thread, which starts and stops with each test client and would leak its state
/// each time. Does nothing on a thread whose state Python made. Call it detached, outside
/// `Python::attach`.
pub(crate) fn release_thread_state() {
    if !MADE.with(Cell::get) {
        return;
    }
    MADE.with(|m| m.set(false));
    KEPT.with(|k| k.set(false));
    // SAFETY: `keep_thread_state` made this thread's state with `PyGILState_Ensure` on a
    // thread without one, so nothing else owns it, and the thread is detached (the
    // caller's contract), so the state is not current. `PyEval_RestoreThread` makes it
    // current and takes the GIL; `PyThreadState_Clear` and `PyThreadState_DeleteCurrent`
    // free it (also unlinking it from the GILState key) and release the GIL. A later
    // `Python::attach` on this thread would make a new state.
    unsafe {
        let state = ffi::PyGILState_GetThisThreadState();
        if state.is_null() {
            return;
        }
        ffi::PyEval_RestoreThread(state);
        ffi::PyThreadState_Clear(state);
        ffi::PyThreadState_DeleteCurrent();
    }
}

/// The answer when too many coroutines wait on this thread's loop.
fn overloaded() -> Response {
    Response::json(|o| {
        o.field(
            "detail",
            "Service Unavailable: too many requests waiting, retry later",
        );
    })
    .with_status(StatusCode::SERVICE_UNAVAILABLE)
    .with_header("Retry-After", "1")
}

/// The done-callback of a suspended coroutine's task: answers its request.
#[pyclass(frozen)]
pub(crate) struct Resume {
    pub(crate) route: Arc<PyRoute>,
    pub(crate) stage: Stage,
    /// The request's `BackgroundTasks`, scheduled once the coroutine is done.
    pub(crate) background: Option<Py<PyAny>>,
    /// The request's object for the app's exception handlers, kept when the app has
    /// handlers of its own (see `AppErrors::custom`).
    pub(crate) request: Option<Py<PyAny>>,
    /// Taken by the one call; dropped unsent with the task, it answers 500.
    pub(crate) reply: Mutex<Option<(Reply, aio::Suspended)>>,
    /// The temporal `Response` the handler was given, if any.
    pub(crate) temporal: Option<Py<PyAny>>,
    /// The request's conditional and range headers, for a `FileResponse` answer.
    pub(crate) conditions: Option<Box<crate::files::OwnedConditions>>,
}

#[pymethods]
impl Resume {
    fn __call__(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        let Some((reply, suspended)) = self.reply.lock().unwrap_or_else(|e| e.into_inner()).take()
        else {
            return;
        };
        // Cancelled because its client left (the answer goes nowhere), or by the handler's
        // own code: the dropped reply answers 500.
        let cancelled = task.call_method0(pyo3::intern!(py, "cancelled"));
        if cancelled.and_then(|c| c.is_truthy()).unwrap_or(true) {
            drop(reply);
            return;
        }

        let route = &self.route;
        let rt = match Runtime::get(py) {
            Ok(rt) => rt,
            Err(e) => return reply.send(route.internal_error(py, e)),
        };
        let out = task.call_method0(pyo3::intern!(py, "result"));
        match self.stage {
            Stage::Endpoint => {
                let temporal = self.temporal.as_ref().map(|t| t.bind(py));
                match out.and_then(|out| route.to_response(py, rt, &out, temporal)) {
                    Ok(response) => {
                        // As FastAPI: a handler that raised has no background tasks run.
                        if let Some(background) = &self.background {
                            if let Err(e) = schedule_background(background.bind(py)) {
                                route.report(py, e);
                            }
                        }
                        reply.send(crate::files::OwnedConditions::apply(
                            self.conditions.as_deref(),
                            response,
                        ))
                    }
                    Err(e) => {
                        let request = self.request.as_ref().map(|r| r.bind(py));
                        route.error_later(py, rt, e, request, (reply, suspended))
                    }
                }
            }
            Stage::ExceptionHandler => {
                let answer = out.and_then(|out| route.handler_response(py, rt, &out));
                reply.send(answer.unwrap_or_else(|e| route.internal_error(py, e)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_micros(5);

    fn on_pool(a: &Adaptive) -> bool {
        a.on_pool.load(Ordering::Relaxed)
    }

    #[test]
    fn a_def_handler_starts_on_the_pool_and_moves_inline_after_enough_fast_calls() {
        let a = Adaptive::new();
        assert!(on_pool(&a));
        for _ in 0..PROMOTE_AFTER - 1 {
            a.observe(QUICK, false, "GET /x");
        }
        assert!(on_pool(&a), "not before {PROMOTE_AFTER} calls");
        a.observe(QUICK, false, "GET /x");
        assert!(!on_pool(&a) && a.is_inline());
    }

    #[test]
    fn a_call_past_the_fast_mark_restarts_the_count() {
        let a = Adaptive::new();
        for _ in 0..PROMOTE_AFTER - 1 {
            a.observe(QUICK, false, "GET /x");
        }
        a.observe(FAST, false, "GET /x");
        for _ in 0..PROMOTE_AFTER - 1 {
            a.observe(QUICK, false, "GET /x");
        }
        assert!(on_pool(&a), "the count restarted at the slow call");
        a.observe(QUICK, false, "GET /x");
        assert!(!on_pool(&a));
    }

    #[test]
    fn an_inline_call_that_blocks_sends_the_route_to_the_pool_for_good() {
        let a = Adaptive::new();
        for _ in 0..PROMOTE_AFTER {
            a.observe(QUICK, false, "GET /x");
        }
        // Calls below the slow mark, and pool calls queued before the move, change nothing.
        a.observe(SLOW - QUICK, true, "GET /x");
        a.observe(SLOW * 10, false, "GET /x");
        assert!(!on_pool(&a));
        a.observe(SLOW, true, "GET /x");
        assert!(on_pool(&a));
        for _ in 0..PROMOTE_AFTER * 4 {
            a.observe(QUICK, false, "GET /x");
        }
        assert!(on_pool(&a), "never back inline");
    }

    #[test]
    fn inline_calls_while_probing_do_not_count() {
        let a = Adaptive::new();
        for _ in 0..PROMOTE_AFTER * 2 {
            a.observe(QUICK, true, "GET /x");
        }
        assert!(on_pool(&a));
    }
}
