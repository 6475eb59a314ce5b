//! Request forms for Python handlers: the fields of an `application/x-www-form-urlencoded`
//! or `multipart/form-data` body, read once per request at its first `Form()`/`File()`
//! parameter (or by `request.form()`), files handed to Python as `UploadFile` objects.
//!
//! The multipart body is read by `fasterapi_http::form` (Rust, part by part). A file over
//! the spool threshold (1 MiB) is in the process's upload memory, which Python reads
//! through a [`MemoryUpload`], or, past that memory's budget, already in an unnamed
//! temporary file, which Python receives as an open file (a `dup` of its descriptor).
//!
//! The upload memory's pieces (1 MiB each) are Python `bytes` objects here
//! ([`PYTHON_PIECES`]): the socket is read straight into them, and a `read` of exactly one
//! piece (`await file.read(1024 * 1024)` from the start, chunk after chunk) returns the
//! piece itself, no copy; other reads copy once into the `bytes` they return. A lent
//! piece goes back to the upload memory when the file is closed only if nobody holds it
//! any more (its reference count is back to the memory's own), else it stays the app's.
//! When the app's first read of the last such file was a whole read (`await
//! file.read()`, FastAPI's `bytes = File()`), the next large files are each read into one
//! `bytes` of their body's size while the memory has room, which that whole read returns
//! (its size set to the file's); other reads of it copy.

use std::os::fd::AsRawFd;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use fasterapi_http::form::{
    is_multipart, FormError, FormItems, FormLimits, FormValue, MemoryFile, MultipartReader,
    PieceSource, Spooled,
};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
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
        Spooled::Pooled(_) => {
            let Spooled::Pooled(memory) = f.content else {
                unreachable!("matched above")
            };
            let upload = Bound::new(
                py,
                MemoryUpload {
                    content: Some(memory),
                    pos: 0,
                    read_from: false,
                },
            )?;
            return helpers(py)?
                .0
                .bind(py)
                .call1((f.filename.as_str(), headers, upload, f.size));
        }
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

/// Whether the app's first read of the last file in the upload memory read it whole (see
/// the module's documentation).
static WHOLE_READS: AtomicBool = AtomicBool::new(false);

/// A file's content in the process's upload memory, read by Python as a read-only binary
/// file (the methods of `io.BytesIO` that read, `getvalue()` included, so that
/// `SpooledTemporaryFile.rollover()` can copy it out). `close()` (or dropping it) gives
/// its memory back for the next uploads. It has no descriptor: `fileno()` raises
/// `io.UnsupportedOperation`, and the `UploadFile`'s `SpooledTemporaryFile` rolls it
/// over to a temporary file first.
#[pyclass(name = "MemoryUpload", module = "fasterapi._fasterapi")]
pub(crate) struct MemoryUpload {
    /// None once closed.
    content: Option<MemoryFile>,
    pos: usize,
    /// Whether it was read from yet.
    read_from: bool,
}

impl MemoryUpload {
    fn open(&self) -> PyResult<&MemoryFile> {
        self.content
            .as_ref()
            .ok_or_else(|| PyValueError::new_err("I/O operation on closed file."))
    }

    /// Bytes from the position to read for `size` (negative or None: to the end).
    fn span(&self, size: Option<isize>) -> PyResult<usize> {
        let left = self.open()?.len().saturating_sub(self.pos);
        Ok(match size {
            Some(n) if n >= 0 => left.min(n as usize),
            _ => left,
        })
    }

    /// The next `n` bytes as `bytes`, the position moved past them.
    fn take<'py>(&mut self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyBytes>> {
        let out = filled_bytes(py, self.open()?, self.pos, n)?;
        self.pos += n;
        Ok(out)
    }

    /// Bytes to the end of the next line (its `\n` included), at most `limit`.
    fn line_len(&self, limit: usize) -> PyResult<usize> {
        let memory = self.open()?;
        let mut at = 0;
        for s in memory.slices() {
            if at + s.len() <= self.pos {
                at += s.len();
                continue;
            }
            let from = self.pos.saturating_sub(at);
            if let Some(i) = s[from..].iter().position(|&b| b == b'\n') {
                return Ok((at + from + i + 1 - self.pos).min(limit));
            }
            at += s.len();
        }
        Ok(memory.len().saturating_sub(self.pos).min(limit))
    }
}

/// A `bytes` of the `n` bytes of `memory` from `pos` (which has them; `pos` may be past
/// the end when `n` is 0), copied once into
/// it: `PyBytes::new_with` would first zero it, which cost 11% of a 10 MiB upload's CPU
/// (`perf`, the upload benchmark's 1 MiB reads).
fn filled_bytes<'py>(
    py: Python<'py>,
    memory: &MemoryFile,
    pos: usize,
    n: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    debug_assert!(n == 0 || pos + n <= memory.len());
    // SAFETY: PyBytes_FromStringAndSize(NULL, n) returns a new bytes object of n
    // uninitialized bytes (or NULL with an exception set, which `from_owned_ptr_or_err`
    // turns into the error); its buffer is written whole here, `read_at` copying all `n`
    // bytes since the memory has them, before any Python code can see it.
    unsafe {
        let ptr =
            pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), n as pyo3::ffi::Py_ssize_t);
        let bytes = Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked::<PyBytes>();
        let buf = std::slice::from_raw_parts_mut(pyo3::ffi::PyBytes_AsString(ptr).cast::<u8>(), n);
        let copied = memory.read_at(pos, buf);
        buf[copied..].fill(0);
        Ok(bytes)
    }
}

fn unsupported(py: Python<'_>, what: &str) -> PyErr {
    match py
        .import("io")
        .and_then(|io| io.getattr("UnsupportedOperation"))
    {
        Ok(exc) => PyErr::from_type(exc.cast_into().expect("a class"), what.to_owned()),
        Err(e) => e,
    }
}

#[pymethods]
impl MemoryUpload {
    #[pyo3(signature = (size = None))]
    fn read<'py>(&mut self, py: Python<'py>, size: Option<isize>) -> PyResult<Bound<'py, PyBytes>> {
        let n = self.span(size)?;
        let pos = self.pos;
        if !self.read_from {
            self.read_from = true;
            WHOLE_READS.store(pos == 0 && n == self.open()?.len(), Ordering::Relaxed);
        }
        if let Some(token) = self
            .content
            .as_mut()
            .and_then(|m| m.lend(pos, n, &PYTHON_PIECES))
        {
            self.pos += n;
            // SAFETY: a token of PYTHON_PIECES is a `bytes` object that `make_piece` made,
            // alive while the file holds the piece (it does: it just lent it); the piece's
            // bytes are the content's, written whole (a whole file's piece shrunk to them),
            // and no longer written (lent).
            return Ok(unsafe {
                Bound::from_borrowed_ptr(py, token as *mut pyo3::ffi::PyObject)
                    .cast_into_unchecked::<PyBytes>()
            });
        }
        self.take(py, n)
    }

    #[pyo3(signature = (size = None))]
    fn read1<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.read(py, size)
    }

    fn readinto(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        let memory = self.open()?;
        let view = PyBuffer::<u8>::get(buffer)?;
        if view.readonly() || !view.is_c_contiguous() {
            return Err(PyTypeError::new_err(
                "readinto() argument must be a writable contiguous buffer",
            ));
        }
        // SAFETY: the buffer is writable and C-contiguous (checked above), `len_bytes`
        // long, and stays valid while `view` holds it; the GIL is held, so no Python code
        // touches it meanwhile, and `memory` is Rust memory, never the same bytes.
        let out = unsafe {
            std::slice::from_raw_parts_mut(view.buf_ptr().cast::<u8>(), view.len_bytes())
        };
        let n = memory.read_at(self.pos, out);
        self.pos += n;
        Ok(n)
    }

    fn readinto1(&mut self, buffer: &Bound<'_, PyAny>) -> PyResult<usize> {
        self.readinto(buffer)
    }

    #[pyo3(signature = (size = None))]
    fn readline<'py>(
        &mut self,
        py: Python<'py>,
        size: Option<isize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let limit = self.span(size)?;
        let n = self.line_len(limit)?;
        self.take(py, n)
    }

    #[pyo3(signature = (hint = None))]
    fn readlines<'py>(
        &mut self,
        py: Python<'py>,
        hint: Option<isize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let lines = PyList::empty(py);
        let mut total = 0;
        loop {
            let line = self.readline(py, None)?;
            if line.as_bytes().is_empty() {
                return Ok(lines);
            }
            total += line.as_bytes().len();
            lines.append(line)?;
            if matches!(hint, Some(h) if h > 0 && total >= h as usize) {
                return Ok(lines);
            }
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<PyRef<'_, Self>> {
        slf.open()?;
        Ok(slf)
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let line = self.readline(py, None)?;
        Ok((!line.as_bytes().is_empty()).then_some(line))
    }

    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&mut self, offset: isize, whence: i32) -> PyResult<usize> {
        let len = self.open()?.len() as isize;
        let base = match whence {
            0 => 0,
            1 => self.pos as isize,
            2 => len,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )))
            }
        };
        let pos = base + offset;
        if pos < 0 {
            return Err(PyValueError::new_err(format!("negative seek value {pos}")));
        }
        self.pos = pos as usize;
        Ok(self.pos)
    }

    fn tell(&self) -> PyResult<usize> {
        self.open()?;
        Ok(self.pos)
    }

    fn getvalue<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let memory = self.open()?;
        filled_bytes(py, memory, 0, memory.len())
    }

    fn close(&mut self) {
        self.content = None;
    }

    #[getter]
    fn closed(&self) -> bool {
        self.content.is_none()
    }

    fn flush(&self) -> PyResult<()> {
        self.open().map(|_| ())
    }

    fn isatty(&self) -> PyResult<bool> {
        self.open().map(|_| false)
    }

    fn readable(&self) -> PyResult<bool> {
        self.open().map(|_| true)
    }

    fn seekable(&self) -> PyResult<bool> {
        self.open().map(|_| true)
    }

    fn writable(&self) -> PyResult<bool> {
        self.open().map(|_| false)
    }

    #[pyo3(signature = (*_args))]
    fn write(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyErr {
        unsupported(
            py,
            "write: the upload is in memory, read-only; roll it over first",
        )
    }

    #[pyo3(signature = (*_args))]
    fn truncate(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyErr {
        unsupported(
            py,
            "truncate: the upload is in memory, read-only; roll it over first",
        )
    }

    fn fileno(&self, py: Python<'_>) -> PyErr {
        unsupported(
            py,
            "fileno: the upload is in memory (roll it over for a descriptor)",
        )
    }
}

/// The upload memory's pieces as Python `bytes` objects (see the module's documentation),
/// installed by [`install_piece_source`]. A piece's token is its `PyObject` pointer, of
/// which the upload memory holds one reference.
pub(crate) static PYTHON_PIECES: PieceSource = PieceSource {
    make: make_piece,
    whole: || WHOLE_READS.load(Ordering::Relaxed),
    shrink: shrink_piece,
    reclaim: reclaim_piece,
    release: release_piece,
};

/// Makes the upload memory's new pieces Python `bytes` ([`PYTHON_PIECES`]).
pub(crate) fn install_piece_source() {
    fasterapi_http::form::set_piece_source(&PYTHON_PIECES);
}

fn make_piece(n: usize) -> Option<(NonNull<u8>, usize)> {
    Python::attach(|py| {
        // SAFETY: PyBytes_FromStringAndSize(NULL, n) returns a new bytes object of n
        // uninitialized bytes, or NULL with an exception set (cleared: the caller treats
        // None as "no memory"). Nothing but the upload memory sees the object until a
        // whole piece of content written into it is lent.
        unsafe {
            let obj = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), n as isize);
            if obj.is_null() {
                drop(PyErr::take(py));
                return None;
            }
            let start = pyo3::ffi::PyBytes_AsString(obj).cast::<u8>();
            Some((NonNull::new(start)?, obj as usize))
        }
    })
}

fn reclaim_piece(token: usize) -> bool {
    Python::attach(|_py| {
        let obj = token as *mut pyo3::ffi::PyObject;
        // SAFETY: `obj` is a live bytes object of `make_piece` (the upload memory holds a
        // reference); the GIL is held. With one reference, the upload memory's, nothing
        // else can see it, so its cached hash may be reset before its bytes change.
        unsafe {
            if pyo3::ffi::Py_REFCNT(obj) != 1 {
                return false;
            }
            #[allow(deprecated)] // the field is still the hash's cache (CPython 3.11-3.14)
            {
                (*obj.cast::<pyo3::ffi::PyBytesObject>()).ob_shash = -1;
            }
        }
        true
    })
}

fn shrink_piece(token: usize, len: usize) {
    Python::attach(|_py| {
        let obj = token as *mut pyo3::ffi::PyObject;
        // SAFETY: `obj` is a live bytes object of `make_piece` of at least `len` bytes
        // (its buffer has one more, for the terminating NUL), seen by nobody but the
        // upload memory yet (shrunk before it is first lent), the GIL held: its size may
        // be lowered in place (the allocation stays as it was, and is freed whole), the
        // NUL written after the new end, as `bytes` always have one.
        unsafe {
            debug_assert!(len as isize <= pyo3::ffi::Py_SIZE(obj));
            (*obj.cast::<pyo3::ffi::PyVarObject>()).ob_size = len as isize;
            *pyo3::ffi::PyBytes_AsString(obj).add(len) = 0;
        }
    })
}

fn release_piece(_start: NonNull<u8>, token: usize, _n: usize) {
    Python::attach(|py| {
        // SAFETY: the upload memory's own reference to the bytes object of `make_piece`,
        // given up once (a piece is released once), with the GIL held.
        drop(unsafe { Bound::from_owned_ptr(py, token as *mut pyo3::ffi::PyObject) });
    })
}

/// `_upload_memory()`: the process's upload memory as `(in files, allocated, limit)`
/// bytes (see `FasterAPI.run(upload_memory_bytes=...)`).
#[pyfunction]
#[pyo3(name = "_upload_memory")]
pub(crate) fn upload_memory() -> (usize, usize, usize) {
    fasterapi_http::form::upload_memory()
}
