"""Background tasks: ``fasterapi.background`` as ``fastapi.background`` (and
``starlette.background``).

A ``BackgroundTasks`` parameter (of a handler or a dependency: one object per request,
shared) or ``background=`` on a returned ``Response`` runs its tasks once the response
has been handed to its connection: on the worker's event loop, as one task per request
(``async def`` tasks awaited there, ``def`` tasks on a thread of the loop's executor, in
the order they were added), so the response never waits for them. A task that raises
is logged with its traceback (the ones after it in the same request do not run, as in
Starlette). At shutdown the worker lets running tasks finish (within
``shutdown_timeout``) before the app's lifespan shutdown.

For a ``def`` handler running on the thread pool, the tasks are handed to the worker's
event loop when the handler returns, as its response goes to the I/O thread to be
written. Under the TestClient they run on that thread instead, so that the test gets
the answer once they ran, as with Starlette's.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
import traceback

from . import _fasterapi, _loop

__all__ = ["BackgroundTask", "BackgroundTasks"]


class BackgroundTask:
    """``func(*args, **kwargs)``, run after the response (``def`` or ``async def``)."""

    def __init__(self, func, *args, **kwargs) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)
        )

    async def __call__(self) -> None:
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, functools.partial(self.func, *self.args, **self.kwargs))


class BackgroundTasks(BackgroundTask):
    """Tasks added with :meth:`add_task`, run one after the other after the response."""

    def __init__(self, tasks=None) -> None:
        self.tasks = list(tasks) if tasks else []

    def add_task(self, func, *args, **kwargs) -> None:
        """Adds ``func(*args, **kwargs)`` to run after the response is sent."""
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()


#: Set by the TestClient: background tasks of handlers on the thread pool run on that
#: thread before the test gets the answer (Starlette's client returns once they ran).
_in_test_client = False

#: Tasks running background work, for the drain at shutdown.
_running: set = set()


async def _run(background) -> None:
    task = asyncio.current_task()
    if task is not None:
        _running.add(task)
    try:
        await background()
    except Exception:
        print("fasterapi: exception in a background task:", file=sys.stderr, flush=True)
        traceback.print_exc()
    finally:
        if task is not None:
            _running.discard(task)


def _schedule(background) -> None:
    """Runs ``background`` (a ``BackgroundTask(s)``) once the response of the request
    being answered on this thread is out (see the module docs)."""
    _fasterapi._after_response(functools.partial(_start, background))


def _start(background):
    """Called by the server after the response: the coroutine to run as a task of the
    I/O thread's loop, or ``None`` (nothing to run, or handed over from another thread)."""
    if isinstance(background, BackgroundTasks) and not background.tasks:
        return None
    if asyncio.events._get_running_loop() is not None:
        # An I/O thread, its loop marked running: a task of that loop.
        return _run(background)
    io_loop = _loop._driven_loop
    if _in_test_client:
        # The TestClient's answer waits for its tasks, as Starlette's: run them here.
        return _run(background)
    if io_loop is not None and io_loop._thread_id not in (None, threading.get_ident()) and not io_loop.is_closed():
        # A pool thread: the process's I/O loop runs it (the last made: a worker has one).
        io_loop.call_soon_threadsafe(lambda: io_loop.create_task(_run(background)))
        return None
    return _run(background)


def _for_request() -> BackgroundTasks:
    """The ``BackgroundTasks`` of a request's parameter, made by the server, which
    schedules it once the handler has returned."""
    return BackgroundTasks()


def _drain(loop, timeout: float) -> None:
    """At shutdown: waits up to ``timeout`` seconds for the background tasks running on
    ``loop`` (whose thread is done serving)."""
    pending = [t for t in list(_running) if not t.done() and t.get_loop() is loop]
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=timeout))
