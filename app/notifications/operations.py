"""Writing notifications: an in-app record per user (announced over Socket.IO after commit) and
emails into the outbox (a worker sends them after commit). In the caller's transaction."""
from __future__ import annotations

from app import clock
from app.extensions import db
from app.infra.queue import publish_after_commit
from app.models import User
from app.models.notifications import Notification, Outbox
from app.notifications import outbox


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
