"""Users, Teams, roles and API tokens."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table as SATable
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.extensions import db
from app.vocab.refs import Role


NO_PASSWORD = "!"   # not an argon2 hash: no password verifies against it (invited, not yet set)

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
    # bumped on sign-out and password change: session cookies carry it, so older ones stop working
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def team_ids(self) -> set[int]:
        return {t.id for t in self.teams}

    @property
    def has_password(self) -> bool:
        """False for an invited user who has not set one yet (NO_PASSWORD never verifies)."""
        return self.password_hash != NO_PASSWORD

    def get_id(self) -> str:  # Flask-Login: the session (and remember) cookie holds id and session version
        return f"{self.id}:{self.session_version}"


class PasswordLink(db.Model):
    """A single-use, expiring link to set a password: an invitation or a reset. Only the secret's
    SHA-256 is stored; a newer link for the same user ends the older ones (app.auth.links)."""

    __tablename__ = "password_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))          # invite | reset
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Scope(StrEnum):
    """What an API token may do, each including the one before: read = GET/HEAD, write = also
    state-changing calls, admin = also admin-only operations (e.g. other users' tokens)."""
    read = "read"
    write = "write"
    admin = "admin"


SCOPE_ORDER = (Scope.read, Scope.write, Scope.admin)


class ApiToken(db.Model):
    """A bearer token for integrations. Only its SHA-256 is stored; the secret is shown once.
    A token minted with another token is its child: it never has more scope or a later expiry, and
    it stops working when any ancestor is revoked or expires (checked at use, app.auth.tokens)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    scope: Mapped[str] = mapped_column(String(8), default=Scope.write, server_default=Scope.write.value)
    expires_at: Mapped[datetime | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship()
    parent: Mapped[ApiToken | None] = relationship(remote_side="ApiToken.id")

    MAX_GENERATIONS = 5  # a token created by a token created by ...: the lineage check stays a few rows

    def lineage(self) -> list[ApiToken]:
        """This token and its ancestors, nearest first."""
        chain = [self]
        while chain[-1].parent_id is not None and len(chain) <= self.MAX_GENERATIONS:
            chain.append(chain[-1].parent)
        return chain

    @property
    def why_inactive(self) -> str | None:
        """None while the token works; else why not, in plain words."""
        now = clock.now()
        for i, t in enumerate(self.lineage()):
            whose = "revoked" if i == 0 else "the token that created it was revoked"
            if t.revoked_at is not None:
                return whose
            if t.expires_at is not None and t.expires_at <= now:
                return "expired" if i == 0 else "the token that created it expired"
        return None
