"""Middleware, lifespan and background tasks: the apps of test_middleware.py.

    python app_middleware.py PORT WORKERS MODE [FLAG_FILE]

MODE picks the app: ``cors`` (CORSMiddleware with listed origins, a regex and
credentials, outside a counting Python middleware), ``cors_any`` (any origin),
``mw`` (two ``@app.middleware("http")`` functions and a BaseHTTPMiddleware subclass),
``hosts`` (TrustedHostMiddleware), ``https`` (HTTPSRedirectMiddleware), ``life``
(lifespan, background tasks). Handlers wait on events other requests set, so the
tests prove order without timing anything.
"""

import asyncio
import os
import sys
import threading
import time
from contextlib import asynccontextmanager

from fasterapi import BackgroundTasks, FastAPI, HTTPException, Request
from fasterapi.middleware.base import BaseHTTPMiddleware
from fasterapi.middleware.cors import CORSMiddleware
from fasterapi.middleware.httpsredirect import HTTPSRedirectMiddleware
from fasterapi.middleware.trustedhost import TrustedHostMiddleware
from fasterapi.responses import JSONResponse, PlainTextResponse


def log(msg):
    # One write per line: with `python -u`, print() writes the text and the newline
    # apart, and another worker's line could land between them (seen: a flaky test).
    sys.stderr.write(f"app: {msg}\n")
    sys.stderr.flush()


def cors_app(any_origin=False):
    app = FastAPI()
    seen = {"python": 0}

    # Added first: inside CORS, so a preflight never reaches it.
    @app.middleware("http")
    async def count(request: Request, call_next):
        seen["python"] += 1
        return await call_next(request)

    if any_origin:
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    else:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["https://a.example"],
            allow_origin_regex=r"https://.*\.b\.example",
            allow_methods=["GET", "POST"],
            allow_headers=["X-Token"],
            allow_credentials=True,
            expose_headers=["X-Count"],
            max_age=60,
        )

    @app.get("/items")
    def items():
        return {"python": seen["python"]}

    @app.get("/vary")
    def vary():
        return PlainTextResponse("v", headers={"Vary": "Accept-Encoding"})

    @app.get("/later")
    async def later():
        await asyncio.sleep(0)  # suspends once: answered through a deferred reply
        return {"later": True}

    return app


def mw_app():
    app = FastAPI()
    calls = {"handler": 0}

    class Tagging(BaseHTTPMiddleware):
        def __init__(self, app, tag):
            super().__init__(app)
            self.tag = tag

        async def dispatch(self, request, call_next):
            request.state.trace.append(f"{self.tag}-in")
            response = await call_next(request)
            response.headers["x-tag"] = self.tag
            request.state.trace.append(f"{self.tag}-out")
            return response

    app.add_middleware(Tagging, tag="innermost")

    @app.middleware("http")
    async def inner(request: Request, call_next):
        request.state.trace.append("inner-in")
        if request.headers.get("x-block"):
            return JSONResponse({"blocked": True}, status_code=403)
        response = await call_next(request)
        request.state.trace.append("inner-out")
        response.headers["x-trace"] = ",".join(request.state.trace)
        return response

    @app.middleware("http")
    async def outer(request: Request, call_next):
        request.state.trace = ["outer-in"]
        if request.method == "POST":
            body = await request.body()  # the handler reads it too
            request.state.body_seen = len(body)
        response = await call_next(request)
        response.headers["x-outer"] = str(response.status_code)
        return response

    @app.get("/hello")
    def hello(request: Request):
        calls["handler"] += 1
        request.state.trace.append("handler")
        return {"trace": request.state.trace, "calls": calls["handler"]}

    @app.get("/calls")
    def count_calls():
        return calls

    events = {}

    @app.get("/wait/{key}")
    async def wait(key: str, request: Request):
        event = events.setdefault(key, asyncio.Event())
        await event.wait()
        request.state.trace.append("handler")
        return {"waited": key}

    @app.get("/set/{key}")
    async def set_(key: str):
        events.setdefault(key, asyncio.Event()).set()
        return {"set": key}

    thread_events = {}
    lock = threading.Lock()

    def thread_event(key):
        with lock:
            return thread_events.setdefault(key, threading.Event())

    @app.get("/block/{key}", blocking=True)
    def block(key: str, request: Request):
        # Holds its thread until another request sets the event.
        thread_event(key).wait(30)
        request.state.trace.append("handler")
        return {"blocked": key}

    @app.get("/unblock/{key}")
    def unblock(key: str):
        thread_event(key).set()
        return {"unblocked": key}

    @app.post("/echo")
    async def echo(payload: dict, request: Request):
        return {"payload": payload, "body_seen": request.state.body_seen}

    @app.get("/teapot")
    async def teapot():
        await asyncio.sleep(0)
        raise HTTPException(418, "short and stout")

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    return app


def hosts_app():
    app = FastAPI()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["www.example.com", "*.example.org"])

    @app.get("/h")
    def h():
        return {"ok": True}

    return app


def https_app():
    app = FastAPI()
    app.add_middleware(HTTPSRedirectMiddleware)

    @app.get("/h")
    def h():
        return {"ok": True}

    return app


def life_app(flag_file):
    @asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        log(f"startup {os.getpid()}")
        yield {"started_in": os.getpid(), "loop_id": id(loop)}
        log(f"shutdown {os.getpid()}")

    app = FastAPI(lifespan=lifespan)
    async_events = {}
    thread_events = {}
    lock = threading.Lock()
    done = []

    def thread_event(key):
        with lock:
            return thread_events.setdefault(key, threading.Event())

    def async_event(key):
        return async_events.setdefault(key, asyncio.Event())

    @app.get("/state")
    async def state(request: Request):
        return {
            "pid": os.getpid(),
            "started_in": request.state.started_in,
            "same_loop": request.state.loop_id == id(asyncio.get_running_loop()),
        }

    async def async_task(key):
        await async_event(key).wait()
        done.append(key)
        async_event(key + "-done").set()

    def sync_task(key):
        thread_event(key).wait(30)
        done.append(key)
        thread_event(key + "-done").set()

    def failing_task():
        raise ValueError("background failure for the log")

    @app.get("/bg/async/{key}")
    async def bg_async(key: str, tasks: BackgroundTasks):
        tasks.add_task(async_task, key)
        return {"scheduled": key, "done": list(done)}

    @app.get("/bg/sync/{key}")
    def bg_sync(key: str, tasks: BackgroundTasks):
        tasks.add_task(sync_task, key)
        return {"scheduled": key, "done": list(done)}

    @app.get("/bg/response/{key}")
    async def bg_response(key: str):
        from fasterapi.background import BackgroundTask

        return JSONResponse({"scheduled": key}, background=BackgroundTask(async_task, key))

    @app.get("/release/async/{key}")
    async def release_async(key: str):
        async_event(key).set()
        await async_event(key + "-done").wait()
        return {"done": list(done)}

    @app.get("/release/sync/{key}", blocking=True)
    def release_sync(key: str):
        thread_event(key).set()
        thread_event(key + "-done").wait(30)
        return {"done": list(done)}

    @app.get("/bg/fail")
    def bg_fail(tasks: BackgroundTasks):
        tasks.add_task(failing_task)
        return {"scheduled": "fail"}

    def slow_task():
        # Holds the worker's shutdown (the drain) until the test creates the flag file.
        log(f"slow task started {os.getpid()}")
        while not os.path.exists(flag_file):
            time.sleep(0.01)
        log(f"slow task done {os.getpid()}")

    @app.get("/bg/slow")
    def bg_slow(tasks: BackgroundTasks):
        tasks.add_task(slow_task)
        return {"pid": os.getpid()}

    return app


def badstart_app():
    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("the database is not there")
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/h")
    def h():
        return {"ok": True}

    return app


if __name__ == "__main__":
    port, workers, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    apps = {
        "cors": lambda: cors_app(),
        "cors_any": lambda: cors_app(any_origin=True),
        "mw": mw_app,
        "hosts": hosts_app,
        "https": https_app,
        "badstart": badstart_app,
        "life": lambda: life_app(sys.argv[4] if len(sys.argv) > 4 else "/nonexistent"),
    }
    apps[mode]().run(host="127.0.0.1", port=port, workers=workers)
