//! The application: routes, handlers and server settings.

use std::io;
use std::net::ToSocketAddrs;

use crate::request::Request;
use crate::response::{IntoResponse, Response};
use crate::router::{Method, Router};
use crate::server::Server;

/// A route's handler, type-erased.
pub(crate) type Handler = Box<dyn Fn(&Request<'_>) -> Response + Send + Sync + 'static>;

/// What the router finds for a request.
pub(crate) struct Route {
    pub(crate) handler: Handler,
}

/// Server settings. `Config::default()` suits most uses; each limit is answered with its
/// own status when exceeded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// I/O threads, each with its own listener and event loop. `0` means one per core.
    pub threads: usize,
    /// Largest request head (request line and header fields) in bytes; more is 431.
    pub max_head_bytes: usize,
    /// Most header fields in one request; more is 431.
    pub max_headers: usize,
    /// Longest request target in bytes; longer is 414.
    pub max_target_bytes: usize,
    /// Largest request body in bytes; more is 413 (told from `Content-Length` before
    /// the body is read).
    pub max_body_bytes: usize,
    /// Size of the pooled read and write buffers.
    pub buffer_size: usize,
    /// Buffers each I/O thread keeps for reuse.
    pub pooled_buffers: usize,
    /// Length of each listener's accept queue.
    pub listen_backlog: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            threads: 0,
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            max_target_bytes: 8 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            buffer_size: 8 * 1024,
            pooled_buffers: 1024,
            listen_backlog: 1024,
        }
    }
}

/// An application: a set of routes and the settings to serve them with.
///
/// ```no_run
/// use fasterapi_http::{App, Request, Response};
///
/// fn main() -> std::io::Result<()> {
///     let mut app = App::new();
///     app.get("/plaintext", |_req: &Request| Response::text("Hello, World!"));
///     app.get("/users/{id}", |req: &Request| {
///         let id: u64 = req.param("id")?;
///         Ok::<_, fasterapi_http::Error>(Response::json(|o| {
///             o.field("id", id);
///         }))
///     });
///     app.serve("127.0.0.1:8080")
/// }
/// ```
pub struct App {
    pub(crate) router: Router<Route>,
    pub(crate) config: Config,
    route_errors: Vec<String>,
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    /// An app with no routes and the default [`Config`].
    pub fn new() -> App {
        App::with_config(Config::default())
    }

    /// An app with no routes and `config`.
    pub fn with_config(config: Config) -> App {
        App { router: Router::new(), config, route_errors: Vec::new() }
    }

    /// The settings, to change before serving.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Routes `method` requests for `pattern` (see [`crate::router`] for the syntax) to
    /// `handler`.
    ///
    /// The handler runs on the I/O thread that read the request, so it must not block. A
    /// panic in it answers 500 for that request only. A malformed or duplicate pattern is
    /// reported by [`App::bind`] / [`App::serve`], which then refuse to start.
    pub fn route<H, R>(&mut self, method: Method, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        let handler: Handler = Box::new(move |req| handler(req).into_response());
        if let Err(e) = self.router.insert(method, pattern, Route { handler }) {
            self.route_errors.push(e.to_string());
        }
        self
    }

    /// Routes `GET` (and so `HEAD`) requests for `pattern`.
    pub fn get<H, R>(&mut self, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Get, pattern, handler)
    }

    /// Routes `POST` requests for `pattern`.
    pub fn post<H, R>(&mut self, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Post, pattern, handler)
    }

    /// Routes `PUT` requests for `pattern`.
    pub fn put<H, R>(&mut self, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Put, pattern, handler)
    }

    /// Routes `PATCH` requests for `pattern`.
    pub fn patch<H, R>(&mut self, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Patch, pattern, handler)
    }

    /// Routes `DELETE` requests for `pattern`.
    pub fn delete<H, R>(&mut self, pattern: &str, handler: H) -> &mut App
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Delete, pattern, handler)
    }

    /// Binds the listeners (one per I/O thread, `SO_REUSEPORT`) without serving yet.
    /// Port 0 picks a free port, shared by all threads: see [`Server::local_addr`].
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        if !self.route_errors.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, self.route_errors.join("; ")));
        }
        Server::bind(self, addr)
    }

    /// Binds and serves until the server is shut down.
    pub fn serve(self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.bind(addr)?.run()
    }
}
