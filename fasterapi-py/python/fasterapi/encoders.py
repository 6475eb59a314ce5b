"""Encoding values as JSON: ``fasterapi.encoders`` as ``fastapi.encoders``.

:func:`jsonable_encoder` is FastAPI's, for the types FastAPI encodes (pydantic's own
types when pydantic is installed). The server's JSON writer (Rust) walks ``dict``,
``list``, ``tuple``, ``str``, numbers, ``bool`` and ``None`` itself and hands any other
value to :func:`_jsonable`, which converts it as :func:`jsonable_encoder` would, so a
handler's return value is encoded as FastAPI encodes it.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import ipaddress
import pathlib
import re
import types
import typing
import uuid

try:  # pydantic is optional
    import pydantic as _pydantic
    import pydantic_core as _pydantic_core
    from pydantic.networks import AnyUrl as _AnyUrl
    from pydantic.networks import NameEmail as _NameEmail
    from pydantic.types import SecretBytes as _SecretBytes
    from pydantic.types import SecretStr as _SecretStr
except ImportError:
    _pydantic = None


def isoformat(o: datetime.date | datetime.time) -> str:
    """A date, datetime or time as ISO 8601 text."""
    return o.isoformat()


def decimal_encoder(dec_value: decimal.Decimal) -> int | float:
    """A ``Decimal`` as an ``int`` if it has no exponent (``Decimal("1")``), else a
    ``float`` (``Decimal("1.0")``), as FastAPI encodes it."""
    exponent = dec_value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(dec_value)
    return float(dec_value)


#: The encoder of each type, FastAPI's table (subclasses match too, see below).
ENCODERS_BY_TYPE: dict[type, typing.Callable[[typing.Any], typing.Any]] = {
    bytes: lambda o: o.decode(),
    datetime.date: isoformat,
    datetime.datetime: isoformat,
    datetime.time: isoformat,
    datetime.timedelta: lambda td: td.total_seconds(),
    decimal.Decimal: decimal_encoder,
    enum.Enum: lambda o: o.value,
    frozenset: list,
    collections.deque: list,
    types.GeneratorType: list,
    ipaddress.IPv4Address: str,
    ipaddress.IPv4Interface: str,
    ipaddress.IPv4Network: str,
    ipaddress.IPv6Address: str,
    ipaddress.IPv6Interface: str,
    ipaddress.IPv6Network: str,
    pathlib.Path: str,
    re.Pattern: lambda o: o.pattern,
    set: list,
    uuid.UUID: str,
}
if _pydantic is not None:
    ENCODERS_BY_TYPE.update(
        {
            _NameEmail: str,
            _SecretBytes: str,
            _SecretStr: str,
            _pydantic_core.Url: str,
            _AnyUrl: str,
        }
    )


def _by_class_tuples(table: dict) -> dict:
    """``{encoder: (types...)}``: the isinstance checks for subclasses."""
    out: dict = collections.defaultdict(tuple)
    for type_, encoder in table.items():
        out[encoder] += (type_,)
    return out


encoders_by_class_tuples = _by_class_tuples(ENCODERS_BY_TYPE)


def jsonable_encoder(
    obj: typing.Any,
    include: typing.Any = None,
    exclude: typing.Any = None,
    by_alias: bool = True,
    exclude_unset: bool = False,
    exclude_defaults: bool = False,
    exclude_none: bool = False,
    custom_encoder: dict | None = None,
    sqlalchemy_safe: bool = True,
) -> typing.Any:
    """``obj`` converted to values ``json.dumps`` takes (dicts, lists, strings, numbers,
    booleans, ``None``), as FastAPI's ``jsonable_encoder``.

    pydantic models are dumped (``model_dump(mode="json")`` with ``include``,
    ``exclude``, ``by_alias``, ``exclude_unset``, ``exclude_defaults`` and
    ``exclude_none``), dataclasses turned into dicts, enums into their values, dates into
    ISO 8601 text, ``Decimal`` into an ``int`` or ``float``, ``timedelta`` into seconds,
    sets, tuples and generators into lists, UUIDs, paths and IP addresses into text.
    ``custom_encoder`` maps types to encoders tried first; ``include``/``exclude`` also
    filter a dict's keys; ``sqlalchemy_safe`` drops keys starting with ``_sa``. Any
    other object is read as ``dict(obj)``, else ``vars(obj)``; ``ValueError`` if both
    fail.
    """
    custom_encoder = custom_encoder or {}
    if custom_encoder:
        if type(obj) in custom_encoder:
            return custom_encoder[type(obj)](obj)
        for encoder_type, encoder_instance in custom_encoder.items():
            if isinstance(obj, encoder_type):
                return encoder_instance(obj)
    if include is not None and not isinstance(include, (set, dict)):
        include = set(include)
    if exclude is not None and not isinstance(exclude, (set, dict)):
        exclude = set(exclude)
    if _pydantic is not None and isinstance(obj, _pydantic.BaseModel):
        obj_dict = obj.model_dump(
            mode="json",
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
        )
        return jsonable_encoder(
            obj_dict,
            exclude_none=exclude_none,
            exclude_defaults=exclude_defaults,
            sqlalchemy_safe=sqlalchemy_safe,
        )
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable_encoder(
            dataclasses.asdict(obj),
            include=include,
            exclude=exclude,
            by_alias=by_alias,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            custom_encoder=custom_encoder,
            sqlalchemy_safe=sqlalchemy_safe,
        )
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    if isinstance(obj, (str, int, float, type(None))):
        return obj
    if _pydantic is not None and isinstance(obj, _pydantic_core.PydanticUndefinedType):
        return None
    if isinstance(obj, dict):
        encoded_dict = {}
        allowed_keys = set(obj.keys())
        if include is not None:
            allowed_keys &= set(include)
        if exclude is not None:
            allowed_keys -= set(exclude)
        for key, value in obj.items():
            if (
                (not sqlalchemy_safe or not isinstance(key, str) or not key.startswith("_sa"))
                and (value is not None or not exclude_none)
                and key in allowed_keys
            ):
                encoded_key = jsonable_encoder(
                    key,
                    by_alias=by_alias,
                    exclude_unset=exclude_unset,
                    exclude_defaults=exclude_defaults,
                    exclude_none=exclude_none,
                    custom_encoder=custom_encoder,
                    sqlalchemy_safe=sqlalchemy_safe,
                )
                encoded_dict[encoded_key] = jsonable_encoder(
                    value,
                    by_alias=by_alias,
                    exclude_unset=exclude_unset,
                    exclude_defaults=exclude_defaults,
                    exclude_none=exclude_none,
                    custom_encoder=custom_encoder,
                    sqlalchemy_safe=sqlalchemy_safe,
                )
        return encoded_dict
    if isinstance(obj, (list, set, frozenset, types.GeneratorType, tuple, collections.deque)):
        return [
            jsonable_encoder(
                item,
                include=include,
                exclude=exclude,
                by_alias=by_alias,
                exclude_unset=exclude_unset,
                exclude_defaults=exclude_defaults,
                exclude_none=exclude_none,
                custom_encoder=custom_encoder,
                sqlalchemy_safe=sqlalchemy_safe,
            )
            for item in obj
        ]
    if type(obj) in ENCODERS_BY_TYPE:
        return ENCODERS_BY_TYPE[type(obj)](obj)
    for encoder, classes_tuple in encoders_by_class_tuples.items():
        if isinstance(obj, classes_tuple):
            return encoder(obj)
    try:
        data = dict(obj)
    except Exception as e:
        errors: list[Exception] = [e]
        try:
            data = vars(obj)
        except Exception as e:
            errors.append(e)
            raise ValueError(errors) from e
    return jsonable_encoder(
        data,
        include=include,
        exclude=exclude,
        by_alias=by_alias,
        exclude_unset=exclude_unset,
        exclude_defaults=exclude_defaults,
        exclude_none=exclude_none,
        custom_encoder=custom_encoder,
        sqlalchemy_safe=sqlalchemy_safe,
    )


def _jsonable(obj):
    """A value the Rust JSON writer does not walk itself, converted as
    :func:`jsonable_encoder` converts it. A model's dump (JSON-ready already) and a
    dataclass's dict are returned for the writer to walk, not walked here first."""
    if _pydantic is not None and isinstance(obj, _pydantic.BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return jsonable_encoder(obj)

