"""The parameter markers: ``fasterapi.params`` as ``fastapi.params``.

Handlers use the functions of :mod:`fasterapi.param_functions` (``fasterapi.Query``,
``fasterapi.Path``, ...), which return these; the signature compiler
(``dependencies/utils.py``) reads them at registration."""

from __future__ import annotations

import dataclasses
import typing

from . import _not_yet


# Keywords that only document a parameter: kept in ``given`` for the OpenAPI schema.
_DOC_KEYWORDS = frozenset(
    {
        "title",
        "description",
        "examples",
        "example",
        "openapi_examples",
        "deprecated",
        "include_in_schema",
        "json_schema_extra",
        "alias_priority",
        "serialization_alias",
        "media_type",
    }
)
# Validation keywords checked in Rust for ``int``/``float`` (bounds) and ``str`` values.
_NUMBER_CONSTRAINTS = ("gt", "ge", "lt", "le")
_STRING_CONSTRAINTS = ("min_length", "max_length", "pattern")
# Validation keywords only pydantic checks.
_PYDANTIC_CONSTRAINTS = ("multiple_of", "strict", "allow_inf_nan", "max_digits", "decimal_places")


class Param:
    """What the parameter markers share: a default (``...`` or none: required), an
    ``alias`` and validation constraints."""

    #: Where the value comes from: "path", "query", "header", "cookie" or "body".
    location = ""

    def __init__(
        self,
        default: typing.Any = ...,
        *,
        alias: str | None = None,
        validation_alias: str | None = None,
        gt: typing.Any = None,
        ge: typing.Any = None,
        lt: typing.Any = None,
        le: typing.Any = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        default_factory: typing.Any = None,
        **extra: typing.Any,
    ):
        if default_factory is not None:
            raise TypeError(f"{type(self).__name__}(default_factory=...) is not supported; give a default")
        #: The keywords given, as given: the OpenAPI schema is made of them (openapi/_route.py).
        self.given = {k: v for k, v in dict(
            alias=alias, validation_alias=validation_alias, gt=gt, ge=ge, lt=lt, le=le,
            min_length=min_length, max_length=max_length, pattern=pattern, regex=regex, **extra,
        ).items() if v is not None}
        if pattern is not None and regex is not None:
            raise TypeError(f"{type(self).__name__}: give pattern= or its old name regex=, not both")
        self.default = default
        if alias is None and isinstance(validation_alias, str):
            alias = validation_alias
        self.alias = alias
        constraints = {
            "gt": gt,
            "ge": ge,
            "lt": lt,
            "le": le,
            "min_length": min_length,
            "max_length": max_length,
            "pattern": regex if pattern is None else pattern,
        }
        for key in _PYDANTIC_CONSTRAINTS:
            constraints[key] = extra.pop(key, None)
        #: The validation constraints given (those not ``None``).
        self.constraints = {k: v for k, v in constraints.items() if v is not None}
        # Documentation keywords (and FastAPI's deprecated **extra) are ignored.
        self.extra = {k: v for k, v in extra.items() if k not in _DOC_KEYWORDS}

    def __repr__(self) -> str:
        args = [] if self.default is ... else [repr(self.default)]
        if self.alias is not None:
            args.append(f"alias={self.alias!r}")
        args += [f"{k}={v!r}" for k, v in self.constraints.items()]
        return f"{type(self).__name__}({', '.join(args)})"


class Query(Param):
    """A query parameter: what :func:`fasterapi.Query` returns."""

    location = "query"


class Path(Param):
    """A path parameter: what :func:`fasterapi.Path` returns."""

    location = "path"


class Header(Param):
    """A request header: what :func:`fasterapi.Header` returns."""

    location = "header"

    def __init__(self, default: typing.Any = ..., *, convert_underscores: bool = True, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(Param):
    """A cookie: what :func:`fasterapi.Cookie` returns."""

    location = "cookie"


class Body(Param):
    """A value of the JSON body: what :func:`fasterapi.Body` returns."""

    location = "body"

    def __init__(self, default: typing.Any = ..., *, embed: bool | None = None, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.embed = embed


class Form(Body):
    """A field of an ``application/x-www-form-urlencoded`` or ``multipart/form-data``
    body: what :func:`fasterapi.Form` returns. ``media_type`` only documents (both kinds
    of body are read whatever it says, as in FastAPI)."""

    location = "form"

    def __init__(self, default: typing.Any = ..., *, media_type: str = "application/x-www-form-urlencoded", **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.media_type = media_type


class File(Form):
    """An uploaded file of a ``multipart/form-data`` body: what :func:`fasterapi.File`
    returns."""

    def __init__(self, default: typing.Any = ..., *, media_type: str = "multipart/form-data", **kwargs: typing.Any):
        super().__init__(default, media_type=media_type, **kwargs)


@dataclasses.dataclass(frozen=True)
class Depends:
    """A dependency: what :func:`fasterapi.Depends` returns, as FastAPI's
    ``params.Depends``. ``dependency`` ``None`` means the parameter's annotation (a class)."""

    dependency: typing.Optional[typing.Callable[..., typing.Any]] = None
    use_cache: bool = True
    scope: typing.Optional[typing.Literal["function", "request"]] = None


@dataclasses.dataclass(frozen=True)
class Security(Depends):
    """A dependency with OAuth2 scopes: what :func:`fasterapi.Security` returns."""

    scopes: typing.Optional[typing.Sequence[str]] = None


_NOT_YET = frozenset({"ParamTypes"})
__getattr__ = _not_yet.refuse("fasterapi.params", _NOT_YET)
