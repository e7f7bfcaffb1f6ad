"""Periodic work: what runs every interval, and the lease that lets exactly one worker run it.

Each `flask procly worker` runs RQ's CronScheduler (app.runtime.scheduler), which enqueues
`run(name)` for every job below at its interval, so the work goes on as long as any worker lives
and survives Redis losing everything (the schedule lives in the scheduler's memory). With several
workers on several machines each enqueues it; `run` takes the job's lease in the database first,
so one of them does the work and the others return at once: never two at the same time (no double
rollup), and not more often than the interval."""
from __future__ import annotations

import importlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import PeriodicLease

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str             # dotted path of a function taking no arguments and returning a dict
    every_setting: str    # config key holding the interval in seconds
    lease_seconds: int    # how long a holder that died keeps the lease (longer than a run takes)

    def every(self) -> int:
        return int(current_app.config[self.every_setting])


JOBS = (
    PeriodicJob("sweep", "app.runtime.recovery.sweep", "SWEEP_INTERVAL", 15),      # timers, lost jobs
    PeriodicJob("imports", "app.tasks.imports.sweep", "SWEEP_INTERVAL", 60),     # lost or given-up CSV imports
    PeriodicJob("outbox", "app.notifications.jobs.deliver_due", "OUTBOX_INTERVAL", 180),  # mail, webhooks
    PeriodicJob("rollup", "app.metrics.jobs.rollup", "ROLLUP_INTERVAL", 900),      # dashboard rollups
    # expired records: Idempotency-Keys, and finished Tasks past their Process's retention
    PeriodicJob("purge", "app.processes.retention.purge_due", "PURGE_INTERVAL", 300),
)
BY_NAME = {job.name: job for job in JOBS}


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(job: PeriodicJob, holder: str) -> bool:
    """Take the lease if it is free: nobody holds it, or the last run started at least 0.8 interval
    ago and ended (or its holder's lease ran out). Commits, so other workers see it at once."""
    now = clock.now()
    _ensure_row(job.name)
    taken = db.session.execute(
        update(PeriodicLease).where(PeriodicLease.name == job.name, PeriodicLease.expires_at <= now)
        .values(holder=holder, expires_at=now + timedelta(seconds=job.lease_seconds), started_at=now)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def release(job: PeriodicJob, holder: str, result: dict | None) -> None:
    """End the run: the lease stays closed until 0.8 interval after this run started, so N
    schedulers enqueueing the same job make one run per interval, not N."""
    now = clock.now()
    row = db.session.get(PeriodicLease, job.name, populate_existing=True)
    if row is None or row.holder != holder:
        db.session.rollback()
        return
    reopen = (row.started_at or now) + timedelta(seconds=job.every() * 0.8)
    db.session.execute(update(PeriodicLease).where(PeriodicLease.name == job.name, PeriodicLease.holder == holder)
                       .values(expires_at=reopen, finished_at=now, result=result, runs=PeriodicLease.runs + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _ensure_row(name: str) -> None:
    if db.session.get(PeriodicLease, name) is not None:
        return
    db.session.add(PeriodicLease(name=name, expires_at=clock.now() - timedelta(seconds=1), runs=0))
    try:
        db.session.commit()
    except IntegrityError:  # another worker inserted it first: fine
        db.session.rollback()


def run(name: str) -> dict:
    """RQ job: run periodic job `name` if this worker gets its lease."""
    job = BY_NAME[name]
    holder = holder_id()
    if not acquire(job, holder):
        return {"skipped": "another worker ran it recently or is running it"}
    module, func = job.func.rsplit(".", 1)
    result = None
    try:
        result = getattr(importlib.import_module(module), func)()
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise
    finally:
        try:
            release(job, holder, result if isinstance(result, dict) else None)
        except Exception:  # noqa: BLE001 - the lease expires by itself; the next run goes ahead
            db.session.rollback()
            log.exception("could not release the %s lease", name)


def status() -> list[dict]:
    """Latest run of each periodic job (for operators and health checks)."""
    rows = {r.name: r for r in db.session.scalars(select(PeriodicLease))}
    return [{"name": j.name, "every": j.every(), "runs": getattr(rows.get(j.name), "runs", 0),
             "started_at": getattr(rows.get(j.name), "started_at", None),
             "finished_at": getattr(rows.get(j.name), "finished_at", None)} for j in JOBS]
