"""A realistic FastAPI app for the load benchmark (benches/load/app.sh): the kinds of routes
real services have, written for FastAPI. fasterapi runs this same file with its imports
changed (`fastapi` -> `fasterapi`, done by app.sh with sed, nothing else).

Routes (rotated by benches/load/app.lua):
  GET  /items/{item_id}?q=&limit=   path + query parameters, validated ints
  GET  /users/{user_id}/orders      nested JSON (a list of orders with their lines)
  POST /items                       a pydantic body, returned as the model
  POST /search?page=&size=          a dict body with query parameters
  GET  /async/{n}                   an async def route
  GET  /whoami                      Request injection (headers, url, client)
  GET  /me                          a two-level Depends chain (token -> user)
  GET  /users/{user_id}             a response_model filtering a stored user (no password)
  GET  /me/profile                  two-level Depends chain AND a response_model
  GET  /bare                        the bare route CPU is compared with
"""

from typing import List, Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from pydantic import BaseModel

app = FastAPI()


class Line(BaseModel):
    sku: str
    qty: int
    price: float


class Item(BaseModel):
    name: str
    price: float
    tags: List[str] = []
    lines: List[Line] = []
    description: Optional[str] = None


class UserOut(BaseModel):
    id: int
    name: str
    email: str
    roles: List[str]


USERS = {
    i: {"id": i, "name": f"user{i}", "email": f"user{i}@example.com", "roles": ["reader"],
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}
    for i in range(1, 101)
}
TOKENS = {f"token-{i}": i for i in range(1, 101)}


def get_token(authorization: str = Header(...)) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return token


def get_current_user(token: str = Depends(get_token)) -> dict:
    uid = TOKENS.get(token)
    if uid is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return USERS[uid]


@app.get("/bare")
def bare():
    return {"message": "Hello, World!"}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: Optional[str] = None, limit: int = Query(10, ge=1, le=100)):
    return {"item_id": item_id, "q": q, "limit": limit}


@app.get("/users/{user_id}/orders")
def user_orders(user_id: int):
    return {
        "user_id": user_id,
        "orders": [
            {"id": user_id * 10 + k, "status": "shipped", "total": 19.5 * (k + 1),
             "lines": [{"sku": f"sku-{k}-{j}", "qty": j + 1, "price": 6.5} for j in range(3)]}
            for k in range(3)
        ],
    }


@app.post("/items")
def create_item(item: Item):
    return item


@app.post("/search")
def search(body: dict, page: int = 1, size: int = 20):
    return {"page": page, "size": size, "filters": body, "total": 0}


@app.get("/async/{n}")
async def async_route(n: int):
    return {"n": n, "square": n * n}


@app.get("/whoami")
def whoami(request: Request):
    return {"path": request.url.path, "agent": request.headers.get("user-agent", ""),
            "client": request.client.host if request.client else None}


@app.get("/me")
def me(user: dict = Depends(get_current_user)):
    return {"id": user["id"], "name": user["name"]}


@app.get("/users/{user_id}", response_model=UserOut)
def read_user(user_id: int):
    user = USERS.get(user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user


@app.get("/me/profile", response_model=UserOut)
def my_profile(user: dict = Depends(get_current_user)):
    return user
