//! Request forms for Python handlers: the fields of an `application/x-www-form-urlencoded`
//! or `multipart/form-data` body, read once per request at its first `Form()`/`File()`
//! parameter (or by `request.form()`), files handed to Python as `UploadFile` objects.
//!
//! The multipart body is read by `fasterapi_http::form` (Rust, part by part); a file over
//! the spool threshold is already in an unnamed temporary file, which Python receives as
//! an open file (a `dup` of its descriptor), so its bytes are never copied into Python.

use std::os::fd::AsRawFd;

use fasterapi_http::form::{
    is_multipart, FormError, FormItems, FormLimits, FormValue, MultipartReader, Spooled,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::dispatch::Runtime;
use crate::plan::{form_decode, Incoming};

/// A value of a form: a field's text, or an `UploadFile`.
pub(crate) enum FormItem<'py> {
    Text(String),
    File(Bound<'py, PyAny>),
}

/// The items of a request's form, in order.
pub(crate) struct Form<'py> {
    pub(crate) items: Vec<(String, FormItem<'py>)>,
}

impl<'py> Form<'py> {
    /// Reads the form of `req`'s body, as Starlette does: url-encoded and multipart
    /// bodies have fields, other content types none. A refused multipart body is the
    /// `HTTPException` to raise (400 or 413, Starlette's detail).
    pub(crate) fn of(py: Python<'py>, rt: &Runtime, req: &impl Incoming) -> PyResult<Form<'py>> {
        if let Some(read) = req.take_form() {
            return match read {
                Ok(items) => Ok(Form {
                    items: to_python(py, items)?,
                }),
                Err(e) => Err(refusal(py, rt, e)?),
            };
        }
        let content_type = req.header("content-type");
        let content_type = content_type.as_deref().unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if is_multipart(content_type.as_bytes()) {
            return match multipart(py, content_type, req.body_bytes(), FormLimits::default()) {
                Ok(items) => Ok(Form { items: items? }),
                Err(e) => Err(refusal(py, rt, e)?),
            };
        }
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Ok(Form { items: Vec::new() });
        }
        let items = req
            .body_bytes()
            .split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &[][..]),
                };
                (form_decode(k), FormItem::Text(form_decode(v)))
            })
            .collect();
        Ok(Form { items })
    }

    /// The values of field `name`, in order.
    pub(crate) fn values<'f>(
        &'f self,
        name: &'f str,
    ) -> impl DoubleEndedIterator<Item = &'f FormItem<'py>> + 'f {
        self.items
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// The `HTTPException` answering a refused form.
fn refusal(py: Python<'_>, rt: &Runtime, e: FormError) -> PyResult<PyErr> {
    let exc = rt
        .http_exception
        .bind(py)
        .call1((e.status.as_u16(), e.detail))?;
    Ok(PyErr::from_value(exc))
}

/// The items of a multipart body, files as `UploadFile` objects.
fn multipart<'py>(
    py: Python<'py>,
    content_type: &str,
    body: &[u8],
    limits: FormLimits,
) -> Result<PyResult<Vec<(String, FormItem<'py>)>>, FormError> {
    let mut reader = MultipartReader::new(content_type.as_bytes(), limits)?;
    reader.feed(body)?;
    Ok(to_python(py, reader.finish()?))
}

/// The items of a form, files as `UploadFile` objects.
fn to_python<'py>(py: Python<'py>, items: FormItems) -> PyResult<Vec<(String, FormItem<'py>)>> {
    items
        .into_iter()
        .map(|(name, value)| {
            Ok((
                name,
                match value {
                    FormValue::Text(t) => FormItem::Text(t),
                    FormValue::File(f) => FormItem::File(upload_file(py, f)?),
                },
            ))
        })
        .collect()
}

/// The Python helpers of `fasterapi.datastructures`: `(_upload_file, _upload_bytes)`.
fn helpers(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    static HELPERS: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    HELPERS.get_or_try_init(py, || {
        let m = py.import("fasterapi.datastructures")?;
        Ok::<_, PyErr>((
            m.getattr("_upload_file")?.unbind(),
            m.getattr("_upload_bytes")?.unbind(),
        ))
    })
}

/// An `UploadFile` of an uploaded file: its content in memory (bytes), or its spool
/// file's descriptor, which Python duplicates and owns (the Rust file closes here).
fn upload_file<'py>(
    py: Python<'py>,
    f: fasterapi_http::form::UploadedFile,
) -> PyResult<Bound<'py, PyAny>> {
    let headers = PyList::empty(py);
    for (n, v) in &f.headers {
        headers.append(PyTuple::new(
            py,
            [PyBytes::new(py, n.as_bytes()), latin1_bytes(py, v)],
        )?)?;
    }
    let content = match &f.content {
        Spooled::Memory(data) => PyBytes::new(py, data).into_any(),
        Spooled::File(file) => file.as_raw_fd().into_pyobject(py)?.into_any(),
    };
    helpers(py)?
        .0
        .bind(py)
        .call1((f.filename.as_str(), headers, content, f.size))
}

/// A header value decoded as Latin-1, back to its bytes.
fn latin1_bytes<'py>(py: Python<'py>, s: &str) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    PyBytes::new(py, &bytes)
}

/// The content of an `UploadFile`, for a `bytes` parameter (`File()`).
pub(crate) fn upload_bytes<'py>(
    py: Python<'py>,
    upload: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    helpers(py)?.1.bind(py).call1((upload,))
}

/// `_read_multipart(content_type, body, max_files, max_fields, max_part_size)`: the
/// items of a multipart body as `(name, str | UploadFile)` pairs, for `request.form()`;
/// raises the `HTTPException` Starlette raises for a refused body.
#[pyfunction]
#[pyo3(name = "_read_multipart")]
pub(crate) fn read_multipart<'py>(
    py: Python<'py>,
    content_type: &str,
    body: &[u8],
    max_files: usize,
    max_fields: usize,
    max_part_size: usize,
) -> PyResult<Bound<'py, PyList>> {
    let rt = Runtime::get(py)?;
    let mut limits = FormLimits::default();
    limits.max_files = max_files;
    limits.max_fields = max_fields;
    limits.max_part_size = max_part_size;
    let items = match multipart(py, content_type, body, limits) {
        Ok(items) => items?,
        Err(e) => return Err(refusal(py, rt, e)?),
    };
    let out = PyList::empty(py);
    for (name, item) in items {
        let value = match item {
            FormItem::Text(t) => t.into_pyobject(py)?.into_any(),
            FormItem::File(f) => f,
        };
        out.append((name, value))?;
    }
    Ok(out)
}
