"""The SSE memory bench's app (sse_idle.sh), written for FastAPI; sse_idle.sh runs it on
FastAPI + uvicorn and, with the import changed, on fasterapi. GET /events sends one event,
then waits on an event that is never set: the stream stays open and idle (apart from the
keep-alive ping comment both frameworks send every 15 s)."""
import asyncio

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
