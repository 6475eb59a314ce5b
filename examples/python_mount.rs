//! Python routes served next to Rust routes by one Rust server.
//!
//! ```text
//! cargo run --release --features python --example python_mount [APP] [ADDR]
//! curl localhost:8080/rust          # a Rust handler
//! curl localhost:8080/users/7       # a Python handler from examples/python/hello.py
//! ```
//!
//! `APP` defaults to `examples/python/hello.py:app` (a file or a module, `:NAME` picks
//! the `FasterAPI` object). Works from a plain shell and from an activated virtualenv
//! (whose packages the Python handlers can then import).

use fasterapi::{App, Request, Response};
use fasterapi_py::MountPython;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target = args
        .next()
        .unwrap_or_else(|| "examples/python/hello.py:app".into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut app = App::new();
    // One I/O thread: Python handlers run inline on it (see MountPython::mount_python).
    app.config_mut().threads = 1;
    app.get("/rust", |_req: &Request| Response::text("Hello from Rust"));
    let n = app.mount_python(&target)?;
    let server = app.bind(addr.as_str())?;
    eprintln!(
        "python_mount: {n} Python routes from {target}, listening on http://{}",
        server.local_addr()
    );
    server.run()?;
    Ok(())
}
