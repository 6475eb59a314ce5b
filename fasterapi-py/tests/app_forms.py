"""The app of test_forms.py: form fields, uploads (UploadFile, bytes, lists), a form model
and OAuth2's password form, with handlers that report what they received."""

import asyncio
import hashlib
import os
import sys
from typing import Annotated, List, Optional

from pydantic import BaseModel

from fasterapi import FasterAPI, File, Form, Request, UploadFile
from fasterapi.security import OAuth2PasswordRequestForm
from fasterapi import Depends, _fasterapi

app = FasterAPI()


async def digest(file: UploadFile) -> dict:
    h = hashlib.sha256()
    # In pieces, as an app that does not hold uploads in memory reads them.
    while chunk := await file.read(256 * 1024):
        h.update(chunk)
    await file.seek(0)
    return {"filename": file.filename, "size": file.size, "content_type": file.content_type,
            "sha256": h.hexdigest(), "headers": dict(file.headers)}


@app.post("/upload")
async def upload(file: UploadFile, note: Annotated[Optional[str], Form()] = None):
    return {"file": await digest(file), "note": note}


@app.post("/upload-def")
def upload_def(file: UploadFile):
    data = file.file.read()
    return {"filename": file.filename, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


@app.post("/bytes")
async def as_bytes(data: Annotated[bytes, File()], more: Annotated[List[bytes], File()] = None):
    return {"len": len(data), "more": [len(m) for m in more or []]}


@app.post("/many")
async def many(files: List[UploadFile], tags: Annotated[List[str], Form()] = None):
    return {"files": [await digest(f) for f in files], "tags": tags}


@app.post("/fields")
async def fields(name: Annotated[str, Form()], age: Annotated[int, Form(ge=0)]):
    return {"name": name, "age": age}


class Login(BaseModel):
    username: str
    password: str
    model_config = {"extra": "forbid"}


@app.post("/model")
async def model(data: Annotated[Login, Form()]):
    return data


@app.post("/token")
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
    return {"username": form.username, "scopes": form.scopes, "grant_type": form.grant_type}


@app.post("/request-form")
async def request_form(request: Request):
    async with request.form() as form:
        out = []
        for name, value in form.multi_items():
            out.append([name, value if isinstance(value, str) else await digest(value)])
        return out


# Uploads held open: /hold/{key} keeps its file (in its dependency) until /release/{key};
# /held/{key} answers once that upload is held, with where its file is and the upload
# memory then. Each request waits on another one being served, never on time.
HELD: dict = {}
EVENTS: dict = {}


def event(name: str) -> asyncio.Event:
    return EVENTS.setdefault(name, asyncio.Event())


def memory() -> dict:
    in_files, allocated, limit = _fasterapi._upload_memory()
    return {"in_files": in_files, "allocated": allocated, "limit": limit}


async def held_upload(key: str, file: UploadFile) -> UploadFile:
    HELD[key] = file
    event("held:" + key).set()
    await event("release:" + key).wait()
    return file


@app.post("/hold/{key}")
async def hold(key: str, file: Annotated[UploadFile, Depends(held_upload)]):
    HELD.pop(key)
    rolled = file.file._rolled
    out = await digest(file)
    await file.close()
    return {"rolled": rolled, "size": out["size"], "sha256": out["sha256"]}


@app.get("/held/{key}")
async def held(key: str):
    await event("held:" + key).wait()
    return {"rolled": HELD[key].file._rolled, "memory": memory()}


@app.post("/release/{key}")
async def release(key: str):
    event("release:" + key).set()
    return {}


@app.get("/memory")
async def upload_memory():
    return memory()


@app.post("/where")
async def where(file: UploadFile, roll: bool = False, write: bool = False):
    """Where the upload is (in memory or rolled over to a temporary file), its content, and
    the same after `fileno()` (`roll`) or appending `!` (`write`)."""
    first = {"rolled": file.file._rolled, "spool": type(file.file).__name__, "memory": memory(), **await digest(file)}
    if roll:
        os.fstat(file.file.fileno())
    if write:
        file.file.seek(0, 2)
        await file.write(b"!")
        await file.seek(0)
    after = {"rolled": file.file._rolled, "memory": memory(), **await digest(file)}
    await file.close()
    return {"first": first, "after": after}


# Chunks read by /chunks?keep=true, kept past their file's close (until /kept?clear=true).
KEPT: list = []


def same_hash(chunk: bytes) -> bool:
    """Whether a chunk's hash is that of a fresh copy of its bytes (a cached hash of older
    bytes in the same memory would differ)."""
    return hash(chunk) == hash(bytes(bytearray(chunk)))


@app.post("/chunks")
async def chunks(file: UploadFile, sizes: str = "1048576", keep: bool = False):
    """Reads the upload with `read(n)`, n taken in turn from `sizes` (comma-separated;
    "-1": the rest; "s<pos>": a seek to pos instead), hashing each chunk, then closes it;
    `keep`: the chunks are kept past that (KEPT). The chunks' lengths and content, and the
    upload memory once the file is closed."""
    steps = sizes.split(",")
    got, hashes_ok, i = [], True, 0
    while True:
        step = steps[i % len(steps)]
        i += 1
        if step.startswith("s"):
            await file.seek(int(step[1:]))
            continue
        chunk = await file.read(int(step))
        if not chunk:
            break
        hashes_ok = hashes_ok and same_hash(chunk)
        got.append(chunk)
    if keep:
        KEPT.extend(got)
    out = {"lens": [len(c) for c in got], "sha256": hashlib.sha256(b"".join(got)).hexdigest(),
           "hashes_ok": hashes_ok}
    del got, chunk  # the chunks not kept are nobody's once the file is closed
    await file.close()
    return {**out, "memory": memory()}


@app.post("/lent")
async def lent(file: UploadFile, at: int = 0, size: int = 1024 * 1024):
    """Whether two reads of `size` bytes at `at` return the same object (a piece of the
    upload memory lent, not a copy), and whether their bytes are the file's there."""
    await file.seek(at)
    first = await file.read(size)
    await file.seek(at)
    again = await file.read(size)
    return {"same": first is again, "equal": first == again, "len": len(first),
            "sha256": hashlib.sha256(first).hexdigest()}


@app.post("/rolled")
async def rolled(files: List[UploadFile]):
    """Each file's size and content, and whether it was moved to a temporary file."""
    return [{"rolled": f.file._rolled, "size": f.size, "sha256": (await digest(f))["sha256"]} for f in files]


@app.get("/kept")
async def kept(clear: bool = False):
    out = {"sha256": hashlib.sha256(b"".join(KEPT)).hexdigest(), "hashes_ok": all(map(same_hash, KEPT))}
    if clear:
        KEPT.clear()
    return out


@app.post("/file-api")
async def file_api(file: UploadFile):
    """The reading methods of the upload's file, each against io.BytesIO of the same bytes:
    the names of those whose results differ (none, if the file behaves as BytesIO)."""
    import io

    f = file.file
    data = f.read()
    ref = io.BytesIO(data)
    differ = []

    def same(name, a, b):
        if a != b:
            differ.append(name)

    for name, call in [
        ("seek0", lambda x: x.seek(0)),
        ("read7", lambda x: x.read(7)),
        ("tell", lambda x: x.tell()),
        ("readline", lambda x: x.readline()),
        ("readline5", lambda x: x.readline(5)),
        # Some bytes from the position on (a real file's read1 stops at its buffer); the
        # position is set again next.
        ("read1", lambda x: (p := x.tell(), r := x.read1(300_000), 0 < len(r) and data[p:p + len(r)] == r)[2]),
        ("seek_end", lambda x: x.seek(-10, 2)),
        ("read_past_end", lambda x: x.read(100)),
        ("read_at_end", lambda x: x.read()),
        ("seek_cur", lambda x: x.seek(-(len(data) // 2), 1)),
        ("readlines", lambda x: x.readlines()),
        ("seek_past_end", lambda x: (x.seek(len(data) + 5), x.read())),
        ("lines", lambda x: (x.seek(0), list(x))),
        ("readinto", lambda x: (x.seek(3), (b := bytearray(100_000)), x.readinto(b), bytes(b))),
        ("flags", lambda x: (x.readable(), x.seekable(), x.closed)),
    ]:
        same(name, call(f), call(ref))
    return {"differ": differ, "rolled": f._rolled, "size": len(data)}


if __name__ == "__main__":
    # `limits`: a 16 MiB body limit and a 4 MiB upload limit instead of 8 MiB and 1 GiB;
    # `memory`: 3 MiB of upload memory instead of 16 MiB.
    limits = {"max_body_bytes": 16 << 20, "max_upload_bytes": 4 << 20} if sys.argv[3:] == ["limits"] else {}
    if sys.argv[3:] == ["memory"]:
        limits = {"upload_memory_bytes": 3 << 20}
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]), **limits)
