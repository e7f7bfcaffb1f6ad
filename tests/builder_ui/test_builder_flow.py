"""The builder end to end in Chromium: build a lane by dragging, configure it, publish, diff, roll back."""
from __future__ import annotations

import pytest

from tests.builder_ui.conftest import drag_until, open_editor, wait_saved

pytestmark = pytest.mark.browser


def set_value(page, selector, value):
    loc = page.locator(selector)
    loc.fill(value)
    loc.dispatch_event("change")


def test_list_page_shows_processes_and_creates_one(demo, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder")
    rows = page.locator("#process-list tbody tr")
    assert rows.count() == 6
    intake = page.locator('tr[data-key="intake"]')
    assert "v1" in intake.inner_text() and "Intake" in intake.inner_text()
    assert "up to date" in intake.inner_text()
    screenshot(page, "list", full_page=False)
    page.fill("#create-form input[name=name]", "Brand new")
    page.select_option("#create-form select[name=table]", "clients")
    page.click("#create-form button[type=submit]")
    page.wait_for_url("**/builder/brand-new")
    page.wait_for_selector("#builder[data-ready=true]")
    page.goto(f"{live_server}/builder")
    assert "never published" in page.locator('tr[data-key="brand-new"]').inner_text()
    # duplicate and archive
    page.locator('tr[data-key="referral"] details.dup summary').click()
    page.locator('tr[data-key="referral"] details.dup button').click()
    page.wait_for_selector('.flash:has-text("Duplicated")')
    assert page.locator('tr[data-key="referral-copy"]').count() == 1
    page.once("dialog", lambda d: d.accept())
    page.locator('tr[data-key="referral-copy"] form.inline button').click()
    page.wait_for_selector('.flash:has-text("Archived")')
    assert page.locator('tr[data-key="referral-copy"]').count() == 0


def test_build_configure_and_publish(fresh_process, designer_api, live_server, page, login_page, screenshot):
    key = fresh_process
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, key)

    palette = lambda t: page.locator(f'#palette .type[data-type="{t}"]')  # noqa: E731
    drag_until(page, palette("basic"), page.locator(".column.new .cards"), '.card[data-key="basic_1"]')
    drag_until(page, palette("form"), page.locator(".column.new .cards"), '.card[data-key="form_1"]')
    # onto the second column: runs in parallel with form_1
    drag_until(page, palette("basic"), page.locator('.cards[data-col="1"]'), '.card[data-key="basic_2"]')
    stages = page.evaluate("() => window.builderState.def.stages.map(s => [s.key, s.column])")
    assert sorted(stages, key=lambda x: (x[1], x[0])) == [["basic_1", 0], ["basic_2", 1], ["form_1", 1]]

    # Stage 1: a review needing approval within 48h, with reminders
    page.click('.card[data-key="basic_1"]')
    set_value(page, '#panel input[name="name"]', "Review budget")
    page.check('#panel input[name="reads.budget"]')
    page.check('#panel input[name="reads.location"]')
    page.check('#panel input[name="approval.required"]')
    page.select_option('#panel select[name="approval.approvers"]', "team:Compliance")
    set_value(page, '#panel input[name="approval.sla.due"]', "48h")
    set_value(page, '#panel input[name="approval.sla.reminders"]', "24h, 36h")
    assert page.locator('.card[data-key="basic_1"] .badge.approval').count() == 1
    assert "SLA 48h" in page.locator('.card[data-key="basic_1"]').inner_text()

    # Stage 2: starts only when the budget is large enough (point-and-click condition)
    page.click('.card[data-key="form_1"]')
    cond = page.locator('#panel [data-cond="start_when"]')
    cond.locator(".add-cond").click()
    cond.locator('select[aria-label="Field"]').select_option("budget")
    cond.locator('select[aria-label="Operator"]').select_option(">=")
    set_value(page, '#panel [data-cond="start_when"] input[aria-label="Value"]', "100")
    cond.locator(".add-cond").click()
    cond.locator('select[aria-label="Field"]').nth(1).select_option("location")
    cond.locator('select[aria-label="Operator"]').nth(1).select_option("!=")
    cond.locator('select[aria-label="Value"]').select_option("out_of_area")
    assert page.evaluate("() => window.builderState.def.stages.find(s => s.key === 'form_1').start_when") == \
        'budget >= 100 && location != "out_of_area"'

    # Route from stage 1 to Referral when the budget is small
    page.click('.card[data-key="basic_1"]')
    page.click("#add-route")
    set_value(page, '#panel input[name="route.name"]', "Budget too small")
    page.select_option('#panel select[name="route.target"]', "referral")
    rc = page.locator('#panel [data-cond="trigger"]')
    rc.locator(".add-cond").click()
    rc.locator('select[aria-label="Field"]').select_option("budget")
    rc.locator('select[aria-label="Operator"]').select_option("<")
    set_value(page, '#panel [data-cond="trigger"] input[aria-label="Value"]', "1000")
    chip = page.locator('.card[data-key="basic_1"] .route-chip')
    assert "Referral" in chip.inner_text() and "when Budget is below 1000" in chip.inner_text()
    page.click('.card[data-key="basic_1"]')
    wait_saved(page)
    assert page.evaluate("() => window.builderState.errors") == []
    screenshot(page, "editor", full_page=False)

    page.click("#publish")
    page.fill("#publish-dialog textarea", "First cut of the UI intake")
    page.click("#publish-confirm")
    page.wait_for_selector("#notice:has-text('Published Version 1')")

    v = designer_api.get(f"/api/v1/processes/{key}/versions/1").get_json()
    assert v["number"] == 1 and v["note"] == "First cut of the UI intake" and v["author"] == "Dana Designer"
    d = v["definition"]
    assert [(s["key"], s["column"], s["type"]) for s in d["stages"]] == \
        [("basic_1", 0, "basic"), ("form_1", 1, "form"), ("basic_2", 1, "basic")] or \
        [(s["key"], s["column"], s["type"]) for s in d["stages"]] == \
        [("basic_1", 0, "basic"), ("basic_2", 1, "basic"), ("form_1", 1, "form")]
    review = d["stages"][0]
    assert review["name"] == "Review budget"
    assert review["reads"] == ["location", "budget"] or sorted(review["reads"]) == ["budget", "location"]
    assert review["approval"]["required"] is True
    assert review["approval"]["approvers"] == ["team:Compliance"]
    assert review["approval"]["sla"]["due"] == "48h" and review["approval"]["sla"]["reminders"] == ["24h", "36h"]
    form = next(s for s in d["stages"] if s["key"] == "form_1")
    assert form["start_when"] == 'budget >= 100 && location != "out_of_area"'
    assert all(s["start_when"] is None for s in d["stages"] if s["key"] != "form_1")
    assert len(d["routes"]) == 1
    r = d["routes"][0]
    assert r["name"] == "Budget too small" and r["stage"] == "basic_1"
    assert r["trigger"] == {"type": "condition", "condition": "budget < 1000"}
    assert r["target"]["process"] == "referral"


def test_publish_change_diff_and_rollback(demo, designer_api, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "intake")
    # keyboard: add a stage, move it left, then change a name, publish v2
    page.click('.card[data-key="schedule"]')
    page.click("#add-stage")
    new_key = page.evaluate("() => window.builderState.selected.key")
    page.locator(f'.card[data-key="{new_key}"]').focus()
    page.keyboard.press("Alt+ArrowLeft")
    order = page.evaluate("() => window.builderState.def.stages.map(s => s.key)")
    assert order.index(new_key) == order.index("schedule") - 1
    page.click('.card[data-key="confirm"] .card-head')
    set_value(page, '#panel input[name="name"]', "Confirm eligibility (v2)")
    set_value(page, '#panel input[name="approval.sla.due"]', "24h")
    page.select_option('#panel select[name="roles.informed"]', "team:Compliance")
    page.select_option('#panel select[name="roles.informed"]', "user:manager@procly.local")
    wait_saved(page)
    page.click("#publish")
    page.fill("#publish-dialog textarea", "Add a step")
    page.click("#publish-confirm")
    page.wait_for_selector("#notice:has-text('Published Version 2')")

    page.click("#show-versions")
    page.wait_for_selector('#versions tr[data-version="2"]')
    assert "Add a step" in page.locator("#versions").inner_text()
    page.select_option("#cmp-from", "1")
    page.select_option("#cmp-to", "2")
    page.click("#compare")
    page.wait_for_selector("#diff .diff-lane")
    assert page.locator(f'#diff .card[data-key="{new_key}"]').get_attribute("data-diff") == "added"
    assert page.locator('#diff .card[data-key="confirm"]').get_attribute("data-diff") == "changed"
    assert page.locator('#diff .card[data-key="collect"]').get_attribute("data-diff") == "same"
    # before → after values for each changed property, nested objects walked to their leaves
    changes = page.locator('#diff .change-block[data-stage="confirm"]')
    assert changes.locator('li[data-path="approval.sla.due"]').inner_text() == "approval.sla.due: 48h → 24h"
    assert changes.locator('li[data-path="name"]').inner_text() == \
        "name: Confirm eligibility → Confirm eligibility (v2)"
    assert changes.locator('li[data-path="roles.informed"]').inner_text() == \
        "roles.informed: — → team:Compliance, user:manager@procly.local"
    assert page.locator(f'#diff .change-block[data-stage="{new_key}"]').count() == 0   # added, not changed
    page.locator("#diff .diff-details").scroll_into_view_if_needed()
    screenshot(page, "diff", full_page=False)

    page.once("dialog", lambda d: d.accept())
    page.click('#versions button[data-rollback="1"]')
    page.wait_for_selector("#notice:has-text('Rolled back')")
    versions = designer_api.get("/api/v1/processes/intake/versions").get_json()
    assert [v["number"] for v in versions] == [3, 2, 1]
    v3 = designer_api.get("/api/v1/processes/intake/versions/3").get_json()
    v1 = designer_api.get("/api/v1/processes/intake/versions/1").get_json()
    assert v3["content_hash"] == v1["content_hash"]
    page.keyboard.press("Escape")
    assert new_key not in page.evaluate("() => window.builderState.def.stages.map(s => s.key)")
