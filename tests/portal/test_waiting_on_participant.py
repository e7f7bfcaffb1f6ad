"""Inviting a participant to a Task whose open Stage is an external "action" (a portal form) makes that
Stage Run wait on the participant; their submission completes it; staff may still complete it."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Event, StageRun
from app.participants import links
from app.worklist.queries import my_work
from tests.helpers import csrf

FORM = {"f_name": "Jo", "f_email": "jo@example.com", "f_location": "in_area", "f_budget": "2000",
        "f_documents_complete": "true"}


def _run(task, key):
    db.session.expire_all()
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))


def _portal(app, secret):
    c = app.test_client()
    assert c.get(f"/portal/t/{secret}").status_code == 302
    token = re.search(r'name="form_token" value="([^"]+)"', c.get("/portal/").get_data(as_text=True)).group(1)
    return c, token


def test_invite_waits_then_submission_completes(app, new_task, users):
    task = new_task()
    assert _run(task, "collect").status == "pending"
    _, secret = links.invite(task, "jo@example.com", by=users["staff"], actor="user:3")
    db.session.commit()
    run = _run(task, "collect")
    assert run.status == "waiting_on_participant"
    # the staff queue shows it, as waiting on the participant
    items = [i for i in my_work(users["staff"]) if i["run"].id == run.id]
    assert items and items[0]["run"].status == "waiting_on_participant"
    assert [i["run"].id for i in my_work(users["staff"], status="waiting_on_participant")] == [run.id]
    steps = [(e.from_status, e.to_status) for e in db.session.scalars(
        select(Event).where(Event.stage_run_id == run.id, Event.type == "stage.status").order_by(Event.id))]
    assert steps[-1] == ("in_progress", "waiting_on_participant")
    c, token = _portal(app, secret)
    r = c.post(f"/portal/runs/{run.id}/submit", data={"form_token": token, **FORM})
    assert r.status_code == 302
    run = _run(task, "collect")
    assert run.status == "completed" and (task.values or {}).get("budget") is not None
    ev = db.session.scalar(select(Event).where(Event.stage_run_id == run.id, Event.to_status == "in_progress",
                                               Event.from_status == "waiting_on_participant"))
    assert ev is not None and ev.actor.startswith("participant:")


def test_invalid_submission_keeps_it_waiting(app, new_task, users):
    task = new_task()
    _, secret = links.invite(task, "jo@example.com", by=users["staff"])
    db.session.commit()
    run = _run(task, "collect")
    c, token = _portal(app, secret)
    r = c.post(f"/portal/runs/{run.id}/submit", data={"form_token": token, **FORM, "f_budget": "lots"})
    assert r.status_code == 422
    assert _run(task, "collect").status == "waiting_on_participant"
    # a forged form token changes nothing either
    assert c.post(f"/portal/runs/{run.id}/submit", data={"form_token": "x", **FORM}).status_code == 400
    assert _run(task, "collect").status == "waiting_on_participant"


def test_staff_may_complete_in_their_place(app, new_task, users, web_login, client):
    task = new_task()
    links.invite(task, "jo@example.com", by=users["staff"])
    db.session.commit()
    run = _run(task, "collect")
    web_login("staff@procly.local")
    r = client.post(f"/queue/runs/{run.id}/act", data={"csrf_token": csrf(client), "action": "complete", **FORM})
    assert r.status_code == 302
    assert _run(task, "collect").status == "completed"


def test_non_action_stages_do_not_wait(app, new_task, users):
    from app.tasks import operations as service

    task = new_task()
    service.act(_run(task, "collect").id, "complete", "user:3", user=users["staff"],
                values={"name": "Jo", "email": "jo@example.com", "location": "in_area", "budget": 2000,
                        "documents_complete": True})
    db.session.commit()
    assert _run(task, "confirm").status == "pending"       # confirm: external visibility none
    links.invite(task, "jo@example.com", by=users["staff"])
    db.session.commit()
    assert _run(task, "confirm").status == "pending"
    # awaiting approval is not turned into waiting either
    service.act(_run(task, "confirm").id, "complete", "user:3", user=users["staff"])
    db.session.commit()
    links.invite(task, "jo2@example.com", by=users["staff"])
    db.session.commit()
    assert _run(task, "confirm").status == "awaiting_approval"


def test_participant_cannot_submit_another_tasks_run(app, new_task, users):
    mine, other = new_task({"name": "Mine"}), new_task({"name": "Other"})
    _, secret = links.invite(mine, "jo@example.com", by=users["staff"])
    links.invite(other, "someone@example.com", by=users["staff"])
    db.session.commit()
    c, token = _portal(app, secret)
    foreign = _run(other, "collect")
    assert c.post(f"/portal/runs/{foreign.id}/submit", data={"form_token": token, **FORM}).status_code == 404
    assert _run(other, "collect").status == "waiting_on_participant"
