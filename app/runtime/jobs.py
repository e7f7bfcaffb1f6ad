"""RQ job entry points. Each job is one unit of work: it loads by id, acts, and commits once.

`run_stage` performs an automated Stage Run attempt. Its job id and the run's (status, attempt)
make it idempotent: a duplicate delivery, or a run already performed eagerly, is a no-op. The
Stage's work, its completion and every decision that follows (next Stages, skips, joins, finish)
commit together; if the worker dies first, nothing of the attempt is kept and the sweep re-enqueues it."""
from __future__ import annotations

import json
import logging
import time

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import clock
from app.builder import stage_types
from app.extensions import db
from app.models import StageRun
from app.runtime import engine
from app.runtime.shell import Transition, evaluate, lock_task, stage_of

log = logging.getLogger(__name__)
EAGER_LIMIT = 100  # automated Stages one job may perform in a row before handing off to the queue


def _retrying(fn, *args):
    """Run fn in a transaction; a lost race (stale lock_version, SQLite busy, PG deadlock) retries."""
    for attempt in range(8):
        try:
            result = fn(*args)
            db.session.commit()
            return result
        except (StaleDataError, OperationalError) as exc:
            db.session.rollback()
            log.info("transaction conflict (%s), retrying", type(exc).__name__)
            time.sleep(0.005 * (2 ** attempt))
    raise RuntimeError("could not apply the transition after 8 attempts")


def run_stage(run_id: int, attempt: int) -> str:
    return _retrying(_run_stage_no_autoflush, run_id, attempt)


def _run_stage_no_autoflush(run_id: int, attempt: int) -> str:
    # every row the job reads is loaded up front; what it writes goes out in one flush at the end
    with db.session.no_autoflush:
        return _run_stage(run_id, attempt)


def _run_stage(run_id: int, attempt: int) -> str:
    run = db.session.get(StageRun, run_id)
    if run is None or run.status != "pending" or run.attempt != attempt:
        return "skipped: already handled"
    t = Transition(lock_task(run.task_id), actor="system")
    run = t.runs.get(run_id)
    if run is None or run.status != "pending" or run.attempt != attempt:
        return "skipped: already handled"
    performed = 0
    queue_: list[StageRun] = [run]
    while queue_ and performed < EAGER_LIMIT:
        current = queue_.pop(0)
        if current.status != "pending" or t.task.status != "running" or current.id not in t.runs:
            continue
        _perform(t, current)
        performed += 1
        # eager execution: take the next automated run ourselves; parallel siblings go to the queue
        queue_.extend(t.automated)
        t.automated = []
        if len(queue_) > 1:
            from app.runtime.service import _queue_automated

            t.automated = queue_[1:]
            _queue_automated(t)
            queue_ = queue_[:1]
    t.automated = queue_
    from app.runtime.service import _queue_automated

    _queue_automated(t)
    t.finish()
    return f"performed {performed}"


def _perform(t: Transition, run: StageRun) -> None:
    stage = stage_of(t.definition, run.stage_key)
    t.set_status(run, "started", attempt=run.attempt)
    type_ = stage_types.get(stage["type"])
    readable = {k: (t.task.values or {}).get(k) for k in stage["reads"]}
    try:
        writes = type_.run(readable, _loaded_config(type_, stage["config"]))
        outside = set(writes) - set(stage["writes"])
        if outside:
            raise PermissionError(f"wrote fields outside writes: {sorted(outside)}")
    except Exception as exc:  # a Stage's own failure is data for the engine, not a job crash
        run.error = f"{type(exc).__name__}: {exc}"
        t.apply(engine.fail(t.definition, t.view(), run.id, run.error, evaluate=evaluate))
        return
    if writes:
        t.task.values = {**(t.task.values or {}), **writes}
        t.event("task.values_changed", run, fields=sorted(writes), stage=run.stage_key)
    visit = t.visit
    t.apply(engine.complete(t.definition, t.view(), run.id, evaluate=evaluate))
    if writes and t.task.status == "running" and t.visit is visit:
        # the Stage changed Fields: Process-level condition Routes (no source Stage) are due too
        t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate, fields_changed=True))


_CONFIGS: dict[tuple[str, str], dict] = {}


def _loaded_config(type_, config: dict) -> dict:
    """A Stage's config through its type's schema, once per process per distinct config (a marshmallow
    load costs ~0.5 ms, as much as the rest of a Stage's Python). Stage types must not mutate it."""
    key = (type_.key, json.dumps(config, sort_keys=True, default=str))
    loaded = _CONFIGS.get(key)
    if loaded is None:
        loaded = type_.load_config(config)  # a ValidationError is not cached: it fails the run each time
        if len(_CONFIGS) >= 4096:
            _CONFIGS.clear()
        _CONFIGS[key] = loaded
    return loaded


def fire_timer(timer_id: int) -> bool:
    from app.runtime import timers

    return _retrying(timers.fire, timer_id)


SWEEP_JOB = "procly-sweep"
SWEEP_EVERY = 30  # seconds


def sweep(reschedule: bool = True) -> dict:
    """Periodic recovery: fire due SLA timers, re-create timer jobs Redis lost, re-enqueue automated
    runs whose job vanished (a killed worker). Re-schedules itself through RQ's scheduler."""
    from datetime import timedelta, timezone

    from rq import Queue
    from rq.job import Job
    from sqlalchemy import select

    from app.runtime import timers
    from app.runtime.queue import QUEUE, enqueue_after_commit, queue, redis_conn

    conn = redis_conn()

    def exists(job_id: str) -> bool:
        """Whether a job will still run. The database is the source of truth, so a job counts only if
        Redis shows it *will* be performed: its id is waiting in its queue list, it sits in the
        scheduled (or deferred) registry, or it is "started" with a recent heartbeat. A job hash alone
        proves nothing: a worker SIGKILLed between popping the id (RQ moves it to the queue's
        ":intermediate" list) and its "started" bookkeeping leaves the hash saying "queued" while no
        queue holds the id; one killed mid-job leaves "started" with a stale heartbeat. A re-enqueue
        that turns out to be a duplicate is harmless: `run_stage` acts only on a pending run of that attempt."""
        try:
            job = Job.fetch(job_id, connection=conn)
        except Exception:  # noqa: BLE001 - missing, half-written or foreign job hash: treat as gone
            return False
        status = job.get_status(refresh=False)
        origin = Queue(job.origin or QUEUE, connection=conn)
        if status == "queued":
            return _in_list(conn, origin.key, job_id)
        if status == "scheduled":
            return job_id in origin.scheduled_job_registry or _in_list(conn, origin.key, job_id)
        if status == "deferred":
            return job_id in origin.deferred_job_registry
        if status == "started":
            beat = job.last_heartbeat or job.started_at
            if beat is None:
                return False
            if beat.tzinfo is not None:  # rq 3 parses its timestamps as aware UTC
                beat = beat.astimezone(timezone.utc).replace(tzinfo=None)
            age = (clock.now() - beat).total_seconds()  # app time, so tests can move it
            return age < SWEEP_EVERY
        return False  # finished, failed, stopped, canceled, unknown

    result = timers.sweep(exists)
    stale_before = clock.now() - timedelta(seconds=SWEEP_EVERY)
    requeued = 0
    for run in db.session.scalars(select(StageRun).where(StageRun.status == "pending",
                                                         StageRun.ready_at < stale_before)).all():
        stage = stage_of(_def(run), run.stage_key)
        type_ = stage_types.get(stage["type"])
        job_id = f"run-{run.id}-{run.attempt}"
        if type_ is not None and type_.automated and not exists(job_id):
            enqueue_after_commit("app.runtime.jobs.run_stage", run.id, run.attempt, job_id=job_id)
            requeued += 1
    db.session.commit()
    if reschedule:
        queue().enqueue_in(timedelta(seconds=SWEEP_EVERY), "app.runtime.jobs.sweep", job_id=SWEEP_JOB,
                           result_ttl=0)
    return {**result, "requeued": requeued}


def _in_list(conn, key: str, job_id: str) -> bool:
    try:
        return conn.lpos(key, job_id) is not None
    except Exception:  # noqa: BLE001 - Redis < 6.0.6 has no LPOS
        return job_id.encode() in conn.lrange(key, 0, -1)


def _def(run: StageRun) -> dict:
    from app.runtime.shell import _definition

    return _definition(run.version_id)
