//! Exceptions raised while answering a request, turned into responses as FastAPI does.
//!
//! An app that keeps FastAPI's default handlers has its `HTTPException`s and its failed
//! validations answered in Rust (`{"detail": ...}`, 422), the exceptions nothing handles
//! answered 500 and logged, and its 404/405 answered by the server's router. Handlers of
//! its own (`@app.exception_handler(...)`, the package's `_ExceptionHandlers`) are looked
//! up only for the exceptions they could handle, on the error path: a route that answers
//! normally pays nothing for them.

use std::sync::{Arc, Mutex};

use fasterapi_http::{NoRoute, Reply, Request, Response};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::aio;
use crate::dispatch::{http_exception, response_object, PyRoute, Resume, Runtime, Stage};
use crate::plan::Incoming;
use crate::request::RequestCell;

/// An app's exception handlers (the package's `_ExceptionHandlers`) and what the server
/// reads of them once, when it starts.
pub(crate) struct AppErrors {
    handlers: Py<PyAny>,
    /// An HTTP exception may have a handler of the app's own: it is looked up rather
    /// than answered `{"detail": ...}` in Rust.
    custom_http: bool,
    /// A request that fails validation goes to the app's handler of
    /// `RequestValidationError` rather than being answered 422 in Rust.
    pub(crate) custom_validation: bool,
    /// The router's 404 and 405 go to the app's handlers.
    pub(crate) custom_misses: bool,
    /// The app has a handler beyond FastAPI's defaults: a suspended coroutine keeps a
    /// copy of its request for it.
    pub(crate) custom: bool,
}

/// The handler an exception goes to.
struct Found<'py> {
    handler: Bound<'py, PyAny>,
    is_async: bool,
    /// The app's handler of last resort (`500` or `Exception`): the exception is still
    /// reported as unhandled, as Starlette's `ServerErrorMiddleware` re-raises it.
    server_error: bool,
}

impl AppErrors {
    /// Reads `handlers`, an `_ExceptionHandlers`.
    pub(crate) fn from_py(handlers: &Bound<'_, PyAny>) -> PyResult<AppErrors> {
        let flag = |name: &str| -> PyResult<bool> { handlers.getattr(name)?.is_truthy() };
        Ok(AppErrors {
            custom_http: flag("custom_http")?,
            custom_validation: flag("custom_validation")?,
            custom_misses: flag("custom_misses")?,
            custom: flag("custom")?,
            handlers: handlers.clone().unbind(),
        })
    }

    /// FastAPI's default handlers only (the dispatch micro bench's routes).
    pub(crate) fn defaults(py: Python<'_>) -> PyResult<AppErrors> {
        let module = py.import("fasterapi.exception_handlers")?;
        let defaults = module.getattr("_DEFAULTS")?;
        AppErrors::from_py(&module.getattr("_ExceptionHandlers")?.call1((defaults,))?)
    }

    /// The handler `exc` goes to; `None`: answer 500.
    fn resolve<'py>(
        &self,
        py: Python<'py>,
        exc: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Found<'py>>> {
        let found = self
            .handlers
            .bind(py)
            .call_method1(pyo3::intern!(py, "resolve"), (exc,))?;
        if found.is_none() {
            return Ok(None);
        }
        let (handler, is_async, server_error): (Bound<'py, PyAny>, bool, bool) = found.extract()?;
        Ok(Some(Found {
            handler,
            is_async,
            server_error,
        }))
    }

    /// The `RequestValidationError` of a request whose parameters failed with `errors`.
    #[cold]
    #[inline(never)]
    pub(crate) fn validation_error(
        &self,
        py: Python<'_>,
        errors: Bound<'_, PyList>,
        req: &impl Incoming,
        reads_body: bool,
    ) -> PyErr {
        let body = pyo3::types::PyBytes::new(py, req.body_bytes());
        let content_type = req.header("content-type");
        match self.handlers.bind(py).call_method1(
            pyo3::intern!(py, "validation_error"),
            (errors, body, content_type.as_deref(), reads_body),
        ) {
            Ok(exc) => PyErr::from_value(exc),
            Err(e) => e,
        }
    }
}

impl PyRoute {
    /// What the exception `e`, raised while answering `req`, is answered with: an
    /// `HTTPException` in Rust unless the app has HTTP handlers of its own, else the
    /// app's handler for it (an `async def` one run as a handler's coroutine is), else
    /// 500. Out of line: the error path stays out of the handler's code.
    #[cold]
    #[inline(never)]
    pub(crate) fn error_response<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        rt: &Runtime,
        e: PyErr,
        req: &impl Incoming,
        request: &mut RequestCell<'py, '_>,
    ) -> Response {
        if !self.errors.custom_http && e.is_instance(py, rt.http_exception.bind(py)) {
            return http_exception(py, rt, e.value(py))
                .unwrap_or_else(|e2| self.internal_error(py, e2));
        }
        let exc = e.value(py).clone().into_any();
        let found = match self.errors.resolve(py, &exc) {
            Ok(Some(found)) => found,
            Ok(None) => return self.internal_error(py, e),
            Err(e2) => return self.internal_error(py, e2),
        };
        if found.server_error {
            self.report(py, e.clone_ref(py));
        }
        let answer = request
            .get(py, req)
            .and_then(|request| found.handler.call1((request, &exc)))
            .and_then(|out| {
                if found.is_async {
                    let stage = Stage::ExceptionHandler;
                    self.run_coroutine(py, rt, out, req, request, None, stage)
                } else {
                    self.handler_response(py, rt, &out)
                }
            });
        answer.unwrap_or_else(|e2| self.internal_error(py, e2))
    }

    /// [`PyRoute::error_response`] for a request whose coroutine raised after it
    /// suspended: the answer goes through `reply`. `request` is the copy of the request
    /// kept for the app's handlers (`None` for an app with FastAPI's only, which do not
    /// read it).
    pub(crate) fn error_later(
        self: &Arc<Self>,
        py: Python<'_>,
        rt: &Runtime,
        e: PyErr,
        request: Option<&Bound<'_, PyAny>>,
        reply: (Reply, aio::Suspended),
    ) {
        if !self.errors.custom_http && e.is_instance(py, rt.http_exception.bind(py)) {
            let answer = http_exception(py, rt, e.value(py));
            return reply
                .0
                .send(answer.unwrap_or_else(|e2| self.internal_error(py, e2)));
        }
        let exc = e.value(py).clone().into_any();
        let found = match self.errors.resolve(py, &exc) {
            Ok(Some(found)) => found,
            Ok(None) => return reply.0.send(self.internal_error(py, e)),
            Err(e2) => return reply.0.send(self.internal_error(py, e2)),
        };
        if found.server_error {
            self.report(py, e.clone_ref(py));
        }
        let request = match request {
            Some(r) => r.clone(),
            None => py.None().into_bound(py),
        };
        let out = match found.handler.call1((request, &exc)) {
            Ok(out) => out,
            Err(e2) => return reply.0.send(self.internal_error(py, e2)),
        };
        if !found.is_async {
            let answer = self.handler_response(py, rt, &out);
            return reply
                .0
                .send(answer.unwrap_or_else(|e2| self.internal_error(py, e2)));
        }
        // The handler's coroutine, as a task of this thread's loop (running: this is one
        // of its callbacks): answered now if it finishes on its first step, else when
        // its task ends.
        let mut reply = Some(reply);
        let started = aio::with_loop(py, rt, |lp| {
            let task = rt.start.bind(py).call1((out, lp.event_loop.bind(py)))?;
            if task.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
                lp.note_work(py)?;
                let out = task.call_method0(pyo3::intern!(py, "result"))?;
                return self.handler_response(py, rt, &out).map(Some);
            }
            let resume = Resume {
                route: self.clone(),
                stage: Stage::ExceptionHandler,
                background: None,
                request: None,
                reply: Mutex::new(reply.take()),
                temporal: None,
                conditions: None,
            };
            task.call_method1(
                pyo3::intern!(py, "add_done_callback"),
                (Bound::new(py, resume)?,),
            )?;
            lp.note_work(py)?;
            Ok(None)
        });
        let answer = match started {
            Ok(Some(response)) => response,
            Ok(None) => return,
            Err(e2) => self.internal_error(py, e2),
        };
        // Not taken: the task did not get the reply. Taken and the callback not added:
        // the dropped reply answers 500.
        if let Some((reply, _suspended)) = reply {
            reply.send(answer);
        }
    }

    /// What an exception handler's return value is answered with: a `Response`.
    #[cold]
    #[inline(never)]
    pub(crate) fn handler_response(
        &self,
        py: Python<'_>,
        rt: &Runtime,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<Response> {
        if out.is_instance(rt.response.bind(py))? {
            return response_object(out);
        }
        Err(PyTypeError::new_err(format!(
            "the exception handler of {} returned {}, not a Response",
            self.label,
            out.get_type().name()?
        )))
    }

    /// A route that answers nothing itself, for [`PyRoute::answer_miss`].
    pub(crate) fn for_misses(py: Python<'_>, errors: Arc<AppErrors>) -> PyResult<PyRoute> {
        PyRoute::bare(py, "no route".to_owned(), errors)
    }

    /// The answer to a request no route takes, in an app whose exception handlers
    /// handle the router's 404 and 405: the `HTTPException` the router raises in
    /// Starlette, answered by them.
    pub(crate) fn answer_miss(self: &Arc<Self>, req: &Request<'_>, why: NoRoute<'_>) -> Response {
        crate::dispatch::keep_thread_state();
        Python::attach(|py| {
            let rt = match Runtime::get(py) {
                Ok(rt) => rt,
                Err(e) => return self.internal_error(py, e),
            };
            let (status, allow) = match why {
                NoRoute::NotFound => (404u16, None),
                NoRoute::MethodNotAllowed(allow) => (405, Some(allow)),
            };
            let exc = self
                .errors
                .handlers
                .bind(py)
                .call_method1(pyo3::intern!(py, "miss"), (status, allow));
            let e = match exc {
                Ok(exc) => PyErr::from_value(exc),
                Err(e) => e,
            };
            let mut request = RequestCell::new(self.app.as_ref());
            self.error_response(py, rt, e, req, &mut request)
        })
    }
}
