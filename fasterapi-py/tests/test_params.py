"""Parameter markers (Query, Path, Header, Cookie, Body, Annotated), served in process by
the TestClient (app_params.py, through the router and dispatch of a server); 422 bodies are
compared with FastAPI's shape and with pydantic's own wording."""

import math
from typing import Annotated, List, Optional

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from app_params import app
from fasterapi import Body, Cookie, FasterAPI, Header, Path, Query
from fasterapi.testclient import TestClient


client = TestClient(app)


def detail(r):
    assert r.status_code == 422, r.text
    return r.json()["detail"]


def pydantic_error(annotation, value, loc):
    """The 422 item FastAPI answers when pydantic rejects `value` for `annotation`."""
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as e:
        (err,) = e.errors(include_url=False)
        item = {"type": err["type"], "loc": loc + list(err["loc"]), "msg": err["msg"], "input": err["input"]}
        if err.get("ctx"):
            item["ctx"] = err["ctx"]
        return item
    raise AssertionError(f"{value!r} is valid for {annotation!r}")


JSON = {"content-type": "application/json"}


def missing(*loc):
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}


# --- Query --------------------------------------------------------------------------------


def test_query_defaults_and_values():
    assert client.get("/query").json() == {"q": None, "limit": 10}
    assert client.get("/query?q=hi&limit=1").json() == {"q": "hi", "limit": 1}
    assert client.get("/query?limit=100").json() == {"q": None, "limit": 100}


def test_query_bounds_violated_is_422_in_fastapi_shape():
    assert detail(client.get("/query?limit=0")) == [
        {
            "type": "greater_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be greater than or equal to 1",
            "input": "0",
            "ctx": {"ge": 1},
        }
    ]
    assert detail(client.get("/query?limit=101")) == [
        {
            "type": "less_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be less than or equal to 100",
            "input": "101",
            "ctx": {"le": 100},
        }
    ]
    # A value that is no integer fails conversion; its bounds are not checked.
    (d,) = detail(client.get("/query?limit=ten"))
    assert (d["type"], d["loc"], d["input"]) == ("int_parsing", ["query", "limit"], "ten")


def test_required_query_markers():
    assert client.get("/query/required?q=a&n=2").json() == {"q": "a", "n": 2}
    assert detail(client.get("/query/required")) == [missing("query", "q"), missing("query", "n")]
    assert detail(client.get("/query/required?q=a")) == [missing("query", "n")]


def test_query_alias():
    assert client.get("/query/alias?item-query=x%20y").json() == {"item_query": "x y"}
    # The Python name is not the query's name.
    assert client.get("/query/alias?item_query=x").json() == {"item_query": None}
    assert detail(client.get("/query/alias_required?item_query=x")) == [missing("query", "item-query")]
    assert client.get("/query/alias_required?item-query=1").json() == {"item_query": "1"}


def test_string_constraints():
    ann = Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-zé]+$")]
    assert client.get("/query/str?s=ab").json() == {"s": "ab"}
    # Lengths count characters, not bytes.
    assert client.get("/query/str?s=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9").json() == {"s": "ééééé"}
    for value, kind in [("a", "string_too_short"), ("éééééé", "string_too_long"), ("abC", "string_pattern_mismatch")]:
        (d,) = detail(client.get("/query/str", params={"s": value}))
        assert d["type"] == kind
        assert d == pydantic_error(ann, value, ["query", "s"])
    (d,) = detail(client.get("/query/str?s=A"))
    assert d == {
        "type": "string_too_short",
        "loc": ["query", "s"],
        "msg": "String should have at least 2 characters",
        "input": "A",
        "ctx": {"min_length": 2},
    }
    (d,) = detail(client.get("/query/str?s=ab1"))
    assert d["msg"] == "String should match pattern '^[a-zé]+$'"
    assert d["ctx"] == {"pattern": "^[a-zé]+$"}


def test_pattern_is_searched_and_regex_is_its_old_name():
    assert client.get("/query/regex").json() == {"code": "ab1", "one": None}
    assert client.get("/query/regex?code=x9").json()["code"] == "x9"
    (d,) = detail(client.get("/query/regex?code=9x"))
    assert d == pydantic_error(Annotated[str, Field(pattern=r"\d$")], "9x", ["query", "code"])
    (d,) = detail(client.get("/query/regex?one=ab"))
    assert d["msg"] == "String should have at most 1 character"
    assert d == pydantic_error(Annotated[str, Field(max_length=1)], "ab", ["query", "one"])


def test_number_constraints_match_pydantic():
    assert client.get("/query/numbers?f=1.25&i=-5&big=5").json() == {"f": 1.25, "i": -5, "big": 5}
    cases = [
        ("f", "0", Annotated[float, Field(gt=0, lt=1.5)]),
        ("f", "1.5", Annotated[float, Field(gt=0, lt=1.5)]),
        ("i", "-6", Annotated[int, Field(ge=-5, le=5)]),
        ("i", "6", Annotated[int, Field(ge=-5, le=5)]),
        ("big", str(2**70), Annotated[int, Field(lt=2**70)]),
    ]
    for name, value, ann in cases:
        params = {"f": "1", name: value}
        (d,) = detail(client.get("/query/numbers", params=params))
        assert d == pydantic_error(ann, value, ["query", name]), (name, value)
    # Several failures: one item each.
    assert [d["loc"] for d in detail(client.get("/query/numbers?f=2&i=9"))] == [["query", "f"], ["query", "i"]]


def test_float_bounds_are_shown_as_pydantic_shows_them():
    (d,) = detail(client.get("/query/float_bounds?x=0"))
    assert d["msg"] == "Input should be greater than or equal to 0.0000001"
    assert d == pydantic_error(Annotated[float, Field(ge=1e-7, le=1e20)], "0", ["query", "x"])
    (d,) = detail(client.get("/query/float_bounds?x=1e21"))
    assert d["msg"] == "Input should be less than or equal to 100000000000000000000"
    assert d == pydantic_error(Annotated[float, Field(ge=1e-7, le=1e20)], "1e21", ["query", "x"])
    (d,) = detail(client.get("/query/float_bounds?y=0.25"))
    assert d == pydantic_error(Annotated[float, Field(gt=0.25)], "0.25", ["query", "y"])
    # NaN passes no bound.
    (d,) = detail(client.get("/query/float_bounds?y=nan"))
    assert (d["type"], d["input"]) == ("greater_than", "nan")
    assert math.isclose(d["ctx"]["gt"], 0.25)


def test_query_lists_take_every_value():
    assert client.get("/query/list").json() == {"tags": [], "ids": None}
    assert client.get("/query/list?tags=a&ids=3&tags=b&ids=-1").json() == {"tags": ["a", "b"], "ids": [3, -1]}
    assert detail(client.get("/query/list?ids=1&ids=x&ids=2&ids=y")) == [
        {
            "type": "int_parsing",
            "loc": ["query", "ids", 1],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "x",
        },
        {
            "type": "int_parsing",
            "loc": ["query", "ids", 3],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "y",
        },
    ]
    assert detail(client.get("/query/list_required")) == [missing("query", "ids")]
    assert client.get("/query/list_required?ids=7").json() == {"ids": [7]}


def test_constraints_pydantic_checks():
    u = "12345678-1234-5678-1234-567812345678"
    assert client.get(f"/query/pydantic?n=6&uid={u}&short=a&short=b").json() == {"n": 6, "uid": u, "short": ["a", "b"]}
    errors = detail(client.get("/query/pydantic?n=4&uid=nope&short=a&short=b&short=c"))
    assert errors[0] == pydantic_error(Annotated[int, Field(multiple_of=3)], "4", ["query", "n"])
    assert errors[1]["loc"] == ["query", "uid"]
    assert errors[1]["type"] == "uuid_parsing"
    assert errors[2] == pydantic_error(Annotated[List[str], Field(max_length=2)], ["a", "b", "c"], ["query", "short"])


# --- Path ---------------------------------------------------------------------------------


def test_path_marker():
    assert client.get("/items/3?q=x").json() == {"item_id": 3, "q": "x"}
    assert detail(client.get("/items/0")) == [
        {"type": "greater_than", "loc": ["path", "item_id"], "msg": "Input should be greater than 0", "input": "0", "ctx": {"gt": 0}}
    ]
    (d,) = detail(client.get("/items/-4"))
    assert d["input"] == "-4"
    assert client.get("/names/%C3%A9t%C3%A9s").json() == {"name": "étés"}
    (d,) = detail(client.get("/names/abcde"))
    assert d == pydantic_error(Annotated[str, Field(max_length=4)], "abcde", ["path", "name"])


# --- Header -------------------------------------------------------------------------------


def test_header_underscores_become_hyphens_and_case_is_ignored():
    r = client.get("/header", headers={"X-Token": "secret", "User-Agent": "tests/1"})
    assert r.json() == {"x_token": "secret", "user_agent": "tests/1"}
    assert client.get("/header", headers={"x-TOKEN": "s2"}).json()["x_token"] == "s2"
    assert detail(client.get("/header")) == [missing("header", "x-token")]
    # The parameter's own name with underscores is not the header.
    assert detail(client.get("/header", headers={"x_token": "v"})) == [missing("header", "x-token")]


def test_header_convert_underscores_false():
    assert client.get("/header/underscores", headers={"x_token": "v"}).json() == {"x_token": "v"}
    assert client.get("/header/underscores", headers={"X-Token": "v"}).json() == {"x_token": None}


def test_header_alias():
    assert client.get("/header/alias", headers={"x-api-key": "k"}).json() == {"token": "k"}
    assert detail(client.get("/header/alias", headers={"token": "k"})) == [missing("header", "X-Api-Key")]


def test_header_conversion_and_constraints():
    assert client.get("/header/int").json() == {"x_count": 0}
    assert client.get("/header/int", headers={"X-Count": "7"}).json() == {"x_count": 7}
    (d,) = detail(client.get("/header/int", headers={"X-Count": "11"}))
    assert d == pydantic_error(Annotated[int, Field(ge=0, le=10)], "11", ["header", "x-count"])
    (d,) = detail(client.get("/header/int", headers={"X-Count": "many"}))
    assert (d["type"], d["loc"]) == ("int_parsing", ["header", "x-count"])


def test_header_values_are_latin1():
    r = client.get("/header", headers={"X-Token": "caf\xe9".encode("latin-1")})
    assert r.json()["x_token"] == "café"


def raw_get(path, headers):
    """GET with repeated header lines (a dict folds them) and no User-Agent."""
    request = client.build_request("GET", path, headers=headers)
    del request.headers["user-agent"]
    r = client.send(request)
    return r.status_code, r.content


def test_repeated_headers_fill_a_list_and_a_scalar_takes_the_first():
    status, body = raw_get("/header/list", [("X-Tag", "a"), ("x-tag", "b"), ("Other", "c")])
    assert (status, body) == (200, b'{"x_tag":["a","b"]}')
    assert client.get("/header/list").json() == {"x_tag": []}
    status, body = raw_get("/header", [("X-Token", "first"), ("X-Token", "second")])
    assert (status, body) == (200, b'{"x_token":"first","user_agent":null}')


# --- Cookie -------------------------------------------------------------------------------


def test_cookie():
    with_cookies = TestClient(app, cookies={"session": "abc", "visits": "2"})
    assert with_cookies.get("/cookie").json() == {"session": "abc", "visits": 2}
    assert client.get("/cookie", headers={"Cookie": "visits=0"}).json() == {"session": None, "visits": 0}
    # Starlette's parsing: pairs trimmed, the last of a name wins, quoted values unquoted.
    r = client.get("/cookie", headers={"Cookie": 'other=1;  visits = 5 ; session="a\\"b\\054c"; visits=6'})
    assert r.json() == {"session": 'a"b,c', "visits": 6}
    assert detail(client.get("/cookie", headers={"Cookie": "session=x"})) == [missing("cookie", "visits")]
    (d,) = detail(client.get("/cookie", headers={"Cookie": "visits=-1"}))
    assert d == pydantic_error(Annotated[int, Field(ge=0)], "-1", ["cookie", "visits"])


# --- Body ---------------------------------------------------------------------------------


def test_body_marker_takes_the_whole_body():
    assert client.post("/body", json={"a": [1]}).json() == {"payload": {"a": [1]}}
    assert detail(client.post("/body")) == [missing("body")]
    (d,) = detail(client.post("/body", json=[1]))
    assert (d["type"], d["loc"]) == ("dict_type", ["body"])
    # JSON null is no value: the default, or missing.
    assert client.post("/body/optional", content=b"null", headers=JSON).json() == {"payload": None}
    assert client.post("/body/optional", json={"k": 1}).json() == {"payload": {"k": 1}}
    assert detail(client.post("/body", content=b"null", headers=JSON)) == [missing("body")]
    # As FastAPI (strict_content_type): a body that does not say it is JSON is not parsed;
    # its bytes are no dict.
    (d,) = detail(client.post("/body", content=b'{"a": [1]}'))
    assert d == {"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary", "input": '{"a": [1]}'}


def test_body_embed():
    assert client.post("/body/embed", json={"name": "pen"}).json() == {"name": "pen"}
    assert detail(client.post("/body/embed", json={"other": 1})) == [missing("body", "name")]
    assert detail(client.post("/body/embed", json="pen")) == [missing("body", "name")]
    assert detail(client.post("/body/embed")) == [missing("body", "name")]
    (d,) = detail(client.post("/body/embed", json={"name": 5}))
    assert d == pydantic_error(str, 5, ["body", "name"])


def test_scalar_body_values_with_constraints():
    r = client.post("/body/scalars", json={"name": "ab", "qty": "3", "price": 2})
    assert r.json() == {"name": "ab", "qty": 3, "price": 2.0}
    assert client.post("/body/scalars", json={"name": "ab"}).json() == {"name": "ab", "qty": 1, "price": None}
    assert detail(client.post("/body/scalars", json={"name": "a", "qty": 0})) == [
        pydantic_error(Annotated[str, Field(min_length=2)], "a", ["body", "name"]),
        {"type": "greater_than", "loc": ["body", "qty"], "msg": "Input should be greater than 0", "input": 0, "ctx": {"gt": 0}},
    ]
    assert detail(client.post("/body/scalars", json={"qty": 2})) == [missing("body", "name")]


def test_single_scalar_body_is_the_whole_body():
    assert client.post("/body/int", content=b"5", headers=JSON).json() == {"importance": 5}
    (d,) = detail(client.post("/body/int", content=b'"x"', headers=JSON))
    assert d == pydantic_error(int, "x", ["body"])


def test_body_alias_and_list_constraints():
    assert client.post("/body/alias", json={"count": 4}).json() == {"n": 4}
    assert detail(client.post("/body/alias", json={"n": 4})) == [missing("body", "count")]
    assert client.post("/body/list", json={"values": [1, "2"]}).json() == {"values": [1, 2]}
    (d,) = detail(client.post("/body/list", json={"values": []}))
    assert d == pydantic_error(Annotated[List[int], Field(min_length=1)], [], ["body", "values"])


# --- Annotated ----------------------------------------------------------------------------


def test_annotated_markers():
    r = client.get("/annotated/3?limit=2&q=abc&page-size=7&plain=4", headers={"X-Token": "t"})
    assert r.json() == {"item_id": 3, "x_token": "t", "limit": 2, "q": "abc", "size": 7, "plain": 4}
    r = client.get("/annotated/3", headers={"X-Token": "t"})
    assert r.json() == {"item_id": 3, "x_token": "t", "limit": 5, "q": None, "size": 20, "plain": 1}


def test_annotated_violations_in_fastapi_order():
    # Errors come grouped as FastAPI reports them: path, query, header (the signature
    # has the header second).
    assert detail(client.get("/annotated/0?limit=11&q=abcd&page-size=x")) == [
        {
            "type": "greater_than_equal",
            "loc": ["path", "item_id"],
            "msg": "Input should be greater than or equal to 1",
            "input": "0",
            "ctx": {"ge": 1},
        },
        {
            "type": "less_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be less than or equal to 10",
            "input": "11",
            "ctx": {"le": 10},
        },
        {
            "type": "string_too_long",
            "loc": ["query", "q"],
            "msg": "String should have at most 3 characters",
            "input": "abcd",
            "ctx": {"max_length": 3},
        },
        {
            "type": "int_parsing",
            "loc": ["query", "page-size"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "x",
        },
        missing("header", "x-token"),
    ]


def test_annotated_pydantic_field():
    assert client.get("/annotated_field?n=1&m=5").json() == {"n": 1, "m": 5}
    assert detail(client.get("/annotated_field?n=0&m=6")) == [
        pydantic_error(Annotated[int, Field(gt=0)], "0", ["query", "n"]),
        pydantic_error(Annotated[int, Field(le=5)], "6", ["query", "m"]),
    ]
    assert detail(client.get("/annotated_field")) == [missing("query", "n")]


def test_annotated_body_in_async_handler():
    assert client.post("/annotated_body", json={"name": "abc"}).json() == {"name": "abc"}
    (d,) = detail(client.post("/annotated_body", json={"name": "abcd"}))
    assert d == pydantic_error(Annotated[str, Field(max_length=3)], "abcd", ["body", "name"])


# --- registration -------------------------------------------------------------------------


def register(path, func):
    FasterAPI().get(path)(func)


def test_markers_are_checked_at_registration():
    def both(q: Annotated[int, Query()] = Query(1)):
        pass

    def default_in_annotated(q: Annotated[int, Query(3)]):
        pass

    def query_on_path_name(item_id: int = Query(...)):
        pass

    def path_not_in_path(other: int = Path(...)):
        pass

    def dict_in_query(filters: dict = Query(...)):
        pass

    def fractional_int_bound(n: int = Query(0, ge=1.5)):
        pass

    def bad_pattern(s: str = Query("", pattern="(")):
        pass

    def list_in_cookie(c: List[str] = Cookie([])):
        pass

    cases = [
        (both, "both in Annotated and as its default"),
        (default_in_annotated, "takes no default"),
        (query_on_path_name, "mark it Path()"),
        (path_not_in_path, "not in the path"),
        (dict_in_query, "read from the body"),
        (fractional_int_bound, "not an integer"),
        (bad_pattern, "bad pattern"),
        (list_in_cookie, "list type"),
    ]
    for func, message in cases:
        with pytest.raises(TypeError, match=message):
            register("/items/{item_id}", func)
    with pytest.raises(TypeError, match="default_factory"):
        Query(default_factory=list)


def test_markers_repr_and_documentation_keywords():
    q = Query(10, ge=1, le=100, title="Limit", description="how many", deprecated=True, include_in_schema=False)
    assert repr(q) == "Query(10, ge=1, le=100)"
    assert repr(Header(None, alias="X-Key")) == "Header(None, alias='X-Key')"
    assert repr(Path(gt=0)) == "Path(gt=0)"
    assert Body(embed=True).embed is True
    assert Header().convert_underscores is True
    assert Cookie().location == "cookie"
