"""The SSE benches' app (sse_idle.sh), written for FastAPI; sse_idle.sh runs it on
FastAPI + uvicorn and, with the import changed, on fasterapi. GET /events sends one event,
then waits on an event that is never set: the stream stays open and idle (apart from the
keep-alive ping comment both frameworks send every 15 s). GET /ticks (the fan-out bench,
MODE=fanout) sends the same first event, then every tick of one ticker task (one a second):
`id: N`, `data: tick N MS` (MS: when the tick was sent, milliseconds since the Unix epoch),
each stream woken by the one `asyncio.Event` the ticker sets."""
import asyncio
import time

from fastapi import FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent

app = FastAPI()
never = None


@app.get("/events", response_class=EventSourceResponse)
async def events():
    global never
    if never is None:  # made on the loop that serves the route
        never = asyncio.Event()
    yield ServerSentEvent(data="hello")
    await never.wait()


@app.get("/ping")
def ping():
    return {"ok": True}


ticker = None
latest = (0, 0)  # the last tick: (N, MS)
next_tick = None  # set (and replaced) by the ticker at each tick


async def tick_every_second():
    global latest, next_tick
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        await asyncio.sleep(max(0.0, start + n - time.monotonic()))
        latest = (n, int(time.time() * 1000))
        fired, next_tick = next_tick, asyncio.Event()
        fired.set()


@app.get("/ticks", response_class=EventSourceResponse)
async def ticks():
    global ticker, next_tick
    if ticker is None:  # made on the loop that serves the route
        next_tick = asyncio.Event()
        ticker = asyncio.get_running_loop().create_task(tick_every_second())
    yield ServerSentEvent(data="hello")
    while True:
        await next_tick.wait()
        n, ms = latest
        yield ServerSentEvent(raw_data=f"tick {n} {ms}", id=str(n))
