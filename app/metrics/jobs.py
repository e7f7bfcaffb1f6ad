"""RQ job keeping the metric rollups current (app.metrics.rollup). Enqueue
`app.metrics.jobs.rollup` periodically (it re-schedules itself every ROLLUP_EVERY seconds when
`reschedule` is true) or run `flask procly rollup`."""
from __future__ import annotations

from datetime import datetime, timedelta

from app import clock

ROLLUP_JOB = "procly-metrics-rollup"
ROLLUP_EVERY = 60  # seconds: how stale the rolled-up part may get (the live part covers the rest)


def rollup(day: str | None = None, days: int | None = None, reschedule: bool = False) -> dict:
    """Incremental refresh (default), or a rebuild from `day` (ISO date) / the last `days` days."""
    from app.metrics import rollup as r

    if day or days:
        since = datetime.fromisoformat(day) if day else clock.now() - timedelta(days=days)
        result = r.rebuild(since=since)
    else:
        result = r.refresh()
    if reschedule:
        from app.runtime.queue import queue

        queue().enqueue_in(timedelta(seconds=ROLLUP_EVERY), rollup, reschedule=True, job_id=ROLLUP_JOB)
    return result
