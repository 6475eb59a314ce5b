"""pytest plugin of the FastAPI-docs harness, copied as conftest.py to the root of the run's
temporary tree (run.py). It records every test's outcome and
every module that failed to import, and writes them as JSON to $FASTAPI_DOCS_RESULTS."""

import json
import os
import sys

import pytest

OPENAPI_REASON = "fastapi_docs: OpenAPI schema assertions are not measured"
tests = {}
collection_errors = {}


class BlockFastAPI:
    """In fasterapi mode every `fastapi` import was rewritten: one that still happens is a
    hole in the rewriting, not a pass to count."""

    def find_spec(self, name, path=None, target=None):
        if name == "fastapi" or name.startswith("fastapi."):
            raise ImportError(f"fastapi_docs runs the examples on fasterapi: {name!r} is not rewritten")
        return None


if os.environ.get("FASTAPI_DOCS_BLOCK_FASTAPI") == "1":
    sys.meta_path.insert(0, BlockFastAPI())


def crash_message(report):
    """The one line that says why a test or a module failed."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0] if crash.message else ""
    text = report.longreprtext or ""
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    if errors:
        return errors[-1]
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def pytest_collection_modifyitems(items):
    # The OpenAPI schema tests (`test_openapi*`) were skipped until fasterapi generated the
    # document; with `FASTAPI_DOCS_SKIP_OPENAPI=1` they still are (counted as "openapi").
    if os.environ.get("FASTAPI_DOCS_SKIP_OPENAPI") != "1":
        return
    for item in items:
        name = getattr(item, "originalname", None) or item.name.split("[")[0]
        if name.startswith("test_openapi"):
            item.add_marker(pytest.mark.skip(reason=OPENAPI_REASON))


def pytest_collectreport(report):
    if report.failed:
        collection_errors[report.nodeid] = crash_message(report)


def pytest_runtest_logreport(report):
    entry = tests.setdefault(report.nodeid, {"outcome": "error", "message": ""})
    xfail = hasattr(report, "wasxfail")
    if report.when == "setup":
        if report.failed:
            entry.update(outcome="error", message=crash_message(report))
        elif report.skipped:
            if xfail:
                entry.update(outcome="xfailed", message=report.wasxfail)
            else:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                outcome = "openapi" if OPENAPI_REASON in reason else "skipped"
                entry.update(outcome=outcome, message=reason)
    elif report.when == "call":
        if report.passed:
            # A non-strict xfail that passed; the run uses strict xfail, so this is rare.
            entry.update(outcome="xpassed" if xfail else "passed", message="")
        elif report.failed:
            entry.update(outcome="failed", message=crash_message(report))
        elif xfail:
            entry.update(outcome="xfailed", message=report.wasxfail)
        else:
            entry.update(outcome="skipped", message=str(report.longrepr[2]))
    elif report.failed and entry["outcome"] in ("passed", "xfailed", "xpassed"):
        entry.update(outcome="error", message="teardown: " + crash_message(report))


def pytest_sessionfinish(session):
    with open(os.environ["FASTAPI_DOCS_RESULTS"], "w") as f:
        json.dump({"tests": tests, "collection_errors": collection_errors}, f)
