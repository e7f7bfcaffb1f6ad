"""Builder polish in Chromium: drop zones between columns, routes to a Split, import/export, process
details, before → after values in the version compare, keyboard use and emoji-free stage-type icons."""
from __future__ import annotations

import json

import pytest

from tests.builder_ui.conftest import drag_until, open_editor, wait_saved
from tests.builder_ui.test_builder_flow import set_value

pytestmark = pytest.mark.browser

COLS = "() => window.builderState.def.stages.map(s => [s.key, s.column])"


def test_drop_between_columns_inserts_a_column(fresh_process, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    palette = lambda t: page.locator(f'#palette .type[data-type="{t}"]')  # noqa: E731
    drag_until(page, palette("basic"), page.locator(".column.new .cards"), '.card[data-key="basic_1"]')
    drag_until(page, palette("form"), page.locator(".column.new .cards"), '.card[data-key="form_1"]')
    assert page.evaluate(COLS) == [["basic_1", 0], ["form_1", 1]]
    assert page.locator(".col-gap .cards.gap").count() == 2          # before column 1 and before column 2
    # a palette type dropped between the two columns becomes column 1; form_1 moves on to column 2
    drag_until(page, palette("basic"), page.locator('.cards[data-col="gap-1"]'), '.card[data-key="basic_2"]')
    assert page.evaluate(COLS) == [["basic_1", 0], ["basic_2", 1], ["form_1", 2]]
    # a card dragged in front of the first column
    drag_until(page, page.locator('.card[data-key="form_1"]'), page.locator('.cards[data-col="gap-0"]'),
               '.cards[data-col="0"] .card[data-key="form_1"]')
    assert page.evaluate(COLS) == [["form_1", 0], ["basic_1", 1], ["basic_2", 2]]
    assert [page.locator(".col-head").nth(i).inner_text() for i in range(3)] == ["COLUMN 1", "COLUMN 2", "COLUMN 3"] \
        or [page.locator(".col-head").nth(i).inner_text().lower() for i in range(3)] == ["column 1", "column 2", "column 3"]
    wait_saved(page)
    from app.extensions import db
    from app.models import Process
    db.session.expire_all()
    draft = db.session.query(Process).filter_by(key=fresh_process).one().draft.definition
    assert [(s["key"], s["column"]) for s in draft["stages"]] == [("form_1", 0), ("basic_1", 1), ("basic_2", 2)]


def test_route_can_target_a_split(demo, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "follow-up")
    first = page.evaluate("() => window.builderState.def.stages[0].key")
    page.click(f'.card[data-key="{first}"] .card-head')
    page.click("#add-route")
    target = page.locator('#panel select[name="route.target"]')
    assert target.locator('optgroup[label="Splits (A/B)"] option[value="split:intake-ab"]').count() == 1
    target.select_option("split:intake-ab")
    assert page.evaluate("() => window.builderState.def.routes.at(-1).target") == {"split": "intake-ab"}
    assert page.locator('#panel input[name="route.target_stage"]').count() == 0
    assert page.locator("#panel .split-note").is_visible()
    set_value(page, '#panel input[name="route.name"]', "Send to the A/B test")
    chip = page.locator(f'.card[data-key="{first}"] .route-chip')
    assert "Intake A/B" in chip.inner_text()
    wait_saved(page)
    errs = page.evaluate("() => window.builderState.errors.map(e => e.path)")
    assert not [p for p in errs if ".target" in p], errs
    from app.extensions import db
    from app.models import Process
    db.session.expire_all()
    routes = db.session.query(Process).filter_by(key="follow-up").one().draft.definition["routes"]
    assert routes[-1]["target"] == {"split": "intake-ab"} and routes[-1]["stage"] == first
    # switching back to a Process drops the split
    target.select_option("referral")
    assert page.evaluate("() => window.builderState.def.routes.at(-1).target") == {"process": "referral"}


def test_routes_to_the_end_back_to_a_stage_and_on_a_clock_without_json(demo, live_server, page, login_page,
                                                                        screenshot):
    """An analyst builds a deferred choice (no answer in 5 days → end as rejected, with a label) and a
    rework loop (back to the first Stage, at most 3 times) from the panel's lists and boxes only."""
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "follow-up")
    keys = page.evaluate("() => window.builderState.def.stages.map(s => s.key)")
    first, last = keys[0], keys[-1]
    page.click(f'.card[data-key="{first}"] .card-head')
    page.click("#add-route")
    page.locator('#panel select[name="route.trigger"]').select_option("timeout")
    set_value(page, '#panel input[name="route.trigger_after"]', "5d")
    page.locator('#panel select[name="route.target"]').select_option("end:rejected")
    set_value(page, '#panel input[name="route.target_label"]', "no reply")
    set_value(page, '#panel input[name="route.name"]', "Silence")
    assert page.evaluate("() => window.builderState.def.routes.at(-1)") | {"key": None} == {
        "key": None, "name": "Silence", "stage": first, "trigger": {"type": "timeout", "after": "5d"},
        "target": {"end": "rejected", "label": "no reply"}}
    assert "end: rejected (no reply)" in page.locator(f'.card[data-key="{first}"] .route-chip').inner_text()
    page.click(f'.card[data-key="{last}"] .card-head')
    page.click("#add-route")
    page.locator('#panel select[name="route.trigger"]').select_option("stage_failed")
    page.locator('#panel select[name="route.target"]').select_option(f"back:{first}")
    set_value(page, '#panel input[name="route.max_iterations"]', "3")
    assert page.evaluate("() => window.builderState.def.routes.at(-1)")["target"] == {"stage": first}
    assert page.evaluate("() => window.builderState.def.routes.at(-1).max_iterations") == 3
    # the first Stage is assigned in turn within the Team, picked from a list
    page.click(f'.card[data-key="{first}"] .card-head')
    page.locator('#panel select[name="roles.assign"]').select_option("round_robin:team:Intake")
    responsible = page.evaluate(f"() => window.builderState.def.stages.find(s => s.key === '{first}').roles.responsible")
    assert responsible[-1] == "round_robin:team:Intake"
    wait_saved(page)
    errs = page.evaluate("() => window.builderState.errors.map(e => e.path + ': ' + e.message)")
    assert not [e for e in errs if e.startswith("routes")], errs
    screenshot(page, "builder-route-end-and-loop", full_page=False)
    from app.extensions import db
    from app.models import Process
    db.session.expire_all()
    routes = db.session.query(Process).filter_by(key="follow-up").one().draft.definition["routes"]
    assert (routes[-2]["target"]["end"], routes[-2]["target"]["label"]) == ("rejected", "no reply")
    assert routes[-2]["trigger"]["after"] == "5d"
    assert routes[-1]["max_iterations"] == 3 and routes[-1]["target"]["stage"] == first


def test_export_and_import_from_the_list(demo, designer_api, live_server, page, login_page, screenshot, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder")
    with page.expect_download() as info:
        page.click('tr[data-key="intake"] a.export')
    download = info.value
    assert download.suggested_filename == "intake.procly.json"
    path = tmp_path / "intake.json"
    download.save_as(str(path))
    doc = json.loads(path.read_text())
    assert doc["format"] == "procly.process/1" and doc["process"]["key"] == "intake"

    # importing under the same key is refused, with the reason shown
    page.set_input_files("#import-form input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.error")
    assert "already exists" in page.locator("#import-result").inner_text()

    # not JSON at all
    page.set_input_files("#import-form input[name=file]",
                         files=[{"name": "broken.json", "mimeType": "application/json", "buffer": b"{nope"}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.error:has-text('not valid JSON')")

    # JSON, but not an export: every problem is listed
    page.set_input_files("#import-form input[name=file]",
                         files=[{"name": "other.json", "mimeType": "application/json", "buffer": b'{"hello": 1}'}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.error li")
    text = page.locator("#import-result").inner_text()
    assert "Import failed" in text and "format" in text and "process" in text
    page.locator("#import-result").scroll_into_view_if_needed()
    screenshot(page, "import-error", full_page=False)

    # a copy under a new key
    page.set_input_files("#import-form input[name=file]", str(path))
    page.fill("#import-form input[name=key]", "intake-copy")
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result.ok")
    assert "intake-copy" in page.locator("#import-result").inner_text()
    original = designer_api.get("/api/v1/processes/intake/versions").get_json()
    copy = designer_api.get("/api/v1/processes/intake-copy/versions").get_json()
    assert [v["content_hash"] for v in copy] == [v["content_hash"] for v in original]
    page.click("#import-open")
    page.wait_for_selector("#builder[data-ready=true]")
    assert page.locator(".card").count() == len(doc["draft"]["stages"])


def test_rename_and_describe_in_the_header(demo, designer_api, live_server, page, login_page):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "referral")
    page.click("#edit-details")
    assert page.locator("#details-form").is_visible()
    page.fill('#details-form input[name="name"]', "")
    page.click("#details-save")
    assert "required" in page.locator("#details-error").inner_text()
    page.fill('#details-form input[name="name"]', "Referral to partners")
    page.fill('#details-form textarea[name="description"]', "Hands small budgets to partner firms.")
    page.click("#details-save")
    page.wait_for_selector("#details-form", state="hidden")
    assert page.locator("#process-name").inner_text() == "Referral to partners"
    assert page.locator("#process-desc").inner_text() == "Hands small budgets to partner firms."
    p = designer_api.get("/api/v1/processes/referral").get_json()
    assert p["name"] == "Referral to partners" and p["description"] == "Hands small budgets to partner firms."
    # Escape cancels an edit
    page.click("#edit-details")
    page.fill('#details-form input[name="name"]', "Nope")
    page.keyboard.press("Escape")
    assert page.locator("#details-form").is_hidden() and page.locator("#process-name").inner_text() == "Referral to partners"


def test_keyboard_cards_panel_and_palette(fresh_process, live_server, page, login_page):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    basic = page.locator('#palette .type[data-type="basic"]')
    assert basic.get_attribute("role") == "button" and basic.get_attribute("tabindex") == "0"
    basic.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="basic_1"]')
    page.locator('#palette .type[data-type="form"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="form_1"]')
    page.keyboard.press("Escape")
    assert page.locator("#panel").is_hidden()
    # Enter on a type always appends, even with a stage selected
    page.click('.card[data-key="basic_1"]')
    page.keyboard.press("Escape")
    page.locator('#palette .type[data-type="basic"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('.card[data-key="basic_2"]')
    assert page.evaluate(COLS) == [["basic_1", 0], ["form_1", 1], ["basic_2", 2]]
    page.keyboard.press("Escape")
    # Tab walks the cards; Enter opens the panel, Escape closes it and gives focus back to the card
    page.locator('.card[data-key="basic_1"]').focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.key") == "form_1"
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel:not([hidden])")
    assert page.locator('#panel input[name="name"]').input_value().startswith("Form")
    page.keyboard.press("Escape")
    assert page.locator("#panel").is_hidden()
    assert page.evaluate("() => document.activeElement.dataset.key") == "form_1"
    # Escape from inside a panel field keeps the typed value
    page.keyboard.press("Enter")
    page.fill('#panel input[name="name"]', "Typed then escaped")
    page.keyboard.press("Escape")
    assert page.locator("#panel").is_hidden()
    assert page.evaluate("() => window.builderState.def.stages[1].name") == "Typed then escaped"
    wait_saved(page)


def test_stage_type_icons_need_no_emoji_font(demo, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, "intake-new")
    icons = page.evaluate("""() => [...document.querySelectorAll('#palette .icon, .card .icon')].map(i =>
        ({glyph: i.dataset.glyph, svg: !!i.querySelector('svg'), text: i.textContent, w: i.getBoundingClientRect().width}))""")
    assert icons
    for i in icons:
        assert i["svg"] or (i["glyph"] == "letter" and len(i["text"]) == 1 and i["text"].isascii()), i
        assert 18 <= i["w"] <= 26, i
    kinds = {page.locator(f'#palette .type[data-type="{t}"] .icon').get_attribute("data-glyph")
             for t in ("basic", "form", "compute")}
    assert kinds == {"check", "form", "code"}
    # no pictograph code points anywhere in the rendered lane or palette text
    text = page.evaluate("() => document.querySelector('#palette').innerText + document.querySelector('#lane').innerText")
    assert not [c for c in text if ord(c) >= 0x1F000], text
    screenshot(page, "icons", full_page=False)
