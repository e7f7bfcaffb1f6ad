"""Processes, their immutable Versions and editable Draft, and Splits between variants."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.models.types import JSONType


class Process(db.Model):
    __tablename__ = "processes"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(2000), default="")
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    # number of the newest Version (the one new Tasks start on); None until first publish
    current_version: Mapped[int | None]
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # data lifecycle (app.processes.retention): finished Tasks are archived or purged this many days
    # after they finished; None = kept for ever
    retention_days: Mapped[int | None]
    retention_action: Mapped[str | None] = mapped_column(String(8))    # archive | purge
    # the public intake form (its start form, no sign-in) is served; switched by admins
    intake_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    table = relationship("Table")
    team = relationship("Team")
    draft: Mapped[Draft | None] = relationship(back_populates="process", cascade="all, delete-orphan")


class Version(db.Model):
    """A published, immutable definition. Rows are never updated or deleted (see listeners below)."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("process_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=clock.now)
    note: Mapped[str] = mapped_column(String(2000), default="")
    process = relationship("Process")
    author = relationship("User")


class ImmutableVersionError(RuntimeError):
    pass


@event.listens_for(Version, "before_update")
def _refuse_update(mapper, connection, target):
    raise ImmutableVersionError(f"Version {target.number} of process {target.process_id} is immutable")


@event.listens_for(Version, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise ImmutableVersionError(f"Version {target.number} of process {target.process_id} is immutable")


class Draft(db.Model):
    """The one editable definition of a Process. `revision` guards against stale saves."""

    __tablename__ = "drafts"
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True)
    definition: Mapped[dict] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    process: Mapped[Process] = relationship(back_populates="draft")
    updated_by = relationship("User")


class Split(db.Model):
    """Weighted, sticky assignment of new Tasks among variant Processes or Versions."""

    __tablename__ = "splits"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    table = relationship("Table")
    team = relationship("Team")
    variants: Mapped[list[SplitVariant]] = relationship(
        back_populates="split", order_by="SplitVariant.position", cascade="all, delete-orphan"
    )


class SplitVariant(db.Model):
    __tablename__ = "split_variants"
    __table_args__ = (UniqueConstraint("split_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    split_id: Mapped[int] = mapped_column(ForeignKey("splits.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    # pin a Version number; None follows the Process's current Version
    version: Mapped[int | None]
    weight: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    split: Mapped[Split] = relationship(back_populates="variants")
    process = relationship("Process")


class SplitAssignment(db.Model):
    """The variant a Task key was given by a Split: the record that makes assignment sticky."""

    __tablename__ = "split_assignments"
    __table_args__ = (UniqueConstraint("split_id", "task_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    split_id: Mapped[int] = mapped_column(ForeignKey("splits.id", ondelete="CASCADE"))
    task_key: Mapped[str] = mapped_column(String(128))
    variant_id: Mapped[int] = mapped_column(ForeignKey("split_variants.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=clock.now)
