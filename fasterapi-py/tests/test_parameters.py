"""FastAPI's parameter features, through the in-process TestClient: keyword-only
handler parameters, pydantic models as Query/Header/Cookie parameter groups, body
parameters, extra data types, and FastAPI's 422 shapes for each (the expected bodies are
FastAPI 0.141's answers to the same requests)."""

from typing import Annotated, List, Optional

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
    from typing import Literal

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


# --- values, bodies and their 422s as FastAPI's -----------------------------------------


def test_numbers_in_text_as_pydantic_reads_them():
    app = FastAPI()

    @app.get("/n")
    def n(i: Optional[int] = None, f: Optional[float] = None):
        return {"i": i, "f": f}

    client = client_for(app)
    assert client.get("/n?i=1_000&f=1_0.5").json() == {"i": 1000, "f": 10.5}
    assert client.get("/n?i=-3.00&f=1_e1").json() == {"i": -3, "f": 10.0}
    assert client.get("/n?i=%2012345678901234567890.0%20").json()["i"] == 12345678901234567890
    r = client.get("/n?i=1__0&f=_1")
    assert [(d["type"], d["input"]) for d in r.json()["detail"]] == [("int_parsing", "1__0"), ("float_parsing", "_1")]
    assert client.get("/n?i=1.5").json()["detail"][0]["type"] == "int_parsing"


def test_unmarked_complex_types_are_read_from_the_body():
    import dataclasses
    from typing import Dict, Set, Tuple, Union

    from pydantic import BaseModel

    @dataclasses.dataclass
    class Point:
        x: int
        y: int = 0

    class Cat(BaseModel):
        meow: str

    class Dog(BaseModel):
        woof: str

    app = FastAPI()

    @app.post("/many")
    def many(s: Set[int], d: Dict[str, int], t: Tuple[int, str], p: Point, q: Optional[int] = None):
        return {"s": sorted(s), "d": d, "t": t, "p": p, "q": q}

    @app.post("/pet")
    def pet(pet: Union[Cat, Dog]):
        return pet

    client = client_for(app)
    r = client.post("/many?q=1", json={"s": [2, 1, 2], "d": {"a": "3"}, "t": ["4", "x"], "p": {"x": 5}})
    assert r.status_code == 200, r.text
    assert r.json() == {"s": [1, 2], "d": {"a": 3}, "t": [4, "x"], "p": {"x": 5, "y": 0}, "q": 1}
    assert client.post("/pet", json={"woof": "w"}).json() == {"woof": "w"}
    assert client.post("/pet", json={"x": 1}).json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "Cat", "meow"], "msg": "Field required", "input": {"x": 1}},
            {"type": "missing", "loc": ["body", "Dog", "woof"], "msg": "Field required", "input": {"x": 1}},
        ]
    }


def test_a_json_body_that_is_no_object_has_every_embedded_field_missing():
    app = FastAPI()

    @app.post("/embedded")
    def embedded(name: str = Body(), n: int = Body(5)):
        return {"name": name, "n": n}

    client = client_for(app)
    assert client.post("/embedded", json={"name": "x"}).json() == {"name": "x", "n": 5}
    missing = [
        {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": None},
        {"type": "missing", "loc": ["body", "n"], "msg": "Field required", "input": None},
    ]
    assert client.post("/embedded", json=[1]).json() == {"detail": missing}
    # A body that is not JSON: no fields either, the optional one takes its default.
    assert client.post("/embedded", content=b"name=x").json() == {"detail": missing[:1]}


def test_error_contexts_are_encoded_as_fastapi_encodes_them():
    import decimal

    from pydantic import AfterValidator

    def known(v: str) -> str:
        if not v.startswith("isbn-"):
            raise ValueError('Invalid ID format, it must start with "isbn-"')
        return v

    app = FastAPI()

    @app.get("/items")
    def items(id: Annotated[Optional[str], AfterValidator(known)] = None,
              amount: Annotated[decimal.Decimal, Query(gt=0)] = decimal.Decimal(1)):
        return {"id": id, "amount": amount}

    client = client_for(app)
    assert client.get("/items?id=isbn-1&amount=2.50").json() == {"id": "isbn-1", "amount": 2.5}
    assert client.get("/items?id=wtf&amount=0").json() == {
        "detail": [
            {"type": "value_error", "loc": ["query", "id"], "msg": 'Value error, Invalid ID format, it must start with "isbn-"',
             "input": "wtf", "ctx": {"error": {}}},
            {"type": "greater_than", "loc": ["query", "amount"], "msg": "Input should be greater than 0", "input": "0",
             "ctx": {"gt": 0}},
        ]
    }


def test_path_convertors_str_and_path_and_the_others_refused():
    app = FastAPI()

    @app.get("/files/{file_path:path}")
    def read_file(file_path: str):
        return {"file_path": file_path}

    @app.get("/users/{name:str}")
    def user(name: str):
        return {"name": name}

    client = client_for(app)
    assert client.get("/files/home/johndoe/myfile.txt").json() == {"file_path": "home/johndoe/myfile.txt"}
    assert client.get("/files//home/x").json() == {"file_path": "/home/x"}
    assert client.get("/users/ann").json() == {"name": "ann"}
    assert client.get("/users/ann/x").status_code == 404
    assert app.url_path_for("read_file", file_path="a/b") == "/files/a/b"
    with pytest.raises(NotImplementedError, match=r"the path convertor \{item_id:int\} is not supported"):
        @app.get("/items/{item_id:int}")
        def item(item_id: int):
            return item_id
    with pytest.raises(NotImplementedError, match=r"\{rest:path\} parameter before the end of the path"):
        @app.get("/files/{rest:path}/edit")
        def edit(rest: str):
            return rest


# --- the plan protocol for these features ----------------------------------------------


def test_plan_marks_keyword_only_parameters_and_model_fields():
    from pydantic import BaseModel

    from fasterapi._fasterapi import Conv, ParamSpec, RouteSpec, Source, _bench_dispatch

    class Filters(BaseModel):
        limit: int = 10
        tags: List[str] = []

    app = FastAPI()

    @app.get("/items")
    def items(request: Request, *, f: Filters = Query()):
        return f

    (spec,) = app.routes[0].specs
    req, f = spec.plan
    assert (req.keyword, f.keyword) == (False, True)
    assert (f.source, f.conv) == (Source.QUERY, Conv.VALIDATOR)
    assert [(x.name, x.key, x.multi, x.required, x.default) for x in f.fields] == [
        ("limit", "limit", False, False, 10),
        ("tags", "tags", True, False, []),
    ]
    # Refused when made: fields on a path parameter, a positional after a keyword one.
    with pytest.raises(ValueError, match="read as a model's fields"):
        ParamSpec(name="p", source=Source.PATH, conv=Conv.VALIDATOR, key="p", required=True,
                  validator=Filters.model_validate, fields=[])
    kw = ParamSpec(name="a", source=Source.QUERY, conv=Conv.STR, key="a", required=False, keyword=True)
    pos = ParamSpec(name="b", source=Source.QUERY, conv=Conv.STR, key="b", required=False)
    route = RouteSpec(method="GET", path="/x", endpoint=lambda b, *, a: None, is_async=False, plan=[kw, pos])
    with pytest.raises(ValueError, match='parameter "b" is passed by position after one passed by keyword'):
        _bench_dispatch(route, {}, {}, b"", 1)


def test_repeated_values_as_starlette_gives_them():
    app = FastAPI()

    @app.get("/r")
    def r(n: Optional[int] = None, x_a: Optional[str] = Header(None), c: Optional[str] = Cookie(None)):
        return {"n": n, "x_a": x_a, "c": c}

    client = client_for(app)
    # Query: the last value (QueryParams.get); header: the first; cookie: the last.
    r = client.get("/r?n=z&n=1", headers=[("x-a", "1"), ("x-a", "2"), ("cookie", "c=1; c=2")])
    assert r.status_code == 200, r.text
    assert r.json() == {"n": 1, "x_a": "1", "c": "2"}
    assert client.get("/r?n=1&n=z").json()["detail"][0]["input"] == "z"


def test_extra_data_types_as_path_query_and_body_values():
    import datetime
    import decimal
    import enum
    import uuid
    from typing import FrozenSet

    class Model(str, enum.Enum):
        alexnet = "alexnet"
        resnet = "resnet"

    app = FastAPI()

    @app.get("/models/{name}")
    def model(name: Model):
        return {"name": name, "is_alexnet": name is Model.alexnet}

    @app.put("/items/{item_id}")
    def put(item_id: uuid.UUID, start: datetime.datetime = Body(), after: datetime.timedelta = Body(),
            at: Optional[datetime.time] = Body(None), amount: decimal.Decimal = Body(decimal.Decimal("1.5")),
            raw: Optional[bytes] = Body(None), ids: FrozenSet[int] = Body(frozenset()), day: Optional[datetime.date] = None):
        return {"item_id": item_id, "end": start + after, "at": at, "amount": amount, "raw": raw,
                "ids": sorted(ids), "day": day, "types": [type(v).__name__ for v in (item_id, amount, raw)]}

    client = client_for(app)
    assert client.get("/models/alexnet").json() == {"name": "alexnet", "is_alexnet": True}
    assert client.get("/models/vgg").json() == {
        "detail": [{"type": "enum", "loc": ["path", "name"], "msg": "Input should be 'alexnet' or 'resnet'",
                    "input": "vgg", "ctx": {"expected": "'alexnet' or 'resnet'"}}]
    }
    u = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    r = client.put(f"/items/{u}?day=2024-01-02", json={"start": "2018-12-22T14:00:00+00:00", "after": 3600,
                                                      "at": "15:30:00", "amount": "2.50", "raw": "hi", "ids": [2, 1, 2]})
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": u, "end": "2018-12-22T15:00:00+00:00", "at": "15:30:00", "amount": 2.5, "raw": "hi",
                        "ids": [1, 2], "day": "2024-01-02", "types": ["UUID", "Decimal", "bytes"]}
    r = client.put("/items/nope?day=2024-13-01", json={"start": "x", "after": "P1X"})
    assert [(d["type"], d["loc"]) for d in r.json()["detail"]] == [
        ("uuid_parsing", ["path", "item_id"]),
        ("date_from_datetime_parsing", ["query", "day"]),
        ("datetime_from_date_parsing", ["body", "start"]),
        ("time_delta_parsing", ["body", "after"]),
    ]
