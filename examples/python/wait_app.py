"""Handlers that wait, as fasterapi Python handlers (the routes of benches/load/wait.sh).

    python examples/python/wait_app.py --port 18480 --workers 1

Routes (all GET, all answer JSON):

    /wait     async def, awaits asyncio.sleep(0.01)                      -> {"ok": true}
    /gather   async def, awaits asyncio.gather of three 10 ms sleeps     -> {"ok": true}
    /block    plain def, time.sleep(0.01) (no blocking= option: the default rule decides)
                                                                         -> {"ok": true}
    /trivial  plain def, no waiting                                      -> {"message": "Hello, World!"}

fasterapi only, to measure where handlers run (server CPU per request, ONLY=fasterapi-py
PATHS="/trivial /trivial_pool /atrivial /asleep0" benches/load/wait.sh):

    /trivial_pool  /trivial with blocking=True: every call through the thread pool
    /atrivial      async def, no waiting: answered on its first step
    /asleep0       async def, awaits asyncio.sleep(0): suspends once, one loop turn

The same routes for the peers: benches/peers/py/wait_fastapi.py (FastAPI on uvicorn or
granian) and benches/peers/py/wait_robyn.py (Robyn). Build the package in release mode
first (`pip install ./fasterapi-py`, or `maturin develop --release -m fasterapi-py/Cargo.toml`
in the venv).
"""

import argparse
import asyncio
import time

from fasterapi import FasterAPI

app = FasterAPI()


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


@app.get("/trivial_pool", blocking=True)
def trivial_pool():
    return {"message": "Hello, World!"}


@app.get("/atrivial")
async def atrivial():
    return {"message": "Hello, World!"}


@app.get("/asleep0")
async def asleep0():
    await asyncio.sleep(0)
    return {"message": "Hello, World!"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port, workers=args.workers)
