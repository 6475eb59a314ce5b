"""Peer of benches/load/wait.sh: Robyn with handlers that wait. Port from PORT env
(default 8080). Workers/processes via Robyn's own CLI flags: --processes N --workers N.
The same routes, of the same kinds, as examples/python/wait_app.py:

    /wait     async def, awaits asyncio.sleep(0.01)
    /gather   async def, awaits asyncio.gather of three asyncio.sleep(0.01)
    /block    plain def, time.sleep(0.01)
    /trivial  plain def, returns {"message": "Hello, World!"}
Dict return values are serialized by Robyn (orjson) per request."""
import asyncio
import os
import time

from robyn import Robyn

app = Robyn(__file__)


@app.get("/wait")
async def wait(request):
    await asyncio.sleep(0.01)
    return {"ok": True}


@app.get("/gather")
async def gather(request):
    await asyncio.gather(asyncio.sleep(0.01), asyncio.sleep(0.01), asyncio.sleep(0.01))
    return {"ok": True}


@app.get("/block")
def block(request):
    time.sleep(0.01)
    return {"ok": True}


@app.get("/trivial")
def trivial(request):
    return {"message": "Hello, World!"}


if __name__ == "__main__":
    app.start(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), _check_port=False)
