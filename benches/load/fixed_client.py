#!/usr/bin/env python3
"""fixed_client.py HOST:PORT PATH N [CONNS] — send exactly N keep-alive requests (GET, or
METHOD with HEADERS from the environment) over
CONNS connections (default 64), one in flight per connection, round-robin, and check every
answer is a 2xx. For instruction counting: the server, not this client, is measured.
With BODY set (environment), the requests are POSTs of that body with Content-Type
CONTENT_TYPE (default application/json); otherwise METHOD (default GET) with HEADERS
("Name: value" lines separated by "|")."""
import os
import socket
import sys


def main():
    addr, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conns = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    host, port = addr.rsplit(":", 1)
    method = os.environ.get("METHOD", "GET")
    extra = "".join(f"{h.strip()}\r\n" for h in os.environ.get("HEADERS", "").split("|") if h.strip())
    req = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fixed-client\r\nAccept: */*\r\n{extra}\r\n".encode()
    body = os.environ.get("BODY")
    if body is not None:
        content_type = os.environ.get("CONTENT_TYPE", "application/json")
        req = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: fixed-client\r\nAccept: */*\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}"
        ).encode()
    socks = [socket.create_connection((host, int(port))) for _ in range(min(conns, n))]
    bufs = [b""] * len(socks)
    sent = 0
    done = 0
    while done < n:
        batch = socks[: min(len(socks), n - sent)]
        for s in batch:
            s.sendall(req)
        sent += len(batch)
        for i, s in enumerate(batch):
            while True:
                head_end = bufs[i].find(b"\r\n\r\n")
                if head_end >= 0:
                    head = bufs[i][:head_end].decode("latin-1")
                    length = 0
                    for line in head.split("\r\n")[1:]:
                        k, _, v = line.partition(":")
                        if k.strip().lower() == "content-length":
                            length = int(v)
                    total = head_end + 4 + length
                    if len(bufs[i]) >= total:
                        if not head.startswith("HTTP/1.1 2"):
                            sys.exit(f"bad answer: {head!r}")
                        bufs[i] = bufs[i][total:]
                        break
                chunk = s.recv(65536)
                if not chunk:
                    sys.exit("server closed the connection")
                bufs[i] += chunk
            done += 1
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
