"""The Email conversation stage type through the real parts in this process: the registry and
validation, a real RQ worker (in-process) performing the Stage and the outbox sending to a real SMTP
server (aiosmtpd), replies through the one pipeline (app.conversations.incoming), the API and the
Task page — and the attacks: forged, expired and misdirected tokens, HTML/script in a reply,
placeholders for Fields the Stage may not read, header injection through a Field value."""
from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import func, select

from app import clock
from app.infra import signing
from app.conversations import incoming, tokens
from app.models import Comment, MailMessage, Outbox
from app.models.files import StoredFile
from tests.conversations.conftest import DOMAIN, email_stage, reply_to
from tests.runtime_io.conftest import st


def _count(world, model, **where):
    world.db.session.expire_all()
    q = select(func.count()).select_from(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return world.db.session.scalar(q)


def _started(world, sink, stages=None, values=None):
    world.process("ask", stages or [email_stage(), st("after")])
    tid = world.start("ask", values or {"name": "Ada", "email": "ada@example.com", "note": "any weekday"})
    world.drain()
    return tid


def _errors(designer, key, stages):
    draft = designer.get(f"/api/v1/processes/{key}/draft").get_json()
    saved = designer.put(f"/api/v1/processes/{key}/draft",
                         json={"definition": {"stages": stages, "routes": []}, "revision": draft["revision"]})
    assert saved.status_code == 200, saved.get_json()
    return {e["path"]: e["message"] for e in saved.get_json()["errors"]}


def test_the_builder_lists_it_with_a_config_panel_schema(world):
    listed = {t["key"]: t for t in world.api.get("/api/v1/processes/stage-types").get_json()}
    t = listed["email_conversation"]
    assert t["name"] == "Email conversation" and t["automated"] is True
    props = t["config_schema"]["properties"]
    assert props["recipient"]["enum"] == ["participant", "field"] and props["recipient"]["title"] == "Send to"
    assert props["recipient"]["x-labels"]["field"] == "The address in an email Field"
    assert props["finish"]["enum"] == ["first_reply", "staff_done"]
    assert props["body"]["x-rows"] == 8 and props["recipient_field"]["x-field-of"] == "reads"
    assert set(t["config_schema"]["required"]) == {"subject", "body"}


def test_placeholders_must_name_fields_the_stage_reads(world):
    designer = world.api_as(world.admin)
    world.process("ask", [email_stage()])
    errors = _errors(designer, "ask", [email_stage(subject="About {{ secret }} and {{ nope }}",
                                                   body="{{ name }} {{ secret }}")])
    assert "unknown placeholders secret, nope" in errors["stages[0].config.subject"]
    assert "unknown placeholder secret" in errors["stages[0].config.body"]
    assert "only Fields this Stage reads: name, email, note" in errors["stages[0].config.body"]
    errors = _errors(designer, "ask", [email_stage(body="{% for x in range(9) %}{{ x }}{% endfor %}",
                                                   subject="{{ name.__class__ }}")])
    assert "no {% %} tags" in errors["stages[0].config.body"]
    assert "no filters or expressions" in errors["stages[0].config.subject"]
    errors = _errors(designer, "ask", [email_stage(reads=("name", "note"))])
    assert errors == {"stages[0].config.recipient_field": '"email" is not in reads'}
    stage = email_stage()
    stage["config"]["recipient_field"] = "name"
    assert _errors(designer, "ask", [stage]) == {"stages[0].config.recipient_field": '"name" is not an email Field'}
    assert _errors(designer, "ask", [email_stage()]) == {}


def test_send_reply_complete(world, sink):
    tid = _started(world, sink)
    run = world.run(tid, "ask")
    assert run.status == "in_progress" and world.statuses(tid) == {"ask": "in_progress"}
    [sent] = sink.messages()
    assert sink.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert str(sent["Subject"]) == "Your appointment, Ada"
    assert "Hello Ada," in sent.get_body(("plain",)).get_content()
    reply_address = str(sent["Reply-To"])
    assert reply_address.startswith("reply+") and reply_address.endswith("@" + DOMAIN)
    assert tokens.verify(tokens.token_in(reply_address)).run_id == run.id
    assert str(sent["Message-ID"]).endswith(f"@{DOMAIN}>")

    raw = reply_to(sent, "Tuesday at 10 works for me.")
    outcome = incoming.accept(raw)
    assert outcome.accepted, outcome
    again = incoming.accept(raw)                  # delivered twice (a retrying server): kept once
    assert again.reason == "duplicate" and again.message_id == outcome.message_id
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}
    convo = world.api.get(f"/api/v1/conversations/{run.id}").get_json()
    assert [m["direction"] for m in convo["messages"]] == ["out", "in"]
    answer = convo["messages"][1]
    assert answer["text"] == "Tuesday at 10 works for me."           # the quoted history is gone
    assert answer["sender"] == "client@example.com"
    assert {e.type for e in world.events(tid)} >= {"email.sent", "email.received", "stage.input"}
    page = world.api.client.get(f"/queue/tasks/{tid}")       # not signed in: the page asks for a login
    assert page.status_code in (302, 401)


def test_staff_reply_and_mark_done_when_finish_is_staff_done(world, sink, client, web_login):
    tid = _started(world, sink, [email_stage(finish="staff_done"), st("after")])
    [sent] = sink.messages()
    run_id = world.run(tid, "ask").id
    assert incoming.accept(reply_to(sent, "Which documents do you need?")).accepted
    assert world.run(tid, "ask").status == "in_progress"       # waits for staff

    r = world.api.post(f"/api/v1/conversations/{run_id}/replies", json={"body": "Your ID, please.\nThanks"})
    assert r.status_code == 201, r.get_json()
    world.drain()
    second = sink.messages()[1]
    assert str(second["In-Reply-To"]).strip("<>") == world.db.session.scalars(
        select(MailMessage.message_id).where(MailMessage.direction == "in")).one()
    assert str(second["Subject"]) == "Re: " + str(sent["Subject"])
    assert second["Reply-To"] != sent["Reply-To"]                   # a fresh reply token
    assert tokens.verify(tokens.token_in(str(second["Reply-To"]))).run_id == run_id
    assert "Your ID, please." in second.get_body(("plain",)).get_content()

    assert world.api.post(f"/api/v1/conversations/{run_id}/replies", json={"body": "  "}).status_code == 422
    r = world.api.post(f"/api/v1/conversations/{run_id}/done")
    assert r.status_code == 200 and r.get_json()["status"] == "completed"
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}
    r = world.api.post(f"/api/v1/conversations/{run_id}/replies", json={"body": "late"})
    assert r.status_code == 409 and r.get_json()["error"]["details"] == {"status": ["completed"]}
    assert world.events(tid, "email.conversation_done")


def test_staff_reply_from_the_task_page_and_the_thread_shows_it(world, sink, client, web_login):
    from tests.helpers import csrf

    tid = _started(world, sink, [email_stage(finish="staff_done")])
    run_id = world.run(tid, "ask").id
    web_login("staff@x.test", "pw-secret-1")
    page = client.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Send reply" in page and "Mark conversation done" in page and "Your appointment, Ada" in page
    r = client.post(f"/queue/runs/{run_id}/email/reply", data={"csrf_token": csrf(client), "body": "Hi again"})
    assert r.status_code == 302
    world.drain()
    assert [m["To"] for m in sink.messages()] == ["ada@example.com", "ada@example.com"]
    r = client.post(f"/queue/runs/{run_id}/email/done", data={"csrf_token": csrf(client)})
    assert r.status_code == 302 and world.run(tid, "ask").status == "completed"
    page = client.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Hi again" in page and "Send reply" not in page


def test_the_participant_is_the_default_recipient(world, sink):
    from app.participants import links

    world.process("ask", [email_stage(recipient="participant", reads=("name", "note"))])
    tid = world.start("ask", {"name": "Bo", "note": "x"})
    world.drain()
    run = world.run(tid, "ask")
    assert run.status == "failed" and "no participant is invited" in run.error   # nobody to write to
    links.invite(world.task(tid), "bo@example.com")
    world.db.session.commit()
    assert world.api.post(f"/api/v1/runs/{run.id}/retry").status_code == 200
    world.drain()
    assert [e.rcpt_tos for e in sink.envelopes][-1] == ["bo@example.com"]
    assert world.run(tid, "ask").status == "in_progress"


# --- attacks -------------------------------------------------------------------------------------

def _nothing_attached(world, tid):
    assert _count(world, MailMessage, direction="in") == 0
    assert world.run(tid, "ask").status == "in_progress"
    assert not world.events(tid, "email.received")


def test_a_forged_token_is_dropped_and_logged(world, sink, caplog):
    tid = _started(world, sink)
    [sent] = sink.messages()
    token = tokens.token_in(str(sent["Reply-To"]))
    run_part, msg_part, exp_part, sig = token.split("-")
    forged = [f"{run_part}-{msg_part}-{exp_part}-{'a' * 26}",                 # a made-up signature
              f"{run_part}-{msg_part}-{signing.b36(int(exp_part, 36) + 86400 * 365)}-{sig}",  # a later expiry
              "not-a-token"]
    for bad in forged:
        outcome = incoming.accept(reply_to(sent, "let me in", to=f"reply+{bad}@{DOMAIN}"))
        assert not outcome.accepted and ("forged" in outcome.reason or "malformed" in outcome.reason)
    assert not incoming.accept(reply_to(sent, "no token", to=f"someone@{DOMAIN}")).accepted
    assert not incoming.accept(reply_to(sent, "other domain", to=str(sent["Reply-To"]).replace(DOMAIN, "evil.test"))).accepted
    _nothing_attached(world, tid)
    assert "forged reply token" in caplog.text


def test_an_expired_token_is_dropped(world, sink):
    tid = _started(world, sink)
    [sent] = sink.messages()
    frozen = clock.FrozenClock(clock.now() + timedelta(days=30, seconds=5))
    clock.set_clock(frozen)
    try:
        outcome = incoming.accept(reply_to(sent, "too late"))
    finally:
        clock.set_clock(None)
    assert not outcome.accepted and outcome.reason == "expired reply token"
    _nothing_attached(world, tid)


def test_a_token_for_another_run_never_reaches_this_one(world, sink):
    world.process("ask", [email_stage()])
    first = world.start("ask", {"name": "A", "email": "a@example.com"})
    second = world.start("ask", {"name": "B", "email": "b@example.com"})
    world.drain()
    run_a, run_b = world.run(first, "ask"), world.run(second, "ask")
    msg_b = world.db.session.scalar(select(MailMessage).where(MailMessage.stage_run_id == run_b.id))
    # signed by Procly, but pairing run A with an email of run B: refused, attached to neither
    crossed = tokens.make(run_a.id, msg_b.id)
    sent = next(m for m in sink.messages() if m["To"] == "b@example.com")
    outcome = incoming.accept(reply_to(sent, "cross", to=tokens.address(crossed)))
    assert not outcome.accepted and "does not match" in outcome.reason
    assert _count(world, MailMessage, direction="in") == 0
    # the genuine token of B lands on B only
    assert incoming.accept(reply_to(sent, "mine")).run_id == run_b.id
    assert world.run(first, "ask").status == "in_progress" and world.run(second, "ask").status == "completed"


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline, self.handlers, self.urls = [], [], []
        self._in = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs:
            self._in = True
        self.handlers += [k for k in attrs if k.startswith("on")]
        self.urls += [v for k, v in attrs.items() if k in ("href", "src") and v and v.lower().startswith("javascript")]

    def handle_endtag(self, tag):
        self._in = self._in and tag != "script"

    def handle_data(self, data):
        if self._in:
            self.inline.append(data)


def test_html_and_script_in_a_reply_are_sanitised(world, sink, client, web_login):
    tid = _started(world, sink)
    [sent] = sink.messages()
    html = ('<p onclick="steal()">Fine <b>by me</b><script>alert(document.cookie)</script>'
            '<a href="javascript:alert(1)">x</a><img src=x onerror="alert(2)"><style>p{}</style></p>'
            '<div class="gmail_quote">On Mon … wrote:<blockquote>old text</blockquote></div>')
    text = 'Fine by me <script>alert("text")</script>'
    assert incoming.accept(reply_to(sent, text, html=html)).accepted
    run = world.run(tid, "ask")
    answer = world.api.get(f"/api/v1/conversations/{run.id}").get_json()["messages"][1]
    assert "<b>by me</b>" in answer["html"]
    for bad in ("<script", "onclick", "onerror", "javascript:", "<style", "old text", "gmail_quote"):
        assert bad not in answer["html"], bad
    web_login("staff@x.test", "pw-secret-1")
    page = client.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    found = _Scripts()
    found.feed(page)
    assert found.inline == [] and found.handlers == [] and found.urls == []
    assert '&lt;script&gt;alert(&#34;text&#34;)&lt;/script&gt;' in page     # shown as text, escaped


def test_a_field_value_cannot_inject_headers_into_the_subject(world, sink):
    _started(world, sink, values={"name": "Eve\r\nBcc: victim@example.com\r\nX-Evil: 1",
                                  "email": "eve@example.com", "note": "<b>bold</b>"})
    [envelope] = sink.envelopes
    assert envelope.rcpt_tos == ["eve@example.com"]
    [sent] = sink.messages()
    assert sent["Bcc"] is None and sent["X-Evil"] is None
    assert str(sent["Subject"]) == "Your appointment, Eve Bcc: victim@example.com X-Evil: 1"
    assert "&lt;b&gt;bold&lt;/b&gt;" in sent.get_body(("html",)).get_content()   # escaped in the HTML part


def test_replying_needs_the_right_to_work_the_stage(world, sink, make_user):
    other = world.api_as(world.approver)                    # another Team: does not see the Task
    colleague = world.api_as(make_user("staff", teams=("Ops",)))   # sees it, is not its Responsible
    tid = _started(world, sink, [email_stage(finish="staff_done", roles={"responsible": ["user:staff@x.test"]},
                                            visibility={"internal": {"teams": ["Ops"]}})])
    run = world.run(tid, "ask")
    assert other.get(f"/api/v1/conversations/{run.id}").status_code == 404
    assert other.post(f"/api/v1/conversations/{run.id}/replies", json={"body": "x"}).status_code == 404
    assert colleague.get(f"/api/v1/conversations/{run.id}").status_code == 200
    assert colleague.post(f"/api/v1/conversations/{run.id}/replies", json={"body": "x"}).status_code == 403
    assert colleague.post(f"/api/v1/conversations/{run.id}/done").status_code == 403
    assert world.api.post(f"/api/v1/conversations/{run.id}/replies", json={}).status_code == 422
    assert _count(world, Outbox) == 1 and world.run(tid, "ask").status == "in_progress"
    other_run = world.api.get(f"/api/v1/conversations/{run.id + 999}")
    assert other_run.status_code == 404


def test_without_a_field_to_keep_them_attachments_are_listed_not_stored(world, sink):
    tid = _started(world, sink)
    [sent] = sink.messages()
    raw = reply_to(sent, "Here it is", attachments=[("../../etc/passwd\t.pdf", "application/pdf", b"%PDF-1.4 x"),
                                                    ("photo.png", "image/png", b"\x89PNG" + b"0" * 100)])
    assert incoming.accept(raw).accepted
    msg = world.db.session.scalar(select(MailMessage).where(MailMessage.direction == "in"))
    not_kept = "not kept: this step keeps no attachments"
    assert msg.attachments == [{"name": "etc_passwd_.pdf", "type": "application/pdf", "size": 10, "refused": not_kept},
                               {"name": "photo.png", "type": "image/png", "size": 104, "refused": not_kept}]
    comment = world.db.session.get(Comment, msg.comment_id)
    assert "Attachments: etc_passwd_.pdf (refused: not kept" in comment.body
    assert world.db.session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert world.run(tid, "ask").status == "completed"


def test_attachments_become_task_files_checked_like_uploads(world, sink):
    stage = email_stage(writes=["docs"])
    stage["config"].update(attachments_field="docs", attachment_kinds=["pdf"], attachment_max_mb=1)
    tid = _started(world, sink, [stage, st("after", reads=["docs"])])
    [sent] = sink.messages()
    pdf = b"%PDF-1.4\n" + b"1" * 500
    raw = reply_to(sent, "The papers", attachments=[
        ("../contract\x07.pdf", "application/pdf", pdf),
        ("invoice.pdf", "application/pdf", b"MZ\x90\x00" + b"\x00" * 300),      # a program named .pdf
        ("big.pdf", "application/pdf", b"%PDF-1.4\n" + b"2" * (1024 * 1024 + 10)),
    ])
    assert incoming.accept(raw).accepted
    msg = world.db.session.scalar(select(MailMessage).where(MailMessage.direction == "in"))
    kept, program, big = msg.attachments
    assert kept["name"] == "contract_.pdf" and "refused" not in kept
    assert "not allowed here" in program["refused"] and "file" not in program
    assert "larger than 1 MB" in big["refused"]
    stored = world.db.session.get(StoredFile, kept["file"])
    assert stored.task_id == tid and stored.field_key == "docs" and stored.size == len(pdf)
    assert stored.name == "contract_.pdf" and stored.storage_key not in stored.name
    assert world.db.session.scalar(select(func.count()).select_from(StoredFile)) == 1   # nothing else stored
    # the reply completed the Stage, and the kept file is the Field's value
    assert world.run(tid, "ask").status == "completed"
    task = world.api.get(f"/api/v1/tasks/{tid}").get_json()
    assert [f["id"] for f in task["values"]["docs"]] == [stored.id]
    body = world.api.get(f"/api/v1/files/{stored.id}/content")
    assert body.status_code == 200 and body.data == pdf
    uploaded = [e for e in world.events(tid) if e.type == "file.uploaded"]
    assert [e.data["by"] for e in uploaded] == ["email"]


def test_the_attachments_field_must_be_a_file_field_the_stage_writes(world):
    designer = world.api_as(world.admin)
    world.process("ask", [email_stage(), st("after")])
    stage = email_stage()
    stage["config"]["attachments_field"] = "docs"
    assert _errors(designer, "ask", [stage]) == {"stages[0].config.attachments_field": '"docs" is not in writes'}
    stage["writes"], stage["config"]["attachments_field"] = ["note"], "note"
    assert _errors(designer, "ask", [stage]) == {"stages[0].config.attachments_field": '"note" is not a file Field'}


def test_auto_replies_and_oversized_messages_are_dropped(world, sink, app):
    tid = _started(world, sink)
    [sent] = sink.messages()
    ooo = reply_to(sent, "I am away", headers={"Auto-Submitted": "auto-replied"})
    assert incoming.accept(ooo).reason.startswith("an automatic message")
    app.config["MAIL_IN_MAX_BYTES"] = 2000
    try:
        big = incoming.accept(reply_to(sent, "x" * 5000))
    finally:
        app.config["MAIL_IN_MAX_BYTES"] = 10 * 1024 * 1024
    assert not big.accepted and "over the 2000 byte limit" in big.reason
    _nothing_attached(world, tid)


def test_the_conversation_endpoints_are_in_the_openapi_document(world):
    spec = world.api.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert set(paths["/api/v1/conversations/{run_id}"]) >= {"get"}
    reply = paths["/api/v1/conversations/{run_id}/replies"]["post"]
    assert {"201", "401", "403", "404", "422"} <= set(reply["responses"])
    assert "post" in paths["/api/v1/conversations/{run_id}/done"]
    assert "ConversationsMailMessage" in spec["components"]["schemas"] or "MailMessage" in spec["components"]["schemas"]


# --- the portal ----------------------------------------------------------------------------------

def _portal(world, tid, email="bo@example.com"):
    import re

    from app.participants import links

    _, secret = links.invite(world.task(tid), email, name="Bo")
    world.db.session.commit()
    c = world.app.test_client()
    page = c.get(f"/portal/t/{secret}", follow_redirects=True).get_data(as_text=True)
    return c, page, re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def _portal_stage(**kw):
    return email_stage(recipient="participant", reads=("name", "note"),
                       visibility={"external": "action", "internal": {"teams": [], "roles": []}}, **kw)


def test_the_participant_reads_and_answers_the_conversation_in_the_portal(world, sink):
    world.process("ask", [_portal_stage(), st("after")])
    tid = world.start("ask", {"name": "Bo", "note": "x"})
    c, page, token = _portal(world, tid)
    world.drain()                                        # the first email goes to the invited participant
    page = c.get("/portal/").get_data(as_text=True)
    assert "Hello Bo," in page and "Your answer" in page
    run = world.run(tid, "ask")
    empty = c.post(f"/portal/runs/{run.id}/email-reply", data={"form_token": token, "body": "  "})
    assert empty.status_code == 422 and "Write a message first." in empty.get_data(as_text=True)
    forged = c.post(f"/portal/runs/{run.id}/email-reply", data={"form_token": "nope", "body": "hi"})
    assert forged.status_code == 400
    r = c.post(f"/portal/runs/{run.id}/email-reply", data={"form_token": token, "body": "Thursday, <b>please</b>"})
    assert r.status_code == 302
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}     # finish: first reply
    convo = world.api.get(f"/api/v1/conversations/{run.id}").get_json()
    answer = convo["messages"][-1]
    assert (answer["direction"], answer["sender"], answer["text"]) == ("in", "bo@example.com", "Thursday, <b>please</b>")
    received = [e for e in world.events(tid) if e.type == "email.received"]
    assert [e.data["via"] for e in received] == ["portal"]
    # finished: no more answers
    again = c.post(f"/portal/runs/{run.id}/email-reply", data={"form_token": token, "body": "and Friday"})
    assert again.status_code in (404, 409)


def test_another_tasks_participant_cannot_answer(world, sink):
    world.process("ask", [_portal_stage(), st("after")])
    tid = world.start("ask", {"name": "Bo", "note": "x"})
    _portal(world, tid)
    other = world.start("ask", {"name": "Cy", "note": "y"})
    c, _, token = _portal(world, other, "cy@example.com")
    world.drain()
    run = world.run(tid, "ask")
    r = c.post(f"/portal/runs/{run.id}/email-reply", data={"form_token": token, "body": "hijack"})
    assert r.status_code == 404
    assert world.run(tid, "ask").status == "in_progress"
    assert _count(world, MailMessage, direction="in") == 0
