"""Exceptions a handler raises, and those fasterapi raises: ``fasterapi.exceptions`` as
``fastapi.exceptions``.

As in FastAPI, :class:`HTTPException` is a subclass of :class:`StarletteHTTPException`,
the class of the HTTP errors the router raises itself (404, 405): an exception handler
registered for ``StarletteHTTPException`` handles both, one registered for
``HTTPException`` only those raised with fasterapi's class. Starlette's own
``starlette.exceptions.HTTPException``, when an app imports it, is taken as
:class:`StarletteHTTPException` (as a key of ``@app.exception_handler`` and when raised).
"""

from __future__ import annotations

import http.client
import typing
from collections.abc import Mapping, Sequence

from . import _not_yet


class StarletteHTTPException(Exception):
    """An HTTP error answered with its status: Starlette's ``HTTPException``, the base of
    :class:`HTTPException` and the class of the router's own 404 and 405.

    ``detail`` defaults to the status's reason phrase; ``headers`` are added to the
    response."""

    def __init__(self, status_code: int, detail: typing.Any = None, headers: Mapping[str, str] | None = None) -> None:
        if detail is None:
            detail = http.client.responses.get(status_code, "")
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class HTTPException(StarletteHTTPException):
    """Raise from a handler (or a dependency) to answer ``status_code`` with
    ``{"detail": detail}``.

    ``detail`` may be any JSON-encodable value; it defaults to the status's reason
    phrase. ``headers`` are added to the response."""

    def __init__(self, status_code: int, detail: typing.Any = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)


class FastAPIError(RuntimeError):
    """A generic, FastAPI-specific error (an app that FastAPI would refuse, say a return
    annotation that is no valid response model, or a router included with an empty
    prefix where a route has an empty path; a dependency with ``yield`` that swallowed
    the handler's exception, so that no response exists)."""


class DependencyScopeError(FastAPIError):
    """A dependency declared that it depends on another dependency with an invalid
    (narrower) scope: one with ``scope="request"`` on one with ``scope="function"``."""


class FastAPIDeprecationWarning(UserWarning):
    """FastAPI's deprecation warning (``DeprecationWarning`` is ignored by default)."""


class ValidationException(Exception):
    """Validation errors: :meth:`errors` is the list of FastAPI's error dicts
    (``type``, ``loc``, ``msg``, ``input``, ``ctx``)."""

    def __init__(self, errors: Sequence[typing.Any], *, endpoint_ctx: dict | None = None) -> None:
        self._errors = errors
        self.endpoint_ctx = endpoint_ctx
        ctx = endpoint_ctx or {}
        self.endpoint_function = ctx.get("function")
        self.endpoint_path = ctx.get("path")
        self.endpoint_file = ctx.get("file")
        self.endpoint_line = ctx.get("line")

    def errors(self) -> Sequence[typing.Any]:
        """The validation errors."""
        return self._errors

    def __str__(self) -> str:
        n = len(self._errors)
        message = f"{n} validation error{'s' if n != 1 else ''}:\n"
        for err in self._errors:
            message += f"  {err}\n"
        if self.endpoint_path:
            message += f"\n  Endpoint: {self.endpoint_path}"
        return message.rstrip()


class RequestValidationError(ValidationException):
    """A request whose parameters or body failed validation: answered 422 with
    ``{"detail": errors}`` unless an exception handler for this class is registered,
    which then gets it with :meth:`errors` and ``body``, the request body as received
    (parsed JSON, or its text when it is not valid JSON; ``None`` without a body)."""

    def __init__(self, errors: Sequence[typing.Any], *, body: typing.Any = None, endpoint_ctx: dict | None = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


class ResponseValidationError(ValidationException):
    """What a handler returned does not validate against its response model: a server
    error (``500 Internal Server Error``), as in FastAPI. ``body`` is what it returned."""

    def __init__(self, errors: Sequence[typing.Any], *, body: typing.Any = None, endpoint_ctx: dict | None = None) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


def _is_starlette_http_exception(cls) -> bool:
    """Whether ``cls`` is ``starlette.exceptions.HTTPException`` (told by name, so that
    starlette need not be installed or imported)."""
    return (
        isinstance(cls, type)
        and cls.__qualname__ == "HTTPException"
        and getattr(cls, "__module__", None) == "starlette.exceptions"
    )


class WebSocketException(Exception):
    """Raise from a WebSocket handler (or one of its dependencies) to close the connection
    with ``code`` and ``reason`` (before ``accept``: the handshake is refused, ``403``), as
    Starlette's ``WebSocketException``, which FastAPI re-exports."""

    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


class WebSocketRequestValidationError(ValidationException):
    """The values of a WebSocket handshake (path, query, headers, cookies) failed
    validation: the connection is closed with 1008 before it is accepted (``403``)."""


_NOT_YET = frozenset()
__getattr__ = _not_yet.refuse('fasterapi.exceptions', _NOT_YET)
