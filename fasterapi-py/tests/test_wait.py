"""Handlers that wait do not stall their worker: `async def` on the worker's event loop,
`def` on its thread pool. Every test makes one request depend on another being served
while it waits (an event one request waits for and another sets); nothing is timed."""

import hashlib
import http.server
import random
import signal
import socket
import threading

import pytest
import requests

from conftest import WAIT, Server, get, module_server

server = module_server("app_wait.py")


def open_request(server, path):
    """A raw connection with `GET path` sent on it, not yet answered."""
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed) off a raw socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        n = int(headers.get("content-length", 0))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self):
        try:
            self._fill()
        except (EOFError, ConnectionResetError):
            return True
        return False


def wait_until_waiting(server, key, n=1):
    """Asks the server until `n` handlers are suspended on `key`: each question is itself
    a request served while they wait."""
    for _ in range(100_000):
        if get(server, f"/aevent/{key}/waiting").json() >= n:
            return
    raise AssertionError(f"{n} handlers never suspended on {key}")


def test_a_suspended_async_request_does_not_stall_the_worker(server):
    a = open_request(server, "/aevent/a1/wait")
    # A completes only if B, sent after it, is served while A is suspended.
    assert get(server, "/aevent/a1/set").json() == {"set": "a1"}
    status, _, body = Reader(a).response()
    assert (status, body) == (200, b'{"waited":"a1"}')


def test_a_blocked_def_request_does_not_stall_the_worker(server):
    a = open_request(server, "/tevent/t1/wait")
    assert get(server, "/tevent/t1/set").json() == {"set": "t1"}
    status, _, body = Reader(a).response()
    assert status == 200 and b'"waited":true' in body


def test_trivial_routes_are_answered_while_64_requests_are_suspended(server):
    socks = [open_request(server, "/aevent/many/wait") for _ in range(64)]
    wait_until_waiting(server, "many", 64)
    for _ in range(20):
        assert get(server, "/trivial").json() == {"message": "Hello, World!"}
        assert get(server, "/atrivial").json() == {"async": True}
    get(server, "/aevent/many/set")
    for s in socks:
        status, _, body = Reader(s).response()
        assert (status, body) == (200, b'{"waited":"many"}')


def test_pipelined_answers_keep_request_order_around_suspended_ones(server):
    sock = open_request(server, "/atrivial")
    sock.sendall(
        b"GET /aevent/p1/wait HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /trivial HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /sleep?s=0.001 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /atrivial HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    r = Reader(sock)
    assert r.response()[2] == b'{"async":true}'
    wait_until_waiting(server, "p1")
    get(server, "/aevent/p1/set")
    bodies = [r.response()[2] for _ in range(4)]
    assert bodies == [
        b'{"waited":"p1"}',
        b'{"message":"Hello, World!"}',
        b'{"slept":0.001}',
        b'{"async":true}',
    ]


def test_asyncio_works_inside_handlers(server):
    r = get(server, "/features").json()
    assert r == {
        "gather": ["a", "b"],
        "wait_for": "w",
        "timeout": True,
        "wait_for_timeout": True,
        "to_thread": True,
        "running": True,
    }


def test_a_timer_set_after_the_loop_replaced_its_list_of_timers_fires(server):
    # The server reads the loop's list of timers after a handler's step to know when to
    # run it next; asyncio replaces that list when it prunes cancelled timers, and a
    # timer set after that (the sleep's) must still wake its handler. One connection:
    # one I/O thread, so one loop.
    with requests.Session() as s:
        assert s.get(server.url + "/sleep?s=0.001", timeout=10).json() == {"slept": 0.001}
        assert s.get(server.url + "/prune_timers", timeout=10).json() == {"replaced": True}
        assert s.get(server.url + "/sleep?s=0.02", timeout=10).json() == {"slept": 0.02}


def test_each_request_has_its_own_context(server):
    a = open_request(server, "/context/first?key=c1")
    # The first request has set its value and is suspended when the second one runs.
    wait_until_waiting(server, "c1")
    second = get(server, "/context/second").json()
    # The second request does not see the first one's value, nor leaves its own behind.
    assert second == {"before": None, "after": "second"}
    get(server, "/aevent/c1/set")
    status, _, body = Reader(a).response()
    assert (status, body) == (200, b'{"before":null,"after":"first"}')
    assert get(server, "/context/third").json() == {"before": None, "after": "third"}


def test_a_task_created_by_a_handler_runs_after_the_response(server):
    assert get(server, "/spawn/bg1").json() == {"spawned": "bg1"}
    done = open_request(server, "/aevent/bg1-done/wait")
    # The background task waits for bg1 and then sets bg1-done.
    get(server, "/aevent/bg1/set")
    status, _, body = Reader(done).response()
    assert (status, body) == (200, b'{"waited":"bg1-done"}')


def test_an_http_client_can_be_awaited(server):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"from the second server"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=other.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{other.server_address[1]}/x"
        r = get(server, "/fetch", params={"url": url})
        assert r.json() == {"status": 200, "body": "from the second server"}
    finally:
        other.shutdown()


def test_a_protocol_on_the_loop_reads_a_large_stream_in_heap_sized_reads(server):
    # asyncio's transports read 256 KiB at a time, above glibc's mmap threshold: the
    # worker's loop reads at most 64 KiB, and every byte still arrives, in order. The
    # bytes are all sent (and the stream ended) at once: what one read leaves in the
    # socket raises no new readiness edge, and must be read without one.
    payload = random.Random(7).randbytes(1 << 20)
    listener = socket.create_server(("127.0.0.1", 0))

    def send_once():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(payload)

    t = threading.Thread(target=send_once, daemon=True)
    t.start()
    try:
        r = get(server, "/read_stream", params={"port": listener.getsockname()[1]})
    finally:
        listener.close()
    t.join(WAIT)
    seen = r.json()
    assert seen["bytes"] == len(payload)
    assert seen["sha256"] == hashlib.sha256(payload).hexdigest()
    assert 0 < seen["largest_read"] <= 64 * 1024


def test_exceptions_after_an_await_get_fastapis_answers(server):
    r = get(server, "/boom_after_await")
    assert r.status_code == 500
    server.wait_for(r"KeyError: 'boom after await'")
    r = get(server, "/http_exception_after_await")
    assert (r.status_code, r.json()) == (418, {"detail": "teapot after await"})


def test_a_client_that_leaves_mid_await_gets_its_task_cancelled(server):
    sock = open_request(server, "/aevent/gone1/wait")
    wait_until_waiting(server, "gone1")
    sock.close()
    server.wait_for(r"app: cancelled gone1")
    # Nothing is left waiting, and the worker goes on.
    assert get(server, "/aevent/gone1/waiting").json() == 0
    assert get(server, "/trivial").status_code == 200


def test_sigterm_lets_suspended_requests_finish(spawn_server):
    s = spawn_server("app_wait.py")
    sock = open_request(s, "/until_shutdown")
    s.wait_for(r"app: until_shutdown waiting")
    s.proc.send_signal(signal.SIGTERM)
    status, headers, body = Reader(sock).response()
    assert (status, body) == (200, b'{"saw_shutdown":true}')
    assert headers.get("connection") == "close"
    assert s.proc.wait(timeout=WAIT) == 0, "".join(s.log)


def test_sigterm_cancels_what_is_still_suspended_at_the_deadline(spawn_server):
    s = spawn_server("app_wait.py", args=("shutdown_timeout=0.2",))
    sock = open_request(s, "/forever")
    s.wait_for(r"app: forever waiting")
    s.proc.send_signal(signal.SIGTERM)
    s.wait_for(r"app: forever cancelled")
    assert Reader(sock).closed()
    assert s.proc.wait(timeout=WAIT) == 0, "".join(s.log)


def test_too_many_suspended_requests_are_answered_503(spawn_server):
    s = spawn_server("app_wait.py", args=("max_suspended=2",))
    socks = [open_request(s, "/aevent/cap/wait") for _ in range(2)]
    wait_until_waiting(s, "cap", 2)
    r = get(s, "/atrivial")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    # def routes are not suspended coroutines: still served.
    assert get(s, "/trivial").status_code == 200
    for sock in socks:
        sock.close()
    # Once their clients left (the tasks are cancelled), async routes are served again.
    for _ in range(100_000):
        if get(s, "/atrivial").status_code == 200:
            break
    else:
        raise AssertionError("async routes stayed refused")
    assert s.stop() == 0


def test_a_full_thread_pool_queue_is_answered_503(spawn_server):
    s = spawn_server("app_wait.py", args=("blocking_threads=1", "max_queued=1"))
    # The one pool thread waits on q1 (asked through an async route, which runs on the
    # loop, not the pool), then q2 fills the one queue slot.
    busy = open_request(s, "/tevent/q1/wait")
    for _ in range(100_000):
        if get(s, "/tevent/q1/waiting").json() == 1:
            break
    else:
        raise AssertionError("q1 never reached the pool thread")
    queued = open_request(s, "/tevent/q2/wait")
    r = get(s, "/trivial")  # a def route too, read after q2
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    # Released from the loop, both waiting requests are answered.
    get(s, "/tevent/q1/aset")
    get(s, "/tevent/q2/aset")
    for sock in (busy, queued):
        status, _, body = Reader(sock).response()
        assert status == 200 and b'"waited":true' in body
    assert get(s, "/trivial").status_code == 200
    assert s.stop() == 0


def test_registration_refuses_what_cannot_work():
    import fasterapi

    app = fasterapi.FasterAPI()
    with pytest.raises(ValueError, match="blocking=True is for def handlers"):

        @app.get("/x", blocking=True)
        async def x():
            return 1

    with pytest.raises(ValueError, match="uvloop"):
        app.run(port=0, loop="uvloop")
    with pytest.raises(ValueError, match="unknown loop"):
        app.run(port=0, loop="trio")
