"""The app of test_request.py: handlers that report what they see of their `Request`."""

import inspect
import sys

from fasterapi import FasterAPI, Request
from fasterapi.datastructures import URL, Address, FormData, Headers, QueryParams, State

app = FasterAPI()
app.marker = "the app object"


def describe(request: Request, item_id: str) -> dict:
    url = request.url
    client = request.client
    return {
        "item_id": item_id,
        "method": request.method,
        "types": [
            isinstance(url, URL),
            isinstance(request.base_url, URL),
            isinstance(request.headers, Headers),
            isinstance(request.query_params, QueryParams),
            isinstance(client, Address),
            isinstance(request.state, State),
        ],
        "url": str(url),
        "url_parts": [url.scheme, url.netloc, url.hostname, url.port, url.path, url.query],
        "base_url": str(request.base_url),
        "with_page": str(url.include_query_params(page=2)),
        "header": request.headers["X-Multi"],
        "header_list": request.headers.getlist("x-multi"),
        "header_items": [[k, v] for k, v in request.headers.items() if k.startswith("x-")],
        "has_header": ["X-MULTI" in request.headers, "x-none" in request.headers],
        "query": request.query_params["q"],
        "query_list": request.query_params.getlist("q"),
        "query_items": request.query_params.multi_items(),
        "path_params": request.path_params,
        "cookies": request.cookies,
        "client": [client.host, client.port],
        "app": request.app.marker,
        "scope": [request.scope["type"], request.scope["path"], request.scope["method"],
                  request["query_string"].decode(), request.scope["client"][1]],
        "same_objects": request.url is request.url and request.headers is request.headers,
    }


@app.get("/def/{item_id}")
def in_def(item_id: str, request: Request):
    return describe(request, item_id)


@app.get("/async/{item_id}")
async def in_async(item_id: str, request: Request):
    return describe(request, item_id)


@app.get("/pool/{item_id}", blocking=True)
def on_pool(item_id: str, request: Request):
    return describe(request, item_id)


@app.get("/url")
def url(request: Request):
    return [str(request.url), request.url.scheme, request.url.path, str(request.base_url)]


@app.get("/peer")
def peer(request: Request):
    return list(request.client)


@app.get("/state")
def state(request: Request):
    # A new State per request: nothing is left from the previous one.
    before = dict(request.state._state)
    request.state.user = "alice"
    request.state["role"] = "admin"
    return {"before": before, "user": request.state.user, "scope_state": request.scope["state"],
            "same": request.state is request.state}


@app.post("/body")
async def body(request: Request):
    raw = await request.body()
    data = await request.json()
    again = await request.json()
    chunks = [chunk async for chunk in request.stream()]
    return {"raw": raw.decode(), "json": data, "parsed_once": data is again, "chunks": [c.decode() for c in chunks]}


@app.post("/body_in_def")
def body_in_def(request: Request):
    pending = request.body()
    is_coroutine = inspect.iscoroutine(pending)
    pending.close()
    return {"is_coroutine": is_coroutine}


@app.post("/form")
async def form(request: Request):
    form = await request.form()
    assert isinstance(form, FormData)
    async with request.form() as same:
        assert same is form
    return {"items": form.multi_items(), "name": form.get("name")}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
