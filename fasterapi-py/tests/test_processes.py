"""Worker processes (issue 5 point 4): fork, SO_REUSEPORT listeners, restart, signals."""

import os
import signal
import socket
import threading

import pytest
import requests

from conftest import LISTENING, WAIT

# Each request below opens a new connection, which the kernel hashes to one of the
# workers' listeners: the chance that N requests all miss a given worker is 2**-N, so
# loops bounded at this many requests find every worker with certainty in practice.
ATTEMPTS = 200


def pid_of(server):
    return requests.get(server.url + "/pid", timeout=10).json()


def pids_seen(server, want):
    """Requests /pid on fresh connections until every pid in `want` answered."""
    seen = set()
    for _ in range(ATTEMPTS):
        seen.add(pid_of(server))
        if want <= seen:
            break
    return seen


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads line")


def test_workers_each_serve_from_their_own_listener(spawn_server):
    s = spawn_server(workers=2)
    assert len(s.workers) == 2
    assert s.proc.pid not in s.workers
    assert pids_seen(s, s.workers) == s.workers
    # The supervisor forked before any server thread existed, and never starts one.
    assert threads_of(s.proc.pid) == 1


def test_sigkilled_worker_is_replaced_and_requests_keep_being_answered(spawn_server):
    s = spawn_server(workers=2)
    victim, survivor = sorted(s.workers)
    os.kill(victim, signal.SIGKILL)
    # The supervisor reaped it: its listener is closed.
    s.wait_for(rf"worker {victim} died")
    answered = {pid_of(s) for _ in range(50)}
    assert victim not in answered
    # A new worker takes the dead one's place and gets its share of connections.
    replacement = int(s.wait_for(LISTENING).group(1))
    assert replacement not in (victim, survivor)
    assert pids_seen(s, {survivor, replacement}) == {survivor, replacement}


def test_sigterm_shuts_every_worker_down_gracefully(spawn_server):
    s = spawn_server(workers=2)
    result = {}

    def slow_request():
        try:
            result["response"] = requests.get(s.url + "/slow", timeout=WAIT)
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    t = threading.Thread(target=slow_request)
    t.start()
    s.wait_for(r"slow handler started")
    # The request is in flight: SIGTERM to the supervisor is forwarded to the workers,
    # which finish it before exiting.
    assert s.stop(signal.SIGTERM) == 0
    t.join(WAIT)
    assert "error" not in result, result
    assert result["response"].status_code == 200
    assert result["response"].json() == "slow done"
    for pid in s.workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(s.url.rsplit(":", 1)[1])), timeout=WAIT).close()


def test_sigint_stops_the_supervisor_and_workers(spawn_server):
    s = spawn_server(workers=2)
    assert pid_of(s) in s.workers
    assert s.stop(signal.SIGINT) == 0
    for pid in s.workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_single_process_serves_in_process_and_stops_on_sigint(spawn_server):
    s = spawn_server(workers=1)
    assert s.workers == {s.proc.pid}
    assert pid_of(s) == s.proc.pid
    assert s.stop(signal.SIGINT) == 0


def test_workers_shut_down_when_the_supervisor_is_killed(spawn_server):
    s = spawn_server(workers=2)
    assert pids_seen(s, s.workers) == s.workers
    s.proc.kill()  # SIGKILL: nothing forwarded; the kernel tells the workers
    s.proc.wait()
    # Every worker exits: they hold the stderr pipe open until then.
    s.wait_exit_of_all()


def signal_group_during_a_slow_request(spawn_server, sig):
    """Starts 2 workers, sends `sig` to the whole process group while a request is being
    handled, and checks the request is still answered and every process exits with 0."""
    s = spawn_server(workers=2)
    result = {}

    def slow_request():
        try:
            result["response"] = requests.get(s.url + "/slow", timeout=WAIT)
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    t = threading.Thread(target=slow_request)
    t.start()
    s.wait_for(r"slow handler started")
    os.killpg(s.proc.pid, sig)
    t.join(WAIT)
    assert "error" not in result, result
    assert result["response"].json() == "slow done"
    for _ in s.workers:
        s.wait_for(r"worker \d+ stopped \(exit code 0\)")
    assert s.proc.wait(timeout=WAIT) == 0


def test_ctrl_c_to_the_process_group_shuts_down_gracefully(spawn_server):
    # What a terminal does on Ctrl-C: SIGINT to the foreground process group.
    signal_group_during_a_slow_request(spawn_server, signal.SIGINT)


def test_sigterm_to_the_process_group_is_taken_once_and_graceful(spawn_server):
    # What service managers and the benchmark rig do: SIGTERM to the whole group, so a
    # worker gets it both directly and forwarded by the supervisor.
    signal_group_during_a_slow_request(spawn_server, signal.SIGTERM)


def test_workers_share_the_supervisors_process_group(spawn_server):
    s = spawn_server(workers=2)
    assert {os.getpgid(pid) for pid in s.workers} == {os.getpgid(s.proc.pid)}
