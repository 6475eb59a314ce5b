"""Micro bench: the cost of the Python dispatch path per request, without HTTP parsing
or socket I/O.

    .venv/bin/python examples/python/bench_dispatch.py [N]

Each case runs an in-memory request N times through one route exactly as the server's
thread does it (attach to the interpreter, build the arguments from the compiled plan,
call the handler, turn the result into a response with the Rust JSON walker), and
prints nanoseconds per request. "empty" is the dispatch overhead itself: a handler that
returns None. The direct-call line is what calling the same Python function in a loop
costs, for reference. Build in release mode first (`maturin develop --release`).
"""

import sys
import timeit

from fasterapi import FasterAPI, PlainTextResponse, _fasterapi

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


@app.get("/empty_blocking", blocking=True)
def empty_blocking():
    return None


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
    ]
    for label, path, params, query in cases:
        _fasterapi._bench_dispatch(routes[path].specs[0], params, query, b"", n // 10)  # warm up
        ns = min(_fasterapi._bench_dispatch(routes[path].specs[0], params, query, b"", n) for _ in range(3))
        print(f"{label:40s} {ns:8.0f} ns/request")
    direct = min(timeit.repeat(empty, number=n, repeat=3)) / n * 1e9
    print(f"{'direct Python call of empty()':40s} {direct:8.0f} ns/call")


if __name__ == "__main__":
    main()
