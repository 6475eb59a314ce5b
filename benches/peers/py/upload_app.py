"""The upload benchmark's app (benches/load/upload.sh), written for FastAPI: one route taking
a multipart upload as an UploadFile, read in 1 MiB pieces (as an app that does not hold
uploads in memory reads them), answering its name and size. fasterapi serves a copy with
the imports changed."""

from fastapi import FastAPI, UploadFile

app = FastAPI()


@app.post("/upload")
async def upload(file: UploadFile):
    size = 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
    return {"filename": file.filename, "size": size}


@app.get("/ready")
async def ready():
    return {"ok": True}
