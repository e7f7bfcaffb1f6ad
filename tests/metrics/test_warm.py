"""Pre-warming a web process (app.metrics.warm, called by gunicorn's post_worker_init)."""
from __future__ import annotations

import pytest

from app import clock
from app.metrics import rollup, rollup_read, warm
from app.metrics import queries as q
from app.metrics import report
from tests.metrics.conftest import at


@pytest.fixture
def on_day_three():
    clock.set_clock(lambda: at(24 * 3 + 1))     # "last 7 days" then covers the lane's data
    yield
    clock.set_clock(None)


def test_prewarm_computes_the_default_views_into_the_process_cache(lane, app, on_day_three):
    rollup.rebuild(since=at(-24 * 7), now=at(24 * 3))
    rollup_read.clear_cache()
    done = warm.prewarm(app)
    labels = done["views"]
    assert {f"process {p}" for p in lane.p.values()} <= set(labels)
    assert "all processes" in labels and "split ab" in labels
    # the Process under the A/B test comes first (what the dashboard opens with)
    assert labels[0] == f"process {lane.p['a']}"
    assert rollup_read._STABLE.data and rollup_read._RECENT.data
    # read-only: the figures afterwards are the same as without the warm-up
    f = q.Filters.default(process_id=lane.p["a"])
    warmed = report.dashboard(f)
    rollup_read.clear_cache()
    assert report.dashboard(f) == warmed and warmed["summary"]["visits"]["started"] == 6


def test_prewarm_never_raises(app, monkeypatch):
    def broken(now):
        raise RuntimeError("database away")

    monkeypatch.setattr(warm, "views", broken)
    assert warm.prewarm(app)["views"] == []
