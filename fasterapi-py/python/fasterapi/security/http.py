"""HTTP authentication (Basic, Bearer, Digest): ``fasterapi.security.http`` as
``fastapi.security.http``."""

from __future__ import annotations

import binascii
import typing
from base64 import b64decode

from ..exceptions import HTTPException
from ..param_functions import Header
from ..requests import Request
from .base import SchemeModel, SecurityBase
from .utils import get_authorization_scheme_param

try:
    from pydantic import BaseModel as _Model
except ImportError:  # pragma: no cover - pydantic is optional
    _Model = None

if _Model is not None:

    class HTTPBasicCredentials(_Model):
        """The ``username`` and ``password`` of HTTP Basic authentication."""

        username: str
        password: str

    class HTTPAuthorizationCredentials(_Model):
        """The ``scheme`` (``Bearer``...) and ``credentials`` of an ``Authorization`` header."""

        scheme: str
        credentials: str

else:

    class HTTPBasicCredentials:  # type: ignore[no-redef]
        """The ``username`` and ``password`` of HTTP Basic authentication."""

        def __init__(self, *, username: str, password: str):
            self.username, self.password = username, password

    class HTTPAuthorizationCredentials:  # type: ignore[no-redef]
        """The ``scheme`` (``Bearer``...) and ``credentials`` of an ``Authorization`` header."""

        def __init__(self, *, scheme: str, credentials: str):
            self.scheme, self.credentials = scheme, credentials


#: The plain methods' parameter: the ``Authorization`` header.
_AUTHORIZATION = typing.Annotated[typing.Optional[str], Header(alias="authorization")]


class HTTPBase(SecurityBase):
    """An HTTP authentication scheme read from the ``Authorization`` header."""

    def __init__(self, *, scheme: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        self.model = SchemeModel(type="http", scheme=scheme, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        """The ``WWW-Authenticate`` challenge of a 401."""
        return {"WWW-Authenticate": f"{self.model.scheme.title()}"}

    def make_not_authenticated_error(self) -> HTTPException:
        """FastAPI's 401 ``Not authenticated`` with the scheme's challenge."""
        return HTTPException(status_code=401, detail="Not authenticated", headers=self.make_authenticate_headers())

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials):
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


class HTTPBasic(HTTPBase):
    """HTTP Basic authentication: the dependency gives :class:`HTTPBasicCredentials`; a
    missing or malformed header answers 401 with ``WWW-Authenticate: Basic`` (with the
    ``realm`` if given)."""

    def __init__(self, *, scheme_name: str | None = None, realm: str | None = None, description: str | None = None, auto_error: bool = True):
        self.model = SchemeModel(type="http", scheme="basic", description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.realm = realm
        self.auto_error = auto_error

    def make_authenticate_headers(self) -> dict[str, str]:
        if self.realm:
            return {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
        return {"WWW-Authenticate": "Basic"}

    async def __call__(self, request: Request) -> HTTPBasicCredentials | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "basic":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        try:
            data = b64decode(param).decode("ascii")
        except (ValueError, UnicodeDecodeError, binascii.Error) as e:
            raise self.make_not_authenticated_error() from e
        username, separator, password = data.partition(":")
        if not separator:
            raise self.make_not_authenticated_error()
        return HTTPBasicCredentials(username=username, password=password)


class HTTPBearer(HTTPBase):
    """A bearer token: the dependency gives :class:`HTTPAuthorizationCredentials`; a
    missing header or another scheme answers 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, *, bearerFormat: str | None = None, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):  # noqa: N803
        self.model = SchemeModel(type="http", scheme="bearer", bearerFormat=bearerFormat, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials):
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        if scheme.lower() != "bearer":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


class HTTPDigest(HTTPBase):
    """HTTP Digest authentication's header, unchecked (as FastAPI): the dependency gives
    :class:`HTTPAuthorizationCredentials`."""

    def __init__(self, *, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        self.model = SchemeModel(type="http", scheme="digest", description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        scheme, credentials = get_authorization_scheme_param(authorization)
        if not (authorization and scheme and credentials):
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        if scheme.lower() != "digest":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials)


for _cls in (HTTPBase, HTTPBasic, HTTPBearer, HTTPDigest):
    _cls._from_header.__annotations__ = {"authorization": _AUTHORIZATION}
    _cls._fasterapi_plain = (_cls.__call__, "_from_header")
del _cls
