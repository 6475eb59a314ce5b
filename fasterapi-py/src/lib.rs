//! FastAPI-style Python handlers served by the fasterapi Rust server.
//!
//! Two ways in:
//!
//! - The Python package `fasterapi` (this crate built by maturin as
//!   `fasterapi._fasterapi`, plus `python/fasterapi/__init__.py`): `FasterAPI()` with
//!   `get`/`post`/`put`/`patch`/`delete` decorators and `app.run(host, port, workers)`.
//!   `pip install ./fasterapi-py`.
//! - Rust embedding: [`MountPython::mount_python`] loads a Python app file or module and
//!   serves its routes from a Rust [`App`](fasterapi_http::App), next to Rust routes.
//!
//! ```no_run
//! use fasterapi_http::{App, Request};
//! use fasterapi_py::MountPython;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut app = App::new();
//!     app.get("/health", |_req: &Request| "ok");
//!     // Every route of the `app` object in examples/python/hello.py.
//!     let mounted = app.mount_python("examples/python/hello.py:app")?;
//!     println!("{mounted} Python routes");
//!     app.serve("127.0.0.1:8080")?;
//!     Ok(())
//! }
//! ```
//!
//! # How a request reaches a Python handler
//!
//! A handler's signature is compiled once, at registration, into a positional plan (see
//! the Python package's docs for which parameter comes from where). Per request the I/O
//! thread attaches to the interpreter (it keeps its Python thread state for its whole
//! life, so attaching is a GIL acquisition and nothing more), converts the path, query and
//! body values the plan names, calls the handler with a tuple of arguments, and turns the
//! result into a [`Response`](fasterapi_http::Response): `dict`/`list`/`str`/numbers/`None`
//! are walked from Rust into fasterapi-core's JSON writer, writing into a pooled buffer.
//! `async def` handlers are driven once with `PyIter_Send` while the thread's event loop is
//! marked running; only a coroutine that really suspends is finished on that loop.
//! Routes registered with `blocking=True` run on the server's executor pool instead.
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]

mod dispatch;
mod embed;
mod json;
mod plan;
mod request;
mod serve;

use pyo3::prelude::*;

pub use embed::{initialize, MountError, MountPython};

/// Fills the native module `fasterapi._fasterapi` (used for the extension module and for
/// the copy embedded by [`MountPython`]).
pub(crate) fn populate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<request::PyRequest>()?;
    m.add_function(wrap_pyfunction!(dispatch::setup, m)?)?;
    m.add_function(wrap_pyfunction!(json::dumps, m)?)?;
    m.add_function(wrap_pyfunction!(serve::serve, m)?)?;
    m.add_function(wrap_pyfunction!(serve::bench_dispatch, m)?)?;
    m.add_function(wrap_pyfunction!(serve::die_with_parent, m)?)?;
    Ok(())
}

/// The extension module `fasterapi._fasterapi`.
#[pymodule]
fn _fasterapi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    populate(m)
}
