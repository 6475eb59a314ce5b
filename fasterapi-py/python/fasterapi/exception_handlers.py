"""FastAPI's default exception handlers, ``fasterapi.exception_handlers`` as
``fastapi.exception_handlers``: reusable from an app's own handlers, as FastAPI's
documentation shows::

    from fasterapi.exception_handlers import http_exception_handler

    @app.exception_handler(StarletteHTTPException)
    async def custom_http_exception_handler(request, exc):
        print(f"OMG! An HTTP error!: {exc!r}")
        return await http_exception_handler(request, exc)

An app without handlers of its own answers these exceptions in Rust, with the same
responses, without calling them.
"""

from __future__ import annotations

import email.message
import functools
import inspect
import json

from . import _not_yet
from .encoders import jsonable_encoder
from .exceptions import (
    RequestValidationError,
    StarletteHTTPException,
    _is_starlette_http_exception,
)
from .responses import JSONResponse, Response


def _body_allowed(status_code: int) -> bool:
    return not (status_code < 200 or status_code in (204, 205, 304))


async def http_exception_handler(request, exc) -> Response:
    """``{"detail": exc.detail}`` with the exception's status and headers (no body for
    the statuses that have none)."""
    headers = getattr(exc, "headers", None)
    if not _body_allowed(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def request_validation_exception_handler(request, exc: RequestValidationError) -> JSONResponse:
    """422 with ``{"detail": exc.errors()}``."""
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(exc.errors())})


_DEFAULTS = {
    StarletteHTTPException: http_exception_handler,
    RequestValidationError: request_validation_exception_handler,
}


def _is_async_callable(obj) -> bool:
    """Starlette's test: an ``async def``, a partial of one, or an object whose
    ``__call__`` is one."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or (callable(obj) and inspect.iscoroutinefunction(obj.__call__))


def _key(key):
    """The key a handler is registered under: Starlette's own ``HTTPException`` is
    fasterapi's :class:`StarletteHTTPException`."""
    return StarletteHTTPException if _is_starlette_http_exception(key) else key


def _check_key(key) -> None:
    if isinstance(key, bool) or not (
        isinstance(key, int) or (isinstance(key, type) and issubclass(key, BaseException))
    ):
        raise TypeError(
            f"an exception handler is registered for an exception class or an HTTP status "
            f"code (an int), not {key!r}"
        )


class _ExceptionHandlers:
    """An app's exception handlers, looked up as Starlette does: for an HTTP exception
    the handler of its status code first, then by the exception's class, most derived
    first (its MRO); the handler of ``500`` or ``Exception`` answers any exception
    nothing else handles (and the exception is still logged, as Starlette's
    ServerErrorMiddleware re-raises it).

    Compiled when the app starts serving; the server reads its flags to keep the
    common answers in Rust: an HTTP exception is answered there unless
    ``custom_http``, a request that fails validation unless ``custom_validation``, and
    the router's 404 and 405 go through :meth:`resolve` only if ``custom_misses``;
    ``custom``: any handler beyond FastAPI's defaults."""

    def __init__(self, handlers: dict):
        self.status: dict = {}
        self.classes: dict = {}
        self.server_error = None
        for key, handler in handlers.items():
            _check_key(key)
            key = _key(key)
            if key in (500, Exception):
                self.server_error = handler
            elif isinstance(key, int):
                self.status[key] = handler
            else:
                self.classes[key] = handler

        def custom(base) -> bool:
            return any(
                issubclass(key, base) and handler is not _DEFAULTS.get(key)
                for key, handler in self.classes.items()
            )

        self.custom = (
            bool(self.status)
            or self.server_error is not None
            or any(handler is not _DEFAULTS.get(key) for key, handler in self.classes.items())
        )
        self.custom_http = bool(self.status) or custom(StarletteHTTPException)
        self.custom_validation = custom(RequestValidationError)
        self.custom_misses = (
            404 in self.status
            or 405 in self.status
            or self.classes.get(StarletteHTTPException) is not http_exception_handler
        )

    def _lookup(self, exc):
        if isinstance(exc, StarletteHTTPException) or any(map(_is_starlette_http_exception, type(exc).__mro__)):
            handler = self.status.get(exc.status_code)
            if handler is not None:
                return handler
        for cls in type(exc).__mro__:
            handler = self.classes.get(_key(cls))
            if handler is not None:
                return handler
        return None

    def resolve(self, exc):
        """``(handler, is_async, server_error)`` for ``exc``, or ``None`` when it is
        answered 500 ``Internal Server Error`` (and logged). ``server_error``: the handler
        is the app's handler of last resort (500 or ``Exception``), after which the
        exception is logged as unhandled."""
        handler = self._lookup(exc)
        server_error = handler is None
        if server_error:
            handler = self.server_error
            if handler is None:
                return None
        return handler, _is_async_callable(handler), server_error

    @staticmethod
    def validation_error(errors: list, body: bytes, content_type: str | None, reads_body: bool) -> RequestValidationError:
        """The :class:`RequestValidationError` of a request whose parameters failed
        validation with ``errors`` (each ``loc`` a tuple, as FastAPI's). Its ``body`` is,
        as FastAPI's, for a route that reads a body: the body parsed when its
        ``Content-Type`` is JSON (its text when it is not valid JSON), else its bytes;
        ``None`` without a body."""
        value = None
        if reads_body and body:
            value = body
            if content_type is not None:
                message = email.message.Message()
                message["content-type"] = content_type
                subtype = message.get_content_subtype()
                if message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json")):
                    try:
                        value = json.loads(body)
                    except ValueError:
                        value = body.decode("utf-8", "replace")
        # FastAPI's errors name their location with a tuple: ("path", "item_id").
        errors = [{**e, "loc": tuple(e["loc"])} if isinstance(e.get("loc"), list) else e for e in errors]
        return RequestValidationError(errors, body=value)

    @staticmethod
    def miss(status_code: int, allow: str | None) -> StarletteHTTPException:
        """The exception the router raises for a request no route takes: 404, or 405
        with the ``Allow`` header."""
        return StarletteHTTPException(status_code, headers={"Allow": allow} if allow else None)


_NOT_YET = frozenset({"websocket_request_validation_exception_handler"})
__getattr__ = _not_yet.refuse("fasterapi.exception_handlers", _NOT_YET)
