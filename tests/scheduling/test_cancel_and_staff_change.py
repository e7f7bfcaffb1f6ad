"""A cancelled appointment: with `on_cancel: book_again` (the default) the Calendar Stage opens again
(with the Stages after it) so a new time is booked; with `keep` the Task goes on. Staff see the
booked appointment on the Task page with Move and Cancel, and may move it to the slots
/booking/slots offers (its own time counts as free); someone of another Team may not."""
from sqlalchemy import select

from app.models import Event, StageRun
from tests.scheduling.conftest import calendar_stage

FOLLOW = {"key": "follow", "name": "Follow up", "type": "basic", "reads": [], "writes": ["note"],
          "roles": {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": []}}


def _runs(world, task_id):
    world.db.session.expire_all()
    return world.db.session.scalars(select(StageRun).where(StageRun.task_id == task_id).order_by(StageRun.id)).all()


def _book(world, run_id, start="2030-01-08T09:00:00Z"):
    r = world.api.post(f"/api/v1/runs/{run_id}/booking", json={"start": start, "time_zone": "Europe/Paris"})
    assert r.status_code == 201, r.json
    return r.json


def test_a_cancelled_appointment_opens_the_step_again_to_book_a_new_time(world, frozen):
    world.process("visit2", [calendar_stage(), FOLLOW])
    task_id = world.start("visit2")
    first = world.run(task_id)
    _book(world, first.id)
    assert [(r.stage_key, r.status) for r in _runs(world, task_id)] == [("meet", "completed"), ("follow", "pending")]
    r = world.api.post(f"/api/v1/runs/{first.id}/booking/cancel")
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    runs = _runs(world, task_id)
    assert [(r.stage_key, r.status, (r.data or {}).get("superseded")) for r in runs] == [
        ("meet", "completed", "reopened"), ("follow", "cancelled", "reopened"), ("meet", "pending", None)]
    assert world.task(task_id).values.get("when") is None
    texts = [e["text"] for e in world.api.get(f"/api/v1/tasks/{task_id}/events").json["items"]]
    assert any("Sent back to Schedule a visit because the appointment was cancelled" in t for t in texts), texts
    # the new run books a new time, and the Task goes on again
    _book(world, runs[-1].id, "2030-01-09T09:00:00Z")
    assert [(r.stage_key, r.status) for r in _runs(world, task_id) if not (r.data or {}).get("superseded")] == [
        ("meet", "completed"), ("follow", "pending")]
    assert world.task(task_id).values["when"] == "2030-01-09T09:00:00+00:00"


def test_with_keep_a_cancelled_appointment_only_clears_the_time(world, frozen):
    world.process("visit3", [calendar_stage(on_cancel="keep"), FOLLOW])
    task_id = world.start("visit3")
    run = world.run(task_id)
    _book(world, run.id)
    assert world.api.post(f"/api/v1/runs/{run.id}/booking/cancel").status_code == 200
    assert [(r.stage_key, r.status) for r in _runs(world, task_id)] == [("meet", "completed"), ("follow", "pending")]
    assert world.db.session.scalar(select(Event).where(Event.type == "task.sent_back")) is None


def test_staff_see_move_and_cancel_on_the_task_page_and_move_it(world, frozen, client, web_login):
    world.process("visit2", [calendar_stage(), FOLLOW])
    task_id = world.start("visit2")
    run = world.run(task_id)
    _book(world, run.id)
    offered = world.api.get(f"/api/v1/runs/{run.id}/booking/slots?tz=Europe/Paris").json["slots"]
    starts = [s["start"] for s in offered]
    assert "2030-01-08T09:00:00+00:00" in starts          # its own time counts as free
    assert world.api_other.get(f"/api/v1/runs/{run.id}/booking/slots").status_code == 404
    page = web_login("staff@x.test", "pw-secret-1").get(f"/queue/tasks/{task_id}").get_data(as_text=True)
    assert "Appointment:" in page and "Move the appointment" in page and "Cancel the appointment" in page
    assert f"/api/v1/runs/{run.id}/booking/reschedule" in page
    moved = world.api.post(f"/api/v1/runs/{run.id}/booking/reschedule", json={"start": "2030-01-10T10:00:00Z"})
    assert moved.status_code == 200 and moved.json["sequence"] == 1
    assert world.task(task_id).values["when"] == "2030-01-10T10:00:00+00:00"
