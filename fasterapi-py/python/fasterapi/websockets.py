"""WebSockets: ``fasterapi.websockets`` as ``fastapi.websockets``.

A WebSocket route (``@app.websocket("/ws")``, ``APIRouter.websocket``) is an
``async def`` handler taking a :class:`WebSocket` and, as HTTP routes do, path, query,
header and cookie parameters and ``Depends(...)`` dependencies (which may take the
``WebSocket`` too)::

    from fasterapi import FastAPI, WebSocket, WebSocketDisconnect

    app = FastAPI()

    @app.websocket("/ws/{room}")
    async def chat(websocket: WebSocket, room: str, nick: str = "anon"):
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"{nick}@{room}: {text}")
        except WebSocketDisconnect as e:
            print("left with", e.code)

The server (fasterapi-http) does the protocol: the handshake (refused with 426/400
before the handler runs when it is not one), frames, masking, fragmentation, UTF-8
checks, pings, the close handshake, a 16 MiB message limit (close code 1009) and an idle
timeout (a ping after 60 s of silence; the close, 1001, 60 s later if nothing answers).
The handler runs on the worker's asyncio loop, on the I/O thread;
``receive_*`` waits for the next message, ``send_*`` queues one (waiting while the
connection's output queue, 1 MiB, is full: a client that does not read slows its sender
down instead of filling memory). Messages the handler has not received yet are held up to
64 MiB (:data:`MAX_UNREAD_BYTES`); a client that sends faster than its handler receives
is closed with 1008 past that instead of held without bound. One coroutine receives at
a time (a second one gets a ``RuntimeError``, as with the ``websockets`` library's
``recv``).

As with Starlette's ``WebSocket``: ``accept(subprotocol=None, headers=None)`` answers
the handshake; closing before it (``close()``, a ``WebSocketException``, values that
fail validation, or returning) refuses it with ``403``; an exception the handler raises
before accepting answers ``500``, after it closes with ``1011``; a handler that returns
without closing is closed with ``1000``. ``receive_*`` raises
:class:`WebSocketDisconnect` once the client closed (``code``: its close code, 1005 if
it gave none, 1006 if it left without a close frame); a send to a client that left
raises it with 1006. The object has the request's attributes (``url``, ``headers``,
``query_params``, ``path_params``, ``cookies``, ``client``, ``state``, ``app``).

Not implemented (refused by name): ``send_denial_response`` and the ASGI
``websocket.http.response`` messages; exception handlers for the WebSocket exceptions
(``@app.exception_handler(WebSocketRequestValidationError)``...); WebSocket routes of an
app mounted with ``app.mount``. The app's other exception handlers and its HTTP
middleware do not apply to WebSocket routes (as Starlette's ``http`` middleware does not);
an exception a handler raises is logged (not ``WebSocketDisconnect``) and closes the
connection. The ``permessage-deflate`` extension is not negotiated (clients then send
uncompressed frames).
"""

from __future__ import annotations

import asyncio
import collections.abc
import enum
import json
import sys
import threading
import traceback
import typing

from ._fasterapi import HandlerCoroutine as _HandlerCoroutine
from ._fasterapi import WebSocketAwaitable as _Awaitable
from ._fasterapi import WebSocketBase as _WebSocketBase
from ._fasterapi import WebSocketInbox as _Inbox
from .exceptions import WebSocketException, WebSocketRequestValidationError

try:
    from _asyncio import _current_tasks
except ImportError:  # pragma: no cover - CPython without the C accelerator
    from asyncio.tasks import _current_tasks
from threading import get_ident as _get_ident

__all__ = ["WebSocket", "WebSocketDisconnect", "WebSocketState"]


class WebSocketState(enum.Enum):
    """Where one side of a WebSocket is (Starlette's ``WebSocketState``)."""

    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2
    RESPONSE = 3


class WebSocketDisconnect(Exception):
    """The client closed the connection (or left): ``code`` and ``reason`` of its close."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"


#: The test client's sessions by the local port of their socket, so that the server
#: side of a connection made by ``TestClient.websocket_connect`` can report how its
#: handler ended (as Starlette's TestClient, which runs the app in process, sees it).
_SESSIONS: dict = {}
_SESSIONS_LOCK = threading.Lock()

_SENT, _FULL, _CLOSED = 0, 1, 2

_Future = asyncio.Future
_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED
_DISCONNECTED = WebSocketState.DISCONNECTED

# What ``receive_text``/``receive_bytes``/``send_text``/``send_bytes`` of a connected
# WebSocket return: a coroutine made in Rust, which asyncio takes as one
# (``create_task``, ``gather``, ``wait_for``) once registered.
collections.abc.Coroutine.register(_Awaitable)
# The coroutine a handler's task runs: the handler's own, through one made in Rust that
# lets a message step it directly (``HandlerCoroutine`` in fasterapi-py/src/websocket.rs).
collections.abc.Coroutine.register(_HandlerCoroutine)


#: Bytes of messages a handler may leave unreceived (each counted with
#: :data:`_MESSAGE_OVERHEAD` more, for its Python object): past this the connection is
#: closed with 1008 and further messages are dropped, so that a client sending faster than
#: its handler receives costs bounded memory. Starlette's servers stop reading instead;
#: fasterapi-http has no pause of a WebSocket's reads yet. Read when a connection is
#: made (its inbox, fasterapi-py/src/websocket.rs, keeps the count).
MAX_UNREAD_BYTES = 64 * 1024 * 1024
_MESSAGE_OVERHEAD = 64


class _Closed(typing.NamedTuple):
    """The last item of a ``WebSocket``'s inbox: the connection closed."""

    code: int
    reason: str


def _wake(waiter) -> None:
    """Finishes ``waiter``, the future a send waiting for room awaits.

    ``set_result`` alone would wake the task at the loop's next turn (it queues the
    task's wake-up with ``call_soon``, and the server then runs a turn of the loop: a
    selector poll and the ready queue). On the loop's thread outside any task (where the
    server delivers a connection's events) the task is stepped here instead, as that
    turn would have, in the context it gave: the handler runs to its next ``await`` (an
    echo queued for the connection, which writes it in the same pass) with no handle, no
    turn and no poll. Elsewhere it wakes as any future does."""
    if waiter.done():
        return
    loop = waiter.get_loop()
    if _current_tasks.get(loop) is None and loop._thread_id == _get_ident():
        callbacks = waiter._callbacks
        if callbacks is not None and len(callbacks) == 1:
            callback, context = callbacks[0]
            waiter.remove_done_callback(callback)
            waiter.set_result(None)
            context.run(callback, waiter)
            return
    waiter.set_result(None)


async def _raising(error: BaseException) -> typing.NoReturn:
    """Raises ``error`` once awaited (a ``send_*`` given the wrong type raises when
    awaited, as a coroutine does)."""
    raise error


def _new(request, conn):
    """The ``WebSocket`` of a handshake (called by the server, fasterapi-py/src/websocket.rs)."""
    return WebSocket(request, conn)


class WebSocket(_WebSocketBase):
    """One WebSocket connection, as Starlette's ``WebSocket`` (see the module's docs).

    ``receive_text``/``receive_bytes``/``send_text``/``send_bytes`` and the two states
    are the Rust base's (``WebSocketBase`` in fasterapi-py/src/websocket.rs): connected,
    they answer without a Python frame; otherwise they go to ``_receive_text``...

    The handshake request's attributes are properties of their own (see
    :data:`_REQUEST_ATTRIBUTES`), not a ``__getattr__``: a class with one gets every
    attribute read through it, which CPython cannot specialize, and a message's path
    reads several."""

    def __init__(self, request, conn) -> None:
        self._request = request
        self._conn = conn
        self.client_state = WebSocketState.CONNECTING
        self.application_state = WebSocketState.CONNECTING
        #: The messages not received yet and the wait for the next (the server queues
        #: them and wakes the waiting task; see ``WebSocketInbox`` in
        #: fasterapi-py/src/websocket.rs).
        self._inbox = _Inbox(MAX_UNREAD_BYTES, _MESSAGE_OVERHEAD)
        self._writable: asyncio.Future | None = None
        #: The loop of the handler's task (set by ``accept``).
        self._loop = None
        client = request.client
        port = client[1] if client is not None else None
        with _SESSIONS_LOCK:
            self._session = _SESSIONS.get(port) if request.client is not None and client[0] == "127.0.0.1" else None

    # -- the request's attributes ---------------------------------------------------------

    @property
    def scope(self) -> dict:
        """The handshake's scope, with ``type`` ``"websocket"`` and a ``ws`` scheme."""
        scope = dict(self._request.scope)
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if scope.get("scheme") == "https" else "ws"
        scope.pop("method", None)
        scope["subprotocols"] = list(self._conn.offered)
        return scope

    def __getitem__(self, key: str):
        return self.scope[key]

    @property
    def url(self):
        """The handshake's URL with the ``ws`` scheme."""
        url = self._request.url
        return url.replace(scheme="wss" if url.scheme == "https" else "ws") if url.scheme else url

    # -- the conversation ----------------------------------------------------------------

    def _on_writable(self) -> None:
        """Called by the server once the connection's output queue has drained after a
        send found it full."""
        waiter = self._writable
        if waiter is not None:
            self._writable = None
            _wake(waiter)

    def _on_close(self, code: int, reason: str) -> None:
        """Called by the server once, last: the connection is closed (the client's close
        code, or 1006)."""
        self._inbox.put(_Closed(code, reason))
        waiter = self._writable
        if waiter is not None:
            self._writable = None
            _wake(waiter)

    async def _next_event(self):
        """The next item of the inbox (a message's ``str`` or ``bytes``, or the
        :class:`_Closed` last), waiting for one."""
        inbox = self._inbox
        item = inbox.pop()
        while item is None:
            await inbox
            item = inbox.pop()
        return item

    async def receive(self) -> dict:
        """The next ASGI message: ``websocket.connect`` first, then ``websocket.receive``
        (``text`` or ``bytes``) for each message, ``websocket.disconnect`` (``code``,
        ``reason``) last."""
        if self.client_state == WebSocketState.CONNECTING:
            self.client_state = WebSocketState.CONNECTED
            return {"type": "websocket.connect"}
        if self.client_state == WebSocketState.DISCONNECTED:
            raise RuntimeError('Cannot call "receive" once a disconnect message has been received.')
        if self.application_state == WebSocketState.CONNECTING:
            raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')
        item = await self._next_event()
        if type(item) is _Closed:
            self.client_state = WebSocketState.DISCONNECTED
            return {"type": "websocket.disconnect", "code": item.code, "reason": item.reason}
        if type(item) is str:
            return {"type": "websocket.receive", "text": item}
        return {"type": "websocket.receive", "bytes": item}

    async def send(self, message: typing.MutableMapping) -> None:
        """Sends an ASGI message: ``websocket.accept``, ``websocket.send`` (``text`` or
        ``bytes``) or ``websocket.close``."""
        kind = message.get("type")
        if kind == "websocket.accept":
            await self.accept(message.get("subprotocol"), message.get("headers"))
        elif kind == "websocket.send":
            if message.get("text") is not None:
                await self._send(message["text"])
            else:
                await self._send(message.get("bytes") or b"")
        elif kind == "websocket.close":
            await self.close(message.get("code", 1000), message.get("reason"))
        elif kind == "websocket.http.response.start":
            raise NotImplementedError(
                "fasterapi does not implement WebSocket denial responses "
                "(websocket.http.response.*, send_denial_response) yet"
            )
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r}")

    async def accept(self, subprotocol: str | None = None, headers=None) -> None:
        """Answers the handshake: ``101``, with ``subprotocol`` (one the client offered)
        and ``headers`` (``(name, value)`` pairs, bytes or str) added."""
        if self.client_state == WebSocketState.CONNECTING:
            await self.receive()
        if self.application_state != WebSocketState.CONNECTING:
            raise RuntimeError('Expected ASGI message "websocket.send" or "websocket.close", but got "websocket.accept".')
        pairs = []
        for name, value in headers or ():
            if isinstance(name, bytes):
                name = name.decode("latin-1")
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            pairs.append((name, value))
        self._loop = asyncio.get_running_loop()
        done = _Future(loop=self._loop)
        done.set_result(None)
        self._conn.accept(subprotocol, pairs, self._inbox, done, self._on_writable, self._on_close)
        self.application_state = WebSocketState.CONNECTED

    async def _send(self, data) -> None:
        if self.application_state == WebSocketState.CONNECTING:
            raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')
        if self.application_state == WebSocketState.DISCONNECTED:
            raise RuntimeError('Cannot call "send" once a close message has been sent.')
        while True:
            result = self._conn.send(data)
            if result == _SENT:
                return
            if result == _CLOSED:
                self.application_state = WebSocketState.DISCONNECTED
                raise WebSocketDisconnect(code=1006)
            # Full: wait until the connection's output drains (or it closes).
            waiter = self._writable = _Future(loop=self._loop)
            try:
                await waiter
            finally:
                if self._writable is waiter:
                    self._writable = None

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Closes with ``code`` and ``reason``; before ``accept``, refuses the handshake
        (``403``)."""
        if self.application_state == WebSocketState.DISCONNECTED:
            raise RuntimeError('Cannot call "send" once a close message has been sent.')
        self._close(code, reason)

    def _close(self, code: int, reason: str | None) -> None:
        if self.application_state == WebSocketState.CONNECTING:
            self.application_state = WebSocketState.DISCONNECTED
            self._conn.deny()
            self._report(code=code, reason=reason)
            return
        self.application_state = WebSocketState.DISCONNECTED
        self._conn.close(code, reason or "")

    def _raise_on_disconnect(self, message: dict) -> None:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message["code"], message.get("reason"))

    def _not_data(self, item, want: type):
        """``receive_text``/``receive_bytes`` (``want``) took ``item``, which is not a
        message of that kind: the close (:class:`WebSocketDisconnect`) or the other
        kind (``KeyError``, as Starlette's lookup of the missing key)."""
        if type(item) is _Closed:
            self.client_state = _DISCONNECTED
            raise WebSocketDisconnect(item.code, item.reason)
        raise KeyError("text" if want is str else "bytes")

    async def _receive_text(self) -> str:
        if self.application_state is not _CONNECTED:
            raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')
        if self.client_state is _CONNECTED:
            return await self._inbox.receiving(self, True)
        message = await self.receive()
        self._raise_on_disconnect(message)
        if "text" not in message:
            raise KeyError("text")
        return message["text"]

    async def _receive_bytes(self) -> bytes:
        if self.application_state is not _CONNECTED:
            raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')
        if self.client_state is _CONNECTED:
            return await self._inbox.receiving(self, False)
        message = await self.receive()
        self._raise_on_disconnect(message)
        if "bytes" not in message:
            raise KeyError("bytes")
        return message["bytes"]

    async def receive_json(self, mode: str = "text") -> typing.Any:
        """The next message parsed as JSON (``mode="text"`` or ``"binary"``)."""
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        if self.application_state != WebSocketState.CONNECTED:
            raise RuntimeError('WebSocket is not connected. Need to call "accept" first.')
        message = await self.receive()
        self._raise_on_disconnect(message)
        if mode == "text":
            text = message["text"]
        else:
            text = message["bytes"].decode("utf-8")
        return json.loads(text)

    async def iter_text(self) -> typing.AsyncIterator[str]:
        """Each message's text until the client closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> typing.AsyncIterator[bytes]:
        """Each message's bytes until the client closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> typing.AsyncIterator[typing.Any]:
        """Each message as JSON until the client closes."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    def _send_text(self, data: str) -> typing.Awaitable[None]:
        """``send_text`` but for a connected WebSocket and a ``str``."""
        if not isinstance(data, str):
            return _raising(TypeError(f"send_text takes a str, not {type(data).__name__}"))
        if self.application_state is _CONNECTED:
            return self._inbox.sending(self, data)
        return self._send(data)

    def _send_bytes(self, data: bytes) -> typing.Awaitable[None]:
        """``send_bytes`` but for a connected WebSocket and a ``bytes``."""
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                return _raising(TypeError(f"send_bytes takes bytes, not {type(data).__name__}"))
            data = bytes(data)
        if self.application_state is _CONNECTED:
            return self._inbox.sending(self, data)
        return self._send(data)

    async def send_json(self, data: typing.Any, mode: str = "text") -> None:
        """Sends ``data`` as JSON (Starlette's: compact separators, non-ASCII kept), in a
        text (``mode="text"``) or binary (``"binary"``) message."""
        if mode not in {"text", "binary"}:
            raise RuntimeError('The "mode" argument should be "text" or "binary".')
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        await self._send(text if mode == "text" else text.encode("utf-8"))

    async def send_denial_response(self, response) -> None:
        """Refused: fasterapi does not implement WebSocket denial responses yet."""
        raise NotImplementedError(
            "WebSocket.send_denial_response: fasterapi does not implement WebSocket denial "
            "responses yet (close before accept answers 403)"
        )

    # -- the handler's life ---------------------------------------------------------------

    def _invalid(self, errors) -> None:
        """The handshake's values failed validation: FastAPI's
        ``WebSocketRequestValidationError``, closed with 1008 before accept (``403``)."""
        self.application_state = WebSocketState.DISCONNECTED
        self._conn.deny()
        exc = WebSocketRequestValidationError(errors)
        self._report(code=1008, reason=json.dumps(list(errors), default=str))
        self._finish(exc, handled=True)

    def _done(self, task) -> None:
        """The handler's task ended (its done callback): closes what the handler left
        open and reports how it ended (see the module's docs).

        The task runs the handler's coroutine itself, not a wrapper awaiting it: a
        wrapper would be one more coroutine for every step of the task to pass through
        on its way in and out (each message's)."""
        try:
            error = task.exception()
        except asyncio.CancelledError as e:
            error = e
        handled = True
        if error is None:
            pass
        elif isinstance(error, WebSocketException):
            if self.application_state != WebSocketState.DISCONNECTED:
                self._close(error.code, error.reason)
            error = None
        elif isinstance(error, WebSocketDisconnect):
            handled = False
            if self.application_state == WebSocketState.CONNECTING:
                self._conn.deny()
        else:
            handled = False
            if self.application_state == WebSocketState.CONNECTING:
                self.application_state = WebSocketState.DISCONNECTED
                self._conn.deny(500)
            elif self.application_state == WebSocketState.CONNECTED:
                self.application_state = WebSocketState.DISCONNECTED
                self._conn.close(1011, "")
            if self._session is None and not isinstance(error, asyncio.CancelledError):
                path = getattr(self._request, "path", "?")
                print(f"fasterapi: exception in the WebSocket handler of {path}:", file=sys.stderr)
                traceback.print_exception(error)
        if self.application_state == WebSocketState.CONNECTING:
            self.application_state = WebSocketState.DISCONNECTED
            self._conn.deny()
        elif self.application_state == WebSocketState.CONNECTED:
            self.application_state = WebSocketState.DISCONNECTED
            self._conn.close(1000, "")
        self._finish(error, handled)

    def _report(self, **what) -> None:
        if self._session is not None:
            self._session._server_closed(**what)

    def _finish(self, error, handled: bool) -> None:
        if self._session is not None:
            self._session._server_done(None if handled else error)


#: What a ``WebSocket`` reads from its handshake request (Starlette's ``HTTPConnection``
#: attributes, and fasterapi's request additions).
_REQUEST_ATTRIBUTES = (
    "app", "base_url", "headers", "query_params", "path_params", "cookies", "client",
    "state", "url_for", "path", "query_string", "raw_path", "http_version",
)


def _forward(name: str) -> property:
    return property(lambda self: getattr(self._request, name), doc=f"The handshake request's ``{name}``.")


for _name in _REQUEST_ATTRIBUTES:
    setattr(WebSocket, _name, _forward(_name))
del _name
