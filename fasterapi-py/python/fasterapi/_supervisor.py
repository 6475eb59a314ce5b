"""``app.run(workers=N)``: the supervisor process and its forked workers."""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback

from . import _fasterapi


_EXIT_START_FAILED = 3


def _log(msg: str) -> None:
    print(f"fasterapi: {msg}", file=sys.stderr, flush=True)


def _supervise(routes, host: str, port: int, workers: int, options: dict) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Reserve the port (and resolve port 0) with a bound, non-listening SO_REUSEPORT
    # socket: every worker binds the same port next to it, and it receives no connection.
    reserve = socket.socket(family, socket.SOCK_STREAM)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reserve.bind((host, port))
    port = reserve.getsockname()[1]
    children: dict[int, None] = {}
    state = {"stopping": False, "failed": False}
    if options.get("metrics"):
        # Mapped before the first fork: every worker counts into it, and /metrics in any
        # of them adds all up (restarted workers too; a dead one's counts stay counted).
        options = {**options, "metrics_region": _fasterapi.MetricsRegion()}

    supervisor = os.getpid()

    stop_signals = {signal.SIGINT, signal.SIGTERM}

    def spawn() -> None:
        # Signals wait until the child is registered, so that `forward` reaches it.
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            pid = os.fork()
            if pid == 0:
                worker()
            children[pid] = None
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)

    def worker() -> None:
        """The child: no Rust thread exists yet in this process. Never returns."""
        code = 0
        try:
            # A worker stops on SIGTERM only (from the supervisor, its process group
            # or its parent's death), taken by serve() from the mask: SIGTERM stays
            # blocked from the fork on, and Ctrl-C's SIGINT reaches the supervisor,
            # which forwards SIGTERM. Workers stay in the supervisor's process group, so
            # that tools that watch or signal the group see the whole server.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            reserve.close()
            if not _fasterapi._die_with_parent(supervisor):
                os._exit(0)
            _fasterapi.serve(routes, host, port, supervised=True, **options)
        except OSError:
            traceback.print_exc()
            code = _EXIT_START_FAILED
        except BaseException:  # noqa: BLE001 - a worker must never return into the parent's code
            traceback.print_exc()
            code = 1
        finally:
            sys.stderr.flush()
            os._exit(code)

    def forward(signum, _frame) -> None:
        # The first SIGINT/SIGTERM: a graceful shutdown of every worker (SIGTERM; a
        # worker that also got it from the process group takes it once). A second one:
        # stop now.
        sig = signal.SIGKILL if state["stopping"] else signal.SIGTERM
        if sig == signal.SIGKILL:
            _log("second signal: killing the workers")
        state["stopping"] = True
        for pid in list(children):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    old_term = signal.signal(signal.SIGTERM, forward)
    old_int = signal.signal(signal.SIGINT, forward)
    try:
        _log(f"supervisor {os.getpid()} serving http://{host}:{port} with {workers} workers")
        for _ in range(workers):
            if state["stopping"]:
                break
            spawn()
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            children.pop(pid, None)
            if state["stopping"]:
                if os.WIFEXITED(status):
                    _log(f"worker {pid} stopped (exit code {os.WEXITSTATUS(status)})")
                else:
                    _log(f"worker {pid} stopped (signal {os.WTERMSIG(status)})")
                continue
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_START_FAILED:
                _log(f"worker {pid} could not start; stopping")
                state["failed"] = True
                forward(signal.SIGTERM, None)
                continue
            _log(f"worker {pid} died (status {status}); starting a new one")
            spawn()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
        reserve.close()
    if state["failed"]:
        raise SystemExit(1)
