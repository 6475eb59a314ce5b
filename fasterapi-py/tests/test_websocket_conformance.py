"""WebSocket conformance of a served app (app_websocket.py), in the categories of the
Autobahn testsuite: framing, pings and pongs, reserved bits, opcodes, fragmentation,
UTF-8 handling, close codes, limits; plus the handshake, FastAPI's parameters and
dependencies on WebSocket routes, and handler failures.

A real server process, talked to by the `websockets` client library (sync API) where a
well-behaved client is wanted, and by raw sockets with hand-made frames for the malformed
ones (the library refuses to send those). The Autobahn testsuite itself is a Python 2
program distributed as a Docker image: neither runs here.
"""

import json
import os
import socket
import struct
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import module_server

server = module_server("app_websocket.py")

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def ws_url(server, path):
    return server.url.replace("http://", "ws://") + path


# -- raw frames -------------------------------------------------------------------------


def frame(b0: int, payload: bytes = b"", masked: bool = True) -> bytes:
    """A client frame with first byte `b0` (FIN, RSV, opcode)."""
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class Raw:
    """A WebSocket opened by hand over a socket."""

    def __init__(self, server, path="/echo"):
        host, port = server.url[len("http://"):].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buf = b""
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "closed during the handshake"
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 "), head

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        """The next server frame: (first byte, payload)."""
        b0, b1 = self._exact(2)
        assert b1 & 0x80 == 0, "server frames are not masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._exact(8))[0]
        return b0, self._exact(n)

    def expect_close(self, code):
        """The server's close frame has `code`, then the connection ends."""
        b0, payload = self.read()
        assert b0 == 0x88, (b0, payload)
        assert struct.unpack("!H", payload[:2])[0] == code, payload
        self.sock.settimeout(10)
        try:
            rest = self.sock.recv(1)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", "the connection ended after the close"
        self.sock.close()


# -- framing ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 1 << 20])
def test_framing_text_and_binary_of_every_length_form(server, size):
    with connect(ws_url(server, "/echo"), max_size=None) as ws:
        text = ("é" * (size // 2)) + ("a" * (size % 2))
        ws.send(text)
        assert ws.recv() == text
        data = os.urandom(size)
        ws.send(data)
        assert ws.recv() == data


def test_framing_many_messages_in_one_write_come_back_in_order(server):
    raw = Raw(server)
    raw.send(b"".join(frame(0x81, f"m{i}".encode()) for i in range(500)))
    for i in range(500):
        assert raw.read() == (0x81, f"m{i}".encode())
    raw.send(frame(0x88, struct.pack("!H", 1000)))
    raw.expect_close(1000)


def test_framing_unmasked_client_frame_is_refused(server):
    raw = Raw(server)
    raw.send(frame(0x81, b"naked", masked=False))
    raw.expect_close(1002)


# -- pings and pongs --------------------------------------------------------------------


def test_ping_is_answered_with_its_payload(server):
    with connect(ws_url(server, "/echo")) as ws:
        assert ws.ping(b"payload").wait(10)
    raw = Raw(server)
    for payload in (b"", b"x" * 125, bytes(range(125))):
        raw.send(frame(0x89, payload))
        assert raw.read() == (0x8A, payload)
    # An unsolicited pong is ignored; the connection goes on.
    raw.send(frame(0x8A, b"unsolicited") + frame(0x81, b"still"))
    assert raw.read() == (0x81, b"still")


def test_ping_over_125_bytes_is_refused(server):
    raw = Raw(server)
    raw.send(frame(0x89, b"x" * 126))
    raw.expect_close(1002)


# -- reserved bits and opcodes -----------------------------------------------------------


@pytest.mark.parametrize("rsv", [0x40, 0x20, 0x10, 0x70])
@pytest.mark.parametrize("opcode", [0x1, 0x2, 0x9])
def test_reserved_bits_are_refused(server, rsv, opcode):
    raw = Raw(server)
    raw.send(frame(0x80 | rsv | opcode, b"rsv"))
    raw.expect_close(1002)


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
def test_reserved_opcodes_are_refused(server, opcode):
    raw = Raw(server)
    raw.send(frame(0x80 | opcode, b"op"))
    raw.expect_close(1002)


# -- fragmentation ----------------------------------------------------------------------


def test_fragmented_messages_are_joined(server):
    with connect(ws_url(server, "/echo")) as ws:
        ws.send(["frag", "mented ", "κόσμε"])
        assert ws.recv() == "fragmented κόσμε"
        ws.send([b"\x00\x01", b"", b"\x02"])
        assert ws.recv() == b"\x00\x01\x02"


def test_control_frames_between_fragments(server):
    raw = Raw(server)
    raw.send(frame(0x01, b"Hel") + frame(0x89, b"p1") + frame(0x00, b"lo ") + frame(0x89, b"p2")
             + frame(0x80, b"world"))
    assert raw.read() == (0x8A, b"p1")
    assert raw.read() == (0x8A, b"p2")
    assert raw.read() == (0x81, b"Hello world")


@pytest.mark.parametrize("frames", [
    [frame(0x80, b"lone continuation")],
    [frame(0x00, b"unfinished lone continuation")],
    [frame(0x01, b"a"), frame(0x81, b"new text inside a message")],
    [frame(0x02, b"a"), frame(0x02, b"new binary inside a message")],
    [frame(0x09, b"fragmented ping")],
    [frame(0x08, struct.pack("!H", 1000))],
    [frame(0x0A, b"fragmented pong")],
], ids=["cont", "cont-nofin", "text-in-msg", "binary-in-msg", "frag-ping", "frag-close", "frag-pong"])
def test_fragmentation_errors_are_refused(server, frames):
    raw = Raw(server)
    raw.send(b"".join(frames))
    raw.expect_close(1002)


# -- UTF-8 ----------------------------------------------------------------------------------


def test_valid_utf8_split_inside_characters_across_fragments(server):
    text = "κόσμε 𝄞 ∑ ü".encode()
    for cut in range(1, len(text)):
        raw = Raw(server)
        raw.send(frame(0x01, text[:cut]) + frame(0x80, text[cut:]))
        assert raw.read() == (0x81, text), cut
        raw.send(frame(0x88, struct.pack("!H", 1000)))
        raw.expect_close(1000)


@pytest.mark.parametrize("bad", [
    b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
    b"\x80", b"abc\xfe",
])
def test_invalid_utf8_text_is_refused_1007(server, bad):
    raw = Raw(server)
    raw.send(frame(0x81, bad))
    raw.expect_close(1007)


def test_invalid_utf8_fails_fast_in_the_first_fragment(server):
    raw = Raw(server)
    # The message is not finished: the invalid byte alone must fail it.
    raw.send(frame(0x01, b"ok \xff"))
    raw.expect_close(1007)


def test_utf8_cut_at_the_end_of_the_message_is_refused(server):
    raw = Raw(server)
    raw.send(frame(0x01, b"ok ") + frame(0x80, "é".encode()[:1]))
    raw.expect_close(1007)


# -- close codes ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_valid_close_codes_are_echoed(server, code):
    raw = Raw(server)
    raw.send(frame(0x88, struct.pack("!H", code) + "reason ü".encode()))
    raw.expect_close(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_invalid_close_codes_are_refused(server, code):
    raw = Raw(server)
    raw.send(frame(0x88, struct.pack("!H", code)))
    raw.expect_close(1002)


def test_close_payloads(server):
    raw = Raw(server)
    raw.send(frame(0x88, b""))
    b0, payload = raw.read()
    assert (b0, payload) == (0x88, b""), "an empty close is answered with an empty close"
    raw = Raw(server)
    raw.send(frame(0x88, b"\x03"))
    raw.expect_close(1002)
    raw = Raw(server)
    raw.send(frame(0x88, struct.pack("!H", 1000) + b"\xff\xfe"))
    raw.expect_close(1007)


def test_data_after_close_is_ignored(server):
    raw = Raw(server)
    raw.send(frame(0x88, struct.pack("!H", 1000)) + frame(0x81, b"too late"))
    raw.expect_close(1000)


def test_the_app_closes_with_its_code_and_reason(server):
    with connect(ws_url(server, "/params/7")) as ws:
        json.loads(ws.recv())
        with pytest.raises(ConnectionClosed) as e:
            ws.recv()
    assert (e.value.rcvd.code, e.value.rcvd.reason) == (4001, "done")


# -- limits --------------------------------------------------------------------------------


def test_a_message_over_16_mib_is_refused_1009(server):
    with connect(ws_url(server, "/echo"), max_size=None) as ws:
        ws.send(b"x" * (16 << 20))
        assert len(ws.recv()) == 16 << 20
        with pytest.raises(ConnectionClosed) as e:
            ws.send(b"x" * ((16 << 20) + 1))
            ws.recv()
    assert e.value.rcvd.code == 1009


def test_a_huge_length_is_refused_from_the_header_alone(server):
    raw = Raw(server)
    raw.send(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 1 << 40) + b"mask")
    raw.expect_close(1009)
    raw = Raw(server)
    # Fragments adding up past the limit.
    raw.send(bytes([0x02, 0x80 | 127]) + struct.pack("!Q", 10 << 20) + b"\0\0\0\0" + b"\0" * (10 << 20))
    raw.send(bytes([0x80, 0x80 | 127]) + struct.pack("!Q", 7 << 20) + b"mask")
    raw.expect_close(1009)


def test_a_slow_reader_slows_the_sender_down(server):
    # 200 messages of 64 KiB (12.5 MiB) to a client that reads them all: send_bytes waits
    # for room while the 1 MiB queue is full rather than failing or queueing it all.
    with connect(ws_url(server, "/flood/200"), max_size=None, max_queue=1) as ws:
        got = [ws.recv() for _ in range(201)]
    assert [len(m) for m in got[:200]] == [65536] * 200
    assert got[200] == "end"


def test_a_client_sending_faster_than_its_handler_receives_is_closed_with_1008(server):
    from fasterapi.websockets import MAX_UNREAD_BYTES, _MESSAGE_OVERHEAD

    message = b"u" * 16384
    bound = MAX_UNREAD_BYTES // (len(message) + _MESSAGE_OVERHEAD)
    sent = 0
    with connect(ws_url(server, "/unread"), max_size=None) as ws:
        assert ws.recv() == "ready"
        with pytest.raises(ConnectionClosed) as closed:
            # Twice the bound: the close must come before the client is through.
            for _ in range(2 * bound):
                ws.send(message)
                sent += 1
            ws.recv()
        assert closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "too many unread messages"
    assert bound <= sent < 2 * bound
    # The handler, released, receives what was held (no more than the bound) and then
    # its disconnect.
    with urllib.request.urlopen(server.url + "/release-unread", timeout=10) as r:
        assert json.loads(r.read()) == {"released": True}
    with urllib.request.urlopen(server.url + "/unread-drained", timeout=40) as r:
        assert json.loads(r.read()) == {"count": bound, "code": 1008}


# -- handshake, parameters, dependencies ----------------------------------------------------


def test_handshake_refusals(server):
    import requests

    r = requests.get(server.url + "/echo", timeout=10)
    assert r.status_code == 426 and r.headers["upgrade"] == "websocket"
    r = requests.get(server.url + "/echo", timeout=10, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": KEY,
        "Sec-WebSocket-Version": "8"})
    assert r.status_code == 426 and r.headers["sec-websocket-version"] == "13"
    r = requests.get(server.url + "/echo", timeout=10, headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"})
    assert r.status_code == 400 and "Sec-WebSocket-Key" in r.json()["detail"]
    assert requests.get(server.url + "/http", timeout=10).json() == {"http": True}


def test_path_query_header_and_cookie_parameters(server):
    with connect(ws_url(server, "/params/7?q=hello"),
                 additional_headers={"X-Token": "tok", "Cookie": "session=abc"}) as ws:
        assert json.loads(ws.recv()) == {
            "item": 7, "q": "hello", "x_token": "tok", "session": "abc", "path": "/params/7",
            "scheme": "ws",
        }


def test_invalid_parameters_refuse_the_handshake(server):
    with pytest.raises(InvalidStatus) as e:
        connect(ws_url(server, "/params/not-a-number"))
    assert e.value.response.status_code == 403


def test_a_dependency_raising_websocketexception_refuses_the_handshake(server):
    with pytest.raises(InvalidStatus) as e:
        connect(ws_url(server, "/guarded?token=wrong"))
    assert e.value.response.status_code == 403
    with connect(ws_url(server, "/guarded?token=secret"), subprotocols=["chat", "x"]) as ws:
        assert ws.subprotocol == "chat"
        assert ws.recv() == "welcome secret"


def test_an_exception_after_accept_closes_1011(server):
    with connect(ws_url(server, "/raise")) as ws:
        ws.send("go")
        with pytest.raises(ConnectionClosed) as e:
            ws.recv()
    assert e.value.rcvd.code == 1011
    server.wait_for("handler failed")


def test_handlers_await_the_loop_and_serve_each_other(server):
    with connect(ws_url(server, "/sleepy")) as ws:
        for word in ("a", "bc", "déf"):
            ws.send(word)
            assert ws.recv() == word.upper()
    # A message on one connection reaches another: both are served at once.
    with connect(ws_url(server, "/room")) as a:
        assert a.recv() == "members 1"
        with connect(ws_url(server, "/room")) as b:
            assert b.recv() == "members 2"
            b.send("hi from b")
            assert a.recv() == "hi from b"
            assert b.recv() == "hi from b"
        assert a.recv() == "someone left"


def test_a_woken_handler_runs_in_its_task_and_context(server):
    # Messages wake the waiting receive by stepping its task at once (websockets._wake):
    # the handler must still be inside its own task, with its context and a running loop,
    # also when a `def` route ran between two messages; a receive given up by a timeout
    # leaves the connection usable.
    http_url = server.url + "/http"
    with connect(ws_url(server, "/context")) as ws:
        assert ws.recv() == "timed out"
        for i in range(3):
            with urllib.request.urlopen(http_url, timeout=10) as r:
                assert json.loads(r.read()) == {"http": True}
            ws.send(f"m{i}")
            assert json.loads(ws.recv()) == {
                "text": f"m{i}", "same_task": True, "context_kept": True, "loop_running": True,
            }
