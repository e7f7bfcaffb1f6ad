"""People in Chromium, entirely in the browser: an admin invites a person on /admin/users, the
outbox delivers the invitation to a real SMTP server, the person opens the link from that email,
chooses a password and signs in; the admin re-roles them and deactivates them, and the person's
open page is signed out at once. axe-core finds nothing on the pages.
Screenshot: docs/screenshots/admin-people.png."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Process, User
from app.notifications.jobs import deliver_due
from tests.accounts.conftest import LINK
from tests.processes import wait_until
from tests.scheduling.test_picker_browser import axe_violations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _user(email: str) -> User | None:
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


@pytest.mark.browser
def test_admin_invites_reroles_and_deactivates_in_the_browser(demo, smtp_sink, live_server, page, browser,
                                                              login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.on("dialog", lambda d: d.accept())
    login_page(page, live_server, "admin@procly.local")
    page.click("nav >> text=People")
    page.wait_for_url(f"{live_server}/admin/users")
    assert axe_violations(page) == []

    invite = page.locator("#invite")
    invite.locator("input[name=email]").fill("nina@example.com")
    invite.locator("input[name=name]").fill("Nina Newcomer")
    invite.locator("select[name=role]").select_option("staff")
    invite.locator("select[name=teams]").select_option(["Intake"])
    invite.locator("button[type=submit]").click()
    page.locator("#people-status", has_text="Invitation sent to nina@example.com.").wait_for()
    row = page.locator('tr[data-email="nina@example.com"]')
    assert "Invited" in row.inner_text()

    # the outbox hands the email to the SMTP server; the person follows the link in it
    assert deliver_due()["sent"] == 1
    wait_until(lambda: smtp_sink.messages(), 30, "the invitation at the SMTP server")
    mail = smtp_sink.messages()[0]
    assert mail["To"] == "nina@example.com" and mail["Subject"] == "You are invited to Procly"
    link = LINK.search(mail.get_content()).group(1)
    assert link.startswith(live_server)

    nina = browser.new_context(viewport={"width": 1000, "height": 800}).new_page()
    nina.goto(link)
    assert "Welcome to Procly" in nina.inner_text("h1")
    assert axe_violations(nina) == []
    nina.fill("input[name=password]", "tulips in the rain")
    nina.fill("input[name=confirm]", "tulips in the rain")
    nina.click("#set-password button[type=submit]")
    nina.locator(".flash.ok", has_text="Your password is set").wait_for()
    login_page(nina, live_server, "nina@example.com", "tulips in the rain")
    assert nina.url.rstrip("/") in (live_server, f"{live_server}/queue")   # staff land on their work
    nina.goto(link)                                                  # the link worked once
    assert "This link no longer works" in nina.inner_text("h1")
    nina.goto(f"{live_server}/queue")
    assert "/login" not in nina.url

    # the admin makes her a manager of Intake and Compliance
    page.reload()
    row = page.locator('tr[data-email="nina@example.com"]')
    assert "Active" in row.inner_text()
    row.locator("select[name=role]").select_option("manager")
    row.locator("select[name=teams]").select_option(["Intake", "Compliance"])
    row.locator("button", has_text="Save").click()
    page.locator("#people-status", has_text="Saved Nina Newcomer: manager.").wait_for()
    user = _user("nina@example.com")
    assert user.role == "manager" and sorted(t.name for t in user.teams) == ["Compliance", "Intake"]
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "people"), DOCS / "admin-people.png")

    # … and deactivates her: her open page is signed out at once
    page.locator('tr[data-email="nina@example.com"] button', has_text="Deactivate").click()
    page.locator("#people-status", has_text="Nina Newcomer is deactivated.").wait_for()
    assert "Deactivated" in page.locator('tr[data-email="nina@example.com"]').inner_text()
    nina.goto(f"{live_server}/queue")
    assert "/login" in nina.url
    assert not _user("nina@example.com").active
    kinds = [e.type for e in db.session.scalars(select(Event).where(Event.type.like("user.%")).order_by(Event.id))
             if e.data.get("user") == user.id]
    assert kinds == ["user.invited", "user.invite_sent", "user.password_set", "user.role_changed",
                     "user.teams_changed", "user.deactivated"]
    assert axe_violations(page) == []


@pytest.mark.browser
def test_a_designer_sets_retention_in_the_builder_list(demo, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder")
    row = page.locator('tr[data-key="intake"]')
    row.locator("summary", has_text="Keep finished Tasks").click()
    row.locator("select[name=action]").select_option("archive")
    row.locator("input[name=days]").fill("365")
    row.locator("form.retention button[type=submit]").click()
    page.locator(".flash", has_text='Finished Tasks of "Intake" are now kept until archived 365 days').wait_for()
    summary = page.locator('tr[data-key="intake"] summary', has_text="Finished Tasks")
    assert summary.inner_text().endswith("archive after 365 days")
    summary.click()
    screenshot(page, "retention")
    assert axe_violations(page) == []
    process = db.session.scalar(select(Process).where(Process.key == "intake").execution_options(populate_existing=True))
    assert (process.retention_days, process.retention_action) == (365, "archive")
