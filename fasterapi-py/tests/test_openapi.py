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
