"""Tables and Splits in the builder, through the UI only: a choice Field's options typed, renamed,
reordered and retired (with the count of Tasks holding one); a Split created with its variants,
watched and its winner promoted. axe-core finds nothing serious on either page."""
from __future__ import annotations

import shutil

import pytest

from tests.builder_ui.axe import DOCS, serious

pytestmark = pytest.mark.browser


def test_choice_field_options_are_typed_renamed_reordered_and_retired(demo, designer_api, live_server, page,
                                                                       login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder/tables/clients")
    page.wait_for_selector('tr[data-field="budget"]')
    # the demo's choice Fields show their options
    assert page.locator('fieldset.choice-options[data-field="location"] li.opt').count() == 3
    page.fill("#add-field input[name=name]", "Preferred contact")
    page.select_option("#add-field select[name=type]", "choice")
    page.fill("#add-field textarea[name=choices]", "By phone\nBy email\nIn person")
    page.click("#add-field button[type=submit]")
    page.wait_for_selector('fieldset.choice-options[data-field="preferred_contact"]')
    field = {f["key"]: f for f in designer_api.get("/api/v1/tables/clients").get_json()["fields"]}["preferred_contact"]
    assert field["options"] == {"choices": ["by_phone", "by_email", "in_person"],
                                "labels": {"by_phone": "By phone", "by_email": "By email", "in_person": "In person"}}
    box = 'fieldset.choice-options[data-field="preferred_contact"]'
    page.fill(f'{box} input[aria-label="Label of option 2 of Preferred contact"]', "E-mail")
    page.press(f'{box} input[aria-label="Label of option 2 of Preferred contact"]', "Enter")
    page.wait_for_selector(f'{box} input[value="E-mail"]')
    page.click(f'{box} button[aria-label="Move E-mail up"]')
    page.wait_for_function("() => document.querySelector('fieldset.choice-options[data-field=preferred_contact] li.opt').dataset.value === 'by_email'")
    page.fill(f'{box} input[aria-label="New option of Preferred contact"]', "By letter")
    page.click(f"{box} .opt-add button")
    page.wait_for_selector(f'{box} li.opt[data-value="by_letter"]')
    # a Task holds "in_person": retiring it warns with the count, and the Task keeps its value
    from app.extensions import db
    from app.models import Task, User
    from app.tasks import operations as service
    from sqlalchemy import select

    admin = db.session.scalar(select(User).where(User.email == "admin@procly.local"))
    task = service.create_task({"process": "intake", "values": {"name": "A", "email": "a@example.com"}}, admin, "test")
    task.values = {**task.values, "preferred_contact": "in_person"}
    db.session.commit()
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.accept()))
    page.click(f'{box} button[aria-label="Retire In person"]')
    page.wait_for_selector(f'{box} .retired-opt[data-value="in_person"]')
    assert messages == ["Retire “In person”? 1 Task holds it: they keep it, but it is no longer offered."]
    field = {f["key"]: f for f in designer_api.get("/api/v1/tables/clients").get_json()["fields"]}["preferred_contact"]
    assert field["options"]["choices"] == ["by_email", "by_phone", "by_letter"]
    assert field["options"]["retired"] == ["in_person"]
    assert field["options"]["labels"]["by_email"] == "E-mail"
    db.session.expire_all()
    assert db.session.get(Task, task.id).values["preferred_contact"] == "in_person"
    # a number's unit and a text's "several lines", set in the same table editor
    page.fill('input[aria-label="Unit of Budget"]', "EUR")
    page.press('input[aria-label="Unit of Budget"]', "Tab")
    page.wait_for_selector("#table-state:has-text('Saved budget.')")
    page.check('input[aria-label="Several lines for Name"]')
    page.wait_for_selector("#table-state:has-text('Saved name.')")
    fields = {f["key"]: f for f in designer_api.get("/api/v1/tables/clients").get_json()["fields"]}
    assert fields["budget"]["options"] == {"unit": "EUR"} and fields["name"]["options"] == {"multiline": True}
    # a new value may not be the retired one
    from app.tables.values import ValueError_, coerce

    with pytest.raises(ValueError_, match="no longer offered"):
        coerce("choice", field["options"], "in_person")
    assert serious(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "table", full_page=True), DOCS / "builder-table.png")


def test_choice_options_are_checked_by_the_api(demo, designer_api):
    bad = [({}, "choices"), ({"choices": ["a", "a"]}, "choices"), ({"choices": ["a"], "retired": ["a"]}, "retired"),
           ({"choices": ["a"], "labels": {"b": "B"}}, "labels"), ({"choices": ["a"], "labels": {"a": ""}}, "labels")]
    for options, where in bad:
        r = designer_api.post("/api/v1/tables/clients/fields", json={"key": "c1", "name": "C", "type": "choice",
                                                                     "options": options})
        assert r.status_code == 422, options
        assert f"options.{where}" in r.get_json()["error"]["details"], (options, r.get_json())
    r = designer_api.get("/api/v1/tables/clients/fields/nope/usage")
    assert r.status_code == 404


def test_split_created_watched_and_promoted_in_the_ui(demo, designer_api, live_server, page, login_page,
                                                      screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder")
    page.click("#new-split summary")
    page.fill("#split-form input[name=name]", "Intake canary")
    assert page.input_value("#split-form input[name=key]") == "intake-canary"
    page.select_option("#split-form select[name=table]", "clients")
    rows = page.locator("#split-variants .variant-row")
    assert rows.count() == 2
    rows.nth(0).locator("select[name=process]").select_option("intake")
    rows.nth(0).locator("select[name=version]").select_option("1")
    rows.nth(1).locator("select[name=process]").select_option("intake-new")
    assert page.inner_text("#split-total") == "100"
    assert serious(page) == []
    page.click("#split-form button[type=submit]")
    page.wait_for_url("**/builder/splits/intake-canary")
    page.wait_for_selector('.split-row[data-variant="intake-v1"]')
    split = designer_api.get("/api/v1/splits/intake-canary").get_json()
    assert [(v["process"], v["version"], v["weight"]) for v in split["variants"]] == [("intake", 1, 80),
                                                                                     ("intake-new", None, 20)]
    # live counts: a Task started on the Split shows up without a reload
    r = designer_api.post("/api/v1/tasks", json={"split": "intake-canary", "key": "canary-1",
                                                 "values": {"name": "A", "email": "a@example.com"}})
    assert r.status_code == 201, r.get_json()
    page.wait_for_function("() => [...document.querySelectorAll('.split-row .count')].some(c => c.textContent.startsWith('1 Task '))",
                           timeout=30000)
    assert serious(page) == []
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "split", full_page=False), DOCS / "builder-split.png")
    page.once("dialog", lambda d: d.accept())
    page.click('button[aria-label="Promote Intake (new)"]')
    page.wait_for_function("() => document.querySelector('#split-state').textContent === 'Saved'")
    split = designer_api.get("/api/v1/splits/intake-canary").get_json()
    assert {v["key"]: v["weight"] for v in split["variants"]} == {"intake-v1": 0, "intake-new": 100}


def test_split_form_reports_what_is_wrong(demo, designer_api, live_server, page, login_page):
    login_page(page, live_server, "designer@procly.local")
    page.goto(f"{live_server}/builder")
    page.click("#new-split summary")
    page.fill("#split-form input[name=name]", "Zero")
    for i in range(2):
        page.locator("#split-variants .variant-row input[name=weight]").nth(i).fill("0")
    page.click("#split-form button[type=submit]")
    page.wait_for_selector("#split-errors:has-text('weights must add up to more than 0')")
    assert designer_api.get("/api/v1/splits/zero").status_code == 404
