"""What FastAPI has and fasterapi does not implement yet is refused by name, at import or
registration, never silently ignored; documentation-only options are kept."""

import http
import importlib

import pytest

import fasterapi
import fasterapi.responses
from app_main import app as main_app
from fasterapi import FastAPI, FasterAPI
from fasterapi.testclient import TestClient


MODULES = ["fasterapi", "fasterapi.datastructures", "fasterapi.exceptions", "fasterapi.exception_handlers",
           "fasterapi.param_functions",
           "fasterapi.params", "fasterapi.requests", "fasterapi.responses", "fasterapi.routing"]


@pytest.mark.parametrize("module, name", [
    (module, name) for module in MODULES for name in sorted(importlib.import_module(module)._NOT_YET)
])
def test_fastapi_names_not_implemented_yet_fail_at_import_naming_themselves(module, name):
    with pytest.raises(ImportError, match=f"{name!r} \\({module}\\)"):
        exec(f"from {module} import {name}", {})


def test_other_missing_names_are_attribute_errors():
    with pytest.raises(AttributeError, match="'fasterapi.responses' has no attribute 'Nope'"):
        fasterapi.responses.Nope


@pytest.mark.parametrize("module, names", [
    ("applications", ["FastAPI"]),
    ("routing", ["APIRouter", "APIRoute"]),
    ("exception_handlers", ["http_exception_handler", "request_validation_exception_handler"]),
    ("params", ["Body", "Cookie", "Header", "Param", "Path", "Query"]),
    ("param_functions", ["Body", "Cookie", "Header", "Path", "Query"]),
    ("responses", ["HTMLResponse", "JSONResponse", "PlainTextResponse", "Response"]),
    ("exceptions", ["HTTPException"]),
    ("requests", ["Request"]),
    ("encoders", ["jsonable_encoder"]),
    ("status", ["HTTP_200_OK", "WS_1000_NORMAL_CLOSURE"]),
    ("datastructures", ["Headers"]),
])
def test_fastapi_import_paths_give_the_top_level_objects(module, names):
    # `from fastapi.X import Y` becomes `from fasterapi.X import Y`: the same objects as
    # the top-level names where both exist (but for `params`, whose classes the
    # top-level functions return, as in FastAPI).
    mod = importlib.import_module(f"fasterapi.{module}")
    for name in names:
        obj = getattr(mod, name)
        if hasattr(fasterapi, name) and module != "params":
            assert getattr(fasterapi, name) is obj, name


def test_the_parameter_functions_return_the_params_markers():
    from fasterapi import params

    assert isinstance(fasterapi.Query(None, max_length=3), params.Query)
    assert isinstance(fasterapi.Path(gt=0), params.Path)
    header = fasterapi.Header(None, convert_underscores=False)
    assert isinstance(header, params.Header) and header.convert_underscores is False
    assert isinstance(fasterapi.Cookie(None), params.Cookie)
    body = fasterapi.Body(embed=True)
    assert isinstance(body, params.Body) and body.embed is True and body.default is ...
    assert all(isinstance(m, params.Param) for m in (header, body))


def test_status_has_every_starlette_code():
    from fasterapi import status

    codes = {}
    for name in status.__all__:
        value = getattr(status, name)
        # The number in the name is the value: HTTP_404_NOT_FOUND == 404.
        assert name.split("_")[1] == str(value), name
        codes[value] = name
    assert {s.value for s in http.HTTPStatus} <= set(codes)
    assert status.HTTP_422_UNPROCESSABLE_CONTENT == 422
    assert status.HTTP_418_IM_A_TEAPOT == 418 and status.HTTP_306_RESERVED == 306
    assert status.WS_1008_POLICY_VIOLATION == 1008
    assert len([n for n in status.__all__ if n.startswith("WS_")]) == 15
    assert len([n for n in status.__all__ if n.startswith("HTTP_")]) == 63
    # The names RFC 9110 replaced still work, with a warning, as in Starlette.
    with pytest.warns(DeprecationWarning, match="HTTP_422_UNPROCESSABLE_CONTENT"):
        assert status.HTTP_422_UNPROCESSABLE_ENTITY == 422
    with pytest.warns(DeprecationWarning):
        assert status.HTTP_413_REQUEST_ENTITY_TOO_LARGE == 413
    with pytest.raises(AttributeError):
        status.HTTP_999_NOPE


def test_fastapi_is_a_name_for_the_application_class():
    assert FastAPI is FasterAPI


def test_documentation_options_are_kept_and_inert_values_accepted():
    app = FastAPI(title="t", version="1.0", description="d", docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[], debug=False)
    assert (app.title, app.version, app.description, app.summary) == ("t", "1.0", "d", None)

    @app.get("/x", tags=["a"], summary="s", deprecated=True, response_model=None, include_in_schema=False)
    def x():
        return 1

    (route,) = app.routes
    assert (route.tags, route.summary, route.deprecated, route.include_in_schema) == (["a"], "s", True, False)


class RawAsgiMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)


def test_a_raw_asgi_middleware_is_refused_naming_it():
    from fasterapi.middleware import Middleware

    with pytest.raises(NotImplementedError, match="RawAsgiMiddleware"):
        FastAPI(middleware=[Middleware(RawAsgiMiddleware)])
    with pytest.raises(NotImplementedError, match="RawAsgiMiddleware"):
        FastAPI().add_middleware(RawAsgiMiddleware)


@pytest.mark.parametrize("option", [
    {"debug": True},
])
def test_app_options_that_would_change_behaviour_are_refused(option):
    (key,) = option
    with pytest.raises(NotImplementedError, match=key):
        FastAPI(**option)


def test_unknown_options_are_errors():
    with pytest.raises(TypeError, match="'colour'"):
        FastAPI(colour="blue")
    app = FastAPI()
    with pytest.raises(TypeError, match="'colour'"):
        app.get("/x", colour="blue")


@pytest.mark.parametrize("method", ["websocket_route"])
def test_application_methods_not_implemented_yet_raise_naming_themselves(method):
    app = FastAPI()
    with pytest.raises(NotImplementedError, match=method):
        getattr(app, method)(None)


def test_a_fastapi_marker_as_default_is_refused_not_taken_for_a_value():
    # What `def admin(user=Depends(current_user))` passes when `Depends` still comes
    # from fastapi: without the check, `user` would be a query parameter a client sets.
    Depends = type("Depends", (), {"__module__": "fastapi.params"})
    app = FastAPI()
    with pytest.raises(NotImplementedError, match="'user'.*fastapi.params.Depends"):

        @app.get("/admin")
        def admin(user=Depends()):
            return user

    from typing import Annotated

    with pytest.raises(NotImplementedError, match="'user'"):

        @app.get("/admin2")
        def admin2(user: Annotated[str, Depends()]):
            return user


def test_a_mutable_default_is_copied_for_each_request():
    client = TestClient(main_app)
    for _ in range(3):
        assert client.get("/mutable_default").json() == {"tags": ["seen"]}
    assert client.get("/mutable_default?tags=a").json() == {"tags": ["a", "seen"]}

