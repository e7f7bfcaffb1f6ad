"""Ending work on purpose, through the API with real RQ workers: cancelling a Task (WCP20, cancel
case) and skipping or cancelling one Stage Run (WCP19, cancel activity), their permissions, their
timers, and the Task's history told in plain sentences (GET /api/v1/tasks/<id>/events)."""
from __future__ import annotations

import time

from sqlalchemy import select

from tests.processes import flask_worker, wait_until, worker_env
from tests.runtime_io.conftest import compute, st

MANAGED = {"responsible": ["team:Ops"], "approver": [], "informed": [], "delegator": ["role:manager"]}


def _reminded(world, tid) -> list:
    return [e for e in world.events(tid) if e.type.startswith("sla.")]


def test_cancel_a_task_stops_its_runs_and_its_reminders_in_a_running_worker(world, make_user):
    """WCP20: a Task waiting on a person with a reminder due in 2 s is cancelled; a separate worker
    process runs past the due time and sends no reminder; the parallel automated Stage never runs."""
    world.process("p", [st("call", column=0, sla={"reminders": ["2s"], "due": "3s"}, roles=MANAGED),
                        st("wait", column=0, start_when="ready == true", roles=MANAGED),
                        compute("after", {"a": "1"}, column=1)])
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    control = world.start("p")           # not cancelled: its reminder must fire
    tid = world.start("p")
    r = world.api_as(manager).post(f"/api/v1/tasks/{tid}/cancel", json={"reason": "client withdrew"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "cancelled" and r.json["finished_at"]
    assert {run["status"] for run in r.json["stage_runs"]} == {"cancelled"}
    proc = flask_worker(worker_env(world.app.config["SQLALCHEMY_DATABASE_URI"], world.app.config["REDIS_URL"],
                                   world.app.config["PROCLY_INSTANCE"]))
    try:
        wait_until(lambda: _reminded(world, control), 120, "the control Task's reminder", diagnose=proc.log)
        due = time.time() + 2     # the cancelled Task's reminder and due time have both passed by then
        wait_until(lambda: time.time() > due and len(_reminded(world, control)) >= 2, 60,
                   "the control Task's due time passed too", diagnose=proc.log)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    assert _reminded(world, tid) == []
    task = world.task(tid)
    assert task.status == "cancelled"
    assert world.statuses(tid) == {"call": "cancelled", "wait": "cancelled"}
    [event] = world.events(tid, "task.cancelled")
    assert event.data["reason"] == "client withdrew"
    # a cancelled Task stays cancelled: no second cancel, no Field change, no action on its runs
    again = world.api_as(manager).post(f"/api/v1/tasks/{tid}/cancel", json={"reason": "again"})
    assert again.status_code == 409 and "cancelled" in again.json["error"]["message"]
    run = world.run(tid, "call")
    assert world.api_as(world.admin).post(f"/api/v1/runs/{run.id}/complete", json={}).status_code == 409


def test_cancel_needs_a_reason_and_the_right_person_and_is_all_or_nothing(world, make_user):
    world.process("p", [st("call", roles=MANAGED)])
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    other_manager = make_user("manager", teams=("Elsewhere",), email="far@x.test")
    a, b = world.start("p"), world.start("p")
    no_reason = world.api_as(manager).post(f"/api/v1/tasks/{a}/cancel", json={"reason": "  "})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["details"], no_reason.json
    staff = world.api.post(f"/api/v1/tasks/{a}/cancel", json={"reason": "mine"})   # the Responsible: no
    assert staff.status_code == 403 and "managers" in staff.json["error"]["message"]
    far = world.api_as(other_manager).post(f"/api/v1/tasks/{a}/cancel", json={"reason": "x"})
    assert far.status_code == 403, far.json     # sees the Task (its Stage is open to all), may not cancel it
    # bulk: b is finished first, so a batch of [a, b] cancels neither
    world.api_as(manager).post(f"/api/v1/tasks/{b}/cancel", json={"reason": "dup"})
    both = world.api_as(manager).post("/api/v1/tasks/cancel", json={"task_ids": [a, b], "reason": "cleanup"})
    assert both.status_code == 409 and f"task {b}" in str(both.json["error"]["details"])
    assert world.task(a).status == "running"
    c = world.start("p")
    ok = world.api_as(manager).post("/api/v1/tasks/cancel", json={"task_ids": [a, c], "reason": "cleanup"})
    assert ok.status_code == 200 and sorted(ok.json["cancelled"]) == sorted([a, c])


def test_cancelled_tasks_are_counted_apart_in_the_metrics(world, make_user):
    world.process("p", [st("call", roles=MANAGED)])
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    ids = [world.start("p") for _ in range(3)]
    world.api_as(manager).post("/api/v1/tasks/cancel", json={"task_ids": ids[:2], "reason": "spam"})
    r = world.api_as(world.admin).get("/api/v1/metrics/summary?process=p")
    assert r.status_code == 200, r.json
    visits = r.json["visits"]
    assert (visits["cancelled"], visits["completed"], visits["running"]) == (2, 0, 1)


def test_skip_or_cancel_one_stage_run_and_the_lane_goes_on(world, make_user):
    """WCP19: the Delegator withdraws one Stage of a parallel column; the join proceeds without it and
    the worker runs what follows; a failed automated Stage may be skipped too."""
    world.process("p", [st("check", column=0, roles=MANAGED), st("call", column=0, roles=MANAGED),
                        compute("score", {"a": "int(note)"}, reads=["note"], column=1, roles=MANAGED,
                                retry={"attempts": 1, "backoff": "1s", "factor": 1.0}),
                        compute("after", {"b": "2"}, column=2)])
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    boss = world.api_as(manager)
    tid = world.start("p", {"note": "not a number"})
    call = world.run(tid, "call").id
    # the Responsible may not withdraw their own work; a reason is required
    assert world.api.post(f"/api/v1/runs/{call}/skip", json={"reason": "x"}).status_code == 403
    missing = boss.post(f"/api/v1/runs/{call}/cancel", json={})
    assert missing.status_code == 422 and "reason" in str(missing.json["error"]["details"])
    r = boss.post(f"/api/v1/runs/{call}/cancel", json={"reason": "client unreachable"})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert "score" not in world.statuses(tid)        # the join still waits for "check"
    check = world.run(tid, "check").id
    assert world.api.post(f"/api/v1/runs/{check}/complete", json={}).status_code == 200
    world.drain()
    assert world.run(tid, "score").status == "failed"
    score = world.run(tid, "score").id
    assert boss.post(f"/api/v1/runs/{score}/skip", json={"reason": "scored by hand"}).status_code == 200
    world.drain()
    task = world.task(tid)
    assert task.status == "completed" and task.values.get("b") == 2
    assert world.statuses(tid) == {"check": "completed", "call": "cancelled", "score": "skipped",
                                   "after": "completed"}
    # a closed run cannot be withdrawn again
    again = boss.post(f"/api/v1/runs/{call}/skip", json={"reason": "twice"})
    assert again.status_code == 409


def test_history_reads_as_sentences_and_hides_what_the_caller_may_not_see(world, make_user):
    ops_only = {"internal": {"teams": ["Ops"], "roles": []}, "external": "none"}
    world.process("follow", [st("phone", visibility=ops_only)])
    world.process("p", [st("intake", writes=["note", "name"], reads=["note", "name"], roles=MANAGED,
                           visibility=ops_only),
                        st("secret", column=1, reads=["budget"], writes=["budget"],
                           visibility={"internal": {"teams": ["Compliance"], "roles": []}, "external": "none"})],
                  routes=[{"key": "lost", "name": "Location not served", "stage": "intake",
                           "trigger": {"type": "condition", "condition": "note == 'far away'"},
                           "target": {"process": "follow"}}])
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    tid = world.start("p", {"name": "Ada"})
    intake = world.run(tid, "intake")
    r = world.api.post(f"/api/v1/runs/{intake.id}/complete", json={"values": {"note": "far away"}})
    assert r.status_code == 200, r.json
    world.api_as(manager).post(f"/api/v1/tasks/{tid}/cancel", json={"reason": "duplicate lead"})
    page = world.api.get(f"/api/v1/tasks/{tid}/events")
    assert page.status_code == 200, page.json
    texts = [e["text"] for e in page.json["items"]]
    assert "Moved to Follow by Route “Location not served”" in texts
    assert any(t.startswith("Task cancelled by") and "duplicate lead" in t for t in texts)
    assert any(t.startswith("Intake was completed by") for t in texts)
    assert not any("stage." in t or "task." in t for t in texts), texts   # no internal keys
    # paging and filtering
    first = world.api.get(f"/api/v1/tasks/{tid}/events?limit=2")
    assert len(first.json["items"]) == 2 and first.json["next"]
    rest = world.api.get(f"/api/v1/tasks/{tid}/events?limit=200&before={first.json['next']}")
    ids = [e["id"] for e in first.json["items"] + rest.json["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == len(page.json["items"])
    moved = world.api.get(f"/api/v1/tasks/{tid}/events?type=task.moved")
    assert [e["type"] for e in moved.json["items"]] == ["task.moved"]
    # another Team's user sees nothing; a page of the Task shows the same sentences
    outsider = make_user("staff", teams=("Elsewhere",), email="out@x.test")
    assert world.api_as(outsider).get(f"/api/v1/tasks/{tid}/events").status_code == 404
    assert world.api.get(f"/api/v1/tasks/{tid}/events?limit=0").status_code == 422


def test_history_leaves_out_fields_the_caller_may_not_read(world, make_user):
    from app.models import StageRun
    from app.tasks import operations as service

    world.process("p", [st("open", reads=["name"], writes=["name"], column=0),
                        st("hidden", reads=["budget"], writes=["budget"], column=0,
                           visibility={"internal": {"teams": ["Compliance"], "roles": []}, "external": "none"})])
    tid = world.start("p", {"name": "Ada"})
    hidden = world.db.session.scalar(select(StageRun).where(StageRun.task_id == tid, StageRun.stage_key == "hidden"))
    service.act(hidden.id, "complete", "system", values={"budget": 99})
    world.db.session.commit()
    mine = world.api.get(f"/api/v1/tasks/{tid}/events").json["items"]
    assert not any("budget" in str(e["data"]) or "Budget" in e["text"] for e in mine), mine
    theirs = world.api_as(world.approver).get(f"/api/v1/tasks/{tid}/events").json["items"]
    assert any("Budget" in e["text"] for e in theirs)


def test_task_page_and_table_view_cancel_skip_and_tell_it_in_sentences(world, make_user):
    from tests.helpers import csrf, signed_in

    world.process("p", [st("call", roles=MANAGED, column=0), st("check", roles=MANAGED, column=0)])
    make_user("manager", teams=("Ops",), email="boss@x.test", password="pw-secret-1")
    boss = signed_in(world.app, "boss@x.test", "pw-secret-1")
    staff = signed_in(world.app, "staff@x.test", "pw-secret-1")
    tid, other, third = world.start("p"), world.start("p"), world.start("p")
    call = world.run(tid, "call").id
    html = staff.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Cancel this Task" not in html and "Skip or cancel this step" not in html   # the Responsible
    html = boss.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Cancel this Task" in html and "Skip “Call”" in html
    token = csrf(boss)
    r = boss.post(f"/queue/runs/{call}/withdraw", data={"action": "skip", "reason": "", "csrf_token": token})
    assert r.status_code == 302 and world.run(tid, "call").status == "pending"    # no reason: nothing changes
    boss.post(f"/queue/runs/{call}/withdraw", data={"action": "skip", "reason": "done by phone", "csrf_token": token})
    boss.post(f"/queue/tasks/{tid}/cancel", data={"reason": "client withdrew", "csrf_token": token})
    html = boss.get(f"/queue/tasks/{tid}").get_data(as_text=True)
    assert "Call was skipped by" in html and "done by phone" in html
    assert "Task cancelled by" in html and "client withdrew" in html and "stage.status" not in html
    assert world.task(tid).status == "cancelled"
    # the table view: the manager ticks two Tasks and cancels them with one reason
    assert 'form="bulk"' not in staff.get("/queue/tables/t").get_data(as_text=True)
    table = boss.get("/queue/tables/t").get_data(as_text=True)
    assert f'value="{other}" form="bulk"' in table and f'value="{tid}" form="bulk"' not in table
    r = boss.post("/queue/tables/t/cancel", data={"task_ids": [str(other), str(third)], "reason": "spam",
                                                   "csrf_token": token})
    assert r.status_code == 302
    assert world.task(other).status == world.task(third).status == "cancelled"
