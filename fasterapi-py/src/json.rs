//! Python values walked straight into fasterapi-core's JSON writer.

use fasterapi_core::json::{self, ToJson};
use pyo3::exceptions::PyKeyError;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::dispatch::Runtime;

/// Deeper nesting is refused (it is most likely a cycle).
const MAX_DEPTH: u32 = 255;

/// Appends `obj` as JSON to `out`.
///
/// `str`, `int` (any size), `float` (NaN and infinities as `null`), `bool`, `None`,
/// `dict` (keys `str`, or `int`/`float`/`bool`/`None` turned into strings as `json.dumps`
/// does), `list` and `tuple` (and their subclasses) are written directly; anything else
/// goes through the package's `_jsonable` hook first (`fasterapi/encoders.py`:
/// dataclasses, enums, dates... as FastAPI's `jsonable_encoder` converts them), which
/// raises for what it cannot convert, but pydantic models, which pydantic's own serializer
/// writes (see [`Runtime::model_json`]).
pub(crate) fn write_value(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    depth: u32,
) -> PyResult<()> {
    walk::<FASTAPI>(py, rt, out, obj, depth)
}

/// Appends `obj` as JSON to `out` as Starlette's `JSONResponse.render` encodes it
/// (`json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`): the
/// values [`write_value`] writes itself, a NaN or an infinity is a `ValueError` and any
/// other object a `TypeError`, as `json.dumps` raises them.
pub(crate) fn write_json_dumps(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
) -> PyResult<()> {
    walk::<JSON_DUMPS>(py, rt, out, obj, 0)
}

/// [`write_value`]'s walk: other objects through the `_jsonable` hook.
const FASTAPI: u8 = 0;
/// [`write_json_dumps`]'s walk: `json.dumps`'s errors.
const JSON_DUMPS: u8 = 1;
/// [`write_shaped`]'s walk of values: as `JSON_DUMPS`, and a key that is not a `str` is a
/// `TypeError` too (pydantic's inference writes some of them otherwise).
const NATIVE: u8 = 2;

/// The walk of [`write_value`], [`write_json_dumps`] and [`write_shaped`] (`MODE`).
fn walk<const MODE: u8>(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    depth: u32,
) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(
            "JSON value nested too deeply (a reference cycle?)",
        ));
    }
    if let Ok(s) = obj.cast_exact::<PyString>() {
        json::write_str(out, s.to_str()?);
    } else if obj.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(b) = obj.cast_exact::<PyBool>() {
        b.is_true().write_json(out);
    } else if let Ok(i) = obj.cast::<PyInt>() {
        write_int(out, i)?;
    } else if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if MODE != FASTAPI && !v.is_finite() {
            return Err(PyValueError::new_err(
                "Out of range float values are not JSON compliant",
            ));
        }
        v.write_json(out);
    } else if let Ok(d) = obj.cast::<PyDict>() {
        out.push(b'{');
        let mut first = true;
        for (k, v) in d.iter() {
            if !first {
                out.push(b',');
            }
            first = false;
            if MODE == NATIVE && !k.is_exact_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("a key that is not a str"));
            }
            write_key(out, &k)?;
            out.push(b':');
            walk::<MODE>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b'}');
    } else if let Ok(l) = obj.cast::<PyList>() {
        out.push(b'[');
        for (i, v) in l.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            walk::<MODE>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b']');
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        out.push(b'[');
        for (i, v) in t.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            walk::<MODE>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b']');
    } else if let Ok(s) = obj.cast::<PyString>() {
        json::write_str(out, s.to_str()?);
    } else if MODE != FASTAPI {
        return Err(PyTypeError::new_err(format!(
            "Object of type {} is not JSON serializable",
            obj.get_type().name()?
        )));
    } else if let Some(json) = rt.model_json(obj)? {
        out.extend_from_slice(json.as_bytes());
    } else {
        let plain = rt.jsonable.bind(py).call1((obj,))?;
        walk::<MODE>(py, rt, out, &plain, depth + 1)?;
    }
    Ok(())
}

fn write_int(out: &mut Vec<u8>, i: &Bound<'_, PyInt>) -> PyResult<()> {
    if let Ok(b) = i.cast::<PyBool>() {
        // A bool subclass instance: still a bool.
        b.is_true().write_json(out);
    } else {
        match i.extract::<i64>() {
            Ok(v) => v.write_json(out),
            // Beyond 64 bits: Python's decimal digits are a valid JSON number.
            Err(_) => out.extend_from_slice(i.str()?.to_str()?.as_bytes()),
        }
    }
    Ok(())
}

fn write_key(out: &mut Vec<u8>, k: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(s) = k.cast::<PyString>() {
        json::write_str(out, s.to_str()?);
    } else if let Ok(b) = k.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() {
            b"\"true\""
        } else {
            b"\"false\""
        });
    } else if k.is_none() {
        out.extend_from_slice(b"\"null\"");
    } else if k.cast::<PyInt>().is_ok() || k.cast::<PyFloat>().is_ok() {
        let mut tmp = Vec::new();
        if let Ok(i) = k.cast::<PyInt>() {
            write_int(&mut tmp, i)?;
        } else if let Ok(f) = k.cast::<PyFloat>() {
            f.value().write_json(&mut tmp);
        }
        out.push(b'"');
        out.extend_from_slice(&tmp);
        out.push(b'"');
    } else {
        return Err(PyTypeError::new_err(format!(
            "keys must be str, int, float, bool or None, not {}",
            k.get_type().name()?
        )));
    }
    Ok(())
}

/// `dumps(obj) -> bytes`: `obj` as JSON, encoded by the same walker as handler results.
#[pyfunction]
pub(crate) fn dumps<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let rt = Runtime::get(py)?;
    let mut out = Vec::with_capacity(128);
    write_value(py, rt, &mut out, obj, 0)?;
    Ok(PyBytes::new(py, &out))
}

/// `render_json(obj) -> bytes`: `obj` as Starlette's `JSONResponse.render` encodes it
/// (see [`write_json_dumps`]), for `fasterapi.responses.JSONResponse`.
#[pyfunction]
pub(crate) fn render_json<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let rt = Runtime::get(py)?;
    let mut out = Vec::with_capacity(128);
    write_json_dumps(py, rt, &mut out, obj)?;
    Ok(PyBytes::new(py, &out))
}

/// How a response model's validated value is laid out, read once at registration from its
/// pydantic core schema (`fasterapi/routing.py`, `_serialization_shape`), for the models
/// whose JSON is what [`write_shaped`] writes: fields of native JSON values (`str`, `int`,
/// `float`, `bool`, `None`, lists and dicts of them, `Any`), nested such models and
/// lists of them; no custom serializers, computed fields or extra fields.
pub(crate) enum Shape {
    /// A native JSON value, walked as `json.dumps` encodes it.
    Value,
    /// A model: its fields in order, each its attribute name, its JSON key (`"key":`,
    /// escaped) and its shape.
    Model(Vec<(Py<PyString>, Vec<u8>, Shape)>),
    /// A list of values of a shape.
    List(Box<Shape>),
    /// `None` or a value of a shape.
    Nullable(Box<Shape>),
}

impl Shape {
    /// Reads the Python package's description: `("value",)`, `("model", [(attr, key,
    /// shape), ...])`, `("list", shape)` or `("nullable", shape)`.
    pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Shape> {
        let py = obj.py();
        let t = obj.cast::<PyTuple>()?;
        let kind: String = t.get_item(0)?.extract()?;
        Ok(match kind.as_str() {
            "value" => Shape::Value,
            "list" => Shape::List(Box::new(Shape::from_py(&t.get_item(1)?)?)),
            "nullable" => Shape::Nullable(Box::new(Shape::from_py(&t.get_item(1)?)?)),
            "model" => {
                let mut fields = Vec::new();
                for field in t.get_item(1)?.try_iter()? {
                    let field = field?;
                    let field = field.cast::<PyTuple>()?;
                    let attr: String = field.get_item(0)?.extract()?;
                    let key: String = field.get_item(1)?.extract()?;
                    let mut prefix = Vec::with_capacity(key.len() + 3);
                    json::write_str(&mut prefix, &key);
                    prefix.push(b':');
                    let shape = Shape::from_py(&field.get_item(2)?)?;
                    fields.push((PyString::intern(py, &attr).unbind(), prefix, shape));
                }
                Shape::Model(fields)
            }
            other => {
                return Err(PyValueError::new_err(format!("unknown shape {other:?}")));
            }
        })
    }
}

/// Appends a validated response model value of `shape` as JSON: each model's declared
/// fields in order (read from its `__dict__`), values as `json.dumps` encodes them. An
/// error (a value of another type than the shape says, a NaN, a key that is not a
/// `str`) leaves `out` partly written: the caller then has pydantic serialize the value.
pub(crate) fn write_shaped(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    shape: &Shape,
    depth: u32,
) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("nested too deeply"));
    }
    match shape {
        Shape::Value => walk::<NATIVE>(py, rt, out, obj, depth)?,
        Shape::Nullable(inner) => {
            if obj.is_none() {
                out.extend_from_slice(b"null");
            } else {
                write_shaped(py, rt, out, obj, inner, depth)?;
            }
        }
        Shape::List(items) => {
            let list = obj.cast_exact::<PyList>()?;
            out.push(b'[');
            for (i, v) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_shaped(py, rt, out, &v, items, depth + 1)?;
            }
            out.push(b']');
        }
        Shape::Model(fields) => {
            let dict = obj.getattr(pyo3::intern!(py, "__dict__"))?;
            write_fields(py, rt, out, dict.cast_exact::<PyDict>()?, fields, depth)?;
        }
    }
    Ok(())
}

/// Appends a model's fields, its values read from `values` (its `__dict__`, or the field
/// values pydantic validated for it), as [`write_shaped`] does.
pub(crate) fn write_fields(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    values: &Bound<'_, PyDict>,
    fields: &[(Py<PyString>, Vec<u8>, Shape)],
    depth: u32,
) -> PyResult<()> {
    out.push(b'{');
    for (i, (attr, prefix, shape)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(prefix);
        let value = values
            .get_item(attr.bind(py))?
            .ok_or_else(|| PyKeyError::new_err(attr.clone_ref(py)))?;
        write_shaped(py, rt, out, &value, shape, depth + 1)?;
    }
    out.push(b'}');
    Ok(())
}
