//! WebSocket routes of a Python app (`@app.websocket`): the server's handshake handed
//! to the package's `WebSocket` (`fasterapi/websockets.py`).
//!
//! A handshake for a WebSocket route is checked by the server (426/400 otherwise), then
//! runs here on the I/O thread: the route's plan reads its values from the handshake
//! request (path, query, header and cookie parameters, dependencies, the `WebSocket`
//! object itself where a parameter is annotated with it), and the handler's coroutine
//! starts as a task of the I/O thread's asyncio loop, whose done callback
//! (`WebSocket._done`) closes the connection when the handler returns or raises. Values that fail
//! validation refuse the handshake (`403`), as FastAPI's
//! `WebSocketRequestValidationError` closes the socket before it is accepted.
//!
//! `await websocket.accept()` accepts the [`Upgrade`] with an event handler that runs on
//! the I/O thread when frames arrive: it queues each message in the connection's
//! [`PyInbox`] and steps the handler waiting in `receive` right there (no turn of the
//! loop): its coroutine directly, as its task would, while it waits through the
//! [`PyHandlerCoro`] its task runs, else the task's wake-up. The handler's answer is
//! queued before the connection takes its output in the same pass; a turn is asked for
//! only if the step left the loop work. Sends go to the connection's [`WsSender`]: from
//! the loop's own thread without a wake-up.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use fasterapi_http::websocket::{
    MaskedBinary, Message, Upgrade, WsError, WsEvent, WsSender, SHARE_MIN,
};
use fasterapi_http::Request;
use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3::types::{PyByteArray, PyBytes, PyString};
use pyo3::Borrowed;
use pyo3::{PyTraverseError, PyVisit};

use crate::aio;
use crate::coroutine::{RustCoroutine, Stepped};
use crate::dispatch::{keep_thread_state, PyRoute, Runtime};
use crate::plan::Incoming;
use crate::request::RequestCell;

/// One WebSocket connection as the package's `WebSocket` drives it:
/// `fasterapi._fasterapi.WebSocketConn`.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "WebSocketConn")]
pub(crate) struct PyWsConn {
    /// The handshake, until accepted or refused.
    upgrade: Mutex<Option<Upgrade>>,
    /// The connection's sender, once accepted.
    sender: OnceLock<WsSender>,
    /// The subprotocols the client offered.
    offered: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `send`'s answers.
const SENT: u8 = 0;
const FULL: u8 = 1;
const CLOSED: u8 = 2;

#[pymethods]
impl PyWsConn {
    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order.
    #[getter]
    fn offered(&self) -> Vec<String> {
        self.offered.clone()
    }

    /// `accept(subprotocol, headers, inbox, done, on_writable, on_close)`: answers
    /// `101`; then, on the loop's thread (that of `done`, a finished asyncio future the
    /// inbox hands to the wake-ups it calls), each message (`str` or `bytes`) is queued
    /// in `inbox` (a [`PyInbox`], which wakes the task waiting for it), `on_writable()` is
    /// called once the output queue drained after a send found it full, and last
    /// `on_close(code, reason)`.
    fn accept(
        slf: &Bound<'_, Self>,
        subprotocol: Option<String>,
        headers: Vec<(String, String)>,
        inbox: Bound<'_, PyInbox>,
        done: Bound<'_, PyAny>,
        on_writable: Py<PyAny>,
        on_close: Py<PyAny>,
    ) -> PyResult<()> {
        let this = slf.get();
        if let Some(p) = &subprotocol {
            if !this.offered.contains(p) {
                return Err(PyValueError::new_err(format!(
                    "subprotocol {p:?} was not offered by the client (it offered {:?})",
                    this.offered
                )));
            }
        }
        let upgrade = lock(&this.upgrade).take().ok_or_else(|| {
            PyRuntimeError::new_err("the WebSocket was accepted or refused already")
        })?;
        let event_loop = done.call_method0("get_loop")?.unbind();
        {
            let mut inbox = inbox.borrow_mut();
            inbox.event_loop = Some(event_loop);
            inbox.done = Some(done.unbind());
            inbox.conn = Some(slf.clone().unbind());
        }
        let binary_inbox = inbox.clone().unbind();
        let inbox = inbox.unbind();
        // Whole binary messages are unmasked straight into their `bytes`.
        let binary = move |message: MaskedBinary<'_>, out: &WsSender| {
            aio::attach_for_turn(|py| {
                let here = aio::on_io_thread();
                let inbox = binary_inbox.bind(py);
                let len = message.len();
                let delivered = unmasked_bytes(py, &message).and_then(|item| {
                    deliver(py, here, |wake| {
                        PyInbox::push(inbox, item.into_any(), len, out, wake)
                    })
                });
                if let Err(e) = delivered {
                    crate::serve::log_line("error in a WebSocket's event handler:");
                    e.display(py);
                }
            });
        };
        let handler = move |event: WsEvent, out: &WsSender| {
            aio::attach_for_turn(|py| {
                let here = aio::on_io_thread();
                let inbox = inbox.bind(py);
                let delivered = match event {
                    WsEvent::Message(Message::Text(t)) => {
                        let item = PyString::new(py, &t).into_any();
                        deliver(py, here, |wake| {
                            PyInbox::push(inbox, item, t.len(), out, wake)
                        })
                    }
                    WsEvent::Message(Message::Binary(b)) => {
                        let item = PyBytes::new(py, &b).into_any();
                        deliver(py, here, |wake| {
                            PyInbox::push(inbox, item, b.len(), out, wake)
                        })
                    }
                    WsEvent::Writable => deliver(py, here, |_| on_writable.bind(py).call0()),
                    WsEvent::Closed { code, reason } => {
                        deliver(py, here, |_| on_close.bind(py).call1((code, reason)))
                    }
                };
                if let Err(e) = delivered {
                    crate::serve::log_line("error in a WebSocket's event handler:");
                    e.display(py);
                }
            });
        };
        let headers: Vec<(String, String)> = headers;
        let sender = upgrade
            .accept_with_binary(subprotocol.as_deref(), &headers, handler, binary)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // The upgrade was taken above, once: the sender is set once.
        let _ = this.sender.set(sender);
        Ok(())
    }

    /// Refuses the handshake with `status` (`403 Forbidden` for a close before accept,
    /// `500` for a handler that raised before it); false if it was decided already.
    #[pyo3(signature = (status = 403))]
    fn deny(&self, status: u16) -> PyResult<bool> {
        let Some(upgrade) = lock(&self.upgrade).take() else {
            return Ok(false);
        };
        if status != 403 {
            let status = fasterapi_http::StatusCode::from_u16(status)
                .ok_or_else(|| PyValueError::new_err(format!("bad status {status}")))?;
            upgrade.reject(
                fasterapi_http::Response::text(status.reason().to_owned()).with_status(status),
            );
        }
        Ok(true)
    }

    /// Sends a text (`str`) or binary (`bytes`-like) message: 0 sent, 1 the output queue
    /// is full (an `on_writable()` follows), 2 closed.
    fn send(&self, data: &Bound<'_, PyAny>) -> PyResult<u8> {
        self.send_data(data)
    }

    /// Starts the close handshake with `code` and `reason`; false if it was closed already.
    fn close(&self, code: u16, reason: &str) -> PyResult<bool> {
        let Some(sender) = self.sender.get() else {
            return Ok(false);
        };
        match sender.close(code, reason) {
            Ok(()) => Ok(true),
            Err(WsError::Closed(_)) => Ok(false),
            Err(e) => Err(PyValueError::new_err(e.to_string())),
        }
    }
}

impl PyWsConn {
    /// [`send`](PyWsConn::send)'s work.
    fn send_data(&self, data: &Bound<'_, PyAny>) -> PyResult<u8> {
        let Some(sender) = self.sender.get() else {
            return Err(PyRuntimeError::new_err(
                "WebSocket is not connected. Need to call \"accept\" first.",
            ));
        };
        // The frame is made straight from the object's buffer (one copy), or, for a
        // large `bytes`, queued behind its frame's header holding a reference to it.
        let sent = if let Ok(s) = data.cast::<PyString>() {
            sender.send_text(s.to_str()?)
        } else if let Ok(b) = data.cast::<PyBytes>() {
            if b.as_bytes().len() >= SHARE_MIN {
                sender.send_binary_shared(Bytes::from_owner(SharedBytes::new(b)))
            } else {
                sender.send_binary(b.as_bytes())
            }
        } else if let Ok(b) = data.cast::<PyByteArray>() {
            sender.send_binary(&b.to_vec())
        } else {
            return Err(PyTypeError::new_err(format!(
                "a WebSocket message is str or bytes, not {}",
                data.get_type().name()?
            )));
        };
        Ok(match sent {
            Ok(()) => SENT,
            Err(WsError::Full(_)) => FULL,
            Err(_) => CLOSED,
        })
    }
}

/// A `bytes` object's buffer queued behind its frame's header ([`WsSender::send_binary_shared`]),
/// let go where the frame is written: straight if that thread holds the GIL for its pass
/// (the I/O thread keeps it once an event took it, see `aio::attach_for_turn`), else
/// through pyo3's deferred decrements, whose mutex and
/// later pass over the pool cost about 470 instructions a 16 KiB message (measured:
/// benches/RESULTS.md, "Per-message cuts of session 7").
struct SharedBytes {
    /// The object, never `None` until dropped.
    bytes: Option<Py<PyBytes>>,
    /// Its buffer: immutable, and alive while `bytes` holds the object.
    data: *const u8,
    len: usize,
}

// SAFETY: the object is only read (a `bytes` buffer is immutable) and released in `Drop`
// with the GIL held or through pyo3's pool, which any thread may do (`Py` is `Send` and
// `Sync` for that reason); the pointer is into that object's own buffer.
unsafe impl Send for SharedBytes {}
// SAFETY: as above: shared references only read the immutable buffer.
unsafe impl Sync for SharedBytes {}

impl SharedBytes {
    fn new(b: &Bound<'_, PyBytes>) -> SharedBytes {
        let data = b.as_bytes();
        SharedBytes {
            data: data.as_ptr(),
            len: data.len(),
            bytes: Some(b.clone().unbind()),
        }
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `data` and `len` are the buffer of the `bytes` object `self.bytes`
        // holds (immutable, alive until `self` is dropped).
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

impl Drop for SharedBytes {
    fn drop(&mut self) {
        let Some(bytes) = self.bytes.take() else {
            return;
        };
        if aio::holds_turn_gil() {
            // SAFETY: this thread holds the GIL (taken for its pass by
            // `aio::attach_for_turn`, released only by its `turn_done`), so the reference
            // is released at once, as pyo3 does on an attached thread.
            unsafe { pyo3::ffi::Py_DecRef(bytes.into_ptr()) };
            return;
        }
        drop(bytes);
    }
}

/// Hands an event to the `WebSocket` (`event(wake)`: a message queued in its inbox, or
/// its `_on_writable` or `_on_close` called). On the I/O thread that drives the loop
/// (`here`), a task waiting for the message is stepped right there ([`Wake::Step`]): the
/// loop is marked running for it, and a turn is asked for only if the step left the loop
/// work. No task is running then: a connection's events are delivered by its I/O
/// thread's readiness pass, between the steps of the loop's tasks. Elsewhere the task's
/// wake-up is scheduled on the loop ([`Wake::Schedule`]) and a turn asked for.
fn deliver<'py, R>(
    py: Python<'py>,
    here: bool,
    event: impl FnOnce(Wake) -> PyResult<R>,
) -> PyResult<()> {
    if !here {
        event(Wake::Schedule)?;
        aio::request_turn();
        return Ok(());
    }
    let rt = Runtime::get(py)?;
    aio::with_loop(py, rt, |lp| {
        aio::mark_running(py, rt, lp.event_loop.bind(py))?;
        let called = event(Wake::Step);
        lp.note_work(py)?;
        called.map(drop)
    })
}

/// A `bytes` of `message`, unmasked straight into the object (no zeroing first, as
/// `PyBytes::new_with` does, and no `Vec` in between: one pass over the bytes).
fn unmasked_bytes<'py>(
    py: Python<'py>,
    message: &MaskedBinary<'_>,
) -> PyResult<Bound<'py, PyBytes>> {
    let len = message.len();
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| PyValueError::new_err("a WebSocket message too large for a bytes"))?;
    // SAFETY: `PyBytes_FromStringAndSize(NULL, size)` returns a new `bytes` of `size`
    // uninitialized bytes (for size 0, the shared empty one, of which nothing is
    // written), or NULL with an exception set (turned into the error). Nothing else has
    // seen the new object yet: its buffer (`PyBytes_AsString`, valid for `size` bytes
    // plus the trailing NUL) is written whole by `unmask_into` before the object is
    // handed out, as bytes objects are filled by CPython's own constructors.
    unsafe {
        let raw = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size);
        let bytes = Bound::from_owned_ptr_or_err(py, raw)?;
        let data = pyo3::ffi::PyBytes_AsString(bytes.as_ptr());
        if len > 0 {
            let out = std::slice::from_raw_parts_mut(data.cast::<std::mem::MaybeUninit<u8>>(), len);
            message.unmask_into(out);
        }
        Ok(bytes.cast_into_unchecked())
    }
}

/// How [`PyInbox`] wakes the task waiting for a message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// Calls its wake-up now, in its context: on the loop's thread, outside any task.
    Step,
    /// Schedules its wake-up with the loop's `call_soon`.
    Schedule,
}

/// Where the one wait on a [`PyInbox`] is, as the states of an asyncio future the
/// handler's task awaits (one per wait, reused), and the states of a direct step (see
/// [`PyHandlerCoro`]).
enum Wait {
    /// Nobody waits.
    Idle,
    /// Yielded to the task (`await inbox`), which has not added its wake-up yet.
    Yielded {
        /// By a receive's awaitable ([`PyAwaitable`]), which a direct step can resume
        /// (not by `await inbox`, whose second step is told from its first by `Woken`).
        direct: bool,
        /// The handler's coroutine it was yielded through to the task, once it saw it.
        driver: Option<Py<PyHandlerCoro>>,
    },
    /// The task's wake-up (`add_done_callback`), to call once a message comes; with
    /// `driver`, a message steps that coroutine directly instead.
    Waiting {
        callback: Py<PyAny>,
        context: Option<Py<PyAny>>,
        driver: Option<Py<PyHandlerCoro>>,
    },
    /// A message came and the handler's coroutine is being stepped directly
    /// ([`PyInbox::step_directly`], which holds the task's wake-up and the coroutine's
    /// driver meanwhile); `cancel`: the task was cancelled meanwhile (`cancel(msg)`).
    Stepping { cancel: Option<Option<Py<PyAny>>> },
    /// In a direct step, the coroutine waits on the inbox again (`direct`: through a
    /// receive's awaitable): the task's wake-up goes back to `Waiting` after the step.
    Rewaited {
        direct: bool,
        cancel: Option<Option<Py<PyAny>>>,
    },
    /// Done: a message (or the close) came and the wake-up was called or scheduled.
    Woken,
    /// Cancelled (`cancel(msg)`): the wait raises `CancelledError(msg)`.
    Cancelled(Option<Py<PyAny>>),
}

/// A direct step's start, taken from [`Wait::Waiting`] by [`PyInbox::take_for_step`].
struct DirectStep {
    callback: Py<PyAny>,
    context: Option<Py<PyAny>>,
    driver: Py<PyHandlerCoro>,
}

/// A WebSocket's messages the handler has not received yet, and the wait for the next:
/// `fasterapi._fasterapi.WebSocketInbox`.
///
/// `receive_*` pops the next item (`pop()`) and, while there is none, awaits the inbox
/// itself: to the handler's task it is an asyncio future (the protocol asyncio's `Task`
/// speaks with future-like objects: `_asyncio_future_blocking`, `get_loop`,
/// `add_done_callback`, `result`, `cancel`...), one per connection and reused for each
/// wait, which a message finishes from Rust. Per message that saves the asyncio
/// `Future` made for each wait (with its keyword-argument dictionary) and a Python frame
/// queueing the message and finishing that future (benches/RESULTS.md, "Per-message
/// cuts of session 6").
///
/// One coroutine waits at a time (`RuntimeError` for a second, as the `websockets`
/// library's `recv`); cancellation and timeouts work as with a future. Messages count
/// against `max_unread` bytes (each with `overhead` more): past it the connection is
/// closed with 1008 and further messages are dropped.
#[pyclass(module = "fasterapi._fasterapi", name = "WebSocketInbox")]
pub(crate) struct PyInbox {
    /// The items with what each counts against `max_unread`.
    items: VecDeque<(Py<PyAny>, usize)>,
    unread: usize,
    max_unread: usize,
    overhead: usize,
    /// The loop of the handler's task (set by `accept`).
    event_loop: Option<Py<PyAny>>,
    wait: Wait,
    /// The future protocol's `_asyncio_future_blocking`.
    blocking: bool,
    /// A finished asyncio `Future` of the loop (result `None`), what a wake-up is called
    /// with once a message came: asyncio's C `Task` reads the result of its own futures
    /// directly, and asks any other object for it with `result()` looked up by a C string
    /// (a `str` made and hashed per call: 1,500 instructions a message). The result is
    /// the same (`None`), and the awaiting coroutine is resumed by the task's step.
    done: Option<Py<PyAny>>,
    /// The close was queued ([`put`](PyInbox::put)): nothing comes after it.
    closed: bool,
    /// The connection (set by `accept`), what [`sending`](PyInbox::sending) sends on.
    conn: Option<Py<PyWsConn>>,
    /// The last awaitables [`receiving`](PyInbox::receiving) and
    /// [`sending`](PyInbox::sending) made, used again once nothing else holds them.
    spare_receive: Option<Py<PyAwaitable>>,
    spare_send: Option<Py<PyAwaitable>>,
    /// `add_done_callback` bound to the inbox, made at its first read and handed out
    /// again at every wait (see [`install_inbox_slots`]).
    bound_add_done: Option<Py<PyAny>>,
}

/// `asyncio.CancelledError` and `asyncio.InvalidStateError`, looked up once.
fn asyncio_error(py: Python<'_>, cancelled: bool) -> PyResult<Bound<'_, PyAny>> {
    static ERRORS: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    let (c, i) = ERRORS.get_or_try_init(py, || -> PyResult<_> {
        let m = py.import("asyncio")?;
        Ok((
            m.getattr("CancelledError")?.unbind(),
            m.getattr("InvalidStateError")?.unbind(),
        ))
    })?;
    Ok(if cancelled { c } else { i }.bind(py).clone())
}

impl PyInbox {
    /// Queues a message of `len` bytes (from the I/O thread) and wakes its waiter; past
    /// the bound, closes the connection with 1008 instead (once) and drops it.
    fn push(
        slf: &Bound<'_, PyInbox>,
        item: Bound<'_, PyAny>,
        len: usize,
        out: &WsSender,
        wake: Wake,
    ) -> PyResult<()> {
        let woken = {
            let mut me = slf.borrow_mut();
            let charge = len + me.overhead;
            if me.unread + charge > me.max_unread {
                if me.unread <= me.max_unread {
                    // Sticks: what is popped later does not let messages in again.
                    me.unread = me.max_unread + 1;
                    drop(me);
                    // Closed already (by the handler, say): nothing more to do.
                    let _ = out.close(1008, "too many unread messages");
                }
                return Ok(());
            }
            me.unread += charge;
            me.items.push_back((item.unbind(), charge));
            if wake == Wake::Step {
                if let Some(step) = me.take_for_step() {
                    drop(me);
                    return Self::step_directly(slf, step);
                }
            }
            me.take_waiter()
        };
        Self::wake(slf, woken, wake)
    }

    /// The waiting task's wake-up, its context and the handler coroutine to step, the
    /// wait marked [`Wait::Stepping`], if the task waits through a [`PyHandlerCoro`]
    /// that a message can step directly.
    fn take_for_step(&mut self) -> Option<DirectStep> {
        if !matches!(
            self.wait,
            Wait::Waiting {
                driver: Some(_),
                ..
            }
        ) || self.event_loop.is_none()
        {
            return None;
        }
        let Wait::Waiting {
            callback,
            context,
            driver: Some(driver),
        } = std::mem::replace(&mut self.wait, Wait::Idle)
        else {
            unreachable!("matched as Waiting with a driver above")
        };
        self.wait = Wait::Stepping { cancel: None };
        Some(DirectStep {
            callback,
            context,
            driver,
        })
    }

    /// Gives the wait up (the coroutine awaiting the inbox was closed or thrown into):
    /// nobody waits any more; in a direct step, the task's wake-up stays with the step.
    fn give_up(&mut self) {
        self.wait = match std::mem::replace(&mut self.wait, Wait::Idle) {
            Wait::Stepping { cancel } | Wait::Rewaited { cancel, .. } => Wait::Stepping { cancel },
            _ => Wait::Idle,
        };
    }

    /// The waiting task's wake-up and context, the wait marked done, if a task waits.
    fn take_waiter(&mut self) -> Option<(Py<PyAny>, Option<Py<PyAny>>)> {
        if !matches!(self.wait, Wait::Waiting { .. }) {
            return None;
        }
        match std::mem::replace(&mut self.wait, Wait::Woken) {
            Wait::Waiting {
                callback, context, ..
            } => Some((callback, context)),
            _ => unreachable!("matched as Waiting above"),
        }
    }

    /// Calls (or schedules) a wake-up taken by [`PyInbox::take_waiter`], with the
    /// finished future ([`PyInbox::done`]; the inbox itself, which is done too, before
    /// `accept`), in its context; no borrow of the inbox is held (the task's step uses
    /// it).
    fn wake(
        slf: &Bound<'_, PyInbox>,
        woken: Option<(Py<PyAny>, Option<Py<PyAny>>)>,
        wake: Wake,
    ) -> PyResult<()> {
        let Some((callback, context)) = woken else {
            return Ok(());
        };
        let done = Self::finished(slf);
        if wake == Wake::Schedule {
            return Self::schedule(slf, callback, context, done);
        }
        call_wakeup(slf.py(), callback, context, done)
    }

    /// What a wake-up is called with once a message came: [`PyInbox::done`], or the
    /// inbox itself (done too) before `accept`.
    fn finished<'py>(slf: &Bound<'py, PyInbox>) -> Bound<'py, PyAny> {
        let py = slf.py();
        match &slf.borrow().done {
            Some(d) => d.clone_ref(py).into_bound(py),
            None => slf.clone().into_any(),
        }
    }

    /// Steps the handler's coroutine (`step.driver`'s) right here, with a message
    /// queued, as its task's wake-up would (in the task's context, the task current for
    /// the loop), without the task's step: its coroutine most often waits on the inbox
    /// again, and the task, which still waits on it with the same wake-up, need not know.
    /// Otherwise (it waited on something else, returned or raised) the outcome is kept
    /// in the driver and the task woken, whose step takes it from there.
    fn step_directly(slf: &Bound<'_, PyInbox>, step: DirectStep) -> PyResult<()> {
        use pyo3::ffi;
        let py = slf.py();
        let DirectStep {
            callback,
            context,
            driver,
        } = step;
        // Held as `Bound`s, dropped without pyo3's check for a thread not attached.
        let (coro, task) = {
            let d = driver.bind(py).borrow();
            (
                d.coro.bind(py).clone(),
                d.task.as_ref().map(|t| t.bind(py).clone()),
            )
        };
        let event_loop = slf.borrow().event_loop.as_ref().map(|l| l.bind(py).clone());
        let tasks = aio::current_tasks(py);
        let (Some(task), Some(event_loop), Some(tasks)) = (task, event_loop, tasks) else {
            // No task to be current (the first step is not over), or no dict of current
            // tasks to enter it in (an asyncio without one): the task steps it.
            slf.borrow_mut().wait = Wait::Woken;
            return call_wakeup(py, callback, context, Self::finished(slf));
        };
        // SAFETY: every pointer is a live object held here (`ctx`, `coro`, `task`, the
        // loop, the dict of current tasks) and the GIL is held. The task is entered in
        // `_current_tasks` only if the loop has no current task (`PyDict_SetDefault`
        // answers the value the key has after the call, borrowed, or NULL with an
        // error); else it is woken as before. A context entered is exited on this thread
        // after the step whatever it did (as `Context.run`), and the entry is removed
        // after it, as asyncio's `leave_task`; an error of the step is fetched before
        // either call.
        let (sent, result, failed) = unsafe {
            let current =
                ffi::PyDict_SetDefault(tasks.as_ptr(), event_loop.as_ptr(), task.as_ptr());
            if current != task.as_ptr() {
                // Another task is current (not where the server delivers messages), or
                // the dict refused the entry: the task steps it.
                let refused = current.is_null().then(|| PyErr::fetch(py));
                slf.borrow_mut().wait = Wait::Woken;
                call_wakeup(py, callback, context, Self::finished(slf))?;
                return refused.map_or(Ok(()), Err);
            }
            if let Some(ctx) = &context {
                if ffi::PyContext_Enter(ctx.as_ptr()) != 0 {
                    let e = PyErr::fetch(py);
                    if ffi::PyDict_DelItem(tasks.as_ptr(), event_loop.as_ptr()) != 0 {
                        PyErr::fetch(py).display(py);
                    }
                    slf.borrow_mut().wait = Wait::Woken;
                    call_wakeup(py, callback, context, Self::finished(slf))?;
                    return Err(e);
                }
            }
            let mut result: *mut ffi::PyObject = std::ptr::null_mut();
            let sent = ffi::PyIter_Send(coro.as_ptr(), ffi::Py_None(), &mut result);
            let failed = (sent == ffi::PySendResult::PYGEN_ERROR).then(|| PyErr::fetch(py));
            if ffi::PyDict_DelItem(tasks.as_ptr(), event_loop.as_ptr()) != 0 {
                PyErr::fetch(py).display(py);
            }
            if let Some(ctx) = &context {
                if ffi::PyContext_Exit(ctx.as_ptr()) != 0 {
                    PyErr::fetch(py).display(py);
                }
            }
            (sent, Bound::from_owned_ptr_or_opt(py, result), failed)
        };
        let parked = sent == ffi::PySendResult::PYGEN_NEXT
            && result.as_ref().is_some_and(|r| r.as_ptr() == slf.as_ptr());
        let state = std::mem::replace(&mut slf.borrow_mut().wait, Wait::Idle);
        let cancel = match state {
            // Waits on the inbox again, as the task thinks it always did.
            Wait::Rewaited {
                direct,
                cancel: None,
            } if parked => {
                let mut me = slf.borrow_mut();
                me.wait = Wait::Waiting {
                    callback,
                    context,
                    driver: direct.then_some(driver),
                };
                // As the task would have read it.
                me.blocking = false;
                return Ok(());
            }
            Wait::Rewaited {
                cancel: Some(msg), ..
            } if parked => {
                // Cancelled in the step, waiting again: the wake-up raises the
                // `CancelledError` in the wait, as `cancel()` schedules it.
                slf.borrow_mut().wait = Wait::Cancelled(msg);
                return Self::schedule(slf, callback, context, slf.clone().into_any());
            }
            Wait::Stepping { cancel, .. } | Wait::Rewaited { cancel, .. } => cancel,
            other => {
                slf.borrow_mut().wait = other;
                None
            }
        };
        let outcome = match (sent, result) {
            (ffi::PySendResult::PYGEN_NEXT, Some(r)) => Outcome::Yield(r.unbind()),
            (ffi::PySendResult::PYGEN_RETURN, Some(r)) => Outcome::Return(r.unbind()),
            (_, _) => Outcome::Raise(
                failed.unwrap_or_else(|| PyRuntimeError::new_err("a coroutine step gave nothing")),
            ),
        };
        // Cancelled in the step and now waiting on a future: as asyncio's task step with
        // a cancellation pending, the future is cancelled (an awaited task with it), and
        // the task woken as usual finds it so; should it refuse, the wait raises below.
        let cancel = match (cancel, &outcome) {
            (Some(msg), Outcome::Yield(fut)) if Self::cancel_future(fut.bind(py), &msg)? => None,
            (cancel, _) => cancel,
        };
        {
            let mut d = driver.bind(py).borrow_mut();
            if !matches!(outcome, Outcome::Yield(_)) {
                d.task = None;
            }
            d.stash = Some(outcome);
        }
        match cancel {
            Some(msg) => {
                slf.borrow_mut().wait = Wait::Cancelled(msg);
                Self::schedule(slf, callback, context, slf.clone().into_any())
            }
            None => call_wakeup(py, callback, context, Self::finished(slf)),
        }
    }
}

impl PyInbox {
    /// `fut.cancel(msg=msg)` if `fut` is a future a task would wait on (its
    /// `_asyncio_future_blocking` set by its `__await__`), as asyncio's task step cancels
    /// the future it is to wait on once a cancellation is pending: whether it did.
    fn cancel_future(fut: &Bound<'_, PyAny>, msg: &Option<Py<PyAny>>) -> PyResult<bool> {
        let py = fut.py();
        let blocking = match fut.getattr_opt(pyo3::intern!(py, "_asyncio_future_blocking"))? {
            Some(b) => b.is_truthy()?,
            None => false,
        };
        if !blocking {
            return Ok(false);
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("msg", msg)?;
        fut.call_method(pyo3::intern!(py, "cancel"), (), Some(&kwargs))?
            .is_truthy()
    }
}

/// Calls a task's wake-up `callback(done)` in its `context` (`context.run(callback,
/// done)` without looking up and calling `run`).
fn call_wakeup(
    py: Python<'_>,
    callback: Py<PyAny>,
    context: Option<Py<PyAny>>,
    done: Bound<'_, PyAny>,
) -> PyResult<()> {
    let Some(ctx) = context else {
        callback.bind(py).call1((done,))?;
        return Ok(());
    };
    // SAFETY: `ctx` is a live object (held here); `PyContext_Enter` checks that it is
    // a `contextvars.Context` (a `TypeError` otherwise, returned as -1), and once it
    // succeeded, `PyContext_Exit` leaves it on this same thread after the call,
    // whatever the call did (as `Context.run` does).
    if unsafe { pyo3::ffi::PyContext_Enter(ctx.as_ptr()) } != 0 {
        return Err(PyErr::fetch(py));
    }
    let called = callback.bind(py).call1((done,));
    // SAFETY: as above: the context entered on this thread just before.
    if unsafe { pyo3::ffi::PyContext_Exit(ctx.as_ptr()) } != 0 {
        let exited = PyErr::fetch(py);
        called?;
        return Err(exited);
    }
    called.map(drop)
}

impl PyInbox {
    /// `add_done_callback(callback, *, context=None)` (what [`inbox_add_done`] calls):
    /// the waiting task's wake-up, kept until a message comes; scheduled at once if the
    /// wait is over already.
    fn add_done(
        slf: &Bound<'_, PyInbox>,
        callback: Py<PyAny>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let now = {
            let mut me = slf.try_borrow_mut()?;
            match std::mem::replace(&mut me.wait, Wait::Idle) {
                Wait::Yielded { driver, .. } => {
                    me.wait = Wait::Waiting {
                        callback,
                        context,
                        driver,
                    };
                    return Ok(());
                }
                // In a direct step, another task waits on the inbox: one the step started
                // eagerly (3.12's eager tasks), whose first step awaited it. It is that
                // task's wait now; the step wakes its own task with what it yielded.
                Wait::Rewaited { cancel: None, .. } => {
                    me.wait = Wait::Waiting {
                        callback,
                        context,
                        driver: None,
                    };
                    return Ok(());
                }
                other => {
                    let now = matches!(other, Wait::Woken | Wait::Cancelled(_));
                    me.wait = other;
                    now
                }
            }
        };
        if !now {
            return Err(PyRuntimeError::new_err(
                "a WebSocket's inbox takes one done callback, from the task awaiting it",
            ));
        }
        Self::schedule(slf, callback, context, slf.clone().into_any())
    }

    /// `loop.call_soon(callback, future, context=context)`.
    fn schedule(
        slf: &Bound<'_, PyInbox>,
        callback: Py<PyAny>,
        context: Option<Py<PyAny>>,
        future: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let py = slf.py();
        let event_loop = slf
            .try_borrow()?
            .event_loop
            .as_ref()
            .map(|l| l.clone_ref(py))
            .ok_or_else(|| PyRuntimeError::new_err("the WebSocket is not accepted"))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("context", context)?;
        event_loop.bind(py).call_method(
            pyo3::intern!(py, "call_soon"),
            (callback, future),
            Some(&kwargs),
        )?;
        Ok(())
    }
}

#[pymethods]
impl PyInbox {
    #[new]
    fn new(max_unread: usize, overhead: usize) -> PyInbox {
        PyInbox {
            items: VecDeque::new(),
            unread: 0,
            max_unread,
            overhead,
            event_loop: None,
            wait: Wait::Idle,
            blocking: false,
            done: None,
            closed: false,
            conn: None,
            spare_receive: None,
            spare_send: None,
            bound_add_done: None,
        }
    }

    /// The next item (a message's `str` or `bytes`, or what [`put`](PyInbox::put)
    /// queued), or `None` if there is none yet.
    fn pop(&mut self) -> Option<Py<PyAny>> {
        let (item, charge) = self.items.pop_front()?;
        self.unread = self.unread.saturating_sub(charge);
        Some(item)
    }

    /// Queues `item` (the close, last) without counting it, and wakes the waiting task
    /// at the loop's next turn.
    fn put(slf: &Bound<'_, PyInbox>, item: Py<PyAny>) -> PyResult<()> {
        let woken = {
            let mut me = slf.borrow_mut();
            me.items.push_back((item, 0));
            me.closed = true;
            me.take_waiter()
        };
        Self::wake(slf, woken, Wake::Schedule)
    }

    fn __len__(&self) -> usize {
        self.items.len()
    }

    /// `receiving(websocket, text)`: `websocket.receive_text()` (`text`) or
    /// `receive_bytes()` once its state was checked (accepted, connected): an awaitable
    /// that takes the next message when first stepped, waiting on the inbox for one (see
    /// [`PyAwaitable`]).
    fn receiving(
        slf: &Bound<'_, Self>,
        websocket: &Bound<'_, PyAny>,
        text: bool,
    ) -> PyResult<Py<PyAwaitable>> {
        let op = Op::Receive {
            text,
            waiting: false,
        };
        reuse(slf, websocket, op, false)
    }

    /// `sending(websocket, data)`: `websocket.send_text(data)` / `send_bytes(data)` once
    /// its state was checked (accepted, not closed): an awaitable that sends `data` when
    /// first stepped, and waits for room through `websocket._send(data)` if the output
    /// queue is full (see [`PyAwaitable`]).
    fn sending(
        slf: &Bound<'_, Self>,
        websocket: &Bound<'_, PyAny>,
        data: Py<PyAny>,
    ) -> PyResult<Py<PyAwaitable>> {
        if slf.borrow().conn.is_none() {
            return Err(PyRuntimeError::new_err("the WebSocket is not accepted"));
        }
        reuse(slf, websocket, Op::Send { data }, true)
    }

    // -- awaiting it: the protocol of asyncio futures -------------------------------------

    fn __await__(slf: PyRefMut<'_, Self>) -> PyResult<PyRefMut<'_, Self>> {
        if !matches!(slf.wait, Wait::Idle | Wait::Stepping { .. }) {
            return Err(PyRuntimeError::new_err(
                "cannot receive from a WebSocket while another coroutine is already \
                 waiting for its next message",
            ));
        }
        Ok(slf)
    }

    fn __iter__(slf: PyRefMut<'_, Self>) -> PyRefMut<'_, Self> {
        slf
    }

    /// First step: yields the inbox to the task (which waits on it as on a future);
    /// second, once woken: the wait is over (`None` ends the `await`).
    fn __next__(mut slf: PyRefMut<'_, Self>) -> PyResult<Option<PyRefMut<'_, Self>>> {
        match std::mem::replace(&mut slf.wait, Wait::Idle) {
            Wait::Idle => {
                slf.wait = Wait::Yielded {
                    direct: false,
                    driver: None,
                };
                slf.blocking = true;
                Ok(Some(slf))
            }
            // In a direct step: the task waits on the inbox already. Blocking all the
            // same: a task started eagerly in the step may be the one awaiting it.
            Wait::Stepping { cancel } => {
                slf.wait = Wait::Rewaited {
                    direct: false,
                    cancel,
                };
                slf.blocking = true;
                Ok(Some(slf))
            }
            Wait::Woken => Ok(None),
            Wait::Cancelled(msg) => {
                let py = slf.py();
                Err(PyErr::from_value(asyncio_error(py, true)?.call1((msg,))?))
            }
            pending @ (Wait::Yielded { .. } | Wait::Waiting { .. } | Wait::Rewaited { .. }) => {
                slf.wait = pending;
                Err(PyRuntimeError::new_err("await wasn't used with future"))
            }
        }
    }

    /// `coroutine.throw` passes on to what it awaits: the wait is given up, and the
    /// exception raised in the awaiting coroutine.
    #[pyo3(signature = (typ, val = None, _tb = None))]
    fn throw(
        &mut self,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.give_up();
        let exc = match val {
            Some(v) if !v.is_none() => v,
            _ => typ,
        };
        Err(PyErr::from_value(exc))
    }

    /// `coroutine.close` passes on to what it awaits: the wait is given up.
    fn close(&mut self) {
        self.give_up();
    }

    fn remove_done_callback(&mut self, py: Python<'_>, callback: Bound<'_, PyAny>) -> usize {
        match &self.wait {
            Wait::Waiting { callback: c, .. } if c.bind(py).eq(&callback).unwrap_or(false) => {
                let Wait::Waiting { driver, .. } = std::mem::replace(&mut self.wait, Wait::Idle)
                else {
                    unreachable!("matched as Waiting above")
                };
                self.wait = Wait::Yielded {
                    direct: driver.is_some(),
                    driver,
                };
                1
            }
            _ => 0,
        }
    }

    fn done(&self) -> bool {
        matches!(self.wait, Wait::Woken | Wait::Cancelled(_))
    }

    fn cancelled(&self) -> bool {
        matches!(self.wait, Wait::Cancelled(_))
    }

    /// `None` once woken; raises `CancelledError` if cancelled (the wait is then over).
    fn result(&mut self, py: Python<'_>) -> PyResult<()> {
        match std::mem::replace(&mut self.wait, Wait::Idle) {
            Wait::Woken => {
                self.wait = Wait::Woken;
                Ok(())
            }
            Wait::Cancelled(msg) => Err(PyErr::from_value(asyncio_error(py, true)?.call1((msg,))?)),
            pending => {
                self.wait = pending;
                Err(PyErr::from_value(
                    asyncio_error(py, false)?.call1(("Result is not set.",))?,
                ))
            }
        }
    }

    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.wait {
            Wait::Woken => Ok(None),
            Wait::Cancelled(msg) => Err(PyErr::from_value(
                asyncio_error(py, true)?.call1((msg.as_ref().map(|m| m.clone_ref(py)),))?,
            )),
            _ => Err(PyErr::from_value(
                asyncio_error(py, false)?.call1(("Exception is not set.",))?,
            )),
        }
    }

    /// Cancels the wait (the task's `cancel()` calls it): its wake-up is scheduled, and
    /// the wait raises `CancelledError(msg)`. False if no wait is pending.
    #[pyo3(signature = (msg = None))]
    fn cancel(slf: &Bound<'_, PyInbox>, msg: Option<Py<PyAny>>) -> PyResult<bool> {
        let woken = {
            let mut me = slf.borrow_mut();
            match std::mem::replace(&mut me.wait, Wait::Idle) {
                Wait::Yielded { .. } => {
                    me.wait = Wait::Cancelled(msg);
                    None
                }
                Wait::Waiting {
                    callback, context, ..
                } => {
                    me.wait = Wait::Cancelled(msg);
                    Some((callback, context))
                }
                // In a direct step, which holds the wake-up: it schedules it after.
                Wait::Stepping { cancel: None } => {
                    me.wait = Wait::Stepping { cancel: Some(msg) };
                    None
                }
                Wait::Rewaited {
                    direct,
                    cancel: None,
                } => {
                    me.wait = Wait::Rewaited {
                        direct,
                        cancel: Some(msg),
                    };
                    None
                }
                other => {
                    me.wait = other;
                    return Ok(false);
                }
            }
        };
        if let Some((callback, context)) = woken {
            // With the inbox: its `result()` raises the `CancelledError`.
            Self::schedule(slf, callback, context, slf.clone().into_any())?;
        }
        Ok(true)
    }

    fn __repr__(&self) -> String {
        let state = match self.wait {
            Wait::Idle => "idle",
            Wait::Yielded { .. }
            | Wait::Waiting { .. }
            | Wait::Stepping { .. }
            | Wait::Rewaited { .. } => "pending",
            Wait::Woken => "finished",
            Wait::Cancelled(_) => "cancelled",
        };
        format!("<WebSocketInbox {state}, {} unread>", self.items.len())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for (item, _) in &self.items {
            visit.call(item)?;
        }
        visit.call(&self.event_loop)?;
        visit.call(&self.done)?;
        visit.call(&self.conn)?;
        visit.call(&self.spare_receive)?;
        visit.call(&self.spare_send)?;
        visit.call(&self.bound_add_done)?;
        match &self.wait {
            Wait::Yielded { driver, .. } => visit.call(driver)?,
            Wait::Waiting {
                callback,
                context,
                driver,
            } => {
                visit.call(callback)?;
                visit.call(context)?;
                visit.call(driver)?;
            }
            Wait::Stepping { cancel } | Wait::Rewaited { cancel, .. } => {
                if let Some(msg) = cancel {
                    visit.call(msg)?;
                }
            }
            Wait::Cancelled(msg) => visit.call(msg)?,
            Wait::Idle | Wait::Woken => {}
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.items.clear();
        self.event_loop = None;
        self.done = None;
        self.conn = None;
        self.spare_receive = None;
        self.spare_send = None;
        self.bound_add_done = None;
        self.wait = Wait::Idle;
    }
}

/// What a `receive_text`/`receive_bytes`/`send_text`/`send_bytes` of a connected
/// `WebSocket` returns: `fasterapi._fasterapi.WebSocketAwaitable`, a coroutine made in
/// Rust (registered as a `collections.abc.Coroutine`, so `asyncio.create_task`,
/// `gather` and `wait_for` take it as they take a coroutine).
///
/// As a coroutine, it does nothing until it is stepped (awaited, or stepped by a task):
/// then a receive takes the next message from the inbox, or yields the inbox (an
/// asyncio future to the task, see [`PyInbox`]) and takes the message once woken; a
/// send queues its message, or, if the output queue is full, carries on as
/// `websocket._send(data)`, which waits for room. Per message that saves making,
/// running and freeing an `async def` coroutine and its frame (benches/RESULTS.md,
/// "Per-message cuts of session 6"). `throw` (a cancellation, a timeout) and `close`
/// while it waits give the inbox's wait up, as the coroutine awaiting the inbox did.
#[pyclass(module = "fasterapi._fasterapi", name = "WebSocketAwaitable")]
pub(crate) struct PyAwaitable {
    /// The `WebSocket`, for the rare paths written in Python.
    websocket: Py<PyAny>,
    /// Its inbox (whose spare this is once done): kept for every use, not taken and
    /// dropped per call.
    inbox: Py<PyInbox>,
    op: Op,
}

/// Where a [`PyAwaitable`] is.
enum Op {
    /// A receive: not started yet, or waiting on the inbox (yielded it to the task).
    Receive {
        /// `receive_text` (else `receive_bytes`).
        text: bool,
        waiting: bool,
    },
    /// A send (on the inbox's connection), not started yet.
    Send { data: Py<PyAny> },
    /// Carrying on as a Python coroutine: its `__await__()` iterator.
    Delegate(Py<PyAny>),
    /// Finished (or failed, or closed).
    Done,
}

impl PyAwaitable {
    fn step(&mut self, py: Python<'_>) -> PyResult<Stepped> {
        match std::mem::replace(&mut self.op, Op::Done) {
            Op::Receive { text, waiting } => self.receive(py, text, waiting),
            Op::Send { data } => {
                let conn = self
                    .inbox
                    .bind(py)
                    .borrow()
                    .conn
                    .as_ref()
                    .map(|c| c.bind(py).clone());
                let conn =
                    conn.ok_or_else(|| PyRuntimeError::new_err("the WebSocket is not accepted"))?;
                if conn.get().send_data(data.bind(py))? == SENT {
                    return Ok(Stepped::Return(None));
                }
                // Full (the wait for room) or closed (the `WebSocketDisconnect`):
                // `_send`'s, which tries again first, as `send_*` always did.
                self.delegate(py, pyo3::intern!(py, "_send"), (data,))
            }
            Op::Delegate(it) => self.resume(py, it, None, None),
            Op::Done => Err(PyRuntimeError::new_err(
                "cannot reuse already awaited coroutine",
            )),
        }
    }

    /// A receive's step: the next message, or the wait for it (`waiting`: woken from it).
    fn receive(&mut self, py: Python<'_>, text: bool, waiting: bool) -> PyResult<Stepped> {
        let inbox = self.inbox.bind(py).clone();
        let mut me = inbox.borrow_mut();
        if waiting {
            match std::mem::replace(&mut me.wait, Wait::Idle) {
                Wait::Woken => {}
                // Resumed by a direct step, which holds the wait until it ends.
                stepping @ Wait::Stepping { .. } => me.wait = stepping,
                Wait::Cancelled(msg) => {
                    drop(me);
                    return Err(PyErr::from_value(asyncio_error(py, true)?.call1((msg,))?));
                }
                pending => {
                    me.wait = pending;
                    drop(me);
                    self.op = Op::Receive { text, waiting };
                    return Err(PyRuntimeError::new_err("await wasn't used with future"));
                }
            }
        }
        if let Some(item) = me.pop() {
            drop(me);
            let item = item.into_bound(py);
            let matches = if text {
                item.is_exact_instance_of::<PyString>()
            } else {
                item.is_exact_instance_of::<PyBytes>()
            };
            if matches {
                return Ok(Stepped::Return(Some(item.unbind())));
            }
            // The close (`WebSocketDisconnect`) or the other kind (`KeyError`).
            let want = if text {
                py.get_type::<PyString>()
            } else {
                py.get_type::<PyBytes>()
            };
            let other = self
                .websocket
                .bind(py)
                .call_method1(pyo3::intern!(py, "_not_data"), (item, want))?;
            return Ok(Stepped::Return(Some(other.unbind())));
        }
        if me.closed {
            // The close was taken by another receive (made after this one): the checks
            // of the receive written in Python answer.
            drop(me);
            let name = if text {
                pyo3::intern!(py, "_receive_text")
            } else {
                pyo3::intern!(py, "_receive_bytes")
            };
            return self.delegate(py, name, ());
        }
        match std::mem::replace(&mut me.wait, Wait::Idle) {
            // As `await inbox` does: the inbox is the future the task waits on.
            Wait::Idle => {
                me.wait = Wait::Yielded {
                    direct: true,
                    driver: None,
                };
                me.blocking = true;
            }
            // In a direct step: the task waits on the inbox already (blocking as above).
            Wait::Stepping { cancel } => {
                me.wait = Wait::Rewaited {
                    direct: true,
                    cancel,
                };
                me.blocking = true;
            }
            other => {
                me.wait = other;
                return Err(PyRuntimeError::new_err(
                    "cannot receive from a WebSocket while another coroutine is already \
                     waiting for its next message",
                ));
            }
        }
        drop(me);
        self.op = Op::Receive {
            text,
            waiting: true,
        };
        Ok(Stepped::Yield(inbox.into_any().unbind()))
    }

    /// Carries on as the coroutine `websocket.<name>(*args)`.
    fn delegate<'py>(
        &mut self,
        py: Python<'py>,
        name: &Bound<'py, PyString>,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> PyResult<Stepped> {
        let coro = self.websocket.bind(py).call_method1(name, args)?;
        let it = coro.call_method0(pyo3::intern!(py, "__await__"))?;
        self.resume(py, it.unbind(), None, None)
    }

    /// Steps the coroutine carried on as (`value` sent or `thrown` into it, if given);
    /// its `StopIteration` is its result, its error raised as it is.
    fn resume(
        &mut self,
        py: Python<'_>,
        it: Py<PyAny>,
        value: Option<Bound<'_, PyAny>>,
        thrown: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Stepped> {
        let stepped = match (value, thrown) {
            (_, Some(exc)) => it.bind(py).call_method1(pyo3::intern!(py, "throw"), (exc,)),
            (Some(v), None) => it.bind(py).call_method1(pyo3::intern!(py, "send"), (v,)),
            (None, None) => it.bind(py).call_method0(pyo3::intern!(py, "__next__")),
        };
        match stepped {
            Ok(v) => {
                self.op = Op::Delegate(it);
                Ok(Stepped::Yield(v.unbind()))
            }
            Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                let result = e.value(py).getattr(pyo3::intern!(py, "value"))?;
                Ok(Stepped::Return(Some(result.unbind())))
            }
            Err(e) => Err(e),
        }
    }

    /// A step with `value` sent in (`coroutine.send(value)`): one taking `None` goes to
    /// the coroutine carried on as, if any; a wait ignores it, as an asyncio future's
    /// does.
    fn send_value(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Stepped> {
        if value.is_none() {
            return self.step(py);
        }
        match std::mem::replace(&mut self.op, Op::Done) {
            Op::Delegate(it) => self.resume(py, it, Some(value), None),
            op @ (Op::Send { .. } | Op::Receive { waiting: false, .. }) => {
                self.op = op;
                Err(PyTypeError::new_err(
                    "can't send non-None value to a just-started coroutine",
                ))
            }
            op => {
                self.op = op;
                self.step(py)
            }
        }
    }
}

/// An awaitable of `inbox`'s doing `op` for `websocket`: its spare (the last one made for
/// a send, `send`, or a receive) again if nothing else holds it, else a new one, which
/// becomes the spare. Each message's receive and send then make no object (an
/// allocation, its free and its share of the garbage collector's runs).
fn reuse(
    inbox: &Bound<'_, PyInbox>,
    websocket: &Bound<'_, PyAny>,
    op: Op,
    send: bool,
) -> PyResult<Py<PyAwaitable>> {
    let py = inbox.py();
    let mut me = inbox.borrow_mut();
    let spare = if send {
        &me.spare_send
    } else {
        &me.spare_receive
    };
    if let Some(spare) = spare {
        // Held by the inbox alone: nobody can see it used again.
        // SAFETY: `spare` is a live object (held here) and the GIL is held (`py`).
        if unsafe { pyo3::ffi::Py_REFCNT(spare.as_ptr()) } == 1 {
            let spare = spare.bind(py).clone();
            let old = {
                let mut again = spare.borrow_mut();
                if !again.websocket.is(websocket) {
                    again.websocket = websocket.clone().unbind();
                }
                std::mem::replace(&mut again.op, op)
            };
            // One left waiting (its task freed): given up, as freeing it would.
            if let Op::Receive { waiting: true, .. } = old {
                me.give_up();
            }
            return Ok(spare.unbind());
        }
    }
    let made = Py::new(
        py,
        PyAwaitable {
            websocket: websocket.clone().unbind(),
            inbox: inbox.clone().unbind(),
            op,
        },
    )?;
    let spare = Some(made.clone_ref(py));
    if send {
        me.spare_send = spare;
    } else {
        me.spare_receive = spare;
    }
    Ok(made)
}

/// Gives a receive's wait on `inbox` up (as `inbox.throw`/`close` do).
fn give_up(py: Python<'_>, inbox: &Py<PyInbox>) {
    if let Ok(mut me) = inbox.bind(py).try_borrow_mut() {
        me.give_up();
    }
}

#[pymethods]
impl PyAwaitable {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Ok(self.step(py)?.into_next(py))
    }

    /// `coroutine.send(value)`: a step (see [`PyAwaitable::send_value`]).
    fn send(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.send_value(py, value)?.into_method()
    }

    /// `coroutine.throw(exc)`: a wait is given up, and `exc` raised (or thrown into the
    /// coroutine carried on as).
    #[pyo3(signature = (typ, val = None, _tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let exc = match val {
            Some(v) if !v.is_none() => v,
            _ => typ,
        };
        match std::mem::replace(&mut self.op, Op::Done) {
            Op::Receive { waiting: true, .. } => give_up(py, &self.inbox),
            Op::Delegate(it) => return self.resume(py, it, None, Some(exc))?.into_method(),
            _ => {}
        }
        Err(PyErr::from_value(exc))
    }

    /// `coroutine.close()`: a wait is given up.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        match std::mem::replace(&mut self.op, Op::Done) {
            Op::Receive { waiting: true, .. } => give_up(py, &self.inbox),
            Op::Delegate(it) => {
                it.bind(py).call_method0(pyo3::intern!(py, "close"))?;
            }
            _ => {}
        }
        Ok(())
    }

    fn __repr__(&self) -> &'static str {
        match self.op {
            Op::Receive { text: true, .. } => "<WebSocket.receive_text awaitable>",
            Op::Receive { text: false, .. } => "<WebSocket.receive_bytes awaitable>",
            Op::Send { .. } => "<WebSocket send awaitable>",
            Op::Delegate(_) => "<WebSocket send awaitable, waiting for room>",
            Op::Done => "<WebSocket awaitable, finished>",
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.websocket)?;
        visit.call(&self.inbox)?;
        match &self.op {
            Op::Receive { .. } => Ok(()),
            Op::Send { data } => visit.call(data),
            Op::Delegate(it) => visit.call(it),
            Op::Done => Ok(()),
        }
    }

    fn __clear__(&mut self) {
        self.op = Op::Done;
    }
}

impl RustCoroutine for PyAwaitable {
    const WHAT: &'static str = "a WebSocket awaitable";

    fn step_with(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Stepped> {
        self.send_value(py, value)
    }
}

/// How a direct step of a [`PyHandlerCoro`]'s coroutine ended, when its task has to
/// take it from there: handed to the task at its next step.
enum Outcome {
    /// It waits on this (not the inbox): the task waits on it.
    Yield(Py<PyAny>),
    /// It returned this.
    Return(Py<PyAny>),
    /// It raised this.
    Raise(PyErr),
}

/// The coroutine a WebSocket handler's task runs: `fasterapi._fasterapi.HandlerCoroutine`,
/// the handler's own coroutine stepped through (registered as a
/// `collections.abc.Coroutine`), which lets a message step it directly.
///
/// asyncio's task wakes from a future by its wake-up (`task_wakeup` -> `task_step`):
/// entering the task (`_current_tasks`), stepping the coroutine, then speaking the
/// future protocol with what it yields (`_asyncio_future_blocking` read and written,
/// `get_loop`, `_loop`, a bound wake-up made, `add_done_callback(..., context=...)`) and
/// leaving the task; about 2,000 instructions a message when the coroutine waits on the
/// inbox again. With this in between, a message whose task waits on its inbox
/// through it steps the handler's coroutine right there ([`PyInbox::step_directly`]): in
/// the task's context and with the task current, as its step would. When the coroutine
/// waits on the inbox again (the echo's loop: `receive_*` after `send_*`), the task,
/// which still waits on the inbox with the same wake-up, is not involved at all.
/// Anything else (another future awaited, a return, an exception) is kept here and the
/// task woken: its step gets it from [`send`](PyHandlerCoro::send) as if the coroutine
/// had answered then. Cancellation goes to the inbox the task waits on, as before.
#[pyclass(module = "fasterapi._fasterapi", name = "HandlerCoroutine")]
pub(crate) struct PyHandlerCoro {
    /// The handler's coroutine.
    coro: Py<PyAny>,
    /// Its task, once made (until the coroutine ends).
    task: Option<Py<PyAny>>,
    /// How a direct step ended, for the task's next step.
    stash: Option<Outcome>,
}

impl PyHandlerCoro {
    /// A step with `arg` sent in: what a direct step left, or the coroutine's step.
    fn send_in(slf: &Bound<'_, Self>, arg: &Bound<'_, PyAny>) -> PyResult<Stepped> {
        use pyo3::ffi;
        let py = slf.py();
        let (coro, stash) = {
            let mut me = slf.try_borrow_mut()?;
            (me.coro.clone_ref(py), me.stash.take())
        };
        if let Some(stash) = stash {
            return match stash {
                Outcome::Yield(v) => Ok(Stepped::Yield(v)),
                Outcome::Return(v) => Ok(Stepped::Return(Some(v))),
                Outcome::Raise(e) => Err(e),
            };
        }
        let mut result: *mut ffi::PyObject = std::ptr::null_mut();
        // SAFETY: `coro` and `arg` are live objects held for the call, the GIL is held,
        // and `PyIter_Send` leaves a new reference in `result` unless it fails.
        let sent = unsafe { ffi::PyIter_Send(coro.as_ptr(), arg.as_ptr(), &mut result) };
        // SAFETY: as above: `result` is NULL or a new reference.
        let result = unsafe { Bound::from_owned_ptr_or_opt(py, result).map(Bound::unbind) };
        match (sent, result) {
            (ffi::PySendResult::PYGEN_NEXT, Some(v)) => {
                Self::note_yield(slf, v.bind(py));
                Ok(Stepped::Yield(v))
            }
            (ffi::PySendResult::PYGEN_RETURN, v) => {
                Self::ended(slf);
                Ok(Stepped::Return(v))
            }
            _ => {
                Self::ended(slf);
                Err(PyErr::fetch(py))
            }
        }
    }

    /// The coroutine yielded `value` to the task: if a receive's wait on an inbox, a
    /// message can step the coroutine directly once the task added its wake-up.
    fn note_yield(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) {
        let Ok(inbox) = value.cast_exact::<PyInbox>() else {
            return;
        };
        if let Ok(mut me) = inbox.try_borrow_mut() {
            if let Wait::Yielded {
                direct: true,
                driver: driver @ None,
            } = &mut me.wait
            {
                *driver = Some(slf.clone().unbind());
            }
        }
    }

    /// The coroutine ended: its task is not needed for direct steps any more.
    fn ended(slf: &Bound<'_, Self>) {
        if let Ok(mut me) = slf.try_borrow_mut() {
            me.task = None;
        }
    }
}

#[pymethods]
impl PyHandlerCoro {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        Ok(Self::send_in(slf, &py.None().into_bound(py))?.into_next(py))
    }

    /// `coroutine.send(value)`.
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        Self::send_in(slf, value)?.into_method()
    }

    /// `coroutine.throw(...)`: thrown into the handler's coroutine (a cancellation, as
    /// the task throws it). What a direct step left is dropped for it, as the task would
    /// have thrown into the coroutine at that point; a coroutine that ended in that step
    /// raises it (a return) or its own exception.
    #[pyo3(signature = (typ, val = None, tb = None))]
    fn throw(
        slf: &Bound<'_, Self>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let (coro, stash) = {
            let mut me = slf.try_borrow_mut()?;
            (me.coro.clone_ref(py), me.stash.take())
        };
        match stash {
            Some(Outcome::Return(_)) => {
                let exc = match val {
                    Some(v) if !v.is_none() => v,
                    _ => typ,
                };
                return Err(PyErr::from_value(exc));
            }
            Some(Outcome::Raise(e)) => return Err(e),
            Some(Outcome::Yield(_)) | None => {}
        }
        let thrown = match (val, tb) {
            (Some(v), Some(t)) if !t.is_none() => coro
                .bind(py)
                .call_method1(pyo3::intern!(py, "throw"), (typ, v, t)),
            (Some(v), _) if !v.is_none() => coro
                .bind(py)
                .call_method1(pyo3::intern!(py, "throw"), (typ, v)),
            _ => coro
                .bind(py)
                .call_method1(pyo3::intern!(py, "throw"), (typ,)),
        };
        match thrown {
            Ok(v) => {
                Self::note_yield(slf, &v);
                Ok(v.unbind())
            }
            Err(e) => {
                Self::ended(slf);
                Err(e)
            }
        }
    }

    /// `coroutine.close()`.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let coro = {
            let mut me = slf.try_borrow_mut()?;
            me.stash = None;
            me.task = None;
            me.coro.clone_ref(py)
        };
        coro.bind(py).call_method0(pyo3::intern!(py, "close"))?;
        Ok(())
    }

    /// The handler's coroutine.
    #[getter]
    fn coroutine(&self, py: Python<'_>) -> Py<PyAny> {
        self.coro.clone_ref(py)
    }

    #[getter]
    fn __name__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("__name__")?.unbind())
    }

    #[getter]
    fn __qualname__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("__qualname__")?.unbind())
    }

    #[getter]
    fn cr_code(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("cr_code")?.unbind())
    }

    #[getter]
    fn cr_frame(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("cr_frame")?.unbind())
    }

    #[getter]
    fn cr_running(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("cr_running")?.unbind())
    }

    #[getter]
    fn cr_await(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.coro.bind(py).getattr("cr_await")?.unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.coro.bind(py).repr()?.to_string())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.coro)?;
        visit.call(&self.task)?;
        match &self.stash {
            Some(Outcome::Yield(v) | Outcome::Return(v)) => visit.call(v),
            _ => Ok(()),
        }
    }

    fn __clear__(&mut self) {
        self.task = None;
        self.stash = None;
    }
}

/// Gives `HandlerCoroutine` the `am_send` and `am_await` slots (as
/// [`crate::coroutine::install_slots`] does for `WebSocketAwaitable`, whose steps borrow the
/// object for their length; a step of this one runs the handler, which may look at it):
/// asyncio's task steps it through `PyIter_Send` without a `StopIteration` per result.
pub(crate) fn install_handler_slots(py: Python<'_>) {
    let tp = py.get_type::<PyHandlerCoro>();
    // SAFETY: as in `coroutine::install_slots`: a heap type pyo3 made with an
    // `__await__` (its own `tp_as_async`), written at import before any object of it
    // exists, with the GIL held.
    unsafe {
        let tp = tp.as_type_ptr();
        let slots = (*tp).tp_as_async;
        if !slots.is_null() {
            (*slots).am_await = Some(crate::coroutine::coroutine_await);
            (*slots).am_send = Some(handler_send);
            pyo3::ffi::PyType_Modified(tp);
        }
    }
}

/// `am_send` of `HandlerCoroutine`: [`PyHandlerCoro::send_in`].
unsafe extern "C" fn handler_send(
    slf: *mut pyo3::ffi::PyObject,
    arg: *mut pyo3::ffi::PyObject,
    result: *mut *mut pyo3::ffi::PyObject,
) -> pyo3::ffi::PySendResult {
    // SAFETY: CPython calls the slot with the GIL held, `slf` a live object of this
    // type, `arg` a live object, both borrowed for the call, and `result` writable.
    unsafe {
        let py = Python::assume_attached();
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let me = Borrowed::from_ptr(py, slf).cast_unchecked::<PyHandlerCoro>();
            let arg = Borrowed::from_ptr(py, arg).to_owned();
            PyHandlerCoro::send_in(&me, &arg)
        }))
        .unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(
                "a WebSocket handler's step panicked",
            ))
        });
        crate::coroutine::send_result(py, stepped, result)
    }
}

/// What [`PyInbox`]'s `add_done_callback` is made from (bound to each inbox once):
/// set by [`install_inbox_slots`].
static ADD_DONE_DEF: std::sync::atomic::AtomicPtr<pyo3::ffi::PyMethodDef> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Gives `WebSocketInbox` the three attributes asyncio's C `Task` reads from the future
/// it waits on, each as cheap as CPython can read it (measured: benches/RESULTS.md,
/// "Per-message cuts of session 6"):
/// - `_asyncio_future_blocking` (read, then set to False) and `_loop` (read-only) are
///   member descriptors on the inbox's fields, read and written by CPython itself
///   without a call (pyo3's getters and setter go through its trampoline);
/// - `add_done_callback` is a getset descriptor handing out the same built-in method
///   bound to the inbox at every wait (made at the first), `METH_FASTCALL |
///   METH_KEYWORDS` ([`inbox_add_done`]): no bound method made per wait, and the task's
///   `context=` keyword read without pyo3's argument parsing.
pub(crate) fn install_inbox_slots(py: Python<'_>) -> PyResult<()> {
    use pyo3::ffi;
    let tp = py.get_type::<PyInbox>();
    let probe = Bound::new(py, PyInbox::new(0, 0))?;
    let (blocking, event_loop) = {
        let me = probe.borrow();
        let base = probe.as_ptr() as usize;
        // Where the two fields sit in every object of the type (its layout is fixed).
        let at = |field: usize| {
            ffi::Py_ssize_t::try_from(field - base).expect("a field's offset fits an isize")
        };
        (
            at(std::ptr::addr_of!(me.blocking) as usize),
            at(std::ptr::addr_of!(me.event_loop) as usize),
        )
    };
    drop(probe);
    // Read by CPython for as long as the type lives: made once, never freed.
    let members: &'static mut [ffi::PyMemberDef; 2] = Box::leak(Box::new([
        ffi::PyMemberDef {
            name: c"_asyncio_future_blocking".as_ptr(),
            // `bool` is one byte holding 0 or 1, what `Py_T_BOOL` reads and writes.
            type_code: ffi::Py_T_BOOL,
            offset: blocking,
            flags: 0,
            doc: c"The future protocol's _asyncio_future_blocking.".as_ptr(),
        },
        ffi::PyMemberDef {
            name: c"_loop".as_ptr(),
            // `Option<Py<PyAny>>` is one pointer, NULL for `None`, which `_Py_T_OBJECT`
            // reads as `None` as the getter did before accept (deprecated for
            // `Py_T_OBJECT_EX`, which raises `AttributeError` instead).
            #[allow(deprecated)]
            type_code: ffi::_Py_T_OBJECT,
            offset: event_loop,
            flags: ffi::Py_READONLY,
            doc: c"The loop of the handler's task (a future's _loop).".as_ptr(),
        },
    ]));
    let getset: &'static mut ffi::PyGetSetDef = Box::leak(Box::new(ffi::PyGetSetDef {
        name: c"add_done_callback".as_ptr(),
        get: Some(inbox_add_done_get),
        set: None,
        doc: std::ptr::null(),
        closure: std::ptr::null_mut(),
    }));
    let method: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"add_done_callback".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer {
            PyCFunctionFastWithKeywords: inbox_add_done,
        },
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: c"add_done_callback(callback, *, context=None): the waiting task's wake-up."
            .as_ptr(),
    }));
    ADD_DONE_DEF.store(method, std::sync::atomic::Ordering::Release);
    let tp_ptr = tp.as_type_ptr();
    for member in members.iter_mut() {
        // SAFETY: `tp_ptr` is the live type (held by `tp`), `member` lives for ever and
        // describes a field of its objects (offset and kind above); the GIL is held.
        let descr =
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMember(tp_ptr, member))? };
        tp.setattr(descr.getattr("__name__")?.cast_into::<PyString>()?, descr)?;
    }
    // SAFETY: as above, `getset` lives for ever and its getter takes objects of the type.
    let descr =
        unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewGetSet(tp_ptr, getset))? };
    tp.setattr("add_done_callback", descr)?;
    Ok(())
}

/// The getter of `WebSocketInbox.add_done_callback`: the built-in method bound to the
/// inbox, made at the first read and kept (the inbox holds it, a cycle its
/// `__traverse__` shows the garbage collector).
unsafe extern "C" fn inbox_add_done_get(
    slf: *mut pyo3::ffi::PyObject,
    _closure: *mut std::ffi::c_void,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls a getset getter with the GIL held and `slf` a live instance
    // of the type (or a subclass) the descriptor was made for, checked by the descriptor.
    // `ADD_DONE_DEF` was set before the descriptor existed and lives for ever;
    // `PyCFunction_NewEx` returns a new reference or NULL with an exception set.
    unsafe {
        let py = Python::assume_attached();
        let inbox = Borrowed::from_ptr(py, slf).cast_unchecked::<PyInbox>();
        if let Ok(me) = inbox.try_borrow() {
            if let Some(bound) = &me.bound_add_done {
                return bound.clone_ref(py).into_ptr();
            }
        }
        let def = ADD_DONE_DEF.load(std::sync::atomic::Ordering::Acquire);
        let made = pyo3::ffi::PyCFunction_NewEx(def, slf, std::ptr::null_mut());
        if made.is_null() {
            return made;
        }
        let made = Bound::from_owned_ptr(py, made);
        if let Ok(mut me) = inbox.try_borrow_mut() {
            me.bound_add_done = Some(made.clone().unbind());
        }
        made.into_ptr()
    }
}

/// `WebSocketInbox.add_done_callback(callback, *, context=None)` as a `METH_FASTCALL |
/// METH_KEYWORDS` built-in: the one positional argument and the `context` keyword read
/// straight from the call's arguments ([`PyInbox::add_done`] does the rest).
unsafe extern "C" fn inbox_add_done(
    slf: *mut pyo3::ffi::PyObject,
    args: *const *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
    kwnames: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    use pyo3::ffi;
    // SAFETY: CPython calls a `METH_FASTCALL | METH_KEYWORDS` built-in with the GIL
    // held, `slf` its `__self__` (an inbox: the method is only ever bound to one, by
    // `inbox_add_done_get`), `args` holding `nargs` positional arguments then one value
    // per name of `kwnames` (a tuple of `str`, or NULL without keywords), all borrowed
    // for the call.
    unsafe {
        let py = Python::assume_attached();
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> PyResult<()> {
            if nargs != 1 {
                return Err(PyTypeError::new_err(format!(
                    "add_done_callback() takes exactly one positional argument ({nargs} given)"
                )));
            }
            let mut context = None;
            let keywords = if kwnames.is_null() {
                0
            } else {
                ffi::PyTuple_GET_SIZE(kwnames)
            };
            for i in 0..keywords {
                let name = ffi::PyTuple_GET_ITEM(kwnames, i);
                if context.is_some()
                    || ffi::PyUnicode_CompareWithASCIIString(name, c"context".as_ptr()) != 0
                {
                    let name = Borrowed::from_ptr(py, name);
                    return Err(PyTypeError::new_err(format!(
                        "add_done_callback() got an unexpected keyword argument {}",
                        name.repr()?
                    )));
                }
                // `context=None`: the same as none given.
                let value = Borrowed::from_ptr(py, *args.add(1 + i as usize));
                context = (!value.is_none()).then(|| value.to_owned().unbind());
            }
            let inbox = Borrowed::from_ptr(py, slf).cast_unchecked::<PyInbox>();
            let callback = Borrowed::from_ptr(py, *args).to_owned().unbind();
            PyInbox::add_done(&inbox, callback, context)
        }))
        .unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(
                "a WebSocket inbox's add_done_callback panicked",
            ))
        });
        match called {
            Ok(()) => ffi::Py_NewRef(ffi::Py_None()),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    }
}

impl Drop for PyAwaitable {
    /// A receive dropped while it waits gives the wait up, as a suspended coroutine is
    /// closed when it is freed.
    fn drop(&mut self) {
        if let Op::Receive { waiting: true, .. } = &self.op {
            Python::attach(|py| give_up(py, &self.inbox));
        }
    }
}

/// The base of the package's `WebSocket`: `fasterapi._fasterapi.WebSocketBase`, holding
/// its inbox and its two states, so that `receive_text`/`receive_bytes`/`send_text`/
/// `send_bytes` of a connected one answer from Rust (the [`PyAwaitable`] made by the
/// inbox) without a Python frame per call; other cases go to the `WebSocket`'s Python
/// methods (`_receive_text`, `_receive_bytes`, `_send_text`, `_send_bytes`).
#[pyclass(subclass, module = "fasterapi._fasterapi", name = "WebSocketBase")]
pub(crate) struct PyWebSocketBase {
    inbox: Option<Py<PyInbox>>,
    application_state: Py<PyAny>,
    client_state: Py<PyAny>,
    /// `application_state is WebSocketState.CONNECTED`.
    application_connected: bool,
    /// `client_state is WebSocketState.CONNECTED`.
    client_connected: bool,
}

/// `fasterapi.websockets.WebSocketState.CONNECTED`, looked up once.
fn state_connected(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static CONNECTED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let connected = CONNECTED.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("fasterapi.websockets")?
            .getattr("WebSocketState")?
            .getattr("CONNECTED")?
            .unbind())
    })?;
    Ok(connected.bind(py))
}

impl PyWebSocketBase {
    fn receive(slf: &Bound<'_, Self>, text: bool) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        {
            let me = slf.borrow();
            if let (true, true, Some(inbox)) =
                (me.application_connected, me.client_connected, &me.inbox)
            {
                return Ok(PyInbox::receiving(inbox.bind(py), slf.as_any(), text)?.into_any());
            }
        }
        let slow = if text {
            pyo3::intern!(py, "_receive_text")
        } else {
            pyo3::intern!(py, "_receive_bytes")
        };
        Ok(slf.call_method0(slow)?.unbind())
    }

    fn send(slf: &Bound<'_, Self>, data: Bound<'_, PyAny>, text: bool) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let fits = if text {
            data.is_instance_of::<PyString>()
        } else {
            data.is_exact_instance_of::<PyBytes>()
        };
        if fits {
            let me = slf.borrow();
            if let (true, Some(inbox)) = (me.application_connected, &me.inbox) {
                return Ok(
                    PyInbox::sending(inbox.bind(py), slf.as_any(), data.unbind())?.into_any(),
                );
            }
        }
        let slow = if text {
            pyo3::intern!(py, "_send_text")
        } else {
            pyo3::intern!(py, "_send_bytes")
        };
        Ok(slf.call_method1(slow, (data,))?.unbind())
    }
}

#[pymethods]
impl PyWebSocketBase {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> Self {
        PyWebSocketBase {
            inbox: None,
            application_state: py.None(),
            client_state: py.None(),
            application_connected: false,
            client_connected: false,
        }
    }

    /// The messages not received yet and the wait for the next (a [`PyInbox`]).
    #[getter(_inbox)]
    fn get_inbox(&self, py: Python<'_>) -> Option<Py<PyInbox>> {
        self.inbox.as_ref().map(|i| i.clone_ref(py))
    }

    #[setter(_inbox)]
    fn set_inbox(&mut self, inbox: Py<PyInbox>) {
        self.inbox = Some(inbox);
    }

    /// Where the handler's side is (a `WebSocketState`).
    #[getter]
    fn application_state(&self, py: Python<'_>) -> Py<PyAny> {
        self.application_state.clone_ref(py)
    }

    #[setter]
    fn set_application_state(&mut self, py: Python<'_>, state: Py<PyAny>) -> PyResult<()> {
        self.application_connected = state.bind(py).is(state_connected(py)?);
        self.application_state = state;
        Ok(())
    }

    /// Where the client's side is (a `WebSocketState`).
    #[getter]
    fn client_state(&self, py: Python<'_>) -> Py<PyAny> {
        self.client_state.clone_ref(py)
    }

    #[setter]
    fn set_client_state(&mut self, py: Python<'_>, state: Py<PyAny>) -> PyResult<()> {
        self.client_connected = state.bind(py).is(state_connected(py)?);
        self.client_state = state;
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.inbox)?;
        visit.call(&self.application_state)?;
        visit.call(&self.client_state)
    }

    fn __clear__(&mut self) {
        self.inbox = None;
    }
}

/// Gives `WebSocketBase` its `receive_text`, `receive_bytes`, `send_text` and
/// `send_bytes`: built-in methods CPython calls straight (`METH_NOARGS`, and
/// `METH_FASTCALL | METH_KEYWORDS` taking `data` by position or by name, as Starlette's),
/// without pyo3's trampoline and argument parsing (about 70 instructions a call, and 65
/// more to parse a send's one argument), each called once per message by an echo.
/// Measured: benches/RESULTS.md, "Per-message cuts of session 7".
pub(crate) fn install_base_methods(py: Python<'_>) -> PyResult<()> {
    use pyo3::ffi;
    let tp = py.get_type::<PyWebSocketBase>();
    // Read by CPython for as long as the type lives: made once, never freed.
    let defs: &'static mut [ffi::PyMethodDef; 4] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"receive_text".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: base_receive_text,
            },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: c"The next message's text; WebSocketDisconnect once the client closed (a coroutine)."
                .as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"receive_bytes".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunction: base_receive_bytes,
            },
            ml_flags: ffi::METH_NOARGS,
            ml_doc: c"The next message's bytes; WebSocketDisconnect once the client closed (a coroutine)."
                .as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"send_text".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: base_send_text,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: c"send_text(data): sends a text message (a coroutine).".as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"send_bytes".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: base_send_bytes,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: c"send_bytes(data): sends a binary message (a coroutine).".as_ptr(),
        },
    ]));
    for def in defs.iter_mut() {
        // SAFETY: the type is live (held by `tp`), `def` lives for ever and its function
        // takes objects of the type (the descriptor checks `self`); the GIL is held.
        let descr = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(tp.as_type_ptr(), def))?
        };
        tp.setattr(descr.getattr("__name__")?.cast_into::<PyString>()?, descr)?;
    }
    Ok(())
}

/// Runs `f` with `slf` (a `WebSocketBase`, checked by the method's descriptor) for a
/// built-in method of [`install_base_methods`]: its result, or NULL with its error set.
///
/// # Safety
/// Called by CPython with the GIL held and `slf` a live `WebSocketBase` (or subclass).
unsafe fn base_call(
    slf: *mut pyo3::ffi::PyObject,
    what: &str,
    f: impl FnOnce(&Bound<'_, PyWebSocketBase>) -> PyResult<Py<PyAny>>,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: the caller's: the GIL is held and `slf` is a live `WebSocketBase`.
    unsafe {
        let py = Python::assume_attached();
        let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let me = Borrowed::from_ptr(py, slf).cast_unchecked::<PyWebSocketBase>();
            f(&me)
        }))
        .unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(format!(
                "WebSocket.{what} panicked"
            )))
        });
        match called {
            Ok(v) => v.into_ptr(),
            Err(e) => {
                e.restore(py);
                std::ptr::null_mut()
            }
        }
    }
}

/// The one argument `data` of a send, by position or by name, from a
/// `METH_FASTCALL | METH_KEYWORDS` call.
///
/// # Safety
/// `args` holds `nargs` positional arguments then one value per name of `kwnames` (a
/// tuple of `str`, or NULL), all live for the call; the GIL is held (`py`).
unsafe fn send_argument<'py>(
    py: Python<'py>,
    what: &str,
    args: *const *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
    kwnames: *mut pyo3::ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::ffi;
    // SAFETY: the caller's.
    unsafe {
        let nargs = ffi::PyVectorcall_NARGS(nargs as usize);
        let keywords = if kwnames.is_null() {
            0
        } else {
            ffi::PyTuple_GET_SIZE(kwnames)
        };
        let by_name = keywords == 1
            && ffi::PyUnicode_CompareWithASCIIString(
                ffi::PyTuple_GET_ITEM(kwnames, 0),
                c"data".as_ptr(),
            ) == 0;
        if (nargs == 1 && keywords == 0) || (nargs == 0 && by_name) {
            return Ok(Borrowed::from_ptr(py, *args).to_owned());
        }
        Err(PyTypeError::new_err(format!(
            "{what}() takes exactly one argument, data ({} given)",
            nargs + keywords
        )))
    }
}

/// `WebSocketBase.receive_text()`.
unsafe extern "C" fn base_receive_text(
    slf: *mut pyo3::ffi::PyObject,
    _args: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls a `METH_NOARGS` built-in with the GIL held and `slf` an
    // instance the descriptor checked.
    unsafe { base_call(slf, "receive_text", |me| PyWebSocketBase::receive(me, true)) }
}

/// `WebSocketBase.receive_bytes()`.
unsafe extern "C" fn base_receive_bytes(
    slf: *mut pyo3::ffi::PyObject,
    _args: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: as `base_receive_text`.
    unsafe {
        base_call(slf, "receive_bytes", |me| {
            PyWebSocketBase::receive(me, false)
        })
    }
}

/// `WebSocketBase.send_text(data)`.
unsafe extern "C" fn base_send_text(
    slf: *mut pyo3::ffi::PyObject,
    args: *const *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
    kwnames: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls a `METH_FASTCALL | METH_KEYWORDS` built-in with the GIL held,
    // `slf` an instance the descriptor checked, and its arguments as `send_argument`
    // takes them.
    unsafe {
        base_call(slf, "send_text", |me| {
            let data = send_argument(me.py(), "send_text", args, nargs, kwnames)?;
            PyWebSocketBase::send(me, data, true)
        })
    }
}

/// `WebSocketBase.send_bytes(data)`.
unsafe extern "C" fn base_send_bytes(
    slf: *mut pyo3::ffi::PyObject,
    args: *const *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
    kwnames: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: as `base_send_text`.
    unsafe {
        base_call(slf, "send_bytes", |me| {
            let data = send_argument(me.py(), "send_bytes", args, nargs, kwnames)?;
            PyWebSocketBase::send(me, data, false)
        })
    }
}

/// `fasterapi.websockets._new(request, conn)` and friends, looked up once.
fn websocket_new(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static NEW: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let new = NEW.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("fasterapi.websockets")?.getattr("_new")?.unbind())
    })?;
    Ok(new.bind(py))
}

/// Serves a handshake for `route` (a WebSocket route) on the I/O thread.
pub(crate) fn serve(route: &PyRoute, req: &Request<'_>, upgrade: Upgrade) {
    keep_thread_state();
    Python::attach(|py| {
        if let Err(e) = start(py, route, req, upgrade) {
            route.report(py, e);
        }
    });
}

/// Makes the `WebSocket`, reads the route's values and starts its coroutine.
fn start(py: Python<'_>, route: &PyRoute, req: &Request<'_>, upgrade: Upgrade) -> PyResult<()> {
    let rt = Runtime::get(py)?;
    let offered = upgrade.protocols().to_vec();
    let conn = Bound::new(
        py,
        PyWsConn {
            upgrade: Mutex::new(Some(upgrade)),
            sender: OnceLock::new(),
            offered,
        },
    )?;
    let request = Bound::new(py, req.to_py(py, route.app.as_ref()))?;
    let websocket = websocket_new(py)?.call1((request, conn))?;
    let mut cell = RequestCell::with_object(route.app.as_ref(), websocket.clone());
    route.with_target(py, |handler, plan| {
        match plan.arguments(py, rt, req, &mut cell)? {
            Ok(args) => {
                let coro = plan.call(handler, args)?;
                // A native coroutine runs under a `HandlerCoroutine`, which messages can
                // step directly; anything else goes to the task as it is (which refuses
                // what is not a coroutine).
                // SAFETY: `coro` is a live object and the GIL is held.
                let driver = if unsafe { pyo3::ffi::PyCoro_CheckExact(coro.as_ptr()) } != 0 {
                    Some(Bound::new(
                        py,
                        PyHandlerCoro {
                            coro: coro.clone().unbind(),
                            task: None,
                            stash: None,
                        },
                    )?)
                } else {
                    None
                };
                let coro = match &driver {
                    Some(d) => d.clone().into_any(),
                    None => coro,
                };
                let done = websocket.getattr(pyo3::intern!(py, "_done"))?;
                aio::with_loop(py, rt, |lp| {
                    let event_loop = lp.event_loop.bind(py);
                    aio::mark_running(py, rt, event_loop)?;
                    let task = rt.start.bind(py).call1((coro, event_loop))?;
                    if let Some(d) = &driver {
                        if !task.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                            d.borrow_mut().task = Some(task.clone().unbind());
                        }
                    }
                    task.call_method1(pyo3::intern!(py, "add_done_callback"), (done,))?;
                    lp.note_work(py)
                })
            }
            Err(invalid) => {
                websocket.call_method1(pyo3::intern!(py, "_invalid"), (invalid.errors,))?;
                Ok(())
            }
        }
    })
}

/// `LiveServer(spec, *, shutdown_timeout=10.0)`: the app an `AppSpec` describes served
/// as one worker of `FasterAPI.run` serves it, on `127.0.0.1` and a free port, on
/// background threads: what `TestClient.websocket_connect` talks to over a real socket
/// (the in-process `TestServer` answers one exchange of bytes per connection, which a
/// WebSocket conversation is not). `port` is its port; `close()` shuts it down
/// gracefully (WebSockets are sent a 1001 close first) and waits for it.
#[pyclass(frozen, name = "LiveServer", module = "fasterapi._fasterapi")]
pub(crate) struct PyLiveServer {
    server: Mutex<Option<fasterapi_http::RunningServer>>,
    port: u16,
}

#[pymethods]
impl PyLiveServer {
    #[new]
    #[pyo3(signature = (spec, *, shutdown_timeout = 10.0))]
    fn new(
        py: Python<'_>,
        spec: &Bound<'_, PyAny>,
        shutdown_timeout: f64,
    ) -> PyResult<PyLiveServer> {
        let options = crate::serve::WorkerOptions::new(40, 1024, shutdown_timeout);
        let app = crate::serve::worker_app(spec, &options, None)?;
        let server = app.bind("127.0.0.1:0")?;
        // Detached: the I/O thread attaches to make its event loop.
        let running = py.detach(|| server.spawn())?;
        let port = running.local_addr().port();
        Ok(PyLiveServer {
            server: Mutex::new(Some(running)),
            port,
        })
    }

    /// The port it listens on.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// Shuts the server down and waits for it; closing twice does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(server) = lock(&self.server).take() else {
            return Ok(());
        };
        py.detach(|| server.shutdown())?;
        Ok(())
    }
}

impl Drop for PyLiveServer {
    /// Shuts the server down from a thread of its own: the object may be dropped while
    /// the GIL is held (which the server's I/O thread needs to stop its loop) or on that
    /// very I/O thread (by a garbage collection there), where waiting would never end.
    /// At interpreter exit, where that thread could not attach, it is left to the
    /// process's end.
    fn drop(&mut self) {
        let Some(server) = lock(&self.server).take() else {
            return;
        };
        let finalizing = Python::attach(|py| {
            py.import("sys")
                .and_then(|sys| sys.call_method0("is_finalizing"))
                .and_then(|f| f.is_truthy())
                .unwrap_or(true)
        });
        if finalizing {
            std::mem::forget(server);
            return;
        }
        let stopper = std::thread::Builder::new()
            .name("fasterapi-live-server-stop".into())
            .spawn(move || {
                if let Err(e) = server.shutdown() {
                    crate::serve::log_line(&format!("cannot stop a test client's server: {e}"));
                }
            });
        match stopper {
            Ok(handle) => lock(&STOPPING).push(handle),
            Err(e) => crate::serve::log_line(&format!("cannot stop a test client's server: {e}")),
        }
    }
}

/// The threads stopping the servers of dropped test clients ([`PyLiveServer`]'s `drop`),
/// until [`join_server_stops`] waits for them.
static STOPPING: Mutex<Vec<std::thread::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Waits, with the GIL released, until the servers of dropped test clients have stopped;
/// the number of stopping threads it waited for. `fasterapi.testclient` calls it at exit:
/// a server's thread that is still attached to the interpreter when it finalizes aborts
/// the process (`PyGILState_Release` while finalizing).
#[pyfunction]
pub fn join_server_stops(py: Python<'_>) -> usize {
    let mut joined = 0;
    loop {
        let handles = std::mem::take(&mut *lock(&STOPPING));
        if handles.is_empty() {
            return joined;
        }
        joined += handles.len();
        py.detach(|| {
            for handle in handles {
                // A stopper that panicked has nothing left to wait for.
                let _ = handle.join();
            }
        });
    }
}
