"""Data structures of requests: ``fasterapi.datastructures`` as ``fastapi.datastructures``."""

from __future__ import annotations

import ipaddress
import os
import tempfile
import typing
from collections.abc import ItemsView, Iterator, KeysView, Mapping, MutableMapping, Sequence, ValuesView
from operator import itemgetter
from typing import Any, NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from . import _not_yet


class Address(NamedTuple):
    """A client's address (``request.client``): ``host`` and ``port``."""

    host: str
    port: int


class URL:
    """A URL, as Starlette's: ``scheme``, ``netloc``, ``path``, ``query``, ``fragment``,
    ``username``, ``password``, ``hostname``, ``port``, ``is_secure``, ``str(url)``, and
    new URLs from it with :meth:`replace`, :meth:`include_query_params`,
    :meth:`replace_query_params`, :meth:`remove_query_params`."""

    def __init__(self, url: str = "", scope: Any = None, **components: Any) -> None:
        if scope is not None:
            raise TypeError("URL(scope=...) is not supported by fasterapi: use request.url")
        if components:
            if url:
                raise TypeError('URL: give "url" or components, not both')
            url = URL("").replace(**components).components.geturl()
        self._url = url

    #: ``(scheme, netloc, path, query)`` when known without parsing ``_url``: set for
    #: a request's URL, whose parts the server knows.
    _parts: tuple | None = None

    @property
    def components(self) -> SplitResult:
        try:
            return self._components
        except AttributeError:
            parts = self._parts
            self._components = urlsplit(self._url) if parts is None else SplitResult(*parts, "")
            return self._components

    @property
    def scheme(self) -> str:
        parts = self._parts
        return self.components.scheme if parts is None else parts[0]

    @property
    def netloc(self) -> str:
        parts = self._parts
        return self.components.netloc if parts is None else parts[1]

    @property
    def path(self) -> str:
        parts = self._parts
        return self.components.path if parts is None else parts[2]

    @property
    def query(self) -> str:
        parts = self._parts
        return self.components.query if parts is None else parts[3]

    @property
    def fragment(self) -> str:
        return self.components.fragment

    @property
    def username(self) -> str | None:
        return self.components.username

    @property
    def password(self) -> str | None:
        return self.components.password

    @property
    def hostname(self) -> str | None:
        return self.components.hostname

    @property
    def port(self) -> int | None:
        return self.components.port

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """This URL with the parts named changed (``scheme``, ``netloc``, ``path``,
        ``query``, ``fragment``, or ``username``, ``password``, ``hostname``, ``port``)."""
        if "username" in kwargs or "password" in kwargs or "hostname" in kwargs or "port" in kwargs:
            hostname = kwargs.pop("hostname", None)
            port = kwargs.pop("port", self.port)
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)
            if hostname is None:
                netloc = self.netloc
                _, _, hostname = netloc.rpartition("@")
                if hostname and hostname[-1] != "]":
                    hostname = hostname.rsplit(":", 1)[0]
            elif ":" in hostname and not hostname.startswith("["):
                try:
                    ipaddress.IPv6Address(hostname)
                except ValueError:
                    pass
                else:
                    hostname = f"[{hostname}]"
            netloc = hostname
            if port is not None:
                netloc += f":{port}"
            if username is not None:
                userpass = username
                if password is not None:
                    userpass += f":{password}"
                netloc = f"{userpass}@{netloc}"
            kwargs["netloc"] = netloc
        components = self.components._replace(**kwargs)
        return self.__class__(components.geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params.multi_items()))

    def replace_query_params(self, **kwargs: Any) -> URL:
        return self.replace(query=urlencode([(str(key), str(value)) for key, value in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        if isinstance(keys, str):
            keys = [keys]
        params = MultiDict(parse_qsl(self.query, keep_blank_values=True))
        for key in keys:
            params.pop(key, None)
        return self.replace(query=urlencode(params.multi_items()))

    def __eq__(self, other: Any) -> bool:
        return str(self) == str(other)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = str(self)
        if self.password:
            url = str(self.replace(password="********"))
        return f"{self.__class__.__name__}({url!r})"


class ImmutableMultiDict(Mapping):
    """A mapping whose keys may have several values: ``d[k]`` is the last value of
    ``k``, ``d.getlist(k)`` every one in order, ``d.multi_items()`` every pair."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError("Too many arguments.")
        value: Any = args[0] if args else []
        if kwargs:
            value = ImmutableMultiDict(value).multi_items() + ImmutableMultiDict(kwargs).multi_items()
        if not value:
            items: list = []
        elif hasattr(value, "multi_items"):
            items = list(value.multi_items())
        elif hasattr(value, "items"):
            items = list(value.items())
        else:
            items = list(value)
        self._dict = {k: v for k, v in items}
        self._list = items

    def getlist(self, key: Any) -> list:
        return [v for k, v in self._list if k == key]

    def keys(self) -> KeysView:
        return self._dict.keys()

    def values(self) -> ValuesView:
        return self._dict.values()

    def items(self) -> ItemsView:
        return self._dict.items()

    def multi_items(self) -> list:
        return list(self._list)

    def __getitem__(self, key: Any) -> Any:
        return self._dict[key]

    def __contains__(self, key: Any) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, self.__class__):
            return False
        return sorted(self._list, key=itemgetter(0)) == sorted(other._list, key=itemgetter(0))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.multi_items()!r})"


class MultiDict(ImmutableMultiDict):
    """A mutable :class:`ImmutableMultiDict`."""

    def __setitem__(self, key: Any, value: Any) -> None:
        self.setlist(key, [value])

    def __delitem__(self, key: Any) -> None:
        self._list = [(k, v) for k, v in self._list if k != key]
        del self._dict[key]

    def pop(self, key: Any, default: Any = None) -> Any:
        self._list = [(k, v) for k, v in self._list if k != key]
        return self._dict.pop(key, default)

    def popitem(self) -> tuple:
        key, value = self._dict.popitem()
        self._list = [(k, v) for k, v in self._list if k != key]
        return key, value

    def poplist(self, key: Any) -> list:
        values = [v for k, v in self._list if k == key]
        self.pop(key)
        return values

    def clear(self) -> None:
        self._dict.clear()
        self._list.clear()

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self._dict[key] = default
            self._list.append((key, default))
        return self[key]

    def setlist(self, key: Any, values: list) -> None:
        if not values:
            self.pop(key, None)
        else:
            self._list = [(k, v) for k, v in self._list if k != key] + [(key, v) for v in values]
            self._dict[key] = values[-1]

    def append(self, key: Any, value: Any) -> None:
        self._list.append((key, value))
        self._dict[key] = value

    def update(self, *args: Any, **kwargs: Any) -> None:
        value = MultiDict(*args, **kwargs)
        self._list = [(k, v) for k, v in self._list if k not in value.keys()] + value.multi_items()
        self._dict.update(value)


class QueryParams(ImmutableMultiDict):
    """Query parameters (``request.query_params``): an immutable multi-dict of strings,
    made from a query string (``str`` or ``bytes``), a mapping or pairs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError("Too many arguments.")
        value = args[0] if args else []
        if isinstance(value, str):
            super().__init__(parse_qsl(value, keep_blank_values=True), **kwargs)
        elif isinstance(value, bytes):
            super().__init__(parse_qsl(value.decode("latin-1"), keep_blank_values=True), **kwargs)
        else:
            super().__init__(*args, **kwargs)
        self._list = [(str(k), str(v)) for k, v in self._list]
        self._dict = {str(k): str(v) for k, v in self._dict.items()}

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self)!r})"


class FormData(ImmutableMultiDict):
    """Form fields (``await request.form()``): an immutable multi-dict."""

    async def close(self) -> None:
        for _, value in self.multi_items():
            close = getattr(value, "close", None)
            if close is not None:
                await close()


class Headers(Mapping):
    """Request headers (``request.headers``), as Starlette's: an immutable multi-dict over
    ``(name, value)`` byte pairs (``raw``; names lower-case, Latin-1) whose look-ups ignore
    case: ``headers[name]`` is the first value, ``headers.getlist(name)`` every one;
    ``keys()``, ``values()`` and ``items()`` list every pair."""

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list | None = None,
        scope: MutableMapping[str, Any] | None = None,
    ) -> None:
        self._list: list = []
        if headers is not None:
            if raw is not None or scope is not None:
                raise TypeError('Headers: give one of "headers", "raw" or "scope"')
            self._list = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        elif raw is not None:
            if scope is not None:
                raise TypeError('Headers: give one of "headers", "raw" or "scope"')
            self._list = raw
        elif scope is not None:
            self._list = scope["headers"] = list(scope["headers"])

    @property
    def raw(self) -> list:
        return list(self._list)

    def keys(self) -> list:  # type: ignore[override]
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list:  # type: ignore[override]
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list:  # type: ignore[override]
        return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]

    def getlist(self, key: str) -> list:
        want = key.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self._list if k == want]

    def __getitem__(self, key: str) -> str:
        want = key.lower().encode("latin-1")
        for k, v in self._list:
            if k == want:
                return v.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        if not isinstance(key, str):
            return False
        want = key.lower().encode("latin-1")
        return any(k == want for k, _ in self._list)

    def __iter__(self) -> Iterator:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{self.__class__.__name__}({as_dict!r})"
        return f"{self.__class__.__name__}(raw={self.raw!r})"


class State:
    """Attributes of one's own (``request.state``): ``state.x = 1`` then ``state.x``;
    a missing one is an ``AttributeError``."""

    _state: dict

    def __init__(self, state: dict | None = None):
        super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: Any, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: Any) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(f"'{self.__class__.__name__}' object has no attribute '{key}'") from None

    def __delattr__(self, key: Any) -> None:
        del self._state[key]

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)


class MutableHeaders(Headers):
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


class UploadFile:
    """An uploaded file (a ``multipart/form-data`` part with a ``filename``), as Starlette's
    and FastAPI's ``UploadFile``: ``file`` (a standard binary file object, positioned at the
    start), ``filename`` (the client's text, never used as a path by fasterapi), ``size``,
    ``headers`` (the part's) and ``content_type``; ``await read(size)``, ``write(data)``,
    ``seek(offset)``, ``close()``.

    ``file`` is a ``tempfile.SpooledTemporaryFile``, as Starlette's. Where its bytes are:
    files up to 1 MiB in memory (a ``BytesIO``, as Starlette's); larger files in the
    worker's upload memory, which all uploads of the process share, at most
    ``run(upload_memory_bytes=...)`` (12 MiB) together (an upload that finds it taken by
    uploads ahead of it waits for it, up to 20 ms, reading nothing meanwhile); larger files
    that still find that memory taken in an unnamed temporary file the server wrote as the
    body arrived (``file._rolled`` is then true). Starlette keeps 1 MiB of each file in memory
    and writes the rest to a temporary file, however many uploads are open; fasterapi
    keeps whole files in memory while the worker's budget allows, and none past it.
    A file in the upload memory is read-only there: ``fileno()``, ``write()`` and
    ``truncate()`` first roll it over to a temporary file, as ``SpooledTemporaryFile``
    does for its own memory. Its memory goes back to the budget when the file is closed
    or rolled over. That memory is in pieces of 1 MiB which are ``bytes`` objects: a
    ``read(1024 * 1024)`` of one whole piece (chunk after chunk from the start) returns
    the piece itself, no copy; other reads copy once. When the app read the last such
    file whole first (``await file.read()``, a ``bytes = File()`` parameter) and uploads
    come one at a time, the next file is read into one ``bytes`` of its body's size
    instead, which ``read()`` then returns itself. A piece the app still holds when the
    file is closed is the app's from then on (the budget no longer counts it).

    Unlike Starlette, the async methods call the file at once rather than in a thread
    pool: the file is in memory or in the page cache the server just wrote. The file is
    closed with ``close()``, or when the object is dropped.
    """

    def __init__(self, file: typing.BinaryIO, *, size: int | None = None, filename: str | None = None,
                 headers: Headers | None = None) -> None:
        self.filename = filename
        self.file = file
        self.size = size
        self.headers = headers or Headers()

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type", None)

    async def write(self, data: bytes) -> None:
        if self.size is not None:
            self.size += len(data)
        self.file.write(data)

    async def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    async def seek(self, offset: int) -> None:
        self.file.seek(offset)

    async def close(self) -> None:
        self.file.close()

    def __del__(self) -> None:
        # Closed here, not by the file's own finalizer, which would warn (ResourceWarning).
        file = self.__dict__.get("file")
        if file is not None and not getattr(file, "closed", True):
            try:
                file.close()
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(filename={self.filename!r}, size={self.size!r}, headers={self.headers!r})"

    @classmethod
    def _validate(cls, value: typing.Any, *_: typing.Any) -> "UploadFile":
        if not isinstance(value, UploadFile):
            raise ValueError(f"Expected UploadFile, received: {type(value)}")
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: typing.Any, handler: typing.Any) -> dict:
        return {"type": "string", "contentMediaType": "application/octet-stream"}

    @classmethod
    def __get_pydantic_core_schema__(cls, source: typing.Any, handler: typing.Any) -> typing.Any:
        from pydantic_core import core_schema

        return core_schema.with_info_plain_validator_function(cls._validate)


#: Bytes of an upload kept in memory (Starlette's ``MultiPartParser.spool_max_size``).
_SPOOL_MAX_SIZE = 1024 * 1024


class _UploadSpool(tempfile.SpooledTemporaryFile):
    """The ``SpooledTemporaryFile`` of an upload larger than 1 MiB: its ``_file`` is the
    server's read-only memory file (``_fasterapi.MemoryUpload``, not yet rolled over) or
    the temporary file the server spilled it to (rolled over). Writing rolls a memory
    file over first: Starlette's file of that size would be on disk already."""

    def __init__(self, file: typing.Any, rolled: bool) -> None:
        # Not SpooledTemporaryFile.__init__, which makes a BytesIO to be replaced.
        self._file = file
        self._max_size = _SPOOL_MAX_SIZE
        self._rolled = rolled
        if not rolled:
            self._TemporaryFileArgs = {
                "mode": "w+b", "buffering": -1, "suffix": None, "prefix": None,
                "encoding": None, "newline": None, "dir": None, "errors": None,
            }

    def write(self, s: typing.Any) -> int:
        self.rollover()
        return super().write(s)

    def writelines(self, iterable: typing.Any) -> None:
        self.rollover()
        return super().writelines(iterable)

    def truncate(self, size: int | None = None) -> int:
        self.rollover()
        return super().truncate(size)


def _upload_file(filename: str, headers: list, content: typing.Any, size: int) -> UploadFile:
    """The ``UploadFile`` of a part the server read: ``content`` is its bytes (up to 1
    MiB), its ``MemoryUpload`` (in the upload memory), or the descriptor of the unnamed
    temporary file holding them (duplicated here: the server closes its own)."""
    if isinstance(content, bytes):
        file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX_SIZE)
        file.write(content)
        file.seek(0)
    elif isinstance(content, int):
        file = _UploadSpool(open(os.dup(content), "w+b"), True)  # noqa: SIM115 -- UploadFile closes it
    else:
        file = _UploadSpool(content, False)
    return UploadFile(file, size=size, filename=filename, headers=Headers(raw=headers))


def _upload_bytes(upload: UploadFile) -> bytes:
    """The content of an upload, for a ``bytes`` parameter (FastAPI awaits ``read()``)."""
    return upload.file.read()


_NOT_YET = frozenset({'Default', 'DefaultPlaceholder'})
__getattr__ = _not_yet.refuse('fasterapi.datastructures', _NOT_YET)
