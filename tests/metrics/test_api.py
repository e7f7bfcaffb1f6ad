"""The metrics API and the A/B view end to end over the test database."""
from __future__ import annotations

from tests.metrics.conftest import at

Q = "from=2026-01-05&to=2026-01-12"


def test_roles(app, lane, make_user, api_as, client):
    for role in ("manager", "designer", "admin"):
        r = api_as(make_user(role)).get(f"/api/v1/metrics/dashboard?process=a&{Q}")
        assert r.status_code == 200, (role, r.json)
    staff = api_as(make_user("staff"))
    for path in ("dashboard", "summary", "stages", "throughput", "lead-times", "routes", "options", "ab/ab",
                 "csv/stages"):
        assert staff.get(f"/api/v1/metrics/{path}").status_code == 403
    assert client.get("/api/v1/metrics/summary").status_code == 401


def test_dashboard_payload(app, lane, make_user, api_as):
    api = api_as(make_user("manager"))
    d = api.get(f"/api/v1/metrics/dashboard?process=a&{Q}").json
    assert d["summary"]["visits"]["completed"] == 4
    assert d["summary"]["lead_time"]["p50"] == 10800
    assert [s["stage_key"] for s in d["stages"]] == ["collect", "confirm"]
    assert d["throughput"] == [{"bucket": "2026-01-05", "completed": 4}]
    assert d["lead_times"][0]["label"] == "Process A v1"
    assert d["routes"][0]["route_key"] == "too_small"
    assert api.get("/api/v1/metrics/summary?process=a&from=2026-01-05T02:00:00&to=2026-01-06").json[
        "visits"]["started"] == 4
    assert api.get(f"/api/v1/metrics/stages?process=a&stage=confirm&{Q}").json[0]["sla"]["breached"] == 1
    assert api.get(f"/api/v1/metrics/throughput?process=a&bucket=hour&{Q}").status_code == 200
    assert api.get(f"/api/v1/metrics/lead-times?process=a&version=1&{Q}").json[0]["n"] == 4
    assert api.get(f"/api/v1/metrics/routes?{Q}").json[0]["target_process"] == "Process B"


def test_bad_input_is_4xx(app, lane, make_user, api_as):
    api = api_as(make_user("manager"))
    assert api.get("/api/v1/metrics/summary?from=yesterday").status_code == 422
    assert api.get("/api/v1/metrics/summary?from=2026-01-06&to=2026-01-05").status_code == 422
    assert api.get("/api/v1/metrics/summary?process=nope").status_code == 404
    assert api.get("/api/v1/metrics/summary?process=a&version=9").status_code == 404
    assert api.get("/api/v1/metrics/summary?bucket=week").status_code == 422
    assert api.get("/api/v1/metrics/csv/nope").status_code == 404
    assert api.get("/api/v1/metrics/ab/nope").status_code == 404


def test_csv(app, lane, make_user, api_as):
    api = api_as(make_user("manager"))
    r = api.get(f"/api/v1/metrics/csv/stages?process=a&{Q}")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0].startswith("stage,stage_name,rank,time_share,cycle_seconds_p50")
    assert lines[1].startswith("collect,collect,1,0.5319,1800.0")   # no name in this fixture: the key
    for chart in ("throughput", "lead_times", "wip", "rates", "routes"):
        assert api.get(f"/api/v1/metrics/csv/{chart}?process=a&{Q}").status_code == 200
    assert api.get(f"/api/v1/metrics/csv/throughput?process=a&{Q}").get_data(as_text=True) == \
        "bucket,completed\n2026-01-05,4\n"


def test_ab_comparison(app, world, make_user, api_as):
    w = world
    # legacy (Process A): 20 completed (lead 2 h) + 20 routed away; new (Process C): 30 completed (1 h) + 10 away
    for i in range(40):
        t = w.task("a")
        if i < 20:
            w.visit(t, "a", at(0), at(2), "completed", variant="legacy")
        else:
            w.visit(t, "a", at(0), at(1), "moved", route_key="too_small", target="b", variant="legacy")
    for i in range(40):
        t = w.task("c")
        if i < 30:
            w.visit(t, "c", at(0), at(1), "completed", variant="new")
        else:
            w.visit(t, "c", at(0), at(1), "moved", route_key="too_small", target="b", variant="new")
    w.commit()
    api = api_as(make_user("manager", teams=("Ops",)))     # a manager of the Split's Team
    d = api.get(f"/api/v1/metrics/ab/ab?{Q}&stage=collect").json
    legacy, new = d["variants"]
    assert (legacy["finished"], legacy["completed"], legacy["routed_away"]) == (40, 20, 20)
    assert (new["finished"], new["completed"]) == (40, 30)
    assert legacy["completion_ci"] == [0.352, 0.648]
    assert legacy["lead_time"]["p50"] == 7200 and new["lead_time"]["p50"] == 3600
    c = d["comparisons"][0]
    assert c["rate_diff"]["diff"] == 0.25
    assert c["verdict"].startswith("Process C completes 25 ± 20 points more often than Process A")
    assert "lead time is shorter" in c["verdict"]      # all 30 at 1 h vs all 20 at 2 h
    assert c["more_tasks_needed"] == 36
    assert new["stage"] is None      # no Stage Runs in this fixture
    # the Variant filter of the dashboard: visits of that variant only, wherever they are
    summ = api.get(f"/api/v1/metrics/summary?variant={w.variant['new']}&{Q}").json
    assert (summ["visits"]["started"], summ["visits"]["completed"]) == (40, 30)
    assert api.get(f"/api/v1/metrics/summary?process=a&variant={w.variant['new']}&{Q}").json[
        "visits"]["started"] == 0
    # from the A/B view the manager promotes the winner through the audited Splits API
    r = api.patch("/api/v1/splits/ab", json={"weights": {"legacy": 0, "new": 100}, "reason": "new wins"})
    assert r.status_code == 200, r.json
    assert api.get(f"/api/v1/metrics/ab/ab?{Q}").json["variants"][1]["weight"] == 100


def test_openapi_documents_metrics(app, client):
    spec = client.get("/api/openapi.json").json
    assert "/api/v1/metrics/dashboard" in spec["paths"]
    assert "DashboardSchema" in str(spec["components"]["schemas"].keys()) or "Dashboard" in str(spec)


def test_dashboards_page_roles(app, make_user, client):
    staff = make_user("staff")
    with client.session_transaction() as s:   # signed-in session (the login form itself is tested elsewhere)
        s["_user_id"] = staff.get_id()
        s["_fresh"] = True
    assert client.get("/dashboards").status_code == 403
    mgr = make_user("manager")
    with client.session_transaction() as s:
        s["_user_id"] = mgr.get_id()
    r = client.get("/dashboards")
    assert r.status_code == 200 and b"chart-throughput" in r.data and b"ab-panel" in r.data
