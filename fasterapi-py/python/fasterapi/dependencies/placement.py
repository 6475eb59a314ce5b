"""Where the ``def`` parts of an ``async`` route run.

A route whose dependencies or handler are ``async def`` runs on the worker's event loop.
FastAPI runs its ``def`` dependencies and ``def`` handler on a thread pool, so that one
that blocks (a database driver, a file) does not hold up the other requests; fasterapi
places each of them as it places a ``def`` route (fasterapi-py/src/dispatch.rs,
``Adaptive``): on a thread pool first; after 32 calls in a row that each returned within
100 µs, on the event loop's thread itself, which saves the hand-off to a thread; back on
the pool for good, with a log line, after a call there that took 1 ms or more. The route's
``blocking=True`` keeps them on the pool, ``blocking=False`` on the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

#: A call this fast counts towards running on the loop's thread.
FAST = 100e-6
#: Calls in a row within FAST that move a callable onto the loop's thread.
PROMOTE_AFTER = 32
#: A call on the loop's thread this slow sends the callable to the pool for good.
SLOW = 1e-3

_perf = time.perf_counter
_executor = None
_executor_pid = None
_executor_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """This process's pool for the ``def`` parts of async routes (40 threads, as
    FastAPI's thread pool; made on first use, again in a forked worker)."""
    global _executor, _executor_pid
    pid = os.getpid()
    if _executor is None or _executor_pid != pid:
        with _executor_lock:
            if _executor is None or _executor_pid != pid:
                _executor = ThreadPoolExecutor(max_workers=40, thread_name_prefix="fasterapi-def")
                _executor_pid = pid
    return _executor


def _timed(ctx, f, args, kwargs):
    start = _perf()
    out = ctx.run(f, *args, **kwargs)
    return out, _perf() - start


class Placement:
    """Where one ``def`` callable of an async route runs (see the module docs).
    ``inline``: it runs on the loop's thread now."""

    __slots__ = ("inline", "pinned", "fast_calls", "label")

    def __init__(self, blocking, label: str):
        #: Runs on the event loop's thread.
        self.inline = blocking is False
        #: ``blocking=`` decided: never moves.
        self.pinned = blocking is not None
        self.fast_calls = 0
        self.label = label

    def call(self, f, /, *args, **kwargs):
        """Calls ``f`` on this thread, timed unless pinned here."""
        if self.pinned:
            return f(*args, **kwargs)
        start = _perf()
        try:
            return f(*args, **kwargs)
        finally:
            self.observe(_perf() - start, inline=True)

    async def offload(self, f, /, *args, **kwargs):
        """Calls ``f`` on the pool, in a copy of the current context (as FastAPI's
        ``run_in_threadpool``), and waits for it without holding up the loop."""
        ctx = contextvars.copy_context()
        out, took = await asyncio.get_running_loop().run_in_executor(executor(), _timed, ctx, f, args, kwargs)
        self.observe(took, inline=False)
        return out

    def observe(self, took: float, inline: bool) -> None:
        """Records a call that took ``took`` seconds, on the loop's thread or the pool."""
        if self.pinned:
            return
        if inline:
            if took >= SLOW:
                self.inline = False
                self.pinned = True
                sys.stderr.write(
                    f"fasterapi: a def dependency or handler of {self.label} held up the event loop for "
                    f"{took * 1e3:.1f} ms; it runs on the thread pool from now on (blocking=True puts it "
                    "there from the start, blocking=False keeps it on the loop's thread)\n"
                )
        elif took >= FAST:
            self.fast_calls = 0
        else:
            self.fast_calls += 1
            if self.fast_calls >= PROMOTE_AFTER:
                self.inline = True
