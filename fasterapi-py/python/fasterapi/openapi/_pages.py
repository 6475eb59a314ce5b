"""The routes an app serves for its OpenAPI document and docs pages, as FastAPI's
``FastAPI.setup()`` adds them: ``openapi_url`` (the document as JSON), ``docs_url``
(Swagger UI), ``swagger_ui_oauth2_redirect_url`` and ``redoc_url`` (ReDoc), each ``None``
to leave it out (no document: no docs pages either).

Unlike FastAPI, which points the browser at a CDN, the pages load Swagger UI and ReDoc
from the app itself, under :data:`ASSETS_PREFIX`: the npm packages ``swagger-ui-dist``
and ``redoc`` are put into the Python package when it is built
(``scripts/docs-assets.sh``, with their licenses), so the docs work offline.

Each route's body is built once, at its first request, and then served as bytes by the
server without entering Python (``fasterapi-py/src/built.rs``).
"""

from __future__ import annotations

import json
import pathlib

#: Where the docs pages' scripts, styles and icon are served, under the app's root path.
ASSETS_PREFIX = "/_fasterapi/static"
#: The directory the package build puts the npm packages' files in.
ASSETS_DIR = pathlib.Path(__file__).resolve().parent.parent / "_docs_assets"

#: ``(URL path under ASSETS_PREFIX, file under ASSETS_DIR, content type)``.
SWAGGER_ASSETS = (
    ("/swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("/swagger-ui-dist/swagger-ui.css", "swagger-ui-dist/swagger-ui.css", "text/css; charset=utf-8"),
    ("/swagger-ui-dist/favicon-32x32.png", "swagger-ui-dist/favicon-32x32.png", "image/png"),
)
REDOC_ASSETS = (
    ("/redoc/redoc.standalone.js", "redoc/redoc.standalone.js", "text/javascript; charset=utf-8"),
)
FAVICON = "/swagger-ui-dist/favicon-32x32.png"


def _asset_reader(relative: str):
    def read() -> bytes:
        path = ASSETS_DIR / relative
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{path}: the docs pages' assets are not installed in the fasterapi package; "
                "they are fetched from npm when the package is built (scripts/docs-assets.sh "
                "before maturin)"
            ) from None

    return read


def openapi_json(app, root_path: str) -> bytes:
    """The document as FastAPI's ``openapi`` route sends it: ``app.openapi()``, with the
    root path as the first server when the app is mounted (``root_path_in_servers``)."""
    schema = app.openapi()
    root_path = root_path.rstrip("/")
    if root_path and app.root_path_in_servers:
        server_urls = {s.get("url") for s in schema.get("servers", [])}
        if root_path not in server_urls:
            schema = dict(schema)
            schema["servers"] = [{"url": root_path}] + schema.get("servers", [])
    from ..encoders import jsonable_encoder

    # JSONResponse's rendering (Starlette's json.dumps arguments).
    return json.dumps(
        jsonable_encoder(schema), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def built_routes(app, root_path: str = "") -> list:
    """``(path, content_type, builder)`` for each route of the document and docs pages."""
    from .docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html

    root = root_path.rstrip("/")
    routes = []
    if not app.openapi_url:
        return routes
    routes.append((app.openapi_url, "application/json", lambda: openapi_json(app, root_path)))
    assets = root + ASSETS_PREFIX
    if app.docs_url:

        def swagger() -> bytes:
            oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
            if oauth2_redirect_url:
                oauth2_redirect_url = root + oauth2_redirect_url
            return get_swagger_ui_html(
                openapi_url=root + app.openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=oauth2_redirect_url,
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
                swagger_js_url=assets + SWAGGER_ASSETS[0][0],
                swagger_css_url=assets + SWAGGER_ASSETS[1][0],
                swagger_favicon_url=assets + FAVICON,
            ).body

        routes.append((app.docs_url, "text/html; charset=utf-8", swagger))
        if app.swagger_ui_oauth2_redirect_url:
            routes.append((app.swagger_ui_oauth2_redirect_url, "text/html; charset=utf-8",
                           lambda: get_swagger_ui_oauth2_redirect_html().body))
    if app.redoc_url:

        def redoc() -> bytes:
            return get_redoc_html(
                openapi_url=root + app.openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=assets + REDOC_ASSETS[0][0],
                redoc_favicon_url=assets + FAVICON,
                # The fonts come from a web font service: left out so the page needs no
                # network (ReDoc falls back to the browser's fonts).
                with_google_fonts=False,
            ).body

        routes.append((app.redoc_url, "text/html; charset=utf-8", redoc))
    if app.docs_url or app.redoc_url:
        for url, relative, content_type in SWAGGER_ASSETS + REDOC_ASSETS:
            routes.append((ASSETS_PREFIX + url, content_type, _asset_reader(relative)))
    return routes
