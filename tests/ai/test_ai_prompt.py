"""The AI Prompt stage end to end: a real RQ worker (in-process AppWorker on the real Redis) runs the
Task, the local chat-completions server answers over HTTP, the proposal waits for an approver who
accepts, edits or rejects it through the API or the Task page; config checks; the dashboard's sums."""
from __future__ import annotations

import json

from sqlalchemy import select

from tests.ai.conftest import KEY, ai_stage
from tests.ai.model_server import answer
from tests.runtime_io.conftest import st


def _events(world, tid, type_):
    return [e.data for e in world.events(tid, type_)]


def test_the_answer_is_a_proposal_until_an_approver_accepts_it(world, model):
    model.then(answer({"note": "qualified: budget fits", "ok": True}, usage=(120, 18)))
    world.process("lead", [ai_stage(), st("after", reads=["note"])])
    tid = world.start("lead", {"name": "Ada", "budget": 5000, "note": "before"})
    world.drain()

    run = world.run(tid, "ask")
    assert run.status == "awaiting_approval"
    assert run.data["proposal"] == {"values": {"note": "qualified: budget fits", "ok": True}, "status": "pending"}
    assert world.task(tid).values["note"] == "before" and world.task(tid).values.get("ok") is None   # nothing written
    assert _events(world, tid, "proposal.made") == [{"stage": "ask", "fields": ["note", "ok"]}]

    # what went over the wire: the protocol, the key in the header only, the readable Fields only
    (req,) = model.requests
    assert req["path"] == "/v1/chat/completions" and req["headers"]["Authorization"] == f"Bearer {KEY}"
    body = req["json"]
    assert body["model"] == "test-model" and "tools" not in body and "functions" not in body
    assert body["messages"][1] == {"role": "user", "content": "Qualify this lead. Name: Ada. Budget: 5000."}
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["note", "ok"] and schema["additionalProperties"] is False
    assert schema["properties"]["ok"]["type"] == ["boolean", "null"]
    assert KEY not in json.dumps(body)

    approver = world.as_approver
    got = approver.get(f"/api/v1/ai/runs/{run.id}").get_json()
    assert got["proposal"]["status"] == "pending"
    assert got["totals"] == {"calls": 1, "prompt_tokens": 120, "completion_tokens": 18,
                             "duration_ms": got["totals"]["duration_ms"]}
    assert got["calls"][0]["messages"][1]["content"].startswith("Qualify this lead")
    assert json.loads(got["calls"][0]["response"]) == {"note": "qualified: budget fits", "ok": True}

    r = approver.post(f"/api/v1/runs/{run.id}/approve", json={"values": {"note": "qualified (checked)"}})
    assert r.status_code == 200, r.get_json()
    task = world.task(tid)
    assert task.values["note"] == "qualified (checked)" and task.values["ok"] is True
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}
    assert _events(world, tid, "proposal.accepted") == [
        {"stage": "ask", "fields": ["note", "ok"], "edited": ["note"]}]
    assert world.run(tid, "ask").data["proposal"]["written"] == {"note": "qualified (checked)", "ok": True}


def test_edits_are_checked_like_any_input(world, model):
    model.then(answer({"note": "x", "ok": False}))
    world.process("lead", [ai_stage()])
    tid = world.start("lead", {"name": "Ada"})
    world.drain()
    run_id = world.run(tid, "ask").id
    approver = world.as_approver
    r = approver.post(f"/api/v1/runs/{run_id}/approve", json={"values": {"budget": 1}})
    assert r.status_code == 403 and "values.budget" in r.get_json()["error"]["details"]
    r = approver.post(f"/api/v1/runs/{run_id}/approve", json={"values": {"ok": "perhaps"}})
    assert r.status_code == 422 and r.get_json()["error"]["details"] == {"values.ok": ["must be yes or no"]}
    r = approver.post(f"/api/v1/runs/{run_id}/reject", json={"values": {"ok": True}})
    assert r.status_code == 422
    assert world.run(tid, "ask").status == "awaiting_approval" and world.task(tid).values.get("ok") is None
    # only an approver decides: the Responsible (who may see it) may not
    r = world.as_staff.post(f"/api/v1/runs/{run_id}/approve", json={})
    assert r.status_code == 403


def test_a_rejected_proposal_writes_nothing_and_the_run_goes_back_to_a_person(world, model):
    model.then(answer({"note": "spam", "ok": False}))
    world.process("lead", [ai_stage()])
    tid = world.start("lead", {"name": "Ada", "note": "before"})
    world.drain()
    run_id = world.run(tid, "ask").id
    r = world.as_approver.post(f"/api/v1/runs/{run_id}/reject", json={"comment": "wrong"})
    assert r.status_code == 200
    run = world.run(tid, "ask")
    assert run.status == "in_progress" and run.data["proposal"]["status"] == "rejected"
    assert world.task(tid).values["note"] == "before" and world.task(tid).values.get("ok") is None
    # the Responsible fills the Fields by hand and completes it
    r = world.as_staff.post(f"/api/v1/runs/{run_id}/complete", json={"values": {"note": "by hand"}})
    assert r.status_code == 200 and world.run(tid, "ask").status == "completed"
    assert world.task(tid).values["note"] == "by hand"


def test_a_rejection_follows_the_stages_approval_rejected_route(world, model):
    model.then(answer({"note": "spam", "ok": False}))
    world.process("review", [st("look")])
    world.process("lead", [ai_stage()], routes=[
        {"key": "rejected", "name": "Rejected", "stage": "ask", "trigger": {"type": "approval_rejected"},
         "target": {"process": "review"}}])
    tid = world.start("lead", {"name": "Ada"})
    world.drain()
    run_id = world.run(tid, "ask").id
    assert world.as_approver.post(f"/api/v1/runs/{run_id}/reject", json={}).status_code == 200
    task = world.task(tid)
    assert task.process.key == "review" and task.values.get("note") is None
    assert world.statuses(tid)["look"] == "pending"


def test_without_review_the_valid_answer_is_written_at_once(world, model):
    model.then(answer({"note": "fine", "ok": True}))
    world.process("lead", [ai_stage(review=False), st("after")])
    tid = world.start("lead", {"name": "Ada"})
    world.drain()
    assert world.statuses(tid) == {"ask": "completed", "after": "pending"}
    assert world.task(tid).values["note"] == "fine" and world.task(tid).values["ok"] is True
    assert world.run(tid, "ask").data["log"][-1] == "answer valid: written (note, ok)"


def test_the_task_page_shows_the_proposal_to_the_approver_who_edits_and_accepts(world, model, app):
    from tests.helpers import signed_in

    model.then(answer({"note": "proposed <b>note</b>", "ok": True}))
    world.process("lead", [ai_stage()])
    tid = world.start("lead", {"name": "Ada"})
    world.drain()
    run_id = world.run(tid, "ask").id
    page_client = signed_in(app, "approver@x.test", "pw-secret-1")
    page = page_client.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "The AI proposes these values" in page and 'value="proposed &lt;b&gt;note&lt;/b&gt;"' in page
    assert "What the AI was asked and answered (1 call, 50 prompt + 10 answer tokens" in page
    staff_page = signed_in(app, "staff@x.test", "pw-secret-1").get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "The AI proposes these values" not in staff_page and "waits for an approver" in staff_page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = page_client.post(f"/queue/runs/{run_id}/act", data={"csrf_token": token, "action": "approve",
                                                            "f_note": "from the page", "f_ok": "false"})
    assert '<option value="true" selected>Yes</option>' in page
    assert r.status_code in (302, 303)
    assert world.task(tid).values["note"] == "from the page" and world.task(tid).values["ok"] is False
    assert world.run(tid, "ask").data["proposal"]["edited"] == ["note", "ok"]


def test_config_checks(world):
    designer = world.as_admin
    world.process("bad", [ai_stage("s0")])
    bad = [
        ai_stage("s1", prompt="Hello {{ secret_field }}"),
        ai_stage("s2", connection="nope"),
        ai_stage("s3", writes=()),
        ai_stage("s4", prompt="{% for x in y %}{% endfor %}"),
    ]
    draft = designer.get("/api/v1/processes/bad/draft").get_json()
    saved = designer.put("/api/v1/processes/bad/draft", json={
        "definition": {"stages": bad, "routes": []}, "revision": draft["revision"]})
    assert saved.status_code == 200
    errors = {e["path"]: e["message"] for e in saved.get_json()["errors"]}
    assert "unknown placeholder secret_field" in errors["stages[0].config.prompt"]
    assert 'no AI connection named "nope"' in errors["stages[1].config.connection"]
    assert "must write at least one Field" in errors["stages[2].writes"]
    assert "only {{ field }} placeholders" in errors["stages[3].config.prompt"]


def test_the_palette_card_and_the_panel_schema(world):
    types = {t["key"]: t for t in world.as_admin.get("/api/v1/processes/stage-types").get_json()}
    ai = types["ai_prompt"]
    assert ai["name"] == "AI Prompt" and ai["automated"] and ai["needs"]["egress"] and ai["available"]
    props = ai["config_schema"]["properties"]
    assert props["connection"]["enum"] == ["local"] and props["connection"]["x-labels"] == {"local": "Test model (test-model)"}
    assert props["review"]["default"] is True and props["prompt"]["x-rows"] == 8
    assert ai["connections"] == [{"name": "local", "label": "Test model", "model": "test-model",
                                  "host": ai["connections"][0]["host"], "secret": "MODEL_KEY"}]
    assert KEY not in json.dumps(types)


def test_the_dashboard_sums_tokens_and_model_time(world, model):
    model.then(answer({"note": "a", "ok": True}, usage=(100, 20)), answer({"note": "b", "ok": True}, usage=(30, 5)))
    world.process("lead", [ai_stage(review=False)])
    world.start("lead", {"name": "A"})
    world.start("lead", {"name": "B"})
    world.drain()
    d = world.as_admin.get("/api/v1/metrics/dashboard?process=lead").get_json()
    assert d["ai"]["calls"] == 2 and d["ai"]["runs"] == 2
    assert d["ai"]["prompt_tokens"] == 130 and d["ai"]["completion_tokens"] == 25
    assert d["ai"]["model_seconds"] is not None


def test_each_call_is_kept_with_its_tokens_and_duration(world, model):
    from app.models import ModelCall

    model.then(answer({"note": "n", "ok": True}, usage=(7, 3), delay=0.3))
    world.process("lead", [ai_stage(review=False)])
    tid = world.start("lead", {"name": "A"})
    world.drain()
    (call,) = world.db.session.scalars(select(ModelCall).where(ModelCall.task_id == tid)).all()
    assert (call.outcome, call.http_status, call.prompt_tokens, call.completion_tokens) == ("ok", 200, 7, 3)
    assert call.duration_ms >= 300 and call.connection == "local" and call.model == "test-model"
