"""Alert webhooks through the outbox: `queue_webhook` writes an Outbox row (kind "webhook", `to` = the
URL, `body` = the JSON payload: ids, type, severity, message; never Field values) in the caller's
transaction; `app.notifications.mail.deliver_due` sends due rows with the same attempts/backoff as
email. Every call is logged as an Event "alert.webhook" (url, status code, duration, error)."""
from __future__ import annotations

import json
import time

from app import clock
from app.extensions import db
from app.models import Event
from app.models.notifications import Outbox
from app.infra import egress
from app.notifications.outbox import deliver_after_commit

TIMEOUT = 10
KIND = "webhook"
MAX_URL = 254  # an outbox row's `to`


def url_problem(url: str) -> str | None:
    """Why `url` may not receive webhooks (None = fine): what fits an outbox row's `to`, then the egress
    rules (absolute http(s), a host that is not a literal private/loopback address or a local name;
    names are checked again when resolved, at delivery: app.infra.egress)."""
    if len((url or "").strip()) > MAX_URL:
        return f"at most {MAX_URL} characters"
    return egress.url_problem(url)


def queue_webhook(url: str, payload: dict) -> Outbox:
    problem = url_problem(url)
    if problem:
        raise ValueError(f"refusing webhook URL {url!r}: {problem}")
    row = Outbox(to=url, subject=str(payload.get("type", "alert"))[:255], body=json.dumps(payload, default=str),
                 kind=KIND, status="pending", attempts=0, next_attempt_at=clock.now(), created_at=clock.now())
    db.session.add(row)
    deliver_after_commit()   # a worker sends it after commit, exactly like email
    return row


def post(url: str, payload: dict) -> int:
    """POST JSON; returns the HTTP status (raises on network errors and refused destinations)."""
    problem = url_problem(url)
    if problem:
        raise egress.BlockedDestination(f"refusing webhook URL: {problem}")
    return egress.post(url, json.dumps(payload, default=str).encode(),
                       {"Content-Type": "application/json", "User-Agent": "Procly-Alerts/1"}, TIMEOUT)


def send(row: Outbox) -> None:
    """Deliver one outbox row of kind webhook; logs an Event either way, raises on failure."""
    try:
        payload = json.loads(row.body or "{}")
    except ValueError:
        payload = {}
    started = time.monotonic()
    status, error = None, None
    try:
        status = post(row.to, payload)
    except Exception as exc:  # noqa: BLE001 - logged, then retried by the outbox
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    if error is None and not (200 <= (status or 0) < 300):
        error = f"HTTP {status}"
    task_id = payload.get("task") if isinstance(payload.get("task"), int) else None
    process_id = payload.get("process") if isinstance(payload.get("process"), int) else None
    db.session.add(Event(type="alert.webhook", task_id=task_id, process_id=process_id, actor="system",
                         created_at=clock.now(),
                         data={"url": row.to, "status": status, "duration_ms": duration_ms, "outbox": row.id,
                               "attempt": row.attempts, "alert": payload.get("type"), "error": error}))
    if error is not None:
        raise RuntimeError(error)
