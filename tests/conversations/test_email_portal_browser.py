"""An Email conversation in the portal, in Chromium on a 390×844 phone: the participant reads our
email and answers in the page instead of their mail program; the answer completes the Stage like an
emailed reply; axe-core finds no violation."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.participants import links
from tests.conversations.conftest import email_stage
from tests.runtime_io.conftest import st
from tests.scheduling.test_picker_browser import axe_violations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.browser
def test_participant_answers_the_conversation_on_a_phone(world, sink, live_server, browser, screenshot):
    stage = email_stage(recipient="participant", reads=("name", "note"),
                        visibility={"external": "action", "internal": {"teams": [], "roles": []}},
                        body="Hello {{ name }},\n\nwhich weekday suits you for a first call?\n\nThe team")
    world.process("ask", [stage, st("after")])
    tid = world.start("ask", {"name": "Robin", "note": "x"})
    _, secret = links.invite(world.task(tid), "robin@client.test", name="Robin")
    world.db.session.commit()
    world.drain()
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(f"{live_server}/portal/t/{secret}")
    page.get_by_text("which weekday suits you").wait_for()
    box = page.get_by_label("Your answer")
    box.fill("Thursday morning, please.")
    assert axe_violations(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "email-portal", full_page=False), DOCS / "portal-email-conversation.png")
    page.get_by_role("button", name="Send answer").click()
    page.get_by_text("Thursday morning, please.").wait_for()
    assert page.get_by_label("Your answer").count() == 0        # finished on the first answer
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}
    assert axe_violations(page) == []
    ctx.close()
