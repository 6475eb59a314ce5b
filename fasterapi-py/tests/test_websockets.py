"""WebSocket routes through FastAPI's API (`@app.websocket`, `APIRouter.websocket`,
`WebSocket`, `WebSocketDisconnect`, `WebSocketException`), driven by the TestClient's
`websocket_connect` (which talks to the app served on a real socket). Protocol
conformance over a server process is test_websocket_conformance.py's."""

import asyncio
import contextvars
import sys

import pytest

from fasterapi import APIRouter, Cookie, Depends, FastAPI, Header, Query, WebSocket, WebSocketDisconnect, WebSocketException, status
from fasterapi.routing import APIWebSocketRoute
from fasterapi.testclient import TestClient
from fasterapi.websockets import WebSocketState


def test_echo_of_text_bytes_and_json_in_both_modes():
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        assert websocket.application_state == WebSocketState.CONNECTED
        await websocket.send_text(await websocket.receive_text())
        await websocket.send_bytes(await websocket.receive_bytes())
        await websocket.send_json(await websocket.receive_json())
        await websocket.send_json(await websocket.receive_json(mode="binary"), mode="binary")
        async for item in websocket.iter_json():
            await websocket.send_json({"got": item})

    with TestClient(app).websocket_connect("/ws") as s:
        s.send_text("héllo")
        assert s.receive_text() == "héllo"
        s.send_bytes(b"\x00\xff")
        assert s.receive_bytes() == b"\x00\xff"
        s.send_json({"a": [1, "ü"]})
        assert s.receive_json() == {"a": [1, "ü"]}
        s.send_json([True, None], mode="binary")
        assert s.receive_json(mode="binary") == [True, None]
        s.send_json(1)
        s.send_json(2)
        assert [s.receive_json(), s.receive_json()] == [{"got": 1}, {"got": 2}]


def test_one_receive_waits_at_a_time_and_a_cancelled_one_gives_its_wait_up():
    # The inbox a receive awaits is one per connection: a second coroutine receiving
    # meanwhile gets a RuntimeError (as the websockets library's recv), a cancelled
    # receive leaves it to the next, and messages stay in order for the handler's task.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        me = asyncio.current_task()
        waiting = asyncio.create_task(websocket.receive_text())
        await asyncio.sleep(0)  # one step of the loop: the task waits in its receive
        try:
            await websocket.receive_text()
        except RuntimeError as e:
            await websocket.send_text(f"busy: {'another coroutine' in str(e)}")
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            await websocket.send_text(f"cancelled: {waiting.cancelled()}")
        try:
            await asyncio.wait_for(websocket.receive_bytes(), 0.01)
        except asyncio.TimeoutError:
            await websocket.send_text("timed out")
        for _ in range(3):
            text = await websocket.receive_text()
            await websocket.send_text(f"{text} {asyncio.current_task() is me}")

    with TestClient(app).websocket_connect("/ws") as s:
        assert s.receive_text() == "busy: True"
        assert s.receive_text() == "cancelled: True"
        assert s.receive_text() == "timed out"
        for word in ("a", "b", "c"):
            s.send_text(word)
        assert [s.receive_text() for _ in range(3)] == ["a True", "b True", "c True"]


def test_messages_step_the_handler_as_its_task_would():
    # A message to a handler whose task waits in a receive steps the handler's coroutine
    # right there (through the HandlerCoroutine its task runs): in the task's context,
    # with the task current and no task current after the step, and whatever else the
    # handler then awaits, returns or raises goes on through the task.
    app = FastAPI()
    var = contextvars.ContextVar("var", default="unset")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        var.set("mine")
        outside = []
        await websocket.send_text(type(me.get_coro()).__name__)
        while True:
            text = await websocket.receive_text()
            if text == "sleep":
                await asyncio.sleep(0)
            elif text == "future":
                fut = loop.create_future()
                loop.call_soon(fut.set_result, "set")
                text = await fut
            elif text == "outside":
                loop.call_soon(lambda: outside.append(asyncio.current_task()))
                await asyncio.sleep(0)
                text = f"outside {outside}"
            elif text == "asgi":
                text = (await websocket.receive())["text"] + " via receive"
            elif text == "return":
                await websocket.send_text("returning")
                return
            elif text == "boom":
                raise KeyError("boom")
            await websocket.send_text(f"{text} {asyncio.current_task() is me} {var.get()}")

    client = TestClient(app)
    with client.websocket_connect("/ws") as s:
        assert s.receive_text() == "HandlerCoroutine"
        for sent, echoed in (
            ("a", "a True mine"), ("sleep", "sleep True mine"), ("future", "set True mine"),
            ("outside", "outside [None] True mine"), ("b", "b True mine"),
        ):
            s.send_text(sent)
            assert s.receive_text() == echoed
        s.send_text("asgi")
        s.send_text("payload")
        assert s.receive_text() == "payload via receive True mine"
        s.send_text("c")
        assert s.receive_text() == "c True mine"
        s.send_text("return")
        assert s.receive_text() == "returning"
        with pytest.raises(WebSocketDisconnect) as closed:
            s.receive_text()
        assert closed.value.code == 1000
    with pytest.raises(KeyError, match="boom"):
        with client.websocket_connect("/ws") as s:
            assert s.receive_text() == "HandlerCoroutine"
            s.send_text("a")
            assert s.receive_text() == "a True mine"
            s.send_text("boom")
            with pytest.raises(WebSocketDisconnect) as closed:
                s.receive_text()
            assert closed.value.code == 1011


def test_a_handler_waiting_for_messages_is_cancelled_as_a_task():
    # Cancelled while it waits (by another task), or by itself in the step a message
    # made: its receive raises CancelledError with the message, and it receives again.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        me = asyncio.current_task()

        async def cancel_me():
            await asyncio.sleep(0)
            me.cancel("by another")

        helpers = []
        try:
            while True:
                text = await websocket.receive_text()
                if text in ("other", "self"):
                    if text == "other":
                        helpers.append(asyncio.create_task(cancel_me()))
                    else:
                        me.cancel("by itself")
                    try:
                        await websocket.receive_text()
                    except asyncio.CancelledError as e:
                        me.uncancel()
                        text = f"cancelled {e.args}"
                await websocket.send_text(text)
        except WebSocketDisconnect:
            pass

    with TestClient(app).websocket_connect("/ws") as s:
        s.send_text("a")
        assert s.receive_text() == "a"
        s.send_text("other")
        assert s.receive_text() == "cancelled ('by another',)"
        s.send_text("b")
        assert s.receive_text() == "b"
        s.send_text("self")
        assert s.receive_text() == "cancelled ('by itself',)"
        s.send_text("c")
        assert s.receive_text() == "c"


# asyncio as Python 3.14 has it: the C module keeps the current task where
# asyncio.tasks._current_tasks is not (per thread), and has no _current_tasks.
_ASYNCIO_WITHOUT_C_CURRENT_TASKS = """
import asyncio, asyncio.tasks, _asyncio
read = _asyncio._current_tasks
del _asyncio._current_tasks
asyncio.tasks._current_tasks = {}
def current_task(loop=None):
    return read.get(asyncio.get_running_loop() if loop is None else loop)
asyncio.current_task = asyncio.tasks.current_task = current_task

from fasterapi import FastAPI, WebSocket
from fasterapi.testclient import TestClient

app = FastAPI()

@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    me = asyncio.current_task()
    for _ in range(2):
        text = await websocket.receive_text()
        async with asyncio.timeout(10):
            await websocket.send_text(f"{text} {asyncio.current_task() is me}")

with TestClient(app).websocket_connect("/ws") as s:
    for text in ("a", "b"):
        s.send_text(text)
        print(s.receive_text())
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11's")
def test_messages_step_the_handler_with_its_task_current_where_asyncio_keeps_it_elsewhere():
    # Where current_task() does not read asyncio.tasks._current_tasks (3.14's C module),
    # a message still steps the handler with its task current: it wakes the task.
    import subprocess

    ran = subprocess.run(
        [sys.executable, "-c", _ASYNCIO_WITHOUT_C_CURRENT_TASKS], capture_output=True, text=True, timeout=60
    )
    assert (ran.returncode, ran.stdout.split("\n")) == (0, ["a True", "b True", ""]), ran.stderr


def test_a_handler_cancelled_in_a_messages_step_cancels_what_it_then_awaits():
    # As asyncio's task step with a cancellation pending: the future (or task) the
    # handler awaits next is cancelled, not only the handler's await of it.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        try:
            while True:
                text = await websocket.receive_text()
                if text == "future":
                    awaited = loop.create_future()
                elif text == "task":
                    awaited = asyncio.create_task(asyncio.Event().wait())
                me.cancel(text)
                try:
                    await awaited
                except asyncio.CancelledError as e:
                    me.uncancel()
                    if text == "task":
                        await asyncio.wait([awaited])
                    text = f"{e.args} {awaited.cancelled()}"
                await websocket.send_text(text)
        except WebSocketDisconnect:
            pass

    with TestClient(app).websocket_connect("/ws") as s:
        s.send_text("future")
        assert s.receive_text() == "('future',) True"
        s.send_text("task")
        assert s.receive_text() == "('task',) True"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12's")
def test_a_task_started_eagerly_in_a_messages_step_receives_the_next_message():
    # The receive's first step runs inside the handler's step (the handler's task still
    # waits on the inbox then): that task waits for the next message, the handler for it.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        loop = asyncio.get_running_loop()
        try:
            while True:
                text = await websocket.receive_text()
                if text == "spawn":
                    loop.set_task_factory(asyncio.eager_task_factory)
                    try:
                        receiving = asyncio.create_task(websocket.receive_text())
                    finally:
                        loop.set_task_factory(None)
                    text = "spawned " + await receiving
                await websocket.send_text(text)
        except WebSocketDisconnect:
            pass

    with TestClient(app).websocket_connect("/ws") as s:
        s.send_text("a")
        assert s.receive_text() == "a"
        s.send_text("spawn")
        s.send_text("b")
        assert s.receive_text() == "spawned b"
        s.send_text("c")
        assert s.receive_text() == "c"


def test_receive_and_send_take_their_arguments_as_starlettes():
    # receive_*() take none; send_*(data) takes data by position or by name; anything
    # else is a TypeError when called, as for Starlette's methods.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text(data="text by name")
        await websocket.send_bytes(data=b"bytes by name")
        refused = []
        for call in (
            lambda: websocket.send_text(),
            lambda: websocket.send_text("a", "b"),
            lambda: websocket.send_bytes(b"x", data=b"y"),
            lambda: websocket.send_text(text="a"),
            lambda: websocket.receive_text(1),
            lambda: WebSocket.receive_bytes(object()),
        ):
            try:
                call()
            except TypeError:
                refused.append(True)
            else:
                refused.append(False)
        await websocket.send_json(refused)

    with TestClient(app).websocket_connect("/ws") as s:
        assert s.receive_text() == "text by name"
        assert s.receive_bytes() == b"bytes by name"
        assert s.receive_json() == [True] * 6


def test_a_large_message_sent_is_let_go_once_written():
    # A bytes of 4 KiB and more is queued behind its frame's header, not copied: the
    # reference the queue holds is released once the frame is written (the next message
    # comes after the client read the echo), whether the send was made in the step of
    # the handshake (the first) or of a message (the second).
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        data = bytes(range(256)) * 256
        held = sys.getrefcount(data)
        await websocket.send_bytes(data)
        await websocket.receive_text()
        first = sys.getrefcount(data) - held
        await websocket.send_bytes(data)
        await websocket.receive_text()
        await websocket.send_json([first, sys.getrefcount(data) - held])

    with TestClient(app).websocket_connect("/ws") as s:
        for _ in range(2):
            assert s.receive_bytes() == bytes(range(256)) * 256
            s.send_text("next")
        assert s.receive_json() == [0, 0]


def test_receive_and_send_are_coroutines_that_do_nothing_until_stepped():
    # A connected WebSocket's receive_*/send_* return coroutines made in Rust: asyncio
    # takes them as it takes coroutines, and nothing is sent or taken before they run.
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        unsent = websocket.send_text("never sent")
        untaken = websocket.receive_text()
        assert asyncio.iscoroutine(unsent) and asyncio.iscoroutine(untaken)
        unsent.close()
        untaken.close()
        later = websocket.send_text("second")
        await websocket.send_text("first")
        await later
        await asyncio.gather(websocket.send_text("third"), websocket.send_bytes(b"fourth"))
        text = await asyncio.wait_for(websocket.receive_text(), 10)
        data = await asyncio.create_task(websocket.receive_bytes())
        await asyncio.create_task(websocket.send_text(f"{text} {data!r}"))
        try:
            await websocket.receive_bytes()
        except KeyError as e:
            await websocket.send_text(f"KeyError {e}")
        with pytest.raises(RuntimeError, match="cannot reuse"):
            await later

    with TestClient(app).websocket_connect("/ws") as s:
        assert [s.receive_text(), s.receive_text(), s.receive_text()] == ["first", "second", "third"]
        assert s.receive_bytes() == b"fourth"
        s.send_text("a")
        s.send_bytes(b"b")
        assert s.receive_text() == "a b'b'"
        s.send_text("c")
        assert s.receive_text() == "KeyError 'bytes'"


def test_the_server_side_exception_is_raised_when_the_session_ends():
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        while True:
            await websocket.receive_text()

    client = TestClient(app)
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect("/ws") as s:
            s.send_text("x")
    assert e.value.code == 1000

    @app.websocket("/boom")
    async def boom(websocket: WebSocket):
        await websocket.accept()
        raise KeyError("boom")

    with pytest.raises(KeyError):
        with client.websocket_connect("/boom") as s:
            with pytest.raises(WebSocketDisconnect) as closed:
                s.receive_text()
            assert closed.value.code == 1011
    quiet = TestClient(app, raise_server_exceptions=False)
    with quiet.websocket_connect("/boom") as s:
        with pytest.raises(WebSocketDisconnect):
            s.receive_text()


def test_close_before_accept_refuses_with_the_code():
    app = FastAPI()

    @app.websocket("/no")
    async def no(websocket: WebSocket):
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER)

    @app.websocket("/raise")
    async def raises(websocket: WebSocket):
        raise WebSocketException(code=4003, reason="nope")

    @app.websocket("/return")
    async def returns(websocket: WebSocket):
        return None

    client = TestClient(app)
    for path, code in (("/no", 1013), ("/raise", 4003), ("/return", 1000)):
        with pytest.raises(WebSocketDisconnect) as e:
            with client.websocket_connect(path):
                pytest.fail("accepted")
        assert e.value.code == code, path


def test_the_app_closes_after_accept_with_code_and_reason():
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        await websocket.send_text("bye")
        await websocket.close(code=4000, reason="done here")
        with pytest.raises(RuntimeError):
            await websocket.send_text("after close")

    with TestClient(app).websocket_connect("/ws") as s:
        assert s.receive_text() == "bye"
        message = s.receive()
        assert message == {"type": "websocket.close", "code": 4000, "reason": "done here"}


def test_parameters_dependencies_and_the_request_attributes():
    app = FastAPI()
    seen = {}

    async def user(websocket: WebSocket, x_user: str = Header(), session: str | None = Cookie(None)):
        seen["dep_ws"] = websocket
        return f"{x_user}/{session}"

    @app.websocket("/items/{item_id}/ws")
    async def ws(websocket: WebSocket, item_id: int, q: list[str] = Query([]), who: str = Depends(user)):
        seen["ws"] = websocket
        await websocket.accept(headers=[(b"x-served-by", b"fasterapi")])
        await websocket.send_json({
            "item_id": item_id, "q": q, "who": who,
            "path_params": dict(websocket.path_params), "query": str(websocket.url.query),
            "header": websocket.headers["x-user"], "cookies": dict(websocket.cookies),
            "scheme": websocket.url.scheme, "type": websocket.scope["type"],
        })
        await websocket.close()

    client = TestClient(app, cookies={"session": "s1"})
    with client.websocket_connect("/items/5/ws?q=a&q=b", headers={"X-User": "ann"}) as s:
        assert (b"x-served-by", b"fasterapi") in s.extra_headers
        assert s.receive_json() == {
            "item_id": 5, "q": ["a", "b"], "who": "ann/s1", "path_params": {"item_id": "5"},
            "query": "q=a&q=b", "header": "ann", "cookies": {"session": "s1"},
            "scheme": "ws", "type": "websocket",
        }
    assert seen["dep_ws"] is seen["ws"], "the dependency gets the same WebSocket"
    # A value that fails validation (or a missing header) refuses with 1008.
    for url, headers in (("/items/x/ws", {"X-User": "ann"}), ("/items/5/ws", {})):
        with pytest.raises(WebSocketDisconnect) as e:
            with client.websocket_connect(url, headers=headers):
                pytest.fail("accepted")
        assert e.value.code == status.WS_1008_POLICY_VIOLATION


def test_routers_prefixes_dependencies_and_overrides():
    app = FastAPI()
    calls = []

    def audit():
        calls.append("audit")

    def token():
        return "real"

    router = APIRouter(prefix="/r", dependencies=[Depends(audit)])

    @router.websocket("/ws")
    async def ws(websocket: WebSocket, t: str = Depends(token)):
        await websocket.accept()
        await websocket.send_text(t)
        await websocket.close()

    app.include_router(router, prefix="/v1")
    routes = [r for r in app.routes if isinstance(r, APIWebSocketRoute)]
    assert [(r.path, r.name) for r in routes] == [("/v1/r/ws", "ws")]
    assert app.url_path_for("ws") == "/v1/r/ws"
    client = TestClient(app)
    with client.websocket_connect("/v1/r/ws") as s:
        assert s.receive_text() == "real"
    app.dependency_overrides[token] = lambda: "fake"
    with client.websocket_connect("/v1/r/ws") as s:
        assert s.receive_text() == "fake"
    assert calls == ["audit", "audit"]


def test_subprotocols():
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol=offered[-1])
        await websocket.send_json(offered)
        with pytest.raises(RuntimeError):
            await websocket.accept()

    with TestClient(app).websocket_connect("/ws", subprotocols=["v1", "v2"]) as s:
        assert s.accepted_subprotocol == "v2"
        assert s.receive_json() == ["v1", "v2"]

    @app.websocket("/bad")
    async def bad(websocket: WebSocket):
        await websocket.accept(subprotocol="never-offered")

    with pytest.raises(ValueError, match="not offered"):
        with TestClient(app).websocket_connect("/bad", subprotocols=["v1"]):
            pass


def test_registration_refusals():
    app = FastAPI()
    with pytest.raises(TypeError, match="async def"):
        @app.websocket("/sync")
        def sync(websocket: WebSocket):
            pass
    from pydantic import BaseModel

    class Item(BaseModel):
        x: int

    with pytest.raises(TypeError, match="no body"):
        @app.websocket("/body")
        async def body(websocket: WebSocket, item: Item):
            pass
    with pytest.raises(NotImplementedError, match="websocket_route"):
        app.websocket_route("/x")
    from fasterapi.exceptions import WebSocketRequestValidationError

    for exc in (WebSocketRequestValidationError, WebSocketException, WebSocketDisconnect):
        with pytest.raises(NotImplementedError, match=exc.__name__):
            app.add_exception_handler(exc, lambda ws, e: None)
    sub = FastAPI()

    @sub.websocket("/ws")
    async def mounted(websocket: WebSocket):
        pass

    app.mount("/sub", sub)
    with pytest.raises(NotImplementedError, match="WebSocket routes"):
        TestClient(app).get("/")


def test_http_requests_to_a_websocket_route_get_426():
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()

    r = TestClient(app).get("/ws")
    assert r.status_code == 426
    assert r.headers["upgrade"] == "websocket"
