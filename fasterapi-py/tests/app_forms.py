"""The app of test_forms.py: form fields, uploads (UploadFile, bytes, lists), a form model
and OAuth2's password form, with handlers that report what they received."""

import hashlib
import sys
from typing import Annotated, List, Optional

from pydantic import BaseModel

from fasterapi import FasterAPI, File, Form, Request, UploadFile
from fasterapi.security import OAuth2PasswordRequestForm
from fasterapi import Depends

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


if __name__ == "__main__":
    # `limits`: a 16 MiB body limit and a 4 MiB upload limit instead of 8 MiB and 1 GiB.
    limits = {"max_body_bytes": 16 << 20, "max_upload_bytes": 4 << 20} if sys.argv[3:] == ["limits"] else {}
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]), **limits)
