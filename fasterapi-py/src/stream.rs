//! Streamed Python responses: a `StreamingResponse` (and FastAPI's generator routes and
//! `EventSourceResponse`, which are made into one) answered with a
//! [`BodyStream`](fasterapi_http::BodyStream) whose pieces its `body_iterator` yields.
//!
//! The body is iterated by `fasterapi._streaming._pump`, a task of the event loop the
//! worker's I/O thread drives (the one `async def` handlers run on), which hands each
//! piece to a [`BodySink`]: the sending end of a channel of [`CHANNEL_BOUND`] bytes that the
//! connection reads as the client takes its output. The task waits while the channel is
//! full (`when_ready`), and is cancelled when the client leaves (`on_disconnect`). Sync
//! iterables are iterated on a thread pool (`iterate_in_threadpool`), so a generator that
//! blocks stalls neither the loop nor the I/O thread.

use std::sync::{Mutex, MutexGuard};

use fasterapi_http::{BodySender, BodyStream, Response, StatusCode, TrySendError};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList};

use crate::aio;

/// Bytes a streamed Python body holds between its generator and the connection: enough
/// for the generator to run ahead of a fast client by a few pieces, small enough that
/// 10,000 slow clients hold at most 640 MB in their channels.
const CHANNEL_BOUND: usize = 64 * 1024;

/// `_BodySink`: the sending end of a streamed body, for `fasterapi._streaming`.
///
/// `try_send(piece: bytes) -> 0 | 1 | 2` (sent, full, the client left);
/// `when_ready(f)` calls `f()` once there is room or the client left (on the thread that
/// made the room: `f` should only wake the producer, with `call_soon_threadsafe`);
/// `on_disconnect(f)` calls `f()` once the client left; `finish()` ends the body;
/// `abort()` ends it as failed (the connection closes without the body's end). Dropped
/// without either, the body ends as failed.
#[pyclass(frozen, name = "_BodySink", module = "fasterapi._fasterapi")]
pub(crate) struct BodySink {
    sender: Mutex<Option<BodySender>>,
}

impl BodySink {
    fn sender(&self) -> MutexGuard<'_, Option<BodySender>> {
        // The guarded value is an Option that is only replaced whole.
        self.sender.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Calls a Python callable from a hook of the channel (on whichever thread runs it),
/// logging what it raises.
fn python_hook(f: Py<PyAny>) -> impl FnOnce() + Send + 'static {
    move || {
        Python::attach(|py| {
            if let Err(e) = f.call0(py) {
                e.display(py);
            }
        })
    }
}

#[pymethods]
impl BodySink {
    fn try_send(&self, piece: &Bound<'_, PyBytes>) -> PyResult<u8> {
        let sender = self.sender();
        let Some(sender) = sender.as_ref() else {
            return Err(PyRuntimeError::new_err("the streamed body has ended"));
        };
        Ok(match sender.try_send(piece.as_bytes().to_vec()) {
            Ok(()) => 0,
            Err(TrySendError::Full(_)) => 1,
            Err(TrySendError::Disconnected(_)) => 2,
        })
    }

    fn when_ready(&self, f: Py<PyAny>) {
        let sender = self.sender();
        match sender.as_ref() {
            Some(sender) => sender.when_ready(python_hook(f)),
            None => {
                drop(sender);
                python_hook(f)();
            }
        }
    }

    fn on_disconnect(&self, f: Py<PyAny>) {
        if let Some(sender) = self.sender().as_ref() {
            sender.on_disconnect(python_hook(f));
        }
    }

    fn finish(&self) {
        if let Some(sender) = self.sender().take() {
            sender.finish();
        }
    }

    fn abort(&self) {
        if let Some(sender) = self.sender().take() {
            sender.abort("the body's iterator raised, or the client left");
        }
    }
}

/// `fasterapi._streaming.start`.
static START: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A streamed response of `status` for `obj`, a `StreamingResponse`. Its body's iteration
/// starts when the server first asks for the body, on the connection's I/O thread, as a
/// task of the event loop that thread drives (so a response made on the worker pool
/// reaches the right loop, and one never sent, as the answer to a `HEAD`, never starts
/// its generator). The caller adds the headers.
pub(crate) fn streaming_response(obj: &Bound<'_, PyAny>, status: StatusCode) -> PyResult<Response> {
    let py = obj.py();
    let (sender, body) = BodyStream::channel(CHANNEL_BOUND);
    let sink = Py::new(
        py,
        BodySink {
            sender: Mutex::new(Some(sender)),
        },
    )?;
    let response = obj.clone().unbind();
    // The exit code of the request's dependencies with `yield` (and its background tasks)
    // runs after the body, as FastAPI's: a session a dependency yields stays open while
    // the generator uses it.
    let mut after = AfterBody(aio::take_after_response());
    let body = body.on_start(move || {
        Python::attach(|py| {
            let after = PyList::new(py, after.take());
            if let Err(e) = after.and_then(|after| start(py, &response, &sink, after)) {
                crate::serve::log_line("cannot start a StreamingResponse's body:");
                e.display(py);
                sink.get().abort();
            }
        })
    });
    Ok(Response::stream(body).with_status(status))
}

/// What waits for a streamed body to be sent (see [`aio::take_after_response`]): handed to
/// the body's pump when it starts; run as after any response if the body is never sent
/// (the answer to a `HEAD`), by the thread that drops it.
struct AfterBody(Vec<Py<PyAny>>);

impl AfterBody {
    fn take(&mut self) -> Vec<Py<PyAny>> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for AfterBody {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let pending = self.take();
            Python::attach(|_| pending.into_iter().for_each(aio::after_response));
        }
    }
}

/// Starts iterating `response`'s body into `sink`, on this thread's event loop; `after`
/// runs once it is sent.
fn start(
    py: Python<'_>,
    response: &Py<PyAny>,
    sink: &Py<BodySink>,
    after: Bound<'_, PyList>,
) -> PyResult<()> {
    let event_loop = aio::driven_loop(py).ok_or_else(|| {
        PyRuntimeError::new_err(
            "a StreamingResponse is sent by an I/O thread that drives an event loop (app.run() \
             or the TestClient); this one drives none",
        )
    })?;
    let start = START.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("fasterapi._streaming")?
            .getattr("start")?
            .unbind())
    })?;
    start.bind(py).call1((response, sink, event_loop, after))?;
    aio::request_turn();
    Ok(())
}
