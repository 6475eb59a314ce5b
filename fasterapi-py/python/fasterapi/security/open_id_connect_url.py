"""OpenID Connect: ``fasterapi.security.open_id_connect_url`` as
``fastapi.security.open_id_connect_url``."""

from __future__ import annotations

import typing

from ..exceptions import HTTPException
from ..param_functions import Header
from ..requests import Request
from .base import SchemeModel, SecurityBase


class OpenIdConnect(SecurityBase):
    """OpenID Connect: the dependency gives the ``Authorization`` header as it is; a
    missing one answers 401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, *, openIdConnectUrl: str, scheme_name: str | None = None, description: str | None = None, auto_error: bool = True):  # noqa: N803
        self.model = SchemeModel(type="openIdConnect", openIdConnectUrl=openIdConnectUrl, description=description)
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


OpenIdConnect._from_header.__annotations__ = {
    "authorization": typing.Annotated[typing.Optional[str], Header(alias="authorization")]
}
OpenIdConnect._fasterapi_plain = (OpenIdConnect.__call__, "_from_header")
