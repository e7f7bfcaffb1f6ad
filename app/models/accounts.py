"""Users, Teams, roles and API tokens."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table as SATable
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db


class Role(StrEnum):
    admin = "admin"
    designer = "designer"
    staff = "staff"
    manager = "manager"


team_members = SATable(
    "team_members",
    db.Model.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(db.Model):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    members: Mapped[list[User]] = relationship(secondary=team_members, back_populates="teams")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=Role.staff)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def team_ids(self) -> set[int]:
        return {t.id for t in self.teams}


class ApiToken(db.Model):
    """A bearer token for integrations. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()
