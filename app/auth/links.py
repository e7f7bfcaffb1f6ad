"""Set-password links: an invitation (a new user chooses their first password) or a reset (an admin
sends one, or the user asks on the sign-in page). A `secrets.token_urlsafe` secret, stored as
SHA-256, single-use, expiring (invitations after INVITE_LINK_DAYS, resets after RESET_LINK_MINUTES);
a newer link for the same user ends the older ones. The email leaves through the outbox."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app import clock, notifications
from app.auth.passwords import set_password
from app.errors import Invalid
from app.extensions import db
from app.models import Event, PasswordLink, User

INVITE = "invite"
RESET = "reset"
LIFETIME = {INVITE: timedelta(days=7), RESET: timedelta(minutes=60)}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def lifetime(purpose: str) -> timedelta:
    key = {INVITE: "INVITE_LINK_DAYS", RESET: "RESET_LINK_MINUTES"}[purpose]
    value = current_app.config.get(key)
    if value is None:
        return LIFETIME[purpose]
    return timedelta(days=float(value)) if purpose == INVITE else timedelta(minutes=float(value))


def url_of(secret: str) -> str:
    return f"{current_app.config.get('PROCLY_BASE_URL', '').rstrip('/')}/password/set/{secret}"


def issue(user: User, purpose: str, actor: str) -> str:
    """A new link for `user` (older unused ones end now); emailed through the outbox. Returns the secret."""
    now = clock.now()
    end_all(user)
    secret = secrets.token_urlsafe(32)
    db.session.add(PasswordLink(user_id=user.id, token_hash=_digest(secret), purpose=purpose, created_by=actor,
                                created_at=now, expires_at=now + lifetime(purpose)))
    hours = lifetime(purpose).total_seconds() / 3600
    valid = f"{round(hours / 24)} days" if hours >= 48 else f"{round(hours * 60)} minutes" if hours < 2 \
        else f"{round(hours)} hours"
    if purpose == INVITE:
        subject = "You are invited to Procly"
        body = (f"Hello {user.name},\n\nYou have been invited to Procly. Choose your password here:\n\n"
                f"{url_of(secret)}\n\nThe link works once and for {valid}. Then sign in with {user.email}.\n")
    else:
        subject = "Set a new Procly password"
        body = (f"Hello {user.name},\n\nA new password was asked for your Procly account. Choose it here:\n\n"
                f"{url_of(secret)}\n\nThe link works once and for {valid}. If you did not ask for it, "
                "ignore this email: your password stays as it is.\n")
    notifications.queue_email(user.email, subject, body, kind="account")
    db.session.add(Event(type=f"user.{purpose}_sent", actor=actor, data={"user": user.id}))
    return secret


def find(secret: str) -> PasswordLink | None:
    """The link of `secret` while it is usable (unused, unexpired, its user active); else None."""
    if not secret or len(secret) > 128:
        return None
    link = db.session.scalar(select(PasswordLink).where(PasswordLink.token_hash == _digest(secret)))
    if link is None or link.used_at is not None or link.expires_at <= clock.now() or not link.user.active:
        return None
    return link


def consume(secret: str, password: str, confirm: str) -> User:
    """Set the password through the link (policy enforced) and use the link up; every session of the
    user ends. Raises Invalid (the link is gone, or the password is refused)."""
    link = find(secret)
    if link is None:
        raise Invalid("This link has expired or was already used: ask for a new one.", {"link": ["expired or used"]},
                      status=410, code="link_gone")
    if password != confirm:
        raise Invalid("The two passwords differ.", {"confirm": ["differs from the password"]})
    set_password(link.user, password)        # policy; ends every session
    link.used_at = clock.now()
    db.session.add(Event(type="user.password_set", actor=f"user:{link.user_id}",
                         data={"user": link.user_id, "through": link.purpose}))
    return link.user


RESET_EVERY = timedelta(minutes=5)


def end_all(user: User) -> None:
    """No link of `user` works any more (deactivation)."""
    now = clock.now()
    db.session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None),
                                                  PasswordLink.expires_at > now)
                       .values(expires_at=now).execution_options(synchronize_session=False))


def recently_sent(user: User) -> bool:
    """A reset was sent in the last RESET_EVERY: "forgot password" does not flood an inbox."""
    since = clock.now() - RESET_EVERY
    return db.session.scalar(select(PasswordLink.id).where(PasswordLink.user_id == user.id,
                                                           PasswordLink.created_at > since).limit(1)) is not None
