"""The app of test_files.py: StaticFiles mounts and FileResponse routes over the tree
made by the test (its path is the third argument)."""

import asyncio
import os
import sys

from fasterapi import FastAPI
from fasterapi.responses import FileResponse
from fasterapi.staticfiles import StaticFiles

base = sys.argv[3]
public = os.path.join(base, "public")
hello = os.path.join(public, "hello.txt")

app = FastAPI()
app.mount("/static", StaticFiles(directory=public), name="static")
app.mount("/site", StaticFiles(directory=public, html=True), name="site")


@app.get("/file")
def file():
    return FileResponse(hello)


@app.get("/download")
def download():
    return FileResponse(os.path.join(public, "big.bin"), filename="r\u00e9sum\u00e9.bin")


@app.get("/named")
def named():
    return FileResponse(hello, filename="hello.txt", content_disposition_type="inline")


@app.get("/async-file")
async def async_file():
    # Suspends once: answered later, through the reply, with the request's conditions.
    await asyncio.sleep(0)
    return FileResponse(os.path.join(public, "big.bin"))


@app.get("/stat")
def stat_file():
    return FileResponse(hello, stat_result=os.stat(hello))


@app.get("/custom")
def custom():
    return FileResponse(hello, media_type="text/x-custom", headers={"cache-control": "max-age=60"})


@app.get("/created")
def created():
    return FileResponse(hello, status_code=201)


@app.get("/missing")
def missing():
    return FileResponse(os.path.join(public, "nope.txt"))


@app.get("/directory")
def directory():
    return FileResponse(public)


@app.get("/typed", response_class=FileResponse)
def typed():
    return hello


@app.get("/url")
def url():
    return {"static": str(app.url_path_for("static", path="/sub/page.css"))}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
