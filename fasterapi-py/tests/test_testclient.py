"""fasterapi.testclient.TestClient: Starlette's TestClient API, served in process by the
app's real router and dispatch (no socket, no server process)."""

import asyncio
import threading
import warnings

import httpx
import pytest

from fasterapi import FastAPI, Header, HTTPException, Request
from fasterapi.responses import PlainTextResponse, Response
from fasterapi.testclient import TestClient

app = FastAPI()
raised = []


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str = None, tags: list = None):
    return {"item_id": item_id, "q": q}


@app.get("/tags")
def read_tags(request: Request):
    return {"query": request.query_string}


@app.post("/echo")
async def echo(request: Request):
    return {
        "body": (await request.body()).decode(),
        "content_type": request.headers.get("content-type"),
        "length": request.headers.get("content-length"),
        "chunked": request.headers.get("transfer-encoding"),
    }


@app.post("/json")
def post_json(payload: dict):
    return payload


@app.get("/where")
async def where():
    # A real suspension: the coroutine waits for a future that a later loop callback
    # resolves, so it is answered later, through the server's loop.
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.call_soon(fut.set_result, threading.get_ident())
    return {"loop_thread": await fut, "thread": threading.get_ident()}


@app.get("/pool", blocking=True)
def on_pool():
    return {"thread": threading.get_ident(), "name": threading.current_thread().name}


@app.get("/boom")
def boom():
    exc = ValueError("boom")
    raised.append(exc)
    raise exc


@app.get("/aboom")
async def aboom():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.call_soon(fut.set_result, None)
    await fut
    exc = KeyError("after a suspension")
    raised.append(exc)
    raise exc


@app.get("/unencodable")
def unencodable():
    return {"x": object()}


@app.get("/teapot")
def teapot():
    raise HTTPException(status_code=418, detail="short and stout", headers={"X-Pot": "yes"})


@app.get("/headers")
def headers(user_agent: str = Header(None), x_token: str = Header(None)):
    return {"user_agent": user_agent, "x_token": x_token}


@app.get("/cookies")
def cookies(request: Request):
    return {"cookie": request.headers.get("cookie")}


@app.get("/set-cookie")
def set_cookie():
    return Response(content=b"set", headers={"Set-Cookie": "session=abc; Path=/"})


@app.get("/redirect")
def redirect():
    return Response(status_code=307, headers={"Location": "/items/7?q=moved"})


@app.post("/post-redirect")
def post_redirect():
    return Response(status_code=307, headers={"Location": "/json"})


@app.get("/text")
def text():
    return PlainTextResponse("héllo", headers={"X-Multi": "one"})


@app.get("/big")
def big():
    return Response(content=b"x" * (5 << 20), headers={"X-Big": "y" * 40_000})


client = TestClient(app)


def test_path_query_and_json_round_trip_as_an_httpx_response():
    r = client.get("/items/42", params={"q": "a b"})
    assert isinstance(r, httpx.Response)
    assert r.status_code == 200 and r.is_success and r.reason_phrase == "OK"
    assert r.json() == {"item_id": 42, "q": "a b"}
    assert r.headers["Content-Type"] == r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == str(len(r.content))
    assert str(r.url) == "http://testserver/items/42?q=a+b"
    assert r.request.method == "GET"
    assert r.http_version == "HTTP/1.1"
    assert client.post("/json", json={"a": [1, {"b": None}]}).json() == {"a": [1, {"b": None}]}


def test_repeated_query_params_and_validation_errors_are_the_servers():
    assert client.get("/tags", params={"t": ["a", "b"]}).json() == {"query": "t=a&t=b"}
    r = client.get("/items/x")
    assert r.status_code == 422 and r.is_client_error
    assert r.json()["detail"][0]["loc"] == ["path", "item_id"]
    with pytest.raises(httpx.HTTPStatusError):
        r.raise_for_status()


def test_not_found_and_method_not_allowed_come_from_the_router():
    r = client.get("/nowhere")
    assert r.status_code == 404
    r = client.delete("/items/1")
    assert r.status_code == 405


def test_bodies_form_content_and_chunked():
    r = client.post("/echo", data={"a": "1", "b": "x y"})
    assert r.json()["body"] == "a=1&b=x+y"
    assert r.json()["content_type"] == "application/x-www-form-urlencoded"
    r = client.post("/echo", content=b"raw bytes", headers={"Content-Type": "text/plain"})
    assert r.json() == {"body": "raw bytes", "content_type": "text/plain", "length": "9", "chunked": None}

    def pieces():
        yield b"one,"
        yield b"two"

    r = client.post("/echo", content=pieces())
    assert r.json()["body"] == "one,two" and r.json()["chunked"] == "chunked"


def test_text_and_head():
    r = client.get("/text")
    assert r.text == "héllo" and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers.get_list("x-multi") == ["one"]
    r = client.head("/text")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len("héllo".encode()))


def test_large_heads_and_bodies_are_read_whole():
    r = client.get("/big")
    assert r.status_code == 200
    assert r.content == b"x" * (5 << 20)
    assert r.headers["x-big"] == "y" * 40_000


def test_async_handlers_run_on_the_servers_loop_not_the_tests_thread():
    r = client.get("/where")
    assert r.status_code == 200
    body = r.json()
    assert body["loop_thread"] == body["thread"] != threading.get_ident()
    # The test's thread has no event loop of the server's marked running: asyncio.run works.
    assert asyncio.run(asyncio.sleep(0, result="ok")) == "ok"


def test_a_test_with_its_own_running_loop_can_use_the_client():
    async def inside_a_loop():
        running = asyncio.get_running_loop()
        r = client.get("/where")
        assert asyncio.get_running_loop() is running
        return r.json()

    body = asyncio.run(inside_a_loop())
    assert body["loop_thread"] == body["thread"] != threading.get_ident()


def test_blocking_def_handlers_run_on_the_worker_pool():
    r = client.get("/pool")
    assert r.status_code == 200
    where = client.get("/where").json()["thread"]
    assert r.json()["thread"] not in (where, threading.get_ident())


def test_server_exceptions_are_raised_in_the_test():
    raised.clear()
    with pytest.raises(ValueError) as info:
        client.get("/boom")
    assert info.value is raised[0]
    with pytest.raises(KeyError) as info:
        client.get("/aboom")
    assert info.value is raised[1]
    # What FastAPI's jsonable_encoder raises for a value it cannot encode.
    with pytest.raises(ValueError, match="not iterable"):
        client.get("/unencodable")
    # HTTPException and validation errors are answers, not server exceptions.
    r = client.get("/teapot")
    assert r.status_code == 418 and r.json() == {"detail": "short and stout"}
    assert r.headers["x-pot"] == "yes"


def test_server_exceptions_answer_500_when_not_raised():
    quiet = TestClient(app, raise_server_exceptions=False)
    for path in ("/boom", "/aboom", "/unencodable"):
        r = quiet.get(path)
        assert r.status_code == 500 and r.text == "Internal Server Error", path
    assert quiet.get("/items/1").status_code == 200


def test_default_and_per_request_headers():
    assert client.get("/headers").json() == {"user_agent": "testclient", "x_token": None}
    r = client.get("/headers", headers={"X-Token": "t1", "User-Agent": "me"})
    assert r.json() == {"user_agent": "me", "x_token": "t1"}
    custom = TestClient(app, headers={"X-Token": "client-wide"})
    assert custom.get("/headers").json() == {"user_agent": "testclient", "x_token": "client-wide"}


def test_cookies_are_kept_across_requests():
    jar = TestClient(app)
    assert jar.get("/cookies").json() == {"cookie": None}
    r = jar.get("/set-cookie")
    assert r.cookies["session"] == "abc"
    assert jar.get("/cookies").json() == {"cookie": "session=abc"}
    with_cookies = TestClient(app, cookies={"given": "1"})
    assert with_cookies.get("/cookies").json() == {"cookie": "given=1"}


def test_redirects_are_followed_unless_told_not_to():
    r = client.get("/redirect")
    assert r.status_code == 200 and r.json() == {"item_id": 7, "q": "moved"}
    assert [h.status_code for h in r.history] == [307]
    r = client.get("/redirect", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/items/7?q=moved"
    assert r.is_redirect
    r = TestClient(app, follow_redirects=False).get("/redirect")
    assert r.status_code == 307
    # A 307 keeps the method and the body, as FastAPI's redirect_slashes relies on.
    r = client.post("/post-redirect", json={"kept": True})
    assert (r.status_code, r.json()) == (200, {"kept": True})


def test_routes_added_after_the_client_are_served():
    late = FastAPI()
    c = TestClient(late)
    assert c.get("/late").status_code == 404

    @late.get("/late")
    def late_route():
        return "here"

    assert c.get("/late").json() == "here"


def test_with_block_starts_and_stops_the_server_and_the_client_stays_usable():
    with TestClient(app) as c:
        assert c.get("/items/1").status_code == 200
    assert c.get("/items/2").json()["item_id"] == 2
    with c:
        assert c.get("/where").status_code == 200


def test_a_handler_may_close_its_own_client():
    own = FastAPI()
    clients = []

    @own.get("/close")
    async def close():
        clients[0].close()  # from the server's own thread: it must not wait for itself
        return "closed"

    c = TestClient(own)
    clients.append(c)
    assert c.get("/close").json() == "closed"
    with pytest.raises(RuntimeError, match="client has been closed"):  # httpx's refusal
        c.get("/close")


def test_options_fasterapi_cannot_honour_are_refused_by_name():
    for kwargs, name in [
        ({"backend": "trio"}, "backend"),
        ({"backend_options": {"use_uvloop": True}}, "backend_options"),
        ({"client": ("1.2.3.4", 5)}, "client"),
    ]:
        with pytest.raises(NotImplementedError, match=name):
            TestClient(app, **kwargs)
    with pytest.raises(NotImplementedError, match="cookies"):
        client.websocket_connect("/ws", cookies={"a": "b"})
    with pytest.raises(TypeError, match="fasterapi app"):
        TestClient(object())


def test_timeout_is_accepted_with_starlettes_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert client.get("/items/3", timeout=5).status_code == 200
    # Shown by default (a UserWarning), as Starlette's StarletteDeprecationWarning.
    assert any("timeout" in str(w.message) and issubclass(w.category, UserWarning) for w in caught)


def test_each_client_thread_gets_its_answer():
    # Several test threads share one client: each request still gets its own answer.
    results = {}

    def fetch(i):
        results[i] = client.get(f"/items/{i}").json()["item_id"]

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i for i in range(8)}


_COLLECTED_CLIENTS = r'''
import gc
from fasterapi import FastAPI, WebSocket, WebSocketDisconnect
from fasterapi import testclient

app = FastAPI()

@app.websocket("/ws")
async def echo(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass

def one(i):
    client = testclient.TestClient(app)
    with client.websocket_connect("/ws") as ws:
        ws.send_text(f"m{i}")
        assert ws.receive_text() == f"m{i}"

for i in range(6):
    one(i)
    gc.collect()
print("stopping", testclient._fasterapi.join_server_stops())
testclient._close_all()
print("left", testclient._fasterapi.join_server_stops())
'''


def test_servers_of_collected_clients_have_stopped_when_the_exit_hook_returns():
    # A collected client's server stops on a thread of its own; one still attached to
    # the interpreter when it finalizes aborted the process ("PyGILState_Release ...
    # finalizing"). The exit hook waits for them: the collected clients' stopping
    # threads are waited for, none is left after the hook. (The last client may live
    # on until the next connection: its last finished awaitable holds its WebSocket.)
    import subprocess
    import sys

    ran = subprocess.run(
        [sys.executable, "-c", _COLLECTED_CLIENTS], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert "Fatal Python error" not in ran.stderr
    words = ran.stdout.split()
    assert words[0] == "stopping" and int(words[1]) >= 1, (ran.stdout, ran.stderr)
    assert words[2:] == ["left", "0"], (ran.stdout, ran.stderr)
