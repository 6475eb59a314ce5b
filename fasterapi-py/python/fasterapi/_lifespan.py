"""The app's lifespan, run on each worker's event loop (``fasterapi-py/src/aio.rs``):
startup before the worker serves, shutdown once it has drained its connections and
background tasks. ``FasterAPI(lifespan=...)`` as FastAPI takes it (an async context
manager factory, an async generator function or a generator function), or, without
one, the ``on_startup``/``on_shutdown`` handlers (``@app.on_event``). A mapping the
lifespan yields is copied into each request's ``request.state``."""

from __future__ import annotations

import contextlib
import inspect


class _DefaultLifespan:
    """FastAPI's: the app's ``on_startup`` handlers, then its ``on_shutdown`` ones."""

    def __init__(self, app) -> None:
        self.app = app

    async def __aenter__(self):
        for handler in self.app.on_startup:
            out = handler()
            if inspect.isawaitable(out):
                await out
        return None

    async def __aexit__(self, *exc_info):
        for handler in self.app.on_shutdown:
            out = handler()
            if inspect.isawaitable(out):
                await out
        return None


class _AsyncLift:
    """A sync context manager as an async one (Starlette's for generator lifespans)."""

    def __init__(self, cm) -> None:
        self.cm = cm

    async def __aenter__(self):
        return self.cm.__enter__()

    async def __aexit__(self, *exc_info):
        return self.cm.__exit__(*exc_info)


def _run(loop, coro):
    """Runs ``coro`` to its end on the worker's loop, which its I/O thread marks as
    its own but is not running yet (startup) or any more (shutdown)."""
    thread_id = loop._thread_id
    loop._thread_id = None
    try:
        return loop.run_until_complete(coro)
    finally:
        loop._thread_id = thread_id


class _Lifespan:
    """What the server calls: ``startup(loop)`` and ``shutdown(loop)``."""

    def __init__(self, app) -> None:
        self.app = app
        self._context = None

    def _make(self):
        lifespan = self.app.lifespan
        if lifespan is None:
            return _DefaultLifespan(self.app)
        if inspect.isasyncgenfunction(lifespan):
            return contextlib.asynccontextmanager(lifespan)(self.app)
        if inspect.isgeneratorfunction(lifespan):
            return _AsyncLift(contextlib.contextmanager(lifespan)(self.app))
        return lifespan(self.app)

    def startup(self, loop) -> None:
        context = self._make()

        async def enter():
            return await context.__aenter__()

        state = _run(loop, enter())
        self._context = context
        if state is not None:
            try:
                self.app._lifespan_state = dict(state)
            except (TypeError, ValueError):
                raise RuntimeError(
                    "the lifespan must yield a mapping (its state, copied into each "
                    f"request.state) or None, not {type(state).__name__}"
                ) from None

    def shutdown(self, loop) -> None:
        context, self._context = self._context, None
        if context is None:
            return

        async def leave():
            await context.__aexit__(None, None, None)

        try:
            _run(loop, leave())
        finally:
            self.app._lifespan_state = None
