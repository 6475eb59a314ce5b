"""Micro bench: the cost of the Python dispatch path per request, without HTTP parsing
or socket I/O.

    .venv/bin/python examples/python/bench_dispatch.py [N]

Each case runs an in-memory request N times through one route exactly as the server's
thread does it (attach to the interpreter, build the arguments from the compiled plan,
call the handler, turn the result into a response with the Rust JSON walker), and
prints nanoseconds per request. "empty" is the dispatch overhead itself: a handler that
returns None. The direct-call line is what calling the same Python function in a loop
costs, for reference. The model cases compare a 10-field dict route with the same
dict or a model instance through a pydantic response model, and the stored-user route of
benches/peers/py/realistic_app.py with and without its UserOut. The `request: Request`
cases come with the five headers an HTTP client sends. Build in release mode first
(`maturin develop --release`).
"""

import sys
import timeit
from typing import Optional

from pydantic import BaseModel

from fasterapi import Depends, FasterAPI, HTTPException, PlainTextResponse, Query, Request, Response, _fasterapi

app = FasterAPI()


@app.get("/empty")
def empty():
    return None


@app.get("/json")
def json_route():
    return {"message": "Hello, World!"}


@app.get("/plaintext")
def plaintext():
    return PlainTextResponse("Hello, World!")


PREBUILT = PlainTextResponse("Hello, World!")


@app.get("/const")
def const():
    return PREBUILT


@app.get("/users/{uid}")
def user(uid: int):
    return {"id": uid, "name": f"user{uid}"}


@app.get("/query")
def query(limit: int = 10, verbose: bool = False):
    return {"limit": limit, "verbose": verbose}


@app.get("/async")
async def async_empty():
    return None


@app.get("/request")
def request_unread(request: Request):
    return None


@app.get("/request/url")
def request_url(request: Request):
    return request.url.path


@app.get("/request/header")
def request_header(request: Request):
    return request.headers["user-agent"]


# What a client such as httpx or curl sends.
HEADERS = [
    ("Host", "127.0.0.1:8000"),
    ("User-Agent", "python-httpx/0.28.1"),
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
]


@app.get("/kwonly")
def kwonly(*, limit: int = 10, verbose: bool = False):
    return {"limit": limit, "verbose": verbose}


class Item(BaseModel):
    name: str
    price: float


@app.post("/model")
def model(item: Item):
    return {"name": item.name}


class Filters(BaseModel):
    limit: int = 10
    q: Optional[str] = None


@app.get("/filters")
def filters(f: Filters = Query()):
    return {"limit": f.limit}


@app.get("/empty_blocking", blocking=True)
def empty_blocking():
    return None


class User(BaseModel):
    """Ten fields: the response model of the model cases."""

    id: int
    name: str
    email: str
    age: int
    score: float
    active: bool
    tags: list
    city: str
    country: str
    note: Optional[str] = None


USER = dict(id=1, name="ann", email="ann@example.com", age=33, score=4.5, active=True,
            tags=["a", "b"], city="Paris", country="FR", note=None)
USER_MODEL = User(**USER)


@app.get("/bare_user")
def bare_user():
    return USER


@app.get("/model_from_dict", response_model=User)
def model_from_dict():
    return USER


@app.get("/model_from_instance")
def model_from_instance() -> User:
    return USER_MODEL


@app.get("/model_no_response_model")
def model_no_response_model():
    return USER_MODEL


@app.get("/annotated_dict")
def annotated_dict() -> dict:
    return USER


class UserOut(BaseModel):
    """The response model of benches/peers/py/realistic_app.py."""

    id: int
    name: str
    email: str
    roles: list


STORED_USER = {"id": 7, "name": "user7", "email": "user7@example.com", "roles": ["reader"],
               "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}


@app.get("/stored_user", response_model=UserOut)
def stored_user():
    return STORED_USER


@app.get("/stored_user_bare")
def stored_user_bare():
    return STORED_USER


TOKENS = {"token-7": 7}


def get_token(token: str = "token-7") -> str:
    # realistic_app.py reads an Authorization header; the bench requests have none.
    return token


def get_current_user(token: str = Depends(get_token)) -> dict:
    if TOKENS.get(token) is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return STORED_USER


@app.get("/me_profile", response_model=UserOut)
def my_profile(user: dict = Depends(get_current_user)):
    return user


@app.get("/me_profile_bare")
def my_profile_bare(user: dict = Depends(get_current_user)):
    return user


@app.get("/stored_users", response_model=list[UserOut])
def stored_users():
    return [STORED_USER] * 10


@app.get("/stored_users_bare")
def stored_users_bare():
    return [STORED_USER] * 10


@app.get("/temporal_untouched")
def temporal_untouched(response: Response):
    return USER


@app.get("/temporal")
def temporal(response: Response):
    response.headers["x-a"] = "1"
    return USER


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    routes = {r.path: r for r in app.routes}
    cases = [
        ("empty handler (dispatch overhead)", "/empty", {}, {}),
        ("async empty handler", "/async", {}, {}),
        ('/json {"message": ...}', "/json", {}, {}),
        ('/plaintext PlainTextResponse("...")', "/plaintext", {}, {}),
        ("the same object, built once", "/const", {}, {}),
        ("/users/{uid} int path param", "/users/{uid}", {"uid": "42"}, {}),
        ("two query params (int, bool)", "/query", {}, {"limit": "5", "verbose": "yes"}),
        ("10-field dict, no response model", "/bare_user", {}, {}),
        ("the dict through response_model=User", "/model_from_dict", {}, {}),
        ("a User instance, -> User", "/model_from_instance", {}, {}),
        ("a User instance, no response model", "/model_no_response_model", {}, {}),
        ("the dict, -> dict", "/annotated_dict", {}, {}),
        ("the dict, response: Response header", "/temporal", {}, {}),
        ("the dict, response: Response unused", "/temporal_untouched", {}, {}),
        ("stored user dict, no response model", "/stored_user_bare", {}, {}),
        ("stored user dict through UserOut", "/stored_user", {}, {}),
        ("10 stored user dicts, no response model", "/stored_users_bare", {}, {}),
        ("10 stored user dicts through list[UserOut]", "/stored_users", {}, {}),
        ("2-level Depends chain, no response model", "/me_profile_bare", {}, {}),
        ("2-level Depends chain through UserOut", "/me_profile", {}, {}),
        ("request: Request, nothing read", "/request", {}, {}),
        ("request.url.path", "/request/url", {}, {}),
        ('request.headers["user-agent"]', "/request/header", {}, {}),
        ("two query params, keyword-only", "/kwonly", {}, {"limit": "5", "verbose": "yes"}),
        ("a query parameter model (2 fields)", "/filters", {}, {"limit": "5", "q": "x"}),
        ("a pydantic model body", "/model", {}, {}, b'{"name": "pen", "price": 1.5}'),
    ]
    for label, path, params, query, *body in cases:
        spec = routes[path].specs[0]
        body = body[0] if body else b""
        headers = HEADERS if path.startswith("/request") else []
        if body:
            headers = [("Content-Type", "application/json")]
        _fasterapi._bench_dispatch(spec, params, query, body, n // 10, headers)  # warm up
        ns = min(_fasterapi._bench_dispatch(spec, params, query, body, n, headers) for _ in range(3))
        print(f"{label:40s} {ns:8.0f} ns/request")
    direct = min(timeit.repeat(empty, number=n, repeat=3)) / n * 1e9
    print(f"{'direct Python call of empty()':40s} {direct:8.0f} ns/call")


if __name__ == "__main__":
    main()
