"""dependencies/exits.py against what FastAPI uses, contextlib's context managers on an
(Async)ExitStack: for each combination of dependency behaviours (exit normally, swallow
the exception, replace it, re-raise it, yield twice, never yield) and of what happens
between enter and exit, the same exit code runs, in the same order, and the same
exception (or none) comes out."""

import asyncio
import contextlib
import itertools

import pytest

from fasterapi.dependencies.exits import Exits


class Boom(Exception):
    pass


class Other(Exception):
    pass


def make(kind, log, name):
    """A dependency generator function of one behaviour, logging what it does."""

    def dep():
        log.append(f"{name} enter")
        if kind == "no yield":
            return
        try:
            yield name
        except Exception as e:
            log.append(f"{name} saw {type(e).__name__}")
            if kind == "swallow":
                return
            if kind == "replace":
                raise Other(name) from e
            raise
        finally:
            log.append(f"{name} finally")
        if kind == "yield twice":
            yield "again"
        if kind == "raise on exit":
            raise Other(f"{name} on exit")

    return dep


def make_async(kind, log, name):
    sync = make(kind, log, name)

    async def dep():
        gen = sync()
        try:
            value = next(gen)
        except StopIteration:
            return
        try:
            yield value
        except BaseException as e:
            try:
                gen.throw(e)
            except StopIteration:
                return
        else:
            for again in gen:
                await asyncio.sleep(0)
                yield again

    return dep


KINDS = ["normal", "swallow", "replace", "reraise", "yield twice", "raise on exit", "no yield"]


def outcome(run):
    log = []
    try:
        result = run(log)
    except BaseException as e:  # noqa: BLE001 - compared as is
        # The exception it was raised from or during, as a traceback shows it.
        chained = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
        return log, type(e).__name__, str(e), type(chained).__name__ if chained else None
    return log, "ok", result, None


def with_contextlib(kinds, body_raises, make_dep=make):
    def run(log):
        deps = [contextlib.contextmanager(make_dep(k, log, f"d{i}")) for i, k in enumerate(kinds)]
        with contextlib.ExitStack() as stack:
            for dep in deps:
                stack.enter_context(dep())
            if body_raises:
                raise Boom("body")
            return "done"
        return "swallowed"

    return run


def with_exits(kinds, body_raises, make_dep=make):
    def run(log):
        deps = [make_dep(k, log, f"d{i}") for i, k in enumerate(kinds)]
        exits = Exits("GET /t")
        try:
            for dep in deps:
                exits.enter(dep())
            if body_raises:
                raise Boom("body")
            out = "done"
        except BaseException as e:
            if not exits.exit(type(e), e, e.__traceback__):
                raise
            return "swallowed"
        exits.close()
        return out

    return run


@pytest.mark.parametrize("body_raises", [False, True])
@pytest.mark.parametrize("kinds", [list(k) for n in (1, 2) for k in itertools.product(KINDS, repeat=n)])
def test_sync_generators_exit_as_contextlib_exits_them(kinds, body_raises):
    assert outcome(with_exits(kinds, body_raises)) == outcome(with_contextlib(kinds, body_raises))


def async_outcome(run):
    return outcome(lambda log: asyncio.run(run(log)))


def async_with_contextlib(kinds, body_raises):
    async def run(log):
        deps = [contextlib.asynccontextmanager(make_async(k, log, f"d{i}")) for i, k in enumerate(kinds)]
        async with contextlib.AsyncExitStack() as stack:
            for dep in deps:
                await stack.enter_async_context(dep())
            if body_raises:
                raise Boom("body")
            return "done"
        return "swallowed"

    return run


def async_with_exits(kinds, body_raises):
    async def run(log):
        deps = [make_async(k, log, f"d{i}") for i, k in enumerate(kinds)]
        exits = Exits("GET /t")
        try:
            for dep in deps:
                await exits.aenter(dep())
            if body_raises:
                raise Boom("body")
            out = "done"
        except BaseException as e:
            if not await exits.aexit(type(e), e, e.__traceback__):
                raise
            return "swallowed"
        await exits.aclose()
        return out

    return run


@pytest.mark.parametrize("body_raises", [False, True])
@pytest.mark.parametrize("kinds", [list(k) for n in (1, 2) for k in itertools.product(KINDS, repeat=n)])
def test_async_generators_exit_as_contextlib_exits_them(kinds, body_raises):
    assert async_outcome(async_with_exits(kinds, body_raises)) == async_outcome(async_with_contextlib(kinds, body_raises))


def mixed_with_contextlib(kinds, body_raises):
    async def run(log):
        sync_dep = contextlib.contextmanager(make(kinds[0], log, "d0"))
        async_dep = contextlib.asynccontextmanager(make_async(kinds[1], log, "d1"))
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(sync_dep())
            await stack.enter_async_context(async_dep())
            if body_raises:
                raise Boom("body")
            return "done"
        return "swallowed"

    return run


def mixed_with_exits(kinds, body_raises):
    async def run(log):
        sync_dep, async_dep = make(kinds[0], log, "d0"), make_async(kinds[1], log, "d1")
        exits = Exits("GET /t")
        try:
            exits.enter(sync_dep())
            await exits.aenter(async_dep())
            if body_raises:
                raise Boom("body")
            out = "done"
        except BaseException as e:
            if not await exits.aexit(type(e), e, e.__traceback__):
                raise
            return "swallowed"
        await exits.aclose()
        return out

    return run


@pytest.mark.parametrize("body_raises", [False, True])
@pytest.mark.parametrize("kinds", [list(k) for k in itertools.product(KINDS, repeat=2)])
def test_sync_and_async_generators_together_exit_as_contextlib_exits_them(kinds, body_raises):
    assert async_outcome(mixed_with_exits(kinds, body_raises)) == async_outcome(mixed_with_contextlib(kinds, body_raises))
