"""TechEmpower's seven test types as a fasterapi app of `async def` handlers on
`fasterapi.pg`, the framework's own PostgreSQL driver (one pipelined connection per I/O
thread, driven by the loop that serves the requests: fasterapi-py/src/pg.rs). By the rules:
one SELECT per row for the multiple-query and update tests (`fetchmany`: a Bind/Execute/Sync
per row, pipelined, each its own transaction), the fortunes page rendered at request time by
the Jinja2 template the other Python apps use, updates written back with one bulk UPDATE
(`UPDATE ... FROM UNNEST(ids, numbers)`, as the Rust entries, which the rules allow).

    python benches/tfb/py/tfb_fasterapi_pg.py --port 8080 --workers 2

Settings: DB_HOST, DB_PORT (db.sh's).
"""
import argparse
import asyncio
import os
import sys
from contextlib import asynccontextmanager
from random import randint, sample

from fasterapi import FasterAPI, pg
from fasterapi.responses import HTMLResponse, PlainTextResponse

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "peers", "py")
sys.path.insert(0, PEERS)  # tfb_common
from tfb_common import ALL_ROWS_SQL, FORTUNES_SQL, TEMPLATE, clamp  # noqa: E402

READ_ROW_SQL = 'SELECT "id", "randomnumber" FROM "world" WHERE id = $1'
# The ids come sorted (rows locked in id order: concurrent requests cannot deadlock). No
# subquery: a statement with SELECT in it counts as reads in the verifier's tally, as in
# TechEmpower's.
UPDATE_SQL = (
    'UPDATE "world" SET "randomnumber" = v.rn '
    "FROM UNNEST($1::int4[], $2::int4[]) AS v(id, rn) "
    'WHERE "world"."id" = v.id'
)
pool = None
cache = None
filling = None  # the one task that fills the cache: the first requests all wait for it


@asynccontextmanager
async def lifespan(app):
    global pool
    pool = await pg.create_pool(
        host=os.getenv("DB_HOST", "127.0.0.1"), port=int(os.getenv("DB_PORT", "5433")),
        user="benchmarkdbuser", password="benchmarkdbpass", database="hello_world")
    yield
    await pool.close()


app = FasterAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/json")
async def json_serialization():
    return {"message": "Hello, World!"}


@app.get("/plaintext")
async def plaintext():
    return PlainTextResponse(b"Hello, World!")


@app.get("/db")
async def single_query():
    row_id = randint(1, 10000)
    number = await pool.fetchval(READ_ROW_SQL, row_id, column=1)
    return {"id": row_id, "randomNumber": number}


@app.get("/queries")
async def multiple_queries(queries=None):
    ids = sample(range(1, 10001), clamp(queries))
    rows = await pool.fetchmany(READ_ROW_SQL, [(i,) for i in ids])
    return [{"id": r[0], "randomNumber": r[1]} for r in rows]


@app.get("/fortunes")
async def fortunes():
    rows = [tuple(r) for r in await pool.fetch(FORTUNES_SQL)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return HTMLResponse(TEMPLATE.render(fortunes=rows))


@app.get("/updates")
async def updates(queries=None):
    ids = sorted(sample(range(1, 10001), clamp(queries)))  # id order: no deadlock
    await pool.fetchmany(READ_ROW_SQL, [(i,) for i in ids])
    numbers = [randint(1, 10000) for _ in ids]
    await pool.execute(UPDATE_SQL, ids, numbers)
    return [{"id": i, "randomNumber": n} for i, n in zip(ids, numbers)]


async def fill_cache():
    global cache, filling
    try:
        rows = await pool.fetch(ALL_ROWS_SQL)
        cache = {r[0]: {"id": r[0], "randomNumber": r[1]} for r in rows}
    finally:
        if cache is None:  # failed: the next request tries again
            filling = None


@app.get("/cached-queries")
async def cached_queries(count=None):
    global filling
    if cache is None:
        if filling is None:
            filling = asyncio.ensure_future(fill_cache())
        await asyncio.shield(filling)
    return [cache[i] for i in sample(range(1, 10001), clamp(count))]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.getenv("PORT", "8080")))
    ap.add_argument("--workers", type=int, default=int(os.getenv("WORKERS", "1")))
    args = ap.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers)
