"""TechEmpower's seven test types as a fasterapi app of `def` handlers on a synchronous
driver: psycopg 3 with a connection pool (psycopg_pool), run on each worker's thread pool, as
a FastAPI app written with `def` handlers and a sync driver would be. The multiple-query and
update tests send their SELECTs (one per row, each its own Bind/Execute) in psycopg's pipeline
mode (executemany with returning=True): TechEmpower allows Postgres pipelining (Round 17 on;
their axum entry lists it); what their rules refuse is merging rows into one query (IN).

    python benches/tfb/py/tfb_fasterapi_sync.py --port 8080 --workers 2

Settings: DB_HOST, DB_PORT (db.sh's), TFB_POOL (connections per process, 16 by default).
"""
import argparse
import os
import sys
from contextlib import asynccontextmanager
from random import randint, sample

from psycopg_pool import ConnectionPool

from fasterapi import FasterAPI
from fasterapi.responses import HTMLResponse, PlainTextResponse

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "peers", "py")
sys.path.insert(0, PEERS)  # tfb_common
from tfb_common import ALL_ROWS_SQL, FORTUNES_SQL, POOL_SIZE, TEMPLATE, clamp  # noqa: E402

READ_ROW_SQL = 'SELECT "id", "randomnumber" FROM "world" WHERE id = %s'
WRITE_ROW_SQL = 'UPDATE "world" SET "randomnumber" = %s WHERE id = %s'
pool = None
cache = None


def read_rows(cur, ids):
    """One SELECT of World per id, pipelined: psycopg's executemany sends a Bind/Execute per
    id in pipeline mode, then reads their results (one result set per row, `nextset`)."""
    cur.executemany(READ_ROW_SQL, [(i,) for i in ids], returning=True)


@asynccontextmanager
async def lifespan(app):
    global pool
    conninfo = (f"host={os.getenv('DB_HOST', '127.0.0.1')} port={os.getenv('DB_PORT', '5433')} "
                "user=benchmarkdbuser password=benchmarkdbpass dbname=hello_world")
    # prepare_threshold=0: every statement is prepared on its first use per connection.
    pool = ConnectionPool(conninfo, min_size=POOL_SIZE, max_size=POOL_SIZE, open=True,
                          kwargs={"autocommit": True, "prepare_threshold": 0})
    pool.wait()
    yield
    pool.close()


app = FasterAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/json")
def json_serialization():
    return {"message": "Hello, World!"}


@app.get("/plaintext")
def plaintext():
    return PlainTextResponse(b"Hello, World!")


@app.get("/db")
def single_query():
    row_id = randint(1, 10000)
    with pool.connection() as conn:
        number = conn.execute(READ_ROW_SQL, (row_id,)).fetchone()[1]
    return {"id": row_id, "randomNumber": number}


@app.get("/queries")
def multiple_queries(queries=None):
    ids = sample(range(1, 10001), clamp(queries))
    with pool.connection() as conn:
        with conn.cursor() as cur:
            read_rows(cur, ids)
            worlds = []
            for i in ids:
                worlds.append({"id": i, "randomNumber": cur.fetchone()[1]})
                cur.nextset()
    return worlds


@app.get("/fortunes")
def fortunes():
    with pool.connection() as conn:
        rows = conn.execute(FORTUNES_SQL).fetchall()
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return HTMLResponse(TEMPLATE.render(fortunes=rows))


@app.get("/updates")
def updates(queries=None):
    ids = sorted(sample(range(1, 10001), clamp(queries)))  # id order: no deadlock
    with pool.connection() as conn:
        with conn.cursor() as cur:
            read_rows(cur, ids)
            for _ in ids:
                cur.fetchone()
                cur.nextset()
            pairs = [(randint(1, 10000), i) for i in ids]
            cur.executemany(WRITE_ROW_SQL, pairs)
    return [{"id": i, "randomNumber": number} for number, i in pairs]


@app.get("/cached-queries")
def cached_queries(count=None):
    global cache
    if cache is None:
        # Built whole, then published in one assignment: the pool's other threads see no
        # cache or all of it, never a half-filled one.
        with pool.connection() as conn:
            rows = conn.execute(ALL_ROWS_SQL).fetchall()
        cache = {i: {"id": i, "randomNumber": n} for i, n in rows}
    return [cache[i] for i in sample(range(1, 10001), clamp(count))]


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=int(os.getenv("PORT", "8080")))
    ap.add_argument("--workers", type=int, default=int(os.getenv("WORKERS", "1")))
    args = ap.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=args.workers)
