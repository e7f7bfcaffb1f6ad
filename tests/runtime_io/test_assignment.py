"""Assignment from data, through the API: a Stage's Responsible named by a Field (deferred allocation),
picked in turn within a Team (round robin) or by fewest open Stage Runs (least loaded)."""
from __future__ import annotations

import pytest

from tests.runtime_io.conftest import st

DELEGATOR = ["role:manager"]


def _stage(responsible: list[str], **extra) -> dict:
    return st("review", reads=["note"], writes=["name"],
              roles={"responsible": responsible, "approver": [], "informed": [], "delegator": DELEGATOR}, **extra)


def test_the_person_a_field_names_gets_the_stage(world, make_user):
    world.process("p", [_stage(["field:note"])])
    tid = world.start("p", {"note": "Approver@X.test"})          # emails compare case-insensitively
    run = world.run(tid, "review")
    assert run.claimed_by_id == world.approver.id and run.status == "pending"
    [assigned] = world.events(tid, "stage.assigned")
    assert assigned.data["how"] == "named in note"
    approver = world.api_as(world.approver)
    mine = approver.get("/api/v1/tasks").json["items"]
    assert tid in [t["id"] for t in mine]
    # the Ops staff member sees the Stage but is not its Responsible: the approver is
    refused = world.api.post(f"/api/v1/runs/{run.id}/complete", json={"values": {"name": "x"}})
    assert refused.status_code == 403
    done = approver.post(f"/api/v1/runs/{run.id}/complete", json={"values": {"name": "checked"}})
    assert done.status_code == 200, done.json
    assert world.task(tid).status == "completed"


def test_a_field_that_names_nobody_flags_the_task_and_a_delegator_assigns_it(world, make_user):
    world.process("p", [_stage(["field:note"])])
    tid = world.start("p", {"note": "ghost@nowhere.test"})
    run = world.run(tid, "review").id
    task = world.task(tid)
    assert task.needs_attention and world.run(tid, "review").claimed_by_id is None
    manager = world.api_as(make_user("manager", teams=("Ops",), email="boss@x.test"))
    r = manager.post(f"/api/v1/runs/{run}/claim", json={"assignee": world.staff.id})
    assert r.status_code == 200, r.json
    assert world.api.post(f"/api/v1/runs/{run}/complete", json={}).status_code == 200


def test_round_robin_within_a_team(world, make_user):
    extra = [make_user("staff", teams=("Pool",), email=f"p{i}@x.test") for i in range(3)]
    world.process("p", [_stage(["round_robin:team:Pool"])])
    ids = [world.start("p") for _ in range(6)]
    owners = [world.run(t, "review").claimed_by_id for t in ids]
    pool = [u.id for u in extra]
    assert owners == pool + pool              # in turn, by user id, round and round


def test_least_loaded_within_a_team(world, make_user):
    a, b = (make_user("staff", teams=("Pool",), email=f"{n}@x.test") for n in ("a", "b"))
    world.process("p", [_stage(["least_loaded:team:Pool"])])
    first = world.start("p")
    assert world.run(first, "review").claimed_by_id == a.id
    second = world.start("p")
    assert world.run(second, "review").claimed_by_id == b.id        # a has one open step, b none
    run = world.run(first, "review").id
    assert world.api_as(a).post(f"/api/v1/runs/{run}/complete", json={}).status_code == 200
    third = world.start("p")
    assert world.run(third, "review").claimed_by_id == a.id        # a is free again


@pytest.mark.parametrize("responsible,message", [
    (["field:nowhere"], 'unknown field "nowhere"'),
    (["field:budget"], "assign from an email field"),
    (["field:note", "round_robin:team:Ops"], "at most one assignment"),
    (["round_robin:Ops"], "Not a valid role reference"),
])
def test_assignment_references_are_checked_on_save(world, responsible, message):
    from app.processes import operations

    process = operations.create_process({"key": "v", "name": "V", "description": "", "table": "t", "team": "Ops"},
                                        world.admin)
    world.db.session.commit()
    doc = {"stages": [_stage(responsible)], "routes": []}
    r = world.api_as(world.admin).put(f"/api/v1/processes/{process.key}/draft", json={"definition": doc,
                                                                                      "revision": 1})
    found = [e["message"] for e in r.json.get("errors", [])] if r.status_code == 200 else [str(r.json)]
    assert any(message in m for m in found), found
