"""``HTTPSRedirectMiddleware`` (``fastapi.middleware.httpsredirect``), run by the server
in Rust: every request is answered ``307`` to the same URL with ``https://`` (the port
dropped when it is 80 or 443), ``400 Invalid host header`` without a ``Host``.

fasterapi serves plain HTTP, so every request it sees counts as ``http``. Behind a
proxy that terminates TLS and forwards ``https`` requests as plain HTTP, this middleware
would redirect those too, in a loop: there, let the proxy redirect instead (fasterapi
does not read ``X-Forwarded-Proto``, as Starlette does not without uvicorn's
``--proxy-headers``)."""

from __future__ import annotations


class HTTPSRedirectMiddleware:
    def __init__(self, app=None) -> None:
        self.app = app

    def _layer(self):
        return ("httpsredirect",)
