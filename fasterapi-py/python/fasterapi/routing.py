"""Route registration: ``fasterapi.routing`` as ``fastapi.routing``.

FastAPI's ``APIRouter`` belongs here; fasterapi does not implement it yet (importing it
raises ``ImportError`` naming it, see ``_NOT_YET``)."""

from __future__ import annotations

import functools
import inspect
import typing

from . import _not_yet
from ._fasterapi import RouteSpec
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
    "tags", "summary", "description", "response_description", "responses", "deprecated",
    "operation_id", "include_in_schema", "name", "callbacks", "openapi_extra",
    "generate_unique_id_function",
}
#: Route options that change behaviour, with the value that changes nothing (FastAPI's
#: default): any other value is refused until fasterapi implements the option.
_ROUTE_INERT_DEFAULTS = {
    "dependencies": None,
}
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


def _response_validation_error(exc, body) -> ResponseValidationError:
    """FastAPI's ``ResponseValidationError`` for pydantic's ``ValidationError`` of what a
    handler returned: its errors with ``loc`` starting at ``"response"``."""
    errors = [{**err, "loc": ("response", *err.get("loc", ()))} for err in exc.errors(include_url=False)]
    return ResponseValidationError(errors, body=body)


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
        raise NotImplementedError(
            f"{where}: a generator handler (streamed as JSON lines or server-sent events in "
            "FastAPI) is not implemented by fasterapi yet"
        )
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
    dump_options = {
        "include": opts["response_model_include"],
        "exclude": opts["response_model_exclude"],
        "by_alias": bool(opts["response_model_by_alias"]),
        "exclude_unset": bool(opts["response_model_exclude_unset"]),
        "exclude_defaults": bool(opts["response_model_exclude_defaults"]),
        "exclude_none": bool(opts["response_model_exclude_none"]),
    }
    # As FastAPI, a response model with the default class (the app's, if it set one) is
    # sent as pydantic's JSON; JSONResponse encodes as that or the plain path does.
    if response_class is JSONResponse or (default_class and field is not None):
        if field is None:
            return plan
        validator, serializer = field.validator, field.serializer
        if isinstance(validator, _pydantic_core.SchemaValidator):
            validate = functools.partial(validator.validate_python, from_attributes=True)
        else:  # a plugin's validator, or one deferred
            validate = functools.partial(field.validate_python, from_attributes=True)
        if isinstance(serializer, _pydantic_core.SchemaSerializer):
            serialize = functools.partial(serializer.to_json, **dump_options)
        else:
            serialize = functools.partial(field.dump_json, **dump_options)
        return {**plan, "validate": validate, "serialize": serialize}

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
    **response_options: typing.Any,
) -> RouteSpec:
    """The route that serves ``method`` requests to ``path`` with ``func``, its signature
    compiled into the plan the server reads per request (see
    :meth:`fasterapi.FasterAPI.add_route` for ``blocking``).

    ``response_options`` are FastAPI's: ``response_model`` (unset: the return
    annotation, unless it is a ``Response`` class; ``None``: no model),
    ``response_class``, ``response_model_include``/``_exclude``/``_by_alias``/
    ``_exclude_unset``/``_exclude_defaults``/``_exclude_none``."""
    where = f"{method.upper()} {path}"
    plan = _compile(func, path)
    response = _response_plan(where, func, status_code, response_options)
    is_async = inspect.iscoroutinefunction(func)
    if blocking is not None and not isinstance(blocking, bool):
        raise TypeError(f"{method} {path}: blocking must be True, False or None, not {blocking!r}")
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


_NOT_YET = frozenset({'APIRoute', 'APIRouter', 'APIWebSocketRoute'})
__getattr__ = _not_yet.refuse('fasterapi.routing', _NOT_YET)
