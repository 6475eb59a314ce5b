"""A route's dependency graph, resolved once at registration into a flat plan and a
generated solver (FastAPI resolves it per request in ``solve_dependencies``).

Every parameter of every dependency that the request supplies (path, query, header,
cookie, body and form values, the ``Request``) becomes one entry of the route's plan, read
and validated in Rust as a handler's parameters are. The solver is a Python function
generated for the route: it takes those values positionally, calls the dependencies in
FastAPI's order with their arguments, then the handler, and returns what the handler
returns. The server calls the solver where it would call the handler, so a route without
dependencies keeps its plain path, and one with dependencies costs its dependency calls,
one extra call and no look-up per request: which value goes where, which dependency is
shared within a request (``use_cache``), which exit code runs when, is settled here.

For a handler ``me(user = Depends(get_user))`` with ``get_user(token = Depends(get_token))``
and ``get_token(authorization: str = Header())`` the solver reads::

    def _solve(a0):
        d0 = get_token(a0)
        d1 = get_user(d0)
        return me(d1)

The solver is a ``def`` when the whole graph is (sync generators included): the route is
then placed like a ``def`` handler (the worker pool, or inline once its calls prove fast).
It is an ``async def`` when any dependency or the handler is async (an async generator
included); ``def`` dependencies, ``def`` generators' entries and a ``def`` handler in it
run where ``placement.py`` puts them: on a thread pool, or on the loop's thread once
their calls prove fast.

Dependencies with ``yield`` are entered and exited with the semantics of FastAPI's
``contextlib`` context managers on an exit stack (``exits.py``): an exception raised by
the handler or a later dependency reaches their ``except``/``finally``; an exit that
swallows it answers 500 with FastAPI's error.
``scope="function"`` exits run before the response; the others after it (see
``_fasterapi._after_response``): on the I/O thread, at the loop turn that follows the
write; a route on the worker pool runs them once its response is made.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing

from .. import _fasterapi
from .._fasterapi import ParamSpec, Source
from ..exceptions import DependencyScopeError, FastAPIError
from ..params import Depends, Security
from .exits import Exits
from .placement import Placement
from .utils import _PATH_PARAM, SECURITY_SCOPES, SubDependency, _analyze, _qualname, settle_body

#: FastAPI's message when a dependency with ``yield`` swallowed the handler's exception.
SWALLOWED = (
    "Response not awaited. There's a high chance that the application code is raising an "
    "exception and a dependency with yield has a block with a bare except, or a block with "
    "except Exception, and is not raising the exception again. Read more about it in the "
    "docs: https://fastapi.tiangolo.com/tutorial/dependencies/dependencies-with-yield/#dependencies-with-yield-and-except"
)


class Compiled(typing.NamedTuple):
    """A route's graph compiled: the plan the server reads, the solver it calls, whether
    the solver is a coroutine function, and the function it calls instead when some
    values failed validation (see :meth:`_Builder.solver`)."""

    plan: list
    solver: typing.Callable
    is_async: bool
    on_invalid: typing.Callable


# How a dependency is called.
_SYNC, _ASYNC, _GEN, _ASYNC_GEN = "sync", "async", "gen", "asyncgen"


def _unwrapped(call):
    while isinstance(call, functools.partial):
        call = call.func
    return inspect.unwrap(call)


def _is(test, call) -> bool:
    """Whether ``call`` (a partial of it, what it wraps, or its ``__call__``) passes
    ``test``, as FastAPI classifies dependencies."""
    if test(_unwrapped(call)) or test(call):
        return True
    if inspect.isclass(_unwrapped(call)):
        return False
    dunder = getattr(call, "__call__", None)  # noqa: B004
    return dunder is not None and (test(_unwrapped(dunder)) or test(dunder))


def kind_of(call) -> str:
    """``sync``, ``async``, ``gen`` or ``asyncgen``: how ``call`` is called."""
    if _is(inspect.isgeneratorfunction, call):
        return _GEN
    if _is(inspect.isasyncgenfunction, call):
        return _ASYNC_GEN
    if _is(lambda f: inspect.isroutine(f) and inspect.iscoroutinefunction(f), call):
        return _ASYNC
    return _SYNC


def _cache_identity(call):
    """``call`` as part of a cache key: itself when hashable (FastAPI keys by equality),
    else its identity."""
    try:
        hash(call)
    except TypeError:
        return ("id", id(call))
    return call


def _scopes_union(parent: list, own) -> list:
    scopes = list(parent)
    for scope in own or ():
        if scope not in scopes:
            scopes.append(scope)
    return scopes


class _Builder:
    """Walks one route's graph, collecting plan entries and the solver's lines."""

    def __init__(self, path: str, label: str, overrides, blocking=None):
        self.path = path
        #: The route's ``blocking=``: where the def parts of an async graph run.
        self.blocking = blocking
        self.path_names = set(_PATH_PARAM.findall(path))
        self.label = label
        self.overrides = overrides or {}
        self.entries: list = []
        #: The calls, in order: ``(guard, target, form, callee, argtext)``, ``guard`` the
        #: plan entries a dependency needs (``None`` for the handler), ``form`` how it is
        #: called: ``call`` (a def), ``await`` (an async def), ``enter``/``aenter`` (a
        #: generator, into the exit stack ``callee`` names after a ``:``).
        self.lines: list = []
        self.env: dict = {}
        self.cache: dict = {}
        #: The argument of the request's Request and temporal Response.
        self.shared: dict = {}
        self.groups = 0
        self.values = 0
        self.is_async = False
        self.request_exits = False
        self.function_exits = False
        #: Which exit stacks hold an async context manager (an async generator): those
        #: are AsyncExitStacks, the others ExitStacks, closed without a coroutine.
        self.async_stack = {"_fst": False, "_rst": False}

    def const(self, obj, prefix: str) -> str:
        name = f"_{prefix}{len(self.env)}"
        self.env[name] = obj
        return name

    def node(self, call, *, use_cache: bool, scope, own_scopes, parent_scopes: list, endpoint=False):
        """Emits the calls of ``call`` and its dependencies; returns ``(expression of
        its value, whether it uses security scopes, the plan entries it needs)``: the
        indices of the values it and its dependencies read, none of which may have
        failed for it to be called."""
        from ..security.base import SecurityBase, plain_equivalent

        original = call
        if not endpoint and self.overrides:
            call = self.overrides.get(original, original) if _hashable(original) else original
        uses_scopes = bool(own_scopes) or isinstance(_unwrapped(call), SecurityBase)
        # A security scheme used as it is: its plain method, which reads only what it needs.
        call = plain_equivalent(call)
        kind = kind_of(call)
        computed_scope = scope or ("request" if kind in (_GEN, _ASYNC_GEN) else None)
        scopes = _scopes_union(parent_scopes, own_scopes)
        args = []
        own = []
        needs: set = set()
        for name, param_kind, item in _analyze(call, self.path_names, self.path):
            if isinstance(item, SubDependency):
                depends = item.depends
                if kind in (_GEN, _ASYNC_GEN) and computed_scope == "request" and depends.scope == "function":
                    raise DependencyScopeError(
                        f'The dependency "{getattr(call, "__name__", "<unnamed_callable>")}" has a scope of '
                        '"request", it cannot depend on dependencies with scope "function".'
                    )
                sub_scopes = list(depends.scopes or ()) if isinstance(depends, Security) else []
                expr, sub_uses, sub_needs = self.node(
                    depends.dependency, use_cache=depends.use_cache, scope=depends.scope,
                    own_scopes=sub_scopes, parent_scopes=scopes,
                )
                uses_scopes = uses_scopes or sub_uses
                needs |= sub_needs
            elif item is SECURITY_SCOPES:
                from ..security.oauth2 import SecurityScopes

                expr = f"{self.const(SecurityScopes, 'scopes_class')}(list({self.const(tuple(scopes), 'scopes')}))"
                uses_scopes = True
            elif item["source"] in (Source.REQUEST, Source.RESPONSE, Source.BACKGROUND):
                # One Request, one temporal Response and one BackgroundTasks per request,
                # shared by every dependency and the handler, as in FastAPI.
                shared = ("request" if item["source"] == Source.REQUEST
                          else "response" if item["source"] == Source.RESPONSE else "background")
                if shared not in self.shared:
                    self.shared[shared] = f"a{len(self.entries)}"
                    self.entries.append(item)
                expr = self.shared[shared]
            else:
                needs.add(len(self.entries))
                expr = f"a{len(self.entries)}"
                self.entries.append(item)
                own.append(item)
            args.append((name, param_kind, expr))
        # Each dependency's own values are reported after its dependencies' (FastAPI's order).
        for entry in own:
            entry["group"] = self.groups
        self.groups += 1
        argtext = ", ".join(
            f"{name}={expr}" if param_kind == inspect.Parameter.KEYWORD_ONLY else expr
            for name, param_kind, expr in args
        )
        key = (
            _cache_identity(original),
            tuple(sorted(set(scopes))) if uses_scopes else (),
            computed_scope or "",
        )
        if endpoint:
            callee = self.const(call, "endpoint")
            # A generator handler is called for its generator, streamed by the route
            # (routing._response_plan): a plain call either way.
            if kind == _ASYNC:
                self.is_async = True
                self.lines.append((None, "_out", "await", callee, argtext))
            else:
                self.lines.append((None, "_out", "call", callee, argtext))
            return "_out", uses_scopes, needs
        if use_cache and key in self.cache:
            value, first_needs = self.cache[key]
            return value, uses_scopes, needs | first_needs
        value = f"d{self.values}"
        self.values += 1
        callee = self.const(call, "dep")
        guard = frozenset(needs)
        if kind == _SYNC:
            self.lines.append((guard, value, "call", callee, argtext))
        elif kind == _ASYNC:
            self.is_async = True
            self.lines.append((guard, value, "await", callee, argtext))
        else:
            stack = "_fst" if computed_scope == "function" else "_rst"
            if stack == "_fst":
                self.function_exits = True
            else:
                self.request_exits = True
            if kind == _GEN:
                self.lines.append((guard, value, "enter", f"{stack}:{callee}", argtext))
            else:
                self.is_async = True
                self.async_stack[stack] = True
                self.lines.append((guard, value, "aenter", f"{stack}:{callee}", argtext))
        self.cache.setdefault(key, (value, needs))
        return value, uses_scopes, needs

    def render(self, is_async: bool, target: str, form: str, callee: str, argtext: str) -> str:
        """One call of the solver: in an async one, a def callable (or a generator's
        entry) runs where its :class:`Placement` says, on the pool or the loop's thread."""
        if form == "await":
            return f"{target} = await {callee}({argtext})"
        if form == "aenter":
            stack, callee = callee.split(":")
            return f"{target} = await {stack}.aenter({callee}({argtext}))"
        if form == "enter":
            stack, callee = callee.split(":")
            function, argtext = f"{stack}.enter", f"{callee}({argtext})"
        else:
            function = callee
        if not is_async:
            return f"{target} = {function}({argtext})"
        place = self.const(Placement(self.blocking, self.label), "place")
        return (
            f"{target} = {place}.call({function}, {argtext}) if {place}.inline "
            f"else await {place}.offload({function}, {argtext})"
        )

    def solver(self, invalid: bool = False) -> tuple:
        """``(source, is_async)`` of the solver, or with ``invalid`` of the function that
        answers a request some of whose values failed validation, as FastAPI does: each
        dependency whose own values are all valid is called (it may answer first, a 401
        say), then the request's ``RequestValidationError`` is raised inside the exit
        stacks (their exit code sees it) and out to the exception handlers (the 422). It
        takes that exception and the set of the failed values' indices before the values
        (a failed one ``None``)."""
        is_async = self.is_async
        params = ", ".join(f"a{i}" for i in range(len(self.entries)))
        if invalid:
            params = "_exc, _failed" + (", " + params if params else "")
            body = []
            for guard, *call in self.lines:
                if guard is None:  # the handler: never called
                    continue
                line = self.render(is_async, *call)
                if guard:
                    body += [f"if _failed.isdisjoint({self.const(guard, 'needs')}):", "    " + line]
                else:
                    body.append(line)
            body.append("raise _exc")
        else:
            body = [self.render(is_async, *call) for _, *call in self.lines]
        if not (self.function_exits or self.request_exits):
            if not invalid:
                body.append("return _out")
            header = f"{'async ' if is_async else ''}def _solve({params}):"
            return "\n".join([header] + ["    " + line for line in body]), is_async
        for stack, used in (("_fst", self.function_exits), ("_rst", self.request_exits)):
            if not used:
                continue
            if self.async_stack[stack]:
                exit_call, close = "await {}.aexit", "await {}.aclose()"
            else:
                exit_call, close = "{}.exit", "{}.close()"
            # try: <body> except: exits see the exception (re-raised, replaced, or
            # swallowed: FastAPI's error); no exception: function-scope exits now.
            wrapped = ["try:"] + ["    " + line for line in body] + [
                "except BaseException:",
                f"    if not {exit_call.format(stack)}(*_exc_info()):",
                "        raise",
                "    raise _FastAPIError(_SWALLOWED)",
            ]
            if stack == "_fst":
                wrapped.append(close.format(stack))
            body = [f"{stack} = _Exits(_label)"] + wrapped
        if not invalid:
            if self.request_exits:
                body.append("_after_response(_rst.after_response)")
            body.append("return _out")
        header = f"{'async ' if is_async else ''}def _solve({params}):"
        return "\n".join([header] + ["    " + line for line in body]), is_async


def _hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def compile_graph(endpoint, path: str, dependencies, overrides, label: str, blocking=None) -> Compiled:
    """Compiles the route serving ``path`` with ``endpoint``: ``dependencies`` (the
    ``Depends`` of the app, its routers and the route, in that order) run first, then the
    handler's; ``overrides`` (``app.dependency_overrides``) replace dependencies by
    others, their own parameters read instead. ``blocking``: the route's, for the def
    parts of an async graph (``placement.py``)."""
    builder = _Builder(path, label, overrides, blocking)
    for depends in dependencies:
        if not isinstance(depends, Depends):
            raise TypeError(f"{label}: dependencies must be Depends(...) objects, not {depends!r}")
        if depends.dependency is None:
            raise TypeError(f"{label}: Depends() in dependencies=[...] needs a dependency")
        own = list(depends.scopes or ()) if isinstance(depends, Security) else []
        builder.node(depends.dependency, use_cache=depends.use_cache, scope=depends.scope,
                     own_scopes=own, parent_scopes=[])
    builder.node(endpoint, use_cache=False, scope=None, own_scopes=[], parent_scopes=[], endpoint=True)
    entries = builder.entries
    declared = {e["key"] for e in entries if e["source"] == Source.PATH}
    missing = builder.path_names - declared
    if missing:
        raise TypeError(f"{label}: path parameters {sorted(missing)} are not in the signature of the handler or its dependencies")
    settle_body(entries, label)
    namespace = dict(
        _Exits=Exits,
        _exc_info=sys.exc_info,
        _FastAPIError=FastAPIError,
        _SWALLOWED=SWALLOWED,
        _after_response=_fasterapi._after_response,
        _label=label,
    )
    functions = []
    for invalid in (False, True):
        source, is_async = builder.solver(invalid)
        scope = dict(builder.env)
        scope.update(namespace)
        kind = "invalid requests" if invalid else "dependencies"
        exec(compile(source, f"<{kind} of {label}>", "exec"), scope)  # noqa: S102 - generated above
        function = scope["_solve"]
        name = "answer_invalid" if invalid else "solve_dependencies"
        function.__qualname__ = function.__name__ = f"{name}[{label}]"
        function.__fasterapi_source__ = source
        functions.append(function)
    return Compiled([ParamSpec(**e) for e in entries], functions[0], is_async, functions[1])
