"""Redis, the RQ queue, and work deferred until the database transaction commits.

Jobs and real-time messages are collected on the session and sent only after COMMIT, so a job
can never start before the rows it reads exist, and a rolled-back change announces nothing."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta, timezone

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import event

from app.extensions import db
from app.infra import realtime
from app.infra.bulk_insert import insert_rows
from app.infra import logs, redaction, telemetry
from app.infra.redaction import known, redact
from app.infra.redis import connection
from app.models import Event

log = logging.getLogger(__name__)
QUEUE = "procly"                 # automated Stage Runs
SYSTEM_QUEUE = "procly-system"   # timers, periodic work, outbox: workers take these first
QUEUES = (SYSTEM_QUEUE, QUEUE)
FAILURE_TTL = 7 * 86400
FAN_OUT_MIN = 100               # from this many jobs for one queue in one commit, a worker enqueues them
FAN_OUT_JOB = "app.infra.queue.fan_out"


def redis_conn() -> Redis:
    """The app's Redis client (app.infra.redis), as RQ wants it (bytes)."""
    return connection()


def queue(name: str = QUEUE) -> Queue:
    return Queue(name, connection=redis_conn())


def retry_policy(tolerance: int | None = None) -> Retry:
    """RQ's retry for a job that raised (the database or Redis was unreachable mid-job): backoff from
    1 s doubling to 10 s, for at least `tolerance` seconds (PROCLY_OUTAGE_TOLERANCE, default 300), so
    that a job runs again within 10 s of the database coming back. A Stage's own failure never
    raises (the engine records it), so only outages are retried; a retry that fails again is cheap."""
    tolerance = tolerance if tolerance is not None else int(current_app.config.get("OUTAGE_TOLERANCE", 300))
    intervals, total, step = [], 0, 1
    while total < tolerance:
        intervals.append(step)
        total += step
        step = min(step * 2, 10)
    return Retry(max=max(len(intervals), 1), interval=intervals or [2])


def _pending(kind: str) -> list:
    return db.session.info.setdefault(kind, [])


def enqueue_after_commit(func: str, *args, job_id: str | None = None, at: datetime | None = None,
                         queue_name: str = QUEUE, at_front: bool = False) -> None:
    """Enqueue `func(*args)` (dotted path) once the current transaction commits; `at` (naive UTC)
    delays it, rounded up to the whole second so that RQ's scheduler never starts it early;
    `at_front` puts it before the jobs already waiting (work of a Task already under way)."""
    _pending("procly_jobs").append((func, args, job_id, at, queue_name, at_front))


def enqueue_once_after_commit(func: str, *, queue_name: str = QUEUE) -> None:
    """`func()` once after this transaction commits, however many times it is asked for."""
    if not any(job[0] == func and not job[1] for job in _pending("procly_jobs")):
        enqueue_after_commit(func, queue_name=queue_name)


def publish_after_commit(event_name: str, payload: dict, room: str) -> None:
    """A real-time message for browsers in `room`, sent after commit (ids and statuses only)."""
    _pending("procly_messages").append((event_name, payload, room))


def record_event(row: dict) -> None:
    """An Event row (column -> value) written by the next flush or commit of this transaction, all of
    them in one Core executemany: far cheaper than an ORM object and a unit-of-work pass per Event."""
    db.session.info.setdefault("procly_events", []).append(row)
    if row.get("stage_run_id") and row.get("to_status"):   # a Stage transition: counted after COMMIT
        db.session.info.setdefault("procly_transitions", Counter())[(row.get("process_id"), row["to_status"])] += 1


def _write_events(session, *_args) -> None:
    rows = session.info.pop("procly_events", None)
    if rows:
        rows = [{**row, "data": redact(row.get("data"))} for row in rows] if known() else rows

        insert_rows(session.connection(), Event.__table__, rows)  # executemany; COPY for many on PostgreSQL


# after-commit sends that failed (Redis down): counted and logged, never raised. The commit stands and
# the database is the truth: the periodic sweep re-enqueues pending automated runs and lost timers.
LOST = {"jobs": 0, "messages": 0}


def _flush(session) -> None:
    """After COMMIT: hand the jobs to Redis and the messages to browsers. Never raises: what is
    committed is the truth, and the sweep (app.runtime.recovery) re-creates any job lost here."""
    jobs = session.info.pop("procly_jobs", [])
    messages = session.info.pop("procly_messages", [])
    transitions = session.info.pop("procly_transitions", None)
    if transitions:
        telemetry.count_transitions(redis_conn(), transitions)
    if jobs:
        try:
            _enqueue(jobs)
        except Exception as exc:  # noqa: BLE001  (after COMMIT nothing may fail the request)
            LOST["jobs"] += len(jobs)
            log.warning("enqueue after commit failed (%s: %s); %d job(s) left to the sweep", type(exc).__name__,
                        exc, len(jobs), exc_info=not isinstance(exc, RedisError))
    if messages:
        try:
            realtime.emit_many(messages)
        except Exception as exc:  # noqa: BLE001 - live updates are best effort; the data is committed
            LOST["messages"] += len(messages)
            log.warning("real-time publish after commit failed (%s: %s); %d message(s) dropped",
                        type(exc).__name__, exc, len(messages), exc_info=not isinstance(exc, RedisError))


def _meta() -> dict | None:
    """What a job inherits from the request (or job) that enqueued it: its request id, bound again in
    the worker (app.runtime.worker) so their log lines share it."""
    request_id = logs.current("request_id")
    return {"request_id": request_id} if request_id else None


def _enqueue(jobs: list) -> None:
    """Send a commit's jobs to Redis. Many jobs for one queue (a batch start, a CSV chunk, a bulk
    retry) go as one `fan_out` job on the system queue, which a worker turns into the jobs: RQ
    spends ~0.1 ms a job creating, pickling and sending it, and that time is better spent by a
    worker than by the request or the job that accepted the work. A lost fan-out job loses nothing
    the sweep (app.runtime.recovery) does not re-enqueue, as for any job lost after a COMMIT."""
    by_queue: dict[str, list] = {}
    for f, args, jid, at, name, front in jobs:
        if at is None:
            by_queue.setdefault(name, []).append((f, args, jid, front))
    meta = _meta()
    for name, batch in by_queue.items():
        if len(batch) >= FAN_OUT_MIN:
            batch = [(FAN_OUT_JOB, (name, batch), None, False)]
            name = SYSTEM_QUEUE
        _enqueue_now(name, batch, meta)
    retry = retry_policy()
    for f, args, jid, at, name, _front in jobs:
        if at is not None:
            queue(name).enqueue_at(at_utc(at), f, *args, job_id=jid, result_ttl=0, failure_ttl=FAILURE_TTL,
                                   retry=retry, meta=meta)


def _enqueue_now(name: str, batch: list, meta: dict | None) -> None:
    retry = retry_policy()
    queue(name).enqueue_many([Queue.prepare_data(f, args, job_id=jid, result_ttl=0, failure_ttl=FAILURE_TTL,
                                                 retry=retry, meta=meta, at_front=front)
                              for f, args, jid, front in batch])


def fan_out(name: str, batch: list) -> int:
    """The job that enqueues a commit's many jobs `batch` [(func, args, job id, at front)] on queue
    `name`, with the request id of the commit that asked for them."""
    _enqueue_now(name, batch, _meta())
    return len(batch)


def at_utc(naive: datetime) -> datetime:
    """Naive UTC -> aware UTC, rounded up to the whole second (RQ's scheduler keeps whole seconds
    and starts a job once its second has begun: rounding down would start it up to 1 s early)."""
    whole = naive.replace(microsecond=0)
    if whole < naive:
        whole += timedelta(seconds=1)
    return whole.replace(tzinfo=timezone.utc)


def _discard(session) -> None:
    session.info.pop("procly_events", None)
    session.info.pop("procly_jobs", None)
    session.info.pop("procly_messages", None)
    session.info.pop("procly_transitions", None)


def _on_rollback(session, previous_transaction) -> None:
    _discard(session)


def init_app(app) -> None:
    redaction.install()      # secret values are masked in every log line and Event of this process
    if not event.contains(db.session, "after_commit", _flush):
        event.listen(db.session, "after_commit", _flush)
        event.listen(db.session, "after_soft_rollback", _on_rollback)
        event.listen(db.session, "before_flush", _write_events)
        event.listen(db.session, "before_commit", _write_events)
