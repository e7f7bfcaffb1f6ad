"""What an operator needs to know is working: the database (reachable, migrated to the head revision),
Redis, the workers (a heartbeat seen recently). Shared by /readyz and `flask procly check`.

Each check returns (ok, detail) and never raises: an outage is an answer, not an error."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.config import ROOT
from app.extensions import db
from app.infra import telemetry
from app.infra.redis import connection

_heads: dict[str, frozenset] = {}


def head_revisions() -> frozenset:
    """The migration heads this code expects (read once per process from migrations/versions)."""
    if "heads" not in _heads:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(ROOT) / "migrations"))
        _heads["heads"] = frozenset(ScriptDirectory.from_config(cfg).get_heads())
    return _heads["heads"]


def database() -> tuple[bool, str]:
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError as exc:
        return False, f"unreachable or not migrated: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    current, heads = frozenset(rows), head_revisions()
    if current != heads:
        return False, f"migrated to {', '.join(sorted(current)) or 'nothing'}, code expects {', '.join(sorted(heads))}" \
                      " (run: flask --app wsgi db upgrade)"
    return True, f"reachable, at head {', '.join(sorted(heads))}"


def redis() -> tuple[bool, str]:
    try:
        connection().ping()
    except RedisError as exc:
        return False, f"unreachable: {exc}"
    return True, "reachable"


def worker() -> tuple[bool, str]:
    try:
        age = telemetry.heartbeat_age(connection())
    except (RedisError, ValueError) as exc:
        return False, f"heartbeat unknown: {exc}"
    limit = current_app.config["READY_WORKER_MAX_AGE"]
    if age is None:
        return False, "no worker heartbeat seen (start: flask --app wsgi procly worker)"
    if age > limit:
        return False, f"last worker heartbeat {age:.0f} s ago (more than {limit} s)"
    return True, f"heartbeat {age:.1f} s ago"


CHECKS = {"database": database, "redis": redis, "worker": worker}


class Cached:
    """The readiness answer, computed at most once per `ttl` seconds per process: a load balancer
    may ask every second from several places without adding load to the database or Redis."""

    def __init__(self, ttl: float):
        self.ttl, self.lock, self.at, self.value = ttl, threading.Lock(), 0.0, None

    def get(self, compute):
        with self.lock:
            if self.value is None or time.monotonic() - self.at >= self.ttl:
                self.value, self.at = compute(), time.monotonic()
            return self.value


def readiness() -> dict:
    results = {name: check() for name, check in CHECKS.items()}
    return {"ready": all(ok for ok, _ in results.values()),
            "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}}
