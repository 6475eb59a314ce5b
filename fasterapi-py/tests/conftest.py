"""Starts the test app in a subprocess and talks to it over 127.0.0.1."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
# FastAPI's documentation tests run through fastapi_docs/run.py (test_fastapi_docs.py), on a
# rewritten copy: never collected from here.
collect_ignore = ["fastapi_docs"]
LISTENING = re.compile(r"worker (\d+) listening on http://([\d.]+:\d+)")
# Upper bound on how long any single wait may take before the test fails; tests never
# sleep to synchronize, they wait for lines the server prints.
WAIT = 30


class Server:
    """A server process whose stderr lines are collected by a reader thread."""

    def __init__(self, script, workers=1, args=()):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", os.path.join(HERE, script), "0", str(workers), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # Its own process group, as a server started from a shell: tests may signal
            # the group (Ctrl-C) without signalling pytest.
            start_new_session=True,
        )
        self.lines = queue.Queue()
        self.log = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.workers = set()
        self.url = None
        for _ in range(workers):
            pid, addr = self.wait_for(LISTENING).groups()
            self.workers.add(int(pid))
            self.url = f"http://{addr}"

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern):
        """The next stderr line matching `pattern` (a regex); fails after WAIT seconds."""
        pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern.pattern!r}; log:\n{''.join(self.log)}")
            if line is None:
                raise AssertionError(f"server exited before {pattern.pattern!r}; log:\n{''.join(self.log)}")
            m = pattern.search(line)
            if m:
                return m

    def wait_exit_of_all(self):
        """Waits until every process writing to the stderr pipe has exited (EOF)."""
        while True:
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"processes still running; log:\n{''.join(self.log)}")
            if line is None:
                return

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not stop on {sig!r}; log:\n{''.join(self.log)}")


def get(server, path, **kw):
    """`GET path` on a running server, with `requests`."""
    return requests.get(server.url + path, timeout=10, **kw)


def post(server, path, **kw):
    """`POST path` on a running server, with `requests`."""
    return requests.post(server.url + path, timeout=10, **kw)


def module_server(script):
    """A fixture `server`: `script` served by one worker for a whole test module, then
    stopped with SIGTERM, which must end it with exit code 0."""

    @pytest.fixture(scope="module")
    def server():
        s = Server(script, workers=1)
        yield s
        code = s.stop()
        assert code == 0, "".join(s.log)

    return server


server = module_server("app_main.py")


@pytest.fixture
def spawn_server():
    started = []

    def start(script="app_main.py", workers=1, args=()):
        s = Server(script, workers, args)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
