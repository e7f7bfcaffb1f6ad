"""An analyst builds the reference Client intake from scratch, through the UI only, and publishes it:
a Spam filter (Set fields without code, then a qualifying Stage whose Route sends good leads to a
Split), an Intake with a form and an approval with SLAs and a condition Route to Follow-up, and a
Split 80/20 between the Intake and its variant. axe-core finds nothing serious on the pages."""
from __future__ import annotations

import shutil

import pytest

from tests.builder_ui.axe import DOCS, serious
from tests.builder_ui.conftest import wait_saved

pytestmark = pytest.mark.browser


def create_process(page, base, name, key):
    page.goto(f"{base}/builder")
    page.fill("#create-form input[name=name]", name)
    assert page.input_value("#create-form input[name=key]") == key
    page.select_option("#create-form select[name=table]", "clients")
    page.select_option("#create-form select[name=team]", "Intake")
    page.click("#create-form button[type=submit]")
    page.wait_for_url(f"**/builder/{key}")
    page.wait_for_selector("#builder[data-ready=true]")


def add_stage(page, type_, key, name):
    """From the palette by keyboard; then named and keyed in the panel (typing applied on a pause)."""
    before = page.evaluate("() => window.builderState.def.stages.length")
    page.focus(f'#palette .type[data-type="{type_}"]')
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => window.builderState.def.stages.length === {before + 1}")
    new = page.evaluate("() => window.builderState.def.stages.at(-1).key")
    page.click(f'.card[data-key="{new}"] .card-head')
    page.locator('#panel input[name="name"]').fill(name)
    key_input = page.locator('#panel input[name="key"]')
    key_input.fill(key)
    key_input.press("Enter")
    page.wait_for_selector(f'.card[data-key="{key}"]')
    wait_saved(page)


def condition(page, field, op, value, *, on='#panel [data-cond="trigger"]'):
    box = page.locator(on)
    box.locator(".add-cond").click()
    box.locator('select[aria-label="Field"]').last.select_option(field)
    box.locator('select[aria-label="Operator"]').last.select_option(op)
    val = box.locator('[aria-label="Value"]').last
    if val.evaluate("n => n.tagName") == "SELECT":
        val.select_option(value)
    else:
        val.fill(value)
        val.dispatch_event("change")


def publish(page, note):
    wait_saved(page)
    page.click("#publish")
    page.wait_for_selector("#publish-diff > *")
    page.fill("#publish-dialog textarea", note)
    page.click("#publish-confirm")
    page.wait_for_selector("#notice:has-text('Published Version')")


def test_analyst_builds_the_client_intake_from_scratch(demo, designer_api, live_server, page, login_page,
                                                       screenshot):
    page.set_viewport_size({"width": 1366, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login_page(page, live_server, "designer@procly.local")

    # --- Intake: a form collected on the portal, approved by Compliance within 48 h ----------------
    create_process(page, live_server, "Client intake", "client-intake")
    add_stage(page, "form", "collect", "Collect basic information")
    page.locator('#panel textarea[name="config.instructions"]').fill("Tell us who you are and what you need.")
    for f in ("name", "email", "location", "budget"):
        page.check(f'#panel input[name="writes.{f}"]')
    for f in ("name", "email"):
        page.check(f'#panel input[name="config.required.{f}"]')
    page.select_option('#panel select[name="visibility.external"]', "action")
    page.select_option('#panel select[name="roles.responsible"]', "team:Intake")
    page.check('#panel input[name="approval.required"]')
    page.select_option('#panel select[name="approval.approvers"]', "team:Compliance")
    page.locator('#panel input[name="approval.sla.due"]').fill("48h")
    page.locator('#panel input[name="approval.sla.reminders"]').fill("24h")
    page.locator('#panel input[name="sla.due"]').fill("3d")
    page.locator('#panel input[name="sla.escalate_after"]').fill("2d")
    wait_saved(page)
    # a condition Route to Follow-up when the client is out of the area
    page.click("#add-route")
    page.wait_for_selector('#panel select[name="route.target"]')
    page.locator('#panel input[name="route.name"]').fill("Outside service area")
    page.select_option('#panel select[name="route.stage"]', "collect")
    condition(page, "location", "==", "out_of_area")
    page.select_option('#panel select[name="route.target"]', "follow-up")
    wait_saved(page)
    # eligibility set without code
    add_stage(page, "compute", "assess", "Assess eligibility")
    page.click('#panel .set-fields button:has-text("+ Set a field")')
    page.select_option('#panel select[aria-label="Field to set 1"]', "eligible")
    page.select_option('#panel select[aria-label="How 1"]', "value")
    page.select_option('#panel select[aria-label="Value 1"]', "true")
    wait_saved(page)
    assert page.evaluate("() => window.builderState.errors") == []
    assert serious(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    page.click('.card[data-key="collect"] .card-head')
    shutil.copy(screenshot(page, "intake", full_page=False), DOCS / "builder-journey-intake.png")
    publish(page, "Client intake, first Version")

    # --- the variant: a copy, published too ---------------------------------------------------------
    page.goto(f"{live_server}/builder")
    dup = page.locator('tr[data-key="client-intake"] details.dup')
    dup.locator("summary").click()
    dup.locator('input[name="key"]').fill("client-intake-new")
    dup.locator('input[name="name"]').fill("Client intake (new)")
    dup.locator("button").click()
    page.wait_for_selector('.flash:has-text("Duplicated")')
    page.goto(f"{live_server}/builder/client-intake-new")
    page.wait_for_selector("#builder[data-ready=true]")
    publish(page, "The variant")

    # --- the Split, 80/20 ---------------------------------------------------------------------------
    page.goto(f"{live_server}/builder")
    page.click("#new-split summary")
    page.fill("#split-form input[name=name]", "Client intake A/B")
    rows = page.locator("#split-variants .variant-row")
    rows.nth(0).locator("select[name=process]").select_option("client-intake")
    rows.nth(0).locator("input[name=weight]").fill("80")
    rows.nth(1).locator("select[name=process]").select_option("client-intake-new")
    rows.nth(1).locator("input[name=weight]").fill("20")
    page.click("#split-form button[type=submit]")
    page.wait_for_url("**/builder/splits/client-intake-a-b")
    page.wait_for_selector(".split-row")
    assert serious(page) == []

    # --- the Spam filter, whose qualified leads go to the Split --------------------------------------
    create_process(page, live_server, "Lead spam filter", "lead-spam-filter")
    add_stage(page, "compute", "score", "Score the lead")
    page.click('#panel .set-fields button:has-text("+ Set a field")')
    page.select_option('#panel select[aria-label="Field to set 1"]', "spam_score")
    page.select_option('#panel select[aria-label="How 1"]', "math")
    page.select_option('#panel select[aria-label="First number 1"]', "budget")
    page.select_option('#panel select[aria-label="Operation 1"]', "*")
    page.locator('#panel input[aria-label="Second number 1: number"]').fill("0")
    page.locator('#panel input[aria-label="Second number 1: number"]').press("Tab")
    wait_saved(page)
    add_stage(page, "basic", "qualify", "Qualify the lead")
    page.click("#add-route")
    page.wait_for_selector('#panel select[name="route.target"]')
    page.locator('#panel input[name="route.name"]').fill("Qualified lead")
    condition(page, "spam_score", "<", "0.5")
    page.select_option('#panel select[name="route.target"]', "split:client-intake-a-b")
    wait_saved(page)
    assert page.evaluate("() => window.builderState.errors") == []
    # the expression the form wrote opens as the form again
    page.click('.card[data-key="score"] .card-head')
    assert page.locator('#panel select[aria-label="How 1"]').input_value() == "math"
    publish(page, "Spam filter, first Version")
    assert serious(page) == []
    assert errors == []

    # --- what was built -----------------------------------------------------------------------------
    intake = designer_api.get("/api/v1/processes/client-intake/versions/1").get_json()["definition"]
    collect = next(s for s in intake["stages"] if s["key"] == "collect")
    assert collect["type"] == "form" and collect["config"]["required"] == ["name", "email"]
    assert collect["approval"]["approvers"] == ["team:Compliance"]
    assert (collect["approval"]["sla"]["due"], collect["approval"]["sla"]["reminders"]) == ("48h", ["24h"])
    assert (collect["sla"]["due"], collect["sla"]["escalate_after"]) == ("3d", "2d")
    assert collect["visibility"]["external"] == "action"
    route = intake["routes"][0]
    assert route["stage"] == "collect" and route["target"]["process"] == "follow-up"
    assert route["trigger"] == {"type": "condition", "condition": 'location == "out_of_area"'}
    assess = next(s for s in intake["stages"] if s["key"] == "assess")
    assert assess["config"]["assignments"] == {"eligible": "true"} and assess["writes"] == ["eligible"]
    split = designer_api.get("/api/v1/splits/client-intake-a-b").get_json()
    assert [(v["process"], v["weight"]) for v in split["variants"]] == [("client-intake", 80), ("client-intake-new", 20)]
    spam = designer_api.get("/api/v1/processes/lead-spam-filter/versions/1").get_json()["definition"]
    assert spam["routes"][0]["target"]["split"] == "client-intake-a-b"
    score = next(s for s in spam["stages"] if s["key"] == "score")
    assert score["config"]["assignments"] == {"spam_score": "budget * 0"}
    assert score["reads"] == ["budget"] and score["writes"] == ["spam_score"]

