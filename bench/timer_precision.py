"""SLA timer precision on an idle system: how late after its due time each timer fires, over a long
run of a real `flask procly worker` (PostgreSQL and Redis of its own).

    python -m bench.timer_precision [--minutes 10] [--every 2]

A Task with SLA reminders is started every few seconds so that timers come due all along the run;
prints the distribution of (fired_at - due_at) and checks each timer fired exactly once."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import flask_worker, wait_until, worker_env  # noqa: E402
from tests.servers import PostgresServer, RedisServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=2.0, help="seconds between Task starts")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app.factory import create_app
    from app.extensions import db
    from app.models import Event, StageRun, StageTimer
    from tests.faults.scenario import _settled, _start, _world

    tmp = Path(tempfile.mkdtemp(prefix="procly-timers-"))
    pg, redis = PostgresServer().init(), RedisServer(tmp / "redis").start()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": pg.url, "REDIS_URL": redis.url,
                      "PROCLY_INSTANCE": str(tmp / "instance"), "RATELIMIT_ENABLED": False})
    worker = None
    try:
        with app.app_context():
            upgrade()
            _world(app)
            worker = flask_worker(worker_env(pg.url, redis.url, str(tmp / "instance"), PROCLY_SWEEP_INTERVAL="10"),
                                  "--count", str(args.workers))
            time.sleep(5)  # the worker's start-up
            ids, began = [], time.time()
            while time.time() - began < args.minutes * 60:
                ids += _start(0, 1)  # reminders at +3 s and +6 s, due at +9 s
                time.sleep(args.every)
            wait_until(lambda: _settled(ids), 60, "the last timers")
            rows = db.session.execute(select(StageTimer.due_at, StageTimer.fired_at).join(StageRun)
                                      .where(StageRun.task_id.in_(ids))).all()
            late = sorted((fired - due).total_seconds() for due, fired in rows)
            events = db.session.scalar(select(func.count()).select_from(Event).where(
                Event.task_id.in_(ids), Event.type.like("sla.%")))
            q = statistics.quantiles(late, n=100)
            print(json.dumps({
                "minutes": args.minutes, "timers": len(rows), "fired_exactly_once": events == len(rows),
                "late_s": {"min": round(late[0], 3), "p50": round(q[49], 3), "p95": round(q[94], 3),
                           "p99": round(q[98], 3), "max": round(late[-1], 3)},
                "within_2s": sum(v <= 2 for v in late), "early": sum(v < 0 for v in late)}, indent=2))
    finally:
        if worker is not None:
            worker.stop(60)
        redis.stop()
        pg.stop()


if __name__ == "__main__":
    main()
