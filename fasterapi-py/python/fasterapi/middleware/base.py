"""``BaseHTTPMiddleware``: Starlette's base class of Python middleware
(``starlette.middleware.base``), run by fasterapi as described in
:mod:`fasterapi.middleware`."""

from __future__ import annotations


class BaseHTTPMiddleware:
    """Subclass it with ``async def dispatch(self, request, call_next)``, or give
    ``dispatch=`` (what ``@app.middleware("http")`` does). ``app`` is unused: the next
    layer is ``call_next``."""

    def __init__(self, app=None, dispatch=None) -> None:
        self.app = app
        self.dispatch_func = self.dispatch if dispatch is None else dispatch

    async def dispatch(self, request, call_next):
        raise NotImplementedError()  # pragma: no cover
