#!/usr/bin/env python3
"""sse_clients.py HOST:PORT N [PATH] [HOLD_SECONDS] — open N connections (at most 256
connecting at a time), send `GET PATH` (default /events) on each, read the response head
(must be 200, text/event-stream) and its first event (a `data:` line and the blank line
ending it), print "ready N" once all N have their first event, then hold them all open,
reading and discarding whatever comes (keep-alive comments), until SIGTERM or HOLD_SECONDS
(default 600). For sse_idle.sh: the server's RSS with N idle SSE streams.

Events of the form `data: tick N MS` (the fan-out bench: tick N, sent at MS milliseconds
since the Unix epoch) are counted per connection; at the end a line
`ticks: streams=S received=R lost=L behind=B disorder=D lag_ms_p50=.. p99=.. max=..` says
how many arrived, how many each stream missed (gaps in its N), how many ticks the streams
had not read yet when the client stopped (the newest tick any stream read, less each
stream's last one: a client behind its streams), how many came out of order or twice, and
how late they were read (now - MS; this machine's clock on both ends)."""
import asyncio
import re
import resource
import signal
import sys
import time

TICK = re.compile(rb"data: tick (\d+) (\d+)\r?\n")


async def one(host, port, path, gate, held):
    async with gate:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status, _, rest = head.partition("\r\n")
        if " 200 " not in status + " " or "text/event-stream" not in rest.lower():
            raise RuntimeError(f"bad answer: {head!r}")
        buf = b""
        while b"data:" not in buf or b"\n\n" not in buf[buf.find(b"data:"):].replace(b"\r\n", b"\n"):
            chunk = await reader.read(4096)
            if not chunk:
                raise RuntimeError(f"closed before the first event: {buf!r}")
            buf += chunk
    held.append(writer)
    return reader


class Ticks:
    """The ticks one stream received: first and last N, count, out-of-order ones."""

    def __init__(self):
        self.first = self.last = None
        self.count = self.disorder = 0


async def drain(reader, ticks, lags):
    buf = b""
    while chunk := await reader.read(65536):
        buf += chunk
        end = 0
        for m in TICK.finditer(buf):
            n, end = int(m[1]), m.end()
            lags.append(time.time() * 1000 - int(m[2]))
            if ticks.last is not None and n <= ticks.last:
                ticks.disorder += 1
                continue
            if ticks.first is None:
                ticks.first = n
            ticks.last = n
            ticks.count += 1
        buf = buf[end:][-256:]  # what may be the start of an event split across reads


def tick_report(all_ticks, lags):
    got = [t for t in all_ticks if t.last is not None]
    if not got:
        return None
    newest = max(t.last for t in got)
    lost = sum(t.last - t.first + 1 - t.count for t in got)
    behind = sum(newest - t.last for t in got)
    lags.sort()
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    return (f"ticks: streams={len(got)} of {len(all_ticks)} received={sum(t.count for t in got)} "
            f"lost={lost} behind={behind} disorder={sum(t.disorder for t in got)} newest={newest} "
            f"lag_ms_p50={pick(0.5):.0f} p99={pick(0.99):.0f} max={lags[-1]:.0f}")


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    n = int(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else "/events"
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 600
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
    gate = asyncio.Semaphore(256)
    held = []
    readers = await asyncio.gather(*(one(host, int(port), path, gate, held) for _ in range(n)))
    print(f"ready {len(readers)}", flush=True)
    all_ticks = [Ticks() for _ in readers]
    lags = []
    drains = [asyncio.create_task(drain(r, t, lags)) for r, t in zip(readers, all_ticks)]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    closed = sum(d.done() for d in drains)
    print(f"closed by the server meanwhile: {closed}", flush=True)
    report = tick_report(all_ticks, lags)
    if report:
        print(report, flush=True)
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
