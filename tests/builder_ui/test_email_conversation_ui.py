"""The Email conversation in Chromium: the builder's palette card and its settings panel built from
the type's config schema (selects in plain words, the email Field chosen among the Stage's reads,
message templates in textareas, a placeholder for a Field the Stage may not read named as an
error); and the staff Task page showing a reply full of HTML and script as inert text."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.conversations import incoming
from app.extensions import db
from app.models import MailMessage, StageRun
from tests.builder_ui.conftest import drag_until, open_editor, wait_saved
from tests.builder_ui.test_builder_flow import set_value
from tests.conversations.conftest import DOMAIN, Sink, reply_to

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.browser
def test_palette_card_and_config_panel(fresh_process, designer_api, live_server, page, login_page, screenshot):
    page.set_viewport_size({"width": 1280, "height": 900})
    login_page(page, live_server, "designer@procly.local")
    open_editor(page, live_server, fresh_process)
    card = page.locator('#palette .type[data-type="email_conversation"]')
    assert "Email conversation" in card.inner_text()
    drag_until(page, card, page.locator(".column.new .cards"), '.card[data-key="email_conversation_1"]')
    page.click('.card[data-key="email_conversation_1"]')
    page.check('#panel input[name="reads.name"]')
    page.check('#panel input[name="reads.email"]')
    recipient = page.locator('#panel select[name="config.recipient"]')
    assert recipient.locator("option").all_inner_texts() == ["The invited participant", "The address in an email Field"]
    recipient.select_option("field")
    field = page.locator('#panel select[name="config.recipient_field"]')
    assert field.locator("option").all_inner_texts() == ["—", "Email"]     # email Fields among the reads only
    field.select_option("email")
    assert page.locator('#panel textarea[name="config.body"]').get_attribute("rows") == "8"
    set_value(page, '#panel textarea[name="config.subject"]', "Your first appointment, {{ name }}")
    set_value(page, '#panel textarea[name="config.body"]', "Hello {{ name }}, your budget {{ budget }}?")
    page.locator('#panel select[name="config.finish"]').select_option("staff_done")
    wait_saved(page)
    errors = page.evaluate("() => window.builderState.errors")
    assert [(e["path"], e["message"]) for e in errors] == [
        ("stages[0].config.body", "unknown placeholder budget (only Fields this Stage reads: name, email)")]
    page.locator('.card[data-key="email_conversation_1"] .card-errors:has-text("unknown placeholder budget")').wait_for()
    page.click('.card[data-key="email_conversation_1"]')
    page.locator('#panel .p-sec.has-error li:has-text("unknown placeholder budget")').wait_for()
    set_value(page, '#panel textarea[name="config.body"]', "Hello {{ name }},\nwhen would suit you?")
    wait_saved(page)
    assert page.evaluate("() => window.builderState.errors") == []
    config = page.evaluate("() => window.builderState.def.stages[0].config")
    assert config == {"recipient": "field", "recipient_field": "email", "finish": "staff_done",
                      "subject": "Your first appointment, {{ name }}", "body": "Hello {{ name }},\nwhen would suit you?"}
    page.click('.card[data-key="email_conversation_1"]')        # the panel again, without the old error
    labels = page.locator('#panel .p-sec[data-section="config"] label').all_inner_texts()
    names = [t.split("\n")[0] for t in labels]
    assert names[:5] == ["Send to", "Email Field", "Subject", "Message", "Finish when"]
    assert {"Keep attachments in", "Largest attachment (MB)"} <= set(names), names
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(screenshot(page, "email", full_page=False), DOCS / "builder-email-conversation.png")


@pytest.mark.browser
def test_the_task_page_shows_a_hostile_reply_as_text(demo, live_server, page, login_page, screenshot, app):
    from aiosmtpd.controller import Controller

    from app.processes import operations as ops, versioning
    from app.models import User
    from app.runtime.worker import make_worker
    from app.tasks import operations as service
    from tests.servers import free_port

    sink, port = Sink(), free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    old = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "PROCLY_MAIL_DOMAIN")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, PROCLY_MAIL_DOMAIN=DOMAIN)
    try:
        designer = db.session.scalar(select(User).where(User.email == "designer@procly.local"))
        process = ops.create_process({"key": "welcome", "name": "Welcome", "description": "", "table": "clients",
                                      "team": "Intake"}, designer)
        versioning.publish(process, designer, "email", definition={"stages": [{
            "key": "ask", "name": "Ask for documents", "type": "email_conversation", "reads": ["name", "email"],
            "writes": [], "config": {"recipient": "field", "recipient_field": "email", "finish": "staff_done",
                                     "subject": "Documents for {{ name }}",
                                     "body": "Hello {{ name }},\nplease send your documents."}}], "routes": []})
        db.session.commit()
        task = service.create_task({"process": "welcome", "values": {"name": "Robin", "email": "robin@example.com"}},
                                   None, "system")
        db.session.commit()
        task_id = task.id
        make_worker(app).work(burst=True, logging_level="WARNING")
        db.session.remove()
        [sent] = sink.messages()
        hostile = ('<p>Here you go <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
                   '<a href="javascript:window.__pwned=3">click</a></p>')
        assert incoming.accept(reply_to(sent, 'Here you go <script>window.__pwned=4</script>', html=hostile)).accepted
        run_id = db.session.scalar(select(StageRun.id).where(StageRun.task_id == task_id))

        page.set_viewport_size({"width": 1280, "height": 900})
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        login_page(page, live_server, "staff@procly.local")
        page.goto(f"{live_server}/queue/tasks/{task_id}")
        thread = page.locator(f"#thread-{run_id}")
        assert "Here you go <script>window.__pwned=4</script>" in thread.inner_text()   # shown as text
        assert page.evaluate("() => window.__pwned") is None and dialogs == []
        assert page.locator(f"#thread-{run_id} script, #thread-{run_id} img").count() == 0
        run_box = page.locator(f"#run-{run_id}")
        run_box.locator("form.email-reply textarea[name=body]").fill("Thank you, Robin!")
        run_box.locator("button:has-text('Send reply')").click()
        page.wait_for_load_state()
        assert page.locator(".flash").inner_text().strip().startswith("Reply queued")
        assert "Thank you, Robin!" in page.locator(f"#thread-{run_id}").inner_text()
        shutil.copy(screenshot(page, "task", full_page=True), DOCS / "task-email-conversation.png")
        page.locator(f"#run-{run_id} button:has-text('Mark conversation done')").click()
        page.wait_for_load_state()
        assert page.locator(f"#run-status-{run_id}").inner_text() == "completed"
        assert db.session.scalar(select(MailMessage.id).where(MailMessage.direction == "out",
                                                              MailMessage.author_user_id.is_not(None)))
    finally:
        ctl.stop()
        app.config.update(old)
