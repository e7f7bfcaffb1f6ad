"""The Code stage's panel in Chromium: a real code editor (CodeMirror, vendored) with Python
highlighting, saved into the draft on blur; the plain text box when the editor bundle cannot load;
no CSP violation either way."""
from __future__ import annotations

import pytest

from tests.builder_ui.conftest import drag_until, open_editor, wait_saved

pytestmark = pytest.mark.browser
CODE = "def run(fields):\n    return {'budget': 1}\n"


def _code_stage(page):
    palette = page.locator('#palette .type[data-type="code"]')
    drag_until(page, palette, page.locator(".column.new .cards"), '.card[data-key="code_1"]')
    page.click('.card[data-key="code_1"]')


def _csp_watch(page) -> list:
    seen = []
    page.on("console", lambda m: seen.append(f"{m.text} at {m.location}") if "Content Security Policy" in m.text else None)
    return seen


def test_code_editor_highlights_and_saves(fresh_process, live_server, page, login_page, screenshot):
    violations = _csp_watch(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    _code_stage(page)
    page.wait_for_selector('#panel .code-editor[data-editor="codemirror"] .cm-content')
    content = page.locator("#panel .cm-content")
    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(CODE)
    page.click("#panel h4 >> nth=0")          # blur: the change is saved like any input
    wait_saved(page)
    saved = page.evaluate("() => window.builderState.def.stages.find(s => s.key === 'code_1').config.code")
    assert " ".join(saved.split()) == " ".join(CODE.split())     # (the editor may indent as it likes)
    # Python is highlighted: the keyword `def` and the string are in spans of their own
    assert page.locator("#panel .cm-line span", has_text="def").count() >= 1
    assert page.locator("#panel .cm-line span", has_text="'budget'").count() >= 1
    assert page.locator('#panel textarea[name="config.code"]').is_hidden()
    screenshot(page, "code-editor", full_page=False)
    assert violations == []


def test_the_text_box_when_the_editor_cannot_load(fresh_process, live_server, page, login_page):
    violations = _csp_watch(page)
    page.route("**/static/vendor/codemirror.js", lambda route: route.abort())
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    _code_stage(page)
    box = page.locator('#panel textarea[name="config.code"]')
    box.wait_for()
    assert page.locator("#panel .code-editor").get_attribute("data-editor") == "textarea"
    box.fill(CODE)
    box.dispatch_event("change")
    wait_saved(page)
    assert page.evaluate("() => window.builderState.def.stages.find(s => s.key === 'code_1').config.code") == CODE
    assert violations == []
