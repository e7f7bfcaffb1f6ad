"""Writing notifications: an in-app record per user (announced over Socket.IO after commit) and
emails into the outbox (a worker sends them after commit). In the caller's transaction."""
from __future__ import annotations

from app import clock
from app.extensions import db
from app.infra.queue import publish_after_commit
from app.models import User
from app.models.notifications import Notification, Outbox
from app.notifications import outbox


# what each kind of notification is called on the page and in an email's subject (never its key)
KIND_LABELS = {"sla.reminder": "Reminder", "sla.breached": "Overdue", "sla.escalated": "Escalation",
               "stage.escalated": "Escalation", "stage.failed": "A step failed", "task.completed": "Completed",
               "task.moved": "Moved", "approval.rejected": "Approval rejected", "stage.timed_out": "Out of time",
               "assigned": "Assigned to you", "mention": "Mention"}


def kind_label(type_: str) -> str:
    return KIND_LABELS.get(type_) or type_.replace(".", " ").replace("_", " ").capitalize()


def notify(user: User, type_: str, message: str, *, task_id: int | None = None, run_id: int | None = None,
           severity: str = "info") -> Notification:
    n = Notification(user_id=user.id, type=type_, message=message[:1000], task_id=task_id, stage_run_id=run_id,
                     severity=severity, created_at=clock.now())
    db.session.add(n)
    db.session.flush()
    publish_after_commit("notification", {"id": n.id, "type": type_, "task": task_id}, room=f"user:{user.id}")
    return n


HEADERS = ("Message-ID", "In-Reply-To", "References", "Reply-To")


def queue_email(to: str, subject: str, body: str, kind: str = "mail", *, html: str | None = None,
                headers: dict | None = None) -> Outbox:
    """Write an email to the outbox; it is sent after the transaction commits (never lost on failure).
    `html`: an HTML alternative of `body`; `headers`: threading headers (HEADERS only, one line each)."""
    for name, value in (headers or {}).items():
        if name not in HEADERS or any(c in str(value) for c in "\r\n\0"):
            raise ValueError(f"refusing header {name!r}: only {', '.join(HEADERS)}, on one line")
    if any(c in to for c in "\r\n\0"):
        raise ValueError("an email address must be on one line")
    subject = " ".join(subject.split())  # one line: no header injection through the subject
    row = Outbox(to=to, subject=subject[:255], body=body, kind=kind, status="pending", attempts=0,
                 html=html, headers=dict(headers) if headers else None,
                 next_attempt_at=clock.now(), created_at=clock.now())
    db.session.add(row)
    outbox.deliver_after_commit()
    return row
