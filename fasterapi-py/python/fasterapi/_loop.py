"""The event loop of a worker, driven by its I/O thread (see fasterapi-py/src/aio.rs)."""

from __future__ import annotations

import asyncio
import sys
import threading


#: The most a socket transport of the loop reads at once. asyncio reads 256 KiB: each read
#: allocates that much, above glibc's mmap threshold (128 KiB), so every read, however few
#: bytes came, costs an mmap, a page fault, an mremap and a munmap (11% of a worker's CPU
#: on TechEmpower's single query with asyncpg). 64 KiB comes from the heap.
_READ_SIZE = 64 * 1024


class _Loop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, whose socket transports read at most ``_READ_SIZE``, and
    whose ``get_debug`` runs no Python frame."""

    def set_debug(self, enabled):
        super().set_debug(enabled)
        # Every Future and Task made on the loop calls ``loop.get_debug()`` (the C ones
        # included): a suspended handler makes one per wait, a WebSocket handler one per
        # message. The instance's attribute, the flag's own ``__bool__`` (a C method),
        # answers what the class's Python method would (``_debug``, set only here; the
        # base class's ``__init__`` calls this).
        self.get_debug = bool(self._debug).__bool__

    def _make_socket_transport(self, *args, **kwargs):
        transport = super()._make_socket_transport(*args, **kwargs)
        transport.max_size = _READ_SIZE
        return transport


#: The loop an I/O thread of this process drives (the last made): where background
#: tasks started on other threads run.
_driven_loop = None


def _new_loop(driven=True):
    """A new asyncio loop and its selector's descriptor. A driven loop counts as running
    on this thread (``loop.is_running()``), which drives it one iteration at a time."""
    global _driven_loop
    loop = _Loop()
    if driven:
        _driven_loop = loop
        loop._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(
            firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook
        )
    return loop, loop._selector.fileno()


if sys.version_info >= (3, 12):

    def _start(coro, loop, _Task=asyncio.Task):
        """A task for ``coro`` that has taken its first step already: most handlers
        finish there, and a suspended one is inside its task, so ``current_task()``,
        timeouts and cancellation see the task that finishes it."""
        return _Task(coro, loop=loop, eager_start=True)

else:

    def _start(coro, loop, _Task=asyncio.Task):
        """A task for ``coro`` that has taken its first step already (as 3.12's eager
        tasks do): most handlers finish there, and a suspended one is inside its task, so
        ``current_task()``, timeouts and cancellation see the task that finishes it.

        The task's first step is taken from its ``call_soon``, which an attribute of the
        loop instance catches while the task is made (the class's ``call_soon`` stays
        asyncio's own: no Python frame added to the loop's other calls)."""
        first = []
        loop.call_soon = lambda callback, *args, context=None: first.append((callback, context))
        try:
            task = _Task(coro, loop=loop)
        finally:
            del loop.call_soon
        callback, context = first[0]
        # Started from inside another task (a middleware's call_next): that task steps
        # aside for the first step, as 3.12's eager tasks swap the current task.
        outer = _current_tasks.get(loop)
        if outer is not None:
            _leave_task(loop, outer)
            try:
                context.run(callback)
            finally:
                _enter_task(loop, outer)
        else:
            context.run(callback)
        return task

    from asyncio.tasks import _current_tasks, _enter_task, _leave_task


def _turn(loop, rounds=16):
    """One iteration of ``loop`` without waiting in its selector, then up to ``rounds``
    more passes over the callbacks that became ready meanwhile (a timer's future wakes
    its task, whose end schedules its done callbacks: three iterations for one awaited
    sleep, run here in one turn of the server's loop). Returns the seconds until the
    loop is next due (0.0 while callbacks are ready), or None when only I/O can wake it."""
    loop._stopping = True  # makes _run_once poll the selector with a zero timeout
    try:
        loop._run_once()
        ready = loop._ready
        while ready and rounds:
            rounds -= 1
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
    finally:
        loop._stopping = False
    if loop._ready:
        return 0.0
    if loop._scheduled:
        return max(0.0, loop._scheduled[0]._when - loop.time())
    return None


def _settle(loop, tasks, timeout):
    """Runs ``loop`` (driven by this thread, which is free: the test server between two
    exchanges) until ``tasks`` are done, waiting in its selector for their timers and
    I/O; ``TimeoutError`` past ``timeout`` seconds."""
    deadline = loop.time() + timeout
    wake = loop.call_at(deadline, lambda: None)  # the selector waits no longer
    try:
        while not all(t.done() for t in tasks):
            if loop.time() >= deadline:
                raise TimeoutError(f"the exit code of dependencies did not finish within {timeout} s")
            loop._run_once()
    finally:
        wake.cancel()


def _close_loop(loop, timeout, lifespan=None):
    """At shutdown (every connection closed): lets the background tasks still running
    finish within ``timeout`` seconds, runs the app's lifespan shutdown (``lifespan``,
    if any), cancels the tasks still pending, gives them ``timeout`` seconds to finish,
    closes async generators, closes the loop."""
    loop._thread_id = None
    try:
        from .background import _drain

        _drain(loop, timeout)
        if lifespan is not None:
            lifespan.shutdown(loop)
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=timeout))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()

