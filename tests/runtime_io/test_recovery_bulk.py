"""Recovery in bulk, with a real RQ worker: migrating Tasks re-runs Stage Runs that failed on the old
Version; failed runs are retried in bulk (API and the Table view); `needs_attention` clears once its
cause is gone; failures, SLA escalations and loop limits follow one escalation policy."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from app import clock
from tests.runtime_io.conftest import compute, st

ONCE = {"attempts": 1, "backoff": "1s", "factor": 1.0}


def _broken(world, expression="10 / int(b)", **extra):
    return world.process("p", [compute("calc", {"a": expression}, reads=["b"], column=0, retry=ONCE, **extra),
                               st("fix", writes=["b"], column=0), st("after", column=1)])


def test_migration_reruns_runs_that_failed_on_the_old_version(world):
    _broken(world, "int('not a number')")
    ids = [world.start("p", {"b": 2}) for _ in range(3)]
    world.drain()
    assert all(world.run(t, "calc").status == "failed" and world.task(t).needs_attention for t in ids)
    world.admin = world.db.session.get(type(world.admin), inspect(world.admin).identity[0])
    version = _broken(world, "10 / int(b)")              # v2 fixes the expression
    keep = ids[2]
    r = world.api_as(world.admin).post("/api/v1/migrations", json={
        "process": "p", "to_version": version.number, "task_ids": ids[:2]})
    assert r.status_code == 200 and sorted(r.json["migrated"]) == sorted(ids[:2]), r.json
    r = world.api_as(world.admin).post("/api/v1/migrations", json={
        "process": "p", "to_version": version.number, "task_ids": [keep], "retry_failed": False})
    assert r.status_code == 200
    world.drain()
    for tid in ids[:2]:
        run = world.run(tid, "calc")
        assert (run.status, run.attempt, world.task(tid).values["a"]) == ("completed", 2, 5)
        task = world.task(tid)
        assert not task.needs_attention and task.status == "running"     # "fix" is still open: no matter
        assert world.events(tid, "task.attention_cleared")
    assert world.run(keep, "calc").status == "failed" and world.task(keep).needs_attention


def test_bulk_retry_by_process_and_stage_and_its_all_or_nothing(world):
    _broken(world)
    ids = [world.start("p", {"b": 0}) for _ in range(4)]
    world.drain()
    assert {world.run(t, "calc").status for t in ids} == {"failed"}
    for tid in ids:   # staff fix the data on the open "fix" Stage
        assert world.api.patch(f"/api/v1/tasks/{tid}", json={"values": {"b": 5}}).status_code == 200
    ok_run, not_failed = world.run(ids[0], "calc").id, world.run(ids[0], "fix").id
    mixed = world.api.post("/api/v1/runs/retry", json={"run_ids": [ok_run, not_failed]})
    assert mixed.status_code == 409 and world.run(ids[0], "calc").status == "failed"   # none retried
    missing = world.api.post("/api/v1/runs/retry", json={})
    assert missing.status_code == 422 and "run_ids" in missing.json["error"]["details"]
    r = world.api.post("/api/v1/runs/retry", json={"process": "p", "stage": "calc"})
    assert r.status_code == 200 and len(r.json["retried"]) == 4, r.json
    world.drain()
    for tid in ids:
        assert world.run(tid, "calc").status == "completed" and world.task(tid).values["a"] == 2
        assert not world.task(tid).needs_attention


def test_bulk_retry_from_the_table_view(world):
    from tests.helpers import csrf, signed_in

    _broken(world)
    ids = [world.start("p", {"b": 0}) for _ in range(2)]
    world.drain()
    for tid in ids:
        world.api.patch(f"/api/v1/tasks/{tid}", json={"values": {"b": 1}})
    staff = signed_in(world.app, "staff@x.test", "pw-secret-1")
    table = staff.get("/queue/tables/t").get_data(as_text=True)
    assert "Retry the failed steps" in table and f'value="{ids[0]}" form="bulk"' in table
    r = staff.post("/queue/tables/t/retry", data={"task_ids": [str(i) for i in ids], "csrf_token": csrf(staff)})
    assert r.status_code == 302
    world.drain()
    assert [world.run(t, "calc").status for t in ids] == ["completed", "completed"]


def test_one_escalation_policy_for_failures_and_slas(world, make_user):
    boss = make_user("manager", teams=("Ops",), email="boss@x.test")
    roles = {"responsible": ["automation"], "approver": [], "informed": [], "delegator": ["user:boss@x.test"]}
    world.process("p", [compute("calc", {"a": "10 / int(b)"}, reads=["b"], retry=ONCE, roles=roles,
                                escalate_to=["team:Compliance"]),
                        st("call", column=0, roles={**roles, "responsible": ["team:Ops"]},
                           sla={"due": "4h", "escalate_after": "2h"})])
    tid = world.start("p", {"b": 0})
    world.drain()
    [failed] = world.events(tid, "stage.escalated")
    assert failed.data["to"] == ["team:Compliance"]        # the Stage's override
    fc = clock.FrozenClock(clock.now())
    clock.set_clock(fc)
    try:
        from app.runtime import recovery

        fc.advance(hours=2, minutes=1)
        recovery.sweep()
        world.db.session.commit()
    finally:
        clock.set_clock(None)
    alerts = [e for e in world.events(tid, "alert") if e.data["alert"] == "sla.escalated"]
    assert alerts and alerts[0].data["recipients"] == ["user:boss@x.test"]   # no override: the Delegator


@pytest.mark.parametrize("refs", [["automation"], ["not a ref"], ["role:king"]])
def test_escalate_to_takes_role_references_only(world, refs):
    from app.processes import operations

    process = operations.create_process({"key": "v", "name": "V", "description": "", "table": "t", "team": "Ops"},
                                        world.admin)
    world.db.session.commit()
    doc = {"stages": [st("a", escalate_to=refs)], "routes": []}
    r = world.api_as(world.admin).put(f"/api/v1/processes/{process.key}/draft", json={"definition": doc,
                                                                                      "revision": 1})
    paths = [e["path"] for e in r.json.get("errors", [])] if r.status_code == 200 else r.json
    assert any(str(p).startswith("stages[0].escalate_to") for p in paths), paths


def test_a_retried_run_is_open_again_in_the_dashboards(world):
    """A failed run retried is waiting again: no finish time, so the dashboard's work in progress and
    queue length count it until a worker performs it (they counted it as finished before)."""
    from app.metrics import queries as q

    pid = _broken(world).process_id
    tid = world.start("p", {"b": 0})
    world.drain()
    assert world.run(tid, "calc").status == "failed" and world.run(tid, "calc").finished_at is not None
    assert world.api.patch(f"/api/v1/tasks/{tid}", json={"values": {"b": 5}}).status_code == 200
    r = world.api.post("/api/v1/runs/retry", json={"run_ids": [world.run(tid, "calc").id]})
    assert r.status_code == 200, r.json
    run = world.run(tid, "calc")
    assert (run.status, run.finished_at) == ("pending", None)
    assert q.wip(q.Filters.default(process_id=pid))["calc"] == {"wip": 1, "queued": 1}
    world.drain()
    run = world.run(tid, "calc")
    assert run.status == "completed" and run.finished_at is not None
    assert "calc" not in q.wip(q.Filters.default(process_id=pid))
