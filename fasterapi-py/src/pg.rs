//! `fasterapi.pg`: PostgreSQL for `async def` handlers, on `fasterapi-pg`, driven by the
//! I/O thread that drives the worker's asyncio loop.
//!
//! A pool ([`PgPool`]) has one pipelined connection per I/O thread, opened on that thread's
//! first use without blocking it ([`Opening`]: the TCP connect and the startup handshake
//! advance as the asyncio loop finds the socket ready, the calls made meanwhile wait for
//! it, given up at the connect timeout), so that the thread's other requests go on. A
//! call (`pool.fetchrow(sql, *args)`) returns a coroutine ([`PgCall`]) whose first step
//! encodes its arguments, queues a Bind + Execute + Sync on this thread's connection and
//! waits for an asyncio future: no write yet. The statements a pass of the server loop queued leave in one `write` per
//! connection at the end of the pass (the loop's [`Companion`] run flushes them, see
//! [`flush_thread`]), so an `asyncio.gather` of twenty `fetchrow`s is one write. Answers
//! are read when the socket becomes readable (a reader of the asyncio loop, so that any
//! turn of the loop sees them) and each finished call's future is resolved right there,
//! its awaiting task stepped at once when nothing else waits on the future
//! ([`finish`], as the WebSocket code wakes a receive).
//!
//! Statements are prepared once per connection and SQL text: the first call of a text
//! queues a Parse + Describe + Sync and waits for its answer (one round trip), which gives
//! the parameter and column types; the calls of that text meanwhile wait with it, and are
//! all queued once it is described. Parameters are sent and columns read in binary, for
//! the types of [`decodes`]; any other type is refused with an error naming it.
//!
//! [`Companion`]: fasterapi_http::Companion

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fasterapi_pg::{
    oid, Column, Config, Conn, Connecting, Detail, Event, Oid, Param, Row, Statement,
};
use pyo3::exceptions::{
    PyIndexError, PyKeyError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::aio;
use crate::coroutine::{RustCoroutine, Stepped};

mod session;

/// Pools made in this process, to tell their connections apart on a thread.
static POOLS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's connection of each pool that was used on it.
    static CONNS: RefCell<HashMap<u64, ThreadConn>> = RefCell::new(HashMap::new());
    /// This thread's connections being opened, by pool.
    static OPENING: RefCell<HashMap<u64, Opening>> = RefCell::new(HashMap::new());
    /// A connection of this thread has statements queued and not written.
    static QUEUED: Cell<bool> = const { Cell::new(false) };
    /// The thread's server loop drives its asyncio loop and flushes queued statements
    /// at the end of each pass; otherwise (a lifespan's startup, run to its end before
    /// serving) each call writes its statements at once.
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

/// Whether a connection of this thread has statements to write (the server loop then
/// runs its companion, which calls [`flush_thread`]).
pub(crate) fn queued() -> bool {
    QUEUED.with(Cell::get)
}

/// Marks this thread's loop as driven by its server loop, which flushes at each pass.
pub(crate) fn set_serving(on: bool) {
    SERVING.with(|s| s.set(on));
}

/// Runs `f` with this thread's connections. Code that runs Python (resolving a future
/// steps its task, which may call the pool again) runs after `f` returns, never inside
/// it; a call that finds the connections borrowed anyway is an error, not a panic.
fn with_conns<R>(f: impl FnOnce(&mut HashMap<u64, ThreadConn>) -> PyResult<R>) -> PyResult<R> {
    borrowed(&CONNS, f)
}

/// Runs `f` with this thread's connections being opened (as [`with_conns`]).
fn with_opening<R>(f: impl FnOnce(&mut HashMap<u64, Opening>) -> PyResult<R>) -> PyResult<R> {
    borrowed(&OPENING, f)
}

fn borrowed<T: 'static, R>(
    key: &'static std::thread::LocalKey<RefCell<T>>,
    f: impl FnOnce(&mut T) -> PyResult<R>,
) -> PyResult<R> {
    key.with(|c| {
        let mut borrowed = c
            .try_borrow_mut()
            .map_err(|_| PyRuntimeError::new_err("fasterapi.pg: re-entered"))?;
        f(&mut borrowed)
    })
}

/// Runs `f` with this thread's connection of `pool`, if it has one.
fn with_conn<R>(pool: u64, f: impl FnOnce(&mut ThreadConn) -> PyResult<R>) -> PyResult<Option<R>> {
    with_conns(|conns| conns.get_mut(&pool).map(f).transpose())
}

/// Writes what this thread's connections have queued: one write each.
pub(crate) fn flush_thread(py: Python<'_>) {
    if !QUEUED.with(|q| q.replace(false)) {
        return;
    }
    // Not re-entered: this runs from the server loop, between Python steps.
    let _ = with_conns(|conns| {
        for (&pool, tc) in conns.iter_mut() {
            if tc.conn.has_output() {
                tc.flush(py, pool);
            }
        }
        Ok(())
    });
}

/// The types whose values this module reads and writes.
pub(crate) const DECODES: &str =
    "int2, int4, int8, float4, float8, bool, text, varchar, bpchar, name, bytea, int4[] \
     (and void results)";

/// Whether values of type `t` are read and written here.
fn decodes(t: Oid) -> bool {
    matches!(
        t,
        oid::INT2
            | oid::INT4
            | oid::INT8
            | oid::FLOAT4
            | oid::FLOAT8
            | oid::BOOL
            | oid::TEXT
            | oid::VARCHAR
            | oid::BPCHAR
            | oid::NAME
            | oid::BYTEA
            | oid::INT4_ARRAY
            | oid::VOID
    )
}

/// A type's name for an error message (the common ones; `oid N` otherwise).
fn type_name(t: Oid) -> String {
    let name = match t {
        oid::BOOL => "bool",
        oid::BYTEA => "bytea",
        oid::NAME => "name",
        oid::INT8 => "int8",
        oid::INT2 => "int2",
        oid::INT4 => "int4",
        oid::TEXT => "text",
        oid::FLOAT4 => "float4",
        oid::FLOAT8 => "float8",
        oid::INT4_ARRAY => "int4[]",
        oid::BPCHAR => "bpchar",
        oid::VARCHAR => "varchar",
        oid::VOID => "void",
        18 => "char",
        26 => "oid",
        114 => "json",
        142 => "xml",
        650 => "cidr",
        705 => "unknown",
        790 => "money",
        829 => "macaddr",
        869 => "inet",
        1000 => "bool[]",
        1005 => "int2[]",
        1009 => "text[]",
        1015 => "varchar[]",
        1016 => "int8[]",
        1021 => "float4[]",
        1022 => "float8[]",
        1082 => "date",
        1083 => "time",
        1114 => "timestamp",
        1184 => "timestamptz",
        1186 => "interval",
        1266 => "timetz",
        1560 => "bit",
        1562 => "varbit",
        1700 => "numeric",
        2950 => "uuid",
        3802 => "jsonb",
        _ => return format!("oid {t}"),
    };
    format!("{name} (oid {t})")
}

/// `fasterapi.pg`'s Python helpers, looked up once.
struct Helpers {
    postgres_error: Py<PyAny>,
    interface_error: Py<PyAny>,
    get_running_loop: Py<PyAny>,
    /// `concurrent.futures.Future`.
    new_thread_future: Py<PyAny>,
    /// `fasterapi.pg._lookup`.
    lookup: Py<PyAny>,
}

fn helpers(py: Python<'_>) -> PyResult<&Helpers> {
    static HELPERS: PyOnceLock<Helpers> = PyOnceLock::new();
    HELPERS.get_or_try_init(py, || {
        let m = py.import("fasterapi.pg")?;
        Ok(Helpers {
            postgres_error: m.getattr("PostgresError")?.unbind(),
            interface_error: m.getattr("InterfaceError")?.unbind(),
            get_running_loop: py
                .import("asyncio.events")?
                .getattr("_get_running_loop")?
                .unbind(),
            new_thread_future: py.import("concurrent.futures")?.getattr("Future")?.unbind(),
            lookup: m.getattr("_lookup")?.unbind(),
        })
    })
}

/// The Python exception of an error of `fasterapi-pg`: `PostgresError` (with its
/// `sqlstate`) for the server's, `InterfaceError` for the connection's.
fn py_error(py: Python<'_>, e: &fasterapi_pg::Error) -> PyErr {
    let h = match helpers(py) {
        Ok(h) => h,
        Err(err) => return err,
    };
    let made = match e.code() {
        Some(code) => h.postgres_error.bind(py).call1((e.to_string(), code)),
        None => h.interface_error.bind(py).call1((e.to_string(),)),
    };
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

fn interface_error(py: Python<'_>, message: String) -> PyErr {
    match helpers(py).and_then(|h| h.interface_error.bind(py).call1((message,))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(err) => err,
    }
}

/// The names of a statement's result columns, shared by its records.
struct Shape {
    names: Vec<String>,
    types: Vec<Oid>,
}

/// A statement of a connection, described: usable, or refused for a type not handled.
struct Described {
    statement: Statement,
    /// Its columns (also tells it apart from another statement of the same text).
    shape: Arc<Shape>,
    /// Why it cannot be run here (a parameter or column of a type not handled).
    refused: Option<String>,
    /// When it was last used (the connection's count of calls), to close the least
    /// recently used one past [`STATEMENT_CACHE`].
    last_used: Cell<u64>,
}

/// Statements a connection keeps prepared (asyncpg keeps 100 by default): past it, the
/// least recently used is closed on the server before another is prepared, so that SQL
/// texts made per call cannot grow the server's memory without bound.
const STATEMENT_CACHE: usize = 256;

/// A statement text's state on one connection.
enum Prepared {
    Ready(Rc<Described>),
    /// Its Parse + Describe is in flight; these calls wait for it.
    Describing(Vec<Call>),
}

/// What a call returns.
#[derive(Clone, Copy)]
enum Kind {
    Fetch,
    FetchRow,
    FetchVal(usize),
    Execute,
    ExecuteMany,
    FetchMany,
}

/// A call and its arguments: one tuple, or one per statement (`executemany`,
/// `fetchmany`).
struct Call {
    kind: Kind,
    args: Py<PyAny>,
    future: Py<PyAny>,
}

/// What a batch of the connection is for.
enum Job {
    Describe {
        sql: String,
        statement: Statement,
        params: Vec<Oid>,
        columns: Vec<Column>,
    },
    Call {
        future: Py<PyAny>,
        kind: Kind,
        shape: Arc<Shape>,
        rows: Vec<Py<PyAny>>,
        tag: Option<String>,
        error: Option<PyErr>,
    },
}

/// A finished batch, to act on once the connection is no longer borrowed (resolving a
/// future steps its task, which may queue more on the same connection).
enum Finished {
    Described(Job, Result<(), fasterapi_pg::Error>),
    Resolve(Py<PyAny>, PyResult<Py<PyAny>>),
    /// The server refused to run the statement as prepared (its result columns changed:
    /// "cached plan must not change result type"): it is to be prepared again.
    Stale(Arc<Shape>),
}

/// The SQLSTATE of a statement whose prepared form the server will not run any more
/// (`feature_not_supported`, which is what "cached plan must not change result type"
/// carries; asyncpg re-prepares on it too).
const STALE_STATEMENT: &str = "0A000";

/// One pool's connection on this thread.
struct ThreadConn {
    conn: Conn<Job>,
    statements: HashMap<String, Prepared>,
    /// Calls made on it (the clock of `Described::last_used`).
    calls: u64,
    fd: i32,
    /// The asyncio loop it is registered with as a reader.
    event_loop: Py<PyAny>,
    /// Also registered as a writer ([`PgWritable`]): the socket would not take all that
    /// was queued.
    writer: bool,
}

impl ThreadConn {
    /// Writes what is queued. What the socket would not take is written by a writer of
    /// the asyncio loop ([`PgWritable`]) as the socket takes more: the server's answers
    /// cannot be relied on to wake the reader first, since a statement larger than the
    /// socket's buffers is answered only once all of it has arrived.
    fn flush(&mut self, py: Python<'_>, pool: u64) {
        self.conn.flush();
        let blocked = self.conn.write_blocked();
        if blocked == self.writer {
            return;
        }
        let event_loop = self.event_loop.bind(py);
        let done = if blocked {
            Bound::new(py, PgWritable { pool }).and_then(|writer| {
                event_loop.call_method1(pyo3::intern!(py, "add_writer"), (self.fd, writer))
            })
        } else {
            event_loop.call_method1(pyo3::intern!(py, "remove_writer"), (self.fd,))
        };
        match done {
            Ok(_) => self.writer = blocked,
            Err(e) => {
                crate::serve::log_line("fasterapi.pg: cannot watch the connection's socket:");
                e.display(py);
            }
        }
    }

    /// Unregisters its socket from the asyncio loop (it is being dropped).
    fn unwatch(&self, py: Python<'_>) -> PyResult<()> {
        let event_loop = self.event_loop.bind(py);
        if self.writer {
            event_loop.call_method1(pyo3::intern!(py, "remove_writer"), (self.fd,))?;
        }
        event_loop.call_method1(pyo3::intern!(py, "remove_reader"), (self.fd,))?;
        Ok(())
    }
}

/// A pool's connection of this thread being opened, and the calls waiting for it.
struct Opening {
    phase: Phase,
    event_loop: Py<PyAny>,
    /// The loop's timer that gives up at the connect timeout ([`PgOpenTimeout`]), the
    /// host name's lookup included.
    timer: Py<PyAny>,
    /// The calls made meanwhile, with their statements' text.
    waiting: Vec<(String, Call)>,
}

/// Where a connection being opened is.
enum Phase {
    /// The host's name is being looked up on a thread of the loop's executor
    /// (`fasterapi.pg._lookup`), so that a slow resolver does not hold the I/O thread:
    /// `lookup` is the asyncio future of its addresses ([`PgLookedUp`] runs when it is
    /// done); `config` the pool's, to connect with then.
    LookingUp { lookup: Py<PyAny>, config: Config },
    /// Connecting to the host's addresses.
    Connecting(Box<Socket>),
}

/// A connection being opened, its socket watched by the asyncio loop ([`PgOpening`]).
struct Socket {
    connecting: Connecting<Job>,
    /// The socket as registered with the loop, and which of the host's addresses it is.
    fd: i32,
    attempt: usize,
    /// Also registered as a writer (the connect, or a handshake message, not done).
    writer: bool,
}

impl Socket {
    /// Watches `connecting`'s socket with `event_loop`: readable, and writable once the
    /// connect is done (and the startup message is queued).
    fn watch(
        py: Python<'_>,
        pool: u64,
        event_loop: &Py<PyAny>,
        connecting: Connecting<Job>,
    ) -> PyResult<Socket> {
        let (fd, attempt) = (connecting.fd(), connecting.attempt());
        let lp = event_loop.bind(py);
        let progress = Bound::new(py, PgOpening { pool })?;
        lp.call_method1(pyo3::intern!(py, "add_reader"), (fd, progress.clone()))?;
        lp.call_method1(pyo3::intern!(py, "add_writer"), (fd, progress))?;
        Ok(Socket {
            connecting,
            fd,
            attempt,
            writer: true,
        })
    }

    /// Watches the socket for what the connection wants next: a new socket (the host's
    /// next address) anew, the old one forgotten while it is still open.
    fn rewatch(&mut self, py: Python<'_>, pool: u64, event_loop: &Py<PyAny>) -> PyResult<()> {
        let lp = event_loop.bind(py);
        if self.connecting.attempt() != self.attempt {
            self.unwatch(py, event_loop)?;
            self.fd = self.connecting.fd();
            self.attempt = self.connecting.attempt();
            let progress = Bound::new(py, PgOpening { pool })?;
            lp.call_method1(pyo3::intern!(py, "add_reader"), (self.fd, progress))?;
        }
        let wants = self.connecting.wants_write();
        if wants != self.writer {
            if wants {
                let progress = Bound::new(py, PgOpening { pool })?;
                lp.call_method1(pyo3::intern!(py, "add_writer"), (self.fd, progress))?;
            } else {
                lp.call_method1(pyo3::intern!(py, "remove_writer"), (self.fd,))?;
            }
            self.writer = wants;
        }
        Ok(())
    }

    fn unwatch(&mut self, py: Python<'_>, event_loop: &Py<PyAny>) -> PyResult<()> {
        let lp = event_loop.bind(py);
        lp.call_method1(pyo3::intern!(py, "remove_reader"), (self.fd,))?;
        if self.writer {
            lp.call_method1(pyo3::intern!(py, "remove_writer"), (self.fd,))?;
            self.writer = false;
        }
        Ok(())
    }
}

impl Opening {
    /// Stops watching it (it is done, failed, or closed): the timer, and the socket or
    /// the lookup (cancelled: its answer, when the executor's thread has one, is dropped).
    fn unwatch(&mut self, py: Python<'_>) -> PyResult<()> {
        self.timer
            .bind(py)
            .call_method0(pyo3::intern!(py, "cancel"))?;
        match &mut self.phase {
            Phase::LookingUp { lookup, .. } => {
                lookup.bind(py).call_method0(pyo3::intern!(py, "cancel"))?;
                Ok(())
            }
            Phase::Connecting(socket) => socket.unwatch(py, &self.event_loop),
        }
    }

    /// Fails the calls that waited for it with `e`.
    fn fail(self, py: Python<'_>, e: impl Fn() -> PyErr) {
        for (_, call) in self.waiting {
            resolve(py, &call.future, Err(e()));
        }
    }
}

/// `PgOpening(pool)`: the reader and writer of the socket of a connection being opened.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgOpening")]
struct PgOpening {
    pool: u64,
}

#[pymethods]
impl PgOpening {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let pool = self.pool;
        let ended = with_opening(|opening| {
            let Some(o) = opening.get_mut(&pool) else {
                return Ok(None);
            };
            let Phase::Connecting(socket) = &mut o.phase else {
                return Ok(None);
            };
            let result = match socket.connecting.advance() {
                Ok(false) => return socket.rewatch(py, pool, &o.event_loop).map(|()| None),
                Ok(true) => Ok(()),
                Err(e) => Err(e),
            };
            Ok(opening.remove(&pool).map(|o| (o, result)))
        })?;
        match ended {
            None => Ok(()),
            Some((o, Ok(()))) => opened(py, pool, o),
            Some((mut o, Err(e))) => {
                let unwatched = o.unwatch(py);
                o.fail(py, || py_error(py, &e));
                unwatched
            }
        }
    }
}

/// `PgLookedUp(pool)`: run when the lookup of the host's name is done: connects to its
/// addresses, or fails the calls waiting with the lookup's error. A lookup given up (at
/// the timeout, or by a close) is not the one its pool's opening waits for: ignored.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgLookedUp")]
struct PgLookedUp {
    pool: u64,
}

#[pymethods]
impl PgLookedUp {
    fn __call__(&self, py: Python<'_>, lookup: Bound<'_, PyAny>) -> PyResult<()> {
        let pool = self.pool;
        let config = with_opening(|opening| match opening.get(&pool).map(|o| &o.phase) {
            Some(Phase::LookingUp {
                lookup: ours,
                config,
            }) if ours.is(&lookup) => Ok(Some(config.clone())),
            _ => Ok(None),
        })?;
        let Some(config) = config else {
            return Ok(());
        };
        // No turn of the loop until the phase is set below: the opening stays.
        let started = match lookup
            .call_method0(pyo3::intern!(py, "result"))
            .and_then(|found| socket_addresses(&found))
        {
            Ok(addresses) => Connecting::start_to(&config, addresses).map_err(|e| py_error(py, &e)),
            Err(e) => Err(interface_error(
                py,
                format!("{}:{}: {}", config.host, config.port, e.value(py)),
            )),
        };
        let failed = with_opening(|opening| {
            let Some(o) = opening.get_mut(&pool) else {
                return Ok(None);
            };
            let e = match started {
                Ok(connecting) => match Socket::watch(py, pool, &o.event_loop, connecting) {
                    Ok(socket) => {
                        o.phase = Phase::Connecting(Box::new(socket));
                        return Ok(None);
                    }
                    Err(e) => e,
                },
                Err(e) => e,
            };
            Ok(opening.remove(&pool).map(|o| (o, e)))
        })?;
        if let Some((mut o, e)) = failed {
            let unwatched = o.unwatch(py);
            o.fail(py, || e.clone_ref(py));
            unwatched?;
        }
        Ok(())
    }
}

/// The addresses `fasterapi.pg._lookup` found: `(address, port, scope_id)` tuples.
fn socket_addresses(found: &Bound<'_, PyAny>) -> PyResult<Vec<SocketAddr>> {
    let mut addresses = Vec::new();
    for item in found.try_iter()? {
        let (address, port, scope): (String, u16, u32) = item?.extract()?;
        // A link-local IPv6 address may come with its zone (`fe80::1%eth0`): the scope
        // id says it.
        let ip: IpAddr = address
            .split('%')
            .next()
            .unwrap_or_default()
            .parse()
            .map_err(|e| PyValueError::new_err(format!("{address}: {e}")))?;
        addresses.push(match ip {
            IpAddr::V4(ip) => SocketAddr::V4(SocketAddrV4::new(ip, port)),
            IpAddr::V6(ip) => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)),
        });
    }
    Ok(addresses)
}

/// `PgOpenTimeout(pool)`: the timer that gives up opening this thread's connection.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgOpenTimeout")]
struct PgOpenTimeout {
    pool: u64,
}

#[pymethods]
impl PgOpenTimeout {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let Some(mut o) = with_opening(|opening| Ok(opening.remove(&self.pool)))? else {
            return Ok(());
        };
        let e = match &o.phase {
            Phase::LookingUp { config, .. } => interface_error(
                py,
                format!(
                    "{}:{}: the host name was not looked up within {:?} (connect_timeout)",
                    config.host, config.port, config.connect_timeout
                ),
            ),
            Phase::Connecting(socket) => py_error(py, &socket.connecting.timed_out()),
        };
        let unwatched = o.unwatch(py);
        o.fail(py, || e.clone_ref(py));
        unwatched
    }
}

/// This thread's connection of `pool` is open: it serves the calls that waited for it.
fn opened(py: Python<'_>, pool: u64, mut o: Opening) -> PyResult<()> {
    o.unwatch(py)?;
    let Phase::Connecting(socket) = o.phase else {
        // Only a connecting one opens ([`PgOpening`]).
        return Ok(());
    };
    let conn = socket.connecting.into_conn();
    let fd = conn.fd();
    let reader = Bound::new(py, PgReady { pool })?;
    o.event_loop
        .bind(py)
        .call_method1(pyo3::intern!(py, "add_reader"), (fd, reader))?;
    let mut failed = Vec::new();
    with_conns(|conns| {
        let tc = conns.entry(pool).or_insert(ThreadConn {
            conn,
            statements: HashMap::new(),
            calls: 0,
            fd,
            event_loop: o.event_loop,
            writer: false,
        });
        for (sql, call) in o.waiting {
            if is_done(py, &call.future) {
                // Given up while it waited (cancelled, timed out): not sent.
                continue;
            }
            let future = call.future.clone_ref(py);
            if let Err(e) = enqueue(py, tc, pool, &sql, call) {
                failed.push((future, e));
            }
        }
        Ok(())
    })?;
    for (future, e) in failed {
        resolve(py, &future, Err(e));
    }
    Ok(())
}

/// Whether `future` is done (a call's: cancelled while it waited for its connection).
fn is_done(py: Python<'_>, future: &Py<PyAny>) -> bool {
    future
        .bind(py)
        .call_method0(pyo3::intern!(py, "done"))
        .and_then(|d| d.is_truthy())
        .unwrap_or(false)
}

/// `fasterapi._fasterapi.PgPool`: the base of `fasterapi.pg.Pool`.
#[pyclass(subclass, frozen, module = "fasterapi._fasterapi", name = "PgPool")]
pub(crate) struct PgPool {
    id: u64,
    config: Config,
    closed: AtomicBool,
    /// The event loops of the threads that opened a connection of the pool (each once),
    /// where [`PgPool::_close`] sends their threads the close of their connection. Looked
    /// at only when a thread connects and when the pool closes.
    loops: Mutex<Vec<Py<PyAny>>>,
}

impl PgPool {
    fn loops(&self) -> std::sync::MutexGuard<'_, Vec<Py<PyAny>>> {
        // Nothing panics while it is held: a poisoned list is still whole.
        self.loops.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes that this thread (its loop `event_loop`) has a connection of the pool: false
    /// if the pool was closed meanwhile (its close did not see this connection).
    fn note_loop(&self, py: Python<'_>, event_loop: &Py<PyAny>) -> bool {
        let mut loops = self.loops();
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        if !loops.iter().any(|l| l.is(event_loop)) {
            loops.push(event_loop.clone_ref(py));
        }
        true
    }
}

/// Closes this thread's connection of `pool`, if it has one: its calls in flight fail,
/// as asyncpg's do when their pool is closed under them.
fn close_here(py: Python<'_>, pool: u64) -> PyResult<()> {
    if let Some(mut o) = with_opening(|opening| Ok(opening.remove(&pool)))? {
        let unwatched = o.unwatch(py);
        o.fail(py, || closed_under(py));
        unwatched?;
    }
    let Some(mut tc) = with_conns(|conns| Ok(conns.remove(&pool)))? else {
        return Ok(());
    };
    let unwatched = tc.unwatch(py);
    for job in tc.conn.take_jobs() {
        if let Job::Call { future, .. } = job {
            let e = closed_under(py);
            resolve(py, &future, Err(e));
        }
    }
    fail_describing(py, tc.statements, None);
    tc.conn.close();
    unwatched
}

/// `PgCloseHere(pool, done)`: run by another thread's event loop, closes that thread's
/// connection of `pool`, then sets `done` (a `concurrent.futures.Future`).
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgCloseHere")]
struct PgCloseHere {
    pool: u64,
    done: Py<PyAny>,
}

#[pymethods]
impl PgCloseHere {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let closed = close_here(py, self.pool);
        self.done
            .bind(py)
            .call_method1(pyo3::intern!(py, "set_result"), (py.None(),))?;
        closed
    }
}

/// `ReadyCallback(pool)`: the reader of a connection's socket in the asyncio loop.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgReady")]
struct PgReady {
    pool: u64,
}

#[pymethods]
impl PgReady {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        process(py, self.pool)
    }
}

/// `PgWritable(pool)`: the writer of a connection's socket in the asyncio loop, while the
/// socket would not take all that was queued.
#[pyclass(frozen, module = "fasterapi._fasterapi", name = "PgWritable")]
struct PgWritable {
    pool: u64,
}

#[pymethods]
impl PgWritable {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let broken = with_conn(self.pool, |tc| {
            tc.flush(py, self.pool);
            Ok(tc.conn.broken().is_some())
        })?;
        if broken == Some(true) {
            // The write broke it: its calls fail now.
            process(py, self.pool)?;
        }
        Ok(())
    }
}

/// Reads what arrived on this thread's connection of `pool` and finishes the calls it
/// answers; drops the connection if it broke (the next call reconnects).
fn process(py: Python<'_>, pool: u64) -> PyResult<()> {
    let mut finished = Vec::new();
    let mut dropped = None;
    with_conns(|conns| {
        let Some(tc) = conns.get_mut(&pool) else {
            return Ok(());
        };
        tc.conn
            .process_detailed(|detail| on_detail(py, detail, &mut finished));
        forget_stale(tc, &finished);
        if tc.conn.broken().is_some() {
            dropped = conns.remove(&pool);
        } else if tc.conn.has_output() {
            tc.flush(py, pool);
        }
        Ok(())
    })?;
    if let Some(tc) = dropped {
        tc.unwatch(py)?;
        fail_describing(py, tc.statements, tc.conn.broken());
    }
    settle(py, pool, finished)
}

/// Drops the statements the server would not run as prepared from `tc`'s statements (and
/// closes them on the server), so that their next call prepares them again.
fn forget_stale(tc: &mut ThreadConn, finished: &[Finished]) {
    for f in finished {
        let Finished::Stale(shape) = f else { continue };
        let stale = tc.statements.iter().find_map(|(sql, p)| match p {
            Prepared::Ready(d) if Arc::ptr_eq(&d.shape, shape) => Some(sql.clone()),
            _ => None,
        });
        if let Some(Prepared::Ready(d)) = stale.and_then(|sql| tc.statements.remove(&sql)) {
            // A statement's name never has a NUL byte: this cannot fail.
            let _ = tc.conn.close_statement(&d.statement);
        }
    }
}

/// Fails the calls waiting for statements of a dropped connection.
fn fail_describing(
    py: Python<'_>,
    statements: HashMap<String, Prepared>,
    broken: Option<&fasterapi_pg::Error>,
) {
    for (_, prepared) in statements {
        if let Prepared::Describing(calls) = prepared {
            for call in calls {
                let e = match broken {
                    Some(e) => py_error(py, e),
                    None => closed_under(py),
                };
                resolve(py, &call.future, Err(e));
            }
        }
    }
}

fn on_detail(py: Python<'_>, detail: Detail<'_, Job>, finished: &mut Vec<Finished>) {
    match detail {
        Detail::Event(Event::Row(job, row)) => {
            if let Job::Call {
                kind,
                shape,
                rows,
                error,
                ..
            } = job
            {
                if error.is_some() {
                    return;
                }
                let decoded = match *kind {
                    Kind::Execute | Kind::ExecuteMany => return,
                    Kind::FetchRow if !rows.is_empty() => return,
                    Kind::FetchVal(_) if !rows.is_empty() => return,
                    Kind::FetchVal(i) => decode(py, &row, i, shape.types[i]),
                    Kind::Fetch | Kind::FetchRow | Kind::FetchMany => record(py, &row, shape),
                };
                match decoded {
                    Ok(v) => rows.push(v),
                    Err(e) => *error = Some(e),
                }
            }
        }
        Detail::Event(Event::Done(job, result)) => match job {
            Job::Describe { .. } => finished.push(Finished::Described(job, result)),
            Job::Call {
                future,
                kind,
                shape,
                rows,
                tag,
                error,
            } => {
                if let Err(e) = &result {
                    if e.code() == Some(STALE_STATEMENT) {
                        finished.push(Finished::Stale(shape));
                    }
                }
                let answer = match (result, error) {
                    (Err(e), _) => Err(py_error(py, &e)),
                    (Ok(()), Some(e)) => Err(e),
                    (Ok(()), None) => Ok(answer(py, kind, rows, tag)),
                };
                finished.push(Finished::Resolve(future, answer));
            }
        },
        Detail::Parameters(Job::Describe { params, .. }, types) => *params = types,
        Detail::Columns(Job::Describe { columns, .. }, c) => *columns = c,
        Detail::Complete(Job::Call { tag, .. }, t) => *tag = Some(t.to_owned()),
        Detail::Parameters(..) | Detail::Columns(..) | Detail::Complete(..) => {}
    }
}

/// A call's result from its rows.
fn answer(py: Python<'_>, kind: Kind, rows: Vec<Py<PyAny>>, tag: Option<String>) -> Py<PyAny> {
    match kind {
        Kind::Fetch | Kind::FetchMany => match PyList::new(py, rows) {
            Ok(list) => list.into_any().unbind(),
            Err(_) => py.None(),
        },
        Kind::FetchRow | Kind::FetchVal(_) => rows.into_iter().next().unwrap_or_else(|| py.None()),
        Kind::Execute => match tag {
            Some(t) => PyString::new(py, &t).into_any().unbind(),
            None => py.None(),
        },
        Kind::ExecuteMany => py.None(),
    }
}

/// Resolves the futures of finished calls, and queues the calls that waited for a
/// statement just described.
fn settle(py: Python<'_>, pool: u64, finished: Vec<Finished>) -> PyResult<()> {
    for f in finished {
        match f {
            Finished::Resolve(future, answer) => resolve(py, &future, answer),
            Finished::Described(job, result) => described(py, pool, job, result)?,
            // Dropped from the connection's statements when it was read (`forget_stale`).
            Finished::Stale(_) => {}
        }
    }
    Ok(())
}

/// Finishes `future` with `answer`, stepping its task at once where it can.
fn resolve(py: Python<'_>, future: &Py<PyAny>, answer: PyResult<Py<PyAny>>) {
    if let Err(e) = finish(py, future.bind(py), answer) {
        crate::serve::log_line("fasterapi.pg: error resuming a task:");
        e.display(py);
    }
}

/// Finishes `future` with `answer` (on the loop's thread, where the answer was read).
/// Outside any task, its one waiter (a task's wake-up, or a `gather`) runs at once, as a
/// turn of the loop would have run it next. A future done already was cancelled: its
/// call is gone.
fn finish(py: Python<'_>, future: &Bound<'_, PyAny>, answer: PyResult<Py<PyAny>>) -> PyResult<()> {
    if future
        .call_method0(pyo3::intern!(py, "done"))?
        .is_truthy()?
    {
        return Ok(());
    }
    let callbacks = future.getattr(pyo3::intern!(py, "_callbacks"))?;
    let mut waiter = None;
    if let Ok(list) = callbacks.cast::<PyList>() {
        if list.len() == 1 {
            let event_loop = future.getattr(pyo3::intern!(py, "_loop"))?;
            if aio::no_current_task(py, &event_loop)? {
                let (callback, context): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
                    list.get_item(0)?.extract()?;
                future.call_method1(pyo3::intern!(py, "remove_done_callback"), (&callback,))?;
                waiter = Some((callback, context));
            }
        }
    }
    match answer {
        Ok(v) => future.call_method1(pyo3::intern!(py, "set_result"), (v,))?,
        Err(e) => future.call_method1(pyo3::intern!(py, "set_exception"), (e.into_value(py),))?,
    };
    if let Some((callback, context)) = waiter {
        context.call_method1(pyo3::intern!(py, "run"), (callback, future))?;
    }
    Ok(())
}

/// A statement's Describe is answered: the calls that waited for it are queued (or
/// failed with its error).
fn described(
    py: Python<'_>,
    pool: u64,
    job: Job,
    result: Result<(), fasterapi_pg::Error>,
) -> PyResult<()> {
    let Job::Describe {
        sql,
        mut statement,
        params,
        columns,
    } = job
    else {
        return Ok(());
    };
    let mut failed = Vec::new();
    with_conn(pool, |tc| {
        let Some(Prepared::Describing(calls)) = tc.statements.remove(&sql) else {
            return Ok(());
        };
        if let Err(e) = result {
            for call in calls {
                failed.push((call.future, py_error(py, &e)));
            }
            return Ok(());
        }
        let refused = params
            .iter()
            .enumerate()
            .find(|(_, &t)| !decodes(t) || t == oid::VOID)
            .map(|(i, &t)| {
                format!(
                    "parameter ${} has type {}, which fasterapi.pg does not encode \
                     (it handles {DECODES})",
                    i + 1,
                    type_name(t)
                )
            })
            .or_else(|| {
                columns.iter().find(|c| !decodes(c.type_oid)).map(|c| {
                    format!(
                        "column {:?} has type {}, which fasterapi.pg does not decode \
                         (it handles {DECODES}); cast it in the SQL (`{}::text`)",
                        c.name,
                        type_name(c.type_oid),
                        c.name
                    )
                })
            });
        statement.set_types(params);
        let d = Rc::new(Described {
            statement,
            shape: Arc::new(Shape {
                names: columns.iter().map(|c| c.name.clone()).collect(),
                types: columns.iter().map(|c| c.type_oid).collect(),
            }),
            refused,
            last_used: Cell::new(tc.calls),
        });
        tc.statements.insert(sql, Prepared::Ready(d.clone()));
        for call in calls {
            if let Err(e) = queue(py, tc, &d, call.kind, call.args.bind(py), &call.future) {
                failed.push((call.future, e));
            }
        }
        if tc.conn.has_output() {
            // Answers are being read (this runs from the socket's reader, or a flush
            // loop): the calls go out now, one write.
            tc.flush(py, pool);
        }
        Ok(())
    })?;
    for (future, e) in failed {
        resolve(py, &future, Err(e));
    }
    Ok(())
}

/// Encodes `args` for `statement`'s parameters and queues the call's batch.
fn queue(
    py: Python<'_>,
    tc: &mut ThreadConn,
    d: &Rc<Described>,
    kind: Kind,
    args: &Bound<'_, PyAny>,
    future: &Py<PyAny>,
) -> PyResult<()> {
    if let Some(why) = &d.refused {
        return Err(PyTypeError::new_err(format!("fasterapi.pg: {why}")));
    }
    if let Kind::FetchVal(i) = kind {
        if i >= d.shape.types.len() {
            return Err(PyIndexError::new_err(format!(
                "fasterapi.pg: fetchval: column {i} is out of range (the result has {})",
                d.shape.types.len()
            )));
        }
    }
    let types = d.statement.types();
    match kind {
        Kind::ExecuteMany | Kind::FetchMany => {
            // Every argument tuple is encoded before any statement is queued: a bad one
            // fails the call with nothing sent.
            let mut all = Vec::new();
            for set in args.try_iter()? {
                let set = set?;
                let set = match set.cast::<PyTuple>() {
                    Ok(t) => t.clone(),
                    Err(_) => PyTuple::new(py, set.try_iter()?.collect::<PyResult<Vec<_>>>()?)?,
                };
                all.push(values(&set, types)?);
            }
            let mut params = Vec::with_capacity(types.len());
            for set in &all {
                params.clear();
                params.extend(set.iter().map(Value::param));
                if matches!(kind, Kind::ExecuteMany) {
                    tc.conn.execute_unsynced(&d.statement, &params);
                } else {
                    tc.conn.execute(&d.statement, &params);
                }
            }
            if matches!(kind, Kind::ExecuteMany) {
                // asyncpg's executemany is atomic: every statement in one transaction.
                tc.conn.sync();
            }
        }
        _ => {
            let set = values(args.cast::<PyTuple>()?, types)?;
            let params: Vec<Param<'_>> = set.iter().map(Value::param).collect();
            tc.conn.execute(&d.statement, &params);
        }
    }
    tc.conn.finish(Job::Call {
        future: future.clone_ref(py),
        kind,
        shape: d.shape.clone(),
        rows: Vec::new(),
        tag: None,
        error: None,
    });
    QUEUED.with(|q| q.set(true));
    Ok(())
}

/// An argument encoded for its parameter, owned until its statement is queued.
enum Value {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Text(String),
    Bytea(Vec<u8>),
    Int4Array(Vec<i32>),
}

impl Value {
    fn param(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Bool(v) => Param::Bool(*v),
            Value::Int2(v) => Param::Int2(*v),
            Value::Int4(v) => Param::Int4(*v),
            Value::Int8(v) => Param::Int8(*v),
            Value::Float4(v) => Param::Float4(*v),
            Value::Float8(v) => Param::Float8(*v),
            Value::Text(v) => Param::Text(v),
            Value::Bytea(v) => Param::Bytea(v),
            Value::Int4Array(v) => Param::Int4Array(v),
        }
    }
}

/// `args` encoded for parameters of `types`.
fn values(args: &Bound<'_, PyTuple>, types: &[Oid]) -> PyResult<Vec<Value>> {
    if args.len() != types.len() {
        return Err(interface_error(
            args.py(),
            format!(
                "fasterapi.pg: the statement expects {} argument{}, {} given",
                types.len(),
                if types.len() == 1 { "" } else { "s" },
                args.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(types.len());
    for (i, (value, &t)) in args.iter().zip(types).enumerate() {
        out.push(value_of(&value, t).map_err(|why| {
            PyTypeError::new_err(format!(
                "fasterapi.pg: argument ${} (for a parameter of type {}): {why}",
                i + 1,
                type_name(t)
            ))
        })?);
    }
    Ok(out)
}

fn value_of(value: &Bound<'_, PyAny>, t: Oid) -> Result<Value, String> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    let wrong = |want: &str| -> String {
        format!(
            "expected {want}, got {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        )
    };
    let int = |want: &str| -> Result<i64, String> {
        if !value.is_instance_of::<PyInt>() {
            return Err(wrong(want));
        }
        value
            .extract::<i64>()
            .map_err(|_| "the value is out of range".to_owned())
    };
    Ok(match t {
        oid::INT2 => Value::Int2(
            i16::try_from(int("an int")?).map_err(|_| "the value is out of int2's range")?,
        ),
        oid::INT4 => Value::Int4(
            i32::try_from(int("an int")?).map_err(|_| "the value is out of int4's range")?,
        ),
        oid::INT8 => Value::Int8(int("an int")?),
        oid::FLOAT4 | oid::FLOAT8 => {
            if !(value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>()) {
                return Err(wrong("a float"));
            }
            let v: f64 = value
                .extract()
                .map_err(|_| "the value is out of range".to_owned())?;
            if t == oid::FLOAT4 {
                Value::Float4(v as f32)
            } else {
                Value::Float8(v)
            }
        }
        oid::BOOL => Value::Bool(
            value
                .cast::<PyBool>()
                .map_err(|_| wrong("a bool"))?
                .is_true(),
        ),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => Value::Text(
            value
                .cast::<PyString>()
                .map_err(|_| wrong("a str"))?
                .to_str()
                .map_err(|e| e.to_string())?
                .to_owned(),
        ),
        oid::BYTEA => Value::Bytea(
            value
                .cast::<PyBytes>()
                .map_err(|_| wrong("bytes"))?
                .as_bytes()
                .to_vec(),
        ),
        oid::INT4_ARRAY => {
            if value.is_instance_of::<PyString>() {
                return Err(wrong("a list of int"));
            }
            let mut v = Vec::new();
            for item in value.try_iter().map_err(|_| wrong("a list of int"))? {
                let item = item.map_err(|e| e.to_string())?;
                if !item.is_instance_of::<PyInt>() {
                    return Err("every element of an int4[] must be an int".into());
                }
                let n: i64 = item.extract().map_err(|_| "an element is out of range")?;
                v.push(i32::try_from(n).map_err(|_| "an element is out of int4's range")?);
            }
            Value::Int4Array(v)
        }
        _ => {
            return Err(format!(
                "fasterapi.pg does not encode this type (it handles {DECODES})"
            ))
        }
    })
}

/// Column `i` of `row` as a Python value.
fn decode(py: Python<'_>, row: &Row<'_>, i: usize, t: Oid) -> PyResult<Py<PyAny>> {
    let bytes = row.get(i).map_err(|e| interface_error(py, e.to_string()))?;
    let Some(b) = bytes else {
        return Ok(py.None());
    };
    let bad = || {
        interface_error(
            py,
            format!("fasterapi.pg: column {i}: malformed {}", type_name(t)),
        )
    };
    Ok(match t {
        oid::INT2 => i16::from_be_bytes(b.try_into().map_err(|_| bad())?)
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        oid::INT4 => i32::from_be_bytes(b.try_into().map_err(|_| bad())?)
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        oid::INT8 => i64::from_be_bytes(b.try_into().map_err(|_| bad())?)
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        oid::FLOAT4 => f64::from(f32::from_be_bytes(b.try_into().map_err(|_| bad())?))
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        oid::FLOAT8 => f64::from_be_bytes(b.try_into().map_err(|_| bad())?)
            .into_pyobject(py)?
            .into_any()
            .unbind(),
        oid::BOOL => match b {
            [v] => PyBool::new(py, *v != 0).to_owned().into_any().unbind(),
            _ => return Err(bad()),
        },
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME => {
            PyString::new(py, std::str::from_utf8(b).map_err(|_| bad())?)
                .into_any()
                .unbind()
        }
        oid::BYTEA => PyBytes::new(py, b).into_any().unbind(),
        oid::INT4_ARRAY => int4_array(py, b).ok_or_else(bad)??,
        oid::VOID => py.None(),
        // Refused when the statement was described.
        _ => {
            return Err(interface_error(
                py,
                format!("fasterapi.pg: column {i} has type {}", type_name(t)),
            ))
        }
    })
}

/// An `int4[]` in binary (dimensions, a null flag, the element type, each dimension's
/// length and lower bound, then each element's length and bytes) as a list, `None` for
/// NULL elements; `None` if malformed or of more than one dimension.
fn int4_array(py: Python<'_>, b: &[u8]) -> Option<PyResult<Py<PyAny>>> {
    let word = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let dims = word(0)?;
    if dims == 0 {
        return Some(Ok(PyList::empty(py).into_any().unbind()));
    }
    if dims != 1 {
        return None;
    }
    let len = usize::try_from(word(12)?).ok()?;
    let mut at = 20;
    let list = PyList::empty(py);
    for _ in 0..len {
        let n = word(at)?;
        at += 4;
        let appended = if n < 0 {
            list.append(py.None())
        } else {
            let v = word(at)?;
            at += 4;
            list.append(v)
        };
        if let Err(e) = appended {
            return Some(Err(e));
        }
    }
    Some(Ok(list.into_any().unbind()))
}

/// A row as a [`Record`].
fn record(py: Python<'_>, row: &Row<'_>, shape: &Arc<Shape>) -> PyResult<Py<PyAny>> {
    let mut values = Vec::with_capacity(shape.types.len());
    for (i, &t) in shape.types.iter().enumerate() {
        values.push(decode(py, row, i, t)?);
    }
    let values = PyTuple::new(py, values)?.unbind();
    Ok(Bound::new(
        py,
        Record {
            values,
            shape: shape.clone(),
        },
    )?
    .into_any()
    .unbind())
}

/// `fasterapi.pg.Record`: a row, as asyncpg's: `r[0]`, `r["name"]`, `len(r)`, iteration
/// over its values, `keys()`, `values()`, `items()`, `get(name, default)`.
#[pyclass(frozen, module = "fasterapi.pg", name = "Record", sequence)]
pub(crate) struct Record {
    values: Py<PyTuple>,
    shape: Arc<Shape>,
}

#[pymethods]
impl Record {
    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let values = self.values.bind(py);
        if let Ok(i) = key.cast::<PyInt>() {
            let i: isize = i.extract()?;
            let n = values.len() as isize;
            let at = if i < 0 { i + n } else { i };
            if at < 0 || at >= n {
                return Err(PyIndexError::new_err("record index out of range"));
            }
            return Ok(values.get_item(at as usize)?.unbind());
        }
        if let Ok(name) = key.cast::<PyString>() {
            let name = name.to_str()?;
            return match self.shape.names.iter().position(|n| n == name) {
                Some(i) => Ok(values.get_item(i)?.unbind()),
                None => Err(PyKeyError::new_err(name.to_owned())),
            };
        }
        if key.is_instance_of::<pyo3::types::PySlice>() {
            return Ok(values.as_any().get_item(key)?.unbind());
        }
        Err(PyTypeError::new_err(
            "a record is indexed by an int (position) or a str (column name)",
        ))
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.values.bind(py).len()
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.values.bind(py).try_iter()?.into_any().unbind())
    }

    fn __contains__(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.values.bind(py).contains(value)
    }

    /// The column names.
    fn keys(&self) -> Vec<String> {
        self.shape.names.clone()
    }

    /// The values, in column order.
    fn values(&self, py: Python<'_>) -> Py<PyTuple> {
        self.values.clone_ref(py)
    }

    /// `(name, value)` pairs, in column order.
    fn items(&self, py: Python<'_>) -> PyResult<Vec<(String, Py<PyAny>)>> {
        let values = self.values.bind(py);
        Ok(self
            .shape
            .names
            .iter()
            .zip(values.iter())
            .map(|(n, v)| (n.clone(), v.unbind()))
            .collect())
    }

    /// The value of column `name`, or `default`.
    #[pyo3(signature = (name, default = None))]
    fn get(&self, py: Python<'_>, name: &str, default: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        match self.shape.names.iter().position(|n| n == name) {
            Some(i) => Ok(self.values.bind(py).get_item(i)?.unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(r) = other.cast::<Record>() {
            return self.values.bind(py).eq(r.get().values.bind(py));
        }
        self.values.bind(py).eq(other)
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.values.bind(py).hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = self.values.bind(py);
        let mut s = String::from("<Record");
        for (n, v) in self.shape.names.iter().zip(values.iter()) {
            s.push(' ');
            s.push_str(n);
            s.push('=');
            s.push_str(&v.repr()?.to_string());
        }
        s.push('>');
        Ok(s)
    }
}

/// What a call of a pool returns (`pool.fetchrow(sql, *args)`, ...):
/// `fasterapi._fasterapi.PgCall`, a coroutine made in Rust (registered as a
/// `collections.abc.Coroutine`), so that it goes wherever asyncpg's calls go: `await`,
/// `asyncio.create_task`, `gather`, `wait_for`, `ensure_future`.
///
/// As a coroutine, it does nothing until its first step: then it queues its statement
/// ([`PgPool::call`]) and waits for the asyncio future the answer resolves, through that
/// future's own `__await__` iterator (so a cancelled or failed call ends as awaiting the
/// future would). Never stepped, nothing is sent, and closing it frees it; `throw` (a
/// cancellation, a timeout) or `close` while it waits cancels the future, so that the
/// answer, when it comes, is dropped.
#[pyclass(module = "fasterapi._fasterapi", name = "PgCall")]
pub(crate) struct PgCall {
    state: CallState,
}

/// Where a [`PgCall`] is.
enum CallState {
    /// Not stepped yet: the call it makes at its first step.
    Unstarted {
        pool: Py<PgPool>,
        kind: Kind,
        sql: Py<PyString>,
        args: Py<PyAny>,
    },
    /// Queued: waiting for `future` through `waiter`, its `__await__` iterator.
    Waiting {
        future: Py<PyAny>,
        waiter: Py<PyAny>,
    },
    /// Finished (or failed, or closed).
    Done,
}

impl PgCall {
    /// A call of `pool`, to be made at its first step. Refused at once from a thread that
    /// has no server loop (a `def` handler's), where no step could make it.
    fn new(
        pool: &Bound<'_, PgPool>,
        kind: Kind,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyAny>,
    ) -> PyResult<PgCall> {
        if aio::driven_loop(pool.py()).is_none() {
            return Err(not_on_loop());
        }
        Ok(PgCall {
            state: CallState::Unstarted {
                pool: pool.clone().unbind(),
                kind,
                sql: sql.unbind(),
                args: args.unbind(),
            },
        })
    }

    /// A step with `value` sent in: the first queues the call, every one steps the wait
    /// for its answer.
    fn step(&mut self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Stepped> {
        match std::mem::replace(&mut self.state, CallState::Done) {
            CallState::Unstarted {
                pool,
                kind,
                sql,
                args,
            } => {
                if !value.is_none() {
                    self.state = CallState::Unstarted {
                        pool,
                        kind,
                        sql,
                        args,
                    };
                    return Err(PyTypeError::new_err(
                        "can't send non-None value to a just-started coroutine",
                    ));
                }
                let future = pool
                    .get()
                    .call(py, kind, sql.bind(py).to_str()?, args.bind(py))?;
                // An asyncio future's `__await__` iterator is also its `__iter__`'s.
                let waiter = future.bind(py).try_iter()?.into_any().unbind();
                self.wait(py, future, waiter, value)
            }
            CallState::Waiting { future, waiter } => self.wait(py, future, waiter, value),
            CallState::Done => Err(PyRuntimeError::new_err(
                "cannot reuse already awaited coroutine",
            )),
        }
    }

    /// Steps `waiter`, the wait for `future`: it yields the future to the task until the
    /// future is done, then returns its result (or raises its exception).
    fn wait(
        &mut self,
        py: Python<'_>,
        future: Py<PyAny>,
        waiter: Py<PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Stepped> {
        let mut out = std::ptr::null_mut();
        // SAFETY: `waiter` and `value` are live objects held for the call, `out` is
        // writable, and the GIL is held (`py`); `PyIter_Send` hands back a new reference
        // in `out` (a yielded object or the result), or NULL with the error set.
        let sent = unsafe { pyo3::ffi::PyIter_Send(waiter.as_ptr(), value.as_ptr(), &mut out) };
        match sent {
            pyo3::ffi::PySendResult::PYGEN_NEXT => {
                self.state = CallState::Waiting { future, waiter };
                // SAFETY: a new reference, as above.
                Ok(Stepped::Yield(
                    unsafe { Bound::from_owned_ptr(py, out) }.unbind(),
                ))
            }
            // SAFETY: a new reference, as above.
            pyo3::ffi::PySendResult::PYGEN_RETURN => Ok(Stepped::Return(Some(unsafe {
                Bound::from_owned_ptr(py, out).unbind()
            }))),
            _ => Err(PyErr::fetch(py)),
        }
    }

    /// Gives the call up (`throw`, `close`): nothing is sent if it was not stepped; its
    /// future is cancelled if it waits, so that its answer is dropped.
    fn give_up(&mut self, py: Python<'_>) -> PyResult<()> {
        if let CallState::Waiting { future, .. } =
            std::mem::replace(&mut self.state, CallState::Done)
        {
            future.bind(py).call_method0(pyo3::intern!(py, "cancel"))?;
        }
        Ok(())
    }

    /// The pool method that made it.
    fn method(kind: Kind) -> &'static str {
        match kind {
            Kind::Fetch => "fetch",
            Kind::FetchRow => "fetchrow",
            Kind::FetchVal(_) => "fetchval",
            Kind::Execute => "execute",
            Kind::ExecuteMany => "executemany",
            Kind::FetchMany => "fetchmany",
        }
    }
}

impl RustCoroutine for PgCall {
    const WHAT: &'static str = "a fasterapi.pg call";

    fn step_with(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Stepped> {
        self.step(py, &value)
    }
}

/// A call never stepped warns as an `async def` coroutine never awaited does: its
/// statement was not sent.
impl Drop for PgCall {
    fn drop(&mut self) {
        let CallState::Unstarted { kind, .. } = self.state else {
            return;
        };
        Python::attach(|py| {
            let message = format!(
                "coroutine 'Pool.{}' was never awaited: fasterapi.pg sent nothing",
                PgCall::method(kind)
            );
            let warned = std::ffi::CString::new(message)
                .map_err(|e| PyValueError::new_err(e.to_string()))
                .and_then(|m| {
                    let category = py.get_type::<pyo3::exceptions::PyRuntimeWarning>();
                    PyErr::warn(py, &category, &m, 1)
                });
            if let Err(e) = warned {
                e.write_unraisable(py, None);
            }
        });
    }
}

#[pymethods]
impl PgCall {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Ok(self.step(py, &py.None().into_bound(py))?.into_next(py))
    }

    /// `coroutine.send(value)`: a step.
    fn send(&mut self, py: Python<'_>, value: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.step(py, &value)?.into_method()
    }

    /// `coroutine.throw(exc)`: the call is given up ([`PgCall::give_up`]) and `exc`
    /// raised.
    #[pyo3(signature = (typ, val = None, _tb = None))]
    fn throw(
        &mut self,
        py: Python<'_>,
        typ: Bound<'_, PyAny>,
        val: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.give_up(py)?;
        let exc = match val {
            Some(v) if !v.is_none() => v,
            _ => typ,
        };
        Err(PyErr::from_value(exc))
    }

    /// `coroutine.close()`: the call is given up ([`PgCall::give_up`]).
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.give_up(py)
    }

    fn __repr__(&self) -> String {
        match &self.state {
            CallState::Unstarted { kind, .. } => {
                format!("<fasterapi.pg call {}, not awaited>", PgCall::method(*kind))
            }
            CallState::Waiting { .. } => "<fasterapi.pg call, waiting>".to_owned(),
            CallState::Done => "<fasterapi.pg call, finished>".to_owned(),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        match &self.state {
            CallState::Unstarted {
                pool, sql, args, ..
            } => {
                visit.call(pool)?;
                visit.call(sql)?;
                visit.call(args)
            }
            CallState::Waiting { future, waiter } => {
                visit.call(future)?;
                visit.call(waiter)
            }
            CallState::Done => Ok(()),
        }
    }

    fn __clear__(&mut self) {
        self.state = CallState::Done;
    }
}

impl PgPool {
    /// Queues a call on this thread's connection (made first if there is none, or the
    /// last one broke) and returns its future.
    fn call(
        &self,
        py: Python<'_>,
        kind: Kind,
        sql: &str,
        args: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(pool_closed(py));
        }
        let h = helpers(py)?;
        let event_loop = match aio::driven_loop(py) {
            Some(l) => l,
            None => return Err(not_on_loop()),
        };
        let running = h.get_running_loop.bind(py).call0()?;
        if !running.is(event_loop.bind(py)) {
            return Err(not_on_loop());
        }
        let future = event_loop
            .bind(py)
            .call_method0(pyo3::intern!(py, "create_future"))?
            .unbind();
        let call = Call {
            kind,
            args: args.clone().unbind(),
            future: future.clone_ref(py),
        };
        // One look at this thread's connections: queued on its connection if it is open,
        // handed back (with the connection, if it broke) otherwise.
        let unqueued = with_conns(|conns| {
            if let Some(tc) = conns.get_mut(&self.id) {
                if tc.conn.broken().is_none() {
                    return enqueue(py, tc, self.id, sql, call).map(|()| None);
                }
            }
            Ok(Some((conns.remove(&self.id), call)))
        })?;
        let Some((broken, call)) = unqueued else {
            return Ok(future);
        };
        if let Some(mut tc) = broken {
            // Broken by a write, its reader has not run since: its calls in flight, and
            // those waiting for a statement, fail now with what broke it.
            let mut finished = Vec::new();
            tc.conn
                .process_detailed(|detail| on_detail(py, detail, &mut finished));
            let _ = tc.unwatch(py);
            let e = tc.conn.broken().cloned();
            fail_describing(py, tc.statements, e.as_ref());
            settle(py, self.id, finished)?;
        }
        // Settling ran Python, which cannot have opened a connection meanwhile: opening
        // one takes turns of the loop. Its calls wait for the one being opened, if any.
        self.open(py, &event_loop, sql, call)?;
        Ok(future)
    }

    /// Has `call` wait for this thread's connection, opening it unless it is being
    /// opened already: without blocking, its socket watched by the thread's loop
    /// (`event_loop`), given up at the connect timeout.
    fn open(&self, py: Python<'_>, event_loop: &Py<PyAny>, sql: &str, call: Call) -> PyResult<()> {
        let call = with_opening(|opening| match opening.get_mut(&self.id) {
            Some(o) => {
                o.waiting.push((sql.to_owned(), call));
                Ok(None)
            }
            None => Ok(Some(call)),
        })?;
        let Some(call) = call else {
            return Ok(());
        };
        if !self.note_loop(py, event_loop) {
            return Err(pool_closed(py));
        }
        let lp = event_loop.bind(py);
        let phase = if self.config.needs_lookup() {
            let lookup = helpers(py)?.lookup.bind(py).call1((
                lp,
                self.config.host.as_str(),
                self.config.port,
            ))?;
            let done = Bound::new(py, PgLookedUp { pool: self.id })?;
            lookup.call_method1(pyo3::intern!(py, "add_done_callback"), (done,))?;
            Phase::LookingUp {
                lookup: lookup.unbind(),
                config: self.config.clone(),
            }
        } else {
            let connecting = Connecting::start(&self.config).map_err(|e| py_error(py, &e))?;
            Phase::Connecting(Box::new(Socket::watch(
                py, self.id, event_loop, connecting,
            )?))
        };
        let timer = lp
            .call_method1(
                pyo3::intern!(py, "call_later"),
                (
                    self.config.connect_timeout.as_secs_f64(),
                    Bound::new(py, PgOpenTimeout { pool: self.id })?,
                ),
            )?
            .unbind();
        with_opening(|opening| {
            opening.insert(
                self.id,
                Opening {
                    phase,
                    event_loop: event_loop.clone_ref(py),
                    timer,
                    waiting: vec![(sql.to_owned(), call)],
                },
            );
            Ok(())
        })
    }
}

/// Queues `call` of statement `sql` on this thread's connection `tc` of `pool`: at once
/// if the statement is prepared, after its Parse + Describe otherwise.
fn enqueue(py: Python<'_>, tc: &mut ThreadConn, pool: u64, sql: &str, call: Call) -> PyResult<()> {
    tc.calls += 1;
    match tc.statements.get_mut(sql) {
        Some(Prepared::Ready(d)) => {
            d.last_used.set(tc.calls);
            let d = d.clone();
            queue(py, tc, &d, call.kind, call.args.bind(py), &call.future)?;
        }
        Some(Prepared::Describing(calls)) => calls.push(call),
        None => {
            if let Some(r) = session::refused(sql) {
                return Err(PyNotImplementedError::new_err(format!(
                    "fasterapi.pg does not run {}: {}",
                    r.what, r.why
                )));
            }
            if tc.statements.len() >= STATEMENT_CACHE {
                evict_one(tc).map_err(|e| py_error(py, &e))?;
            }
            let statement = tc.conn.describe(sql).map_err(|e| py_error(py, &e))?;
            tc.conn.finish(Job::Describe {
                sql: sql.to_owned(),
                statement,
                params: Vec::new(),
                columns: Vec::new(),
            });
            tc.statements
                .insert(sql.to_owned(), Prepared::Describing(vec![call]));
            QUEUED.with(|q| q.set(true));
        }
    }
    if !SERVING.with(Cell::get) {
        // Nobody flushes at the end of a pass: written now.
        tc.flush(py, pool);
        QUEUED.with(|q| q.set(false));
    }
    Ok(())
}

/// Closes the least recently used statement of `tc` (those still being described
/// stay).
fn evict_one(tc: &mut ThreadConn) -> Result<(), fasterapi_pg::Error> {
    let oldest = tc
        .statements
        .iter()
        .filter_map(|(sql, p)| match p {
            Prepared::Ready(d) => Some((d.last_used.get(), sql)),
            Prepared::Describing(_) => None,
        })
        .min()
        .map(|(_, sql)| sql.clone());
    if let Some(sql) = oldest {
        if let Some(Prepared::Ready(d)) = tc.statements.remove(&sql) {
            tc.conn.close_statement(&d.statement)?;
        }
    }
    Ok(())
}

/// A call made after its pool was closed.
fn pool_closed(py: Python<'_>) -> PyErr {
    interface_error(py, "fasterapi.pg: the pool is closed".into())
}

/// A call in flight (or waiting for a statement or a connection) when its pool closed.
fn closed_under(py: Python<'_>) -> PyErr {
    interface_error(py, "fasterapi.pg: the pool was closed".into())
}

fn not_on_loop() -> PyErr {
    PyRuntimeError::new_err(
        "fasterapi.pg runs only in `async def` code on the server's event loop (an `async \
         def` handler, dependency, background task or the lifespan); `def` handlers run on \
         the worker pool, where it is not supported: make the handler `async def`",
    )
}

#[pymethods]
impl PgPool {
    #[new]
    #[pyo3(signature = (host, port, user, password, database, timeout))]
    fn new(
        host: String,
        port: u16,
        user: String,
        password: String,
        database: String,
        timeout: f64,
    ) -> PyResult<Self> {
        let connect_timeout = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "timeout is a number of seconds above 0, not {timeout}"
                ))
            })?;
        Ok(PgPool {
            id: POOLS.fetch_add(1, Ordering::Relaxed),
            config: Config {
                host,
                port,
                user,
                password,
                dbname: database,
                connect_timeout,
            },
            closed: AtomicBool::new(false),
            loops: Mutex::new(Vec::new()),
        })
    }

    /// `await pool.fetch(sql, *args)`: the rows, a list of records.
    #[pyo3(signature = (sql, *args))]
    fn fetch(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::Fetch, sql, args.into_any())
    }

    /// `await pool.fetchrow(sql, *args)`: the first row, or None.
    #[pyo3(signature = (sql, *args))]
    fn fetchrow(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::FetchRow, sql, args.into_any())
    }

    /// `await pool.fetchval(sql, *args, column=0)`: a column of the first row, or None.
    #[pyo3(signature = (sql, *args, column = 0))]
    fn fetchval(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyTuple>,
        column: usize,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::FetchVal(column), sql, args.into_any())
    }

    /// `await pool.execute(sql, *args)`: the command's status (`"UPDATE 3"`).
    #[pyo3(signature = (sql, *args))]
    fn execute(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyTuple>,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::Execute, sql, args.into_any())
    }

    /// `await pool.executemany(sql, args)`: the statement once per argument tuple, all in
    /// one transaction (as asyncpg's: none applies if one fails); None.
    fn executemany(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyAny>,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::ExecuteMany, sql, args)
    }

    /// `await pool.fetchmany(sql, args)`: the statement once per argument tuple, each its
    /// own transaction, pipelined; the rows of all, a list of records.
    fn fetchmany(
        slf: &Bound<'_, Self>,
        sql: Bound<'_, PyString>,
        args: Bound<'_, PyAny>,
    ) -> PyResult<PgCall> {
        PgCall::new(slf, Kind::FetchMany, sql, args)
    }

    /// `await pool._open()`: this thread's connection, opened (`create_pool` checks the
    /// settings with it): an empty statement, run once it is.
    fn _open(slf: &Bound<'_, Self>) -> PyResult<PgCall> {
        let py = slf.py();
        PgCall::new(
            slf,
            Kind::Execute,
            PyString::new(py, ""),
            PyTuple::empty(py).into_any(),
        )
    }

    /// Closes the pool: calls fail from now on. This thread's connection is closed now;
    /// each other thread's is closed by that thread, the close sent through its event
    /// loop (`call_soon_threadsafe`). Returns a `concurrent.futures.Future` per thread
    /// the close was sent to, done once it closed its connection.
    fn _close(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        let loops = {
            let mut loops = self.loops();
            self.closed.store(true, Ordering::Relaxed);
            std::mem::take(&mut *loops)
        };
        let here = aio::driven_loop(py);
        let mut sent = Vec::new();
        for event_loop in loops {
            if here.as_ref().is_some_and(|h| h.is(&event_loop)) {
                continue;
            }
            let done = helpers(py)?.new_thread_future.bind(py).call0()?;
            let close = Bound::new(
                py,
                PgCloseHere {
                    pool: self.id,
                    done: done.clone().unbind(),
                },
            )?;
            // A loop closed already (its thread stopped serving): its connection went
            // with it.
            if event_loop
                .bind(py)
                .call_method1(pyo3::intern!(py, "call_soon_threadsafe"), (close,))
                .is_ok()
            {
                sent.push(done.unbind());
            }
        }
        close_here(py, self.id)?;
        Ok(sent)
    }

    /// The seconds connecting may take (`create_pool(timeout=)`).
    #[getter]
    fn _timeout(&self) -> f64 {
        self.config.connect_timeout.as_secs_f64()
    }

    /// Whether this thread is opening a connection of the pool (for tests).
    fn _opening(&self) -> PyResult<bool> {
        with_opening(|opening| Ok(opening.contains_key(&self.id)))
    }

    /// This thread's connection's counters (for tests): `writes` (write calls that sent
    /// bytes), `in_flight` (batches not answered); None without a connection.
    fn _stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        with_conn(self.id, |tc| {
            let d = PyDict::new(py);
            d.set_item("writes", tc.conn.writes())?;
            d.set_item("in_flight", tc.conn.in_flight())?;
            d.set_item("statements", tc.statements.len())?;
            Ok(d)
        })
    }
}

/// Registers the classes in `fasterapi._fasterapi`.
pub(crate) fn populate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PgPool>()?;
    m.add_class::<Record>()?;
    m.add_class::<PgCall>()?;
    crate::coroutine::install_slots::<PgCall>(m.py());
    m.add_class::<PgReady>()?;
    m.add_class::<PgWritable>()?;
    m.add_class::<PgCloseHere>()?;
    m.add_class::<PgOpening>()?;
    m.add_class::<PgOpenTimeout>()?;
    m.add_class::<PgLookedUp>()?;
    Ok(())
}
