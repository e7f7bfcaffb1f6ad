"""Tasks (rows moving through Stages), Stage Runs, Process visits, Events and Threads."""
from __future__ import annotations

from datetime import datetime
from sqlalchemy import ForeignKey, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.types import JSONType
from app.vocab.statuses import OPEN, StageRunStatus, TaskStatus, VisitOutcome

OPEN_STATUSES = tuple(sorted(OPEN))   # the older name of app.vocab.statuses.OPEN
__all__ = ["StageRunStatus", "TaskStatus", "VisitOutcome", "OPEN_STATUSES"]


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_process_status", "process_id", "status"),
        Index("ix_tasks_running_process", "process_id", "version_id",
              postgresql_where=text("status = 'running'"), sqlite_where=text("status = 'running'")),
        Index("ix_tasks_variant_created", "variant_id", "created_at"),
        # a Task key is unique in the Process it was started in (a repeated create answers with it)
        Index("uq_tasks_origin_key", "origin_process_id", "key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    # the Process the Task was started in (a Split's variant Process); NULL only for Tasks older than
    # the rule that repeated a key there
    origin_process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"))
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id"), index=True)
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    split_id: Mapped[int | None] = mapped_column(ForeignKey("splits.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("split_variants.id"))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.running)
    needs_attention: Mapped[bool] = mapped_column(default=False)
    # bumped by every transition: two workers cannot both apply one (optimistic lock)
    lock_version: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    # retention archived it: its Field values, files, threads and messages are gone; the record stays
    archived_at: Mapped[datetime | None]
    process = relationship("Process", foreign_keys=[process_id])
    version = relationship("Version")
    variant = relationship("SplitVariant")
    stage_runs: Mapped[list[StageRun]] = relationship(back_populates="task", order_by="StageRun.id")

    __mapper_args__ = {"version_id_col": lock_version}


class TaskVisit(db.Model):
    """One stay of a Task in one Process: where its time was actually spent, and how it left."""

    __tablename__ = "task_visits"
    __table_args__ = (
        Index("ix_task_visits_process_entered", "process_id", "entered_at"),
        # metrics, index-only: throughput by completion time, Route usage by (route, target)
        Index("ix_task_visits_completed_left", "process_id", "left_at",
              postgresql_where=text("outcome = 'completed'"), sqlite_where=text("outcome = 'completed'")),
        Index("ix_task_visits_moved", "process_id", "entered_at", "route_key", "target_process_id",
              postgresql_where=text("outcome = 'moved'"), sqlite_where=text("outcome = 'moved'")),
        Index("ix_task_visits_variant_entered", "variant_id", "entered_at"),   # metrics: A/B per period
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("split_variants.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(default=clock.now)
    left_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    route_key: Mapped[str | None] = mapped_column(String(64))
    target_process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"))


class StageRun(db.Model):
    __tablename__ = "stage_runs"
    __table_args__ = (
        Index("ix_stage_runs_task", "task_id", "stage_key"),
        Index("ix_stage_runs_lane", "process_id", "stage_key", "status"),
        Index("ix_stage_runs_open_due", "due_at",
              postgresql_where=text("finished_at IS NULL"), sqlite_where=text("finished_at IS NULL")),
        Index("ix_stage_runs_claimed", "claimed_by_id", "status"),
        Index("ix_stage_runs_version_finished", "version_id", "finished_at"),
        Index("ix_stage_runs_process_ready", "process_id", "ready_at"),   # metrics: Stage Runs in a period
        Index("ix_stage_runs_open_lane", "process_id", "stage_key", "status",   # metrics: WIP per Stage
              postgresql_where=text("finished_at IS NULL"), sqlite_where=text("finished_at IS NULL")),
        # the sweep: automated runs waiting for a worker (app.runtime.recovery)
        Index("ix_stage_runs_automated_pending", "ready_at",
              postgresql_where=text("status = 'pending' AND automated"),
              sqlite_where=text("status = 'pending' AND automated")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    visit_id: Mapped[int] = mapped_column(ForeignKey("task_visits.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    stage_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), default=StageRunStatus.pending)
    attempt: Mapped[int] = mapped_column(default=1)
    automated: Mapped[bool] = mapped_column(default=False)   # performed by a worker, not a person
    ready_at: Mapped[datetime] = mapped_column(default=clock.now)
    run_after: Mapped[datetime | None]   # an automated retry waits for its backoff until then
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    active_seconds: Mapped[float] = mapped_column(default=0.0)   # staff time, pauses excluded
    approval_status: Mapped[str | None] = mapped_column(String(16))  # pending / approved / rejected
    # who last completed it (a staff user; None for the system or a participant): four-eyes
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)   # stage-type state (checklist ticks…)
    task: Mapped[Task] = relationship(back_populates="stage_runs")


class Event(db.Model):
    """Append-only activity and audit log. Rows are never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_task", "task_id", "id"),
        Index("ix_events_process_created", "process_id", "created_at"),
        Index("ix_events_type_created", "type", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(48))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    stage_run_id: Mapped[int | None] = mapped_column(ForeignKey("stage_runs.id", ondelete="CASCADE"), index=True)
    process_id: Mapped[int | None] = mapped_column(ForeignKey("processes.id"))
    actor: Mapped[str] = mapped_column(String(64), default="system")  # "user:3", "token:2", "participant:5", "system"
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(Event, "before_update")
@event.listens_for(Event, "before_delete")
def _refuse_event_change(mapper, connection, target):
    raise AppendOnlyError("Events are append-only")


class Thread(db.Model):
    __tablename__ = "threads"
    id: Mapped[int] = mapped_column(primary_key=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    comments: Mapped[list[Comment]] = relationship(order_by="Comment.id", cascade="all, delete-orphan")


class Comment(db.Model):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_label: Mapped[str] = mapped_column(String(254))  # display name, kept for participants
    body: Mapped[str] = mapped_column(Text)
    external: Mapped[bool] = mapped_column(default=False)  # visible to participants
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class StageTimer(db.Model):
    """An SLA timer (due, reminder, escalation) of a Stage Run. The database is the source of
    truth; RQ's scheduler holds a job per timer, and the sweep re-creates any Redis lost."""

    __tablename__ = "stage_timers"
    __table_args__ = (
        Index("ix_stage_timers_unfired", "due_at",
              postgresql_where=text("fired_at IS NULL"), sqlite_where=text("fired_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))      # due / reminder / escalation
    scope: Mapped[str] = mapped_column(String(16))     # stage / approval
    label: Mapped[str] = mapped_column(String(16))     # the duration it was set from, e.g. "24h"
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
