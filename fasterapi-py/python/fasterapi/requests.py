"""The request a handler receives: ``fasterapi.requests`` as ``fastapi.requests``."""

from __future__ import annotations

from . import _fasterapi, _not_yet


#: The request object a handler receives when it declares ``request: Request``.
#: Attributes: ``method``, ``path`` (decoded), ``url`` (path and query, raw),
#: ``query_string``, ``query_params`` (dict, first value of each name), ``headers``
#: (:class:`Headers`: look-ups ignore case), ``path_params`` (dict); methods ``body()`` (bytes) and
#: ``json()`` (the parsed JSON body), to ``await`` in an ``async def`` handler as in
#: FastAPI and to call directly in a ``def`` handler.
Request = _fasterapi.Request


_NOT_YET = frozenset({'HTTPConnection'})
__getattr__ = _not_yet.refuse('fasterapi.requests', _NOT_YET)
