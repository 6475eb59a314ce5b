//! Serving a Python app in process, for `fasterapi.testclient.TestClient`:
//! `fasterapi._fasterapi.TestServer`.
//!
//! The app is the one `serve` runs in a worker process ([`worker_app`]: the same routes,
//! dispatch, worker pool for `def` handlers and asyncio loop), served by a
//! [`fasterapi_http::TestServer`]: raw HTTP/1.1 bytes in, the server's bytes out, through
//! the real router and connection state machine, over an in-memory connection.
//!
//! The test server runs on a thread of its own, as a worker's I/O thread does: its
//! asyncio loop (the app's companion) is made there and turned there while a request
//! waits, and `async def` handlers run there, never on the test's thread (whose own
//! asyncio state, a running loop for one, is left alone, as Starlette's TestClient runs
//! the app in a thread of its own too). The test's thread hands each request over and
//! waits with the GIL released, so that the server thread and the pool's threads can run
//! handlers.

use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use fasterapi_http::TestServer;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::serve::{worker_app, WorkerOptions};

/// The exceptions of handlers that a server logs and answers 500 for: the test server
/// keeps them for the test client, which raises them in the test.
#[derive(Default)]
pub(crate) struct Unhandled(Mutex<Vec<PyErr>>);

impl Unhandled {
    /// Keeps `e` (called by the thread that ran the handler).
    pub(crate) fn push(&self, e: PyErr) {
        lock(&self.0).push(e);
    }

    fn take(&self) -> Vec<PyErr> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// Locks `m`; a panic while it was held leaves a list that is still valid.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the server thread answers for one exchange: the bytes it wrote, and the
/// exceptions handlers raised meanwhile.
type Answer = (io::Result<Vec<u8>>, Vec<PyErr>);

/// One exchange for the server thread.
struct Job {
    request: Vec<u8>,
    answer: mpsc::Sender<Answer>,
}

/// `TestServer(spec, *, blocking_threads=40, max_queued=1024, shutdown_timeout=10.0)`:
/// the app an `AppSpec` describes (`FasterAPI._spec()`) served in process as one worker
/// of `FasterAPI.run` serves it (the options are `run`'s), on a thread of its own.
///
/// `exchange(request) -> (answer, exceptions)` sends raw HTTP/1.1 bytes on a new
/// in-memory connection, half-closes it, and returns every byte the server wrote, with
/// the exceptions that handlers raised and that a server would have logged (the answer
/// to such a request is the server's `500`). Waits at most `shutdown_timeout` seconds for
/// handlers that answer later (`async def` handlers that suspend, `def` handlers on the
/// pool): past it, `TimeoutError`. `close()` stops the server (its loop, then its pool)
/// and waits for its thread; dropping the object does the same.
#[pyclass(frozen, name = "TestServer", module = "fasterapi._fasterapi")]
pub(crate) struct PyTestServer {
    /// Takes exchanges to the server thread; `None` once closed.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[pymethods]
impl PyTestServer {
    #[new]
    #[pyo3(signature = (spec, *, blocking_threads = 40, max_queued = 1024, shutdown_timeout = 10.0))]
    fn new(
        py: Python<'_>,
        spec: &Bound<'_, PyAny>,
        blocking_threads: usize,
        max_queued: usize,
        shutdown_timeout: f64,
    ) -> PyResult<PyTestServer> {
        let options = WorkerOptions::new(blocking_threads, max_queued, shutdown_timeout);
        let unhandled = Arc::new(Unhandled::default());
        let mut app = worker_app(spec, &options, Some(&unhandled))?;
        let config = app.config_mut().clone();
        let shutdown_timeout = config.shutdown_timeout;
        let (jobs, queue) = mpsc::channel::<Job>();
        let (started, start) = mpsc::sync_channel::<io::Result<()>>(1);
        // Detached: the server thread attaches to make its event loop.
        let thread = py.detach(move || -> io::Result<JoinHandle<()>> {
            let thread = std::thread::Builder::new()
                .name("fasterapi-test-server".into())
                .spawn(move || {
                    // Made here: its companion (the asyncio loop) belongs to this thread.
                    let mut server = match TestServer::new(app, config) {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    let _ = started.send(Ok(()));
                    for job in queue {
                        let answer = server.exchange(&job.request);
                        // As Starlette's TestClient, which returns when the app is done:
                        // the exit code of dependencies with `yield` has run.
                        let settled = Python::attach(|py| {
                            crate::aio::settle_after_response(py, shutdown_timeout)
                        });
                        if let Err(e) = settled {
                            unhandled.push(e);
                        }
                        let _ = job.answer.send((answer, unhandled.take()));
                    }
                    // Stops the loop and the pool, attaching to close the loop.
                    drop(server);
                    crate::dispatch::release_thread_state();
                })?;
            match start.recv() {
                Ok(Ok(())) => Ok(thread),
                Ok(Err(e)) => {
                    let _ = thread.join();
                    Err(e)
                }
                Err(_) => {
                    let _ = thread.join();
                    Err(io::Error::other(
                        "the test server's thread ended while starting",
                    ))
                }
            }
        })?;
        Ok(PyTestServer {
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Serves the raw HTTP/1.1 `request`: `(answer bytes, [exceptions])`.
    fn exchange<'py>(
        &self,
        py: Python<'py>,
        request: Vec<u8>,
    ) -> PyResult<(Bound<'py, PyBytes>, Vec<Py<PyAny>>)> {
        let jobs = lock(&self.jobs)
            .clone()
            .ok_or_else(|| PyRuntimeError::new_err("the test server is closed"))?;
        let (answer, errors) = py.detach(move || {
            let gone = || io::Error::other("the test server's thread ended");
            let (tx, rx) = mpsc::channel();
            jobs.send(Job {
                request,
                answer: tx,
            })
            .map_err(|_| gone())?;
            rx.recv().map_err(|_| gone())
        })?;
        let errors = errors
            .into_iter()
            .map(|e| e.into_value(py).into_any())
            .collect();
        Ok((PyBytes::new(py, &answer?), errors))
    }

    /// Stops the server and waits for its thread (its loop's tasks and the pool's jobs
    /// get `shutdown_timeout` to finish). Closing twice does nothing; closing from a
    /// handler of this server does not wait (its thread ends after that request).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match self.stop() {
            Some(thread) => py
                .detach(|| thread.join())
                .map_err(|_| PyRuntimeError::new_err("the test server's thread panicked")),
            None => Ok(()),
        }
    }
}

impl PyTestServer {
    /// Closes the queue of exchanges, which ends the server thread after the exchanges
    /// under way; the thread to wait for, unless it is this one (a handler closing its
    /// own server: joining would wait for itself) or was waited for already.
    fn stop(&self) -> Option<JoinHandle<()>> {
        drop(lock(&self.jobs).take());
        let thread = lock(&self.thread).take()?;
        (thread.thread().id() != std::thread::current().id()).then_some(thread)
    }
}

impl Drop for PyTestServer {
    fn drop(&mut self) {
        if lock(&self.thread).is_none() {
            return; // closed
        }
        Python::attach(|py| {
            let finalizing = py
                .import("sys")
                .and_then(|sys| sys.call_method0("is_finalizing"))
                .and_then(|f| f.is_truthy())
                .unwrap_or(true);
            if finalizing {
                // Its thread could not attach to stop the loop: leave it waiting for a
                // job (the test client closes its servers at exit, before this).
                std::mem::forget(lock(&self.jobs).take());
                std::mem::forget(lock(&self.thread).take());
                return;
            }
            if let Some(thread) = self.stop() {
                let _ = py.detach(|| thread.join());
            }
        });
    }
}
