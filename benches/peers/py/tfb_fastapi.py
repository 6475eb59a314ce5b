"""TechEmpower's seven test types as a FastAPI app (asyncpg, Jinja2), run on uvicorn or on
Granian (--interface asgi). Written after FastAPI's entry in TechEmpower's repository
(frameworks/Python/fastapi/app.py): asyncpg pool opened in the lifespan, ORJSONResponse,
prepared statements, one SELECT per row, updates written back with executemany in id order.
The cached-queries test (their entry has none) keeps every World row in memory after the
first read, as the rules allow for that test alone.

benches/tfb/py/tfb_fasterapi.py is this file with the imports changed.
Settings: DB_HOST, DB_PORT (db.sh's), TFB_POOL (connections per process, 16 by default).
"""
import os
from contextlib import asynccontextmanager
from random import randint, sample

import asyncpg
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, ORJSONResponse, PlainTextResponse
from tfb_common import ALL_ROWS_SQL, FORTUNES_SQL, POOL_SIZE, TEMPLATE, clamp

READ_ROW_SQL = 'SELECT "id", "randomnumber" FROM "world" WHERE id = $1'
WRITE_ROW_SQL = 'UPDATE "world" SET "randomnumber" = $1 WHERE id = $2'
pool = None
cache = {}


@asynccontextmanager
async def lifespan(app):
    global pool
    pool = await asyncpg.create_pool(
        host=os.getenv("DB_HOST", "127.0.0.1"), port=int(os.getenv("DB_PORT", "5433")),
        user="benchmarkdbuser", password="benchmarkdbpass", database="hello_world",
        min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/json")
async def json_serialization():
    return ORJSONResponse({"message": "Hello, World!"})


@app.get("/plaintext")
async def plaintext():
    return PlainTextResponse(b"Hello, World!")


@app.get("/db")
async def single_query():
    row_id = randint(1, 10000)
    async with pool.acquire() as connection:
        number = await connection.fetchval(READ_ROW_SQL, row_id, column=1)
    return ORJSONResponse({"id": row_id, "randomNumber": number})


@app.get("/queries")
async def multiple_queries(queries=None):
    ids = sample(range(1, 10001), clamp(queries))
    async with pool.acquire() as connection:
        statement = await connection.prepare(READ_ROW_SQL)
        worlds = [{"id": i, "randomNumber": await statement.fetchval(i, column=1)} for i in ids]
    return ORJSONResponse(worlds)


@app.get("/fortunes")
async def fortunes():
    async with pool.acquire() as connection:
        rows = [tuple(r) for r in await connection.fetch(FORTUNES_SQL)]
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return HTMLResponse(TEMPLATE.render(fortunes=rows))


@app.get("/updates")
async def updates(queries=None):
    n = clamp(queries)
    ids = sorted(sample(range(1, 10001), n))  # in id order: concurrent updates cannot deadlock
    async with pool.acquire() as connection:
        statement = await connection.prepare(READ_ROW_SQL)
        for i in ids:
            await statement.fetchval(i, column=1)
        pairs = [(randint(1, 10000), i) for i in ids]
        await connection.executemany(WRITE_ROW_SQL, pairs)
    return ORJSONResponse([{"id": i, "randomNumber": number} for number, i in pairs])


@app.get("/cached-queries")
async def cached_queries(count=None):
    if not cache:
        async with pool.acquire() as connection:
            cache.update((r[0], {"id": r[0], "randomNumber": r[1]})
                         for r in await connection.fetch(ALL_ROWS_SQL))
    return ORJSONResponse([cache[i] for i in sample(range(1, 10001), clamp(count))])
