"""The docs pages in a real browser: headless Chromium (Debian's package, installed by
.ci/run) loads /docs (Swagger UI) and /redoc (ReDoc) from a running server, with the
machine's network closed to anything but that server, and the rendered DOM shows the
app's operations; screenshots are kept in the test's artifact directory (printed).

Skipped when Chromium is not installed, except in CI (CI=true), where that is a failure.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import WAIT, module_server

server = module_server("app_openapi.py")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

#: The flags this machine's closed network needs (no background connections, no QUIC...).
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Virtual time runs the page's scripts until the network and timers are idle.
    "--virtual-time-budget=20000",
]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs-browser")
    print(f"\ndocs browser artifacts: {path}")
    return path


def chromium(artifacts, name, *args):
    assert CHROMIUM is not None, "CI runs this test with Debian's chromium (.ci/run installs it)"
    profile = artifacts / f"profile-{name}"
    profile.mkdir()
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=WAIT * 2, cwd=artifacts,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


def test_swagger_ui_shows_the_operations(server, artifacts):
    dom = chromium(artifacts, "docs-dom", "--dump-dom", server.url + "/docs")
    (artifacts / "docs.html").write_text(dom)
    # Each operation is a block Swagger UI renders from the document it fetched.
    paths = set(re.findall(r'class="opblock-summary-path[^"]*" data-path="([^"]+)"', dom))
    assert {"/items/{item_id}", "/items/", "/v1/users/{username}", "/search", "/token", "/tagged/{kind}"} <= paths, paths
    assert "/hidden" not in paths and "/calls" not in paths
    assert "Get one" in dom and "Shop" in dom
    chromium(artifacts, "docs-png", "--window-size=1280,1600", f"--screenshot={artifacts / 'docs.png'}",
             server.url + "/docs")
    assert (artifacts / "docs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_redoc_shows_the_operations(server, artifacts):
    dom = chromium(artifacts, "redoc-dom", "--dump-dom", server.url + "/redoc")
    (artifacts / "redoc.html").write_text(dom)
    for summary in ("Get one", "Create Item", "Read User", "Tagged Route", "Search"):
        assert summary in dom, summary
    chromium(artifacts, "redoc-png", "--window-size=1280,1600", f"--screenshot={artifacts / 'redoc.png'}",
             server.url + "/redoc")
    assert (artifacts / "redoc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
