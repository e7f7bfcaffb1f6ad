"""Inbound webhooks: a signed HTTP call that starts a Task on a Process or through a Split, or — a
webhook with a `signal` — sends that signal to the Task its body names by key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db


class Webhook(db.Model):
    """`secret` is kept in plain text on purpose: verifying an HMAC-SHA256 signature needs the
    shared secret itself (a hash of it would not do). Protect the database accordingly; the API
    shows the secret only once, at creation, and never lists it."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    process_key: Mapped[str | None] = mapped_column(String(64))
    split_key: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(String(128))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    signal: Mapped[str | None] = mapped_column(String(64))   # set: the call signals a Task instead of starting one
