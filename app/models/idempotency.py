"""Idempotency keys: the first response to a create, replayed when a client retries it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint, delete
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db
from app.models.types import JSONType


class IdempotencyKey(db.Model):
    """One `Idempotency-Key` of one caller (`scope`: "user:<id>" or "webhook:<id>"), written in the
    same transaction as what the request created, so both exist or neither does."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("scope", "key", name="uq_idempotency_keys_scope_key"),
        Index("ix_idempotency_keys_expires", "expires_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))   # SHA-256 of method, path, query and body
    status: Mapped[int]
    response: Mapped[dict | list] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]


def purge_expired(now=None) -> int:
    """Delete expired keys (the periodic `purge` job); returns how many. Flushes only: the job commits."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or clock.now())))
    return result.rowcount or 0
