"""The dashboards page in Chromium: demo data plus a week of finished activity, filters, charts, A/B."""
from __future__ import annotations

import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def demo_activity(n: int = 160) -> None:
    """Finished (and some running) Tasks over the last 6 days in Intake and Intake (new), with Stage Runs,
    Routes taken, an SLA breach or two and approvals: inserted directly with fixed offsets from now."""
    from sqlalchemy import select

    from app import clock
    from app.extensions import db
    from app.models import Process, Split, StageRun, StageTimer, Task, TaskVisit, Version, Event

    rnd = random.Random(11)
    now = clock.now().replace(microsecond=0)
    split = db.session.scalar(select(Split).where(Split.key == "intake-ab"))
    variants = {v.key: v for v in split.variants}
    procs = {p.key: p for p in db.session.scalars(select(Process))}
    ver = {p.id: db.session.scalar(select(Version).where(Version.process_id == p.id)) for p in procs.values()}
    table_id = procs["intake"].table_id
    for i in range(n):
        vkey = "new" if i % 4 == 0 else "legacy"
        proc = procs["intake" if vkey == "legacy" else "intake-new"]
        entered = now - timedelta(days=6) + timedelta(minutes=rnd.randint(0, 6 * 24 * 60 - 600))
        stages = [s["key"] for s in ver[proc.id].definition["stages"]]
        r = rnd.random()
        outcome = "running" if entered > now - timedelta(hours=14) else (
            "moved" if r < (0.25 if vkey == "legacy" else 0.12) else "completed")
        task = Task(key=f"act-{i}", table_id=table_id, values={}, process_id=proc.id, version_id=ver[proc.id].id,
                    split_id=split.id, variant_id=variants[vkey].id, created_at=entered,
                    status="running" if outcome != "completed" else "completed")
        db.session.add(task)
        db.session.flush()
        t = entered
        visit = TaskVisit(task_id=task.id, process_id=proc.id, version_id=ver[proc.id].id,
                          variant_id=variants[vkey].id, entered_at=entered)
        db.session.add(visit)
        db.session.flush()
        for k, key in enumerate(stages):
            wait = timedelta(minutes=rnd.randint(5, 240 if key == "confirm" else 60))
            cycle = timedelta(minutes=rnd.randint(10, 180 if key == "collect" else 90))
            run = StageRun(task_id=task.id, visit_id=visit.id, process_id=proc.id, version_id=ver[proc.id].id,
                           stage_key=key, ready_at=t, data={}, active_seconds=cycle.total_seconds() * 0.6)
            if outcome == "running" and k >= 1:
                run.status = "pending" if rnd.random() < 0.6 else "in_progress"
                run.started_at = None if run.status == "pending" else t + wait
                db.session.add(run)
                break
            run.started_at, run.finished_at = t + wait, t + wait + cycle
            run.status = "failed" if rnd.random() < 0.05 else "completed"
            if outcome == "moved" and key == "collect":
                run.status = "moved"
            if key == "confirm":
                run.approval_status, run.decided_at = "approved", run.finished_at
            db.session.add(run)
            db.session.flush()
            if key == "confirm":
                db.session.add(Event(type="stage.status", task_id=task.id, stage_run_id=run.id, process_id=proc.id,
                                     to_status="awaiting_approval", created_at=run.started_at + cycle / 2, data={}))
            if key == "collect":   # as the runtime does: a 2 h due timer (run.due_at) and a 1 h reminder
                due, remind = run.ready_at + timedelta(hours=2), run.ready_at + timedelta(hours=1)
                run.due_at = due
                db.session.add(StageTimer(stage_run_id=run.id, kind="due", scope="stage", label="2h", due_at=due,
                                          fired_at=due if run.finished_at > due else None))
                if run.finished_at > remind:
                    db.session.add(StageTimer(stage_run_id=run.id, kind="reminder", scope="stage", label="1h",
                                              due_at=remind, fired_at=remind))
                    db.session.add(Event(type="sla.reminder", task_id=task.id, stage_run_id=run.id,
                                         process_id=proc.id, created_at=remind, data={}))
            t = run.finished_at
            if outcome == "moved" and key == "collect":
                target = procs[rnd.choice(["follow-up", "referral", "rejection"])]
                route = {"follow-up": "out_of_area", "referral": "too_small", "rejection": "missing_docs"}[target.key]
                visit.left_at, visit.outcome, visit.route_key, visit.target_process_id = t, "moved", route, target.id
                db.session.add(TaskVisit(task_id=task.id, process_id=target.id, version_id=ver[target.id].id,
                                         entered_at=t))
                break
        if outcome == "completed":
            visit.left_at, visit.outcome, task.finished_at = t, "completed", t
    db.session.commit()


@pytest.fixture
def activity(app):
    from app.demo import load_demo

    load_demo(tasks=0)
    demo_activity()
    return app


def test_manager_sees_charts_and_ab_panel(activity, live_server, page, login_page, screenshot):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Event, Process

    intake_id = db.session.scalar(select(Process.id).where(Process.key == "intake"))
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "manager@procly.local")
    page.goto(f"{live_server}/dashboards")
    page.wait_for_function("() => window.procly_dashboards && Object.keys(window.procly_dashboards.charts).length === 6")
    page.select_option("#dash-filters select[name=process]", "intake")
    page.wait_for_function(f"() => window.procly_dashboards.data && "
                           f"window.procly_dashboards.data.filters.process_id === {intake_id}")
    data = page.evaluate("() => window.procly_dashboards.data")
    # the default period, named on the page: today and the 6 whole days before it
    first_day = data["filters"]["from"][:10]
    assert data["filters"]["from"].endswith("T00:00:00+00:00")
    page.wait_for_function("() => document.querySelector('#dash-status').textContent.includes('updated')")
    assert f"{first_day} → now (last 7 days)" in page.locator("#dash-status").inner_text()
    assert data["summary"]["visits"]["completed"] > 20
    assert {s["stage_key"] for s in data["stages"]} == {"collect", "confirm", "schedule"}
    assert data["routes"] and data["throughput"]
    assert data["summary"]["sla"]["breach_rate"] > 0 and data["summary"]["sla"]["reminders"] > 0
    # every chart is a drawn Chart.js instance on its canvas
    drawn = page.evaluate("""() => [...document.querySelectorAll('.dash-chart canvas')].map(c => {
        const ch = Chart.getChart(c); return ch ? ch.data.datasets.reduce((n, d) => n + d.data.length, 0) : -1; })""")
    assert len(drawn) == 6 and all(n > 0 for n in drawn), drawn
    # the table toggle shows the chart's numbers; CSV links carry the filters
    card = page.locator('[data-chart="stages"]')
    card.locator(".dash-toggle").click()
    assert card.locator(".dash-table table tbody tr").count() == 3
    assert "process=intake" in card.locator(".dash-csv").get_attribute("href")
    card.locator(".dash-toggle").click()
    # A/B panel: both variants and a verdict
    page.wait_for_function("() => document.querySelector('#ab-verdict').textContent.length > 10")
    assert page.locator("#ab-table tbody tr").count() == 2
    verdict = page.locator("#ab-verdict").inner_text()
    assert "Intake (new)" in verdict
    page.evaluate("() => window.scrollTo(0, 0)")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")   # no sideways overflow
    shot = screenshot(page, "dashboard", full_page=False)
    page.evaluate("() => document.querySelector('#ab-panel').scrollIntoView({block: 'end'})")
    ab_shot = screenshot(page, "ab", full_page=False)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / "dashboard.png")
    shutil.copy(ab_shot, DOCS / "dashboard-ab.png")
    # shifting weights from the A/B view goes through the audited Splits API
    page.fill("#ab-weights input[name=w_new]", "50")
    page.fill("#ab-weights input[name=w_legacy]", "50")
    page.fill("#ab-weights input[name=reason]", "more traffic to the new intake")
    page.click("#ab-weights button[type=submit]")
    page.wait_for_function("() => document.querySelector('#ab-msg').textContent === 'Weights saved.'")
    db.session.rollback()
    ev = db.session.scalars(select(Event).where(Event.type == "split.weights_changed").order_by(Event.id)).all()
    assert ev and ev[-1].data["after"] == {"legacy": 50, "new": 50}
    # a period preset: the last 30 days are today and the 29 whole days before, and the page says so
    week_visits = data["summary"]["visits"]["started"]
    page.select_option("#dash-period", "30")
    first = (datetime.now(timezone.utc) - timedelta(days=29)).date().isoformat()
    page.wait_for_function(f"() => window.procly_dashboards.data.filters.from === '{first}T00:00:00+00:00'")
    page.wait_for_function("() => document.querySelector('#dash-status').textContent.includes('(last 30 days)')")
    assert page.evaluate("() => window.procly_dashboards.data.summary.visits.started") >= week_visits
    # typing a date makes it a custom period
    page.fill("#dash-filters input[name=from]", first)
    page.dispatch_event("#dash-filters input[name=from]", "change")
    assert page.input_value("#dash-period") == "custom"


def test_staff_gets_403(activity, live_server, page, login_page):
    login_page(page, live_server, "staff@procly.local")
    resp = page.goto(f"{live_server}/dashboards")
    assert resp.status == 403
    assert page.evaluate("async () => (await fetch('/api/v1/metrics/dashboard')).status") == 403


def test_live_refresh_on_task_changed(activity, live_server, page, login_page):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Process
    from app.infra.realtime import emit_many

    login_page(page, live_server, "manager@procly.local")
    page.goto(f"{live_server}/dashboards")
    page.wait_for_function("() => window.procly_dashboards.data && window.procly_dashboards.socket"
                           " && window.procly_dashboards.socket.connected", timeout=15000)
    page.wait_for_timeout(500)   # the joins are acknowledged
    page.evaluate("() => { window.__refreshed = 0; const r = window.fetch; window.fetch = (u, o) => {"
                  " if (String(u).includes('/metrics/dashboard')) window.__refreshed++; return r(u, o); }; }")
    pid = db.session.scalar(select(Process.id).where(Process.key == "intake"))
    for _ in range(3):   # a burst of changes: one debounced refresh
        emit_many([("task.changed", {"task": 1, "process": pid, "status": "running"}, f"process:{pid}")])
    page.wait_for_function("() => window.__refreshed >= 1", timeout=10000)
    page.wait_for_timeout(2000)
    assert page.evaluate("() => window.__refreshed") == 1
