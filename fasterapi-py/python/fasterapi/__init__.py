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

The modules follow FastAPI's, so ``from fastapi.X import Y`` becomes ``from fasterapi.X
import Y``: ``applications`` (``FastAPI``, ``FasterAPI``), ``routing``, ``params`` and
``param_functions``, ``responses``, ``exceptions``, ``exception_handlers``, ``requests``,
``encoders`` (``jsonable_encoder``), ``status``, ``datastructures``, ``security``, ``testclient`` (``TestClient``,
which serves the app in process; it needs ``httpx``: ``pip install 'fasterapi[test]'``).
A FastAPI name fasterapi does not implement yet raises ``ImportError`` naming it.

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

  :func:`Query`, :func:`Path`, :func:`Header`, :func:`Cookie` and :func:`Body`
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
- Dependencies, as FastAPI's: ``Depends(f)`` (a function, ``async`` or not, a class, a
  callable instance; ``Depends()`` takes the annotation) gives the parameter what ``f``
  returns, ``f``'s own parameters read from the request the same way (and its own
  dependencies first). Within a request a dependency runs once (``use_cache=False``:
  each time). A generator dependency gives what it yields; its code after ``yield`` runs
  after the response (``Depends(f, scope="function")``: before it) and sees the
  handler's exception in its ``except``/``finally``. ``dependencies=[Depends(...)]`` on a
  route, a router or the app run first, their values unused; ``app.dependency_overrides``
  replaces dependencies (tests set and clear it between requests). When values fail
  validation, the dependencies whose own values are valid still run first, so a ``401``
  comes before the ``422``. ``Security(f, scopes=[...])`` adds OAuth2 scopes that a
  ``SecurityScopes`` parameter receives; :mod:`fasterapi.security` has FastAPI's schemes
  (``OAuth2PasswordBearer``, ``HTTPBasic``, ``HTTPBearer``, ``APIKeyHeader``...) with its
  ``401`` answers; ``Form()``, ``File()`` and ``UploadFile`` read url-encoded and multipart
  forms (``OAuth2PasswordRequestForm``, form models, uploads spooled to temporary files).
  Each route's graph is compiled at registration into one plan read in Rust and a
  generated function calling the dependencies (``dependencies/graph.py``): no signature is
  inspected per request, and a route without dependencies keeps its plain path.
- Return values: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``
  are JSON-encoded (walked by the Rust JSON writer, no ``json.dumps``); other values
  (pydantic models, by alias, dataclasses, enums, dates, ``Decimal``, ``timedelta``,
  UUIDs, sets...) are converted first as FastAPI's ``jsonable_encoder`` converts them
  (:func:`fasterapi.encoders.jsonable_encoder`); ``bytes`` are sent as
  ``application/octet-stream``; a :class:`Response` (``JSONResponse``,
  ``PlainTextResponse``, ``HTMLResponse``, ``RedirectResponse``, ``ORJSONResponse`` or a
  subclass of your own) is sent as it is, with its status code, headers and cookies.
- Response models, as FastAPI's: ``response_model=`` on the decorator, or else the
  handler's return annotation (``-> UserOut``, ``-> list[Item]``, ``-> dict[str,
  float]``, unions; not a ``Response`` class; ``response_model=None`` turns it off). What
  the handler returns is validated through the model (``from_attributes``: ORM objects
  too) and only the model's fields are sent, encoded by pydantic's own JSON serializer;
  ``response_model_include``/``_exclude``/``_by_alias``/``_exclude_unset``/
  ``_exclude_defaults``/``_exclude_none`` apply. A value that does not validate is a
  server error (``ResponseValidationError``, ``500``). ``status_code=`` sets the success
  status, ``response_class=`` (or the app's ``default_response_class``) the class a
  returned value is wrapped in. A ``response: Response`` parameter receives FastAPI's
  temporal response: the status, headers and cookies set on it go into the response.
- ``raise HTTPException(status_code, detail)`` answers ``{"detail": detail}`` with that
  status (and the exception's ``headers``). Exception handlers (``@app.exception_handler(
  UnicornException)``, by class or status code, ``def`` or ``async def``) answer the
  exceptions they are registered for, as in Starlette; one for
  ``RequestValidationError`` answers the requests that fail validation, instead of the
  422. Any other exception answers ``500 Internal Server Error`` in plain text (or the
  handler of ``500``/``Exception``), its traceback is printed to stderr, and the server
  goes on serving. A request no route takes is answered ``404 {"detail": "Not Found"}``
  or ``405 {"detail": "Method Not Allowed"}`` with ``Allow``; with ``redirect_slashes``
  (the default) ``/items/`` is redirected (307) to ``/items`` when only that is routed,
  and the reverse.
- Routes can be grouped in :class:`APIRouter` objects and included in the app (or in
  other routers) under a prefix, with tags, dependencies and responses, as FastAPI's
  bigger applications are; each route has a ``name`` and ``app.url_path_for(name,
  **params)`` gives its path.
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

from . import _fasterapi, _not_yet, status
from ._loop import _close_loop, _new_loop, _start, _turn
from .applications import FastAPI, FasterAPI
from .background import BackgroundTasks
from .datastructures import Headers, UploadFile
from .dependencies.utils import _pydantic, _validation_detail, _ValidationError
from .encoders import _jsonable
from .exceptions import HTTPException, StarletteHTTPException, WebSocketException
from .param_functions import Body, Cookie, Depends, File, Form, Header, Path, Query, Security
from .requests import Request
from .responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, _temporal_response
from .routing import APIRouter, _response_validation_error
from .websockets import WebSocket, WebSocketDisconnect

__all__ = [
    "APIRouter",
    "Body",
    "Cookie",
    "Depends",
    "FastAPI",
    "FasterAPI",
    "File",
    "Form",
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
    "BackgroundTasks",
    "Security",
    "UploadFile",
    "status",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
]


_fasterapi._setup(
    HTTPException=StarletteHTTPException,
    Response=Response,
    ValidationError=_ValidationError,
    BaseModel=getattr(_pydantic, "BaseModel", None),
    jsonable=_jsonable,
    validation_detail=_validation_detail,
    new_loop=_new_loop,
    start=_start,
    turn=_turn,
    close_loop=_close_loop,
    temporal_response=_temporal_response,
    response_validation_error=_response_validation_error,
)

#: FastAPI's top-level names that fasterapi does not implement yet.
_NOT_YET = frozenset({
})
__getattr__ = _not_yet.refuse("fasterapi", _NOT_YET)
