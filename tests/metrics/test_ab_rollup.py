"""The A/B panel read from the rollup (per Split variant and day) against the raw visits (exact=True):
counts, completion rates and their intervals identical; lead-time percentiles within the histogram's
documented bound; the Mann-Whitney test the same test over the bucketed lead times."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from app.metrics import ab, rollup, rollup_read, stats
from app.metrics import queries as q
from tests.metrics.conftest import T0, at

REL = 2 ** (1 / rollup.BUCKETS_PER_DOUBLING) - 1


def close(a, b):
    if a is None or b is None:
        return a == b
    return abs(a - b) <= max(1.0, abs(b) * REL) + 1e-6


@pytest.fixture
def split_world(world):
    """Legacy (Process A) and new (Process C) over three days: completed, moved and cancelled visits,
    lead times with ties, running visits, and a visit outside the Split."""
    w = world
    for i in range(36):
        variant, process = ("new", "c") if i % 4 == 0 else ("legacy", "a")
        entered = at(2 + (i % 3) * 24 + i % 7, i % 50)
        hours = 1 + (i * 7) % 11 + (0.5 if variant == "new" else 0)   # ties within and across variants
        outcome = "moved" if i % 5 == 0 else "cancelled" if i % 11 == 0 else "completed"
        t = w.task(process)
        w.visit(t, process, entered, entered + rollup.timedelta(hours=hours), outcome, variant=variant,
                route_key="too_small" if outcome == "moved" else None, target="b" if outcome == "moved" else None)
    for i, (variant, process) in enumerate([("legacy", "a"), ("new", "c"), ("new", "c")]):
        t = w.task(process)
        w.visit(t, process, at(60 + i), variant=variant)              # running
    t = w.task("b")
    w.visit(t, "b", at(3), at(4), "completed")                         # not in the Split
    w.commit()
    return w


def assert_same(got: dict, exp: dict) -> None:
    assert [v["key"] for v in got["variants"]] == [v["key"] for v in exp["variants"]]
    for g, e in zip(got["variants"], exp["variants"]):
        for k in ("started", "finished", "completed", "routed_away", "completion_rate", "completion_ci"):
            assert g[k] == e[k], (g["key"], k)
        gl, el = g["lead_time"], e["lead_time"]
        assert gl["n"] == el["n"] and gl["avg"] == pytest.approx(el["avg"], abs=1e-3)
        for p in ("p50", "p90", "p95"):
            assert close(gl[p], el[p]), (g["key"], p, gl, el)
    for gc, ec in zip(got["comparisons"], exp["comparisons"], strict=True):
        assert gc["rate_diff"] == ec["rate_diff"] and gc["more_tasks_needed"] == ec["more_tasks_needed"]
        assert gc["verdict"].split(";")[0] == ec["verdict"].split(";")[0]
        assert (gc["lead_time_test"] is None) == (ec["lead_time_test"] is None)
        if ec["lead_time_test"]:     # same test; the ranks of the bucketed values, so close
            assert gc["lead_time_test"]["p_value"] == pytest.approx(ec["lead_time_test"]["p_value"], abs=0.05)


def bucketed_reference(world, f) -> dict:
    """Mann-Whitney over the raw lead times mapped to their rollup bucket (ties = same bucket)."""
    from app.models import TaskVisit

    def leads(variant):
        rows = world.db.session.query(TaskVisit).filter(
            TaskVisit.variant_id == world.variant[variant], TaskVisit.outcome == "completed",
            TaskVisit.entered_at >= f.start, TaskVisit.entered_at < f.end).all()
        return [0 if (s := (v.left_at - v.entered_at).total_seconds()) < 1 else 1 + math.floor(math.log(s) * rollup.K)
                for v in rows]

    return stats.mann_whitney_samples(leads("legacy"), leads("new"))


@pytest.mark.parametrize("start,end", [
    (T0, at(24 * 7)),                       # whole days up to now: day rows and live rows
    (at(1, 30), at(24 * 7)),                # a raw edge at the start
    (T0 + rollup.timedelta(days=1), at(50, 20)),   # ends before the watermark: hour rows and a raw tail
])
def test_rollup_backed_ab_figures_match_the_raw_visits(split_world, start, end):
    w = split_world
    rollup.rebuild(now=at(24 * 7))
    f = q.Filters(start=start, end=end, now=at(24 * 7))
    assert rollup_read.figures(f, "variant", list(w.variant.values())) is not None   # the rollup is read
    got, exp = ab.compare("ab", f), ab.compare("ab", replace(f, exact=True))
    assert_same(got, exp)
    ref = bucketed_reference(w, f)
    test = got["comparisons"][0]["lead_time_test"]
    assert test["u"] == pytest.approx(ref["u1"]) and test["p_value"] == pytest.approx(round(ref["p_value"], 4))
    assert got["variants"][0]["started"] > 0 and got["variants"][1]["started"] > 0


def test_visits_closed_after_the_watermark_are_read_live_then_rolled_up(split_world):
    from app.models import TaskVisit

    w = split_world
    rollup.rebuild(now=at(24 * 3))
    f = q.Filters(start=T0, end=at(24 * 7), now=at(24 * 7))
    assert_same(ab.compare("ab", f), ab.compare("ab", replace(f, exact=True)))
    for v in w.db.session.query(TaskVisit).filter(TaskVisit.left_at.is_(None)).all():   # the running ones end
        v.left_at, v.outcome = at(24 * 4), "completed"
    w.commit()
    live = ab.compare("ab", f)
    assert_same(live, ab.compare("ab", replace(f, exact=True)))
    assert sum(v["started"] for v in live["variants"]) == 39
    rollup.refresh(now=at(24 * 7))
    assert_same(ab.compare("ab", f), ab.compare("ab", replace(f, exact=True)))


def test_rank_sums_from_histograms_are_the_sample_formula_over_buckets():
    a, b = {3: 2, 5: 1}, {3: 1, 4: 2, 9: 1}
    rs = stats.rank_sums_from_hist(a, b)
    ref = stats.mann_whitney_samples([3, 3, 5], [3, 4, 4, 9])
    got = stats.mann_whitney(rs["n1"], rs["n2"], rs["rank_sum1"], rs["tie_term"])
    assert (rs["n1"], rs["n2"]) == (3, 4) and got == pytest.approx(ref)
    assert rs["rank_sum1"] == 2 + 2 + 6      # 3,3,3 share ranks 1-3 (avg 2); 4,4 are 4-5; 5 is 6
