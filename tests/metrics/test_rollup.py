"""Rollups (app.metrics.rollup) against the raw-query figures and hand-computed values of `lane`."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from app.metrics import queries as q
from app.metrics import rollup, rollup_read
from tests.metrics.conftest import T0, at

REL = 2 ** (1 / rollup.BUCKETS_PER_DOUBLING) - 1      # documented bound: 4.4 %


def F(world, process="a", **kw):
    kw.setdefault("start", T0)
    kw.setdefault("end", at(24 * 7))
    kw.setdefault("now", at(24 * 7))
    return q.Filters(process_id=world.p[process] if process else None, **kw)


def close(a, b):
    if a is None or b is None:
        return a == b
    return abs(a - b) <= max(1.0, abs(b) * REL) + 1e-6


def assert_pcts(got, exact):
    assert got["n"] == exact["n"] and got["avg"] == pytest.approx(exact["avg"] if exact["avg"] is not None else None)
    for k in ("p50", "p90", "p95"):
        assert close(got[k], exact[k]), (k, got, exact)


def compare(f):
    """Rolled-up stages/summary/lead times vs the same Filters with exact=True."""
    ex = replace(f, exact=True)
    got, exp = q.summary(f), q.summary(ex)
    assert got["visits"] == exp["visits"]
    for k in ("runs", "failed", "error_rate", "wip", "queued", "sla", "staff_seconds"):
        assert got[k] == exp[k], k
    assert_pcts(got["lead_time"], exp["lead_time"])
    gs, es = {s["stage_key"]: s for s in got["stages"]}, {s["stage_key"]: s for s in exp["stages"]}
    assert set(gs) == set(es)
    for k, e in es.items():
        g = gs[k]
        for c in ("runs", "completed", "failed", "error_rate", "staff_seconds", "staff_seconds_avg", "wip",
                  "queued", "sla", "rank_queue"):
            assert g[c] == e[c], (k, c)
        for m in ("cycle", "wait"):
            assert_pcts(g[m], e[m])
        if e["approval"] is None:
            assert g["approval"] is None
        else:
            assert_pcts(g["approval"], e["approval"])
            assert (g["approval"]["approved"], g["approval"]["rejected"]) == (e["approval"]["approved"],
                                                                              e["approval"]["rejected"])
    lv, le = q.lead_time_by_version(f), q.lead_time_by_version(ex)
    assert [r["label"] for r in lv] == [r["label"] for r in le]
    for a, b in zip(lv, le):
        assert_pcts(a, b)
    return got


def test_bucket_bounds_and_error_bound():
    assert rollup.bucket_bounds(0) == (0.0, 1.0)
    lo, hi = rollup.bucket_bounds(17)          # 2^1 .. 2^(17/16)
    assert lo == pytest.approx(2.0) and hi / lo == pytest.approx(1 + REL)
    assert REL < 0.045
    # one value: the estimate lies inside its bucket, so within the bound
    for v in (1.5, 60, 3600, 86400 * 3.3):
        b = 1 + math.floor(math.log(v) * rollup.K)
        est = rollup_read.percentiles_from({b: 1}, q.PERCENTILES)["p50"]
        assert abs(est - v) <= v * REL


def test_no_rollup_means_exact_raw_path(lane):
    assert rollup.state() is None
    assert q.lead_time(F(lane))["p50"] == 10800      # hand-computed in test_queries.py


def test_rebuild_counts_exact_and_percentiles_within_bound(lane):
    rollup.rebuild(now=at(24 * 7))
    st = rollup.state()
    assert st.since == T0 and st.watermark == at(24 * 7)
    s = compare(F(lane))
    # hand-computed (test_queries.py): 6 visits, 4 completed, 1 moved, 1 running; lead 1/2/4/8 h
    assert s["visits"] == {"started": 6, "completed": 4, "moved": 1, "cancelled": 0, "running": 1}
    assert s["lead_time"]["avg"] == 13500 and close(s["lead_time"]["p50"], 10800)
    c = {r["stage_key"]: r for r in s["stages"]}
    assert (c["collect"]["runs"], c["collect"]["failed"], c["collect"]["staff_seconds"]) == (5, 1, 1500)
    assert c["confirm"]["sla"] == {"with_sla": 2, "breached": 1, "breach_rate": 0.5, "reminders": 1,
                                   "escalations": 0}
    # the rollup was really read: hour rows exist and the period is split as planned
    p = rollup_read.plan(T0 + rollup.timedelta(minutes=30), at(24 * 3, 10), st)
    assert p["days"] == [(T0 + rollup.DAY, T0 + 3 * rollup.DAY)]
    assert p["raw"][0] == (T0 + rollup.timedelta(minutes=30), at(1)) and p["raw"][1] == (at(72), at(72, 10))
    for flt in (F(lane, None), F(lane, "b"), F(lane, stage_key="confirm"), F(lane, version_id=lane.v["a"]),
                F(lane, start=at(0, 30), end=at(26, 10)), F(lane, start=at(2), end=at(5))):
        compare(flt)


def test_running_and_closed_after_watermark_are_read_live(lane):
    from app.models import StageRun, TaskVisit

    rollup.rebuild(now=at(6))            # t3 and the open runs are not closed yet at 06:00 except some
    f = F(lane)
    compare(f)
    # close the running visit and its pending run after the watermark: the live part sees them
    v = lane.db.session.query(TaskVisit).filter_by(left_at=None).one()
    v.left_at, v.outcome = at(9), "completed"
    r = lane.db.session.query(StageRun).filter_by(visit_id=v.id).one()
    r.status, r.started_at, r.finished_at = "completed", at(6), at(9)
    lane.commit()
    got = compare(f)
    assert got["visits"]["completed"] == 5 and got["visits"]["running"] == 0
    # the incremental refresh rolls them up; figures unchanged
    res = rollup.refresh(now=at(24 * 7))
    assert res["mode"] == "incremental" and res["hours"] >= 1
    assert compare(f)["visits"] == got["visits"]
    # idempotent
    rollup.refresh(now=at(24 * 7))
    assert compare(f)["visits"] == got["visits"]


def test_job_and_cli(lane, app):
    from app.metrics import jobs

    assert jobs.rollup(day="2026-01-05")["mode"] == "rebuild"
    compare(F(lane))
    assert jobs.rollup()["mode"] == "incremental"
    r = app.test_cli_runner().invoke(args=["procly", "rollup"])
    assert r.exit_code == 0 and "incremental" in r.output


def test_a_period_up_to_now_reads_day_rows_and_live_rows_only(lane):
    """Up to now (end >= watermark), the last partial day is the day row plus the live rows: no raw
    tail, no hour rows, and nothing counted twice."""
    rollup.rebuild(now=at(24 * 3, 30))
    st = rollup.state()
    p = rollup_read.plan(T0, at(24 * 3, 40), st)
    assert p == {"raw": [], "days": [(T0, T0 + 4 * rollup.DAY)], "hours": [], "core": (T0, at(24 * 3, 40))}
    # a rolling start still needs the hours of its first day, and its raw edge
    p = rollup_read.plan(at(5, 20), at(24 * 3, 40), st)
    assert p["raw"] == [(at(5, 20), at(6))] and p["hours"] == [(at(6), T0 + rollup.DAY)]
    assert p["days"] == [(T0 + rollup.DAY, T0 + 4 * rollup.DAY)]
    # before the watermark the plan stops at the last whole hour and reads the rest raw
    p = rollup_read.plan(T0, at(24 * 3, 20), st)
    assert p["raw"] == [(at(72), at(72, 20))] and p["hours"] == [] and p["days"] == [(T0, T0 + 3 * rollup.DAY)]
    for end in (at(24 * 3, 40), at(24 * 7)):
        compare(F(lane, end=end, now=end))


def test_the_default_period_is_today_and_the_six_days_before():
    from datetime import datetime

    start, end = q.default_period(datetime(2026, 3, 9, 14, 25))
    assert (start, end) == (datetime(2026, 3, 3), datetime(2026, 3, 9, 14, 25))
    f = q.Filters.default(now=datetime(2026, 3, 9, 0, 0))
    assert (f.start, f.end) == (datetime(2026, 3, 3), datetime(2026, 3, 9))


def test_a_refresh_by_another_process_is_seen_through_the_cached_rollup(lane):
    """The rolled-up part is cached in memory per period under that period's counts: a refresh that
    ran elsewhere changes the counts of the periods it touched, and the next read sees their rows."""
    from app.models import StageRun, TaskVisit

    rollup.rebuild(now=at(6))
    f = F(lane)
    before = compare(f)
    v = lane.db.session.query(TaskVisit).filter_by(left_at=None).one()
    v.left_at, v.outcome = at(9), "completed"
    r = lane.db.session.query(StageRun).filter_by(visit_id=v.id).one()
    r.status, r.started_at, r.finished_at = "completed", at(6), at(9)
    lane.commit()
    rollup.refresh(now=at(24 * 7))       # (nothing clears this process's cache)
    after = compare(f)
    assert (before["visits"]["completed"], after["visits"]["completed"]) == (4, 5)
    assert after["visits"]["running"] == 0


def test_variant_filter_reads_the_rollup_like_the_raw_rows(lane):
    from app.models import TaskVisit

    legacy = lane.variant["legacy"]
    for v in lane.db.session.query(TaskVisit).filter(TaskVisit.entered_at < at(2)).all():   # t1, t2
        v.variant_id = legacy
    lane.commit()
    rollup.rebuild(now=at(24 * 7))
    got = compare(F(lane, None, variant_id=legacy))
    assert got["visits"]["started"] == 2 and got["visits"]["completed"] == 2
    assert {s["stage_key"]: s["runs"] for s in got["stages"]} == {"collect": 2, "confirm": 2}
    compare(F(lane, variant_id=legacy, stage_key="collect"))
