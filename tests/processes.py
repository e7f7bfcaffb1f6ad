"""Running Procly's own processes in tests, as production runs them: `flask procly worker` in a
subprocess with its configuration in the environment, and waiting on the database for what it does."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_SECRETS_KEY = "q3Mxq0nM3yD1C3sWcZ9m7aM9vJbq0Hn8oU3yQ6kqk1E="   # a Fernet key for the secrets store in tests


def worker_env(database_url: str, redis_url: str, instance: str, **extra: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PROCLY_INSTANCE": instance,
            "SECRET_KEY": "test-secret", "PROCLY_SWEEP_INTERVAL": "2",
            "PROCLY_SECRETS_KEY": TEST_SECRETS_KEY, **extra}


class Worker(subprocess.Popen):
    """A `flask procly worker` process whose log (stderr) goes to a file, never a pipe: a pipe
    nobody reads fills up and freezes the processes writing to it."""

    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (a warm shutdown) and wait; returns the exit code."""
        if self.poll() is None:
            self.terminate()
        return self.wait(timeout)


def flask_worker(env: dict, *args: str) -> Worker:
    """`flask --app wsgi procly worker ARGS` in its own process; its log in a file next to the instance."""
    flask = Path(sys.executable).with_name("flask")
    log_path = Path(env["PROCLY_INSTANCE"]) / f"worker-{time.time_ns()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = Worker([str(flask), "--app", "wsgi", "procly", "worker", *args], env=env, cwd=ROOT,
                      stdout=subprocess.DEVNULL, stderr=log)
    proc.log_path = log_path
    return proc


def wait_until(cond, seconds: float, what: str, every: float = 0.05, diagnose=None):
    """Poll `cond()` until it returns something truthy (returned), or fail after `seconds`,
    with what `diagnose()` says about the state of things in the message."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    detail = f"\n{diagnose()}" if diagnose else ""
    raise AssertionError(f"timed out after {seconds} s waiting for: {what}{detail}")
