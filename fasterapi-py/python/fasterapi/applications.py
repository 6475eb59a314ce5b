"""The application class: ``fasterapi.applications`` as ``fastapi.applications``."""

from __future__ import annotations

import signal
import warnings

from . import _fasterapi
from ._supervisor import _supervise
from .exception_handlers import (
    _check_key,
    _ExceptionHandlers,
    _key,
    http_exception_handler,
    request_validation_exception_handler,
)
from .datastructures import State
from .exceptions import RequestValidationError, StarletteHTTPException
from .middleware import BaseHTTPMiddleware, Middleware, _chain, _layer
from .routing import APIRouter, APIWebSocketRoute, Mount, _check_options
from .staticfiles import StaticFiles
from ._lifespan import _Lifespan


#: Application options that only document the app, kept as attributes of the same
#: name (with FastAPI's defaults) for the OpenAPI document and the docs pages.
_APP_DOC_OPTIONS = {
    "title": "FastAPI", "summary": None, "description": "", "version": "0.1.0",
    "openapi_tags": None, "servers": None, "terms_of_service": None, "contact": None,
    "license_info": None, "webhooks": None, "swagger_ui_parameters": None,
    "swagger_ui_init_oauth": None, "separate_input_output_schemas": True,
    "openapi_url": "/openapi.json", "docs_url": "/docs", "redoc_url": "/redoc",
    "swagger_ui_oauth2_redirect_url": "/docs/oauth2-redirect", "openapi_external_docs": None,
    "root_path_in_servers": True, "root_path": "",
}
#: Application options given to the app's router (``app.router``), as FastAPI does.
_APP_ROUTER_OPTIONS = {
    "routes", "dependencies", "default_response_class", "redirect_slashes", "responses",
    "callbacks", "deprecated", "include_in_schema", "generate_unique_id_function",
}
#: Application options with the value that matches what fasterapi does.
_APP_INERT_DEFAULTS = {
    "debug": False,
    "openapi_prefix": "",
}


class FasterAPI:
    """An application: routes registered with the ``get``/``post``/``put``/``patch``/
    ``delete``/``options``/``head``/``trace``/``api_route`` decorators (or
    :meth:`add_api_route`, or routers by :meth:`include_router`), served by :meth:`run`.

    As in FastAPI, the routes live in :attr:`router`, an :class:`APIRouter` made with
    the app's ``dependencies``, ``default_response_class``, ``redirect_slashes``,
    ``responses``, ``deprecated`` and ``include_in_schema``; :attr:`routes` lists them
    (``APIRoute`` objects: ``path``, ``methods``, ``name``, ``endpoint``...), and
    :meth:`url_path_for` finds one by name.

    ``redirect_slashes`` (default ``True``): a request for ``/items/`` when only
    ``/items`` is routed (or the reverse) is answered ``307 Temporary Redirect`` to the
    other form, with its query string, as Starlette does.

    ``exception_handlers`` (or :meth:`exception_handler`, :meth:`add_exception_handler`)
    maps exception classes and HTTP status codes to handlers ``(request, exc) ->
    Response`` (``def`` or ``async def``), looked up as Starlette does (see
    :mod:`fasterapi.exception_handlers`).

    FastAPI's documentation options (``title``, ``version``, ``description``, ...) are
    kept as attributes of the same name; an option that would change behaviour and that fasterapi
    does not implement yet (``lifespan``, ``middleware``, ``docs_url``, ...) raises
    ``NotImplementedError`` naming it, unless given FastAPI's inert value.

    ``dependencies=[Depends(...), ...]`` run before every route's own dependencies (their
    values unused), as FastAPI's global dependencies. :attr:`dependency_overrides` maps a
    dependency to the callable that replaces it in every route, as in FastAPI: tests set
    and clear it between requests; each route with dependencies recompiles its plan at
    its first request after a change (routes without dependencies are never affected)."""

    def __init__(
        self,
        *,
        exception_handlers=None,
        middleware=None,
        lifespan=None,
        on_startup=None,
        on_shutdown=None,
        **options,
    ):
        router_options = {k: options.pop(k) for k in list(options) if k in _APP_ROUTER_OPTIONS}
        docs = _check_options("FasterAPI()", options, set(_APP_DOC_OPTIONS), _APP_INERT_DEFAULTS)
        for key, default in _APP_DOC_OPTIONS.items():
            setattr(self, key, docs.get(key, default))
        self.servers = self.servers or []
        if self.webhooks is None:
            self.webhooks = APIRouter()
        #: The OpenAPI version the document states (FastAPI's attribute, not an option).
        self.openapi_version = "3.1.0"
        #: The OpenAPI document once :meth:`openapi` made it.
        self.openapi_schema: dict | None = None
        self._openapi_routes_version = None
        if self.openapi_url:
            assert self.title, "A title must be provided for OpenAPI, e.g.: 'My API'"
            assert self.version, "A version must be provided for OpenAPI, e.g.: '2.1.0'"
        self._dependency_overrides = DependencyOverrides()
        #: ``(path, app)`` of the apps mounted here (:meth:`mount`), and their names.
        self._mounts: list = []
        self._mount_names: list = []
        #: The app's routes, as FastAPI's ``app.router``.
        self.router = APIRouter(dependency_overrides_provider=self, **router_options)
        #: The exception handlers by exception class or status code, FastAPI's defaults
        #: for ``HTTPException`` and ``RequestValidationError`` included.
        self.exception_handlers: dict = {}
        for key, handler in (exception_handlers or {}).items():
            self.add_exception_handler(key, handler)
        self.exception_handlers.setdefault(StarletteHTTPException, http_exception_handler)
        self.exception_handlers.setdefault(RequestValidationError, request_validation_exception_handler)
        #: Starlette's ``app.state``: attributes of the app's own.
        self.state = State()
        #: The middleware, outermost first (``Middleware`` objects), as Starlette's.
        self.user_middleware: list = []
        #: What the server runs for each of them (see ``fasterapi.middleware``).
        self._layers: list = []
        for entry in reversed(list(middleware or [])):
            cls, args, kwargs = entry
            self.add_middleware(cls, *args, **kwargs)
        #: ``lifespan``: an async context manager factory ``lifespan(app)`` (or an async
        #: generator function, or a generator function), run in each worker process.
        self.lifespan = lifespan
        self.on_startup: list = list(on_startup or [])
        self.on_shutdown: list = list(on_shutdown or [])

    @property
    def dependency_overrides(self) -> dict:
        """FastAPI's ``dependency_overrides``: ``{dependency: replacement}``, applied to
        every route's dependencies (not to handlers). Assigning a dict replaces the
        contents (``app.dependency_overrides = {}`` or ``= None`` clears them)."""
        return self._dependency_overrides

    @dependency_overrides.setter
    def dependency_overrides(self, value) -> None:
        if value is not self._dependency_overrides:
            self._dependency_overrides.replace(value)

    @property
    def routes(self) -> list:
        """Every route the app serves (``APIRoute`` objects), included routers' with
        their prefixes, in the order they were added."""
        return self.router.routes

    # -- OpenAPI -------------------------------------------------------------------------

    def openapi(self) -> dict:
        """The app's OpenAPI document (a dict), made by
        :func:`fasterapi.openapi.utils.get_openapi` the first time and kept in
        :attr:`openapi_schema` (made again if routes were added since), as FastAPI's.

        The server answers ``openapi_url`` with this document as JSON, built at the first
        request and then served as bytes without entering Python; so an override (FastAPI's
        "Extending OpenAPI": ``app.openapi = custom_openapi``) is called once per server."""
        try:
            from .openapi.utils import get_openapi
        except ImportError as e:
            if e.name is None or not e.name.startswith("pydantic"):
                raise
            raise RuntimeError(
                "the OpenAPI document (app.openapi(), /openapi.json) is made of pydantic's JSON "
                "schemas, as in FastAPI: install pydantic (the app serves without it; set "
                "openapi_url=None to serve no document)"
            ) from e

        routes_version = self.router._version()
        if not self.openapi_schema or self._openapi_routes_version != routes_version:
            self.openapi_schema = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                summary=self.summary,
                description=self.description,
                terms_of_service=self.terms_of_service,
                contact=self.contact,
                license_info=self.license_info,
                routes=self.routes,
                webhooks=self.webhooks.routes,
                tags=self.openapi_tags,
                servers=self.servers,
                separate_input_output_schemas=self.separate_input_output_schemas,
                external_docs=self.openapi_external_docs,
            )
            self._openapi_routes_version = routes_version
        return self.openapi_schema

    def _built_routes(self, root_path: str = "") -> list:
        """``(path, content_type, builder)`` of the routes the server answers with bytes
        built once (``fasterapi-py/src/built.rs``): the OpenAPI document, the docs pages
        and their assets (``openapi/_pages.py``). ``root_path``: where the app is mounted."""
        from .openapi._pages import built_routes

        return built_routes(self, root_path)

    def _spec(self, lifespan: bool = True, root_path: str = ""):
        """What the server reads: every route's ``RouteSpec``s (the first of a method
        and path wins, as Starlette matches routes in order; the OpenAPI and docs routes,
        added first by FastAPI, come first), ``redirect_slashes``, the exception
        handlers, the middleware, (unless ``lifespan`` is false: a TestClient used
        outside ``with``) the lifespan, and the mounted apps' routes (under their
        prefixes; their own built routes prefixed here). ``root_path``: where this app
        is mounted."""
        # As Starlette: the app's own root_path, else the server's (behind a proxy: uvicorn's
        # --root-path; a mounted app: where it is mounted). Handlers see it as
        # request.scope["root_path"]; the document lists it as a server; the docs pages
        # fetch the document under it. Requests are routed by their path as it comes (a
        # proxy strips the prefix); a path still starting with root_path is not stripped.
        root_path = (self.root_path or root_path).rstrip("/")
        self._scope_root_path = root_path
        built = self._built_routes(root_path)
        mounts = []
        for prefix, mounted in self._mounts:
            if mounted._layers:
                raise NotImplementedError(
                    f"the app mounted at {prefix!r} has middleware of its own, which fasterapi "
                    "does not run for a mounted app yet (the mounting app's middleware does)"
                )
            # As Starlette's Mount: a mounted app's lifespan does not run.
            spec = mounted._spec(lifespan=False, root_path=root_path + prefix)
            if spec.websockets:
                raise NotImplementedError(
                    f"app.mount({prefix!r}, ...): the mounted app has WebSocket routes, which "
                    "fasterapi does not serve under a mount yet (add them to the mounting app)"
                )
            mounts.append((prefix, spec))
            taken = {path for path, _, _ in built}
            built += [(prefix + path, kind, make) for path, kind, make in spec.built if prefix + path not in taken]
        seen = {("GET", path) for path, _, _ in built} | {("HEAD", path) for path, _, _ in built}
        specs = []
        websockets = []
        for route in self.router.routes:
            if isinstance(route, APIWebSocketRoute):
                if ("WEBSOCKET", route.spec.path) not in seen:
                    seen.add(("WEBSOCKET", route.spec.path))
                    websockets.append(route.spec)
                continue
            for spec in route.specs:
                key = (spec.method, spec.path)
                if key not in seen:
                    seen.add(key)
                    specs.append(spec)
        return _fasterapi.AppSpec(
            routes=specs,
            redirect_slashes=self.router.redirect_slashes,
            exception_handlers=_ExceptionHandlers(self.exception_handlers),
            app=self,
            built=built,
            middleware=list(self._layers),
            chain=_chain([layer[1] for layer in self._layers if layer[0] == "python"]),
            lifespan=_Lifespan(self) if lifespan and self._has_lifespan() else None,
            mounts=mounts,
            statics=[route._static() for route in self.router.routes if isinstance(route, Mount)],
            websockets=websockets,
        )

    # -- middleware and lifespan -------------------------------------------------------

    def add_middleware(self, middleware_class, *args, **kwargs) -> None:
        """Adds a middleware around the app, outside those added before (Starlette's
        order: the last added runs first). See :mod:`fasterapi.middleware` for what runs
        natively and what in Python; a raw ASGI middleware raises ``NotImplementedError``
        naming it."""
        layer = _layer(middleware_class, args, kwargs)
        self.user_middleware.insert(0, Middleware(middleware_class, *args, **kwargs))
        self._layers.insert(0, layer)

    def middleware(self, middleware_type: str):
        """Decorator: ``@app.middleware("http")`` adds an ``async def
        dispatch(request, call_next)`` middleware (``add_middleware(BaseHTTPMiddleware,
        dispatch=func)``, as FastAPI)."""
        if middleware_type != "http":
            raise ValueError(f'middleware type {middleware_type!r}: only "http" is supported, as in Starlette')

        def decorator(func):
            self.add_middleware(BaseHTTPMiddleware, dispatch=func)
            return func

        return decorator

    def add_event_handler(self, event_type: str, func) -> None:
        """Runs ``func`` (``def`` or ``async def``) at each worker's startup or
        shutdown (``event_type`` ``"startup"`` or ``"shutdown"``); ignored when the app
        has a ``lifespan``, as in FastAPI."""
        assert event_type in ("startup", "shutdown")
        (self.on_startup if event_type == "startup" else self.on_shutdown).append(func)

    def on_event(self, event_type: str):
        """Decorator: :meth:`add_event_handler` (FastAPI's deprecated form of lifespan:
        it warns ``DeprecationWarning`` as FastAPI does)."""
        warnings.warn(
            "on_event is deprecated, use lifespan event handlers instead.\n\nRead more about "
            "it in the [FastAPI docs for Lifespan Events]"
            "(https://fastapi.tiangolo.com/advanced/events/).",
            DeprecationWarning,
            stacklevel=2,
        )

        def decorator(func):
            self.add_event_handler(event_type, func)
            return func

        return decorator

    def _has_lifespan(self) -> bool:
        return self.lifespan is not None or bool(self.on_startup) or bool(self.on_shutdown)

    def mount(self, path: str, app, name: str | None = None) -> None:
        """Serves another :class:`FasterAPI` app under ``path`` (FastAPI's sub-application,
        Starlette's ``Mount``): its routes answer ``path + route``, with its own
        dependency overrides and exception handlers; its OpenAPI document and docs pages
        are its own (``/sub/openapi.json``, ``/sub/docs``), with ``path`` as the document's
        first server (``root_path_in_servers``), as in FastAPI. A route of this app with
        the same method and path, added before or after, wins. Requests under ``path``
        that the mounted app does not route get this app's 404 (and its 404 handler).
        Mounted apps are read when the server starts.

        A :class:`~fasterapi.staticfiles.StaticFiles` directory is served by the core,
        with no Python per request unless the app has Python middleware, which runs for
        its files as in Starlette (see :mod:`fasterapi.staticfiles`). Mounting anything
        else (an ASGI app) is not implemented."""
        if isinstance(app, StaticFiles):
            self.router.mount(path, app, name=name)
            return
        if not isinstance(app, FasterAPI):
            raise NotImplementedError(
                f"FasterAPI.mount({path!r}, {type(app).__name__}): mounting {app!r} is not "
                "implemented by fasterapi yet; a FasterAPI app can be mounted"
            )
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
            raise AssertionError("Routed paths must start with '/' and a mount path must not end with '/'")
        if "{" in path:
            raise NotImplementedError(f"FasterAPI.mount({path!r}): path parameters in a mount path are not implemented by fasterapi")
        if app is self or app._mounts_app(self):
            raise AssertionError("An app cannot be mounted inside itself")
        self._mounts.append((path, app))
        self._mount_names.append(name)

    def _mounts_app(self, other) -> bool:
        return any(mounted is other or mounted._mounts_app(other) for _, mounted in self._mounts)

    # -- routes ------------------------------------------------------------------------

    def add_api_route(self, path: str, endpoint, **options) -> None:
        """Adds a route serving ``endpoint`` (see :meth:`api_route` for the options)."""
        self.router.add_api_route(path, endpoint, **options)

    def api_route(self, path: str, *, methods=None, **options):
        """A decorator adding a route for ``methods`` (default ``["GET"]``).

        Options: ``name`` (default: the endpoint's ``__name__``), ``status_code``,
        ``blocking`` (fasterapi's: ``True`` runs a ``def`` handler on the thread pool,
        ``False`` on the I/O thread, ``None``, the default, where its timed calls say;
        refused for ``async def`` handlers, which run on the event loop), and FastAPI's
        response options (``response_model``, ``response_class``, ``response_model_*``)
        and documentation options (``tags``, ``summary``, ``description``,
        ``responses``, ``deprecated``, ``operation_id``, ``include_in_schema``, ...),
        kept on the route, and ``dependencies`` (``Depends(...)`` run before the handler's
        own, after the app's). Options fasterapi does not implement yet raise
        ``NotImplementedError`` naming them."""
        return self.router.api_route(path, methods=methods, **options)

    def add_api_websocket_route(self, path: str, endpoint, name: str | None = None, *, dependencies=None) -> None:
        """Adds a WebSocket route serving ``endpoint`` (see :mod:`fasterapi.websockets`)."""
        self.router.add_api_websocket_route(path, endpoint, name=name, dependencies=dependencies)

    def websocket(self, path: str, name: str | None = None, *, dependencies=None):
        """Decorator: a WebSocket route, an ``async def`` taking a ``WebSocket`` (see
        :mod:`fasterapi.websockets`)."""
        return self.router.websocket(path, name=name, dependencies=dependencies)

    def add_route(self, path: str, route, methods=None, name: str | None = None, include_in_schema: bool = True) -> None:
        """Starlette's route: ``route(request)`` returns a ``Response`` (see
        :meth:`APIRouter.add_route`)."""
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)

    def route(self, path: str, methods=None, name: str | None = None, include_in_schema: bool = True):
        """Decorator: :meth:`add_route` for the decorated function."""
        return self.router.route(path, methods=methods, name=name, include_in_schema=include_in_schema)

    def get(self, path: str, **options):
        """Decorator: a ``GET`` route (the server answers ``HEAD`` with it too)."""
        return self.router.get(path, **options)

    def put(self, path: str, **options):
        """Decorator: a ``PUT`` route."""
        return self.router.put(path, **options)

    def post(self, path: str, **options):
        """Decorator: a ``POST`` route."""
        return self.router.post(path, **options)

    def delete(self, path: str, **options):
        """Decorator: a ``DELETE`` route."""
        return self.router.delete(path, **options)

    def options(self, path: str, **options):
        """Decorator: an ``OPTIONS`` route."""
        return self.router.options(path, **options)

    def head(self, path: str, **options):
        """Decorator: a ``HEAD`` route."""
        return self.router.head(path, **options)

    def patch(self, path: str, **options):
        """Decorator: a ``PATCH`` route."""
        return self.router.patch(path, **options)

    def trace(self, path: str, **options):
        """Decorator: a ``TRACE`` route."""
        return self.router.trace(path, **options)

    def include_router(self, router, **options) -> None:
        """Serves ``router``'s routes (see :meth:`APIRouter.include_router`)."""
        self.router.include_router(router, **options)

    def url_path_for(self, name: str, /, **path_params):
        """The path of the route named ``name`` with ``path_params`` filled in;
        ``fasterapi.routing.NoMatchFound`` if no route has that name and those
        parameters."""
        return self.router.url_path_for(name, **path_params)

    # -- errors ------------------------------------------------------------------------

    def add_exception_handler(self, exc_class_or_status_code, handler) -> None:
        """Answers the exceptions of a class (and its subclasses), or the HTTP
        exceptions of a status code, with ``handler(request, exc)``, a ``def`` or
        ``async def`` returning a ``Response``. ``500`` or ``Exception`` names the
        handler of any exception nothing else handles (the exception is still logged)."""
        _check_key(exc_class_or_status_code)
        from .exceptions import WebSocketException, WebSocketRequestValidationError
        from .websockets import WebSocketDisconnect

        if isinstance(exc_class_or_status_code, type) and issubclass(
            exc_class_or_status_code, (WebSocketException, WebSocketRequestValidationError, WebSocketDisconnect)
        ):
            raise NotImplementedError(
                f"an exception handler for {exc_class_or_status_code.__name__}: fasterapi does not run "
                "exception handlers for WebSocket routes yet (a WebSocketException closes the "
                "connection with its code; invalid handshake values close it with 1008)"
            )
        self.exception_handlers[_key(exc_class_or_status_code)] = handler

    def exception_handler(self, exc_class_or_status_code):
        """Decorator: :meth:`add_exception_handler` for the decorated function."""

        def decorator(func):
            self.add_exception_handler(exc_class_or_status_code, func)
            return func

        return decorator

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
        max_body_bytes: int = 8 * 1024 * 1024,
        max_upload_bytes: int = 1024 * 1024 * 1024,
        upload_memory_bytes: int = 12 * 1024 * 1024,
        metrics: str | None = None,
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

        Uvicorn takes request bodies of any size; fasterapi bounds them so that no client
        can make a worker hold more than it means to. ``max_body_bytes`` (8 MiB) caps a
        body held in memory (JSON, url-encoded forms, ``await request.body()``);
        ``max_upload_bytes`` (1 GiB) caps a multipart body whose files are spooled to
        temporary files as it arrives (a route with ``File``/``UploadFile`` parameters and
        no Python middleware). Larger bodies are answered ``413`` before they are read.
        ``upload_memory_bytes`` (12 MiB) is the memory a worker keeps uploaded files past
        1 MiB in, all uploads together (Starlette keeps 1 MiB of each file in memory, and
        the rest in a temporary file, however many uploads are open): an upload that finds
        it taken by uploads ahead of it (less body still to come) or by files their handlers
        hold waits for it, up to 20 ms, its bytes left in the socket; past that it is
        written to a temporary file as it arrives (as a file larger than it is), so what
        uploads add to a worker's memory stays under about this much (plus the read
        buffers and what the handlers read) whatever the number of uploads; 0 writes every file past 1 MiB to a temporary file. See ``UploadFile``.

        ``metrics="/metrics"`` serves Prometheus metrics at that path (a fasterapi
        option; FastAPI has none): requests by route, method and status class, latency
        histograms, open connections, queued and shed requests. With ``workers=N`` the
        counts live in memory that this process maps before forking the workers, so the
        answer of any worker covers all of them.
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
            "max_body_bytes": int(max_body_bytes),
            "max_upload_bytes": int(max_upload_bytes),
            "upload_memory_bytes": int(upload_memory_bytes),
        }
        if options["upload_memory_bytes"] < 0:
            raise ValueError("upload_memory_bytes must be at least 0")
        for name in ("max_suspended", "max_queued", "max_body_bytes", "max_upload_bytes"):
            if options[name] < 1:
                raise ValueError(f"{name} must be at least 1")
        if not options["shutdown_timeout"] >= 0:
            raise ValueError("shutdown_timeout must be a number of seconds, at least 0")
        if metrics is not None:
            if not isinstance(metrics, str) or not metrics.startswith("/"):
                raise ValueError(f"metrics must be a path starting with '/', like '/metrics', not {metrics!r}")
            options["metrics"] = metrics
        if workers <= 1:
            # The server handles SIGINT/SIGTERM itself while serving and restores the
            # default handlers when done; give Python's back afterwards.
            saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                _fasterapi.serve(self._spec(), host, int(port), **options)
            finally:
                for sig, handler in saved.items():
                    if handler is not None:
                        signal.signal(sig, handler)
        else:
            _supervise(self._spec(), host, int(port), int(workers), options)


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
    "websocket_route",
):
    setattr(FasterAPI, _name, _not_yet(_name))
del _name


class DependencyOverrides(dict):
    """``app.dependency_overrides``: a dict that tells the server when it changes, so
    that routes with dependencies recompile with it (a version checked per request of
    those routes, one atomic load)."""

    __slots__ = ()

    def _changed(self):
        _fasterapi._overrides_changed()

    def replace(self, value) -> None:
        dict.clear(self)
        dict.update(self, value or {})
        self._changed()

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self._changed()

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        self._changed()

    def clear(self):
        dict.clear(self)
        self._changed()

    def pop(self, *args):
        try:
            return dict.pop(self, *args)
        finally:
            self._changed()

    def popitem(self):
        try:
            return dict.popitem(self)
        finally:
            self._changed()

    def setdefault(self, key, default=None):
        try:
            return dict.setdefault(self, key, default)
        finally:
            self._changed()

    def update(self, *args, **kwargs):
        dict.update(self, *args, **kwargs)
        self._changed()

    def __ior__(self, other):
        dict.update(self, other)
        self._changed()
        return self

#: FastAPI's name for the application class, so that ``from fastapi import FastAPI``
#: becomes ``from fasterapi import FastAPI`` with nothing else changed.
FastAPI = FasterAPI
