"""Route registration: ``fasterapi.routing`` as ``fastapi.routing``.

FastAPI's ``APIRouter`` belongs here; fasterapi does not implement it yet (importing it
raises ``ImportError`` naming it, see ``_NOT_YET``)."""

from __future__ import annotations

import inspect

from . import _not_yet
from ._fasterapi import RouteSpec
from .dependencies.utils import _compile


#: Route options that only document the route (kept for the OpenAPI schema to come).
_ROUTE_DOC_OPTIONS = {
    "tags", "summary", "description", "response_description", "responses", "deprecated",
    "operation_id", "include_in_schema", "name", "callbacks", "openapi_extra",
    "generate_unique_id_function",
}
#: Route options that change behaviour, with the value that changes nothing (FastAPI's
#: default): any other value is refused until fasterapi implements the option.
_ROUTE_INERT_DEFAULTS = {
    "response_model": None,
    "dependencies": None,
    "response_class": None,
    "response_model_include": None,
    "response_model_exclude": None,
    "response_model_by_alias": True,
    "response_model_exclude_unset": False,
    "response_model_exclude_defaults": False,
    "response_model_exclude_none": False,
}


def _check_options(where: str, given: dict, documentation: set, inert: dict) -> dict:
    """Keeps the documentation-only options; refuses, naming it, any option fasterapi
    does not implement unless it has the value that changes nothing."""
    kept = {}
    for key, value in given.items():
        if key in documentation:
            kept[key] = value
        elif key in inert:
            default = inert[key]
            if not (value is default or value == default or (default is None and value in ((), []))):
                raise NotImplementedError(
                    f"{where}: {key}={value!r} is not implemented by fasterapi yet (it would "
                    "change what the app does, so it is refused rather than ignored)"
                )
        else:
            raise TypeError(f"{where}: unknown option {key!r}")
    return kept


def compile_route(method: str, path: str, func, *, status_code: int = 200, blocking: bool | None = None) -> RouteSpec:
    """The route that serves ``method`` requests to ``path`` with ``func``, its signature
    compiled into the plan the server reads per request (see
    :meth:`fasterapi.FasterAPI.add_route` for ``blocking``)."""
    plan = _compile(func, path)
    is_async = inspect.iscoroutinefunction(func)
    if blocking is not None and not isinstance(blocking, bool):
        raise TypeError(f"{method} {path}: blocking must be True, False or None, not {blocking!r}")
    if is_async and blocking:
        raise ValueError(
            f"{method.upper()} {path}: blocking=True is for def handlers; an async def "
            "handler runs on the event loop (call blocking code with "
            "`await asyncio.to_thread(...)` or make the handler a def)"
        )
    return RouteSpec(
        method=method.upper(), path=path, endpoint=func, is_async=is_async, plan=plan,
        blocking=blocking, status_code=int(status_code),
    )


_NOT_YET = frozenset({'APIRoute', 'APIRouter', 'APIWebSocketRoute'})
__getattr__ = _not_yet.refuse('fasterapi.routing', _NOT_YET)
