"""Exceptions a handler raises: ``fasterapi.exceptions`` as ``fastapi.exceptions``."""

from __future__ import annotations

import http
import typing

from . import _not_yet


class HTTPException(Exception):
    """Raise from a handler to answer ``status_code`` with ``{"detail": detail}``.

    ``detail`` may be any JSON-encodable value; it defaults to the status's reason
    phrase. ``headers`` are added to the response.
    """

    def __init__(self, status_code: int, detail: typing.Any = None, headers: dict | None = None):
        if detail is None:
            try:
                detail = http.HTTPStatus(status_code).phrase
            except ValueError:
                detail = ""
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"

    __str__ = __repr__


class FastAPIError(RuntimeError):
    """A generic, FastAPI-specific error (an app that FastAPI would refuse, say a return
    annotation that is no valid response model)."""


class FastAPIDeprecationWarning(UserWarning):
    """FastAPI's deprecation warning (``DeprecationWarning`` is ignored by default)."""


class ValidationException(Exception):
    """What the validation errors share: ``errors()``, the list of pydantic's error dicts
    with FastAPI's ``loc``."""

    def __init__(self, errors: typing.Sequence[typing.Any], *, endpoint_ctx: dict | None = None) -> None:
        self._errors = errors
        self.endpoint_ctx = endpoint_ctx
        ctx = endpoint_ctx or {}
        self.endpoint_function = ctx.get("function")
        self.endpoint_path = ctx.get("path")
        self.endpoint_file = ctx.get("file")
        self.endpoint_line = ctx.get("line")

    def errors(self) -> typing.Sequence[typing.Any]:
        return self._errors

    def __str__(self) -> str:
        n = len(self._errors)
        message = f"{n} validation error{'s' if n != 1 else ''}:\n"
        for err in self._errors:
            message += f"  {err}\n"
        if self.endpoint_path:
            message += f"\n  Endpoint: {self.endpoint_path}"
        return message.rstrip()


class ResponseValidationError(ValidationException):
    """What a handler returned does not validate against its response model: a server
    error (``500 Internal Server Error``), as in FastAPI. ``body`` is what it returned."""

    def __init__(
        self, errors: typing.Sequence[typing.Any], *, body: typing.Any = None, endpoint_ctx: dict | None = None
    ) -> None:
        super().__init__(errors, endpoint_ctx=endpoint_ctx)
        self.body = body


_NOT_YET = frozenset({'DependencyScopeError', 'RequestValidationError', 'WebSocketException', 'WebSocketRequestValidationError'})
__getattr__ = _not_yet.refuse('fasterapi.exceptions', _NOT_YET)
