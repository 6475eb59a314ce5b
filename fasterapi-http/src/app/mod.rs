//! The application: routes, handlers and server settings.

pub(crate) mod error;
pub(crate) mod later;
pub(crate) mod request;
pub mod router;
pub mod websocket;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::app::later::{Companion, CompanionFactory};
pub use crate::config::Config;

use crate::app::request::Request;
use crate::app::router::{Method, Router};
use crate::http::response::{IntoResponse, Response};

/// A route's handler, type-erased.
pub(crate) type Handler = Box<dyn Fn(&Request<'_>) -> Response + Send + Sync + 'static>;

/// Where a route's handler runs.
pub(crate) enum Placement {
    /// On the I/O thread that read the request.
    Inline,
    /// On the worker pool.
    Pool,
    /// On the worker pool while the flag is set, else inline; whoever holds the flag
    /// decides (see [`RouteMut::blocking_while`]).
    Switch(Arc<AtomicBool>),
}

/// What the router finds for a request.
pub(crate) struct Route {
    pub(crate) handler: Handler,
    pub(crate) placement: Placement,
}

impl Route {
    /// Whether this request goes to the worker pool.
    #[inline]
    pub(crate) fn on_pool(&self) -> bool {
        match &self.placement {
            Placement::Inline => false,
            Placement::Pool => true,
            Placement::Switch(flag) => flag.load(Ordering::Relaxed),
        }
    }

    /// Runs the handler; a panic in it becomes a 500 for this request only (the panic
    /// hook has already printed the message and location).
    #[inline]
    pub(crate) fn call(&self, req: &Request<'_>) -> Response {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.handler)(req))) {
            Ok(response) => response,
            Err(_) => crate::http::response::detail(
                crate::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ),
        }
    }
}

/// Why no route takes a request: what [`App::no_route`]'s handler is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute<'a> {
    /// No route has the request's path.
    NotFound,
    /// Routes have the path, under other methods: the `Allow` header's value.
    MethodNotAllowed(&'a str),
}

/// The handler of requests no route takes.
pub(crate) type NoRouteHandler =
    Box<dyn Fn(&Request<'_>, NoRoute<'_>) -> Response + Send + Sync + 'static>;

/// A route just added, to adjust: see [`RouteMut::blocking`].
pub struct RouteMut<'a> {
    route: Option<&'a mut Route>,
}

impl std::fmt::Debug for RouteMut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMut")
            .field("added", &self.route.is_some())
            .finish()
    }
}

impl RouteMut<'_> {
    /// Runs this route's handler on the worker pool rather than on the I/O thread, for
    /// handlers that block (files, databases, sleeps). The I/O thread hands the request
    /// over without copying it and goes on serving other connections; when the queue is
    /// full, or a job has waited longer than [`Config::queue_timeout`], the request is
    /// answered `503 Service Unavailable` with `Retry-After`.
    pub fn blocking(self) -> Self {
        self.placed(Placement::Pool)
    }

    /// Runs this route's handler on the worker pool while `flag` is set and on the I/O
    /// thread while it is clear, for handlers whose owner learns whether they block (by
    /// timing their calls, say) and moves them. Each request reads the flag once, when its
    /// head is complete.
    pub fn blocking_while(self, flag: Arc<AtomicBool>) -> Self {
        self.placed(Placement::Switch(flag))
    }

    fn placed(self, placement: Placement) -> Self {
        if let Some(route) = self.route {
            route.placement = placement;
            return RouteMut { route: Some(route) };
        }
        self
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
    pub(crate) companion: Option<CompanionFactory>,
    route_errors: Vec<String>,
    /// See [`App::no_route`].
    pub(crate) no_route: Option<NoRouteHandler>,
    /// See [`App::redirect_slashes`].
    pub(crate) redirect_slashes: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.router.values().count())
            .field("config", &self.config)
            .field("companion", &self.companion.is_some())
            .field("no_route", &self.no_route.is_some())
            .field("redirect_slashes", &self.redirect_slashes)
            .finish_non_exhaustive()
    }
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
        App {
            router: Router::new(),
            config,
            companion: None,
            route_errors: Vec::new(),
            no_route: None,
            redirect_slashes: false,
        }
    }

    /// The settings, to change before serving.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Whether any route runs on the worker pool.
    pub(crate) fn has_blocking_routes(&self) -> bool {
        self.router
            .values()
            .any(|r| !matches!(r.placement, Placement::Inline))
    }

    /// Gives each I/O thread a [`Companion`] made by `factory` (called on that thread
    /// with its index, before it serves): a runtime's loop that the thread drives beside
    /// its connections, whose handlers answer through [`Request::defer`]. A factory error
    /// ends that thread, and so the server, with the error.
    pub fn companion<F>(&mut self, factory: F)
    where
        F: Fn(usize) -> io::Result<Box<dyn Companion>> + Send + Sync + 'static,
    {
        self.companion = Some(Box::new(factory));
    }

    /// Routes `method` requests for `pattern` (see [`crate::app::router`] for the syntax) to
    /// `handler`.
    ///
    /// The handler runs on the I/O thread that read the request, so it must not block. A
    /// panic in it answers 500 for that request only. A malformed or duplicate pattern is
    /// reported by [`App::bind`] / [`App::serve`], which then refuse to start.
    pub fn route<H, R>(&mut self, method: Method, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        let handler: Handler = Box::new(move |req| handler(req).into_response());
        match self.router.insert(
            method,
            pattern,
            Route {
                handler,
                placement: Placement::Inline,
            },
        ) {
            Ok(route) => RouteMut { route: Some(route) },
            Err(e) => {
                self.route_errors.push(e.to_string());
                RouteMut { route: None }
            }
        }
    }

    /// Routes `GET` (and so `HEAD`) requests for `pattern`.
    pub fn get<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Get, pattern, handler)
    }

    /// Routes `POST` requests for `pattern`.
    pub fn post<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Post, pattern, handler)
    }

    /// Routes `PUT` requests for `pattern`.
    pub fn put<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Put, pattern, handler)
    }

    /// Routes `PATCH` requests for `pattern`.
    pub fn patch<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Patch, pattern, handler)
    }

    /// Routes `DELETE` requests for `pattern`.
    pub fn delete<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Delete, pattern, handler)
    }

    /// Answers the requests no route takes with `handler`, told why
    /// ([`NoRoute`]), instead of `404 {"detail":"Not Found"}` or
    /// `405 {"detail":"Method Not Allowed"}` with `Allow`.
    ///
    /// It runs on the I/O thread. A request with a body is answered when its head is
    /// in, as the defaults are: its body is not read (the handler sees it empty, and it
    /// cannot [defer](Request::defer)), and the connection closes after the answer.
    /// Matched routes do not pay for it.
    pub fn no_route<H>(&mut self, handler: H)
    where
        H: Fn(&Request<'_>, NoRoute<'_>) -> Response + Send + Sync + 'static,
    {
        self.no_route = Some(Box::new(handler));
    }

    /// With `true`, a request no route takes whose path, with its trailing slash
    /// removed or one added, is routed (under any method) is answered
    /// `307 Temporary Redirect` to that path, its query string kept, as Starlette's
    /// `redirect_slashes` does: `/items/` to `/items` when only `/items` is routed, and
    /// the reverse. The `Location` is absolute (`http://` and the `Host` header) when the
    /// request names its host. Off by default.
    pub fn redirect_slashes(&mut self, on: bool) {
        self.redirect_slashes = on;
    }

    /// What [`App::bind`] refuses to serve: malformed or duplicate routes, a bad
    /// [`Config`] value.
    pub(crate) fn check(&self) -> io::Result<()> {
        if !self.route_errors.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                self.route_errors.join("; "),
            ));
        }
        self.config.validate()
    }
}
