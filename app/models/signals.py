"""Signals kept for a Task until a Stage waiting for them becomes ready (persistent signals)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db
from app.models.types import JSONType


class TaskSignal(db.Model):
    """A named signal that reached a Task before the Stage waiting for it was ready. Its values were
    checked against that Stage's `writes` and the Fields' types on arrival; the Stage consumes the
    oldest one of its name when it becomes ready (`consumed_at`, `stage_run_id`)."""

    __tablename__ = "task_signals"
    __table_args__ = (
        Index("ix_task_signals_waiting", "task_id", "name", "id",
              postgresql_where=text("consumed_at IS NULL"), sqlite_where=text("consumed_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    consumed_at: Mapped[datetime | None]
    stage_run_id: Mapped[int | None] = mapped_column(ForeignKey("stage_runs.id", ondelete="SET NULL"))
