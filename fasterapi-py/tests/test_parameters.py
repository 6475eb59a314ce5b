"""FastAPI's parameter features, through the in-process TestClient: keyword-only
handler parameters, pydantic models as Query/Header/Cookie parameter groups, body
parameters, extra data types, and FastAPI's 422 shapes for each (the expected bodies are
FastAPI 0.141's answers to the same requests)."""

from typing import Annotated, Optional

import pytest

from fasterapi import Body, Cookie, FastAPI, Header, Path, Query, Request
from fasterapi.testclient import TestClient


def client_for(app):
    return TestClient(app)


# --- keyword-only parameters ------------------------------------------------------------


def test_keyword_only_parameters_are_passed_by_name():
    app = FastAPI()

    @app.get("/items/{item_id}")
    def sync_items(*, item_id: int = Path(ge=1), q: str, size: float = 1.5):
        return {"item_id": item_id, "q": q, "size": size}

    @app.get("/mixed/{item_id}")
    async def mixed(item_id: int, request: Request, *, q: Optional[str] = None, n: int = 2):
        return {"item_id": item_id, "q": q, "n": n, "method": request.method}

    client = client_for(app)
    r = client.get("/items/3?q=x")
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": 3, "q": "x", "size": 1.5}
    assert client.get("/items/3?q=x&size=2").json() == {"item_id": 3, "q": "x", "size": 2.0}
    r = client.get("/items/0")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {"type": "greater_than_equal", "loc": ["path", "item_id"], "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}},
            {"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": None},
        ]
    }
    r = client.get("/mixed/7?n=5")
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": 7, "q": None, "n": 5, "method": "GET"}


def test_keyword_only_path_query_and_body_parameters():
    app = FastAPI()

    @app.put("/items/{item_id}")
    def update(*, item_id: int, item: dict, q: Optional[str] = None):
        return {"item_id": item_id, "item": item, "q": q}

    client = client_for(app)
    r = client.put("/items/5?q=bar", json={"name": "Foo"})
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": 5, "item": {"name": "Foo"}, "q": "bar"}


# --- reading the body -------------------------------------------------------------------


def body_app():
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        price: float

    app = FastAPI()

    @app.post("/items/")
    def create(item: Item):
        return item

    return client_for(app)


MODEL_NOT_OBJECT = {
    "type": "model_attributes_type",
    "loc": ["body"],
    "msg": "Input should be a valid dictionary or object to extract fields from",
}


def test_body_is_json_only_when_its_content_type_says_so():
    client = body_app()
    data = '{"name": "Foo", "price": 50.5}'
    for ct in ["application/json", "application/geo+json", "Application/JSON; charset=utf-8"]:
        r = client.post("/items/", content=data, headers={"content-type": ct})
        assert r.status_code == 200, (ct, r.text)
        assert r.json() == {"name": "Foo", "price": 50.5}
    for headers in [{}, {"content-type": "text/plain"}, {"content-type": "application/geo+json-seq"}]:
        r = client.post("/items/", content=data, headers=headers)
        assert r.status_code == 422, headers
        assert r.json() == {"detail": [{**MODEL_NOT_OBJECT, "input": data}]}
    r = client.post("/items/", json=[1])
    assert r.json() == {"detail": [{**MODEL_NOT_OBJECT, "input": [1]}]}


def test_broken_json_is_fastapis_json_invalid_and_unreadable_bytes_a_400():
    client = body_app()
    r = client.post("/items/", content="{some broken json}", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 1],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting property name enclosed in double quotes"},
            }
        ]
    }
    r = client.post("/items/", content=b'{"name": "\xff"}', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"detail": "There was an error parsing the body"}
