"""A fasterapi route as FastAPI's OpenAPI generation sees an ``APIRoute``: its
``dependant`` tree (path, query, header, cookie and body fields of the handler and its
dependencies, and the security schemes among them), its ``body_field``,
``response_field`` and ``response_fields``, as pydantic ``ModelField``s.

fasterapi compiles a route into the plan the server reads (``dependencies/utils.py``,
``graph.py``), which keeps nothing pydantic needs for a JSON schema; this module reads the
same signatures once more, when the schema is generated (once per app), with FastAPI's own
rules (``fastapi/dependencies/utils.py``: ``get_dependant``, ``analyze_param``,
``_get_body_field``), so that the schema is FastAPI's.
"""

# Ported from FastAPI 0.141.1 (fastapi/dependencies/models.py, fastapi/dependencies/utils.py,
# fastapi/routing.py, fastapi/utils.py), MIT License, Copyright (c) 2018 Sebastián Ramírez;
# see fasterapi/openapi/LICENSE-FastAPI.

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .. import params as fparams
from ..dependencies.utils import _signature
from ..exceptions import FastAPIError
from ..requests import Request
from ..responses import Response
from . import _params as params
from ._compat import (
    ModelField,
    PydanticSchemaGenerationError,
    Undefined,
    copy_field_info,
    create_body_model,
    field_annotation_is_scalar,
    field_annotation_is_scalar_sequence,
    get_cached_model_fields,
    is_scalar_field,
    is_uploadfile_or_nonable_uploadfile_annotation,
    is_uploadfile_sequence_annotation,
    lenient_issubclass,
)

RequiredParam = Undefined


# -- fastapi/dependencies/models.py ---------------------------------------------------------


@dataclass
class Dependant:
    path_params: list = field(default_factory=list)
    query_params: list = field(default_factory=list)
    header_params: list = field(default_factory=list)
    cookie_params: list = field(default_factory=list)
    body_params: list = field(default_factory=list)
    dependencies: list = field(default_factory=list)
    name: str | None = None
    call: Callable[..., Any] | None = None
    security_scopes_param_name: str | None = None
    own_oauth_scopes: list | None = None
    parent_oauth_scopes: list | None = None
    use_cache: bool = True
    path: str | None = None
    scope: str | None = None


def _impartial(func):
    while isinstance(func, functools.partial):
        func = func.func
    return func


def _unwrapped_call(call):
    if call is None:
        return call
    return inspect.unwrap(_impartial(call))


def _get_oauth_scopes(*, dependant: Dependant) -> list:
    scopes = dependant.parent_oauth_scopes.copy() if dependant.parent_oauth_scopes else []
    for scope in dependant.own_oauth_scopes or []:
        if scope not in scopes:
            scopes.append(scope)
    return scopes


def _is_security_scheme(*, dependant: Dependant) -> bool:
    from ..security.base import SecurityBase

    if dependant.call is None:
        return False
    return isinstance(_unwrapped_call(dependant.call), SecurityBase)


def _get_security_scheme(*, dependant: Dependant):
    return _unwrapped_call(dependant.call)


def _uses_scopes(*, dependant: Dependant, cache: dict | None = None) -> bool:
    if cache is None:
        cache = {}
    cached = cache.get(id(dependant))
    if cached is not None and cached[0] is dependant:
        return cached[1]
    if dependant.own_oauth_scopes or dependant.security_scopes_param_name is not None:
        result = True
    elif _is_security_scheme(dependant=dependant):
        result = True
    else:
        result = any(_uses_scopes(dependant=sub, cache=cache) for sub in dependant.dependencies)
    cache[id(dependant)] = (dependant, result)
    return result


def _is_gen(call) -> bool:
    from ..dependencies.graph import kind_of

    return call is not None and kind_of(call) in ("gen", "asyncgen")


def _get_computed_scope(*, dependant: Dependant) -> str | None:
    if dependant.scope:
        return dependant.scope
    if _is_gen(dependant.call):
        return "request"
    return None


def _get_cache_key(*, dependant: Dependant, uses_scopes_cache: dict | None = None) -> tuple:
    scopes_for_cache = (
        tuple(sorted(set(_get_oauth_scopes(dependant=dependant))))
        if _uses_scopes(dependant=dependant, cache=uses_scopes_cache)
        else ()
    )
    return (dependant.call, scopes_for_cache, _get_computed_scope(dependant=dependant) or "")


# -- fastapi/dependencies/utils.py ----------------------------------------------------------


def get_path_param_names(path: str) -> set:
    return set(re.findall("{(.*?)}", path))


def get_parameterless_sub_dependant(*, depends, path: str) -> Dependant:
    own_oauth_scopes: list = []
    if isinstance(depends, fparams.Security) and depends.scopes:
        own_oauth_scopes.extend(depends.scopes)
    return get_dependant(path=path, call=depends.dependency, scope=depends.scope, own_oauth_scopes=own_oauth_scopes)


def _get_flat_body_params(dependant: Dependant) -> list:
    body_params: list = []
    dependants = [dependant]
    while dependants:
        current = dependants.pop()
        body_params.extend(current.body_params)
        dependants.extend(reversed(current.dependencies))
    return body_params


def _get_flat_fields_from_params(fields: list) -> list:
    if not fields:
        return fields
    first_field = fields[0]
    if len(fields) == 1 and lenient_issubclass(first_field.field_info.annotation, BaseModel):
        return get_cached_model_fields(first_field.field_info.annotation)
    return fields


def get_flat_params(dependant: Dependant) -> list:
    path_params: list = []
    query_params: list = []
    header_params: list = []
    cookie_params: list = []
    visited: list = []
    uses_scopes_cache: dict = {}
    dependants = [dependant]
    while dependants:
        current = dependants.pop()
        cache_key = _get_cache_key(dependant=current, uses_scopes_cache=uses_scopes_cache)
        if cache_key in visited:
            continue
        visited.append(cache_key)
        path_params.extend(current.path_params)
        query_params.extend(current.query_params)
        header_params.extend(current.header_params)
        cookie_params.extend(current.cookie_params)
        dependants.extend(reversed(current.dependencies))
    return (
        _get_flat_fields_from_params(path_params)
        + _get_flat_fields_from_params(query_params)
        + _get_flat_fields_from_params(header_params)
        + _get_flat_fields_from_params(cookie_params)
    )


def get_dependant(
    *, path: str, call, name: str | None = None, own_oauth_scopes: list | None = None,
    parent_oauth_scopes: list | None = None, use_cache: bool = True, scope=None,
) -> Dependant:
    dependant = Dependant(
        call=call, name=name, path=path, use_cache=use_cache, scope=scope,
        own_oauth_scopes=own_oauth_scopes, parent_oauth_scopes=parent_oauth_scopes,
    )
    current_scopes = (parent_oauth_scopes or []) + (own_oauth_scopes or [])
    path_param_names = get_path_param_names(path)
    signature, hints = _signature(call)
    for param_name, param in signature.parameters.items():
        annotation = hints.get(param_name, param.annotation)
        if annotation is type(None):
            annotation = None
        details = analyze_param(
            param_name=param_name, annotation=annotation, value=param.default,
            is_path_param=param_name in path_param_names,
        )
        if details.depends is not None:
            sub_own: list = []
            if isinstance(details.depends, fparams.Security) and details.depends.scopes:
                sub_own = list(details.depends.scopes)
            dependant.dependencies.append(get_dependant(
                path=path, call=details.depends.dependency, name=param_name, own_oauth_scopes=sub_own,
                parent_oauth_scopes=current_scopes, use_cache=details.depends.use_cache,
                scope=details.depends.scope,
            ))
            continue
        if _is_non_field(details.type_annotation):
            if _is_security_scopes(details.type_annotation):
                dependant.security_scopes_param_name = param_name
            continue
        assert details.field is not None
        if isinstance(details.field.field_info, params.Body):
            dependant.body_params.append(details.field)
        else:
            add_param_to_fields(field=details.field, dependant=dependant)
    return dependant


def _is_security_scopes(annotation) -> bool:
    from ..security.oauth2 import SecurityScopes

    return lenient_issubclass(annotation, SecurityScopes)


def _non_field_classes() -> tuple:
    """The parameter types FastAPI fills itself (no OpenAPI parameter): the request, the
    temporal response, the security scopes, background tasks and WebSockets once
    fasterapi has them."""
    from .. import security

    classes = [Request, Response, security.SecurityScopes]
    for module, name in (("background", "BackgroundTasks"), ("websockets", "WebSocket")):
        try:
            imported = __import__(f"fasterapi.{module}", fromlist=[name])
            classes.append(getattr(imported, name))
        except (ImportError, AttributeError):
            pass
    return tuple(classes)


def _is_non_field(annotation) -> bool:
    return lenient_issubclass(annotation, _non_field_classes())


@dataclass
class ParamDetails:
    type_annotation: Any
    depends: Any
    field: ModelField | None


#: fasterapi's markers as FastAPI's FieldInfo classes.
_MARKERS = {
    "Path": params.Path, "Query": params.Query, "Header": params.Header, "Cookie": params.Cookie,
    "Body": params.Body, "Form": params.Form, "File": params.File,
}
_BY_LOCATION = {"path": params.Path, "query": params.Query, "header": params.Header,
                "cookie": params.Cookie, "body": params.Body, "form": params.Form}


def _field_info(marker: fparams.Param, default) -> FieldInfo:
    """FastAPI's marker for one of fasterapi's (``Query(max_length=3)`` and the rest)."""
    cls = _MARKERS.get(type(marker).__name__)
    if cls is None:
        cls = next((c for klass in type(marker).__mro__ if (c := _MARKERS.get(klass.__name__))), None)
    if cls is None:
        cls = _BY_LOCATION[marker.location]
    kwargs = dict(marker.given)
    if isinstance(marker, fparams.Header):
        kwargs["convert_underscores"] = marker.convert_underscores
    if isinstance(marker, fparams.Body) and cls is params.Body:
        kwargs["embed"] = marker.embed
    media_type = getattr(marker, "media_type", None)
    if isinstance(media_type, str) and issubclass(cls, params.Body):
        kwargs["media_type"] = media_type
    if cls is params.Path:
        default = ...
    import warnings

    with warnings.catch_warnings():
        # FastAPI warns of `example=`/`regex=` where the app declares them.
        warnings.simplefilter("ignore")
        return cls(default, **kwargs)


def _converted_annotation(annotation):
    """``Annotated[...]`` with fasterapi's markers in it replaced by FastAPI's."""
    base, *meta = get_args(annotation)
    meta = [_field_info(m, Undefined) if isinstance(m, fparams.Param) else m for m in meta]
    return Annotated[(base, *meta)]


def analyze_param(*, param_name: str, annotation: Any, value: Any, is_path_param: bool) -> ParamDetails:
    field_info = None
    depends = None
    type_annotation: Any = Any
    use_annotation: Any = Any
    if annotation is not inspect.Signature.empty:
        use_annotation = annotation
        type_annotation = annotation
    if get_origin(use_annotation) is Annotated:
        use_annotation = annotation = _converted_annotation(annotation)
        annotated_args = get_args(annotation)
        type_annotation = annotated_args[0]
        fastapi_annotations = [arg for arg in annotated_args[1:] if isinstance(arg, (FieldInfo, fparams.Depends))]
        specific = [arg for arg in fastapi_annotations if isinstance(arg, (params.Param, params.Body, fparams.Depends))]
        fastapi_annotation = specific[-1] if specific else None
        if isinstance(fastapi_annotation, FieldInfo):
            field_info = copy_field_info(field_info=fastapi_annotation, annotation=use_annotation)
            if value is not inspect.Signature.empty:
                field_info.default = value
            else:
                field_info.default = RequiredParam
        elif isinstance(fastapi_annotation, fparams.Depends):
            depends = fastapi_annotation
    if isinstance(value, fparams.Depends):
        depends = value
    elif isinstance(value, fparams.Param):
        field_info = _field_info(value, value.default if value.default is not ... else Undefined)
        field_info.annotation = type_annotation
    if depends is not None and depends.dependency is None:
        depends = dataclasses.replace(depends, dependency=type_annotation)
    if depends is None and _is_non_field(type_annotation):
        pass
    elif field_info is None and depends is None:
        default_value = value if value is not inspect.Signature.empty else RequiredParam
        if is_path_param:
            field_info = params.Path(annotation=use_annotation)
        elif is_uploadfile_or_nonable_uploadfile_annotation(type_annotation) or is_uploadfile_sequence_annotation(type_annotation):
            field_info = params.File(annotation=use_annotation, default=default_value)
        elif not field_annotation_is_scalar(annotation=type_annotation):
            field_info = params.Body(annotation=use_annotation, default=default_value)
        else:
            field_info = params.Query(annotation=use_annotation, default=default_value)

    model_field = None
    if field_info is not None:
        if isinstance(field_info, params.Param) and getattr(field_info, "in_", None) is None:
            field_info.in_ = params.ParamTypes.query
        if not field_info.alias and getattr(field_info, "convert_underscores", None):
            alias = param_name.replace("_", "-")
        else:
            alias = field_info.alias or param_name
        field_info.alias = alias
        model_field = create_model_field(
            name=param_name, type_=use_annotation, default=field_info.default, alias=alias, field_info=field_info,
        )
        if is_path_param:
            assert is_scalar_field(field=model_field), "Path params must be of one of the supported types"
        elif isinstance(field_info, params.Query):
            assert (
                is_scalar_field(model_field)
                or field_annotation_is_scalar_sequence(model_field.field_info.annotation)
                or lenient_issubclass(model_field.field_info.annotation, BaseModel)
            ), f"Query parameter {param_name!r} must be one of the supported types"
    return ParamDetails(type_annotation=type_annotation, depends=depends, field=model_field)


def add_param_to_fields(*, field: ModelField, dependant: Dependant) -> None:
    field_info_in = getattr(field.field_info, "in_", None)
    if field_info_in == params.ParamTypes.path:
        dependant.path_params.append(field)
    elif field_info_in == params.ParamTypes.query:
        dependant.query_params.append(field)
    elif field_info_in == params.ParamTypes.header:
        dependant.header_params.append(field)
    else:
        dependant.cookie_params.append(field)


def is_union_of_base_models(field_type: Any) -> bool:
    from ._compat import UnionType

    origin = get_origin(field_type)
    if origin is not typing.Union and origin is not UnionType:
        return False
    return all(lenient_issubclass(arg, BaseModel) for arg in get_args(field_type))


def _should_embed_body_fields(fields: list) -> bool:
    if not fields:
        return False
    if len({f.name for f in fields}) > 1:
        return True
    first_field = fields[0]
    if getattr(first_field.field_info, "embed", None):
        return True
    if (
        isinstance(first_field.field_info, params.Form)
        and not lenient_issubclass(first_field.field_info.annotation, BaseModel)
        and not is_union_of_base_models(first_field.field_info.annotation)
    ):
        return True
    return False


def _get_body_field(*, body_params: list, name: str, embed_body_fields: bool) -> ModelField | None:
    if not body_params:
        return None
    first_param = body_params[0]
    if not embed_body_fields:
        return first_param
    model_name = "Body_" + name
    body_model = create_body_model(fields=body_params, model_name=model_name)
    required = any(True for f in body_params if f.field_info.is_required())
    kwargs: dict = {"annotation": body_model, "alias": "body"}
    if not required:
        kwargs["default"] = None
    if any(isinstance(f.field_info, params.File) for f in body_params):
        body_field_info: type = params.File
    elif any(isinstance(f.field_info, params.Form) for f in body_params):
        body_field_info = params.Form
    else:
        body_field_info = params.Body
        media_types = [f.field_info.media_type for f in body_params if isinstance(f.field_info, params.Body)]
        if len(set(media_types)) == 1:
            kwargs["media_type"] = media_types[0]
    return create_model_field(name="body", type_=body_model, alias="body", field_info=body_field_info(**kwargs))


def get_validation_alias(field: ModelField) -> str:
    va = getattr(field, "validation_alias", None)
    return va or field.alias


# -- fastapi/utils.py -------------------------------------------------------------------------


def create_model_field(name: str, type_: Any, default: Any = Undefined, field_info: FieldInfo | None = None,
                       alias: str | None = None, mode: str = "validation") -> ModelField:
    field_info = field_info or FieldInfo(annotation=type_, default=default, alias=alias)
    try:
        return ModelField(mode=mode, name=name, field_info=field_info)
    except PydanticSchemaGenerationError:
        raise FastAPIError(
            f"Invalid args for response field! Hint: check that {type_} is a valid Pydantic field "
            "type. If you are using a return type annotation that is not a valid Pydantic field "
            "(e.g. Union[Response, dict, None]) you can disable generating the response model from "
            "the type annotation with the path operation decorator parameter response_model=None. "
            "Read more: https://fastapi.tiangolo.com/tutorial/response-model/"
        ) from None


def generate_unique_id(route) -> str:
    operation_id = f"{route.name}{route.path_format}"
    operation_id = re.sub(r"\W", "_", operation_id)
    return f"{operation_id}_{list(route.methods)[0].lower()}"


def is_body_allowed_for_status_code(status_code) -> bool:
    if status_code is None:
        return True
    if status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    current = int(status_code)
    return not (current < 200 or current in {204, 205, 304})


# -- fastapi/routing.py: what APIRoute derives for the schema ---------------------------------


def is_api_route(route) -> bool:
    """FastAPI documents its ``APIRoute``s, not Starlette's routes (``add_route``)."""
    from ..routing import APIRoute

    return isinstance(route, APIRoute) and not getattr(route.endpoint, "__fasterapi_starlette_route__", False)


class OpenAPIRoute:
    """What FastAPI's ``get_openapi`` reads of an ``APIRoute``, made from a fasterapi
    :class:`~fasterapi.routing.APIRoute`."""

    is_json_stream = False
    is_sse_stream = False
    stream_item_field = None

    def __init__(self, route):
        from ..routing import _DefaultPlaceholder, _return_annotation

        self.original = route
        self.path = route.path
        self.path_format = route.path_format
        self.endpoint = route.endpoint
        self.name = route.name
        self.methods = route.methods
        self.tags = route.tags
        self.summary = route.summary
        self.description = route.description
        self.response_description = route.response_description
        self.deprecated = route.deprecated
        self.operation_id = route.operation_id
        self.include_in_schema = route.include_in_schema
        self.response_class = route.response_class
        self.status_code = route.status_code
        self.responses = route.responses
        self.openapi_extra = route.openapi_extra
        self.callbacks = [OpenAPIRoute(c) for c in route.callbacks or () if is_api_route(c)] or None
        generate = route.generate_unique_id_function
        if isinstance(generate, _DefaultPlaceholder):
            generate = generate.value
        self.unique_id = route.operation_id or (generate or generate_unique_id)(self)
        self.response_fields = {}
        for code, response in self.responses.items():
            assert isinstance(response, dict), "An additional response must be a dict"
            model = response.get("model")
            if model:
                self.response_fields[code] = create_model_field(
                    name=f"Response_{code}_{self.unique_id}", type_=model, mode="serialization",
                )
        self.dependant = get_dependant(path=self.path_format, call=self.endpoint, scope="function")
        for depends in list(route.dependencies)[::-1]:
            self.dependant.dependencies.insert(0, get_parameterless_sub_dependant(depends=depends, path=self.path_format))
        body_params = _get_flat_body_params(self.dependant)
        self.body_field = _get_body_field(
            body_params=body_params, name=self.unique_id, embed_body_fields=_should_embed_body_fields(body_params),
        )
        response_model = route.response_model
        # Generator endpoints stream as JSON lines or server-sent events (FastAPI's
        # is_json_stream, is_sse_stream and stream item field).
        from .._streaming import stream_item_type as _stream_item_type
        from ..sse import EventSourceResponse, ServerSentEvent

        is_generator = inspect.isasyncgenfunction(self.endpoint) or inspect.isgeneratorfunction(self.endpoint)
        default_class = isinstance(route.response_class, _DefaultPlaceholder)
        response_class = route.response_class.value if default_class else route.response_class
        self.is_sse_stream = is_generator and lenient_issubclass(response_class, EventSourceResponse)
        self.is_json_stream = is_generator and default_class
        stream_item = None
        if isinstance(response_model, _DefaultPlaceholder):
            response_model = _return_annotation(self.endpoint)
            if lenient_issubclass(response_model, Response):
                response_model = None
            else:
                item = _stream_item_type(response_model)
                if item is not None and is_generator:
                    if (default_class or self.is_sse_stream) and not lenient_issubclass(item, ServerSentEvent):
                        stream_item = item
                    response_model = None
        if stream_item is not None:
            self.stream_item_field = create_model_field(
                name="StreamItem_" + self.unique_id, type_=stream_item, mode="serialization",
            )
        self.response_model = response_model
        if response_model:
            self.response_field = create_model_field(
                name="Response_" + self.unique_id, type_=response_model, mode="serialization",
            )
        else:
            self.response_field = None
