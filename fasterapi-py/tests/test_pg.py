"""fasterapi.pg against a real PostgreSQL (benches/tfb/db.sh's, as ./scripts/test starts it:
DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME), through a real server process (app_pg.py)
and real HTTP requests."""

import glob
import json
import os
import shutil
import socket
import subprocess
import threading

import pytest
import requests

from websockets.sync.client import connect

from conftest import Server, get

pytestmark = pytest.mark.skipif(
    "DB_PORT" not in os.environ,
    reason="needs the bench's PostgreSQL: ./scripts/test starts one (benches/tfb/db.sh start, then db.sh env)",
)


@pytest.fixture(scope="module")
def server():
    s = Server("app_pg.py", workers=1)
    yield s
    code = s.stop()
    assert code == 0, "".join(s.log)


def test_a_query_from_the_lifespan_ran_before_serving(server):
    assert get(server, "/version").json()["version"] >= 100000


def test_fetchrow_gives_a_record_by_position_and_by_name(server):
    body = get(server, "/world/7").json()
    assert body["id"] == 7
    assert 1 <= body["randomNumber"] <= 10000
    assert body["len"] == 2
    assert body["keys"] == ["id", "randomnumber"]
    assert body["tuple"] == [7, body["randomNumber"]]
    assert body["repr"] == f"<Record id=7 randomnumber={body['randomNumber']}>"
    assert get(server, "/world/999999").json() == {"row": None}


def test_fetch_returns_every_row(server):
    rows = get(server, "/fortunes").json()
    assert len(rows) == 12
    assert [r[0] for r in rows] == list(range(1, 13))
    assert rows[0][1] == "fortune: No such file or directory"


def test_columns_of_every_supported_type_and_null(server):
    assert get(server, "/types").json() == {
        "a": ["int", 1],
        "b": ["int", 2],
        "c": ["int", 3000000000],
        "d": ["float", 1.5],
        "e": ["float", 2.25],
        "f": ["bool", True],
        "g": ["str", "x"],
        "h": ["str", "y"],
        "i": ["str", "z  "],
        "j": ["str", "n"],
        "k": ["bytes", "00ff"],
        "l": ["NoneType", None],
        "m": ["list", [1, None, 3]],
        "n": ["list", []],
    }


def test_parameters_of_every_supported_type_and_null(server):
    assert get(server, "/params").json() == [
        -5, 2**31 - 1, -(2**62), 0.5, False, "héllo", "0102", [4, 5, 6], True, "v", 1.25,
    ]


def test_fetchval_and_its_column(server):
    assert get(server, "/fetchval").json() == {"first": 1, "second": 2, "none": None, "rows": 5}


@pytest.mark.parametrize(
    "which, sqlstate, text",
    [
        ("missing", "42P01", 'relation "no_such_table" does not exist'),
        ("syntax", "42601", 'syntax error at or near "SELEC"'),
        ("zero", "22012", "division by zero"),
    ],
)
def test_postgres_errors_carry_their_sqlstate_and_leave_the_connection_usable(server, which, sqlstate, text):
    body = get(server, f"/error/{which}").json()
    assert body["error"] == "PostgresError"
    assert body["sqlstate"] == sqlstate
    assert text in body["message"]
    assert body["after"] == 7


@pytest.mark.parametrize(
    "which, error, text",
    [
        ("column", "TypeError", 'column "created" has type timestamptz (oid 1184), which fasterapi.pg does not decode'),
        ("param", "TypeError", "parameter $1 has type date (oid 1082), which fasterapi.pg does not encode"),
        ("wrong", "TypeError", "argument $1 (for a parameter of type int4 (oid 23)): expected an int, got str"),
        ("range", "TypeError", "out of int2's range"),
        ("count", "InterfaceError", "the statement expects 1 argument, 2 given"),
        ("transaction", "NotImplementedError", "fasterapi.pg does not support transactions"),
        ("create_pool", "TypeError", "create_pool does not support ssl"),
        ("recycle", "TypeError", "create_pool does not support max_queries"),
        ("sizes", "ValueError", "got min_size=5, max_size=2"),
        ("set", "NotImplementedError", "fasterapi.pg does not run SET: it would change the connection"),
        ("listen", "NotImplementedError", "fasterapi.pg does not run LISTEN"),
        ("silent", "InterfaceError", "did not answer the startup handshake within 50ms (connect_timeout)"),
        ("password", "PostgresError", "password authentication failed"),
    ],
)
def test_what_is_not_supported_is_refused_with_an_error_naming_it(server, which, error, text):
    body = get(server, f"/refused/{which}").json()
    assert body["error"] == error
    assert text in body["message"]
    assert body["after"] == 8


def test_a_def_handler_is_refused(server):
    body = get(server, "/sync").json()
    assert body["error"] == "RuntimeError"
    assert "`def` handlers run on the worker pool" in body["message"]


def test_a_gather_of_queries_leaves_in_one_write(server):
    # A statement text new to the connection: its Parse + Describe first (one write),
    # then the twenty queries that waited for it (one write).
    body = get(server, "/gather/20?fresh=one").json()
    assert body == {"writes": 2, "ids": list(range(1, 21))}
    for n in (20, 1, 50):
        body = get(server, f"/gather/{n}?fresh=one").json()
        assert body == {"writes": 1, "ids": list(range(1, n + 1))}


def test_calls_are_coroutines_that_every_asyncio_api_takes(server):
    assert get(server, "/coroutines").json() == {
        "await": 1,
        "create_task": 2,
        "gather": [3, 4, [5], [6, 7]],
        "wait_for": 8,
        "ensure_future": "SELECT 1",
        "acquired": 9,
        "iscoroutine": True,
        "value": 10,
        "again": "cannot reuse already awaited coroutine",
    }


def test_a_call_sends_nothing_before_its_first_step_and_gives_up_when_closed(server):
    body = get(server, "/unawaited").json()
    assert body == {
        "made": True,
        "warned": ["coroutine 'Pool.execute' was never awaited: fasterapi.pg sent nothing"],
        "fresh": [False, True],
        "closed_waiting": True,
        "cancelled": True,
        "rows": 0,
        "after": 13,
        "in_flight": 0,
    }


def test_prepared_statements_stay_within_the_cache_on_both_sides(server):
    # 300 texts past a cache of 256: the least recently used are closed on the server.
    body = get(server, "/statements/300").json()
    assert body["values_ok"] is True
    assert 200 <= body["client"] <= 256
    assert body["server"] <= 256
    assert body["server"] == body["client"]


def test_fetchmany_executemany_and_execute_through_acquire(server):
    assert get(server, "/many").json() == {
        "ids": [3, 1, 2],
        "atomic": "23505",
        "status": "UPDATE 2",
        "items": [[1, "A"], [2, "B"]],
    }


def test_closing_a_pool_fails_its_calls_in_flight_and_later_ones(server):
    body = get(server, "/close_in_flight").json()
    for name in ("prepared", "preparing"):
        assert body[name]["error"] == "InterfaceError", body
        assert "the pool was closed" in body[name]["message"]
    assert body["after"]["error"] == "InterfaceError"
    assert "the pool is closed" in body["after"]["message"]


def test_closing_a_pool_inside_a_task_fails_the_calls_of_other_tasks_where_asyncio_keeps_tasks_elsewhere():
    # asyncio as 3.14 has it (current_task() not reading asyncio.tasks._current_tasks):
    # the calls in flight are other tasks', failed from the closing task; each is woken
    # through the loop, not stepped inside that task (which asyncio refuses).
    s = Server("app_pg.py", workers=1, args=("asyncio-3.14",))
    try:
        body = get(s, "/close_in_flight").json()
        for name in ("prepared", "preparing"):
            assert body[name]["error"] == "InterfaceError", body
        assert body["after"]["error"] == "InterfaceError"
    finally:
        code = s.stop()
    assert code == 0, "".join(s.log)
    assert "error resuming a task" not in "".join(s.log)


def psql():
    """A psql session of the test's own on the test database, reading SQL from its stdin."""
    found = shutil.which("psql") or sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
    return subprocess.Popen(
        [found, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", os.environ.get("DB_HOST", "127.0.0.1"),
         "-p", os.environ["DB_PORT"], "-U", os.environ["DB_USER"], "-d", os.environ["DB_NAME"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PGPASSWORD": os.environ["DB_PASSWORD"]},
    )


def test_a_request_waiting_on_the_database_does_not_stall_the_others(server):
    # A session of the test's own locks pg_test_lock; /wait_lock's query waits for it.
    # /waiting answers once PostgreSQL shows that wait; only then does the session let go:
    # /wait_lock answers only if /waiting was served while it waited.
    holder = psql()
    try:
        holder.stdin.write("CREATE TABLE IF NOT EXISTS pg_test_lock (id int4);\n")
        holder.stdin.write("BEGIN; LOCK TABLE pg_test_lock IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == "locked\n"
        answers = {}
        waiter = threading.Thread(target=lambda: answers.update(wait=get(server, "/wait_lock").json()))
        waiter.start()
        assert get(server, "/waiting").json() == {"waiting": True}
        holder.stdin.write("COMMIT;\n")
        holder.stdin.flush()
        waiter.join()
        assert answers["wait"] == {"rows": 0}
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0


def test_a_connection_being_opened_does_not_stall_the_other_routes(server):
    # A server that accepts and never answers: the database route waits for its
    # handshake. A plain route answers meanwhile; only then does that server close the
    # connection, which is what ends the database route: it answers only if the plain
    # route was served while it waited (its timeout, 60 s, is past the test's).
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        answers = {}
        waiter = threading.Thread(
            target=lambda: answers.update(db=get(server, f"/silent/{port}", params={"timeout": 60}).json())
        )
        waiter.start()
        accepted, _ = listener.accept()
        with accepted:
            accepted.settimeout(10)
            assert accepted.recv(4096)  # the startup message: the handshake has begun
            assert get(server, "/version").json()["version"] >= 100000
        waiter.join()
    for call in answers["db"]:
        assert call["error"] == "InterfaceError", answers
        assert "the server closed the connection during the startup handshake" in call["message"]


def test_a_host_name_is_looked_up_without_holding_the_io_thread(server):
    # The app's resolver waits at a gate for this name. A plain route answers while the
    # lookup waits; only then is the gate released, which is what ends the database
    # route: it answers only if the plain route was served while the lookup hung.
    name = "db-looked-up.pgdrv.test"
    answers = {}
    waiter = threading.Thread(target=lambda: answers.update(db=get(server, f"/lookup/{name}").json()))
    waiter.start()
    try:
        assert get(server, f"/lookup_entered/{name}").json() == {"entered": True}
        assert get(server, "/version").json()["version"] >= 100000
    finally:
        get(server, f"/lookup_release/{name}")
        waiter.join()
    assert answers["db"] == {"value": 42}


def test_a_lookup_that_fails_or_outlasts_the_timeout_fails_the_calls_naming_the_host(server):
    port = os.environ["DB_PORT"]
    name = "db-unknown.pgdrv.test"
    answers = {}
    waiter = threading.Thread(target=lambda: answers.update(db=get(server, f"/lookup/{name}?fail=true").json()))
    waiter.start()
    assert get(server, f"/lookup_entered/{name}").json() == {"entered": True}
    get(server, f"/lookup_release/{name}")
    waiter.join()
    assert answers["db"]["error"] == "InterfaceError", answers
    assert f"{name}:{port}: [Errno -2] Name or service not known" in answers["db"]["message"]
    # A lookup that never ends: the calls fail at the connect timeout.
    name = "db-hung.pgdrv.test"
    try:
        body = get(server, f"/lookup/{name}?timeout=0.05").json()
    finally:
        get(server, f"/lookup_release/{name}")
    assert body["error"] == "InterfaceError", body
    assert f"{name}:{port}: the host name was not looked up within 50ms (connect_timeout)" in body["message"]


def test_the_calls_waiting_for_a_connection_fail_at_its_timeout(server):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        body = get(server, f"/silent/{port}", params={"timeout": 0.05}).json()
    assert [c["error"] for c in body] == ["InterfaceError", "InterfaceError"]
    for call in body:
        assert (
            f"127.0.0.1:{port}: the server did not answer the startup handshake within 50ms (connect_timeout)"
            in call["message"]
        )


def test_a_unix_socket_server_that_accepts_nothing_fails_the_call_at_once(server, tmp_path):
    # Its listen backlog is full: a blocking connect would wait for it to accept, with no
    # timeout, the I/O thread and the GIL held; the call fails at once instead, and the
    # server answers.
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / ".s.PGSQL.5432"))
    listener.listen(0)
    queued = []
    try:
        while True:
            client = socket.socket(socket.AF_UNIX)
            client.setblocking(False)
            queued.append(client)
            try:
                client.connect(str(tmp_path / ".s.PGSQL.5432"))
            except BlockingIOError:
                break
        body = get(server, "/unix", params={"dir": str(tmp_path)}).json()
    finally:
        for client in queued:
            client.close()
        listener.close()
    assert body["error"] == "InterfaceError", body
    assert f"{tmp_path}/.s.PGSQL.5432: Resource temporarily unavailable" in body["message"], body


@pytest.mark.parametrize(
    "sql, what",
    [
        ("SELECT set_config('application_name', 'changed', false)", "set_config()"),
        ("select pg_catalog.SET_CONFIG('application_name', 'changed', false)", "set_config()"),
        ("SELECT \"set_config\"('application_name', 'changed', false)", "set_config()"),
        ("SELECT pg_advisory_lock(1818)", "pg_advisory_lock()"),
        ("SELECT pg_advisory_lock_shared($$x$$::regclass::int8)", "pg_advisory_lock_shared()"),
        ("SELECT pg_try_advisory_lock (1818)", "pg_try_advisory_lock()"),
        ("SELECT 1 WHERE pg_try_advisory_lock_shared/* why */(1818)", "pg_try_advisory_lock_shared()"),
        ("SELECT pg_advisory_xact_lock(1818)", "pg_advisory_xact_lock()"),
        ("/* first */ SET application_name = 'changed'", "SET"),
        # It would drop the statements that every request of the thread has prepared.
        ("DEALLOCATE ALL", "DEALLOCATE"),
        ("PREPARE q AS SELECT 1", "PREPARE"),
        # Another request may have called nextval() on the shared connection since.
        ("SELECT currval('pg_test_seq')", "currval()"),
        ("SELECT nextval('pg_test_seq') + 0 * lastval()", "lastval()"),
        ("SELECT setseed(0.5)", "setseed()"),
        # A temporary object lives as long as the shared connection.
        ("CREATE TEMP TABLE pg_test_temp (id int4)", "CREATE TEMP TABLE"),
        ("create global temporary table pg_test_temp AS SELECT 1 AS a", "CREATE TEMPORARY TABLE"),
        ("CREATE OR REPLACE TEMP VIEW pg_test_temp AS SELECT 1", "CREATE TEMP VIEW"),
        ("SELECT 1 AS a INTO TEMP pg_test_temp", "SELECT ... INTO TEMP"),
    ],
)
def test_statements_that_change_the_shared_session_are_refused_naming_what(server, sql, what):
    body = get(server, "/session", params={"sql": sql}).json()
    assert body["value"]["error"] == "NotImplementedError", body
    assert f"fasterapi.pg does not run {what}: " in body["value"]["message"], body
    assert (body["locks"], body["application_name"], body["temp"]) == (0, "", False), body


@pytest.mark.parametrize(
    "sql, value",
    [
        ("SELECT 'set_config(''application_name'', ''changed'', false)'", "set_config('application_name', 'changed', false)"),
        ("SELECT E'it\\'s pg_advisory_lock(1818)'", "it's pg_advisory_lock(1818)"),
        ('SELECT 3 AS "pg_advisory_lock(1818)"', 3),
        ("SELECT 4 -- pg_advisory_lock(1818)\n", 4),
        ("SELECT /* set_config( /* nested */ pg_advisory_lock(1818) */ 5", 5),
        ("SELECT $$pg_try_advisory_lock(1818)$$", "pg_try_advisory_lock(1818)"),
        ("SELECT $t$set_config('application_name', 'changed', false)$t$", "set_config('application_name', 'changed', false)"),
        ("SELECT current_setting('application_name') || 'set_config'", "set_config"),
        # A table or an alias named like one, with its columns, is not a call.
        ("WITH set_config (a) AS (SELECT 6) SELECT a FROM set_config", 6),
        ("SELECT 'currval(1); CREATE TEMP TABLE t' /* lastval() setseed(1) */", "currval(1); CREATE TEMP TABLE t"),
        ('SELECT 7 AS "currval"', 7),
    ],
)
def test_the_names_in_literals_identifiers_and_comments_are_not_calls(server, sql, value):
    body = get(server, "/session", params={"sql": sql}).json()
    assert body == {"value": value, "locks": 0, "application_name": "", "temp": False}


def test_a_killed_backend_fails_the_query_in_flight_clearly_then_the_pool_reconnects(server):
    pid = get(server, "/pid").json()["pid"]
    answers = {}
    sleeper = threading.Thread(target=lambda: answers.update(sleep=requests.get(server.url + "/sleep", timeout=60).json()))
    sleeper.start()
    # /kill terminates the backend once it runs /sleep's query.
    assert get(server, f"/kill/{pid}").json() == {"killed": True}
    sleeper.join()
    assert answers["sleep"]["error"] == "PostgresError"
    assert answers["sleep"]["sqlstate"] == "57P01"
    assert "terminating connection due to administrator command" in answers["sleep"]["message"]
    new_pid = get(server, "/pid").json()["pid"]
    assert new_pid != pid
    assert get(server, "/world/3").json()["id"] == 3


def test_a_websocket_handler_queries_between_its_messages(server):
    expected = {i: get(server, f"/world/{i}").json()["randomNumber"] for i in (10, 11, 20, 21)}
    with connect(server.url.replace("http://", "ws://") + "/ws/world") as ws:
        for i in (10, 20):
            ws.send(str(i))
            assert json.loads(ws.recv(timeout=10)) == [[i, expected[i]], [i + 1, expected[i + 1]]]


def test_a_parameter_larger_than_the_socket_buffers_is_sent_whole(server):
    # 64 MiB: more than the kernel's send and receive buffers hold (tcp_wmem/tcp_rmem's
    # maximum are 4 and 6 MiB by default), so the first write cannot take it all.
    r = requests.get(server.url + "/big/64", timeout=60)
    assert r.json() == {"length": 64 * 1024 * 1024}


def test_sql_with_a_nul_byte_is_refused_and_the_connection_stays_usable(server):
    body = get(server, "/nul").json()
    assert body["error"] == "InterfaceError", body
    assert "nul" in body["message"].lower(), body
    assert body["after"] == 8


def test_a_statement_whose_table_changed_shape_is_prepared_again(server):
    # PostgreSQL refuses to run a prepared statement whose result columns changed
    # ("cached plan must not change result type", 0A000): the cached statement is
    # dropped, so that the call after it is prepared anew (asyncpg re-prepares too)
    # instead of every later call failing the same way.
    body = get(server, "/altered").json()
    assert body["before"] == [[1]]
    last = body["after"][-1]
    assert last == {"rows": [[1, 2]], "keys": ["a", "b"]}, body


def test_a_statement_that_leaves_a_transaction_open_is_refused(server):
    # The connection is shared by every handler of the thread: a BEGIN that stayed open
    # would put the next calls' statements (other requests') in its transaction, answered
    # as done though never committed. The BEGIN fails and its connection is closed (which
    # rolls it back); the next call runs on a new connection, committed.
    body = get(server, "/begin").json()
    assert body["began"]["error"] == "InterfaceError", body
    assert "transaction" in body["began"]["message"], body
    assert body["inserted"] == "INSERT 0 1"
    assert body["seen"] == 1, body


@pytest.mark.parametrize("direction", ["in", "out"])
def test_copy_sent_as_a_statement_is_refused_naming_it(server, direction):
    body = get(server, f"/copy/{direction}").json()
    assert body["error"] == "InterfaceError", body
    assert "COPY" in body["message"], body
    assert body["after"] == 9
