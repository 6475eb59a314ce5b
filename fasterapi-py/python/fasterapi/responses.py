"""Responses a handler returns: ``fasterapi.responses`` as ``fastapi.responses``.

The classes behave as Starlette's (which FastAPI re-exports): the same constructor
arguments, ``render()``, ``raw_headers`` and ``headers`` (:class:`MutableHeaders`),
``set_cookie``/``delete_cookie`` with the same ``Set-Cookie`` text, ``charset`` appended
to ``text/*`` media types, ``content-length`` computed. The server frames the body
itself, so a ``content-length`` header in ``raw_headers`` is not sent as given.
"""

from __future__ import annotations

import hashlib
import http.cookies
import importlib
import os
import typing
import warnings
from datetime import datetime
from email.utils import format_datetime, formatdate
from mimetypes import guess_type
from urllib.parse import quote

from . import _fasterapi, _not_yet
from .datastructures import MutableHeaders
from .exceptions import FastAPIDeprecationWarning

try:
    orjson = importlib.import_module("orjson")
except ImportError:
    orjson = None
try:
    ujson = importlib.import_module("ujson")
except ImportError:
    ujson = None


class Response:
    """A response sent as it is: ``content`` rendered to bytes by :meth:`render`,
    ``status_code``, ``headers`` and ``media_type`` (the class's by default; ``text/*``
    types get ``; charset=utf-8``)."""

    media_type: str | None = None
    charset = "utf-8"
    background = None
    #: The class renders as this one does (set per subclass): ``__init__`` then encodes a
    #: ``str`` inline, saving a call per response.
    _inline_render = True
    #: The class makes its headers as this one does (set per subclass): without
    #: ``headers=``, ``__init__`` then leaves ``raw_headers`` to be made when first read;
    #: the server writes the status, content type and body of an untouched response
    #: itself, so the common response makes no header objects in Python.
    _lazy_headers = True

    def __init_subclass__(cls, **kwargs: typing.Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._inline_render = cls.render is Response.render
        cls._lazy_headers = cls.init_headers is Response.init_headers

    def __init__(
        self,
        content: typing.Any = None,
        status_code: int = 200,
        headers: typing.Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: typing.Any = None,
    ) -> None:
        if background is not None:
            # Run once the response is out (see fasterapi.background).
            self.background = background
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        if type(content) is str and self._inline_render:
            self.body = content.encode(self.charset)
        else:
            self.body = self.render(content)
        if headers is not None or not self._lazy_headers:
            self.init_headers(headers)

    def render(self, content: typing.Any) -> bytes | memoryview:
        """The body's bytes for ``content``: ``None`` is empty, ``bytes`` as they are,
        ``str`` encoded with :attr:`charset`."""
        if content is None:
            return b""
        if isinstance(content, memoryview):
            return content.cast("B") if content.c_contiguous else content.tobytes()
        if isinstance(content, bytes):
            return content
        return content.encode(self.charset)

    def init_headers(self, headers: typing.Mapping[str, str] | None = None) -> None:
        """``raw_headers`` from ``headers``, plus ``content-length`` and ``content-type``
        unless given (as Starlette)."""
        if headers is None:
            raw_headers: list = []
            populate_content_length = True
            populate_content_type = True
        else:
            raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            keys = [h[0] for h in raw_headers]
            populate_content_length = b"content-length" not in keys
            populate_content_type = b"content-type" not in keys
        body = getattr(self, "body", None)
        status = self.status_code
        if body is not None and populate_content_length and not (status < 200 or status == 204 or status == 304):
            raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
        media_type = self.media_type
        if media_type is not None and populate_content_type:
            header = _CONTENT_TYPE_HEADERS.get((media_type, self.charset))
            if header is None:
                header = _content_type_header(media_type, self.charset)
            raw_headers.append(header)
        self.raw_headers = raw_headers

    #: ``raw_headers`` once made; ``None`` until then (set by ``init_headers``, or on the
    #: first read when ``__init__`` left them to be made). The server reads this: ``None``
    #: means only the content type (from ``media_type``) and the body are to be sent.
    _raw_headers: list | None = None

    @property
    def raw_headers(self) -> list:
        """The headers as Starlette's ``(name, value)`` byte pairs, names lower-case:
        ``content-length`` and ``content-type`` as ``init_headers`` makes them, made on
        first read when the constructor had nothing but the content to go on."""
        raw_headers = self._raw_headers
        if raw_headers is None:
            # Response.init_headers(None), inline.
            raw_headers = self._raw_headers = []
            body = getattr(self, "body", None)
            status = self.status_code
            if body is not None and not (status < 200 or status == 204 or status == 304):
                raw_headers.append((b"content-length", str(len(body)).encode("latin-1")))
            media_type = self.media_type
            if media_type is not None:
                header = _CONTENT_TYPE_HEADERS.get((media_type, self.charset))
                if header is None:
                    header = _content_type_header(media_type, self.charset)
                raw_headers.append(header)
        return raw_headers

    @raw_headers.setter
    def raw_headers(self, raw_headers: list) -> None:
        self._raw_headers = raw_headers

    _headers: MutableHeaders | None = None

    @property
    def headers(self) -> MutableHeaders:
        """The headers, a case-insensitive view of ``raw_headers`` that changes them."""
        headers = self._headers
        if headers is None:
            headers = self._headers = MutableHeaders(raw=self.raw_headers)
        return headers

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: typing.Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Adds a ``Set-Cookie`` header, formatted as Starlette formats it."""
        cookie: http.cookies.BaseCookie = http.cookies.SimpleCookie()
        cookie[key] = value
        if max_age is not None:
            cookie[key]["max-age"] = max_age
        if expires is not None:
            if isinstance(expires, datetime):
                cookie[key]["expires"] = format_datetime(expires, usegmt=True)
            else:
                cookie[key]["expires"] = expires
        if path is not None:
            cookie[key]["path"] = path
        if domain is not None:
            cookie[key]["domain"] = domain
        if secure:
            cookie[key]["secure"] = True
        if httponly:
            cookie[key]["httponly"] = True
        if samesite is not None:
            assert samesite.lower() in ["strict", "lax", "none"], (
                "samesite must be either 'strict', 'lax' or 'none'"
            )
            cookie[key]["samesite"] = samesite
        if partitioned:
            if "partitioned" not in http.cookies.Morsel._reserved:  # Python < 3.14
                raise ValueError("Partitioned cookies are only supported in Python 3.14 and above.")
            cookie[key]["partitioned"] = True
        cookie_val = cookie.output(header="").strip()
        self.raw_headers.append((b"set-cookie", cookie_val.encode("latin-1")))

    def delete_cookie(
        self,
        key: str,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: typing.Literal["lax", "strict", "none"] | None = "lax",
        partitioned: bool = False,
    ) -> None:
        """Adds a ``Set-Cookie`` header that expires the cookie ``key``."""
        self.set_cookie(
            key, max_age=0, expires=0, path=path, domain=domain, secure=secure,
            httponly=httponly, samesite=samesite, partitioned=partitioned,
        )


#: ``(media_type, charset)`` -> its ``(b"content-type", value)`` header.
_CONTENT_TYPE_HEADERS: dict = {}


def _content_type_header(media_type: str, charset: str) -> tuple:
    """The ``content-type`` header of a media type: ``text/*`` gets the charset (kept:
    responses are made per request, with a few media types)."""
    value = media_type
    if value.startswith("text/") and "charset=" not in value.lower():
        value += "; charset=" + charset
    header = (b"content-type", value.encode("latin-1"))
    if len(_CONTENT_TYPE_HEADERS) < 256:
        _CONTENT_TYPE_HEADERS[(media_type, charset)] = header
    return header


class HTMLResponse(Response):
    """A ``text/html; charset=utf-8`` response."""

    media_type = "text/html"


class PlainTextResponse(Response):
    """A ``text/plain; charset=utf-8`` response."""

    media_type = "text/plain"


class JSONResponse(Response):
    """``content`` as JSON, encoded as Starlette's ``json.dumps(content,
    ensure_ascii=False, allow_nan=False, separators=(",", ":"))`` (by the server's Rust
    JSON writer: the same bytes, the same ``TypeError`` for what ``json.dumps`` cannot
    encode and ``ValueError`` for NaN and infinities)."""

    media_type = "application/json"

    def __init__(
        self,
        content: typing.Any,
        status_code: int = 200,
        headers: typing.Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: typing.Any = None,
    ) -> None:
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: typing.Any) -> bytes:
        return _fasterapi.render_json(content)


class RedirectResponse(Response):
    """A redirect to ``url`` (``307 Temporary Redirect`` by default), its ``location``
    quoted as Starlette quotes it."""

    def __init__(
        self,
        url: typing.Any,
        status_code: int = 307,
        headers: typing.Mapping[str, str] | None = None,
        background: typing.Any = None,
    ) -> None:
        super().__init__(content=b"", status_code=status_code, headers=headers, background=background)
        self.headers["location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


_DEPRECATED_JSON_CLASS = (
    "{} is deprecated, FastAPI now serializes data directly to JSON bytes via Pydantic "
    "when a return type or response model is set, which is faster and doesn't need a "
    "custom response class."
)


class UJSONResponse(JSONResponse):
    """JSON encoded by ``ujson`` (which must be installed). Deprecated, as in FastAPI."""

    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        warnings.warn(_DEPRECATED_JSON_CLASS.format("UJSONResponse"), FastAPIDeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)

    def render(self, content: typing.Any) -> bytes:
        if ujson is None:
            raise ImportError("ujson must be installed to use UJSONResponse (pip install ujson)")
        return ujson.dumps(content, ensure_ascii=False).encode("utf-8")


class ORJSONResponse(JSONResponse):
    """JSON encoded by ``orjson`` (which must be installed) with ``OPT_NON_STR_KEYS`` and
    ``OPT_SERIALIZE_NUMPY``. Deprecated, as in FastAPI: a response model's JSON is
    encoded by pydantic without it."""

    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        warnings.warn(_DEPRECATED_JSON_CLASS.format("ORJSONResponse"), FastAPIDeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)

    def render(self, content: typing.Any) -> bytes:
        if orjson is None:
            raise ImportError("orjson must be installed to use ORJSONResponse (pip install orjson)")
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


# Their signature is JSONResponse's (FastAPI's deprecated classes keep it: the OpenAPI
# document reads the default status_code from it).
UJSONResponse.__init__.__wrapped__ = JSONResponse.__init__
ORJSONResponse.__init__.__wrapped__ = JSONResponse.__init__


class FileResponse(Response):
    """The file at ``path``, sent by the server with ``sendfile(2)`` (its bytes never pass
    through Python), as Starlette's ``FileResponse``: ``media_type`` guessed from
    ``filename`` or ``path`` (``mimetypes``), ``filename`` gives ``Content-Disposition``
    (``content_disposition_type``, ``attachment`` by default), ``accept-ranges: bytes``.

    When sent, the server opens the file, reads its size and modification time, and adds
    ``ETag`` and ``Last-Modified`` unless the headers have them. A ``stat_result`` given
    sets them now, as Starlette does (``last-modified`` and ``etag`` from it, kept as
    given); the length sent is always the file's own. For a ``200`` to a ``GET`` or
    ``HEAD``: ``If-None-Match``/``If-Modified-Since`` answer ``304``, one ``Range: bytes=``
    range ``206`` (``416`` past the end; several ranges send the whole file, where
    Starlette sends ``multipart/byteranges``), ``If-Range`` as Starlette. A path that
    does not exist or is not a regular file raises ``RuntimeError`` when the response is
    sent (answered ``500``), with Starlette's messages."""

    chunk_size = 64 * 1024

    def __init__(
        self,
        path: str | os.PathLike,
        status_code: int = 200,
        headers: typing.Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: typing.Any = None,
        filename: str | None = None,
        stat_result: os.stat_result | None = None,
        content_disposition_type: str = "attachment",
    ) -> None:
        if background is not None:
            # Run once the response is out (see fasterapi.background).
            self.background = background
        self.path = path
        self.status_code = status_code
        self.filename = filename
        if media_type is None:
            media_type = guess_type(filename or path)[0] or "application/octet-stream"
        self.media_type = media_type
        self.init_headers(headers)
        self.headers.setdefault("accept-ranges", "bytes")
        if self.filename is not None:
            content_disposition_filename = quote(self.filename)
            if content_disposition_filename != self.filename:
                content_disposition = f"{content_disposition_type}; filename*=utf-8''{content_disposition_filename}"
            else:
                content_disposition = f'{content_disposition_type}; filename="{self.filename}"'
            self.headers.setdefault("content-disposition", content_disposition)
        self.stat_result = stat_result
        if stat_result is not None:
            self.set_stat_headers(stat_result)

    def set_stat_headers(self, stat_result: os.stat_result) -> None:
        """``content-length``, ``last-modified`` and ``etag`` from ``stat_result``, unless
        set (Starlette's values: the ETag is the MD5 of ``"<mtime>-<size>"``)."""
        content_length = str(stat_result.st_size)
        last_modified = formatdate(stat_result.st_mtime, usegmt=True)
        etag_base = str(stat_result.st_mtime) + "-" + str(stat_result.st_size)
        etag = f'"{hashlib.md5(etag_base.encode(), usedforsecurity=False).hexdigest()}"'
        self.headers.setdefault("content-length", content_length)
        self.headers.setdefault("last-modified", last_modified)
        self.headers.setdefault("etag", etag)


class StreamingResponse(Response):
    """A body of unknown length: the pieces ``content`` yields (``str`` encoded with
    :attr:`charset`, ``bytes``, ``memoryview``), sent as they come (chunked for HTTP/1.1
    clients), as Starlette's.

    ``content`` is an async iterable (an ``async def`` generator: iterated on the worker's
    event loop) or a sync one (a generator: each ``next()`` on a thread pool, so one that
    blocks stalls nothing else). The next piece is asked for only when the client has
    taken the previous ones (up to 64 KiB may wait in between), so a slow client holds
    bounded memory; a client that leaves closes the generator (its ``finally`` runs). An
    exception in the generator closes the connection without the body's end (the
    traceback is logged): the client sees the body incomplete. ``background`` runs once
    the body is sent (or the client left)."""

    def __init__(
        self,
        content: typing.Any,
        status_code: int = 200,
        headers: typing.Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: typing.Any = None,
    ) -> None:
        if background is not None:
            # Run once the body is sent (fasterapi._streaming).
            self.background = background
        if isinstance(content, typing.AsyncIterable):
            self.body_iterator = content
        else:
            from ._streaming import iterate_in_threadpool

            self.body_iterator = iterate_in_threadpool(content)
        self.status_code = status_code
        if media_type is not None:
            self.media_type = media_type
        self.init_headers(headers)


def _temporal_response() -> Response:
    """The ``response: Response`` a handler (or dependency) receives, as FastAPI makes
    it: no status (``None``: the route's stays), no headers; what is set on it is merged
    into the response the route sends."""
    response = Response.__new__(Response)
    response.status_code = None
    response.background = None
    response.body = b""
    response._raw_headers = []
    return response


from .sse import EventSourceResponse  # noqa: E402 (sse.py subclasses StreamingResponse)

_NOT_YET: frozenset = frozenset()
__getattr__ = _not_yet.refuse('fasterapi.responses', _NOT_YET)
