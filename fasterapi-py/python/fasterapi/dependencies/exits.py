"""The exit code of one request's dependencies with ``yield``.

FastAPI enters each such dependency through ``contextlib.contextmanager`` (or
``asynccontextmanager``) into an ``AsyncExitStack``; :class:`Exits` does the same with the
generators themselves, which costs a fraction of those objects per request: entering runs
a generator to its ``yield``; exiting resumes each one, the last entered first, without an
exception or throwing in the one in flight, with the semantics of ``ExitStack`` over
``_GeneratorContextManager`` (a generator that swallows the exception suppresses it; one
that raises another replaces it, chained to it; a generator that yields again is a
``RuntimeError``).
"""

from __future__ import annotations

import sys
import traceback
from types import AsyncGeneratorType

#: What ``next(gen, _DONE)`` gives for a generator that ended: no StopIteration raised
#: and caught on the common path.
_DONE = object()


class Exits:
    """The generators one request entered, in order (see the module docs)."""

    __slots__ = ("_gens", "_label", "_has_async")

    def __init__(self, label: str):
        #: The generators (sync or async), in the order entered.
        self._gens: list = []
        self._label = label
        self._has_async = False

    def enter(self, gen):
        """Runs a generator to its ``yield`` and returns what it yields."""
        value = next(gen, _DONE)
        if value is _DONE:
            raise RuntimeError("generator didn't yield")
        self._gens.append(gen)
        return value

    async def aenter(self, agen):
        """:meth:`enter` for an async generator."""
        try:
            value = await agen.__anext__()
        except StopAsyncIteration:
            raise RuntimeError("generator didn't yield") from None
        self._gens.append(agen)
        self._has_async = True
        return value

    def exit(self, typ, value, tb) -> bool:
        """Exits every generator (all sync), with the exception in flight if any;
        whether it was suppressed. Raises what the exit code raised."""
        return _unwind(self, typ, value, tb, None)

    async def aexit(self, typ, value, tb) -> bool:
        """:meth:`exit` for generators of which some are async."""
        return await _aunwind(self, typ, value, tb)

    def close(self) -> None:
        """Exits every generator (all sync) without an exception."""
        gens = self._gens
        while gens:
            gen = gens.pop()
            try:
                if next(gen, _DONE) is not _DONE:
                    try:
                        raise RuntimeError("generator didn't stop")
                    finally:
                        gen.close()
            except BaseException as e:
                # The generators entered before see it, as nested `with`s would.
                if not self.exit(type(e), e, e.__traceback__):
                    raise
                return

    async def aclose(self) -> None:
        """Exits every generator without an exception."""
        await self.aexit(None, None, None)

    def after_response(self):
        """The exit code to run after the response: done now when every generator is
        sync (``None``), else a coroutine. An exception there is logged: the response is
        gone (uvicorn logs FastAPI's)."""
        if self._has_async:
            return self._aclose_logged()
        try:
            self.close()
        except BaseException:
            self._log()
        return None

    async def _aclose_logged(self) -> None:
        try:
            await self.aclose()
        except BaseException:
            self._log()

    def _log(self) -> None:
        sys.stderr.write(f"fasterapi: exception in the exit code of a dependency of {self._label}, after its response:\n")
        traceback.print_exc()


def _fix_context(new_exc, old_exc, frame_exc) -> None:
    """Chains ``new_exc`` (raised by exit code) to ``old_exc`` (the exception it saw), as
    nested ``with`` statements would."""
    while True:
        context = new_exc.__context__
        if context is None or context is old_exc:
            return
        if context is frame_exc:
            break
        new_exc = context
    new_exc.__context__ = old_exc


def _exit_gen(gen, typ, value, tb) -> bool:
    """``_GeneratorContextManager.__exit__`` for ``gen``: whether it suppressed the
    exception."""
    if typ is None:
        try:
            next(gen)
        except StopIteration:
            return False
        try:
            raise RuntimeError("generator didn't stop")
        finally:
            gen.close()
    if value is None:
        value = typ()
    try:
        gen.throw(value)
    except StopIteration as exc:
        return exc is not value
    except RuntimeError as exc:
        if exc is value:
            exc.__traceback__ = tb
            return False
        if isinstance(value, StopIteration) and exc.__cause__ is value:
            value.__traceback__ = tb
            return False
        raise
    except BaseException as exc:
        if exc is not value:
            raise
        exc.__traceback__ = tb
        return False
    try:
        raise RuntimeError("generator didn't stop after throw()")
    finally:
        gen.close()


async def _aexit_gen(agen, typ, value, tb) -> bool:
    """``_AsyncGeneratorContextManager.__aexit__`` for ``agen``."""
    if typ is None:
        try:
            await agen.__anext__()
        except StopAsyncIteration:
            return False
        try:
            raise RuntimeError("generator didn't stop")
        finally:
            await agen.aclose()
    if value is None:
        value = typ()
    try:
        await agen.athrow(value)
    except StopAsyncIteration as exc:
        return exc is not value
    except RuntimeError as exc:
        if exc is value:
            exc.__traceback__ = tb
            return False
        if isinstance(value, (StopIteration, StopAsyncIteration)) and exc.__cause__ is value:
            value.__traceback__ = tb
            return False
        raise
    except BaseException as exc:
        if exc is not value:
            raise
        exc.__traceback__ = tb
        return False
    try:
        raise RuntimeError("generator didn't stop after athrow()")
    finally:
        await agen.aclose()


def _unwind(exits: Exits, typ, value, tb, _unused) -> bool:
    """``ExitStack.__exit__`` over the sync generators of ``exits``."""
    received = typ is not None
    frame_exc = sys.exc_info()[1]
    suppressed = False
    pending = False
    details = (typ, value, tb)
    gens = exits._gens
    while gens:
        gen = gens.pop()
        try:
            if _exit_gen(gen, *details):
                suppressed = True
                pending = False
                details = (None, None, None)
        except BaseException:
            new = sys.exc_info()
            _fix_context(new[1], details[1], frame_exc)
            pending = True
            details = new
    if pending:
        _reraise(details[1])
    return received and suppressed


async def _aunwind(exits: Exits, typ, value, tb) -> bool:
    """``AsyncExitStack.__aexit__`` over the generators of ``exits``."""
    received = typ is not None
    frame_exc = sys.exc_info()[1]
    suppressed = False
    pending = False
    details = (typ, value, tb)
    gens = exits._gens
    while gens:
        gen = gens.pop()
        try:
            if isinstance(gen, AsyncGeneratorType):
                done = await _aexit_gen(gen, *details)
            else:
                done = _exit_gen(gen, *details)
            if done:
                suppressed = True
                pending = False
                details = (None, None, None)
        except BaseException:
            new = sys.exc_info()
            _fix_context(new[1], details[1], frame_exc)
            pending = True
            details = new
    if pending:
        _reraise(details[1])
    return received and suppressed


def _reraise(exc) -> None:
    """Raises ``exc`` keeping the context :func:`_fix_context` set (a bare ``raise exc``
    inside a handler would replace it)."""
    fixed = exc.__context__
    try:
        raise exc
    except BaseException:
        exc.__context__ = fixed
        raise
