"""``fasterapi.security.utils`` as ``fastapi.security.utils``."""

from __future__ import annotations


def get_authorization_scheme_param(authorization_header_value: str | None) -> tuple[str, str]:
    """``("Bearer", "token")`` for ``"Bearer token"``; ``("", "")`` for nothing."""
    if not authorization_header_value:
        return "", ""
    scheme, _, param = authorization_header_value.partition(" ")
    return scheme, param.strip()
