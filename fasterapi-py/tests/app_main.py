"""The app the pytest suite serves: `python app_main.py PORT WORKERS`."""

import asyncio
import datetime
import decimal
import enum
import pathlib
import uuid
import os
import sys
import threading
import time
from typing import Dict, List, Optional

from pydantic import BaseModel, Field

from fasterapi import (
    FasterAPI,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Query,
    Request,
    Response,
)

app = FasterAPI(title="test app")


class Item(BaseModel):
    name: str
    price: float
    tags: List[str] = []


class Color(str, enum.Enum):
    red = "red"
    blue = "blue"


# --- parameters -------------------------------------------------------------------------


@app.get("/items/{item_id}")
def read_item(item_id: int, q: Optional[str] = None, limit: int = 10, flag: bool = False):
    return {"item_id": item_id, "q": q, "limit": limit, "flag": flag}


@app.get("/float")
def read_float(x: float, y: Optional[float] = None):
    return {"x": x, "y": y}


@app.get("/bool")
def read_bool(b: bool):
    return {"b": b}


@app.get("/required")
def required(needed: Optional[int]):
    return {"needed": needed}


@app.get("/names/{name}")
def name(name: str, untyped=None):
    return {"name": name, "untyped": untyped}


@app.get("/colors/{color}")
def colors(color: Color, uid: Optional[uuid.UUID] = None):
    return {"color": color, "is_enum": isinstance(color, Color), "uid": uid}


@app.get("/files/{*path}")
def files(path: str):
    return {"path": path}


@app.post("/dict")
def body_dict(payload: dict):
    return {"got": payload}


@app.post("/list")
def body_list(numbers: List[int]):
    return {"sum": sum(numbers), "types": [type(n).__name__ for n in numbers]}


@app.post("/dict_typed")
def body_dict_typed(scores: Dict[str, int]):
    return scores


@app.post("/model", status_code=201)
def body_model(item: Item):
    return {"name": item.name, "price": item.price, "tags": item.tags, "cls": type(item).__name__}


@app.post("/two")
def two_bodies(item: Item, extra: dict):
    return {"item": item, "extra": extra}


@app.post("/optional_body")
def optional_body(payload: Optional[dict] = None):
    return {"payload": payload}


@app.put("/items/{item_id}")
def put_item(item_id: int, item: Item):
    return {"item_id": item_id, "item": item}


@app.patch("/items/{item_id}")
def patch_item(item_id: int, changes: dict):
    return {"item_id": item_id, "changes": changes}


@app.delete("/items/{item_id}", status_code=204)
def delete_item(item_id: int):
    return None


@app.get("/request/{part}")
async def with_request(part: str, request: Request):
    return {
        "part": part,
        "method": request.method,
        "path": request.path,
        "url": str(request.url),
        "query_params": dict(request.query_params),
        "path_params": request.path_params,
        "x_test": request.headers.get("x-test"),
        "x_test_any_case": request.headers["X-TEST"],
        "has_x_test": "X-Test" in request.headers,
        "body": (await request.body()).decode(),
    }


@app.post("/request_json")
async def request_json(request: Request):
    data = await request.json()
    raw = await request.body()
    return {"json": data, "len": len(raw)}


# --- return values ----------------------------------------------------------------------


@app.get("/ret/dict")
def ret_dict():
    return {"a": 1, "b": [1, 2.5, "x", None, True, False], "c": {"d": "é\"\n"}, 1: "int key"}


@app.get("/ret/list")
def ret_list():
    return [1, "two", 3.0, (4, 5)]


@app.get("/ret/str")
def ret_str():
    return "hello"


@app.get("/ret/int")
def ret_int():
    return 42


@app.get("/ret/bigint")
def ret_bigint():
    return 2**80


@app.get("/ret/float")
def ret_float():
    return 1.5


@app.get("/ret/none")
def ret_none():
    return None


@app.get("/ret/bytes")
def ret_bytes():
    return b"\x00\x01raw"


@app.get("/ret/model")
def ret_model():
    return Item(name="pen", price=1.25, tags=["a"])


class Aliased(BaseModel):
    name: str = Field(alias="Name")
    count: int = 2


class Attrs:
    def __init__(self):
        self.k = 1


@app.get("/ret/encoded")
def ret_encoded():
    return {
        "decimal": decimal.Decimal("1.5"), "whole": decimal.Decimal("2"),
        "seconds": datetime.timedelta(seconds=90.5), "model": Aliased(Name="pen"),
        "set": {1}, "path": pathlib.Path("/tmp/x"), "obj": Attrs(),
    }


@app.get("/ret/response")
def ret_response():
    return Response(content=b"custom", status_code=202, headers={"X-Custom": "yes"}, media_type="application/x-thing")


@app.get("/ret/media/{kind}")
def ret_media(kind: str):
    types = {"csv": "text/csv", "latin": "text/plain; charset=latin-1", "svg": "image/svg+xml"}
    return Response(content="a,b", media_type=types[kind])


@app.get("/ret/json")
def ret_json():
    return JSONResponse({"created": True}, status_code=201, headers={"Location": "/ret/json/1"})


@app.get("/ret/plain")
def ret_plain():
    return PlainTextResponse("Hello, World!")


@app.get("/ret/html")
def ret_html():
    return HTMLResponse("<h1>hi</h1>", status_code=200)


@app.get("/ret/unserializable")
def ret_unserializable():
    return {"x": object()}


# --- errors -----------------------------------------------------------------------------


@app.get("/http_exception/{code}")
def http_exception(code: int):
    if code == 418:
        raise HTTPException(status_code=418, detail={"why": "teapot"}, headers={"X-Error": "tea"})
    raise HTTPException(status_code=code, detail=f"code {code}")


@app.get("/boom")
def boom():
    return 1 / 0


@app.get("/async/boom")
async def async_boom():
    await asyncio.sleep(0)
    raise KeyError("async boom")


@app.get("/async/http_exception")
async def async_http_exception():
    raise HTTPException(status_code=403, detail="forbidden")


# --- async ------------------------------------------------------------------------------


@app.get("/async/plain/{n}")
async def async_plain(n: int):
    return {"n": n, "async": True}


@app.get("/async/sleep")
async def async_sleep(s: float = 0.01):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.sleep(s)
    return {"slept": loop.time() - t0 >= s * 0.9}


@app.get("/async/gather")
async def async_gather():
    async def one(i):
        await asyncio.sleep(0.01)
        return i * 2

    return await asyncio.gather(one(1), one(2), one(3))


@app.get("/async/yield0")
async def async_yield0():
    await asyncio.sleep(0)
    return "after yield"


@app.get("/sync/asyncio_run")
def sync_asyncio_run():
    async def inner():
        await asyncio.sleep(0)
        return "ran"

    return asyncio.run(inner())


# --- threads and processes ----------------------------------------------------------------


@app.get("/thread", blocking=False)
def thread_id():
    return {"thread": threading.get_native_id(), "pid": os.getpid()}


@app.get("/adaptive_thread")
def adaptive_thread_id(sleep: float = 0):
    if sleep:
        time.sleep(sleep)
    return {"thread": threading.get_native_id(), "pid": os.getpid()}


@app.get("/blocking_thread", blocking=True)
def blocking_thread_id():
    return {"thread": threading.get_native_id(), "pid": os.getpid()}


@app.get("/mutable_default")
def mutable_default(tags: list[str] = Query([])):
    # Changing a default in place must not leak into the next request (FastAPI copies).
    tags.append("seen")
    return {"tags": tags}


@app.get("/pid")
def pid():
    return os.getpid()


@app.get("/slow")
def slow():
    print(f"slow handler started in {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(0.5)
    return "slow done"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
