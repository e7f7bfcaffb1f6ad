"""Participants (people outside the organisation) and the magic links that let them into one Task."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db


class Participant(db.Model):
    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class MagicLink(db.Model):
    """One secret link for one Participant into one Task. Only the secret's SHA-256 is stored."""

    __tablename__ = "magic_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    used_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]
    participant: Mapped[Participant] = relationship()
    task = relationship("Task")

    @staticmethod
    def refusal(link: MagicLink | None) -> str | None:
        """Why a link may not be used now (None = usable): unknown, revoked, expired or closed."""
        if link is None:
            return "unknown"
        if link.revoked_at is not None:
            return "revoked"
        if link.expires_at <= clock.now():
            return "expired"
        if link.task is None or link.task.status == "cancelled":
            return "closed"
        return None
