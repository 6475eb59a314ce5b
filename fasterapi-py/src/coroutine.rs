//! Coroutines made in Rust: what their steps come to, and the `am_send` / `am_await` slots
//! that let `await` and asyncio's tasks step them without a `StopIteration` or pyo3's
//! trampoline. Their types are registered as `collections.abc.Coroutine` on the Python
//! side, so `asyncio.create_task`, `gather`, `wait_for` and `ensure_future` take them as
//! they take an `async def` coroutine. Used by the WebSocket's receive/send
//! (`WebSocketAwaitable`) and `fasterapi.pg`'s calls (`PgCall`).

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::{Borrowed, PyClass};

/// What a step of a coroutine came to.
pub(crate) enum Stepped {
    /// Yields this to the task (a future it waits on).
    Yield(Py<PyAny>),
    /// Finished with this result (`None`: Python's `None`).
    Return(Option<Py<PyAny>>),
}

impl Stepped {
    /// As `tp_iternext` answers (`__next__`): the yielded object, or NULL with
    /// `StopIteration` carrying the result set (none for `None`).
    pub(crate) fn into_next(self, py: Python<'_>) -> Option<Py<PyAny>> {
        match self {
            Stepped::Yield(v) => Some(v),
            Stepped::Return(None) => None,
            Stepped::Return(Some(v)) => {
                let raw = v.as_ptr();
                // SAFETY: `raw` is a live object (held by `v` for the call, and
                // `PyErr_SetObject` takes its own reference), the exception type is
                // CPython's static `StopIteration`, and the GIL is held (`py`). A tuple or
                // an exception instance would be unpacked or taken as the exception
                // itself by CPython: those go as a `StopIteration(value)` instance
                // instead. Measured: pyo3's `PyErr::new::<PyStopIteration, _>` costs
                // ~750 instructions per result, this a few dozen.
                unsafe {
                    if pyo3::ffi::PyTuple_Check(raw) != 0
                        || pyo3::ffi::PyExceptionInstance_Check(raw) != 0
                    {
                        PyStopIteration::new_err((v,)).restore(py);
                    } else {
                        pyo3::ffi::PyErr_SetObject(pyo3::ffi::PyExc_StopIteration, raw);
                    }
                }
                None
            }
        }
    }

    /// As a coroutine's `send`/`throw` answer: the yielded object, or `StopIteration`
    /// carrying the result raised.
    pub(crate) fn into_method(self) -> PyResult<Py<PyAny>> {
        match self {
            Stepped::Yield(v) => Ok(v),
            Stepped::Return(v) => Err(PyStopIteration::new_err((v,))),
        }
    }
}

/// A pyclass that is a coroutine: its `am_send` slot steps it with this.
pub(crate) trait RustCoroutine:
    PyClass<Frozen = pyo3::pyclass::boolean_struct::False>
{
    /// What it is, for the error of a step that panicked.
    const WHAT: &'static str;

    /// A step with `value` sent in (`coroutine.send(value)`; `None` for a plain step).
    fn step_with(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Stepped>;
}

/// Gives `T` the `am_send` and `am_await` slots pyo3 does not write: `PyIter_Send` (how
/// CPython 3.10 and 3.11's `await` and asyncio's tasks step it) then gets a step's result
/// straight back instead of through a `StopIteration`, and `await` gets the object without
/// a call through pyo3's trampoline. Measured: benches/RESULTS.md, "Per-message cuts of
/// session 6". `T` has an `__await__` method (which the slot replaces).
pub(crate) fn install_slots<T: RustCoroutine>(py: Python<'_>) {
    let tp = py.get_type::<T>();
    // SAFETY: the type is a heap type pyo3 made (with an `__await__`, so its
    // `tp_as_async` points at the `PyAsyncMethods` of its own `PyHeapTypeObject`, never
    // a static table shared with other types), and the GIL is held (`py`). The slots
    // are written before any object of the type exists (at the module's import), and
    // `PyType_Modified` drops what CPython cached of the type.
    unsafe {
        let tp = tp.as_type_ptr();
        let slots = (*tp).tp_as_async;
        if !slots.is_null() {
            (*slots).am_await = Some(coroutine_await);
            (*slots).am_send = Some(coroutine_send::<T>);
            pyo3::ffi::PyType_Modified(tp);
        }
    }
}

/// `am_await`: the object itself, as its `__await__` answers.
pub(crate) unsafe extern "C" fn coroutine_await(
    slf: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls the slot with a live object of the type and the GIL held;
    // the new reference is the slot's result.
    unsafe { pyo3::ffi::Py_IncRef(slf) };
    slf
}

/// `am_send`: a step with `arg` sent in ([`RustCoroutine::step_with`]), its yielded
/// object (`PYGEN_NEXT`) or result (`PYGEN_RETURN`) in `*result`, or `PYGEN_ERROR` with
/// the exception set.
unsafe extern "C" fn coroutine_send<T: RustCoroutine>(
    slf: *mut pyo3::ffi::PyObject,
    arg: *mut pyo3::ffi::PyObject,
    result: *mut *mut pyo3::ffi::PyObject,
) -> pyo3::ffi::PySendResult {
    // SAFETY: CPython calls the slot with the GIL held, `slf` a live object of this
    // type (the slot is this type's), `arg` a live object (`None` for a plain step),
    // both borrowed for the call, and `result` writable.
    unsafe {
        let py = Python::assume_attached();
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let me = Borrowed::from_ptr(py, slf).cast_unchecked::<T>();
            let arg = Borrowed::from_ptr(py, arg).to_owned();
            let mut me = me.try_borrow_mut()?;
            me.step_with(py, arg)
        }))
        .unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(format!(
                "{}'s step panicked",
                T::WHAT
            )))
        });
        send_result(py, stepped, result)
    }
}

/// An `am_send` slot's answer from a step: the yielded object (`PYGEN_NEXT`) or result
/// (`PYGEN_RETURN`) in `*result`, or `PYGEN_ERROR` with the exception set.
///
/// # Safety
/// `result` is writable; the GIL is held (`py`).
pub(crate) unsafe fn send_result(
    py: Python<'_>,
    stepped: PyResult<Stepped>,
    result: *mut *mut pyo3::ffi::PyObject,
) -> pyo3::ffi::PySendResult {
    use pyo3::ffi::PySendResult;
    // SAFETY: the caller's: `result` is writable.
    unsafe {
        match stepped {
            Ok(Stepped::Yield(v)) => {
                *result = v.into_ptr();
                PySendResult::PYGEN_NEXT
            }
            Ok(Stepped::Return(v)) => {
                *result = v.unwrap_or_else(|| py.None()).into_ptr();
                PySendResult::PYGEN_RETURN
            }
            Err(e) => {
                e.restore(py);
                *result = std::ptr::null_mut();
                PySendResult::PYGEN_ERROR
            }
        }
    }
}
