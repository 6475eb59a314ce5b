"""A handler's signature compiled, once per route, into the plan the Rust side reads per
request (FastAPI's ``dependencies/utils.py`` analyses signatures the same way): a list
of ``ParamSpec``, naming a ``Source`` and a ``Conv``, the classes fasterapi-py/src/plan.rs
defines and exports."""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import functools
import inspect
import operator
import re
import types
import typing

from .._fasterapi import Conv, ParamSpec, Source
from ..datastructures import UploadFile
from ..params import _NUMBER_CONSTRAINTS, _STRING_CONSTRAINTS, Depends, Param
from ..background import BackgroundTasks
from ..requests import Request
from ..responses import Response


_PATH_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)\}")


try:  # pydantic is optional: models and typed containers are validated when installed
    import pydantic as _pydantic

    _ValidationError = _pydantic.ValidationError
except ImportError:  # tests/app_no_pydantic.py runs this way
    _pydantic = None
    _ValidationError = None


def _validate(adapter):
    """``adapter.validate_python``: the server calls it with a value, and again with
    ``from_attributes=True`` when it fails, for FastAPI's errors (FastAPI validates so;
    request values have no attributes, so the same ones pass either way)."""
    return adapter.validate_python


def _unwrap_optional(ann):
    """``(inner, optional)`` for ``Optional[X]`` / ``X | None``; ``(ann, False)`` otherwise."""
    origin = typing.get_origin(ann)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return ann, False


def _is_model(ann) -> bool:
    return (
        _pydantic is not None
        and isinstance(ann, type)
        and issubclass(ann, _pydantic.BaseModel)
    )


_SCALARS = {str: Conv.STR, int: Conv.INT, float: Conv.FLOAT, bool: Conv.BOOL}


def _scalar_conv(name: str, ann):
    """``(conv, validator)`` for a path or query parameter annotated ``ann``."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any:
        return Conv.STR, None
    if ann in _SCALARS:
        return _SCALARS[ann], None
    if _pydantic is not None:
        # Enums, Literal, UUID, dates, constrained types: pydantic converts the string.
        try:
            return Conv.VALIDATOR, _validate(_pydantic.TypeAdapter(ann))
        except Exception as e:
            raise TypeError(f"parameter {name!r}: unsupported type {ann!r}: {e}") from e
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return Conv.VALIDATOR, ann  # Color("red"); a ValueError is a 422
    if isinstance(ann, type) and issubclass(ann, str):
        return Conv.STR, None
    raise TypeError(f"parameter {name!r}: unsupported type {ann!r} for a path or query parameter")


def _is_complex(ann) -> bool:
    """Whether FastAPI reads an unmarked parameter annotated ``ann`` from the body (its
    ``field_annotation_is_complex``): a model, a mapping, a sequence (not ``str`` or
    ``bytes``), a dataclass, a type with its own pydantic schema, or a union holding
    one of them."""
    origin = typing.get_origin(ann)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(_is_complex(a) for a in typing.get_args(ann))
    if origin is typing.Annotated:
        return _is_complex(typing.get_args(ann)[0])

    def complex_class(t) -> bool:
        if dataclasses.is_dataclass(t):
            return True
        if not isinstance(t, type) or issubclass(t, (str, bytes)):
            return False
        kinds = (collections.abc.Mapping, list, tuple, set, frozenset, collections.deque, collections.abc.Sequence)
        return issubclass(t, kinds) or _is_model(t)

    return (
        complex_class(ann)
        or complex_class(origin)
        or hasattr(origin, "__pydantic_core_schema__")
        or hasattr(origin, "__get_pydantic_core_schema__")
    )


def _body_conv(ann):
    """``(conv, validator)`` for a body parameter, or ``None`` if ``ann`` is no body type
    (see :func:`_is_complex`). A plain ``dict`` or ``list`` is checked in Rust; other
    types are validated by pydantic (typed containers, sets, unions of models...)."""
    if _is_model(ann):
        return Conv.VALIDATOR, _validate(_pydantic.TypeAdapter(ann))
    origin = typing.get_origin(ann) or ann
    if origin in (dict, list) and (_pydantic is None or not typing.get_args(ann)):
        return (Conv.DICT if origin is dict else Conv.LIST), None
    if _pydantic is None or not _is_complex(ann):
        return None
    return Conv.VALIDATOR, _validate(_pydantic.TypeAdapter(ann))


def _split_annotated(ann):
    """``(type, marker, metadata)`` of ``Annotated[type, ...]``: the last parameter marker
    in it and the other metadata; ``(ann, None, [])`` for any other annotation."""
    if typing.get_origin(ann) is not typing.Annotated:
        return ann, None, []
    base, *meta = typing.get_args(ann)
    # The last of FastAPI's markers wins, as in FastAPI.
    markers = [m for m in meta if isinstance(m, (Param, Depends))]
    # Plain strings document; other metadata (pydantic's Field, annotated_types' Gt,
    # validators) is for pydantic.
    others = [m for m in meta if not isinstance(m, (Param, Depends, str))]
    return base, (markers[-1] if markers else None), others


def _pydantic_validator(name: str, ann, constraints: dict, metadata: list):
    """``validate_python`` of a pydantic ``TypeAdapter`` for ``ann`` with the constraints
    and ``Annotated`` metadata."""
    if _pydantic is None:
        raise TypeError(f"parameter {name!r}: {sorted(constraints) or metadata} on {ann!r} needs pydantic")
    if ann is inspect.Parameter.empty:
        ann = typing.Any
    metadata = [*metadata, _pydantic.Field(**constraints)] if constraints else metadata
    try:
        adapter = _pydantic.TypeAdapter(typing.Annotated[(ann, *metadata)] if metadata else ann)
    except Exception as e:
        raise TypeError(f"parameter {name!r}: unsupported type or constraints {ann!r} {constraints}: {e}") from e
    return _validate(adapter)


def _native_constraints(name: str, ann, constraints: dict):
    """The constraints Rust checks, normalised (bounds of an ``int`` are ints, of a
    ``float`` floats; a compiled pattern), or ``None`` if pydantic must check them."""
    if not constraints:
        return {}
    if ann in (int, float):
        allowed = _NUMBER_CONSTRAINTS
    elif ann in (str, inspect.Parameter.empty, typing.Any, None):
        allowed = _STRING_CONSTRAINTS
    else:
        return None
    if any(k not in allowed for k in constraints):
        return None
    out = {}
    for key, value in constraints.items():
        if key == "pattern":
            try:
                out[key] = (str(value), re.compile(value).search)
            except re.error as e:
                raise TypeError(f"parameter {name!r}: bad pattern {value!r}: {e}") from e
        elif key in _STRING_CONSTRAINTS:
            out[key] = operator.index(value)
        elif ann is int:
            # As pydantic: a bound of an int must be a whole number.
            try:
                whole = int(value)
            except (TypeError, ValueError, OverflowError):
                whole = None
            if whole is None or whole != value:
                raise TypeError(f"parameter {name!r}: {key}={value!r} is not an integer")
            out[key] = whole
        else:
            out[key] = float(value)
    return out


def _value_conv(name: str, ann, marker, metadata: list):
    """``(conv, validator, constraints, multi)`` for a path, query, header or cookie
    parameter."""
    constraints = marker.constraints if marker is not None else {}
    origin = typing.get_origin(ann) or ann
    if origin in (list, set, frozenset, tuple, collections.abc.Sequence):
        if marker is None or marker.location not in ("query", "header", "form"):
            raise TypeError(f"parameter {name!r}: a list type is read from the body, or from the query, headers or a form with Query()/Header()/Form()")
        args = typing.get_args(ann)
        item = args[0] if args else str
        if origin in (list, collections.abc.Sequence) and item in _SCALARS and not constraints and not metadata:
            return _SCALARS[item], None, None, True
        return Conv.VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, True
    if _body_conv(ann) is not None:
        raise TypeError(f"parameter {name!r}: {ann!r} is read from the body (Body()), not from the {marker.location}")
    if metadata and _pydantic is not None:
        return Conv.VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, False
    native = _native_constraints(name, ann, constraints)
    if native is None:
        return Conv.VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None, False
    conv, validator = _scalar_conv(name, ann)
    if native and validator is not None:
        # A str subclass (an enum without pydantic) with string constraints.
        raise TypeError(f"parameter {name!r}: constraints on {ann!r} need pydantic")
    return conv, validator, native or None, False


def _marked_body_conv(name: str, ann, marker, metadata: list):
    """``(conv, validator, constraints)`` for a parameter marked ``Body()``."""
    constraints = marker.constraints
    if ann in (inspect.Parameter.empty, typing.Any, None) and not constraints and not metadata:
        return Conv.ANY, None, None
    if _pydantic is not None:
        if not constraints and not metadata:
            body = _body_conv(ann)
            if body is not None:
                return body[0], body[1], None
        # Scalars too: pydantic's lax mode, as FastAPI validates body values.
        return Conv.VALIDATOR, _pydantic_validator(name, ann, constraints, metadata), None
    body = _body_conv(ann)
    if body is not None:
        if constraints:
            _pydantic_validator(name, ann, constraints, metadata)  # raises: needs pydantic
        return body[0], body[1], None
    native = _native_constraints(name, ann, constraints)
    if native is None:
        _pydantic_validator(name, ann, constraints, metadata)  # raises: needs pydantic
    conv, validator = _scalar_conv(name, ann)
    return conv, validator, native or None


class SubDependency(typing.NamedTuple):
    """A parameter whose value a dependency gives (``x = Depends(f)``)."""

    #: The marker, its ``dependency`` filled in from the annotation when it had none.
    depends: Depends


#: A parameter annotated ``SecurityScopes``: the scopes of its dependency and parents.
SECURITY_SCOPES = object()


def _is_websocket(cls) -> bool:
    """Whether ``cls`` is :class:`fasterapi.websockets.WebSocket` (or a subclass): a
    parameter annotated with it receives the WebSocket (a route's request object)."""
    from ..websockets import WebSocket

    return issubclass(cls, WebSocket)


def _signature(call):
    """``(signature, type hints)`` of any callable a route or dependency may be: a
    function, a class (its ``__init__``), an instance with ``__call__``, a partial."""
    try:
        sig = inspect.signature(call)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{call!r} is not a callable whose signature can be read: {e}") from e
    target = call
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.isclass(target):
        target = target.__init__
    elif not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
        target = type(target).__call__
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:
        try:
            evaluated = inspect.signature(call, eval_str=True)
            hints = {n: p.annotation for n, p in evaluated.parameters.items()}
        except Exception:
            hints = {}
    return sig, hints


def _qualname(call) -> str:
    return getattr(call, "__qualname__", None) or getattr(type(call), "__qualname__", repr(call))


def _analyze(call, path_names: set, path: str) -> list:
    """Each parameter of ``call`` as ``(name, kind, item)``: ``kind`` is the
    ``inspect.Parameter`` kind (keyword-only parameters are passed by name); ``item``
    is the ``dict`` of a ``ParamSpec`` (a body one with ``source`` ``Source.BODY``, to be
    settled by the caller), a :class:`SubDependency`, or :data:`SECURITY_SCOPES`."""
    from ..security.oauth2 import SecurityScopes

    qualname = _qualname(call)
    sig, hints = _signature(call)
    items = []
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{qualname}: *args and **kwargs are not supported")
        full = hints.get(name, p.annotation)
        ann, marker, metadata = _split_annotated(full)
        default = p.default
        if _foreign_marker(default):
            raise NotImplementedError(
                f"{qualname}: parameter {name!r} defaults to {type(default).__module__}."
                f"{type(default).__qualname__}, which fasterapi does not implement yet; it "
                "would otherwise be taken for a plain default value (for fastapi.Depends, a "
                "query parameter a client could set: import Depends from fasterapi)"
            )
        for item in getattr(full, "__metadata__", ()):
            if _foreign_marker(item):
                raise NotImplementedError(
                    f"{qualname}: parameter {name!r} is annotated with "
                    f"{type(item).__module__}.{type(item).__qualname__}, which fasterapi "
                    "does not implement yet"
                )
        if isinstance(default, Depends) or isinstance(marker, Depends):
            if isinstance(default, Depends) and marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r} has a marker both in Annotated and as its default")
            depends = default if isinstance(default, Depends) else marker
            if depends.dependency is None:
                if ann is inspect.Parameter.empty:
                    raise TypeError(f"{qualname}: parameter {name!r}: Depends() without a dependency needs an annotation (a class)")
                depends = dataclasses.replace(depends, dependency=ann)
            if not callable(depends.dependency):
                raise TypeError(f"{qualname}: parameter {name!r}: the dependency {depends.dependency!r} is not callable")
            items.append((name, p.kind, SubDependency(depends)))
            continue
        if isinstance(default, Param):
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r} has a marker both in Annotated and as its default")
            marker = default
            default = marker.default
        elif marker is not None and marker.default is not ...:
            raise TypeError(
                f"{qualname}: parameter {name!r}: {type(marker).__name__}() in Annotated takes no default; set it with `=`"
            )
        if default is p.empty:
            default = ...
        required = default is ...
        if required:
            default = None
        inner, _optional = _unwrap_optional(ann)
        if isinstance(inner, type) and (issubclass(inner, Request) or _is_websocket(inner)):
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r}: a Request takes no {type(marker).__name__}()")
            items.append((name, p.kind, dict(name=name, source=Source.REQUEST, conv=Conv.ANY, key=name, required=False)))
            continue
        if isinstance(inner, type) and issubclass(inner, Response):
            # FastAPI's temporal response: its status, headers and cookies are merged
            # into the response the route sends.
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r}: a Response takes no {type(marker).__name__}()")
            items.append((name, p.kind, dict(name=name, source=Source.RESPONSE, conv=Conv.ANY, key=name, required=False)))
            continue
        if isinstance(inner, type) and issubclass(inner, BackgroundTasks):
            # One per request, shared by the dependencies and the handler; run after
            # the response.
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r}: BackgroundTasks takes no {type(marker).__name__}()")
            items.append((name, p.kind, dict(name=name, source=Source.BACKGROUND, conv=Conv.ANY, key=name, required=False)))
            continue
        if isinstance(inner, type) and issubclass(inner, SecurityScopes):
            if marker is not None:
                raise TypeError(f"{qualname}: parameter {name!r}: SecurityScopes takes no {type(marker).__name__}()")
            items.append((name, p.kind, SECURITY_SCOPES))
            continue
        location = marker.location if marker is not None else None
        upload = _upload_conv(inner)
        if location is None and upload is not None and upload[0] == Conv.UPLOAD:
            # As FastAPI: an UploadFile (or a list of them) is a File() without the marker.
            location = "form"
        if name in path_names and location not in (None, "path"):
            raise TypeError(f"{qualname}: {name!r} is a path parameter; mark it Path(), not {type(marker).__name__}()")
        if location is None:
            if name in path_names:
                location = "path"
            elif _body_conv(inner) is not None:
                location = "body"
            else:
                location = "query"
        key = marker.alias if marker is not None and marker.alias else name
        if location == "header" and not marker.alias and marker.convert_underscores:
            key = name.replace("_", "-")
        if location == "body":
            embed = False
            if marker is None:
                conv, validator = _body_conv(inner)
                constraints = None
                if metadata and _pydantic is not None:
                    conv, validator = Conv.VALIDATOR, _pydantic_validator(name, inner, {}, metadata)
            else:
                conv, validator, constraints = _marked_body_conv(name, inner, marker, metadata)
                embed = bool(marker.embed)
            entry = dict(name=name, source=Source.BODY, conv=conv, key=key, required=required, default=default,
                         validator=validator, constraints=constraints)
            if embed:
                entry["embed"] = True
        else:
            if location == "form" and upload is not None:
                conv, multi = upload
                if marker is not None and marker.constraints:
                    raise TypeError(f"{qualname}: parameter {name!r}: an uploaded file takes no constraints")
                items.append((name, p.kind, dict(name=name, source=Source.FORM, conv=conv, key=key, required=required,
                                                 default=default, multi=multi)))
                continue
            if location in ("query", "header", "cookie", "form") and _is_model(ann):
                items.append((name, p.kind, _model_group(qualname, name, ann, marker, metadata)))
                continue
            conv, validator, constraints, multi = _value_conv(name, inner, marker, metadata)
            source = {"path": Source.PATH, "query": Source.QUERY, "header": Source.HEADER,
                      "cookie": Source.COOKIE, "form": Source.FORM}[location]
            if source == Source.PATH:
                if key not in path_names:
                    raise TypeError(f"{qualname}: path parameter {key!r} is not in the path {path!r}")
                required, default = True, None
            entry = dict(name=name, source=source, conv=conv, key=key, required=required, default=default,
                         validator=validator, multi=multi, constraints=constraints)
        items.append((name, p.kind, entry))
    _check_model_groups(qualname, [item for _, _, item in items if isinstance(item, dict)])
    return items


def settle_body(entries: list, where: str) -> None:
    """Sets the source of the body entries of one route (its handler's and its
    dependencies'): the whole body for a single one, the body's key of each name when
    there are several names or one is ``Body(embed=True)``, as FastAPI embeds. Form
    fields are always read by key; form and JSON fields in one route are refused."""
    body = [e for e in entries if e["source"] in (Source.BODY, Source.BODY_FIELD)]
    form = [e for e in entries if e["source"] == Source.FORM]
    if body and form:
        raise NotImplementedError(
            f"{where}: JSON body parameters ({', '.join(sorted({e['name'] for e in body}))}) and "
            f"form fields ({', '.join(sorted({e['name'] for e in form}))}) in one route: FastAPI "
            "then reads the body parameters from the form, which fasterapi does not implement"
        )
    embed = len({e["name"] for e in body}) > 1 or any(e.get("embed") for e in body)
    for e in body:
        e.pop("embed", None)
        if embed:
            e["source"] = Source.BODY_FIELD


def _compile(func, path: str) -> list | None:
    """The plan of a handler without dependencies: one ``ParamSpec`` per parameter
    (fasterapi-py/src/plan.rs defines its fields: ``key`` is the name looked up, an alias
    or a header name; ``multi`` takes every value of a repeated query parameter, header
    or form field as a list; ``constraints`` is ``None`` or a dict of the bounds, lengths
    and pattern Rust checks; ``keyword`` passes a keyword-only parameter by name).
    ``None`` when the handler has dependencies (or a ``SecurityScopes`` parameter): its
    plan is a dependency graph's (``dependencies/graph.py``)."""
    path_names = set(_PATH_PARAM.findall(path))
    items = _analyze(func, path_names, path)
    if any(not isinstance(item, dict) for _, _, item in items):
        return None
    plan = []
    for _, kind, item in items:
        # Keyword-only parameters (after `*`) are passed by name, the others by position.
        item["keyword"] = kind is inspect.Parameter.KEYWORD_ONLY
        plan.append(item)
    missing = path_names - {e["key"] for e in plan if e["source"] == Source.PATH}
    if missing:
        raise TypeError(f"{_qualname(func)}: path parameters {sorted(missing)} are not in the signature")
    settle_body(plan, _qualname(func))
    return [ParamSpec(**e) for e in plan]


_GROUP_SOURCES = {"query": Source.QUERY, "header": Source.HEADER, "cookie": Source.COOKIE, "form": Source.FORM}


def _upload_conv(ann):
    """``(conv, multi)`` for a form value annotated ``ann`` (optional unwrapped) that is an
    uploaded file or its content: ``UploadFile`` or ``bytes``, or a list of them; else
    ``None``."""
    def one(t):
        if isinstance(t, type) and issubclass(t, UploadFile):
            return Conv.UPLOAD
        if t is bytes:
            return Conv.BYTES
        return None

    conv = one(ann)
    if conv is not None:
        return conv, False
    origin = typing.get_origin(ann)
    if origin in (list, collections.abc.Sequence, tuple, set, frozenset):
        args = [a for a in typing.get_args(ann) if a is not Ellipsis]
        if len(args) == 1:
            item, _ = _unwrap_optional(args[0])
            conv = one(item)
            if conv is not None:
                return conv, True
    return None


def _is_sequence(ann) -> bool:
    """Whether FastAPI reads every value of a repeated parameter for a field annotated
    ``ann`` (its ``field_annotation_is_sequence``): a list, tuple, set, frozenset, deque
    or ``Sequence``, also inside ``Optional``/``Union``/``Annotated``."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _is_sequence(typing.get_args(ann)[0])
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        return any(_is_sequence(a) for a in typing.get_args(ann))
    kinds = (list, tuple, set, frozenset, collections.deque, collections.abc.Sequence)
    for t in (ann, origin):
        if isinstance(t, type) and issubclass(t, kinds) and not issubclass(t, (str, bytes)):
            return True
    return False


def _model_group(qualname: str, name: str, model, marker, metadata: list) -> dict:
    """The plan entry of a pydantic model read as a group of query parameters, headers
    or cookies (``filters: Filters = Query()``, FastAPI's parameter models): each field
    is looked up under its validation alias or name (for headers with
    ``convert_underscores``, a name's ``_`` as ``-``), every value for a sequence field;
    the values and every other parameter of that source are validated by the model
    together, so ``extra="forbid"`` refuses unknown ones."""
    kind = type(marker).__name__
    if marker.constraints or metadata:
        raise TypeError(
            f"{qualname}: parameter {name!r}: {kind}() with a model takes no constraints; "
            "declare them on the model's fields"
        )
    source = _GROUP_SOURCES[marker.location]
    convert = source == Source.HEADER and marker.convert_underscores
    fields = []
    for field_name, info in model.model_fields.items():
        va = info.validation_alias
        key = va if isinstance(va, str) and va else (info.alias or field_name)
        lookup = key.replace("_", "-") if convert and key == field_name else key
        required = info.is_required()
        # A default_factory is left to the model; FastAPI calls it itself, to the same value.
        default = None if required or info.default_factory is not None else info.default
        fields.append(ParamSpec(
            name=key, source=source, conv=Conv.ANY, key=lookup, required=required, default=default,
            multi=source != Source.COOKIE and _is_sequence(info.annotation),
        ))
    return dict(name=name, source=source, conv=Conv.VALIDATOR, key=name, required=True,
                validator=_validate(_pydantic.TypeAdapter(model)), fields=fields)


def _check_model_groups(qualname: str, plan: list) -> None:
    """FastAPI reads a model as a group of parameters only when it is its handler's sole
    parameter of that source; beside others it would be looked up as one value under its
    own name, which no request can fill: refused."""
    for location, source in _GROUP_SOURCES.items():
        entries = [e for e in plan if e["source"] == source]
        groups = [e["name"] for e in entries if e.get("fields") is not None]
        if groups and len(entries) > 1:
            others = [e["name"] for e in entries if e["name"] not in groups]
            raise TypeError(
                f"{qualname}: parameter {groups[0]!r} is a model of {location} parameters beside "
                f"other {location} parameters ({', '.join(repr(o) for o in others or groups[1:])}); "
                "FastAPI reads a model's fields only when it is the sole one: put them in the model"
            )


def _foreign_marker(default) -> bool:
    """Whether a parameter default is an object of FastAPI's or Starlette's own (a
    ``fastapi.Depends``, say), which fasterapi would otherwise take for a plain default."""
    module = getattr(type(default), "__module__", "") or ""
    return module.split(".", 1)[0] in ("fastapi", "starlette")


def _validation_detail(exc, loc_prefix):
    """FastAPI's 422 ``detail`` list for a pydantic ``ValidationError``."""
    out = []
    for err in exc.errors(include_url=False):
        item = {
            "type": err.get("type"),
            "loc": list(loc_prefix) + list(err.get("loc", ())),
            "msg": err.get("msg"),
            "input": err.get("input"),
        }
        if err.get("ctx"):
            # As pydantic gives it (an exception, a Decimal bound): the JSON writer encodes
            # it as FastAPI's jsonable_encoder does (an exception is {}, a Decimal a number).
            item["ctx"] = err["ctx"]
        out.append(item)
    return out
