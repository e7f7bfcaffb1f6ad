"""The builder edits the authorization parts of a definition without JSON: an approval's four-eyes
switch, and who may start Tasks with which Fields (the definition's `start`)."""
from __future__ import annotations

import pytest

from tests.builder_ui.conftest import open_editor, wait_saved

pytestmark = pytest.mark.browser


def _draft(designer_api, key):
    return designer_api.get(f"/api/v1/processes/{key}/draft").json["definition"]


def test_four_eyes_and_start_without_json(demo, designer_api, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "intake")
    page.click('.card[data-key="confirm"]')
    four_eyes = page.locator('#panel input[name="approval.four_eyes"]')
    assert four_eyes.is_checked()                        # on by default
    four_eyes.uncheck()
    wait_saved(page)
    confirm = next(s for s in _draft(designer_api, "intake")["stages"] if s["key"] == "confirm")
    assert confirm["approval"]["four_eyes"] is False
    four_eyes.check()
    wait_saved(page)
    confirm = next(s for s in _draft(designer_api, "intake")["stages"] if s["key"] == "confirm")
    assert "four_eyes" not in confirm["approval"]        # the default is not written out

    page.click("#edit-start")
    assert "name" in page.locator("#panel").inner_text()  # the default: what `collect` writes
    page.select_option('#panel select[name="start.roles"]', "team:Intake")
    page.select_option('#panel select[name="start.roles"]', "team:Operations")
    page.check('#panel input[name="start.declared"]')
    page.uncheck('#panel input[name="start.writes.budget"]')
    wait_saved(page)
    start = _draft(designer_api, "intake")["start"]
    assert start["roles"] == ["team:Intake", "team:Operations"]
    assert "name" in start["writes"] and "budget" not in start["writes"]
    screenshot(page, "start-panel", full_page=False)
