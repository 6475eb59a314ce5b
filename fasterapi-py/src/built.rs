//! Routes whose answer is bytes the Python package builds once: the OpenAPI document
//! (`/openapi.json`), the docs pages (`/docs`, `/redoc`) and their assets.
//!
//! The package gives each as `(path, content_type, builder)` in `AppSpec(built=...)`. The
//! first `GET` (or `HEAD`) calls `builder()` for the bytes; every later request is answered
//! from the kept [`Bytes`] by the I/O thread without entering Python, as a Rust route with
//! a static body is. A builder that raises answers 500 (the exception logged, or raised in
//! the test by the test client) and is called again by the next request.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use fasterapi_http::{Request, Response, StatusCode};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::testing::Unhandled;

/// One built route: its content type, the Python callable that builds its body, and the
/// body once built.
pub(crate) struct BuiltRoute {
    path: String,
    content_type: Cow<'static, str>,
    builder: Py<PyAny>,
    body: OnceLock<Bytes>,
    unhandled: Option<Arc<Unhandled>>,
}

/// Content types with a `'static` copy, so that answering clones no string.
const KNOWN_TYPES: [&str; 6] = [
    "application/json",
    "text/html; charset=utf-8",
    "text/javascript; charset=utf-8",
    "text/css; charset=utf-8",
    "image/png",
    "text/plain; charset=utf-8",
];

impl BuiltRoute {
    /// A route answering `GET path` with the bytes `builder()` returns.
    pub(crate) fn new(
        path: String,
        content_type: String,
        builder: Py<PyAny>,
        unhandled: Option<Arc<Unhandled>>,
    ) -> BuiltRoute {
        let content_type = match KNOWN_TYPES.iter().find(|t| **t == content_type) {
            Some(t) => Cow::Borrowed(*t),
            None => Cow::Owned(content_type),
        };
        BuiltRoute {
            path,
            content_type,
            builder,
            body: OnceLock::new(),
            unhandled,
        }
    }

    /// The route's path.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The response: the kept bytes, built first if this is the first request.
    pub(crate) fn answer(&self, _req: &Request<'_>) -> Response {
        let body = match self.body.get() {
            Some(body) => body.clone(),
            None => match self.build() {
                Ok(body) => self.body.get_or_init(|| body).clone(),
                Err(()) => {
                    return Response::text("Internal Server Error")
                        .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
        };
        Response::bytes(body, self.content_type.clone())
    }

    fn build(&self) -> Result<Bytes, ()> {
        Python::attach(|py| {
            let built = self.builder.bind(py).call0().and_then(|out| {
                out.cast::<PyBytes>()
                    .map(|b| Bytes::copy_from_slice(b.as_bytes()))
                    .map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(format!(
                            "the builder of {} returned {}, not bytes",
                            self.path,
                            out.get_type()
                                .name()
                                .map(|n| n.to_string())
                                .unwrap_or_default()
                        ))
                    })
            });
            built.map_err(|e| match &self.unhandled {
                Some(unhandled) => unhandled.push(e),
                None => {
                    crate::serve::log_line(&format!("exception building {}:", self.path));
                    e.display(py);
                }
            })
        })
    }
}
