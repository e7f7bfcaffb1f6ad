"""Bookings of a Calendar Schedule Stage: one appointment of one Task with one host.

Double booking is impossible by construction: a live booking holds one *seat* of its slot, and
(host, start, seat) is unique, with seats numbered 0 .. capacity-1. Two transactions racing for the
last seat both insert the same (host, start, seat): the database lets one through and refuses the
other. A cancelled booking gives its seat back (seat NULL: NULLs never collide in a unique index,
on SQLite and PostgreSQL alike)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("host", "starts_at", "seat", name="uq_bookings_host_start_seat"),
        Index("ix_bookings_host_window", "host", "starts_at", "ends_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(80), unique=True)       # the iCalendar UID, stable for life
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    stage_run_id: Mapped[int] = mapped_column(ForeignKey("stage_runs.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(300))                  # "user:a@b.c", "team:Intake"
    starts_at: Mapped[datetime]                                     # naive UTC, like every timestamp
    ends_at: Mapped[datetime]
    seat: Mapped[int | None]                                        # None once cancelled
    status: Mapped[str] = mapped_column(String(16), default="booked")   # booked / cancelled
    sequence: Mapped[int] = mapped_column(default=0)                # iCalendar SEQUENCE: +1 per change
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")   # the booker's zone, for their email
    attendee_email: Mapped[str | None] = mapped_column(String(254))
    booked_by: Mapped[str] = mapped_column(String(80))              # the actor: user:<id> / participant:<id>
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    cancelled_at: Mapped[datetime | None]
