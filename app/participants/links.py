"""Magic links: `secrets.token_urlsafe` secrets, stored as SHA-256, bound to one Participant and one
Task, expiring (default 7 days) and revocable. Every use and refusal is logged as an Event."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app import clock, notifications
from app.errors import Invalid
from app.extensions import db
from app.models import Event, Task
from app.models.portal import MagicLink, Participant
from app.runtime.participants import resume_from_participant as shell_resume
from app.runtime.participants import wait_on_participant as shell_wait
from app.tables.values import EMAIL
from app.vocab.statuses import TaskStatus
from app import permissions

DEFAULT_DAYS = 7


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invite(task: Task, email: str, *, name: str = "", by=None, actor: str = "system",
           days: int = DEFAULT_DAYS) -> tuple[MagicLink, str]:
    """Invite a participant (by email) to a Task: a new link, and an invitation in the outbox.
    `by` must see the Task ("task.invite"); None is the system."""

    permissions.check(by, "task.invite", task)
    email = (email or "").strip()
    if not EMAIL.match(email):
        raise Invalid("Give the participant's email address, like name@example.com.",
                      {"email": ["must be an email address like name@example.com"]})
    if task.status != TaskStatus.running:
        raise Invalid(f"Task {task.id} is {task.status}; nobody can be invited to it.", {"task": [task.status]})
    participant = db.session.scalar(select(Participant).where(func.lower(Participant.email) == email.lower()))
    if participant is None:
        participant = Participant(email=email, name=name.strip()[:120], created_by_id=by.id if by else None,
                                  created_at=clock.now())
        db.session.add(participant)
        db.session.flush()
    secret = secrets.token_urlsafe(32)
    link = MagicLink(token_hash=digest(secret), participant_id=participant.id, task_id=task.id,
                     created_by_id=by.id if by else None, created_at=clock.now(),
                     expires_at=clock.now() + timedelta(days=days), used_count=0)
    db.session.add(link)
    db.session.flush()
    url = f"{current_app.config.get('PROCLY_BASE_URL', '').rstrip('/')}/portal/t/{secret}"
    notifications.queue_email(email, "You are invited to continue your request",
                              f"Hello {participant.name or ''},\n\nPlease open this personal link to see the status "
                              f"of your request and complete what is asked of you:\n\n{url}\n\n"
                              f"The link expires in {days} days. Do not forward it.\n", kind="invitation")
    db.session.add(Event(type="portal.invited", task_id=task.id, process_id=task.process_id, actor=actor,
                         data={"participant": participant.id, "link": link.id, "expires_at": link.expires_at.isoformat()},
                         created_at=clock.now()))
    wait_on_participant(task, actor, participant_id=participant.id)
    return link, secret


# --- waiting on the participant (the engine's own operations, app.runtime.shell) ------------------

def wait_on_participant(task: Task, actor: str, *, participant_id: int | None = None) -> list:
    """Staff invited a participant: the open action Stage Runs now wait on the participant."""
    return shell_wait(task.id, actor, participant_id=participant_id)


def resume_from_participant(run_id: int, actor: str):
    """Back to work for a run that waited on the participant (their submission, or staff instead)."""
    return shell_resume(run_id, actor)


def check(link: MagicLink | None) -> str | None:
    """Why a link may not be used now (None = usable)."""
    return MagicLink.refusal(link)


def use(secret: str, ip: str | None) -> MagicLink | None:
    """Resolve a secret from a URL; logs the use or the refusal. Returns the link or None."""
    link = db.session.scalar(select(MagicLink).where(MagicLink.token_hash == digest(secret or "")))
    reason = check(link)
    if reason is not None:
        db.session.add(Event(type="portal.link_refused", task_id=link.task_id if link else None,
                             actor=f"participant:{link.participant_id}" if link else "anonymous",
                             data={"reason": reason, "ip": ip}, created_at=clock.now()))
        return None
    link.used_count += 1
    link.last_used_at = clock.now()
    db.session.add(Event(type="portal.link_used", task_id=link.task_id, process_id=link.task.process_id,
                         actor=f"participant:{link.participant_id}", data={"link": link.id, "ip": ip},
                         created_at=clock.now()))
    return link


def revoke(link: MagicLink, actor: str) -> None:
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        db.session.add(Event(type="portal.link_revoked", task_id=link.task_id, actor=actor,
                             data={"link": link.id}, created_at=clock.now()))
