"""Route registration: ``fasterapi.routing`` as ``fastapi.routing``.

FastAPI's ``APIRouter`` belongs here; fasterapi does not implement it yet (importing it
raises ``ImportError`` naming it, see ``_NOT_YET``)."""

from __future__ import annotations

from . import _not_yet


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


_NOT_YET = frozenset({'APIRoute', 'APIRouter', 'APIWebSocketRoute'})
__getattr__ = _not_yet.refuse('fasterapi.routing', _NOT_YET)
