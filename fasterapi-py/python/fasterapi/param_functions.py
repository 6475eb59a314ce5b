"""FastAPI's parameter functions: ``fasterapi.param_functions`` as
``fastapi.param_functions``. Each returns the marker of :mod:`fasterapi.params` that
the signature compiler reads at registration; ``fasterapi.Query`` and the others are
these functions, as in FastAPI."""

from __future__ import annotations

import typing

from . import _not_yet, params


def Query(default: typing.Any = ..., **kwargs: typing.Any) -> typing.Any:  # noqa: N802
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
    return params.Query(default, **kwargs)


def Path(default: typing.Any = ..., **kwargs: typing.Any) -> typing.Any:  # noqa: N802
    """Marks a path parameter with constraints, as FastAPI's ``Path``
    (``item_id: int = Path(..., gt=0)``). Path parameters are always required. Same
    keywords as :func:`Query`."""
    return params.Path(default, **kwargs)


def Header(  # noqa: N802
    default: typing.Any = ..., *, convert_underscores: bool = True, **kwargs: typing.Any
) -> typing.Any:
    """Marks a request header parameter, as FastAPI's ``Header``
    (``x_token: str = Header(...)``, ``user_agent: Optional[str] = Header(None)``).

    The header's name is the parameter's with underscores turned into hyphens
    (``x_token`` reads ``X-Token``), unless ``convert_underscores=False`` or an
    ``alias`` is given; names are compared ignoring case. A header sent several times
    gives its first value, or every value to a list type (``List[str]``). Values are
    decoded as Latin-1, as HTTP defines. Same constraints as :func:`Query`.
    """
    return params.Header(default, convert_underscores=convert_underscores, **kwargs)


def Cookie(default: typing.Any = ..., **kwargs: typing.Any) -> typing.Any:  # noqa: N802
    """Marks a cookie parameter, as FastAPI's ``Cookie``
    (``session: Optional[str] = Cookie(None)``): the value of the cookie of that name
    (or ``alias``) in the request's ``Cookie`` header. Same constraints as
    :func:`Query`."""
    return params.Cookie(default, **kwargs)


def Body(default: typing.Any = ..., *, embed: bool | None = None, **kwargs: typing.Any) -> typing.Any:  # noqa: N802
    """Marks a parameter read from the JSON body, as FastAPI's ``Body``.

    ``payload: dict = Body(...)`` takes the whole body. Several body parameters, or
    ``embed=True`` on a single one, each take the body's key of their name (or
    ``alias``): ``name: str = Body(..., embed=True)`` reads ``{"name": "..."}``. A
    JSON ``null`` counts as absent. Any type works (``str``, ``int``, models,
    ``List[...]``); values and constraints are validated by pydantic when installed (in
    its lax mode, as FastAPI), by type and in Rust otherwise.
    """
    return params.Body(default, embed=embed, **kwargs)


_NOT_YET = frozenset({"Depends", "File", "Form", "Security"})
__getattr__ = _not_yet.refuse("fasterapi.param_functions", _NOT_YET)
