"""An app using most of what the OpenAPI document describes, written for FastAPI:
test_openapi.py serves it with the imports changed to fasterapi and compares its
/openapi.json with FastAPI's, recorded in shop.expected.json by record.py."""

from typing import Annotated, Literal, Optional, Union
from fastapi import FastAPI, Query, Path, Header, Cookie, Body, Depends, HTTPException, APIRouter, Security
from fastapi.security import OAuth2PasswordBearer, HTTPBearer, APIKeyHeader, SecurityScopes, HTTPBasic, OpenIdConnect, OAuth2PasswordRequestForm, APIKeyQuery, APIKeyCookie
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field
from enum import Enum

class Color(str, Enum):
    red = "red"
    blue = "blue"

class Item(BaseModel):
    """An item.\fhidden"""
    name: str = Field(..., max_length=10, description="the name")
    price: float
    tags: list[str] = []
    color: Optional[Color] = None

class User(BaseModel):
    username: str
    full_name: Union[str, None] = None

app = FastAPI(title="Shop", version="2.0", description="A shop", summary="sum",
              terms_of_service="http://x/terms", contact={"name": "me", "email": "a@b.c"},
              license_info={"name": "MIT", "identifier": "MIT"}, servers=[{"url": "http://s"}],
              openapi_tags=[{"name": "items", "description": "Items"}],
              openapi_external_docs={"url": "http://docs", "description": "More"})
oauth2 = OAuth2PasswordBearer(tokenUrl="token", scopes={"me": "read me"})
bearer = HTTPBearer()
key = APIKeyHeader(name="X-Key")

def common(q: Optional[str] = None, skip: int = 0, limit: Annotated[int, Query(le=100, ge=1, description="lim")] = 10):
    return {"q": q}

def current(token: Annotated[str, Depends(oauth2)]):
    return token

def scoped(scopes: SecurityScopes, token: Annotated[str, Security(oauth2, scopes=["me"])]):
    return token

@app.get("/items/{item_id}", tags=["items"], response_model=Item, summary="Get one", responses={404: {"description": "nope"}, 418: {"model": User}})
async def read_item(item_id: Annotated[int, Path(gt=0, title="The ID")], c: Annotated[dict, Depends(common)], x_token: Annotated[Union[str, None], Header()] = None, session: Annotated[Optional[str], Cookie()] = None):
    """Read an item.

    Long text.
    """
    return {}

@app.post("/items/", status_code=201, tags=["items"], deprecated=True, operation_id="create")
def create_item(item: Item, user: User, importance: Annotated[int, Body()], u=Depends(current)) -> Item:
    return item

@app.put("/items/{item_id}", openapi_extra={"x-aperture": "yes"})
def update(item_id: str, item: Annotated[Item, Body(embed=True, examples=[{"name": "Foo", "price": 1}])], k=Depends(key)):
    return item

@app.get("/hidden", include_in_schema=False)
def hidden():
    return 1

@app.get("/html", response_class=HTMLResponse)
def html():
    return "<b>x</b>"

@app.get("/text", response_class=PlainTextResponse, response_description="Text")
def text(color: Color, ids: Annotated[list[int], Query()] = [], b=Depends(bearer)):
    return "x"

@app.get("/me", dependencies=[Depends(scoped)])
def me(q: Annotated[str, Query(min_length=3, max_length=50, pattern="^fixedquery$", alias="item-query", deprecated=True)] = "fixedquery"):
    return {}

router = APIRouter(prefix="/users", tags=["users"], responses={404: {"description": "Not found"}})

@router.get("/{username}")
async def read_user(username: str) -> User:
    return {"username": username}

@router.delete("/{username}", status_code=204)
async def delete_user(username: str):
    return None

app.include_router(router, prefix="/v1")

@app.get("/")
def root():
    return {"hello": "world"}


class Filters(BaseModel):
    limit: int = Field(100, gt=0, le=100)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


@app.get("/search")
def search(filters: Annotated[Filters, Query()], user=Depends(HTTPBasic()), oidc=Depends(OpenIdConnect(openIdConnectUrl="http://oidc"))):
    return filters


@app.post("/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
    return {"access_token": form.username}


@app.get("/keys")
def keys(q=Depends(APIKeyQuery(name="k", description="query key")), c=Depends(APIKeyCookie(name="kc", auto_error=False))):
    return {}


def custom_id(route):
    return f"{route.tags[0]}-{route.name}"


tagged = APIRouter(tags=["tagged"], generate_unique_id_function=custom_id, deprecated=True)


@tagged.get("/tagged/{kind}", responses={"default": {"description": "anything"}, "4XX": {"model": User}})
def tagged_route(kind: Color, x_custom_header: Annotated[str, Header(convert_underscores=False)], n: Annotated[float, Query(openapi_examples={"one": {"summary": "one", "value": 1.5}})] = 1.0):
    return {}


app.include_router(tagged)


async def starlette_route(request):
    return PlainTextResponse("x")


app.add_route("/starlette", starlette_route)


class Subscription(BaseModel):
    username: str
    monthly_fee: float


@app.webhooks.post("new-subscription")
def new_subscription(body: Subscription):
    """When a new user subscribes."""


class InvoiceEvent(BaseModel):
    description: str
    paid: bool


callbacks_router = APIRouter()


@callbacks_router.post("{$callback_url}/invoices/{$request.body.id}", response_model=User)
def invoice_notification(body: InvoiceEvent):
    pass


@app.post("/invoices/", callbacks=callbacks_router.routes)
def create_invoice(invoice: InvoiceEvent, callback_url: Union[str, None] = None):
    return {"msg": "Invoice received"}
