"""What FastAPI has and fasterapi does not implement yet is refused by name, at import or
registration, never silently ignored; documentation-only options are kept."""

import pytest

import fasterapi
from conftest import get, module_server
from fasterapi import FastAPI, FasterAPI

server = module_server("app_main.py")


@pytest.mark.parametrize("name", sorted(fasterapi._NOT_YET))
def test_fastapi_names_not_implemented_yet_fail_at_import_naming_themselves(name):
    with pytest.raises(ImportError, match=repr(name)):
        exec(f"from fasterapi import {name}", {})


def test_fastapi_is_a_name_for_the_application_class():
    assert FastAPI is FasterAPI


def test_documentation_options_are_kept_and_inert_values_accepted():
    app = FastAPI(title="t", version="1.0", description="d", docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[], debug=False)
    assert app.options == {"title": "t", "version": "1.0", "description": "d"}

    @app.get("/x", tags=["a"], summary="s", deprecated=True, response_model=None, include_in_schema=False)
    def x():
        return 1

    assert app.route_docs[(("GET",), "/x")] == {
        "tags": ["a"], "summary": "s", "deprecated": True, "include_in_schema": False,
    }


@pytest.mark.parametrize("option", [
    {"lifespan": lambda app: None},
    {"dependencies": [object()]},
    {"middleware": [object()]},
    {"docs_url": "/docs"},
    {"redirect_slashes": True},
    {"exception_handlers": {404: print}},
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


@pytest.mark.parametrize("option", [
    {"response_model": dict},
    {"dependencies": [object()]},
    {"response_class": object},
    {"response_model_exclude_none": True},
])
def test_route_options_that_would_change_behaviour_are_refused(option):
    (key,) = option
    app = FastAPI()
    with pytest.raises(NotImplementedError, match=key):
        app.get("/x", **option)


@pytest.mark.parametrize("method", ["include_router", "middleware", "exception_handler", "mount", "on_event", "websocket"])
def test_application_methods_not_implemented_yet_raise_naming_themselves(method):
    app = FastAPI()
    with pytest.raises(NotImplementedError, match=method):
        getattr(app, method)(None)
    with pytest.raises(NotImplementedError, match="dependency_overrides"):
        app.dependency_overrides[print] = print


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


def test_a_mutable_default_is_copied_for_each_request(server):
    for _ in range(3):
        assert get(server, "/mutable_default").json() == {"tags": ["seen"]}
    assert get(server, "/mutable_default?tags=a").json() == {"tags": ["a", "seen"]}

