"""``CORSMiddleware`` (``fastapi.middleware.cors``, ``starlette.middleware.cors``),
answered by the server in Rust (``fasterapi_http::cors``) with Starlette's semantics: a
preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) to any
path is answered ``200 OK`` or ``400 Disallowed CORS ...`` without entering Python; other
responses get the ``Access-Control-*`` headers their ``Origin`` calls for and
``Vary: Origin``. ``allow_origin_regex`` is compiled by Rust's ``regex`` (the usual
patterns; no look-around or back-references: refused when added)."""

from __future__ import annotations

from collections.abc import Collection

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}


class CORSMiddleware:
    def __init__(
        self,
        app=None,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.options = {
            "allow_origins": [str(o) for o in allow_origins],
            "allow_methods": [str(m) for m in allow_methods],
            "allow_headers": [str(h) for h in allow_headers],
            "allow_credentials": bool(allow_credentials),
            "allow_origin_regex": None if allow_origin_regex is None else str(allow_origin_regex),
            "allow_private_network": bool(allow_private_network),
            "expose_headers": [str(h) for h in expose_headers],
            "max_age": int(max_age),
        }
        if self.options["max_age"] < 0:
            raise ValueError("max_age must be at least 0")
        # Checked now (the regex compiles in Rust), not at the first request.
        from .. import _fasterapi

        _fasterapi._check_middleware([self._layer()])

    def _layer(self):
        return ("cors", dict(self.options))
