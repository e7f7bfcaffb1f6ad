"""The staff Task page (issue 16): the Stage to act on first with its instructions and checklist
(ticks are Events), typed inputs that accept what people read ("in area", "Yes", datetime-local),
values and per-field errors kept after a refusal, Move with no default target; and each role's home."""
from sqlalchemy import select

from app.extensions import db
from app.models import Event, StageRun, Task
from tests.helpers import csrf


def _run(task, key):
    db.session.rollback()
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))


def _to_confirm(app, new_task, client, web_login):
    """A Task at Intake's `confirm` (basic, checklist), worked by staff@."""
    from app.tasks import operations as service

    task = new_task({"name": "Jo Client", "email": "jo@example.com", "location": "in_area", "budget": 5000})
    collect = _run(task, "collect")
    service.act(collect.id, "complete", "system", values={"name": "Jo Client", "email": "jo@example.com",
                                                           "location": "in_area", "budget": 5000})
    db.session.commit()
    web_login("staff@procly.local")
    return task, _run(task, "confirm")


def test_the_stage_to_act_on_comes_first_with_its_instructions(app, new_task, users, web_login, client):
    task = new_task()
    html = web_login("staff@procly.local").get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert html.index('id="run-') < html.index('id="fields"')      # the work before the Fields
    assert "Tell us about yourself." in html                         # collect's instructions
    assert 'type="email"' in html and 'type="radio"' in html and "(required)" in html


def test_checklist_ticks_are_events_and_shown(app, new_task, users, web_login, client):
    task, confirm = _to_confirm(app, new_task, client, web_login)
    html = client.get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert "Location served" in html and "0 of 3 done" in html
    r = client.post(f"/queue/runs/{confirm.id}/checklist", data={"csrf_token": csrf(client), "done": ["0", "2"]})
    assert r.status_code == 302
    r = client.post(f"/queue/runs/{confirm.id}/checklist", data={"csrf_token": csrf(client), "done": ["2"]})
    events = db.session.execute(select(Event.type, Event.data, Event.actor).where(
        Event.stage_run_id == confirm.id, Event.type.like("checklist.%")).order_by(Event.id)).all()
    assert [(t, d["item"]) for t, d, _ in events] == [("checklist.ticked", 0), ("checklist.ticked", 2),
                                                      ("checklist.unticked", 0)]
    assert events[0].data["text"] == "Location served" and events[0].actor == f"user:{users['staff'].id}"
    assert "1 of 3 done" in client.get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert client.post(f"/queue/runs/{confirm.id}/checklist",
                       data={"csrf_token": csrf(client), "done": ["7"]}).status_code == 302   # refused, flashed
    assert db.session.scalar(select(Event).where(Event.stage_run_id == confirm.id,
                                                 Event.data["item"].as_integer() == 7)) is None


def _require_the_checklist(users):
    """Intake's next Version: `confirm`'s checklist must be fully ticked (the builder's switch)."""
    import copy

    from app.lookups import find_process
    from app.processes import versioning

    process = find_process("intake")
    doc = copy.deepcopy(versioning.current_version(process).definition)
    stage = next(s for s in _stages(doc) if s["key"] == "confirm")
    stage["config"] = {**(stage.get("config") or {}), "checklist_required": True}
    versioning.publish(process, users["admin"], "checklist required", definition=doc)
    db.session.commit()


def _stages(node):
    if isinstance(node, dict):
        if "key" in node and "type" in node and "reads" in node:
            yield node
        for value in node.values():
            yield from _stages(value)
    elif isinstance(node, list):
        for value in node:
            yield from _stages(value)


def test_a_required_checklist_must_be_ticked_before_completing(app, new_task, users, web_login, client, api_as):
    _require_the_checklist(users)
    task, confirm = _to_confirm(app, new_task, client, web_login)
    page = client.get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert "every item must be ticked before completing" in page
    r = api_as(users["staff"]).post(f"/api/v1/runs/{confirm.id}/complete", json={})
    assert r.status_code == 422 and len(r.json["error"]["details"]["checklist"]) == 3, r.json
    client.post(f"/queue/runs/{confirm.id}/checklist", data={"csrf_token": csrf(client), "done": ["0", "1"]})
    r = client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": csrf(client), "action": "complete"})
    assert r.status_code == 422 and "is not done" in r.get_data(as_text=True)
    assert _run(task, "confirm").status != "completed"
    client.post(f"/queue/runs/{confirm.id}/checklist", data={"csrf_token": csrf(client), "done": ["0", "1", "2"]})
    r = client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": csrf(client), "action": "complete"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert _run(task, "confirm").status in ("completed", "awaiting_approval")   # confirm then waits for its approver


def test_someone_who_may_not_complete_cannot_tick(app, new_task, users, web_login, client):
    task, confirm = _to_confirm(app, new_task, client, web_login)
    client.post("/logout", data={"csrf_token": csrf(client)})
    web_login("approver@procly.local")
    r = client.post(f"/queue/runs/{confirm.id}/checklist", data={"csrf_token": csrf(client), "done": ["0"]})
    assert r.status_code in (403, 404)
    assert db.session.scalar(select(Event).where(Event.type == "checklist.ticked")) is None


def test_typed_values_as_people_read_them_are_accepted(app, new_task, users, web_login, client):
    task = new_task()
    collect = _run(task, "collect")
    web_login("staff@procly.local")
    r = client.post(f"/queue/runs/{collect.id}/act", data={
        "csrf_token": csrf(client), "action": "complete", "f_name": "Jo", "f_email": "jo@example.com",
        "f_location": "In area", "f_budget": "2500"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    db.session.rollback()
    assert db.session.get(Task, task.id).values["location"] == "in_area"


def test_a_refused_submit_keeps_values_and_names_the_field(app, new_task, users, web_login, client):
    task = new_task()
    collect = _run(task, "collect")
    web_login("staff@procly.local")
    r = client.post(f"/queue/runs/{collect.id}/act", data={
        "csrf_token": csrf(client), "action": "complete", "f_name": "Jo Typed", "f_email": "jo@nowhere",
        "f_location": "moon", "f_budget": "lots"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'value="Jo Typed"' in html and 'value="lots"' in html
    assert f'id="err_run{collect.id}_f_email"' in html or "Email must be an email address" in html
    assert "Budget must be a number" in html
    assert _run(task, "collect").status != "completed"


def test_yes_no_toggle_and_datetime_local_are_read(app, new_task, users, web_login, client):
    from app.tables import forms
    from werkzeug.datastructures import MultiDict

    class F:
        def __init__(self, type_):
            self.type, self.options = type_, {}

    fields = {"ok": F("boolean"), "off": F("boolean"), "at": F("datetime")}
    form = MultiDict([("f_ok", "false"), ("f_ok", "true"), ("f_off", "false"), ("f_at", "2026-12-05T10:00")])
    typed, raw = forms.submitted(form, fields, ["ok", "off", "at"])
    from app.tables.values import validate_values

    clean, errors = validate_values(fields, raw)
    assert clean == {"ok": True, "off": False, "at": "2026-12-05T10:00:00"} and not errors
    assert validate_values({"b": F("boolean")}, {"b": "Yes"})[0] == {"b": True}


def test_move_has_no_default_and_keeps_the_choice_after_an_error(app, new_task, users, web_login, client):
    task = new_task()
    web_login("manager@procly.local")
    html = client.get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert '<option value="" selected>— choose a Process —</option>' in html
    r = client.post(f"/queue/tasks/{task.id}/move", data={"csrf_token": csrf(client), "process": "follow-up",
                                                           "reason": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "A reason is required." in html
    assert '<option value="follow-up" selected>' in html
    r = client.post(f"/queue/tasks/{task.id}/move", data={"csrf_token": csrf(client), "process": "", "reason": "x"})
    assert r.status_code == 422 and "Choose the Process" in r.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Task, task.id).process.key == "intake"


def test_each_role_lands_on_its_home(app, users, make_user, client):
    from tests.helpers import csrf_from

    def landing(email):
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post("/login", data={"email": email, "password": "procly-demo-2026", "csrf_token": token})
        return c.get("/").headers.get("Location"), c

    assert landing("staff@procly.local")[0] == "/queue"
    assert landing("manager@procly.local")[0] == "/dashboards"
    assert landing("designer@procly.local")[0] == "/builder"
    where, admin = landing("admin@procly.local")
    assert where is None and "Overview" in admin.get("/").get_data(as_text=True)
