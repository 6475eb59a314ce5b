//! fasterapi: a minimal, very fast HTTP/1.1 web framework, FastAPI-style.
//!
//! This facade re-exports the server ([`fasterapi_http`]) at its root and the I/O-free
//! primitives ([`fasterapi_core`]) as [`core`]. Routes are plain functions:
//!
//! ```
//! use fasterapi::prelude::*;
//!
//! fn user(req: &Request) -> Result<Response, Error> {
//!     let id: u64 = req.param("id")?; // a bad id answers 400 naming `id`
//!     Ok(Response::json(|o| {
//!         o.field("id", id);
//!         o.field("name", "alice");
//!     }))
//! }
//!
//! let mut app = App::new();
//! app.get("/plaintext", |_req: &Request| Response::text("Hello, World!"));
//! app.get("/users/{id}", user);
//! // app.serve("127.0.0.1:8080") would serve until Ctrl-C.
//! let server = app.bind("127.0.0.1:0")?.spawn()?;
//! server.shutdown()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Features: `serde` (on by default) adds typed JSON bodies, query strings, path
//! parameters and forms, and JSON responses from any `Serialize` value
//! (the `serde_io` module, `examples/todo.rs`); `python` mounts Python handlers into a Rust app.
#![deny(missing_docs, missing_debug_implementations)]

pub use fasterapi_core as core;
pub use fasterapi_http::*;
