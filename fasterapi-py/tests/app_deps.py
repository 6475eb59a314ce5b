"""The app test_dependencies.py serves: Depends in its forms, yield, caching, overrides,
security schemes and forms. `python app_deps.py PORT WORKERS`.

With DEPS_ON_FASTAPI=1 in the environment it imports FastAPI instead, nothing else
changed: `DEPS_ON_FASTAPI=1 uvicorn app_deps:app`, and the tests run against it with
DEPS_BASE_URL=http://127.0.0.1:8000, is how the tests' expectations were checked."""

import asyncio
import os
import sys
import threading
from typing import Annotated, List, Optional

if os.environ.get("DEPS_ON_FASTAPI"):  # pragma: no cover - checking the expectations on FastAPI
    from fastapi import APIRouter, Cookie, Depends, FastAPI, Form, Header, HTTPException, Query, Request, Security
    from fastapi.security import (
        APIKeyCookie, APIKeyHeader, APIKeyQuery, HTTPBasic, HTTPBasicCredentials, HTTPBearer,
        OAuth2PasswordBearer, OAuth2PasswordRequestForm, SecurityScopes,
    )
else:
    from fasterapi import APIRouter, Cookie, Depends, FastAPI, Form, Header, HTTPException, Query, Request, Security
    from fasterapi.security import (
        APIKeyCookie, APIKeyHeader, APIKeyQuery, HTTPBasic, HTTPBasicCredentials, HTTPBearer,
        OAuth2PasswordBearer, OAuth2PasswordRequestForm, SecurityScopes,
    )

#: What the dependencies did, per test: read through /log, reset by /reset.
LOG: list = []
COUNT = {"n": 0, "requests": 0}


def count_requests():
    """An app-level dependency: every request runs it once."""
    COUNT["requests"] += 1


app = FastAPI(dependencies=[Depends(count_requests)])


@app.get("/log")
def get_log():
    return {"log": LOG, "requests": COUNT["requests"]}


@app.post("/reset")
def reset():
    LOG.clear()
    COUNT["n"] = 0
    app.dependency_overrides.clear()
    return {}


# --- a two-level chain: a client cannot set a dependency's value ---------------------------

USERS = {"token-alice": {"name": "alice", "admin": False}, "token-root": {"name": "root", "admin": True}}


def get_token(authorization: str = Header()) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return token


def get_current_user(token: str = Depends(get_token)) -> dict:
    user = USERS.get(token)
    if user is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return user


@app.get("/admin")
def admin(user: dict = Depends(get_current_user)):
    if not user["admin"]:
        raise HTTPException(status_code=403, detail="Not an admin")
    return {"admin": user["name"]}


@app.get("/me")
async def me(user: Annotated[dict, Depends(get_current_user)], verbose: bool = False):
    return {"user": user["name"], "verbose": verbose}


# --- forms of dependencies ------------------------------------------------------------------


class Pagination:
    def __init__(self, skip: int = 0, limit: int = Query(10, le=100)):
        self.skip = skip
        self.limit = limit


class Prefixer:
    """A callable instance: its parameters are those of __call__."""

    def __init__(self, prefix: str):
        self.prefix = prefix

    def __call__(self, name: str = "x") -> str:
        return self.prefix + name


async def async_double(n: int = 1) -> int:
    await asyncio.sleep(0)
    return n * 2


@app.get("/forms")
def forms(page: Pagination = Depends(), shout: str = Depends(Prefixer("hey ")), double: int = Depends(async_double)):
    return {"skip": page.skip, "limit": page.limit, "shout": shout, "double": double}


@app.get("/forms_async")
async def forms_async(page: Annotated[Pagination, Depends()], double: Annotated[int, Depends(async_double)]):
    return {"skip": page.skip, "limit": page.limit, "double": double}


# --- caching within one request -------------------------------------------------------------


def counter() -> int:
    COUNT["n"] += 1
    return COUNT["n"]


def via_sub(c: int = Depends(counter)) -> int:
    return c


@app.get("/cached")
def cached(a: int = Depends(counter), b: int = Depends(via_sub), c: int = Depends(counter, use_cache=False)):
    return {"a": a, "b": b, "c": c}


# --- dependencies with yield ----------------------------------------------------------------

RELEASE = {}


class OwnerError(Exception):
    pass


async def held_session():
    """Its exit code waits until the client, having received the response, asks /release."""
    LOG.append("enter")
    try:
        yield "session"
    finally:
        LOG.append("exit starts")
        await RELEASE.setdefault("event", asyncio.Event()).wait()
        LOG.append("exit done")
        RELEASE["done"].set()


@app.get("/held")
async def held(s: str = Depends(held_session)):
    RELEASE["event"] = asyncio.Event()
    RELEASE["done"] = asyncio.Event()
    LOG.append("handler")
    return {"session": s}


@app.post("/release")
async def release():
    RELEASE["event"].set()
    await RELEASE["done"].wait()
    return {"log": LOG}


def sync_session():
    LOG.append("sync enter")
    try:
        yield "db"
    except OwnerError as e:
        LOG.append(f"sync saw {type(e).__name__}: {e}")
        raise HTTPException(status_code=400, detail=f"Owner error: {e}")
    finally:
        LOG.append("sync exit")


@app.get("/items/{owner}")
def items(owner: str, db: str = Depends(sync_session)):
    if owner != "rick":
        raise OwnerError(owner)
    LOG.append("handler")
    return {"owner": owner, "db": db}


def swallowing():
    try:
        yield 1
    except Exception:
        LOG.append("swallowed")


@app.get("/swallowed")
def swallowed(x: int = Depends(swallowing)):
    raise RuntimeError("boom")


def refuses_on_exit():
    yield "v"
    raise HTTPException(status_code=409, detail="refused on exit")


@app.get("/exit_function")
def exit_function(v: str = Depends(refuses_on_exit, scope="function")):
    return {"v": v}


@app.get("/exit_request")
def exit_request(v: str = Depends(refuses_on_exit)):
    return {"v": v}


async def outer():
    LOG.append("outer enter")
    yield "outer"
    LOG.append("outer exit")


async def inner(o: str = Depends(outer)):
    LOG.append("inner enter")
    yield o + "+inner"
    LOG.append("inner exit")


@app.get("/nested")
async def nested(v: str = Depends(inner)):
    LOG.append("handler")
    return {"v": v}


# --- overrides ------------------------------------------------------------------------------


async def common(q: Optional[str] = None, skip: int = 0, limit: int = 100):
    return {"q": q, "skip": skip, "limit": limit}


@app.get("/common")
def read_common(commons: dict = Depends(common)):
    return commons


@app.get("/common_plain")
def common_plain():
    return {"plain": True}


def override_common(q: Optional[str] = None, other: int = 7):
    return {"q": q, "other": other, "overridden": True}


@app.post("/override")
def set_override():
    app.dependency_overrides[common] = override_common
    return {}


@app.post("/override_user")
def set_override_user():
    app.dependency_overrides[get_current_user] = lambda: {"name": "test", "admin": True}
    return {}


# --- route dependencies and 422 order ----------------------------------------------------------


def verify_key(x_key: str = Header()):
    if x_key != "secret":
        raise HTTPException(status_code=400, detail="X-Key header invalid")
    LOG.append("verified")


def needs_b(b: int, c: int = Cookie()):
    return b


@app.get("/guarded", dependencies=[Depends(verify_key)])
def guarded(a: int, nb: int = Depends(needs_b)):
    return {"a": a, "b": nb}


# --- security ---------------------------------------------------------------------------------

oauth2 = OAuth2PasswordBearer(tokenUrl="token")
oauth2_optional = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)
basic = HTTPBasic(realm="test")
bearer = HTTPBearer()
key_header = APIKeyHeader(name="x-api-key")
key_query = APIKeyQuery(name="api_key")
key_cookie = APIKeyCookie(name="session")


@app.get("/oauth2")
def read_oauth2(token: str = Depends(oauth2)):
    return {"token": token}


@app.get("/oauth2_optional")
def read_oauth2_optional(token: Optional[str] = Depends(oauth2_optional)):
    return {"token": token}


@app.get("/basic")
def read_basic(credentials: HTTPBasicCredentials = Depends(basic)):
    return {"username": credentials.username, "password": credentials.password}


@app.get("/bearer")
async def read_bearer(credentials=Depends(bearer)):
    return {"scheme": credentials.scheme, "credentials": credentials.credentials}


@app.get("/keys")
def read_keys(h: str = Depends(key_header), q: str = Depends(key_query), c: str = Depends(key_cookie)):
    return {"header": h, "query": q, "cookie": c}


class HeaderScheme(OAuth2PasswordBearer):
    """A subclass overriding __call__, calling FastAPI's with the request."""

    async def __call__(self, request: Request):
        token = await super().__call__(request)
        return token.upper()


custom = HeaderScheme(tokenUrl="token")


@app.get("/custom_scheme")
async def read_custom(token: str = Depends(custom)):
    return {"token": token}


def scoped_user(security_scopes: SecurityScopes, token: str = Depends(oauth2)):
    return {"scopes": security_scopes.scopes, "scope_str": security_scopes.scope_str, "token": token}


def with_items(user: dict = Security(scoped_user, scopes=["items"])):
    return user


@app.get("/scopes")
def read_scopes(user: dict = Security(with_items, scopes=["me"])):
    return user


@app.post("/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
    return {"username": form.username, "password": form.password, "scopes": form.scopes,
            "grant_type": form.grant_type, "client_id": form.client_id}


@app.post("/form")
def form(name: str = Form(), n: int = Form(3), tags: List[str] = Form([])):
    return {"name": name, "n": n, "tags": tags}


# --- the def parts of an async route do not hold up the event loop ----------------------------

ENTERED = threading.Event()
RELEASED = threading.Event()


async def async_value() -> int:
    return 1


@app.get("/blocking_def")
def blocking_def(x: int = Depends(async_value)):
    # A def handler in an async graph: it blocks here until /release_def, which the
    # server can only serve meanwhile if this does not run on its event loop's thread.
    ENTERED.set()
    released = RELEASED.wait(timeout=20)
    ENTERED.clear()
    RELEASED.clear()
    return {"released": released, "x": x}


@app.post("/release_def")
async def release_def():
    entered = await asyncio.get_running_loop().run_in_executor(None, ENTERED.wait, 20)
    RELEASED.set()
    return {"entered": entered}


# --- routers ------------------------------------------------------------------------------------


def logs(name):
    def dependency():
        LOG.append(name)

    return dependency


router = APIRouter(prefix="/routed", dependencies=[Depends(logs("router"))])


@router.get("/common", dependencies=[Depends(logs("route"))])
def routed_common(commons: dict = Depends(common)):
    LOG.append("handler")
    return commons


app.include_router(router, dependencies=[Depends(logs("include"))])


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
