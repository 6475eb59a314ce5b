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
    with pytest.raises(TypeError, match="Depends"):
        FasterAPI().include_router(APIRouter(), dependencies=[object()])
    with pytest.raises(NotImplementedError, match="lifespan"):
        APIRouter(lifespan=object())
    with pytest.raises(TypeError, match="exception class or an HTTP status code"):
        FasterAPI().add_exception_handler("404", print)
    with pytest.raises(ValueError, match="unsupported method BREW"):
        FasterAPI().api_route("/x", methods=["BREW"])(print)
    for method in ("websocket_route", "on_event"):
        with pytest.raises(NotImplementedError, match=f"APIRouter.{method}"):
            getattr(APIRouter(), method)("/x")


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


# --- handler semantics, through the in-process TestClient ---------------------------------

from fasterapi import HTTPException, Request  # noqa: E402
from fasterapi.responses import JSONResponse, PlainTextResponse  # noqa: E402
from fasterapi.testclient import TestClient  # noqa: E402


def test_starlette_routes_get_the_request():
    app = FasterAPI()

    def plain(request):
        return PlainTextResponse(f"{request.method} {request.query_params['name']}")

    app.add_route("/plain", plain, methods=["GET", "POST"])

    @app.route("/async", name="async_route")
    async def async_route(request):
        return JSONResponse({"path": request.path})

    client = TestClient(app)
    assert client.get("/plain?name=x").text == "GET x"
    assert client.post("/plain?name=y").text == "POST y"
    assert client.get("/async").json() == {"path": "/async"}
    assert [r.name for r in app.routes] == ["plain", "async_route"]
    assert app.url_path_for("plain") == "/plain"

    class Endpoint:
        pass

    with pytest.raises(NotImplementedError, match="endpoint class"):
        app.add_route("/cls", Endpoint)


def test_starlettes_http_exception_class_as_key_and_when_raised():
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FasterAPI()

    @app.get("/raise_starlette")
    def raise_starlette():
        raise StarletteHTTPException(status_code=409, detail="conflict", headers={"X-A": "b"})

    @app.get("/raise")
    def raise_ours():
        raise HTTPException(status_code=403)

    client = TestClient(app)
    # Without a handler of the app's own: FastAPI's answer, for Starlette's class too.
    r = client.get("/raise_starlette")
    assert (r.status_code, r.json(), r.headers["x-a"]) == (409, {"detail": "conflict"}, "b")

    @app.exception_handler(StarletteHTTPException)
    async def text(request, exc):
        return PlainTextResponse(f"{type(exc).__name__} {exc.status_code} {exc.detail}", status_code=exc.status_code)

    # Registered after the client was made: served too. Starlette's key handles every
    # HTTP exception: Starlette's, fasterapi's, and the router's own 404.
    assert client.get("/raise_starlette").text == "HTTPException 409 conflict"
    assert client.get("/raise").text == "HTTPException 403 Forbidden"
    r = client.get("/nowhere")
    assert (r.status_code, r.text) == (404, "StarletteHTTPException 404 Not Found")


def test_a_handler_for_fasterapis_http_exception_leaves_the_routers_404_alone():
    app = FasterAPI()

    @app.exception_handler(HTTPException)
    def mine(request, exc):
        return PlainTextResponse("mine", status_code=exc.status_code)

    @app.get("/raise")
    def raise_ours():
        raise HTTPException(status_code=400)

    client = TestClient(app)
    assert client.get("/raise").text == "mine"
    assert client.get("/nowhere").json() == {"detail": "Not Found"}


def test_a_handler_that_returns_no_response_or_raises_is_a_server_error():
    app = FasterAPI()

    class Odd(Exception):
        pass

    class Worse(Exception):
        pass

    @app.exception_handler(Odd)
    def returns_a_dict(request, exc):
        return {"not": "a response"}

    @app.exception_handler(Worse)
    async def raises(request, exc):
        raise RuntimeError("handler failed")

    @app.get("/odd")
    def odd():
        raise Odd()

    @app.get("/worse")
    async def worse():
        raise Worse()

    with pytest.raises(TypeError, match="returned dict, not a Response"):
        TestClient(app).get("/odd")
    with pytest.raises(RuntimeError, match="handler failed"):
        TestClient(app).get("/worse")
    client = TestClient(app, raise_server_exceptions=False)
    assert (client.get("/odd").status_code, client.get("/odd").text) == (500, "Internal Server Error")
    assert client.get("/worse").status_code == 500


def test_a_500_handler_answers_and_the_exception_still_reaches_the_test():
    app = FasterAPI()

    @app.exception_handler(Exception)
    async def last_resort(request, exc):
        return PlainTextResponse(f"sorry: {exc}", status_code=500)

    @app.get("/boom")
    def boom():
        raise ValueError("boom")

    # As Starlette's ServerErrorMiddleware: the handler answers, the exception is re-raised.
    with pytest.raises(ValueError, match="boom"):
        TestClient(app).get("/boom")
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert (r.status_code, r.text) == (500, "sorry: boom")


def test_the_test_client_follows_redirect_slashes():
    app = FasterAPI()

    @app.post("/items/")
    def create(item: dict):
        return item

    client = TestClient(app)
    r = client.post("/items?x=1", json={"a": 1})
    assert (r.status_code, r.json(), str(r.url)) == (200, {"a": 1}, "http://testserver/items/?x=1")
    r = client.post("/items", json={"a": 1}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "http://testserver/items/")


def test_url_path_for_convertors():
    app = FasterAPI()
    app.add_api_route("/files/{*path}", lambda path: path, name="file")
    app.add_api_route("/n/{n}", lambda n: n, name="n")
    assert app.url_path_for("file", path="a/b c") == "/files/a/b c"
    assert app.url_path_for("n", n=3) == "/n/3"
    with pytest.raises(AssertionError, match="path separators"):
        app.url_path_for("n", n="a/b")
    with pytest.raises(NoMatchFound):
        app.url_path_for("n")


def test_exception_handlers_given_to_the_app_and_a_404_handler():
    from fasterapi.responses import HTMLResponse

    def not_found(request, exc):
        return HTMLResponse(f"<p>nothing at {request.path}: {exc.detail}</p>", status_code=404)

    app = FasterAPI(exception_handlers={404: not_found})

    @app.get("/gone")
    def gone():
        raise HTTPException(status_code=404, detail="gone")

    @app.get("/moved")
    def moved():
        raise HTTPException(status_code=304)

    client = TestClient(app)
    r = client.get("/nowhere")
    assert (r.status_code, r.text, r.headers["content-type"]) == (
        404, "<p>nothing at /nowhere: Not Found</p>", "text/html; charset=utf-8")
    assert client.get("/gone").text == "<p>nothing at /gone: gone</p>"
    # Another status, with a handler of the app's own registered: FastAPI's default
    # handler, here in Python (no body for a 304).
    r = client.get("/moved")
    assert (r.status_code, r.content) == (304, b"")
