//! Cross-Origin Resource Sharing: the policy of Starlette's `CORSMiddleware`, answered
//! without a handler.
//!
//! A [`CorsPolicy`] is made once from [`CorsOptions`] (Starlette's options and defaults)
//! and used per request in two places:
//!
//! - [`CorsPolicy::preflight`]: an `OPTIONS` request with `Origin` and
//!   `Access-Control-Request-Method` is answered by the policy alone, whatever route
//!   its path has (or none): `200 OK` with the allowed origin, methods, headers and max
//!   age, or `400` with `Disallowed CORS origin, method, headers` naming what failed, as
//!   Starlette answers (browsers only look at the headers; the body says why).
//! - [`CorsPolicy::simple`]: any other request; the handler's response gets the
//!   `Access-Control-*` headers its `Origin` calls for, and always `Vary: Origin`
//!   (Starlette adds it to every response it wraps, with or without an `Origin`).
//!
//! The headers for a response are worked out from the request when it arrives
//! ([`SimpleCors`], which owns what it needs), so a response made later, after the
//! request's buffer is gone (a deferred [`Reply`](crate::Reply)), still gets them.
//!
//! ```
//! use fasterapi_http::cors::{CorsOptions, CorsPolicy, CorsRequest};
//! use fasterapi_http::{Method, Response};
//!
//! let policy = CorsPolicy::new(CorsOptions {
//!     allow_origins: vec!["https://example.org".into()],
//!     allow_methods: vec!["GET".into(), "POST".into()],
//!     ..CorsOptions::default()
//! })
//! .unwrap();
//! let preflight = CorsRequest {
//!     method: Method::Options,
//!     origin: Some("https://example.org"),
//!     request_method: Some("POST"),
//!     ..CorsRequest::default()
//! };
//! let answer = policy.preflight(&preflight).expect("a preflight");
//! assert_eq!(answer.status().as_u16(), 200);
//! let simple = CorsRequest { method: Method::Get, origin: Some("https://example.org"), ..CorsRequest::default() };
//! let mut response = Response::text("hi");
//! policy.simple(&simple).apply(&mut response);
//! assert!(response.headers().any(|(n, v)| n == "Access-Control-Allow-Origin" && v == "https://example.org"));
//! ```

use std::borrow::Cow;
use std::fmt;

use crate::app::request::Request;
use crate::app::router::Method;
use crate::http::response::{Response, StatusCode};

/// Starlette's `ALL_METHODS`: what `allow_methods=["*"]` allows.
pub const ALL_METHODS: &[&str] = &[
    "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY",
];
/// Request headers always allowed (Starlette's `SAFELISTED_HEADERS`).
const SAFELISTED_HEADERS: &[&str] = &[
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
];
const PREFLIGHT_VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network";

/// The options of a [`CorsPolicy`]: Starlette's `CORSMiddleware` arguments, with its
/// defaults (`Default`).
#[derive(Clone, Debug)]
pub struct CorsOptions {
    /// Origins allowed (`"https://example.org"`); `"*"` allows any.
    pub allow_origins: Vec<String>,
    /// A regular expression an origin may match whole instead (Rust's `regex` syntax,
    /// which takes the usual Python patterns; look-around and back-references are
    /// refused by [`CorsPolicy::new`]).
    pub allow_origin_regex: Option<String>,
    /// Methods a preflight may ask for (compared as given); `"*"`: [`ALL_METHODS`].
    /// Default `GET`.
    pub allow_methods: Vec<String>,
    /// Request headers a preflight may ask for, besides the safelisted ones; `"*"`
    /// allows any (the requested ones are mirrored back).
    pub allow_headers: Vec<String>,
    /// Whether `Access-Control-Allow-Credentials: true` is sent (and so the origin is
    /// named rather than `*`).
    pub allow_credentials: bool,
    /// Whether a preflight with `Access-Control-Request-Private-Network` is allowed.
    pub allow_private_network: bool,
    /// Response headers the browser may expose (`Access-Control-Expose-Headers`).
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer (`Access-Control-Max-Age`).
    /// Default 600.
    pub max_age: u64,
}

impl Default for CorsOptions {
    fn default() -> CorsOptions {
        CorsOptions {
            allow_origins: Vec::new(),
            allow_origin_regex: None,
            allow_methods: vec!["GET".to_string()],
            allow_headers: Vec::new(),
            allow_credentials: false,
            allow_private_network: false,
            expose_headers: Vec::new(),
            max_age: 600,
        }
    }
}

/// Why [`CorsPolicy::new`] refused its options.
#[derive(Debug)]
pub struct CorsError(String);

impl fmt::Display for CorsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CorsError {}

/// A CORS policy, ready to answer preflights and decorate responses (see the module
/// docs).
pub struct CorsPolicy {
    allow_origins: Vec<String>,
    allow_origin_regex: Option<regex::Regex>,
    allow_methods: Vec<String>,
    /// Allowed request headers, lower-case, the safelisted ones included.
    allow_headers: Vec<String>,
    allow_all_origins: bool,
    allow_all_headers: bool,
    allow_credentials: bool,
    allow_private_network: bool,
    /// The preflight answer names the origin (rather than `*`).
    preflight_explicit_allow_origin: bool,
    /// Set on every response to a request with an `Origin`.
    simple_headers: Vec<(&'static str, String)>,
    /// The headers of every preflight answer, in Starlette's order.
    preflight_headers: Vec<(&'static str, String)>,
}

impl fmt::Debug for CorsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsPolicy")
            .field("allow_origins", &self.allow_origins)
            .field(
                "allow_origin_regex",
                &self.allow_origin_regex.as_ref().map(|r| r.as_str()),
            )
            .field("allow_methods", &self.allow_methods)
            .field("allow_headers", &self.allow_headers)
            .field("allow_credentials", &self.allow_credentials)
            .finish_non_exhaustive()
    }
}

/// What the policy reads of a request: its method and CORS headers. [`CorsRequest::of`]
/// takes them from a [`Request`]; other front ends fill the fields themselves.
#[derive(Clone, Copy, Debug)]
pub struct CorsRequest<'a> {
    /// The request method.
    pub method: Method,
    /// `Origin`.
    pub origin: Option<&'a str>,
    /// `Access-Control-Request-Method`.
    pub request_method: Option<&'a str>,
    /// `Access-Control-Request-Headers`.
    pub request_headers: Option<&'a str>,
    /// `Access-Control-Request-Private-Network`.
    pub request_private_network: Option<&'a str>,
}

impl Default for CorsRequest<'_> {
    fn default() -> Self {
        CorsRequest {
            method: Method::Get,
            origin: None,
            request_method: None,
            request_headers: None,
            request_private_network: None,
        }
    }
}

impl<'a> CorsRequest<'a> {
    /// The CORS headers of `req` (the first of each name; a value that is not UTF-8
    /// counts as absent).
    pub fn of(req: &Request<'a>) -> CorsRequest<'a> {
        CorsRequest {
            method: req.method(),
            origin: req.header("origin"),
            request_method: req.header("access-control-request-method"),
            request_headers: req.header("access-control-request-headers"),
            request_private_network: req.header("access-control-request-private-network"),
        }
    }

    /// Whether this is a preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn is_preflight(&self) -> bool {
        self.method == Method::Options && self.origin.is_some() && self.request_method.is_some()
    }
}

impl CorsPolicy {
    /// The policy of `options`; an error for an `allow_origin_regex` that does not
    /// compile.
    pub fn new(options: CorsOptions) -> Result<CorsPolicy, CorsError> {
        let CorsOptions {
            allow_origins,
            allow_origin_regex,
            allow_methods,
            allow_headers,
            allow_credentials,
            allow_private_network,
            expose_headers,
            max_age,
        } = options;
        let allow_methods: Vec<String> = if allow_methods.iter().any(|m| m == "*") {
            ALL_METHODS.iter().map(|m| m.to_string()).collect()
        } else {
            allow_methods
        };
        // `fullmatch`: the whole origin.
        let allow_origin_regex = allow_origin_regex
            .map(|pattern| {
                regex::Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| {
                    CorsError(format!(
                        "allow_origin_regex {pattern:?} is not a regular expression fasterapi \
                         takes (Rust's regex syntax: no look-around or back-references): {e}"
                    ))
                })
            })
            .transpose()?;
        let allow_all_origins = allow_origins.iter().any(|o| o == "*");
        let allow_all_headers = allow_headers.iter().any(|h| h == "*");
        let preflight_explicit_allow_origin = !allow_all_origins || allow_credentials;

        let mut simple_headers = Vec::new();
        if allow_all_origins {
            simple_headers.push(("Access-Control-Allow-Origin", "*".to_string()));
        }
        if allow_credentials {
            simple_headers.push(("Access-Control-Allow-Credentials", "true".to_string()));
        }
        if !expose_headers.is_empty() {
            simple_headers.push(("Access-Control-Expose-Headers", expose_headers.join(", ")));
        }

        let mut preflight_headers = vec![("Vary", PREFLIGHT_VARY.to_string())];
        if !preflight_explicit_allow_origin {
            preflight_headers.push(("Access-Control-Allow-Origin", "*".to_string()));
        }
        preflight_headers.push(("Access-Control-Allow-Methods", allow_methods.join(", ")));
        preflight_headers.push(("Access-Control-Max-Age", max_age.to_string()));
        // Starlette: `sorted(SAFELISTED_HEADERS | set(allow_headers))`.
        let mut all_headers: Vec<String> = SAFELISTED_HEADERS
            .iter()
            .map(|h| h.to_string())
            .chain(allow_headers)
            .collect();
        all_headers.sort();
        all_headers.dedup();
        if !allow_all_headers {
            preflight_headers.push(("Access-Control-Allow-Headers", all_headers.join(", ")));
        }
        if allow_credentials {
            preflight_headers.push(("Access-Control-Allow-Credentials", "true".to_string()));
        }
        Ok(CorsPolicy {
            allow_origins,
            allow_origin_regex,
            allow_methods,
            allow_headers: all_headers.iter().map(|h| h.to_lowercase()).collect(),
            allow_all_origins,
            allow_all_headers,
            allow_credentials,
            allow_private_network,
            preflight_explicit_allow_origin,
            simple_headers,
            preflight_headers,
        })
    }

    /// Whether `origin` is allowed: any with `"*"`, one matching `allow_origin_regex`
    /// whole, or one of `allow_origins`.
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allow_all_origins
            || self
                .allow_origin_regex
                .as_ref()
                .is_some_and(|r| r.is_match(origin))
            || self.allow_origins.iter().any(|o| o == origin)
    }

    /// The answer to `req` if it is a preflight ([`CorsRequest::is_preflight`]), made
    /// without a handler: `200 OK`, or `400 Disallowed CORS ...` naming what the policy
    /// refuses (origin, method, headers, private-network), with the preflight headers.
    pub fn preflight(&self, req: &CorsRequest<'_>) -> Option<Response> {
        if !req.is_preflight() {
            return None;
        }
        let (origin, method) = (req.origin?, req.request_method?);
        let mut headers: Vec<(&'static str, Cow<'_, str>)> = self
            .preflight_headers
            .iter()
            .map(|(n, v)| (*n, Cow::Borrowed(v.as_str())))
            .collect();
        let mut failures: Vec<&str> = Vec::new();
        if self.is_allowed_origin(origin) {
            if self.preflight_explicit_allow_origin {
                set(
                    &mut headers,
                    "Access-Control-Allow-Origin",
                    Cow::Borrowed(origin),
                );
            }
        } else {
            failures.push("origin");
        }
        if !self.allow_methods.iter().any(|m| m == method) {
            failures.push("method");
        }
        match req.request_headers {
            Some(requested) if self.allow_all_headers => {
                set(
                    &mut headers,
                    "Access-Control-Allow-Headers",
                    Cow::Borrowed(requested),
                );
            }
            Some(requested) => {
                let refused = requested.split(',').any(|h| {
                    let h = h.trim_matches(python_whitespace).to_lowercase();
                    !self.allow_headers.contains(&h)
                });
                if refused {
                    failures.push("headers");
                }
            }
            None => {}
        }
        if req.request_private_network.is_some() {
            if self.allow_private_network {
                set(
                    &mut headers,
                    "Access-Control-Allow-Private-Network",
                    Cow::Borrowed("true"),
                );
            } else {
                failures.push("private-network");
            }
        }
        let mut response = if failures.is_empty() {
            Response::text("OK")
        } else {
            Response::text(format!("Disallowed CORS {}", failures.join(", ")))
                .with_status(StatusCode::BAD_REQUEST)
        };
        for (name, value) in headers {
            response = response.with_header(name, value.into_owned());
        }
        Some(response)
    }

    /// What a response to the non-preflight request `req` gets (see [`SimpleCors`]).
    pub fn simple(&self, req: &CorsRequest<'_>) -> SimpleCors {
        let origin = req.origin;
        let explicit = match origin {
            Some(o) if self.allow_all_origins && self.allow_credentials => Some(o),
            Some(o) if !self.allow_all_origins && self.is_allowed_origin(o) => Some(o),
            _ => None,
        };
        let mut set = Vec::new();
        if origin.is_some() {
            set.extend(
                self.simple_headers
                    .iter()
                    .map(|(n, v)| (*n, Cow::Owned(v.clone()))),
            );
        }
        if let Some(o) = explicit {
            set.retain(|(n, _)| *n != "Access-Control-Allow-Origin");
            set.push(("Access-Control-Allow-Origin", Cow::Owned(o.to_string())));
        }
        SimpleCors { set }
    }
}

/// Python's `str.strip()` whitespace (ASCII), which Starlette strips requested headers of.
fn python_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Sets `name` (replacing its value if present, else appending).
fn set<'a>(
    headers: &mut Vec<(&'static str, Cow<'a, str>)>,
    name: &'static str,
    value: Cow<'a, str>,
) {
    match headers.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => headers.push((name, value)),
    }
}

/// The CORS headers one response gets, worked out from its request by
/// [`CorsPolicy::simple`]; owns what it needs, so it can be applied later, on any
/// thread.
#[derive(Clone, Debug)]
pub struct SimpleCors {
    /// Headers replacing any of the same name the handler set.
    set: Vec<(&'static str, Cow<'static, str>)>,
}

impl SimpleCors {
    /// Adds the headers to `response`, as Starlette's `CORSMiddleware` does to the
    /// response start: the `Access-Control-*` headers replace any of the same name, and
    /// `Origin` is appended to `Vary` (the existing `Vary` values joined into one).
    pub fn apply(self, response: &mut Response) {
        for (name, value) in self.set {
            response
                .headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            response.headers.push((Cow::Borrowed(name), value));
        }
        let mut vary = String::new();
        response.headers.retain(|(n, v)| {
            if !n.eq_ignore_ascii_case("vary") {
                return true;
            }
            vary.push_str(v);
            vary.push_str(", ");
            false
        });
        let vary = if vary.is_empty() {
            Cow::Borrowed("Origin")
        } else {
            vary.push_str("Origin");
            Cow::Owned(vary)
        };
        response.headers.push((Cow::Borrowed("Vary"), vary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(f: impl FnOnce(&mut CorsOptions)) -> CorsPolicy {
        let mut o = CorsOptions::default();
        f(&mut o);
        CorsPolicy::new(o).unwrap()
    }

    fn header<'r>(r: &'r Response, name: &str) -> Option<&'r str> {
        r.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    fn preflight<'a>(
        origin: &'a str,
        method: &'a str,
        headers: Option<&'a str>,
    ) -> CorsRequest<'a> {
        CorsRequest {
            method: Method::Options,
            origin: Some(origin),
            request_method: Some(method),
            request_headers: headers,
            request_private_network: None,
        }
    }

    #[test]
    fn a_preflight_from_an_allowed_origin_is_answered_ok_with_starlettes_headers() {
        let p = policy(|o| {
            o.allow_origins = vec!["https://a.org".into()];
            o.allow_methods = vec!["*".into()];
            o.allow_headers = vec!["X-Token".into()];
        });
        let r = p
            .preflight(&preflight(
                "https://a.org",
                "PATCH",
                Some("x-token, accept"),
            ))
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.body().as_bytes(), b"OK");
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://a.org")
        );
        assert_eq!(
            header(&r, "access-control-allow-methods"),
            Some("DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY")
        );
        assert_eq!(
            header(&r, "access-control-allow-headers"),
            Some("Accept, Accept-Language, Content-Language, Content-Type, X-Token")
        );
        assert_eq!(header(&r, "access-control-max-age"), Some("600"));
        assert_eq!(header(&r, "vary"), Some(PREFLIGHT_VARY));
    }

    #[test]
    fn a_refused_preflight_says_what_failed() {
        let p = policy(|o| o.allow_origins = vec!["https://a.org".into()]);
        let r = p
            .preflight(&preflight("https://b.org", "DELETE", Some("X-Nope")))
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body().as_bytes(),
            b"Disallowed CORS origin, method, headers"
        );
        assert_eq!(header(&r, "access-control-allow-origin"), None);
    }

    #[test]
    fn the_regex_matches_the_whole_origin() {
        let p = policy(|o| o.allow_origin_regex = Some(r"https://.*\.example\.org".into()));
        assert!(p.is_allowed_origin("https://api.example.org"));
        assert!(!p.is_allowed_origin("https://api.example.org.evil.com"));
        assert!(!p.is_allowed_origin("http://api.example.org"));
        assert!(CorsPolicy::new(CorsOptions {
            allow_origin_regex: Some("(?=x)".into()),
            ..CorsOptions::default()
        })
        .is_err());
    }

    #[test]
    fn any_origin_with_credentials_names_the_origin() {
        let p = policy(|o| {
            o.allow_origins = vec!["*".into()];
            o.allow_credentials = true;
        });
        let req = CorsRequest {
            origin: Some("https://c.org"),
            ..CorsRequest::default()
        };
        let mut r = Response::text("x").with_header("Vary", "Accept-Encoding");
        p.simple(&req).apply(&mut r);
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://c.org")
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
        assert_eq!(header(&r, "vary"), Some("Accept-Encoding, Origin"));
        // Without credentials, `*` and no named origin; Vary all the same.
        let p = policy(|o| o.allow_origins = vec!["*".into()]);
        let mut r = Response::text("x");
        p.simple(&req).apply(&mut r);
        assert_eq!(header(&r, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&r, "vary"), Some("Origin"));
    }

    #[test]
    fn a_request_without_origin_only_gets_vary() {
        let p = policy(|o| o.allow_origins = vec!["https://a.org".into()]);
        let mut r = Response::text("x");
        p.simple(&CorsRequest::default()).apply(&mut r);
        let names: Vec<_> = r.headers().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["Vary"]);
    }
}
