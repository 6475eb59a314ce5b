"""What FastAPI has and fasterapi does not (yet): refused by name, never ignored.

Each module of the package that mirrors one of FastAPI's lists the names of FastAPI's
module it does not implement in ``_NOT_YET``; importing one raises ``ImportError`` naming
it, so an app that needs it fails at once instead of running without it.
"""

from __future__ import annotations


def refuse(module: str, names: frozenset):
    """A module ``__getattr__`` raising ``ImportError`` for the FastAPI ``names`` that
    ``module`` lacks, ``AttributeError`` for any other missing name."""

    def __getattr__(name: str):
        if name in names:
            raise ImportError(
                f"fasterapi does not implement FastAPI's {name!r} ({module}) yet; an app that "
                "uses it cannot run on fasterapi today (nothing is silently left out)"
            )
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
