"""``GZipMiddleware``: ``fasterapi.middleware.gzip`` as ``fastapi.middleware.gzip``.

``app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)`` turns on the
server's own response compression for the whole app: no Python runs per request. As
Starlette's middleware:

- only gzip, at ``compresslevel`` (Starlette's default 9), for bodies of at least
  ``minimum_size`` bytes (default 500), when the request accepts gzip;
- not for responses that have a ``Content-Encoding`` already, ``206`` answers, nor the
  media types of ``exclude_content_types`` (Starlette's list: images, audio, video,
  archives, WOFF fonts, gRPC, ``text/event-stream``; the server also leaves alone the
  other compressed image and archive formats);
- ``Content-Length`` is the compressed body's and ``Vary: Accept-Encoding`` is added.

Where the server does better than Starlette: ``Accept-Encoding`` q-values are read
(``gzip;q=0`` refuses gzip, which Starlette's substring test does not), and
``Vary: Accept-Encoding`` is on every compressible answer, small ones too, so that a
cache can never serve one client's copy to another that asked differently.

``thread_minimum_size`` (Starlette's size from which it compresses on a worker thread)
changes nothing here: the server compresses in Rust, without the interpreter. A custom
``exclude_content_types`` is refused (``NotImplementedError``): the server's list is
fixed.
"""

from __future__ import annotations

#: Starlette's default ``exclude_content_types``.
DEFAULT_EXCLUDED_CONTENT_TYPES = (
    "application/grpc",
    "application/gzip",
    "application/x-gzip",
    "application/zip",
    "audio/*",
    "font/woff",
    "font/woff2",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/event-stream",
    "video/*",
)


class GZipMiddleware:
    """Starlette's ``GZipMiddleware``, applied by the server: give it to
    ``app.add_middleware`` (or ``FasterAPI(middleware=[Middleware(GZipMiddleware,
    ...)])``). Its options are checked when added. Wherever it is added among other
    middleware, it compresses the final response (as if added last)."""

    def __init__(
        self,
        app=None,
        minimum_size: int = 500,
        compresslevel: int = 9,
        thread_minimum_size: int = 128 * 1024,
        *,
        exclude_content_types: tuple = DEFAULT_EXCLUDED_CONTENT_TYPES,
    ) -> None:
        if isinstance(minimum_size, bool) or not isinstance(minimum_size, int) or minimum_size < 0:
            raise ValueError(f"GZipMiddleware: minimum_size must be an int >= 0, not {minimum_size!r}")
        if isinstance(compresslevel, bool) or not isinstance(compresslevel, int):
            raise ValueError(f"GZipMiddleware: compresslevel must be an int, not {compresslevel!r}")
        if compresslevel == -1:
            # zlib's Z_DEFAULT_COMPRESSION.
            compresslevel = 6
        if not 0 <= compresslevel <= 9:
            raise ValueError(f"GZipMiddleware: compresslevel must be within 0..9 (or -1), not {compresslevel}")
        if _normalize(exclude_content_types) != _normalize(DEFAULT_EXCLUDED_CONTENT_TYPES):
            raise NotImplementedError(
                "GZipMiddleware(exclude_content_types=...) is not implemented by fasterapi: the "
                "server skips a fixed list of compressed media types (Starlette's default and "
                "other compressed image and archive formats)"
            )
        self.app = app
        self.minimum_size = minimum_size
        self.compresslevel = compresslevel
        self.thread_minimum_size = thread_minimum_size
        self.exclude_content_types = _normalize(exclude_content_types)

    def _layer(self):
        # What the server reads (fasterapi-py/src/dispatch.rs, gzip_of).
        return ("gzip", self.minimum_size, self.compresslevel)

    async def __call__(self, scope, receive, send):
        raise NotImplementedError(
            "fasterapi's GZipMiddleware is not an ASGI app: add it with app.add_middleware("
            "GZipMiddleware, ...) and the server compresses"
        )


def _normalize(content_types) -> tuple:
    return tuple(sorted(t.partition(";")[0].strip().lower() for t in content_types))
