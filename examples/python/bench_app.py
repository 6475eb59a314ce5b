"""The peer rig's routes as fasterapi Python handlers (compare ../shared/peers/py/).

    python examples/python/bench_app.py --port 18080 --workers 1

With the peer rig (server pinned to core 0, wrk to core 1), from the project root:

    MODE=pinned CONFIG=1w-pinned ../shared/peers/bench.sh fasterapi-py \
        .venv/bin/python examples/python/bench_app.py --port {PORT} --workers 1
    MODE=unpinned CONFIG=2w-unpinned ../shared/peers/bench.sh fasterapi-py \
        .venv/bin/python examples/python/bench_app.py --port {PORT} --workers 2

Build the package in release mode first (`maturin develop --release -m fasterapi-py/Cargo.toml`
in the venv, or `pip install ./fasterapi-py`).
"""

import argparse

from fasterapi import FasterAPI, PlainTextResponse

app = FasterAPI()


@app.get("/plaintext")
def plaintext():
    return PlainTextResponse("Hello, World!")


@app.get("/json")
def json_route():
    return {"message": "Hello, World!"}


@app.get("/users/{uid}")
def user(uid: int):
    return {"id": uid, "name": f"user{uid}"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    app.run(host=args.host, port=args.port, workers=args.workers)
