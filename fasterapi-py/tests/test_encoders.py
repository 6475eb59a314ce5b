"""fasterapi.encoders.jsonable_encoder against FastAPI's results (the expectations are what
FastAPI 0.165's own jsonable_encoder returns for the same values), and handler return
values encoded the same way by the server's dispatch (through the TestClient)."""

import collections
import dataclasses
import datetime
import decimal
import enum
import ipaddress
import pathlib
import re
import uuid
from typing import Optional

import pytest
from pydantic import AnyUrl, BaseModel, Field, SecretStr

from app_main import app
from fasterapi.encoders import jsonable_encoder
from fasterapi.testclient import TestClient


class Color(enum.Enum):
    red = "r"


class Sub(BaseModel):
    x: int = 1
    when: datetime.date = datetime.date(2020, 1, 2)


class Model(BaseModel):
    name: str = Field(alias="Name")
    sub: Sub = Sub()
    opt: Optional[int] = None
    secret: SecretStr = SecretStr("s")
    url: Optional[AnyUrl] = None


@dataclasses.dataclass
class Data:
    a: int
    b: list


class Plain:
    def __init__(self):
        self.k = decimal.Decimal("2.50")


def generator():
    yield 1
    yield Color.red


SUB = {"x": 1, "when": "2020-01-02"}


@pytest.mark.parametrize("value, expected", [
    ({"d": decimal.Decimal("1.5"), "i": decimal.Decimal("2"), "td": datetime.timedelta(seconds=90.5)},
     {"d": 1.5, "i": 2, "td": 90.5}),
    (Model(Name="n", url="http://x.org/a"),
     {"Name": "n", "sub": SUB, "opt": None, "secret": "**********", "url": "http://x.org/a"}),
    ([Model(Name="n", opt=3)], [{"Name": "n", "sub": SUB, "opt": 3, "secret": "**********", "url": None}]),
    (Data(1, [Color.red, uuid.UUID(int=5)]), {"a": 1, "b": ["r", "00000000-0000-0000-0000-000000000005"]}),
    ({1: {2, 3}, None: frozenset(), "_sa_x": 1, 1: b"bytes"}, {1: "bytes", None: []}),
    (collections.deque([datetime.datetime(2020, 1, 1, 12), datetime.time(1, 2)]), ["2020-01-01T12:00:00", "01:02:00"]),
    (generator(), [1, "r"]),
    (ipaddress.ip_address("::1"), "::1"),
    (ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
    (pathlib.Path("/a/b"), "/a/b"),
    (re.compile("a+"), "a+"),
    (Plain(), {"k": 2.5}),
    ({"dict_like": collections.OrderedDict(a=1)}, {"dict_like": {"a": 1}}),
])
def test_jsonable_encoder_converts_as_fastapi(value, expected):
    assert jsonable_encoder(value) == expected


def test_jsonable_encoder_options_as_fastapi():
    assert jsonable_encoder(Model(Name="n", opt=None), exclude_none=True) == {
        "Name": "n", "sub": SUB, "secret": "**********"}
    assert jsonable_encoder(Model(Name="n"), exclude_unset=True) == {"Name": "n"}
    assert jsonable_encoder(Model(Name="n"), include={"name"}, by_alias=False) == {"name": "n"}
    assert jsonable_encoder({"a": 1, "b": None, "c": 2}, include=["a", "b"], exclude_none=True) == {"a": 1}
    assert jsonable_encoder(Sub(), custom_encoder={Sub: lambda s: "custom"}) == "custom"
    assert jsonable_encoder({"d": datetime.date(2021, 1, 1)}, custom_encoder={datetime.date: lambda d: d.year}) == {"d": 2021}


def test_jsonable_encoder_refuses_what_it_cannot_read():
    with pytest.raises(ValueError):
        jsonable_encoder(object())


def test_returned_values_are_encoded_as_fastapi_encodes_them():
    assert TestClient(app).get("/ret/encoded").json() == {
        "decimal": 1.5, "whole": 2, "seconds": 90.5, "model": {"Name": "pen", "count": 2},
        "set": [1], "path": "/tmp/x", "obj": {"k": 1},
    }
