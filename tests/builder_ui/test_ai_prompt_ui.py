"""The AI Prompt stage in Chromium: the palette card and its settings panel built from the type's config
schema (the administrator's connections as a select in plain words, the prompt in a textarea, review
on by default, a placeholder for a Field the Stage does not read named as an error — no JSON typed);
and the staff Task page where an approver edits the AI's proposal and accepts it (axe-core clean).
Screenshots: docs/screenshots/builder-ai-prompt-panel.png, docs/screenshots/task-ai-proposal.png."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.ai.conftest import connection
from tests.ai.model_server import ModelServer, answer
from tests.builder_ui.conftest import drag_until, open_editor, wait_saved
from tests.builder_ui.test_builder_flow import set_value
from tests.scheduling.test_picker_browser import axe_violations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def model(app, monkeypatch):
    server = ModelServer()
    monkeypatch.setitem(app.config, "AI_CONNECTIONS", {"local": connection(server.url, label="Our model")})
    yield server
    server.close()


@pytest.mark.browser
def test_palette_card_and_config_panel(model, fresh_process, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 1000})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    card = page.locator('#palette .type[data-type="ai_prompt"]')
    assert "AI Prompt" in card.inner_text() and card.locator(".icon").get_attribute("data-glyph") == "spark"
    drag_until(page, card, page.locator(".column.new .cards"), '.card[data-key="ai_prompt_1"]')
    page.click('.card[data-key="ai_prompt_1"]')
    panel = page.locator("#panel")
    page.check('#panel input[name="reads.name"]')
    page.check('#panel input[name="writes.notes"]')
    conn = panel.locator('select[name="config.connection"]')
    assert conn.locator("option").all_inner_texts()[-1] == "Our model (test-model)"
    conn.select_option("local")
    assert panel.locator('textarea[name="config.prompt"]').get_attribute("rows") == "8"
    assert panel.locator('input[type=checkbox][name="config.review"]').is_checked()   # on by default
    set_value(page, '#panel textarea[name="config.prompt"]', "Summarise the lead {{ name }} with {{ budget }}.")
    wait_saved(page)
    errors = [(e["path"], e["message"]) for e in page.evaluate("() => window.builderState.errors")]
    assert errors == [("stages[0].config.prompt", "unknown placeholder budget (only Fields this Stage reads: name)")]
    set_value(page, '#panel textarea[name="config.prompt"]', "Summarise the lead {{ name }} in one sentence.")
    wait_saved(page)
    assert page.evaluate("() => window.builderState.errors") == []
    config = page.evaluate("() => window.builderState.def.stages[0].config")
    assert config == {"connection": "local", "prompt": "Summarise the lead {{ name }} in one sentence."}
    page.click('.card[data-key="ai_prompt_1"]')
    labels = page.locator('#panel .p-sec[data-section="config"] label').all_inner_texts()
    assert [t.split("\n")[0].strip() for t in labels][:3] == ["AI connection", "Prompt",
                                                             "A person approves the answer before it is written"]
    page.evaluate("() => document.querySelector('#panel [data-section=config]').scrollIntoView()")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "ai-panel", full_page=False), DOCS / "builder-ai-prompt-panel.png")


@pytest.mark.browser
def test_an_approver_edits_and_accepts_the_proposal_on_the_task_page(model, demo, live_server, page, login_page,
                                                                     screenshot, api_as, app):
    from app.models import StageRun, Task, User
    from app.processes import operations as ops, versioning
    from app.runtime.worker import make_worker
    from app.tasks import operations as service

    designer = db.session.scalar(select(User).where(User.email == "designer@procly.local"))
    assert api_as(designer).post("/api/v1/secrets", json={"team": "Intake", "name": "MODEL_KEY",
                                                          "value": "sk-browser-test-1234"}).status_code == 201
    process = ops.create_process({"key": "qualify", "name": "Qualify", "description": "", "table": "clients",
                                  "team": "Intake"}, designer)
    versioning.publish(process, designer, "ai", definition={"stages": [{
        "key": "ask", "name": "Qualify the lead", "type": "ai_prompt", "reads": ["name", "message"],
        "writes": ["notes", "eligible"], "config": {"connection": "local",
                                                    "prompt": "Lead {{ name }} wrote: {{ message }}"},
        "roles": {"responsible": ["team:Intake"], "approver": ["team:Compliance"]}}], "routes": []})
    db.session.commit()
    model.then(answer({"notes": "Wants a consultation next week.", "eligible": True}, usage=(212, 31)))
    task = service.create_task({"process": "qualify", "values": {"name": "Robin", "email": "robin@example.com",
                                                                 "message": "Hello, I need advice."}}, None, "system")
    db.session.commit()
    task_id = task.id
    make_worker(app).work(burst=True, logging_level="WARNING")
    db.session.remove()
    run_id = db.session.scalar(select(StageRun.id).where(StageRun.task_id == task_id))

    page.set_viewport_size({"width": 1280, "height": 1000})
    login_page(page, live_server, "approver@procly.local")
    page.goto(f"{live_server}/queue/tasks/{task_id}")
    form = page.locator(f"#run-{run_id} form[data-ai-proposal]")
    assert "The AI proposes these values" in form.inner_text()
    assert form.locator('input[name="f_notes"]').input_value() == "Wants a consultation next week."
    assert "What the AI was asked and answered (1 call, 212 prompt + 31 answer tokens" in page.locator(
        f"#run-{run_id}").inner_text()
    assert axe_violations(page) == []
    form.locator('input[name="f_notes"]').fill("Consultation next week; prefers mornings.")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "ai-task", full_page=True), DOCS / "task-ai-proposal.png")
    form.locator("button:has-text('Accept and write')").click()
    page.wait_for_load_state()
    page.locator(f"#run-status-{run_id}:has-text('completed')").wait_for()
    db.session.remove()
    values = db.session.get(Task, task_id).values
    assert values["notes"] == "Consultation next week; prefers mornings." and values["eligible"] is True
