"""Keeping the metric rollups current (app.metrics.rollup): `rollup()` is one of the worker's
periodic jobs (app.runtime.periodic, every ROLLUP_INTERVAL seconds: how stale the rolled-up part
may get, the live part covers the rest); `flask procly rollup` does the same by hand."""
from __future__ import annotations

from datetime import datetime, timedelta

from app import clock
from app.metrics import rollup as r


def rollup(day: str | None = None, days: int | None = None) -> dict:
    """Incremental refresh (default), or a rebuild from `day` (ISO date) / the last `days` days."""

    if day or days:
        since = datetime.fromisoformat(day) if day else clock.now() - timedelta(days=days)
        return r.rebuild(since=since)
    return r.refresh()
