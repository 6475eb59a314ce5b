"""The app of test_gzip.py: GZipMiddleware as FastAPI's docs add it, and routes whose
answers it compresses or leaves alone.

    python app_gzip.py PORT WORKERS"""

import asyncio
import sys

from fasterapi import FastAPI
from fasterapi.middleware.gzip import GZipMiddleware
from fasterapi.responses import PlainTextResponse, Response

app = FastAPI()
app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)

ITEMS = [{"id": i, "name": f"item {i}", "tags": ["a", "b", str(i % 7)]} for i in range(200)]


@app.get("/items")
def items():
    return ITEMS


@app.get("/async-items")
async def async_items():
    # Suspends: the answer comes back through the event loop (a deferred reply).
    await asyncio.sleep(0)
    return ITEMS


@app.get("/large")
async def large():
    return PlainTextResponse("x" * 4000)


@app.get("/small")
async def small():
    return "somebigcontent"


@app.get("/png")
def png():
    return Response(b"\x89PNG" + b"\0" * 4000, media_type="image/png")


@app.get("/encoded")
def encoded():
    return Response(b"y" * 4000, media_type="text/plain", headers={"Content-Encoding": "br"})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
