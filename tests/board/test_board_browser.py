"""The board in Chromium: Stage names as columns, cards moved by keyboard (Move… → dialog) and by
dragging, a refusal shown in the server's words, live updates from another session's change, and
axe-core with the dialog open. Screenshot: docs/screenshots/board.png."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.browser.test_axe_pages import axe_serious

pytestmark = pytest.mark.browser
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _column(page, name: str):
    return page.locator(".b-col", has=page.locator("h2", has_text=name))


def _card(page, title: str):
    return page.locator(".b-card", has=page.locator(".b-title", has_text=title))


def _drag(page, source, target) -> None:
    """A pointer drag SortableJS (fallback mode) follows: press, move in steps, release."""
    box, goal = source.bounding_box(), target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(box["x"] + (goal["x"] + goal["width"] / 2 - box["x"]) * i / 15,
                        box["y"] + (goal["y"] + 30 - box["y"]) * i / 15)
    page.mouse.up()


def test_board_keyboard_drag_refusal_and_live(demo, new_task, live_server, browser, login_page, screenshot):
    from app import clock
    from app.extensions import db
    from app.models import StageRun
    from app.tasks.moves import move_tasks

    people = [("Robin Client", "in_area"), ("Kim Client", "nearby"), ("Alex Client", "in_area"), ("Sam Lee", "nearby")]
    tasks = {name: new_task({"name": name, "email": f"{name.split()[0].lower()}@client.test", "location": loc,
                             "budget": 2500}) for name, loc in people}
    late = db.session.scalar(select(StageRun).where(StageRun.task_id == tasks["Kim Client"].id))
    late.due_at = clock.now() - timedelta(hours=3)
    db.session.commit()

    ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_page(page, live_server, "manager@procly.local")
    page.goto(f"{live_server}/queue/boards/intake")
    page.wait_for_function("() => window.procly_board && window.procly_board.conn && window.procly_board.conn.socket.connected",
                           timeout=60000)
    heads = page.locator(".b-col h2").all_inner_texts()
    assert [re.sub(r"\s*\d+$", "", h.strip()) for h in heads] == [
        "Collect basic information", "Confirm eligibility", "Schedule first appointment"]
    collect = _column(page, "Collect basic information")
    assert collect.locator(".b-card").count() == 4
    kim = _card(page, "Kim Client")
    assert "Overdue" in kim.inner_text() and "Unassigned" in kim.inner_text() and "nearby" in kim.inner_text()
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "board", full_page=False), DOCS / "board.png")

    # the keyboard way: Move… opens a dialog whose Stage select has focus; the choice names the target
    _card(page, "Robin Client").locator(".b-move").focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#b-dialog")
    dialog.wait_for(state="visible")
    assert page.evaluate("() => document.activeElement.name") == "stage"
    assert axe_serious(page) == []
    page.select_option("#b-dialog select[name=stage]", label="Schedule first appointment")
    page.fill("#b-dialog textarea[name=reason]", "booked by phone")
    page.keyboard.press("Tab")
    page.locator("#b-dialog button[type=submit]").press("Enter")
    page.wait_for_function("() => document.getElementById('b-status').textContent === "
                           "'Moved to Schedule first appointment.'")
    _column(page, "Schedule first appointment").locator(".b-card", has_text="Robin Client").wait_for()
    assert page.evaluate("() => document.activeElement.closest('#b-dialog')") is None   # focus back on the page

    # dragging: dropping Alex on Confirm opens the same dialog with Confirm chosen
    _drag(page, _card(page, "Alex Client"), _column(page, "Confirm eligibility").locator("ul.b-cards").last)
    dialog.wait_for(state="visible")
    assert page.input_value("#b-dialog select[name=stage]") == "confirm"
    assert page.evaluate("() => document.activeElement.name") == "reason"
    page.fill("#b-dialog textarea[name=reason]", "documents already checked")
    page.click("#b-dialog button[type=submit]")
    _column(page, "Confirm eligibility").locator(".b-card", has_text="Alex Client").wait_for()

    # a refusal in the server's words: Sam was moved to Follow-up by someone else while the dialog was open
    _card(page, "Sam Lee").locator(".b-move").click()
    dialog.wait_for(state="visible")
    before = int(page.evaluate("() => document.body.dataset.boardUpdates || '0'"))
    move_tasks([tasks["Sam Lee"].id], process_key="follow-up", reason="client asked", actor="system")
    db.session.commit()
    # live: the other session's move reaches this board without a reload
    page.wait_for_function(f"() => Number(document.body.dataset.boardUpdates || 0) > {before}", timeout=30000)
    assert _card(page, "Sam Lee").count() == 0
    page.select_option("#b-dialog select[name=stage]", label="Schedule first appointment")
    page.fill("#b-dialog textarea[name=reason]", "try anyway")
    page.click("#b-dialog button[type=submit]")
    error = page.locator("#b-dialog .b-error")
    error.wait_for(state="visible")
    assert error.inner_text() == f"Task {tasks['Sam Lee'].id} has left this board: it is in Follow-up now."
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert axe_serious(page) == []
    assert not errors, errors
    db.session.expire_all()
    open_keys = dict(db.session.execute(select(StageRun.task_id, StageRun.stage_key)
                                        .where(StageRun.status == "pending")).all())
    assert open_keys[tasks["Robin Client"].id] == "schedule" and open_keys[tasks["Alex Client"].id] == "confirm"
    ctx.close()


def test_a_card_nobody_may_move_is_not_draggable(demo, new_task, live_server, browser, login_page):
    """Compliance staff see Collect (visible to all staff) but are not its Responsible: no Move
    button, and a drag does nothing."""
    new_task({"name": "Robin Client", "email": "robin@client.test"})
    page = browser.new_page()
    login_page(page, live_server, "approver@procly.local")
    page.goto(f"{live_server}/queue/boards/intake")
    card = _card(page, "Robin Client")
    card.wait_for()
    assert card.get_attribute("data-can") == "" and card.locator(".b-move").count() == 0
    _drag(page, card, _column(page, "Schedule first appointment").locator("ul.b-cards").last)
    assert page.locator("#b-dialog").is_visible() is False
    assert _column(page, "Collect basic information").locator(".b-card").count() == 1
    page.close()
