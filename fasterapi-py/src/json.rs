//! Python values walked straight into fasterapi-core's JSON writer.

use fasterapi_core::json::{self, ToJson};
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
/// goes through the package's `_jsonable` hook first (`fasterapi/encoders.py`: pydantic
/// models, dataclasses, enums, dates... as FastAPI's `jsonable_encoder` converts them),
/// which raises for what it cannot convert.
pub(crate) fn write_value(
    py: Python<'_>,
    rt: &Runtime,
    out: &mut Vec<u8>,
    obj: &Bound<'_, PyAny>,
    depth: u32,
) -> PyResult<()> {
    walk::<false>(py, rt, out, obj, depth)
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
    walk::<true>(py, rt, out, obj, 0)
}

/// The walk of [`write_value`] (`STRICT` false) and [`write_json_dumps`] (true).
fn walk<const STRICT: bool>(
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
        if STRICT && !v.is_finite() {
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
            write_key(out, &k)?;
            out.push(b':');
            walk::<STRICT>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b'}');
    } else if let Ok(l) = obj.cast::<PyList>() {
        out.push(b'[');
        for (i, v) in l.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            walk::<STRICT>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b']');
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        out.push(b'[');
        for (i, v) in t.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            walk::<STRICT>(py, rt, out, &v, depth + 1)?;
        }
        out.push(b']');
    } else if let Ok(s) = obj.cast::<PyString>() {
        json::write_str(out, s.to_str()?);
    } else if STRICT {
        return Err(PyTypeError::new_err(format!(
            "Object of type {} is not JSON serializable",
            obj.get_type().name()?
        )));
    } else {
        let plain = rt.jsonable.bind(py).call1((obj,))?;
        walk::<STRICT>(py, rt, out, &plain, depth + 1)?;
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
