"""`fasterapi.pg` against a real PostgreSQL: the app of test_pg.py.

    python app_pg.py PORT WORKERS      (DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME:
                                        the database of benches/tfb/db.sh)

Two pools: `db` serves the routes, `other` (a second connection) takes locks and
terminates `db`'s backend, so that a test can make one request depend on another.
"""

import asyncio
import gc
import os
import socket
import sys
import threading
import warnings
from contextlib import asynccontextmanager

from fasterapi import FasterAPI, WebSocket, WebSocketDisconnect

if sys.argv[3:] == ["asyncio-3.14"]:
    # asyncio shaped as Python 3.14's: its C module keeps the current task elsewhere
    # than asyncio.tasks._current_tasks (per thread) and has no _current_tasks.
    import _asyncio
    import asyncio.tasks

    _read = _asyncio._current_tasks
    del _asyncio._current_tasks
    asyncio.tasks._current_tasks = {}

    def _current_task(loop=None):
        return _read.get(asyncio.get_running_loop() if loop is None else loop)

    asyncio.current_task = asyncio.tasks.current_task = _current_task

from fasterapi import pg  # noqa: E402

DSN = (
    f"postgres://{os.environ['DB_USER']}:{os.environ['DB_PASSWORD']}@"
    f"{os.environ.get('DB_HOST', '127.0.0.1')}:{os.environ['DB_PORT']}/{os.environ['DB_NAME']}"
)
pools = {}

# A resolver the tests control: a name of `gates` is looked up only once its gate is
# released (then as the database's address, or failing), the others as usual.
gates = {}
_getaddrinfo = socket.getaddrinfo


def _gated_getaddrinfo(host, *args, **kwargs):
    gate = gates.get(host)
    if gate is None:
        return _getaddrinfo(host, *args, **kwargs)
    gate["entered"].set()
    gate["release"].wait()
    if gate["fail"]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _getaddrinfo(os.environ.get("DB_HOST", "127.0.0.1"), *args, **kwargs)


socket.getaddrinfo = _gated_getaddrinfo


def gate(name):
    """`name`'s gate (made by whichever of the test's requests comes first)."""
    return gates.setdefault(name, {"entered": threading.Event(), "release": threading.Event(), "fail": False})


@asynccontextmanager
async def lifespan(app):
    pools["db"] = await pg.create_pool(DSN, min_size=1, max_size=4)
    pools["other"] = await pg.create_pool(
        host=os.environ.get("DB_HOST", "127.0.0.1"),
        port=int(os.environ["DB_PORT"]),
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        database=os.environ["DB_NAME"],
    )
    # A query from the lifespan, before the server serves.
    pools["version"] = await pools["db"].fetchval("SELECT current_setting('server_version_num')::int4")
    await pools["db"].execute("CREATE TABLE IF NOT EXISTS pg_test_item (id int4 PRIMARY KEY, name text)")
    await pools["db"].execute("TRUNCATE pg_test_item")
    yield
    await pools["db"].close()
    await pools["other"].close()


app = FasterAPI(lifespan=lifespan)


def err(e):
    return {"error": type(e).__name__, "sqlstate": getattr(e, "sqlstate", None), "message": str(e)}


@app.get("/version")
async def version():
    return {"version": pools["version"]}


@app.get("/world/{id}")
async def world(id: int):
    row = await pools["db"].fetchrow("SELECT id, randomnumber FROM world WHERE id = $1", id)
    if row is None:
        return {"row": None}
    return {"id": row[0], "randomNumber": row["randomnumber"], "len": len(row), "keys": row.keys(),
            "tuple": list(row), "repr": repr(row)}


@app.get("/fortunes")
async def fortunes():
    rows = await pools["db"].fetch("SELECT id, message FROM fortune ORDER BY id")
    return [[r["id"], r["message"]] for r in rows]


@app.get("/types")
async def types():
    row = await pools["db"].fetchrow(
        "SELECT 1::int2 AS a, 2::int4 AS b, 3000000000::int8 AS c, 1.5::float4 AS d, 2.25::float8 AS e,"
        " true AS f, 'x'::text AS g, 'y'::varchar AS h, 'z'::char(3) AS i, 'n'::name AS j,"
        " '\\x00ff'::bytea AS k, NULL::int4 AS l, ARRAY[1, NULL, 3]::int4[] AS m, '{}'::int4[] AS n"
    )
    return {k: [type(v).__name__, v if not isinstance(v, bytes) else v.hex()] for k, v in row.items()}


@app.get("/params")
async def params():
    row = await pools["db"].fetchrow(
        "SELECT $1::int2, $2::int4, $3::int8, $4::float8, $5::bool, $6::text, $7::bytea, $8::int4[],"
        " $9::int4 IS NULL, $10::varchar, $11::float4",
        -5, 2**31 - 1, -(2**62), 0.5, False, "héllo", b"\x01\x02", [4, 5, 6], None, "v", 1.25,
    )
    return [v if not isinstance(v, bytes) else v.hex() for v in row]


@app.get("/fetchval")
async def fetchval():
    db = pools["db"]
    return {
        "first": await db.fetchval("SELECT 1, 2"),
        "second": await db.fetchval("SELECT 1, 2", column=1),
        "none": await db.fetchval("SELECT 1 WHERE false"),
        "rows": len(await db.fetch("SELECT id FROM world WHERE id <= $1", 5)),
    }


@app.get("/error/{which}")
async def error(which: str):
    sql = {
        "missing": "SELECT * FROM no_such_table",
        "syntax": "SELEC 1",
        "zero": "SELECT 1 / $1::int4",
    }[which]
    try:
        await pools["db"].fetch(sql, *([0] if which == "zero" else []))
    except pg.PostgresError as e:
        # The connection is still good.
        return {**err(e), "after": await pools["db"].fetchval("SELECT 7")}
    return {"error": None}


@app.get("/refused/{which}")
async def refused(which: str):
    db = pools["db"]
    try:
        if which == "column":
            await db.fetchval("SELECT now() AS created")
        elif which == "param":
            await db.fetchval("SELECT $1::date", "2020-01-01")
        elif which == "wrong":
            await db.fetchval("SELECT $1::int4", "7")
        elif which == "range":
            await db.fetchval("SELECT $1::int2", 70000)
        elif which == "count":
            await db.fetchval("SELECT $1::int4", 1, 2)
        elif which == "transaction":
            async with db.acquire() as conn:
                conn.transaction()
        elif which == "create_pool":
            await pg.create_pool(DSN, ssl=True)
        elif which == "recycle":
            await pg.create_pool(DSN, max_queries=50000)
        elif which == "sizes":
            await pg.create_pool(DSN, min_size=5, max_size=2)
        elif which == "set":
            await db.execute("  set search_path TO public")
        elif which == "listen":
            await db.execute("LISTEN some_channel;")
        elif which == "silent":
            # A listener that completes TCP's handshake and never says a word.
            with socket.socket() as listener:
                listener.bind(("127.0.0.1", 0))
                listener.listen()
                await pg.create_pool(host="127.0.0.1", port=listener.getsockname()[1],
                                     user="u", password="p", database="d", timeout=0.05)
        elif which == "password":
            await pg.create_pool(DSN.replace(os.environ["DB_PASSWORD"], "wrong"))
    except Exception as e:
        return {**err(e), "after": await db.fetchval("SELECT 8")}
    return {"error": None}


@app.get("/sync")
def sync_handler():
    try:
        pools["db"].fetchval("SELECT 1")
    except Exception as e:
        return err(e)
    return {"error": None}


@app.get("/gather/{n}")
async def gather(n: int, fresh: str = ""):
    """`n` fetchrows at once: their statements leave in one write (two for a statement
    text this connection has not prepared: its Parse first). `fresh` makes the text new."""
    db = pools["db"]
    sql = f"SELECT id, randomnumber FROM world WHERE id = $1 {'-- ' + fresh if fresh else ''}"
    before = db._stats()["writes"]
    rows = await asyncio.gather(*(db.fetchrow(sql, i) for i in range(1, n + 1)))
    after = db._stats()["writes"]
    return {"writes": after - before, "ids": [r["id"] for r in rows]}


@app.get("/many")
async def many():
    db = pools["db"]
    rows = await db.fetchmany("SELECT id, randomnumber FROM world WHERE id = $1", [(3,), (1,), [2]])
    async with db.acquire() as conn:
        await conn.executemany("INSERT INTO pg_test_item VALUES ($1, $2)", [(1, "a"), (2, "b")])
        try:
            # Atomic, as asyncpg's: the duplicate fails all three.
            await conn.executemany("INSERT INTO pg_test_item VALUES ($1, $2)", [(3, "c"), (1, "dup"), (4, "d")])
            atomic = None
        except pg.PostgresError as e:
            atomic = e.sqlstate
        status = await conn.execute("UPDATE pg_test_item SET name = upper(name) WHERE id <= $1", 2)
        items = await conn.fetch("SELECT id, name FROM pg_test_item ORDER BY id")
        await conn.execute("TRUNCATE pg_test_item")
    return {"ids": [r[0] for r in rows], "atomic": atomic, "status": status,
            "items": [list(r) for r in items]}


@app.get("/statements/{n}")
async def statements(n: int):
    """`n` distinct SQL texts, one after the other: the connection keeps at most its cache's
    worth prepared, on both sides."""
    db = pools["db"]
    values = [await db.fetchval(f"SELECT {i}::int4 AS v{i}") for i in range(n)]
    return {
        "values_ok": values == list(range(n)),
        "server": await db.fetchval("SELECT count(*)::int4 FROM pg_prepared_statements"),
        "client": db._stats()["statements"],
    }


@app.get("/close_in_flight")
async def close_in_flight():
    """A pool closed while calls of it are in flight: a statement it has prepared and one
    it is preparing. Both fail, clearly, and so does a call after."""
    extra = await pg.create_pool(DSN)
    await extra.fetchval("SELECT 1")  # this thread's connection is open, SELECT 1 prepared
    # Closed in the same turn as the calls are queued: no answer can have been read.
    prepared = asyncio.ensure_future(extra.fetchval("SELECT 1"))
    preparing = asyncio.ensure_future(extra.fetchval("SELECT 2"))
    await asyncio.sleep(0)  # both calls take their first step: queued
    await extra.close()
    out = {}
    for name, call in (("prepared", prepared), ("preparing", preparing)):
        try:
            out[name] = {"result": await call}
        except Exception as e:
            out[name] = err(e)
    try:
        await extra.fetchval("SELECT 1")
    except Exception as e:
        out["after"] = err(e)
    return out


@app.get("/coroutines")
async def coroutines():
    """Every call goes wherever an asyncpg call (a coroutine) goes."""
    db = pools["db"]
    sql = "SELECT id FROM world WHERE id = $1"
    out = {"await": await db.fetchval(sql, 1)}
    out["create_task"] = await asyncio.create_task(db.fetchval(sql, 2))
    rows = await asyncio.gather(db.fetchval(sql, 3), db.fetchrow(sql, 4), db.fetch(sql, 5),
                                db.fetchmany(sql, [(6,), (7,)]))
    out["gather"] = [rows[0], rows[1]["id"], [r["id"] for r in rows[2]], [r["id"] for r in rows[3]]]
    out["wait_for"] = await asyncio.wait_for(db.fetchval(sql, 8), timeout=60)
    out["ensure_future"] = await asyncio.ensure_future(db.execute("SELECT 1"))
    async with db.acquire() as conn:
        out["acquired"] = await asyncio.create_task(conn.fetchval(sql, 9))
    call = db.fetchval(sql, 10)
    out["iscoroutine"] = asyncio.iscoroutine(call)
    out["value"] = await call
    try:
        await call
    except RuntimeError as e:
        out["again"] = str(e)
    return out


@app.get("/unawaited")
async def unawaited():
    """Calls made and never stepped send nothing; one closed un-awaited leaves nothing
    behind; one closed or cancelled while it waits has its answer dropped."""
    db = pools["db"]
    await db.execute("TRUNCATE pg_test_item")
    insert = "INSERT INTO pg_test_item VALUES ($1, 'never')"
    before = db._stats()
    made = [db.execute(insert, 100), db.executemany(insert, [(101,)]), db.fetchval("SELECT 1")]
    out = {"made": db._stats() == before}
    for call in made:
        call.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db.execute(insert, 102)  # dropped at once, never awaited
        gc.collect()
    out["warned"] = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    # A pool whose thread connection is not open: a call closed un-awaited opens none.
    fresh = pg.Pool("127.0.0.1", 1, "u", "p", "d", 60.0)
    fresh.fetchval("SELECT 1").close()
    out["fresh"] = [fresh._opening()]
    stepped = fresh.fetchval("SELECT 1")
    stepped.send(None)  # its first step: the connection is being opened
    out["fresh"].append(fresh._opening())
    stepped.close()
    fresh.terminate()
    # Stepped by hand: the first step yields the future it waits on; closing the call
    # then cancels it.
    call = db.fetchval("SELECT id FROM world WHERE id = $1", 11)
    future = call.send(None)
    call.close()
    out["closed_waiting"] = future.cancelled()
    task = asyncio.create_task(db.fetchval("SELECT id FROM world WHERE id = $1", 12))
    await asyncio.sleep(0)  # the task's first step: the call is queued
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        out["cancelled"] = True
    # The connection goes on, answers in order: nothing of the above was run.
    out["rows"] = await db.fetchval("SELECT count(*)::int4 FROM pg_test_item")
    out["after"] = await db.fetchval("SELECT id FROM world WHERE id = $1", 13)
    out["in_flight"] = db._stats()["in_flight"]
    return out


@app.get("/lookup/{name}")
async def lookup(name: str, timeout: float = 60.0, fail: bool = False):
    """A call of a pool whose host is `name`, looked up by the gated resolver: answers once
    the test releases the gate (`/lookup_release`), or at the timeout."""
    gate(name)["fail"] = fail
    pool = pg.Pool(name, int(os.environ["DB_PORT"]), os.environ["DB_USER"], os.environ["DB_PASSWORD"],
                   os.environ["DB_NAME"], timeout)
    try:
        return {"value": await pool.fetchval("SELECT 41 + 1")}
    except Exception as e:
        return err(e)
    finally:
        pool.terminate()


@app.get("/lookup_entered/{name}")
async def lookup_entered(name: str):
    """Answers once the resolver is looking `name` up (and waits at its gate)."""
    entered = await asyncio.get_running_loop().run_in_executor(None, gate(name)["entered"].wait, 10)
    return {"entered": entered}


@app.get("/lookup_release/{name}")
async def lookup_release(name: str):
    gate(name)["release"].set()
    return {"released": True}


@app.websocket("/ws/world")
async def ws_world(websocket: WebSocket):
    """Each message is an id; the answer is its World row's number, queried from the
    WebSocket's message handler (statements queued outside a turn of the loop)."""
    await websocket.accept()
    try:
        while True:
            row_id = int(await websocket.receive_text())
            rows = await asyncio.gather(*(pools["db"].fetchrow("SELECT id, randomnumber FROM world WHERE id = $1", i)
                                          for i in (row_id, row_id + 1)))
            await websocket.send_json([[r["id"], r["randomnumber"]] for r in rows])
    except WebSocketDisconnect:
        pass


@app.get("/wait_lock")
async def wait_lock():
    """Reads pg_test_lock, which the test's own session (psql) made and holds locked:
    answers only once that session lets go."""
    return {"rows": await pools["db"].fetchval("SELECT count(*) FROM pg_test_lock")}


@app.get("/waiting")
async def waiting():
    """Answers once PostgreSQL shows `db`'s backend waiting for pg_test_lock's lock."""
    while not await pools["other"].fetchval(
        "SELECT count(*) > 0 FROM pg_locks WHERE relation = 'pg_test_lock'::regclass AND NOT granted"
    ):
        await asyncio.sleep(0.005)
    return {"waiting": True}


@app.get("/silent/{port}")
async def silent(port: int, timeout: float):
    """Two calls of a pool whose server (the test's listener on `port`) never answers:
    both wait for the one connection being opened, and fail with its error."""
    # As create_pool makes it, before it opens the thread's connection.
    pool = pg.Pool("127.0.0.1", port, "u", "p", "d", timeout)
    results = await asyncio.gather(pool.fetchval("SELECT 1"), pool.fetchval("SELECT 2"), return_exceptions=True)
    return [err(r) for r in results]


@app.get("/unix")
async def unix(dir: str):
    """A call of a pool whose server is the unix socket in `dir` (the test's, which accepts
    nothing: its backlog is full)."""
    pool = pg.Pool(dir, 5432, "u", "p", "d", 60.0)
    try:
        await pool.fetchval("SELECT 1")
    except Exception as e:
        return err(e)
    return {"error": None}


@app.get("/session")
async def session(sql: str):
    """Runs `sql` (refused or not), then shows whether it changed `db`'s session: the
    advisory locks it holds, its application_name."""
    db = pools["db"]
    try:
        value = await db.fetchval(sql)
    except Exception as e:
        value = err(e)
    after = await db.fetchrow(
        "SELECT count(*) AS locks, current_setting('application_name') AS name,"
        " pg_my_temp_schema() <> 0 AS temp"
        " FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    return {"value": value, "locks": after["locks"], "application_name": after["name"], "temp": after["temp"]}


@app.get("/pid")
async def pid():
    return {"pid": await pools["db"].fetchval("SELECT pg_backend_pid()")}


@app.get("/sleep")
async def sleep():
    try:
        await pools["db"].fetchval("SELECT pg_sleep(60)")
    except Exception as e:
        return err(e)
    return {"error": None}


@app.get("/kill/{pid}")
async def kill(pid: int):
    """Terminates backend `pid` once it is running /sleep's query."""
    other = pools["other"]
    while not await other.fetchval(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
        pid,
    ):
        await asyncio.sleep(0.005)
    return {"killed": await other.fetchval("SELECT pg_terminate_backend($1)", pid)}


@app.get("/big/{mib}")
async def big(mib: int):
    # One parameter larger than the socket buffers take in one write: the rest of the
    # statement must still leave, though no answer comes before all of it has.
    data = b"\x01" * (mib * 1024 * 1024)
    return {"length": await pools["db"].fetchval("SELECT length($1::bytea)", data)}


@app.get("/nul")
async def nul():
    try:
        await pools["db"].fetchval("SELECT 1\x00")
    except Exception as e:  # refused: an error, and the connection stays usable
        return {**err(e), "after": await pools["db"].fetchval("SELECT 8")}
    return {"error": None}


@app.get("/altered")
async def altered():
    """A cached statement's table changes shape under it (a migration while serving)."""
    db = pools["db"]
    await db.execute("DROP TABLE IF EXISTS pg_test_shape")
    await db.execute("CREATE TABLE pg_test_shape (a int4)")
    await db.execute("INSERT INTO pg_test_shape VALUES (1)")
    before = [list(r) for r in await db.fetch("SELECT * FROM pg_test_shape")]
    await db.execute("ALTER TABLE pg_test_shape ADD COLUMN b int4 DEFAULT 2")
    answers = []
    for _ in range(2):
        try:
            rows = await db.fetch("SELECT * FROM pg_test_shape")
            answers.append({"rows": [list(r) for r in rows], "keys": list(rows[0].keys())})
        except pg.PostgresError as e:
            answers.append(err(e))
    return {"before": before, "after": answers}


@app.get("/begin")
async def begin():
    """A raw BEGIN on the shared connection, then another call's insert."""
    db = pools["db"]
    await db.execute("CREATE TABLE IF NOT EXISTS pg_test_tx (id int4)")
    await db.execute("TRUNCATE pg_test_tx")
    try:
        began = {"status": await db.execute("BEGIN")}
    except Exception as e:
        began = err(e)
    inserted = await db.execute("INSERT INTO pg_test_tx VALUES (1)")
    # Another connection sees what was committed.
    seen = await pools["other"].fetchval("SELECT count(*)::int4 FROM pg_test_tx")
    return {"began": began, "inserted": inserted, "seen": seen}


@app.get("/copy/{direction}")
async def copy(direction: str):
    sql = {"in": "COPY pg_test_item FROM STDIN", "out": "COPY pg_test_item TO STDOUT"}[direction]
    try:
        await pools["db"].execute(sql)
    except Exception as e:
        return {**err(e), "after": await pools["db"].fetchval("SELECT 9")}
    return {"error": None}


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), workers=int(sys.argv[2]))
