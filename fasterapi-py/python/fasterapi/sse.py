"""Server-Sent Events: ``fasterapi.sse`` as ``fastapi.sse``.

A *path operation* that ``yield``\\ s, with ``response_class=EventSourceResponse``, is
streamed as ``text/event-stream``: each item a :class:`ServerSentEvent` (its ``data``
JSON-encoded, or ``raw_data`` as it is, with ``event``, ``id``, ``retry`` and ``comment``
lines) or any other value sent as a ``data:`` line of its JSON (validated against the
item type of an ``AsyncIterable[Item]``/``Iterable[Item]`` return annotation, as
FastAPI); a ``: ping`` comment is sent after :data:`_PING_INTERVAL` seconds without an
event, so that proxies keep the connection. The response has ``Cache-Control:
no-cache`` and ``X-Accel-Buffering: no``. Sync generators run on a thread pool, async
ones on the worker's event loop; the client leaving closes the generator.
"""

from __future__ import annotations

import typing

from .responses import StreamingResponse

try:  # pydantic is optional for fasterapi; ServerSentEvent is a pydantic model
    from pydantic import AfterValidator, BaseModel, Field, model_validator
except ImportError:  # pragma: no cover - depends on the environment
    BaseModel = None

# Canonical SSE event schema matching the OpenAPI 3.2 spec
# (Section 4.14.4 "Special Considerations for Server-Sent Events")
_SSE_EVENT_SCHEMA: dict[str, typing.Any] = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


class EventSourceResponse(StreamingResponse):
    """Streaming response with ``text/event-stream`` media type.

    Use as ``response_class=EventSourceResponse`` on a *path operation* that uses
    ``yield`` to send Server-Sent Events (any HTTP method). The encoding happens in the
    routing layer; this class mainly marks the route and sets the ``Content-Type``."""

    media_type = "text/event-stream"


def _check_single_line(v: str | None, field_name: str) -> str | None:
    if v is not None and ("\r" in v or "\n" in v):
        raise ValueError(f"SSE '{field_name}' must be a single line")
    return v


def _check_event_single_line(v: str | None) -> str | None:
    return _check_single_line(v, "event")


def _check_id_valid(v: str | None) -> str | None:
    if v is not None and "\0" in v:
        raise ValueError("SSE 'id' must not contain null characters")
    return _check_single_line(v, "id")


if BaseModel is not None:

    class ServerSentEvent(BaseModel):
        """A single Server-Sent Event, as FastAPI's.

        ``data`` (any JSON-serializable value: always JSON-encoded, strings quoted) or
        ``raw_data`` (a string sent as it is), ``event`` (a single line), ``id`` (a single
        line without NUL), ``retry`` (milliseconds, >= 0), ``comment`` (``:`` lines)."""

        data: typing.Any = None
        raw_data: typing.Optional[str] = None
        event: typing.Annotated[typing.Optional[str], AfterValidator(_check_event_single_line)] = None
        id: typing.Annotated[typing.Optional[str], AfterValidator(_check_id_valid)] = None
        retry: typing.Annotated[typing.Optional[int], Field(ge=0)] = None
        comment: typing.Optional[str] = None

        @model_validator(mode="after")
        def _check_data_exclusive(self) -> "ServerSentEvent":
            if self.data is not None and self.raw_data is not None:
                raise ValueError(
                    "Cannot set both 'data' and 'raw_data' on the same "
                    "ServerSentEvent. Use 'data' for JSON-serialized payloads "
                    "or 'raw_data' for pre-formatted strings."
                )
            return self

else:  # pragma: no cover - depends on the environment

    class ServerSentEvent:
        """Needs pydantic, which is not installed."""

        def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
            raise ImportError("fasterapi.sse.ServerSentEvent needs pydantic (pip install pydantic)")


def _split_sse_lines(value: str) -> list[str]:
    # Split on SSE-spec line terminators only (\n, \r\n, \r), preserving
    # trailing empty strings.
    return value.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def format_sse_event(
    *,
    data_str: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """SSE wire-format bytes from **pre-serialized** data (``data_str``), always ending
    with the event terminator ``\\n\\n``, as FastAPI's."""
    lines: list[str] = []
    if comment is not None:
        for line in _split_sse_lines(comment):
            lines.append(f": {line}")
    if event is not None:
        lines.append(f"event: {event}")
    if data_str is not None:
        for line in _split_sse_lines(data_str):
            lines.append(f"data: {line}")
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines.append("")
    lines.append("")
    return "\n".join(lines).encode("utf-8")


# Keep-alive comment, per the SSE spec recommendation
KEEPALIVE_COMMENT = b": ping\n\n"

# Seconds between keep-alive pings when a generator is idle.
# Private but importable so tests can monkeypatch it.
_PING_INTERVAL: float = 15.0
