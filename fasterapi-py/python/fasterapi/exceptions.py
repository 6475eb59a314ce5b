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


_NOT_YET = frozenset({'DependencyScopeError', 'FastAPIError', 'RequestValidationError', 'ResponseValidationError', 'ValidationException', 'WebSocketException', 'WebSocketRequestValidationError'})
__getattr__ = _not_yet.refuse('fasterapi.exceptions', _NOT_YET)
