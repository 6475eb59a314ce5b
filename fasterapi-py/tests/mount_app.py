"""The Python app tests/mount.rs mounts into a Rust App (no third-party imports)."""

import asyncio
import threading

from fasterapi import FasterAPI, HTTPException, PlainTextResponse, Request

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
