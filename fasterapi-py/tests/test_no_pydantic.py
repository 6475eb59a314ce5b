"""Without pydantic: bodies are checked for their shape only, enums by their class."""

from conftest import get, post


def test_without_pydantic(spawn_server):
    s = spawn_server("app_no_pydantic.py")
    assert get(s, "/color?c=red").json() == {"c": "red"}
    r = get(s, "/color?c=green")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "c"]
    assert r.json()["detail"][0]["type"] == "value_error"
    assert post(s, "/numbers", json=[1, 2, 3]).json() == {"n": 3}
    r = post(s, "/numbers", json={"not": "a list"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "list_type"
    assert post(s, "/dict", json={"k": 1}).json() == {"k": 1}
    # The OpenAPI document needs pydantic: a 500, and the log says why.
    assert get(s, "/openapi.json").status_code == 500
    s.wait_for("the OpenAPI document .* is made of pydantic's JSON schemas")
    assert get(s, "/docs").status_code == 200  # the page itself needs no pydantic
    assert s.stop() == 0


def test_markers_without_pydantic(spawn_server):
    s = spawn_server("app_no_pydantic.py")
    r = get(s, "/markers?ids=1&ids=2", headers={"X-Token": "t"})
    assert r.json() == {"limit": 10, "name": "ab", "x_token": "t", "ids": [1, 2]}
    r = get(s, "/markers?limit=0&name=ba")
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "type": "greater_than_equal",
            "loc": ["query", "limit"],
            "msg": "Input should be greater than or equal to 1",
            "input": "0",
            "ctx": {"ge": 1},
        },
        {
            "type": "string_pattern_mismatch",
            "loc": ["query", "name"],
            "msg": "String should match pattern '^a'",
            "input": "ba",
            "ctx": {"pattern": "^a"},
        },
    ]
    # Scalar body values are checked by type and constraint in Rust.
    r = post(s, "/embed", json={"name": "abc", "qty": "2", "price": 3})
    assert r.json() == {"name": "abc", "qty": 2, "price": 3.0}
    r = post(s, "/embed", json={"name": "abcd", "qty": 0, "price": "x"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["body", "name"],
            "msg": "String should have at most 3 characters",
            "input": "abcd",
            "ctx": {"max_length": 3},
        },
        {
            "type": "greater_than_equal",
            "loc": ["body", "qty"],
            "msg": "Input should be greater than or equal to 1",
            "input": 0,
            "ctx": {"ge": 1},
        },
        {
            "type": "float_parsing",
            "loc": ["body", "price"],
            "msg": "Input should be a valid number, unable to parse string as a number",
            "input": "x",
        },
    ]
    r = post(s, "/embed", json={"name": 5, "qty": True})
    assert [(d["type"], d["loc"]) for d in r.json()["detail"]] == [
        ("string_type", ["body", "name"]),
        ("int_type", ["body", "qty"]),
    ]
    # Constraints only pydantic checks are refused at registration.
    assert "needs pydantic" in get(s, "/refused").json()
    assert get(s, "/needs_pydantic").status_code == 404
    assert s.stop() == 0
