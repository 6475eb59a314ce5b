//! WebSocket routes of a Python app (`@app.websocket`): the server's handshake handed
//! to the package's `WebSocket` (`fasterapi/websockets.py`).
//!
//! A handshake for a WebSocket route is checked by the server (426/400 otherwise), then
//! runs here on the I/O thread: the route's plan reads its values from the handshake
//! request (path, query, header and cookie parameters, dependencies, the `WebSocket`
//! object itself where a parameter is annotated with it), and the handler's coroutine
//! starts as a task of the I/O thread's asyncio loop, wrapped by `WebSocket._run`
//! (which closes the connection when the handler returns or raises). Values that fail
//! validation refuse the handshake (`403`), as FastAPI's
//! `WebSocketRequestValidationError` closes the socket before it is accepted.
//!
//! `await websocket.accept()` accepts the [`Upgrade`] with an event handler that runs on
//! the I/O thread when frames arrive: it hands each message to the `WebSocket` object,
//! which steps the task waiting in `receive` right there (`websockets._wake`, no turn of
//! the loop), so the handler's answer is queued before the connection takes its output in
//! the same pass; a turn is asked for only if the step left the loop work. Sends go to
//! the connection's [`WsSender`]: from the loop's own thread without a wake-up.

use std::sync::{Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use fasterapi_http::websocket::{Message, Upgrade, WsError, WsEvent, WsSender, SHARE_MIN};
use fasterapi_http::Request;
use pyo3::call::PyCallArgs;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::aio;
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

    /// `accept(subprotocol, headers, on_message, on_writable, on_close)`: answers `101`;
    /// then, on the loop's thread, `on_message(data, here)` is called with each message
    /// (`str` or `bytes`; `here`: called by the I/O thread that drives the loop, outside
    /// any task, where the task waiting for it may be stepped at once), `on_writable()`
    /// once the output queue drained after a send found it full, and last
    /// `on_close(code, reason)`.
    fn accept(
        &self,
        subprotocol: Option<String>,
        headers: Vec<(String, String)>,
        on_message: Py<PyAny>,
        on_writable: Py<PyAny>,
        on_close: Py<PyAny>,
    ) -> PyResult<()> {
        if let Some(p) = &subprotocol {
            if !self.offered.contains(p) {
                return Err(PyValueError::new_err(format!(
                    "subprotocol {p:?} was not offered by the client (it offered {:?})",
                    self.offered
                )));
            }
        }
        let upgrade = lock(&self.upgrade).take().ok_or_else(|| {
            PyRuntimeError::new_err("the WebSocket was accepted or refused already")
        })?;
        let handler = move |event: WsEvent, _out: &WsSender| {
            aio::attach_for_turn(|py| {
                let here = aio::on_io_thread();
                let delivered = match event {
                    WsEvent::Message(Message::Text(t)) => {
                        deliver(py, here, on_message.bind(py), (PyString::new(py, &t), here))
                    }
                    WsEvent::Message(Message::Binary(b)) => {
                        deliver(py, here, on_message.bind(py), (PyBytes::new(py, &b), here))
                    }
                    WsEvent::Writable => deliver(py, here, on_writable.bind(py), ()),
                    WsEvent::Closed { code, reason } => {
                        deliver(py, here, on_close.bind(py), (code, reason))
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
            .accept_with(subprotocol.as_deref(), &headers, handler)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        // The upgrade was taken above, once: the sender is set once.
        let _ = self.sender.set(sender);
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
                sender.send_binary_shared(Bytes::from_owner(PyBackedBytes::from(b.clone())))
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

/// Hands an event to the `WebSocket` (its `_on_message`, `_on_writable` or `_on_close`).
/// On the I/O thread that drives the loop (`here`), the task waiting for it is stepped
/// right there (`websockets._wake`): the loop is marked running for it, and a turn is
/// asked for only if the step left the loop work. No task is running then: a
/// connection's events are delivered by its I/O thread's readiness pass, between the
/// steps of the loop's tasks.
fn deliver<'py>(
    py: Python<'py>,
    here: bool,
    on_event: &Bound<'py, PyAny>,
    args: impl PyCallArgs<'py>,
) -> PyResult<()> {
    if !here {
        on_event.call1(args)?;
        aio::request_turn();
        return Ok(());
    }
    let rt = Runtime::get(py)?;
    aio::with_loop(py, rt, |lp| {
        aio::mark_running(py, rt, lp.event_loop.bind(py))?;
        let called = on_event.call1(args);
        lp.note_work(py)?;
        called.map(drop)
    })
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
                let run = websocket.call_method1(pyo3::intern!(py, "_run"), (coro,))?;
                aio::with_loop(py, rt, |lp| {
                    let event_loop = lp.event_loop.bind(py);
                    aio::mark_running(py, rt, event_loop)?;
                    rt.start.bind(py).call1((run, event_loop))?;
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
        if let Err(e) = stopper {
            crate::serve::log_line(&format!("cannot stop a test client's server: {e}"));
        }
    }
}
