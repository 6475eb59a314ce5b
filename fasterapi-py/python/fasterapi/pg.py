"""PostgreSQL from ``async def`` handlers, driven by the server's own event loop.

An asyncpg-shaped subset, so that code written for asyncpg changes little::

    from fasterapi import pg

    pool = await pg.create_pool("postgres://user:password@127.0.0.1:5432/db")
    row = await pool.fetchrow("SELECT id, name FROM item WHERE id = $1", 7)
    row[0], row["name"]
    rows = await pool.fetch(...); value = await pool.fetchval(...)
    status = await pool.execute("UPDATE item SET name = $2 WHERE id = $1", 7, "x")  # "UPDATE 1"
    await pool.executemany(sql, [(1, "a"), (2, "b")])     # one transaction, as asyncpg's
    rows = await pool.fetchmany(sql, [(1,), (2,)])        # one statement per tuple, pipelined
    async with pool.acquire() as conn:                    # the same methods
        ...

How it works (fasterapi-py/src/pg.rs): a pool has one pipelined connection per I/O
thread of the worker (opened at that thread's first call, without blocking it); a call
returns a coroutine (made in Rust, a ``collections.abc.Coroutine``: ``await``,
``asyncio.create_task``, ``gather``, ``wait_for`` and ``ensure_future`` take it, as
asyncpg's), which queues its statement at its first step (never awaited, nothing is sent)
and waits for its answer; the statements a pass of the server loop queued leave in one write,
and the answers resolve their calls on the I/O thread as soon as they are read. Each
statement is its own transaction (a Sync after each), prepared once per connection and
SQL text (the 256 most recently used stay prepared; older ones are closed on the server).
A statement whose result columns changed under it (``ALTER TABLE`` while serving) fails
its calls in flight with ``PostgresError`` ``0A000`` ("cached plan must not change result
type"), as PostgreSQL reports it; the next call prepares it again.

Types, both ways: int2/int4/int8 (``int``), float4/float8 (``float``), bool, text /
varchar / bpchar / name (``str``), bytea (``bytes``), int4[] (``list`` of ``int``), NULL
(``None``). A statement with a parameter or column of another type is refused with a
``TypeError`` naming the type (cast it in SQL, e.g. ``created::text``).

Not built, and refused with an error naming it: transactions (``conn.transaction()``: a
shared pipelined connection cannot hold one; a ``BEGIN`` sent as a statement fails with
``InterfaceError`` and its connection is closed, which rolls it back, since the calls
pipelined after it would run in its transaction), statements that change
the shared session (``SET``, ``RESET``, ``DISCARD``, ``LISTEN``, ``UNLISTEN``, ``PREPARE``,
``DEALLOCATE``, and calls of
``set_config()``, ``setseed()``, ``pg_advisory_lock()``, ``pg_try_advisory_lock()`` and their
``_shared`` forms, and temporary tables, views and sequences (``CREATE TEMP TABLE``,
``SELECT ... INTO TEMP``): ``NotImplementedError`` naming it; the ``_xact_`` lock functions
too, since each statement is its own transaction, which would let the lock go at once, and
``currval()`` and ``lastval()``, since another request may have called ``nextval()`` on the
shared connection since (use ``INSERT ... RETURNING``); names inside string
literals, quoted identifiers and comments are not calls, nor are tables and aliases named
so, as in ``INSERT INTO set_config (name)``; functions called from other functions or
``DO`` blocks are not seen), cursors, prepared statement objects,
LISTEN/NOTIFY, COPY (sent as a statement: ``InterfaceError`` naming it, and its
connection is closed, failing the calls in flight on it), and calls from ``def`` handlers
(they run on the worker pool, not on the event loop) or from another event loop. A broken connection fails the calls in
flight with the error that broke it (``PostgresError`` with ``sqlstate`` ``57P01`` for a
terminated backend, ``InterfaceError`` for a closed socket); the next call reconnects.
"""

from __future__ import annotations

import asyncio
import collections.abc
import getpass
import os
import socket
from urllib.parse import unquote, urlsplit, parse_qsl

from ._fasterapi import PgCall as _PgCall
from ._fasterapi import PgPool as _PgPool
from ._fasterapi import Record

__all__ = ["create_pool", "Pool", "Connection", "Record", "PostgresError", "InterfaceError"]

# What a call returns is a coroutine to asyncio (create_task, gather, wait_for).
collections.abc.Coroutine.register(_PgCall)


class PostgresError(Exception):
    """An error PostgreSQL reported: ``sqlstate`` is its SQLSTATE code (``"42P01"``),
    ``message`` its text (with the severity)."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


class InterfaceError(Exception):
    """An error of the client: the connection could not be made or broke, a call was
    made wrong (arguments that do not fit the statement), the pool is closed."""


def _lookup(loop, host: str, port: int):
    """The addresses of the host name ``host``, looked up on a thread of ``loop``'s
    executor (as ``loop.getaddrinfo`` does), so that a slow resolver does not hold the I/O
    thread: a future of ``(address, port, scope_id)`` tuples."""
    return loop.run_in_executor(None, _addresses, host, port)


def _addresses(host: str, port: int) -> list:
    return [
        (address[0], address[1], address[3] if len(address) > 3 else 0)
        for family, _, _, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


def _not_built(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"fasterapi.pg does not support {what}: its connections are shared and pipelined, "
        "each statement its own transaction (use asyncpg for this)"
    )


class _Calls:
    """What a pool and an acquired connection both refuse."""

    def transaction(self, *args, **kwargs):
        raise _not_built("transactions (transaction())")

    def cursor(self, *args, **kwargs):
        raise _not_built("cursors (cursor())")

    async def prepare(self, *args, **kwargs):
        raise _not_built("prepared statement objects (prepare()); statements are prepared and cached by their SQL text")

    async def add_listener(self, *args, **kwargs):
        raise _not_built("LISTEN/NOTIFY (add_listener())")

    async def copy_records_to_table(self, *args, **kwargs):
        raise _not_built("COPY (copy_records_to_table())")

    async def copy_to_table(self, *args, **kwargs):
        raise _not_built("COPY (copy_to_table())")

    async def copy_from_query(self, *args, **kwargs):
        raise _not_built("COPY (copy_from_query())")

    async def copy_from_table(self, *args, **kwargs):
        raise _not_built("COPY (copy_from_table())")


class Pool(_PgPool, _Calls):
    """A pool: one pipelined connection per I/O thread (see the module's docs). Made by
    :func:`create_pool`. ``fetch``, ``fetchrow``, ``fetchval``, ``execute``,
    ``executemany`` and ``fetchmany`` are asyncpg's."""

    def acquire(self, *, timeout=None) -> "_Acquire":
        """``async with pool.acquire() as conn``: ``conn`` has the pool's methods (and
        runs on the same connection of this thread: nothing is reserved)."""
        return _Acquire(self)

    async def release(self, connection, *, timeout=None) -> None:
        """Does nothing (``acquire`` reserves nothing)."""

    async def close(self) -> None:
        """Closes the pool: the connection of every I/O thread that opened one, each closed
        by its own thread (their calls in flight fail with ``InterfaceError``); returns
        once they are closed (waiting at most ``timeout`` seconds, ``create_pool``'s, for
        a thread whose loop no longer runs). Later calls raise ``InterfaceError`` ("the
        pool is closed")."""
        sent = self._close()
        if sent:
            await asyncio.wait([asyncio.wrap_future(f) for f in sent], timeout=self._timeout)

    def terminate(self) -> None:
        """Closes the pool at once (as :meth:`close`, without waiting for the other
        threads to have closed their connections)."""
        self._close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


class Connection(_Calls):
    """What ``pool.acquire()`` gives: the pool's methods."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.fetch = pool.fetch
        self.fetchrow = pool.fetchrow
        self.fetchval = pool.fetchval
        self.execute = pool.execute
        self.executemany = pool.executemany
        self.fetchmany = pool.fetchmany


class _Acquire:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def __aenter__(self) -> Connection:
        return Connection(self._pool)

    async def __aexit__(self, *exc) -> None:
        return None

    def __await__(self):
        return self.__aenter__().__await__()


#: asyncpg's create_pool arguments that bound its number of connections. This pool opens at
#: most one connection per I/O thread, whatever they say: ``max_size`` is checked as a bound
#: (at least 1), ``min_size`` as a lower one of it; connections open on first use.
_SIZING = ("min_size", "max_size")


async def create_pool(
    dsn: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    timeout: float = 10.0,
    **options,
) -> Pool:
    """A :class:`Pool`, from a DSN (``postgres://user:password@host:port/database``) or
    keyword arguments, each defaulting as libpq's (``PGHOST``, ``PGPORT``, ``PGUSER``,
    ``PGPASSWORD``, ``PGDATABASE``, then localhost, 5432, the OS user, none, the user).
    A host starting with ``/`` is the directory of the server's unix socket. Opens this
    I/O thread's connection, which checks the settings (raising ``PostgresError`` or
    ``InterfaceError``); like every call, only from ``async def`` code on the server's loop.

    ``timeout`` (seconds) bounds connecting and the startup handshake, here and whenever a
    thread opens or reopens its connection: 10 s by default, where asyncpg waits 60. The
    thread goes on serving meanwhile (its socket is watched by the thread's loop); the calls
    made on it wait for the connection, and fail with ``InterfaceError`` past the timeout.
    A host name (``localhost`` too) is looked up on a thread of the loop's executor, within
    the timeout, so that a slow resolver does not hold the thread either.
    ``min_size`` and ``max_size`` are checked (``0 <= min_size <= max_size``, ``max_size``
    at least 1) and bound nothing more: the pool opens one connection per I/O thread, on
    first use. Any other asyncpg option (``max_queries``, ``max_inactive_connection_lifetime``,
    ``ssl``, ...) raises ``TypeError`` naming it, since this pool does not do what it asks."""
    unknown = sorted(k for k in options if k not in _SIZING)
    if unknown:
        raise TypeError(
            f"fasterapi.pg.create_pool does not support {', '.join(unknown)} "
            f"(it takes dsn, host, port, user, password, database, timeout, min_size and max_size)"
        )
    min_size, max_size = options.get("min_size", 0), options.get("max_size", 1)
    if not (isinstance(min_size, int) and isinstance(max_size, int) and 0 <= min_size <= max_size
            and max_size >= 1):
        raise ValueError(
            f"create_pool wants 0 <= min_size <= max_size and max_size >= 1, "
            f"got min_size={min_size!r}, max_size={max_size!r}"
        )
    params = {}
    if dsn is not None:
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError(f"a DSN starts with postgres:// or postgresql://, not {dsn!r}")
        if parts.hostname:
            params["host"] = unquote(parts.hostname)
        if parts.port:
            params["port"] = parts.port
        if parts.username:
            params["user"] = unquote(parts.username)
        if parts.password is not None:
            params["password"] = unquote(parts.password)
        if parts.path and parts.path != "/":
            params["database"] = unquote(parts.path[1:])
        for key, value in parse_qsl(parts.query):
            if key in ("host", "port", "user", "password", "dbname", "database"):
                params["database" if key == "dbname" else key] = value
            else:
                raise TypeError(f"fasterapi.pg.create_pool does not support the DSN parameter {key!r}")
    given = {"host": host, "port": port, "user": user, "password": password, "database": database}
    params.update({k: v for k, v in given.items() if v is not None})
    env = os.environ
    host = params.get("host") or env.get("PGHOST") or "localhost"
    port = int(params.get("port") or env.get("PGPORT") or 5432)
    user = params.get("user") or env.get("PGUSER") or getpass.getuser()
    password = params.get("password")
    if password is None:
        password = env.get("PGPASSWORD", "")
    database = params.get("database") or env.get("PGDATABASE") or user
    pool = Pool(host, port, user, password, database, float(timeout))
    await pool._open()
    return pool
