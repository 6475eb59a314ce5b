"""Dependencies (Depends, yield, caching, overrides, Security, security schemes, forms)
against a real server in a subprocess (app_deps.py), over real sockets.

The expected answers are FastAPI's: the same tests pass against app_deps.py served by
FastAPI on uvicorn (DEPS_BASE_URL, see app_deps.py)."""

import asyncio
import base64
import os

import pytest
import requests

from conftest import module_server

if os.environ.get("DEPS_BASE_URL"):  # pragma: no cover - the expectations checked on FastAPI

    class _External:
        url = os.environ["DEPS_BASE_URL"]

    @pytest.fixture(scope="module")
    def server():
        yield _External()

else:
    server = module_server("app_deps.py")

#: Tests of fasterapi's own registration (skipped when checking the answers on FastAPI).
fasterapi_only = pytest.mark.skipif(bool(os.environ.get("DEPS_BASE_URL")), reason="fasterapi's registration")


@pytest.fixture
def http(server):
    """A session on the server, whose state (log, counters, overrides) starts clean."""
    with requests.Session() as s:
        s.base = server.url
        assert s.post(server.url + "/reset", timeout=10).status_code == 200
        yield s


def get(http, path, **kw):
    return http.get(http.base + path, timeout=10, **kw)


def post(http, path, **kw):
    return http.post(http.base + path, timeout=10, **kw)


def log(http):
    return get(http, "/log").json()["log"]


def missing(*loc):
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}


# --- a chain of dependencies ------------------------------------------------------------------


def test_a_two_level_chain_gives_the_handler_the_user(http):
    r = get(http, "/admin", headers={"Authorization": "Bearer token-root"})
    assert (r.status_code, r.json()) == (200, {"admin": "root"})
    r = get(http, "/me?verbose=yes", headers={"Authorization": "Bearer token-alice"})
    assert (r.status_code, r.json()) == (200, {"user": "alice", "verbose": True})


def test_a_client_cannot_set_a_dependency_value(http):
    # `user` is a dependency, not a query parameter: ?user=admin is ignored, the chain runs.
    for query in ("?user=admin", "?user=%7B%22admin%22%3Atrue%7D&token=token-root"):
        r = get(http, "/admin" + query)
        assert r.status_code == 422, r.text
        assert r.json() == {"detail": [missing("header", "authorization")]}
        r = get(http, "/admin" + query, headers={"Authorization": "Bearer nobody"})
        assert (r.status_code, r.json()) == (401, {"detail": "Invalid token"})
        r = get(http, "/admin" + query, headers={"Authorization": "Bearer token-alice"})
        assert (r.status_code, r.json()) == (403, {"detail": "Not an admin"})


def test_an_http_exception_of_a_dependency_is_the_answer(http):
    r = get(http, "/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers["www-authenticate"] == "Bearer"


def test_classes_callable_instances_and_async_dependencies_on_def_and_async_handlers(http):
    r = get(http, "/forms?skip=3&limit=7&name=you&n=21")
    assert r.json() == {"skip": 3, "limit": 7, "shout": "hey you", "double": 42}
    r = get(http, "/forms")
    assert r.json() == {"skip": 0, "limit": 10, "shout": "hey x", "double": 2}
    r = get(http, "/forms_async?skip=1&n=4")
    assert r.json() == {"skip": 1, "limit": 10, "double": 8}


def test_a_dependency_parameter_is_validated_as_the_handler_s_are(http):
    r = get(http, "/forms?limit=101&n=x")
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"type": "less_than_equal", "loc": ["query", "limit"], "msg": "Input should be less than or equal to 100",
         "input": "101", "ctx": {"le": 100}},
        {"type": "int_parsing", "loc": ["query", "n"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x"},
    ]


def test_the_422_lists_each_dependency_s_errors_in_fastapi_s_order(http):
    # verify_key (the route's dependencies=[...]), then needs_b, then the handler's own.
    r = get(http, "/guarded")
    assert r.status_code == 422
    assert r.json()["detail"] == [
        missing("header", "x-key"), missing("query", "b"), missing("cookie", "c"), missing("query", "a"),
    ]
    r = get(http, "/guarded?a=1&b=2", headers={"x-key": "secret", "Cookie": "c=3"})
    assert (r.status_code, r.json()) == (200, {"a": 1, "b": 2})
    assert log(http) == ["verified"]


def test_dependencies_with_valid_values_run_before_the_422(http):
    # As FastAPI: a dependency whose own values are valid is called even though others
    # failed, so its answer (401, 400) comes first; the 422 only when none answers.
    r = get(http, "/me?verbose=perhaps", headers={"Authorization": "Bearer nobody"})
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token"})
    r = get(http, "/me?verbose=perhaps", headers={"Authorization": "Bearer token-alice"})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["query", "verbose"]]
    r = get(http, "/guarded?a=x", headers={"x-key": "wrong"})
    assert (r.status_code, r.json()) == (400, {"detail": "X-Key header invalid"})
    r = get(http, "/guarded?a=x&b=2", headers={"x-key": "secret"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        missing("cookie", "c"),
        {"type": "int_parsing", "loc": ["query", "a"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x"},
    ]
    # verify_key ran (its values were valid); needs_b did not (its cookie is missing).
    assert log(http) == ["verified"]


def test_route_and_app_dependencies_run_for_each_request(http):
    r = get(http, "/guarded?a=1&b=2", headers={"x-key": "wrong", "Cookie": "c=3"})
    assert (r.status_code, r.json()) == (400, {"detail": "X-Key header invalid"})
    before = get(http, "/log").json()["requests"]
    get(http, "/common_plain")
    get(http, "/common_plain")
    # The app's dependency ran for both requests and for the /log request itself.
    assert get(http, "/log").json()["requests"] == before + 3


def test_router_dependencies_run_after_the_app_s_and_the_include_s(http):
    r = get(http, "/routed/common?q=z")
    assert r.json() == {"q": "z", "skip": 0, "limit": 100}
    assert log(http) == ["include", "router", "route", "handler"]
    post(http, "/override")
    assert get(http, "/routed/common?other=1").json() == {"q": None, "other": 1, "overridden": True}


# --- caching --------------------------------------------------------------------------------


def test_a_dependency_runs_once_per_request_unless_use_cache_is_false(http):
    # counter is asked for directly and through via_sub: one call, one value; the
    # use_cache=False one is a call of its own.
    assert get(http, "/cached").json() == {"a": 1, "b": 1, "c": 2}
    # Not cached across requests.
    assert get(http, "/cached").json() == {"a": 3, "b": 3, "c": 4}


# --- yield ------------------------------------------------------------------------------------


def test_the_exit_code_runs_after_the_response(http):
    # The exit code waits for /release, which this client sends only once it has the
    # response of /held: if the exit code ran before the response, /held never answers.
    r = get(http, "/held")
    assert (r.status_code, r.json()) == (200, {"session": "session"})
    r = post(http, "/release")
    assert r.json()["log"] == ["enter", "handler", "exit starts", "exit done"]


def test_the_handler_s_exception_reaches_the_dependency_which_may_answer(http):
    r = get(http, "/items/rick")
    assert (r.status_code, r.json()) == (200, {"owner": "rick", "db": "db"})
    assert log(http) == ["sync enter", "handler", "sync exit"]
    post(http, "/reset")
    r = get(http, "/items/morty")
    assert (r.status_code, r.json()) == (400, {"detail": "Owner error: morty"})
    assert log(http) == ["sync enter", "sync saw OwnerError: morty", "sync exit"]


def test_an_exception_swallowed_by_a_dependency_answers_500(http):
    r = get(http, "/swallowed")
    assert (r.status_code, r.text) == (500, "Internal Server Error")
    assert log(http) == ["swallowed"]


def test_scope_function_exits_before_the_response_scope_request_after(http):
    # The same exit code raises HTTPException: before the response (scope="function")
    # it is the answer; after it (the default) the response is already out.
    r = get(http, "/exit_function")
    assert (r.status_code, r.json()) == (409, {"detail": "refused on exit"})
    r = get(http, "/exit_request")
    assert (r.status_code, r.json()) == (200, {"v": "v"})


def test_nested_yield_dependencies_exit_in_reverse_order(http):
    r = get(http, "/nested")
    assert r.json() == {"v": "outer+inner"}
    # The exit code runs after the response; the next request on this connection is read
    # after it (same I/O thread, same turn).
    assert log(http) == ["outer enter", "inner enter", "handler", "inner exit", "outer exit"]


def test_a_def_handler_with_async_dependencies_does_not_hold_up_the_loop(http, server):
    # /blocking_def's def handler (async dependency: an async route) blocks until
    # /release_def has seen it enter; served on the loop's thread, /release_def would wait
    # behind it and it would answer released=False after 20 s.
    import threading

    answer = {}
    worker = threading.Thread(
        target=lambda: answer.update(r=requests.get(server.url + "/blocking_def", timeout=30)))
    worker.start()
    r = post(http, "/release_def")
    worker.join(timeout=30)
    assert r.json() == {"entered": True}
    assert answer["r"].json() == {"released": True, "x": 1}


# --- overrides --------------------------------------------------------------------------------


def test_overrides_set_and_cleared_while_serving(http):
    assert get(http, "/common?q=a&skip=2").json() == {"q": "a", "skip": 2, "limit": 100}
    post(http, "/override")
    # The override's own parameters are read: `other`, not skip/limit.
    assert get(http, "/common?q=a&skip=2&other=9").json() == {"q": "a", "other": 9, "overridden": True}
    assert get(http, "/common").json() == {"q": None, "other": 7, "overridden": True}
    assert get(http, "/common_plain").json() == {"plain": True}
    post(http, "/reset")  # clears the overrides
    assert get(http, "/common?q=b").json() == {"q": "b", "skip": 0, "limit": 100}


def test_an_override_replaces_a_dependency_inside_a_chain(http):
    assert get(http, "/admin").status_code == 422
    post(http, "/override_user")
    # get_current_user and its own dependency (the Authorization header) are gone.
    assert get(http, "/admin").json() == {"admin": "test"}
    post(http, "/reset")
    assert get(http, "/admin").status_code == 422


# --- security ---------------------------------------------------------------------------------


def test_oauth2_password_bearer(http):
    r = get(http, "/oauth2")
    assert (r.status_code, r.json(), r.headers["www-authenticate"]) == (401, {"detail": "Not authenticated"}, "Bearer")
    r = get(http, "/oauth2", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    assert get(http, "/oauth2", headers={"Authorization": "bearer abc"}).json() == {"token": "abc"}
    assert get(http, "/oauth2_optional").json() == {"token": None}
    assert get(http, "/oauth2_optional", headers={"Authorization": "Bearer t"}).json() == {"token": "t"}


def test_a_scheme_subclass_overriding_call_gets_the_request(http):
    assert get(http, "/custom_scheme", headers={"Authorization": "Bearer abc"}).json() == {"token": "ABC"}
    assert get(http, "/custom_scheme").status_code == 401


def test_http_basic(http):
    r = get(http, "/basic")
    assert (r.status_code, r.json(), r.headers["www-authenticate"]) == (
        401, {"detail": "Not authenticated"}, 'Basic realm="test"')
    r = get(http, "/basic", headers={"Authorization": "Basic " + base64.b64encode(b"john:sec:ret").decode()})
    assert r.json() == {"username": "john", "password": "sec:ret"}
    for bad in ("Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Bearer x"):
        r = get(http, "/basic", headers={"Authorization": bad})
        assert (r.status_code, r.headers["www-authenticate"]) == (401, 'Basic realm="test"'), bad


def test_http_bearer(http):
    r = get(http, "/bearer")
    assert (r.status_code, r.json(), r.headers["www-authenticate"]) == (401, {"detail": "Not authenticated"}, "Bearer")
    assert get(http, "/bearer", headers={"Authorization": "Basic x"}).status_code == 401
    assert get(http, "/bearer", headers={"Authorization": "Bearer tok"}).json() == {"scheme": "Bearer", "credentials": "tok"}


def test_api_keys_in_header_query_and_cookie(http):
    r = get(http, "/keys?api_key=q", headers={"x-api-key": "h", "Cookie": "session=c"})
    assert r.json() == {"header": "h", "query": "q", "cookie": "c"}
    for query, headers in (("", {"x-api-key": "h", "Cookie": "session=c"}), ("?api_key=q", {"Cookie": "session=c"}),
                           ("?api_key=q", {"x-api-key": "h"}), ("?api_key=", {"x-api-key": "h", "Cookie": "session=c"})):
        r = get(http, "/keys" + query, headers=headers)
        assert (r.status_code, r.json(), r.headers["www-authenticate"]) == (401, {"detail": "Not authenticated"}, "APIKey")


def test_security_scopes_gather_the_scopes_of_the_chain(http):
    r = get(http, "/scopes", headers={"Authorization": "Bearer t"})
    assert r.json() == {"scopes": ["me", "items"], "scope_str": "me items", "token": "t"}


# --- forms ------------------------------------------------------------------------------------


def test_oauth2_password_request_form(http):
    r = post(http, "/token", data={"username": "johndoe", "password": "secret", "scope": "me items"})
    assert r.json() == {"username": "johndoe", "password": "secret", "scopes": ["me", "items"],
                        "grant_type": None, "client_id": None}
    r = post(http, "/token", data={"username": "j", "password": "p", "grant_type": "bad"})
    assert r.status_code == 422
    assert r.json()["detail"] == [{"type": "string_pattern_mismatch", "loc": ["body", "grant_type"],
                                   "msg": "String should match pattern '^password$'", "input": "bad",
                                   "ctx": {"pattern": "^password$"}}]
    r = post(http, "/token", json={"username": "j", "password": "p"})
    assert r.status_code == 422
    assert r.json()["detail"] == [missing("body", "username"), missing("body", "password")]


def test_form_fields(http):
    r = post(http, "/form", data="name=a%20b+c%C3%A9&tags=1&tags=2&n=5",
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.json() == {"name": "a b cé", "n": 5, "tags": ["1", "2"]}
    # An empty value is no value, as in FastAPI.
    r = post(http, "/form", data={"name": "", "n": "x"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        missing("body", "name"),
        {"type": "int_parsing", "loc": ["body", "n"],
         "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "x"},
    ]


def test_a_multipart_form_gives_the_same_fields(http):
    fields = [("name", (None, "a b c\u00e9")), ("tags", (None, "1")), ("tags", (None, "2")), ("n", (None, "5"))]
    r = post(http, "/form", files=fields)
    assert r.json() == {"name": "a b c\u00e9", "n": 5, "tags": ["1", "2"]}
    r = post(http, "/form", files={"name": (None, ""), "n": (None, "x")})
    assert r.status_code == 422
    assert r.json()["detail"][0] == missing("body", "name")


# --- registration -------------------------------------------------------------------------------


@fasterapi_only
def test_a_route_s_graph_is_flattened_into_one_plan_at_registration():
    from typing import Annotated

    from fasterapi import Cookie, Depends, FastAPI, Header, Query, Request
    from fasterapi._fasterapi import Source

    app = FastAPI()

    def leaf(x_token: str = Header(), request: Request = None):
        return x_token

    async def middle(t: str = Depends(leaf), session: str = Cookie("s")):
        return t

    @app.get("/r/{item_id}")
    def handler(item_id: int, m: Annotated[str, Depends(middle)], q: int = Query(1), again: str = Depends(leaf)):
        return m

    ((route,),) = [r.specs for r in app.routes]
    assert route.endpoint is handler and route.solver is not None
    assert route.is_async  # middle is async
    # In the order met; leaf's a second time: cached (called once) but its parameters
    # read, and reported, again, as FastAPI does; one Request for all.
    assert [(p.name, p.source) for p in route.plan] == [
        ("item_id", Source.PATH), ("x_token", Source.HEADER), ("request", Source.REQUEST),
        ("session", Source.COOKIE), ("q", Source.QUERY), ("x_token", Source.HEADER),
    ]
    # 422 items: leaf's, middle's, leaf's again, then the handler's own.
    assert [p.group for p in route.plan] == [3, 0, 0, 1, 3, 2]

    @app.get("/plain/{item_id}")
    def plain(item_id: int):
        return item_id

    (plain_route,) = app.routes[-1].specs
    assert plain_route.solver is None and plain_route.endpoint is plain


@fasterapi_only
def test_a_def_graph_gets_a_def_solver_and_an_async_one_an_async_one():
    from fasterapi import Depends, FastAPI

    app = FastAPI()

    def a():
        return 1

    def gen():
        yield 1

    @app.get("/sync")
    def sync(x=Depends(a)):
        return x

    @app.get("/function_scope")
    def function_scope(x=Depends(gen, scope="function")):
        return x

    @app.get("/request_scope")
    def request_scope(x=Depends(gen)):
        return x

    async def agen():
        yield 1

    @app.get("/async_generator")
    def async_generator(x=Depends(agen)):
        return x

    assert [s.is_async for r in app.routes for s in r.specs] == [False, False, False, True]


@fasterapi_only
def test_bad_dependencies_are_refused_at_registration():
    from fasterapi import Depends, FastAPI
    from fasterapi.exceptions import DependencyScopeError

    with pytest.raises(TypeError, match="Depends"):
        FastAPI(dependencies=[object()])
    app = FastAPI()
    with pytest.raises(TypeError, match="Depends"):
        app.get("/x", dependencies=[print])
    with pytest.raises(TypeError, match="not callable"):

        @app.get("/y")
        def y(v=Depends(3)):
            return v

    def function_scoped():
        yield 1

    def request_scoped(v=Depends(function_scoped, scope="function")):
        yield v

    with pytest.raises(DependencyScopeError, match='"request_scoped" has a scope of "request"'):

        @app.get("/z")
        def z(v=Depends(request_scoped)):
            return v

    async def async_dep():
        return 1

    with pytest.raises(ValueError, match="blocking=True is for def handlers"):

        @app.get("/w", blocking=True)
        async def w(v=Depends(async_dep)):
            return v

    # A def handler with async dependencies: the route is async, blocking=True keeps
    # its def parts on the thread pool.
    @app.get("/v", blocking=True)
    def v(v=Depends(async_dep)):
        return v

    (spec,) = app.routes[-1].specs
    assert spec.is_async and "await _place" in spec.solver.__fasterapi_source__


@fasterapi_only
def test_the_test_client_returns_once_the_exit_code_ran():
    # As Starlette's TestClient, which returns when the app has finished: the exit code
    # that runs after the response (sync, async, one that waits on a timer) is done.
    import asyncio

    from fasterapi import Depends, FastAPI
    from fasterapi.testclient import TestClient

    app = FastAPI()
    state = []

    def sync_dep():
        yield 1
        state.append("sync exit")

    async def async_dep():
        yield 1
        await asyncio.sleep(0.001)
        state.append("async exit")

    @app.get("/sync")
    def sync_route(x=Depends(sync_dep)):
        return x

    @app.get("/async")
    async def async_route(x=Depends(async_dep)):
        return x

    with TestClient(app) as client:
        # 40 calls: the def route moves from the pool to the I/O thread after 32.
        for _ in range(40):
            state.clear()
            assert client.get("/sync").json() == 1
            assert state == ["sync exit"]
        state.clear()
        assert client.get("/async").json() == 1
        assert state == ["async exit"]


@fasterapi_only
def test_the_def_parts_of_an_async_route_move_as_a_def_route_does():
    from fasterapi.dependencies.placement import FAST, PROMOTE_AFTER, SLOW, Placement

    p = Placement(None, "GET /x")
    assert not p.inline, "starts on the pool"
    for _ in range(PROMOTE_AFTER - 1):
        p.observe(FAST / 10, inline=False)
    p.observe(FAST, inline=False)  # a slow one restarts the count
    for _ in range(PROMOTE_AFTER - 1):
        p.observe(FAST / 10, inline=False)
    assert not p.inline
    p.observe(FAST / 10, inline=False)
    assert p.inline, f"on the loop's thread after {PROMOTE_AFTER} fast calls in a row"
    p.observe(SLOW / 2, inline=True)
    assert p.inline
    p.observe(SLOW, inline=True)
    assert not p.inline, "back on the pool after a slow call on the loop's thread"
    for _ in range(PROMOTE_AFTER * 2):
        p.observe(FAST / 10, inline=False)
    assert not p.inline, "for good"
    assert Placement(True, "GET /x").inline is False and Placement(False, "GET /x").inline is True
    pinned = Placement(True, "GET /x")
    for _ in range(PROMOTE_AFTER * 2):
        pinned.observe(0.0, inline=False)
    assert not pinned.inline, "blocking=True stays on the pool"


@fasterapi_only
def test_an_override_may_make_a_def_route_async_or_add_exit_code():
    # The route was compiled def (placed on the pool, then inline); an async override
    # makes it async: its coroutine is finished where the route runs. Answers checked
    # against FastAPI 0.141.1.
    from fasterapi import Depends, FastAPI
    from fasterapi.testclient import TestClient

    app = FastAPI()
    log = []

    def dep(q: int = 1):
        return q

    async def async_dep(q: int = 2):
        await asyncio.sleep(0)
        return q * 10

    def gen():
        log.append("enter")
        try:
            yield 5
        except Exception as e:
            log.append(f"saw {type(e).__name__}")
            raise
        finally:
            log.append("exit")

    @app.get("/x")
    def x(v=Depends(dep)):
        return v

    @app.get("/y")
    async def y(g=Depends(gen), n: int = 0):
        return [g, n]

    client = TestClient(app)
    assert client.get("/x?q=3").json() == 3
    app.dependency_overrides[dep] = async_dep
    assert client.get("/x?q=3").json() == 30
    app.dependency_overrides[dep] = gen
    assert client.get("/x").json() == 5
    assert log == ["enter", "exit"]
    app.dependency_overrides = {}
    assert client.get("/x?q=4").json() == 4
    log.clear()
    # A yield dependency entered before the 422 sees the validation error.
    assert client.get("/y?n=bad").status_code == 422
    assert log == ["enter", "saw RequestValidationError", "exit"]
