"""Splits, manual moves (rollback), Version migration and inbound webhooks."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.runtime_io.conftest import compute, st


def _split(world, weights=(80, 20)):
    from app.splits import create_split

    world.process("old", [st("a1")])
    world.process("new", [st("b1")])
    create_split({"key": "ab", "name": "AB", "table": "t", "team": "Ops",
                  "variants": [{"key": "legacy", "process": "old", "version": None, "weight": weights[0]},
                               {"key": "fresh", "process": "new", "version": None, "weight": weights[1]}]},
                 world.admin)
    world.db.session.commit()


def test_split_80_20_over_2000_tasks_sticky_and_weight_changes(world):
    from app.models import Process, Split, Task
    from app.tasks import operations as service
    from app.splits import set_weights

    _split(world)
    tasks = service.create_tasks([{"split": "ab", "key": f"k{i}"} for i in range(2000)], world.admin, "system")
    world.db.session.commit()
    new_id = world.db.session.scalar(select(Process.id).where(Process.key == "new"))
    share = sum(t.process_id == new_id for t in tasks) / 2000
    assert 0.17 <= share <= 0.23, share
    before = {t.key: (t.id, t.process_id) for t in tasks}
    count = world.db.session.scalar(select(func.count()).select_from(Task))
    # sticky: the same key lands on the same variant again, where that key already started: the same Task
    again = service.start_tasks([{"split": "ab", "key": f"k{i}"} for i in range(0, 2000, 40)], world.admin, "system")
    world.db.session.commit()
    assert all(not created and (t.id, t.process_id) == before[t.key] for t, created in again)
    assert world.db.session.scalar(select(func.count()).select_from(Task)) == count
    # changing weights affects only new Tasks
    split = world.db.session.scalar(select(Split).where(Split.key == "ab"))
    set_weights(split, {"legacy": 0, "fresh": 100}, world.admin, "system", "promote")
    world.db.session.commit()
    world.db.session.expire_all()
    existing = world.db.session.scalars(select(Task).where(Task.key.in_(["k0", "k1", "k2", "k3"])))
    assert all((t.id, t.process_id) == before[t.key] for t in existing)  # running Tasks are untouched
    # still sticky after the change: a key assigned to "legacy" is not re-drawn (it would now go to
    # "fresh" and start a new Task there), so it answers with its Task in "old"
    old_keys = service.start_tasks([{"split": "ab", "key": f"k{i}"} for i in range(0, 2000, 10)], world.admin, "s")
    assert all(not created and (t.id, t.process_id) == before[t.key] for t, created in old_keys)
    fresh = service.create_tasks([{"split": "ab", "key": f"n{i}"} for i in range(100)], world.admin, "s")
    world.db.session.commit()
    assert all(t.process_id == new_id for t in fresh)
    assert world.db.session.scalar(select(func.count()).select_from(Task)) == count + 100


def test_bulk_move_back_rollback_keeps_data_and_events(world):
    world.process("v1", [st("intake", writes=["note"]), st("review")])
    world.process("fallback", [st("triage"), st("finish")])
    ids = [world.start("v1", {"name": f"n{i}", "budget": i}) for i in range(5)]
    api = world.api
    r = api.post("/api/v1/moves", json={"process": "v1", "stage": "intake", "target": {"process": "fallback"}})
    assert r.status_code == 422  # a reason is required
    r = api.post("/api/v1/moves", json={"process": "v1", "stage": "intake", "reason": "bad release",
                                        "target": {"process": "fallback", "stage": "finish"}})
    assert r.status_code == 200, r.json
    assert sorted(r.json["moved"]) == ids
    for i, tid in enumerate(ids):
        task = world.task(tid)
        assert task.process.key == "fallback" and task.values == {"name": f"n{i}", "budget": i}
        assert world.statuses(tid) == {"intake": "moved", "triage": "skipped", "finish": "pending"}
        assert [e.data.get("reason") for e in world.events(tid, "task.moved")] == ["manual: bad release"]
    # and back again, selecting by ids
    r = api.post("/api/v1/moves", json={"task_ids": ids[:2], "reason": "undo", "target": {"process": "v1"}})
    assert r.status_code == 200 and world.task(ids[0]).process.key == "v1"
    assert world.statuses(ids[0])["intake"] == "pending"  # a new visit's run (the latest per key)
    r = api.post("/api/v1/moves", json={"task_ids": ids[:1], "reason": "x", "target": {"process": "v1", "stage": "nope"}})
    assert r.status_code == 422 and world.task(ids[0]).process.key == "v1"


def test_version_migration_maps_open_runs_or_refuses(world):
    world.process("mig", [st("collect"), st("review"), st("close")])
    ta, tb = world.start("mig"), world.start("mig")
    run_b = world.run(tb, "collect")
    world.api.post(f"/api/v1/runs/{run_b.id}/complete", json={})  # tb now in review
    review_id = world.run(tb, "review").id
    world.process("mig", [st("collect"), st("check"), st("close")])  # Version 2: review renamed check
    designer = world.api_as(world.designer)
    r = designer.post("/api/v1/migrations", json={"process": "mig", "to_version": 2})
    assert r.status_code == 409
    assert r.json["error"]["details"]["tasks"] == [{"task_id": tb, "stages": ["review"]}]
    assert world.task(ta).version.number == 1 and world.task(tb).version.number == 1
    r = designer.post("/api/v1/migrations", json={"process": "mig", "to_version": 2, "mapping": {"review": "check"}})
    assert r.status_code == 200, r.json
    assert sorted(r.json["migrated"]) == [ta, tb]
    assert world.task(tb).version.number == 2
    check = world.run(tb, "check")
    assert check.status == "pending" and check.id == review_id  # the same run, re-pointed (thread, claim kept)
    world.api.post(f"/api/v1/runs/{check.id}/complete", json={})
    assert world.statuses(tb)["close"] == "pending"
    assert len(world.events(tb, "task.migrated")) == 1


def test_webhook_starts_a_task_with_a_valid_signature_only(world, client):
    from app.inbound.webhooks import sign

    world.process("hooked", [compute("calc", {"a": "budget + 1"}, reads=["budget"]), st("h")],
                  start={"writes": ["budget"]})
    r = world.api.post("/api/v1/webhooks", json={"key": "leads", "process": "hooked"})
    assert r.status_code == 403  # staff may not create webhooks
    r = world.api_as(world.designer).post("/api/v1/webhooks", json={"key": "leads", "process": "hooked"})
    assert r.status_code == 201, r.json
    secret = r.json["secret"]
    body = json.dumps({"key": "lead-1", "values": {"budget": 41}}).encode()
    bad = client.post("/api/v1/webhooks/leads", data=body, content_type="application/json",
                      headers={"X-Procly-Signature": "sha256=" + "0" * 64})
    assert bad.status_code == 401
    missing = client.post("/api/v1/webhooks/leads", data=body, content_type="application/json")
    assert missing.status_code == 401
    ok = client.post("/api/v1/webhooks/leads", data=body, content_type="application/json",
                     headers={"X-Procly-Signature": sign(secret, body)})
    assert ok.status_code == 201, ok.json
    world.drain()
    task = world.task(ok.json["id"])
    assert task.key == "lead-1" and task.values["a"] == 42
    assert world.events(task.id, "task.created")[0].actor == "webhook:leads"
    assert client.post("/api/v1/webhooks/nope", data=body, headers={"X-Procly-Signature": "x"}).status_code == 404
    spec = client.get("/api/openapi.json")
    if spec.status_code == 200:
        assert "/api/v1/runs/{run_id}/approve" in spec.json["paths"]


def test_roles_matcher(world):
    from app.vocab.refs import matches

    assert matches(world.approver, ["team:Compliance"])
    assert matches(world.approver, ["user:APPROVER@x.test"])
    assert matches(world.staff, ["role:staff"])
    assert not matches(world.staff, ["team:Compliance", "role:manager", "user:approver@x.test"])
    assert matches(world.admin, [], admins=True) and not matches(world.admin, [])
    assert not matches(None, ["role:staff"])
