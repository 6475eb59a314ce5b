"""An app served where pydantic cannot be imported: `python app_no_pydantic.py PORT WORKERS`."""

import enum
import sys
from typing import Annotated, List, Optional

sys.modules["pydantic"] = None  # `import pydantic` now raises ImportError

from fasterapi import Body, FasterAPI, Header, Query  # noqa: E402

app = FasterAPI()


class Color(enum.Enum):
    red = "red"


@app.get("/color")
def color(c: Color):
    return {"c": c.value}


@app.post("/numbers")
def numbers(values: List[int]):
    return {"n": len(values)}


@app.post("/dict")
def body(payload: dict):
    return payload


@app.get("/markers")
def markers(
    limit: Annotated[int, Query(ge=1)] = 10,
    name: str = Query("ab", pattern="^a", max_length=3),
    x_token: Optional[str] = Header(None),
    ids: List[int] = Query([]),
):
    return {"limit": limit, "name": name, "x_token": x_token, "ids": ids}


@app.post("/embed")
def embed(name: str = Body(..., embed=True, max_length=3), qty: int = Body(1, ge=1), price: float = Body(0.0)):
    return {"name": name, "qty": qty, "price": price}


def needs_pydantic(n: int = Query(0, multiple_of=3)):
    return n


try:
    app.get("/needs_pydantic")(needs_pydantic)
    MULTIPLE_OF_REFUSED = None
except TypeError as e:
    MULTIPLE_OF_REFUSED = str(e)


@app.get("/refused")
def refused():
    return MULTIPLE_OF_REFUSED


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
