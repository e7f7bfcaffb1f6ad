"""An upload far over the Stage's limit is refused early: the server reads at most the limit (plus
one chunk) of a 1 GB body and its memory does not grow with the body. Measured in the server's own
process (peak RSS, VmHWM) for a real HTTP upload, and with tracemalloc in-process."""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from app.errors import APIError
from app.files import operations
from tests.files.conftest import PDF
from pathlib import Path

from tests.processes import ROOT, wait_until

GB = 1024 ** 3
MB = 1024 ** 2


class Endless(io.RawIOBase):
    """A 1 GB request body generated as it is read (a PDF header, then zeros); counts what was read."""

    def __init__(self, total=GB):
        self.total, self.read_bytes = total, 0

    def readable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), self.total - self.read_bytes)
        if n <= 0:
            return 0
        buf[:n] = (PDF + bytes(n))[:n] if self.read_bytes == 0 else bytes(n)
        self.read_bytes += n
        return n


def test_streamed_oversize_is_refused_after_the_limit_in_process(fw, docs_task):
    _, run_id = docs_task
    body = Endless()
    tracemalloc.start()
    try:
        with pytest.raises(APIError) as exc:
            operations.upload(run_id, fw.staff, body.read, filename="big.pdf", content_length=None, actor="test")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.status == 413 and "Proof of address" in exc.value.message
    assert body.read_bytes <= 25 * MB + operations.CHUNK      # stopped right after the limit
    assert peak < 2 * MB, f"peak traced memory {peak / MB:.2f} MB"
    print(f"\nin-process: read {body.read_bytes / MB:.2f} MB of 1024 MB, tracemalloc peak {peak / 1024:.0f} KiB")
    assert not any(operations.storage.spool_dir().iterdir())   # the spool file is gone


def _vm(pid: int, key: str) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(app, tmp_path):
    """The web process as production runs it: gunicorn (one worker, threads) serving wsgi:app."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "PROCLY_INSTANCE": str(tmp_path / "live"), "SECRET_KEY": "test-secret", "RATELIMIT_ENABLED": "0"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(tmp_path / "gunicorn.log", "ab") as log:
        proc = subprocess.Popen([str(gunicorn), "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=log)

    def worker_pid():
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        return int(children[0]) if children else None

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return None
        return worker_pid()

    pid = wait_until(up, 30, "gunicorn listening", diagnose=lambda: (tmp_path / "gunicorn.log").read_text()[-2000:])
    yield pid, port
    proc.terminate()
    proc.wait(timeout=20)


def _request(port: int, head: str, body_chunks=None) -> tuple[str, int]:
    """Send a request, its chunked body (from `body_chunks`) from a second thread, and read the
    answer meanwhile: (the answer as text, bytes of body the server took before it answered)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sent = [0]
    answered = threading.Event()

    def send_body():
        for chunk in body_chunks or ():
            if answered.is_set():
                return
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:    # reset, broken pipe, or blocked: the server stopped reading
                return
            sent[0] += len(chunk)

    try:
        sock.sendall(head.encode())
        sender = threading.Thread(target=send_body, daemon=True)
        sender.start()
        answer = b""
        deadline = time.time() + 60
        while time.time() < deadline:   # Connection: close: the whole answer, up to EOF
            try:
                part = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not part:
                break
            answer += part
        answered.set()
        sender.join(timeout=10)
        return answer.decode(errors="replace"), sent[0]
    finally:
        sock.close()


def test_a_1_gb_upload_against_25_mb_is_refused_early_over_http(fw, docs_task, server):
    _, run_id = docs_task
    pid, port = server
    _, secret = __import__("app.auth.tokens", fromlist=["issue_token"]).issue_token(fw.staff, "big", scope="write")
    fw.db.session.commit()
    path = f"/api/v1/runs/{run_id}/files?name=big.pdf"
    auth = f"Authorization: Bearer {secret}\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
    # warm up (imports, first request), then measure the peak RSS the upload adds
    answer, _ = _request(port, f"GET /api/v1/runs/{run_id}/files HTTP/1.1\r\n{auth}Connection: close\r\n\r\n")
    assert " 200 " in answer.split("\r\n")[0], answer[:300]
    before_peak, before_rss = _vm(pid, "VmHWM"), _vm(pid, "VmRSS")

    # 1) declared: Content-Length 1 GB is refused before a byte of the body is read
    t0 = time.perf_counter()
    answer, _ = _request(port, f"POST {path} HTTP/1.1\r\n{auth}Content-Length: {GB}\r\nConnection: close\r\n\r\n")
    declared_s = time.perf_counter() - t0
    assert " 413 " in answer.split("\r\n")[0] and "Proof of address" in answer, answer[:400]

    # 2) streamed: chunked, no length; 1 GB generated 1 MB at a time
    def chunks():
        yield PDF + bytes(MB - len(PDF))
        for _ in range(1023):
            yield bytes(MB)

    t0 = time.perf_counter()
    answer, sent = _request(port, f"POST {path} HTTP/1.1\r\n{auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                            chunks())
    streamed_s = time.perf_counter() - t0
    assert " 413 " in answer.split("\r\n")[0] and "larger than 25 MB" in answer, answer[:400]
    assert sent < 200 * MB, f"the client got to send {sent / MB:.0f} MB before the refusal"
    peak, rss = _vm(pid, "VmHWM"), _vm(pid, "VmRSS")
    grew = peak - before_peak
    print(f"\nHTTP: declared 1 GB refused in {declared_s * 1000:.0f} ms; streamed 1 GB refused after the client "
          f"sent {sent / MB:.0f} MB in {streamed_s:.2f} s; server RSS {before_rss / MB:.1f} -> {rss / MB:.1f} MB, "
          f"peak RSS {before_peak / MB:.1f} -> {peak / MB:.1f} MB (+{grew / MB:.1f} MB)")
    assert grew < 20 * MB, f"the server's peak RSS grew by {grew / MB:.1f} MB"
    from app.models.files import StoredFile
    assert fw.count(StoredFile) == 0
