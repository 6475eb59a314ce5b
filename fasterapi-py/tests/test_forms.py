"""Forms and uploads through a real server over real sockets, sent by requests, httpx and
curl: fields, files in memory and spooled to disk, bytes and lists, a form model, OAuth2's
password form, request.form(); malformed and oversized multipart bodies answered with a
clear 4xx, never a hang; a filename with ../ is the client's text, never a path."""

import hashlib
import os
import socket
import subprocess
import sys
import sysconfig
import threading

import httpx
import pytest

from conftest import Server, module_server, post
from fasterapi import FasterAPI

server = module_server("app_forms.py")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def missing(*loc):
    return {"type": "missing", "loc": list(loc), "msg": "Field required", "input": None}


def test_a_small_and_a_spooled_upload_with_requests(server):
    small = b"hello"
    big = os.urandom(3 * 1024 * 1024 + 17)  # past the 1 MiB spool threshold
    for data in (small, big):
        r = post(server, "/upload", files={"file": ("a b.bin", data, "application/x-thing")}, data={"note": "n"})
        assert r.status_code == 200, r.text
        f = r.json()["file"]
        assert (f["filename"], f["size"], f["content_type"], f["sha256"]) == ("a b.bin", len(data), "application/x-thing", sha(data))
        assert f["headers"]["content-disposition"] == 'form-data; name="file"; filename="a b.bin"'
        assert r.json()["note"] == "n"
    r = post(server, "/upload-def", files={"file": ("d.txt", big)})
    assert r.json() == {"filename": "d.txt", "size": len(big), "sha256": sha(big)}


def test_a_10_mib_upload_passes_the_8_mib_body_limit_since_it_is_streamed(server):
    data = os.urandom(10 * 1024 * 1024)
    r = httpx.post(server.url + "/upload", files={"file": ("big.bin", data)}, timeout=30)
    assert r.status_code == 200, r.text
    assert (r.json()["file"]["size"], r.json()["file"]["sha256"]) == (len(data), sha(data))
    # A route that takes the Request reads the body itself: it is held whole, and the
    # server's 8 MiB body limit answers.
    r = httpx.post(server.url + "/request-form", files={"file": ("big.bin", data)}, timeout=30)
    assert r.status_code == 413


def test_run_sets_the_body_and_upload_limits():
    limited = Server("app_forms.py", args=("limits",))
    try:
        data = os.urandom(10 * 1024 * 1024)
        # Over the default 8 MiB, under the 16 MiB given: the whole body is taken.
        r = httpx.post(limited.url + "/request-form", files={"file": ("big.bin", data)}, timeout=30)
        assert r.status_code == 200, r.text
        [[name, file]] = r.json()
        assert (name, file["size"], file["sha256"]) == ("file", len(data), sha(data))
        # A streamed upload over the 4 MiB given (far under the default 1 GiB) is refused.
        r = httpx.post(limited.url + "/upload", files={"file": ("big.bin", data)}, timeout=30)
        assert r.status_code == 413
        r = httpx.post(limited.url + "/upload", files={"file": ("small.bin", data[: 3 << 20])}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        limited.stop()
    for name in ("max_body_bytes", "max_upload_bytes"):
        with pytest.raises(ValueError, match=name):
            FasterAPI().run(port=0, **{name: 0})
    with pytest.raises(ValueError, match="upload_memory_bytes"):
        FasterAPI().run(port=0, upload_memory_bytes=-1)


MIB = 1024 * 1024


@pytest.fixture(scope="module")
def memory_server():
    """The forms app with 3 MiB of upload memory (`run(upload_memory_bytes=3 MiB)`)."""
    s = Server("app_forms.py", args=("memory",))
    yield s
    s.stop()


def where(server, data: bytes, **params) -> dict:
    r = httpx.post(server.url + "/where", params=params, files={"file": ("f.bin", data)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_files_past_1_mib_stay_in_the_upload_memory_and_past_it_spill(memory_server):
    s = memory_server
    assert httpx.get(s.url + "/memory").json() == {"in_files": 0, "allocated": 0, "limit": 3 * MIB}
    for size, rolled in [(1000, False), (MIB + 1, False), (3 * MIB, False), (3 * MIB + 1, True), (5 * MIB, True)]:
        data = os.urandom(size)
        got = where(s, data)["first"]
        # Exactly the bytes sent, whether in memory or spilled; the spool object is
        # Starlette's SpooledTemporaryFile either way.
        assert (got["size"], got["sha256"], got["rolled"]) == (size, sha(data), rolled), size
        assert got["spool"] in ("SpooledTemporaryFile", "_UploadSpool")
        if size > MIB and not rolled:
            assert got["memory"]["in_files"] >= size
        assert got["memory"]["allocated"] <= 3 * MIB
    # Closed, every file gave its memory back.
    assert httpx.get(s.url + "/memory").json()["in_files"] == 0


def test_an_in_memory_upload_reads_as_bytes_io(memory_server):
    lines = b"".join(b"line %d %s\n" % (i, b"x" * (i % 300)) for i in range(12_000))
    for data, rolled in [(lines, False), (lines + b"no newline at the end", False), (lines * 2, True)]:
        assert len(data) > 1024 * 1024
        r = httpx.post(memory_server.url + "/file-api", files={"file": ("l.txt", data)}, timeout=30)
        assert r.json() == {"differ": [], "rolled": rolled, "size": len(data)}


def test_fileno_and_write_roll_an_in_memory_upload_over(memory_server):
    data = os.urandom(2 * MIB)
    got = where(memory_server, data, roll=True)
    assert (got["first"]["rolled"], got["after"]["rolled"]) == (False, True)
    assert got["after"]["sha256"] == sha(data)
    # Rolled over, the file's memory is back in the budget.
    assert got["after"]["memory"]["in_files"] == 0
    got = where(memory_server, data, write=True)
    assert (got["first"]["rolled"], got["after"]["rolled"]) == (False, True)
    assert (got["after"]["size"], got["after"]["sha256"]) == (len(data) + 1, sha(data + b"!"))


def test_uploads_held_open_beyond_the_budget_spill_and_memory_stays_bounded(memory_server):
    """Four 2 MiB uploads held open by their dependency at once, with 3 MiB of upload
    memory: the first stays in memory, the others find it taken and spill; the memory in
    files never passes the budget, and every upload's bytes come back exact."""
    s = memory_server
    files = {f"k{i}": os.urandom(2 * MIB + i) for i in range(4)}
    answers: dict = {}

    def send(key):
        answers[key] = httpx.post(s.url + f"/hold/{key}", files={"file": ("h.bin", files[key])}, timeout=30)

    threads = []
    rolled = {}
    for key in files:
        t = threading.Thread(target=send, args=(key,))
        t.start()
        threads.append(t)
        # Answered once this upload is held in its dependency (the earlier ones still are).
        h = httpx.get(s.url + f"/held/{key}", timeout=30).json()
        rolled[key] = h["rolled"]
        assert h["memory"]["in_files"] <= h["memory"]["limit"] == 3 * MIB
    assert rolled == {"k0": False, "k1": True, "k2": True, "k3": True}
    assert httpx.get(s.url + "/memory").json()["in_files"] >= 2 * MIB
    for key in files:
        assert httpx.post(s.url + f"/release/{key}").status_code == 200
    for t in threads:
        t.join(30)
    for key, data in files.items():
        assert answers[key].status_code == 200, answers[key].text
        got = answers[key].json()
        assert (got["size"], got["sha256"], got["rolled"]) == (len(data), sha(data), rolled[key])
    assert httpx.get(s.url + "/memory").json()["in_files"] == 0


def chunks(server, data: bytes, sizes: str, keep: bool = False) -> dict:
    r = httpx.post(server.url + "/chunks", params={"sizes": sizes, "keep": keep},
                   files={"file": ("c.bin", data)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_reads_of_any_size_and_position_return_the_file_s_bytes(memory_server):
    """An upload in the upload memory (pieces of 1 MiB, which a read of exactly one piece
    returns without a copy) read in chunks of many sizes, aligned to the pieces or not,
    with seeks between: every chunk is the file's bytes at its position, and a chunk's
    hash is that of its bytes (the memory is reused from upload to upload)."""
    for sizes, lens in [
        (str(MIB), [MIB, MIB, 12_345]),
        ("-1", [2 * MIB + 12_345]),
        (str(MIB - 1), [MIB - 1, MIB - 1, 12_347]),
        (str(MIB + 1), [MIB + 1, MIB + 1, 12_343]),
        ("65536", [65536] * 32 + [12_345]),
        ("7," + str(MIB), None),
        (f"{MIB},5,s{MIB},{MIB}", [MIB, 5, MIB, 12_345]),
    ]:
        for _ in range(2):
            data = os.urandom(2 * MIB + 12_345)  # new bytes in the same memory each time
            got = chunks(memory_server, data, sizes)
            if lens is not None:
                assert got["lens"] == lens, sizes
            want = data if not sizes.endswith(f"s{MIB},{MIB}") else data[:MIB + 5] + data[MIB:]
            assert (got["sha256"], got["hashes_ok"]) == (sha(want), True), sizes
            assert got["memory"]["in_files"] == 0


def in_pieces(server) -> None:
    """The next large files go to pieces of 1 MiB: this one's first read is not whole
    (after a whole one, files are read into one `bytes` each)."""
    chunks(server, os.urandom(2 * MIB), str(MIB))


def test_a_read_of_one_whole_piece_returns_the_piece_itself(memory_server):
    """`read(1 MiB)` at a piece boundary of a file in the upload memory returns the piece
    (the same object each time, no copy); other reads return new bytes."""
    in_pieces(memory_server)
    data = os.urandom(2 * MIB + 7)
    for at, size, same, n in [(0, MIB, True, MIB), (MIB, MIB, True, MIB), (1, MIB, False, MIB),
                              (0, MIB - 1, False, MIB - 1), (2 * MIB, MIB, False, 7)]:
        r = httpx.post(memory_server.url + "/lent", params={"at": at, "size": size},
                       files={"file": ("l.bin", data)}, timeout=30)
        assert r.json() == {"same": same, "equal": True, "len": n, "sha256": sha(data[at:at + n])}, (at, size)


def lent(server, data: bytes, size: int) -> dict:
    r = httpx.post(server.url + "/lent", params={"size": size}, files={"file": ("w.bin", data)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_after_a_whole_read_the_next_files_are_one_bytes_which_a_whole_read_returns(memory_server):
    """Once an upload was read whole (`read()`), the next large ones that come alone are
    read into one `bytes` of their body's size, which `read()` returns itself (the same
    object twice, of the file's length and bytes), kept intact past the file; chunked
    reads of such a file copy, and switch the next files back to pieces of 1 MiB. The
    upload memory never passes its budget and is empty between uploads."""
    s = memory_server
    # Read whole, after uploads that came alone (four in a row: not beside other uploads).
    for _ in range(4):
        lent(s, os.urandom(2 * MIB), -1)
    for i in range(3):
        data = os.urandom(2 * MIB + 7 + i)
        assert lent(s, data, -1) == {"same": True, "equal": True, "len": len(data), "sha256": sha(data)}
        memory = httpx.get(s.url + "/memory").json()
        assert memory["in_files"] == 0 and memory["allocated"] <= 3 * MIB
    kept = os.urandom(2 * MIB + 1)
    got = chunks(s, kept, "-1", keep=True)
    assert (got["lens"], got["sha256"]) == ([len(kept)], sha(kept))
    assert got["memory"]["in_files"] == 0 and got["memory"]["allocated"] <= 3 * MIB
    # Still whole: read in chunks, it is copied; the next file is in pieces again.
    data = os.urandom(2 * MIB + 3)
    got = chunks(s, data, str(MIB))
    assert (got["lens"], got["sha256"], got["hashes_ok"]) == ([MIB, MIB, 3], sha(data), True)
    assert lent(s, data, MIB) == {"same": True, "equal": True, "len": MIB, "sha256": sha(data[:MIB])}
    assert lent(s, data, -1)["same"] is False
    assert httpx.get(s.url + "/kept", params={"clear": True}).json() == {"sha256": sha(kept), "hashes_ok": True}


def test_after_a_whole_read_two_large_files_of_one_form_both_stay_in_memory(server):
    """A file read into one `bytes` (after whole reads) is first given the rest of the
    body's size, the next file's included: once it ended, the memory it does not use goes
    back, so two 5 MiB files of one form both stay in the 12 MiB of upload memory, as they
    do in pieces."""
    for _ in range(4):
        lent(server, os.urandom(2 * MIB), -1)
    x, y = os.urandom(5 * MIB), os.urandom(5 * MIB + 3)
    r = httpx.post(server.url + "/rolled", files=[("files", ("x", x)), ("files", ("y", y))], timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == [{"rolled": False, "size": len(d), "sha256": sha(d)} for d in (x, y)]


@pytest.mark.skipif(not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="a build with the GIL")
def test_a_free_threaded_python_keeps_the_gil_for_fasterapi():
    """The extension relies on the GIL (the upload memory's pieces are reused once their
    reference count says nobody else holds them): on a free-threaded build, importing it
    turns the GIL on rather than running without it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    out = subprocess.run([sys.executable, "-c", "import fasterapi._fasterapi, sys; print(sys._is_gil_enabled())"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


def test_chunks_kept_past_the_file_stay_intact_and_leave_the_upload_memory(memory_server):
    """1 MiB chunks read from the upload memory and kept by the app after the file is
    closed keep their bytes while later uploads reuse the memory; the pieces they are
    leave the upload memory (its budget no longer counts them), which makes new ones."""
    s = memory_server
    in_pieces(s)
    first = os.urandom(2 * MIB + 5)
    got = chunks(s, first, str(MIB), keep=True)
    assert (got["lens"], got["sha256"]) == ([MIB, MIB, 5], sha(first))
    # Two pieces are the app's now; the third (its 5 bytes copied) is back in the memory.
    assert got["memory"] == {"in_files": 0, "allocated": MIB, "limit": 3 * MIB}
    for _ in range(3):
        other = os.urandom(2 * MIB + 5)
        assert chunks(s, other, str(MIB))["sha256"] == sha(other)
        assert httpx.get(s.url + "/kept").json() == {"sha256": sha(first), "hashes_ok": True}
    assert httpx.get(s.url + "/memory").json() == {"in_files": 0, "allocated": 3 * MIB, "limit": 3 * MIB}
    assert httpx.get(s.url + "/kept", params={"clear": True}).json()["sha256"] == sha(first)


def test_bytes_lists_and_fields(server):
    r = post(server, "/bytes", files=[("data", ("x", b"abc")), ("more", ("m1", b"1")), ("more", ("m2", b"22"))])
    assert r.json() == {"len": 3, "more": [1, 2]}
    # A field without a filename gives its text as bytes, as FastAPI.
    r = post(server, "/bytes", files={"data": (None, "text")})
    assert r.json() == {"len": 4, "more": []}
    r = post(server, "/many", files=[("files", ("a", b"1")), ("files", ("b", b"2"))], data={"tags": ["x", "y"]})
    assert [f["filename"] for f in r.json()["files"]] == ["a", "b"]
    assert r.json()["tags"] == ["x", "y"]
    # Url-encoded and multipart fields alike.
    assert post(server, "/fields", data={"name": "N", "age": "3"}).json() == {"name": "N", "age": 3}
    assert post(server, "/fields", files={"name": (None, "N"), "age": (None, "3")}).json() == {"name": "N", "age": 3}


def test_the_422s_of_missing_and_invalid_form_values_are_fastapi_s(server):
    r = post(server, "/upload", files={"other": ("a", b"1")})
    assert (r.status_code, r.json()) == (422, {"detail": [missing("body", "file")]})
    r = post(server, "/many", data={"tags": "x"})
    assert r.json() == {"detail": [missing("body", "files")]}
    r = post(server, "/fields", files={"age": (None, "-1")})
    assert r.json()["detail"] == [
        missing("body", "name"),
        {"type": "greater_than_equal", "loc": ["body", "age"], "msg": "Input should be greater than or equal to 0",
         "input": "-1", "ctx": {"ge": 0}},
    ]
    # Text where a file is expected.
    r = post(server, "/upload", files={"file": (None, "not a file")})
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "Value error, Expected UploadFile, received: <class 'str'>"


def test_a_form_model_and_oauth2_s_password_form(server):
    assert post(server, "/model", files={"username": (None, "u"), "password": (None, "p")}).json() == {
        "username": "u", "password": "p"}
    r = post(server, "/model", data={"username": "u", "password": "p", "x": "1"})
    assert r.json()["detail"][0]["type"] == "extra_forbidden"
    r = post(server, "/token", files={"username": (None, "alice"), "password": (None, "pw"), "scope": (None, "a b"),
                                      "grant_type": (None, "password")})
    assert r.json() == {"username": "alice", "scopes": ["a", "b"], "grant_type": "password"}
    r = post(server, "/token", data={"username": "alice", "password": "pw", "grant_type": "nope"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "string_pattern_mismatch"


def test_request_form_reads_multipart(server):
    r = post(server, "/request-form", files=[("a", (None, "1")), ("f", ("f.txt", b"data"))])
    assert r.json()[0] == ["a", "1"]
    assert r.json()[1][1]["sha256"] == sha(b"data")


def test_curl_dash_f(server, tmp_path):
    path = tmp_path / "upload.bin"
    data = os.urandom(2 * 1024 * 1024)
    path.write_bytes(data)
    out = subprocess.run(
        ["curl", "-sS", "-F", f"file=@{path};type=image/png", "-F", "note=from curl", server.url + "/upload"],
        capture_output=True, timeout=30, check=True,
    ).stdout
    import json
    got = json.loads(out)
    assert (got["file"]["size"], got["file"]["sha256"], got["file"]["content_type"]) == (len(data), sha(data), "image/png")
    assert got["note"] == "from curl"


def test_a_filename_with_dot_dot_is_only_text(server, tmp_path):
    # The server writes nothing under a client's name: its spool files are unnamed.
    target = tmp_path / "escaped.txt"
    name = f"../../../../../../..{target}"
    r = post(server, "/upload", files={"file": (name, b"x" * (2 * 1024 * 1024))})
    assert r.json()["file"]["filename"] == name
    assert not target.exists()


def raw(server, data: bytes) -> bytes:
    """Sends `data`, half-closes, and reads the answer to the end: a hang fails the test
    through the socket timeout."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def multipart_request(path: str, body: bytes, content_type="multipart/form-data; boundary=XX") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


@pytest.mark.parametrize("body, content_type, status, detail", [
    (b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nno end",
     None, 400, b"the multipart body ended before its closing boundary"),
    (b"--XX\r\nContent-Disposition form-data\r\n\r\nx\r\n--XX--", None, 400, b"malformed header line"),
    (b"--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n--XX--", None, 400, b'field \\"name\\" must be provided'),
    (b"--XXjunk\r\n\r\n\r\n--XX--", None, 400, b"Invalid multipart data"),
    (b"x", "multipart/form-data", 400, b"Missing boundary in multipart."),
    (b"".join(b"--XX\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n" % i for i in range(1001)) + b"--XX--",
     None, 400, b"Too many fields. Maximum number of fields is 1000."),
    (b"".join(b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"%d\"\r\n\r\nv\r\n" % i
              for i in range(1001)) + b"--XX--", None, 400, b"Too many files. Maximum number of files is 1000."),
    (b"--XX\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n" + b"n" * (1024 * 1024 + 1) + b"\r\n--XX--",
     None, 400, b"Part exceeded maximum size of 1024KB."),
])
def test_malformed_and_oversized_multipart_is_a_clear_4xx(server, body, content_type, status, detail):
    kwargs = {} if content_type is None else {"content_type": content_type}
    out = raw(server, multipart_request("/upload", body, **kwargs))
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert detail in out


def test_a_body_over_the_upload_limit_is_413_before_it_is_read(server):
    head = ("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
            f"Content-Length: {2 * 1024 ** 3}\r\n\r\n").encode()
    assert raw(server, head).startswith(b"HTTP/1.1 413 ")
