"""A manager reads the dashboard in plain language (issue 16's journey): Stage and Route names, never
their keys; count axes from zero in whole numbers; each headline figure explained on hover and on
keyboard focus; "no data yet" for a Process nothing ran in. Screenshots: docs/screenshots/
dashboard-names.png and dashboard-empty.png."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.browser.test_axe_pages import axe_serious
from tests.metrics.test_dashboard_browser import demo_activity

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KEYS = ("collect", "confirm", "schedule", "approve_client", "out_of_area", "too_small", "missing_docs")


def _visible_text(page) -> str:
    return page.evaluate("() => document.querySelector('main').innerText")


def test_manager_reads_names_not_keys(app, live_server, page, login_page, screenshot):
    from app.demo import load_demo
    from app.extensions import db
    from app.models import User
    from app.processes import operations, versioning

    load_demo(tasks=0)
    demo_activity(120)
    admin = db.session.query(User).filter_by(email="admin@procly.local").one()
    quiet = operations.create_process({"key": "quiet", "name": "Quiet lane", "description": "", "table": "clients",
                                       "team": "Intake"}, admin)
    versioning.publish(quiet, admin, "first", definition={"stages": [{"key": "wait_here", "name": "Wait here",
                                                                      "type": "basic"}], "routes": []})
    db.session.commit()

    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "manager@procly.local")
    page.goto(f"{live_server}/dashboards")
    page.wait_for_function("() => window.procly_dashboards && window.procly_dashboards.data")
    page.select_option("#dash-filters select[name=process]", "intake")
    page.wait_for_function("() => window.procly_dashboards.data.filters.process_id !== null")
    # the Stage filter lists names
    stage_options = page.locator("#dash-filters select[name=stage] option").all_inner_texts()
    assert "Collect basic information" in stage_options and "collect" not in stage_options
    # every chart's table shows names; the charts' own labels are names too
    for key in ("stages", "wip", "rates", "routes"):
        card = page.locator(f'[data-chart="{key}"]')
        card.locator(".dash-toggle").click()
    text = _visible_text(page)
    for name in ("Collect basic information", "Confirm eligibility", "Outside service area"):
        assert name in text, name
    words = set(re.findall(r"[a-z_]+", text))
    assert not words & set(KEYS), words & set(KEYS)
    assert "Error rate" in text and "error_rate" not in text   # the tables' headers are words too (the CSV keeps keys)
    labels = page.evaluate("() => Chart.getChart(document.getElementById('chart-stages')).data.labels")
    assert set(labels) == {"Collect basic information", "Confirm eligibility", "Schedule first appointment"}
    route_labels = page.evaluate("() => Chart.getChart(document.getElementById('chart-routes')).data.labels")
    assert route_labels and all("_" not in label for label in route_labels), route_labels
    # counts: axes start at zero and tick in whole numbers
    ticks = page.evaluate("""() => { const s = Chart.getChart(document.getElementById('chart-throughput')).scales.y;
                                     return [s.min, s.ticks.map(t => t.value)]; }""")
    assert ticks[0] == 0 and all(float(v).is_integer() for v in ticks[1])
    for key in ("stages", "wip", "rates", "routes"):
        page.locator(f'[data-chart="{key}"] .dash-toggle').click()
    # each headline figure explains itself on keyboard focus (and hover)
    tile = page.locator("#dash-kpis .dash-kpi", has_text="Lead time p95")
    tile.focus()
    tip = tile.locator(".dash-tip")
    assert tip.is_visible() and "95 in 100" in tip.inner_text()
    assert tile.get_attribute("aria-describedby") == tip.get_attribute("id")
    page.locator("#dash-kpis .dash-kpi").nth(1).hover()
    assert page.locator("#kpi-help-1").is_visible() and "reached the end" in page.locator("#kpi-help-1").inner_text()
    page.evaluate("() => window.scrollTo(0, 0)")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "names", full_page=False), DOCS / "dashboard-names.png")
    assert axe_serious(page) == []
    page.mouse.move(5, 5)
    # a Process nothing ran in: "no data yet", not empty axes
    page.select_option("#dash-filters select[name=process]", "quiet")
    page.wait_for_function(f"() => window.procly_dashboards.data.filters.process_id === {quiet.id}")
    page.wait_for_function("() => document.querySelectorAll('.dash-chart.dash-empty').length === 6")
    assert page.locator(".dash-nodata:visible").count() == 6
    assert "No data yet" in page.locator('[data-chart="throughput"]').inner_text()
    shutil.copy(screenshot(page, "empty", full_page=False), DOCS / "dashboard-empty.png")
    assert axe_serious(page) == []
