"""The sweep: the database is the truth, Redis a cache of it.

Run every SWEEP_INTERVAL seconds by one worker (app.runtime.periodic). It finds, in the database,
work whose RQ job will not run — Redis flushed or restarted, a worker SIGKILLed inside a job, a job
that failed for good, an enqueue lost between COMMIT and Redis — and puts it back:

- SLA timers that are due fire here and now; timers due within HORIZON get their scheduled job back,
  so they still fire on the second.
- Automated Stage Runs waiting for a worker (pending, ready for more than GRACE seconds) whose job
  is not alive are enqueued again. A duplicate is harmless: `run_stage` acts only on a pending run
  of that attempt, and two writers of one Task cannot both commit (lock_version).

Work per pass is bounded (BATCH rows of each kind, the oldest first), so a pass stays short."""
from __future__ import annotations

import logging
from datetime import timedelta

from rq.registry import ScheduledJobRegistry
from sqlalchemy import or_, select

from app import clock
from app.extensions import db
from app.models import StageRun, StageTimer
from app.infra.queue import QUEUE, SYSTEM_QUEUE, enqueue_after_commit, redis_conn
from app.runtime import jobs, timers
from datetime import datetime, timezone

log = logging.getLogger(__name__)
GRACE = 5          # seconds: a run committed this recently may still have its enqueue in flight
HORIZON = 120      # seconds: timers due this soon must have a live scheduled job
BATCH = 1000       # rows of each kind per pass
ALIVE_KEY = "procly:alive:{}"   # set by each running worker (app.runtime.worker), with a short TTL
ALIVE_TTL = 6
STUCK_SCHEDULED = 30  # seconds past its time a scheduled job counts as lost (no scheduler moving it)


def sweep() -> dict:
    """One pass. Returns what it did: {"fired", "rescheduled", "requeued"}."""

    now = clock.now()
    soon = list(db.session.scalars(select(StageTimer).where(
        StageTimer.fired_at.is_(None), StageTimer.due_at <= now + timedelta(seconds=HORIZON))
        .order_by(StageTimer.due_at).limit(BATCH)))
    due_ids = [t.id for t in soon if t.due_at <= now]
    future = [t for t in soon if t.due_at > now]
    runs = list(db.session.scalars(select(StageRun).where(
        StageRun.status == "pending", StageRun.automated.is_(True),
        StageRun.ready_at < now - timedelta(seconds=GRACE),
        or_(StageRun.run_after.is_(None), StageRun.run_after < now - timedelta(seconds=GRACE)))
        .order_by(StageRun.ready_at).limit(BATCH)))
    alive = live_jobs([timers.timer_job_id(t) for t in future] + [_run_job_id(r) for r in runs])
    lost = [timers.timer_job_id(t) for t in future if timers.timer_job_id(t) not in alive] + \
        [_run_job_id(r) for r in runs if _run_job_id(r) not in alive]
    rescheduled = requeued = 0
    for timer in future:
        if timers.timer_job_id(timer) not in alive:
            timers.enqueue(timer)
            rescheduled += 1
    for run in runs:
        if _run_job_id(run) not in alive:
            enqueue_after_commit("app.runtime.jobs.run_stage", run.id, run.attempt, job_id=_run_job_id(run))
            requeued += 1
    forget_stranded(lost)
    db.session.commit()
    fired = sum(jobs.fire_due_timer(timer_id) == "fired" for timer_id in due_ids)
    if fired or rescheduled or requeued:
        log.info("sweep: fired %d timer(s), rescheduled %d, re-enqueued %d run(s)", fired, rescheduled, requeued)
    return {"fired": fired, "rescheduled": rescheduled, "requeued": requeued}


def _run_job_id(run: StageRun) -> str:
    return f"run-{run.id}-{run.attempt}"


def live_jobs(job_ids: list[str]) -> set[str]:
    """The ids, among `job_ids`, of jobs RQ will still perform: waiting in a queue (not stranded in
    the intermediate list of a worker killed between popping and starting it), scheduled and not
    stuck past its time, or started by a worker that is alive (its ALIVE_KEY exists). A job hash
    alone proves nothing; finished, failed, stopped and missing jobs are not alive."""
    if not job_ids:
        return set()
    conn = redis_conn()
    with conn.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(f"rq:job:{job_id}", "status", "origin", "worker_name")
        rows = pipe.execute()
    checks: list[tuple[str, str]] = []
    with conn.pipeline(transaction=False) as pipe:
        for job_id, (status, origin, worker) in zip(job_ids, rows):
            status, origin = _text(status), _text(origin) or QUEUE
            if status in ("queued", "deferred"):
                pipe.lpos(f"rq:queue:{origin}:intermediate", job_id)
                checks.append((job_id, "queued"))
            elif status == "scheduled":
                pipe.zscore(ScheduledJobRegistry(origin, connection=conn).key, job_id)
                checks.append((job_id, "scheduled"))
            elif status == "started" and worker:
                pipe.exists(ALIVE_KEY.format(_text(worker)))
                checks.append((job_id, "started"))
        answers = pipe.execute() if checks else []
    stuck_before = clock.now() - timedelta(seconds=STUCK_SCHEDULED)
    alive = set()
    for (job_id, kind), answer in zip(checks, answers):
        if kind == "queued" and answer is None:
            alive.add(job_id)
        elif kind == "scheduled" and answer is not None and _utc(answer) >= stuck_before:
            alive.add(job_id)
        elif kind == "started" and answer:
            alive.add(job_id)
    return alive


def forget_stranded(job_ids: list[str]) -> None:
    """A lost job's id may still sit in the intermediate list of the worker that died holding it:
    take it out, so that the job enqueued again under that id counts as alive."""
    if job_ids:
        with redis_conn().pipeline(transaction=False) as pipe:
            for name in (QUEUE, SYSTEM_QUEUE):
                for job_id in job_ids:
                    pipe.lrem(f"rq:queue:{name}:intermediate", 0, job_id)
            pipe.execute()


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _utc(score: float):

    return datetime.fromtimestamp(score, timezone.utc).replace(tzinfo=None)


__all__ = ["sweep", "live_jobs", "ALIVE_KEY", "ALIVE_TTL", "GRACE", "SYSTEM_QUEUE"]
