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


# --- pydantic models as Query()/Header()/Cookie() parameter groups --------------------


def group_client():
    from typing import List, Literal

    from pydantic import BaseModel, Field

    class Filters(BaseModel):
        model_config = {"extra": "forbid"}
        limit: int = Field(100, gt=0, le=100)
        order_by: Literal["created_at", "updated_at"] = "created_at"
        tags: List[str] = []
        item_query: str = Field("d", alias="item-query")

    class Loose(BaseModel):
        a: int
        counts: dict = {"n": 0}

    class Headers(BaseModel):
        model_config = {"extra": "forbid"}
        host: str
        save_data: bool
        x_tag: List[str] = []

    class RawHeaders(BaseModel):
        save_data: str

    class Cookies(BaseModel):
        model_config = {"extra": "forbid"}
        session_id: str
        tracker: Optional[str] = None

    app = FastAPI()

    @app.get("/query")
    def query(filters: Filters = Query()):
        return filters

    @app.get("/loose")
    def loose(params: Annotated[Loose, Query()]):
        params.counts["n"] += 1  # a default mutated here is not seen by the next request
        return params

    @app.get("/headers")
    async def headers(h: Headers = Header()):
        return h

    @app.get("/raw-headers")
    def raw_headers(h: RawHeaders = Header(convert_underscores=False)):
        return h

    @app.get("/cookies")
    def cookies(c: Cookies = Cookie()):
        return c

    client = client_for(app)
    client.headers.clear()
    return client


def test_query_model_reads_its_fields_from_the_query():
    client = group_client()
    assert client.get("/query").json() == {"limit": 100, "order_by": "created_at", "tags": [], "item-query": "d"}
    r = client.get("/query?limit=5&order_by=updated_at&tags=a&tags=b&item-query=z")
    assert r.status_code == 200, r.text
    assert r.json() == {"limit": 5, "order_by": "updated_at", "tags": ["a", "b"], "item-query": "z"}
    # A repeated scalar takes its last value, as Starlette's QueryParams.get.
    assert client.get("/query?limit=0&limit=7").json()["limit"] == 7
    for _ in range(2):
        assert client.get("/loose?a=1").json() == {"a": 1, "counts": {"n": 1}}


def test_query_model_errors_and_extra_forbid_in_fastapis_shape():
    client = group_client()
    r = client.get("/query?limit=150&order_by=x")
    assert r.status_code == 422
    assert r.json() == {
        "detail": [
            {"type": "less_than_equal", "loc": ["query", "limit"], "msg": "Input should be less than or equal to 100",
             "input": "150", "ctx": {"le": 100}},
            {"type": "literal_error", "loc": ["query", "order_by"], "msg": "Input should be 'created_at' or 'updated_at'",
             "input": "x", "ctx": {"expected": "'created_at' or 'updated_at'"}},
        ]
    }
    r = client.get("/query?tool=plumbus&multi=1&multi=2")
    assert r.json() == {
        "detail": [
            {"type": "extra_forbidden", "loc": ["query", "tool"], "msg": "Extra inputs are not permitted", "input": "plumbus"},
            {"type": "extra_forbidden", "loc": ["query", "multi"], "msg": "Extra inputs are not permitted", "input": ["1", "2"]},
        ]
    }
    # The input of a missing field is the dict the model was given.
    r = client.get("/loose?b=2")
    assert r.json() == {
        "detail": [{"type": "missing", "loc": ["query", "a"], "msg": "Field required", "input": {"counts": {"n": 0}, "b": "2"}}]
    }


def test_header_model_converts_underscores_and_forbids_extra_headers():
    client = group_client()
    r = client.get("/headers", headers=[("Save-Data", "yes"), ("x-tag", "1"), ("X-Tag", "2")])
    assert r.status_code == 200, r.text
    assert r.json() == {"host": "testserver", "save_data": True, "x_tag": ["1", "2"]}
    r = client.get("/headers")
    assert r.json() == {
        "detail": [{"type": "missing", "loc": ["header", "save_data"], "msg": "Field required",
                    "input": {"host": "testserver", "x_tag": []}}]
    }
    r = client.get("/headers", headers={"save-data": "1", "tool": "plumbus"})
    assert r.json() == {
        "detail": [{"type": "extra_forbidden", "loc": ["header", "tool"], "msg": "Extra inputs are not permitted",
                    "input": "plumbus"}]
    }
    assert client.get("/raw-headers", headers={"save_data": "x"}).json() == {"save_data": "x"}
    assert client.get("/raw-headers", headers={"save-data": "x"}).status_code == 422


def test_cookie_model_reads_the_cookies():
    client = group_client()
    r = client.get("/cookies", headers={"cookie": 'session_id=1; tracker="a b"; session_id=2'})
    assert r.status_code == 200, r.text
    assert r.json() == {"session_id": "2", "tracker": "a b"}
    r = client.get("/cookies", headers={"cookie": "session_id=1; extra=track-me"})
    assert r.json() == {
        "detail": [{"type": "extra_forbidden", "loc": ["cookie", "extra"], "msg": "Extra inputs are not permitted",
                    "input": "track-me"}]
    }
    r = client.get("/cookies")
    assert r.json() == {"detail": [{"type": "missing", "loc": ["cookie", "session_id"], "msg": "Field required", "input": {}}]}


def test_a_query_model_beside_other_query_parameters_is_refused_at_registration():
    from pydantic import BaseModel

    class Filters(BaseModel):
        limit: int = 10

    app = FastAPI()
    with pytest.raises(TypeError, match="'filters' is a model of query parameters beside other query parameters \\('q'\\)"):
        @app.get("/items")
        def items(filters: Filters = Query(), q: Optional[str] = None):
            return filters
    with pytest.raises(TypeError, match="takes no constraints"):
        @app.get("/items2")
        def items2(filters: Filters = Query(max_length=3)):
            return filters
