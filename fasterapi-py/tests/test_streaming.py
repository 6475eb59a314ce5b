"""StreamingResponse, generator routes (JSON lines, server-sent events) over real sockets:
bodies sent piece by piece (the second piece is made only after the client read the
first), blocking sync generators that stall nothing, bounded memory for a client that
does not read, generators closed when the client leaves, failures, background tasks;
and through the TestClient."""

import re
import socket

import httpx
import pytest
import requests

from conftest import WAIT, module_server

server = module_server("app_streaming.py")


def host_port(server):
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def raw_request(server, target, method="GET", rcvbuf=None):
    s = socket.socket()
    if rcvbuf is not None:
        # Before connecting, so the window stays small (no autotuning).
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(WAIT)
    s.connect(host_port(server))
    s.sendall(f"{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return s


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)
        assert chunk, f"closed in the head: {data!r}"
        data += chunk
    return data.decode()


def test_pieces_go_out_as_the_generator_makes_them(server):
    # httpx reads "first" while the generator waits for the request that lets it go on.
    with httpx.stream("GET", server.url + "/stepped/httpx", timeout=WAIT) as r:
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.headers["transfer-encoding"] == "chunked"
        pieces = r.iter_raw()
        assert next(pieces) == b"first"
        assert httpx.get(server.url + "/aevent/httpx/set").status_code == 200
        assert b"".join(pieces) == b"second"


def test_a_blocking_sync_generator_stalls_nothing(server):
    # The generator blocks its thread until /tevent/requests/set is served: the loop and
    # the I/O thread serve other requests meanwhile, that one included.
    r = requests.get(server.url + "/stepped-sync/requests", stream=True, timeout=WAIT)
    pieces = r.iter_content(chunk_size=None)
    assert next(pieces) == b"first"
    assert requests.get(server.url + "/plain", timeout=WAIT).json() == {"ok": True}
    assert requests.get(server.url + "/tevent/requests/set", timeout=WAIT).status_code == 200
    assert b"".join(pieces) == b"second"


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_the_generator_is_closed_when_the_client_leaves(server, kind):
    # The async one waits forever when the client leaves; the sync one was yielding
    # pieces into a full socket. Both see their `finally` run.
    s = raw_request(server, f"/forever/{kind}/left-{kind}")
    read_head(s)
    assert s.recv(64).startswith(b"5\r\nfirst\r\n")
    s.close()
    server.wait_for(f"finally left-{kind}")


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_client_that_does_not_read_holds_bounded_memory(server, kind):
    # Bytes produced ahead of bytes read, asked of the server at each step: at most the
    # kernel's buffers (the server's send buffer, at most tcp_wmem's maximum, and the
    # client's receive buffer), the 64 KiB channel and a batch. A server that kept asking
    # the generator for more would run megabytes ahead at once.
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        wmem_max = int(f.read().split()[2])
    s = raw_request(server, f"/endless/{kind}/slow-{kind}", rcvbuf=64 * 1024)
    bound = wmem_max + s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) + (1 << 20)
    read_head(s)
    received = 0
    ahead_max = 0
    while received < 8 << 20:
        chunk = s.recv(65536)
        assert chunk, "the body ended early"
        received += len(chunk)
        if received % (1 << 20) < 65536:
            produced = requests.get(server.url + f"/produced/slow-{kind}", timeout=WAIT).json()["produced"]
            ahead_max = max(ahead_max, produced - received)
            assert produced - received <= bound, (produced, received, bound)
    s.close()
    print(f"at most {ahead_max} bytes produced ahead of the client")


def test_head_sends_the_head_and_never_starts_the_generator(server):
    r = requests.head(server.url + "/counted/head", timeout=WAIT)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["transfer-encoding"] == "chunked"
    assert requests.get(server.url + "/produced/head", timeout=WAIT).json()["started"] == 0
    assert requests.get(server.url + "/counted/head", timeout=WAIT).text == "body"
    assert requests.get(server.url + "/produced/head", timeout=WAIT).json()["started"] == 1


def test_a_generator_that_raises_ends_the_body_without_its_end(server):
    s = raw_request(server, "/fails")
    head = read_head(s)
    assert head.startswith("HTTP/1.1 200 OK\r\n") and "Transfer-Encoding: chunked" in head
    rest = b""
    while chunk := s.recv(4096):
        rest += chunk
    assert rest == b"7\r\npartial\r\n", "no last chunk: the client sees the body cut"
    server.wait_for("the generator failed")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(server.url + "/fails", timeout=WAIT)


def test_background_runs_once_the_body_is_sent(server):
    assert requests.get(server.url + "/with-background/bg", timeout=WAIT).text == "ab"
    server.wait_for("background bg")


def test_server_sent_events_with_keep_alive_comments(server):
    with httpx.stream("GET", server.url + "/sse/events", timeout=WAIT) as r:
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        lines = r.iter_lines()
        assert next(lines) == 'data: {"name":"first","price":1.5}'
        assert next(lines) == ""
        # Idle: keep-alive comments (every 50 ms in this app) until the next event.
        assert next(lines) == ": ping"
        assert httpx.get(server.url + "/aevent/events/set").status_code == 200
        rest = list(lines)
    while rest[:2] == [": ping", ""] or rest[:1] == [""]:
        rest = rest[2:] if rest[0] == ": ping" else rest[1:]
    assert rest == ["event: update", 'data: {"n": 2}', "id: 2", "retry: 1000", ""], rest


def test_an_idle_event_stream_holds_one_task_and_its_keep_alive_timer(server):
    # 10,000 idle streams must fit in 100 MB (issue 15): while its generator waits, a
    # stream is its body's pump alone (keep-alive comments come from a timer, not from a
    # task, queue and timeout of their own as FastAPI's design has them).
    before = requests.get(server.url + "/tasks", timeout=WAIT).json()["tasks"]
    streams = []
    try:
        for i in range(3):
            s = raw_request(server, f"/sse/idle{i}")
            streams.append(s)
            assert "text/event-stream" in read_head(s)
            seen = b""
            while b": ping\n\n" not in seen:
                chunk = s.recv(4096)
                assert chunk, f"closed while idle: {seen!r}"
                seen += chunk
            assert b'data: {"name":"first","price":1.5}\n\n' in seen
        now = requests.get(server.url + "/tasks", timeout=WAIT).json()
        assert now["tasks"] == before + 3, now
    finally:
        for i, s in enumerate(streams):
            assert httpx.get(server.url + f"/aevent/idle{i}/set").status_code == 200
            s.close()


def test_a_generator_route_streams_json_lines(server):
    r = requests.get(server.url + "/jsonl", timeout=WAIT)
    assert r.headers["content-type"] == "application/jsonl"
    assert r.text == '{"n": 1}\n{"n": 2}\n'


def test_http_1_0_gets_the_body_until_the_connection_closes(server):
    s = socket.create_connection(host_port(server), timeout=WAIT)
    s.sendall(b"GET /counted/http10 HTTP/1.0\r\n\r\n")
    answer = b""
    while chunk := s.recv(4096):
        answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    assert b"Connection: close" in head and b"Transfer-Encoding" not in head
    assert body == b"body"


def test_the_test_client_reads_streams_whole_and_as_a_stream():
    import asyncio

    from fasterapi import FastAPI
    from fasterapi.responses import StreamingResponse
    from fasterapi.testclient import TestClient

    app = FastAPI()
    closed = []

    @app.get("/numbers")
    async def numbers():
        async def body():
            try:
                for i in range(3):
                    await asyncio.sleep(0)
                    yield f"{i};"
            finally:
                closed.append("async")

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/sync")
    def sync_numbers():
        def body():
            try:
                yield from (f"{i}," for i in range(3))
            finally:
                closed.append("sync")

        return StreamingResponse(body())

    client = TestClient(app)
    assert client.get("/numbers").text == "0;1;2;"
    with client.stream("GET", "/sync") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert "".join(r.iter_text()) == "0,1,2,"
    assert sorted(closed) == ["async", "sync"]
    assert re.fullmatch(r"0;1;2;", client.get("/numbers").text)


def test_dependency_exit_code_and_background_run_after_the_body():
    from fasterapi import BackgroundTasks, Depends, FastAPI
    from fasterapi.responses import StreamingResponse
    from fasterapi.testclient import TestClient

    app = FastAPI()
    events = []

    def session():
        events.append("open")
        state = {"open": True}
        yield state
        state["open"] = False
        events.append("closed")

    @app.get("/rows")
    def rows(tasks: BackgroundTasks, db: dict = Depends(session)):
        tasks.add_task(events.append, "background")

        def body():
            for i in range(3):
                events.append(f"row {i}")
                yield "open;" if db["open"] else "closed;"

        return StreamingResponse(body())

    @app.get("/gen-rows")
    async def gen_rows(db: dict = Depends(session)):
        for i in range(2):
            yield {"i": i, "open": db["open"]}

    client = TestClient(app)
    assert client.get("/rows").text == "open;open;open;"
    # The dependency's exit runs after the body; the background task runs (its place
    # relative to the body depends on where the handler ran: see the module docs).
    assert [e for e in events if e != "background"] == ["open", "row 0", "row 1", "row 2", "closed"], events
    assert "background" in events
    events.clear()
    assert client.get("/gen-rows").text == '{"i": 0, "open": true}\n{"i": 1, "open": true}\n'
    assert events == ["open", "closed"]
    events.clear()
    # A HEAD answer never starts the body: the exit code runs all the same.
    assert client.head("/rows").status_code == 200
    assert sorted(events) == ["background", "closed", "open"], events
