"""CSV imports of Tasks: one record per uploaded file, its progress, and its rejected rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.types import JSONType


class TaskImport(db.Model):
    """A CSV file of Tasks to start in one Process, imported in chunks by a job."""

    __tablename__ = "task_imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="queued")   # queued, running, done, failed
    columns: Mapped[list] = mapped_column(JSONType, default=list)       # the Field key of each column
    content: Mapped[str | None] = mapped_column(Text)                   # the file; dropped once imported
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    started_rows: Mapped[int] = mapped_column(default=0)
    failed_rows: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    process = relationship("Process")


class TaskImportError(db.Model):
    """One problem of one row of an import (the row was not started)."""

    __tablename__ = "task_import_errors"
    __table_args__ = (Index("ix_task_import_errors_import_row", "import_id", "row"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("task_imports.id", ondelete="CASCADE"))
    row: Mapped[int]                    # as a spreadsheet numbers it: the header is row 1
    field: Mapped[str] = mapped_column(String(128))    # the Field's name ("" for the row as a whole)
    message: Mapped[str] = mapped_column(String(1000))
