"""The app of test_metrics.py: served with Prometheus metrics at /metrics."""

import os
import sys

from fasterapi import FastAPI, HTTPException

app = FastAPI()


@app.get("/pid")
def pid():
    return os.getpid()


@app.get("/items/{item_id}")
async def item(item_id: int):
    if item_id == 0:
        raise HTTPException(status_code=404, detail="no item 0")
    return {"id": item_id, "pid": os.getpid()}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]), metrics="/metrics")
