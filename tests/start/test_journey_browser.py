"""Issue 16's staff journey in Chromium, through the UI only: staff land on their work, start a Task
with "New task" (a refused email keeps every other answer), work it on the typed form, tick its
checklist, and move it (no default target; the choice kept after an error; a confirmation naming the
target). An admin switches the Process's public intake form on and a member of the public fills it
on a 390×844 phone. axe-core: no serious or critical violation on any of these pages. Screenshots:
docs/screenshots/start-form.png, task-checklist.png, intake-form.png, home-overview.png."""
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, StageRun, Task

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list:
    """axe-core's serious and critical violations (evaluated, not a <script>: the CSP stays in force)."""
    page.evaluate(AXE.read_text())
    return page.evaluate("async () => (await axe.run(document)).violations.filter(v => ['serious', 'critical']"
                         ".includes(v.impact)).map(v => [v.id, v.nodes.map(n => n.target.join(' '))])")


def _run(task_id, key):
    db.session.expire_all()
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task_id, StageRun.stage_key == key)
                             .order_by(StageRun.id.desc()))


@pytest.mark.browser
def test_staff_start_work_and_move_a_task(app, demo, live_server, browser, login_page, screenshot):
    DOCS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    login_page(page, live_server, "staff@procly.local")
    assert page.url.endswith("/queue")                                   # staff land on their work
    assert axe_violations(page) == [], "My work"

    page.click("#new-task")
    page.wait_for_url(re.compile(r"/queue/new$"))
    assert axe_violations(page) == [], "New task: which Process"
    page.click("a[href='/queue/new/intake']")
    page.wait_for_url(re.compile(r"/queue/new/intake$"))
    page.fill("#f_name", "Jo Client")
    page.fill("#f_email", "jo-at-example")
    page.fill("#f_phone", "+1 555 0100")
    page.check("input[name=f_location][value=in_area]")
    page.fill("#f_budget", "5000")
    page.check("#f_documents_complete")
    page.click("button:has-text('Start task')")
    page.locator("#err_email").wait_for()
    assert "Email must be an email address" in page.locator("#err_email").inner_text()
    assert page.input_value("#f_name") == "Jo Client" and page.input_value("#f_budget") == "5000"
    assert page.is_checked("input[name=f_location][value=in_area]") and page.is_checked("#f_documents_complete")
    assert page.get_attribute("#f_email", "aria-describedby") == "err_email"
    assert axe_violations(page) == [], "the start form with an error"
    shutil.copy(screenshot(page, "start-form", full_page=True), DOCS / "start-form.png")
    page.fill("#f_email", "jo@example.com")
    page.click("button:has-text('Start task')")
    page.wait_for_url(re.compile(r"/queue/tasks/\d+$"))
    task_id = int(page.url.rsplit("/", 1)[1])
    assert "Task started in" in page.locator(".flash").inner_text()
    task = db.session.get(Task, task_id)
    assert task.values["location"] == "in_area" and task.values["documents_complete"] is True

    # the Stage to act on is first, with its instructions and its typed form filled in
    collect = _run(task_id, "collect")
    first = page.locator("section.run").first
    assert first.get_attribute("id") == f"run-{collect.id}"
    assert "Tell us about yourself." in first.inner_text()
    assert page.is_checked(f"#run-{collect.id} input[name=f_location][value=in_area]")
    page.click(f"#run-{collect.id} button[value=complete]")
    confirm = _run(task_id, "confirm")
    page.locator(f"#run-{confirm.id}").wait_for()
    assert page.locator("section.run").first.get_attribute("id") == f"run-{confirm.id}"

    # the checklist: ticking saves at once (an Event per tick)
    page.check(f"#run-{confirm.id} input[name=done][value='0']")
    page.locator(f"#run-{confirm.id} legend:has-text('1 of 3 done')").wait_for()
    page.check(f"#run-{confirm.id} input[name=done][value='1']")
    page.locator(f"#run-{confirm.id} legend:has-text('2 of 3 done')").wait_for()
    ticks = db.session.scalars(select(Event).where(Event.stage_run_id == confirm.id,
                                                   Event.type == "checklist.ticked")).all()
    assert sorted(e.data["text"] for e in ticks) == ["Budget fits", "Location served"]
    assert "ticked “Location served”" in page.locator("#activity").inner_text()
    assert axe_violations(page) == [], "the Task page with its checklist"
    page.evaluate("() => window.scrollTo(0, 0)")     # the redirect after a tick lands on the Stage's anchor
    shutil.copy(screenshot(page, "task", full_page=False), DOCS / "task-checklist.png")

    # Move: nothing chosen by default; an error keeps the choice; the confirmation names the target
    assert page.input_value("#move-target") == ""
    page.select_option("#move-target", "follow-up")
    page.click("#move button:has-text('Move')")
    page.locator("#move-error").wait_for()
    assert dialogs == ["Move this Task to “Follow-up”? Its open steps here stop."]
    assert "A reason is required." in page.locator("#move-error").inner_text()
    assert page.input_value("#move-target") == "follow-up"
    assert axe_violations(page) == [], "the Task page after a refused move"
    page.fill("#move-reason", "Client asked to be called back next month")
    page.click("#move button:has-text('Move')")
    page.locator(".flash:has-text('The Task was moved.')").wait_for()
    db.session.expire_all()
    assert db.session.get(Task, task_id).process.key == "follow-up" and len(dialogs) == 2
    assert errors == []
    ctx.close()


@pytest.mark.browser
def test_admin_opens_the_public_intake_form_and_the_public_fills_it_on_a_phone(
        app, demo, live_server, browser, login_page, screenshot):
    saved, app.config["INTAKE_MIN_SECONDS"] = app.config.get("INTAKE_MIN_SECONDS", 3), 0   # attacked in test_intake.py
    try:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        login_page(page, live_server, "admin@procly.local")
        assert "Overview" in page.locator("h1").inner_text()               # admins land on the overview
        assert axe_violations(page) == [], "the overview"
        shutil.copy(screenshot(page, "overview", full_page=False), DOCS / "home-overview.png")
        page.goto(f"{live_server}/queue/new/spam-filter")
        page.click("button:has-text('Switch the public form on')")
        link = page.input_value("#intake-link")
        assert link.endswith("/portal/intake/spam-filter")
        assert axe_violations(page) == [], "the start form with the intake switch"
        page.goto(f"{live_server}/dev/mail")
        assert axe_violations(page) == [], "the development mailbox"

        phone = browser.new_context(viewport={"width": 390, "height": 844})
        public = phone.new_page()
        public.goto(link)
        assert public.get_attribute("#f_email", "type") == "email" and public.get_attribute("#f_phone", "type") == "tel"
        public.fill("#f_name", "Pat Public")
        public.fill("#f_email", "pat@example.com")
        public.fill("#f_phone", "call me")
        public.check("input[name=f_source][value=web]")
        public.fill("#f_message", "I would like an appointment.")
        public.click("button:has-text('Send')")
        public.locator("#err_phone").wait_for()
        assert public.input_value("#f_message") == "I would like an appointment."
        assert axe_violations(public) == [], "the public intake form with an error"
        shutil.copy(screenshot(public, "intake", full_page=True), DOCS / "intake-form.png")
        public.fill("#f_phone", "+1 555 0199")
        public.click("button:has-text('Send')")
        public.locator("text=we received your request").wait_for()
        db.session.expire_all()
        task = db.session.scalar(select(Task).order_by(Task.id.desc()))
        assert task.values["name"] == "Pat Public" and task.values["source"] == "web"
        phone.close()
        ctx.close()
    finally:
        app.config["INTAKE_MIN_SECONDS"] = saved
