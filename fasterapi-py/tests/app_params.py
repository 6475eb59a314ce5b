"""Parameter markers (Query, Path, Header, Cookie, Body) as FastAPI apps use them:
`python app_params.py PORT WORKERS`."""

import sys
import uuid
from typing import Annotated, List, Optional

from pydantic import Field

from fasterapi import Body, Cookie, FasterAPI, Header, Path, Query

app = FasterAPI()


# --- Query ------------------------------------------------------------------------------


@app.get("/query")
def query(q: Optional[str] = Query(None), limit: int = Query(10, ge=1, le=100)):
    return {"q": q, "limit": limit}


@app.get("/query/required")
def query_required(q: str = Query(...), n: int = Query()):
    return {"q": q, "n": n}


@app.get("/query/alias")
def query_alias(item_query: Optional[str] = Query(None, alias="item-query")):
    return {"item_query": item_query}


@app.get("/query/alias_required")
def query_alias_required(item_query: str = Query(..., alias="item-query")):
    return {"item_query": item_query}


@app.get("/query/str")
def query_str(s: str = Query(..., min_length=2, max_length=5, pattern="^[a-zé]+$")):
    return {"s": s}


@app.get("/query/regex")
def query_regex(code: str = Query("ab1", regex=r"\d$"), one: Optional[str] = Query(None, max_length=1)):
    return {"code": code, "one": one}


@app.get("/query/numbers")
def query_numbers(f: float = Query(..., gt=0, lt=1.5), i: int = Query(0, ge=-5, le=5), big: int = Query(0, lt=2**70)):
    return {"f": f, "i": i, "big": big}


@app.get("/query/float_bounds")
def query_float_bounds(x: float = Query(0.5, ge=1e-7, le=1e20), y: float = Query(1.0, gt=0.25)):
    return {"x": x, "y": y}


@app.get("/query/list")
def query_list(tags: List[str] = Query([]), ids: Optional[List[int]] = Query(None)):
    return {"tags": tags, "ids": ids}


@app.get("/query/list_required")
def query_list_required(ids: List[int] = Query(...)):
    return {"ids": ids}


@app.get("/query/pydantic")
def query_pydantic(
    n: int = Query(0, multiple_of=3),
    uid: Optional[uuid.UUID] = Query(None),
    short: List[str] = Query([], max_length=2),
):
    return {"n": n, "uid": uid, "short": short}


# --- Path -------------------------------------------------------------------------------


@app.get("/items/{item_id}")
def item(item_id: int = Path(..., gt=0), q: Optional[str] = None):
    return {"item_id": item_id, "q": q}


@app.get("/names/{name}")
def name(name: str = Path(max_length=4)):
    return {"name": name}


# --- Header -----------------------------------------------------------------------------


@app.get("/header")
def header(x_token: str = Header(...), user_agent: Optional[str] = Header(None)):
    return {"x_token": x_token, "user_agent": user_agent}


@app.get("/header/underscores")
def header_underscores(x_token: Optional[str] = Header(None, convert_underscores=False)):
    return {"x_token": x_token}


@app.get("/header/alias")
def header_alias(token: str = Header(..., alias="X-Api-Key")):
    return {"token": token}


@app.get("/header/int")
def header_int(x_count: int = Header(0, ge=0, le=10)):
    return {"x_count": x_count}


@app.get("/header/list")
def header_list(x_tag: List[str] = Header([])):
    return {"x_tag": x_tag}


# --- Cookie -----------------------------------------------------------------------------


@app.get("/cookie")
def cookie(session: Optional[str] = Cookie(None), visits: int = Cookie(..., ge=0)):
    return {"session": session, "visits": visits}


# --- Body -------------------------------------------------------------------------------


@app.post("/body")
def body(payload: dict = Body(...)):
    return {"payload": payload}


@app.post("/body/optional")
def body_optional(payload: Optional[dict] = Body(None)):
    return {"payload": payload}


@app.post("/body/embed")
def body_embed(name: str = Body(..., embed=True)):
    return {"name": name}


@app.post("/body/scalars")
def body_scalars(name: str = Body(..., min_length=2), qty: int = Body(1, gt=0), price: Optional[float] = Body(None)):
    return {"name": name, "qty": qty, "price": price}


@app.post("/body/int")
def body_int(importance: int = Body(...)):
    return {"importance": importance}


@app.post("/body/alias")
def body_alias(n: int = Body(..., alias="count", embed=True)):
    return {"n": n}


@app.post("/body/list")
def body_list(values: List[int] = Body(..., min_length=1, embed=True)):
    return {"values": values}


# --- Annotated --------------------------------------------------------------------------


@app.get("/annotated/{item_id}")
def annotated(
    item_id: Annotated[int, Path(ge=1)],
    x_token: Annotated[str, Header()],
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    q: Annotated[Optional[str], Query(max_length=3)] = None,
    size: Annotated[int, Query(alias="page-size")] = 20,
    plain: Annotated[int, "documentation only"] = 1,
):
    return {"item_id": item_id, "x_token": x_token, "limit": limit, "q": q, "size": size, "plain": plain}


@app.get("/annotated_field")
def annotated_field(n: Annotated[int, Field(gt=0)], m: Annotated[int, Field(le=5), Query()] = 0):
    return {"n": n, "m": m}


@app.post("/annotated_body")
async def annotated_body(name: Annotated[str, Body(embed=True, max_length=3)]):
    return {"name": name}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
