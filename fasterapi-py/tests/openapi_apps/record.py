"""Records FastAPI's OpenAPI document of each app here (``<name>.expected.json``), for
test_openapi.py to compare fasterapi's with. Run with a Python that has
``fastapi==0.141.1`` (and pydantic 2.14.3, email-validator):

    /path/to/fastapi-venv/bin/python fasterapi-py/tests/openapi_apps/record.py
"""

import importlib.util
import json
import pathlib

from fastapi.testclient import TestClient

HERE = pathlib.Path(__file__).resolve().parent

for source in sorted(HERE.glob("*.py")):
    if source.name == "record.py":
        continue
    spec = importlib.util.spec_from_file_location(f"openapi_app_{source.stem}", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document = TestClient(module.app).get("/openapi.json").json()
    target = source.with_suffix(".expected.json")
    target.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"{target}: {len(document['paths'])} paths")
