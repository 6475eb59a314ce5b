"""GZipMiddleware, applied by the server: answers over a real socket (requests, raw
bytes checked with gzip.decompress), through the TestClient, and the options refused."""

import gzip
import json

import httpx
import pytest
import requests
from conftest import module_server

from fasterapi import FastAPI
from fasterapi.middleware.gzip import GZipMiddleware
from fasterapi.testclient import TestClient

server = module_server("app_gzip.py")

ITEMS = [{"id": i, "name": f"item {i}", "tags": ["a", "b", str(i % 7)]} for i in range(200)]


def raw_get(server, path, accept):
    """The status, headers and undecoded body of `GET path`."""
    headers = {} if accept is None else {"Accept-Encoding": accept}
    r = requests.get(server.url + path, headers=headers, stream=True, timeout=10)
    return r.status_code, r.headers, r.raw.read(decode_content=False)


@pytest.mark.parametrize("path", ["/items", "/async-items"])
def test_json_is_gzipped_for_clients_that_accept_it(server, path):
    status, headers, body = raw_get(server, path, "gzip")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(gzip.decompress(body)) == ITEMS
    # requests decodes it like any client.
    assert requests.get(server.url + path, timeout=10).json() == ITEMS


def test_gzip_only_and_q_values(server):
    # Brotli and zstd are not GZipMiddleware's: identity, with Vary.
    status, headers, body = raw_get(server, "/items", "br, zstd")
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"
    assert json.loads(body) == ITEMS
    # gzip;q=0 refuses gzip (Starlette's substring test would still compress).
    status, headers, body = raw_get(server, "/items", "gzip;q=0")
    assert "content-encoding" not in headers
    assert json.loads(body) == ITEMS
    status, headers, body = raw_get(server, "/items", "br;q=1, gzip;q=0.5")
    assert headers["content-encoding"] == "gzip"


def test_what_is_left_alone(server):
    # Under minimum_size.
    status, headers, body = raw_get(server, "/small", "gzip")
    assert (status, body) == (200, b'"somebigcontent"')
    assert "content-encoding" not in headers
    # An image type; a body encoded by the handler.
    status, headers, body = raw_get(server, "/png", "gzip")
    assert "content-encoding" not in headers and len(body) == 4004
    status, headers, body = raw_get(server, "/encoded", "gzip")
    assert headers["content-encoding"] == "br" and body == b"y" * 4000


def test_the_docs_example_through_the_test_client():
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)

    @app.get("/large")
    def large():
        return "x" * 4000

    with TestClient(app) as client:
        r = client.get("/large", headers={"accept-encoding": "gzip"})
        assert r.status_code == 200
        assert r.json() == "x" * 4000
        assert r.headers["content-encoding"] == "gzip"
        assert int(r.headers["content-length"]) < 4000


def test_httpx_decodes_it(server):
    r = httpx.get(server.url + "/large", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.text == "x" * 4000


def test_options_are_checked():
    app = FastAPI()
    with pytest.raises(ValueError, match="compresslevel"):
        app.add_middleware(GZipMiddleware, compresslevel=10)
    with pytest.raises(ValueError, match="minimum_size"):
        app.add_middleware(GZipMiddleware, minimum_size=-1)
    with pytest.raises(NotImplementedError, match="exclude_content_types"):
        app.add_middleware(GZipMiddleware, exclude_content_types=("text/plain",))

    class Other:
        def __init__(self, app):
            pass

    with pytest.raises(NotImplementedError, match="Other"):
        app.add_middleware(Other)
