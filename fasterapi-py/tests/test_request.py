"""The `Request` object as Starlette's, through a real server over real sockets: its URL,
headers, query parameters, cookies, client address (the connection's real peer port),
state, app, scope and body readers, in `def`, `async def` and pool handlers."""

import gc
import http.client
import json
import socket

import pytest

from conftest import get, module_server, post

server = module_server("app_request.py")


def connection(server):
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.connect()
    return conn


def ask(conn, method, path, headers=(), body=None):
    """One request on `conn`, with `headers` as (name, value) pairs, repeats allowed."""
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    return r.status, r.read()


@pytest.mark.parametrize("kind", ["def", "async", "pool"])
def test_the_request_as_starlette_has_it(server, kind):
    conn = connection(server)
    my_port = conn.sock.getsockname()[1]
    status, body = ask(conn, "GET", f"/{kind}/a%20b?q=1&q=2&empty=&sp=x+y", headers=[
        ("Host", "Example.com:8080"),
        ("X-Multi", "first"),
        ("x-multi", "second"),
        ("Cookie", 'a=1; b="two"'),
        ("Cookie", "c=3; a=4"),
    ])
    conn.close()
    assert status == 200, body
    got = json.loads(body)
    assert got == {
        "item_id": "a b",
        "method": "GET",
        "types": [True] * 6,
        "url": f"http://Example.com:8080/{kind}/a b?q=1&q=2&empty=&sp=x+y",
        "url_parts": ["http", "Example.com:8080", "example.com", 8080, f"/{kind}/a b", "q=1&q=2&empty=&sp=x+y"],
        "base_url": "http://Example.com:8080/",
        "with_page": f"http://Example.com:8080/{kind}/a b?q=1&q=2&empty=&sp=x+y&page=2",
        "header": "first",
        "header_list": ["first", "second"],
        "header_items": [["x-multi", "first"], ["x-multi", "second"]],
        "has_header": [True, False],
        "query": "2",
        "query_list": ["1", "2"],
        "query_items": [["q", "1"], ["q", "2"], ["empty", ""], ["sp", "x y"]],
        "path_params": {"item_id": "a b"},
        "cookies": {"a": "4", "b": "two", "c": "3"},
        "client": ["127.0.0.1", my_port],
        "app": "the app object",
        "scope": ["http", f"/{kind}/a b", "GET", "q=1&q=2&empty=&sp=x+y", my_port],
        "same_objects": True,
    }


def test_each_connection_sees_its_own_peer_port(server):
    # Two connections open at once, each asking twice.
    conns = [connection(server) for _ in range(2)]
    ports = [c.sock.getsockname()[1] for c in conns]
    assert ports[0] != ports[1]
    for _ in range(2):
        for conn, port in zip(conns, ports):
            status, body = ask(conn, "GET", "/peer", headers=[("Host", "t")])
            assert status == 200
            assert json.loads(body) == ["127.0.0.1", port]
    for conn in conns:
        conn.close()


def raw_exchange(server, request: bytes) -> bytes:
    """Sends `request`, which asks the server to close the connection after answering
    (a half-close would tell a server that the client left), and reads until it does."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer


def test_a_request_without_a_valid_host_has_a_url_of_its_path_alone(server):
    # As Starlette's when it has no server address to fall back on.
    for request in [
        b"GET /url?x=1 HTTP/1.0\r\n\r\n",
        b"GET /url?x=1 HTTP/1.1\r\nHost: bad host\r\nConnection: close\r\n\r\n",
    ]:
        answer = raw_exchange(server, request)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == ["/url?x=1", "", "/url", "/"]
    answer = raw_exchange(server, b"GET /url HTTP/1.1\r\nHost: [::1]:99\r\nConnection: close\r\n\r\n")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == ["http://[::1]:99/url", "http", "/url", "http://[::1]:99/"]


def test_state_is_per_request_and_shared_with_the_scope(server):
    for _ in range(2):
        r = get(server, "/state")
        assert r.json() == {"before": {}, "user": "alice", "scope_state": {"user": "alice", "role": "admin"},
                            "same": True}


def test_body_json_and_stream_are_coroutines_parsed_once(server):
    r = post(server, "/body", json={"k": [1, 2]})
    assert r.status_code == 200
    assert r.json() == {"raw": '{"k": [1, 2]}', "json": {"k": [1, 2]}, "parsed_once": True,
                        "chunks": ['{"k": [1, 2]}', ""]}
    # In a def handler too: the same object, whose body() is a coroutine as in FastAPI.
    assert post(server, "/body_in_def", data=b"x").json() == {"is_coroutine": True}


def test_bad_json_is_a_500_as_in_starlette(server):
    r = post(server, "/body", data=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 500


def test_url_encoded_forms_are_read_as_starlette_reads_them(server):
    r = post(server, "/form", data=b"name=J%C3%B6rg+M&x=1&&x=2&flag&=v",
             headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [["name", "Jörg M"], ["x", "1"], ["x", "2"], ["flag", ""], ["", "v"]],
                        "name": "Jörg M"}
    # Another content type: an empty form.
    r = post(server, "/form", data=b"name=x", headers={"content-type": "text/plain"})
    assert r.json() == {"items": [], "name": None}


def test_multipart_forms_are_read_and_malformed_ones_refused_clearly(server):
    r = post(server, "/form", files=[("name", (None, "J\u00f6rg")), ("x", (None, "1")), ("x", (None, "2"))])
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [["name", "J\u00f6rg"], ["x", "1"], ["x", "2"]], "name": "J\u00f6rg"}
    r = post(server, "/form", data=b"--b\r\n", headers={"content-type": "multipart/form-data"})
    assert (r.status_code, r.json()) == (400, {"detail": "Missing boundary in multipart."})


# --- through the TestClient: one request object for the handler, its dependencies and the
# app's exception handlers ----------------------------------------------------------------

from fasterapi import Depends, FastAPI, Request  # noqa: E402
from fasterapi.requests import HTTPConnection  # noqa: E402
from fasterapi.responses import JSONResponse  # noqa: E402
from fasterapi.testclient import TestClient  # noqa: E402

shared = FastAPI()


class Refused(Exception):
    pass


@shared.exception_handler(Refused)
async def refused(request: Request, exc: Refused):
    return JSONResponse({"state": dict(request.state._state), "path": request.url.path}, status_code=403)


def current_user(request: Request):
    request.state.user = request.headers.get("x-user", "nobody")
    return request.state.user


async def audit(conn: HTTPConnection):
    conn.state.audited = True
    return conn


@shared.get("/items/{item_id}", name="read_item")
def read_item(item_id: int, request: Request, user=Depends(current_user), conn=Depends(audit)):
    if request.query_params.get("refuse"):
        raise Refused()
    return {
        "user": user,
        "state": dict(request.state._state),
        "same_object": conn is request,
        "client": list(request.client),
        "url": str(request.url),
        "base_url": str(request.base_url),
        "url_for": str(request.url_for("read_item", item_id=7)),
        "app": request.app is shared,
    }


finalized = []


class Sentinel:
    def __del__(self):
        finalized.append(True)


@shared.get("/cycle")
async def cycle(request: Request):
    # The request kept in its own state and attributes: a cycle through the Rust object.
    request.state.me = request
    request.state.sentinel = Sentinel()
    request.mine = [request]
    return None


def test_a_request_in_a_cycle_is_collected():
    with TestClient(shared) as client:
        assert client.get("/cycle").status_code == 200
    gc.collect()
    assert finalized == [True]


def test_under_the_test_client_as_under_starlettes():
    with TestClient(shared) as client:
        r = client.get("/items/3?x=1", headers={"X-User": "alice"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user": "alice",
        "state": {"user": "alice", "audited": True},
        "same_object": True,
        "client": ["testclient", 50000],
        "url": "http://testserver/items/3?x=1",
        "base_url": "http://testserver/",
        "url_for": "http://testserver/items/7",
        "app": True,
    }


def test_exception_handlers_get_the_handlers_request_and_its_state():
    with TestClient(shared) as client:
        r = client.get("/items/3?refuse=1", headers={"X-User": "bob"})
    assert r.status_code == 403
    assert r.json() == {"state": {"user": "bob", "audited": True}, "path": "/items/3"}
