"""A small fasterapi app: `python examples/python/hello.py` serves it on port 8000 with
two worker processes; examples/python_mount.rs mounts the same routes into a Rust app."""

from typing import Optional

from fasterapi import FasterAPI, HTTPException, PlainTextResponse

app = FasterAPI()


@app.get("/hello")
def hello(name: str = "world"):
    return PlainTextResponse(f"Hello, {name}!")


@app.get("/users/{user_id}")
def get_user(user_id: int, verbose: bool = False, tag: Optional[str] = None):
    if user_id == 0:
        raise HTTPException(status_code=404, detail="no such user")
    return {"id": user_id, "verbose": verbose, "tag": tag}


@app.post("/items")
async def create(item: dict):
    return {"created": item}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000, workers=2)
