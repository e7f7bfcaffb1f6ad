"""The Webhook Stage's config panel in the builder, generated from its JSON Schema: a palette card, plain
labels, a select of methods, the allowed hosts one per line, headers and body as name/value rows, and
the Fields from the response as rows of (a Field it writes, where its value is) — no JSON typed.
Screenshot: docs/screenshots/builder-webhook-panel.png."""
import shutil
from pathlib import Path

import pytest

from tests.builder_ui.conftest import open_editor, wait_saved

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _change(locator, value):
    locator.fill(value)
    locator.dispatch_event("change")


@pytest.mark.browser
def test_webhook_config_panel(fresh_process, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 1100})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    assert page.locator('#palette .type[data-type="external_service"] .icon').get_attribute("data-glyph") == "exchange"
    card = page.locator('#palette .type[data-type="webhook"]')
    assert card.locator(".icon").get_attribute("data-glyph") == "globe"
    card.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="webhook_1"]')
    page.click('.card[data-key="webhook_1"]')
    panel = page.locator("#panel")
    panel.locator('select[name="config.method"]').wait_for()
    assert panel.locator('select[name="config.method"] option').all_inner_texts()[:2] == ["GET (read)", "POST (send / create)"]
    panel.locator('input[name="reads.name"]').check()
    panel.locator('input[name="reads.budget"]').check()
    panel.locator('input[name="writes.notes"]').check()
    _change(panel.locator('[name="config.url"]'), "https://crm.example.com/v1/leads?src=procly")
    _change(panel.locator('[name="config.allowed_hosts"]'), "crm.example.com")
    headers = panel.locator('.kv[data-name="headers"]')
    panel.locator('.field:has(.kv[data-name="headers"]) button:text("+ row")').click()
    _change(headers.locator('input[aria-label="Headers key"]'), "X-Team")
    _change(headers.locator('input[aria-label="Headers value"]'), "intake")
    body = panel.locator('.kv[data-name="body"]')
    for i, (k, v) in enumerate([("name", "{{ name }}"), ("budget", "{{ budget }}")]):
        panel.locator('.field:has(.kv[data-name="body"]) button:text("+ row")').click()
        _change(body.locator('input[aria-label="Body key"]').nth(i), k)
        _change(body.locator('input[aria-label="Body value"]').nth(i), v)
    panel.locator('.field:has(.kv[data-name="results"]) button:text("+ Field")').click()
    results = panel.locator('.kv[data-name="results"]')
    assert results.locator("select option").all_inner_texts() == ["—", "Notes"]
    results.locator("select").select_option("notes")
    _change(results.locator('input[name="config.results.expr"]'), "body.lead.id")
    page.locator('.card[data-key="webhook_1"]').click()
    wait_saved(page)
    config = page.evaluate("() => window.builderState.def.stages[0].config")
    assert config["url"] == "https://crm.example.com/v1/leads?src=procly"
    assert config["allowed_hosts"] == ["crm.example.com"] and config["headers"] == {"X-Team": "intake"}
    assert config["body"] == {"name": "{{ name }}", "budget": "{{ budget }}"}
    assert config["results"] == {"notes": "body.lead.id"}
    errors = page.evaluate("() => window.builderState.errors.map(e => e.path)")
    assert not [p for p in errors if p.startswith("stages[0]")], errors
    labels = page.evaluate("() => [...document.querySelectorAll('#panel [data-section=config] label, #panel "
                           "[data-section=config] .lbl')].map(l => l.firstChild.textContent.trim())")
    assert labels[:3] == ["Method", "Address (URL)", "Allowed hosts"], labels
    page.evaluate("() => document.querySelector('#panel [data-section=config]').scrollIntoView()")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "panel", full_page=False), DOCS / "builder-webhook-panel.png")
