"""End to end in Chromium: staff queue → Task page → comments → invite; the participant fills the portal
form in a fresh context (bad email refused, nothing lost); the staff page updates live; the approver
approves and the Task moves on."""
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import StageRun, Task

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
AXE = DOCS.parents[1] / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list:
    """axe-core's serious and critical violations (evaluated, not a <script>: the CSP stays in force)."""
    page.evaluate(AXE.read_text())
    return page.evaluate("async () => (await axe.run(document)).violations.filter(v => ['serious', 'critical']"
                         ".includes(v.impact)).map(v => [v.id, v.nodes.map(n => n.target.join(' '))])")


@pytest.mark.browser
def test_queue_portal_flow(app, demo, live_server, browser, login_page, screenshot):
    from app.tasks import operations as service

    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = staff_ctx.new_page()
    login_page(page, live_server, "staff@procly.local")
    page.goto(f"{live_server}/queue")
    page.wait_for_function("() => window.io !== undefined")
    page.wait_for_timeout(700)   # socket connected and rooms joined
    assert page.locator("#work-empty").is_visible()

    task = service.create_task({"process": "intake", "values": {"name": "Robin Newcomer", "source": "web"}},
                               None, "system")
    db.session.commit()
    # the new Task appears without a reload
    page.locator("#work-table >> text=Robin Newcomer").wait_for(timeout=10_000)
    assert page.locator("#count-open").inner_text() == "1"
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "queue", full_page=False), DOCS / "queue.png")

    page.click("text=Robin Newcomer")
    page.wait_for_url(re.compile(r"/queue/tasks/\d+$"))
    collect = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == "collect"))
    run_box = page.locator(f"#run-{collect.id}")
    run_box.locator("textarea[name=body]").fill("Checked the lead source, looks fine @approver")
    run_box.locator("button:has-text('Post comment')").click()
    page.wait_for_load_state()
    run_box = page.locator(f"#run-{collect.id}")
    run_box.locator("textarea[name=body]").fill("Welcome Robin! Please fill in your details.")
    run_box.locator("input[name=external]").check()
    run_box.locator("button:has-text('Post comment')").click()
    page.wait_for_load_state()
    page.fill("input[name=email][aria-label='Participant email']", "robin@example.com")
    page.click("button:has-text('Invite participant')")
    flash = page.locator(".flash").inner_text()
    link = re.search(r"(http://\S+/portal/t/[\w-]+)", flash).group(1)
    page.evaluate("() => { window.__noReload = 'still-here'; }")

    # the participant, in a fresh context (no staff cookies), on a phone-sized screen
    p_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    portal = p_ctx.new_page()
    portal.goto(link)
    assert "Welcome Robin" in portal.content() and "looks fine" not in portal.content()
    portal.fill("#f_name", "Robin Newcomer")
    portal.fill("#f_email", "robin-at-example")
    portal.fill("#f_phone", "+1 555 0123")
    portal.check("input[name=f_location][value=in_area]")          # a radio button per choice
    portal.fill("#f_budget", "5000")
    portal.check("#f_documents_complete")                           # a yes/no toggle
    portal.click("button:has-text('Send')")
    err = portal.locator("#err_email")
    assert "must be an email address like name@example.com" in err.inner_text()
    assert portal.input_value("#f_budget") == "5000" and portal.input_value("#f_phone") == "+1 555 0123"
    assert portal.is_checked("input[name=f_location][value=in_area]") and portal.is_checked("#f_documents_complete")
    assert axe_violations(portal) == [], "axe-core on the portal form with an error"
    shutil.copy(screenshot(portal, "portal"), DOCS / "portal.png")
    portal.fill("#f_email", "robin@example.com")
    portal.click("button:has-text('Send')")
    portal.locator("text=your answers were saved").wait_for()

    # the staff page shows the completed Stage and the new values without a reload
    page.locator(f"#run-status-{collect.id}:has-text('completed')").wait_for(timeout=10_000)
    page.locator("#fields >> text=robin@example.com").wait_for(timeout=10_000)
    assert page.evaluate("() => window.__noReload") == "still-here"

    confirm = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == "confirm"))
    page.locator(f"#run-actions-{confirm.id} button[value=complete]").click()
    page.locator(f"#run-status-{confirm.id}:has-text('awaiting approval')").wait_for()
    shutil.copy(screenshot(page, "task", full_page=False), DOCS / "task.png")

    a_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    approver = a_ctx.new_page()
    login_page(approver, live_server, "approver@procly.local")
    approver.goto(f"{live_server}/queue")
    approver.click("text=Robin Newcomer")
    approver.fill(f"#run-actions-{confirm.id} input[name=comment]", "Eligible")
    approver.click(f"#run-actions-{confirm.id} button[value=approve]")
    approver.locator(f"#run-status-{confirm.id}:has-text('completed')").wait_for()
    db.session.expire_all()
    schedule = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == "schedule"))
    # the next Stage is a portal form and the participant is invited: it waits on them
    assert schedule is not None and schedule.status == "waiting_on_participant"
    assert db.session.get(Task, task.id).status == "running"
    # the approver's @mention arrived in their notification centre
    approver.goto(f"{live_server}/queue/notifications")
    assert "mentioned you" in approver.content()
    for ctx in (staff_ctx, p_ctx, a_ctx):
        ctx.close()
