"""Sending a :class:`~fasterapi.responses.StreamingResponse`: its body iterated on the
worker's event loop and handed to the server piece by piece.

The server (``fasterapi-py/src/stream.rs``) answers the request with a streamed body whose
pieces come through a bounded channel (the ``sink``). When the connection first asks for
the body (on its I/O thread, once the head is written), :func:`start` runs :func:`_pump`
as a task of the event loop that thread drives. The pump takes the next piece of
``body_iterator`` only when the channel has room, i.e. when the client keeps up (the server
takes pieces out of the channel only while the socket takes its output), so a slow client
holds a bounded amount of memory however fast the generator could produce. A client that
leaves cancels the task: an async generator gets ``CancelledError`` where it awaits (or
``GeneratorExit`` where it yields), a sync one is closed once its current ``next()``
returns, so the ``finally`` blocks of both run, as under Starlette. The exit code of the
request's dependencies with ``yield``, its background tasks and the response's
``background`` run after the body (or after the client left), as FastAPI's.

Sync iterables are iterated on a pool of threads (Starlette's ``iterate_in_threadpool``,
40 threads as anyio's default limiter), one ``next()`` at a time, so a generator that blocks
never stalls the event loop or the I/O thread.

Generator routes (FastAPI's ``yield`` path operations) are made into a
``StreamingResponse`` by :func:`generator_render`: JSON lines, server-sent events, or the
route's ``response_class`` given the generator.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import sys
import threading
import traceback
import typing

#: What ``try_send`` answers (``stream.rs``).
_SENT, _FULL, _GONE = 0, 1, 2

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=40, thread_name_prefix="fasterapi-iterate")
        return _pool


_END = object()


def _next(iterator):
    # StopIteration cannot cross a future: the end is a sentinel.
    return next(iterator, _END)


async def iterate_in_threadpool(iterable: typing.Iterable) -> typing.AsyncIterator:
    """Starlette's ``iterate_in_threadpool``: ``iterable``'s items, each ``next()`` on a
    thread of the pool. Closing this generator (the client left) closes ``iterable``'s
    iterator too, once its ``next()`` in flight returned, on the pool (its ``finally`` may
    block)."""
    iterator = iter(iterable)
    loop = asyncio.get_running_loop()
    pool = _thread_pool()
    pending = None
    try:
        while True:
            pending = loop.run_in_executor(pool, _next, iterator)
            item = await pending
            pending = None
            if item is _END:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            if pending is not None and not pending.done():
                # A generator cannot be closed while it runs: wait for its step.
                try:
                    await asyncio.shield(pending)
                except BaseException:
                    pass
            await loop.run_in_executor(pool, close)


def _wake(future) -> None:
    if not future.done():
        future.set_result(None)


class _KeepAlive:
    """Sends ``comment`` into a streamed body's sink once ``interval`` seconds passed
    without a piece: one timer of the loop per stream, re-armed lazily (a piece sent only
    moves ``last``), so an idle stream costs a timer handle, not a task."""

    __slots__ = ("loop", "sink", "interval", "last", "timer")

    def __init__(self, loop, sink, interval: float) -> None:
        self.loop = loop
        self.sink = sink
        self.interval = interval
        self.last = loop.time()
        self.timer = loop.call_at(self.last + interval, self._fire, context=_TIMER_CONTEXT)

    def _fire(self) -> None:
        now = self.loop.time()
        due = self.last + self.interval
        # The loop runs a timer up to its clock's resolution early: a millisecond's slack.
        if now >= due - 0.001:
            from .sse import KEEPALIVE_COMMENT

            if self.sink.try_send(KEEPALIVE_COMMENT) == _GONE:
                self.timer = None
                return
            # Sent, or the channel is full: either way the client has bytes coming.
            self.last = now
            due = now + self.interval
        self.timer = self.loop.call_at(due, self._fire, context=_TIMER_CONTEXT)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


#: The context the keep-alive timers run in (they read no context variable): one for all,
#: instead of a copy of the current one per timer.
_TIMER_CONTEXT = contextvars.Context()


async def _pump(iterator, charset, background, keepalive, sink, loop, after) -> None:
    # Idle streams are many: what this frame holds while it waits is what each costs, so
    # it holds the response's parts it needs, not the response (and its headers).
    ok = False
    try:
        async for chunk in iterator:
            if not isinstance(chunk, (bytes, memoryview)):
                chunk = chunk.encode(charset)
            while True:
                outcome = sink.try_send(chunk)
                if outcome == _SENT:
                    if keepalive is not None:
                        keepalive.last = loop.time()
                    break
                if outcome == _GONE:
                    return
                # Full: the client is behind. Wait for room (or for it to leave).
                room = loop.create_future()
                sink.when_ready(lambda room=room: loop.call_soon_threadsafe(_wake, room))
                await room
                room = None
            chunk = None
        ok = True
    except asyncio.CancelledError:
        # The client left (or the server is stopping).
        pass
    except BaseException:
        print("fasterapi: exception in the body of a streamed response:", file=sys.stderr)
        traceback.print_exc()
    finally:
        if keepalive is not None:
            keepalive.stop()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except BaseException:
                traceback.print_exc()
        if ok:
            sink.finish()
        else:
            # The client sees the body end without its end (no last chunk).
            sink.abort()
        # Once the body is sent (or the client left), as FastAPI's: the exit code of the
        # request's dependencies with `yield`, its background tasks, the response's own.
        if after:
            from . import _fasterapi

            for f in after:
                _fasterapi._after_response(f)
        if background is not None:
            from .background import _schedule

            _schedule(background)


def start(response, sink, loop, after=()) -> None:
    """Starts sending ``response``'s body into ``sink`` as a task of ``loop`` (called on
    the loop's own thread, when the server first asks for the body); ``after`` (what
    ``_fasterapi._after_response`` was given for the request) runs once it is sent.

    A generator route's server-sent events (``_sse_keepalive`` set on the response) get
    a keep-alive comment after each ``sse._PING_INTERVAL`` seconds without a piece, sent
    by a timer of the loop while the generator waits: the timer never interrupts the
    generator (as FastAPI's producer task ensures) and an idle stream holds no task,
    queue or timeout of its own. A middleware that answers with a response of its own
    around the body's iterator sends no keep-alive comments."""
    keepalive = None
    if getattr(response, "_sse_keepalive", False):
        from . import sse

        keepalive = _KeepAlive(loop, sink, sse._PING_INTERVAL)
    pump = _pump(
        response.body_iterator,
        response.charset,
        getattr(response, "background", None),
        keepalive,
        sink,
        loop,
        after or None,
    )
    task = loop.create_task(pump)
    # The client leaving cancels the task (from the I/O thread that noticed).
    sink.on_disconnect(lambda: loop.call_soon_threadsafe(task.cancel))


# --- FastAPI's generator path operations -------------------------------------------------

_STREAM_ORIGINS = {
    "AsyncIterable", "AsyncIterator", "AsyncGenerator", "Iterable", "Iterator", "Generator",
}


def stream_item_type(annotation) -> typing.Any:
    """FastAPI's ``get_stream_item_type``: the item type of an ``AsyncIterable[X]``,
    ``Iterable[X]`` (and the iterator and generator forms) return annotation, ``Any``
    without an argument, ``None`` if it is none of those."""
    import collections.abc

    origin = typing.get_origin(annotation)
    if origin is None or not any(origin is getattr(collections.abc, n) for n in _STREAM_ORIGINS):
        return None
    args = typing.get_args(annotation)
    return args[0] if args else typing.Any


def _as_async(gen) -> typing.AsyncIterator:
    return gen if isinstance(gen, typing.AsyncIterable) else iterate_in_threadpool(gen)


async def _jsonl(gen, serialize) -> typing.AsyncIterator[bytes]:
    items = _as_async(gen)
    try:
        async for item in items:
            yield serialize(item) + b"\n"
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def _sse(gen, serialize_item) -> typing.AsyncIterator[bytes]:
    """The events of ``gen``, serialized. The keep-alive comments are not this
    generator's: see :func:`start`."""
    items = _as_async(gen)
    try:
        async for item in items:
            yield serialize_item(item)
            # Not held while the generator waits for the next (idle streams are many).
            item = None
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def generator_render(where: str, func, response_class, default_class: bool, route_status, field_for, dump_options: dict):
    """The ``render`` of a path operation that ``yield``\\ s, as FastAPI streams them:
    server-sent events with ``response_class=EventSourceResponse``, JSON lines
    (``application/jsonl``) with the default response class, else the generator given to
    ``response_class`` as its content (``StreamingResponse`` and its subclasses). Items of
    an ``Iterable[Item]``/``AsyncIterable[Item]`` return annotation are validated and
    serialized as that type (``field_for(type)``: its pydantic ``TypeAdapter``), others
    with ``jsonable_encoder`` and ``json.dumps``."""
    import json

    from .encoders import jsonable_encoder
    from .responses import StreamingResponse
    from .sse import EventSourceResponse, ServerSentEvent, format_sse_event

    is_sse = isinstance(response_class, type) and issubclass(response_class, EventSourceResponse)
    is_jsonl = default_class
    item_type = None
    if is_sse or is_jsonl:
        hints = {}
        try:
            hints = typing.get_type_hints(func, include_extras=True)
        except Exception:
            pass
        item_type = stream_item_type(hints.get("return"))
        if item_type is not None and isinstance(item_type, type) and issubclass(item_type, ServerSentEvent):
            item_type = None
    field = field_for(item_type) if item_type is not None and item_type is not typing.Any else None
    dump = {k: v for k, v in dump_options.items() if v not in (None, False)}

    def serialize_data(data) -> bytes:
        if field is not None:
            from .routing import _response_validation_error

            try:
                value = field.validate_python(data, from_attributes=True)
            except Exception as exc:
                if hasattr(exc, "errors"):
                    raise _response_validation_error(exc, data) from None
                raise
            return field.dump_json(value, **dump)
        return json.dumps(jsonable_encoder(data)).encode("utf-8")

    def serialize_event(item) -> bytes:
        if isinstance(item, ServerSentEvent):
            if item.raw_data is not None:
                data_str = item.raw_data
            elif item.data is not None:
                if hasattr(item.data, "model_dump_json"):
                    data_str = item.data.model_dump_json()
                else:
                    data_str = json.dumps(jsonable_encoder(item.data))
            else:
                data_str = None
            return format_sse_event(
                data_str=data_str, event=item.event, id=item.id, retry=item.retry, comment=item.comment,
            )
        return format_sse_event(data_str=serialize_data(item).decode("utf-8"))

    def render(gen, temporal_status):
        status = temporal_status if temporal_status is not None else route_status
        kwargs = {} if status is None else {"status_code": status}
        if is_sse:
            response = StreamingResponse(_sse(gen, serialize_event), media_type="text/event-stream", **kwargs)
            response._sse_keepalive = True
            response.headers["Cache-Control"] = "no-cache"
            response.headers["X-Accel-Buffering"] = "no"
            return response
        if is_jsonl:
            return StreamingResponse(_jsonl(gen, serialize_data), media_type="application/jsonl", **kwargs)
        return response_class(content=gen, **kwargs)

    return render
