"""Control flow through Routes, with real workers: deferred choice against a clock (WCP16: timeout and
sla_breached triggers, run by a separate worker process), explicit termination (WCP43: an `end`
target with an outcome), and rework loops inside one Process (WCP21) with their iteration limit."""
from __future__ import annotations

import pytest

from tests.processes import flask_worker, wait_until, worker_env
from tests.runtime_io.conftest import st

FOLLOW = [st("chase")]


def _worker(world):
    return flask_worker(worker_env(world.app.config["SQLALCHEMY_DATABASE_URI"], world.app.config["REDIS_URL"],
                                   world.app.config["PROCLY_INSTANCE"]))


def _texts(world, tid) -> list[str]:
    r = world.api_as(world.admin).get(f"/api/v1/tasks/{tid}/events?limit=200")
    assert r.status_code == 200, r.json
    return [e["text"] for e in r.json["items"]]


def test_deferred_choice_the_reply_or_the_clock_whichever_comes_first(world):
    """A Stage waiting on a person races a 2 s timeout Route in a running worker process: the Task
    left alone is moved to the chasing Process; the one answered in time stays, its clock disarmed."""
    world.process("chase", FOLLOW)
    world.process("p", [st("reply", writes=["note"]), st("next")], routes=[
        {"key": "silence", "name": "No reply in time", "stage": "reply",
         "trigger": {"type": "timeout", "after": "2s"}, "target": {"process": "chase"}}])
    silent, answered = world.start("p"), world.start("p")
    run = world.run(answered, "reply").id
    assert world.api.post(f"/api/v1/runs/{run}/complete", json={"values": {"note": "yes"}}).status_code == 200
    proc = _worker(world)
    try:
        wait_until(lambda: world.task(silent).process.key == "chase", 120, "the silent Task moved by its timeout",
                   diagnose=proc.log)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    assert world.run(silent, "reply").status == "moved"
    assert "Moved to Chase by Route “No reply in time”" in _texts(world, silent)
    assert any(t.startswith("Reply ran out of time") for t in _texts(world, silent))
    # the answered Task went on; its clock never fired
    assert world.task(answered).process.key == "p" and world.statuses(answered)["next"] == "pending"
    assert not world.events(answered, "stage.timed_out")


def test_sla_breach_route_ends_the_task_as_rejected(world):
    """sla_breached: the Stage's due time passes in a running worker; its Route ends the Task on purpose
    (an `end` target: no dummy Process), with the outcome and its label."""
    world.process("p", [st("decide", sla={"due": "2s"})], routes=[
        {"key": "too_late", "name": "Offer lapsed", "stage": "decide", "trigger": {"type": "sla_breached"},
         "target": {"end": "rejected", "label": "the offer lapsed"}}])
    tid = world.start("p")
    proc = _worker(world)
    try:
        wait_until(lambda: world.task(tid).status == "rejected", 120, "the Task ended by its SLA Route",
                   diagnose=proc.log)
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
    assert world.statuses(tid) == {"decide": "cancelled"}
    assert world.task(tid).finished_at is not None
    assert "Ended as rejected by Route “Offer lapsed”: “the offer lapsed”" in _texts(world, tid)
    r = world.api.get("/api/v1/tasks?status=rejected")
    assert tid in [t["id"] for t in r.json["items"]]


def test_condition_route_to_an_end_completes_the_case_early(world):
    """WCP43 explicit termination: a condition Route to `end: completed` finishes the Task at once."""
    world.process("p", [st("triage", writes=["ok"]), st("work")], routes=[
        {"key": "nothing_to_do", "name": "Nothing to do", "stage": "triage",
         "trigger": {"type": "condition", "condition": "ok == false"},
         "target": {"end": "completed", "label": "no action needed"}}])
    tid = world.start("p")
    run = world.run(tid, "triage").id
    assert world.api.post(f"/api/v1/runs/{run}/complete", json={"values": {"ok": False}}).status_code == 200
    task = world.task(tid)
    assert task.status == "completed" and "work" not in world.statuses(tid)
    assert "Ended as completed by Route “Nothing to do”: “no action needed”" in _texts(world, tid)


def test_rework_loop_inside_one_process_with_its_iteration_limit(world, make_user):
    """WCP21: an approval rejected sends the Task back to the Stage that prepared it, in the same
    Process; each pass runs new Stage Runs; after max_iterations the Route escalates instead."""
    world.process("p", [st("prepare", writes=["note"]), st("draft"),
                        st("review", approval={"required": True, "approvers": ["role:manager"], "four_eyes": False},
                           roles={"responsible": ["team:Ops"], "approver": [], "informed": [],
                                  "delegator": ["role:manager"]})],
                  routes=[{"key": "rework", "name": "Needs rework", "stage": "review",
                           "trigger": {"type": "approval_rejected"}, "target": {"stage": "draft"},
                           "max_iterations": 2}])
    boss = world.api_as(make_user("manager", teams=("Ops",), email="boss@x.test"))
    tid = world.start("p")

    def work(stage):
        run = world.run(tid, stage).id
        r = world.api.post(f"/api/v1/runs/{run}/complete", json={})
        assert r.status_code == 200, r.json
        return run

    work("prepare")
    for attempt in (1, 2, 3):
        work("draft")
        review = work("review")
        assert boss.post(f"/api/v1/runs/{review}/reject", json={"comment": f"try {attempt}"}).status_code == 200
        if attempt < 3:   # sent back: a new draft run waits, prepare's work stands
            runs = world.runs(tid, stage_key="draft")
            assert [r.status for r in runs] == ["completed"] * attempt + ["pending"]
            assert len(world.runs(tid, stage_key="prepare")) == 1
    # the third rejection: the limit (2) is reached, a person must decide
    task = world.task(tid)
    assert task.needs_attention and task.status == "running"
    assert world.run(tid, "review").status == "awaiting_approval"
    assert len(world.events(tid, "stage.escalated")) == 1
    texts = _texts(world, tid)
    assert sum(t.startswith("Sent back to Draft by Route “Needs rework”") for t in texts) == 2
    # then approved, the lane finishes
    review = world.run(tid, "review").id
    assert boss.post(f"/api/v1/runs/{review}/approve", json={}).status_code == 200
    assert world.task(tid).status == "completed"


def test_condition_loop_back_until_the_check_passes(world):
    world.process("p", [st("fix", writes=["note"]), st("check", writes=["ok"])], routes=[
        {"key": "again", "name": "Not fixed yet", "stage": "check",
         "trigger": {"type": "condition", "condition": "ok == false"}, "target": {"stage": "fix"}}])
    tid = world.start("p")
    for ok in (False, False, True):
        fix = world.run(tid, "fix").id
        assert world.api.post(f"/api/v1/runs/{fix}/complete", json={}).status_code == 200
        check = world.run(tid, "check").id
        assert world.api.post(f"/api/v1/runs/{check}/complete", json={"values": {"ok": ok}}).status_code == 200
    assert world.task(tid).status == "completed"
    assert len(world.runs(tid, stage_key="fix")) == len(world.runs(tid, stage_key="check")) == 3


@pytest.mark.parametrize("route,error", [
    ({"stage": "a", "trigger": {"type": "condition", "condition": "ok"}, "target": {"stage": "b"}},
     ("routes[0].target.stage", "only send a Task back")),
    ({"stage": None, "trigger": {"type": "condition", "condition": "ok"}, "target": {"stage": "a"}},
     ("routes[0].stage", "needs a source Stage")),
    ({"stage": "a", "trigger": {"type": "timeout"}, "target": {"end": "cancelled"}},
     ("routes[0].trigger.after", "needs a duration")),
    ({"stage": "a", "trigger": {"type": "condition", "condition": "ok", "after": "1h"}, "target": {"end": "cancelled"}},
     ("routes[0].trigger.after", "only a timeout trigger")),
    ({"stage": "a", "trigger": {"type": "sla_breached"}, "target": {"end": "cancelled"}},
     ("routes[0].stage", "no SLA due time")),
    ({"stage": "a", "trigger": {"type": "condition", "condition": "ok"}, "target": {"end": "cancelled", "process": "x"}},
     ("routes[0].target", "names no process")),
    ({"stage": "a", "trigger": {"type": "condition", "condition": "ok"}, "target": {"end": "vanished"}},
     ("routes[0].target.end", "Must be one of")),
    ({"stage": "b", "trigger": {"type": "condition", "condition": "ok"}, "target": {"process": "other"},
      "max_iterations": 3}, ("routes[0].max_iterations", "only a Route back")),
])
def test_route_rules_are_checked_on_save(world, route, error):
    from app.processes import operations

    process = operations.create_process({"key": "v", "name": "V", "description": "", "table": "t", "team": "Ops"},
                                        world.admin)
    world.db.session.commit()
    doc = {"stages": [st("a"), st("b")], "routes": [{"key": "r", "name": "R", **route}]}
    r = world.api_as(world.admin).put(f"/api/v1/processes/{process.key}/draft", json={"definition": doc, "revision": 1})
    assert r.status_code == 200, r.json
    found = [(e["path"], e["message"]) for e in r.json["errors"]]
    assert any(p == error[0] and error[1] in m for p, m in found), found
