"""Routes for test_responses.py: response models, status codes, response classes, the
temporal `response: Response`, cookies and redirects.

    python app_responses.py PORT WORKERS [html]

With `html`, the app is built with `default_response_class=HTMLResponse`."""

import datetime
import decimal
import sys
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer

from fasterapi import FastAPI, Response, status
from fasterapi.responses import (
    HTMLResponse,
    JSONResponse,
    ORJSONResponse,
    PlainTextResponse,
    RedirectResponse,
)

HTML = len(sys.argv) > 3 and sys.argv[3] == "html"
app = FastAPI(default_response_class=HTMLResponse) if HTML else FastAPI()


class UserIn(BaseModel):
    username: str
    password: str
    email: str
    full_name: Optional[str] = None


class UserOut(BaseModel):
    username: str
    email: str
    full_name: Optional[str] = None


class UserInDB(BaseModel):
    username: str
    hashed_password: str
    email: str
    full_name: Optional[str] = None


class Item(BaseModel):
    name: str
    description: Optional[str] = None
    price: float
    tax: float = 10.5
    tags: list = []


class Aliased(BaseModel):
    item_name: str = Field(alias="itemName")


class CarItem(BaseModel):
    description: str
    type: str = "car"


class PlaneItem(BaseModel):
    description: str
    type: str = "plane"
    size: int


class Line(BaseModel):
    sku: str
    qty: int
    price: float


class Order(BaseModel):
    id: int
    lines: list[Line]
    note: Optional[Line] = None
    extra: Any = None
    ratio: float = 1.0


class Custom(BaseModel):
    """What the server's own walk leaves to pydantic: a computed field, a field
    serializer, an alias generator, extra fields."""

    model_config = ConfigDict(alias_generator=lambda n: n.upper(), extra="allow", populate_by_name=True)
    price: float
    when: datetime.date

    @computed_field
    @property
    def doubled(self) -> float:
        return self.price * 2

    @field_serializer("price")
    def _price(self, v: float) -> str:
        return f"{v:.2f}"


class Row:
    """An ORM-like object: attributes, not a mapping."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


ITEMS = {
    "foo": {"name": "Foo", "price": 50.2},
    "bar": {"name": "Bar", "description": "The bartenders", "price": 62, "tax": 20.2},
    "baz": {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []},
}

if HTML:

    @app.get("/page")
    def page():
        return "<h1>Items</h1>"

    @app.get("/page-model", response_model=Item)
    def page_model():
        return ITEMS["foo"]

    @app.get("/page-json", response_class=JSONResponse)
    def page_json():
        return {"a": 1}

else:

    @app.post("/user", response_model=UserOut)
    def create_user(user: UserIn):
        return UserInDB(**user.model_dump(exclude={"password"}), hashed_password="hash:" + user.password)

    @app.post("/user-annotated")
    async def create_user_annotated(user: UserIn) -> UserOut:
        return user

    @app.get("/user-row", response_model=UserOut)
    def user_row():
        return Row(username="ann", email="ann@example.com", hashed_password="secret-hash", full_name=None)

    @app.get("/user-dict", response_model=UserOut)
    def user_dict():
        return {"username": "bob", "email": "bob@example.com", "password": "plain-secret"}

    @app.get("/items-list")
    def items_list() -> list[Item]:
        return [Item(name="Portal Gun", price=42.0), {"name": "Plumbus", "price": "32"}]

    @app.get("/weights", response_model=dict[str, float])
    def weights():
        return {"foo": 2, "bar": "3.5"}

    @app.get("/union/{item_id}", response_model=Union[PlaneItem, CarItem])
    def union(item_id: str):
        return {
            "car": {"description": "low rider", "type": "car"},
            "plane": {"description": "aeroplane", "type": "plane", "size": 5},
        }[item_id]

    @app.get("/unset/{item_id}", response_model=Item, response_model_exclude_unset=True)
    def unset(item_id: str):
        return ITEMS[item_id]

    @app.get("/nones/{item_id}", response_model=Item, response_model_exclude_none=True)
    def nones(item_id: str):
        return ITEMS[item_id]

    @app.get("/defaults/{item_id}", response_model=Item, response_model_exclude_defaults=True)
    def defaults(item_id: str):
        return ITEMS[item_id]

    @app.get("/include/{item_id}", response_model=Item, response_model_include={"name", "description"})
    def include(item_id: str):
        return ITEMS[item_id]

    @app.get("/exclude/{item_id}", response_model=Item, response_model_exclude=["tax"])
    def exclude(item_id: str):
        return ITEMS[item_id]

    @app.get("/alias", response_model=Aliased)
    def alias():
        return {"itemName": "x"}

    @app.get("/alias-off", response_model=Aliased, response_model_by_alias=False)
    def alias_off():
        return {"itemName": "x"}

    @app.get("/invalid", response_model=Item)
    def invalid():
        return {"name": "no price"}

    @app.get("/invalid-async")
    async def invalid_async() -> Item:
        return {"price": "not a number"}

    @app.get("/any")
    def any_route() -> Any:
        return {"when": datetime.date(2024, 1, 2)}

    # The server's own JSON walk of validated models, and its fallbacks to pydantic.
    @app.get("/orders", response_model=list[Order])
    def orders():
        return [
            {"id": 1, "lines": [{"sku": "a", "qty": "2", "price": 1.5}], "note": None},
            Order(id=2, lines=[Line(sku="b", qty=1, price=2)], note=Line(sku="n", qty=0, price=0)),
        ]

    @app.get("/order-fallbacks/{kind}", response_model=Order)
    def order_fallbacks(kind: str):
        extra = {"decimal": decimal.Decimal("1.50"), "int-keys": {1: "a"}, "date": datetime.date(2020, 1, 1),
                 "nested": {"k": [1, {"z": None}]}}[kind]
        return {"id": 3, "lines": [], "extra": extra, "ratio": float("nan") if kind == "decimal" else 2}

    @app.get("/dict-fallbacks/{kind}")
    def dict_fallbacks(kind: str) -> dict:
        return {"plain": {"a": [1, 2.5, None, "é"]}, "decimal": {"d": decimal.Decimal("1.50")},
                "int-keys": {1: "a", "b": {2: 3}}, "nan": {"x": float("inf")}}[kind]

    @app.get("/list-any")
    def list_any() -> list:
        return [1, "a", {"b": None}]

    @app.get("/subclass-instance")
    def subclass_instance() -> UserOut:
        class UserWithSecret(UserOut):
            password: str

        return UserWithSecret(username="s", email="s@example.com", password="secret")

    @app.get("/model-no-response-model")
    def model_no_response_model():
        return {"order": Order(id=4, lines=[], extra=decimal.Decimal("2.5")), "alias": Aliased(itemName="y")}

    @app.get("/custom")
    def custom() -> Custom:
        return {"PRICE": 3, "WHEN": "2021-02-03", "other": "kept"}

    @app.get("/no-model", response_model=None)
    def no_model(teleport: bool = False) -> Union[Response, dict]:
        if teleport:
            return RedirectResponse(url="https://example.com/a b?x=1&y=é")
        return {"message": "portal"}

    @app.get("/annotated-response")
    def annotated_response() -> RedirectResponse:
        return RedirectResponse("/elsewhere", status_code=302)

    @app.post("/created", status_code=201)
    def created(name: str):
        return {"name": name}

    @app.post("/created-enum", status_code=status.HTTP_202_ACCEPTED)
    def created_enum():
        return {"ok": True}

    @app.delete("/gone", status_code=204)
    def gone():
        return {"ignored": True}

    @app.get("/html", response_class=HTMLResponse)
    def html():
        return "<p>héllo</p>"

    @app.get("/text", response_class=PlainTextResponse, status_code=203)
    def text():
        return "plain"

    @app.get("/text-model", response_class=PlainTextResponse, response_model=str)
    def text_model():
        return "model text"

    @app.get("/redirect-class", response_class=RedirectResponse)
    async def redirect_class():
        return "https://fastapi.tiangolo.com"

    @app.get("/redirect-302", response_class=RedirectResponse, status_code=302)
    async def redirect_302():
        return "https://docs.pydantic.dev/"

    class XMLResponse(Response):
        media_type = "application/xml"

        def render(self, content: Any) -> bytes:
            return f"<v>{content['v']}</v>".encode()

    @app.get("/custom-class", response_class=XMLResponse)
    def custom_class():
        return {"v": 7}

    @app.get("/orjson", response_class=ORJSONResponse)
    def orjson_route():
        return {"b": [1, 2], 3: "non-str key"}

    @app.get("/json-response")
    def json_response():
        return JSONResponse({"é": [1.5, None, True]}, status_code=202, headers={"X-A": "b"})

    @app.get("/json-nan")
    def json_nan():
        return JSONResponse({"x": float("nan")})

    @app.get("/json-object")
    def json_object():
        return JSONResponse({"x": object()})

    @app.get("/legacy")
    def legacy():
        return Response(content="<a/>", media_type="application/xml", headers={"X-Legacy": "1"})

    @app.get("/text-charset")
    def text_charset():
        return Response("hi", media_type="text/csv")

    @app.post("/cookie")
    def cookie():
        response = JSONResponse(content={"message": "cookies"})
        response.set_cookie(key="fakesession", value="fake-cookie-session-value")
        return response

    @app.post("/cookie-and-object")
    def cookie_and_object(response: Response):
        response.set_cookie(key="fakesession", value="fake-cookie-session-value")
        response.set_cookie(
            "full", "a b", max_age=60, path="/p", domain="example.com", secure=True,
            httponly=True, samesite="strict",
            expires=datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        )
        response.delete_cookie("old")
        return {"message": "Come to the dark side, we have cookies"}

    @app.get("/headers-and-object")
    async def headers_and_object(response: Response):
        response.headers["X-Cat-Dog"] = "alone in the world"
        return {"message": "Hello World"}

    TASKS = {"foo": "Listen to the Bar Fighters"}

    @app.put("/get-or-create-task/{task_id}", status_code=200)
    def get_or_create_task(task_id: str, response: Response):
        if task_id not in TASKS:
            TASKS[task_id] = "This didn't exist before"
            response.status_code = status.HTTP_201_CREATED
        return TASKS[task_id]

    @app.get("/temporal-ignored")
    def temporal_ignored(response: Response):
        # As FastAPI: a returned Response is sent as it is.
        response.headers["X-Lost"] = "1"
        response.status_code = 500
        return PlainTextResponse("own", status_code=200)

    @app.get("/temporal-with-model", response_model=UserOut)
    async def temporal_with_model(response: Response):
        import asyncio

        await asyncio.sleep(0)  # suspends: answered through the deferred reply
        response.headers["X-Model"] = "yes"
        response.status_code = 202
        return {"username": "u", "email": "e", "password": "p"}



def lazy_header_routes(app):
    """Responses whose headers are read or changed after construction (made on first
    read) and ones nobody touched (sent from status, media type and body)."""

    class Latin1Text(PlainTextResponse):
        charset = "latin-1"

    @app.get("/lazy/untouched")
    def lazy_untouched():
        return PlainTextResponse("Hello, World!")

    @app.get("/lazy/read")
    def lazy_read():
        r = PlainTextResponse("Hello, World!")
        assert r.raw_headers == [(b"content-length", b"13"), (b"content-type", b"text/plain; charset=utf-8")]
        assert dict(r.headers) == {"content-length": "13", "content-type": "text/plain; charset=utf-8"}
        return r

    @app.get("/lazy/mutated")
    def lazy_mutated():
        r = PlainTextResponse("Hello, World!")
        r.headers["x"] = "y"
        return r

    @app.get("/lazy/cookie")
    def lazy_cookie():
        r = PlainTextResponse("Hello, World!")
        r.set_cookie("a", "b")
        return r

    @app.get("/lazy/no-media-type")
    def lazy_no_media_type():
        return Response("raw")

    @app.get("/lazy/csv")
    def lazy_csv():
        return Response("a,b", media_type="text/csv")

    @app.get("/lazy/latin1")
    def lazy_latin1():
        return Latin1Text("caf\u00e9")

    @app.get("/lazy/json")
    def lazy_json():
        return JSONResponse({"a": 1}, status_code=201)


lazy_header_routes(app)

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
