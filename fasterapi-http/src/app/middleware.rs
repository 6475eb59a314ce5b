//! Middleware: code that runs around the handlers of an app or of a route group.
//!
//! A [`Middleware`] gets the request and a [`Next`] that runs the rest of the chain (the
//! following middleware, then the handler). It may answer without calling `next`
//! (short-circuit: an auth check, a CORS preflight), and it may change the response
//! `next` returns (headers, status, body). Closures serve for the common cases:
//! [`App::before`](crate::App::before) (inspect the request, maybe answer),
//! [`App::after`](crate::App::after) (change the response) and
//! [`App::around`](crate::App::around) (both, with state between them on the stack).
//!
//! Order: the app's middleware run first (outermost), in the order they were added, then
//! those of each enclosing [group](crate::Group), outer groups first, then the route's
//! handler. A middleware added after routes still wraps them: the chains are composed
//! once, when the app binds. The app's middleware also wrap the answers to requests no
//! route takes (404, 405, [`App::no_route`](crate::App::no_route)), so that a CORS
//! preflight for a path routed under other methods is answered; a group's do not.
//!
//! Cost: a route outside any middleware keeps its handler as it was registered, with no
//! wrapper and no check per request. A route inside some calls them through one
//! indirection each. A handler that [defers](crate::Request::defer) its answer returns
//! before the answer exists: the middleware see the response it returned (which is not
//! sent), not the reply sent later.
//!
//! ```
//! use fasterapi_http::{App, Middleware, Next, Request, Response, StatusCode};
//!
//! /// Refuses requests without an `x-api-key` header.
//! struct ApiKey;
//!
//! impl Middleware for ApiKey {
//!     fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
//!         if req.header("x-api-key").is_none() {
//!             return Response::new(StatusCode::UNAUTHORIZED);
//!         }
//!         next.run(req).with_header("x-checked", "yes")
//!     }
//! }
//!
//! let mut app = App::new();
//! app.middleware(ApiKey);
//! app.after(|_req: &Request, resp: &mut Response| resp.set_header("x-served-by", "fasterapi"));
//! app.get("/", |_req: &Request| "hello");
//! ```

use std::sync::Arc;

use crate::app::request::Request;
use crate::http::response::{header_is_safe, Response};

/// Code that runs around handlers: see the [module docs](self).
pub trait Middleware: Send + Sync + 'static {
    /// Answers `req`, usually by calling `next.run(req)` and returning (or changing) its
    /// response; returning without calling it answers in the handler's place.
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response;
}

/// The rest of a middleware chain: the middleware after this one, then the handler.
pub struct Next<'a> {
    rest: &'a [Arc<dyn Middleware>],
    handler: &'a (dyn Fn(&Request<'_>) -> Response + Send + Sync),
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("middleware_left", &self.rest.len())
            .finish_non_exhaustive()
    }
}

impl Next<'_> {
    /// Runs the rest of the chain on `req` and returns its response.
    #[inline]
    pub fn run(self, req: &Request<'_>) -> Response {
        run_chain(self.rest, self.handler, req)
    }
}

/// Runs `chain` around `handler` for `req`.
#[inline]
pub(crate) fn run_chain(
    chain: &[Arc<dyn Middleware>],
    handler: &(dyn Fn(&Request<'_>) -> Response + Send + Sync),
    req: &Request<'_>,
) -> Response {
    match chain.split_first() {
        Some((first, rest)) => first.call(req, Next { rest, handler }),
        None => handler(req),
    }
}

/// [`App::before`](crate::App::before)'s closure as a middleware.
pub(crate) struct Before<F>(pub(crate) F);

impl<F> Middleware for Before<F>
where
    F: Fn(&Request<'_>) -> Option<Response> + Send + Sync + 'static,
{
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        match (self.0)(req) {
            Some(answer) => answer,
            None => next.run(req),
        }
    }
}

/// [`App::after`](crate::App::after)'s closure as a middleware.
pub(crate) struct After<F>(pub(crate) F);

impl<F> Middleware for After<F>
where
    F: Fn(&Request<'_>, &mut Response) + Send + Sync + 'static,
{
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        let mut response = next.run(req);
        (self.0)(req, &mut response);
        response
    }
}

/// [`App::around`](crate::App::around)'s closure as a middleware.
pub(crate) struct Around<F>(pub(crate) F);

impl<F> Middleware for Around<F>
where
    F: Fn(&Request<'_>, Next<'_>) -> Response + Send + Sync + 'static,
{
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        (self.0)(req, next)
    }
}

/// The CORS policy of [`cors`](crate::cors) (Starlette's `CORSMiddleware`) as a
/// middleware: a preflight is answered by the policy, without the handler; other
/// responses get the `Access-Control-*` headers their request's `Origin` calls for. Put it
/// on the app (not a group), so that a preflight for a path routed under other methods
/// only (a 405 without it) is answered too.
///
/// ```
/// use fasterapi_http::cors::{CorsOptions, CorsPolicy};
/// use fasterapi_http::App;
///
/// let mut app = App::new();
/// app.middleware(
///     CorsPolicy::new(CorsOptions {
///         allow_origins: vec!["https://app.example".into()],
///         allow_methods: vec!["*".into()],
///         ..CorsOptions::default()
///     })
///     .expect("a valid policy"),
/// );
/// ```
impl Middleware for crate::app::cors::CorsPolicy {
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        let cors = crate::app::cors::CorsRequest::of(req);
        if let Some(answer) = self.preflight(&cors) {
            return answer;
        }
        let headers = self.simple(&cors);
        let mut response = next.run(req);
        headers.apply(&mut response);
        response
    }
}

/// Adds headers to every response that does not set them itself (security headers, a
/// `Server` name, cache policy).
///
/// ```
/// use fasterapi_http::{App, DefaultHeaders};
///
/// let mut app = App::new();
/// app.middleware(
///     DefaultHeaders::new()
///         .header("X-Content-Type-Options", "nosniff")
///         .header("Cache-Control", "no-store"),
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct DefaultHeaders {
    headers: Vec<(String, String)>,
}

impl DefaultHeaders {
    /// No headers yet.
    pub fn new() -> DefaultHeaders {
        DefaultHeaders::default()
    }

    /// Adds `name: value` to responses without a `name` header (compared
    /// case-insensitively). A name or value holding CR, LF or NUL is ignored.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> DefaultHeaders {
        let (name, value) = (name.into(), value.into());
        if header_is_safe(&name) && header_is_safe(&value) && !name.is_empty() {
            self.headers.push((name, value));
        }
        self
    }
}

impl Middleware for DefaultHeaders {
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        let mut response = next.run(req);
        for (name, value) in &self.headers {
            if !response.has_header(name) {
                response = response.with_header(name.clone(), value.clone());
            }
        }
        response
    }
}

/// Gives every response a request id header (`x-request-id` unless renamed): the
/// request's own when it came with a usable one (1 to 128 visible ASCII characters, as a
/// proxy or load balancer sets), else a new one, unique within the process (a random
/// 64-bit prefix drawn at start and a counter, 32 hex digits).
///
/// ```
/// use fasterapi_http::{App, RequestId};
///
/// let mut app = App::new();
/// app.middleware(RequestId::new());
/// ```
#[derive(Debug)]
pub struct RequestId {
    header: String,
    prefix: u64,
    counter: std::sync::atomic::AtomicU64,
}

impl Default for RequestId {
    fn default() -> RequestId {
        RequestId::new()
    }
}

impl RequestId {
    /// Ids in `x-request-id`.
    pub fn new() -> RequestId {
        RequestId::with_header("x-request-id")
    }

    /// Ids in the header `name` (`x-correlation-id`, say).
    pub fn with_header(name: impl Into<String>) -> RequestId {
        use std::hash::{BuildHasher, Hasher};
        // std's RandomState is seeded from the OS's randomness: ids of two runs differ.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        RequestId {
            header: name.into(),
            prefix: hasher.finish(),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn next_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:016x}{:016x}", self.prefix, n)
    }
}

impl Middleware for RequestId {
    fn call(&self, req: &Request<'_>, next: Next<'_>) -> Response {
        let id = match req.header_bytes(&self.header) {
            Some(v) if (1..=128).contains(&v.len()) && v.iter().all(u8::is_ascii_graphic) => {
                // Visible ASCII: valid UTF-8.
                String::from_utf8_lossy(v).into_owned()
            }
            _ => self.next_id(),
        };
        let response = next.run(req);
        if response.has_header(&self.header) {
            return response;
        }
        response.with_header(self.header.clone(), id)
    }
}
