"""Sending the outbox over SMTP (and alert webhooks, rows of kind "webhook", over HTTP), in a worker
only (writing a row queues the delivery job after commit: app.notifications.outbox). A failed send
stays pending with exponential backoff (30s, 1m, 2m, … capped at 1h) until MAX_ATTEMPTS. With no
SMTP server configured (development), mail is kept for the development mailbox page instead."""
from __future__ import annotations

import logging
import smtplib
import ssl
import time
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from rq import Worker
from sqlalchemy import or_, select

from app import clock
from app.extensions import db
from app.models.notifications import Outbox
from app.infra.queue import SYSTEM_QUEUE, at_utc, queue, redis_conn
from app.notifications import outbound_webhook

log = logging.getLogger(__name__)
DEV_MAILBOX = "dev_mailbox"   # the status of mail kept for the development mailbox (no SMTP server configured)
MAX_ATTEMPTS = 8
BASE_DELAY = 30


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BASE_DELAY * 2 ** max(attempts - 1, 0), 3600))


def dev_mailbox_on(cfg=None) -> bool:
    """No SMTP server is configured: mail goes to the development mailbox page (/dev/mail, admins)
    instead of failing attempt after attempt in the worker log."""
    return not (cfg if cfg is not None else current_app.config).get("SMTP_HOST")


def _send(row: Outbox) -> None:
    if row.kind == outbound_webhook.KIND:
        outbound_webhook.send(row)
        return
    cfg = current_app.config
    if not cfg.get("SMTP_HOST"):
        raise RuntimeError("SMTP_HOST is not configured")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], row.to, row.subject
    headers = dict(row.headers or {})
    msg["Message-ID"] = headers.pop("Message-ID", None) or f"<outbox-{row.id}@procly>"
    for name, value in headers.items():     # threading and Reply-To (checked when queued)
        msg[name] = value
    msg.set_content(row.body)
    if row.html:
        msg.add_alternative(row.html, subtype="html")
    if row.calendar:   # an invitation: text/calendar with its METHOD, as calendar programs expect
        method = next((line.split(":", 1)[1].strip() for line in row.calendar.splitlines()
                       if line.startswith("METHOD:")), "REQUEST")
        msg.add_attachment(row.calendar, subtype="calendar", filename="invite.ics", params={"method": method})
    with connect(cfg) as smtp:
        smtp.send_message(msg)


def connect(cfg) -> smtplib.SMTP:
    """An SMTP connection as configured: SMTP_TLS none | starttls | ssl (certificates checked against
    the system's CAs or SMTP_CA_FILE), then SMTP_USERNAME / SMTP_PASSWORD authentication if set."""
    mode = (cfg.get("SMTP_TLS") or "none").lower()
    if mode not in ("none", "starttls", "ssl"):
        raise RuntimeError(f"SMTP_TLS must be none, starttls or ssl, not {mode!r}")
    host, port = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"])
    context = ssl.create_default_context(cafile=cfg.get("SMTP_CA_FILE") or None)
    smtp = smtplib.SMTP_SSL(host, port, timeout=10, context=context) if mode == "ssl" else \
        smtplib.SMTP(host, port, timeout=10)
    try:
        if mode == "starttls":
            smtp.starttls(context=context)
        if cfg.get("SMTP_USERNAME"):
            smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def deliver_due(limit: int = 100, budget: float = 60.0) -> dict:
    """Send pending outbox rows whose time has come; commit after each; stop after `budget`
    seconds (the rest waits for the next run, well within the periodic lease). Returns counts."""
    stop_at = time.monotonic() + budget
    now = clock.now()
    rows = db.session.scalars(select(Outbox).where(Outbox.status == "pending", or_(
        Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now)).order_by(Outbox.id).limit(limit)).all()
    sent = failed = 0
    for row in rows:
        if time.monotonic() > stop_at:
            break
        row.attempts += 1
        if row.kind != outbound_webhook.KIND and dev_mailbox_on():
            sent += 1   # delivered, to the development mailbox
            row.status, row.sent_at, row.last_error = DEV_MAILBOX, clock.now(), None
            log.info("outbox %s: no SMTP server configured; kept in the development mailbox (/dev/mail)", row.id)
            db.session.commit()
            continue
        try:
            _send(row)
        except Exception as exc:  # noqa: BLE001 - any SMTP/network error is retried later
            failed += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = clock.now() + backoff(row.attempts)
            log.warning("outbox %s: send failed (attempt %s): %s", row.id, row.attempts, exc)
        else:
            sent += 1
            row.status, row.sent_at, row.last_error = "sent", clock.now(), None
        db.session.commit()
    _schedule_retry()
    return {"sent": sent, "failed": failed}


def deliver_job() -> dict:
    """RQ entry point."""
    return deliver_due()


def _schedule_retry() -> None:
    nxt = db.session.scalar(select(Outbox.next_attempt_at).where(Outbox.status == "pending")
                            .order_by(Outbox.next_attempt_at).limit(1))
    if nxt is None or not _have_worker():
        return
    try:
        queue(SYSTEM_QUEUE).enqueue_at(at_utc(max(nxt, clock.now())), "app.notifications.mail.deliver_job",
                           job_id=f"outbox-retry-{int(nxt.timestamp())}", result_ttl=0)
    except Exception:  # noqa: BLE001 - the row stays pending; the next flush picks it up
        log.exception("could not schedule an outbox retry")


def _have_worker() -> bool:
    try:
        return Worker.count(connection=redis_conn()) > 0
    except Exception:  # noqa: BLE001
        return False
