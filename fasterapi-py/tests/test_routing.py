"""Routers, route names, FastAPI's 404/405 answers, redirect_slashes and exception
handlers, on real servers (app_routing.py); registration checks in process."""

import pytest
import requests

from conftest import Server, get, post
from fasterapi import APIRouter, FasterAPI
from fasterapi.exceptions import FastAPIError
from fasterapi.routing import APIRoute, NoMatchFound


def _server(mode):
    @pytest.fixture(scope="module")
    def fixture():
        s = Server("app_routing.py", workers=1, args=(mode,))
        yield s
        code = s.stop()
        assert code == 0, "".join(s.log)

    return fixture


server = _server("main")
handlers_server = _server("handlers")
no_redirect_server = _server("no_redirect")


def raw(server, path, method="GET", **kw):
    return requests.request(method, server.url + path, timeout=10, allow_redirects=False, **kw)


# --- routers ----------------------------------------------------------------------------


def test_router_routes_are_served_under_their_prefixes(server):
    assert get(server, "/users/").json() == [{"username": "Rick"}, {"username": "Morty"}]
    assert get(server, "/users/rick").json() == {"username": "rick", "path": "/users/rick"}
    # Nested: app -> /v1 + outer's /outer -> /in + inner's /inner.
    assert get(server, "/v1/outer/in/inner/both").json() == {"method": "GET"}
    assert post(server, "/v1/outer/in/inner/both").json() == {"method": "POST"}
    # A route added to an included router after the include.
    assert requests.delete(server.url + "/v1/outer/in/inner/late/3", timeout=10).json() == {"late": 3}
    assert raw(server, "/inner/both").status_code == 404


def test_api_route_add_api_route_and_the_other_methods(server):
    assert get(server, "/items").json() == {"items": [], "q": "none"}
    assert post(server, "/items").json() == {"created": True}
    assert requests.put(server.url + "/added/7", timeout=10).json() == {"x": 7}
    assert requests.options(server.url + "/opt", timeout=10).json() == {"method": "OPTIONS"}


def test_url_path_for_names_routes(server):
    assert get(server, "/url_for?name=user&username=morty").json() == {"path": "/users/morty"}
    assert get(server, "/url_for?name=added_route").json()["error"] == "NoMatchFound"
    assert get(server, "/url_for?name=list_users").json() == {"path": "/users/"}
    assert get(server, "/url_for?name=nope").json() == {
        "error": "NoMatchFound", "message": 'No route exists for name "nope" and params "".'}


# --- 404, 405, redirect_slashes ---------------------------------------------------------


def test_fastapi_404_and_405_bodies(server):
    r = raw(server, "/nowhere")
    assert (r.status_code, r.json(), r.headers["content-type"]) == (404, {"detail": "Not Found"}, "application/json")
    r = raw(server, "/items", "PATCH")
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})
    assert r.headers["allow"] == "GET, HEAD, POST"
    # With a body, answered from the head: the same answers.
    r = raw(server, "/items", "PUT", json={"a": 1})
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})


def test_redirect_slashes_both_ways_keeping_the_query(server):
    r = raw(server, "/items/?q=1&r=2")
    assert r.status_code == 307
    assert r.headers["location"] == f"{server.url}/items?q=1&r=2"
    assert r.content == b""
    r = raw(server, "/users")
    assert (r.status_code, r.headers["location"]) == (307, f"{server.url}/users/")
    # Any method the other path has: Starlette redirects on a partial match too.
    r = raw(server, "/items/", "PATCH")
    assert (r.status_code, r.headers["location"]) == (307, f"{server.url}/items")
    # A request with a body is redirected from its head.
    r = raw(server, "/items/", "POST", json={"a": 1})
    assert (r.status_code, r.headers["location"]) == (307, f"{server.url}/items")
    # Followed, as a client does.
    assert get(server, "/items/?q=z").json() == {"items": [], "q": "z"}
    # Neither form routed: 404; the root is never redirected.
    assert raw(server, "/nowhere/").status_code == 404
    assert raw(server, "/").status_code == 404


def test_redirect_slashes_false(no_redirect_server):
    r = raw(no_redirect_server, "/items/")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert raw(no_redirect_server, "/items").status_code == 200


# --- exception handlers -----------------------------------------------------------------


def test_a_custom_exception_class_has_its_handler(server):
    r = get(server, "/unicorns/yolo")
    assert (r.status_code, r.json()) == (418, {"message": "Oops! yolo", "path": "/unicorns/yolo"})
    # Subclasses too (MRO), and after the coroutine suspended.
    assert get(server, "/unicorns/sub").json()["message"] == "Oops! sub"
    r = get(server, "/unicorns/later")
    assert (r.status_code, r.json()) == (418, {"message": "Oops! later", "path": "/unicorns/later"})
    assert get(server, "/unicorns/ok").json() == {"unicorn": "ok"}


def test_a_status_code_handler_and_the_default_for_the_others(server):
    r = get(server, "/raise/418")
    assert (r.status_code, r.text, r.headers["x-error"]) == (418, "teapot: status 418", "yes")
    r = get(server, "/raise/404")
    assert (r.status_code, r.json(), r.headers["x-error"]) == (404, {"detail": "status 404"}, "yes")
    # No body for the statuses that have none.
    r = get(server, "/raise/204")
    assert (r.status_code, r.content, r.headers["x-error"]) == (204, b"", "yes")


def test_a_request_validation_error_handler_gets_errors_and_body(server):
    r = post(server, "/body", data=b"[1, 2]", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"errors": 1, "body": [1, 2]})
    r = post(server, "/body", data=b"{not json", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"errors": 1, "body": "{not json"})
    # The default handler, reused by the custom one: FastAPI's 422.
    r = get(server, "/validated/x?limit=0")
    assert r.status_code == 422 and r.headers["x-validation"] == "default"
    assert [e["loc"] for e in r.json()["detail"]] == [["path", "n"], ["query", "limit"]]
    assert get(server, "/validated/1?limit=2").json() == {"n": 1, "limit": 2}


def test_unhandled_exceptions_are_500_in_plain_text_and_logged(server):
    r = get(server, "/boom")
    assert (r.status_code, r.text) == (500, "Internal Server Error")
    assert r.headers["content-type"].startswith("text/plain")
    server.wait_for(r"RuntimeError: boom")


def test_handlers_for_the_routers_404_and_405(handlers_server):
    s = handlers_server
    r = raw(s, "/nowhere")
    assert (r.status_code, r.text) == (404, "404 Not Found at /nowhere")
    r = raw(s, "/async_404")
    assert (r.status_code, r.text) == (404, "404 Not Found at /async_404")
    r = raw(s, "/async_404", "POST", data=b"x" * 10)  # answered from its head
    assert (r.status_code, r.text) == (404, "404 Not Found at /async_404")
    r = raw(s, "/items", "PATCH")
    assert (r.status_code, r.text) == (405, "405 Method Not Allowed allow=GET, HEAD, POST")
    # Redirects come first; raised HTTPExceptions reach the same handler.
    assert raw(s, "/items/").status_code == 307
    r = get(s, "/raise/403")
    assert (r.status_code, r.json()) == (403, {"detail": "status 403"})
    # The status handler wins over the class handler.
    assert get(s, "/raise/418").text == "teapot: status 418"


def test_a_500_handler_answers_unhandled_exceptions_which_are_still_logged(handlers_server):
    s = handlers_server
    r = get(s, "/boom")
    assert (r.status_code, r.text) == (500, "handled RuntimeError: boom")
    s.wait_for(r"RuntimeError: boom")
    r = get(s, "/later_boom")
    assert (r.status_code, r.text) == (500, "handled RuntimeError: later boom")
    s.wait_for(r"RuntimeError: later boom")


# --- registration -----------------------------------------------------------------------


def test_routes_are_fastapi_api_routes():
    app = FasterAPI(dependencies=[])
    router = APIRouter(prefix="/r", tags=["r"], responses={404: {"description": "nf"}})

    @router.put("/{x}", tags=["own"], responses={403: {"description": "f"}}, deprecated=True)
    def put_x(x: int):
        """Doc.\fhidden"""

    app.include_router(router, prefix="/p", tags=["inc"], responses={418: {"description": "t"}})

    @app.api_route("/any", methods=["get", "post"], name="anything", status_code=201)
    def any_():
        return 1

    put_route, any_route = app.routes
    assert isinstance(put_route, APIRoute)
    assert (put_route.path, put_route.methods, put_route.name, put_route.endpoint) == (
        "/p/r/{x}", {"PUT"}, "put_x", put_x)
    assert put_route.tags == ["inc", "r", "own"]
    assert put_route.responses == {418: {"description": "t"}, 404: {"description": "nf"}, 403: {"description": "f"}}
    assert (put_route.deprecated, put_route.description) == (True, "Doc.")
    assert (any_route.methods, any_route.name, any_route.status_code) == ({"GET", "POST"}, "anything", 201)
    assert [s.method for s in any_route.specs] == ["GET", "POST"]
    assert app.url_path_for("put_x", x=3) == "/p/r/3"
    assert router.url_path_for("put_x", x=3) == "/r/3"
    with pytest.raises(NoMatchFound, match='No route exists for name "put_x" and params "y"'):
        app.url_path_for("put_x", y=3)


def test_prefix_checks_as_fastapi():
    with pytest.raises(AssertionError, match="must start with '/'"):
        APIRouter(prefix="items")
    with pytest.raises(AssertionError, match="must not end with '/'"):
        APIRouter(prefix="/items/")
    app, router = FasterAPI(), APIRouter()
    with pytest.raises(AssertionError, match="must not end with '/'"):
        app.include_router(router, prefix="/x/")
    with pytest.raises(AssertionError, match="into itself"):
        router.include_router(router)
    other = APIRouter()
    other.include_router(router)
    with pytest.raises(AssertionError, match="already includes"):
        router.include_router(other)

    @router.get("")
    def empty():
        return 1

    with pytest.raises(FastAPIError, match="Prefix and path cannot be both empty"):
        app.include_router(router)
    app.include_router(router, prefix="/ok")
    assert [r.path for r in app.routes] == ["/ok"]


def test_what_routers_do_not_implement_is_refused():
    class MyRoute(APIRoute):
        pass

    with pytest.raises(NotImplementedError, match="route_class"):
        APIRouter(route_class=MyRoute)
    with pytest.raises(NotImplementedError, match="callbacks"):
        APIRouter(callbacks=[object()])
    with pytest.raises(NotImplementedError, match="callbacks"):
        FasterAPI().include_router(APIRouter(), callbacks=[object()])
    with pytest.raises(NotImplementedError, match="dependencies"):
        FasterAPI().include_router(APIRouter(), dependencies=[object()])
    with pytest.raises(NotImplementedError, match="lifespan"):
        APIRouter(lifespan=object())
    with pytest.raises(TypeError, match="exception class or an HTTP status code"):
        FasterAPI().add_exception_handler("404", print)
    with pytest.raises(ValueError, match="unsupported method BREW"):
        FasterAPI().api_route("/x", methods=["BREW"])(print)


def test_the_first_route_of_a_method_and_path_wins():
    app = FasterAPI()

    @app.get("/x")
    def first():
        return 1

    @app.get("/x")
    def second():
        return 2

    (spec,) = app._spec().routes
    assert spec.endpoint is first
