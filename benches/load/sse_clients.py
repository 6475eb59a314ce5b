#!/usr/bin/env python3
"""sse_clients.py HOST:PORT N [PATH] [HOLD_SECONDS] — open N connections (at most 256
connecting at a time), send `GET PATH` (default /events) on each, read the response head
(must be 200, text/event-stream) and its first event (a `data:` line and the blank line
ending it), print "ready N" once all N have their first event, then hold them all open,
reading and discarding whatever comes (keep-alive comments), until SIGTERM or HOLD_SECONDS
(default 600). For sse_idle.sh: the server's RSS with N idle SSE streams."""
import asyncio
import resource
import signal
import sys


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


async def drain(reader):
    while await reader.read(4096):
        pass


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
    drains = [asyncio.create_task(drain(r)) for r in readers]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), hold)
    except asyncio.TimeoutError:
        pass
    closed = sum(d.done() for d in drains)
    print(f"closed by the server meanwhile: {closed}", flush=True)
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
