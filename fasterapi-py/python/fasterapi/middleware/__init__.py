"""Middleware: ``fasterapi.middleware`` as ``fastapi.middleware``.

``app.add_middleware(cls, **options)`` (or ``FasterAPI(middleware=[Middleware(cls,
...)])``) stacks middleware as Starlette does: the last added is the outermost. What a
class becomes is decided when it is added:

- fasterapi's own :class:`~fasterapi.middleware.cors.CORSMiddleware`,
  :class:`~fasterapi.middleware.trustedhost.TrustedHostMiddleware` and
  :class:`~fasterapi.middleware.httpsredirect.HTTPSRedirectMiddleware` (at FastAPI's and
  Starlette's import paths) run in the server, in Rust: a CORS preflight is answered
  without entering Python, and routes keep their own placement (inline, thread pool).
  Such a class has a ``_layer()`` method returning the tuple the server reads
  (``fasterapi-py/src/middleware.rs``: ``("cors", options)``, ``("trustedhost", hosts,
  www_redirect)``, ``("httpsredirect",)``); a native middleware of the server plugs in
  the same way, with its variant of ``Native`` there.
- :class:`~fasterapi.middleware.gzip.GZipMiddleware` (``("gzip", minimum_size,
  compresslevel)``) turns on the server's own response compression, which runs around
  everything else (routes, exception handlers, the other middleware) whatever its place.
- ``@app.middleware("http")`` functions and :class:`BaseHTTPMiddleware` subclasses
  (Starlette's own included) with ``async def dispatch(request, call_next)`` run in
  Python, as one coroutine per request on the worker's event loop; ``call_next``
  runs the route (a ``def`` handler on a thread of the loop's executor while it would run
  on the thread pool without middleware: ``blocking=True``, or until its calls prove
  fast; inline otherwise) and returns its ``Response``, whose ``headers`` and
  ``body`` the middleware may read or change, or it returns a response of its own.
  Routes without Python middleware do not pay for it.
- Any other class (a raw ASGI middleware, which would need the ASGI protocol fasterapi
  does not speak) raises ``NotImplementedError`` naming it.

A native middleware added inside a Python one (added before it) runs around the route,
inside every Python middleware.
"""

from __future__ import annotations

import importlib
import inspect

from ..responses import Response

__all__ = ["Middleware", "BaseHTTPMiddleware"]


class Middleware:
    """Starlette's ``Middleware(cls, *args, **kwargs)``, for ``FasterAPI(middleware=[...])``."""

    def __init__(self, cls, *args, **kwargs) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self):
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        args = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Middleware({', '.join([getattr(self.cls, '__name__', '')] + args)})"


#: Starlette's own classes of the middleware fasterapi runs natively, and fasterapi's.
_STARLETTE_NATIVE = {
    "starlette.middleware.cors.CORSMiddleware": (".cors", "CORSMiddleware"),
    "starlette.middleware.trustedhost.TrustedHostMiddleware": (".trustedhost", "TrustedHostMiddleware"),
    "starlette.middleware.httpsredirect.HTTPSRedirectMiddleware": (".httpsredirect", "HTTPSRedirectMiddleware"),
    "starlette.middleware.gzip.GZipMiddleware": (".gzip", "GZipMiddleware"),
}


def _starlette_base():
    try:
        from starlette.middleware.base import BaseHTTPMiddleware as base
    except ImportError:  # pragma: no cover - starlette is optional
        return None
    return base


def _layer(cls, args, kwargs):
    """The server's tuple for a middleware class and its options (see the module docs)."""
    from .base import BaseHTTPMiddleware

    native = _STARLETTE_NATIVE.get(f"{getattr(cls, '__module__', '')}.{getattr(cls, '__qualname__', '')}")
    if native is not None:
        module, name = native
        cls = getattr(importlib.import_module(module, __package__), name)
    if isinstance(cls, type) and hasattr(cls, "_layer"):
        return cls(None, *args, **kwargs)._layer()
    starlette_base = _starlette_base()
    if isinstance(cls, type) and (
        issubclass(cls, BaseHTTPMiddleware) or (starlette_base is not None and issubclass(cls, starlette_base))
    ):
        instance = cls(None, *args, **kwargs)
        dispatch = instance.dispatch_func
        if not inspect.iscoroutinefunction(dispatch) and not inspect.iscoroutinefunction(
            getattr(dispatch, "__call__", None)
        ):
            raise TypeError(
                f"middleware {getattr(dispatch, '__qualname__', dispatch)!r} must be an async def "
                "function (request, call_next), as FastAPI requires"
            )
        return ("python", dispatch)
    name = getattr(cls, "__qualname__", repr(cls))
    raise NotImplementedError(
        f"middleware {name} is a raw ASGI middleware, which fasterapi cannot run (it does not "
        "speak ASGI); use @app.middleware('http'), a BaseHTTPMiddleware subclass with "
        "dispatch(), or fasterapi's native CORSMiddleware, GZipMiddleware, "
        "TrustedHostMiddleware, HTTPSRedirectMiddleware"
    )


class _CallNextResponse(Response):
    """What ``call_next`` returns: the route's response, as bytes and headers (a
    ``Response`` whose ``headers`` may be changed), with Starlette's ``body_iterator``
    for middleware that reads the body as a stream."""

    @property
    def body_iterator(self):
        async def chunks(body=self.body):
            yield body

        return chunks()


def _response_from(status: int, headers: list, body: bytes) -> Response:
    response = _CallNextResponse.__new__(_CallNextResponse)
    response.status_code = status
    response.body = body
    response.raw_headers = headers
    content_type = next((v for k, v in headers if k == b"content-type"), None)
    response.media_type = None if content_type is None else content_type.decode("latin-1")
    return response


def _chain(dispatches: list):
    """The coroutine of the Python middleware (outermost first) for one request:
    ``chain(request, step)``, where ``step(request)`` (the server's) runs the route and
    returns its ``Response``, or ``(task, finish)`` when the route's coroutine waits."""
    n = len(dispatches)

    async def call(i, request, step):
        if i == n:
            out = step(request)
            if type(out) is tuple:
                task, finish = out
                try:
                    await task
                except BaseException:
                    if not task.done():
                        raise
                return finish(task)
            return out
        return await dispatches[i](request, lambda req: call(i + 1, req, step))

    def chain(request, step):
        return call(0, request, step)

    return chain


from .base import BaseHTTPMiddleware  # noqa: E402
