"""Responses a handler returns: ``fasterapi.responses`` as ``fastapi.responses``."""

from __future__ import annotations

import typing

from . import _fasterapi, _not_yet


class Response:
    """A response sent as it is: ``content`` (bytes or str), status, headers, media type.

    ``media_type`` defaults to the class's (none for the base class); ``text/*`` types
    get ``; charset=utf-8``.
    """

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: typing.Any = None,
        status_code: int = 200,
        headers: typing.Mapping[str, str] | None = None,
        media_type: str | None = None,
    ):
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.headers = dict(headers) if headers else None
        self.body = self.render(content)

    def render(self, content: typing.Any) -> bytes:
        """The body's bytes for ``content``."""
        if type(content) is str:  # the common case first
            return content.encode(self.charset)
        if content is None:
            return b""
        if isinstance(content, bytes):
            return content
        if isinstance(content, (bytearray, memoryview)):
            return bytes(content)
        return str(content).encode(self.charset)


class JSONResponse(Response):
    """``content`` encoded as JSON (by the same Rust encoder as plain return values)."""

    media_type = "application/json"

    def render(self, content: typing.Any) -> bytes:
        return _fasterapi.dumps(content)


class PlainTextResponse(Response):
    """A ``text/plain; charset=utf-8`` response."""

    media_type = "text/plain"


class HTMLResponse(Response):
    """A ``text/html; charset=utf-8`` response."""

    media_type = "text/html"


_NOT_YET = frozenset({'EventSourceResponse', 'FileResponse', 'ORJSONResponse', 'RedirectResponse', 'StreamingResponse', 'UJSONResponse'})
__getattr__ = _not_yet.refuse('fasterapi.responses', _NOT_YET)
