"""Handler semantics (issue 5 point 2), served in process by the TestClient (app_main.py,
through the router and dispatch of a server); what only a server process shows (its log,
its threads) against a real server in a subprocess."""

import requests

from app_main import app
from conftest import get
from fasterapi.testclient import TestClient

client = TestClient(app)


# --- path and query parameters ------------------------------------------------------------


def test_path_and_query_params_converted_from_hints():
    r = client.get("/items/42?q=hello%20there&limit=5&flag=yes")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"item_id": 42, "q": "hello there", "limit": 5, "flag": True}


def test_defaults_and_optional():
    assert client.get("/items/-7").json() == {"item_id": -7, "q": None, "limit": 10, "flag": False}
    assert client.get("/float?x=2.5").json() == {"x": 2.5, "y": None}
    assert client.get("/float?x=1e3&y=-0.5").json() == {"x": 1000.0, "y": -0.5}


def test_bool_spellings_like_fastapi():
    for s in ["1", "true", "True", "TRUE", "on", "yes", "y", "t"]:
        assert client.get(f"/bool?b={s}").json() == {"b": True}, s
    for s in ["0", "false", "False", "off", "no", "n", "f"]:
        assert client.get(f"/bool?b={s}").json() == {"b": False}, s
    r = client.get("/bool?b=maybe")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "bool_parsing"
    assert r.json()["detail"][0]["loc"] == ["query", "b"]


def test_str_path_params_are_decoded_and_untyped_params_are_str():
    assert client.get("/names/J%C3%A9r%C3%B4me?untyped=5").json() == {"name": "Jérôme", "untyped": "5"}
    assert client.get("/files/a/b/c.txt").json() == {"path": "a/b/c.txt"}


def test_other_types_are_converted_by_pydantic():
    u = "12345678-1234-5678-1234-567812345678"
    assert client.get(f"/colors/red?uid={u}").json() == {"color": "red", "is_enum": True, "uid": u}
    r = client.get("/colors/green?uid=nope")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["path", "color"], ["query", "uid"]]
    assert detail[0]["type"] == "enum"


def test_big_ints_are_python_ints():
    assert client.get(f"/items/{2**70}").json()["item_id"] == 2**70


def test_conversion_failure_is_422_naming_each_parameter():
    r = client.get("/items/abc?limit=ten")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [d["loc"] for d in detail] == [["path", "item_id"], ["query", "limit"]]
    assert detail[0]["type"] == "int_parsing"
    assert detail[0]["input"] == "abc"
    assert detail[1]["input"] == "ten"
    r = client.get("/float?x=nope")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "x"]
    assert r.json()["detail"][0]["type"] == "float_parsing"


def test_missing_required_query_param_is_422():
    r = client.get("/float")
    assert r.status_code == 422
    assert r.json()["detail"] == [{"type": "missing", "loc": ["query", "x"], "msg": "Field required", "input": None}]
    # Optional[...] without a default is still required, as in FastAPI.
    r = client.get("/required")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "needed"]
    assert client.get("/required?needed=3").json() == {"needed": 3}


# --- bodies -------------------------------------------------------------------------------


def test_dict_body():
    r = client.post("/dict", json={"a": [1, 2, {"b": None}]})
    assert r.status_code == 200
    assert r.json() == {"got": {"a": [1, 2, {"b": None}]}}


def test_dict_body_of_wrong_shape_or_bad_json_or_missing_is_422():
    r = client.post("/dict", json=[1, 2])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]
    assert r.json()["detail"][0]["type"] == "dict_type"
    r = client.post("/dict", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"
    r = client.post("/dict")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "missing"
    assert r.json()["detail"][0]["loc"] == ["body"]


def test_optional_body_defaults():
    assert client.post("/optional_body").json() == {"payload": None}
    assert client.post("/optional_body", json={"k": 1}).json() == {"payload": {"k": 1}}


def test_typed_list_body_is_validated():
    r = client.post("/list", json=[1, "2", 3])
    assert r.status_code == 200
    assert r.json() == {"sum": 6, "types": ["int", "int", "int"]}
    r = client.post("/list", json=[1, "x"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", 1]
    assert client.post("/dict_typed", json={"a": 1}).json() == {"a": 1}
    r = client.post("/dict_typed", json={"a": "no"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "a"]


def test_pydantic_model_body():
    r = client.post("/model", json={"name": "pen", "price": "1.5"})
    assert r.status_code == 201
    assert r.json() == {"name": "pen", "price": 1.5, "tags": [], "cls": "Item"}


def test_pydantic_validation_failure_is_422_with_loc():
    r = client.post("/model", json={"name": "pen", "price": "cheap"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert len(detail) == 1
    assert detail[0]["loc"] == ["body", "price"]
    assert detail[0]["type"] == "float_parsing"
    r = client.post("/model", json={"price": 1})
    assert r.json()["detail"][0]["loc"] == ["body", "name"]
    assert r.json()["detail"][0]["type"] == "missing"


def test_several_body_params_are_embedded_by_name():
    r = client.post("/two", json={"item": {"name": "a", "price": 2}, "extra": {"k": "v"}})
    assert r.status_code == 200
    assert r.json() == {"item": {"name": "a", "price": 2.0, "tags": []}, "extra": {"k": "v"}}
    r = client.post("/two", json={"item": {"name": "a", "price": 2}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "extra"]


def test_put_patch_delete():
    r = client.put("/items/3", json={"name": "x", "price": 1})
    assert r.json() == {"item_id": 3, "item": {"name": "x", "price": 1.0, "tags": []}}
    r = client.patch("/items/3", json={"price": 2})
    assert r.json() == {"item_id": 3, "changes": {"price": 2}}
    r = client.delete("/items/3")
    assert r.status_code == 204
    assert r.content == b""
    r = client.post("/items/3")
    assert r.status_code == 405


# --- request injection --------------------------------------------------------------------


def test_request_injection():
    r = client.request(
        "GET",
        "/request/abc?x=1&x=2&y=%C3%A9",
        headers={"X-Test": "header value"},
        content=b"payload",
    )
    assert r.status_code == 200
    assert r.json() == {
        "part": "abc",
        "method": "GET",
        "path": "/request/abc",
        "url": "http://testserver/request/abc?x=1&x=2&y=%C3%A9",
        "query_params": {"x": "2", "y": "é"},
        "path_params": {"part": "abc"},
        "x_test": "header value",
        "x_test_any_case": "header value",
        "has_x_test": True,
        "body": "payload",
    }


def test_request_body_and_json_are_awaitable_in_async_handlers():
    body = b'{"k": [1, 2]}'  # as sent, spaces included (httpx's json= drops them)
    r = client.post("/request_json", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert r.json() == {"json": {"k": [1, 2]}, "len": len(body)}


# --- return values ------------------------------------------------------------------------


def test_returned_values_are_json():
    r = client.get("/ret/dict")
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"a": 1, "b": [1, 2.5, "x", None, True, False], "c": {"d": "é\"\n"}, "1": "int key"}
    assert client.get("/ret/list").json() == [1, "two", 3.0, [4, 5]]
    assert client.get("/ret/str").text == '"hello"'
    assert client.get("/ret/int").text == "42"
    assert client.get("/ret/bigint").json() == 2**80
    assert client.get("/ret/float").text == "1.5"
    r = client.get("/ret/none")
    assert r.status_code == 200
    assert r.text == "null"
    assert client.get("/ret/model").json() == {"name": "pen", "price": 1.25, "tags": ["a"]}


def test_returned_bytes_are_sent_raw():
    r = client.get("/ret/bytes")
    assert r.content == b"\x00\x01raw"
    assert r.headers["content-type"] == "application/octet-stream"


def test_response_classes():
    r = client.get("/ret/response")
    assert (r.status_code, r.content) == (202, b"custom")
    assert r.headers["x-custom"] == "yes"
    assert r.headers["content-type"] == "application/x-thing"
    r = client.get("/ret/json")
    assert r.status_code == 201
    assert r.json() == {"created": True}
    assert r.headers["location"] == "/ret/json/1"
    assert r.headers["content-type"] == "application/json"
    r = client.get("/ret/plain")
    assert r.text == "Hello, World!"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r = client.get("/ret/html")
    assert r.text == "<h1>hi</h1>"
    assert r.headers["content-type"] == "text/html; charset=utf-8"


def test_response_media_types():
    # text/* gets utf-8 unless it names a charset; other types go out as they are.
    for kind, content_type in [
        ("csv", "text/csv; charset=utf-8"),
        ("latin", "text/plain; charset=latin-1"),
        ("svg", "image/svg+xml"),
    ]:
        r = client.get(f"/ret/media/{kind}")
        assert (r.status_code, r.content) == (200, b"a,b")
        assert r.headers["content-type"] == content_type


# --- errors -------------------------------------------------------------------------------


def test_http_exception():
    r = client.get("/http_exception/404")
    assert r.status_code == 404
    assert r.json() == {"detail": "code 404"}
    r = client.get("/http_exception/418")
    assert r.status_code == 418
    assert r.json() == {"detail": {"why": "teapot"}}
    assert r.headers["x-error"] == "tea"
    r = client.get("/async/http_exception")
    assert r.status_code == 403
    assert r.json() == {"detail": "forbidden"}


def test_unhandled_exception_is_500_logged_and_server_keeps_serving(server):
    with requests.Session() as s:
        r = s.get(server.url + "/boom", timeout=10)
        assert r.status_code == 500
        assert r.text == "Internal Server Error"
        server.wait_for(r"exception in handler of GET /boom")
        server.wait_for(r"ZeroDivisionError")
        # The same connection and new ones go on being served.
        assert s.get(server.url + "/ret/int", timeout=10).text == "42"
    assert get(server, "/ret/int").text == "42"
    r = get(server, "/async/boom")
    assert r.status_code == 500
    server.wait_for(r"KeyError: 'async boom'")
    r = get(server, "/ret/unserializable")
    assert r.status_code == 500
    # FastAPI's jsonable_encoder error: neither dict(obj) nor vars(obj) reads it.
    server.wait_for(r"ValueError: \[TypeError\(\"'object' object is not iterable\"\)")
    assert get(server, "/items/1").status_code == 200


def test_unknown_route_and_method():
    assert client.get("/nope").status_code == 404
    assert client.delete("/ret/int").status_code == 405


# --- async --------------------------------------------------------------------------------


def test_async_handlers():
    assert client.get("/async/plain/5").json() == {"n": 5, "async": True}
    assert client.get("/async/yield0").json() == "after yield"


def test_async_handlers_that_really_await():
    assert client.get("/async/sleep?s=0.02").json() == {"slept": True}
    assert client.get("/async/gather").json() == [2, 4, 6]
    # Again, on the same thread's loop, mixed with non-suspending coroutines.
    for i in range(3):
        assert client.get("/async/sleep").json() == {"slept": True}
        assert client.get(f"/async/plain/{i}").json()["n"] == i


def test_sync_handler_can_run_its_own_loop_after_async_handlers():
    # One client: the same server thread (an I/O thread) and its loop.
    assert client.get("/async/plain/1").status_code == 200
    r = client.get("/sync/asyncio_run")
    assert (r.status_code, r.json()) == (200, "ran")
    assert client.get("/async/sleep").json() == {"slept": True}
    assert client.get("/sync/asyncio_run").json() == "ran"


# --- executor -----------------------------------------------------------------------------


def test_inline_routes_run_on_the_io_thread_and_blocking_ones_on_the_pool(server):
    inline = {get(server, "/thread").json()["thread"] for _ in range(5)}
    assert len(inline) == 1, "inline handlers all run on the one I/O thread"
    pool = {get(server, "/blocking_thread").json()["thread"] for _ in range(5)}
    assert inline.isdisjoint(pool), "blocking=True handlers run on executor threads"
    assert get(server, "/blocking_thread").json()["pid"] == get(server, "/thread").json()["pid"]


def test_a_def_handler_moves_inline_after_fast_calls_and_back_to_the_pool_once_it_blocks(server):
    (io_thread,) = {get(server, "/thread").json()["thread"] for _ in range(3)}
    with requests.Session() as s:
        first = s.get(server.url + "/adaptive_thread", timeout=10).json()["thread"]
        assert first != io_thread, "a def handler starts on the thread pool"
        # 32 fast calls in a row move it inline; a call that is slow on a loaded machine
        # restarts the count, so allow many.
        for _ in range(2000):
            if s.get(server.url + "/adaptive_thread", timeout=10).json()["thread"] == io_thread:
                break
        else:
            raise AssertionError("the handler never moved onto the I/O thread")
        # A call that blocks on the I/O thread (10 ms, past the 1 ms mark) moves it back.
        blocked = s.get(server.url + "/adaptive_thread?sleep=0.01", timeout=10).json()["thread"]
        assert blocked == io_thread
        server.wait_for(r"GET /adaptive_thread held up its I/O thread")
        after = {s.get(server.url + "/adaptive_thread", timeout=10).json()["thread"] for _ in range(50)}
        assert io_thread not in after, "for good"
