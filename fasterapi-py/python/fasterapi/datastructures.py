"""Data structures of requests: ``fasterapi.datastructures`` as ``fastapi.datastructures``."""

from __future__ import annotations

from . import _not_yet


class Headers(dict):
    """Request headers: a dict with lower-case names whose look-ups ignore case."""

    __slots__ = ()

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return isinstance(name, str) and dict.__contains__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


_NOT_YET = frozenset({'Address', 'Default', 'DefaultPlaceholder', 'FormData', 'QueryParams', 'State', 'URL', 'UploadFile'})
__getattr__ = _not_yet.refuse('fasterapi.datastructures', _NOT_YET)
