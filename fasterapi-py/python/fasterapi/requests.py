"""The request a handler receives: ``fasterapi.requests`` as ``fastapi.requests``.

A handler (or a path operation's dependency) that declares a parameter annotated
``Request`` receives the request, Starlette's ``Request`` as FastAPI hands it over:

- ``method``, ``url`` (a :class:`~fasterapi.datastructures.URL`: ``path``, ``query``,
  ``scheme``, ``netloc``, ``hostname``, ``port``, ``str(url)``), ``base_url``,
  ``headers`` (:class:`~fasterapi.datastructures.Headers`: case-insensitive, ``getlist``),
  ``query_params`` (:class:`~fasterapi.datastructures.QueryParams`, a multi-dict),
  ``path_params``, ``cookies``, ``client`` (``Address(host, port)``: the peer address of
  the connection), ``state`` (attributes of one's own, for the request's life), ``app``
  (the application), ``scope`` (an ASGI-like dict, made on first use), ``url_for(name,
  **path_params)``; ``request[key]`` reads the scope as in Starlette.
- ``await request.body()``, ``await request.json()``, ``await request.form()`` (url-encoded
  and ``multipart/form-data`` forms, files as :class:`~fasterapi.UploadFile`) and
  ``request.stream()`` (an async iterator): coroutines, as in Starlette. fasterapi reads
  the whole body before calling the handler, so they never wait.

The same object goes to ``def`` and ``async def`` handlers. Every attribute works in a
``def`` handler; ``body()``, ``json()`` and ``form()`` are coroutines there too (as in
FastAPI, where a ``def`` handler cannot await them either): read the body in an ``async
def`` handler, or declare it as a parameter (``item: Item``, ``data: dict``). Attributes
are made when first read and kept: a handler that takes ``request`` and reads nothing
costs one copy of the request's bytes.

fasterapi's additions: ``path`` (``url.path``), ``query_string`` (the raw query, ``str``),
``raw_path`` and ``http_version``. Under :class:`~fasterapi.testclient.TestClient`,
``client`` is Starlette's ``("testclient", 50000)``. A request without a valid ``Host``
header (HTTP/1.0) has a URL without scheme or host, as Starlette's when the server address
is unknown; ``scope["server"]`` is ``None``.
"""

from __future__ import annotations

import re
from http import cookies as http_cookies
from ipaddress import AddressValueError, IPv6Address
from typing import Any
from urllib.parse import unquote_plus

from . import _fasterapi, _not_yet
from .datastructures import URL, Address, FormData, Headers, QueryParams, State
from .exceptions import HTTPException

#: The request object a handler receives when it declares ``request: Request``.
Request = _fasterapi.Request

#: Starlette's base class of requests and WebSockets: a handler parameter annotated with it
#: receives the request, as in FastAPI. fasterapi has no WebSockets yet: it is ``Request``.
HTTPConnection = Request

__all__ = ["HTTPConnection", "Request"]

# Starlette's Host header grammar (starlette._utils._HOST_RE).
_HOST_RE = re.compile(
    r"^(?P<host>[a-z0-9._~%!$&'()*+,;=-]+|\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|"
    r"(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])(?::(?P<port>[0-9]+))?$",
    re.IGNORECASE,
)


def _authority(host: str | None) -> str | None:
    """The URL authority of a ``Host`` header, or None if it is missing or invalid (as
    Starlette's ``parse_host_header`` and ``is_valid_port``)."""
    if host is None:
        return None
    m = _HOST_RE.fullmatch(host)
    if m is None:
        return None
    if m["ipv6"] is not None:
        try:
            IPv6Address(m["ipv6"])
        except AddressValueError:
            return None
    port = m["port"]
    if port is None:
        return m["host"]
    digits = port.lstrip("0")
    if len(digits) > 5 or int(digits or "0") > 65535:
        return None
    return f"{m['host']}:{port}"


def _cookie_pairs(cookie: str) -> dict:
    """Starlette's ``cookie_parser``: ``;``-separated ``key=value`` pairs (a chunk without
    ``=`` has an empty key), trimmed, unquoted by Python's algorithm; the last of a name
    wins."""
    found = {}
    for chunk in cookie.split(";"):
        key, sep, val = chunk.partition("=")
        if not sep:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            found[key] = http_cookies._unquote(val)
    return found


def _cookies(headers: Headers) -> dict:
    cookies: dict = {}
    for header in headers.getlist("cookie"):
        cookies.update(_cookie_pairs(header))
    return cookies


async def _done(value: Any) -> Any:
    return value


async def _stream(body: bytes):
    if body:
        yield body
    yield b""


def _scope(request: Request) -> dict:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version,
        "method": request.method,
        "scheme": request.url.scheme or "http",
        "path": request.path,
        "raw_path": request.raw_path,
        "root_path": "",  # set below from the app (FasterAPI._spec)
        "query_string": request.query_string.encode("latin-1", "replace"),
        "headers": request.headers._list,
        "client": tuple(request.client) if request.client is not None else None,
        "server": None,
        "path_params": request.path_params,
        "state": request.state._state,
    }
    try:
        scope["app"] = request.app
    except AttributeError:
        pass
    else:
        scope["root_path"] = getattr(scope["app"], "_scope_root_path", "")
    return scope


class _FormWaiter:
    """What ``request.form()`` returns, as Starlette's: awaitable, or an async context
    manager that closes the form at its end."""

    __slots__ = ("_coro", "_form")

    def __init__(self, coro):
        self._coro = coro

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self) -> FormData:
        self._form = await self._coro
        return self._form

    async def __aexit__(self, *exc_info) -> None:
        await self._form.close()


def _form(request: Request, max_files: int, max_fields: int, max_part_size: int) -> _FormWaiter:
    return _FormWaiter(_read_form(request, max_files, max_fields, max_part_size))


async def _read_form(request: Request, max_files: int, max_fields: int, max_part_size: int) -> FormData:
    form = request.__dict__.get("_form")
    if form is None:
        content_type = request.headers.get("content-type", "")
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type == "multipart/form-data":
            # Read in Rust, as Form() parameters are; a refused body raises Starlette's 400.
            form = FormData(_fasterapi._read_multipart(
                content_type, await request.body(), int(max_files), int(max_fields), int(max_part_size)))
        elif media_type == "application/x-www-form-urlencoded":
            form = FormData(_urlencoded_fields(await request.body(), max_fields, max_part_size))
        else:
            form = FormData()
        request._form = form
    return form


def _urlencoded_fields(body: bytes, max_fields: int, max_part_size: int) -> list:
    """The fields of a url-encoded body, as Starlette's ``FormParser`` reads them: ``&``
    separates fields (empty ones skipped), ``=`` a name from its value (none: ``""``),
    ``+`` and ``%XX`` are decoded; too many or too large fields are a 400."""
    fields = []
    for chunk in body.split(b"&"):
        if not chunk:
            continue
        if len(chunk) - (b"=" in chunk) > max_part_size:
            raise HTTPException(
                status_code=400, detail=f"Field exceeded maximum size of {int(max_part_size / 1024)}KB."
            )
        if len(fields) >= max_fields:
            raise HTTPException(
                status_code=400, detail=f"Too many fields. Maximum number of fields is {max_fields}."
            )
        name, _, value = chunk.partition(b"=")
        fields.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return fields


def _url_for(request: Request, name: str, path_params: dict | None) -> URL:
    url_path = request.app.url_path_for(name, **(path_params or {}))
    base = request.base_url
    make_absolute = getattr(url_path, "make_absolute_url", None)
    if make_absolute is not None:
        return make_absolute(base_url=base)
    return URL(scheme=base.scheme, netloc=base.netloc, path=base.path.rstrip("/") + str(url_path))


_NOT_YET = frozenset()
__getattr__ = _not_yet.refuse('fasterapi.requests', _NOT_YET)


def _request_state(app) -> State:
    """A request's ``state``: a copy of what the app's lifespan yielded, if anything
    (Starlette copies the lifespan state into each request's scope)."""
    state = getattr(app, "_lifespan_state", None)
    return State(dict(state) if state else None)
