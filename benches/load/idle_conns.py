#!/usr/bin/env python3
"""idle_conns.py HOST:PORT N [PATH] [HOLD_SECONDS] — open N keep-alive connections, send one
GET PATH (default /plaintext) on each and read its answer (must be 2xx), print "open N" and
hold them all open, idle, until SIGTERM arrives or HOLD_SECONDS (default 600) pass. For memory.sh: the server's RSS with N idle connections."""
import resource
import signal
import socket
import sys
import time


def read_response(s):
    buf = b""
    while True:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(buf) >= head_end + 4 + length:
                return head.split("\r\n", 1)[0]
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    n = int(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else "/plaintext"
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 600
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 64, hard), hard))
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    socks = []
    for i in range(n):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(req)
        status = read_response(s)
        if " 2" not in status[:12]:
            sys.exit(f"connection {i}: bad answer {status!r}")
        socks.append(s)
    print(f"open {len(socks)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline:  # until SIGTERM or the time is up
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
