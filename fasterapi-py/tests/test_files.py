"""Files (issue 15 point 2): StaticFiles mounts served by the core and FileResponse,
against a real server (requests, httpx, raw sockets for paths clients would normalize),
and through the in-process TestClient."""

import hashlib
import http.client
import os
from email.utils import formatdate

import httpx
import pytest
import requests

from conftest import Server
from fasterapi import APIRouter, FastAPI
from fasterapi.background import BackgroundTask
from fasterapi.responses import FileResponse
from fasterapi.staticfiles import StaticFiles
from fasterapi.testclient import TestClient

SECRET = b"the secret outside the served directory"
BIG = bytes((i * 2654435761 >> 13) & 0xFF for i in range(3 << 20))


def make_tree(base):
    public = base / "public"
    (public / "sub").mkdir(parents=True)
    (public / "site").mkdir()
    (base / "outside").mkdir()
    (base / "secret.txt").write_bytes(SECRET)
    (base / "outside" / "secret.txt").write_bytes(SECRET)
    (public / "hello.txt").write_bytes(b"hello, file\n")
    (public / "big.bin").write_bytes(BIG)
    (public / "sub" / "page.css").write_bytes(b"body { color: red }")
    (public / "site" / "index.html").write_bytes(b"<h1>index</h1>")
    (public / "404.html").write_bytes(b"<h1>no such page</h1>")
    os.symlink(base / "secret.txt", public / "out_abs")
    os.symlink("../secret.txt", public / "out_rel")
    os.symlink("../outside", public / "out_dir")
    os.symlink("hello.txt", public / "in_rel")
    return public


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("files")
    make_tree(base)
    return base


@pytest.fixture(scope="module")
def server(tree):
    s = Server("app_files.py", workers=1, args=(str(tree),))
    yield s
    assert s.stop() == 0, "".join(s.log)


def get(server, path, **kw):
    return requests.get(server.url + path, timeout=10, allow_redirects=False, **kw)


def raw_get(server, path):
    """`GET path` sent as it is (requests would normalize `..`)."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


# --- StaticFiles ----------------------------------------------------------------------


def test_static_files_are_served_whole_with_validators(server):
    r = get(server, "/static/big.bin")
    assert r.status_code == 200
    assert r.content == BIG
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == str(len(BIG))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"].startswith('"')
    assert r.headers["last-modified"].endswith(" GMT")
    r = get(server, "/static/sub/page.css")
    assert (r.headers["content-type"], r.content) == ("text/css; charset=utf-8", b"body { color: red }")


def test_static_conditional_requests(server):
    full = get(server, "/static/hello.txt")
    etag, modified = full.headers["etag"], full.headers["last-modified"]
    r = get(server, "/static/hello.txt", headers={"If-None-Match": etag})
    assert (r.status_code, r.content, r.headers["etag"]) == (304, b"", etag)
    r = get(server, "/static/hello.txt", headers={"If-Modified-Since": modified})
    assert r.status_code == 304
    r = get(server, "/static/hello.txt", headers={"If-None-Match": '"stale"'})
    assert (r.status_code, r.content) == (200, b"hello, file\n")


def test_static_ranges_and_head(server):
    r = httpx.get(server.url + "/static/big.bin", headers={"Range": "bytes=100-199"}, timeout=10)
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes 100-199/{len(BIG)}"
    assert r.content == BIG[100:200]
    r = httpx.get(server.url + "/static/big.bin", headers={"Range": "bytes=-10"}, timeout=10)
    assert r.content == BIG[-10:]
    r = httpx.get(server.url + "/static/big.bin", headers={"Range": f"bytes={len(BIG)}-"}, timeout=10)
    assert (r.status_code, r.headers["content-range"]) == (416, f"bytes */{len(BIG)}")
    r = requests.head(server.url + "/static/big.bin", timeout=10)
    assert (r.status_code, r.headers["content-length"], r.content) == (200, str(len(BIG)), b"")


@pytest.mark.parametrize("path", [
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/%2e%2e%2fsecret.txt",
    "/static/..%2fsecret.txt",
    "/static/sub/..%2f..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/..\\secret.txt",
    "/static/hello.txt%00",
    "/static/out_abs",
    "/static/out_rel",
    "/static/out_dir/secret.txt",
    "/site/../secret.txt",
    "/site/out_rel",
])
def test_static_files_never_read_outside_the_directory(server, path):
    status, body = raw_get(server, path)
    assert status in (400, 404), (path, status, body)
    assert SECRET not in body


def test_static_symlinks_inside_are_followed(server):
    assert get(server, "/static/in_rel").content == b"hello, file\n"


def test_static_html_mode(server):
    r = get(server, "/site/site")
    assert (r.status_code, r.headers["location"]) == (307, "/site/site/")
    r = get(server, "/site/site/")
    assert (r.status_code, r.content) == (200, b"<h1>index</h1>")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = get(server, "/site/nothing")
    assert (r.status_code, r.content) == (404, b"<h1>no such page</h1>")
    r = get(server, "/static/nothing")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    assert requests.post(server.url + "/static/hello.txt", timeout=10).status_code == 405


def test_url_path_for_a_mount(server):
    assert get(server, "/url").json() == {"static": "/static/sub/page.css"}


# --- FileResponse ---------------------------------------------------------------------


def test_file_response(server, tree):
    r = get(server, "/file")
    assert (r.status_code, r.content) == (200, b"hello, file\n")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["accept-ranges"] == "bytes"
    assert "etag" in r.headers and "last-modified" in r.headers
    assert "content-disposition" not in r.headers
    r = get(server, "/named")
    assert r.headers["content-disposition"] == 'inline; filename="hello.txt"'
    r = get(server, "/download")
    assert r.content == BIG
    assert r.headers["content-disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.bin"
    r = get(server, "/custom")
    assert r.headers["content-type"] == "text/x-custom; charset=utf-8"
    assert r.headers["cache-control"] == "max-age=60"
    r = get(server, "/created", headers={"Range": "bytes=0-1"})
    assert (r.status_code, r.content) == (201, b"hello, file\n")
    r = get(server, "/typed")
    assert (r.status_code, r.content) == (200, b"hello, file\n")


def test_file_response_conditionals_and_ranges(server):
    etag = get(server, "/custom").headers["etag"]
    r = get(server, "/custom", headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.headers["cache-control"] == "max-age=60"
    r = get(server, "/download", headers={"Range": "bytes=10-19"})
    assert (r.status_code, r.content) == (206, BIG[10:20])
    # A suspended async handler's answer gets its request's conditions too.
    r = get(server, "/async-file", headers={"Range": "bytes=-4"})
    assert (r.status_code, r.content) == (206, BIG[-4:])
    etag = get(server, "/async-file").headers["etag"]
    assert get(server, "/async-file", headers={"If-None-Match": etag}).status_code == 304


def test_file_response_stat_result_headers_are_starlettes(server, tree):
    st = os.stat(tree / "public" / "hello.txt")
    r = get(server, "/stat")
    base = f"{st.st_mtime}-{st.st_size}"
    assert r.headers["etag"] == f'"{hashlib.md5(base.encode(), usedforsecurity=False).hexdigest()}"'
    assert r.headers["last-modified"] == formatdate(st.st_mtime, usegmt=True)
    assert get(server, "/stat", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_a_missing_file_answers_500(server):
    assert get(server, "/missing").status_code == 500
    server.wait_for(r"RuntimeError: File at path .*nope\.txt does not exist\.")
    assert get(server, "/directory").status_code == 500
    server.wait_for(r"RuntimeError: File at path .*public is not a file\.")


# --- in process, and the errors at mount time -------------------------------------------


def test_the_test_client_serves_files(tmp_path):
    public = make_tree(tmp_path)
    app = FastAPI()
    app.mount("/static", StaticFiles(directory=public), name="static")

    ran = []

    @app.get("/file")
    def file():
        return FileResponse(public / "big.bin", background=BackgroundTask(ran.append, "after"))

    client = TestClient(app)
    assert client.get("/static/big.bin").content == BIG
    assert client.get("/file", headers={"Range": "bytes=0-3"}).content == BIG[:4]
    assert ran == ["after"]
    assert client.get("/static/out_rel").status_code == 404
    assert app.url_path_for("static", path="a.css") == "/static/a.css"


def test_mount_errors(tmp_path):
    with pytest.raises(RuntimeError, match="Directory '.*nope' does not exist"):
        StaticFiles(directory=tmp_path / "nope")
    with pytest.raises(NotImplementedError, match="packages="):
        StaticFiles(packages=["fasterapi"])
    app = FastAPI()
    with pytest.raises(NotImplementedError, match="mounting"):
        app.mount("/sub", object())
    with pytest.raises(NotImplementedError, match="a router serves StaticFiles mounts"):
        APIRouter().mount("/sub", FastAPI())
    app.mount("/late", StaticFiles(directory=tmp_path / "later", check_dir=False))
    with pytest.raises(RuntimeError, match="StaticFiles directory '.*later' does not exist."):
        TestClient(app).get("/late/x")
    (tmp_path / "afile").write_bytes(b"x")
    app = FastAPI()
    app.mount("/f", StaticFiles(directory=tmp_path / "afile", check_dir=False))
    with pytest.raises(RuntimeError, match="is not a directory"):
        TestClient(app).get("/f/x")


def test_a_mounted_app_serves_its_static_files_under_its_prefix(tmp_path):
    public = make_tree(tmp_path)
    sub = FastAPI()
    sub.mount("/static", StaticFiles(directory=public), name="static")
    app = FastAPI()
    app.mount("/sub", sub)
    client = TestClient(app)
    assert client.get("/sub/static/hello.txt").content == b"hello, file\n"
    assert client.get("/static/hello.txt").status_code == 404


def test_middleware_runs_for_static_files_and_file_responses(tmp_path):
    from fasterapi.middleware.cors import CORSMiddleware

    public = make_tree(tmp_path)
    # Native middleware only: the static path stays without Python, inside the layer.
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["https://example.com"])
    app.mount("/static", StaticFiles(directory=public), name="static")
    r = TestClient(app).get("/static/hello.txt", headers={"Origin": "https://example.com"})
    assert r.content == b"hello, file\n"
    assert r.headers["access-control-allow-origin"] == "https://example.com"

    # Python middleware runs for static files and sees the file's bytes, as Starlette's.
    app = FastAPI()
    seen = []

    @app.middleware("http")
    async def tag(request, call_next):
        response = await call_next(request)
        seen.append((request.url.path, response.status_code))
        response.headers["x-tag"] = "seen"
        return response

    app.mount("/static", StaticFiles(directory=public), name="static")

    @app.get("/file")
    def file():
        return FileResponse(public / "big.bin")

    client = TestClient(app)
    r = client.get("/static/hello.txt")
    assert (r.content, r.headers["x-tag"]) == (b"hello, file\n", "seen")
    r = client.get("/file")
    assert (r.content == BIG, r.headers["x-tag"]) == (True, "seen")
    assert client.get("/static/nothing").status_code == 404
    assert seen == [("/static/hello.txt", 200), ("/file", 200), ("/static/nothing", 404)]
