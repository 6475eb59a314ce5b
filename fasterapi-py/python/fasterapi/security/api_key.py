"""API keys in a query parameter, a header or a cookie: ``fasterapi.security.api_key`` as
``fastapi.security.api_key``."""

from __future__ import annotations

import http.cookies
import typing

from ..exceptions import HTTPException
from ..param_functions import Cookie, Header, Query
from ..requests import Request
from .base import SchemeModel, SecurityBase


class APIKeyBase(SecurityBase):
    """An API key read from one place (``location``: ``query``, ``header``, ``cookie``)."""

    def __init__(self, location: str, name: str, description: str | None, scheme_name: str | None, auto_error: bool):
        self.auto_error = auto_error
        self.model = SchemeModel(type="apiKey", **{"in": location}, name=name, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__

    def make_not_authenticated_error(self) -> HTTPException:
        """FastAPI's answer without a key: 401 with the custom challenge ``APIKey`` (HTTP
        requires a ``WWW-Authenticate`` header on a 401)."""
        return HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "APIKey"})

    def check_api_key(self, api_key: str | None) -> str | None:
        """The key, or the 401 (``None`` with ``auto_error=False``) when it is missing or empty."""
        if not api_key:
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return api_key


class APIKeyQuery(APIKeyBase):
    """An API key in the query parameter ``name``: the dependency gives the key."""

    def __init__(self, *, name: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        super().__init__(location="query", name=name, scheme_name=scheme_name, description=description, auto_error=auto_error)
        self._plain = _plain_reader(self, Query)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request.query_params.get(self.model.name))


class APIKeyHeader(APIKeyBase):
    """An API key in the header ``name``: the dependency gives the key."""

    def __init__(self, *, name: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        super().__init__(location="header", name=name, scheme_name=scheme_name, description=description, auto_error=auto_error)
        self._plain = _plain_reader(self, Header)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request.headers.get(self.model.name))


class APIKeyCookie(APIKeyBase):
    """An API key in the cookie ``name``: the dependency gives the key."""

    def __init__(self, *, name: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        super().__init__(location="cookie", name=name, scheme_name=scheme_name, description=description, auto_error=auto_error)
        self._plain = _plain_reader(self, Cookie)

    async def __call__(self, request: Request) -> str | None:
        return self.check_api_key(request_cookies(request).get(self.model.name))


def _plain_reader(scheme: APIKeyBase, marker) -> typing.Callable:
    """A function reading the scheme's key where it is (``marker``: Query, Header,
    Cookie, aliased to the key's name) and checking it."""

    def read(api_key=None):
        return scheme.check_api_key(api_key)

    read.__annotations__ = {"api_key": typing.Annotated[typing.Optional[str], marker(alias=scheme.model.name)]}
    read.__qualname__ = f"{type(scheme).__name__}({scheme.model.name!r})"
    return read


def request_cookies(request) -> dict:
    """The request's cookies (Starlette's ``cookie_parser`` of its ``Cookie`` header)."""
    cookies = getattr(request, "cookies", None)
    if cookies is not None:
        return cookies
    out = {}
    for chunk in (request.headers.get("cookie") or "").split(";"):
        key, _, value = chunk.partition("=") if "=" in chunk else ("", "", chunk)
        key, value = key.strip(), value.strip()
        if key or value:
            out[key] = http.cookies._unquote(value)
    return out


for _cls in (APIKeyQuery, APIKeyHeader, APIKeyCookie):
    _cls._fasterapi_plain = (_cls.__call__, "_plain")
del _cls
