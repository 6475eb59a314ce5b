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
    # The servers of clients already collected are stopping on threads of their own.
    _fasterapi.join_server_stops()


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
                from . import background

                background._in_test_client = True
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

    def live_server(self):
        """The app served on a socket, for WebSockets."""
        routes = (list(self.app.routes), dict(self.app.exception_handlers))
        with self._lock:
            live = getattr(self, "_live", None)
            if live is None or not (_same(routes[0], live[1][0]) and routes[1] == live[1][1]):
                if live is not None:
                    live[0].close()
                live = (_fasterapi.LiveServer(self.app._spec()), routes)
                self._live = live
                _OPEN.add(self)
            return live[0]

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
            live, self._live = getattr(self, "_live", None), None
        _OPEN.discard(self)
        if server is not None:
            server.close()
        if live is not None:
            live[0].close()


def _same(a: list, b) -> bool:
    return b is not None and len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _encode(conn: h11.Connection, request: httpx.Request) -> bytes:
    """``request`` as HTTP/1.1 bytes, through ``conn`` (which then knows what answer to
    expect: none has a body for ``HEAD``)."""
    body = request.read()
    headers = list(request.headers.raw)
    if "host" not in request.headers:  # httpx sets it; a hand-made request may not
        headers.insert(0, (b"Host", request.url.netloc))
    if request.url.scheme == "https" and "x-forwarded-proto" not in request.headers:
        # Starlette's client puts the scheme in the scope; the in-process server hears it
        # as a local proxy's (what HTTPSRedirectMiddleware reads).
        headers.append((b"X-Forwarded-Proto", b"https"))
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
        """httpx's ``Client.request`` (``files=`` sends a multipart upload); ``timeout=`` is accepted with Starlette's
        warning and has no effect (as in Starlette: nothing goes over a network; a
        handler that has not answered within 10 seconds fails the request with
        ``TimeoutError``)."""
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
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    def websocket_connect(self, url: str, subprotocols=None, **kwargs) -> "WebSocketTestSession":
        """Starlette's ``websocket_connect``: a :class:`WebSocketTestSession` to use in a
        ``with`` block (the handshake is made on entry; a refused one raises
        ``WebSocketDisconnect`` with the code the app closed with, 1000 by default).

        Unlike HTTP requests, which the in-process server answers as byte exchanges, a
        WebSocket conversation goes over a real socket to the app served on
        ``127.0.0.1`` by a server started for this client (on first use; stopped with
        the client): the handshake, frames and closing are the server's own. The app
        sees the connection's real peer address as ``websocket.client``. ``headers``
        (and the client's cookies and headers) are sent with the handshake;
        ``subprotocols`` as ``Sec-WebSocket-Protocol``. On leaving the block the session
        closes (1000) if it is open and waits for the app's handler to finish; an
        exception the handler raised (``WebSocketDisconnect`` from a ``receive`` included,
        as in Starlette) is raised there when ``raise_server_exceptions`` is set."""
        refused = set(kwargs) - {"headers"}
        if refused:
            raise NotImplementedError(
                f"TestClient.websocket_connect: {', '.join(sorted(refused))} not implemented by fasterapi"
            )
        request = self.build_request("GET", url, headers=kwargs.get("headers"))
        return WebSocketTestSession(self, request, list(subprotocols or ()))

    def __enter__(self) -> "TestClient":
        # The server runs the lifespan startup as it starts, as Starlette's client does here.
        self._transport.start()
        return self

    def __exit__(self, *exc_info) -> None:
        # Stopping the server runs the lifespan shutdown, after the background tasks.
        # The client stays usable: a later request starts the server again.
        self._transport.close()

    def _live_server(self):
        """The app served on 127.0.0.1 for WebSockets (made on first use; remade when the
        routes change, as the in-process server is)."""
        return self._transport.live_server()


class WebSocketTestSession:
    """A WebSocket conversation with the app (Starlette's ``WebSocketTestSession``):
    ``send_text``/``send_bytes``/``send_json``/``send``, ``receive_text``/
    ``receive_bytes``/``receive_json``/``receive``, ``close``, ``accepted_subprotocol``
    and ``extra_headers`` (the handshake answer's other headers). ``receive_*`` raise
    ``WebSocketDisconnect`` once the app closed. See :meth:`TestClient.websocket_connect`."""

    __test__ = False

    def __init__(self, client: TestClient, request: httpx.Request, subprotocols: list) -> None:
        self._client = client
        self._request = request
        self._subprotocols = subprotocols
        self._sock = None
        self._buf = b""
        self._closed_by_us = False
        self._closed_by_server = None
        self._done = threading.Event()
        self._error = None
        self._close = None
        self.accepted_subprotocol = None
        self.extra_headers = []

    # -- what the server side reports (fasterapi.websockets._SESSIONS) -------------------

    def _server_closed(self, code=1000, reason=None):
        self._close = (code, reason or "")

    def _server_done(self, error):
        self._error = error
        self._done.set()

    # -- the handshake ------------------------------------------------------------------

    def __enter__(self) -> "WebSocketTestSession":
        import base64
        import os
        import socket

        from . import websockets as _ws

        server = self._client._live_server()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = sock.getsockname()[1]
        with _ws._SESSIONS_LOCK:
            _ws._SESSIONS[port] = self
        self._port = port
        self._sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        head = [f"GET {self._request.url.raw_path.decode('latin-1')} HTTP/1.1"]
        names = set()
        for name, value in self._request.headers.raw:
            names.add(name.lower())
            head.append(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
        if b"host" not in names:
            head.insert(1, f"Host: {self._request.url.netloc.decode('latin-1')}")
        head += ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if self._subprotocols:
            head.append(f"Sec-WebSocket-Protocol: {', '.join(self._subprotocols)}")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        while b"\r\n\r\n" not in self._buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1]) if lines and len(lines[0].split(" ")) > 1 else 0
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        if status != 101:
            # Refused: the app closed before accepting (or raised). Starlette's TestClient
            # raises WebSocketDisconnect with the close code.
            self._finish()
            if self._error is not None and self._client.raise_server_exceptions:
                raise self._error
            code, reason = self._close or (1000, "")
            raise _ws.WebSocketDisconnect(code, reason)
        for name, value in headers:
            if name.lower() == "sec-websocket-protocol":
                self.accepted_subprotocol = value
            elif name.lower() not in ("upgrade", "connection", "sec-websocket-accept"):
                self.extra_headers.append((name.encode(), value.encode()))
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._closed_by_server is None and not self._closed_by_us:
                self.close(1000)
            # Wait for the server's close frame (or the end of the connection).
            while self._closed_by_server is None:
                try:
                    self._read_frame()
                except (OSError, _Ended):
                    break
        finally:
            self._finish()
        if self._error is not None and self._client.raise_server_exceptions:
            raise self._error

    def _finish(self) -> None:
        """Waits (10 s at most) for the app's handler to end, and forgets the session."""
        from . import websockets as _ws

        self._done.wait(10)
        with _ws._SESSIONS_LOCK:
            _ws._SESSIONS.pop(getattr(self, "_port", None), None)
        if self._sock is not None:
            self._sock.close()

    # -- frames ---------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        import os

        header = bytearray([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header += n.to_bytes(2, "big")
        else:
            header.append(0x80 | 127)
            header += n.to_bytes(8, "big")
        mask = os.urandom(4)
        header += mask
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload, mask)
        self._sock.sendall(bytes(header) + masked)

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self._sock.recv(max(65536, n - len(self._buf)))
            if not chunk:
                raise _Ended()
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_frame(self):
        b0, b1 = self._read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(self._read_exact(2), "big")
        elif n == 127:
            n = int.from_bytes(self._read_exact(8), "big")
        payload = self._read_exact(n)
        opcode = b0 & 0x0F
        if opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self._closed_by_server = (code, payload[2:].decode("utf-8", "replace"))
            if not self._closed_by_us:
                self._closed_by_us = True
                try:
                    self._send_frame(0x8, payload[:2])
                except OSError:
                    pass
        return opcode, payload

    def send(self, message: dict) -> None:
        """Sends an ASGI message: ``websocket.receive`` (``text`` or ``bytes``) or
        ``websocket.disconnect``."""
        if message.get("type") == "websocket.disconnect":
            self.close(message.get("code", 1000), message.get("reason"))
        elif message.get("text") is not None:
            self.send_text(message["text"])
        else:
            self.send_bytes(message.get("bytes") or b"")

    def send_text(self, data: str) -> None:
        self._send_frame(0x1, data.encode("utf-8"))

    def send_bytes(self, data: bytes) -> None:
        self._send_frame(0x2, bytes(data))

    def send_json(self, data, mode: str = "text") -> None:
        import json

        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            self.send_text(text)
        else:
            self.send_bytes(text.encode("utf-8"))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Sends a close frame (once)."""
        if self._closed_by_us:
            return
        self._closed_by_us = True
        self._send_frame(0x8, code.to_bytes(2, "big") + (reason or "").encode("utf-8"))

    def receive(self) -> dict:
        """The next ASGI message from the app: ``websocket.send`` (``text`` or ``bytes``)
        or ``websocket.close`` (``code``, ``reason``)."""
        while True:
            if self._closed_by_server is not None:
                code, reason = self._closed_by_server
                return {"type": "websocket.close", "code": code, "reason": reason}
            try:
                opcode, payload = self._read_frame()
            except _Ended:
                self._closed_by_server = (1006, "")
                continue
            if opcode == 0x1:
                return {"type": "websocket.send", "text": payload.decode("utf-8")}
            if opcode == 0x2:
                return {"type": "websocket.send", "bytes": payload}

    def _receive_data(self) -> dict:
        from . import websockets as _ws

        message = self.receive()
        if message["type"] == "websocket.close":
            raise _ws.WebSocketDisconnect(message["code"], message.get("reason"))
        return message

    def receive_text(self) -> str:
        return self._receive_data()["text"]

    def receive_bytes(self) -> bytes:
        return self._receive_data()["bytes"]

    def receive_json(self, mode: str = "text"):
        import json

        message = self._receive_data()
        return json.loads(message["text"] if mode == "text" else message["bytes"].decode("utf-8"))


class _Ended(Exception):
    """The server closed the connection."""


def _mask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    key = int.from_bytes((mask * ((n + 3) // 4))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
