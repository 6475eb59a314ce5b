"""Testing an app without a server process: ``fasterapi.testclient`` as
``fastapi.testclient``.

:class:`TestClient` is Starlette's TestClient for a fasterapi app: an ``httpx.Client``
(so ``get``/``post``/``put``/``patch``/``delete``/``head``/``options``/``request`` with
``params``, ``json``, ``data``, ``content``, ``headers``, ``cookies``; cookies kept across
requests; redirects followed; ``httpx.Response`` answers) whose transport serves each
request in process, through the same router, connection handling and handler dispatch as
``app.run()`` (one worker: its asyncio loop for ``async def`` handlers, its thread pool
for ``def`` handlers), over an in-memory connection instead of a socket::

    from fasterapi import FastAPI
    from fasterapi.testclient import TestClient

    app = FastAPI()

    @app.get("/items/{item_id}")
    def read_item(item_id: int):
        return {"item_id": item_id}

    client = TestClient(app)

    def test_read_item():
        response = client.get("/items/42")
        assert response.status_code == 200
        assert response.json() == {"item_id": 42}

Each request is encoded as HTTP/1.1 bytes, answered by the server on a thread of its own
(the app's asyncio loop lives there, not on the test's thread), and the server's bytes
are parsed into the ``httpx.Response``. With ``raise_server_exceptions=True`` (the
default) an exception a handler raises, other than ``HTTPException`` and validation
errors, is raised again in the test, as Starlette's TestClient does; with ``False`` the
test gets the server's ``500`` answer.

It needs ``httpx`` (``pip install 'fasterapi[test]'``).
"""

from __future__ import annotations

import atexit
import threading
import warnings
import weakref

try:
    import h11
    import httpx
except ModuleNotFoundError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fasterapi.testclient needs httpx (as Starlette's TestClient does): install it "
        "with `pip install 'fasterapi[test]'` or `pip install httpx`"
    ) from e

from . import _fasterapi
from .exceptions import FastAPIDeprecationWarning

__all__ = ["TestClient"]

_STARLETTE_CLIENT = ("testclient", 50000)
#: The largest response head the client parses (the server's max_head_bytes is for requests).
_MAX_HEAD = 1 << 20

#: Test servers not closed yet: closed at exit, while their threads can still attach to
#: the interpreter to stop their event loops.
_OPEN = weakref.WeakSet()


@atexit.register
def _close_all():
    for transport in list(_OPEN):
        transport.close()


class _TestServerTransport(httpx.BaseTransport):
    """An httpx transport that serves each request with the app's in-process server.

    The server is made on first use and remade when the app's routes change (a route
    added after the client was made is served, as with Starlette's TestClient, which
    calls the app for each request)."""

    def __init__(self, app, raise_server_exceptions: bool, root_path: str = ""):
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        #: The ``root_path`` a server behind a proxy is given (uvicorn's ``--root-path``).
        self.root_path = root_path
        self._server = None
        self._routes = None
        self._lock = threading.Lock()
        #: Inside ``with TestClient(app)``: the server runs the app's lifespan.
        self._lifespan = False

    def _current_server(self):
        # Remade when the routes or the exception handlers changed.
        routes = (list(self.app.routes), dict(self.app.exception_handlers), list(getattr(self.app, "_mounts", ())))
        with self._lock:
            if self._server is None or self._routes is None or not (
                _same(routes[0], self._routes[0]) and routes[1] == self._routes[1]
                and _same(routes[2], self._routes[2])
            ):
                if self._server is not None:
                    self._server.close()
                    self._server = None
                self._server = _fasterapi.TestServer(self.app._spec(lifespan=self._lifespan, root_path=self.root_path))
                self._routes = routes
                _OPEN.add(self)
            return self._server

    def start(self):
        """Makes the server now (``with TestClient(app)``), running the app's lifespan
        startup (its shutdown runs at :meth:`close`)."""
        self.close()
        self._lifespan = True
        self._current_server()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # h11's 16 KiB bound on a head is for reading from a peer; this one is the server.
        conn = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        raw = _encode(conn, request)
        answer, exceptions = self._current_server().exchange(raw)
        if exceptions and self.raise_server_exceptions:
            raise exceptions[0]
        return _decode(conn, answer, request)

    def close(self):
        with self._lock:
            server, self._server, self._routes = self._server, None, None
            self._lifespan = False
        _OPEN.discard(self)
        if server is not None:
            server.close()


def _same(a: list, b) -> bool:
    return b is not None and len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _encode(conn: h11.Connection, request: httpx.Request) -> bytes:
    """``request`` as HTTP/1.1 bytes, through ``conn`` (which then knows what answer to
    expect: none has a body for ``HEAD``)."""
    body = request.read()
    headers = list(request.headers.raw)
    if "host" not in request.headers:  # httpx sets it; a hand-made request may not
        headers.insert(0, (b"Host", request.url.netloc))
    target = request.url.raw_path
    out = conn.send(h11.Request(method=request.method, target=target, headers=headers))
    if body:
        out += conn.send(h11.Data(data=body))
    out += conn.send(h11.EndOfMessage())
    return out


def _decode(conn: h11.Connection, answer: bytes, request: httpx.Request) -> httpx.Response:
    """The server's ``answer`` to ``request`` as an ``httpx.Response``."""
    conn.receive_data(answer)
    conn.receive_data(b"")  # the server closed or went idle: nothing more comes
    head = None
    body = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            raise httpx.RemoteProtocolError(
                f"the server's answer to {request.method} {request.url} is not valid HTTP/1.1 "
                f"({e}): {answer[:200]!r}",
                request=request,
            ) from e
        if isinstance(event, h11.InformationalResponse):
            continue  # 100 Continue
        if isinstance(event, h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed, h11.PAUSED)) or event is h11.NEED_DATA:
            break
    if head is None:
        raise httpx.RemoteProtocolError(
            f"the server closed the connection without answering {request.method} {request.url}",
            request=request,
        )
    return httpx.Response(
        head.status_code,
        headers=[(bytes(k), bytes(v)) for k, v in head.headers.raw_items()],
        stream=httpx.ByteStream(b"".join(body)),
        request=request,
        extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
    )


class TestClient(httpx.Client):
    """Starlette's ``TestClient`` for a fasterapi app (see the module's docs).

    ``base_url``, ``cookies``, ``headers`` and ``follow_redirects`` are httpx's;
    ``raise_server_exceptions`` is Starlette's. Options fasterapi cannot honour are
    refused by name: ``root_path`` other than ``""``, ``backend`` other than
    ``"asyncio"``, ``backend_options``, and ``client`` other than Starlette's default.

    ``with TestClient(app) as client:`` starts the app's server on entry, running the
    app's lifespan startup (``lifespan=``, ``on_startup``), and stops it on exit, after
    the lifespan shutdown, as Starlette's does; requests outside ``with`` are served
    without the lifespan (a later request starts a server again).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: str = "asyncio",
        backend_options: dict | None = None,
        cookies=None,
        headers: dict | None = None,
        follow_redirects: bool = True,
        client: tuple = _STARLETTE_CLIENT,
    ) -> None:
        if not hasattr(app, "routes") or not hasattr(app, "run"):
            raise TypeError(
                f"TestClient(app): app must be a fasterapi app (FastAPI()), not {app!r}; "
                "fasterapi's TestClient does not run other ASGI apps"
            )
        if not isinstance(root_path, str) or (root_path and not root_path.startswith("/")):
            raise ValueError(f"TestClient(root_path={root_path!r}): a root path is '' or starts with '/'")
        if backend != "asyncio":
            raise NotImplementedError(
                f"TestClient(backend={backend!r}) is not supported: fasterapi runs async "
                "handlers on its own asyncio loop"
            )
        if backend_options:
            raise NotImplementedError(
                f"TestClient(backend_options={backend_options!r}) is not supported: fasterapi "
                "runs async handlers on its own asyncio loop, which takes no options"
            )
        if tuple(client) != _STARLETTE_CLIENT:
            raise NotImplementedError(
                f"TestClient(client={client!r}) is not implemented by fasterapi yet"
            )
        self.app = app
        self.app_state: dict = {}
        self.raise_server_exceptions = raise_server_exceptions
        transport = _TestServerTransport(app, raise_server_exceptions, root_path)
        headers = dict(headers) if headers is not None else {}
        headers.setdefault("user-agent", "testclient")
        super().__init__(
            base_url=base_url,
            headers=headers,
            transport=transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    def request(
        self,
        method: str,
        url,
        *,
        content=None,
        data=None,
        files=None,
        json=None,
        params=None,
        headers=None,
        cookies=None,
        auth=httpx.USE_CLIENT_DEFAULT,
        follow_redirects=httpx.USE_CLIENT_DEFAULT,
        timeout=httpx.USE_CLIENT_DEFAULT,
        extensions=None,
    ) -> httpx.Response:
        """httpx's ``Client.request``. ``files=`` (multipart uploads) is refused until
        fasterapi reads multipart bodies; ``timeout=`` is accepted with Starlette's
        warning and has no effect (as in Starlette: nothing goes over a network; a
        handler that has not answered within 10 seconds fails the request with
        ``TimeoutError``)."""
        if files is not None:
            raise NotImplementedError(
                "TestClient: files= (multipart/form-data uploads) is not implemented by "
                "fasterapi yet (File() and UploadFile come with multipart support)"
            )
        if timeout is not httpx.USE_CLIENT_DEFAULT:
            warnings.warn(
                "You should not use the 'timeout' argument with the TestClient. "
                "See https://github.com/Kludex/starlette/issues/1108 for more information.",
                # A UserWarning, shown by default, as Starlette's StarletteDeprecationWarning.
                FastAPIDeprecationWarning,
                stacklevel=2,
            )
        return super().request(
            method,
            url,
            content=content,
            data=data,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def websocket_connect(self, url: str, subprotocols=None, **kwargs):
        """Refused: fasterapi does not serve WebSockets yet."""
        raise NotImplementedError(
            "TestClient.websocket_connect: fasterapi does not implement WebSockets yet"
        )

    def __enter__(self) -> "TestClient":
        # The server runs the lifespan startup as it starts, as Starlette's client does here.
        self._transport.start()
        return self

    def __exit__(self, *exc_info) -> None:
        # Stopping the server runs the lifespan shutdown, after the background tasks.
        # The client stays usable: a later request starts the server again.
        self._transport.close()
