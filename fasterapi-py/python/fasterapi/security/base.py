"""What every security scheme is: ``fasterapi.security.base`` as ``fastapi.security.base``."""

from __future__ import annotations

import typing


class SchemeModel:
    """A scheme's description for the OpenAPI schema (FastAPI keeps a pydantic model of
    ``fastapi.openapi.models``; fasterapi serves no OpenAPI schema yet and keeps the same
    fields as attributes)."""

    def __init__(self, **fields: typing.Any):
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


class SecurityBase:
    """The base of security schemes: a dependency with a ``model`` and ``scheme_name``.

    A subclass whose ``__call__`` is the scheme's own is compiled into its
    ``_fasterapi_plain`` method (same checks, reading only what it needs); a subclass
    that overrides ``__call__`` is called as it is, with a ``Request``."""

    model: SchemeModel
    scheme_name: str

    #: ``(the __call__ it stands for, name of the method)`` on each scheme class.
    _fasterapi_plain: typing.ClassVar[typing.Optional[tuple]] = None


def plain_equivalent(call):
    """The plain method standing for ``call`` (a scheme whose ``__call__`` is its own),
    or ``call`` itself."""
    plain = getattr(type(call), "_fasterapi_plain", None)
    if plain is not None and isinstance(call, SecurityBase) and type(call).__call__ is plain[0]:
        return getattr(call, plain[1])
    return call
