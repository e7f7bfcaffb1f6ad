"""The Calendar Schedule Stage's config panel in the builder, generated from its JSON Schema: plain
labels, checkboxes for the working days, time pickers, a time-zone box, a choice of the Table's
datetime Fields and of who hosts — no JSON typed. Screenshot: docs/screenshots/builder-calendar-panel.png."""
import shutil
from pathlib import Path

import pytest

from tests.builder_ui.conftest import open_editor, wait_saved

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.browser
def test_calendar_config_panel(fresh_process, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 1000})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    card = page.locator('#palette .type[data-type="calendar_schedule"]')
    assert card.locator(".icon").get_attribute("data-glyph") == "calendar"
    card.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="calendar_schedule_1"]')
    page.click('.card[data-key="calendar_schedule_1"]')
    panel = page.locator("#panel")
    panel.locator('select[name="config.field"]').wait_for()
    # only datetime Fields are offered for the booked time
    assert panel.locator('select[name="config.field"] option').all_inner_texts() == ["— choose a Field —",
                                                                                       "First appointment"]
    panel.locator('select[name="config.field"]').select_option("appointment_at")
    assert panel.locator('select[name="config.host_kind"] option').all_inner_texts() == [
        "A person", "A Team", "A Field holding the host"]
    assert panel.locator('select[name="config.host_kind"]').input_value() == "team"
    days = panel.locator('input[type=checkbox][name^="config.working_days."]')
    assert days.count() == 7 and [d.is_checked() for d in days.all()] == [True] * 5 + [False] * 2
    panel.locator('input[name="config.working_days.sat"]').check()
    panel.locator('input[name="config.working_days.mon"]').uncheck()
    start = panel.locator('input[type=time][name="config.day_start"]')
    assert start.input_value() == "09:00"
    start.fill("08:30")
    start.dispatch_event("change")
    zone = panel.locator('input[name="config.time_zone"]')
    assert zone.get_attribute("list") == "tz-options"
    assert page.evaluate("() => document.querySelectorAll('#tz-options option').length") > 300
    zone.fill("Europe/Paris")
    zone.dispatch_event("change")
    host = panel.locator('[name="config.host"]')
    host.fill("Intake")
    host.dispatch_event("change")
    panel.locator('input[name="config.slot_minutes"]').fill("45")
    panel.locator('input[name="config.slot_minutes"]').dispatch_event("change")
    assert "Appointment length (minutes)" in panel.inner_text() and "Working days" in panel.inner_text()
    page.locator('.card[data-key="calendar_schedule_1"]').click()
    config = page.evaluate("() => window.builderState.def.stages[0].config")
    assert config["field"] == "appointment_at" and config["time_zone"] == "Europe/Paris"
    assert config["working_days"] == ["tue", "wed", "thu", "fri", "sat"] and config["day_start"] == "08:30"
    assert config["host"] == "Intake" and config["slot_minutes"] == 45
    # the Field it writes must be in the Stage's writes: ticked, the problem goes away
    panel = page.locator("#panel")
    panel.locator('input[name="writes.appointment_at"]').check()
    page.locator('.card[data-key="calendar_schedule_1"] .errors, .card[data-key="calendar_schedule_1"] li').first \
        .wait_for(state="detached")
    wait_saved(page)
    labels = page.evaluate("() => [...document.querySelectorAll('#panel [data-section=config] label, #panel "
                           "[data-section=config] legend')].map(l => l.firstChild.textContent.trim())")
    assert labels[:3] == ["Booked time goes to", "Time zone", "Working days"], labels
    page.evaluate("() => document.querySelector('#panel [data-section=config]').scrollIntoView()")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "panel", full_page=False), DOCS / "builder-calendar-panel.png")
