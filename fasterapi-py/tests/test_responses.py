"""Responses (issue 14 point 5) against a real server: response models and return
annotations, status codes, response classes, the temporal `response: Response`, cookies,
redirects. The expected answers are FastAPI 0.141.1's for the same app (app_responses.py
run on FastAPI with its imports changed back)."""

import datetime

import pytest
import requests
from pydantic import BaseModel, Field

from conftest import Server, get, module_server, post
from fasterapi import FastAPI, Response
from fasterapi.exceptions import FastAPIError, ResponseValidationError
from fasterapi.responses import JSONResponse, ORJSONResponse, RedirectResponse

server = module_server("app_responses.py")

USER = {"username": "foo", "password": "fighter", "email": "foo@example.com", "full_name": "G"}


def request(server, method, path, **kw):
    return requests.request(method, server.url + path, timeout=10, allow_redirects=False, **kw)


# --- response models: what is sent is the model's fields only ---------------------------


def test_a_model_with_a_password_hash_is_filtered_through_the_response_model(server):
    r = post(server, "/user", json=USER)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"username": "foo", "email": "foo@example.com", "full_name": "G"}
    assert b"hash" not in r.content and b"fighter" not in r.content


def test_the_return_annotation_is_the_response_model(server):
    # The handler returns its UserIn (a password field) annotated `-> UserOut`.
    r = post(server, "/user-annotated", json=USER)
    assert r.json() == {"username": "foo", "email": "foo@example.com", "full_name": "G"}
    assert b"fighter" not in r.content


def test_objects_with_attributes_are_read_from_their_attributes(server):
    r = get(server, "/user-row")
    assert r.content == b'{"username":"ann","email":"ann@example.com","full_name":null}'


def test_extra_dict_keys_are_dropped(server):
    r = get(server, "/user-dict")
    assert r.json() == {"username": "bob", "email": "bob@example.com", "full_name": None}


def test_lists_dicts_and_unions_of_models(server):
    assert get(server, "/items-list").json() == [
        {"name": "Portal Gun", "description": None, "price": 42.0, "tax": 10.5, "tags": []},
        {"name": "Plumbus", "description": None, "price": 32.0, "tax": 10.5, "tags": []},
    ]
    assert get(server, "/weights").content == b'{"foo":2.0,"bar":3.5}'
    assert get(server, "/union/car").json() == {"description": "low rider", "type": "car"}
    assert get(server, "/union/plane").json() == {"description": "aeroplane", "type": "plane", "size": 5}


def test_exclude_unset_none_defaults_include_exclude(server):
    assert get(server, "/unset/foo").json() == {"name": "Foo", "price": 50.2}
    assert get(server, "/unset/bar").json() == {
        "name": "Bar", "description": "The bartenders", "price": 62.0, "tax": 20.2,
    }
    assert get(server, "/unset/baz").json() == {
        "name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": [],
    }
    assert get(server, "/nones/baz").json() == {"name": "Baz", "price": 50.2, "tax": 10.5, "tags": []}
    assert get(server, "/defaults/baz").json() == {"name": "Baz", "price": 50.2}
    assert get(server, "/defaults/bar").json() == {
        "name": "Bar", "description": "The bartenders", "price": 62.0, "tax": 20.2,
    }
    assert get(server, "/include/bar").json() == {"name": "Bar", "description": "The bartenders"}
    assert get(server, "/exclude/bar").json() == {
        "name": "Bar", "description": "The bartenders", "price": 62.0, "tags": [],
    }


def test_by_alias(server):
    assert get(server, "/alias").json() == {"itemName": "x"}
    assert get(server, "/alias-off").json() == {"item_name": "x"}


@pytest.mark.parametrize("path", ["/invalid", "/invalid-async"])
def test_a_returned_value_that_does_not_validate_is_a_500(server, path):
    r = get(server, path)
    assert r.status_code == 500
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "Internal Server Error"
    server.wait_for(r"ResponseValidationError")


def test_any_and_no_model(server):
    # `-> Any` is a model too: pydantic serializes the date.
    assert get(server, "/any").json() == {"when": "2024-01-02"}
    assert get(server, "/no-model").json() == {"message": "portal"}
    r = get(server, "/no-model?teleport=1", allow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == "https://example.com/a%20b?x=1&y=%C3%A9"
    assert r.content == b""
    r = get(server, "/annotated-response", allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "/elsewhere")


# --- status codes -----------------------------------------------------------------------


def test_status_code_on_the_decorator(server):
    r = post(server, "/created?name=x")
    assert (r.status_code, r.json()) == (201, {"name": "x"})
    assert post(server, "/created-enum").status_code == 202
    r = request(server, "DELETE", "/gone")
    assert (r.status_code, r.content) == (204, b"")


# --- response classes -------------------------------------------------------------------


def test_response_classes(server):
    r = get(server, "/html")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.content == "<p>héllo</p>".encode()
    r = get(server, "/text")
    assert (r.status_code, r.headers["content-type"], r.text) == (203, "text/plain; charset=utf-8", "plain")
    assert get(server, "/text-model").text == "model text"
    r = get(server, "/redirect-class", allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "https://fastapi.tiangolo.com")
    r = get(server, "/redirect-302", allow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "https://docs.pydantic.dev/")
    r = get(server, "/custom-class")
    assert (r.headers["content-type"], r.content) == ("application/xml", b"<v>7</v>")
    r = get(server, "/orjson")
    assert (r.headers["content-type"], r.content) == ("application/json", b'{"b":[1,2],"3":"non-str key"}')


def test_json_response_renders_as_starlette(server):
    r = get(server, "/json-response")
    assert r.status_code == 202
    assert r.headers["x-a"] == "b"
    assert r.content == '{"é":[1.5,null,true]}'.encode()
    # json.dumps(allow_nan=False) and a type it cannot encode: server errors.
    assert get(server, "/json-nan").status_code == 500
    server.wait_for(r"ValueError: Out of range float values are not JSON compliant")
    assert get(server, "/json-object").status_code == 500
    server.wait_for(r"TypeError: Object of type object is not JSON serializable")


def test_response_with_media_type(server):
    r = get(server, "/legacy")
    assert (r.headers["content-type"], r.headers["x-legacy"], r.content) == ("application/xml", "1", b"<a/>")
    assert get(server, "/text-charset").headers["content-type"] == "text/csv; charset=utf-8"


# --- the temporal response, cookies -----------------------------------------------------


def test_set_cookie_on_a_returned_response(server):
    r = post(server, "/cookie")
    assert r.headers["set-cookie"] == "fakesession=fake-cookie-session-value; Path=/; SameSite=lax"
    assert r.cookies["fakesession"] == "fake-cookie-session-value"


def test_cookies_on_the_temporal_response_each_in_its_own_header(server):
    r = post(server, "/cookie-and-object")
    assert r.json() == {"message": "Come to the dark side, we have cookies"}
    cookies = r.raw.headers.getlist("set-cookie")
    assert cookies[:2] == [
        "fakesession=fake-cookie-session-value; Path=/; SameSite=lax",
        'full="a b"; Domain=example.com; expires=Wed, 02 Jan 2030 03:04:05 GMT; HttpOnly; '
        "Max-Age=60; Path=/p; SameSite=strict; Secure",
    ]
    assert cookies[2].startswith('old=""; expires=')
    assert cookies[2].endswith(" GMT; Max-Age=0; Path=/; SameSite=lax")
    assert len(cookies) == 3


def test_headers_and_status_of_the_temporal_response(server):
    r = get(server, "/headers-and-object")
    assert (r.headers["x-cat-dog"], r.json()) == ("alone in the world", {"message": "Hello World"})
    r = request(server, "PUT", "/get-or-create-task/foo")
    assert (r.status_code, r.json()) == (200, "Listen to the Bar Fighters")
    r = request(server, "PUT", "/get-or-create-task/bar")
    assert (r.status_code, r.json()) == (201, "This didn't exist before")
    # A returned Response is sent as it is: the temporal one is ignored, as in FastAPI.
    r = get(server, "/temporal-ignored")
    assert (r.status_code, r.text, "x-lost" in r.headers) == (200, "own", False)
    # An async handler that suspends, with a response model.
    r = get(server, "/temporal-with-model")
    assert (r.status_code, r.headers["x-model"]) == (202, "yes")
    assert r.json() == {"username": "u", "email": "e", "full_name": None}


def test_default_response_class(spawn_server):
    s = spawn_server("app_responses.py", 1, ["html"])
    r = get(s, "/page")
    assert (r.headers["content-type"], r.text) == ("text/html; charset=utf-8", "<h1>Items</h1>")
    # As FastAPI: a dict through HTMLResponse cannot render, a server error.
    assert get(s, "/page-model").status_code == 500
    assert get(s, "/page-json").json() == {"a": 1}


# --- registration -----------------------------------------------------------------------


def test_a_return_annotation_that_is_no_model_is_refused_unless_response_model_none():
    app = FastAPI()
    with pytest.raises(FastAPIError, match="response_model=None"):
        @app.get("/x")
        def x() -> Response | dict:
            return {}

    @app.get("/y", response_model=None)
    def y() -> Response | dict:
        return {}


def test_bad_options_are_refused():
    app = FastAPI()
    with pytest.raises(TypeError, match="response_class"):
        app.get("/x", response_class=dict)(lambda: 1)
    with pytest.raises(AssertionError, match="204 must not have a response body"):
        app.get("/x", response_model=dict, status_code=204)(lambda: 1)


# --- the classes themselves -------------------------------------------------------------


def test_response_headers_as_starlette():
    r = Response("hi", media_type="text/csv", headers={"X-A": "1"})
    assert r.raw_headers == [(b"x-a", b"1"), (b"content-length", b"2"), (b"content-type", b"text/csv; charset=utf-8")]
    r.headers["X-A"] = "2"
    r.headers.append("x-a", "3")
    assert r.headers.getlist("x-a") == ["2", "3"]
    r.headers.append("X-B", "1")
    r.headers["x-a"] = "4"  # replaces every x-a, in the first one's place
    assert r.raw_headers[0] == (b"x-a", b"4") and r.headers.getlist("x-a") == ["4"]
    assert r.headers.getlist("x-b") == ["1"]
    del r.headers["x-a"]
    assert "x-a" not in r.headers and r.headers["Content-Length"] == "2"
    assert Response(status_code=204).raw_headers == []
    redirect = RedirectResponse("/a b?q=é")
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/a%20b?q=%C3%A9")


def test_json_response_bytes_match_starlette():
    import json

    for content in [{"a": [1, 2.5, None, True, "é\n"]}, [], {"k": {"n": -3}}, "s", 10**20]:
        expected = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
        assert JSONResponse(content).body == expected
    with pytest.raises(ValueError):
        JSONResponse(float("inf"))
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONResponse({1, 2})


def test_orjson_response_warns_as_fastapi_deprecates_it():
    from fasterapi.exceptions import FastAPIDeprecationWarning

    with pytest.warns(FastAPIDeprecationWarning):
        assert ORJSONResponse({"a": 1}).body == b'{"a":1}'


def test_response_validation_error_has_fastapis_errors():
    from fasterapi.routing import _response_validation_error
    from pydantic import ValidationError

    class M(BaseModel):
        price: float

    try:
        M.model_validate({})
    except ValidationError as exc:
        err = _response_validation_error(exc, {})
    assert isinstance(err, ResponseValidationError)
    assert [(e["type"], e["loc"]) for e in err.errors()] == [("missing", ("response", "price"))]
    assert err.body == {}


# --- the server's own JSON walk of validated models, and its fallbacks -----------------
# (byte for byte what FastAPI sends, pydantic's to_json)


@pytest.mark.parametrize("path, body", [
    ("/orders", b'[{"id":1,"lines":[{"sku":"a","qty":2,"price":1.5}],"note":null,"extra":null,"ratio":1.0},'
                b'{"id":2,"lines":[{"sku":"b","qty":1,"price":2.0}],"note":{"sku":"n","qty":0,"price":0.0},'
                b'"extra":null,"ratio":1.0}]'),
    # Values the walk does not write as pydantic does: pydantic writes the whole answer.
    ("/order-fallbacks/decimal", b'{"id":3,"lines":[],"note":null,"extra":"1.50","ratio":null}'),
    ("/order-fallbacks/int-keys", b'{"id":3,"lines":[],"note":null,"extra":{"1":"a"},"ratio":2.0}'),
    ("/order-fallbacks/date", b'{"id":3,"lines":[],"note":null,"extra":"2020-01-01","ratio":2.0}'),
    ("/order-fallbacks/nested", b'{"id":3,"lines":[],"note":null,"extra":{"k":[1,{"z":null}]},"ratio":2.0}'),
    ("/dict-fallbacks/plain", '{"a":[1,2.5,null,"é"]}'.encode()),
    ("/dict-fallbacks/decimal", b'{"d":"1.50"}'),
    ("/dict-fallbacks/int-keys", b'{"1":"a","b":{"2":3}}'),
    ("/dict-fallbacks/nan", b'{"x":null}'),
    ("/list-any", b'[1,"a",{"b":null}]'),
    # A subclass instance returned through its base: the base's fields only.
    ("/subclass-instance", b'{"username":"s","email":"s@example.com","full_name":null}'),
    # No response model: models inside are encoded as jsonable_encoder encodes them.
    ("/model-no-response-model", b'{"order":{"id":4,"lines":[],"note":null,"extra":"2.5","ratio":1.0},'
                                 b'"alias":{"itemName":"y"}}'),
    # A computed field, a field serializer, an alias generator, extra fields: pydantic's.
    ("/custom", b'{"PRICE":"3.00","WHEN":"2021-02-03","other":"kept","DOUBLED":6.0}'),
])
def test_model_json_is_pydantics(server, path, body):
    r = get(server, path)
    assert (r.status_code, r.headers["content-type"], r.content) == (200, "application/json", body)


def test_shapes_the_walk_takes_and_leaves():
    from typing import Any, Optional

    from pydantic import TypeAdapter, computed_field, field_serializer

    from fasterapi.routing import _serialization_shape

    class Inner(BaseModel):
        a: int

    class Outer(BaseModel):
        x: str = Field(alias="X")
        inner: Optional[Inner] = None
        items: list[Inner] = []
        free: Any = None

    shape = _serialization_shape(TypeAdapter(list[Outer]).core_schema, True)
    inner = ("model", [("a", "a", ("value",))])
    assert shape == ("list", ("model", [
        ("x", "X", ("value",)), ("inner", "inner", ("nullable", inner)), ("items", "items", ("list", inner)),
        ("free", "free", ("value",)),
    ]))
    assert _serialization_shape(TypeAdapter(Outer).core_schema, False)[1][0] == ("x", "x", ("value",))

    class Computed(BaseModel):
        a: int

        @computed_field
        @property
        def b(self) -> int:
            return 1

    class Serialized(BaseModel):
        a: int

        @field_serializer("a")
        def _a(self, v):
            return v

    class WithDate(BaseModel):
        when: datetime.date

    class Tree(BaseModel):
        children: list["Tree"] = []

    for model in (Computed, Serialized, WithDate, set[int], Tree):
        assert _serialization_shape(TypeAdapter(model).core_schema, True) is None, model


def test_the_test_client_raises_the_response_validation_error_as_fastapis():
    from fasterapi.testclient import TestClient

    class M(BaseModel):
        price: float

    app = FastAPI()

    @app.get("/x", response_model=M)
    def x():
        return {"nope": 1}

    @app.get("/y")
    async def y() -> M:
        return {"price": "bad"}

    client = TestClient(app)
    for path, body in [("/x", {"nope": 1}), ("/y", {"price": "bad"})]:
        with pytest.raises(ResponseValidationError) as info:
            client.get(path)
        assert info.value.errors()[0]["loc"] == ("response", "price")
        assert info.value.body == body
    r = TestClient(app, raise_server_exceptions=False).get("/x")
    assert (r.status_code, r.text) == (500, "Internal Server Error")


def test_the_walk_writes_pydantics_bytes_for_models_of_many_kinds():
    # Each model through a route `-> Model` (the server's walk where it takes the model)
    # against pydantic's own TypeAdapter.dump_json(by_alias=True), which FastAPI sends.
    import enum
    from typing import Any, Literal, Optional, Union

    from pydantic import AliasGenerator, ConfigDict, TypeAdapter

    from fasterapi.testclient import TestClient

    class Colour(str, enum.Enum):
        red = "red"

    class Level(enum.IntEnum):
        high = 3

    class Leaf(BaseModel):
        v: Union[int, str]
        hidden: str = Field("h", exclude=True)

    class Mixed(BaseModel):
        model_config = ConfigDict(alias_generator=AliasGenerator(serialization_alias=lambda n: n + "_"))
        colour: Colour
        level: Level
        kind: Literal["a", "b"]
        leaf: Leaf
        leaves: list[Leaf]
        maybe: Optional[Leaf] = None
        table: dict[str, list[float]] = {}
        free: Any = None
        big: int = 2**70
        text: str = 'quote " backslash \\ newline \n é \u2028'
        tiny: float = 1e-7
        huge: float = 1e300

    values = [
        Mixed(colour="red", level=3, kind="a", leaf={"v": 1}, leaves=[{"v": "x"}, {"v": 2}],
              table={"k": [1, 2.5]}, free={"a": [None, True]}),
        Mixed(colour=Colour.red, level=Level.high, kind="b", leaf=Leaf(v="y", hidden="no"), leaves=[],
              maybe={"v": 0}, free=[1, "2"]),
    ]
    from fasterapi.routing import _serialization_shape

    assert _serialization_shape(TypeAdapter(Mixed).core_schema, True) is not None
    app = FastAPI()
    routes = []
    for i, value in enumerate(values):
        def handler(value=value) -> Mixed:
            return value
        app.get(f"/m{i}")(handler)
        routes.append((f"/m{i}", value))
    client = TestClient(app)
    adapter = TypeAdapter(Mixed)
    for path, value in routes:
        assert client.get(path).content == adapter.dump_json(value, by_alias=True), path


def test_dicts_through_models_with_validators_come_out_as_pydantics():
    # A dict returned through a model: validated as the model's fields alone when nothing
    # but the fields would run (before-validators included), as the whole model when
    # more would (after-validators, model_post_init): either way pydantic's bytes.
    from pydantic import PrivateAttr, TypeAdapter, field_validator, model_validator

    from fasterapi.routing import _fields_validator
    from fasterapi.testclient import TestClient

    class Before(BaseModel):
        name: str
        n: int = 0

        @model_validator(mode="before")
        @classmethod
        def _upper(cls, data):
            return {**data, "name": data["name"].upper()}

        @field_validator("n")
        @classmethod
        def _double(cls, v):
            return v * 2

    class After(BaseModel):
        name: str

        @model_validator(mode="after")
        def _suffix(self):
            self.name += "!"
            return self

    class Private(BaseModel):
        name: str
        _secret: str = PrivateAttr("s")

        def model_post_init(self, context):
            self.name += "?"

    assert _fields_validator(TypeAdapter(Before).core_schema) is not None
    assert _fields_validator(TypeAdapter(After).core_schema) is None
    assert _fields_validator(TypeAdapter(Private).core_schema) is None
    app = FastAPI()
    app.get("/before", response_model=Before)(lambda: {"name": "ann", "n": "2", "x": 1})
    app.get("/after", response_model=After)(lambda: {"name": "bob"})
    app.get("/private", response_model=Private)(lambda: {"name": "cy"})
    app.get("/invalid", response_model=Before)(lambda: {"name": "dee", "n": "many"})
    client = TestClient(app)
    for path, model, data in [("/before", Before, {"name": "ann", "n": "2", "x": 1}),
                              ("/after", After, {"name": "bob"}), ("/private", Private, {"name": "cy"})]:
        adapter = TypeAdapter(model)
        expected = adapter.dump_json(adapter.validate_python(data), by_alias=True)
        assert client.get(path).content == expected, path
    assert client.get("/before").json() == {"name": "ANN", "n": 4}
    with pytest.raises(ResponseValidationError) as info:
        client.get("/invalid")
    assert [(e["type"], e["loc"], e["input"]) for e in info.value.errors()] == [
        ("int_parsing", ("response", "n"), "many"),
    ]


def test_lists_of_dicts_through_a_list_of_models():
    from pydantic import TypeAdapter

    from fasterapi.testclient import TestClient

    class Line(BaseModel):
        sku: str
        qty: int = 1

    class Item(BaseModel):
        name: str
        lines: list[Line] = []

    good = [{"name": "a", "lines": [{"sku": "x", "qty": "2"}], "secret": 1}, {"name": "b"}]
    mixed = [Item(name="c"), {"name": "d", "lines": [Line(sku="y")]}]
    bad = [{"name": "e"}, {"name": "f", "lines": [{"qty": 3}]}]
    app = FastAPI()
    for path, value in [("/good", good), ("/mixed", mixed), ("/bad", bad)]:
        def handler(value=value) -> list[Item]:
            return value
        app.get(path + "2")(handler)
    client = TestClient(app)
    adapter = TypeAdapter(list[Item])
    for path, value in [("/good2", good), ("/mixed2", mixed)]:
        assert client.get(path).content == adapter.dump_json(adapter.validate_python(value), by_alias=True)
    assert client.get("/good2").json() == [
        {"name": "a", "lines": [{"sku": "x", "qty": 2}]}, {"name": "b", "lines": []},
    ]
    with pytest.raises(ResponseValidationError) as info:
        client.get("/bad2")
    assert [(e["type"], e["loc"]) for e in info.value.errors()] == [("missing", ("response", 1, "lines", 0, "sku"))]


# --- headers made on first read: exact when read or changed, sent from the attributes
# when untouched --------------------------------------------------------------------------

LAZY_EXPECTED = {
    "/lazy/untouched": (200, "text/plain; charset=utf-8", b"Hello, World!", {}),
    "/lazy/read": (200, "text/plain; charset=utf-8", b"Hello, World!", {}),
    "/lazy/mutated": (200, "text/plain; charset=utf-8", b"Hello, World!", {"x": "y"}),
    "/lazy/cookie": (200, "text/plain; charset=utf-8", b"Hello, World!", {"set-cookie": "a=b; Path=/; SameSite=lax"}),
    "/lazy/no-media-type": (200, None, b"raw", {}),
    "/lazy/csv": (200, "text/csv; charset=utf-8", b"a,b", {}),
    "/lazy/latin1": (200, "text/plain; charset=latin-1", "caf\u00e9".encode("latin-1"), {}),
    "/lazy/json": (201, "application/json", b'{"a":1}', {}),
}


def _check_lazy(path, r):
    status, content_type, body, extra = LAZY_EXPECTED[path]
    assert r.status_code == status, path
    assert r.headers.get("content-type") == content_type, path
    assert r.content == body, path
    assert r.headers["content-length"] == str(len(body)), path
    for name, value in extra.items():
        assert r.headers[name] == value, path
    names = [k.lower() for k in r.headers.keys()]
    assert names.count("content-type") == (content_type is not None) and names.count("content-length") == 1, path


@pytest.mark.parametrize("path", list(LAZY_EXPECTED))
def test_response_headers_read_changed_or_untouched_over_a_real_server(server, path):
    _check_lazy(path, get(server, path))


@pytest.mark.parametrize("path", list(LAZY_EXPECTED))
def test_response_headers_read_changed_or_untouched_through_the_test_client(path):
    from app_responses import lazy_header_routes
    from fasterapi.testclient import TestClient

    app = FastAPI()
    lazy_header_routes(app)
    _check_lazy(path, TestClient(app).get(path))


def test_response_headers_are_starlettes_when_read_after_construction():
    from fasterapi.responses import HTMLResponse, PlainTextResponse

    r = PlainTextResponse("Hello, World!")
    assert r.raw_headers == [(b"content-length", b"13"), (b"content-type", b"text/plain; charset=utf-8")]
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r.headers["x"] = "y"
    r.set_cookie("a", "b")
    assert r.raw_headers[2:] == [(b"x", b"y"), (b"set-cookie", b"a=b; Path=/; SameSite=lax")]
    assert HTMLResponse("<p>", status_code=204).raw_headers == [(b"content-type", b"text/html; charset=utf-8")]
    assert JSONResponse([1]).raw_headers == [(b"content-length", b"3"), (b"content-type", b"application/json")]
    assert Response().raw_headers == [(b"content-length", b"0")]
    r = Response("x")
    r.raw_headers = [(b"x-own", b"1")]
    assert r.raw_headers == [(b"x-own", b"1")] and r.headers["x-own"] == "1"
