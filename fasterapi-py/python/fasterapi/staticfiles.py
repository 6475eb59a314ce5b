"""Static files: ``fasterapi.staticfiles`` as ``fastapi.staticfiles``.

``app.mount("/static", StaticFiles(directory="static"), name="static")`` serves the
files of a directory from the server's core: no Python runs per request. What is
answered is Starlette's ``StaticFiles``' behaviour, with the core's rules:

- ``GET``/``HEAD`` only (other methods ``405``); ``Content-Type`` from the extension,
  ``ETag`` (strong, from size and modification time) and ``Last-Modified``;
  ``If-None-Match``/``If-Modified-Since`` answer ``304``; one ``Range: bytes=`` range
  ``206`` (``416`` past the end; several ranges send the whole file); the bytes go out
  with ``sendfile(2)``.
- No request reads outside ``directory``: ``..`` never climbs above it (escaped or
  not), paths with NUL or backslashes are ``404``, and symlinks that lead out of it
  (any absolute symlink included) are ``404`` unless ``follow_symlink=True``.
- ``html=True``: a directory's ``index.html`` answers for it (redirected to the
  trailing-slash form first, ``307``), and ``404.html`` is the body of ``404`` answers.
- ``check_dir=True`` (the default) raises ``RuntimeError`` at once if ``directory`` is
  not a directory; with ``False`` the server refuses to start with the same error.
- The app's native middleware (CORS, trusted hosts, HTTPS redirect) applies; Python
  middleware (``@app.middleware("http")``, ``BaseHTTPMiddleware``) runs for static files
  too, as in Starlette (``call_next`` returns the file's bytes), and only then does a
  static request enter Python.
- ``packages=`` (directories inside Python packages) is not implemented: it raises
  ``NotImplementedError``.
"""

from __future__ import annotations

import os
import typing

PathLike = typing.Union[str, "os.PathLike[str]"]


class StaticFiles:
    """A directory of files to mount with ``app.mount(path, StaticFiles(...), name=...)``
    (see the module's docs for what is served)."""

    def __init__(
        self,
        *,
        directory: PathLike | None = None,
        packages: list | None = None,
        html: bool = False,
        check_dir: bool = True,
        follow_symlink: bool = False,
    ) -> None:
        if packages:
            raise NotImplementedError(
                "StaticFiles(packages=...) is not implemented by fasterapi yet: give "
                "directory= (the package's statics directory) instead"
            )
        if directory is None:
            raise NotImplementedError(
                "StaticFiles without directory= is not implemented by fasterapi yet "
                "(packages= is not supported): give directory="
            )
        self.directory = directory
        self.packages = packages
        self.all_directories = [directory]
        self.html = html
        self.follow_symlink = follow_symlink
        if check_dir and not os.path.isdir(directory):
            raise RuntimeError(f"Directory '{directory}' does not exist")

    async def __call__(self, scope, receive, send) -> None:
        raise NotImplementedError(
            "fasterapi serves StaticFiles from its core once mounted (app.mount(...)); "
            "it is not an ASGI application"
        )
