//! Route groups: a prefix and middleware shared by the routes added through them.

use crate::app::middleware::{After, Around, Before, Middleware, Next};
use crate::app::request::Request;
use crate::app::router::{Method, RouteErrorKind};
use crate::app::{into_handler, App, GroupLayers, RouteMut};
use crate::http::response::{IntoResponse, Response};
use std::sync::Arc;

/// A route group being built, from [`App::scope`] or [`Group::scope`]: its routes get
/// the group's prefix in front of their patterns and run inside its middleware.
///
/// A route's pattern is the prefixes and its own pattern put end to end: `/api` and
/// `/users/{id}` make `/api/users/{id}`, and an empty pattern routes the prefix itself.
pub struct Group<'a> {
    app: &'a mut App,
    id: usize,
    /// The whole prefix, the enclosing groups' included; `None` when one was malformed.
    prefix: Option<String>,
}

impl std::fmt::Debug for Group<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("prefix", &self.prefix)
            .field("middleware", &self.app.groups[self.id].layers.len())
            .finish_non_exhaustive()
    }
}

macro_rules! method_routes {
    ($($(#[$doc:meta])* $name:ident => $method:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
            where
                H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
                R: IntoResponse,
            {
                self.route(Method::$method, pattern, handler)
            }
        )*
    };
}

impl<'a> Group<'a> {
    /// Opens a group under `parent` (whose whole prefix is `outer`) and runs `build` on it.
    pub(crate) fn open<F>(
        app: &'a mut App,
        parent: Option<usize>,
        outer: String,
        prefix: &str,
        build: F,
    ) where
        F: FnOnce(&mut Group<'_>),
    {
        let well_formed = prefix.is_empty() || (prefix.starts_with('/') && !prefix.ends_with('/'));
        let prefix = well_formed.then(|| outer + prefix);
        app.groups.push(GroupLayers {
            parent,
            layers: Vec::new(),
        });
        let id = app.groups.len() - 1;
        build(&mut Group { app, id, prefix });
    }

    /// Routes `method` requests for the group's prefix followed by `pattern`, as
    /// [`App::route`] does.
    pub fn route<H, R>(&mut self, method: Method, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.add(Some(method), pattern, into_handler(handler))
    }

    /// Routes every method, as [`App::any`] does.
    pub fn any<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.add(None, pattern, into_handler(handler))
    }

    method_routes! {
        /// Routes `GET` (and so `HEAD`) requests, as [`App::get`] does.
        get => Get;
        /// Routes `POST` requests, as [`App::post`] does.
        post => Post;
        /// Routes `PUT` requests, as [`App::put`] does.
        put => Put;
        /// Routes `PATCH` requests, as [`App::patch`] does.
        patch => Patch;
        /// Routes `DELETE` requests, as [`App::delete`] does.
        delete => Delete;
    }

    fn add(
        &mut self,
        method: Option<Method>,
        pattern: &str,
        handler: crate::app::Handler,
    ) -> RouteMut<'_> {
        match &self.prefix {
            Some(prefix) => {
                let full = format!("{prefix}{pattern}");
                self.app.add(Some(self.id), method, &full, handler)
            }
            None => self
                .app
                .refuse(pattern.to_owned(), RouteErrorKind::BadPrefix),
        }
    }

    /// A group inside this one: its prefix follows this group's, its middleware run
    /// inside this group's.
    pub fn scope<F>(&mut self, prefix: &str, build: F)
    where
        F: FnOnce(&mut Group<'_>),
    {
        match &self.prefix {
            Some(outer) => {
                let outer = outer.clone();
                Group::open(self.app, Some(self.id), outer, prefix, build);
            }
            // Every route below is refused with this group's error.
            None => build(&mut Group {
                app: self.app,
                id: self.id,
                prefix: None,
            }),
        }
    }

    /// Runs `middleware` around the handlers of this group's routes (those of its inner
    /// groups included), inside the app's and the enclosing groups' middleware.
    pub fn middleware(&mut self, middleware: impl Middleware) {
        self.app.groups[self.id].layers.push(Arc::new(middleware));
    }

    /// [`App::before`] for this group's routes.
    pub fn before<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>) -> Option<Response> + Send + Sync + 'static,
    {
        self.middleware(Before(hook));
    }

    /// [`App::after`] for this group's routes.
    pub fn after<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>, &mut Response) + Send + Sync + 'static,
    {
        self.middleware(After(hook));
    }

    /// [`App::around`] for this group's routes.
    pub fn around<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>, Next<'_>) -> Response + Send + Sync + 'static,
    {
        self.middleware(Around(hook));
    }
}
