"""The slot picker in Chromium: a participant in New York on a 390×844 phone picks a time of a Paris
office and sees it in their own zone; the booking stores UTC and their zone; axe-core finds nothing.
Staff book from the Task page in theirs (Tokyo). Screenshot: docs/screenshots/portal-slot-picker.png."""
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
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
def test_staff_book_from_the_task_page(world, frozen, live_server, browser, login_page):
    task_id = world.start()
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
    page.locator(".slot-picker").wait_for(state="detached")
    db.session.expire_all()
    assert db.session.get(Task, task_id).values["when"] == "2030-01-07T08:00:00+00:00"
    assert db.session.scalar(select(Booking)).time_zone == "Asia/Tokyo"
    ctx.close()
