//! A handler's signature compiled into an argument plan, and the per-request work of
//! turning path, query and body values into those arguments.
//!
//! The protocol with the Python package is defined here, once: its signature compiler
//! (`fasterapi/dependencies/utils.py`) describes each parameter with a [`ParamSpec`]
//! whose [`Source`] and [`Conv`] are the classes this module exports
//! (`fasterapi._fasterapi.ParamSpec`, `.Source`, `.Conv`); [`Plan::from_specs`] reads
//! them once, at registration.

use std::borrow::Cow;

use fasterapi_http::{Reply, Request};
use pyo3::basic::CompareOp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::forms::{upload_bytes, Form, FormItem};

use crate::dispatch::Runtime;
use crate::request::{PyRequest, RequestCell};

/// What the plan reads from a request: implemented by the server's [`Request`] and by
/// the in-memory requests of the dispatch micro bench.
pub(crate) trait Incoming {
    /// The path parameter `name`, percent-decoded.
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The query parameter `name`, decoded: its last value if it is repeated, as
    /// Starlette's `QueryParams.get` gives.
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Every query parameter `name`, decoded, in order.
    fn query_all(&self, name: &str) -> Vec<Cow<'_, str>>;
    /// Every query parameter as `(name, value)`, decoded, in order.
    fn query_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)>;
    /// Every header as `(name, value)`, the name lower-cased and the value decoded as
    /// Latin-1 (Starlette's `Headers.items()`), in order.
    fn header_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)>;
    /// The first header `name` (compared ignoring case), decoded as Latin-1.
    fn header(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Every header `name`, decoded as Latin-1, in order.
    fn header_all(&self, name: &str) -> Vec<Cow<'_, str>>;
    /// The cookie `name` of the first `Cookie` header, parsed as Starlette does (the
    /// last of that name wins; a quoted value is unquoted).
    fn cookie(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.header("cookie")? {
            Cow::Borrowed(h) => cookie_value(h, name),
            Cow::Owned(h) => cookie_value(&h, name).map(|v| Cow::Owned(v.into_owned())),
        }
    }
    /// Every cookie of the first `Cookie` header as `(name, value)`, as Starlette's
    /// `Request.cookies` has them: each name once, in the order first seen, with its
    /// last value.
    fn cookie_items(&self) -> Vec<(String, String)> {
        match self.header("cookie") {
            Some(h) => cookie_items(&h),
            None => Vec::new(),
        }
    }
    /// The body.
    fn body_bytes(&self) -> &[u8];
    /// The form the server read from a multipart body as it arrived (a route that
    /// streams forms); taken once.
    fn take_form(
        &self,
    ) -> Option<Result<fasterapi_http::form::FormItems, fasterapi_http::form::FormError>> {
        None
    }
    /// The Python `Request` object, for the application `app`.
    fn to_py(&self, py: Python<'_>, app: Option<&Py<PyAny>>) -> PyRequest;
    /// A reply to answer this request with later, `on_abandon` running if its client
    /// leaves first; `None` where the request cannot wait (see `Request::defer`).
    fn defer(&self, _on_abandon: Box<dyn FnOnce()>) -> Option<Reply> {
        None
    }
    /// Whether [`Incoming::defer`] would give a reply.
    fn can_defer(&self) -> bool {
        false
    }
    /// The request's Python object, when the request is one (a middleware's
    /// `call_next`): the route gets that object as its `Request`.
    fn py_object(&self) -> Option<&Bound<'_, PyAny>> {
        None
    }
    /// Whether a coroutine of the route that suspends is handed to
    /// [`Incoming::keep_task`] (the request is served inside a running task: a
    /// middleware's `call_next`) rather than deferred.
    fn keeps_tasks(&self) -> bool {
        false
    }
    /// Takes the suspended `task` of the route, whose value is answered as `stage` says,
    /// with the temporal response `temporal`; `false` if the request does not keep tasks.
    /// `background` is the request's `BackgroundTasks`, to schedule once the task is done.
    fn keep_task(
        &self,
        _task: &Bound<'_, PyAny>,
        _stage: crate::dispatch::Stage,
        _temporal: Option<&Bound<'_, PyAny>>,
        _background: Option<Bound<'_, PyAny>>,
    ) -> bool {
        false
    }
}

impl Incoming for Request<'_> {
    fn defer(&self, on_abandon: Box<dyn FnOnce()>) -> Option<Reply> {
        self.defer_with_abandon(on_abandon)
    }
    fn can_defer(&self) -> bool {
        Request::can_defer(self)
    }
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let raw = self.param_str(name)?;
        if raw.contains('%') {
            self.param::<String>(name).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(raw))
        }
    }
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_pairs()
            .filter(|(k, _)| k == name)
            .last()
            .map(|(_, v)| v)
    }
    fn query_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.query_pairs().collect()
    }
    fn header_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.headers()
            .map(|(n, v)| {
                let name = if n.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(n.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(n)
                };
                (name, latin1(v))
            })
            .collect()
    }
    fn query_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.query_pairs()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect()
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.header_bytes(name).map(latin1)
    }
    fn header_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| latin1(v))
            .collect()
    }
    fn body_bytes(&self) -> &[u8] {
        self.body()
    }
    fn take_form(
        &self,
    ) -> Option<Result<fasterapi_http::form::FormItems, fasterapi_http::form::FormError>> {
        Request::take_form(self)
    }
    fn to_py(&self, py: Python<'_>, app: Option<&Py<PyAny>>) -> PyRequest {
        PyRequest::new(self, app, py)
    }
}

/// A header value as text: HTTP's Latin-1 (borrowed when it is ASCII).
fn latin1(v: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) if v.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(v.iter().map(|&b| char::from(b)).collect()),
    }
}

/// The value of cookie `name` in a `Cookie` header, as Starlette's `cookie_parser`:
/// `;`-separated `key=value` pairs (a pair without `=` has an empty key), both trimmed;
/// the last pair of that name wins; a value in double quotes is unquoted.
fn cookie_value<'h>(header: &'h str, name: &str) -> Option<Cow<'h, str>> {
    let mut found = None;
    for chunk in header.split(';') {
        let (k, v) = chunk.split_once('=').unwrap_or(("", chunk));
        if k.trim() == name {
            found = Some(v.trim());
        }
    }
    found.map(unquote_cookie)
}

/// Every cookie of a `Cookie` header, as Starlette's `cookie_parser` makes its dict:
/// [`cookie_value`]'s parsing, pairs with an empty name and value skipped, each name
/// once (where first seen) with its last value.
fn cookie_items(header: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for chunk in header.split(';') {
        let (k, v) = chunk.split_once('=').unwrap_or(("", chunk));
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() && v.is_empty() {
            continue;
        }
        let v = unquote_cookie(v).into_owned();
        match out.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k.to_owned(), v)),
        }
    }
    out
}

/// Python's `http.cookies._unquote`: `"..."` loses its quotes, `\ooo` (octal) and
/// `\c` escapes inside are decoded; anything else is kept as it is.
fn unquote_cookie(v: &str) -> Cow<'_, str> {
    let Some(inner) = v.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return Cow::Borrowed(v);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest: String = chars.clone().take(3).collect();
        let b = rest.as_bytes();
        if b.len() == 3
            && (b'0'..=b'3').contains(&b[0])
            && (b'0'..=b'7').contains(&b[1])
            && (b'0'..=b'7').contains(&b[2])
        {
            let code = (b[0] - b'0') * 64 + (b[1] - b'0') * 8 + (b[2] - b'0');
            out.push(char::from(code));
            chars.nth(2);
        } else if let Some(next) = chars.next() {
            out.push(next);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Where an argument comes from: `fasterapi._fasterapi.Source` (`Source.QUERY`, ...).
#[pyclass(
    eq,
    eq_int,
    frozen,
    from_py_object,
    rename_all = "SCREAMING_SNAKE_CASE",
    module = "fasterapi._fasterapi"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A path parameter (`{name}` in the route's path).
    Path,
    /// A query parameter.
    Query,
    /// The whole JSON body.
    Body,
    /// The body's key of the parameter's name (several body parameters, `embed=True`).
    BodyField,
    /// The `Request` object itself.
    Request,
    /// A request header.
    Header,
    /// A cookie of the `Cookie` header.
    Cookie,
    /// FastAPI's temporal `Response` (a `response: Response` parameter): a fresh one per
    /// request, whose status, headers and cookies go into the response sent.
    Response,
    /// A field of an `application/x-www-form-urlencoded` or `multipart/form-data` body
    /// (`Form()`, `File()`).
    Form,
    /// FastAPI's `BackgroundTasks`: a fresh one per request, run after its response.
    Background,
}

impl Source {
    /// The first item of a `loc` naming a value of this source.
    fn loc(self) -> &'static str {
        match self {
            Source::Path => "path",
            Source::Query => "query",
            Source::Header => "header",
            Source::Cookie => "cookie",
            Source::Body
            | Source::BodyField
            | Source::Form
            | Source::Request
            | Source::Response
            | Source::Background => "body",
        }
    }

    /// Where FastAPI puts this source's errors among one dependency's: path, query,
    /// header, cookie, then body.
    fn rank(self) -> u8 {
        match self {
            Source::Path => 0,
            Source::Query => 1,
            Source::Header => 2,
            Source::Cookie => 3,
            Source::Body
            | Source::BodyField
            | Source::Form
            | Source::Request
            | Source::Response
            | Source::Background => 4,
        }
    }
}

/// How a raw value is converted: `fasterapi._fasterapi.Conv` (`Conv.INT`, ...).
#[pyclass(
    eq,
    eq_int,
    frozen,
    from_py_object,
    rename_all = "SCREAMING_SNAKE_CASE",
    module = "fasterapi._fasterapi"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// Text as it is.
    Str,
    /// An `int`, as pydantic reads one from text.
    Int,
    /// A `float`.
    Float,
    /// A `bool` (`1/0, true/false, yes/no, on/off, t/f, y/n`, any case).
    Bool,
    /// A JSON object of the body.
    Dict,
    /// A JSON array of the body.
    List,
    /// A Python callable validates (pydantic `model_validate`, `TypeAdapter`).
    Validator,
    /// Any value, unconverted.
    Any,
    /// An uploaded file: the `UploadFile` (`file: UploadFile`).
    Upload,
    /// An uploaded file's content, or a field's text, as `bytes` (`data: bytes = File()`).
    Bytes,
}

/// One parameter of a handler as the Python package's signature compiler describes it:
/// `fasterapi._fasterapi.ParamSpec(name=, source=, conv=, key=, required=, default=,
/// validator=, multi=, constraints=, keyword=, group=)`, built once per route and read by
/// [`Plan::from_specs`] at registration (never per request).
#[pyclass(frozen, get_all, module = "fasterapi._fasterapi")]
pub(crate) struct ParamSpec {
    /// The handler's parameter name.
    name: String,
    /// Where the value comes from.
    source: Source,
    /// How it is converted.
    conv: Conv,
    /// The name looked up (the parameter's, an alias, a header name), which `loc` names.
    key: String,
    /// A missing value is a 422 (else the default is passed).
    required: bool,
    /// The default value (`None` for a required parameter).
    default: Py<PyAny>,
    /// The callable that converts and validates a value, for [`Conv::Validator`] (it
    /// raises pydantic's `ValidationError` or `ValueError` for a 422).
    validator: Option<Py<PyAny>>,
    /// Every value of a repeated query parameter or header, as a list.
    multi: bool,
    /// The bounds, lengths and pattern Rust checks (`gt`, `ge`, `lt`, `le`: numbers;
    /// `min_length`, `max_length`: ints; `pattern`: `(text, re.Pattern.search)`), or
    /// `None`.
    constraints: Option<Py<PyDict>>,
    /// Passed by keyword, under `name` (a keyword-only parameter, after `*`); the
    /// others are passed by position, in order, before it.
    keyword: bool,
    /// For a pydantic model read as a group of query parameters, headers or cookies
    /// (FastAPI's parameter models, `filters: Filters = Query()`): one spec per field
    /// of the model (`name` the model's key, `key` the name looked up, `multi` for a
    /// sequence, `required`, `default`). The values found, and every other parameter
    /// of that source under its own name, go to `validator` in one dict; its errors'
    /// `loc` starts with the source alone. `None` for any other parameter.
    fields: Option<Vec<Py<ParamSpec>>>,
    /// The dependency that reads this parameter, numbered in the order FastAPI reports
    /// their errors (each dependency's after those of its own dependencies; the handler's
    /// last): the 422 items are ordered by group, then path, query, header, cookie, body.
    /// 0 for every parameter of a handler without dependencies.
    group: u32,
}

#[pymethods]
impl ParamSpec {
    #[new]
    #[pyo3(signature = (
        *, name, source, conv, key, required, default = None, validator = None,
        multi = false, constraints = None, keyword = false, fields = None, group = 0
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: String,
        source: Source,
        conv: Conv,
        key: String,
        required: bool,
        default: Option<Py<PyAny>>,
        validator: Option<Py<PyAny>>,
        multi: bool,
        constraints: Option<Py<PyDict>>,
        keyword: bool,
        fields: Option<Vec<Py<ParamSpec>>>,
        group: u32,
    ) -> PyResult<ParamSpec> {
        if fields.is_some() {
            if !matches!(
                source,
                Source::Query | Source::Header | Source::Cookie | Source::Form
            ) {
                return Err(PyValueError::new_err(format!(
                    "parameter {name:?}: only query parameters, headers, cookies and form \
                     fields are read as a model's fields"
                )));
            }
            if conv != Conv::Validator || multi {
                return Err(PyValueError::new_err(format!(
                    "parameter {name:?}: a model's fields are validated by its validator, \
                     as one value"
                )));
            }
        }
        if conv == Conv::Validator && validator.is_none() {
            return Err(PyValueError::new_err(format!(
                "parameter {name:?} has no validator"
            )));
        }
        if multi && !matches!(source, Source::Query | Source::Header | Source::Form) {
            return Err(PyValueError::new_err(format!(
                "parameter {name:?}: only query parameters, headers and form fields take \
                 several values"
            )));
        }
        Ok(ParamSpec {
            name,
            source,
            conv,
            key,
            required,
            default: default.unwrap_or_else(|| py.None()),
            validator,
            multi,
            constraints,
            keyword,
            fields,
            group,
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ParamSpec(name={}, source={}, conv={}, key={}, required={})",
            PyString::new(py, &self.name).repr()?,
            Bound::new(py, self.source)?.as_any().repr()?,
            Bound::new(py, self.conv)?.as_any().repr()?,
            PyString::new(py, &self.key).repr()?,
            PyBool::new(py, self.required).repr()?,
        ))
    }
}

/// One parameter of a handler.
pub(crate) struct Param {
    /// The name looked up (the parameter's, an alias, a header name), which `loc` names.
    key: Py<PyString>,
    key_str: String,
    source: Source,
    conv: Conv,
    required: bool,
    default: Py<PyAny>,
    /// The default is mutable (a list, a dict, a model...): each request gets a deep copy,
    /// as FastAPI gives, so no request sees another's changes.
    copy_default: bool,
    validator: Option<Py<PyAny>>,
    /// Every value of a repeated query parameter or header, as a list.
    multi: bool,
    /// Checked after conversion; `None` for a parameter without constraints.
    constraints: Option<Box<Constraints>>,
    /// The fields of a model read as a group of parameters (see [`ParamSpec`]).
    fields: Option<Box<[GroupField]>>,
    /// Orders its 422 items among other dependencies' (see [`ParamSpec`]).
    group: u32,
}

/// A field of a model read as a group of query parameters, headers or cookies.
struct GroupField {
    /// The name looked up (compared ignoring case for a header).
    lookup: String,
    /// The model's key for the value (the field's validation alias or name).
    key: Py<PyString>,
    key_str: String,
    /// A sequence field: every value, as a list.
    multi: bool,
    /// What an absent optional field is given, as FastAPI puts it into the dict (a
    /// deep copy when mutable); `None` for a required field, or a default of `None`,
    /// left to the model.
    default: Option<(Py<PyAny>, bool)>,
}

impl GroupField {
    fn new(py: Python<'_>, f: &ParamSpec) -> GroupField {
        let default = f.default.bind(py);
        GroupField {
            lookup: f.key.clone(),
            key: PyString::intern(py, &f.name).unbind(),
            key_str: f.name.clone(),
            multi: f.multi,
            default: (!f.required && !default.is_none())
                .then(|| (default.clone().unbind(), !is_immutable(default))),
        }
    }
}

/// A broken constraint's 422 `type`, `msg` and `ctx`, built at registration.
struct Violation {
    ty: &'static str,
    msg: String,
    ctx: Py<PyDict>,
}

impl Violation {
    /// A violation whose `ctx` is `{key: value}`.
    fn new(
        ty: &'static str,
        msg: String,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Violation> {
        let ctx = PyDict::new(value.py());
        ctx.set_item(key, value)?;
        Ok(Violation {
            ty,
            msg,
            ctx: ctx.unbind(),
        })
    }
}

/// The constraints of a marker (`Query(ge=1)`, `Path(max_length=8)`) that Rust checks,
/// with pydantic's messages. pydantic reports the first broken one, in this order.
struct Constraints {
    /// `(comparison the value must pass against the bound, bound, violation)`: `le`,
    /// `lt`, `ge`, `gt`.
    bounds: Vec<(CompareOp, Py<PyAny>, Violation)>,
    min_length: Option<(usize, Violation)>,
    max_length: Option<(usize, Violation)>,
    /// `re.Pattern.search` of the pattern.
    pattern: Option<(Py<PyAny>, Violation)>,
}

/// `"s"` unless `n` is 1.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl Constraints {
    /// Reads the dict the Python package's `_native_constraints` made for a parameter
    /// converted with `conv`.
    fn from_py(d: &Bound<'_, PyDict>, conv: Conv) -> PyResult<Constraints> {
        let mut c = Constraints {
            bounds: Vec::new(),
            min_length: None,
            max_length: None,
            pattern: None,
        };
        for (key, op, ty, words) in [
            (
                "le",
                CompareOp::Le,
                "less_than_equal",
                "less than or equal to",
            ),
            ("lt", CompareOp::Lt, "less_than", "less than"),
            (
                "ge",
                CompareOp::Ge,
                "greater_than_equal",
                "greater than or equal to",
            ),
            ("gt", CompareOp::Gt, "greater_than", "greater than"),
        ] {
            let Some(bound) = d.get_item(key)? else {
                continue;
            };
            // pydantic shows a float bound as Rust's `Display` does (`1`, `0.0000001`).
            let shown = if conv == Conv::Float {
                bound.extract::<f64>()?.to_string()
            } else {
                bound.str()?.to_string()
            };
            let msg = format!("Input should be {words} {shown}");
            let violation = Violation::new(ty, msg, key, &bound)?;
            c.bounds.push((op, bound.unbind(), violation));
        }
        let length = |key: &str, ty: &'static str, words: &str| -> PyResult<_> {
            let Some(n) = d.get_item(key)? else {
                return Ok(None);
            };
            let limit: usize = n.extract()?;
            let msg = format!(
                "String should have {words} {limit} character{}",
                plural(limit)
            );
            Ok(Some((limit, Violation::new(ty, msg, key, &n)?)))
        };
        c.min_length = length("min_length", "string_too_short", "at least")?;
        c.max_length = length("max_length", "string_too_long", "at most")?;
        if let Some(p) = d.get_item("pattern")? {
            let (text, search): (Bound<'_, PyString>, Py<PyAny>) = p.extract()?;
            let msg = format!("String should match pattern '{}'", text.to_str()?);
            c.pattern = Some((
                search,
                Violation::new("string_pattern_mismatch", msg, "pattern", text.as_any())?,
            ));
        }
        Ok(c)
    }

    /// The first constraint the converted value `v` breaks; `text` is its raw text, if
    /// it came from one (the length is counted there).
    fn violated(
        &self,
        py: Python<'_>,
        v: &Bound<'_, PyAny>,
        text: Option<&str>,
    ) -> PyResult<Option<&Violation>> {
        for (op, bound, violation) in &self.bounds {
            // NaN passes no comparison, as in pydantic.
            if !v.rich_compare(bound.bind(py), *op)?.is_truthy()? {
                return Ok(Some(violation));
            }
        }
        if self.min_length.is_some() || self.max_length.is_some() {
            let len = match text {
                Some(t) => t.chars().count(),
                None => v.len()?,
            };
            if let Some((min, violation)) = &self.min_length {
                if len < *min {
                    return Ok(Some(violation));
                }
            }
            if let Some((max, violation)) = &self.max_length {
                if len > *max {
                    return Ok(Some(violation));
                }
            }
        }
        if let Some((search, violation)) = &self.pattern {
            if search.bind(py).call1((v,))?.is_none() {
                return Ok(Some(violation));
            }
        }
        Ok(None)
    }
}

/// A compiled signature.
pub(crate) struct Plan {
    params: Vec<Param>,
    reads_body: bool,
    /// The server may read multipart bodies into forms as they arrive (see
    /// `RouteMut::stream_forms`).
    streams_forms: bool,
    /// The position among the arguments of the temporal `Response`, if the handler takes
    /// one.
    pub(crate) response_param: Option<usize>,
    /// The handler's keyword-only parameters; `None` when every argument is passed by
    /// position (the common case, called without a keyword dict).
    keywords: Option<Keywords>,
}

/// The arguments past `positional` are passed by keyword, under `names`.
struct Keywords {
    positional: usize,
    /// A tuple of `str`.
    names: Py<PyTuple>,
}

impl Keywords {
    /// Calls `handler` with `args`, those past `positional` by keyword: one vectorcall
    /// with the names made at registration (no dict, no tuple of the positional ones).
    #[inline(never)]
    fn call<'py>(
        &self,
        handler: &Bound<'py, PyAny>,
        args: Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = handler.py();
        let names = self.names.bind(py);
        if args.len() != self.positional + names.len() {
            return Err(PyValueError::new_err(
                "the arguments do not match the plan's keyword parameters",
            ));
        }
        // SAFETY: `args` is a tuple (not the limited API: its items are one array) of
        // `positional + names.len()` items, checked above, alive for the call as it is
        // borrowed; `names` is a tuple of str, the keyword names for the last
        // `names.len()` of them, as `PyObject_Vectorcall` takes them. The new reference
        // it returns (or NULL with an exception set) is owned by the `Bound`.
        unsafe {
            let items = (*args.as_ptr().cast::<pyo3::ffi::PyTupleObject>())
                .ob_item
                .as_ptr();
            let out = pyo3::ffi::PyObject_Vectorcall(
                handler.as_ptr(),
                items,
                self.positional,
                names.as_ptr(),
            );
            Bound::from_owned_ptr_or_err(py, out)
        }
    }
}

/// A request whose values failed validation.
pub(crate) struct Invalid<'py> {
    /// The 422 `detail` list, in FastAPI's order.
    pub(crate) errors: Bound<'py, PyList>,
    /// Every value of the plan, `None` for those that failed.
    pub(crate) values: Vec<Bound<'py, PyAny>>,
    /// The indices of the values that failed.
    pub(crate) failed: Vec<usize>,
    /// The body was not JSON: FastAPI answers that at once, before any dependency runs.
    pub(crate) body_not_json: bool,
}

/// A key or value of a url-encoded form as Starlette decodes it
/// (`unquote_plus(raw.decode("latin-1"))`): `+` is a space, runs of `%XX` escapes are
/// UTF-8 (invalid sequences become U+FFFD), other bytes are Latin-1, a `%` that starts no
/// escape stays.
pub(crate) fn form_decode(raw: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = String::with_capacity(raw.len());
    let mut escaped = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2])) {
                escaped.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        if !escaped.is_empty() {
            out.push_str(&String::from_utf8_lossy(&escaped));
            escaped.clear();
        }
        out.push(if raw[i] == b'+' {
            ' '
        } else {
            char::from(raw[i])
        });
        i += 1;
    }
    if !escaped.is_empty() {
        out.push_str(&String::from_utf8_lossy(&escaped));
    }
    out
}

/// The 422 `detail` list, created at the first error.
type Errors<'py> = Option<Bound<'py, PyList>>;

/// Appends one item to the 422 `detail` list.
fn push_error<'py>(errors: &mut Errors<'py>, item: Bound<'py, PyDict>) -> PyResult<()> {
    errors
        .get_or_insert_with(|| PyList::empty(item.py()))
        .append(item)
}

impl Plan {
    /// Whether the handler reads the request body.
    pub(crate) fn reads_body(&self) -> bool {
        self.reads_body
    }

    /// Whether the route's multipart bodies may be read into forms as they arrive.
    pub(crate) fn streams_forms(&self) -> bool {
        self.streams_forms
    }

    /// Reads the [`ParamSpec`]s the Python package compiled for a handler.
    pub(crate) fn from_specs(py: Python<'_>, specs: &[Py<ParamSpec>]) -> PyResult<Plan> {
        let mut params = Vec::with_capacity(specs.len());
        // The keyword-only parameters: `(position of the first, names)`.
        let mut keyword_names: Option<(usize, Vec<Bound<'_, PyString>>)> = None;
        for (i, spec) in specs.iter().enumerate() {
            let spec = spec.get();
            match (&mut keyword_names, spec.keyword) {
                (None, false) => {}
                (None, true) => keyword_names = Some((i, vec![PyString::intern(py, &spec.name)])),
                (Some((_, names)), true) => names.push(PyString::intern(py, &spec.name)),
                (Some(_), false) => {
                    return Err(PyValueError::new_err(format!(
                        "parameter {:?} is passed by position after one passed by keyword",
                        spec.name
                    )))
                }
            }
            let conv = spec.conv;
            let constraints = match &spec.constraints {
                Some(d) if !d.bind(py).is_empty() => {
                    Some(Box::new(Constraints::from_py(d.bind(py), conv)?))
                }
                _ => None,
            };
            let default = spec.default.clone_ref(py);
            let copy_default = !is_immutable(default.bind(py));
            let fields = spec
                .fields
                .as_ref()
                .map(|specs| specs.iter().map(|f| GroupField::new(py, f.get())).collect());
            params.push(Param {
                key: PyString::intern(py, &spec.key).unbind(),
                key_str: spec.key.clone(),
                source: spec.source,
                conv,
                required: spec.required,
                default,
                copy_default,
                validator: spec.validator.as_ref().map(|v| v.clone_ref(py)),
                multi: spec.multi,
                constraints,
                fields,
                group: spec.group,
            });
        }
        let reads_body = params
            .iter()
            .any(|p| matches!(p.source, Source::Body | Source::BodyField));
        // Form values read by the plan alone: the server may read a multipart body into
        // the form as it arrives, since nothing asks for the body's bytes (a `Request`
        // could: `await request.body()`).
        let streams_forms = params.iter().any(|p| p.source == Source::Form)
            && !params.iter().any(|p| p.source == Source::Request);
        let response_param = params.iter().position(|p| p.source == Source::Response);
        let keywords = match keyword_names {
            Some((positional, names)) => Some(Keywords {
                positional,
                names: PyTuple::new(py, names)?.unbind(),
            }),
            None => None,
        };
        Ok(Plan {
            params,
            reads_body,
            streams_forms,
            response_param,
            keywords,
        })
    }

    /// Calls `handler` with the `args` [`Plan::arguments`] made: by position, but for
    /// keyword-only parameters.
    #[inline(always)]
    pub(crate) fn call<'py>(
        &self,
        handler: &Bound<'py, PyAny>,
        args: Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.keywords {
            None => handler.call1(args),
            Some(kw) => kw.call(handler, args),
        }
    }

    /// The handler's arguments for `req` (its `Request` object from `request`), or what
    /// failed: the 422 `detail` list of every parameter that is missing or failed to
    /// convert, and the values that did not.
    pub(crate) fn arguments<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        req: &impl Incoming,
        request: &mut RequestCell<'py, '_>,
    ) -> PyResult<Result<Bound<'py, PyTuple>, Invalid<'py>>> {
        let mut args: Vec<Bound<'py, PyAny>> = Vec::with_capacity(self.params.len());
        let mut errors: Errors<'py> = None;
        // `(group, source rank, items)` of each parameter that failed, for the 422's order.
        let mut failed: Vec<(u32, u8, usize)> = Vec::new();
        let mut failed_at: Vec<usize> = Vec::new();
        let mut form: Option<Form> = None;
        let mut body: Option<Result<Bound<'py, PyAny>, ()>> = None;
        if self.reads_body && !req.body_bytes().is_empty() {
            body = Some(read_body(py, rt, req, &mut errors)?);
        }
        for p in &self.params {
            let errors_before = errors.as_ref().map_or(0, |e| e.len());
            let value = match p.source {
                Source::Request => Some(request.get(py, req)?),
                Source::Response => Some(rt.temporal_response.bind(py).call0()?),
                Source::Background => {
                    let tasks = background_tasks(py)?;
                    request.background = Some(tasks.clone());
                    Some(tasks)
                }
                Source::Form => {
                    if form.is_none() {
                        form = Some(Form::of(py, rt, req)?);
                    }
                    let Some(form) = &form else {
                        unreachable!("the form was just read");
                    };
                    if p.fields.is_some() {
                        self.form_group(py, rt, p, form, &mut errors)?
                    } else {
                        self.form_value(py, rt, p, form, &mut errors)?
                    }
                }
                Source::Body | Source::BodyField => {
                    self.body_value(py, rt, p, body.as_ref(), &mut errors)?
                }
                _ if p.multi => self.values(py, rt, p, req, &mut errors)?,
                _ if p.fields.is_some() => self.group(py, rt, p, req, &mut errors)?,
                Source::Path | Source::Query | Source::Header | Source::Cookie => {
                    let raw: Option<Cow<'_, str>> = match p.source {
                        Source::Path => req.path_param(&p.key_str),
                        Source::Query => req.query_param(&p.key_str),
                        Source::Header => req.header(&p.key_str),
                        _ => req.cookie(&p.key_str),
                    };
                    let loc = [p.source.loc(), p.key_str.as_str()];
                    match raw {
                        Some(raw) => self.convert_one(py, rt, p, &raw, &loc, &mut errors)?,
                        None => self.missing(py, p, &loc, &mut errors)?,
                    }
                }
            };
            match value {
                Some(v) => args.push(v),
                None => {
                    let after = errors.as_ref().map_or(0, |e| e.len());
                    failed.push((p.group, p.source.rank(), after - errors_before));
                    failed_at.push(args.len());
                    args.push(py.None().into_bound(py));
                }
            }
        }
        match errors {
            Some(errors) => Ok(Err(Invalid {
                errors: in_fastapi_order(errors, &failed)?,
                values: args,
                failed: failed_at,
                body_not_json: matches!(body, Some(Err(()))),
            })),
            None => Ok(Ok(PyTuple::new(py, args)?)),
        }
    }

    /// The value of a body parameter, from the `body` [`read_body`] read (`None`: the
    /// request has no body). Out of line: plain routes' [`Plan::arguments`] stays small.
    #[inline(never)]
    fn body_value<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        body: Option<&Result<Bound<'py, PyAny>, ()>>,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let field_loc = ["body", p.key_str.as_str()];
        let loc: &[&str] = if p.source == Source::Body {
            &field_loc[..1]
        } else {
            &field_loc
        };
        Ok(match body {
            Some(Err(())) => None,
            None => self.missing(py, p, loc, errors)?,
            // A JSON body that is no object has no fields: each one is
            // missing, even an optional one, as FastAPI reports (a body that
            // is not JSON has none either, and optional ones their default).
            Some(Ok(whole))
                if p.source == Source::BodyField
                    && whole.cast::<PyDict>().is_err()
                    && whole.cast::<pyo3::types::PyBytes>().is_err() =>
            {
                push_error(errors, missing_error(py, loc)?)?;
                None
            }
            Some(Ok(whole)) => {
                let value = if p.source == Source::Body {
                    Some(whole.clone())
                } else {
                    match whole.cast::<PyDict>() {
                        Ok(d) => d.get_item(p.key.bind(py))?,
                        Err(_) => None,
                    }
                };
                match value {
                    // JSON `null` is no value, as in FastAPI.
                    Some(v) if !v.is_none() => self.check(py, rt, p, v, loc, errors)?,
                    _ => self.missing(py, p, loc, errors)?,
                }
            }
        })
    }

    /// A model read as a group of query parameters, headers or cookies, as FastAPI's
    /// `request_params_to_args` reads one: a dict of each field's value (looked up by
    /// its name, or given its default) and of every other parameter of that source
    /// (a list if repeated), validated by the model.
    #[inline(never)]
    fn group<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        req: &impl Incoming,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(fields) = &p.fields else {
            return Ok(None);
        };
        let is_header = p.source == Source::Header;
        // Starlette's multidicts: every (name, value) received, in order.
        let items: Vec<(Cow<'_, str>, Cow<'_, str>)> = match p.source {
            Source::Query => req.query_items(),
            Source::Header => req.header_items(),
            _ => req
                .cookie_items()
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                .collect(),
        };
        let matches = |name: &str, lookup: &str| {
            if is_header {
                name.eq_ignore_ascii_case(lookup)
            } else {
                name == lookup
            }
        };
        let values = PyDict::new(py);
        for f in fields.iter() {
            let mut found = items.iter().filter(|(k, _)| matches(k, &f.lookup));
            let value = if f.multi {
                let all: Vec<&str> = found.map(|(_, v)| v.as_ref()).collect();
                (!all.is_empty())
                    .then(|| PyList::new(py, all))
                    .transpose()?
                    .map(Bound::into_any)
            } else {
                // Query parameters and cookies: the last value; headers: the first.
                let one = if is_header {
                    found.next()
                } else {
                    found.next_back()
                };
                one.map(|(_, v)| PyString::new(py, v).into_any())
            };
            let value = match (value, &f.default) {
                (Some(v), _) => Some(v),
                (None, Some((default, true))) => Some(deepcopy(py)?.call1((default.bind(py),))?),
                (None, Some((default, false))) => Some(default.bind(py).clone()),
                (None, None) => None,
            };
            if let Some(v) = value {
                values.set_item(f.key.bind(py), v)?;
            }
        }
        // The other parameters of the source, for the model to take or refuse
        // (`extra="forbid"`); a field's lookup name and key are its own.
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &items {
            let name = name.as_ref();
            if seen.contains(&name) || fields.iter().any(|f| f.lookup == name || f.key_str == name)
            {
                continue;
            }
            seen.push(name);
            let all: Vec<&str> = items
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_ref())
                .collect();
            let value = match all.as_slice() {
                [only] => PyString::new(py, only).into_any(),
                _ => PyList::new(py, all)?.into_any(),
            };
            values.set_item(name, value)?;
        }
        self.check(py, rt, p, values.into_any(), &[p.source.loc()], errors)
    }

    /// The value of a form field, converted and checked as a query parameter is; an
    /// uploaded file is the `UploadFile` (or its content for `bytes`). An empty text value
    /// counts as absent, as FastAPI takes it.
    #[inline(never)]
    fn form_value<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        form: &Form<'py>,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let loc = [p.source.loc(), p.key_str.as_str()];
        let has_files = form
            .values(&p.key_str)
            .any(|v| matches!(v, FormItem::File(_)));
        if !has_files && !matches!(p.conv, Conv::Upload | Conv::Bytes) {
            let mut texts = form.values(&p.key_str).filter_map(|v| match v {
                FormItem::Text(t) => Some(t.as_str()),
                FormItem::File(_) => None,
            });
            if p.multi {
                let raws: Vec<Cow<'_, str>> = texts.map(Cow::Borrowed).collect();
                return self.convert_all(py, rt, p, raws, &loc, errors);
            }
            return match texts.next_back().filter(|v| !v.is_empty()) {
                Some(raw) => self.convert_one(py, rt, p, raw, &loc, errors),
                None => self.missing(py, p, &loc, errors),
            };
        }
        if p.multi {
            let list = PyList::empty(py);
            let mut ok = true;
            for (i, item) in form.values(&p.key_str).enumerate() {
                match self.form_item(py, rt, p, item, &loc, i, errors)? {
                    Some(v) => list.append(v)?,
                    None => ok = false,
                }
            }
            if list.is_empty() && ok {
                return self.missing(py, p, &loc, errors);
            }
            return Ok(ok.then(|| list.into_any()));
        }
        match form.values(&p.key_str).next_back() {
            Some(FormItem::Text(t)) if t.is_empty() => self.missing(py, p, &loc, errors),
            Some(item) => self.form_item(py, rt, p, item, &loc, usize::MAX, errors),
            None => self.missing(py, p, &loc, errors),
        }
    }

    /// One form value for parameter `p` (item `index` of a list, `usize::MAX` for a
    /// single value).
    #[allow(clippy::too_many_arguments)]
    fn form_item<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        item: &FormItem<'py>,
        loc: &[&str],
        index: usize,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let failed = |errors: &mut Errors<'py>, ty: &str, msg: &str, input: &Bound<'py, PyAny>| {
            let at = self::loc(py, loc)?;
            if index != usize::MAX {
                at.append(index)?;
            }
            push_error(errors, detail(py, ty, at, msg, input, None)?)?;
            Ok::<_, PyErr>(None)
        };
        match (item, p.conv) {
            (FormItem::File(upload), Conv::Upload | Conv::Any) => Ok(Some(upload.clone())),
            (FormItem::File(upload), Conv::Bytes) => Ok(Some(upload_bytes(py, upload)?)),
            (FormItem::Text(t), Conv::Bytes) => Ok(Some(PyBytes::new(py, t.as_bytes()).into_any())),
            (FormItem::Text(t), Conv::Upload) => {
                let input = PyString::new(py, t).into_any();
                failed(
                    errors,
                    "value_error",
                    "Value error, Expected UploadFile, received: <class 'str'>",
                    &input,
                )
            }
            (FormItem::Text(t), _) if index == usize::MAX => {
                self.convert_one(py, rt, p, t, loc, errors)
            }
            (FormItem::Text(t), _) => match convert(py, p.conv, t)? {
                Ok(v) => Ok(Some(v)),
                Err((ty, msg)) => {
                    let input = PyString::new(py, t).into_any();
                    failed(errors, ty, msg, &input)
                }
            },
            // A file where text is expected: what validating the UploadFile says.
            (FormItem::File(upload), _) => self.check(py, rt, p, upload.clone(), loc, errors),
        }
    }

    /// A pydantic model read from the form's fields (`data: Annotated[Model, Form()]`,
    /// FastAPI's form models): a dict of each field's value (an empty text counts as
    /// absent) and of the form's other items, validated by the model.
    #[inline(never)]
    fn form_group<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        form: &Form<'py>,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(fields) = &p.fields else {
            return Ok(None);
        };
        let value_of = |item: &FormItem<'py>| match item {
            FormItem::Text(t) => PyString::new(py, t).into_any(),
            FormItem::File(f) => f.clone(),
        };
        let present = |item: &&FormItem<'py>| !matches!(item, FormItem::Text(t) if t.is_empty());
        let values = PyDict::new(py);
        for f in fields.iter() {
            let found: Vec<&FormItem<'py>> = form.values(&f.lookup).filter(present).collect();
            let value = if f.multi {
                (!found.is_empty())
                    .then(|| PyList::new(py, found.iter().map(|i| value_of(i))))
                    .transpose()?
                    .map(Bound::into_any)
            } else {
                found.last().map(|i| value_of(i))
            };
            let value = match (value, &f.default) {
                (Some(v), _) => Some(v),
                (None, Some((default, true))) => Some(deepcopy(py)?.call1((default.bind(py),))?),
                (None, Some((default, false))) => Some(default.bind(py).clone()),
                (None, None) => None,
            };
            if let Some(v) = value {
                values.set_item(f.key.bind(py), v)?;
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (name, _) in &form.items {
            let name = name.as_str();
            if seen.contains(&name) || fields.iter().any(|f| f.lookup == name || f.key_str == name)
            {
                continue;
            }
            seen.push(name);
            let all: Vec<Bound<'py, PyAny>> = form.values(name).map(value_of).collect();
            let value = match all.len() {
                1 => all.into_iter().next().expect("one value"),
                _ => PyList::new(py, all)?.into_any(),
            };
            values.set_item(name, value)?;
        }
        self.check(py, rt, p, values.into_any(), &[p.source.loc()], errors)
    }

    /// One raw value (path, query, header, cookie, form) converted and checked.
    fn convert_one<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        raw: &str,
        loc: &[&str],
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if p.conv == Conv::Validator {
            let value = PyString::new(py, raw).into_any();
            return self.check(py, rt, p, value, loc, errors);
        }
        match convert(py, p.conv, raw)? {
            Ok(v) => match &p.constraints {
                None => Ok(Some(v)),
                Some(c) => match c.violated(py, &v, Some(raw))? {
                    None => Ok(Some(v)),
                    Some(violation) => {
                        let input = PyString::new(py, raw).into_any();
                        push_error(errors, violation.detail(py, loc, &input)?)?;
                        Ok(None)
                    }
                },
            },
            Err((ty, msg)) => {
                let input = PyString::new(py, raw).into_any();
                push_error(
                    errors,
                    detail(py, ty, self::loc(py, loc)?, msg, &input, None)?,
                )?;
                Ok(None)
            }
        }
    }

    /// Every value of a repeated query parameter or header, converted, as a list.
    #[inline(never)]
    fn values<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        req: &impl Incoming,
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let raws = if p.source == Source::Header {
            req.header_all(&p.key_str)
        } else {
            req.query_all(&p.key_str)
        };
        let loc = [p.source.loc(), p.key_str.as_str()];
        self.convert_all(py, rt, p, raws, &loc, errors)
    }

    /// Several raw values converted, as a list (the default if there are none).
    fn convert_all<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        raws: Vec<Cow<'_, str>>,
        loc: &[&str],
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if raws.is_empty() {
            return self.missing(py, p, loc, errors);
        }
        if p.conv == Conv::Validator {
            let list = PyList::new(py, raws.iter().map(|r| r.as_ref()))?;
            return self.check(py, rt, p, list.into_any(), loc, errors);
        }
        let list = PyList::empty(py);
        let mut ok = true;
        for (i, raw) in raws.iter().enumerate() {
            match convert(py, p.conv, raw)? {
                Ok(v) => list.append(v)?,
                Err((ty, msg)) => {
                    ok = false;
                    let at = self::loc(py, loc)?;
                    at.append(i)?;
                    let input = PyString::new(py, raw).into_any();
                    push_error(errors, detail(py, ty, at, msg, &input, None)?)?;
                }
            }
        }
        Ok(ok.then(|| list.into_any()))
    }

    /// The default of an absent parameter, or a `missing` error if it is required.
    fn missing<'py>(
        &self,
        py: Python<'py>,
        p: &Param,
        at: &[&str],
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !p.required {
            let default = p.default.bind(py);
            if p.copy_default {
                return Ok(Some(deepcopy(py)?.call1((default,))?));
            }
            return Ok(Some(default.clone()));
        }
        push_error(errors, missing_error(py, at)?)?;
        Ok(None)
    }

    /// Checks a value against the parameter's declared shape (or runs its validator).
    fn check<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        v: Bound<'py, PyAny>,
        at: &[&str],
        errors: &mut Errors<'py>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let bad = match p.conv {
            Conv::Dict if v.cast::<PyDict>().is_err() => {
                Some(("dict_type", "Input should be a valid dictionary"))
            }
            Conv::List if v.cast::<PyList>().is_err() => {
                Some(("list_type", "Input should be a valid list"))
            }
            // A scalar body value (without pydantic, which validates them otherwise).
            Conv::Str | Conv::Int | Conv::Float | Conv::Bool => {
                match json_scalar(py, p.conv, &v)? {
                    Err(failure) => Some(failure),
                    Ok(value) => {
                        let violation = match &p.constraints {
                            Some(c) => c.violated(py, &value, None)?,
                            None => None,
                        };
                        let Some(violation) = violation else {
                            return Ok(Some(value));
                        };
                        push_error(errors, violation.detail(py, at, &v)?)?;
                        return Ok(None);
                    }
                }
            }
            Conv::Validator => {
                // Invariant: `ParamSpec::new` refuses a validator conversion without a validator.
                let validator = p.validator.as_ref().map(|f| f.bind(py));
                let Some(validator) = validator else {
                    return Ok(Some(v));
                };
                return match validator.call1((&v,)) {
                    Ok(model) => Ok(Some(model)),
                    Err(e) => match rt.validation_error.as_ref() {
                        Some(ve) if e.is_instance(py, ve.bind(py)) => {
                            // FastAPI validates with `from_attributes=True`. Request values
                            // (JSON, text, bytes) have no attributes, so the same ones pass
                            // either way, but its errors differ (a model given a
                            // non-object says `model_attributes_type`): asked only now,
                            // the keyword costs nothing to the values that pass.
                            let e = match validator.call((&v,), Some(from_attributes(py)?)) {
                                Ok(model) => return Ok(Some(model)),
                                Err(again) if again.is_instance(py, ve.bind(py)) => again,
                                // A validator without the keyword.
                                Err(_) => e,
                            };
                            let prefix = PyList::new(py, at)?;
                            let list =
                                rt.validation_detail.bind(py).call1((e.value(py), prefix))?;
                            let err = errors.get_or_insert_with(|| PyList::empty(py));
                            for item in list.try_iter()? {
                                err.append(item?)?;
                            }
                            Ok(None)
                        }
                        // A validator that is a plain class (an Enum without pydantic).
                        _ if e.is_instance_of::<PyValueError>(py) => {
                            let msg = e.value(py).str()?.to_string();
                            push_error(
                                errors,
                                detail(py, "value_error", loc(py, at)?, &msg, &v, None)?,
                            )?;
                            Ok(None)
                        }
                        _ => Err(e),
                    },
                };
            }
            _ => None,
        };
        match bad {
            None => Ok(Some(v)),
            Some((ty, msg)) => {
                push_error(errors, detail(py, ty, loc(py, at)?, msg, &v, None)?)?;
                Ok(None)
            }
        }
    }
}

impl Violation {
    /// This violation's 422 `detail` item.
    fn detail<'py>(
        &self,
        py: Python<'py>,
        at: &[&str],
        input: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        detail(
            py,
            self.ty,
            loc(py, at)?,
            &self.msg,
            input,
            Some(self.ctx.bind(py)),
        )
    }
}

/// A JSON body value read as `conv` (scalar body parameters without pydantic): a string
/// is converted as a query value is; otherwise the JSON type must be the one declared,
/// an integer also passing as a float.
fn json_scalar<'py>(
    py: Python<'py>,
    conv: Conv,
    v: &Bound<'py, PyAny>,
) -> PyResult<Result<Bound<'py, PyAny>, Failure>> {
    if let Ok(s) = v.cast::<PyString>() {
        if conv == Conv::Str {
            return Ok(Ok(v.clone()));
        }
        return convert(py, conv, s.to_str()?);
    }
    let is_bool = v.cast::<PyBool>().is_ok();
    let is_int = !is_bool && v.cast::<PyInt>().is_ok();
    Ok(match conv {
        Conv::Int if is_int => Ok(v.clone()),
        Conv::Float if v.cast::<PyFloat>().is_ok() => Ok(v.clone()),
        Conv::Float if is_int => match v.extract::<f64>() {
            Ok(f) => Ok(f.into_pyobject(py)?.into_any()),
            Err(_) => Err(("float_type", "Input should be a valid number")),
        },
        Conv::Bool if is_bool => Ok(v.clone()),
        Conv::Int => Err(("int_type", "Input should be a valid integer")),
        Conv::Float => Err(("float_type", "Input should be a valid number")),
        Conv::Bool => Err(("bool_type", "Input should be a valid boolean")),
        _ => Err(("string_type", "Input should be a valid string")),
    })
}

/// The body as FastAPI reads it for body parameters: parsed by `json.loads` (looked up
/// per request, as Starlette's `Request.json` does) when its `Content-Type` is JSON (see
/// [`is_json`]), else the raw `bytes` (which a model or dict parameter refuses with
/// pydantic's error). Invalid JSON is `Err(())` with FastAPI's `json_invalid` item in
/// `errors`; any other exception while parsing (bytes that are not UTF-8, nesting past
/// the recursion limit) is FastAPI's `HTTPException(400, "There was an error parsing the
/// body")`.
#[inline(never)]
fn read_body<'py>(
    py: Python<'py>,
    rt: &Runtime,
    req: &impl Incoming,
    errors: &mut Errors<'py>,
) -> PyResult<Result<Bound<'py, PyAny>, ()>> {
    let bytes = pyo3::types::PyBytes::new(py, req.body_bytes());
    if !is_json(req.header("content-type").as_deref()) {
        return Ok(Ok(bytes.into_any()));
    }
    let json = json_module(py)?;
    let parsed = json
        .getattr(pyo3::intern!(py, "loads"))
        .and_then(|loads| loads.call1((bytes,)));
    let e = match parsed {
        Ok(v) => return Ok(Ok(v)),
        Err(e) => e,
    };
    if e.is_instance(py, &json.getattr(pyo3::intern!(py, "JSONDecodeError"))?) {
        let exc = e.value(py);
        let at = PyList::new(py, ["body"])?;
        at.append(exc.getattr(pyo3::intern!(py, "pos"))?)?;
        let ctx = PyDict::new(py);
        ctx.set_item("error", exc.getattr(pyo3::intern!(py, "msg"))?)?;
        let item = detail(
            py,
            "json_invalid",
            at,
            "JSON decode error",
            PyDict::new(py).as_any(),
            Some(&ctx),
        )?;
        push_error(errors, item)?;
        return Ok(Err(()));
    }
    let bad = rt
        .http_exception
        .bind(py)
        .call1((400, "There was an error parsing the body"))?;
    let err = PyErr::from_value(bad);
    err.set_cause(py, Some(e));
    Err(err)
}

/// Whether a `Content-Type` makes the body JSON, as FastAPI decides with
/// `email.message`: the media type (before any `;`, stripped) has exactly one `/`, its
/// type is `application` and its subtype `json` or `...+json`, any case. A body without
/// a `Content-Type` is not JSON (FastAPI's default `strict_content_type=True`).
fn is_json(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    let Some((main, sub)) = media.split_once('/') else {
        return false;
    };
    if sub.contains('/') || !main.eq_ignore_ascii_case("application") {
        return false;
    }
    let n = sub.len();
    sub.eq_ignore_ascii_case("json")
        || (n >= 5 && sub.is_char_boundary(n - 5) && sub[n - 5..].eq_ignore_ascii_case("+json"))
}

/// Python's `json` module, imported once.
fn json_module(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static JSON: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    JSON.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("json")?.into_any().unbind())
    })
    .map(|m| m.bind(py))
}

/// The text of an integer as pydantic reads one beyond what `i64::from_str` takes: a
/// sign, then digits with single `_` between them (as Python's `int()`), optionally
/// followed by `.` and zeros (`"1.0"`); the sign and digits alone, or `None`.
fn int_text(s: &str) -> Option<Cow<'_, str>> {
    let s = match s.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => s,
    };
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    if s.contains('_') {
        without_underscores(s)
    } else {
        Some(Cow::Borrowed(s))
    }
}

/// `s` without its `_`, if each of them stands between two ASCII digits (Python's rule
/// for numbers in text, which pydantic follows); `None` otherwise.
fn without_underscores(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('_') {
        return None;
    }
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_'
            && !(i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            return None;
        }
    }
    Some(Cow::Owned(s.replace('_', "")))
}

/// `s` without its `_` as pydantic reads a float: none first or last, never two in a
/// row (laxer than Python's `float()`: `"1_e1"` is 10.0); `None` otherwise.
fn float_without_underscores(s: &str) -> Option<String> {
    if !s.contains('_') || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    Some(s.replace('_', ""))
}

/// Booleans as FastAPI (pydantic) reads them, any case.
fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
    const FALSE: [&str; 6] = ["0", "off", "f", "false", "n", "no"];
    if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

type Failure = (&'static str, &'static str);

/// Converts a raw path or query value; `Err` names pydantic's error type and message.
fn convert<'py>(
    py: Python<'py>,
    conv: Conv,
    raw: &str,
) -> PyResult<Result<Bound<'py, PyAny>, Failure>> {
    Ok(Ok(match conv {
        Conv::Str | Conv::Any | Conv::Dict | Conv::List | Conv::Validator => {
            PyString::new(py, raw).into_any()
        }
        Conv::Bytes => PyBytes::new(py, raw.as_bytes()).into_any(),
        Conv::Upload => {
            return Ok(Err((
                "value_error",
                "Value error, Expected UploadFile, received: <class 'str'>",
            )))
        }
        Conv::Int => {
            let s = raw.trim();
            match s.parse::<i64>() {
                Ok(v) => v.into_pyobject(py)?.into_any(),
                Err(_) => {
                    match int_text(s) {
                        Some(text) => match text.parse::<i64>() {
                            Ok(v) => v.into_pyobject(py)?.into_any(),
                            // Beyond 64 bits: Python's int() reads any length.
                            Err(_) => py.get_type::<pyo3::types::PyInt>().call1((&*text,))?,
                        },
                        None => return Ok(Err((
                            "int_parsing",
                            "Input should be a valid integer, unable to parse string as an integer",
                        ))),
                    }
                }
            }
        }
        Conv::Float => {
            let s = raw.trim();
            match s
                .parse::<f64>()
                .ok()
                .or_else(|| float_without_underscores(s)?.parse::<f64>().ok())
            {
                Some(v) => v.into_pyobject(py)?.into_any(),
                None => {
                    return Ok(Err((
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                    )))
                }
            }
        }
        Conv::Bool => match parse_bool(raw) {
            Some(v) => pyo3::types::PyBool::new(py, v).to_owned().into_any(),
            None => {
                return Ok(Err((
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                )))
            }
        },
    }))
}

/// The 422 `detail` items in FastAPI's order: dependency by dependency (see
/// [`ParamSpec`]'s `group`), and within one its path, query, header, cookie, then body
/// errors, each in the signature's order. `failed` holds `(group, rank, items)` of each
/// parameter that failed, in plan order (a body that is not JSON adds one item first).
fn in_fastapi_order<'py>(
    errors: Bound<'py, PyList>,
    failed: &[(u32, u8, usize)],
) -> PyResult<Bound<'py, PyList>> {
    if errors.len() < 2 {
        return Ok(errors);
    }
    let counted: usize = failed.iter().map(|&(_, _, n)| n).sum();
    let mut keyed = Vec::with_capacity(errors.len());
    let mut items = errors.iter();
    // Items no parameter accounts for (the JSON decode error) are body errors.
    for item in items.by_ref().take(errors.len().saturating_sub(counted)) {
        keyed.push(((0, Source::Body.rank()), item));
    }
    for &(group, rank, n) in failed {
        for item in items.by_ref().take(n) {
            keyed.push(((group, rank), item));
        }
    }
    keyed.sort_by_key(|(key, _)| *key); // stable: each group keeps its order
    PyList::new(errors.py(), keyed.into_iter().map(|(_, item)| item))
}

/// FastAPI's `missing` item for the value at `at`.
fn missing_error<'py>(py: Python<'py>, at: &[&str]) -> PyResult<Bound<'py, PyDict>> {
    detail(
        py,
        "missing",
        loc(py, at)?,
        "Field required",
        py.None().bind(py),
        None,
    )
}

/// A 422 `loc` list.
fn loc<'py>(py: Python<'py>, items: &[&str]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, items)
}

/// One item of a 422 `detail` list, FastAPI's shape.
fn detail<'py>(
    py: Python<'py>,
    ty: &str,
    loc: Bound<'py, PyList>,
    msg: &str,
    input: &Bound<'py, PyAny>,
    ctx: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("type", ty)?;
    d.set_item("loc", loc)?;
    d.set_item("msg", msg)?;
    d.set_item("input", input)?;
    if let Some(ctx) = ctx {
        d.set_item("ctx", ctx)?;
    }
    Ok(d)
}

/// Whether `v` can be shared by every request: `None`, a bool, a number, a string or
/// bytes, or a tuple or frozenset of such.
fn is_immutable(v: &Bound<'_, PyAny>) -> bool {
    use pyo3::types::{PyBytes, PyFrozenSet};
    if v.is_none()
        || v.cast_exact::<PyBool>().is_ok()
        || v.cast_exact::<PyInt>().is_ok()
        || v.cast_exact::<PyFloat>().is_ok()
        || v.cast_exact::<PyString>().is_ok()
        || v.cast_exact::<PyBytes>().is_ok()
    {
        return true;
    }
    if let Ok(t) = v.cast_exact::<PyTuple>() {
        return t.iter().all(|item| is_immutable(&item));
    }
    if let Ok(s) = v.cast_exact::<PyFrozenSet>() {
        return s.iter().all(|item| is_immutable(&item));
    }
    false
}

/// `{"from_attributes": True}`, made once.
fn from_attributes(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static KWARGS: pyo3::sync::PyOnceLock<Py<PyDict>> = pyo3::sync::PyOnceLock::new();
    KWARGS
        .get_or_try_init(py, || {
            let d = PyDict::new(py);
            d.set_item("from_attributes", true)?;
            Ok::<_, PyErr>(d.unbind())
        })
        .map(|d| d.bind(py))
}

/// `copy.deepcopy`, looked up once.
fn deepcopy(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static DEEPCOPY: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    DEEPCOPY
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("copy")?.getattr("deepcopy")?.unbind())
        })
        .map(|f| f.bind(py))
}

/// A new `BackgroundTasks` for a request, whose tasks run once its response is out
/// (`fasterapi.background._for_request`).
fn background_tasks(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static NEW: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    let new = NEW.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("fasterapi.background")?
            .getattr("_for_request")?
            .unbind())
    })?;
    new.bind(py).call0()
}

#[cfg(test)]
mod tests {
    use super::{cookie_items, cookie_value, form_decode, int_text, is_json, latin1, parse_bool};

    #[test]
    fn integers_in_text_as_pydantic_reads_them() {
        for (s, want) in [
            ("1_000", "1000"),
            ("-1.0", "-1"),
            ("00.000", "00"),
            ("+1_2_3", "+123"),
            ("7", "7"),
        ] {
            assert_eq!(int_text(s).as_deref(), Some(want), "{s}");
        }
        for s in [
            "1__0", "_1", "1_", "1.5", "1.", "1.0_0", "0x10", "", "-", "1e3", "1_.0",
        ] {
            assert_eq!(int_text(s), None, "{s}");
        }
    }

    #[test]
    fn cookie_items_as_starlettes_dict() {
        let h = r#"a=1; b = two ;c="q\"x\054y";flag; a=3; =v; ;="#;
        let items = cookie_items(h);
        let pairs: Vec<(&str, &str)> = items
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("a", "3"), ("b", "two"), ("c", "q\"x,y"), ("", "v")],
            "a pair without `=` has the empty name; the last of a name wins where first seen"
        );
    }

    #[test]
    fn json_content_types_as_fastapi_reads_them() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/geo+json",
            " application/vnd.api+JSON ;x=y",
        ] {
            assert!(is_json(Some(ct)), "{ct}");
        }
        for ct in [
            "text/plain",
            "application/geo+json-seq",
            "application/not-really-json",
            "application / json",
            "application/json/x",
            "json",
            "",
        ] {
            assert!(!is_json(Some(ct)), "{ct}");
        }
        assert!(
            !is_json(None),
            "no Content-Type: not JSON (strict_content_type)"
        );
    }

    #[test]
    fn form_fields_decode_like_starlette() {
        assert_eq!(form_decode(b"a+b%20c"), "a b c");
        assert_eq!(form_decode(b"caf%C3%A9"), "caf\u{e9}");
        // A raw byte is Latin-1; an escape that is not UTF-8 is U+FFFD.
        assert_eq!(form_decode(b"caf\xe9%FF"), "caf\u{e9}\u{fffd}");
        // A `%` that starts no escape stays, at the end too.
        assert_eq!(form_decode(b"100%+%zz%4"), "100% %zz%4");
        assert_eq!(form_decode(b"%41%42"), "AB");
        assert_eq!(form_decode(b""), "");
    }

    #[test]
    fn bools_read_like_fastapi() {
        for s in ["1", "on", "T", "true", "TRUE", "y", "Yes"] {
            assert_eq!(parse_bool(s), Some(true), "{s}");
        }
        for s in ["0", "off", "F", "false", "n", "NO"] {
            assert_eq!(parse_bool(s), Some(false), "{s}");
        }
        for s in ["", "2", "yess", "nope", "tru"] {
            assert_eq!(parse_bool(s), None, "{s}");
        }
    }

    #[test]
    fn cookies_parse_like_starlette() {
        let h = r#"a=1; b = two ;c="q\"x\054y";flag; a=3; =v"#;
        assert_eq!(cookie_value(h, "a").as_deref(), Some("3"));
        assert_eq!(cookie_value(h, "b").as_deref(), Some("two"));
        assert_eq!(cookie_value(h, "c").as_deref(), Some("q\"x,y"));
        assert_eq!(cookie_value(h, "").as_deref(), Some("v"));
        assert_eq!(cookie_value(h, "flag"), None);
        assert_eq!(cookie_value(h, "d"), None);
        assert_eq!(cookie_value(r#"e="""#, "e").as_deref(), Some(""));
        assert_eq!(cookie_value(r#"e=""#, "e").as_deref(), Some("\""));
        assert_eq!(cookie_value(r#"e="a\""#, "e").as_deref(), Some("a\\"));
    }

    #[test]
    fn header_values_are_latin1() {
        assert_eq!(latin1(b"plain"), "plain");
        assert!(matches!(latin1(b"plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(latin1(b"caf\xe9"), "caf\u{e9}");
        assert_eq!(latin1(b"\xc3\xa9"), "\u{c3}\u{a9}");
    }
}
