"""Leases on periodic work (the sweep, outbox delivery, metric rollups): one row per job name.

Every worker's scheduler enqueues each periodic job; the first to take the lease runs it and the
others skip, so a job never runs twice at once or more often than its interval, on any number of
machines. A holder that dies keeps the lease only until `expires_at`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import JSONType


class PeriodicLease(db.Model):
    __tablename__ = "periodic_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime]                 # free once this has passed
    started_at: Mapped[datetime | None]          # of the latest run
    finished_at: Mapped[datetime | None]         # of the latest run that ended
    runs: Mapped[int] = mapped_column(default=0)  # runs that ended, ever
    result: Mapped[dict | None] = mapped_column(JSONType)   # what the latest run reported
