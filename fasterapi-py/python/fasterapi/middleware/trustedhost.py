"""``TrustedHostMiddleware`` (``fastapi.middleware.trustedhost``), run by the server in
Rust with Starlette's semantics: a request whose ``Host`` is not allowed is answered
``400 Invalid host header`` (``*.example.com`` allows the subdomains; with
``www_redirect``, ``example.com`` is redirected to an allowed ``www.example.com``)."""

from __future__ import annotations

from collections.abc import Sequence

ENFORCE_DOMAIN_WILDCARD = "Domain wildcard patterns must be like '*.example.com'."


class TrustedHostMiddleware:
    def __init__(self, app=None, allowed_hosts: Sequence[str] | None = None, www_redirect: bool = True) -> None:
        if allowed_hosts is None:
            allowed_hosts = ["*"]
        for pattern in allowed_hosts:
            assert "*" not in pattern[1:], ENFORCE_DOMAIN_WILDCARD
            if pattern.startswith("*") and pattern != "*":
                assert pattern.startswith("*."), ENFORCE_DOMAIN_WILDCARD
        self.app = app
        self.allowed_hosts = [pattern.lower() for pattern in allowed_hosts]
        self.allow_any = "*" in allowed_hosts
        self.www_redirect = www_redirect

    def _layer(self):
        return ("trustedhost", list(self.allowed_hosts), bool(self.www_redirect))
