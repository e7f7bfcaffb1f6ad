"""The long fault run: many Tasks through a real `flask procly worker --count N`, a worker process
SIGKILLed every few seconds, then the database stopped for a long outage, on a PostgreSQL and a
Redis of its own. Prints what survived and how long recovery took.

    python -m bench.faults_long [--tasks 1000] [--kill-every 2] [--db-outage 40] [--workers 2]

Pass = every Task completes with exactly the Stage Runs and Events of a calm run, every SLA timer
fires exactly once, and the supervisor is never restarted by hand. Needs PostgreSQL installed
(its binaries under /usr/lib/postgresql); run as root or as a user who may run them."""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
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
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--reviews", type=int, default=50, help="Tasks with SLA reminders (3 timers each)")
    ap.add_argument("--kill-every", type=float, default=2.0)
    ap.add_argument("--kill-for", type=float, default=20.0, help="seconds of SIGKILLs")
    ap.add_argument("--db-outage", type=float, default=40.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from flask_migrate import upgrade

    from app.factory import create_app
    from tests.faults.scenario import _check_shapes, _diagnose, _lateness, _settled, _start, _world

    tmp = Path(tempfile.mkdtemp(prefix="procly-faults-"))
    pg, redis = PostgresServer().init(), RedisServer(tmp / "redis").start()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": pg.url, "REDIS_URL": redis.url,
                      "PROCLY_INSTANCE": str(tmp / "instance"), "RATELIMIT_ENABLED": False})
    worker = None
    figures: dict = {"tasks": args.tasks, "reviews": args.reviews, "workers": args.workers}
    try:
        with app.app_context():
            upgrade()
            _world(app)
            calm = _start(1, 1)
            worker = flask_worker(worker_env(pg.url, redis.url, str(tmp / "instance"), PROCLY_SWEEP_INTERVAL="10"),
                                  "--count", str(args.workers))
            wait_until(lambda: _settled(calm), 120, "the calm run")
            expected = _shape_of(calm)

            # 1. SIGKILL a worker process every few seconds while the Tasks run
            began = time.time()
            ids = _start(args.tasks, args.reviews)
            kills, next_kill = 0, began + args.kill_every
            while time.time() - began < args.kill_for:   # a kill every --kill-every seconds, on the clock
                time.sleep(max(0.0, next_kill - time.time()))
                next_kill += args.kill_every
                kills += _kill_a_worker(redis)
            last_kill = time.time()
            wait_until(lambda: _settled(ids), 300, "every Task after the kills", every=0.5,
                       diagnose=lambda: _diagnose({"worker": worker}, ids))
            figures["kills"] = kills
            figures["finished_after_last_kill_s"] = round(time.time() - last_kill, 1)
            figures["kill_phase_total_s"] = round(time.time() - began, 1)
            _check_shapes(ids, expected)
            figures["kill_phase_latest_timer_s"] = round(_lateness(ids), 1)

            # 2. the database stopped for a long outage while Tasks run
            ids2 = _start(args.tasks, args.reviews)
            time.sleep(0.5)
            pg._run("pg_ctl", "-D", str(pg.data), "-m", "fast", "-w", "stop")
            time.sleep(args.db_outage)
            pg.start()
            back = time.time()
            wait_until(lambda: _settled(ids2), 300, "every Task after the outage", every=0.5,
                       diagnose=lambda: _diagnose({"worker": worker}, ids2))
            figures["db_outage_s"] = args.db_outage
            figures["finished_after_db_back_s"] = round(time.time() - back, 1)
            _check_shapes(ids2, expected)
            figures["db_phase_latest_timer_s"] = round(_lateness(ids2), 1)
            figures["supervisor_alive"] = worker.poll() is None
            figures["result"] = "pass: every Task exactly as a calm run, every timer fired once"
    finally:
        if worker is not None:
            figures["supervisor_exit"] = worker.stop(120)
            restarts = worker.log().count("exited (code")
            figures["worker_restarts_by_supervisor"] = restarts
        redis.stop()
        pg.stop()
        print(json.dumps(figures, indent=2))


def _shape_of(ids):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Event, StageRun, Task

    shape = {}
    for tid in ids:
        key = db.session.get(Task, tid).process.key
        runs = db.session.scalar(select(func.count()).select_from(StageRun).where(StageRun.task_id == tid))
        events = db.session.execute(select(Event.type, func.count()).where(Event.task_id == tid)
                                    .group_by(Event.type)).all()
        shape[key] = (runs, dict(events))
    return shape


def _kill_a_worker(redis) -> int:
    """SIGKILL one busy worker process (any worker if none is busy right now)."""
    from redis import Redis
    from rq import Worker

    workers = Worker.all(connection=Redis.from_url(redis.url))
    random.shuffle(workers)
    # busy ones first; a killed worker's registration lingers (often still "busy"), so try them all
    for w in sorted(workers, key=lambda w: w.get_state() != "busy"):
        try:
            os.kill(int(w.pid), signal.SIGKILL)
            print(f"killed worker process {w.pid}", file=sys.stderr, flush=True)
            return 1
        except (ProcessLookupError, TypeError, ValueError):
            continue
    print(f"no live worker to kill among {len(workers)} registered", file=sys.stderr)
    return 0


if __name__ == "__main__":
    main()
