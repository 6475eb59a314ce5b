"""Handlers that wait: the app of test_wait.py.

    python app_wait.py PORT WORKERS [OPTION=VALUE ...]   (options of FasterAPI.run)

Requests wait on named events that other requests set, so a test proves that one request
was served while another was suspended without timing anything.
"""

import asyncio
import contextvars
import os
import socket
import sys
import threading

from fasterapi import FasterAPI, HTTPException

app = FasterAPI()

_async_events: dict[str, asyncio.Event] = {}
_thread_events: dict[str, threading.Event] = {}
_lock = threading.Lock()
#: Handlers currently suspended inside /aevent/{key}/wait, by key.
waiting: dict[str, int] = {}
request_id = contextvars.ContextVar("request_id", default=None)
background: set = set()


def log(msg):
    print(f"app: {msg}", file=sys.stderr, flush=True)


def aevent(key):
    if key not in _async_events:
        _async_events[key] = asyncio.Event()
    return _async_events[key]


def tevent(key):
    with _lock:
        return _thread_events.setdefault(key, threading.Event())


@app.get("/aevent/{key}/wait")
async def aevent_wait(key: str):
    waiting[key] = waiting.get(key, 0) + 1
    try:
        await aevent(key).wait()
    except asyncio.CancelledError:
        log(f"cancelled {key}")
        raise
    finally:
        waiting[key] -= 1
    return {"waited": key}


@app.get("/aevent/{key}/set")
async def aevent_set(key: str):
    aevent(key).set()
    return {"set": key}


@app.get("/aevent/{key}/waiting")
def aevent_waiting(key: str):
    return waiting.get(key, 0)


#: def handlers currently inside /tevent/{key}/wait, by key.
twaiting: dict[str, int] = {}


@app.get("/tevent/{key}/wait")
def tevent_wait(key: str):
    with _lock:
        twaiting[key] = twaiting.get(key, 0) + 1
    try:
        return {"waited": tevent(key).wait(timeout=60), "thread": threading.get_native_id()}
    finally:
        with _lock:
            twaiting[key] -= 1


@app.get("/tevent/{key}/waiting")
async def tevent_waiting(key: str):
    return twaiting.get(key, 0)


@app.get("/tevent/{key}/aset")
async def tevent_aset(key: str):
    tevent(key).set()
    return {"set": key}


@app.get("/tevent/{key}/set")
def tevent_set(key: str):
    tevent(key).set()
    return {"set": key}


@app.get("/trivial")
def trivial():
    return {"message": "Hello, World!"}


@app.get("/atrivial")
async def atrivial():
    return {"async": True}


@app.get("/sleep")
async def sleep(s: float = 0.01):
    await asyncio.sleep(s)
    return {"slept": s}


@app.get("/prune_timers")
async def prune_timers():
    # 200 timers made and cancelled: the loop's next iteration replaces its list of
    # timers (asyncio prunes it once most are cancelled).
    loop = asyncio.get_running_loop()
    before = loop._scheduled
    for handle in [loop.call_later(3600, print) for _ in range(200)]:
        handle.cancel()
    await asyncio.sleep(0)
    return {"replaced": loop._scheduled is not before}


@app.get("/features")
async def features():
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None and task.get_loop() is loop
    results = await asyncio.gather(asyncio.sleep(0.001, "a"), asyncio.sleep(0.002, "b"))
    waited = await asyncio.wait_for(asyncio.sleep(0.001, "w"), timeout=30)
    try:
        async with asyncio.timeout(0.001):
            await asyncio.Event().wait()
        timed_out = False
    except TimeoutError:
        timed_out = True
    try:
        await asyncio.wait_for(asyncio.Event().wait(), timeout=0.001)
        wait_for_timed_out = False
    except TimeoutError:
        wait_for_timed_out = True
    # In a thread, and back on the loop.
    in_thread = await asyncio.to_thread(lambda: threading.get_native_id())
    return {
        "gather": results,
        "wait_for": waited,
        "timeout": timed_out,
        "wait_for_timeout": wait_for_timed_out,
        "to_thread": in_thread != threading.get_native_id(),
        "running": loop.is_running(),
    }


@app.get("/context/{value}")
async def context(value: str, key: str = ""):
    before = request_id.get()
    request_id.set(value)
    if key:
        await aevent_wait(key)
    return {"before": before, "after": request_id.get()}


@app.get("/spawn/{key}")
async def spawn(key: str):
    async def later():
        await aevent(key).wait()
        aevent(key + "-done").set()

    task = asyncio.get_running_loop().create_task(later())
    background.add(task)
    task.add_done_callback(background.discard)
    return {"spawned": key}


@app.get("/fetch")
async def fetch(url: str):
    import httpx

    async with httpx.AsyncClient() as client:
        r = await client.get(url)
    return {"status": r.status_code, "body": r.text}


@app.get("/read_stream")
async def read_stream(port: int):
    """Reads what the server on `port` sends until it closes, through a protocol on the
    worker's loop: how many bytes, their SHA-256, and the most one read delivered."""
    import hashlib

    loop = asyncio.get_running_loop()
    closed = loop.create_future()
    seen = {"bytes": 0, "largest_read": 0}
    digest = hashlib.sha256()

    class Reader(asyncio.Protocol):
        def data_received(self, data):
            seen["bytes"] += len(data)
            seen["largest_read"] = max(seen["largest_read"], len(data))
            digest.update(data)

        def connection_lost(self, exc):
            closed.set_result(None)

    await loop.create_connection(Reader, "127.0.0.1", port)
    await closed
    return {**seen, "sha256": digest.hexdigest()}


@app.get("/boom_after_await")
async def boom_after_await():
    await asyncio.sleep(0)
    raise KeyError("boom after await")


@app.get("/http_exception_after_await")
async def http_exception_after_await():
    await asyncio.sleep(0)
    raise HTTPException(status_code=418, detail="teapot after await")


@app.get("/until_shutdown")
async def until_shutdown():
    """Returns once this worker's listener refuses connections: it saw the shutdown."""
    port = int(os.environ["APP_PORT"])
    log("until_shutdown waiting")
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return {"saw_shutdown": True}
        writer.close()
        await asyncio.sleep(0.01)


@app.get("/forever")
async def forever():
    log("forever waiting")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        log("forever cancelled")
        raise


if __name__ == "__main__":
    port = int(sys.argv[1])
    if port == 0:
        # /until_shutdown needs the port before the server prints it: pick one.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    os.environ["APP_PORT"] = str(port)
    options = {}
    for arg in sys.argv[3:]:
        name, value = arg.split("=", 1)
        options[name] = float(value) if "." in value else int(value)
    app.run(host="127.0.0.1", port=port, workers=int(sys.argv[2]), **options)
