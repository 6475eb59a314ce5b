"""Prometheus metrics of a Python app (issue 17): `app.run(metrics="/metrics")`, and with
several worker processes one endpoint that counts the requests of all of them (the counts
live in memory the supervisor maps before forking the workers)."""

import os
import signal

import pytest

from conftest import LISTENING, get

# Each request below goes on a new connection, which the kernel hashes to one of the
# workers' listeners: the chance that this many requests all miss a given worker is
# 2**-ATTEMPTS.
ATTEMPTS = 200


def parse(text):
    """The samples of a Prometheus text exposition, by `name{labels}` as written."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        key, value = line.rsplit(" ", 1)
        assert key not in samples, f"duplicate sample {key}"
        samples[key] = float(value)
    return samples


def requests_total(route, method, status):
    return f'fasterapi_requests_total{{route="{route}",method="{method}",status="{status}"}}'


def scrape(server):
    r = get(server, "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse(r.text)


def test_one_endpoint_counts_the_requests_of_every_worker(spawn_server):
    s = spawn_server("app_metrics.py", workers=2)
    # Requests on fresh connections until both workers served some; then a few more.
    served = {}
    sent = 0
    while set(served) != s.workers or sent < 20:
        assert sent < ATTEMPTS, f"only workers {set(served)} of {s.workers} answered"
        pid = get(s, "/pid").json()
        served[pid] = served.get(pid, 0) + 1
        sent += 1
    assert set(served) == s.workers
    # Neither worker alone served them all: a scrape that reports `sent` counted both.
    assert max(served.values()) < sent
    items = [get(s, f"/items/{i}") for i in (1, 2, 3, 0)]
    assert [r.status_code for r in items] == [200, 200, 200, 404]
    # Scrapes on fresh connections, answered by either worker.
    for k in range(12):
        m = scrape(s)
        assert m[requests_total("/pid", "GET", "2xx")] == sent
        assert m[requests_total("/items/{item_id}", "GET", "2xx")] == 3
        assert m[requests_total("/items/{item_id}", "GET", "4xx")] == 1
        # Every earlier scrape was counted, whichever worker answered it.
        assert m.get(requests_total("/metrics", "GET", "2xx"), 0) == k
        labels = 'route="/pid",method="GET"'
        assert m[f"fasterapi_request_duration_seconds_count{{{labels}}}"] == sent
        assert m[f'fasterapi_request_duration_seconds_bucket{{{labels},le="+Inf"}}'] == sent
        assert m["fasterapi_shed_requests_total"] == 0
        # The scrape's own connection is open in the worker answering it.
        assert m["fasterapi_open_connections"] >= 1


def test_a_single_process_serves_its_own_metrics(spawn_server):
    s = spawn_server("app_metrics.py", workers=1)
    for _ in range(5):
        assert get(s, "/pid").json() == s.proc.pid
    assert get(s, "/items/7").status_code == 200
    m = scrape(s)
    assert m[requests_total("/pid", "GET", "2xx")] == 5
    assert m[requests_total("/items/{item_id}", "GET", "2xx")] == 1
    assert m["fasterapi_open_connections"] == 1


@pytest.mark.parametrize("bad", ["metrics", "", 3])
def test_a_metrics_path_must_be_a_path(bad):
    from fasterapi import FastAPI

    with pytest.raises(ValueError, match="metrics must be a path"):
        FastAPI().run(port=0, metrics=bad)


def test_a_dead_workers_requests_stay_counted_and_its_replacement_counts_on(spawn_server):
    s = spawn_server("app_metrics.py", workers=2)
    served = {}
    while set(served) != s.workers:
        assert sum(served.values()) < ATTEMPTS, f"only workers {set(served)} of {s.workers} answered"
        pid = get(s, "/pid").json()
        served[pid] = served.get(pid, 0) + 1
    victim = min(s.workers)
    os.kill(victim, signal.SIGKILL)
    s.wait_for(rf"worker {victim} died")
    replacement = int(s.wait_for(LISTENING).group(1))
    # The replacement takes the dead worker's slots in the shared region and adds to them.
    seen = set()
    while replacement not in seen:
        assert sum(served.values()) < 2 * ATTEMPTS, "the replacement never answered"
        pid = get(s, "/pid").json()
        seen.add(pid)
        served[pid] = served.get(pid, 0) + 1
    sent = sum(served.values())
    for k in range(6):
        m = scrape(s)
        assert m[requests_total("/pid", "GET", "2xx")] == sent
        assert m.get(requests_total("/metrics", "GET", "2xx"), 0) == k
