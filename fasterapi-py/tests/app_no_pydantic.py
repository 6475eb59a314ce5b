"""An app served where pydantic cannot be imported: `python app_no_pydantic.py PORT WORKERS`."""

import enum
import sys
from typing import List

sys.modules["pydantic"] = None  # `import pydantic` now raises ImportError

from fasterapi import FasterAPI  # noqa: E402

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


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
