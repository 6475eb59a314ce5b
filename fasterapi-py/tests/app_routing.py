"""Routers, route names, FastAPI's 404/405, redirect_slashes and exception handlers:
`python app_routing.py PORT WORKERS [MODE]`, MODE `main` (the default), `handlers` (an app
whose exception handlers also answer the router's 404 and 405, and unhandled
exceptions) or `no_redirect` (redirect_slashes=False)."""

import asyncio
import sys
from typing import Annotated

from fasterapi import APIRouter, FasterAPI, HTTPException, Query, Request
from fasterapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fasterapi.exceptions import RequestValidationError, StarletteHTTPException
from fasterapi.responses import JSONResponse, PlainTextResponse

MODE = sys.argv[3] if len(sys.argv) > 3 else "main"

app = FasterAPI(redirect_slashes=MODE != "no_redirect")


# --- routers ----------------------------------------------------------------------------

users = APIRouter(prefix="/users", tags=["users"])


@users.get("/")
async def list_users():
    return [{"username": "Rick"}, {"username": "Morty"}]


@users.get("/{username}", name="user")
def read_user(username: str, request: Request):
    return {"username": username, "path": request.path}


inner = APIRouter(prefix="/inner")


@inner.api_route("/both", methods=["GET", "POST"])
def both(request: Request):
    return {"method": request.method}


outer = APIRouter(prefix="/outer", tags=["outer"])
outer.include_router(inner, prefix="/in")
app.include_router(users)
app.include_router(outer, prefix="/v1")


# Added after the include: served too, as in FastAPI.
@inner.delete("/late/{n}")
def late(n: int):
    return {"late": n}


@app.get("/items")
def items(q: str = "none"):
    return {"items": [], "q": q}


@app.post("/items")
def create_item():
    return {"created": True}


def added(x: int):
    return {"x": x}


app.add_api_route("/added/{x}", added, methods=["PUT"], name="added_route")


@app.options("/opt")
def opt():
    return {"method": "OPTIONS"}


@app.get("/url_for")
def url_for(name: str, username: str = ""):
    params = {"username": username} if username else {}
    try:
        return {"path": app.url_path_for(name, **params)}
    except Exception as e:  # noqa: BLE001 - the test reads which exception it was
        return {"error": type(e).__name__, "message": str(e)}


# --- errors ----------------------------------------------------------------------------


class UnicornException(Exception):
    def __init__(self, name: str):
        self.name = name


class SubUnicorn(UnicornException):
    pass


@app.exception_handler(UnicornException)
async def unicorn_handler(request: Request, exc: UnicornException):
    return JSONResponse(status_code=418, content={"message": f"Oops! {exc.name}", "path": request.path})


@app.get("/unicorns/{name}")
async def read_unicorn(name: str):
    if name == "yolo":
        raise UnicornException(name)
    if name == "sub":
        raise SubUnicorn(name)
    if name == "later":
        await asyncio.sleep(0)  # suspends: the exception comes after the request deferred
        raise UnicornException(name)
    return {"unicorn": name}


def teapot(request: Request, exc: HTTPException):
    return PlainTextResponse(f"teapot: {exc.detail}", status_code=418, headers=exc.headers)


app.add_exception_handler(418, teapot)


@app.get("/raise/{status}")
def raise_status(status: int):
    raise HTTPException(status_code=status, detail=f"status {status}", headers={"X-Error": "yes"})


@app.get("/validated/{n}")
def validated(n: int, limit: Annotated[int, Query(ge=1)] = 1):
    return {"n": n, "limit": limit}


@app.post("/body")
def body(item: dict):
    return item


@app.exception_handler(RequestValidationError)
async def validation_handler(request, exc: RequestValidationError):
    if request.path.startswith("/body"):
        return JSONResponse(status_code=400, content={"errors": len(exc.errors()), "body": exc.body})
    response = await request_validation_exception_handler(request, exc)
    response.headers["X-Validation"] = "default"
    return response


@app.get("/boom")
def boom():
    raise RuntimeError("boom")


if MODE == "handlers":

    @app.exception_handler(StarletteHTTPException)
    async def every_http_exception(request, exc):
        if exc.status_code == 405:
            return PlainTextResponse(f"{exc.status_code} {exc.detail} allow={exc.headers['Allow']}", status_code=405)
        if exc.status_code == 404 and request.path == "/async_404":
            await asyncio.sleep(0)  # the handler's coroutine suspends
        if exc.status_code == 404:
            return PlainTextResponse(f"{exc.status_code} {exc.detail} at {request.path}", status_code=404)
        return await http_exception_handler(request, exc)

    @app.exception_handler(500)
    def server_error(request, exc):
        return PlainTextResponse(f"handled {type(exc).__name__}: {exc}", status_code=500)

    @app.get("/later_boom")
    async def later_boom():
        await asyncio.sleep(0)
        raise RuntimeError("later boom")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
