"""Worker processes: non-forking RQ SimpleWorkers with the app (imports, DB engine) loaded once
per process, and RQ's scheduler for delayed jobs (retries, SLA timers, the sweep)."""
from __future__ import annotations

import multiprocessing
import os

from rq import SimpleWorker

from app.runtime.queue import QUEUE


class AppWorker(SimpleWorker):
    """Runs each job inside the app context and leaves a clean session behind."""

    app = None

    def execute_job(self, job, queue):
        with self.app.app_context():
            from app.extensions import db

            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()


def make_worker(app, name: str | None = None) -> AppWorker:
    from app.runtime.queue import redis_conn

    with app.app_context():
        conn = redis_conn()
    worker = AppWorker([QUEUE], connection=conn, name=name)
    worker.app = app
    return worker


# Periodic jobs, each re-scheduling itself through RQ's scheduler (job id = its dedupe key).
PERIODIC = [
    ("app.runtime.jobs.sweep", "procly-sweep", {}),               # SLA timers, lost jobs
    ("app.notifications.jobs.sweep", "procly-outbox", {}),        # email and webhook deliveries
    ("app.metrics.jobs.rollup", "procly-metrics-rollup", {"reschedule": True}),  # dashboard rollups
]


def start_sweep(app) -> None:
    from app.runtime.queue import queue

    with app.app_context():
        q = queue()
        for func, job_id, kwargs in PERIODIC:
            q.enqueue(func, job_id=job_id, result_ttl=0, kwargs=kwargs)


def _work(burst: bool) -> None:
    from wsgi import app

    make_worker(app, name=f"procly-{os.getpid()}").work(burst=burst, with_scheduler=True, logging_level="WARNING")


def run_workers(app, *, burst: bool = False, count: int = 1) -> None:
    start_sweep(app)
    if count == 1:
        make_worker(app).work(burst=burst, with_scheduler=True, logging_level="WARNING")
        return
    procs = [multiprocessing.get_context("spawn").Process(target=_work, args=(burst,)) for _ in range(count)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
