"""The plan protocol between the package and the server, defined once in Rust
(fasterapi-py/src/plan.rs, dispatch.rs): routes are RouteSpec objects, parameters ParamSpec
objects naming a Source and a Conv; bad specs are refused when made, at registration."""

from typing import Annotated, List, Optional

import pytest
from pydantic import BaseModel

from fasterapi import Body, FasterAPI, Header, Query, Request
from fasterapi._fasterapi import Conv, ParamSpec, RouteSpec, Source


class Item(BaseModel):
    name: str


def test_routes_are_route_specs_with_named_fields():
    app = FasterAPI()

    @app.post("/items/{item_id}", status_code=201, blocking=True)
    def create(item_id: int, item: Item, request: Request, q: Optional[str] = None,
               tags: List[str] = Query([]), x_token: Annotated[str, Header()] = "t"):
        return item

    (route,) = app.routes[0].specs
    assert isinstance(route, RouteSpec)
    assert (route.method, route.path, route.endpoint, route.is_async, route.blocking, route.status_code) == (
        "POST", "/items/{item_id}", create, False, True, 201)
    specs = {p.name: p for p in route.plan}
    assert [p.name for p in route.plan] == ["item_id", "item", "request", "q", "tags", "x_token"]
    assert (specs["item_id"].source, specs["item_id"].conv, specs["item_id"].required) == (Source.PATH, Conv.INT, True)
    assert (specs["item"].source, specs["item"].conv) == (Source.BODY, Conv.VALIDATOR)
    # pydantic validation as FastAPI's, from attributes too.
    assert specs["item"].validator({"name": "pen"}) == Item(name="pen")
    assert specs["item"].validator(Item(name="ink")) == Item(name="ink")
    assert specs["request"].source == Source.REQUEST
    assert (specs["q"].source, specs["q"].conv, specs["q"].required, specs["q"].default) == (
        Source.QUERY, Conv.STR, False, None)
    assert (specs["tags"].multi, specs["tags"].default) == (True, [])
    assert (specs["x_token"].source, specs["x_token"].key) == (Source.HEADER, "x-token")
    assert repr(specs["q"]) == "ParamSpec(name='q', source=Source.QUERY, conv=Conv.STR, key='q', required=False)"


def test_several_body_parameters_read_body_fields():
    app = FasterAPI()

    @app.post("/two")
    def two(a: dict, b: int = Body(...)):
        return a

    assert [p.source for p in app.routes[0].specs[0].plan] == [Source.BODY_FIELD, Source.BODY_FIELD]


def test_bad_specs_are_refused_when_made():
    with pytest.raises(ValueError, match="no validator"):
        ParamSpec(name="a", source=Source.QUERY, conv=Conv.VALIDATOR, key="a", required=True)
    with pytest.raises(ValueError, match="several values"):
        ParamSpec(name="a", source=Source.PATH, conv=Conv.STR, key="a", required=True, multi=True)
    with pytest.raises(TypeError):
        ParamSpec(name="a", source=1, conv=Conv.STR, key="a", required=True)
    with pytest.raises(TypeError):
        RouteSpec(method="GET", path="/", endpoint=print, is_async=False, plan=[("a", 1)])
    with pytest.raises(ValueError, match="unsupported method BREW"):
        RouteSpec(method="BREW", path="/", endpoint=print, is_async=False, plan=[])
    with pytest.raises(ValueError, match="blocking=True"):
        RouteSpec(method="GET", path="/", endpoint=print, is_async=True, plan=[], blocking=True)
    # A bad status is refused at registration, not when the server starts.
    app = FasterAPI()
    with pytest.raises(ValueError, match="bad status_code 99"):
        app.get("/x", status_code=99)(lambda: None)


def test_serve_refuses_what_is_not_an_app_spec():
    from fasterapi import _fasterapi

    with pytest.raises(TypeError, match="AppSpec"):
        _fasterapi.serve([("GET", "/", print, False, [], None, 200)], "127.0.0.1", 0)
    with pytest.raises(TypeError):
        _fasterapi.AppSpec(routes=[("GET", "/")], exception_handlers=None)
