"""Reading for notifications: who role references name, unread counts, @mentions."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Team, User
from app.models.notifications import Notification
from app.vocab import refs as role_refs


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
