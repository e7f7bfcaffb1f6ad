"""Data lifecycle: a Process's retention setting (`retention_days`, `retention_action`) archives or
purges its finished Tasks that many days after they finished. Run by the periodic `purge` job
(app.runtime.periodic: leased, one worker at a time), which also deletes expired Idempotency-Keys.

- **archive**: the Task's record stays — status, outcome, Stage Runs and timings, so dashboards stay
  right, and its Events, the audit trail — but its data goes: Field values emptied, files' bytes
  deleted from the storage (rows marked purged), threads, comments and email messages deleted, magic
  links revoked. `archived_at` marks it.
- **purge**: the Task and everything hanging from it are deleted — Stage Runs, visits, timers,
  threads, messages, bookings, signals, notifications, magic links, file records (and their bytes)
  and its Events. Dashboard rollups already counted keep their aggregates.

Each run writes one `process.retention_applied` Event per Process (counts only) and a log line.
At most BATCH Tasks per Process per run: a large backlog is worked off run by run."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select, update

from app import clock
from app.errors import Invalid
from app.extensions import db
from app.files import operations as files
from app.models import (Booking, Comment, Event, MagicLink, MailMessage, Notification, Process, StageRun,
                        StageTimer, StoredFile, Task, TaskSignal, TaskVisit, Thread)
from app.models.idempotency import purge_expired
from app.vocab.statuses import TaskStatus

log = logging.getLogger(__name__)

ACTIONS = ("archive", "purge")
BATCH = 500
MAX_DAYS = 36500


def validate(days, action) -> tuple[int | None, str | None]:
    """A retention setting as stored: (None, None) = keep for ever."""
    if days in (None, "") and action in (None, ""):
        return None, None
    if action not in ACTIONS:
        raise Invalid('Choose "archive" or "purge".', {"retention_action": ["archive or purge"]})
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise Invalid(f"Give a whole number of days from 1 to {MAX_DAYS}.", {"retention_days": ["1 to 36500"]})
    return days, action


def purge_due() -> dict:
    """The periodic `purge` job: expired Idempotency-Keys, then every Process's retention."""
    result = {"idempotency_keys": purge_expired()}
    applied = apply_all()
    if applied:
        result["retention"] = applied
    return result


def apply_all(now=None) -> list[dict]:
    now = now or clock.now()
    done = []
    for process in db.session.scalars(select(Process).where(Process.retention_days.is_not(None))
                                      .order_by(Process.id)):
        summary = apply(process, now)
        if summary["tasks"]:
            done.append(summary)
    return done


def due_task_ids(process: Process, now) -> list[int]:
    cutoff = now - timedelta(days=process.retention_days)
    q = select(Task.id).where(Task.process_id == process.id, Task.status != TaskStatus.running,
                              Task.finished_at.is_not(None), Task.finished_at <= cutoff)
    if process.retention_action == "archive":
        q = q.where(Task.archived_at.is_(None))
    return list(db.session.scalars(q.order_by(Task.id).limit(BATCH)))


def apply(process: Process, now=None) -> dict:
    now = now or clock.now()
    ids = due_task_ids(process, now)
    action = process.retention_action
    counts = (archive_tasks if action == "archive" else purge_tasks)(ids, now) if ids else {"files": 0}
    summary = {"process": process.key, "action": action, "days": process.retention_days, "tasks": len(ids), **counts}
    if ids:
        db.session.add(Event(type="process.retention_applied", process_id=process.id, actor="system:retention",
                             data=summary))
        log.info("retention: %s %d finished Task(s) of process %s (%d file(s))", action + "d", len(ids),
                 process.key, counts["files"])
    return summary


def _run_ids(task_ids: list[int]):
    return select(StageRun.id).where(StageRun.task_id.in_(task_ids))


def _drop_conversations(task_ids: list[int]) -> None:
    runs = _run_ids(task_ids)
    threads = select(Thread.id).where(Thread.stage_run_id.in_(runs))
    for stmt in (delete(MailMessage).where(MailMessage.task_id.in_(task_ids)),
                 delete(Comment).where(Comment.thread_id.in_(threads)),
                 delete(Thread).where(Thread.stage_run_id.in_(runs)),
                 delete(MagicLink).where(MagicLink.task_id.in_(task_ids))):
        db.session.execute(stmt.execution_options(synchronize_session=False))


def _purge_files(task_ids: list[int]) -> int:
    return sum(files.purge_task_files(tid, "system:retention") for tid in task_ids)


def archive_tasks(task_ids: list[int], now) -> dict:
    n_files = _purge_files(task_ids)
    _drop_conversations(task_ids)
    db.session.execute(update(Task).where(Task.id.in_(task_ids)).values(values={}, archived_at=now)
                       .execution_options(synchronize_session=False))
    for tid in task_ids:
        db.session.add(Event(type="task.archived", task_id=tid, actor="system:retention", data={}))
    return {"files": n_files}


def purge_tasks(task_ids: list[int], now) -> dict:
    n_files = _purge_files(task_ids)       # the bytes leave the storage after commit
    db.session.flush()
    _drop_conversations(task_ids)
    runs = _run_ids(task_ids)
    # Core deletes, children first (SQLite does not cascade): Events are append-only for the ORM, and
    # deleting a purged Task's Events is the one sanctioned way they go
    for stmt in (delete(Booking).where(Booking.task_id.in_(task_ids)),
                 delete(Notification).where(Notification.task_id.in_(task_ids)),
                 delete(TaskSignal).where(TaskSignal.task_id.in_(task_ids)),
                 delete(StoredFile).where(StoredFile.task_id.in_(task_ids)),
                 delete(StageTimer).where(StageTimer.stage_run_id.in_(runs)),
                 delete(Event).where(Event.task_id.in_(task_ids)),
                 delete(Event).where(Event.stage_run_id.in_(runs)),
                 delete(StageRun).where(StageRun.task_id.in_(task_ids)),
                 delete(TaskVisit).where(TaskVisit.task_id.in_(task_ids)),
                 delete(Task).where(Task.id.in_(task_ids))):
        db.session.execute(stmt.execution_options(synchronize_session=False))
    return {"files": n_files}
