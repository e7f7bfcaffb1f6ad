"""Handing the outbox (emails, alert webhooks) to a worker once the transaction that wrote it commits."""
from __future__ import annotations

from app.infra.queue import SYSTEM_QUEUE, enqueue_once_after_commit


def deliver_after_commit() -> None:
    """Queue the delivery job after commit (once per transaction), like every other job. A request
    never sends mail or calls a webhook itself; if the enqueue is lost (Redis down) or no worker runs
    yet, the periodic `outbox` job (app.runtime.periodic) sends what is due."""
    enqueue_once_after_commit("app.notifications.mail.deliver_job", queue_name=SYSTEM_QUEUE)
