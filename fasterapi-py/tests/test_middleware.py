"""Middleware (CORS, trusted hosts, HTTPS redirect, Python middleware), lifespan and
background tasks, on real servers (app_middleware.py) over 127.0.0.1 with requests.

Nothing is timed: requests wait on events other requests set, and the server's order of
work shows in the order of its log lines."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from conftest import HERE, WAIT, Server, get


def serve(mode, workers=1, *extra):
    return Server("app_middleware.py", workers=workers, args=(mode, *extra))


@pytest.fixture(scope="module")
def cors():
    s = serve("cors")
    yield s
    assert s.stop() == 0, "".join(s.log)


def preflight(server, path, origin, method, headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    return requests.options(server.url + path, headers=h, timeout=10)


# --- CORS ---------------------------------------------------------------------------------


def test_a_preflight_is_answered_by_the_server_without_python(cors):
    before = get(cors, "/items").json()["python"]
    r = preflight(cors, "/items", "https://a.example", "POST", "x-token, Content-Type")
    assert r.status_code == 200 and r.text == "OK"
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Content-Language, Content-Type, X-Token"
    )
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "60"
    assert r.headers["vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        "Access-Control-Request-Private-Network"
    )
    # A path without a route is answered all the same.
    assert preflight(cors, "/no/such/route", "https://a.example", "GET").status_code == 200
    # The Python middleware inside CORS saw none of the preflights, only the GETs.
    assert get(cors, "/items").json()["python"] == before + 1


@pytest.mark.parametrize("origin, method, headers, failures", [
    ("https://evil.example", "GET", None, "origin"),
    ("https://a.example", "DELETE", None, "method"),
    ("https://a.example", "GET", "X-Other", "headers"),
    ("https://evil.example", "PUT", "X-Other", "origin, method, headers"),
])
def test_a_refused_preflight_is_a_400_naming_what_failed(cors, origin, method, headers, failures):
    r = preflight(cors, "/items", origin, method, headers)
    assert r.status_code == 400
    assert r.text == f"Disallowed CORS {failures}"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_simple_requests_get_the_origin_credentials_and_vary(cors):
    r = get(cors, "/items", headers={"Origin": "https://a.example"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-expose-headers"] == "X-Count"
    assert r.headers["vary"] == "Origin"
    # Not allowed: no allow-origin; the credentials header goes with any Origin, as in Starlette.
    r = get(cors, "/items", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "Origin"
    # No Origin at all: only Vary.
    r = get(cors, "/items")
    assert not any(k.startswith("access-control") for k in r.headers)
    assert r.headers["vary"] == "Origin"
    # A handler's own Vary is kept, Origin appended.
    r = get(cors, "/vary", headers={"Origin": "https://a.example"})
    assert r.headers["vary"] == "Accept-Encoding, Origin"


def test_the_origin_regex_matches_whole_origins(cors):
    ok = get(cors, "/items", headers={"Origin": "https://api.b.example"})
    assert ok.headers["access-control-allow-origin"] == "https://api.b.example"
    for bad in ("https://api.b.example.evil", "http://api.b.example"):
        r = get(cors, "/items", headers={"Origin": bad})
        assert "access-control-allow-origin" not in r.headers
    assert preflight(cors, "/items", "https://x.b.example", "GET").status_code == 200


def test_a_suspended_handler_gets_the_headers_too(cors):
    r = get(cors, "/later", headers={"Origin": "https://a.example"})
    assert r.json() == {"later": True}
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["vary"] == "Origin"


def test_any_origin_with_credentials_names_the_origin(spawn_server):
    s = spawn_server("app_middleware.py", args=("cors_any",))
    r = get(s, "/items", headers={"Origin": "https://whoever.example"})
    assert r.headers["access-control-allow-origin"] == "https://whoever.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    r = preflight(s, "/items", "https://whoever.example", "GET")
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "https://whoever.example"
    assert s.stop() == 0


# Preflights whose header names vary in case, repeat (the first counts) or list requested
# headers loosely: the server reads them in one pass over the request's headers.
ODD_PREFLIGHTS = [
    [("ORIGIN", "https://a.example"), ("access-control-request-METHOD", "POST"),
     ("Access-Control-Request-Headers", "X-TOKEN ,\tcontent-type, accept")],
    [("Origin", "https://evil.example"), ("Origin", "https://a.example"),
     ("Access-Control-Request-Method", "GET")],
    [("Origin", "https://a.example"), ("Access-Control-Request-Method", "DELETE"),
     ("Access-Control-Request-Method", "GET")],
    [("Origin", "https://x.b.example"), ("Access-Control-Request-Method", "POST"),
     ("Access-Control-Request-Headers", "x-token"), ("Access-Control-Request-Headers", "x-other")],
    [("Origin", "https://a.example"), ("Access-Control-Request-Method", "GET"),
     ("Access-Control-Request-Private-Network", "true")],
]


def _cors_view(r):
    return r.status_code, r.text, sorted(
        (k.lower(), v) for k, v in r.headers.items()
        if k.lower().startswith("access-control-") or k.lower() == "vary"
    )


@pytest.mark.parametrize("headers", ODD_PREFLIGHTS)
def test_odd_preflights_are_answered_as_starlettes_cors_middleware(cors, headers):
    httpx = pytest.importorskip("httpx")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    # The options of app_middleware.py's cors app.
    reference = Starlette(
        routes=[Route("/items", lambda request: PlainTextResponse("items"))],
        middleware=[Middleware(
            StarletteCORS,
            allow_origins=["https://a.example"],
            allow_origin_regex=r"https://.*\.b\.example",
            allow_methods=["GET", "POST"],
            allow_headers=["X-Token"],
            allow_credentials=True,
            expose_headers=["X-Count"],
            max_age=60,
        )],
    )
    with TestClient(reference) as starlette_client, httpx.Client(base_url=cors.url) as ours:
        want = _cors_view(starlette_client.request("OPTIONS", "/items", headers=headers))
        got = _cors_view(ours.request("OPTIONS", "/items", headers=headers, timeout=10))
    assert got == want


def test_a_bad_origin_regex_is_refused_when_added():
    from fasterapi import FastAPI
    from fasterapi.middleware.cors import CORSMiddleware

    with pytest.raises(ValueError, match="allow_origin_regex"):
        FastAPI().add_middleware(CORSMiddleware, allow_origin_regex=r"(?<=x)y")


# --- trusted hosts, HTTPS redirect ----------------------------------------------------------


def test_trusted_hosts(spawn_server):
    s = spawn_server("app_middleware.py", args=("hosts",))
    assert get(s, "/h", headers={"Host": "www.example.com"}).json() == {"ok": True}
    assert get(s, "/h", headers={"Host": "api.example.org:8080"}).json() == {"ok": True}
    r = get(s, "/h", headers={"Host": "evil.example"})
    assert (r.status_code, r.text) == (400, "Invalid host header")
    # example.com is redirected to the allowed www.example.com.
    r = get(s, "/h?x=1", headers={"Host": "example.com"}, allow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "http://www.example.com/h?x=1"
    assert s.stop() == 0


def test_https_redirect(spawn_server):
    s = spawn_server("app_middleware.py", args=("https",))
    r = get(s, "/h?x=1", headers={"Host": "example.com:80"}, allow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "https://example.com/h?x=1"
    r = get(s, "/h", headers={"Host": "example.com:8443"}, allow_redirects=False)
    assert r.headers["location"] == "https://example.com:8443/h"
    assert s.stop() == 0


# --- Python middleware ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def mw():
    s = serve("mw")
    yield s
    assert s.stop() == 0, "".join(s.log)


def test_middleware_runs_in_starlettes_order_and_changes_headers(mw):
    r = get(mw, "/hello")
    assert r.status_code == 200
    # The last added is the outermost; each sees the request before the ones it wraps.
    assert r.json()["trace"] == ["outer-in", "inner-in", "innermost-in", "handler"]
    assert r.headers["x-trace"] == "outer-in,inner-in,innermost-in,handler,innermost-out,inner-out"
    assert r.headers["x-tag"] == "innermost"
    assert r.headers["x-outer"] == "200"


def test_a_middleware_can_answer_without_calling_the_route(mw):
    before = get(mw, "/calls").json()["handler"]
    r = get(mw, "/hello", headers={"X-Block": "1"})
    assert (r.status_code, r.json()) == (403, {"blocked": True})
    assert r.headers["x-outer"] == "403"
    assert get(mw, "/calls").json()["handler"] == before


def test_a_suspended_handler_under_middleware_serves_others_meanwhile(mw):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(get, mw, "/wait/k1")
        # Served while /wait/k1 is suspended inside its middleware: it wakes it.
        assert get(mw, "/set/k1").json() == {"set": "k1"}
        r = waiting.result(timeout=WAIT)
    assert r.json() == {"waited": "k1"}
    assert r.headers["x-trace"] == "outer-in,inner-in,innermost-in,handler,innermost-out,inner-out"


def test_a_blocking_def_handler_under_middleware_leaves_the_loop_free(mw):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        blocked = pool.submit(get, mw, "/block/b1")
        # Served while /block/b1 holds its thread: it releases it.
        assert get(mw, "/unblock/b1").json() == {"unblocked": "b1"}
        r = blocked.result(timeout=WAIT)
    assert r.json() == {"blocked": "b1"}
    assert r.headers["x-trace"] == "outer-in,inner-in,innermost-in,handler,innermost-out,inner-out"


def test_the_body_is_read_by_the_middleware_and_the_handler(mw):
    r = requests.post(mw.url + "/echo", json={"a": 1}, timeout=10)
    assert r.json() == {"payload": {"a": 1}, "body_seen": len(b'{"a": 1}')}


def test_errors_under_middleware(mw):
    r = get(mw, "/teapot")
    assert (r.status_code, r.json()) == (418, {"detail": "short and stout"})
    assert r.headers["x-outer"] == "418"
    r = get(mw, "/no/such/route")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert r.headers["x-outer"] == "404"
    r = get(mw, "/boom")
    assert r.status_code == 500
    mw.wait_for("RuntimeError: boom")
    assert get(mw, "/hello").status_code == 200


# --- lifespan and background tasks ---------------------------------------------------------


@pytest.fixture(scope="module")
def life(tmp_path_factory):
    flag = tmp_path_factory.mktemp("life") / "flag"
    flag.write_text("")  # the slow task's drain test makes its own server
    s = serve("life", 2, str(flag))
    yield s
    assert s.stop() == 0, "".join(s.log)


def test_the_lifespan_runs_in_every_worker_and_its_state_reaches_requests(life):
    pids = set()
    for _ in range(200):
        r = get(life, "/state").json()
        assert r["started_in"] == r["pid"] and r["same_loop"], r
        pids.add(r["pid"])
        if pids == life.workers:
            break
    assert pids == life.workers
    # Each worker answered after its startup ran (started_in == pid); its log line may still
    # be on its way through the pipe's reader thread: wait for it, up to WAIT seconds.
    deadline = time.monotonic() + WAIT
    while True:
        started = {int(pid) for pid in re.findall(r"app: startup (\d+)", "".join(life.log))}
        if started == life.workers or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert started == life.workers


@pytest.mark.parametrize("kind", ["async", "sync", "response"])
def test_background_tasks_run_after_the_response(life, kind):
    key = f"k-{kind}"
    session = requests.Session()  # one connection: one worker
    path = {"async": "/bg/async/", "sync": "/bg/sync/", "response": "/bg/response/"}[kind]
    r = session.get(life.url + path + key, timeout=10)
    # Answered while its task waits for an event only a later request sets.
    assert r.status_code == 200 and r.json()["scheduled"] == key
    assert key not in r.json().get("done", [])
    release = "/release/sync/" if kind == "sync" else "/release/async/"
    done = session.get(life.url + release + key, timeout=WAIT).json()["done"]
    assert key in done


def test_a_failing_background_task_is_logged_and_the_worker_keeps_serving(life):
    assert get(life, "/bg/fail").json() == {"scheduled": "fail"}
    life.wait_for("exception in a background task")
    life.wait_for("ValueError: background failure for the log")
    assert get(life, "/state").status_code == 200


def test_shutdown_waits_for_background_tasks_then_runs_the_lifespan_shutdown(tmp_path):
    flag = tmp_path / "flag"
    s = serve("life", 1, str(flag))
    try:
        pid = get(s, "/bg/slow").json()["pid"]
        s.wait_for(f"slow task started {pid}")
        s.proc.send_signal(signal.SIGTERM)
        # The drain has begun once the server stops listening; the task still runs.
        s.wait_for("shutting down|stopping|SIGTERM")
        flag.write_text("go")
        s.wait_exit_of_all()
        assert s.proc.wait(timeout=WAIT) == 0, "".join(s.log)
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    log = "".join(s.log)
    assert log.index(f"slow task done {pid}") < log.index(f"shutdown {pid}"), log


def test_a_failing_startup_stops_the_server_with_the_error():
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "app_middleware.py"), "0", "2", "badstart"],
        capture_output=True, text=True, timeout=WAIT,
    )
    assert proc.returncode != 0
    assert "the app's startup failed" in proc.stderr
    assert "RuntimeError: the database is not there" in proc.stderr


# --- handler semantics, in process (the TestClient returns once background tasks ran) ----


def test_background_tasks_are_shared_with_dependencies_and_skipped_when_the_handler_raises():
    from fasterapi import BackgroundTasks, Depends, FastAPI, HTTPException
    from fasterapi.testclient import TestClient

    app = FastAPI()
    ran = []

    def dep(tasks: BackgroundTasks):
        tasks.add_task(ran.append, "dep")
        return tasks

    @app.get("/ok")
    async def ok(tasks: BackgroundTasks, from_dep=Depends(dep)):
        assert from_dep is tasks
        tasks.add_task(ran.append, "handler")
        return {"ran": list(ran)}

    @app.get("/fails")
    def fails(tasks: BackgroundTasks):
        tasks.add_task(ran.append, "never")
        raise HTTPException(400, "no")

    client = TestClient(app)
    assert client.get("/ok").json() == {"ran": []}
    assert ran == ["dep", "handler"]
    assert client.get("/fails").status_code == 400
    assert ran == ["dep", "handler"]


def test_lifespan_and_event_handlers_in_the_test_client():
    from contextlib import asynccontextmanager

    from fasterapi import FastAPI, Request
    from fasterapi.testclient import TestClient

    events = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("enter")
        app.state.ready = True
        yield {"db": "connected"}
        events.append("exit")

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root(request: Request):
        return {"db": request.state.db, "ready": request.app.state.ready}

    with TestClient(app) as client:
        assert events == ["enter"]
        assert client.get("/").json() == {"db": "connected", "ready": True}
    assert events == ["enter", "exit"]

    app2 = FastAPI()
    with pytest.warns(DeprecationWarning):
        @app2.on_event("startup")
        def up():
            events.append("startup")

    async def down():
        events.append("shutdown")

    app2.add_event_handler("shutdown", down)
    with TestClient(app2):
        assert events[-1] == "startup"
    assert events[-1] == "shutdown"
