"""Routes and routers: ``fasterapi.routing`` as ``fastapi.routing``.

:class:`APIRoute` is a registered route (FastAPI's: ``path``, ``methods``, ``name``,
``endpoint`` and the route's options), its handler compiled once, at registration, into
the plan the server reads per request. :class:`APIRouter` groups routes under a prefix,
tags, dependencies and responses, and includes other routers, as FastAPI's::

    router = APIRouter(prefix="/items", tags=["items"])

    @router.get("/{item_id}")
    async def read_item(item_id: str): ...

    app.include_router(router, prefix="/v1", tags=["v1"])   # GET /v1/items/{item_id}

An included router is included by reference, as in FastAPI: routes added to it later are
served too. Its routes get the prefixes of every include above them joined (each prefix
must start with ``/`` and not end with ``/``), the tags and dependencies of the includes
and routers above them first, their responses merged (the route's own win).
"""

from __future__ import annotations

import functools
import os
import inspect
import re
import typing
from enum import Enum

from . import _fasterapi, _not_yet, _streaming
from ._fasterapi import RouteSpec
from .dependencies.graph import compile_graph
from .dependencies.utils import _compile
from .encoders import jsonable_encoder
from .exceptions import FastAPIError, ResponseValidationError
from .responses import JSONResponse, Response

try:  # pydantic is optional; a response model needs it
    import pydantic as _pydantic
    import pydantic_core as _pydantic_core
except ImportError:
    _pydantic = None


class _DefaultPlaceholder:
    """FastAPI's ``Default(...)``: an option left unset, told apart from the same value
    given (``response_model=None`` turns the return annotation off; unset, it is the
    model)."""

    def __init__(self, value: typing.Any):
        self.value = value

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DefaultPlaceholder) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"Default({self.value!r})"


def Default(value: typing.Any) -> typing.Any:  # noqa: N802 (FastAPI's name)
    """An option's default, told apart from the same value given."""
    return _DefaultPlaceholder(value)


#: Route options that only document the route (kept for the OpenAPI schema to come).
_ROUTE_DOC_OPTIONS = {
    "summary", "description", "response_description", "operation_id", "openapi_extra",
    "generate_unique_id_function",
}
#: Route options that change behaviour, with the value that changes nothing (FastAPI's
#: default): any other value is refused until fasterapi implements the option.
_ROUTE_INERT_DEFAULTS: dict = {}

#: The methods a route may have (those the server routes).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"})
#: The response options a route takes (see :func:`compile_route`), with their defaults.
_ROUTE_RESPONSE_OPTIONS = {
    "response_model": Default(None),
    "response_class": Default(JSONResponse),
    "response_model_include": None,
    "response_model_exclude": None,
    "response_model_by_alias": True,
    "response_model_exclude_unset": False,
    "response_model_exclude_defaults": False,
    "response_model_exclude_none": False,
}


def _check_options(where: str, given: dict, documentation: set, inert: dict) -> dict:
    """Keeps the documentation-only options; refuses, naming it, any option fasterapi
    does not implement unless it has the value that changes nothing."""
    kept = {}
    for key, value in given.items():
        if key in documentation:
            kept[key] = value
        elif key in inert:
            default = inert[key]
            if not (value is default or value == default or (default is None and value in ((), []))):
                raise NotImplementedError(
                    f"{where}: {key}={value!r} is not implemented by fasterapi yet (it would "
                    "change what the app does, so it is refused rather than ignored)"
                )
        else:
            raise TypeError(f"{where}: unknown option {key!r}")
    return kept


def _refuse(where: str, key: str, value, why: str = "") -> None:
    raise NotImplementedError(
        f"{where}: {key}={value!r} is not implemented by fasterapi yet{why} (it would change "
        "what the app does, so it is refused rather than ignored)"
    )


def _check_dependencies(where: str, dependencies) -> None:
    """The one place dependencies (a route's, its routers', the app's, an
    ``include_router``'s) are checked: a collection of ``Depends(...)``."""
    from .params import Depends

    if dependencies is None:
        return
    if isinstance(dependencies, (str, bytes)) or not isinstance(dependencies, (list, tuple)):
        raise TypeError(f"{where}: dependencies must be a list of Depends(...), not {dependencies!r}")
    for d in dependencies:
        if not isinstance(d, Depends):
            raise TypeError(f"{where}: dependencies must be Depends(...) objects, not {d!r}")


def _body_allowed(status_code: int | None) -> bool:
    """FastAPI's ``is_body_allowed_for_status_code``."""
    return status_code is None or not (int(status_code) < 200 or int(status_code) in (204, 205, 304))


def _return_annotation(func) -> typing.Any:
    """The handler's return annotation, resolved (``None`` if it has none)."""
    annotation = inspect.signature(func).return_annotation
    if annotation is inspect.Signature.empty:
        return None
    if isinstance(annotation, str):
        try:
            annotation = typing.get_type_hints(inspect.unwrap(func), include_extras=True).get("return")
        except Exception as e:
            raise FastAPIError(f"{func.__qualname__}: cannot resolve the return annotation {annotation!r}: {e}") from e
    if annotation is type(None):
        return None
    return annotation


def _is_response_class(value) -> bool:
    return isinstance(value, type) and issubclass(value, Response)


def _response_field(where: str, model):
    """The pydantic ``TypeAdapter`` of a response model (FastAPI's response field)."""
    if _pydantic is None:
        raise NotImplementedError(f"{where}: a response model ({model!r}) needs pydantic, which is not installed")
    try:
        return _pydantic.TypeAdapter(model)
    except _pydantic.errors.PydanticSchemaGenerationError:
        raise FastAPIError(
            f"{where}: invalid args for response field! Hint: check that {model!r} is a valid "
            "Pydantic field type. If you are using a return type annotation that is not a valid "
            "Pydantic field (e.g. Union[Response, dict, None]) you can disable generating the "
            "response model from the type annotation with the path operation decorator "
            "parameter response_model=None."
        ) from None


#: The container models whose values of that exact type pydantic would only copy.
_PASSTHROUGH = {dict: "dict", typing.Dict: "dict", list: "list", typing.List: "list", typing.Any: "any"}
#: Core schema types of values the server's JSON walker writes as pydantic does.
_NATIVE_SCHEMAS = {"str", "int", "float", "bool", "none", "any", "literal"}
#: Core schema types that only wrap another for validation.
_WRAPPERS = {"default", "function-after", "function-before"}


def _serialization_shape(schema: dict, by_alias: bool, depth: int = 0, defs: dict | None = None):
    """The layout of a value of this core schema for the server's JSON walker
    (``fasterapi-py/src/json.rs``, ``Shape``), or ``None`` if pydantic must serialize it:
    models whose fields hold native JSON values (``str``, ``int``, ``float``, ``bool``,
    ``None``, enums and literals of those, ``Any``, lists and dicts of them), such models
    nested, lists of them; no custom serializers, computed fields, extra fields or
    excluded-if fields. The walker falls back to pydantic for a value that is not what
    the schema says, so the shape only has to be right for validated values."""
    if depth > 32 or not isinstance(schema, dict) or "serialization" in schema:
        return None  # 32 levels: a recursive model, most likely
    kind = schema.get("type")
    if kind == "definitions":  # models used more than once are referenced
        defs = {**(defs or {}), **{d.get("ref"): d for d in schema.get("definitions", ())}}
        return _serialization_shape(schema.get("schema"), by_alias, depth + 1, defs)
    if kind == "definition-ref":
        return _serialization_shape((defs or {}).get(schema.get("schema_ref")), by_alias, depth + 1, defs)
    if kind in _WRAPPERS:
        return _serialization_shape(schema.get("schema"), by_alias, depth + 1, defs)
    if kind in _NATIVE_SCHEMAS or (kind == "enum" and schema.get("sub_type") in ("str", "int", "float")):
        return ("value",)
    if kind == "union":
        choices = [c[0] if isinstance(c, tuple) else c for c in schema.get("choices", ())]
        if choices and all(_serialization_shape(c, by_alias, depth + 1, defs) == ("value",) for c in choices):
            return ("value",)
        return None
    if kind == "nullable":
        inner = _serialization_shape(schema.get("schema"), by_alias, depth + 1, defs)
        return None if inner is None else (("value",) if inner == ("value",) else ("nullable", inner))
    if kind == "list":
        items = schema.get("items_schema", {"type": "any"})
        inner = _serialization_shape(items, by_alias, depth + 1, defs)
        return None if inner is None else (("value",) if inner == ("value",) else ("list", inner))
    if kind == "dict":
        keys = schema.get("keys_schema", {"type": "any"})
        values = schema.get("values_schema", {"type": "any"})
        if keys.get("type") in ("str", "any") and "serialization" not in keys and \
                _serialization_shape(values, by_alias, depth + 1, defs) == ("value",):
            return ("value",)
        return None
    if kind == "model":
        fields_schema = schema.get("schema", {})
        config = schema.get("config", {})
        if (schema.get("root_model") or fields_schema.get("type") != "model-fields"
                or fields_schema.get("computed_fields") or fields_schema.get("extras_schema")
                or "serialization" in fields_schema
                or config.get("extra_fields_behavior") == "allow"):
            return None
        fields = []
        for name, field in fields_schema.get("fields", {}).items():
            if field.get("serialization_exclude_if") is not None or "serialization" in field:
                return None
            if field.get("serialization_exclude"):
                continue
            shape = _serialization_shape(field.get("schema"), by_alias, depth + 1, defs)
            if shape is None:
                return None
            key = field.get("serialization_alias") if by_alias else None
            fields.append((name, key if isinstance(key, str) else name, shape))
        return ("model", fields)
    return None


def _list_items_schema(schema: dict) -> dict:
    """The items' core schema of a list core schema, with its definitions."""
    if schema.get("type") == "definitions":
        items = _list_items_schema(schema.get("schema", {}))
        return {"type": "definitions", "schema": items, "definitions": schema.get("definitions", [])}
    items = schema.get("items_schema", {})
    return items


def _fields_validator(schema: dict):
    """``validate_python`` of a model's ``model-fields`` core schema: what pydantic checks
    for a model made from a dict, without making the model (its ``(fields, extra,
    fields_set)``; ``mode="before"`` model validators run on the way in), or ``None`` where
    making the model does more: validators around the model (``mode="after"``/``"wrap"``),
    a custom ``__init__``, ``model_post_init`` (private attributes), a root model."""
    definitions = None
    if schema.get("type") == "definitions":
        definitions = schema.get("definitions")
        schema = schema.get("schema", {})
    if schema.get("type") == "definition-ref":  # the model itself among the definitions
        schema = next((d for d in definitions or () if d.get("ref") == schema.get("schema_ref")), {})
    if (schema.get("type") != "model" or schema.get("custom_init") or schema.get("post_init")
            or schema.get("root_model") or "serialization" in schema):
        return None
    fields = inner = schema.get("schema")
    while isinstance(inner, dict) and inner.get("type") == "function-before":  # before-validators
        inner = inner.get("schema")
    if not isinstance(inner, dict) or inner.get("type") != "model-fields":
        return None
    if definitions:
        fields = {"type": "definitions", "schema": fields, "definitions": definitions}
    try:
        return _pydantic_core.SchemaValidator(fields, schema.get("config")).validate_python
    except Exception:  # a schema pydantic-core takes only inside its model: make the model
        return None


def _response_validation_error(exc, body) -> ResponseValidationError:
    """FastAPI's ``ResponseValidationError`` for pydantic's ``ValidationError`` of what a
    handler returned: its errors with ``loc`` starting at ``"response"``."""
    errors = [{**err, "loc": ("response", *err.get("loc", ()))} for err in exc.errors(include_url=False)]
    return ResponseValidationError(errors, body=body)


def _dump_options(opts: dict) -> dict:
    """The ``response_model_*`` options as pydantic's dump keywords."""
    return {
        "include": opts["response_model_include"],
        "exclude": opts["response_model_exclude"],
        "by_alias": bool(opts["response_model_by_alias"]),
        "exclude_unset": bool(opts["response_model_exclude_unset"]),
        "exclude_defaults": bool(opts["response_model_exclude_defaults"]),
        "exclude_none": bool(opts["response_model_exclude_none"]),
    }


def _response_plan(where: str, func, status_code, options: dict) -> dict:
    """What the route does with a handler's return value, as FastAPI's ``APIRoute`` and
    ``serialize_response``: the keyword arguments of :class:`RouteSpec` for it
    (``status_code``, and ``validate``/``serialize`` or ``render``; none for the plain
    path of a route without a response model and with the default response class)."""
    unknown = set(options) - set(_ROUTE_RESPONSE_OPTIONS)
    if unknown:
        raise TypeError(f"{where}: unknown option {sorted(unknown)[0]!r}")
    opts = {**_ROUTE_RESPONSE_OPTIONS, **options}
    response_model = opts["response_model"]
    response_class = opts["response_class"]
    if isinstance(response_class, _DefaultPlaceholder):
        response_class = response_class.value
        default_class = True
    else:
        default_class = False
    if not _is_response_class(response_class):
        raise TypeError(f"{where}: response_class must be a Response class, not {response_class!r}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        # Streamed (_streaming.py): server-sent events, JSON lines, or the class's content.
        route_status = None if status_code is None else int(status_code)
        render = _streaming.generator_render(
            where, func, response_class, default_class, route_status,
            lambda item_type: _response_field(where, item_type), _dump_options(opts),
        )
        return {"status_code": 200 if route_status is None else route_status, "render": render}
    if isinstance(response_model, _DefaultPlaceholder):
        response_model = _return_annotation(func)
        if _is_response_class(response_model):
            response_model = None
    if response_model and not _body_allowed(status_code):
        raise AssertionError(f"Status code {status_code} must not have a response body")
    if status_code is None:
        # As Starlette: the response class's own (307 for a redirect), else 200.
        param = inspect.signature(response_class.__init__).parameters.get("status_code")
        default = param.default if param is not None else inspect.Parameter.empty
        class_status = default if isinstance(default, int) else 200
    else:
        class_status = int(status_code)
    plan = {"status_code": class_status}
    field = _response_field(where, response_model) if response_model else None
    dump_options = _dump_options(opts)
    # As FastAPI, a response model with the default class (the app's, if it set one) is
    # sent as pydantic's JSON; JSONResponse encodes as that or the plain path does.
    if response_class is JSONResponse or (default_class and field is not None):
        if field is None:
            return plan
        validator, serializer = field.validator, field.serializer
        if isinstance(validator, _pydantic_core.SchemaValidator):
            validate = validator.validate_python
        else:  # a plugin's validator, or one deferred
            validate = field.validate_python
        # Pydantic's defaults left out: a call with fewer keywords costs less.
        given = {k: v for k, v in dump_options.items() if v not in (None, False)}
        if isinstance(serializer, _pydantic_core.SchemaSerializer):
            serialize = functools.partial(serializer.to_json, **given)
        else:
            serialize = functools.partial(field.dump_json, **given)
        out = {**plan, "validate": validate, "serialize": serialize}
        if not any(dump_options[k] for k in ("include", "exclude", "exclude_unset", "exclude_defaults", "exclude_none")):
            out["shape"] = _serialization_shape(field.core_schema, dump_options["by_alias"])
            out["passthrough"] = _PASSTHROUGH.get(response_model)
            shape = out["shape"]
            if shape is not None and shape[0] == "model":
                out["validate_fields"] = _fields_validator(field.core_schema)
            elif shape is not None and shape[0] == "list" and shape[1][0] == "model":
                out["validate_fields"] = _fields_validator(_list_items_schema(field.core_schema))
        return out

    route_status = None if status_code is None else int(status_code)

    def render(value, temporal_status):
        if field is not None:
            try:
                model = field.validate_python(value, from_attributes=True)
            except _pydantic.ValidationError as exc:
                raise _response_validation_error(exc, value) from None
            content = field.dump_python(model, mode="json", **dump_options)
        else:
            content = jsonable_encoder(value)
        status = temporal_status if temporal_status is not None else route_status
        response = response_class(content) if status is None else response_class(content, status_code=status)
        if not _body_allowed(response.status_code):
            response.body = b""
        return response

    return {**plan, "render": render}


def compile_route(
    method: str, path: str, func, *, status_code: int | None = None, blocking: bool | None = None,
    dependencies=(), overrides_provider=None, **response_options: typing.Any,
) -> RouteSpec:
    """The route that serves ``method`` requests to ``path`` with ``func``, its signature
    compiled into the plan the server reads per request (see
    :meth:`fasterapi.FasterAPI.api_route` for ``blocking``).

    ``dependencies``: the ``Depends(...)`` that run before the handler's own, their
    values unused (FastAPI's ``dependencies=[...]``): the app's, then each enclosing
    router's, then the route's, in that order. ``overrides_provider``: the object whose
    ``dependency_overrides`` replace dependencies (the app), read now and again whenever
    they change.

    ``response_options`` are FastAPI's: ``response_model`` (unset: the return
    annotation, unless it is a ``Response`` class; ``None``: no model),
    ``response_class``, ``response_model_include``/``_exclude``/``_by_alias``/
    ``_exclude_unset``/``_exclude_defaults``/``_exclude_none``."""
    where = f"{method.upper()} {path}"
    path = _router_path(where, path)
    if blocking is not None and not isinstance(blocking, bool):
        raise TypeError(f"{method} {path}: blocking must be True, False or None, not {blocking!r}")
    dependencies = list(dependencies or ())
    plan = None if dependencies else _compile(func, path)
    if plan is not None and blocking is None and (inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)):
        # Calling it only makes the generator (iterated on the pool or the event loop).
        blocking = False
    response = _response_plan(where, func, status_code, response_options)
    if plan is None:
        return _compile_with_dependencies(
            method, path, func, blocking=blocking, dependencies=dependencies,
            overrides_provider=overrides_provider, where=where, response=response,
        )
    is_async = inspect.iscoroutinefunction(func)
    if is_async and blocking:
        raise ValueError(
            f"{method.upper()} {path}: blocking=True is for def handlers; an async def "
            "handler runs on the event loop (call blocking code with "
            "`await asyncio.to_thread(...)` or make the handler a def)"
        )
    return RouteSpec(
        method=method.upper(), path=path, endpoint=func, is_async=is_async, plan=plan,
        blocking=blocking, **response,
    )


def _compile_with_dependencies(method, path, func, *, blocking, dependencies, overrides_provider, where, response):
    """A route whose plan and solver come from its dependency graph
    (``dependencies/graph.py``), recompiled when the overrides change."""

    def overrides():
        return getattr(overrides_provider, "dependency_overrides", None) or {}

    version = _fasterapi._overrides_version()
    compiled = compile_graph(func, path, dependencies, overrides(), where, blocking)
    if compiled.is_async and blocking and inspect.iscoroutinefunction(func):
        raise ValueError(
            f"{where}: blocking=True is for def handlers; an async def handler runs on the "
            "event loop"
        )

    def rebuild():
        fresh = compile_graph(func, path, dependencies, overrides(), where, blocking)
        return fresh.plan, fresh.solver, fresh.is_async, fresh.on_invalid

    # An async graph runs on the event loop; `blocking` places its def parts
    # (dependencies/placement.py).
    return RouteSpec(
        method=method.upper(), path=path, endpoint=func, is_async=compiled.is_async,
        plan=compiled.plan, blocking=None if compiled.is_async else blocking, solver=compiled.solver,
        on_invalid=compiled.on_invalid, rebuild=rebuild, overrides_version=version, **response,
    )


_CONVERTOR = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*):([a-zA-Z_][a-zA-Z0-9_]*)\}")


def _router_path(where: str, path: str) -> str:
    """``path`` in the router's syntax: Starlette's convertors ``{name:str}`` as
    ``{name}`` and ``{name:path}`` (last in the path: the rest of it, slashes included)
    as the catch-all ``{*name}``. The convertors that also match and convert by pattern
    (``int``, ``float``, ``uuid``: a path that does not fit is not routed) are refused,
    not matched as any segment."""

    def replace(m: re.Match) -> str:
        name, kind = m.groups()
        if kind == "str":
            return "{" + name + "}"
        if kind == "path":
            if m.end() != len(path):
                raise NotImplementedError(
                    f"{where}: a {{{name}:path}} parameter before the end of the path is not "
                    "supported by fasterapi; it must be last"
                )
            return "{*" + name + "}"
        raise NotImplementedError(
            f"{where}: the path convertor {{{name}:{kind}}} is not supported by fasterapi "
            "(only :str and :path); annotate the parameter instead "
            f"({name}: {kind if kind in ('int', 'float') else 'uuid.UUID'})"
        )

    return _CONVERTOR.sub(replace, path)


class NoMatchFound(Exception):
    """Raised by ``url_path_for(name, **path_params)`` when no route has that name and
    exactly those path parameters (Starlette's ``NoMatchFound``)."""

    def __init__(self, name: str, path_params: dict) -> None:
        params = ", ".join(list(path_params.keys()))
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


class URLPath(str):
    """A path ``url_path_for`` made (Starlette's ``URLPath``: a ``str``)."""

    def __new__(cls, path: str, protocol: str = "", host: str = "") -> "URLPath":
        path = path.replace("\\", "%5C")
        if path.startswith("//"):
            # A leading `//` would be read as the authority.
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(self, path: str, protocol: str = "", host: str = "") -> None:
        self.protocol = protocol
        self.host = host


# `{name}`, `{name:convertor}` (FastAPI's) and `{*name}` (fasterapi's catch-all).
_PARAM = re.compile(r"\{(\*?)([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?\}")


def _path_format(path: str) -> tuple[str, dict]:
    """``(format, params)``: the path with each parameter as ``{name}``, and each
    parameter's kind: ``"path"`` for one that may hold slashes, else its convertor."""
    params = {}

    def replace(m: re.Match) -> str:
        star, name, conv = m.groups()
        if name in params:
            raise ValueError(f"Duplicated param name {name} at path {path}")
        params[name] = "path" if star else (conv or "str")
        return "{" + name + "}"

    return _PARAM.sub(replace, path), params


def _param_to_string(name: str, kind: str, value) -> str:
    if kind == "path":
        return str(value)
    if kind == "int":
        value = int(value)
        if value < 0:
            raise AssertionError("Negative integers are not supported")
        return str(value)
    if kind == "float":
        value = float(value)
        if value < 0:
            raise AssertionError("Negative floats are not supported")
        if value != value or value in (float("inf"), float("-inf")):
            raise AssertionError("NaN and infinite values are not supported")
        return ("%0.20f" % value).rstrip("0").rstrip(".")
    value = str(value)
    if "/" in value:
        raise AssertionError("May not contain path separators")
    if not value:
        raise AssertionError("Must not be empty")
    return value


def get_name(endpoint) -> str:
    """A route's default name: its endpoint's ``__name__`` (Starlette's ``get_name``)."""
    return getattr(endpoint, "__name__", type(endpoint).__name__)


class APIRoute:
    """A route: ``endpoint`` answers ``methods`` requests to ``path`` (FastAPI's
    ``APIRoute``).

    Attributes as FastAPI's: ``path``, ``endpoint``, ``methods`` (a set), ``name`` (the
    endpoint's ``__name__`` unless given), ``status_code``, ``tags``, ``dependencies``,
    ``responses``, ``deprecated``, ``include_in_schema``, ``response_class``,
    ``response_model``, ``summary``, ``description``, ``response_description``,
    ``operation_id``, ``openapi_extra``, ``path_format``. ``specs`` holds what the server reads, one
    ``RouteSpec`` per method, compiled when the route is made, so that a handler's
    signature that fasterapi cannot serve fails at registration."""

    def __init__(
        self,
        path: str,
        endpoint,
        *,
        methods=None,
        name: str | None = None,
        status_code: int | None = None,
        blocking: bool | None = None,
        dependencies=None,
        tags=None,
        responses=None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        response_class=Default(JSONResponse),
        callbacks=None,
        dependency_overrides_provider=None,
        **options,
    ):
        if not isinstance(path, str):
            raise TypeError(f"a route's path is a str, not {path!r}")
        methods = ["GET"] if methods is None else methods
        if isinstance(methods, str):
            raise TypeError(f"{path}: methods is a collection of method names, not the str {methods!r}")
        self.methods = {m.upper() for m in methods}
        where = f"{'/'.join(sorted(self.methods)) or '(no method)'} {path}"
        unknown = self.methods - _METHODS
        if unknown:
            raise ValueError(f"{where}: unsupported method{'s' if len(unknown) > 1 else ''} {', '.join(sorted(unknown))}")
        if not self.methods:
            raise ValueError(f"{path}: a route needs at least one method")
        if isinstance(status_code, Enum):  # http.HTTPStatus
            status_code = int(status_code)
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.status_code = status_code
        self.blocking = blocking
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.responses = dict(responses or {})
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.response_class = response_class
        #: OpenAPI callbacks (routes documented in this operation, never served from it).
        self.callbacks = list(callbacks) if callbacks else None
        #: Whose ``dependency_overrides`` apply (the app serving the route).
        self.dependency_overrides_provider = dependency_overrides_provider
        #: The options this route was made with beyond those above (FastAPI's other
        #: keywords), passed on to the routes an ``include_router`` makes of it.
        self._options = dict(options)
        self._response_options = {k: options.pop(k) for k in list(options) if k in _ROUTE_RESPONSE_OPTIONS}
        self._response_options["response_class"] = response_class
        self.response_model = self._response_options.get("response_model", Default(None))
        docs = _check_options(where, options, _ROUTE_DOC_OPTIONS, _ROUTE_INERT_DEFAULTS)
        self.summary = docs.get("summary")
        self.description = (docs.get("description") or inspect.cleandoc(getattr(endpoint, "__doc__", None) or "")).split("\f")[0].strip()
        self.response_description = docs.get("response_description", "Successful Response")
        self.operation_id = docs.get("operation_id")
        self.openapi_extra = docs.get("openapi_extra")
        self.generate_unique_id_function = docs.get("generate_unique_id_function")
        self.path_format, self._params = _path_format(path)
        self.param_convertors = dict(self._params)
        self.specs = self._compile(where)

    def _compile(self, where: str) -> list:
        """The route's ``RouteSpec``s, one per method."""
        _check_dependencies(where, self.dependencies)
        return [
            compile_route(m, self.path, self.endpoint, status_code=self.status_code, blocking=self.blocking,
                          dependencies=self.dependencies, overrides_provider=self.dependency_overrides_provider,
                          **self._response_options)
            for m in sorted(self.methods)
        ]

    def url_path_for(self, name: str, /, **path_params) -> URLPath:
        """This route's path with ``path_params`` filled in, if it is named ``name`` and
        has exactly those parameters; else :class:`NoMatchFound`."""
        if name != self.name or set(path_params) != set(self._params):
            raise NoMatchFound(name, path_params)
        path = self.path_format
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", _param_to_string(key, self._params[key], value))
        return URLPath(path=path, protocol="http")

    def __repr__(self) -> str:
        return f"APIRoute(path={self.path!r}, name={self.name!r}, methods={sorted(self.methods)!r})"


class APIWebSocketRoute:
    """A registered WebSocket route (FastAPI's ``APIWebSocketRoute``): ``path``,
    ``endpoint`` (an ``async def``), ``name``, ``dependencies``. ``spec`` is what the
    server reads: a ``GET`` ``RouteSpec`` whose plan reads the handshake's values (the
    ``WebSocket`` parameter, path, query, header and cookie parameters, dependencies),
    served by the server's WebSocket route (fasterapi-py/src/websocket.rs)."""

    def __init__(self, path: str, endpoint, *, name: str | None = None, dependencies=None,
                 dependency_overrides_provider=None):
        if not isinstance(path, str):
            raise TypeError(f"a route's path is a str, not {path!r}")
        where = f"WEBSOCKET {path}"
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{where}: a WebSocket handler is an async def, not {endpoint!r}")
        self.path = path
        self.endpoint = endpoint
        self.name = get_name(endpoint) if name is None else name
        self.dependencies = list(dependencies or [])
        self.dependency_overrides_provider = dependency_overrides_provider
        self.path_format, self._params = _path_format(path)
        self.param_convertors = dict(self._params)
        _check_dependencies(where, self.dependencies)
        self.spec = compile_route(
            "GET", path, endpoint, dependencies=self.dependencies,
            overrides_provider=dependency_overrides_provider, response_model=None,
        )
        if any(p.source in (_fasterapi.Source.BODY, _fasterapi.Source.BODY_FIELD, _fasterapi.Source.FORM)
               for p in self.spec.plan):
            raise TypeError(f"{where}: a WebSocket handshake has no body: no Body() or Form() parameters")
        #: HTTP routes' attribute: a WebSocket route has no HTTP methods.
        self.specs = []

    def url_path_for(self, name: str, /, **path_params) -> URLPath:
        """This route's path with ``path_params`` filled in (a ``ws`` URL path), if it is
        named ``name`` and has exactly those parameters; else :class:`NoMatchFound`."""
        if name != self.name or set(path_params) != set(self._params):
            raise NoMatchFound(name, path_params)
        path = self.path_format
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", _param_to_string(key, self._params[key], value))
        return URLPath(path=path, protocol="websocket")

    def __repr__(self) -> str:
        return f"APIWebSocketRoute(path={self.path!r}, name={self.name!r})"


def _first_set(*values):
    """The first value that is not ``None``."""
    for v in values:
        if v is not None:
            return v
    return None


def _value_or_default(first, *others):
    """The first value that is not a ``Default(...)``, else ``first`` (FastAPI's
    ``get_value_or_default``)."""
    for v in (first, *others):
        if not isinstance(v, _DefaultPlaceholder):
            return v
    return first


class _IncludeContext:
    """What an ``include_router`` gives the routes of the included router: FastAPI's
    ``_RouterIncludeContext``."""

    def __init__(self, prefix="", tags=(), dependencies=(), default_response_class=Default(JSONResponse),
                 responses=None, deprecated=None, include_in_schema=True,
                 generate_unique_id_function=None, callbacks=()):
        self.prefix = prefix
        self.tags = list(tags)
        self.dependencies = list(dependencies)
        self.default_response_class = default_response_class
        self.responses = dict(responses or {})
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.generate_unique_id_function = generate_unique_id_function
        self.callbacks = list(callbacks)

    def combine(self, child: "_IncludeContext") -> "_IncludeContext":
        """This context, then ``child``'s below it."""
        return _IncludeContext(
            prefix=self.prefix + child.prefix,
            tags=[*self.tags, *child.tags],
            dependencies=[*self.dependencies, *child.dependencies],
            default_response_class=_value_or_default(child.default_response_class, self.default_response_class),
            responses={**self.responses, **child.responses},
            deprecated=self.deprecated or child.deprecated,
            include_in_schema=self.include_in_schema and child.include_in_schema,
            generate_unique_id_function=_first_set(child.generate_unique_id_function, self.generate_unique_id_function),
            callbacks=[*self.callbacks, *child.callbacks],
        )

    def route(self, route: APIRoute, holder: "APIRouter", provider=None) -> APIRoute:
        """The route ``route`` of router ``holder`` as served under this context (by a
        router whose ``dependency_overrides_provider`` is ``provider``)."""
        path = self.prefix + route.path
        if isinstance(route, APIWebSocketRoute):
            return APIWebSocketRoute(
                path, route.endpoint, name=route.name,
                dependencies=[*self.dependencies, *route.dependencies],
                dependency_overrides_provider=provider,
            )
        if not path.startswith("/"):
            raise AssertionError(f"Routed paths must start with '/' (path operation: {route.name}, path {path!r})")
        return APIRoute(
            path,
            route.endpoint,
            methods=route.methods,
            name=route.name,
            status_code=route.status_code,
            blocking=route.blocking,
            dependencies=[*self.dependencies, *route.dependencies],
            tags=[*self.tags, *route.tags],
            responses={**self.responses, **route.responses},
            deprecated=route.deprecated or self.deprecated,
            include_in_schema=route.include_in_schema and self.include_in_schema,
            response_class=_value_or_default(route.response_class, holder.default_response_class, self.default_response_class),
            dependency_overrides_provider=provider,
            callbacks=[*self.callbacks, *(route.callbacks or [])] or None,
            **{
                **route._options,
                "generate_unique_id_function": _first_set(
                    route._options.get("generate_unique_id_function"), holder.generate_unique_id_function,
                    self.generate_unique_id_function,
                ),
            },
        )


class _IncludedRouter:
    """An ``include_router`` entry of a router's routes: the router, by reference, and
    the context of the include."""

    def __init__(self, router: "APIRouter", context: _IncludeContext):
        self.router = router
        self.context = context


#: The keywords of :meth:`APIRouter.add_api_route` beyond the route options it passes on.
_ADD_API_ROUTE_KEYWORDS = {
    "name", "status_code", "blocking", "dependencies", "tags", "responses", "deprecated",
    "include_in_schema", "callbacks", "route_class_override",
}


class Mount:
    """A mounted application (Starlette's ``Mount``): ``path``, ``app``, ``name``. The
    server serves a :class:`~fasterapi.staticfiles.StaticFiles` mount from its core
    (see :mod:`fasterapi.staticfiles`); ``url_path_for(name, path="...")`` gives the path
    of a file under it."""

    def __init__(self, path: str, app, name: str | None = None) -> None:
        from .staticfiles import StaticFiles

        if path != "" and not path.startswith("/"):
            raise AssertionError("Routed paths must start with '/'")
        if not isinstance(app, StaticFiles):
            raise NotImplementedError(
                f"mounting {type(app).__name__} at {path!r} on a router is not implemented by "
                "fasterapi yet: a router serves StaticFiles mounts (FastAPI.mount serves a "
                "FasterAPI app)"
            )
        self.path = path.rstrip("/")
        self.app = app
        self.name = name
        self.routes: list = []
        #: Served by the core, not as Python routes.
        self.specs = ()

    def _static(self) -> tuple:
        """``(path, directory, html, follow_symlink)`` for the server."""
        app = self.app
        return (self.path, os.fspath(app.directory), bool(app.html), bool(app.follow_symlink))

    def url_path_for(self, name: str, /, **path_params) -> URLPath:
        """``/path/<file>`` for ``url_path_for(<name>, path=<file>)``, as Starlette's."""
        if name != self.name or set(path_params) != {"path"}:
            raise NoMatchFound(name, path_params)
        return URLPath(path=self.path + "/" + str(path_params["path"]).lstrip("/"), protocol="http")

    def __repr__(self) -> str:
        return f"Mount(path={self.path!r}, name={self.name!r}, app={self.app!r})"


class APIRouter:
    """A group of routes, to include in an app or another router (FastAPI's
    ``APIRouter``), with the same route decorators as the app.

    ``prefix`` is joined before the path of each route added to the router; ``tags``,
    ``dependencies``, ``responses``, ``deprecated`` and ``include_in_schema`` apply to
    each of them, and ``default_response_class`` to those that name no
    ``response_class``. ``redirect_slashes`` (default ``True``) only matters to a
    router served on its own, as in FastAPI: an app's routes are redirected as the
    app's own ``redirect_slashes`` says. ``callbacks`` (OpenAPI callbacks: routes
    documented in each operation, never served) apply to each route. FastAPI's
    ``routes``, ``default``, ``route_class``, ``on_startup``, ``on_shutdown`` and
    ``lifespan`` are refused unless given their default."""

    def __init__(
        self,
        *,
        prefix: str = "",
        tags=None,
        dependencies=None,
        default_response_class=Default(JSONResponse),
        responses=None,
        callbacks=None,
        routes=None,
        redirect_slashes: bool = True,
        default=None,
        dependency_overrides_provider=None,
        route_class=APIRoute,
        on_startup=None,
        on_shutdown=None,
        lifespan=None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function=None,
        strict_content_type: bool = True,
    ):
        where = "APIRouter()"
        for key, value in (("routes", routes), ("on_startup", on_startup), ("on_shutdown", on_shutdown)):
            if value:
                _refuse(where, key, value)
        for key, value in (("default", default), ("lifespan", lifespan)):
            if value is not None:
                _refuse(where, key, value)
        if route_class is not APIRoute:
            _refuse(where, "route_class", route_class, " (a custom route class)")
        if strict_content_type is not True:
            _refuse(where, "strict_content_type", strict_content_type)
        _check_prefix(prefix)
        _check_dependencies(where, dependencies)
        self.prefix = prefix
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.default_response_class = default_response_class
        self.responses = dict(responses or {})
        self.callbacks = list(callbacks or [])
        self.redirect_slashes = bool(redirect_slashes)
        self.dependency_overrides_provider = dependency_overrides_provider
        self.route_class = route_class
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.generate_unique_id_function = generate_unique_id_function
        self.strict_content_type = strict_content_type
        # Routes and included routers, in the order they were added.
        self._entries: list = []
        self._changes = 0
        self._flat: tuple | None = None

    # -- what is served ----------------------------------------------------------------

    @property
    def routes(self) -> list:
        """Every route this router serves, included routers' as served here (with their
        prefixes, tags, dependencies, ...), in the order they were added."""
        version = self._version()
        if self._flat is None or self._flat[0] != version:
            self._flat = (version, list(self._flatten(None, self.dependency_overrides_provider)))
        return self._flat[1]

    def _version(self) -> int:
        return self._changes + sum(e.router._version() for e in self._entries if isinstance(e, _IncludedRouter))

    def _flatten(self, context: _IncludeContext | None, provider):
        for entry in self._entries:
            if isinstance(entry, _IncludedRouter):
                child = entry.context if context is None else context.combine(entry.context)
                yield from entry.router._flatten(child, provider)
            elif context is None:
                yield entry
            elif isinstance(entry, Mount):
                # FastAPI's include_router takes routes, not mounts.
                continue
            else:
                yield context.route(entry, self, provider)

    def _contains_router(self, router: "APIRouter") -> bool:
        return any(
            isinstance(e, _IncludedRouter) and (e.router is router or e.router._contains_router(router))
            for e in self._entries
        )

    def url_path_for(self, name: str, /, **path_params) -> URLPath:
        """The path of the route named ``name`` with ``path_params`` filled in (the first
        route of that name with exactly those parameters); :class:`NoMatchFound` if none."""
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    # -- registration ------------------------------------------------------------------

    def add_api_route(
        self,
        path: str,
        endpoint,
        *,
        methods=None,
        name: str | None = None,
        status_code: int | None = None,
        blocking: bool | None = None,
        dependencies=None,
        tags=None,
        responses=None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        response_class=Default(JSONResponse),
        callbacks=None,
        route_class_override=None,
        **options,
    ) -> None:
        """Adds a route serving ``endpoint`` (see :meth:`api_route` for the options)."""
        if route_class_override is not None and route_class_override is not APIRoute:
            _refuse(f"{path}", "route_class_override", route_class_override, " (a custom route class)")
        if options.get("generate_unique_id_function") is None and self.generate_unique_id_function is not None:
            options["generate_unique_id_function"] = self.generate_unique_id_function
        route = APIRoute(
            self.prefix + path,
            endpoint,
            methods=methods,
            name=name,
            status_code=status_code,
            blocking=blocking,
            dependencies=[*self.dependencies, *(dependencies or [])],
            tags=[*self.tags, *(tags or [])],
            responses={**self.responses, **(responses or {})},
            deprecated=deprecated or self.deprecated,
            include_in_schema=include_in_schema and self.include_in_schema,
            response_class=_value_or_default(response_class, self.default_response_class),
            dependency_overrides_provider=self.dependency_overrides_provider,
            callbacks=[*self.callbacks, *(callbacks or [])] or None,
            **options,
        )
        self._entries.append(route)
        self._changes += 1

    def add_api_websocket_route(self, path: str, endpoint, name: str | None = None, *, dependencies=None) -> None:
        """Adds a WebSocket route serving ``endpoint`` (an ``async def`` taking a
        ``WebSocket``; see :mod:`fasterapi.websockets`)."""
        route = APIWebSocketRoute(
            self.prefix + path, endpoint, name=name,
            dependencies=[*self.dependencies, *(dependencies or [])],
            dependency_overrides_provider=self.dependency_overrides_provider,
        )
        self._entries.append(route)
        self._changes += 1

    def websocket(self, path: str, name: str | None = None, *, dependencies=None):
        """Decorator: a WebSocket route (see :meth:`add_api_websocket_route`)."""
        _check_dependencies(f"WEBSOCKET {path}", dependencies)

        def decorator(func):
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    def api_route(self, path: str, *, methods=None, **options):
        """A decorator adding a route for ``methods`` (default ``["GET"]``).

        Options: ``name`` (default: the endpoint's ``__name__``), ``status_code``,
        ``dependencies``, ``blocking`` (fasterapi's: where a ``def`` handler runs), and
        FastAPI's documentation options (``tags``, ``summary``, ``description``,
        ``responses``, ``deprecated``, ``operation_id``, ``include_in_schema``, ...),
        kept on the route. Options fasterapi does not implement yet raise
        ``NotImplementedError`` naming them."""

        # Options are checked now, as FastAPI's are, not when the handler comes.
        where = f"{'/'.join(methods or ['GET'])} {path}"
        _check_dependencies(where, options.get("dependencies"))
        _check_options(where, {k: v for k, v in options.items() if k not in _ADD_API_ROUTE_KEYWORDS and k not in _ROUTE_RESPONSE_OPTIONS},
                       _ROUTE_DOC_OPTIONS, _ROUTE_INERT_DEFAULTS)

        def decorator(func):
            self.add_api_route(path, func, methods=methods, **options)
            return func

        return decorator

    def get(self, path: str, **options):
        """Decorator: a ``GET`` route (the server answers ``HEAD`` with it too)."""
        return self.api_route(path, methods=["GET"], **options)

    def put(self, path: str, **options):
        """Decorator: a ``PUT`` route."""
        return self.api_route(path, methods=["PUT"], **options)

    def post(self, path: str, **options):
        """Decorator: a ``POST`` route."""
        return self.api_route(path, methods=["POST"], **options)

    def delete(self, path: str, **options):
        """Decorator: a ``DELETE`` route."""
        return self.api_route(path, methods=["DELETE"], **options)

    def options(self, path: str, **options):
        """Decorator: an ``OPTIONS`` route."""
        return self.api_route(path, methods=["OPTIONS"], **options)

    def head(self, path: str, **options):
        """Decorator: a ``HEAD`` route."""
        return self.api_route(path, methods=["HEAD"], **options)

    def patch(self, path: str, **options):
        """Decorator: a ``PATCH`` route."""
        return self.api_route(path, methods=["PATCH"], **options)

    def trace(self, path: str, **options):
        """Decorator: a ``TRACE`` route."""
        return self.api_route(path, methods=["TRACE"], **options)

    def include_router(
        self,
        router: "APIRouter",
        *,
        prefix: str = "",
        tags=None,
        dependencies=None,
        default_response_class=Default(JSONResponse),
        responses=None,
        callbacks=None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function=None,
    ) -> None:
        """Serves ``router``'s routes here, under ``prefix`` (which must start with
        ``/`` and not end with ``/``), with ``tags``, ``dependencies`` and ``responses``
        added to theirs (before them; a route's own responses win) and
        ``default_response_class`` for those that name none. The router is included by
        reference: routes added to it later are served too."""
        if not isinstance(router, APIRouter):
            raise TypeError(f"include_router takes an APIRouter, not {router!r}")
        if router is self:
            raise AssertionError(
                "Cannot include the same APIRouter instance into itself. Did you mean to "
                "include a different router?"
            )
        if router._contains_router(self):
            raise AssertionError(
                "Cannot include an APIRouter instance that already includes this router. "
                "Did you mean to include a different router?"
            )
        _check_prefix(prefix)
        _check_dependencies("include_router()", dependencies)
        if not prefix:
            for route in router.routes:
                if not route.path:
                    raise FastAPIError(f"Prefix and path cannot be both empty (path operation: {route.name})")
        context = _IncludeContext(
            prefix=self.prefix + prefix,
            tags=[*self.tags, *(tags or [])],
            dependencies=[*self.dependencies, *(dependencies or [])],
            default_response_class=_value_or_default(default_response_class, self.default_response_class),
            responses={**self.responses, **(responses or {})},
            deprecated=deprecated or self.deprecated,
            include_in_schema=self.include_in_schema and include_in_schema,
            generate_unique_id_function=_first_set(generate_unique_id_function, self.generate_unique_id_function),
            callbacks=[*self.callbacks, *(callbacks or [])],
        )
        self._entries.append(_IncludedRouter(router, context))
        self._changes += 1


    # -- Starlette's routes ------------------------------------------------------------

    def mount(self, path: str, app, name: str | None = None) -> None:
        """Serves ``app`` under ``path`` (Starlette's ``Router.mount``): a
        :class:`~fasterapi.staticfiles.StaticFiles` directory, served by the core;
        another application raises ``NotImplementedError``."""
        self._entries.append(Mount(self.prefix + path, app, name=name))
        self._changes += 1

    def add_route(self, path: str, endpoint, methods=None, name: str | None = None, include_in_schema: bool = True) -> None:
        """Starlette's route: ``endpoint(request)`` (a ``def`` or ``async def``) gets the
        :class:`Request` and returns a ``Response``; ``methods`` defaults to ``["GET"]``
        (``HEAD`` is answered by the ``GET`` route). An ASGI app or endpoint class is
        refused."""
        handler = _request_endpoint(path, endpoint)
        route = APIRoute(
            self.prefix + path, handler, methods=methods, name=get_name(endpoint) if name is None else name,
            include_in_schema=include_in_schema, response_class=Response,
        )
        self._entries.append(route)
        self._changes += 1

    def route(self, path: str, methods=None, name: str | None = None, include_in_schema: bool = True):
        """Decorator: :meth:`add_route` for the decorated function."""

        def decorator(func):
            self.add_route(path, func, methods=methods, name=name, include_in_schema=include_in_schema)
            return func

        return decorator


def _request_endpoint(path: str, endpoint):
    """The handler of a Starlette route: the endpoint called with the request."""
    from .requests import Request

    inner = endpoint
    while isinstance(inner, functools.partial):
        inner = inner.func
    if not (inspect.isfunction(inner) or inspect.ismethod(inner)):
        raise NotImplementedError(
            f"{path}: a Starlette route to {endpoint!r} (an ASGI app or an endpoint class) is "
            "not implemented by fasterapi yet; a function taking the request is"
        )
    if inspect.iscoroutinefunction(inner):

        async def handler(request: Request):
            return await endpoint(request)

    else:

        def handler(request: Request):
            return endpoint(request)

    # The annotation itself, not the name this module's `from __future__` would leave.
    handler.__annotations__ = {"request": Request}
    # Named as the endpoint, for logs (not functools.wraps: the signature read must be
    # the handler's own).
    handler.__name__ = getattr(endpoint, "__name__", handler.__name__)
    handler.__qualname__ = getattr(endpoint, "__qualname__", handler.__qualname__)
    handler.__doc__ = getattr(endpoint, "__doc__", None)
    # A Starlette route: not an operation of the OpenAPI document, as in FastAPI.
    handler.__fasterapi_starlette_route__ = True
    return handler


def _router_not_yet(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"APIRouter.{name} is not implemented by fasterapi yet (FastAPI has it; an app "
            "that uses it cannot run on fasterapi today)"
        )

    method.__name__ = name
    method.__doc__ = f"FastAPI's ``{name}``: not implemented yet; raises NotImplementedError."
    return method


for _name in (
    "websocket_route", "add_websocket_route",
    "host", "frontend", "on_event", "add_event_handler",
):
    setattr(APIRouter, _name, _router_not_yet(_name))
del _name


def _check_prefix(prefix: str) -> None:
    if not isinstance(prefix, str):
        raise TypeError(f"a path prefix is a str, not {prefix!r}")
    if prefix:
        if not prefix.startswith("/"):
            raise AssertionError("A path prefix must start with '/'")
        if prefix.endswith("/"):
            raise AssertionError("A path prefix must not end with '/', as the routes will start with '/'")


_NOT_YET = frozenset()
__getattr__ = _not_yet.refuse('fasterapi.routing', _NOT_YET)
