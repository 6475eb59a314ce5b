"""Streamed responses: the app of test_streaming.py.

    python app_streaming.py PORT WORKERS

Generators wait on named events that other requests set, so a test proves that a body is
sent piece by piece, and that a blocking generator stalls nothing else, without timing
anything; the ends of generators are logged to stderr, where the tests wait for them.
"""

import asyncio
import sys
import threading
from collections.abc import AsyncIterable

from pydantic import BaseModel

from fasterapi import FastAPI, sse
from fasterapi.background import BackgroundTask
from fasterapi.responses import StreamingResponse
from fasterapi.sse import EventSourceResponse, ServerSentEvent

# Keep-alive comments after 50 ms without an event (FastAPI's tests monkeypatch it too).
sse._PING_INTERVAL = 0.05

app = FastAPI()

_async_events: dict = {}
_thread_events: dict = {}
_lock = threading.Lock()
#: Bytes produced by the endless bodies, by tag.
produced: dict = {}
#: Generators that took their first step, by tag.
started: dict = {}

PIECE = b"x" * 16384
#: An endless body stops here, so a server that buffered without bound fails its test
#: rather than the machine.
CAP = 256 << 20


def log(msg):
    print(f"app: {msg}", file=sys.stderr, flush=True)


def aevent(key):
    if key not in _async_events:
        _async_events[key] = asyncio.Event()
    return _async_events[key]


def tevent(key):
    with _lock:
        return _thread_events.setdefault(key, threading.Event())


@app.get("/aevent/{key}/set")
async def aevent_set(key: str):
    aevent(key).set()
    return {"set": key}


@app.get("/tevent/{key}/set")
def tevent_set(key: str):
    tevent(key).set()
    return {"set": key}


@app.get("/produced/{tag}")
async def get_produced(tag: str):
    return {"produced": produced.get(tag, 0), "started": started.get(tag, 0)}


@app.get("/plain")
async def plain():
    return {"ok": True}


@app.get("/stepped/{key}")
async def stepped(key: str):
    """'first', then 'second' once /aevent/{key}/set was requested."""

    async def body():
        yield "first"
        await aevent(key).wait()
        yield "second"

    return StreamingResponse(body(), media_type="text/plain")


@app.get("/stepped-sync/{key}")
def stepped_sync(key: str):
    """As /stepped, from a sync generator that blocks its thread on /tevent/{key}/set."""

    def body():
        yield b"first"
        tevent(key).wait()
        yield b"second"

    return StreamingResponse(body(), media_type="text/plain")


@app.get("/forever/{kind}/{tag}")
def forever(kind: str, tag: str):
    """One piece, then an async generator waits forever (kind=async) or a sync one yields
    pieces forever (kind=sync); each logs 'finally {tag}' when closed."""

    async def waits():
        try:
            yield "first"
            await asyncio.Event().wait()
        finally:
            log(f"finally {tag}")

    def yields():
        try:
            yield "first"
            while True:
                yield PIECE
        finally:
            log(f"finally {tag}")

    return StreamingResponse(waits() if kind == "async" else yields())


@app.get("/endless/{kind}/{tag}")
def endless(kind: str, tag: str):
    """16 KiB pieces until CAP, counted in `produced[tag]` as they are made."""
    produced[tag] = 0

    async def agen():
        started[tag] = started.get(tag, 0) + 1
        while produced[tag] < CAP:
            produced[tag] += len(PIECE)
            yield PIECE

    def gen():
        started[tag] = started.get(tag, 0) + 1
        while produced[tag] < CAP:
            produced[tag] += len(PIECE)
            yield PIECE

    return StreamingResponse(agen() if kind == "async" else gen(), media_type="application/octet-stream")


@app.api_route("/counted/{tag}", methods=["GET", "HEAD"])
async def counted(tag: str):
    async def body():
        started[tag] = started.get(tag, 0) + 1
        yield "body"

    return StreamingResponse(body(), media_type="text/plain")


@app.get("/fails")
async def fails():
    async def body():
        yield "partial"
        raise RuntimeError("the generator failed (expected by the test)")

    return StreamingResponse(body())


@app.get("/with-background/{tag}")
async def with_background(tag: str):
    async def body():
        yield "a"
        yield "b"

    return StreamingResponse(body(), background=BackgroundTask(log, f"background {tag}"))


class Item(BaseModel):
    name: str
    price: float


@app.get("/sse/{key}", response_class=EventSourceResponse)
async def events(key: str) -> AsyncIterable[Item]:
    """An item, then (after keep-alive comments while it waits for /aevent/{key}/set) an
    event with every field."""
    yield Item(name="first", price=1.5)
    await aevent(key).wait()
    yield ServerSentEvent(data={"n": 2}, event="update", id="2", retry=1000)


@app.get("/tasks")
def tasks():
    """The unfinished asyncio tasks of the process (every I/O thread's loop)."""
    import gc

    live = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and not o.done()]
    return {"tasks": len(live), "what": [repr(t.get_coro()) for t in live]}


@app.get("/jsonl")
def lines():
    yield {"n": 1}
    yield {"n": 2}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
