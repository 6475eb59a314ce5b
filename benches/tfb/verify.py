"""The TechEmpower verifier, for one server: checks each test type's answers as TechEmpower's
toolset does (toolset/test_types/*/ and verifications.py in their repository) before the server
is timed. A server that fails is reported, not ranked.

    python3 benches/tfb/verify.py http://127.0.0.1:8080 [--tests json,db,...] [--json out.json]

The URLs are the suite's: /json, /plaintext, /db, /queries?queries=N, /fortunes,
/updates?queries=N, /cached-queries?count=N. Database checks (queries counted with
pg_stat_statements, updates seen in the table) go through `psql` with the settings db.sh
prints (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME in the environment).

Checked, per TechEmpower's rules:
- headers: Server, Date (RFC 1123, not cached: it changes between requests a second apart),
  Content-Type (application/json, text/plain, text/html; charset=utf-8), and Content-Length
  or Transfer-Encoding;
- bodies: {"message": "Hello, World!"}, `Hello, World!`, World objects {id, randomNumber}
  with ids in 1..10,000, lists whose length follows the `queries` parameter clamped to
  1..500 (a missing or non-numeric one counts as 1), the fortunes page equal, tag for tag
  and text for text, to the twelve rows plus the one added at request time, sorted by
  message and HTML-escaped;
- the database, counted over 64 requests as TechEmpower's verify_queries_count does: /db runs
  a query per request, /queries?queries=20 20 statements on world reading 20 rows, /updates
  20 reads and the writes (one UPDATE per row, or one bulk UPDATE per request) updating 20
  rows, and the World table changes; /fortunes a query per request. Fewer than that fails
  (so does caching outside /cached-queries); more than 5% above it warns, as there.
"""

import argparse
import html
import html.parser
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime

FAIL, WARN = "fail", "warn"
QUERY_CASES = [("2", 2, FAIL), ("0", 1, FAIL), ("foo", 1, FAIL), ("501", 500, WARN), ("", 1, FAIL)]
COUNT_REQUESTS = 64  # requests of /queries?queries=20 whose database work is counted

ADDED_FORTUNE = (0, "Additional fortune added at request time.")
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]

CONTENT_TYPES = {
    "json": r"^application/json(; ?charset=(UTF|utf)-8)?$",
    "html": r"^text/html; ?charset=(UTF|utf)-8$",
    "plaintext": r"^text/plain(; ?charset=(UTF|utf)-8)?$",
}


class Server:
    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port or 80

    def get(self, path):
        """(status, headers with lower-case names, body bytes); a fresh connection each time."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, headers, body
        finally:
            conn.close()


class Db:
    """psql with db.sh's settings."""

    def __init__(self):
        e = os.environ
        self.args = ["psql", "-X", "-A", "-t", "-q", "-h", e.get("DB_HOST", "127.0.0.1"),
                     "-p", e.get("DB_PORT", "5433"), "-U", e.get("DB_USER", "benchmarkdbuser"),
                     "-d", e.get("DB_NAME", "hello_world")]
        self.env = dict(e, PGPASSWORD=e.get("DB_PASSWORD", "benchmarkdbpass"))

    def query(self, sql):
        run = subprocess.run(self.args + ["-c", sql], env=self.env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"psql failed on {sql!r}: {run.stderr.strip()}")
        out = run.stdout
        return [line.split("|") for line in out.splitlines() if line]

    def reset_statements(self):
        self.query("SELECT pg_stat_statements_reset()")

    def statements(self, table, verb):
        """(calls, rows) of the statements naming `table` that contain `verb`, as
        TechEmpower's toolset sums them."""
        rows = self.query(
            "SELECT coalesce(sum(calls), 0), coalesce(sum(rows), 0) FROM pg_stat_statements "
            f"WHERE query ~* '[[:<:]]{table}[[:>:]]' AND query ~* '{verb or '.'}' "
            "AND query !~* 'pg_stat_statements'")
        return int(rows[0][0]), int(rows[0][1])

    def world(self):
        return {int(i): int(n) for i, n in self.query("SELECT id, randomnumber FROM world")}


class Report:
    def __init__(self):
        self.problems = []

    def add(self, level, test, message):
        self.problems.append({"level": level, "test": test, "message": message})

    def failed(self, test=None):
        return any(p["level"] == FAIL and (test is None or p["test"] == test)
                   for p in self.problems)


def check_headers(report, test, headers, kind):
    for name in ("server", "date", "content-type"):
        if name not in headers:
            report.add(FAIL, test, f"required header missing: {name}")
    if "content-length" not in headers and "transfer-encoding" not in headers:
        report.add(FAIL, test, "neither Content-Length nor Transfer-Encoding")
    date = headers.get("date")
    if date is not None:
        try:
            datetime.strptime(date, "%a, %d %b %Y %H:%M:%S %Z")
        except ValueError:
            report.add(WARN, test, f"Date {date!r} is not an RFC 1123 date")
    ctype = headers.get("content-type")
    if ctype is not None and not re.match(CONTENT_TYPES[kind], ctype):
        report.add(FAIL, test, f"Content-Type {ctype!r} does not match {CONTENT_TYPES[kind]}")


def check_date_not_cached(report, server, path, test):
    first = server.get(path)[1].get("date")
    time.sleep(1.2)  # the Date header has a one-second resolution
    second = server.get(path)[1].get("date")
    if first is not None and first == second:
        report.add(FAIL, test, f"Date is cached: {first!r} on requests 1.2 s apart")


def parse_json(report, test, body):
    if not body:
        report.add(FAIL, test, "empty body")
        return None
    try:
        return json.loads(body)
    except ValueError as e:
        report.add(FAIL, test, f"invalid JSON: {e}")
        return None


def check_world(report, test, obj, level=FAIL):
    if not isinstance(obj, dict):
        report.add(level, test, f"expected a JSON object, got {str(obj)[:40]!r}")
        return False
    keys = {k.lower(): v for k, v in obj.items()}
    missing = {"id", "randomnumber"} - keys.keys()
    if missing:
        report.add(level, test, f"World object without {sorted(missing)}: {obj}")
        return False
    if len(keys) > 2:
        report.add(WARN, test, f"extra keys in a World object: {sorted(keys)}")
    for key in ("id", "randomnumber"):
        if not isinstance(keys[key], int) or isinstance(keys[key], bool):
            report.add(level, test, f"{key} is not an integer: {keys[key]!r}")
            return False
    if not 1 <= keys["id"] <= 10000:
        report.add(WARN, test, f"id {keys['id']} outside 1..10000")
    if keys["randomnumber"] > 10000:
        report.add(WARN, test, f"randomNumber {keys['randomnumber']} over 10000")
    return True


def check_world_list(report, test, body, expected_len, level):
    data = parse_json(report, test, body)
    if data is None:
        return
    if not isinstance(data, list):
        report.add(level, test, "top-level JSON is an object, not an array")
        return
    if len(data) != expected_len:
        report.add(level, test, f"array of {len(data)} items, expected {expected_len}")
    bad = 0
    for item in data:
        if not check_world(report, test, item, level):
            bad += 1
            if bad >= 5:
                break


def test_json(report, server):
    status, headers, body = server.get("/json")
    if status != 200:
        report.add(FAIL, "json", f"status {status}")
    check_headers(report, "json", headers, "json")
    data = parse_json(report, "json", body)
    if data is not None:
        # Compared without case, as TechEmpower's verifier does.
        if not isinstance(data, dict) or {k.lower(): str(v).lower() for k, v in data.items()} != {"message": "hello, world!"}:
            report.add(FAIL, "json", f'expected {{"message": "Hello, World!"}}, got {body[:80]!r}')
    check_date_not_cached(report, server, "/json", "json")


def test_plaintext(report, server):
    status, headers, body = server.get("/plaintext")
    if status != 200:
        report.add(FAIL, "plaintext", f"status {status}")
    check_headers(report, "plaintext", headers, "plaintext")
    if body.lower() != b"hello, world!":
        report.add(FAIL, "plaintext", f"expected b'Hello, World!', got {body[:80]!r}")


def test_db(report, server, db):
    status, headers, body = server.get("/db")
    if status != 200:
        report.add(FAIL, "db", f"status {status}")
    check_headers(report, "db", headers, "json")
    data = parse_json(report, "db", body)
    if isinstance(data, list):
        report.add(FAIL, "db", "a JSON array, expected one World object")
    elif data is not None:
        check_world(report, "db", data)
    if db:
        db.reset_statements()
        for _ in range(COUNT_REQUESTS):
            server.get("/db")
        calls, rows = db.statements("world", "select")
        judge(report, "db", calls, COUNT_REQUESTS, f"SELECTs on world for {COUNT_REQUESTS} requests")
        judge(report, "db", rows, COUNT_REQUESTS, "rows read")


def test_query_cases(report, server, test, path):
    for value, expected_len, level in QUERY_CASES:
        status, headers, body = server.get(path + value)
        if status != 200:
            report.add(level, test, f"{path}{value}: status {status}")
            continue
        check_headers(report, test, headers, "json")
        check_world_list(report, test, body, expected_len, level)


def judge(report, test, result, expected, caption):
    """TechEmpower's rule for a count (display_queries_count_result): below the expected
    number fails, more than 5% above it warns."""
    if result < expected:
        report.add(FAIL, test, f"{caption}: {result:g}, expected {expected}")
    elif result > expected * 1.05:
        report.add(WARN, test, f"{caption}: {result:g}, expected {expected} (excessively high)")


def count_work(report, server, db, test, path, updates):
    """The database work of COUNT_REQUESTS requests of `path`20, counted as TechEmpower's
    verify_queries_count does: every statement naming world (no margin), rows read by
    statements with SELECT, rows written by statements with UPDATE."""
    db.reset_statements()
    for _ in range(COUNT_REQUESTS):
        server.get(path + "20")
    rows_expected = COUNT_REQUESTS * 20
    calls, _ = db.statements("world", "")
    _, rows_read = db.statements("world", "select")
    if not updates:
        judge(report, test, calls, rows_expected, f"statements on world for {COUNT_REQUESTS} requests")
        judge(report, test, rows_read, rows_expected, "rows read")
        return
    # One UPDATE per row (2 statements a row) or one bulk UPDATE per request.
    bulk = abs(calls - (rows_expected + COUNT_REQUESTS)) <= 0.001 * rows_expected
    expected_calls = rows_expected + COUNT_REQUESTS if bulk else 2 * rows_expected
    judge(report, test, calls, expected_calls, f"statements on world for {COUNT_REQUESTS} requests")
    judge(report, test, rows_read, rows_expected, "rows read")
    _, rows_written = db.statements("world", "update")
    judge(report, test, rows_written * (1.05 if bulk else 1), rows_expected, "rows updated")


def test_queries(report, server, db):
    test_query_cases(report, server, "queries", "/queries?queries=")
    if db:
        count_work(report, server, db, "queries", "/queries?queries=", updates=False)


def test_cached(report, server, db):
    test_query_cases(report, server, "cached-queries", "/cached-queries?count=")


def test_updates(report, server, db):
    before = db.world() if db else None
    test_query_cases(report, server, "updates", "/updates?queries=")
    if db:
        after = db.world()
        changed = sum(1 for k, v in before.items() if after.get(k) != v)
        # The 501 and 2 cases updated up to 502 rows; some may get their old value again.
        if changed == 0:
            report.add(FAIL, "updates", "no row of world changed")
        elif changed < 500 * 0.90:
            report.add(FAIL, "updates", f"only {changed} rows of world changed, expected about 500")
        count_work(report, server, db, "updates", "/updates?queries=", updates=True)


class _Tokens(html.parser.HTMLParser):
    """Tags and text of a page, whitespace between tags dropped, entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tokens = []

    def handle_decl(self, decl):
        self.tokens.append(("decl", decl.lower()))

    def handle_starttag(self, tag, attrs):
        self.tokens.append(("start", tag))

    def handle_endtag(self, tag):
        self.tokens.append(("end", tag))

    def handle_data(self, data):
        if data.strip():
            if self.tokens and self.tokens[-1][0] == "text":
                self.tokens[-1] = ("text", self.tokens[-1][1] + data)
            else:
                self.tokens.append(("text", data))


def _tokens(page):
    parser = _Tokens()
    parser.feed(page)
    parser.close()
    return parser.tokens


def expected_fortunes_page():
    rows = sorted(FORTUNES + [ADDED_FORTUNE], key=lambda r: r[1])
    cells = "".join(f"<tr><td>{i}</td><td>{html.escape(m)}</td></tr>" for i, m in rows)
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>")


def test_fortunes(report, server, db):
    status, headers, body = server.get("/fortunes")
    if status != 200:
        report.add(FAIL, "fortunes", f"status {status}")
    check_headers(report, "fortunes", headers, "html")
    try:
        page = body.decode("utf-8")
    except UnicodeDecodeError as e:
        report.add(FAIL, "fortunes", f"body is not UTF-8: {e}")
        return
    got, want = _tokens(page), _tokens(expected_fortunes_page())
    if got != want:
        at = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
        report.add(FAIL, "fortunes", f"page differs from the expected one at token {at}: "
                                     f"got {got[at:at + 3]}, expected {want[at:at + 3]}")
    if "<script>" in page:
        report.add(FAIL, "fortunes", "a message was not HTML-escaped (<script> in the page)")
    if db:
        db.reset_statements()
        for _ in range(COUNT_REQUESTS):
            server.get("/fortunes")
        calls, _ = db.statements("fortune", "select")
        judge(report, "fortunes", calls, COUNT_REQUESTS, f"SELECTs on fortune for {COUNT_REQUESTS} requests")


TESTS = {
    "json": test_json,
    "plaintext": test_plaintext,
    "db": test_db,
    "queries": test_queries,
    "fortunes": test_fortunes,
    "updates": test_updates,
    "cached-queries": test_cached,
}


def verify(base, tests, use_db=True):
    """A Report of `tests` against the server at `base`."""
    server, report = Server(base), Report()
    db = Db() if use_db else None
    for name in tests:
        fn = TESTS[name]
        try:
            fn(report, server) if name in ("json", "plaintext") else fn(report, server, db)
        except (OSError, http.client.HTTPException) as e:
            report.add(FAIL, name, f"request failed: {e!r}")
    return report


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", help="e.g. http://127.0.0.1:8080")
    ap.add_argument("--tests", default=",".join(TESTS), help="comma-separated test types")
    ap.add_argument("--no-db", action="store_true", help="skip the database checks")
    ap.add_argument("--json", help="write the problems here as JSON")
    args = ap.parse_args()
    tests = [t for t in args.tests.split(",") if t]
    unknown = [t for t in tests if t not in TESTS]
    if unknown:
        ap.error(f"unknown test types {unknown}; known: {list(TESTS)}")
    report = verify(args.base, tests, use_db=not args.no_db)
    for name in tests:
        mine = [p for p in report.problems if p["test"] == name]
        verdict = "FAIL" if report.failed(name) else ("warn" if mine else "pass")
        print(f"{name:15} {verdict}")
        for p in mine:
            print(f"    {p['level']}: {p['message']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"base": args.base, "tests": tests, "problems": report.problems,
                       "passed": not report.failed()}, f, indent=1)
    sys.exit(1 if report.failed() else 0)


if __name__ == "__main__":
    main()
