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
use crate::http::response::{take_header_list, Response, StatusCode};

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
///
/// Every header value the policy sends that does not come from the request (the allowed
/// methods, headers, max age, the listed origins it names back) is built once, when the
/// policy is made, as a `&'static str` (interned): a preflight answer or a simple
/// response borrows them, so answering allocates nothing but the response's header list.
pub struct CorsPolicy {
    /// The listed origins (interned: a preflight or response names one back borrowed).
    allow_origins: Vec<&'static str>,
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
    /// `Access-Control-Expose-Headers`, if any.
    expose_headers: Option<&'static str>,
    /// The headers of every preflight answer, in Starlette's order.
    preflight_headers: Vec<(&'static str, &'static str)>,
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

/// The request headers the policy reads, lower-case.
const ORIGIN: &str = "origin";
const REQUEST_METHOD: &str = "access-control-request-method";
const REQUEST_HEADERS: &str = "access-control-request-headers";
const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";

impl<'a> CorsRequest<'a> {
    /// The CORS headers of `req` (the first of each name; a value that is not UTF-8
    /// counts as absent), found in one pass over its headers.
    pub fn of(req: &Request<'a>) -> CorsRequest<'a> {
        let mut cors = CorsRequest {
            method: req.method(),
            ..CorsRequest::default()
        };
        cors.read_headers(req.headers(), utf8);
        cors
    }

    /// Fills the CORS fields from `headers` (`(name, raw value)`, in the order received)
    /// in one pass: the first header of each name, its value as `decode` makes it
    /// (`None`: absent). Returns whether any of them was present.
    pub fn read_headers<'h>(
        &mut self,
        headers: impl Iterator<Item = (&'h str, &'a [u8])>,
        mut decode: impl FnMut(&'a [u8]) -> Option<&'a str>,
    ) -> bool {
        // Which of the four were seen (a later header of the same name is ignored even
        // when the first one's value did not decode).
        let mut seen = 0u8;
        for (name, value) in headers {
            // The names differ in length: one comparison picks the candidate.
            let (bit, slot, wanted) = match name.len() {
                6 => (1, &mut self.origin, ORIGIN),
                29 => (2, &mut self.request_method, REQUEST_METHOD),
                30 => (4, &mut self.request_headers, REQUEST_HEADERS),
                38 => (
                    8,
                    &mut self.request_private_network,
                    REQUEST_PRIVATE_NETWORK,
                ),
                _ => continue,
            };
            if seen & bit == 0 && name.eq_ignore_ascii_case(wanted) {
                seen |= bit;
                *slot = decode(value);
            }
        }
        seen != 0
    }

    /// Whether this is a preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn is_preflight(&self) -> bool {
        self.method == Method::Options && self.origin.is_some() && self.request_method.is_some()
    }
}

/// `v` as text if it is UTF-8. Header values are ASCII nearly always, which is checked
/// a word at a time; `from_utf8` only for the others.
fn utf8(v: &[u8]) -> Option<&str> {
    if v.is_ascii() {
        // SAFETY: ASCII is UTF-8. (`from_utf8` checks again, at about a tenth of a
        // preflight's instructions for its three values: measured with callgrind.)
        Some(unsafe { std::str::from_utf8_unchecked(v) })
    } else {
        std::str::from_utf8(v).ok()
    }
}

/// What a refused preflight failed, as bits (Starlette names them in this order).
const FAILED_ORIGIN: u8 = 1;
const FAILED_METHOD: u8 = 2;
const FAILED_HEADERS: u8 = 4;
const FAILED_PRIVATE_NETWORK: u8 = 8;

/// The `400` body of a preflight that failed `failures` (non-zero).
fn disallowed(failures: u8) -> String {
    let names = [
        (FAILED_ORIGIN, "origin"),
        (FAILED_METHOD, "method"),
        (FAILED_HEADERS, "headers"),
        (FAILED_PRIVATE_NETWORK, "private-network"),
    ];
    let mut body = String::from("Disallowed CORS ");
    for (i, (_, name)) in names
        .iter()
        .filter(|(bit, _)| failures & bit != 0)
        .enumerate()
    {
        if i > 0 {
            body.push_str(", ");
        }
        body.push_str(name);
    }
    body
}

/// `s` as a `&'static str`, allocated once per distinct string for the life of the
/// process. For the values a policy sends (built from its options when it is made, never
/// from a request), so that every response borrows them; interning bounds the memory by
/// the distinct configurations an application makes, however many policies it builds
/// (a test suite makes many of the same).
fn intern(s: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static INTERNED: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = INTERNED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&kept) = set.get(s) {
        return kept;
    }
    let kept: &'static str = Box::leak(s.to_owned().into_boxed_str());
    set.insert(kept);
    kept
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

        let mut preflight_headers = vec![("Vary", PREFLIGHT_VARY)];
        if !preflight_explicit_allow_origin {
            preflight_headers.push(("Access-Control-Allow-Origin", "*"));
        }
        preflight_headers.push((
            "Access-Control-Allow-Methods",
            intern(&allow_methods.join(", ")),
        ));
        preflight_headers.push(("Access-Control-Max-Age", intern(&max_age.to_string())));
        // Starlette: `sorted(SAFELISTED_HEADERS | set(allow_headers))`.
        let mut all_headers: Vec<String> = SAFELISTED_HEADERS
            .iter()
            .map(|h| h.to_string())
            .chain(allow_headers)
            .collect();
        all_headers.sort();
        all_headers.dedup();
        if !allow_all_headers {
            preflight_headers.push((
                "Access-Control-Allow-Headers",
                intern(&all_headers.join(", ")),
            ));
        }
        if allow_credentials {
            preflight_headers.push(("Access-Control-Allow-Credentials", "true"));
        }
        Ok(CorsPolicy {
            allow_origins: allow_origins.iter().map(|o| intern(o)).collect(),
            allow_origin_regex,
            allow_methods,
            allow_headers: all_headers.iter().map(|h| h.to_lowercase()).collect(),
            allow_all_origins,
            allow_all_headers,
            allow_credentials,
            allow_private_network,
            preflight_explicit_allow_origin,
            expose_headers: (!expose_headers.is_empty())
                .then(|| intern(&expose_headers.join(", "))),
            preflight_headers,
        })
    }

    /// Whether `origin` is allowed: any with `"*"`, one matching `allow_origin_regex`
    /// whole, or one of `allow_origins`.
    pub fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allowed_origin(origin).is_some()
    }

    /// `origin` if allowed, as a header value: the listed origin itself (borrowed) when
    /// one of `allow_origins` is it, else a copy.
    fn allowed_origin(&self, origin: &str) -> Option<Cow<'static, str>> {
        if let Some(listed) = self.allow_origins.iter().find(|o| **o == origin) {
            return Some(Cow::Borrowed(listed));
        }
        let other = self.allow_all_origins
            || self
                .allow_origin_regex
                .as_ref()
                .is_some_and(|r| r.is_match(origin));
        other.then(|| Cow::Owned(origin.to_owned()))
    }

    /// Whether every header `requested` names (a comma-separated list, as
    /// `Access-Control-Request-Headers` has it) is allowed, compared as Starlette does
    /// (stripped, lower-cased).
    fn allows_headers(&self, requested: &str) -> bool {
        requested.split(',').all(|h| {
            let h = h.trim_matches(python_whitespace);
            if h.is_ascii() {
                self.allow_headers.iter().any(|a| a.eq_ignore_ascii_case(h))
            } else {
                // Python's `str.lower()` is Unicode's.
                self.allow_headers.contains(&h.to_lowercase())
            }
        })
    }

    /// The answer to `req` if it is a preflight ([`CorsRequest::is_preflight`]), made
    /// without a handler: `200 OK`, or `400 Disallowed CORS ...` naming what the policy
    /// refuses (origin, method, headers, private-network), with the preflight headers.
    pub fn preflight(&self, req: &CorsRequest<'_>) -> Option<Response> {
        if !req.is_preflight() {
            return None;
        }
        let (origin, method) = (req.origin?, req.request_method?);
        let mut failures = 0u8;
        // The values set on top of the precomputed ones (replacing one of the same name).
        let mut allow_origin = None;
        let mut allow_headers = None;
        let mut allow_private_network = false;
        match self.allowed_origin(origin) {
            Some(named) if self.preflight_explicit_allow_origin => allow_origin = Some(named),
            Some(_) => {}
            None => failures |= FAILED_ORIGIN,
        }
        if !self.allow_methods.iter().any(|m| m == method) {
            failures |= FAILED_METHOD;
        }
        match req.request_headers {
            Some(requested) if self.allow_all_headers => {
                allow_headers = Some(requested.to_owned());
            }
            Some(requested) if !self.allows_headers(requested) => failures |= FAILED_HEADERS,
            _ => {}
        }
        if req.request_private_network.is_some() {
            if self.allow_private_network {
                allow_private_network = true;
            } else {
                failures |= FAILED_PRIVATE_NETWORK;
            }
        }
        let mut response = if failures == 0 {
            Response::text("OK")
        } else {
            Response::text(disallowed(failures)).with_status(StatusCode::BAD_REQUEST)
        };
        // The values worked out above are never among the precomputed ones (an origin
        // is named only when the precomputed headers lack `*`, requested headers are
        // mirrored only when they lack a list): appended, in Starlette's order.
        let headers = &mut response.headers;
        *headers = take_header_list(self.preflight_headers.len() + 3);
        headers.extend(
            self.preflight_headers
                .iter()
                .map(|&(name, value)| (Cow::Borrowed(name), Cow::Borrowed(value))),
        );
        if let Some(origin) = allow_origin {
            headers.push((Cow::Borrowed("Access-Control-Allow-Origin"), origin));
        }
        if let Some(requested) = allow_headers {
            headers.push((
                Cow::Borrowed("Access-Control-Allow-Headers"),
                Cow::Owned(requested),
            ));
        }
        if allow_private_network {
            headers.push((
                Cow::Borrowed("Access-Control-Allow-Private-Network"),
                Cow::Borrowed("true"),
            ));
        }
        Some(response)
    }

    /// What a response to the non-preflight request `req` gets (see [`SimpleCors`]).
    pub fn simple(&self, req: &CorsRequest<'_>) -> SimpleCors {
        let mut cors = SimpleCors {
            set: [None, None, None],
        };
        let Some(origin) = req.origin else {
            return cors;
        };
        let explicit = if self.allow_all_origins {
            self.allow_credentials
                .then(|| self.allowed_origin(origin))
                .flatten()
        } else {
            self.allowed_origin(origin)
        };
        let mut slots = cors.set.iter_mut();
        let mut add = |name: &'static str, value: Cow<'static, str>| {
            if let Some(slot) = slots.next() {
                *slot = Some((name, value));
            }
        };
        // Starlette's order: its simple headers (`*`, credentials, exposed headers), then
        // a named origin in place of `*`.
        if self.allow_all_origins && explicit.is_none() {
            add("Access-Control-Allow-Origin", Cow::Borrowed("*"));
        }
        if self.allow_credentials {
            add("Access-Control-Allow-Credentials", Cow::Borrowed("true"));
        }
        if let Some(exposed) = self.expose_headers {
            add("Access-Control-Expose-Headers", Cow::Borrowed(exposed));
        }
        if let Some(origin) = explicit {
            add("Access-Control-Allow-Origin", origin);
        }
        cors
    }
}

/// Python's `str.strip()` whitespace (ASCII), which Starlette strips requested headers of.
fn python_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The CORS headers one response gets, worked out from its request by
/// [`CorsPolicy::simple`]; owns what it needs (values the policy made, or a copy of the
/// request's origin), so it can be applied later, on any thread.
#[derive(Clone, Debug)]
pub struct SimpleCors {
    /// Headers replacing any of the same name the handler set, in order (at most three).
    set: [Option<(&'static str, Cow<'static, str>)>; 3],
}

impl SimpleCors {
    /// Adds the headers to `response`, as Starlette's `CORSMiddleware` does to the
    /// response start: the `Access-Control-*` headers replace any of the same name, and
    /// `Origin` is appended to `Vary` (the existing `Vary` values joined into one).
    pub fn apply(self, response: &mut Response) {
        for (name, value) in self.set.into_iter().flatten() {
            response.remove_header(name);
            response.push_header(Cow::Borrowed(name), value);
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
        response.push_header(Cow::Borrowed("Vary"), vary);
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
    fn the_cors_headers_are_read_in_one_pass_first_of_each_name() {
        let headers: [(&str, &[u8]); 7] = [
            ("Host", b"x"),
            ("ORIGIN", b"https://a.org"),
            ("origin", b"https://second.org"),
            ("Access-Control-Request-Method", b"\xff"),
            ("access-control-request-method", b"PUT"),
            ("Access-Control-Request-Headers", b"x-a"),
            ("access-control-request-private-networK", b"true"),
        ];
        let mut req = CorsRequest {
            method: Method::Options,
            ..CorsRequest::default()
        };
        assert!(req.read_headers(headers.into_iter(), |v| std::str::from_utf8(v).ok()));
        assert_eq!(req.origin, Some("https://a.org"));
        // The first is the one read; not UTF-8, it counts as absent.
        assert_eq!(req.request_method, None);
        assert_eq!(req.request_headers, Some("x-a"));
        assert_eq!(req.request_private_network, Some("true"));
        let mut none = CorsRequest::default();
        assert!(!none.read_headers([("Accept", &b"*/*"[..])].into_iter(), |_| None));
    }

    #[test]
    fn a_preflight_mirrors_what_the_policy_does_not_list() {
        // Any header: the requested ones are mirrored; a regex origin is named.
        let p = policy(|o| {
            o.allow_origin_regex = Some(r"https://.*\.b\.org".into());
            o.allow_headers = vec!["*".into()];
            o.allow_private_network = true;
        });
        let mut req = preflight("https://x.b.org", "GET", Some("X-Anything, y"));
        req.request_private_network = Some("true");
        let r = p.preflight(&req).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let names: Vec<_> = r.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Vary",
                "Access-Control-Allow-Methods",
                "Access-Control-Max-Age",
                "Access-Control-Allow-Origin",
                "Access-Control-Allow-Headers",
                "Access-Control-Allow-Private-Network",
            ]
        );
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://x.b.org")
        );
        assert_eq!(
            header(&r, "access-control-allow-headers"),
            Some("X-Anything, y")
        );
        // Requested headers are compared stripped and case-insensitively.
        let p = policy(|o| {
            o.allow_origins = vec!["*".into()];
            o.allow_headers = vec!["X-Token".into()];
        });
        let ok = p
            .preflight(&preflight(
                "https://c.org",
                "GET",
                Some(" X-TOKEN ,\taccept"),
            ))
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(header(&ok, "access-control-allow-origin"), Some("*"));
        let refused = p
            .preflight(&preflight("https://c.org", "GET", Some("x-token, x-other")))
            .unwrap();
        assert_eq!(refused.body().as_bytes(), b"Disallowed CORS headers");
        let mut private = preflight("https://c.org", "GET", None);
        private.request_private_network = Some("true");
        assert_eq!(
            p.preflight(&private).unwrap().body().as_bytes(),
            b"Disallowed CORS private-network"
        );
        // Not a preflight: no answer.
        assert!(p
            .preflight(&CorsRequest {
                method: Method::Options,
                origin: Some("https://c.org"),
                ..CorsRequest::default()
            })
            .is_none());
    }

    #[test]
    fn policy_values_are_built_once_and_shared() {
        let a = policy(|o| o.allow_origins = vec!["https://shared.org".into()]);
        let b = policy(|o| o.allow_origins = vec!["https://shared.org".into()]);
        assert!(std::ptr::eq(a.allow_origins[0], b.allow_origins[0]));
        // A listed origin is named back borrowed from the policy, not copied.
        let r = a
            .preflight(&preflight("https://shared.org", "GET", None))
            .unwrap();
        let named = r
            .headers
            .iter()
            .find(|(n, _)| n == "Access-Control-Allow-Origin")
            .map(|(_, v)| v)
            .unwrap();
        assert!(matches!(named, Cow::Borrowed(v) if std::ptr::eq(*v, a.allow_origins[0])));
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
