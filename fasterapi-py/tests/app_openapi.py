"""The app of test_openapi.py: openapi_apps/shop.py (written for FastAPI) with its imports
changed to fasterapi, its ``app.openapi`` wrapped to count its calls, and /calls telling
the count (left out of the document).

    python app_openapi.py PORT WORKERS
"""

import pathlib
import sys
import types

HERE = pathlib.Path(__file__).resolve().parent


def load_fastapi_app(path: pathlib.Path, name: str):
    """The module of ``path``, an app written for FastAPI, run with its imports changed
    (``from fastapi`` -> ``from fasterapi``), as the docs harness does."""
    source = path.read_text().replace("from fastapi", "from fasterapi")
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the test's own file
    return module


app = load_fastapi_app(HERE / "openapi_apps" / "shop.py", "openapi_shop").app
calls = 0
_openapi = app.openapi


def counted_openapi():
    global calls
    calls += 1
    return _openapi()


app.openapi = counted_openapi


@app.get("/calls", include_in_schema=False)
def get_calls():
    return {"calls": calls}


if __name__ == "__main__":
    app.run(port=int(sys.argv[1]), workers=int(sys.argv[2]))
