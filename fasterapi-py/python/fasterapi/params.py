"""The parameter markers: ``fasterapi.params`` as ``fastapi.params``."""

from __future__ import annotations

import typing


# ---------------------------------------------------------------------------------------
# Parameter markers: FastAPI's Query(), Path(), Header(), Cookie() and Body().

# Keywords that only document a parameter (FastAPI puts them into the OpenAPI schema):
# accepted and ignored.
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


class _Param:
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


class Query(_Param):
    """Marks a query parameter, as FastAPI's ``Query``::

        def search(q: Optional[str] = Query(None, max_length=50),
                   limit: int = Query(10, ge=1, le=100),
                   tags: List[str] = Query([])):     # ?tags=a&tags=b

    ``default``: ``...`` (or none given) makes the parameter required. ``alias``: the
    name in the query string (``Query(alias="item-query")``), also named by ``loc`` in a
    422. Constraints: ``gt``/``ge``/``lt``/``le`` for numbers, ``min_length``/
    ``max_length``/``pattern`` (a regex searched in the value; ``regex`` is its old name)
    for strings, checked in Rust; ``multiple_of``, ``strict``, ``allow_inf_nan``,
    ``max_digits`` and ``decimal_places`` are left to pydantic. A list type takes every
    value of a repeated parameter. Documentation keywords (``title``, ``description``,
    ``examples``, ``deprecated``, ...) are accepted and ignored.
    """

    location = "query"


class Path(_Param):
    """Marks a path parameter with constraints, as FastAPI's ``Path``
    (``item_id: int = Path(..., gt=0)``). Path parameters are always required. Same
    keywords as :class:`Query`."""

    location = "path"


class Header(_Param):
    """Marks a request header parameter, as FastAPI's ``Header``
    (``x_token: str = Header(...)``, ``user_agent: Optional[str] = Header(None)``).

    The header's name is the parameter's with underscores turned into hyphens
    (``x_token`` reads ``X-Token``), unless ``convert_underscores=False`` or an
    ``alias`` is given; names are compared ignoring case. A header sent several times
    gives its first value, or every value to a list type (``List[str]``). Values are
    decoded as Latin-1, as HTTP defines. Same constraints as :class:`Query`.
    """

    location = "header"

    def __init__(self, default: typing.Any = ..., *, convert_underscores: bool = True, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.convert_underscores = convert_underscores


class Cookie(_Param):
    """Marks a cookie parameter, as FastAPI's ``Cookie``
    (``session: Optional[str] = Cookie(None)``): the value of the cookie of that name
    (or ``alias``) in the request's ``Cookie`` header. Same constraints as
    :class:`Query`."""

    location = "cookie"


class Body(_Param):
    """Marks a parameter read from the JSON body, as FastAPI's ``Body``.

    ``payload: dict = Body(...)`` takes the whole body. Several body parameters, or
    ``embed=True`` on a single one, each take the body's key of their name (or
    ``alias``): ``name: str = Body(..., embed=True)`` reads ``{"name": "..."}``. A
    JSON ``null`` counts as absent. Any type works (``str``, ``int``, models,
    ``List[...]``); values and constraints are validated by pydantic when installed (in
    its lax mode, as FastAPI), by type and in Rust otherwise.
    """

    location = "body"

    def __init__(self, default: typing.Any = ..., *, embed: bool | None = None, **kwargs: typing.Any):
        super().__init__(default, **kwargs)
        self.embed = embed
