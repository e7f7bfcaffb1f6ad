"""The editor never loses work and works from the keyboard: typing is saved without leaving the field,
keys are checked as typed, every problem opens its card, Publish shows what changes, actions apply to
the focused card, the shortcut help, new Processes appear among Route targets, and axe-core finds
nothing serious or critical with the panel open."""
from __future__ import annotations

import shutil

import pytest

from tests.builder_ui.axe import DOCS, serious
from tests.builder_ui.conftest import open_editor, wait_saved

pytestmark = pytest.mark.browser

STATE = "() => document.querySelector('#save-state').textContent"


def stages(page):
    return page.evaluate("() => window.builderState.def.stages.map(s => [s.key, s.column])")


def add_stages(page, n):
    for _ in range(n):
        page.click("#add-stage")
    wait_saved(page)


def test_typing_is_saved_without_leaving_the_field(fresh_process, designer_api, live_server, page, login_page):
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    add_stages(page, 1)
    page.click('.card[data-key="basic_1"]')
    page.locator('#panel input[name="name"]').select_text()
    page.keyboard.type("Review the lead", delay=20)
    page.locator('#panel textarea[name="config.instructions"]').click()
    page.keyboard.type("Call the client within a day.")
    # not saved yet: the status says so, and leaving the page would ask first
    assert page.evaluate(STATE) == "Unsaved changes…"
    assert page.evaluate("() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; }")
    # the focus never left the textarea: still saved after the pause
    page.wait_for_function(f"() => ({STATE})() === 'All changes saved'", timeout=15000)
    assert page.evaluate("() => document.activeElement.name") == "config.instructions"
    stage = designer_api.get(f"/api/v1/processes/{fresh_process}/draft").get_json()["definition"]["stages"][0]
    assert stage["name"] == "Review the lead"
    assert stage["config"]["instructions"] == "Call the client within a day."
    page.reload()
    page.wait_for_selector("#builder[data-ready=true]")
    assert "Review the lead" in page.locator('.card[data-key="basic_1"]').inner_text()


def test_keys_are_checked_as_typed_and_focus_stays(fresh_process, live_server, page, login_page):
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    add_stages(page, 2)
    page.click('.card[data-key="basic_2"]')
    key = page.locator('#panel input[name="key"]')
    key.fill("basic_1")
    assert page.locator("#panel .key-error").inner_text() == "Another stage already has the key “basic_1”."
    assert key.get_attribute("aria-invalid") == "true"
    key.press("Enter")
    key.fill("Check Budget")
    assert "Use lowercase letters" in page.locator("#panel .key-error").inner_text()
    key.press("Tab")
    assert [k for k, _ in stages(page)] == ["basic_1", "basic_2"]      # nothing applied
    page.locator('#panel input[name="key"]').fill("check_budget")
    assert page.locator("#panel .key-error").inner_text() == ""
    page.locator('#panel input[name="key"]').press("Enter")
    page.wait_for_function("() => window.builderState.def.stages[1].key === 'check_budget'")
    assert page.evaluate("() => document.activeElement.name") == "key"
    wait_saved(page)


def test_actions_apply_to_the_focused_card(fresh_process, live_server, page, login_page):
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    add_stages(page, 3)
    page.click('.card[data-key="basic_1"]')         # selected: its panel is open
    page.focus('.card[data-key="basic_3"]')          # but the focus is elsewhere
    page.keyboard.press("Alt+ArrowUp")               # basic_3 runs in parallel with basic_2
    assert stages(page) == [["basic_1", 0], ["basic_2", 1], ["basic_3", 1]]
    assert page.evaluate("() => document.activeElement.dataset.key") == "basic_3"
    page.keyboard.press("Alt+ArrowDown")             # no column after it: stays
    page.keyboard.press("Alt+ArrowRight")            # leaves the parallel group
    assert stages(page) == [["basic_1", 0], ["basic_2", 1], ["basic_3", 2]]
    page.keyboard.press("Delete")
    assert [k for k, _ in stages(page)] == ["basic_1", "basic_2"]
    assert "Deleted the stage" in page.inner_text("#notice")
    page.keyboard.press("Control+z")
    assert [k for k, _ in stages(page)] == ["basic_1", "basic_2", "basic_3"]
    # the shortcut help, with the focus inside it
    page.focus('.card[data-key="basic_2"]')
    page.keyboard.press("?")
    page.wait_for_selector("#shortcuts-dialog[open]")
    assert page.evaluate("() => !!document.activeElement.closest('#shortcuts-dialog')")
    assert serious(page) == []
    page.keyboard.press("Escape")
    wait_saved(page)


def test_every_problem_opens_its_card_and_publish_shows_the_changes(fresh_process, designer_api, live_server,
                                                                    page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    add_stages(page, 2)
    page.click('.card[data-key="basic_1"]')
    page.fill('#panel input[name="name"]', "Welcome")
    page.locator('#panel input[name="name"]').press("Tab")
    wait_saved(page)
    page.click("#publish")
    page.click("#publish-confirm")
    page.wait_for_function("() => !document.querySelector('#publish-dialog').open")
    # a problem on the second card: an SLA that is not a duration
    page.click('.card[data-key="basic_2"]')
    page.fill('#panel input[name="sla.due"]', "soon")
    page.locator('#panel input[name="sla.due"]').press("Tab")
    wait_saved(page)
    page.click('.card[data-key="basic_1"]')
    page.wait_for_selector("#problems-btn:not([hidden])")
    assert page.inner_text("#problems-btn") == "1 problem"
    page.click("#problems-btn")
    problem = page.locator("#problems-box button.problem")
    assert problem.inner_text().startswith("Stage “Basic 2” · SLA:")
    problem.click()
    assert page.evaluate("() => window.builderState.selected.key") == "basic_2"
    assert page.locator('.card[data-key="basic_2"]').get_attribute("class").count("has-error") == 1
    assert page.evaluate("() => !!document.activeElement.closest('[data-section=sla]')")
    # Publish: the problems as buttons, and the draft compared with Version 1
    page.click("#publish")
    page.wait_for_selector('#publish-diff .card[data-diff="changed"][data-key="basic_2"]')
    assert page.locator("#publish-errors button.problem").count() == 1
    screenshot(page, "publish", full_page=False)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "publish", full_page=False), DOCS / "builder-publish.png")
    page.locator("#publish-errors button.problem").click()
    page.wait_for_function("() => !document.querySelector('#publish-dialog').open")
    page.fill('#panel input[name="sla.due"]', "2d")
    page.locator('#panel input[name="sla.due"]').press("Tab")
    wait_saved(page)
    page.wait_for_selector("#problems-btn[hidden]", state="attached")
    assert page.locator("#panel .field-errors").count() == 0      # the stale error went with it


def test_route_targets_follow_new_processes_and_errors_clear(fresh_process, designer_api, live_server, page,
                                                            login_page):
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    add_stages(page, 1)
    page.click("#add-route")
    page.wait_for_selector('#panel select[name="route.target"]')
    page.select_option('#panel select[name="route.target"]', "")
    wait_saved(page)
    page.wait_for_selector('#panel [data-section="target"] .field-errors')
    r = designer_api.post("/api/v1/processes", json={"key": "late-comer", "name": "Late comer", "table": "clients",
                                                     "team": "Intake"})
    assert r.status_code == 201, r.get_json()
    page.evaluate("() => window.dispatchEvent(new Event('focus'))")
    page.wait_for_selector('#panel select[name="route.target"] option[value="late-comer"]', state="attached")
    page.select_option('#panel select[name="route.target"]', "late-comer")
    wait_saved(page)
    # the error of the empty target is gone although the list still has the focus
    page.wait_for_function("() => !document.querySelector('#panel [data-section=target] .field-errors')")


def test_panel_uses_pickers_and_plain_words(fresh_process, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    page.focus('#palette .type[data-type="form"]')
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="form_1"]')
    page.click('.card[data-key="form_1"]')
    panel = page.locator("#panel")
    assert "Instructions for the person doing it" in panel.inner_text()
    page.check('#panel input[name="writes.name"]')
    page.check('#panel input[name="writes.email"]')
    page.check('#panel input[name="config.required.email"]')
    page.select_option('#panel select[name="roles.responsible"]', "team:Intake")
    page.check('#panel input[name="approval.required"]')
    page.select_option('#panel select[name="approval.approvers"]', "team:Compliance")
    assert page.locator('#panel .ref-chip[data-ref="team:Compliance"]').inner_text().startswith("Team Compliance")
    assert page.locator('#panel select[name="roles.approver"]').count() == 0     # one approver setting
    wait_saved(page)
    s = page.evaluate("() => window.builderState.def.stages[0]")
    assert s["config"]["required"] == ["email"]
    assert s["roles"]["responsible"] == ["team:Intake"] and s["approval"]["approvers"] == ["team:Compliance"]
    page.click('#panel button[aria-label="Remove Team Compliance from who approves"]')
    wait_saved(page)
    assert page.evaluate("() => window.builderState.def.stages[0].approval.approvers") == []
    assert serious(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "editor", full_page=False), DOCS / "builder-editor.png")
