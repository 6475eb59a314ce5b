"""OAuth2: ``fasterapi.security.oauth2`` as ``fastapi.security.oauth2``."""

from __future__ import annotations

import typing

from ..exceptions import HTTPException
from ..param_functions import Form, Header
from ..requests import Request
from .base import SchemeModel, SecurityBase
from .utils import get_authorization_scheme_param


class OAuth2PasswordRequestForm:
    """The form of OAuth2's password flow, as a dependency (``form_data:
    OAuth2PasswordRequestForm = Depends()``): ``username``, ``password``, ``scope`` (a
    space-separated string, split into ``scopes``), ``grant_type`` (``password`` if
    given), ``client_id``, ``client_secret``, read from an url-encoded form body."""

    def __init__(
        self,
        *,
        grant_type: typing.Annotated[typing.Union[str, None], Form(pattern="^password$")] = None,
        username: typing.Annotated[str, Form()],
        password: typing.Annotated[str, Form(json_schema_extra={"format": "password"})],
        scope: typing.Annotated[str, Form()] = "",
        client_id: typing.Annotated[typing.Union[str, None], Form()] = None,
        client_secret: typing.Annotated[typing.Union[str, None], Form(json_schema_extra={"format": "password"})] = None,
    ):
        self.grant_type = grant_type
        self.username = username
        self.password = password
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


class OAuth2PasswordRequestFormStrict(OAuth2PasswordRequestForm):
    """:class:`OAuth2PasswordRequestForm` with ``grant_type`` required (``password``)."""

    def __init__(
        self,
        grant_type: typing.Annotated[str, Form(pattern="^password$")],
        username: typing.Annotated[str, Form()],
        password: typing.Annotated[str, Form(json_schema_extra={"format": "password"})],
        scope: typing.Annotated[str, Form()] = "",
        client_id: typing.Annotated[typing.Union[str, None], Form()] = None,
        client_secret: typing.Annotated[typing.Union[str, None], Form(json_schema_extra={"format": "password"})] = None,
    ):
        super().__init__(
            grant_type=grant_type, username=username, password=password, scope=scope,
            client_id=client_id, client_secret=client_secret,
        )


_AUTHORIZATION = typing.Annotated[typing.Optional[str], Header(alias="authorization")]


class OAuth2(SecurityBase):
    """OAuth2 with the given ``flows``: the dependency gives the ``Authorization`` header
    as it is; a missing one answers 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, *, flows=None, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):
        self.model = SchemeModel(type="oauth2", flows=flows if flows is not None else {}, description=description)
        self.scheme_name = scheme_name or self.__class__.__name__
        self.auto_error = auto_error

    def make_not_authenticated_error(self) -> HTTPException:
        """FastAPI's 401 ``Not authenticated`` with ``WWW-Authenticate: Bearer``."""
        return HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})

    async def __call__(self, request: Request) -> str | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        if not authorization:
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return authorization


class OAuth2PasswordBearer(OAuth2):
    """OAuth2's password flow with a bearer token (``tokenUrl`` is where clients get one):
    the dependency gives the token of ``Authorization: Bearer <token>``; a missing header
    or another scheme answers 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, tokenUrl: str, scheme_name: str | None = None, scopes: dict[str, str] | None = None,  # noqa: N803
                 description: str | None = None, auto_error: bool = True, refreshUrl: str | None = None):  # noqa: N803
        flows = {"password": {"tokenUrl": tokenUrl, "refreshUrl": refreshUrl, "scopes": scopes or {}}}
        super().__init__(flows=flows, scheme_name=scheme_name, description=description, auto_error=auto_error)

    async def __call__(self, request: Request) -> str | None:
        return self._from_header(request.headers.get("Authorization"))

    def _from_header(self, authorization=None):
        scheme, param = get_authorization_scheme_param(authorization)
        if not authorization or scheme.lower() != "bearer":
            if self.auto_error:
                raise self.make_not_authenticated_error()
            return None
        return param


class OAuth2AuthorizationCodeBearer(OAuth2):
    """OAuth2's authorization code flow with a bearer token: as
    :class:`OAuth2PasswordBearer`."""

    def __init__(self, authorizationUrl: str, tokenUrl: str, refreshUrl: str | None = None,  # noqa: N803
                 scheme_name: str | None = None, scopes: dict[str, str] | None = None,
                 description: str | None = None, auto_error: bool = True):
        flows = {"authorizationCode": {"authorizationUrl": authorizationUrl, "tokenUrl": tokenUrl,
                                       "refreshUrl": refreshUrl, "scopes": scopes or {}}}
        super().__init__(flows=flows, scheme_name=scheme_name, description=description, auto_error=auto_error)

    async def __call__(self, request: Request) -> str | None:
        return self._from_header(request.headers.get("Authorization"))

    _from_header = OAuth2PasswordBearer._from_header


class SecurityScopes:
    """What a parameter annotated ``SecurityScopes`` receives: the OAuth2 scopes that
    ``Security(..., scopes=[...])`` declared on the dependency and on those depending on
    it (``scopes``, a list, and ``scope_str``, space-separated)."""

    def __init__(self, scopes: list[str] | None = None):
        self.scopes: list[str] = scopes or []
        self.scope_str: str = " ".join(self.scopes)


for _cls in (OAuth2, OAuth2PasswordBearer, OAuth2AuthorizationCodeBearer):
    if "_from_header" in _cls.__dict__ and _cls is not OAuth2AuthorizationCodeBearer:
        _cls._from_header.__annotations__ = {"authorization": _AUTHORIZATION}
    _cls._fasterapi_plain = (_cls.__call__, "_from_header")
del _cls
