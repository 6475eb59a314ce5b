#!/usr/bin/env python3
"""get_big.py HOST:PORT PATH [TIMES] [CONNS] — download PATH TIMES times (default 3) on each
of CONNS keep-alive connections (default 1, each in a thread of its own), reading the body
into one 1 MiB buffer (recv_into, nothing kept), and print
`downloads=D bytes=B seconds=S mib_per_s=R`. For files.sh's large-file row: wrk reads 8 KiB
at a time, which makes the client the limit on a 1 GiB body. Every answer must be 200 with a
Content-Length, and every body must arrive whole, or it exits 1 naming what went wrong."""
import socket
import sys
import threading
import time


def download(host, port, path, times, out):
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with socket.create_connection((host, port)) as s:
        for _ in range(times):
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    raise RuntimeError(f"closed in the head: {head!r}")
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            if " 200 " not in lines[0] + " ":
                raise RuntimeError(f"not 200: {lines[0]}")
            length = next((int(v) for k, _, v in (h.partition(":") for h in lines[1:])
                           if k.strip().lower() == "content-length"), None)
            if length is None:
                raise RuntimeError(f"no Content-Length: {head!r}")
            left = length - len(rest)
            while left > 0:
                n = s.recv_into(view, min(left, len(buf)))
                if n == 0:
                    raise RuntimeError(f"closed with {left} of {length} bytes to come")
                left -= n
            if left < 0:
                raise RuntimeError(f"{-left} bytes more than Content-Length {length}")
            out.append(length)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    path = sys.argv[2]
    times = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    conns = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    done, errors = [], []

    def run():
        try:
            download(host, int(port), path, times, done)
        except Exception as e:  # reported below, exit 1
            errors.append(e)

    start = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.perf_counter() - start
    if errors:
        print(f"get_big.py: {errors[0]}", file=sys.stderr)
        sys.exit(1)
    total = sum(done)
    print(f"downloads={len(done)} bytes={total} seconds={secs:.3f} mib_per_s={total / secs / 1048576:.1f}")


if __name__ == "__main__":
    main()
