//! FastAPI-style Python handlers served by the fasterapi Rust server.
//!
//! Two ways in:
//!
//! - The Python package `fasterapi` (this crate built by maturin as
//!   `fasterapi._fasterapi`, plus the Python modules of `python/fasterapi/`, laid out as
//!   FastAPI's: `fasterapi.applications`, `.responses`, `.params`...): `FasterAPI()` with
//!   `get`/`post`/`put`/`patch`/`delete` decorators and `app.run(host, port, workers)`.
//!   `pip install ./fasterapi-py`.
//! - Rust embedding: [`MountPython::mount_python`] loads a Python app file or module and
//!   serves its routes from a Rust [`App`](fasterapi_http::App), next to Rust routes.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! use fasterapi_http::{App, Request};
//! use fasterapi_py::MountPython;
//!
//! let mut app = App::new();
//! app.config_mut().threads = 1;
//! app.get("/health", |_req: &Request| "ok");
//! // Every route of the `app` object (a `fasterapi.FasterAPI`) in that file.
//! let mounted = app.mount_python("tests/mount_app.py:app")?;
//! assert!(mounted > 0);
//! // app.serve("127.0.0.1:8080") would serve until Ctrl-C.
//! let server = app.bind("127.0.0.1:0")?.spawn()?;
//! let mut conn = std::net::TcpStream::connect(server.local_addr())?;
//! conn.write_all(b"GET /py/7?flag=yes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer)?;
//! assert!(answer.ends_with(r#"{"id":7,"flag":true}"#), "{answer}");
//! server.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How a request reaches a Python handler
//!
//! A handler's signature is compiled once, at registration, into a plan (see the Python
//! package's docs for which parameter comes from where): the package describes each
//! route with a `RouteSpec` and each parameter with a `ParamSpec`, classes this crate
//! exports with the `Source` and `Conv` enums they name, so the protocol is defined once,
//! here. Per request the I/O
//! thread attaches to the interpreter (it keeps its Python thread state for its whole
//! life, so attaching is a GIL acquisition and nothing more), converts the path, query,
//! header, cookie and body values the plan names (checking the constraints of
//! `Query(ge=1)`-style markers), calls the handler with a tuple of arguments, and turns the
//! result into a [`Response`](fasterapi_http::Response): `dict`/`list`/`str`/numbers/`None`
//! are walked from Rust into fasterapi-core's JSON writer, writing into a pooled buffer.
//!
//! An `async def` handler's coroutine takes its first step at once, inside a task of the
//! I/O thread's asyncio loop; most finish there and are answered inline. One that
//! suspends stays on that loop, which the I/O thread drives between its socket events
//! (the loop's epoll descriptor is polled with the connections; see `aio.rs`), and
//! answers through a [`Reply`](fasterapi_http::Reply) when it ends. `def` handlers start
//! on the server's worker pool and move inline once their calls prove fast;
//! `blocking=True` keeps them on the pool, `blocking=False` inline.
//!
//! # PostgreSQL from Python handlers
//!
//! `fasterapi.pg` (`pg.rs`, `python/fasterapi/pg.py`) is an asyncpg-shaped PostgreSQL
//! driver for `async def` handlers on [`fasterapi_pg`]: one pipelined connection per I/O
//! thread and pool, driven by that thread's asyncio loop. A call is a coroutine made in
//! Rust (`PgCall`, see `coroutine.rs`) that queues its statement at its first step and waits
//! for an asyncio future; what a pass of the server loop queued leaves in one write when
//! the loop's companion runs, and answers resolve their futures on the I/O thread as soon
//! as they are read. `await pool.fetchrow("SELECT ... WHERE id = $1", 7)` costs no Python
//! driver code.
#![deny(
    missing_docs,
    missing_debug_implementations,
    clippy::undocumented_unsafe_blocks
)]

mod aio;
mod built;
mod coroutine;
mod dispatch;
mod embed;
mod errors;
mod files;
mod forms;
mod json;
mod middleware;
mod pg;
mod plan;
mod request;
mod serve;
mod stream;
mod testing;
mod websocket;

use pyo3::prelude::*;

pub use embed::{initialize, MountError, MountPython};

/// Fills the native module `fasterapi._fasterapi` (used for the extension module and for
/// the copy embedded by [`MountPython`]).
pub(crate) fn populate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<request::PyRequest>()?;
    m.add_class::<plan::Source>()?;
    m.add_class::<plan::Conv>()?;
    m.add_class::<plan::ParamSpec>()?;
    m.add_class::<dispatch::RouteSpec>()?;
    m.add_class::<testing::PyTestServer>()?;
    m.add_class::<dispatch::AppSpec>()?;
    m.add_class::<websocket::PyWsConn>()?;
    m.add_class::<websocket::PyInbox>()?;
    m.add_class::<websocket::PyAwaitable>()?;
    m.add_class::<websocket::PyWebSocketBase>()?;
    m.add_class::<websocket::PyHandlerCoro>()?;
    coroutine::install_slots::<websocket::PyAwaitable>(m.py());
    websocket::install_handler_slots(m.py());
    websocket::install_base_methods(m.py())?;
    websocket::install_inbox_slots(m.py())?;
    m.add_class::<websocket::PyLiveServer>()?;
    m.add_function(wrap_pyfunction!(websocket::join_server_stops, m)?)?;
    m.add_class::<serve::MetricsRegion>()?;
    pg::populate(m)?;
    m.add_function(wrap_pyfunction!(dispatch::setup, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::overrides_changed, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::overrides_version, m)?)?;
    m.add_function(wrap_pyfunction!(aio::after_response, m)?)?;
    m.add_function(wrap_pyfunction!(middleware::check_middleware, m)?)?;
    m.add_function(wrap_pyfunction!(forms::read_multipart, m)?)?;
    m.add_function(wrap_pyfunction!(forms::upload_memory, m)?)?;
    m.add_class::<forms::MemoryUpload>()?;
    forms::install_piece_source();
    m.add_function(wrap_pyfunction!(json::dumps, m)?)?;
    m.add_function(wrap_pyfunction!(json::render_json, m)?)?;
    m.add_function(wrap_pyfunction!(serve::serve, m)?)?;
    m.add_function(wrap_pyfunction!(serve::bench_dispatch, m)?)?;
    m.add_function(wrap_pyfunction!(serve::die_with_parent, m)?)?;
    Ok(())
}

/// The extension module `fasterapi._fasterapi`. It needs the GIL (pyo3 declares modules
/// free of it unless told): its code relies on it, the upload memory's `bytes` pieces, for
/// one, are reused once their reference count says only the memory holds them.
#[pymodule(gil_used = true)]
fn _fasterapi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    populate(m)
}
