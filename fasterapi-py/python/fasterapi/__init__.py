"""fasterapi: FastAPI-style Python handlers served by a Rust HTTP/1.1 core.

Change the import of a small FastAPI app and it runs on fasterapi's Rust server::

    from fasterapi import FasterAPI, HTTPException

    app = FasterAPI()

    @app.get("/users/{user_id}")
    def get_user(user_id: int, verbose: bool = False):
        if user_id == 0:
            raise HTTPException(status_code=404, detail="no such user")
        return {"id": user_id, "verbose": verbose}

    if __name__ == "__main__":
        app.run(host="127.0.0.1", port=8000, workers=2)

Semantics follow FastAPI where a user would notice:

- Parameters are read from the handler's signature once, at registration: a name that
  appears in the path (``{user_id}``) is a path parameter; a parameter annotated with
  ``Request`` receives the request; a ``dict``/``list``/``List[...]``/``Dict[...]``
  parameter or a pydantic model is read from the JSON body (several body parameters are
  each read from the body's key of the same name, as FastAPI's embedding); anything else
  is a query parameter. ``int``, ``float``, ``str`` and ``bool`` (``1/0, true/false,
  yes/no, on/off, t/f, y/n``, any case) are converted in Rust; other types (enums,
  ``Literal``, ``UUID``, dates...) by pydantic when installed (enums without it);
  ``Optional[X]`` allows a missing value when a default is given; a parameter without a
  default is required.
- FastAPI's parameter markers, as defaults or in ``typing.Annotated`` (FastAPI's
  recommended style), say where a value comes from and how it is checked::

      from typing import Annotated, List, Optional
      from fasterapi import Body, Cookie, Header, Path, Query

      @app.get("/items/{item_id}")
      def read(item_id: int = Path(..., gt=0),
               q: Optional[str] = Query(None, max_length=50, pattern="^[a-z]+$"),
               limit: Annotated[int, Query(ge=1, le=100)] = 10,
               tags: List[str] = Query([]),                # ?tags=a&tags=b
               item_query: Optional[str] = Query(None, alias="item-query"),
               x_token: str = Header(...),                 # the X-Token header
               session: Optional[str] = Cookie(None)):
          ...

      @app.post("/items")
      def create(name: str = Body(..., embed=True), payload: dict = Body(None)): ...

  :class:`Query`, :class:`Path`, :class:`Header`, :class:`Cookie` and :class:`Body`
  take ``default`` (``...`` or none: required), ``alias``, ``gt``/``ge``/``lt``/``le``
  and ``min_length``/``max_length``/``pattern`` (``regex``); ``Header`` turns
  underscores into hyphens unless ``convert_underscores=False`` and ignores case;
  ``Body(embed=True)`` reads the body's key of the parameter's name. Markers are read
  at registration; the constraints on ``int``/``float``/``str`` values are checked in
  Rust with pydantic's messages, others (``multiple_of``, pydantic ``Field`` and
  ``annotated_types`` metadata in ``Annotated``, constraints on other types) by pydantic.
  Documentation keywords (``title``, ``description``, ``examples``...) are ignored.
- A value that fails conversion or a constraint, a missing required parameter or a body
  that is not valid JSON of the declared shape answers ``422`` with ``{"detail":
  [{"type", "loc", "msg", "input", "ctx"}, ...]}`` as FastAPI does, ``loc`` naming the
  parameter by the name looked up (``["query", "limit"]``, ``["header", "x-token"]``)
  and the items ordered path, query, header, cookie, body::

      {"detail": [{"type": "greater_than_equal", "loc": ["query", "limit"],
                   "msg": "Input should be greater than or equal to 1", "input": "0",
                   "ctx": {"ge": 1}}]}
- Return values: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
  are JSON-encoded (walked by the Rust JSON writer, no ``json.dumps``); pydantic models,
  dataclasses, enums, dates, UUIDs and sets are converted first; ``bytes`` are sent as
  ``application/octet-stream``; a :class:`Response` (or ``JSONResponse``,
  ``PlainTextResponse``, ``HTMLResponse``) is sent as it is, with its status code,
  headers and media type.
- ``raise HTTPException(status_code, detail)`` answers ``{"detail": detail}`` with that
  status (and the exception's ``headers``). Any other exception answers ``500
  Internal Server Error`` in plain text, its traceback is printed to stderr, and the
  server goes on serving.
- ``async def`` handlers run on the worker's asyncio event loop, which the worker's I/O
  thread drives itself between its socket events (no thread hand-off). Each request's
  coroutine starts at once inside its own task (its own contextvars context, as under
  uvicorn); one that finishes without suspending, the common case, is answered on the
  spot. One that awaits something real (a sleep, a database, an HTTP call) stays
  suspended on the loop while the worker serves other requests, and is answered when it
  ends; answers on a keep-alive connection still leave in request order. Inside,
  everything asyncio offers works: ``asyncio.get_running_loop()``, ``create_task``
  (tasks may outlive the response), ``gather``, ``wait_for``, ``asyncio.timeout``,
  network clients. A client that disconnects while its coroutine is suspended gets the
  task cancelled. At most ``max_suspended`` requests (``run()``, 10,000) wait at once
  per worker; more are answered ``503`` with ``Retry-After``.

``def`` handlers never hold up the other requests of their worker. A ``def`` handler
starts on the worker's thread pool (``blocking_threads``, 40 threads as in FastAPI, whose
GIL is released while they wait in C code: sleeps, files, sockets, database drivers).
Its calls are timed: after 32 calls in a row that each returned within 100 µs it moves
onto the I/O thread, which saves the hand-off to a thread (several microseconds per
request); if a call there then takes 1 ms or more, it goes back to the pool for good and
the server logs the route's name once. ``blocking=True`` keeps a ``def`` handler on the
pool, ``blocking=False`` keeps it on the I/O thread (only for handlers that never wait).
A full pool queue answers ``503`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import collections.abc
import dataclasses
import datetime
import decimal
import enum
import http
import inspect
import operator
import os
import re
import signal
import socket
import sys
import threading
import traceback
import types
import typing
import uuid

from . import _fasterapi

__all__ = [
    "Body",
    "Cookie",
    "FastAPI",
    "FasterAPI",
    "Header",
    "Headers",
    "HTTPException",
    "HTMLResponse",
    "JSONResponse",
    "Path",
    "PlainTextResponse",
    "Query",
    "Request",
    "Response",
]

#: The request object a handler receives when it declares ``request: Request``.
#: Attributes: ``method``, ``path`` (decoded), ``url`` (path and query, raw),
#: ``query_string``, ``query_params`` (dict, first value of each name), ``headers``
#: (:class:`Headers`: look-ups ignore case), ``path_params`` (dict); methods ``body()`` (bytes) and
#: ``json()`` (the parsed JSON body), to ``await`` in an ``async def`` handler as in
#: FastAPI and to call directly in a ``def`` handler.
Request = _fasterapi.Request


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


# ---------------------------------------------------------------------------------------
# Parameter markers: FastAPI's Query(), Path(), Header(), Cookie() and Body().

# Keywords that only document a parameter (FastAPI puts them into the OpenAPI schema):
# accepted and ignored.
_DOC_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "examples",
        "example",
        "openapi_examples",
        "deprecated",
        "include_in_schema",
        "json_schema_extra",
        "alias_priority",
        "serialization_alias",
        "media_type",
    }
)
# Validation keywords checked in Rust for ``int``/``float`` (bounds) and ``str`` values.
_NUMBER_CONSTRAINTS = ("gt", "ge", "lt", "le")
_STRING_CONSTRAINTS = ("min_length", "max_length", "pattern")
# Validation keywords only pydantic checks.
_PYDANTIC_CONSTRAINTS = ("multiple_of", "strict", "allow_inf_nan", "max_digits", "decimal_places")


class _Param:
    """What the parameter markers share: a default (``...`` or none: required), an
    ``alias`` and validation constraints."""

    #: Where the value comes from: "path", "query", "header", "cookie" or "body".
    location = ""

    def __init__(
        self,
        default: typing.Any = ...,
        *,
        alias: str | None = None,
        validation_alias: str | None = None,
        gt: typing.Any = None,
        ge: typing.Any = None,
        lt: typing.Any = None,
        le: typing.Any = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        default_factory: typing.Any = None,
        **extra: typing.Any,
    ):
        if default_factory is not None:
            raise TypeError(f"{type(self).__name__}(default_factory=...) is not supported; give a default")
        if pattern is not None and regex is not None:
            raise TypeError(f"{type(self).__name__}: give pattern= or its old name regex=, not both")
        self.default = default
        if alias is None and isinstance(validation_alias, str):
            alias = validation_alias
        self.alias = alias
        constraints = {
            "gt": gt,
            "ge": ge,
            "lt": lt,
            "le": le,
            "min_length": min_length,
            "max_length": max_length,
            "pattern": regex if pattern is None else pattern,
        }
        for key in _PYDANTIC_CONSTRAINTS:
            constraints[key] = extra.pop(key, None)
        #: The validation constraints given (those not ``None``).
        self.constraints = {k: v for k, v in constraints.items() if v is not None}
        # Documentation keywords (and FastAPI's deprecated **extra) are ignored.
        self.extra = {k: v for k, v in extra.items() if k not in _DOC_KEYWORDS}

    def __repr__(self) -> str:
        args = [] if self.default is ... else [repr(self.default)]
        if self.alias is not None:
            args.append(f"alias={self.alias!r}")
        args += [f"{k}={v!r}" for k, v in self.constraints.items()]
        return f"{type(self).__name__}({', '.join(args)})"


class Query(_Param):
    """Marks a query parameter, as FastAPI's ``Query``::

        def search(q: Optional[str] = Query(None, max_length=50),
                   limit: int = Query(10, ge=1, le=100),
                   tags: List[str] = Query([])):     # ?tags=a&tags=b

    ``default``: ``...`` (or none given) makes the parameter required. ``alias``: the
    name in the query string (``Query(alias="item-query")``), also named by ``loc`` in a
    422. Constraints: ``gt``/``ge``/``lt``/``le`` for numbers, ``min_length``/
    ``max_length``/``pattern`` (a regex searched in the value; ``regex`` is its old name)
    for strings, checked in Rust; ``multiple_of``, ``strict``, ``allow_inf_nan``,
    ``max_digits`` and ``decimal_places`` are left to pydantic. A list type takes every
    value of a repeated parameter. Documentation keywords (``title``, ``description``,
    ``examples``, ``deprecated``, ...) are accepted and ignored.
    """

    location = "query"


class Path(_Param):
    """Marks a path parameter with constraints, as FastAPI's ``Path``
    (``item_id: int = Path(..., gt=0)``). Path parameters are always required. Same
    keywords as :class:`Query`."""

    location = "path"


class Header(_Param):
    """Marks a request header parameter, as FastAPI's ``Header``
    (``x_token: str = Header(...)``, ``user_agent: Optional[str] = Header(None)``).

    The header's name is the parameter's with underscores turned into hyphens
    (``x_token`` reads ``X-Token``), unless ``convert_underscores=False`` or an
    ``alias`` is given; names are compared ignoring case. A header sent several times
    gives its first value, or every value to a list type (``List[str]``). Values are
    decoded as Latin-1, as HTTP defines. Same constraints as :class:`Query`.
    """

    location = "header"

    def __init__(self, default: typing.Any = ..., *, convert_underscores: bool = True, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(_Param):
    """Marks a cookie parameter, as FastAPI's ``Cookie``
    (``session: Optional[str] = Cookie(None)``): the value of the cookie of that name
    (or ``alias``) in the request's ``Cookie`` header. Same constraints as
    :class:`Query`."""

    location = "cookie"


class Body(_Param):
    """Marks a parameter read from the JSON body, as FastAPI's ``Body``.

    ``payload: dict = Body(...)`` takes the whole body. Several body parameters, or
    ``embed=True`` on a single one, each take the body's key of their name (or
    ``alias``): ``name: str = Body(..., embed=True)`` reads ``{"name": "..."}``. A
    JSON ``null`` counts as absent. Any type works (``str``, ``int``, models,
    ``List[...]``); values and constraints are validated by pydantic when installed (in
    its lax mode, as FastAPI), by type and in Rust otherwise.
    """

    location = "body"

    def __init__(self, default: typing.Any = ..., *, embed: bool | None = None, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.embed = embed


# ---------------------------------------------------------------------------------------
# Signature compilation: once per route, into a positional plan read by the Rust side.

# Where a parameter comes from (must match fasterapi-py/src/plan.rs).
_SRC_PATH, _SRC_QUERY, _SRC_BODY, _SRC_BODY_FIELD, _SRC_REQUEST, _SRC_HEADER, _SRC_COOKIE = range(7)
# How a value is converted.
_CONV_STR, _CONV_INT, _CONV_FLOAT, _CONV_BOOL, _CONV_DICT, _CONV_LIST, _CONV_VALIDATOR, _CONV_ANY = range(8)

_PATH_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)\}")

try:  # pydantic is optional: models and typed containers are validated when installed
    import pydantic as _pydantic

    _ValidationError = _pydantic.ValidationError
except ImportError:  # tests/app_no_pydantic.py runs this way
    _pydantic = None
    _ValidationError = None


def _unwrap_optional(ann):
    """``(inner, optional)`` for ``Optional[X]`` / ``X | None``; ``(ann, False)`` otherwise."""
    origin = typing.get_origin(ann)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return ann, False


def _is_model(ann) -> bool:
    return (
        _pydantic is not None
        and isinstance(ann, type)
        and issubclass(ann, _pydantic.BaseModel)
    )


_SCALARS = {str: _CONV_STR, int: _CONV_INT, float: _CONV_FLOAT, bool: _CONV_BOOL}


def _scalar_conv(name: str, ann):
    """``(conv, validator)`` for a path or query parameter annotated ``ann``."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any:
        return _CONV_STR, None
    if ann in _SCALARS:
        return _SCALARS[ann], None
    if _pydantic is not None:
        # Enums, Literal, UUID, dates, constrained types: pydantic converts the string.
        try:
            return _CONV_VALIDATOR, _pydantic.TypeAdapter(ann).validate_python
        except Exception as e:
            raise TypeError(f"parameter {name!r}: unsupported type {ann!r}: {e}") from e
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return _CONV_VALIDATOR, ann  # Color("red"); a ValueError is a 422
    if isinstance(ann, type) and issubclass(ann, str):
        return _CONV_STR, None
    raise TypeError(f"parameter {name!r}: unsupported type {ann!r} for a path or query parameter")


def _body_conv(ann):
    """``(conv, validator)`` for a body parameter, or ``None`` if ``ann`` is no body type."""
    if _is_model(ann):
        return _CONV_VALIDATOR, ann.model_validate
    origin = typing.get_origin(ann) or ann
    if origin not in (dict, list):
        return None
    plain = ann in (dict, list, typing.Dict, typing.List) or not typing.get_args(ann)
    if plain or _pydantic is None:
        return (_CONV_DICT if origin is dict else _CONV_LIST), None
    # Typed containers (List[int], Dict[str, Model]) are validated by pydantic.
    return _CONV_VALIDATOR, _pydantic.TypeAdapter(ann).validate_python


def _split_annotated(ann):
    """``(type, marker, metadata)`` of ``Annotated[type, ...]``: the last parameter marker
    in it and the other metadata; ``(ann, None, [])`` for any other annotation."""
    if typing.get_origin(ann) is not typing.Annotated:
        return ann, None, []
    base, *meta = typing.get_args(ann)
    markers = [m for m in meta if isinstance(m, _Param)]
    # Plain strings document; other metadata (pydantic's Field, annotated_types' Gt,
    # validators) is for pydantic.
    others = [m for m in meta if not isinstance(m, (_Param, str))]
    return base, (markers[-1] if markers else None), others


def _pydantic_validator(name: str, ann, constraints: dict, metadata: list):
    """``validate_python`` of a pydantic ``TypeAdapter`` for ``ann`` with the constraints
    and ``Annotated`` metadata."""
    if _pydantic is None:
        raise TypeError(f"parameter {name!r}: {sorted(constraints) or metadata} on {ann!r} needs pydantic")
    if ann is inspect.Parameter.empty:
        ann = typing.Any
    metadata = [*metadata, _pydantic.Field(**constraints)] if constraints else metadata
    try:
        adapter = _pydantic.TypeAdapter(typing.Annotated[(ann, *metadata)] if metadata else ann)
    except Exception as e:
        raise TypeError(f"parameter {name!r}: unsupported type or constraints {ann!r} {constraints}: {e}") from e
    return adapter.validate_python


def _native_constraints(name: str, ann, constraints: dict):
    """The constraints Rust checks, normalised (bounds of an ``int`` are ints, of a
    ``float`` floats; a compiled pattern), or ``None`` if pydantic must check them."""
    if not constraints:
        return {}
    if ann in (int, float):
        allowed = _NUMBER_CONSTRAINTS
    elif ann in (str, inspect.Parameter.empty, typing.Any, None):
        allowed = _STRING_CONSTRAINTS
    else:
        return None
    if any(k not in allowed for k in constraints):
        return None
    out = {}
    for key, value in constraints.items():
        if key == "pattern":
            try:
                out[key] = (str(value), re.compile(value).search)
            except re.error as e:
                raise TypeError(f"parameter {name!r}: bad pattern {value!r}: {e}") from e
        elif key in _STRING_CONSTRAINTS:
            out[key] = operator.index(value)
        elif ann is int:
            # As pydantic: a bound of an int must be a whole number.
            try:
                whole = int(value)
            except (TypeError, ValueError, OverflowError):
                whole = None
            if whole is None or whole != value:
                raise TypeError(f"parameter {name!r}: {key}={value!r} is not an integer")
            out[key] = whole
        else:
            out[key] = float(value)
    return out


def _value_conv(name: str, ann, marker, metadata: list):
    """``(conv, validator, constraints, multi)`` for a path, query, header or cookie
    parameter."""
    constraints = marker.constraints if marker is not None else {}
    origin = typing.get_origin(ann) or ann
    if origin in (list, set, frozenset, tuple, collections.abc.Sequence):
        if marker is None or marker.location not in ("query", "header"):
            raise TypeError(f"parameter {name!r}: a list type is read from the body, or from the query or headers with Query()/Header()")
        args = typing.get_args(ann)
        item = args[0] if args else str
        if origin in (list, collections.abc.Sequence) and item in _SCALARS and not constraints and not metadata:
            return _SCALARS[item], None, None, True
        return _CONV_VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, True
    if _body_conv(ann) is not None:
        raise TypeError(f"parameter {name!r}: {ann!r} is read from the body (Body()), not from the {marker.location}")
    if metadata and _pydantic is not None:
        return _CONV_VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, False
    native = _native_constraints(name, ann, constraints)
    if native is None:
        return _CONV_VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, False
    conv, validator = _scalar_conv(name, ann)
    if native and validator is not None:
        # A str subclass (an enum without pydantic) with string constraints.
        raise TypeError(f"parameter {name!r}: constraints on {ann!r} need pydantic")
    return conv, validator, native or None, False


def _marked_body_conv(name: str, ann, marker, metadata: list):
    """``(conv, validator, constraints)`` for a parameter marked ``Body()``."""
    constraints = marker.constraints
    if ann in (inspect.Parameter.empty, typing.Any, None) and not constraints and not metadata:
        return _CONV_ANY, None, None
    if _pydantic is not None:
        if not constraints and not metadata:
            body = _body_conv(ann)
            if body is not None:
                return body[0], body[1], None
        # Scalars too: pydantic's lax mode, as FastAPI validates body values.
        return _CONV_VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None
    body = _body_conv(ann)
    if body is not None:
        if constraints:
            _pydantic_validator(name, ann, constraints, metadata)  # raises: needs pydantic
        return body[0], body[1], None
    native = _native_constraints(name, ann, constraints)
    if native is None:
        _pydantic_validator(name, ann, constraints, metadata)  # raises: needs pydantic
    conv, validator = _scalar_conv(name, ann)
    return conv, validator, native or None


def _compile(func, path: str) -> list:
    """The positional plan of ``func``: one tuple per parameter,
    ``(name, source, conv, required, default, validator, key, multi, constraints)``:
    ``key`` is the name looked up (an alias, a header name), ``multi`` takes every value
    of a repeated query parameter or header as a list, ``constraints`` is ``None`` or a
    dict of the bounds, lengths and pattern Rust checks."""
    qualname = getattr(func, "__qualname__", repr(func))
    sig = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:
        hints = {}
    path_names = set(_PATH_PARAM.findall(path))
    plan = []
    body_params = []
    embed = False
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{qualname}: *args and **kwargs are not supported")
        ann, marker, metadata = _split_annotated(hints.get(name, p.annotation))
        default = p.default
        if _foreign_marker(default):
            raise NotImplementedError(
                f"{qualname}: parameter {name!r} defaults to {type(default).__module__}."
                f"{type(default).__qualname__}, which fasterapi does not implement yet; it "
                "would otherwise be taken for a plain default value (for Depends, a query "
                "parameter a client could set)"
            )
        for item in getattr(hints.get(name), "__metadata__", ()):
            if _foreign_marker(item):
                raise NotImplementedError(
                    f"{qualname}: parameter {name!r} is annotated with "
                    f"{type(item).__module__}.{type(item).__qualname__}, which fasterapi "
                    "does not implement yet"
                )
        if isinstance(default, _Param):
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r} has a marker both in Annotated and as its default")
            marker = default
            default = marker.default
        elif marker is not None and marker.default is not ...:
            raise TypeError(
                f"{qualname}: parameter {name!r}: {type(marker).__name__}() in Annotated takes no default; set it with `=`"
            )
        if default is p.empty:
            default = ...
        required = default is ...
        if required:
            default = None
        inner, _optional = _unwrap_optional(ann)
        if isinstance(inner, type) and issubclass(inner, Request):
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r}: a Request takes no {type(marker).__name__}()")
            plan.append([name, _SRC_REQUEST, _CONV_ANY, False, None, None, name, False, None])
            continue
        location = marker.location if marker is not None else None
        if name in path_names and location not in (None, "path"):
            raise TypeError(f"{qualname}: {name!r} is a path parameter; mark it Path(), not {type(marker).__name__}()")
        if location is None:
            if name in path_names:
                location = "path"
            elif _body_conv(inner) is not None:
                location = "body"
            else:
                location = "query"
        key = marker.alias if marker is not None and marker.alias else name
        if location == "header" and not marker.alias and marker.convert_underscores:
            key = name.replace("_", "-")
        if location == "body":
            if marker is None:
                conv, validator = _body_conv(inner)
                constraints = None
                if metadata and _pydantic is not None:
                    conv, validator = _CONV_VALIDATOR, _pydantic_validator(name, inner, {}, metadata)
            else:
                conv, validator, constraints = _marked_body_conv(name, inner, marker, metadata)
                embed = embed or bool(marker.embed)
            entry = [name, _SRC_BODY, conv, required, default, validator, key, False, constraints]
            body_params.append(entry)
        else:
            conv, validator, constraints, multi = _value_conv(name, inner, marker, metadata)
            source = {"path": _SRC_PATH, "query": _SRC_QUERY, "header": _SRC_HEADER, "cookie": _SRC_COOKIE}[location]
            if source == _SRC_PATH:
                if key not in path_names:
                    raise TypeError(f"{qualname}: path parameter {key!r} is not in the path {path!r}")
                required, default = True, None
            entry = [name, source, conv, required, default, validator, key, multi, constraints]
        plan.append(entry)
    missing = path_names - {e[6] for e in plan if e[1] == _SRC_PATH}
    if missing:
        raise TypeError(f"{qualname}: path parameters {sorted(missing)} are not in the signature")
    if len(body_params) > 1 or embed:
        for entry in body_params:
            entry[1] = _SRC_BODY_FIELD
    return [tuple(e) for e in plan]


# ---------------------------------------------------------------------------------------
# Helpers the Rust side calls.


def _jsonable(obj):
    """Turns a value the Rust JSON walker does not know into one it does."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, decimal.Decimal)):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _validation_detail(exc, loc_prefix):
    """FastAPI's 422 ``detail`` list for a pydantic ``ValidationError``."""
    out = []
    for err in exc.errors(include_url=False):
        item = {
            "type": err.get("type"),
            "loc": list(loc_prefix) + list(err.get("loc", ())),
            "msg": err.get("msg"),
            "input": err.get("input"),
        }
        if err.get("ctx"):
            item["ctx"] = {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v)) for k, v in err["ctx"].items()}
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------
# The event loop of a worker, driven by its I/O thread (see fasterapi-py/src/aio.rs).


class _Loop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, able to start a task eagerly on Python 3.11 (3.12 has
    ``eager_start``): while ``_first_step`` is set, ``call_soon`` hands the new task's
    first step back instead of queueing it."""

    _first_step = None

    def call_soon(self, callback, *args, context=None):
        if self._first_step is not None:
            self._first_step = (callback, context)
            return None
        return super().call_soon(callback, *args, context=context)


def _new_loop(driven=True):
    """A new asyncio loop and its selector's descriptor. A driven loop counts as running
    on this thread (``loop.is_running()``), which drives it one iteration at a time."""
    loop = _Loop()
    if driven:
        loop._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(
            firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
        )
    return loop, loop._selector.fileno()


if sys.version_info >= (3, 12):

    def _start(coro, loop, _Task=asyncio.Task):
        """A task for ``coro`` that has taken its first step already: most handlers
        finish there, and a suspended one is inside its task, so ``current_task()``,
        timeouts and cancellation see the task that finishes it."""
        return _Task(coro, loop=loop, eager_start=True)

else:

    def _start(coro, loop, _Task=asyncio.Task):
        """A task for ``coro`` that has taken its first step already (as 3.12's eager
        tasks do): most handlers finish there, and a suspended one is inside its task, so
        ``current_task()``, timeouts and cancellation see the task that finishes it."""
        loop._first_step = True
        try:
            task = _Task(coro, loop=loop)
            callback, context = loop._first_step
        finally:
            loop._first_step = None
        context.run(callback)
        return task


def _turn(loop, rounds=16):
    """One iteration of ``loop`` without waiting in its selector, then up to ``rounds``
    more passes over the callbacks that became ready meanwhile (a timer's future wakes
    its task, whose end schedules its done callbacks: three iterations for one awaited
    sleep, run here in one turn of the server's loop). Returns the seconds until the
    loop is next due (0.0 while callbacks are ready), or None when only I/O can wake it."""
    loop._stopping = True  # makes _run_once poll the selector with a zero timeout
    try:
        loop._run_once()
        ready = loop._ready
        while ready and rounds:
            rounds -= 1
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
    finally:
        loop._stopping = False
    if loop._ready:
        return 0.0
    if loop._scheduled:
        return max(0.0, loop._scheduled[0]._when - loop.time())
    return None


def _close_loop(loop, timeout):
    """At shutdown: cancels the tasks still pending, gives them ``timeout`` seconds to
    finish, closes async generators, closes the loop."""
    loop._thread_id = None
    try:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=timeout))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


class Headers(dict):
    """Request headers: a dict with lower-case names whose look-ups ignore case."""

    __slots__ = ()

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class _Ready:
    """An awaitable that is already done: ``await _Ready(v)`` is ``v``."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __await__(self):
        return self.value
        yield  # noqa: unreachable - makes this a generator


_fasterapi._setup(
    HTTPException=HTTPException,
    Response=Response,
    ValidationError=_ValidationError,
    jsonable=_jsonable,
    validation_detail=_validation_detail,
    ready=_Ready,
    new_loop=_new_loop,
    start=_start,
    turn=_turn,
    close_loop=_close_loop,
    headers=Headers,
)


# ---------------------------------------------------------------------------------------
# The application.


# ---------------------------------------------------------------------------------------
# What FastAPI has and fasterapi does not (yet): refused by name, never ignored.

#: FastAPI's top-level names that fasterapi does not implement yet.
_NOT_YET = {
    "APIRouter", "BackgroundTasks", "Depends", "File", "Form", "Security", "UploadFile",
    "WebSocket", "WebSocketDisconnect", "WebSocketException", "status",
}


def __getattr__(name):
    if name in _NOT_YET:
        raise ImportError(
            f"fasterapi does not implement FastAPI's {name!r} yet; an app that uses it "
            "cannot run on fasterapi today (nothing is silently left out)"
        )
    raise AttributeError(f"module 'fasterapi' has no attribute {name!r}")


#: Route options that only document the route (kept for the OpenAPI schema to come).
_ROUTE_DOC_OPTIONS = {
    "tags", "summary", "description", "response_description", "responses", "deprecated",
    "operation_id", "include_in_schema", "name", "callbacks", "openapi_extra",
    "generate_unique_id_function",
}
#: Route options that change behaviour, with the value that changes nothing (FastAPI's
#: default): any other value is refused until fasterapi implements the option.
_ROUTE_INERT_DEFAULTS = {
    "response_model": None,
    "dependencies": None,
    "response_class": None,
    "response_model_include": None,
    "response_model_exclude": None,
    "response_model_by_alias": True,
    "response_model_exclude_unset": False,
    "response_model_exclude_defaults": False,
    "response_model_exclude_none": False,
}
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
    "default_response_class": None,
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


def _check_options(where: str, given: dict, documentation: set, inert: dict) -> dict:
    """Keeps the documentation-only options; refuses, naming it, any option fasterapi
    does not implement unless it has the value that changes nothing."""
    kept = {}
    for key, value in given.items():
        if key in documentation:
            kept[key] = value
        elif key in inert:
            default = inert[key]
            if not (value is default or value == default or (default is None and value in ((), []))):
                raise NotImplementedError(
                    f"{where}: {key}={value!r} is not implemented by fasterapi yet (it would "
                    "change what the app does, so it is refused rather than ignored)"
                )
        else:
            raise TypeError(f"{where}: unknown option {key!r}")
    return kept


def _foreign_marker(default) -> bool:
    """Whether a parameter default is an object of FastAPI's or Starlette's own (a
    ``fastapi.Depends``, say), which fasterapi would otherwise take for a plain default."""
    module = getattr(type(default), "__module__", "") or ""
    return module.split(".", 1)[0] in ("fastapi", "starlette")


class FasterAPI:
    """An application: routes registered with the ``get``/``post``/``put``/``patch``/
    ``delete`` decorators, served by :meth:`run`.

    FastAPI's documentation options (``title``, ``version``, ``description``, ...) are
    kept in :attr:`options`; an option that would change behaviour and that fasterapi
    does not implement yet (``dependencies``, ``lifespan``, ``middleware``, ``docs_url``,
    ...) raises ``NotImplementedError`` naming it, unless given FastAPI's inert value."""

    def __init__(self, **options):
        self.options = _check_options("FasterAPI()", options, _APP_DOC_OPTIONS, _APP_INERT_DEFAULTS)
        self.routes: list[tuple] = []
        #: The documentation options of each route, by ``(methods, path)``.
        self.route_docs: dict = {}

    def add_route(self, method: str, path: str, func, *, status_code: int = 200, blocking: bool | None = None):
        """Registers ``func`` for ``method`` requests to ``path`` (``{name}`` captures a
        segment, ``{*name}`` the rest of the path).

        ``blocking`` places a ``def`` handler: ``True`` on the thread pool, ``False`` on
        the I/O thread, ``None`` (the default) where its timed calls say (see the module
        docs). ``async def`` handlers run on the worker's event loop; ``blocking=True``
        is refused for them."""
        plan = _compile(func, path)
        is_async = inspect.iscoroutinefunction(func)
        if blocking is not None and not isinstance(blocking, bool):
            raise TypeError(f"{method} {path}: blocking must be True, False or None, not {blocking!r}")
        if is_async and blocking:
            raise ValueError(
                f"{method.upper()} {path}: blocking=True is for def handlers; an async def "
                "handler runs on the event loop (call blocking code with "
                "`await asyncio.to_thread(...)` or make the handler a def)"
            )
        self.routes.append((method.upper(), path, func, is_async, plan, blocking, int(status_code)))
        return func

    def api_route(self, path: str, *, methods=("GET",), status_code: int | None = None, blocking: bool | None = None, **options):
        """A decorator registering the handler for each of ``methods``. FastAPI's
        documentation options (``tags``, ``summary``, ``description``, ``deprecated``,
        ``operation_id``, ``include_in_schema``, ...) are kept with the route; options
        fasterapi does not implement yet (``response_model``, ``dependencies``,
        ``response_class``, ...) raise ``NotImplementedError`` naming them."""
        where = f"{'/'.join(methods)} {path}"
        docs = _check_options(where, options, _ROUTE_DOC_OPTIONS, _ROUTE_INERT_DEFAULTS)

        def decorator(func):
            for m in methods:
                self.add_route(m, path, func, status_code=200 if status_code is None else status_code, blocking=blocking)
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


_EXIT_START_FAILED = 3


def _log(msg: str) -> None:
    print(f"fasterapi: {msg}", file=sys.stderr, flush=True)


def _supervise(routes, host: str, port: int, workers: int, options: dict) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Reserve the port (and resolve port 0) with a bound, non-listening SO_REUSEPORT
    # socket: every worker binds the same port next to it, and it receives no connection.
    reserve = socket.socket(family, socket.SOCK_STREAM)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserve.bind((host, port))
    port = reserve.getsockname()[1]
    children: dict[int, None] = {}
    state = {"stopping": False, "failed": False}

    supervisor = os.getpid()

    stop_signals = {signal.SIGINT, signal.SIGTERM}

    def spawn() -> None:
        # Signals wait until the child is registered, so that `forward` reaches it.
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            pid = os.fork()
            if pid == 0:
                worker()
            children[pid] = None
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)

    def worker() -> None:
        """The child: no Rust thread exists yet in this process. Never returns."""
        code = 0
        try:
            # A worker stops on SIGTERM only (from the supervisor, its process group
            # or its parent's death), taken by serve() from the mask: SIGTERM stays
            # blocked from the fork on, and Ctrl-C's SIGINT reaches the supervisor,
            # which forwards SIGTERM. Workers stay in the supervisor's process group, so
            # that tools that watch or signal the group see the whole server.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            reserve.close()
            if not _fasterapi._die_with_parent(supervisor):
                os._exit(0)
            _fasterapi.serve(routes, host, port, supervised=True, **options)
        except OSError:
            traceback.print_exc()
            code = _EXIT_START_FAILED
        except BaseException:  # noqa: BLE001 - a worker must never return into the parent's code
            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)

    def forward(signum, _frame) -> None:
        # The first SIGINT/SIGTERM: a graceful shutdown of every worker (SIGTERM; a
        # worker that also got it from the process group takes it once). A second one:
        # stop now.
        sig = signal.SIGKILL if state["stopping"] else signal.SIGTERM
        if sig == signal.SIGKILL:
            _log("second signal: killing the workers")
        state["stopping"] = True
        for pid in list(children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    old_term = signal.signal(signal.SIGTERM, forward)
    old_int = signal.signal(signal.SIGINT, forward)
    try:
        _log(f"supervisor {os.getpid()} serving http://{host}:{port} with {workers} workers")
        for _ in range(workers):
            if state["stopping"]:
                break
            spawn()
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            children.pop(pid, None)
            if state["stopping"]:
                if os.WIFEXITED(status):
                    _log(f"worker {pid} stopped (exit code {os.WEXITSTATUS(status)})")
                else:
                    _log(f"worker {pid} stopped (signal {os.WTERMSIG(status)})")
                continue
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_START_FAILED:
                _log(f"worker {pid} could not start; stopping")
                state["failed"] = True
                forward(signal.SIGTERM, None)
                continue
            _log(f"worker {pid} died (status {status}); starting a new one")
            spawn()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
        reserve.close()
    if state["failed"]:
        raise SystemExit(1)
