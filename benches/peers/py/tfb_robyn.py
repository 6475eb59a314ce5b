"""TechEmpower's seven test types on Robyn (async handlers, asyncpg, Jinja2). Robyn's entry in
TechEmpower's repository (frameworks/Python/robyn) has only JSON and plaintext; the database
tests follow the FastAPI entry's way (tfb_fastapi.py): one asyncpg pool per process opened at
startup, prepared statements, one SELECT per row, updates in id order.

    PORT=8080 python tfb_robyn.py --processes 2 --workers 1 --log-level WARNING

Settings: DB_HOST, DB_PORT (db.sh's), TFB_POOL (connections per process, 16 by default).
"""
import os
from random import randint, sample

import asyncpg
import orjson
from robyn import Response, Robyn
from tfb_common import ALL_ROWS_SQL, FORTUNES_SQL, POOL_SIZE, TEMPLATE, clamp

READ_ROW_SQL = 'SELECT "id", "randomnumber" FROM "world" WHERE id = $1'
WRITE_ROW_SQL = 'UPDATE "world" SET "randomnumber" = $1 WHERE id = $2'
JSON = {"Content-Type": "application/json", "Server": "Robyn"}
HTML = {"Content-Type": "text/html; charset=utf-8", "Server": "Robyn"}
TEXT = {"Content-Type": "text/plain", "Server": "Robyn"}
pool = None
cache = {}
app = Robyn(__file__)


def json_response(value):
    return Response(status_code=200, headers=JSON, description=orjson.dumps(value))


@app.startup_handler
async def open_pool():
    global pool
    pool = await asyncpg.create_pool(
        host=os.getenv("DB_HOST", "127.0.0.1"), port=int(os.getenv("DB_PORT", "5433")),
        user="benchmarkdbuser", password="benchmarkdbpass", database="hello_world",
        min_size=POOL_SIZE, max_size=POOL_SIZE)


@app.get("/json")
async def json_serialization(request):
    return json_response({"message": "Hello, World!"})


@app.get("/plaintext")
async def plaintext(request):
    return Response(status_code=200, headers=TEXT, description=b"Hello, World!")


@app.get("/db")
async def single_query(request):
    row_id = randint(1, 10000)
    async with pool.acquire() as connection:
        number = await connection.fetchval(READ_ROW_SQL, row_id, column=1)
    return json_response({"id": row_id, "randomNumber": number})


@app.get("/queries")
async def multiple_queries(request):
    ids = sample(range(1, 10001), clamp(request.query_params.get("queries", None)))
    async with pool.acquire() as connection:
        statement = await connection.prepare(READ_ROW_SQL)
        worlds = [{"id": i, "randomNumber": await statement.fetchval(i, column=1)} for i in ids]
    return json_response(worlds)


@app.get("/fortunes")
async def fortunes(request):
    async with pool.acquire() as connection:
        rows = [tuple(r) for r in await connection.fetch(FORTUNES_SQL)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return Response(status_code=200, headers=HTML, description=TEMPLATE.render(fortunes=rows))


@app.get("/updates")
async def updates(request):
    ids = sorted(sample(range(1, 10001), clamp(request.query_params.get("queries", None))))
    async with pool.acquire() as connection:
        statement = await connection.prepare(READ_ROW_SQL)
        for i in ids:
            await statement.fetchval(i, column=1)
        pairs = [(randint(1, 10000), i) for i in ids]
        await connection.executemany(WRITE_ROW_SQL, pairs)
    return json_response([{"id": i, "randomNumber": number} for number, i in pairs])


@app.get("/cached-queries")
async def cached_queries(request):
    if not cache:
        async with pool.acquire() as connection:
            cache.update((r[0], {"id": r[0], "randomNumber": r[1]})
                         for r in await connection.fetch(ALL_ROWS_SQL))
    count = clamp(request.query_params.get("count", None))
    return json_response([cache[i] for i in sample(range(1, 10001), count)])


if __name__ == "__main__":
    app.start(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), _check_port=False)
