//! Serving a Python app: `fasterapi._fasterapi.serve`, called by `FasterAPI.run`.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fasterapi_http::{App, Compression, Config, Method, Request, Response, ShutdownHandle};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::aio::PyLoop;
use crate::dispatch::{AppSpec, PyRoute, RouteSpec};
use crate::errors::AppErrors;
use crate::plan::Incoming;
use crate::request::PyRequest;
use crate::testing::Unhandled;

/// The settings of a worker process, given to `serve` by `FasterAPI.run`.
pub(crate) struct WorkerOptions {
    /// Threads of the pool for `def` handlers.
    pub(crate) blocking_threads: usize,
    /// `def` requests waiting for a pool thread, at most.
    pub(crate) max_queued: usize,
    /// Seconds a graceful shutdown gives requests in flight.
    pub(crate) shutdown_timeout: f64,
    /// Largest body held in memory ([`Config::max_body_bytes`]).
    pub(crate) max_body_bytes: usize,
    /// Largest multipart body spooled as it arrives ([`Config::max_upload_bytes`]).
    pub(crate) max_upload_bytes: usize,
    /// Memory for uploaded files past 1 MiB, the process's ([`Config::upload_memory_bytes`]).
    pub(crate) upload_memory_bytes: usize,
}

impl WorkerOptions {
    /// `FasterAPI.run`'s defaults, which are [`Config`]'s.
    pub(crate) fn new(blocking_threads: usize, max_queued: usize, shutdown_timeout: f64) -> Self {
        let config = Config::default();
        WorkerOptions {
            blocking_threads,
            max_queued,
            shutdown_timeout,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes: config.max_upload_bytes,
            upload_memory_bytes: config.upload_memory_bytes,
        }
    }
}

/// The app a worker process serves: the app an [`AppSpec`] describes (see [`add_app`]) on
/// one I/O thread with `options`. `serve` binds it; the test client serves it in process
/// (`testing.rs`), with `unhandled` collecting the exceptions that the server would log.
pub(crate) fn worker_app(
    spec: &Bound<'_, PyAny>,
    options: &WorkerOptions,
    unhandled: Option<&Arc<Unhandled>>,
) -> PyResult<App> {
    let mut app = App::with_config(worker_config(options)?);
    add_app(&mut app, spec, false, true, unhandled)?;
    Ok(app)
}

fn worker_config(options: &WorkerOptions) -> PyResult<Config> {
    let mut config = Config::default();
    // One I/O thread per process: threads of one process would contend for the GIL, and
    // an I/O thread waiting for it stalls all its connections. Scale with processes.
    config.threads = 1;
    config.workers = options.blocking_threads;
    config.queue_capacity = options.max_queued;
    config.max_body_bytes = options.max_body_bytes;
    config.max_upload_bytes = options.max_upload_bytes;
    config.upload_memory_bytes = options.upload_memory_bytes;
    // A def handler may legitimately take seconds; FastAPI queues for a thread without a
    // limit. 30 s bounds the wait without shedding ordinary slow handlers.
    config.queue_timeout = Duration::from_secs(30);
    config.shutdown_timeout = Duration::try_from_secs_f64(options.shutdown_timeout)
        .map_err(|e| PyValueError::new_err(format!("shutdown_timeout: {e}")))?;
    Ok(config)
}

/// Adds the routes of the app an [`AppSpec`] describes to a Rust `app` it is mounted
/// into (see [`add_app`]): the requests no route takes stay the Rust app's.
pub(crate) fn add_routes(
    app: &mut App,
    spec: &Bound<'_, PyAny>,
    all_defs_on_pool: bool,
) -> PyResult<usize> {
    add_app(app, spec, all_defs_on_pool, false, None)
}

/// Adds the app an [`AppSpec`] describes (`FasterAPI._spec()`) to `app`: its routes and,
/// when it is the `whole_app` served, its `redirect_slashes` and, if its exception
/// handlers answer the router's 404 and 405, a handler of the requests no route takes;
/// and gives each I/O thread its asyncio loop. `async def` handlers run on the I/O thread
/// and its loop; `def` handlers run where `blocking=` says, or where their timed calls
/// say (see `Adaptive`), or all on the worker pool when `all_defs_on_pool`. A handler's
/// exception that would be logged goes to `unhandled` instead of the log when given (the
/// test client's). Returns how many routes were added.
pub(crate) fn add_app(
    app: &mut App,
    spec: &Bound<'_, PyAny>,
    all_defs_on_pool: bool,
    whole_app: bool,
    unhandled: Option<&Arc<Unhandled>>,
) -> PyResult<usize> {
    let py = spec.py();
    let spec = spec.cast::<AppSpec>().map_err(|_| {
        PyTypeError::new_err(format!(
            "the server serves a fasterapi._fasterapi.AppSpec (FasterAPI._spec()), not {}",
            spec.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let compiled = spec.get().compile(py, unhandled)?;
    // `GZipMiddleware`: compressed by the server, gzip alone as Starlette's, around
    // everything else (whatever its place among the middleware). The whole app's setting
    // also covers the answers to requests no route takes; a mounted app's covers its own
    // routes.
    let gzip = spec
        .get()
        .gzip
        .map(|(min_size, level)| Compression::gzip_only(level).min_size(min_size));
    if whole_app {
        app.config_mut().compression = gzip.clone();
    }
    let mounted_gzip = gzip.filter(|_| !whole_app);
    let n = compiled.routes.len() + compiled.built.len();
    let stack = compiled.stack.clone();
    crate::files::add_static_mounts(app, &compiled.statics, stack.as_ref(), &compiled.shell)?;
    // Python middleware is a coroutine: every route runs on the event loop under it.
    let all_inline = stack.as_ref().is_some_and(|s| s.has_python());
    for built in compiled.built {
        let path = built.path().to_owned();
        let added = match &stack {
            None => app.route(Method::Get, &path, move |req: &Request<'_>| {
                built.answer(req)
            }),
            Some(stack) => {
                let (stack, shell) = (stack.clone(), compiled.shell.clone());
                app.route(Method::Get, &path, move |req: &Request<'_>| {
                    stack.serve_answer(req, |req| built.answer(req), &shell)
                })
            }
        };
        if let Some(gzip) = &mounted_gzip {
            added.compress(gzip.clone());
        }
    }
    for (method, path, route) in compiled.routes {
        let (is_async, blocking) = (route.is_async, route.blocking);
        let switch = route.adaptive.as_ref().map(|a| a.on_pool.clone());
        // Python middleware may read the body itself (`await request.body()`): routes behind
        // it keep their bodies whole.
        let streams_forms = stack.is_none() && route.streams_forms();
        let mut added = match &stack {
            None => app.route(method, &path, move |req: &Request<'_>| -> Response {
                route.serve(req)
            }),
            Some(stack) => {
                let (stack, shell) = (stack.clone(), compiled.shell.clone());
                app.route(method, &path, move |req: &Request<'_>| -> Response {
                    stack.serve(req, &route, &shell)
                })
            }
        };
        if streams_forms {
            added = added.stream_forms(fasterapi_http::form::FormLimits::default());
        }
        if let Some(gzip) = &mounted_gzip {
            added = added.compress(gzip.clone());
        }
        if !is_async && !all_inline {
            match (all_defs_on_pool, blocking, switch) {
                (true, _, _) | (_, Some(true), _) => {
                    added.blocking();
                }
                (_, None, Some(flag)) => {
                    added.blocking_while(flag);
                }
                _ => {}
            }
        }
    }
    for (path, route) in compiled.websockets {
        app.websocket(&path, move |req, upgrade| {
            crate::websocket::serve(&route, req, upgrade)
        });
    }
    if whole_app {
        app.redirect_slashes(compiled.redirect_slashes);
        match (compiled.misses, stack) {
            (Some(misses), None) => app.no_route(move |req, why| misses.answer_miss(req, why)),
            (misses, Some(stack)) => {
                let shell = compiled.shell.clone();
                app.no_route(move |req, why| {
                    let miss = |req: &Request<'_>| match &misses {
                        Some(misses) => misses.answer_miss(req, why),
                        None => crate::middleware::default_miss(why),
                    };
                    stack.serve_answer(req, miss, &shell)
                })
            }
            (None, None) => {}
        }
    }
    let stop_timeout = app.config_mut().shutdown_timeout;
    let lifespan = compiled.lifespan;
    app.companion(move |_thread| {
        let lifespan = lifespan
            .as_ref()
            .map(|l| Python::attach(|py| l.clone_ref(py)));
        PyLoop::start(stop_timeout, lifespan)
    });
    Ok(n)
}

/// `MetricsRegion()`: memory for the Prometheus metrics of every worker process, made by
/// the supervisor before it forks them (`FasterAPI.run(workers=N, metrics=...)`), so that
/// `/metrics` answered by any worker reports the requests of all; see
/// `fasterapi_http::observe::SharedMetrics`.
#[pyclass(module = "fasterapi._fasterapi", frozen)]
pub(crate) struct MetricsRegion(fasterapi_http::observe::SharedMetrics);

#[pymethods]
impl MetricsRegion {
    #[new]
    fn new() -> PyResult<MetricsRegion> {
        Ok(MetricsRegion(fasterapi_http::observe::SharedMetrics::new()?))
    }
}

/// `serve(spec, host, port, *, blocking_threads=40, supervised=False,
/// max_suspended=10000, max_queued=1024, shutdown_timeout=10.0,
/// max_body_bytes=8 MiB, max_upload_bytes=1 GiB, upload_memory_bytes=12 MiB, metrics=None,
/// metrics_region=None)`:
/// serves `spec` (an `AppSpec`) on one I/O thread until told to stop, then shuts down
/// gracefully and returns (the options are those of `FasterAPI.run`). `metrics`: the path
/// of the Prometheus endpoint, counted in `metrics_region` (a `MetricsRegion` shared with
/// the other workers) when given, else in this process's memory.
///
/// Unsupervised (`app.run(workers=1)`), SIGINT or SIGTERM starts the graceful shutdown
/// and a second one exits at once. Supervised (a worker forked by `app.run(workers=N)`,
/// which arrives here with SIGTERM blocked and SIGINT ignored), the first SIGTERM starts
/// the graceful shutdown and later ones change nothing: a worker may get the same
/// SIGTERM twice, from its process group and from its supervisor, and the supervisor
/// answers a second Ctrl-C with SIGKILL.
///
/// Once serving, with the signals handled, it prints
/// `fasterapi: worker PID listening on http://ADDR` to stderr. The GIL is released while
/// serving: the I/O thread attaches for each handler call.
#[pyfunction]
#[pyo3(signature = (
    spec, host, port, *, blocking_threads = 40, supervised = false, max_suspended = 10_000,
    max_queued = 1024, shutdown_timeout = 10.0, max_body_bytes = 8 * 1024 * 1024,
    max_upload_bytes = 1024 * 1024 * 1024, upload_memory_bytes = 12 * 1024 * 1024,
    metrics = None, metrics_region = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    py: Python<'_>,
    spec: &Bound<'_, PyAny>,
    host: &str,
    port: u16,
    blocking_threads: usize,
    supervised: bool,
    max_suspended: usize,
    max_queued: usize,
    shutdown_timeout: f64,
    max_body_bytes: usize,
    max_upload_bytes: usize,
    upload_memory_bytes: usize,
    metrics: Option<&str>,
    metrics_region: Option<&Bound<'_, MetricsRegion>>,
) -> PyResult<()> {
    let options = WorkerOptions {
        max_body_bytes,
        max_upload_bytes,
        upload_memory_bytes,
        ..WorkerOptions::new(blocking_threads, max_queued, shutdown_timeout)
    };
    let mut app = worker_app(spec, &options, None)?;
    match (metrics, metrics_region) {
        (Some(path), Some(region)) => {
            app.metrics_shared(path, &region.get().0);
        }
        (Some(path), None) => {
            app.metrics(path);
        }
        (None, Some(_)) => {
            return Err(PyValueError::new_err(
                "metrics_region without metrics: give the path of the metrics endpoint",
            ))
        }
        (None, None) => {}
    }
    // The workers of `app.run(workers=N)` share the port the supervisor reserved.
    app.config_mut().shared_port = supervised;
    crate::aio::set_max_suspended(max_suspended);
    let server = app.bind((host, port))?;
    py.detach(|| {
        // Blocked before any server thread exists, so that every thread inherits the
        // mask and SIGTERM is only ever taken by the watcher below.
        let sigterm = if supervised {
            Some(block_sigterm()?)
        } else {
            None
        };
        let running = server.spawn()?;
        let watcher = match sigterm {
            Some(set) => watch_sigterm(set, running.handle()),
            None => running.stop_on_signals().map(|()| None),
        };
        let watcher = match watcher {
            Ok(w) => w,
            Err(e) => {
                let _ = running.shutdown();
                return Err(e);
            }
        };
        // Announced once the signals are handled: from now on they stop it gracefully.
        log_line(&format!(
            "worker {} listening on http://{}",
            std::process::id(),
            running.local_addr()
        ));
        let result = running.join();
        if let Some((done, thread)) = watcher {
            done.store(true, Ordering::Release);
            let _ = thread.join();
        }
        result
    })?;
    Ok(())
}

/// Blocks SIGTERM in the calling thread (and so in the threads it starts later).
fn block_sigterm() -> std::io::Result<libc::sigset_t> {
    // SAFETY: `set` is a local, initialized by `sigemptyset` before use; the calls only
    // read it and change this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if r != 0 {
            return Err(std::io::Error::from_raw_os_error(r));
        }
        Ok(set)
    }
}

type Watcher = (Arc<AtomicBool>, std::thread::JoinHandle<()>);

/// A thread that takes the (blocked) SIGTERM and starts a graceful shutdown on the first.
fn watch_sigterm(set: libc::sigset_t, handle: ShutdownHandle) -> std::io::Result<Option<Watcher>> {
    let done = Arc::new(AtomicBool::new(false));
    let thread = {
        let done = done.clone();
        std::thread::Builder::new()
            .name("fasterapi-sigterm".into())
            .spawn(move || {
                let mut told = false;
                let tick = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 100_000_000,
                };
                while !done.load(Ordering::Acquire) {
                    // SAFETY: `set` is an initialized signal set, SIGTERM is blocked in every
                    // thread of the server, a null siginfo pointer is allowed, and `tick` is
                    // a valid timespec.
                    let sig = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &tick) };
                    if sig == libc::SIGTERM && !told {
                        told = true;
                        log_line(&format!(
                            "worker {} shutting down (SIGTERM)",
                            std::process::id()
                        ));
                        handle.shutdown();
                    }
                }
            })?
    };
    Ok(Some((done, thread)))
}

/// `_die_with_parent(parent_pid) -> bool`: asks the kernel to send this process SIGTERM
/// (a graceful shutdown) when its parent dies, so that workers do not outlive a
/// supervisor killed with SIGKILL. `False` if the parent is already gone.
#[pyfunction]
#[pyo3(name = "_die_with_parent")]
pub(crate) fn die_with_parent(parent_pid: i32) -> PyResult<bool> {
    // SAFETY: PR_SET_PDEATHSIG with a valid signal number only sets a process attribute.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: getppid has no preconditions. The parent may have died before prctl: then
    // this process was reparented already and no signal will come.
    Ok(unsafe { libc::getppid() } == parent_pid)
}

/// Writes `fasterapi: {msg}\n` to stderr with one `write`, so that lines of several
/// worker processes sharing a pipe do not interleave.
pub(crate) fn log_line(msg: &str) {
    use std::io::Write;
    let line = format!("fasterapi: {msg}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// An in-memory request for the dispatch micro bench.
struct BenchRequest {
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    /// The query string of `query`.
    query_string: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Incoming for BenchRequest {
    fn path_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }
    fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }
    fn query_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
            .collect()
    }
    fn query_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.query
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
            .collect()
    }
    fn header_items(&self) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
        self.headers
            .iter()
            .map(|(k, v)| {
                (
                    Cow::Owned(k.to_ascii_lowercase()),
                    Cow::Borrowed(v.as_str()),
                )
            })
            .collect()
    }
    fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    }
    fn header_all(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
            .collect()
    }
    fn body_bytes(&self) -> &[u8] {
        &self.body
    }
    fn to_py(&self, _py: Python<'_>, _app: Option<&Py<PyAny>>) -> PyRequest {
        let query = (!self.query.is_empty()).then_some(self.query_string.as_str());
        PyRequest::from_parts("/", query, &self.headers, &self.params, &self.body)
    }
}

/// `_bench_dispatch(route, path_params, query_params, body, n, headers=[]) -> float`:
/// nanoseconds per request to answer an in-memory request (with `headers`, a list of
/// `(name, value)`) through one entry of `FasterAPI.routes`, exactly as the I/O thread
/// does (plan, call, result to response), minus HTTP parsing and socket I/O. For
/// `benches/` and examples/python/bench_dispatch.py.
#[pyfunction]
#[pyo3(
    name = "_bench_dispatch",
    signature = (route, path_params, query_params, body, n, headers = Vec::new())
)]
pub(crate) fn bench_dispatch(
    py: Python<'_>,
    route: &Bound<'_, RouteSpec>,
    path_params: &Bound<'_, PyDict>,
    query_params: &Bound<'_, PyDict>,
    body: Vec<u8>,
    n: u64,
    headers: Vec<(String, String)>,
) -> PyResult<f64> {
    let errors = Arc::new(AppErrors::defaults(py)?);
    let (_, _, route) = PyRoute::from_spec(route, &errors)?;
    let route = Arc::new(route);
    let query: Vec<(String, String)> = query_params
        .extract::<std::collections::HashMap<String, String>>()?
        .into_iter()
        .collect();
    let query_string = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let req = BenchRequest {
        params: path_params
            .extract::<std::collections::HashMap<String, String>>()?
            .into_iter()
            .collect(),
        query,
        query_string,
        headers,
        body,
    };
    let n = n.max(1);
    // Detached, as an I/O thread is between requests: each call attaches, as in serving.
    let elapsed = py.detach(|| {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(route.serve_incoming(&req));
        }
        start.elapsed()
    });
    Ok(elapsed.as_nanos() as f64 / n as f64)
}
