//! Path routing: a tree whose edges are whole path segments.
//!
//! Patterns are made of `/`-separated segments, each one of:
//! - a static segment, `users`, matched exactly;
//! - a parameter, `{id}`, matching one non-empty segment;
//! - a catch-all, `{*rest}`, last in the pattern, matching the remainder of the path
//!   (possibly empty, slashes included).
//!
//! At every level a static segment beats a parameter, which beats a catch-all; when a
//! more specific branch fails deeper down, the lookup backtracks into the next one. The
//! path decides the route; the method then picks the handler, so a path known under
//! other methods answers 405 with an `Allow` header, and `HEAD` falls back to `GET`.
//!
//! Lookups do not allocate: parameters are captured as `(name, value)` string slices in
//! a fixed array of [`MAX_PARAMS`] entries.
//!
//! ```
//! use fasterapi_http::router::{Lookup, Method, Router};
//!
//! let mut router = Router::new();
//! router.insert(Method::Get, "/users/{id}", "user").unwrap();
//! router.insert(Method::Get, "/users/me", "me").unwrap();
//! router.insert(Method::Get, "/static/{*path}", "file").unwrap();
//!
//! match router.lookup(Method::Get, "/users/42") {
//!     Lookup::Found(handler, params) => {
//!         assert_eq!(*handler, "user");
//!         assert_eq!(params.get("id"), Some("42"));
//!     }
//!     _ => unreachable!(),
//! }
//! assert!(matches!(router.lookup(Method::Get, "/users/me"), Lookup::Found(&"me", _)));
//! assert!(matches!(router.lookup(Method::Post, "/users/me"), Lookup::MethodNotAllowed("GET, HEAD")));
//! assert!(matches!(router.lookup(Method::Get, "/nope"), Lookup::NotFound));
//! ```

use std::fmt;
use std::mem::MaybeUninit;

pub use crate::http::method::Method;
use crate::http::method::METHODS;

/// The most path parameters one route may capture.
pub const MAX_PARAMS: usize = 8;

/// Why a route pattern was refused by [`Router::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    pattern: String,
    kind: RouteErrorKind,
}

/// What is wrong with a refused route: see [`RouteError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteErrorKind {
    /// The pattern does not start with `/` (or a group's prefix does not, or ends with one).
    NoLeadingSlash,
    /// A parameter name is empty or not made of `[A-Za-z0-9_]`.
    BadParamName,
    /// Braces that do not enclose a whole segment, as `/x{id}`.
    BadBraces,
    /// A catch-all `{*name}` that is not the last segment.
    CatchAllNotLast,
    /// More than [`MAX_PARAMS`] parameters.
    TooManyParams,
    /// A parameter (or catch-all) named differently from another route's at the same
    /// position.
    ParamNameConflict,
    /// The same method (or any method) and pattern are routed already.
    Duplicate,
    /// A route group's prefix that is neither empty nor starts with `/` without ending
    /// with one (the pattern reported is the route's own, without the prefix).
    BadPrefix,
}

impl RouteErrorKind {
    fn reason(self) -> &'static str {
        match self {
            RouteErrorKind::NoLeadingSlash => "a pattern must start with `/`",
            RouteErrorKind::BadParamName => {
                "a parameter name must be non-empty and made of [A-Za-z0-9_]"
            }
            RouteErrorKind::BadBraces => "braces must enclose a whole segment, as in `/users/{id}`",
            RouteErrorKind::CatchAllNotLast => "a catch-all `{*name}` must be the last segment",
            RouteErrorKind::TooManyParams => "too many path parameters",
            RouteErrorKind::ParamNameConflict => {
                "a parameter at this position already has another name"
            }
            RouteErrorKind::Duplicate => "this method and path are already routed",
            RouteErrorKind::BadPrefix => {
                "its group's prefix must be empty or start with `/` and not end with one"
            }
        }
    }
}

impl RouteError {
    /// A refusal of `pattern` for `kind`.
    pub fn new(pattern: impl Into<String>, kind: RouteErrorKind) -> RouteError {
        RouteError {
            pattern: pattern.into(),
            kind,
        }
    }

    /// The refused pattern, as given (with its group's prefix).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is wrong with it.
    pub fn kind(&self) -> RouteErrorKind {
        self.kind
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "route `{}`: {}", self.pattern, self.kind.reason())
    }
}

impl std::error::Error for RouteError {}

/// Path parameters captured by a lookup: `(name, raw value)` pairs, in pattern order.
///
/// Values are the raw (still percent-encoded) path text.
#[derive(Clone, Copy)]
pub struct Params<'r, 'p> {
    len: usize,
    // Only `items[..len]` is initialised, so creating one per request is one store (an
    // all-`None` array measured 8 more instructions per request, a `("", "")` filler 33).
    items: [MaybeUninit<(&'r str, &'p str)>; MAX_PARAMS],
}

impl<'r, 'p> Params<'r, 'p> {
    /// No parameters.
    pub const fn new() -> Self {
        Params {
            len: 0,
            items: [MaybeUninit::uninit(); MAX_PARAMS],
        }
    }

    /// The raw value of the parameter `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'p str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The captured `(name, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'r str, &'p str)> + '_ {
        self.items[..self.len].iter().map(|item| {
            // SAFETY: `push` initialises `items[len]` before raising `len`, and `len` is
            // only ever lowered otherwise, so `items[..len]` is initialised.
            unsafe { item.assume_init() }
        })
    }

    /// How many parameters were captured.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none were captured.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn push(&mut self, name: &'r str, value: &'p str) {
        // Insert refuses patterns with more than MAX_PARAMS captures, so this cannot overflow.
        self.items[self.len] = MaybeUninit::new((name, value));
        self.len += 1;
    }
}

impl Default for Params<'_, '_> {
    fn default() -> Self {
        Params::new()
    }
}

impl fmt::Debug for Params<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The outcome of [`Router::lookup`].
// `Found` carries the parameters inline on purpose: boxing them would allocate per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Lookup<'r, 'p, T> {
    /// A route matched path and method.
    Found(&'r T, Params<'r, 'p>),
    /// The path exists under other methods: answer 405 with this `Allow` value.
    MethodNotAllowed(&'r str),
    /// No route has this path.
    NotFound,
}

/// Handlers of one path, one per method, and one for the methods without their own.
struct Endpoints<T> {
    by_method: [Option<T>; METHODS.len()],
    /// The handler of [`Router::insert_any`]: methods without their own handler.
    any: Option<T>,
    /// The `Allow` header value, kept current by `insert` so a 405 costs nothing to build.
    allow: String,
}

impl<T> Endpoints<T> {
    fn new() -> Self {
        Endpoints {
            by_method: std::array::from_fn(|_| None),
            any: None,
            allow: String::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.any.is_none() && self.by_method.iter().all(Option::is_none)
    }

    fn values(&self) -> impl Iterator<Item = &T> {
        self.by_method
            .iter()
            .chain(std::iter::once(&self.any))
            .flatten()
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.by_method
            .iter_mut()
            .chain(std::iter::once(&mut self.any))
            .flatten()
    }

    /// Stores `value` for `method` (`None`: any method); `None` when it is taken already.
    fn set(&mut self, method: Option<Method>, value: T) -> Option<&mut T> {
        let Some(method) = method else {
            if self.any.is_some() {
                return None;
            }
            return Some(self.any.insert(value));
        };
        if self.by_method[method.index()].is_some() {
            return None;
        }
        self.by_method[method.index()] = Some(value);
        let has = |m: Method| self.by_method[m.index()].is_some();
        let mut allow = Vec::new();
        for m in METHODS {
            if has(m) || (m == Method::Head && has(Method::Get)) {
                allow.push(m.as_str());
            }
        }
        self.allow = allow.join(", ");
        self.by_method[method.index()].as_mut()
    }

    #[inline]
    fn get(&self, method: Method) -> Option<&T> {
        match &self.by_method[method.index()] {
            Some(v) => Some(v),
            None => self.fallback(method),
        }
    }

    /// The handler of a method without its own: `GET`'s for `HEAD`, else the any-method
    /// handler. Out of line, so that the common lookup stays short.
    #[inline(never)]
    fn fallback(&self, method: Method) -> Option<&T> {
        match &self.by_method[Method::Get.index()] {
            Some(get) if method == Method::Head => Some(get),
            _ => self.any.as_ref(),
        }
    }
}

struct Node<T> {
    statics: Vec<(Box<str>, Node<T>)>,
    param: Option<Box<(Box<str>, Node<T>)>>,
    catch_all: Option<Box<(Box<str>, Endpoints<T>)>>,
    endpoints: Endpoints<T>,
}

impl<T> Node<T> {
    fn new() -> Self {
        Node {
            statics: Vec::new(),
            param: None,
            catch_all: None,
            endpoints: Endpoints::new(),
        }
    }
}

/// A path router mapping `(method, path)` to a `T`.
pub struct Router<T> {
    root: Node<T>,
}

impl<T> std::fmt::Debug for Router<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router::new()
    }
}

enum Segment<'a> {
    Static(&'a str),
    Param(&'a str),
    CatchAll(&'a str),
}

fn classify(seg: &str) -> Result<Segment<'_>, RouteErrorKind> {
    match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => {
            let (catch_all, name) = match inner.strip_prefix('*') {
                Some(name) => (true, name),
                None => (false, inner),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(RouteErrorKind::BadParamName);
            }
            Ok(if catch_all {
                Segment::CatchAll(name)
            } else {
                Segment::Param(name)
            })
        }
        None if seg.contains(['{', '}']) => Err(RouteErrorKind::BadBraces),
        None => Ok(Segment::Static(seg)),
    }
}

impl<T> Router<T> {
    /// An empty router.
    pub fn new() -> Self {
        Router { root: Node::new() }
    }

    /// Adds `value` for `method` on `pattern`.
    ///
    /// Fails when the pattern is malformed (it must start with `/`; braces enclose whole
    /// segments; a catch-all comes last), captures more than [`MAX_PARAMS`] parameters,
    /// names a parameter differently from an existing route at the same position, or when
    /// the same method and pattern are already taken. On success, returns the stored value.
    pub fn insert(
        &mut self,
        method: Method,
        pattern: &str,
        value: T,
    ) -> Result<&mut T, RouteError> {
        self.insert_slot(Some(method), pattern, value)
    }

    /// Adds `value` on `pattern` for every method that has no value of its own there
    /// (`HEAD` takes `GET`'s first): such a path never answers 405. Fails as
    /// [`Router::insert`] does, and when the pattern has an any-method value already.
    pub fn insert_any(&mut self, pattern: &str, value: T) -> Result<&mut T, RouteError> {
        self.insert_slot(None, pattern, value)
    }

    fn insert_slot(
        &mut self,
        method: Option<Method>,
        pattern: &str,
        value: T,
    ) -> Result<&mut T, RouteError> {
        let err = |kind| RouteError::new(pattern, kind);
        let rest = pattern
            .strip_prefix('/')
            .ok_or_else(|| err(RouteErrorKind::NoLeadingSlash))?;
        let segments: Vec<&str> = rest.split('/').collect();
        let mut captures = 0;
        let mut node = &mut self.root;
        for (i, seg) in segments.iter().enumerate() {
            match classify(seg).map_err(err)? {
                Segment::Static(s) => {
                    let pos = match node.statics.iter().position(|(k, _)| &**k == s) {
                        Some(pos) => pos,
                        None => {
                            node.statics.push((s.into(), Node::new()));
                            node.statics.len() - 1
                        }
                    };
                    node = &mut node.statics[pos].1;
                }
                Segment::Param(name) => {
                    captures += 1;
                    let slot = node
                        .param
                        .get_or_insert_with(|| Box::new((name.into(), Node::new())));
                    if &*slot.0 != name {
                        return Err(err(RouteErrorKind::ParamNameConflict));
                    }
                    node = &mut slot.1;
                }
                Segment::CatchAll(name) => {
                    if i + 1 != segments.len() {
                        return Err(err(RouteErrorKind::CatchAllNotLast));
                    }
                    captures += 1;
                    if captures > MAX_PARAMS {
                        return Err(err(RouteErrorKind::TooManyParams));
                    }
                    let slot = node
                        .catch_all
                        .get_or_insert_with(|| Box::new((name.into(), Endpoints::new())));
                    if &*slot.0 != name {
                        return Err(err(RouteErrorKind::ParamNameConflict));
                    }
                    return slot
                        .1
                        .set(method, value)
                        .ok_or_else(|| err(RouteErrorKind::Duplicate));
                }
            }
        }
        if captures > MAX_PARAMS {
            return Err(err(RouteErrorKind::TooManyParams));
        }
        node.endpoints
            .set(method, value)
            .ok_or_else(|| err(RouteErrorKind::Duplicate))
    }

    /// Every stored value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        fn walk<'a, T>(node: &'a Node<T>, out: &mut Vec<&'a T>) {
            out.extend(node.endpoints.values());
            for (_, child) in &node.statics {
                walk(child, out);
            }
            if let Some(p) = &node.param {
                walk(&p.1, out);
            }
            if let Some(c) = &node.catch_all {
                out.extend(c.1.values());
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out.into_iter()
    }

    /// Every stored value, mutably, in no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        fn walk<'a, T>(node: &'a mut Node<T>, out: &mut Vec<&'a mut T>) {
            out.extend(node.endpoints.values_mut());
            for (_, child) in &mut node.statics {
                walk(child, out);
            }
            if let Some(p) = &mut node.param {
                walk(&mut p.1, out);
            }
            if let Some(c) = &mut node.catch_all {
                out.extend(c.1.values_mut());
            }
        }
        let mut out = Vec::new();
        walk(&mut self.root, &mut out);
        out.into_iter()
    }

    /// Finds the route for `method` and `path` (the request path without its query).
    #[inline]
    pub fn lookup<'r, 'p>(&'r self, method: Method, path: &'p str) -> Lookup<'r, 'p, T> {
        let mut params = Params::new();
        match self.find(method, path, &mut params) {
            Ok(value) => Lookup::Found(value, params),
            Err(Miss::MethodNotAllowed(allow)) => Lookup::MethodNotAllowed(allow),
            Err(Miss::NotFound) => Lookup::NotFound,
        }
    }

    /// [`lookup`](Self::lookup) with the parameters captured into `params`, owned by the
    /// caller: the server's path, where moving the fixed array of [`MAX_PARAMS`] entries
    /// out through the result showed up as two `memcpy` calls per request.
    #[inline]
    pub(crate) fn find<'r, 'p>(
        &'r self,
        method: Method,
        path: &'p str,
        params: &mut Params<'r, 'p>,
    ) -> Result<&'r T, Miss<'r>> {
        let Some(rest) = path.strip_prefix('/') else {
            return Err(Miss::NotFound);
        };
        match find(&self.root, rest, params) {
            Some(endpoints) => match endpoints.get(method) {
                Some(value) => Ok(value),
                None => Err(Miss::MethodNotAllowed(&endpoints.allow)),
            },
            None => Err(Miss::NotFound),
        }
    }
}

/// Why [`Router::find`] found no route.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Miss<'r> {
    /// The path exists under other methods: answer 405 with this `Allow` value.
    MethodNotAllowed(&'r str),
    /// No route has this path.
    NotFound,
}

/// Matches `path` (what follows a `/`) below `node`, most specific branch first.
fn find<'r, 'p, T>(
    node: &'r Node<T>,
    path: &'p str,
    params: &mut Params<'r, 'p>,
) -> Option<&'r Endpoints<T>> {
    // A byte loop: segments are short, and str::find's memchr set-up costs more here.
    let (seg, rest) = match path.bytes().position(|b| b == b'/') {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    };
    for (name, child) in &node.statics {
        if **name == *seg {
            if let Some(found) = descend(child, rest, params) {
                return Some(found);
            }
            break;
        }
    }
    if let Some(param) = &node.param {
        if !seg.is_empty() {
            let mark = params.len;
            params.push(&param.0, seg);
            if let Some(found) = descend(&param.1, rest, params) {
                return Some(found);
            }
            params.len = mark;
        }
    }
    if let Some(catch_all) = &node.catch_all {
        params.push(&catch_all.0, path);
        return Some(&catch_all.1);
    }
    None
}

#[inline]
fn descend<'r, 'p, T>(
    child: &'r Node<T>,
    rest: Option<&'p str>,
    params: &mut Params<'r, 'p>,
) -> Option<&'r Endpoints<T>> {
    match rest {
        None if child.endpoints.is_empty() => {
            // `/files` may still be served by a catch-all `/files/{*path}` with an empty rest.
            child.catch_all.as_ref().map(|c| {
                params.push(&c.0, "");
                &c.1
            })
        }
        None => Some(&child.endpoints),
        Some(rest) => find(child, rest, params),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(Method, &str)]) -> Router<String> {
        let mut r = Router::new();
        for (m, p) in routes {
            r.insert(*m, p, format!("{m} {p}")).unwrap();
        }
        r
    }

    fn found(r: &Router<String>, m: Method, path: &str) -> (String, Vec<(String, String)>) {
        match r.lookup(m, path) {
            Lookup::Found(v, p) => (
                v.clone(),
                p.iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect(),
            ),
            Lookup::MethodNotAllowed(allow) => panic!("{m} {path}: 405, allow {allow}"),
            Lookup::NotFound => panic!("{m} {path}: 404"),
        }
    }

    #[test]
    fn static_beats_param_beats_catch_all() {
        use Method::Get;
        let r = router(&[
            (Get, "/users/me"),
            (Get, "/users/{id}"),
            (Get, "/users/{*rest}"),
        ]);
        assert_eq!(found(&r, Get, "/users/me").0, "GET /users/me");
        assert_eq!(
            found(&r, Get, "/users/42"),
            ("GET /users/{id}".into(), vec![("id".into(), "42".into())])
        );
        assert_eq!(
            found(&r, Get, "/users/42/posts"),
            (
                "GET /users/{*rest}".into(),
                vec![("rest".into(), "42/posts".into())]
            )
        );
        assert_eq!(found(&r, Get, "/users/").0, "GET /users/{*rest}");
    }

    #[test]
    fn backtracks_from_static_into_param() {
        use Method::Get;
        let r = router(&[(Get, "/a/b/c"), (Get, "/a/{x}/d")]);
        assert_eq!(
            found(&r, Get, "/a/b/d"),
            ("GET /a/{x}/d".into(), vec![("x".into(), "b".into())])
        );
        assert_eq!(found(&r, Get, "/a/b/c").1, vec![]);
        assert!(matches!(r.lookup(Get, "/a/b/e"), Lookup::NotFound));
    }

    #[test]
    fn params_do_not_leak_from_failed_branches() {
        use Method::Get;
        let r = router(&[(Get, "/{a}/x"), (Get, "/{a}/{b}/y"), (Get, "/{*all}")]);
        assert_eq!(
            found(&r, Get, "/1/2/z"),
            ("GET /{*all}".into(), vec![("all".into(), "1/2/z".into())])
        );
        assert_eq!(
            found(&r, Get, "/1/2/y").1,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn root_trailing_slash_and_empty_segments() {
        use Method::Get;
        let r = router(&[(Get, "/"), (Get, "/x"), (Get, "/x/"), (Get, "/p/{id}")]);
        assert_eq!(found(&r, Get, "/").0, "GET /");
        assert_eq!(found(&r, Get, "/x").0, "GET /x");
        assert_eq!(found(&r, Get, "/x/").0, "GET /x/");
        assert!(
            matches!(r.lookup(Get, "/p/"), Lookup::NotFound),
            "a parameter needs a non-empty segment"
        );
        assert!(matches!(r.lookup(Get, "//x"), Lookup::NotFound));
        assert!(matches!(r.lookup(Get, "x"), Lookup::NotFound));
    }

    #[test]
    fn catch_all_matches_empty_rest() {
        use Method::Get;
        let r = router(&[(Get, "/files/{*path}")]);
        assert_eq!(
            found(&r, Get, "/files"),
            (
                "GET /files/{*path}".into(),
                vec![("path".into(), "".into())]
            )
        );
        assert_eq!(
            found(&r, Get, "/files/a/b.txt").1,
            vec![("path".into(), "a/b.txt".into())]
        );
    }

    #[test]
    fn method_not_allowed_lists_methods_and_head_follows_get() {
        use Method::*;
        let r = router(&[
            (Get, "/r"),
            (Post, "/r"),
            (Delete, "/r"),
            (Put, "/only-put"),
        ]);
        assert_eq!(found(&r, Head, "/r").0, "GET /r");
        assert!(matches!(
            r.lookup(Patch, "/r"),
            Lookup::MethodNotAllowed("GET, HEAD, POST, DELETE")
        ));
        assert!(matches!(
            r.lookup(Get, "/only-put"),
            Lookup::MethodNotAllowed("PUT")
        ));
        assert!(matches!(
            r.lookup(Head, "/only-put"),
            Lookup::MethodNotAllowed("PUT")
        ));
    }

    #[test]
    fn any_route_takes_methods_without_their_own_and_never_405s() {
        use Method::*;
        let mut r = router(&[(Get, "/r"), (Post, "/only-post")]);
        r.insert_any("/r", "ANY /r".into()).unwrap();
        r.insert_any("/files/{*path}", "ANY files".into()).unwrap();
        assert_eq!(found(&r, Get, "/r").0, "GET /r");
        assert_eq!(found(&r, Head, "/r").0, "GET /r");
        assert_eq!(found(&r, Delete, "/r").0, "ANY /r");
        assert_eq!(found(&r, Options, "/r").0, "ANY /r");
        assert_eq!(
            found(&r, Put, "/files/a/b").1,
            vec![("path".into(), "a/b".into())]
        );
        assert!(matches!(
            r.lookup(Get, "/only-post"),
            Lookup::MethodNotAllowed("POST")
        ));
        let e = r.insert_any("/r", "again".into()).unwrap_err();
        assert_eq!(e.kind(), RouteErrorKind::Duplicate);
        let mut any_only = Router::new();
        any_only.insert_any("/x", ()).unwrap();
        assert!(matches!(any_only.lookup(Head, "/x"), Lookup::Found(..)));
        assert_eq!(any_only.values().count(), 1);
    }

    #[test]
    fn explicit_head_route_wins_over_get() {
        use Method::*;
        let r = router(&[(Get, "/r"), (Head, "/r")]);
        assert_eq!(found(&r, Head, "/r").0, "HEAD /r");
    }

    #[test]
    fn bad_patterns_are_refused() {
        let mut r = Router::new();
        for bad in [
            "users",
            "/{}",
            "/{a-b}",
            "/x{id}",
            "/{*rest}/more",
            "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}",
        ] {
            assert!(r.insert(Method::Get, bad, ()).is_err(), "{bad} accepted");
        }
        r.insert(Method::Get, "/u/{id}", ()).unwrap();
        let e = r.insert(Method::Get, "/u/{name}/x", ()).unwrap_err();
        assert!(e.to_string().contains("another name"), "{e}");
        assert_eq!(
            (e.pattern(), e.kind()),
            ("/u/{name}/x", RouteErrorKind::ParamNameConflict)
        );
        let e = r.insert(Method::Get, "/u/{id}", ()).unwrap_err();
        assert!(e.to_string().contains("already routed"), "{e}");
        r.insert(Method::Post, "/u/{id}", ()).unwrap();
    }

    #[test]
    fn eight_params_fit() {
        let mut r = Router::new();
        r.insert(Method::Get, "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", ())
            .unwrap();
        match r.lookup(Method::Get, "/1/2/3/4/5/6/7/8") {
            Lookup::Found(_, p) => assert_eq!(p.get("h"), Some("8")),
            _ => panic!("no match"),
        }
    }

    #[test]
    fn method_tokens() {
        for m in METHODS {
            assert_eq!(Method::from_bytes(m.as_str().as_bytes()), Some(m));
        }
        assert_eq!(Method::from_bytes(b"BREW"), None);
    }
}
