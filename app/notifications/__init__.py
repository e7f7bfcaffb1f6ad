"""Notifications: in-app records per user, the email outbox, @mentions and alert rules.

Everything here works in the caller's transaction; a worker sends the emails after commit (`mail`)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Team, User
from app.models.notifications import Notification, Outbox
from app.notifications import outbox
from app.vocab import refs as role_refs
from app.infra.queue import publish_after_commit


def users_for(refs) -> list[User]:
    """Active users named by role refs (user:<email>, team:<name>, role:<r>)."""
    found: dict[int, User] = {}
    for text in refs or ():
        ref = role_refs.parse(text)
        kind, name = (ref.kind, ref.value) if ref else (None, None)
        if kind == "user":
            rows = db.session.scalars(select(User).where(func.lower(User.email) == name.lower()))
        elif kind == "team":
            team = db.session.scalar(select(Team).where(Team.name == name))
            rows = team.members if team else []
        elif kind == "role":
            rows = db.session.scalars(select(User).where(User.role == name))
        else:
            rows = []
        for u in rows:
            if u.active:
                found[u.id] = u
    return list(found.values())


def notify(user: User, type_: str, message: str, *, task_id: int | None = None, run_id: int | None = None,
           severity: str = "info") -> Notification:
    n = Notification(user_id=user.id, type=type_, message=message[:1000], task_id=task_id, stage_run_id=run_id,
                     severity=severity, created_at=clock.now())
    db.session.add(n)
    db.session.flush()
    publish_after_commit("notification", {"id": n.id, "type": type_, "task": task_id}, room=f"user:{user.id}")
    return n


def queue_email(to: str, subject: str, body: str, kind: str = "mail") -> Outbox:
    """Write an email to the outbox; it is sent after the transaction commits (never lost on failure)."""
    row = Outbox(to=to, subject=subject[:255], body=body, kind=kind, status="pending", attempts=0,
                 next_attempt_at=clock.now(), created_at=clock.now())
    db.session.add(row)
    outbox.deliver_after_commit()
    return row


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


MENTION = re.compile(r"(?<![\w.])@([A-Za-z][\w.+-]*)")


def mentioned_users(body: str) -> list[User]:
    """Users named by @local-part of their email, or @Name / @First.Last / @FirstLast."""
    tokens = {m.group(1).rstrip(".").lower() for m in MENTION.finditer(body or "")}
    if not tokens:
        return []
    out = []
    for user in db.session.scalars(select(User).where(User.active.is_(True))):
        local = user.email.split("@")[0].lower()
        name = user.name.lower()
        names = {local, name.replace(" ", ""), name.replace(" ", "."), name.replace(" ", "_"), name.split(" ")[0]}
        if tokens & names:
            out.append(user)
    return out


