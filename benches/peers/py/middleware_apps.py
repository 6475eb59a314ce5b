"""The FastAPI apps of the middleware load benchmark (benches/load/mw.sh), written for
FastAPI. fasterapi runs this same file with its imports changed (`fastapi` -> `fasterapi`,
done by mw.sh with sed, nothing else).

  cors_app  CORSMiddleware (listed origins, credentials, an extra allowed header) around
            GET /items: a preflight (OPTIONS with Origin and Access-Control-Request-Method)
            and a CORS-wrapped GET (with Origin)
  mw_app    one @app.middleware("http") function adding a response header around
            GET /items
"""

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

cors_app = FastAPI()
cors_app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://app.example"],
    allow_methods=["GET", "POST"],
    allow_headers=["X-Token"],
    allow_credentials=True,
)


@cors_app.get("/items")
def cors_items():
    return {"items": [1, 2, 3]}


mw_app = FastAPI()


@mw_app.middleware("http")
async def add_header(request: Request, call_next):
    response = await call_next(request)
    response.headers["X-Served-By"] = "middleware"
    return response


@mw_app.get("/items")
def mw_items():
    return {"items": [1, 2, 3]}
