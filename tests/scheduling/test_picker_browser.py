"""The slot picker in Chromium: a participant in New York on a 390×844 phone picks a time of a Paris
office and sees it in their own zone; the booking stores UTC and their zone; axe-core finds nothing.
Staff book from the Task page in theirs (Tokyo). Screenshot: docs/screenshots/portal-slot-picker.png."""
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.processes import wait_until
from app.models import Booking, Task
from app.participants import links
from tests.scheduling.conftest import calendar_stage

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FOLLOW = {"key": "follow", "name": "Follow up", "type": "basic", "reads": [], "writes": ["note"],
          "roles": {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": []}}


def axe_violations(page) -> list:
    page.evaluate(AXE.read_text())     # evaluated, not a <script> tag: the page's CSP stays in force
    return page.evaluate("async () => (await axe.run(document)).violations.map(v => [v.id, v.nodes.map(n => n.target.join(' ') + ' ' + (n.any[0]||{}).message)])")


@pytest.mark.browser
def test_participant_picks_a_slot_on_a_phone(world, frozen, live_server, browser, screenshot):
    world.process("visit2", [calendar_stage(instructions="Pick a time for your first visit."), FOLLOW])
    task_id = world.start("visit2", {"name": "Robin", "email": "robin@client.test"})
    _, secret = links.invite(db.session.get(Task, task_id), "robin@client.test")
    db.session.commit()
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="America/New_York",
                              locale="en-US")
    page = ctx.new_page()
    page.goto(f"{live_server}/portal/t/{secret}")
    page.locator(".slot-days button").first.wait_for()
    assert "America/New_York" in page.locator(".slot-picker").inner_text()
    days = page.locator(".slot-days button")
    assert days.first.get_attribute("aria-pressed") == "true" and days.first.inner_text() == "Mon, Jan 7"
    # 09:00, 10:00, 11:00 in Paris are 03:00, 04:00, 05:00 in New York
    assert page.locator(".slot-times button").all_inner_texts() == ["03:00 AM", "04:00 AM", "05:00 AM"]
    days.nth(1).click()
    page.locator(".slot-times button", has_text="04:00 AM").click()
    book = page.locator("button.slot-book")
    assert book.inner_text() == "Book Tuesday, January 8 at 04:00 AM"
    assert axe_violations(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "picker", full_page=False), DOCS / "portal-slot-picker.png")
    book.click()
    page.wait_for_url(re.compile(r"/portal/\?booked=\d+"))
    assert "your appointment is booked" in page.content()
    assert axe_violations(page) == []
    db.session.expire_all()
    assert db.session.get(Task, task_id).values["when"] == "2030-01-08T09:00:00+00:00"
    booking = db.session.scalar(select(Booking))
    assert booking.time_zone == "America/New_York"
    ctx.close()


@pytest.mark.browser
def test_staff_book_move_and_cancel_from_the_task_page(world, frozen, live_server, browser, login_page):
    DOCS.mkdir(parents=True, exist_ok=True)
    world.process("visit2", [calendar_stage(), {"key": "follow", "name": "Follow up", "type": "basic", "reads": [],
                                                "writes": ["note"]}])
    task_id = world.start("visit2")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo", locale="en-GB")
    page = ctx.new_page()
    login_page(page, live_server, "staff@x.test", "pw-secret-1")
    page.goto(f"{live_server}/queue/tasks/{task_id}")
    page.locator(".slot-days button").first.wait_for()
    # 09:00 Paris on Monday = 17:00 in Tokyo
    assert page.locator(".slot-times button").all_inner_texts()[0] == "17:00"
    page.locator(".slot-times button").first.click()
    page.locator("button.slot-book").click()
    page.wait_for_load_state()
    appointment = page.locator("[data-booking]")
    appointment.wait_for()            # booked: the appointment, with Move and Cancel
    db.session.expire_all()
    assert db.session.get(Task, task_id).values["when"] == "2030-01-07T08:00:00+00:00"
    assert db.session.scalar(select(Booking)).time_zone == "Asia/Tokyo"
    # staff move it: the picker opens inside "Move the appointment"
    page.get_by_text("Move the appointment").click()
    appointment.locator(".slot-times button").first.wait_for()
    assert axe_violations(page) == []
    appointment.screenshot(path=str(DOCS / "task-calendar-booked.png"))
    appointment.locator(".slot-times button").nth(1).click()
    assert appointment.locator("button.slot-book").inner_text().startswith("Move to ")
    appointment.locator("button.slot-book").click()
    page.wait_for_function("() => !document.querySelector('.slot-status')?.textContent.includes('Moving')")
    wait_until(lambda: _starts() == "2030-01-07T09:00:00", 60, "the appointment moved to 10:00 Paris")
    # and cancel it: a confirmation names the time; the step opens again for a new booking
    page.goto(f"{live_server}/queue/tasks/{task_id}")
    page.once("dialog", lambda d: (assert_dialog(d), d.accept()))
    page.get_by_role("button", name="Cancel the appointment").click()
    page.locator(".slot-days button").first.wait_for()     # a new run of the step, to book again
    db.session.expire_all()
    assert db.session.scalar(select(Booking)).status == "cancelled"
    ctx.close()


def assert_dialog(dialog):
    assert "this step opens again" in dialog.message, dialog.message


def _starts():
    db.session.expire_all()
    return db.session.scalar(select(Booking)).starts_at.isoformat()
