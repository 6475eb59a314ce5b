"""Peer of benches/load/wait.sh: FastAPI with handlers that wait (served by uvicorn or
granian --interface asgi). The same routes, of the same kinds, as
examples/python/wait_app.py:

    /wait     async def, awaits asyncio.sleep(0.01)
    /gather   async def, awaits asyncio.gather of three asyncio.sleep(0.01)
    /block    plain def, time.sleep(0.01): FastAPI runs it on its threadpool (anyio, 40 threads)
    /trivial  plain def, returns {"message": "Hello, World!"} (also through the threadpool)
"""
import asyncio
import time

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/wait")
async def wait():
    await asyncio.sleep(0.01)
    return {"ok": True}


@app.get("/gather")
async def gather():
    await asyncio.gather(asyncio.sleep(0.01), asyncio.sleep(0.01), asyncio.sleep(0.01))
    return {"ok": True}


@app.get("/block")
def block():
    time.sleep(0.01)
    return {"ok": True}


@app.get("/trivial")
def trivial():
    return {"message": "Hello, World!"}
