"""The OpenAPI document (/openapi.json) and the docs pages (/docs, /redoc), as FastAPI's.

The document of openapi_apps/shop.py, an app written for FastAPI that uses most of what a
document describes (parameters with constraints, bodies, forms, response models, extra
responses, security schemes, tags, webhooks, app metadata...), is compared with the one
FastAPI 0.141.1 makes for it (shop.expected.json, recorded by openapi_apps/record.py).
"""

import json
import pathlib

import pytest
import requests

from app_openapi import load_fastapi_app
from conftest import get, module_server
from fasterapi import FastAPI
from fasterapi.openapi import _pages
from fasterapi.testclient import TestClient

HERE = pathlib.Path(__file__).resolve().parent
APPS = HERE / "openapi_apps"

server = module_server("app_openapi.py")


@pytest.mark.parametrize("name", sorted(p.stem for p in APPS.glob("*.py") if p.name != "record.py"))
def test_the_document_is_fastapis(name):
    app = load_fastapi_app(APPS / f"{name}.py", f"openapi_app_{name}").app
    expected = json.loads((APPS / f"{name}.expected.json").read_text())
    assert app.openapi() == expected
    response = TestClient(app).get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_served_as_bytes_built_once(server):
    expected = json.loads((APPS / "shop.expected.json").read_text())
    bodies = set()
    for _ in range(3):
        r = get(server, "/openapi.json")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        bodies.add(r.content)
    (body,) = bodies
    assert json.loads(body) == expected
    head = requests.head(server.url + "/openapi.json", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(body)
    # app.openapi() ran for the first request only.
    assert get(server, "/calls").json() == {"calls": 1}


def test_docs_pages_load_their_assets_from_the_app(server):
    docs = get(server, "/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Shop - Swagger UI</title>" in docs.text
    assert "url: '/openapi.json'" in docs.text
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in docs.text
    assert "https://" not in docs.text.replace("https://fastapi.tiangolo.com", "")
    redoc = get(server, "/redoc")
    assert redoc.status_code == 200 and "<title>Shop - ReDoc</title>" in redoc.text
    assert 'spec-url="/openapi.json"' in redoc.text and "https://" not in redoc.text
    redirect = get(server, "/docs/oauth2-redirect")
    assert "window.opener.swaggerUIRedirectOauth2" in redirect.text
    for url, relative, content_type in _pages.SWAGGER_ASSETS + _pages.REDOC_ASSETS:
        full = _pages.ASSETS_PREFIX + url
        assert f'"{full}"' in docs.text + redoc.text or "favicon" in url, full
        r = get(server, full)
        assert r.status_code == 200, full
        assert r.headers["content-type"] == content_type
        assert r.content == (_pages.ASSETS_DIR / relative).read_bytes()
    # The licenses came with the packages.
    for package in ("swagger-ui-dist", "redoc"):
        assert (_pages.ASSETS_DIR / package / "LICENSE").stat().st_size > 0


def test_urls_are_options_and_none_turns_them_off():
    app = FastAPI(openapi_url="/api/v1/openapi.json", docs_url="/documentation", redoc_url=None)

    @app.get("/items/")
    def items():
        return []

    client = TestClient(app)
    assert client.get("/api/v1/openapi.json").json()["paths"]["/items/"]["get"]["operationId"] == "items_items__get"
    assert client.get("/openapi.json").status_code == 404
    page = client.get("/documentation")
    assert page.status_code == 200 and "url: '/api/v1/openapi.json'" in page.text
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404

    off = FastAPI(openapi_url=None)
    client = TestClient(off)
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect", _pages.ASSETS_PREFIX + _pages.FAVICON):
        assert client.get(path).status_code == 404, path


def test_a_route_of_the_same_path_loses_to_the_document_as_in_fastapi():
    app = FastAPI()

    @app.get("/docs")
    def mine():
        return "mine"

    assert "Swagger UI" in TestClient(app).get("/docs").text


def test_swagger_ui_parameters_and_oauth2_init():
    app = FastAPI(swagger_ui_parameters={"syntaxHighlight": False, "deepLinking": False},
                  swagger_ui_init_oauth={"clientId": "abc"}, swagger_ui_oauth2_redirect_url=None)
    page = TestClient(app).get("/docs").text
    assert '"syntaxHighlight": false,' in page and '"deepLinking": false,' in page
    assert 'ui.initOAuth({"clientId": "abc"})' in page
    assert "oauth2RedirectUrl" not in page
    assert TestClient(app).get("/docs/oauth2-redirect").status_code == 404


def test_extending_openapi_by_overriding_app_openapi():
    from fasterapi.openapi.utils import get_openapi

    app = FastAPI()

    @app.get("/items/")
    async def read_items():
        return [{"name": "Foo"}]

    def custom_openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title="Custom title", version="2.5.0", summary="s", routes=app.routes)
        schema["info"]["x-logo"] = {"url": "logo.png"}
        app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi
    document = TestClient(app).get("/openapi.json").json()
    assert document["info"] == {"title": "Custom title", "version": "2.5.0", "summary": "s", "x-logo": {"url": "logo.png"}}
    assert list(document["paths"]) == ["/items/"]


def test_a_failing_document_answers_500_and_is_built_again_next_time():
    app = FastAPI()
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("not yet")
        return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}

    app.openapi = flaky
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/openapi.json").status_code == 500
    assert client.get("/openapi.json").json()["info"]["title"] == "t"
    assert client.get("/openapi.json").status_code == 200
    assert len(attempts) == 2
    with pytest.raises(RuntimeError, match="not yet"):
        attempts.clear()
        TestClient(app).get("/openapi.json")


def test_routes_added_later_are_in_the_document():
    app = FastAPI()

    @app.get("/a")
    def a():
        return 1

    assert list(app.openapi()["paths"]) == ["/a"]

    @app.get("/b")
    def b():
        return 2

    assert list(app.openapi()["paths"]) == ["/a", "/b"]
    assert list(TestClient(app).get("/openapi.json").json()["paths"]) == ["/a", "/b"]


def test_a_mounted_app_serves_its_routes_and_its_own_docs():
    from fasterapi import HTTPException, Request
    from fasterapi.responses import JSONResponse

    app = FastAPI(title="Main")
    sub = FastAPI(title="Sub")
    inner = FastAPI(title="Inner")

    @app.get("/app")
    def read_main(request: Request):
        return {"app": request.app.title}

    @sub.get("/sub/{item}")
    def read_sub(item: int, request: Request):
        return {"item": item, "app": request.app.title, "root_path": request.scope["root_path"]}

    @sub.get("/teapot")
    def teapot():
        raise HTTPException(status_code=418)

    @sub.exception_handler(418)
    def sub_418(request, exc):
        return JSONResponse({"sub": "teapot"}, status_code=418)

    @inner.get("/deep")
    def deep():
        return "deep"

    @app.get("/subapi/shadowed")
    def shadowed():
        return "main"

    @sub.get("/shadowed")
    def not_served():
        return "sub"

    sub.mount("/inner", inner)
    app.mount("/subapi", sub)
    client = TestClient(app)
    assert client.get("/app").json() == {"app": "Main"}
    assert client.get("/subapi/sub/3").json() == {"item": 3, "app": "Sub", "root_path": "/subapi"}
    assert client.get("/subapi/sub/x").status_code == 422
    assert client.get("/subapi/teapot").json() == {"sub": "teapot"}
    assert client.get("/subapi/inner/deep").json() == "deep"
    assert client.get("/subapi/shadowed").json() == "main"
    assert client.get("/subapi/nothing").status_code == 404

    # The main document leaves the mounted apps out; each mounted app has its own.
    assert list(client.get("/openapi.json").json()["paths"]) == ["/app", "/subapi/shadowed"]
    sub_doc = client.get("/subapi/openapi.json").json()
    assert sub_doc["servers"] == [{"url": "/subapi"}]
    assert sub_doc["info"]["title"] == "Sub"
    assert list(sub_doc["paths"]) == ["/sub/{item}", "/teapot", "/shadowed"]
    inner_doc = client.get("/subapi/inner/openapi.json").json()
    assert inner_doc["servers"] == [{"url": "/subapi/inner"}] and list(inner_doc["paths"]) == ["/deep"]
    page = client.get("/subapi/docs").text
    assert "url: '/subapi/openapi.json'" in page
    assert "oauth2RedirectUrl: window.location.origin + '/subapi/docs/oauth2-redirect'" in page
    script = "/subapi" + _pages.ASSETS_PREFIX + _pages.SWAGGER_ASSETS[0][0]
    assert f'"{script}"' in page
    assert client.get(script).status_code == 200
    assert 'spec-url="/subapi/inner/openapi.json"' in client.get("/subapi/inner/redoc").text


def test_mounting_what_fasterapi_cannot_serve_is_refused():
    app = FastAPI()
    with pytest.raises(NotImplementedError, match="mounting"):
        app.mount("/asgi", lambda scope, receive, send: None)
    with pytest.raises(NotImplementedError, match="path parameters"):
        app.mount("/{tenant}", FastAPI())
    with pytest.raises(AssertionError):
        app.mount("/self", app)
    with_middleware = FastAPI()

    @with_middleware.middleware("http")
    async def add_header(request, call_next):
        return await call_next(request)

    app.mount("/mw", with_middleware)
    with pytest.raises(NotImplementedError, match="middleware"):
        TestClient(app).get("/")


def test_the_mounting_apps_middleware_wraps_the_mounted_routes():
    app = FastAPI()
    sub = FastAPI()

    @sub.get("/x")
    def x():
        return "x"

    @app.middleware("http")
    async def add_header(request, call_next):
        response = await call_next(request)
        response.headers["x-outer"] = "yes"
        return response

    app.mount("/sub", sub)
    response = TestClient(app).get("/sub/x")
    assert response.json() == "x" and response.headers["x-outer"] == "yes"


def test_root_path_behind_a_proxy():
    from fasterapi import Request

    def make(**options):
        app = FastAPI(servers=[{"url": "https://prod.example.com"}], **options)

        @app.get("/app")
        def read_main(request: Request):
            return {"root_path": request.scope.get("root_path")}

        return app

    # The app's own root_path, or the server's (TestClient's, as uvicorn --root-path).
    for client in (TestClient(make(root_path="/api/v1")), TestClient(make(), root_path="/api/v1")):
        assert client.get("/app").json() == {"root_path": "/api/v1"}
        assert client.get("/openapi.json").json()["servers"] == [{"url": "/api/v1"}, {"url": "https://prod.example.com"}]
        assert "url: '/api/v1/openapi.json'" in client.get("/docs").text
    client = TestClient(make(root_path="/api/v1", root_path_in_servers=False))
    assert client.get("/openapi.json").json()["servers"] == [{"url": "https://prod.example.com"}]
    assert TestClient(make()).get("/app").json() == {"root_path": ""}
