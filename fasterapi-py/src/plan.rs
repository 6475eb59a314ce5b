//! A handler's signature compiled into a positional argument plan, and the per-request
//! work of turning path, query and body values into those arguments.

use std::borrow::Cow;

use fasterapi_http::Request;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::dispatch::Runtime;
use crate::request::PyRequest;

/// What the plan reads from a request: implemented by the server's [`Request`] and by
/// the in-memory requests of the dispatch micro bench.
pub(crate) trait Incoming {
    /// The path parameter `name`, percent-decoded.
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The first query parameter `name`, decoded.
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>>;
    /// The body.
    fn body_bytes(&self) -> &[u8];
    /// The Python `Request` object.
    fn to_py(&self, in_async: bool) -> PyRequest;
}

impl Incoming for Request<'_> {
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let raw = self.param_str(name)?;
        if raw.contains('%') {
            self.param::<String>(name).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(raw))
        }
    }
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_str(name)
    }
    fn body_bytes(&self) -> &[u8] {
        self.body()
    }
    fn to_py(&self, in_async: bool) -> PyRequest {
        PyRequest::new(self, in_async)
    }
}

/// Where an argument comes from (the numbers are the Python package's `_SRC_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Path,
    Query,
    /// The whole JSON body.
    Body,
    /// The body's key of the parameter's name (several body parameters).
    BodyField,
    Request,
}

/// How a raw value is converted (the Python package's `_CONV_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    Str,
    Int,
    Float,
    Bool,
    Dict,
    List,
    /// A Python callable validates (pydantic `model_validate`, `TypeAdapter`).
    Validator,
    Any,
}

/// One parameter of a handler.
pub(crate) struct Param {
    name: Py<PyString>,
    name_str: String,
    source: Source,
    conv: Conv,
    required: bool,
    default: Py<PyAny>,
    validator: Option<Py<PyAny>>,
}

/// A compiled signature.
pub(crate) struct Plan {
    params: Vec<Param>,
    reads_body: bool,
}

impl Plan {
    /// Reads the plan the Python package compiled: a list of
    /// `(name, source, conv, required, default, validator)`.
    pub(crate) fn from_py(plan: &Bound<'_, PyAny>) -> PyResult<Plan> {
        let py = plan.py();
        let mut params = Vec::new();
        for entry in plan.try_iter()? {
            let entry = entry?;
            let (name, source, conv, required, default, validator): (
                String,
                u8,
                u8,
                bool,
                Py<PyAny>,
                Option<Py<PyAny>>,
            ) = entry.extract()?;
            let source = match source {
                0 => Source::Path,
                1 => Source::Query,
                2 => Source::Body,
                3 => Source::BodyField,
                4 => Source::Request,
                n => {
                    return Err(PyValueError::new_err(format!(
                        "unknown parameter source {n}"
                    )))
                }
            };
            let conv = match conv {
                0 => Conv::Str,
                1 => Conv::Int,
                2 => Conv::Float,
                3 => Conv::Bool,
                4 => Conv::Dict,
                5 => Conv::List,
                6 => Conv::Validator,
                7 => Conv::Any,
                n => return Err(PyValueError::new_err(format!("unknown conversion {n}"))),
            };
            if conv == Conv::Validator && validator.is_none() {
                return Err(PyValueError::new_err(format!(
                    "parameter {name:?} has no validator"
                )));
            }
            params.push(Param {
                name: PyString::intern(py, &name).unbind(),
                name_str: name,
                source,
                conv,
                required,
                default,
                validator,
            });
        }
        let reads_body = params
            .iter()
            .any(|p| matches!(p.source, Source::Body | Source::BodyField));
        Ok(Plan { params, reads_body })
    }

    /// The handler's arguments for `req`, or the 422 `detail` list of every parameter
    /// that is missing or failed to convert.
    pub(crate) fn arguments<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        req: &impl Incoming,
        in_async: bool,
    ) -> PyResult<Result<Bound<'py, PyTuple>, Bound<'py, PyList>>> {
        let mut args: Vec<Bound<'py, PyAny>> = Vec::with_capacity(self.params.len());
        let mut errors: Option<Bound<'py, PyList>> = None;
        let mut body: Option<Result<Bound<'py, PyAny>, ()>> = None;
        if self.reads_body && !req.body_bytes().is_empty() {
            body = Some(
                match rt
                    .json_loads
                    .bind(py)
                    .call1((pyo3::types::PyBytes::new(py, req.body_bytes()),))
                {
                    Ok(v) => Ok(v),
                    Err(e) => {
                        let err = errors.get_or_insert_with(|| PyList::empty(py));
                        let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
                        err.append(detail(
                            py,
                            "json_invalid",
                            &["body"],
                            "JSON decode error",
                            py.None().bind(py),
                            Some(&msg),
                        )?)?;
                        Err(())
                    }
                },
            );
        }
        for p in &self.params {
            let value = match p.source {
                Source::Request => Some(Bound::new(py, req.to_py(in_async))?.into_any()),
                Source::Path | Source::Query => {
                    let raw: Option<Cow<'_, str>> = if p.source == Source::Path {
                        req.path_param(&p.name_str)
                    } else {
                        req.query_param(&p.name_str)
                    };
                    let loc = if p.source == Source::Path {
                        "path"
                    } else {
                        "query"
                    };
                    match raw {
                        Some(raw) if p.conv == Conv::Validator => {
                            let value = PyString::new(py, &raw).into_any();
                            self.check(py, rt, p, value, &[loc, &p.name_str], &mut errors)?
                        }
                        Some(raw) => match convert(py, p.conv, &raw)? {
                            Ok(v) => Some(v),
                            Err((ty, msg)) => {
                                let err = errors.get_or_insert_with(|| PyList::empty(py));
                                let input = PyString::new(py, &raw).into_any();
                                err.append(detail(
                                    py,
                                    ty,
                                    &[loc, &p.name_str],
                                    msg,
                                    &input,
                                    None,
                                )?)?;
                                None
                            }
                        },
                        None => self.missing(py, p, &[loc, &p.name_str], &mut errors)?,
                    }
                }
                Source::Body | Source::BodyField => match &body {
                    Some(Err(())) => None,
                    None => self.missing(py, p, &["body"], &mut errors)?,
                    Some(Ok(whole)) => {
                        let value = if p.source == Source::Body {
                            Some(whole.clone())
                        } else {
                            match whole.cast::<PyDict>() {
                                Ok(d) => d.get_item(p.name.bind(py))?,
                                Err(_) => None,
                            }
                        };
                        let loc: &[&str] = if p.source == Source::Body {
                            &["body"]
                        } else {
                            &["body", &p.name_str]
                        };
                        match value {
                            None => self.missing(py, p, loc, &mut errors)?,
                            Some(v) => self.check(py, rt, p, v, loc, &mut errors)?,
                        }
                    }
                },
            };
            if let Some(v) = value {
                args.push(v);
            }
        }
        match errors {
            Some(errors) => Ok(Err(errors)),
            None => Ok(Ok(PyTuple::new(py, args)?)),
        }
    }

    /// The default of an absent parameter, or a `missing` error if it is required.
    fn missing<'py>(
        &self,
        py: Python<'py>,
        p: &Param,
        loc: &[&str],
        errors: &mut Option<Bound<'py, PyList>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !p.required {
            return Ok(Some(p.default.bind(py).clone()));
        }
        let err = errors.get_or_insert_with(|| PyList::empty(py));
        err.append(detail(
            py,
            "missing",
            loc,
            "Field required",
            py.None().bind(py),
            None,
        )?)?;
        Ok(None)
    }

    /// Checks a value against the parameter's declared shape (or runs its validator).
    fn check<'py>(
        &self,
        py: Python<'py>,
        rt: &Runtime,
        p: &Param,
        v: Bound<'py, PyAny>,
        loc: &[&str],
        errors: &mut Option<Bound<'py, PyList>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let bad = match p.conv {
            Conv::Dict if v.cast::<PyDict>().is_err() => {
                Some(("dict_type", "Input should be a valid dictionary"))
            }
            Conv::List if v.cast::<PyList>().is_err() => {
                Some(("list_type", "Input should be a valid list"))
            }
            Conv::Validator => {
                // Invariant: `from_py` refuses a validator conversion without a validator.
                let validator = p.validator.as_ref().map(|f| f.bind(py));
                let Some(validator) = validator else {
                    return Ok(Some(v));
                };
                return match validator.call1((&v,)) {
                    Ok(model) => Ok(Some(model)),
                    Err(e) => match rt.validation_error.as_ref() {
                        Some(ve) if e.is_instance(py, ve.bind(py)) => {
                            let prefix = PyList::new(py, loc)?;
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
                            let err = errors.get_or_insert_with(|| PyList::empty(py));
                            err.append(detail(py, "value_error", loc, &msg, &v, None)?)?;
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
                let err = errors.get_or_insert_with(|| PyList::empty(py));
                err.append(detail(py, ty, loc, msg, &v, None)?)?;
                Ok(None)
            }
        }
    }
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
        Conv::Int => {
            let s = raw.trim();
            match s.parse::<i64>() {
                Ok(v) => v.into_pyobject(py)?.into_any(),
                Err(_) => {
                    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        // Beyond 64 bits: Python's int() reads any length.
                        py.get_type::<pyo3::types::PyInt>().call1((s,))?
                    } else {
                        return Ok(Err((
                            "int_parsing",
                            "Input should be a valid integer, unable to parse string as an integer",
                        )));
                    }
                }
            }
        }
        Conv::Float => match raw.trim().parse::<f64>() {
            Ok(v) => v.into_pyobject(py)?.into_any(),
            Err(_) => {
                return Ok(Err((
                    "float_parsing",
                    "Input should be a valid number, unable to parse string as a number",
                )))
            }
        },
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

/// One item of a 422 `detail` list, FastAPI's shape.
fn detail<'py>(
    py: Python<'py>,
    ty: &str,
    loc: &[&str],
    msg: &str,
    input: &Bound<'py, PyAny>,
    error: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("type", ty)?;
    d.set_item("loc", PyList::new(py, loc)?)?;
    d.set_item("msg", msg)?;
    d.set_item("input", input)?;
    if let Some(error) = error {
        let ctx = PyDict::new(py);
        ctx.set_item("error", error)?;
        d.set_item("ctx", ctx)?;
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::parse_bool;

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
}
