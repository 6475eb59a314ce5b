//! The worker's asyncio event loop, driven by the I/O thread inside its `mio` loop.
//!
//! Each I/O thread that serves Python routes owns one `asyncio.SelectorEventLoop`, made on
//! that thread by [`PyLoop::start`] and handed to the server as its
//! [`Companion`]: the loop's epoll descriptor is polled with the connections, its next
//! timer bounds the poll, and each turn runs one non-blocking iteration of the loop
//! (`_run_once` with the selector asked not to wait). Everything asyncio does therefore
//! happens on the I/O thread that also parses requests and runs handlers: no hand-off
//! between threads, no GIL contention between a loop thread and the I/O thread, and
//! futures made by a handler's first step belong to the loop that finishes them.
//!
//! Why not a loop on its own thread (the other design considered): a coroutine's first
//! step runs inline (most finish there), and whatever it awaits binds to the loop that was
//! running then. With the loop on another thread, that first step would have to touch the
//! other thread's loop from the I/O thread, which asyncio loops do not allow (only
//! `call_soon_threadsafe` is thread-safe), so every `async def` request would be handed
//! over before its first step, and its answer handed back: the round trip the worker
//! pool makes. Measured on the same routes (benches/RESULTS.md, "Python handlers that
//! wait"), that round trip costs 0.4-0.9 µs of server CPU per request of a trivial route
//! at 64 connections (and up to 11% of its req/s), on top of the task, and the two
//! threads would contend for the GIL on every request; driving the loop from the I/O thread
//! costs nothing for a coroutine that does not suspend, and one turn of the loop per
//! wake-up for those that do.
//!
//! Why not uvloop: it does not expose its backend descriptor, so no other poller can
//! drive it. `run(loop="uvloop")` says so.

use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fasterapi_http::Companion;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::dispatch::{keep_thread_state, Runtime};

/// An event loop and the parts of it looked at after each async handler.
pub(crate) struct ThreadLoop {
    pub(crate) event_loop: Py<PyAny>,
    /// `loop._ready`, the deque of callbacks to run next (never replaced by asyncio).
    ready: Py<PyAny>,
    /// The loop's instance `__dict__`, where `_scheduled` (its heap of timers, which
    /// asyncio replaces when it prunes cancelled ones) is read: a lookup in it costs a
    /// third of `getattr` through the loop class's attribute resolution.
    attrs: Py<PyDict>,
    /// `_scheduled` as last read from `attrs`, used again while the loop still holds it
    /// (a reference besides this one): asyncio only ever replaces the list, never
    /// empties the attribute, so a list held by nothing else is a replaced one.
    scheduled: RefCell<Option<Py<PyAny>>>,
    /// Driven by this thread's server loop (a [`PyLoop`]); otherwise a private loop that
    /// a suspended coroutine is finished on with `run_until_complete` (threads that
    /// cannot answer later: the dispatch bench, the worker pool).
    pub(crate) driven: bool,
}

thread_local! {
    /// This thread's event loop, made on first use (or by [`PyLoop::start`]).
    static LOOP: RefCell<Option<ThreadLoop>> = const { RefCell::new(None) };
    /// Whether this thread's loop is marked running (see [`mark_running`]).
    static MARKED: Cell<bool> = const { Cell::new(false) };
    /// A handler gave the loop work since its last turn.
    static NEEDS_TURN: Cell<bool> = const { Cell::new(false) };
    /// When the loop's earliest timer is due, as of its last turn or a handler's step
    /// since (`None`: no timer).
    static NEXT_TIMER: Cell<Option<Instant>> = const { Cell::new(None) };
    /// A loop of an I/O thread that nobody drives, for [`run_to_end`].
    static ASIDE: RefCell<Option<Py<PyAny>>> = const { RefCell::new(None) };
    /// The exit code of dependencies with `yield` of the requests this thread answered,
    /// to run once their responses are out (see [`after_response`]).
    static AFTER_RESPONSE: RefCell<Vec<Py<PyAny>>> = const { RefCell::new(Vec::new()) };
    /// The tasks of exit code started from [`AFTER_RESPONSE`] that had not finished on
    /// their first step (pruned at each start), for [`settle_after_response`].
    static EXITS_RUNNING: RefCell<Vec<Py<PyAny>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `coro` to its end, on a loop of this thread's that its server loop does not drive
/// (made on first use): for a coroutine whose request cannot wait for a later answer on
/// the driven loop (an answer made from a request's head alone), so that this thread
/// waits for it, as for a `def` handler's call.
pub(crate) fn run_to_end<'py>(
    py: Python<'py>,
    rt: &Runtime,
    coro: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    unmark_running(py, rt)?;
    let event_loop = ASIDE.with(|a| -> PyResult<Py<PyAny>> {
        if let Some(l) = a.borrow().as_ref() {
            return Ok(l.clone_ref(py));
        }
        let (event_loop, _fd): (Py<PyAny>, RawFd) =
            rt.new_loop.bind(py).call1((false,))?.extract()?;
        *a.borrow_mut() = Some(event_loop.clone_ref(py));
        Ok(event_loop)
    })?;
    event_loop
        .bind(py)
        .call_method1(pyo3::intern!(py, "run_until_complete"), (coro,))
}

/// `_after_response(f)`: runs `f()` (the exit code of a route's dependencies with
/// `yield`: a function, or a coroutine function, run as a task) after the response of
/// the request being answered on this thread has been handed to its connection.
///
/// On an I/O thread the loop's next run does: a response answered inline is written in
/// the connection's pass, before that run. One answered from a turn of the loop (a
/// suspended coroutine, through a [`Reply`]) has been handed to its connection when the
/// turn ends, and its exit code runs then, before the connection's next request is read.
/// Elsewhere (the worker pool, the dispatch bench) the route runs it once its response
/// is made, before the I/O thread writes it: a pool thread has no later moment of its own.
///
/// [`Reply`]: fasterapi_http::Reply
#[pyfunction]
#[pyo3(name = "_after_response")]
pub(crate) fn after_response(f: Py<PyAny>) {
    // `PyLoop::due` sees it: the loop's next run comes at the end of this pass.
    AFTER_RESPONSE.with(|a| a.borrow_mut().push(f));
}

/// Takes what waits to run after the response on this thread (the exit code and
/// background tasks of the request being answered): a streamed response runs them after
/// its body instead (`fasterapi-py/src/stream.rs`).
pub(crate) fn take_after_response() -> Vec<Py<PyAny>> {
    AFTER_RESPONSE.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// Whether exit code waits to run after a response on this thread.
pub(crate) fn after_response_pending() -> bool {
    AFTER_RESPONSE.with(|a| !a.borrow().is_empty())
}

/// Runs the pending exit code to its end (threads whose loop nobody drives).
pub(crate) fn run_after_response_now(py: Python<'_>, rt: &Runtime) -> PyResult<()> {
    let pending = AFTER_RESPONSE.with(|a| std::mem::take(&mut *a.borrow_mut()));
    for f in pending {
        let out = f.bind(py).call0()?;
        if !out.is_none() {
            run_to_end(py, rt, out)?;
        }
    }
    Ok(())
}

/// Starts the pending exit code as tasks of this I/O thread's loop.
/// Runs the pending exit code, as tasks of this I/O thread's loop where it is async;
/// whether it started any task.
fn start_after_response(py: Python<'_>, rt: &Runtime, lp: &Bound<'_, PyAny>) -> PyResult<bool> {
    let pending = AFTER_RESPONSE.with(|a| std::mem::take(&mut *a.borrow_mut()));
    let done = |t: &Bound<'_, PyAny>| -> bool {
        t.call_method0(pyo3::intern!(py, "done"))
            .and_then(|d| d.is_truthy())
            .unwrap_or(true)
    };
    EXITS_RUNNING.with(|r| r.borrow_mut().retain(|t| !done(t.bind(py))));
    let mut started = false;
    for f in pending {
        let out = f.bind(py).call0()?;
        if !out.is_none() {
            started = true;
            let task = rt.start.bind(py).call1((out, lp))?;
            if !done(&task) {
                EXITS_RUNNING.with(|r| r.borrow_mut().push(task.unbind()));
            }
        }
    }
    Ok(started)
}

/// Runs the exit code of the requests this thread answered to its end, turning its
/// driven loop: for the test server between two exchanges, so that a test sees what a
/// dependency's exit code did once its request returns, as with Starlette's TestClient
/// (whose call returns when the app has finished). Gives up after `timeout`.
pub(crate) fn settle_after_response(py: Python<'_>, timeout: Duration) -> PyResult<()> {
    let idle = !after_response_pending() && EXITS_RUNNING.with(|r| r.borrow().is_empty());
    if idle {
        return Ok(());
    }
    let rt = Runtime::get(py)?;
    let event_loop = LOOP.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|l| l.driven)
            .map(|l| l.event_loop.clone_ref(py))
    });
    let Some(event_loop) = event_loop else {
        return run_after_response_now(py, rt);
    };
    let lp = event_loop.bind(py);
    mark_running(py, rt, lp)?;
    start_after_response(py, rt, lp)?;
    let tasks = EXITS_RUNNING.with(|r| std::mem::take(&mut *r.borrow_mut()));
    if tasks.is_empty() {
        return Ok(());
    }
    py.import("fasterapi._loop")?
        .getattr("_settle")?
        .call1((lp, tasks, timeout.as_secs_f64()))?;
    Ok(())
}

/// This thread's event loop if its server loop drives it (an I/O thread's).
pub(crate) fn driven_loop(py: Python<'_>) -> Option<Py<PyAny>> {
    LOOP.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|l| l.driven)
            .map(|l| l.event_loop.clone_ref(py))
    })
}

/// Coroutines of this process waiting on a loop for their answer.
static SUSPENDED: AtomicUsize = AtomicUsize::new(0);

/// Suspended coroutines the process holds at most; more async requests are answered 503
/// before their handler runs.
static MAX_SUSPENDED: AtomicUsize = AtomicUsize::new(10_000);

/// Sets the cap on suspended coroutines (`run(max_suspended=...)`).
pub(crate) fn set_max_suspended(n: usize) {
    MAX_SUSPENDED.store(n.max(1), Ordering::Relaxed);
}

/// Whether the process holds as many suspended coroutines as it may.
pub(crate) fn at_capacity() -> bool {
    SUSPENDED.load(Ordering::Relaxed) >= MAX_SUSPENDED.load(Ordering::Relaxed)
}

/// Counts one suspended coroutine for as long as it lives: dropped when its task is done,
/// or when the task is freed without finishing (whichever thread frees it).
pub(crate) struct Suspended(());

impl Suspended {
    /// A coroutine suspended and will answer through the loop.
    pub(crate) fn new() -> Suspended {
        SUSPENDED.fetch_add(1, Ordering::Relaxed);
        Suspended(())
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        SUSPENDED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Asks for a turn of this thread's loop at the next pass of the server loop.
pub(crate) fn request_turn() {
    NEEDS_TURN.with(|t| t.set(true));
}

/// Runs `f` with this thread's loop, making a private one first if it has none.
pub(crate) fn with_loop<R>(
    py: Python<'_>,
    rt: &Runtime,
    f: impl FnOnce(&ThreadLoop) -> PyResult<R>,
) -> PyResult<R> {
    LOOP.with(|l| {
        if l.borrow().is_none() {
            // Not driven: `run_until_complete` finishes what suspends on it.
            let (event_loop, _fd): (Py<PyAny>, RawFd) =
                rt.new_loop.bind(py).call1((false,))?.extract()?;
            let private = ThreadLoop::new(py, event_loop, false)?;
            *l.borrow_mut() = Some(private);
        }
        let l = l.borrow();
        // Just filled if it was empty.
        f(l.as_ref().expect("the thread's loop exists"))
    })
}

impl ThreadLoop {
    fn new(py: Python<'_>, event_loop: Py<PyAny>, driven: bool) -> PyResult<ThreadLoop> {
        let ready = event_loop.bind(py).getattr("_ready")?.unbind();
        let attrs = event_loop
            .bind(py)
            .getattr("__dict__")?
            .cast_into::<PyDict>()?
            .unbind();
        Ok(ThreadLoop {
            event_loop,
            ready,
            attrs,
            scheduled: RefCell::new(None),
            driven,
        })
    }

    /// The loop's `_scheduled`: the list read last time while the loop still holds it,
    /// else looked up again.
    fn scheduled<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(held) = self.scheduled.borrow().as_ref() {
            // SAFETY: `held` is a live object (held here) and the GIL is held (`py`).
            if unsafe { pyo3::ffi::Py_REFCNT(held.as_ptr()) } > 1 {
                return Ok(held.bind(py).clone());
            }
        }
        let scheduled = match self
            .attrs
            .bind(py)
            .get_item(pyo3::intern!(py, "_scheduled"))?
        {
            Some(s) => s,
            None => self
                .event_loop
                .bind(py)
                .getattr(pyo3::intern!(py, "_scheduled"))?,
        };
        *self.scheduled.borrow_mut() = Some(scheduled.clone().unbind());
        Ok(scheduled)
    }

    /// After an async handler's first step: a turn is needed at once if the step left
    /// callbacks to run, and no later than the earliest timer (the step may have added
    /// one: a sleep).
    pub(crate) fn note_work(&self, py: Python<'_>) -> PyResult<()> {
        if !self.driven || NEEDS_TURN.with(Cell::get) {
            return Ok(());
        }
        if self.ready.bind(py).len()? > 0 {
            request_turn();
            return Ok(());
        }
        let lp = self.event_loop.bind(py);
        let scheduled = self.scheduled(py)?;
        if scheduled.len()? == 0 {
            return Ok(());
        }
        let when: f64 = scheduled
            .get_item(0)?
            .getattr(pyo3::intern!(py, "_when"))?
            .extract()?;
        let now: f64 = lp.call_method0(pyo3::intern!(py, "time"))?.extract()?;
        let due = Instant::now() + Duration::from_secs_f64((when - now).clamp(0.0, 86_400.0));
        NEXT_TIMER.with(|n| {
            if n.get().is_none_or(|t| due < t) {
                n.set(Some(due));
            }
        });
        Ok(())
    }
}

/// Marks this thread's loop as running (`asyncio.get_running_loop()` returns it), as it
/// must be while a handler's first step or the loop's callbacks run. The mark stays
/// between async handlers (setting it costs a few hundred nanoseconds) and is removed
/// before a sync handler runs, which may start a loop of its own (`asyncio.run`).
pub(crate) fn mark_running(
    py: Python<'_>,
    rt: &Runtime,
    event_loop: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if !MARKED.with(Cell::get) {
        rt.set_running_loop.bind(py).call1((event_loop,))?;
        MARKED.with(|m| m.set(true));
    }
    Ok(())
}

/// Clears this thread's "event loop running" mark if it is set.
pub(crate) fn unmark_running(py: Python<'_>, rt: &Runtime) -> PyResult<()> {
    if MARKED.with(Cell::get) {
        MARKED.with(|m| m.set(false));
        rt.set_running_loop.bind(py).call1((py.None(),))?;
    }
    Ok(())
}

/// Whether this thread is an I/O thread driving a loop (and so can answer later).
pub(crate) fn on_io_thread() -> bool {
    LOOP.with(|l| l.borrow().as_ref().is_some_and(|l| l.driven))
}

thread_local! {
    /// The GIL this I/O thread took for the rest of its turn (see [`attach_for_turn`]).
    static TURN_GIL: Cell<Option<pyo3::ffi::PyGILState_STATE>> = const { Cell::new(None) };
}

/// Whether this thread holds the GIL for the rest of its pass ([`attach_for_turn`] took
/// it, [`PyLoop::turn_done`] has not released it yet).
pub(crate) fn holds_turn_gil() -> bool {
    TURN_GIL.with(|g| g.get().is_some())
}

/// Runs `f` attached to Python; on an I/O thread driving a loop, the GIL taken stays
/// held until the thread's turn ends ([`PyLoop::turn_done`], before it polls again), so
/// that the other events of the same pass (a WebSocket message per ready connection)
/// attach without taking the GIL again. Other Python threads wait for it meanwhile for
/// at most the rest of the pass (the Rust work between its events: reads and writes of
/// sockets that are ready).
pub(crate) fn attach_for_turn<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    if TURN_GIL.with(|g| g.get().is_none()) && on_io_thread() {
        // SAFETY: the interpreter is initialized (this thread drives its asyncio loop);
        // the state is released by `turn_done` on this same thread, the only place that
        // takes it out of TURN_GIL, and `PyGILState_Ensure` pairs nest (pyo3's own
        // attach below is such a pair).
        let state = unsafe { pyo3::ffi::PyGILState_Ensure() };
        TURN_GIL.with(|g| g.set(Some(state)));
    }
    Python::attach(f)
}

/// The [`Companion`] of an I/O thread: its asyncio loop.
pub(crate) struct PyLoop {
    event_loop: Py<PyAny>,
    fd: RawFd,
    /// A time in the past, for "due now".
    epoch: Instant,
    /// How long shutdown lets cancelled tasks take to finish.
    stop_timeout: Duration,
    /// The app's lifespan, started: its shutdown runs when the loop stops.
    lifespan: Option<Py<PyAny>>,
}

impl PyLoop {
    /// Makes this thread's loop; call on the I/O thread that will drive it.
    ///
    /// With the app's `lifespan` (see `AppSpec`), its startup runs on the new loop before
    /// the thread serves: an error there ends the thread, and so the server, with it
    /// (the traceback printed first).
    pub(crate) fn start(
        stop_timeout: Duration,
        lifespan: Option<Py<PyAny>>,
    ) -> std::io::Result<Box<dyn Companion>> {
        keep_thread_state();
        let made = Python::attach(|py| -> PyResult<PyLoop> {
            let rt = Runtime::get(py)?;
            let (event_loop, fd): (Py<PyAny>, RawFd) = rt.new_loop.bind(py).call0()?.extract()?;
            let thread_loop = ThreadLoop::new(py, event_loop.clone_ref(py), true)?;
            LOOP.with(|l| *l.borrow_mut() = Some(thread_loop));
            Ok(PyLoop {
                event_loop,
                fd,
                epoch: Instant::now(),
                stop_timeout,
                lifespan: None,
            })
        })
        .map_err(|e| std::io::Error::other(format!("cannot make the event loop: {e}")))?;
        let mut made = made;
        if let Some(lifespan) = lifespan {
            Python::attach(|py| -> std::io::Result<()> {
                let started = lifespan
                    .bind(py)
                    .call_method1("startup", (made.event_loop.bind(py),));
                if let Err(e) = started {
                    crate::serve::log_line(&format!(
                        "worker {}: the app's startup failed:",
                        std::process::id()
                    ));
                    e.display(py);
                    return Err(std::io::Error::other(format!(
                        "the app's startup failed: {e}"
                    )));
                }
                Ok(())
            })?;
            made.lifespan = Some(lifespan);
        }
        // From now on, database statements queued in a pass leave at its end.
        crate::pg::set_serving(true);
        Ok(Box::new(made))
    }
}

impl PyLoop {
    /// Whether the loop has something to run: ready callbacks, timers (one may have
    /// been added, or be due), or I/O on its selector's descriptor.
    fn has_work(&self, lp: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = lp.py();
        if lp.getattr(pyo3::intern!(py, "_ready"))?.len()? > 0
            || lp.getattr(pyo3::intern!(py, "_scheduled"))?.len()? > 0
        {
            return Ok(true);
        }
        Ok(self.io_ready())
    }

    /// Whether a descriptor the loop's selector watches is ready. The server's poll
    /// watches the selector's descriptor edge-triggered, while the selector's own
    /// registrations are level-triggered: a socket a turn left ready (a read that took
    /// part of what had come, the end of a stream after its data) raises no new edge, so
    /// the turn after is asked for here, or that socket would wait for an unrelated event.
    fn io_ready(&self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `poll` is a valid pollfd for the duration of the call, the count is 1,
        // and a zero timeout returns at once; `self.fd` is the loop's selector descriptor,
        // open while the loop lives.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        ready != 0
    }
}

impl Companion for PyLoop {
    fn fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn due(&self) -> Option<Instant> {
        if NEEDS_TURN.with(Cell::get) || after_response_pending() || crate::pg::queued() {
            return Some(self.epoch);
        }
        NEXT_TIMER.with(Cell::get)
    }

    fn run(&mut self) {
        let asked = NEEDS_TURN.with(|t| t.replace(false));
        Python::attach(|py| {
            // `None`: no turn was taken, the next timer stays.
            let result = (|| -> PyResult<Option<Option<f64>>> {
                let rt = Runtime::get(py)?;
                let lp = self.event_loop.bind(py);
                mark_running(py, rt, lp)?;
                // The exit code of the requests answered inline since the last run: their
                // responses were written in their connections' passes.
                if after_response_pending() {
                    let started = start_after_response(py, rt, lp)?;
                    // Only exit code without `await`s was due, and it ran: a turn of the
                    // loop (a selector poll and its Python) only if the loop has work.
                    if !asked && !started && !self.has_work(lp)? {
                        return Ok(None);
                    }
                } else if !asked && crate::pg::queued() && !self.has_work(lp)? {
                    // Only database statements to write (queued by handlers' first
                    // steps): written below, no turn.
                    return Ok(None);
                }
                let delay: Option<f64> = rt.turn.bind(py).call1((lp,))?.extract()?;
                if self.io_ready() {
                    request_turn();
                }
                // The exit code of the requests the turn answered (their replies are sent),
                // before their connections' next requests are read; a turn soon after if
                // it left the loop work.
                if after_response_pending()
                    && (start_after_response(py, rt, lp)? || self.has_work(lp)?)
                {
                    request_turn();
                }
                Ok(Some(delay))
            })();
            // The statements this pass queued (handlers' first steps, the turn's tasks):
            // one write per connection.
            crate::pg::flush_thread(py);
            let next = match result {
                Ok(None) => return,
                Ok(Some(Some(delay))) => {
                    Some(Instant::now() + Duration::from_secs_f64(delay.clamp(0.0, 86_400.0)))
                }
                Ok(Some(None)) => None,
                Err(e) => {
                    crate::serve::log_line("error in the event loop:");
                    e.display(py);
                    None
                }
            };
            NEXT_TIMER.with(|n| n.set(next));
        });
    }

    fn turn_done(&mut self) {
        if let Some(state) = TURN_GIL.with(Cell::take) {
            // SAFETY: `state` is what `attach_for_turn` got from `PyGILState_Ensure` on
            // this thread, released once (taken out of TURN_GIL).
            unsafe { pyo3::ffi::PyGILState_Release(state) };
        }
    }

    fn stop(&mut self) {
        crate::pg::set_serving(false);
        Python::attach(|py| {
            let result = (|| -> PyResult<()> {
                let rt = Runtime::get(py)?;
                unmark_running(py, rt)?;
                let lifespan = match &self.lifespan {
                    Some(l) => l.bind(py).clone(),
                    None => py.None().into_bound(py),
                };
                rt.close_loop.bind(py).call1((
                    self.event_loop.bind(py),
                    self.stop_timeout.as_secs_f64(),
                    lifespan,
                ))?;
                Ok(())
            })();
            if let Err(e) = result {
                crate::serve::log_line("error closing the event loop:");
                e.display(py);
            }
            LOOP.with(|l| l.borrow_mut().take());
        });
    }
}

/// asyncio's dict of the task running on each loop, what `current_task()` reads,
/// looked up once: `asyncio.tasks._current_tasks` where it is the C module's
/// (`_asyncio._current_tasks`, Python 3.9 to 3.13) or there is no C module. From 3.14
/// the C module keeps the current task in the thread's state and `asyncio.tasks` keeps
/// a dict only its Python tasks use: entering the task there would leave
/// `current_task()` None in the step (`asyncio.timeout()` refused, say), so there is no
/// dict and a message wakes the task as before.
pub(crate) fn current_tasks(py: Python<'_>) -> Option<&Bound<'_, PyDict>> {
    static TASKS: PyOnceLock<Option<Py<PyDict>>> = PyOnceLock::new();
    let tasks = TASKS.get_or_init(py, || {
        let found = || -> PyResult<Option<Py<PyDict>>> {
            let tasks = py.import("asyncio.tasks")?.getattr("_current_tasks")?;
            if let Ok(c) = py.import("_asyncio") {
                match c.getattr_opt("_current_tasks")? {
                    Some(read) if read.is(&tasks) => {}
                    _ => return Ok(None),
                }
            }
            Ok(Some(tasks.cast_into::<PyDict>()?.unbind()))
        };
        found().ok().flatten()
    });
    tasks.as_ref().map(|t| t.bind(py))
}

/// Whether no task runs on `event_loop` (asyncio's `current_task(loop) is None`): read
/// in [`current_tasks`] where asyncio has that dict, else asked of asyncio.
pub(crate) fn no_current_task(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Some(tasks) = current_tasks(py) {
        return Ok(tasks.get_item(event_loop)?.is_none());
    }
    static CURRENT_TASK: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let current_task = CURRENT_TASK.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("asyncio")?.getattr("current_task")?.unbind())
    })?;
    Ok(current_task.bind(py).call1((event_loop,))?.is_none())
}
