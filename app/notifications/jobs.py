"""Outbox recovery without a request: `deliver_due()` sends every due email / webhook delivery. It is
one of the worker's periodic jobs (app.runtime.periodic, every OUTBOX_INTERVAL seconds) and the
`flask procly outbox` command."""
from __future__ import annotations

import logging
from app.extensions import db
from app.notifications import mail

log = logging.getLogger(__name__)


def deliver_due(limit: int = 100) -> dict:
    """Send due pending outbox rows (mail and webhooks), committing after each. Never raises:
    a failure stays pending with backoff. Returns {"sent": n, "failed": n}."""

    try:
        return mail.deliver_due(limit=limit)
    except Exception:  # noqa: BLE001 - the periodic run that called us must go on
        db.session.rollback()
        log.exception("outbox delivery failed")
        return {"sent": 0, "failed": 0}
