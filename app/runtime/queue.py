"""Redis, the RQ queue, and work deferred until the database transaction commits.

Jobs and real-time messages are collected on the session and sent only after COMMIT, so a job
can never start before the rows it reads exist, and a rolled-back change announces nothing."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import event, insert

from app.extensions import db

QUEUE = "procly"
_redis: dict[str, Redis] = {}


def redis_conn() -> Redis:
    url = current_app.config["REDIS_URL"]
    if url not in _redis:
        _redis[url] = Redis.from_url(url)
    return _redis[url]


def queue() -> Queue:
    return Queue(QUEUE, connection=redis_conn())


def _pending(kind: str) -> list:
    return db.session.info.setdefault(kind, [])


def enqueue_after_commit(func: str, *args, job_id: str | None = None, at: datetime | None = None) -> None:
    """Enqueue `func(*args)` (dotted path) once the current transaction commits."""
    _pending("procly_jobs").append((func, args, job_id, at))


def publish_after_commit(event_name: str, payload: dict, room: str) -> None:
    """A real-time message for browsers in `room`, sent after commit (ids and statuses only)."""
    _pending("procly_messages").append((event_name, payload, room))


def record_event(row: dict) -> None:
    """An Event row (column -> value) written by the next flush or commit of this transaction, all of
    them in one Core executemany: far cheaper than an ORM object and a unit-of-work pass per Event."""
    db.session.info.setdefault("procly_events", []).append(row)


def _write_events(session, *_args) -> None:
    rows = session.info.pop("procly_events", None)
    if rows:
        from app.models import Event

        session.connection().execute(insert(Event.__table__), rows)  # executemany (insertmanyvalues)


# after-commit sends that failed (Redis down): counted and logged, never raised. The commit stands and
# the database is the truth: the periodic sweep re-enqueues pending automated runs and lost timers.
LOST = {"jobs": 0, "messages": 0}
log = logging.getLogger(__name__)


def _flush(session) -> None:
    jobs = session.info.pop("procly_jobs", [])
    messages = session.info.pop("procly_messages", [])
    if jobs:
        try:
            q = queue()
            now_jobs = [Queue.prepare_data(f, args, job_id=jid, result_ttl=0, failure_ttl=7 * 86400)
                        for f, args, jid, at in jobs if at is None]
            if now_jobs:
                q.enqueue_many(now_jobs)
            for f, args, jid, at in jobs:
                if at is not None:
                    q.enqueue_at(at_utc(at), f, *args, job_id=jid, result_ttl=0, failure_ttl=7 * 86400)
        except Exception as exc:  # noqa: BLE001  (after COMMIT nothing may fail the request)
            LOST["jobs"] += len(jobs)
            log.warning("enqueue after commit failed (%s: %s); %d job(s) left to the sweep", type(exc).__name__,
                        exc, len(jobs), exc_info=not isinstance(exc, RedisError))
    if messages:
        from app.realtime import emit_many

        try:
            emit_many(messages)
        except Exception as exc:  # noqa: BLE001
            LOST["messages"] += len(messages)
            log.warning("real-time publish after commit failed (%s: %s); %d message(s) dropped",
                        type(exc).__name__, exc, len(messages), exc_info=not isinstance(exc, RedisError))


def at_utc(naive: datetime) -> datetime:
    from datetime import timezone

    return naive.replace(tzinfo=timezone.utc)


def _discard(session) -> None:
    session.info.pop("procly_events", None)
    session.info.pop("procly_jobs", None)
    session.info.pop("procly_messages", None)


def _on_rollback(session, previous_transaction) -> None:
    _discard(session)


def init_app(app) -> None:
    if not event.contains(db.session, "after_commit", _flush):
        event.listen(db.session, "after_commit", _flush)
        event.listen(db.session, "after_soft_rollback", _on_rollback)
        event.listen(db.session, "before_flush", _write_events)
        event.listen(db.session, "before_commit", _write_events)
