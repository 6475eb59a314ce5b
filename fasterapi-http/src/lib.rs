//! The fasterapi HTTP/1.1 server.
//!
//! Each I/O thread owns a `mio::Poll`, its own `SO_REUSEPORT` listener and its
//! connections; with one per CPU, each is pinned to its own ([`Config::pin_threads`]).
//! A readable connection is read until the socket is drained, every complete request in
//! the buffer is parsed (no copies: a scanner for the common head, httparse for everything
//! else), routed, and answered by a handler running inline on that thread, and all
//! answers of the pass go out with one `write`/`writev`. In steady state a request
//! allocates nothing.
//!
//! Handlers are plain functions or closures from [`Request`] to anything that is
//! [`IntoResponse`]: a [`Response`], a `&'static str`, or a `Result` whose error is an
//! [`Error`] (answered with its status and a JSON `detail`).
//!
//! ```
//! use fasterapi_http::{App, Error, Request, Response};
//! use std::io::{Read, Write};
//!
//! let mut app = App::new();
//! app.get("/plaintext", |_req: &Request| "Hello, World!");
//! app.get("/users/{id}", |req: &Request| -> Result<Response, Error> {
//!     let id: u64 = req.param("id")?;
//!     Ok(Response::json(|o| {
//!         o.field("id", id);
//!     }))
//! });
//! app.config_mut().threads = 1;
//!
//! // Port 0 picks a free port; `spawn` serves on background threads.
//! let server = app.bind("127.0.0.1:0")?.spawn()?;
//! let mut conn = std::net::TcpStream::connect(server.local_addr())?;
//! conn.write_all(b"GET /users/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with(r#"{"id":7}"#));
//! server.shutdown()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! For services: shared state by type ([`App::with_state`], [`Request::state`]),
//! [`middleware`] on the app and on route groups ([`App::middleware`], [`App::before`],
//! [`App::after`], [`App::around`], [`App::scope`]; built-ins [`DefaultHeaders`],
//! [`RequestId`] and the [`cors`] policy), any-method routes ([`App::any`]), custom
//! 404/405 answers ([`App::no_route`]), cookies ([`Request::cookie`]), errors with headers
//! ([`Error::with_header`]). With the `serde` feature (off in this crate, on by default in
//! the `fasterapi` facade), the `serde_io` module adds typed JSON bodies, query strings, path
//! parameters and forms, and JSON responses from any `Serialize` value. Routes that use
//! none of these cost what they did before them.
//!
//! A body of unknown length is a [`BodyStream`]: the pieces of an iterator, or of a
//! [`BodySender`] fed from any thread, sent chunked (HTTP/1.1) or until the connection
//! closes (HTTP/1.0), the next piece asked for only once the client took the last:
//!
//! ```
//! use fasterapi_http::{App, BodyStream, Request, Response};
//! use std::io::{Read, Write};
//!
//! let mut app = App::new();
//! app.get("/count", |_req: &Request| Response::stream((1..=3).map(|i| format!("{i};"))));
//! app.get("/feed", |_req: &Request| {
//!     let (tx, body) = BodyStream::channel(64 * 1024);
//!     std::thread::spawn(move || {
//!         for word in ["fed ", "from ", "a thread"] {
//!             if tx.send(word).is_err() {
//!                 return; // the client left
//!             }
//!         }
//!         tx.finish();
//!     });
//!     Response::stream(body).with_content_type("text/plain")
//! });
//! app.config_mut().threads = 1;
//! let server = app.bind("127.0.0.1:0")?.spawn()?;
//! let mut conn = std::net::TcpStream::connect(server.local_addr())?;
//! conn.write_all(b"GET /count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! conn.read_to_string(&mut answer)?;
//! assert!(answer.contains("Transfer-Encoding: chunked\r\n"));
//! assert!(answer.ends_with("\r\n\r\n2\r\n1;\r\n2\r\n2;\r\n2\r\n3;\r\n0\r\n\r\n"));
//! server.shutdown()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! HTTP rules applied to every request (RFC 9110/9112): HTTP/1.1 needs exactly one
//! `Host`; `Content-Length` with `Transfer-Encoding`, conflicting or malformed lengths,
//! obs-fold and malformed chunk sizes are refused with 400 and the connection closed;
//! unknown transfer codings get 501; oversized heads, targets and bodies get 431, 414 and
//! 413; `HEAD` is served from `GET` without a body; keep-alive follows the HTTP/1.0 and
//! 1.1 defaults and `Connection: close`.
//!
//! Every byte a client sends costs bounded work. A request is routed as soon as its head
//! is in: one no route takes (404, 405) is answered without reading its body, then the
//! connection closes, and `Expect: 100-continue` is answered only for a request that will
//! be read. A chunked body is decoded as it arrives, each byte looked at once: a
//! chunk-size line over 4 KiB, more than 16 KiB of chunk extensions in one body, or framing
//! beyond 64 KiB plus 5 bytes per body byte (what 1-byte chunks cost) is refused with 400,
//! and a trailer section over `max_head_bytes` or `max_headers` gets 431. A malformed
//! request line gets 400; a well-formed HTTP version other than 1.x gets 505, and HTTP/1.2
//! to 1.9 are served as HTTP/1.1. A connection gets at most 32 requests or 256 KiB of
//! answers per readiness pass before the thread's other connections get theirs, and
//! buffers that grew for one large request return to the pooled size.
#![deny(
    missing_docs,
    missing_debug_implementations,
    clippy::undocumented_unsafe_blocks
)]

// The server is built on Linux's interfaces: epoll (through mio) with edge-triggered
// readiness, SO_REUSEPORT load spreading, timerfd, sched_setaffinity, MSG_NOSIGNAL and
// syscall(2) on the request path. Other systems are refused here rather than served
// half-tested.
#[cfg(not(target_os = "linux"))]
compile_error!("fasterapi-http runs on Linux only (epoll, SO_REUSEPORT, timerfd, MSG_NOSIGNAL)");

/// Reports a diagnostic through the `log` crate at `level` (`error`, `warn`, `info`), or on
/// stderr when the application installed no logger (`log`'s level is then `Off`), so that a
/// server without logging set up still says why it stopped or what failed.
macro_rules! diag {
    ($level:ident, $($arg:tt)+) => {
        if log::max_level() == log::LevelFilter::Off {
            eprintln!($($arg)+);
        } else {
            log::$level!($($arg)+);
        }
    };
}

mod app;
#[cfg(any(test, feature = "harness"))]
#[doc(hidden)]
pub mod bench_support;
mod config;
#[cfg(any(test, feature = "harness"))]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod proto;
mod server;

pub use app::cors;
pub use app::error::Error;
pub use app::files::{self, Conditions, FileResponse};
pub use app::form;
pub use app::group::Group;
pub use app::later::{Companion, Reply};
pub use app::middleware;
pub use app::middleware::{DefaultHeaders, Middleware, Next, RequestId};
pub use app::observe;
pub use app::request::Request;
pub use app::router;
#[cfg(feature = "serde")]
pub use app::serde_io;
#[cfg(feature = "serde")]
pub use app::serde_io::Json;
pub use app::websocket;
pub use app::{App, Config, NoRoute, RouteMut, RouteTableError};
pub use http::method::Method;
pub use http::response::{Body, FileRegion, IntoResponse, Response, StatusCode, Streamed};
pub use http::stream::{BodySender, BodyStream, Disconnected, StreamError, TrySendError};
pub use proto::compress::{Compression, Encoding};
pub use server::static_dir::StaticDir;
pub use server::test_server::TestServer;
pub use server::{RunningServer, Server, ShutdownHandle};

/// The names most applications need: `use fasterapi_http::prelude::*;`.
pub mod prelude {
    pub use crate::{
        App, Error, Group, IntoResponse, Method, Middleware, Next, Request, Response, StatusCode,
    };
}
