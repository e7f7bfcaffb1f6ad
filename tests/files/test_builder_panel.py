"""The builder's config panel for File upload, generated from its JSON Schema: the file Field is a
select of the Table's file Fields, the allowed kinds are checkboxes with plain names — no JSON."""
from __future__ import annotations

import pytest

from tests.builder_ui.conftest import wait_saved
from tests.files.conftest import upload_stage


@pytest.mark.browser
def test_file_upload_panel_needs_no_json(fw, live_server, page, login_page, screenshot):
    fw.process("docs", [upload_stage()])
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "admin@x.test", "pw-secret-1")
    page.goto(f"{live_server}/builder/docs")
    page.wait_for_selector("#builder[data-ready=true]")
    assert page.locator('#palette .type[data-type="file_upload"] .icon').get_attribute("data-glyph") == "file"
    assert "File upload" in page.locator('#palette .type[data-type="file_upload"]').inner_text()
    page.click('.card[data-key="upload"] .card-head')
    field = page.locator('select[name="config.field"]')
    field.wait_for()
    options = field.locator("option").all_inner_texts()
    assert options == ["—", "Proof of address", "Internal scans (not written by this Stage)"]
    assert field.input_value() == "docs"
    kinds = page.locator('input[name^="config.kinds."]')
    assert kinds.count() == 4
    assert page.locator("fieldset.choices[data-name=\"kinds\"]").inner_text().count("Office documents") == 1
    page.check('input[name="config.kinds.office"]')
    page.uncheck('input[name="config.kinds.images"]')
    page.check('text=Staff review each file')
    wait_saved(page)
    draft = fw.api_as(fw.admin).get("/api/v1/processes/docs/draft").get_json()
    config = draft["definition"]["stages"][0]["config"]
    assert config["kinds"] == ["pdf", "office"] and config["needs_review"] is True and config["field"] == "docs"
    assert not draft["errors"]
    # a file Field the Stage does not write: the error is shown on the panel
    field.select_option("secret_docs")
    wait_saved(page)
    draft = fw.api_as(fw.admin).get("/api/v1/processes/docs/draft").get_json()
    assert {e["path"]: e["message"] for e in draft["errors"]} == {"stages[0].config.field": '"secret_docs" is not in writes'}
    page.wait_for_selector('.has-error [data-path="stages[0].config.field"], .card[data-key="upload"].has-error, '
                           '[data-path="stages[0].config.field"]', timeout=5000, state="attached")
    screenshot(page, "panel", full_page=False)
