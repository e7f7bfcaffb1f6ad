"""Each dashboard figure against values computed by hand from the `lane` fixture (conftest.py)."""
from __future__ import annotations

import pytest

from app.metrics import queries as q
from tests.metrics.conftest import T0, at

ALL = dict(start=T0, end=at(24 * 7))


def F(world, process="a", **kw):
    return q.Filters(process_id=world.p[process] if process else None, **{**ALL, **kw})


def approx(d: dict, **expected):
    for k, v in expected.items():
        assert d[k] == pytest.approx(v, abs=1e-3), (k, d)


def test_visit_counts_and_lead_time(lane):
    f = F(lane)
    assert q.visit_counts(f) == {"started": 6, "completed": 4, "moved": 1, "cancelled": 0, "running": 1}
    # completed lead times 1 h, 2 h, 4 h, 8 h; percentile_cont: p50 = 2h + .5*(4h-2h) etc.
    approx(q.lead_time(f), p50=10800, p90=24480, p95=26640, avg=13500, n=4)


def test_task_moved_mid_way_counts_where_time_was_spent(lane):
    b = F(lane, "b")
    assert q.visit_counts(b) == {"started": 1, "completed": 1, "moved": 0, "cancelled": 0, "running": 0}
    approx(q.lead_time(b), p50=7200, avg=7200, n=1)
    stages_b = {s["stage_key"]: s for s in q.stages(b)}
    assert set(stages_b) == {"refer"}
    approx(stages_b["refer"]["cycle"], p50=5400, n=1)
    approx(stages_b["refer"]["wait"], p50=1800, n=1)
    assert "refer" not in {s["stage_key"] for s in q.stages(F(lane))}
    # across all Processes the moved Task is two visits: one moved, one completed
    assert q.visit_counts(F(lane, None))["started"] == 7


def test_cycle_and_wait_percentiles(lane):
    cyc, wait = q.cycle_times(F(lane)), q.wait_times(F(lane))
    approx(cyc["collect"], p50=1800, p90=2280, p95=2340, avg=1800, n=2)       # 20 min, 40 min
    approx(wait["collect"], p50=900, p90=1620, p95=1710, avg=975, n=4)        # 5, 10, 20, 30 min
    approx(cyc["confirm"], p50=2700, avg=2700, n=2)                            # 30 min, 60 min
    approx(wait["confirm"], p50=0, p90=960, avg=400, n=3)                      # 0, 0, 20 min


def test_counts_error_rate_staff_time_wip(lane):
    st = {s["stage_key"]: s for s in q.stages(F(lane))}
    c = st["collect"]
    assert (c["runs"], c["completed"], c["failed"], c["error_rate"]) == (5, 2, 1, 0.2)
    assert (c["staff_seconds"], c["staff_seconds_avg"]) == (1500, 750)       # active_seconds: pauses excluded
    assert (c["wip"], c["queued"]) == (1, 1)
    assert (st["confirm"]["wip"], st["confirm"]["queued"]) == (1, 0)
    assert st["confirm"]["error_rate"] == 0
    # stages() (one combined pass on PostgreSQL) agrees with the separate percentile queries
    approx(c["cycle"], p50=1800, p90=2280, p95=2340, n=2)
    approx(c["wait"], p50=900, p90=1620, p95=1710, avg=975, n=4)


def test_sla_and_approvals(lane):
    st = {s["stage_key"]: s for s in q.stages(F(lane))}
    assert st["confirm"]["sla"] == {"with_sla": 2, "breached": 1, "breach_rate": 0.5, "reminders": 1,
                                    "escalations": 0}
    assert st["collect"]["sla"] is None
    # the StageTimer rows tell the same story
    assert q.sla_timers(F(lane))["confirm"] == {"with_sla": 2, "breached": 1, "reminders": 1, "escalations": 0}
    # an open run past its due time is breached before any timer fired; one finished in time is not
    assert q.sla(F(lane, now=at(3, 59)))["confirm"]["breached"] == 0
    ap = st["confirm"]["approval"]
    approx(ap, p50=1200, avg=1200, n=1)          # first awaiting_approval 00:40 → decided 01:00
    assert (ap["approved"], ap["rejected"]) == (1, 0)
    s = q.summary(F(lane))
    assert s["sla"]["breach_rate"] == 0.5 and s["error_rate"] == pytest.approx(1 / 8, abs=1e-4)


def test_bottlenecks_ranked_by_time_share_and_queue(lane):
    rows = q.stages(F(lane))
    assert [r["stage_key"] for r in rows] == ["collect", "confirm"]
    # collect: cycle 3600 + wait 3900 = 7500; confirm: 5400 + 1200 = 6600; total 14100
    assert rows[0]["time_share"] == pytest.approx(7500 / 14100, abs=1e-4)
    assert rows[1]["time_share"] == pytest.approx(6600 / 14100, abs=1e-4)
    assert {r["stage_key"]: r["rank_queue"] for r in rows} == {"collect": 1, "confirm": 2}


def test_throughput_buckets(lane):
    assert q.throughput(F(lane)) == [{"bucket": "2026-01-05", "completed": 4}]
    assert [r["bucket"][-5:] for r in q.throughput(F(lane, bucket="hour"))] == ["01:00", "03:00", "06:00", "11:00"]


def test_route_usage(lane):
    rows = q.routes(F(lane, None))
    assert [(r["process"], r["route_key"], r["target_process"], r["count"]) for r in rows] == [
        ("Process A", "too_small", "Process B", 1)]


def test_period_filter(lane):
    f = F(lane, start=at(2), end=at(24))
    assert q.visit_counts(f) == {"started": 4, "completed": 2, "moved": 1, "cancelled": 0, "running": 1}
    approx(q.lead_time(f), p50=21600, n=2)      # 4 h and 8 h
    assert q.visit_counts(F(lane, start=at(100), end=at(101)))["started"] == 0


def test_stage_and_version_filters(lane):
    only = q.stages(F(lane, stage_key="confirm"))
    assert [r["stage_key"] for r in only] == ["confirm"]
    assert q.visit_counts(F(lane, version_id=lane.v["a"]))["started"] == 6
    assert q.visit_counts(F(lane, version_id=lane.v["b"]))["started"] == 0


def test_empty_database(world):
    f = F(world)
    assert q.visit_counts(f) == {"started": 0, "completed": 0, "moved": 0, "cancelled": 0, "running": 0}
    assert q.lead_time(f) == {"p50": None, "p90": None, "p95": None, "avg": None, "n": 0}
    assert q.stages(f) == [] and q.throughput(f) == [] and q.routes(f) == []
    s = q.summary(f)
    assert s["error_rate"] is None and s["sla"]["breach_rate"] is None and s["wip"] == 0


def test_running_tasks_only(world):
    t = world.task("a")
    v = world.visit(t, "a", at(0))
    world.run(t, v, "a", "collect", "in_progress", at(0), at(0, 15))
    world.commit()
    f = F(world)
    assert q.visit_counts(f)["running"] == 1
    assert q.lead_time(f)["n"] == 0
    st = q.stages(f)[0]
    assert st["cycle"]["n"] == 0 and st["wait"]["p50"] == 900 and st["wip"] == 1 and st["queued"] == 0


def test_single_value_percentiles(world):
    t = world.task("a")
    world.visit(t, "a", at(0), at(0, 30), "completed")
    world.commit()
    approx(q.lead_time(F(world)), p50=1800, p90=1800, p95=1800, n=1)


def test_rank_sums_match_python_reference(world):
    from app.metrics import stats

    leg = [1, 2, 2, 5, 9]      # lead times in hours, with ties inside and across groups
    new = [2, 3, 4, 4, 10, 12]
    for hours, variant, process in [(h, "legacy", "a") for h in leg] + [(h, "new", "c") for h in new]:
        t = world.task(process)
        world.visit(t, process, at(0), at(hours), "completed", variant=variant)
    world.commit()
    rs = q.rank_sums(F(world, None), world.variant["legacy"], world.variant["new"])
    ref = stats.mann_whitney_samples([h * 3600.0 for h in leg], [h * 3600.0 for h in new])
    got = stats.mann_whitney(rs["n1"], rs["n2"], rs["rank_sum1"], rs["tie_term"])
    assert (rs["n1"], rs["n2"]) == (5, 6)
    assert got["u1"] == pytest.approx(ref["u1"]) and got["p_value"] == pytest.approx(ref["p_value"])
    # hand count: pooled 1 2 2 2 3 4 4 5 9 10 12 → legacy ranks 1, 3, 3 (2,2,2 tie), 8, 9 = 24; U1 = 24 - 15 = 9
    assert rs["rank_sum1"] == pytest.approx(24) and got["u1"] == pytest.approx(9)
    assert rs["tie_term"] == pytest.approx((27 - 3) + (8 - 2))
