"""Security schemes: ``fasterapi.security`` as ``fastapi.security``.

Each scheme is a dependency (``Depends(oauth2_scheme)``) that reads the credentials of a
request and answers FastAPI's ``401 Not authenticated`` with its ``WWW-Authenticate``
challenge when they are missing (``auto_error=False``: the dependency gives ``None``
instead). Their ``async def __call__(request)`` is FastAPI's, for code that calls or
subclasses them; a route that uses a scheme as it is reads the one header, query
parameter or cookie it needs in Rust and checks it with a plain function, so the scheme
costs no ``Request`` object and keeps a ``def`` route's graph synchronous.
"""

from .api_key import APIKeyCookie as APIKeyCookie
from .api_key import APIKeyHeader as APIKeyHeader
from .api_key import APIKeyQuery as APIKeyQuery
from .base import SecurityBase as SecurityBase
from .http import HTTPAuthorizationCredentials as HTTPAuthorizationCredentials
from .http import HTTPBasic as HTTPBasic
from .http import HTTPBasicCredentials as HTTPBasicCredentials
from .http import HTTPBearer as HTTPBearer
from .http import HTTPDigest as HTTPDigest
from .oauth2 import OAuth2 as OAuth2
from .oauth2 import OAuth2AuthorizationCodeBearer as OAuth2AuthorizationCodeBearer
from .oauth2 import OAuth2PasswordBearer as OAuth2PasswordBearer
from .oauth2 import OAuth2PasswordRequestForm as OAuth2PasswordRequestForm
from .oauth2 import OAuth2PasswordRequestFormStrict as OAuth2PasswordRequestFormStrict
from .oauth2 import SecurityScopes as SecurityScopes
from .open_id_connect_url import OpenIdConnect as OpenIdConnect

__all__ = [
    "APIKeyCookie", "APIKeyHeader", "APIKeyQuery", "HTTPAuthorizationCredentials", "HTTPBasic",
    "HTTPBasicCredentials", "HTTPBearer", "HTTPDigest", "OAuth2", "OAuth2AuthorizationCodeBearer",
    "OAuth2PasswordBearer", "OAuth2PasswordRequestForm", "OAuth2PasswordRequestFormStrict",
    "OpenIdConnect", "SecurityBase", "SecurityScopes",
]
