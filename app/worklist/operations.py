"""What the staff work surfaces change that no other operation covers: reassigning a run (with the
assignee's notification) and reading notifications. Operations flush; the request commits."""
from __future__ import annotations

from sqlalchemy import func, select

from app import clock, notifications, permissions
from app.errors import Invalid
from app.extensions import db
from app.models import StageRun, User
from app.models.notifications import Notification
from app.tasks import operations as service


def reassign(run: StageRun, email: str, user: User, actor: str) -> User:
    """Assign a run to the active user with this email, who must be able to work its Stage."""
    email = (email or "").strip().lower()
    assignee = db.session.scalar(select(User).where(func.lower(User.email) == email, User.active.is_(True)))
    stage = permissions.stage_for(run)
    if assignee is None or not permissions.may_work(assignee, stage, permissions.team_of(run)):
        raise Invalid(f"{email or 'Nobody'} cannot work this Stage.", {"assignee": ["may not work this Stage"]})
    service.claim(run.id, user, actor, assignee=assignee)
    notifications.notify(assignee, "assigned", f"{user.name} assigned you {stage['name']} of Task {run.task_id}",
                         task_id=run.task_id, run_id=run.id)
    return assignee


def mark_read(user: User, ident: str | None = None) -> int:
    """Mark the user's unread notifications (or the one with id `ident`) read; returns how many."""
    q = select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ident and ident.isdigit():
        q = q.where(Notification.id == int(ident))
    rows = list(db.session.scalars(q))
    for n in rows:
        n.read_at = clock.now()
    return len(rows)
