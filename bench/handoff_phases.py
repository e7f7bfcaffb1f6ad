"""Where the queued hand-off goes: the `run_stage` job of s0 in a lane s0 -> p1 | p2 -> j, in process.

    python -m bench.handoff_phases [--tasks 100]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5433/procly_bench_x python -m bench.handoff_phases

The job performs s0 and p1 in its first transaction, hands p2 back to the queue (enqueued after the
COMMIT) and then takes p2 itself in a second transaction (app.runtime.jobs.run_stage). The hand-off is
p2.started_at - p1.finished_at; this splits it into: the rest of the first transaction after p1 finished
(its decisions, the flush), the COMMIT, the after-commit work (counters, the enqueue, live messages), the
sibling's Task lock, and the lock to p2's start (visit and runs load, the status change). Wall times of
this process, p50 / p95 over the Tasks; RQ's own dequeue is not in it (nobody works the queued jobs).
SQLite by default, PostgreSQL when DATABASE_URL is set (the schema is dropped and re-created)."""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timezone

from bench.common import bench_servers, fresh_app
from bench.runtime_throughput import _world

PHASES = ("rest of the transaction", "commit", "after commit", "  of which the enqueue", "to the lock",
          "Task lock", "lock to started", "hand-off")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100)
    args = parser.parse_args()
    db_url, redis_url, tmp = bench_servers("procly-handoff-")
    app = fresh_app(db_url, redis_url, tmp, _world)
    from sqlalchemy import event, select

    from app.extensions import db
    from app.infra import queue as q
    from app.models import StageRun
    from app.runtime import jobs
    from app.tasks import operations as service

    marks: list[tuple[str, float]] = []
    after_commit, enqueue, lock_task = q._flush, q._enqueue, jobs.lock_task

    def timed(name, fn):
        def wrapper(*a):
            marks.append((name + " start", time.time()))
            try:
                return fn(*a)
            finally:
                marks.append((name + " end", time.time()))
        return wrapper

    got: dict[str, list[float]] = {p: [] for p in PHASES}
    with app.app_context():
        event.remove(db.session, "after_commit", after_commit)
        event.listen(db.session, "after_commit", timed("after", after_commit))
        event.listen(db.session, "before_commit", lambda _s: marks.append(("commit start", time.time())))
        q._enqueue, jobs.lock_task = timed("enqueue", enqueue), timed("lock", lock_task)
        try:
            service.create_tasks([{"process": "fan"} for _ in range(args.tasks)], None, "bench")
            db.session.commit()
            q.redis_conn().flushdb()   # their jobs: this bench performs them itself
            firsts = db.session.execute(select(StageRun.id, StageRun.task_id).where(StageRun.stage_key == "s0")).all()
            db.session.remove()
            for run_id, task_id in firsts:
                marks.clear()
                jobs.run_stage(run_id, 1)
                db.session.remove()
                runs = {r.stage_key: r for r in db.session.scalars(select(StageRun).where(StageRun.task_id == task_id))}
                db.session.remove()
                finished = runs["p1"].finished_at.replace(tzinfo=timezone.utc).timestamp()
                started = runs["p2"].started_at.replace(tzinfo=timezone.utc).timestamp()
                m: dict[str, list[float]] = {}
                for name, at in marks:
                    m.setdefault(name, []).append(at)
                commit, (a0, a1) = m["commit start"][0], (m["after start"][0], m["after end"][0])
                l0, l1 = m["lock start"][1], m["lock end"][1]   # the second lock: the sibling's
                for name, seconds in zip(PHASES, (commit - finished, a0 - commit, a1 - a0,
                                                  m["enqueue end"][0] - m["enqueue start"][0], l0 - a1, l1 - l0,
                                                  started - l1, started - finished)):
                    got[name].append(seconds * 1000)
        finally:
            q._enqueue, jobs.lock_task = enqueue, lock_task
    where = db_url.split("@")[-1] if "@" in db_url else db_url.split(":")[0]
    print(f"queued hand-off by phase, {args.tasks} Tasks, {where}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:")
    for name in PHASES:
        values = sorted(got[name])
        print(f"  {name:26s} p50 {statistics.median(values):6.2f} ms   p95 "
              f"{values[max(0, int(len(values) * 0.95) - 1)]:6.2f} ms")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
