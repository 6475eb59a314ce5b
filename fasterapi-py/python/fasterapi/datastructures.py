"""Data structures of requests: ``fasterapi.datastructures`` as ``fastapi.datastructures``."""

from __future__ import annotations

import typing
from collections.abc import Mapping

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


class MutableHeaders(Mapping):
    """Response headers as Starlette's ``MutableHeaders``: a case-insensitive view of a
    list of ``(name, value)`` byte pairs (``raw``, names lower-case, Latin-1), which a
    name may appear in several times (``Set-Cookie``). ``headers[name] = value``
    replaces every header of that name, :meth:`append` adds one more."""

    __slots__ = ("_list",)

    def __init__(self, headers: Mapping[str, str] | None = None, raw: list | None = None):
        if headers is not None:
            if raw is not None:
                raise TypeError('MutableHeaders: give "headers" or "raw", not both')
            self._list = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        else:
            self._list = raw if raw is not None else []

    @property
    def raw(self) -> list:
        """The ``(name, value)`` byte pairs themselves (changes show in the response)."""
        return self._list

    def keys(self) -> list:  # type: ignore[override]
        return [k.decode("latin-1") for k, _ in self._list]

    def values(self) -> list:  # type: ignore[override]
        return [v.decode("latin-1") for _, v in self._list]

    def items(self) -> list:  # type: ignore[override]
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._list]

    def getlist(self, key: str) -> list:
        """Every value of the header ``key``, in order."""
        want = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._list if k == want]

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=self._list[:])

    def __getitem__(self, key: str) -> str:
        want = key.lower().encode("latin-1")
        for k, v in self._list:
            if k == want:
                return v.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: typing.Any) -> bool:
        if not isinstance(key, str):
            return False
        want = key.lower().encode("latin-1")
        return any(k == want for k, _ in self._list)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: typing.Any) -> bool:
        return isinstance(other, MutableHeaders) and sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __setitem__(self, key: str, value: str) -> None:
        name = key.lower().encode("latin-1")
        pair = (name, value.encode("latin-1"))
        raw = self._list
        first = -1
        i = 0
        while i < len(raw):  # a plain loop: this runs per request in handlers
            if raw[i][0] == name:
                if first < 0:
                    first = i
                else:
                    del raw[i]
                    continue
            i += 1
        if first < 0:
            raw.append(pair)
        else:
            raw[first] = pair

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        self._list[:] = [(k, v) for k, v in self._list if k != name]

    def setdefault(self, key: str, value: str) -> str:
        """The header's value; ``value``, set, if it has none."""
        name = key.lower().encode("latin-1")
        for k, v in self._list:
            if k == name:
                return v.decode("latin-1")
        self._list.append((name, value.encode("latin-1")))
        return value

    def update(self, other: Mapping[str, str]) -> None:
        for key, value in other.items():
            self[key] = value

    def __ior__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        self.update(other)
        return self

    def __or__(self, other: Mapping[str, str]) -> MutableHeaders:
        if not isinstance(other, Mapping):
            raise TypeError(f"Expected a mapping but got {other.__class__.__name__}")
        new = self.mutablecopy()
        new.update(other)
        return new

    def append(self, key: str, value: str) -> None:
        """Adds a header, keeping those of the same name."""
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def add_vary_header(self, vary: str) -> None:
        self["vary"] = ", ".join([*self.getlist("vary"), vary])

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{type(self).__name__}({as_dict!r})"
        return f"{type(self).__name__}(raw={self._list!r})"


_NOT_YET = frozenset({'Address', 'Default', 'DefaultPlaceholder', 'FormData', 'QueryParams', 'State', 'URL', 'UploadFile'})
__getattr__ = _not_yet.refuse('fasterapi.datastructures', _NOT_YET)
