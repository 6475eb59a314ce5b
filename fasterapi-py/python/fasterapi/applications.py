"""The application class: ``fasterapi.applications`` as ``fastapi.applications``."""

from __future__ import annotations

import signal

from . import _fasterapi
from ._supervisor import _supervise
from .responses import JSONResponse
from .routing import (
    _ROUTE_DOC_OPTIONS,
    _ROUTE_INERT_DEFAULTS,
    _ROUTE_RESPONSE_OPTIONS,
    Default,
    _check_options,
    compile_route,
)


#: Application options that only document the app.
_APP_DOC_OPTIONS = {
    "title", "summary", "description", "version", "openapi_tags", "servers",
    "terms_of_service", "contact", "license_info", "responses", "callbacks", "webhooks",
    "deprecated", "include_in_schema", "swagger_ui_parameters", "swagger_ui_init_oauth",
    "generate_unique_id_function", "separate_input_output_schemas",
}
#: Application options with the value that matches what fasterapi does.
_APP_INERT_DEFAULTS = {
    "debug": False,
    "routes": None,
    "dependencies": None,
    "middleware": None,
    "exception_handlers": None,
    "on_startup": None,
    "on_shutdown": None,
    "lifespan": None,
    "openapi_prefix": "",
    "root_path": "",
    "root_path_in_servers": True,
    # fasterapi serves no OpenAPI schema or docs pages yet: only "none" matches.
    "openapi_url": None,
    "docs_url": None,
    "redoc_url": None,
    "swagger_ui_oauth2_redirect_url": None,
    # fasterapi does not redirect between /items and /items/ yet.
    "redirect_slashes": False,
}


class FasterAPI:
    """An application: routes registered with the ``get``/``post``/``put``/``patch``/
    ``delete`` decorators, served by :meth:`run`.

    FastAPI's documentation options (``title``, ``version``, ``description``, ...) are
    kept in :attr:`options`; an option that would change behaviour and that fasterapi
    does not implement yet (``dependencies``, ``lifespan``, ``middleware``, ``docs_url``,
    ...) raises ``NotImplementedError`` naming it, unless given FastAPI's inert value."""

    def __init__(self, *, default_response_class=Default(JSONResponse), **options):
        self.options = _check_options("FasterAPI()", options, _APP_DOC_OPTIONS, _APP_INERT_DEFAULTS)
        #: The response class of routes that do not name one (FastAPI's option; left
        #: unset, ``Default(JSONResponse)``: a response model is then sent as pydantic's
        #: JSON, as FastAPI does only for the class it defaults to).
        self.default_response_class = default_response_class
        #: The registered routes (``fasterapi._fasterapi.RouteSpec``: ``method``,
        #: ``path``, ``endpoint``, ``is_async``, ``plan``, ``blocking``, ``status_code``).
        self.routes: list = []
        #: The documentation options of each route, by ``(methods, path)``.
        self.route_docs: dict = {}

    def add_route(self, method: str, path: str, func, *, status_code: int | None = None, blocking: bool | None = None, **response_options):
        """Registers ``func`` for ``method`` requests to ``path`` (``{name}`` captures a
        segment, ``{*name}`` the rest of the path).

        ``blocking`` places a ``def`` handler: ``True`` on the thread pool, ``False`` on
        the I/O thread, ``None`` (the default) where its timed calls say (see the module
        docs). ``async def`` handlers run on the worker's event loop; ``blocking=True``
        is refused for them. ``response_options``: FastAPI's ``response_model``,
        ``response_class`` (the app's ``default_response_class`` if not given) and
        ``response_model_*`` (see :func:`fasterapi.routing.compile_route`)."""
        response_options.setdefault("response_class", self.default_response_class)
        self.routes.append(compile_route(method, path, func, status_code=status_code, blocking=blocking, **response_options))
        return func

    def api_route(self, path: str, *, methods=("GET",), status_code: int | None = None, blocking: bool | None = None, **options):
        """A decorator registering the handler for each of ``methods``, with FastAPI's
        ``status_code``, ``response_model``, ``response_class`` and ``response_model_*``
        options. Its documentation options (``tags``, ``summary``, ``description``,
        ``deprecated``, ``operation_id``, ``include_in_schema``, ...) are kept with the
        route; options fasterapi does not implement yet (``dependencies``, ...) raise
        ``NotImplementedError`` naming them."""
        where = f"{'/'.join(methods)} {path}"
        response_options = {k: options.pop(k) for k in list(options) if k in _ROUTE_RESPONSE_OPTIONS}
        docs = _check_options(where, options, _ROUTE_DOC_OPTIONS, _ROUTE_INERT_DEFAULTS)

        def decorator(func):
            for m in methods:
                self.add_route(m, path, func, status_code=status_code, blocking=blocking, **response_options)
            self.route_docs[(tuple(methods), path)] = docs
            return func

        return decorator

    def get(self, path: str, **kw):
        """Decorator: a ``GET`` (and ``HEAD``) route. Options: ``status_code``, ``blocking``."""
        return self.api_route(path, methods=("GET",), **kw)

    def post(self, path: str, **kw):
        """Decorator: a ``POST`` route."""
        return self.api_route(path, methods=("POST",), **kw)

    def put(self, path: str, **kw):
        """Decorator: a ``PUT`` route."""
        return self.api_route(path, methods=("PUT",), **kw)

    def patch(self, path: str, **kw):
        """Decorator: a ``PATCH`` route."""
        return self.api_route(path, methods=("PATCH",), **kw)

    def delete(self, path: str, **kw):
        """Decorator: a ``DELETE`` route."""
        return self.api_route(path, methods=("DELETE",), **kw)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 1,
        *,
        blocking_threads: int = 40,
        loop: str = "auto",
        max_suspended: int = 10_000,
        max_queued: int = 1024,
        shutdown_timeout: float = 10.0,
    ):
        """Serves until SIGINT or SIGTERM, then shuts down gracefully.

        ``workers=1`` serves in this process with one I/O thread. ``workers=N`` forks
        ``N`` worker processes (before any server thread exists); each binds its own
        ``SO_REUSEPORT`` listener on the same port, so the kernel spreads connections
        over them. This process supervises: it restarts a worker that dies; SIGINT or
        SIGTERM to it (or to its process group) shuts every worker down gracefully, a
        second one kills them; workers shut down if it dies. Port 0 picks a free port
        (the same for every worker).

        Each worker has one asyncio event loop, driven by its I/O thread; ``loop`` names
        it: ``"auto"`` or ``"asyncio"`` (asyncio's selector loop). ``"uvloop"`` is
        refused: uvloop keeps its descriptor to itself, so it cannot be driven by the
        server's own poll. ``blocking_threads`` sizes each worker's thread pool for
        ``def`` handlers (40, anyio's default as FastAPI uses it; 0: one per core).
        ``max_suspended`` caps the ``async def`` requests a worker holds suspended at
        once, and ``max_queued`` the ``def`` requests waiting for a pool thread (rounded
        up to a power of two): beyond either a request is answered ``503`` with
        ``Retry-After``, as is a request that waited 30 seconds for a thread. On SIGTERM, suspended requests and pool jobs get
        ``shutdown_timeout`` seconds to finish; the rest are cancelled.
        """
        if loop not in ("auto", "asyncio"):
            if loop == "uvloop":
                raise ValueError(
                    "loop='uvloop' is not supported: fasterapi drives the event loop from its "
                    "own epoll poll, which needs the loop's selector descriptor, and uvloop "
                    "does not expose one; use loop='asyncio' (the default)"
                )
            raise ValueError(f"unknown loop {loop!r}: use 'auto' or 'asyncio'")
        options = {
            "blocking_threads": int(blocking_threads),
            "max_suspended": int(max_suspended),
            "max_queued": int(max_queued),
            "shutdown_timeout": float(shutdown_timeout),
        }
        for name in ("max_suspended", "max_queued"):
            if options[name] < 1:
                raise ValueError(f"{name} must be at least 1")
        if not options["shutdown_timeout"] >= 0:
            raise ValueError("shutdown_timeout must be a number of seconds, at least 0")
        if workers <= 1:
            # The server handles SIGINT/SIGTERM itself while serving and restores the
            # default handlers when done; give Python's back afterwards.
            saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                _fasterapi.serve(self.routes, host, int(port), **options)
            finally:
                for sig, handler in saved.items():
                    if handler is not None:
                        signal.signal(sig, handler)
        else:
            _supervise(self.routes, host, int(port), int(workers), options)


def _not_yet(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"FasterAPI.{name} is not implemented by fasterapi yet (FastAPI has it; an app "
            "that uses it cannot run on fasterapi today)"
        )

    method.__name__ = name
    method.__doc__ = f"FastAPI's ``{name}``: not implemented yet; raises NotImplementedError."
    return method


for _name in (
    "include_router", "middleware", "add_middleware", "exception_handler",
    "add_exception_handler", "on_event", "mount", "websocket", "websocket_route",
    "add_api_route", "add_api_websocket_route", "options", "head", "trace", "openapi",
    "url_path_for",
):
    setattr(FasterAPI, _name, _not_yet(_name))
FasterAPI.dependency_overrides = property(
    _not_yet("dependency_overrides"),
    doc="FastAPI's dependency overrides: not implemented yet (raises NotImplementedError).",
)
del _name

#: FastAPI's name for the application class, so that ``from fastapi import FastAPI``
#: becomes ``from fasterapi import FastAPI`` with nothing else changed.
FastAPI = FasterAPI
