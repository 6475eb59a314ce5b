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


def Form(default: typing.Any = ..., **kwargs: typing.Any) -> typing.Any:  # noqa: N802
    """Marks a field of a form body, as FastAPI's ``Form`` (``username: str = Form()``):
    the value of that key (or ``alias``) in an ``application/x-www-form-urlencoded`` or
    ``multipart/form-data`` body, converted and checked as a query parameter is; an empty
    value counts as absent, as in FastAPI; a list type takes every value of a repeated
    key. A pydantic model marked ``Form()`` takes its fields from the form (FastAPI's form
    models). A body of another content type has no form fields (so required ones are
    missing: 422). A malformed multipart body, or one past Starlette's limits (1000
    fields, 1000 files, 1 MiB per field) is answered 400 with Starlette's detail. Same
    keywords as :func:`Query`."""
    return params.Form(default, **kwargs)


def File(default: typing.Any = ..., **kwargs: typing.Any) -> typing.Any:  # noqa: N802
    """Marks an uploaded file of a ``multipart/form-data`` body, as FastAPI's ``File``:
    ``file: UploadFile`` (no marker needed) receives an :class:`fasterapi.UploadFile`,
    ``data: bytes = File()`` the file's content, ``files: list[UploadFile]`` every file of
    that field. The server reads the body part by part; files over 1 MiB go to an unnamed
    temporary file. Same keywords as :func:`Form`."""
    return params.File(default, **kwargs)


def Depends(  # noqa: N802
    dependency: typing.Optional[typing.Callable[..., typing.Any]] = None,
    *,
    use_cache: bool = True,
    scope: typing.Optional[typing.Literal["function", "request"]] = None,
) -> typing.Any:
    """Declares a dependency, as FastAPI's ``Depends``: the parameter receives what
    ``dependency`` returns (or yields), called with its own parameters read from the
    request (query, path, headers, cookies, body, other dependencies...).

        def common(q: str | None = None, limit: int = 100):
            return {"q": q, "limit": limit}

        @app.get("/items")
        def items(commons: dict = Depends(common)): ...

    ``dependency`` may be a function (``def``/``async def``), a generator with one
    ``yield`` (its code after the ``yield`` runs after the response is sent, or, with
    ``scope="function"``, before it), a class (its instance) or a callable instance.
    Without it the parameter's annotation is the dependency (``x: Cls = Depends()``).
    Within one request a dependency is called once and its value shared, unless
    ``use_cache=False``. The graph of a route is resolved once, at registration.
    """
    if scope not in (None, "function", "request"):
        raise ValueError(f"Depends(scope={scope!r}): scope is 'function', 'request' or None")
    return params.Depends(dependency=dependency, use_cache=use_cache, scope=scope)


def Security(  # noqa: N802
    dependency: typing.Optional[typing.Callable[..., typing.Any]] = None,
    *,
    scopes: typing.Optional[typing.Sequence[str]] = None,
    use_cache: bool = True,
) -> typing.Any:
    """A dependency with OAuth2 ``scopes``, as FastAPI's ``Security``: the scopes of a
    dependency and of its parents reach a ``SecurityScopes`` parameter of it or of its
    sub-dependencies."""
    return params.Security(dependency=dependency, scopes=scopes, use_cache=use_cache)


_NOT_YET = frozenset()
__getattr__ = _not_yet.refuse("fasterapi.param_functions", _NOT_YET)
