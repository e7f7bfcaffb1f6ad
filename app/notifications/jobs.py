"""Outbox recovery without a request: `deliver_due()` sends every due email / webhook delivery (the
`flask procly outbox` command and the runtime's periodic sweep call it); `sweep()` is a
self-rescheduling RQ job doing the same every OUTBOX_EVERY seconds, for deployments that prefer
their own schedule."""
from __future__ import annotations

import logging
from datetime import timedelta

log = logging.getLogger(__name__)
OUTBOX_JOB = "procly-outbox"
OUTBOX_EVERY = 60  # seconds


def deliver_due(limit: int = 100) -> dict:
    """Send due pending outbox rows (mail and webhooks), committing after each. Never raises:
    a failure stays pending with backoff. Returns {"sent": n, "failed": n}."""
    from app.extensions import db
    from app.notifications import mail

    try:
        return mail.deliver_due(limit=limit)
    except Exception:  # noqa: BLE001 - the sweep that called us must go on
        db.session.rollback()
        log.exception("outbox delivery failed")
        return {"sent": 0, "failed": 0}


def sweep(reschedule: bool = True) -> dict:
    """RQ job: deliver due rows, then run again in OUTBOX_EVERY seconds."""
    result = deliver_due()
    if reschedule:
        from app.runtime.queue import queue

        queue().enqueue_in(timedelta(seconds=OUTBOX_EVERY), "app.notifications.jobs.sweep", job_id=OUTBOX_JOB,
                           result_ttl=0)
    return result
