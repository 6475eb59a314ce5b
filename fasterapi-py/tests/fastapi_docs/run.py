"""Runs FastAPI's documentation examples and their tests (vendored in vendor/) on fasterapi,
with the imports changed, and prints per chapter how many tests pass.

The vendored files stay unmodified: each run copies them to a temporary directory, rewrites
the imports there (`fastapi` -> `fasterapi`, Starlette's TestClient -> `fasterapi.testclient`),
and runs pytest on the copy with harness_plugin.py as its conftest, which records each test's
outcome (and skips the OpenAPI schema tests, `test_openapi*`, with FASTAPI_DOCS_SKIP_OPENAPI=1).

    python run.py                          # every chapter, table + JSON
    python run.py --chapter dependencies -x -v
    python run.py -c body -- -k embed --tb=long    # arguments after -- go to pytest
    python run.py --update                 # rewrite passing.txt from this run
    python run.py --fastapi                # the harness checked on real FastAPI: no rewriting

Run it with the interpreter whose `fasterapi` (or, with --fastapi, `fastapi`) is measured;
it needs pytest, inline-snapshot, dirty-equals, pyjwt, pwdlib[argon2] and email-validator
(fasterapi-py/tests/requirements.txt).
"""

import argparse
import collections
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tokenize

from chapters import BY_NAME, BY_TEST_FOLDER, CHAPTERS

HERE = os.path.dirname(os.path.abspath(__file__))
VENDOR = os.path.join(HERE, "vendor")
PASSING = os.path.join(HERE, "passing.txt")
# Each test's outcome on FastAPI itself (run.py --fastapi --record-baseline): it gives the
# number of tests of a module that fasterapi cannot even import.
BASELINE = os.path.join(HERE, "fastapi_outcomes.txt")
OUTCOMES = ["passed", "failed", "error", "openapi", "skipped", "xfailed", "xpassed"]
COMPAT_SHIM = "_fastapi_docs_compat"


def map_dotted(name):
    """The fasterapi spelling of a dotted name starting with `fastapi` or `starlette`."""
    for old, new in [
        # FastAPI's private module, imported by one test for the pydantic version only.
        ("fastapi._compat", COMPAT_SHIM),
        ("starlette.testclient", "fasterapi.testclient"),
        ("fastapi", "fasterapi"),
    ]:
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return name


def rewrite_imports(source):
    """`source` with every dotted name rooted at `fastapi` (imports and attribute uses) and
    Starlette's TestClient module mapped by `map_dotted`; strings and comments untouched
    but pytest's warning filters (`"ignore::fastapi.exceptions.X"`), which import the
    category they name."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == tokenize.STRING and "::fastapi." in tok.string:
            edits.append((tok.start, tok.end, tok.string.replace("::fastapi.", "::fasterapi.")))
            i += 1
            continue
        after_dot = i > 0 and tokens[i - 1].string == "."
        if tok.type != tokenize.NAME or tok.string not in ("fastapi", "starlette") or after_dot:
            i += 1
            continue
        end = i
        while (end + 2 < len(tokens) and tokens[end + 1].string == "."
               and tokens[end + 2].type == tokenize.NAME and tokens[end + 2].start[0] == tok.start[0]):
            end += 2
        dotted = ".".join(t.string for t in tokens[i:end + 1:2])
        mapped = map_dotted(dotted)
        if mapped != dotted:
            edits.append((tok.start, tokens[end].end, mapped))
        i = end + 1
    lines = source.splitlines(keepends=True)
    for (row, col), (_, end_col), text in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end_col:]
    return "".join(lines)


def prepare_tree(root, rewrite):
    for folder in ("docs_src", "tests"):
        shutil.copytree(os.path.join(VENDOR, folder), os.path.join(root, folder))
    shutil.copyfile(os.path.join(HERE, "harness_plugin.py"), os.path.join(root, "conftest.py"))
    with open(os.path.join(root, "pytest.ini"), "w") as f:
        f.write("[pytest]\nxfail_strict = true\n")
    if not rewrite:
        return
    with open(os.path.join(root, COMPAT_SHIM + ".py"), "w") as f:
        f.write("from pydantic.version import VERSION\n\n"
                "PYDANTIC_VERSION_MINOR_TUPLE = tuple(int(x) for x in VERSION.split('.')[:2])\n")
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.endswith(".py") and dirpath != root:
                path = os.path.join(dirpath, name)
                with open(path) as f:
                    source = f.read()
                rewritten = rewrite_imports(source)
                if rewritten != source:
                    with open(path, "w") as f:
                        f.write(rewritten)


def chapter_of(nodeid):
    parts = nodeid.split("/")
    chapter = BY_TEST_FOLDER.get(parts[2]) if len(parts) > 2 else None
    return chapter.name if chapter else "?"


def read_ids(path):
    """Lines of a list file, without comments and blank lines."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def read_baseline():
    outcomes = {}
    for line in read_ids(BASELINE):
        outcome, nodeid = line.split(" ", 1)
        outcomes[nodeid] = outcome
    return outcomes


def run_pytest(root, chapters, args, results_path, log_path):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", root,
           "-c", os.path.join(root, "pytest.ini"), "--inline-snapshot=disable",
           "--continue-on-collection-errors"]
    try:
        import pytest_timeout  # noqa: F401  (a hung test fails instead of hanging the run)
        cmd.append("--timeout=30")
    except ImportError:
        pass
    if args.exitfirst:
        cmd.append("-x")
    if args.k:
        cmd += ["-k", args.k]
    cmd += ["-v"] if args.verbose else ["-q", "--tb=short"]
    cmd += args.pytest_args
    cmd += [os.path.join("tests", "test_tutorial", c.tests) for c in chapters]
    env = dict(os.environ, FASTAPI_DOCS_RESULTS=results_path,
               FASTAPI_DOCS_BLOCK_FASTAPI="0" if args.fastapi else "1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    stream = args.verbose or args.exitfirst or args.k or args.pytest_args
    if stream:
        proc = subprocess.run(cmd, cwd=root, env=env)
    else:
        with open(log_path, "w") as log:
            proc = subprocess.run(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode not in (0, 1) or not os.path.exists(results_path):
        where = "" if stream else f"; its output is in {log_path}"
        sys.exit(f"pytest exited with code {proc.returncode}{where}")
    with open(results_path) as f:
        return json.load(f)


def collect_results(raw, chapters, use_baseline):
    """Every test by node id with its chapter, outcome and message. The tests of a module
    that failed to import are taken from the FastAPI baseline and count as errors, but for
    those that do not pass on FastAPI either (OpenAPI tests skipped, xfail tests), which
    keep their outcome there: each chapter keeps the same number of measured tests."""
    tests = {}
    for nodeid, entry in raw["tests"].items():
        tests[nodeid] = dict(entry, chapter=chapter_of(nodeid))
    if use_baseline:
        baseline = read_baseline()
        for module, message in raw["collection_errors"].items():
            for nodeid, outcome in baseline.items():
                if nodeid.startswith(module + "::") and nodeid not in tests:
                    tests[nodeid] = {
                        "chapter": chapter_of(nodeid),
                        "outcome": outcome if outcome in ("openapi", "xfailed") else "error",
                        "message": f"module not imported: {message}",
                    }
    return tests


def summarize(tests, chapters, raw):
    counts = {c.name: collections.Counter() for c in chapters}
    for nodeid, entry in tests.items():
        counter = counts.setdefault(entry["chapter"], collections.Counter())
        counter[entry["outcome"]] += 1
        counter["tests"] += 1
        counter["collected"] += nodeid in raw["tests"]
    return counts


def print_table(counts, mode, partial):
    cols = ["tests", "collected", "passed", "failed", "error", "openapi", "skipped", "xfailed"]
    heads = ["tests", "collected", "passed", "failed", "errors", "openapi", "skipped", "xfail", "pass%"]
    width = max(len(name) for name in counts) + 1
    scope = " (partial run: -x, -k or pytest arguments)" if partial else ""
    print(f"\nFastAPI docs tests on {mode}{scope}  (pass% = passed / (tests - openapi - skipped - xfail))")
    print("chapter".ljust(width) + "".join(h.rjust(10) for h in heads))
    total = collections.Counter()
    rows = list(counts.items())
    for name, counter in rows + [("TOTAL", None)]:
        if counter is None:
            counter = total
            print("-" * (width + 10 * len(heads)))
        else:
            total.update(counter)
        measured = counter["tests"] - counter["openapi"] - counter["skipped"] - counter["xfailed"]
        share = f"{100 * counter['passed'] / measured:.0f}%" if measured else "-"
        print(name.ljust(width) + "".join(str(counter[c]).rjust(10) for c in cols) + share.rjust(10))
    return total


def print_reasons(tests, limit=10):
    reasons = collections.Counter(
        e["message"] for e in tests.values() if e["outcome"] in ("failed", "error", "xpassed"))
    if reasons:
        print(f"\nMost common reasons of failures and errors (top {limit}):")
        for message, n in reasons.most_common(limit):
            print(f"{n:6}  {message[:150]}")


def compare_with_list(tests, chapters, partial):
    """(listed ids of the run's chapters that did not pass, passing ids not listed)."""
    names = {c.name for c in chapters}
    listed = [i for i in read_ids(PASSING) if chapter_of(i) in names]
    if partial:
        listed = [i for i in listed if i in tests]
    lost = [i for i in listed if tests.get(i, {}).get("outcome") != "passed"]
    listed_set = set(listed)
    new = sorted(i for i, e in tests.items() if e["outcome"] == "passed" and i not in listed_set)
    return lost, new


def write_passing(tests, chapters):
    names = {c.name for c in chapters}
    keep = [i for i in read_ids(PASSING) if chapter_of(i) not in names]
    ids = sorted(set(keep) | {i for i, e in tests.items() if e["outcome"] == "passed"})
    with open(PASSING, "w") as f:
        f.write("# FastAPI docs tests (fastapi_docs/run.py) that pass on fasterapi. The gate\n"
                "# fasterapi-py/tests/test_fastapi_docs.py fails when one of them stops passing.\n"
                "# Rewrite with: python fasterapi-py/tests/fastapi_docs/run.py --update\n")
        f.writelines(i + "\n" for i in ids)
    return ids


def write_baseline(tests):
    with open(BASELINE, "w") as f:
        f.write("# Outcome of each FastAPI docs test on FastAPI itself: run.py --fastapi --record-baseline\n")
        f.writelines(f"{e['outcome']} {i}\n" for i, e in sorted(tests.items()))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--chapter", action="append", default=[],
                        help="run only this chapter (repeatable, or comma-separated): "
                             + ", ".join(c.name for c in CHAPTERS))
    parser.add_argument("--fastapi", action="store_true",
                        help="no import rewriting: run on the real FastAPI of this interpreter")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.add_argument("-v", "--verbose", action="store_true", help="pytest -v, its output shown")
    parser.add_argument("-k", help="pytest -k expression")
    parser.add_argument("--json", help="where to write the results (default: a file in the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the rewritten tree and print its path")
    parser.add_argument("--update", action="store_true", help="rewrite passing.txt from this run")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a test listed in passing.txt no longer passes")
    parser.add_argument("--record-baseline", action="store_true",
                        help="with --fastapi: write fastapi_outcomes.txt from this run")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    names = [n for value in args.chapter for n in value.split(",") if n]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown chapter {unknown}; chapters: {', '.join(BY_NAME)}")
    args.chapters = [BY_NAME[n] for n in names] or CHAPTERS
    partial = bool(args.exitfirst or args.k or args.pytest_args)
    if (args.update or args.record_baseline) and partial:
        parser.error("--update and --record-baseline need a whole run (no -x, -k or pytest arguments)")
    if args.update and args.fastapi:
        parser.error("--update lists what passes on fasterapi: not with --fastapi")
    if args.record_baseline and (not args.fastapi or args.chapter):
        parser.error("--record-baseline needs --fastapi and every chapter")
    args.partial = partial
    return args


def main(argv):
    args = parse_args(argv)
    mode = "fastapi" if args.fastapi else "fasterapi"
    json_path = args.json or os.path.join(tempfile.gettempdir(), f"fastapi_docs-{mode}.json")
    root = tempfile.mkdtemp(prefix=f"fastapi_docs-{mode}-")
    try:
        prepare_tree(root, rewrite=not args.fastapi)
        raw = run_pytest(root, args.chapters, args, os.path.join(root, "results.json"),
                         os.path.splitext(json_path)[0] + ".log")
    finally:
        if args.keep:
            print(f"rewritten tree kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    tests = collect_results(raw, args.chapters, use_baseline=not args.fastapi)
    counts = summarize(tests, args.chapters, raw)
    total = print_table(counts, mode, args.partial)
    print_reasons(tests)
    with open(json_path, "w") as f:
        json.dump({"mode": mode, "python": sys.version.split()[0],
                   "chapters": {name: {k: c[k] for k in ["tests", "collected"] + OUTCOMES}
                                for name, c in counts.items()},
                   "total": {k: total[k] for k in ["tests", "collected"] + OUTCOMES},
                   "collection_errors": raw["collection_errors"],
                   "tests": tests}, f, indent=1, sort_keys=True)
    print(f"\nresults: {json_path}")
    if args.record_baseline:
        write_baseline(tests)
        print(f"baseline written: {BASELINE}")
    if args.fastapi:
        return 0
    lost, new = compare_with_list(tests, args.chapters, args.partial)
    if args.update:
        ids = write_passing(tests, args.chapters)
        print(f"passing.txt rewritten: {len(ids)} tests")
        return 0
    for nodeid in lost:
        print(f"NO LONGER PASSES: {nodeid}: {tests.get(nodeid, {}).get('outcome', 'not run')}")
    if new:
        print(f"{len(new)} tests pass that passing.txt does not list (run.py --update adds them)")
    return 1 if args.check and lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
