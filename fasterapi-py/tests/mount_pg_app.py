"""The Python app tests/pg_threads.rs mounts into a Rust App of several I/O threads:
`fasterapi.pg` on the database of benches/tfb/db.sh (DB_HOST, DB_PORT, DB_USER,
DB_PASSWORD, DB_NAME)."""

import os
import threading

from fasterapi import FasterAPI
from fasterapi import pg

DSN = (
    f"postgres://{os.environ['DB_USER']}:{os.environ['DB_PASSWORD']}@"
    f"{os.environ.get('DB_HOST', '127.0.0.1')}:{os.environ['DB_PORT']}/{os.environ['DB_NAME']}"
)
app = FasterAPI()
pools = {}


@app.get("/open")
async def open_pool():
    """Makes the pool every I/O thread uses (once: the test asks before anything else)."""
    if "db" not in pools:
        pools["db"] = await pg.create_pool(DSN)
    return {"open": True}


@app.get("/backend")
async def backend():
    """This I/O thread and the PostgreSQL backend of its connection of the pool."""
    return {"thread": threading.get_native_id(), "pid": await pools["db"].fetchval("SELECT pg_backend_pid()")}


@app.get("/close")
async def close():
    await pools["db"].close()
    return {"thread": threading.get_native_id(), "closed": True}


@app.get("/after")
async def after():
    """A call after the close (its error), and whether this thread still has a connection."""
    try:
        await pools["db"].fetchval("SELECT 1")
        error = None
    except Exception as e:
        error = [type(e).__name__, str(e)]
    return {"thread": threading.get_native_id(), "error": error, "connected": pools["db"]._stats() is not None}
