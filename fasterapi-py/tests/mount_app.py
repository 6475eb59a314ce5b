"""The Python app tests/mount.rs mounts into a Rust App (no third-party imports)."""

import asyncio
import threading

import fasterapi.responses
from fasterapi import FasterAPI, HTTPException, PlainTextResponse, Request
from fasterapi.responses import JSONResponse

app = FasterAPI()


@app.get("/py/{id}")
def item(id: int, flag: bool = False):
    if id == 0:
        raise HTTPException(404, "none")
    return {"id": id, "flag": flag}


@app.post("/echo")
def echo(payload: dict, request: Request):
    return {"payload": payload, "method": request.method}


@app.get("/async")
async def slow():
    await asyncio.sleep(0.001)
    return PlainTextResponse("awaited")


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


@app.get("/thread")
def thread():
    return threading.get_native_id()


@app.get("/prefix")
def prefix():
    import sys

    return {"prefix": sys.prefix, "base_prefix": sys.base_prefix, "executable": sys.executable}


_async_events = {}
_thread_events = {}
_lock = threading.Lock()


def _tevent(key):
    with _lock:
        return _thread_events.setdefault(key, threading.Event())


@app.get("/wait/{key}")
async def wait(key: str):
    await _async_events.setdefault(key, asyncio.Event()).wait()
    return {"waited": key}


@app.get("/set/{key}")
async def set_event(key: str):
    _async_events.setdefault(key, asyncio.Event()).set()
    return {"set": key}


@app.get("/wait_thread_event/{key}")
async def wait_thread_event(key: str):
    # Suspends on this I/O thread's loop until a thread of the pool sees the event.
    waited = await asyncio.to_thread(_tevent(key).wait, 30)
    return {"waited": waited}


@app.get("/set_thread_event/{key}")
def set_thread_event(key: str):
    _tevent(key).set()
    return {"set": key}


@app.get("/submodule")
def submodule():
    # A submodule of the package, loaded by the mounting binary from its own copy.
    loader = type(fasterapi.responses.__loader__).__name__
    return JSONResponse({"loader": loader}, status_code=201)
