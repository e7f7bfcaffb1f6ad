"""Signals to waiting Tasks, through the API and inbound webhooks, with a real RQ worker: persistent
(WCP24: a signal that comes early is kept for its Stage) and transient triggers (WCP23: dropped
unless the Stage waits already), correlation by Task key, and every way a signal is refused."""
from __future__ import annotations

import json

from app.inbound.webhooks import HEADER, sign
from tests.runtime_io.conftest import compute, st


def _wait(key="payment", signal="payment_received", keep_early=True, **extra):
    return st(key, "wait", writes=["budget", "note"], config={"signal": signal, "keep_early": keep_early}, **extra)


def _lane(world, keep_early=True):
    world.process("p", [st("intake", writes=["name"]), _wait(keep_early=keep_early),
                        compute("ship", {"a": "budget * 2.0"}, reads=["budget"])])


def _signal(world, tid, name="payment_received", values=None, who=None):
    return (world.api_as(who) if who else world.api).post(f"/api/v1/tasks/{tid}/signals",
                                                           json={"name": name, "values": values or {}})


def _complete(world, tid, stage):
    run = world.run(tid, stage).id
    r = world.api.post(f"/api/v1/runs/{run}/complete", json={})
    assert r.status_code == 200, r.json


def test_a_signal_that_comes_early_is_kept_for_its_stage(world):
    _lane(world)
    tid = world.start("p")
    r = _signal(world, tid, values={"budget": 120, "note": "paid by card"})
    assert r.status_code == 200, r.json
    assert r.json["outcome"] == "kept" and r.json["stage_run"] is None
    _complete(world, tid, "intake")
    world.drain()                 # the worker starts the wait Stage: it takes the kept signal at once
    task = world.task(tid)
    assert task.status == "completed", world.statuses(tid)
    assert task.values["budget"] == 120 and task.values["note"] == "paid by card" and task.values["a"] == 240
    assert world.statuses(tid) == {"intake": "completed", "payment": "completed", "ship": "completed"}
    texts = [e["text"] for e in world.api.get(f"/api/v1/tasks/{tid}/events").json["items"]]
    assert any("Signal “payment_received” arrived early" in t for t in texts), texts


def test_a_waiting_stage_takes_the_signal_and_the_lane_goes_on(world):
    _lane(world)
    tid = world.start("p")
    _complete(world, tid, "intake")
    world.drain()
    assert world.run(tid, "payment").status == "in_progress"      # waiting for its signal
    r = _signal(world, tid, values={"budget": 10})
    assert r.status_code == 200 and r.json["outcome"] == "delivered"
    assert r.json["stage_run"] == world.run(tid, "payment").id
    world.drain()
    assert world.task(tid).status == "completed" and world.task(tid).values["a"] == 20


def test_a_transient_signal_before_its_stage_is_ready_is_dropped(world):
    _lane(world, keep_early=False)
    tid = world.start("p")
    assert _signal(world, tid, values={"budget": 1}).json["outcome"] == "dropped"
    _complete(world, tid, "intake")
    world.drain()
    assert world.run(tid, "payment").status == "in_progress"      # the early one is gone: still waiting
    assert world.task(tid).values.get("budget") is None
    assert _signal(world, tid, values={"budget": 2}).json["outcome"] == "delivered"
    world.drain()
    assert world.task(tid).values["budget"] == 2 and world.task(tid).status == "completed"


def test_refused_signals_change_nothing(world, make_user):
    _lane(world)
    tid = world.start("p")
    unknown = _signal(world, tid, name="nobody_waits")
    assert unknown.status_code == 422 and "name" in unknown.json["error"]["details"]
    outside = _signal(world, tid, values={"budget": 5, "name": "sneaky"})
    assert outside.status_code == 422 and "values.name" in outside.json["error"]["details"]
    wrong = _signal(world, tid, values={"budget": "a lot"})
    assert wrong.status_code == 422 and "values.budget" in wrong.json["error"]["details"]
    bad_name = _signal(world, tid, name="Not A Name")
    assert bad_name.status_code == 422
    from app.models import TaskSignal
    assert world.count(TaskSignal) == 0 and not world.events(tid, "signal.kept")
    outsider = make_user("staff", teams=("Elsewhere",), email="out@x.test")
    assert _signal(world, tid, who=outsider).status_code == 403   # sees the Task, may not start Tasks there
    manager = make_user("manager", teams=("Ops",), email="boss@x.test")
    world.api_as(manager).post(f"/api/v1/tasks/{tid}/cancel", json={"reason": "closed"})
    late = _signal(world, tid, values={"budget": 1})
    assert late.status_code == 409


def test_signal_by_key_and_by_a_signed_webhook(world, make_user):
    _lane(world)
    a = world.start("p", key="order-1001")
    b = world.start("p", key="order-1002")
    r = world.api.post("/api/v1/tasks/signals", json={"key": "order-1001", "name": "payment_received",
                                                       "values": {"budget": 7}})
    assert r.status_code == 200 and r.json["task"] == a and r.json["outcome"] == "kept"
    missing = world.api.post("/api/v1/tasks/signals", json={"key": "order-9", "name": "payment_received"})
    assert missing.status_code == 404
    # a webhook made by a designer, for the payment provider: it signals the Task its body names
    designer = world.api_as(world.designer)
    made = designer.post("/api/v1/webhooks", json={"key": "payments", "process": "p", "signal": "payment_received"})
    assert made.status_code == 201 and made.json["signal"] == "payment_received"
    _complete(world, b, "intake")
    world.drain()
    body = json.dumps({"key": "order-1002", "values": {"budget": 50}}).encode()
    client = world.app.test_client()
    forged = client.post("/api/v1/webhooks/payments", data=body, headers={HEADER: sign("wrong", body),
                                                                           "Content-Type": "application/json"})
    assert forged.status_code == 401 and world.run(b, "payment").status == "in_progress"
    ok = client.post("/api/v1/webhooks/payments", data=body, headers={HEADER: sign(made.json["secret"], body),
                                                                       "Content-Type": "application/json"})
    assert ok.status_code == 200 and ok.json["id"] == b, ok.json
    world.drain()
    assert world.task(b).status == "completed" and world.task(b).values["a"] == 100
    unknown = json.dumps({"key": "order-404", "values": {}}).encode()
    assert client.post("/api/v1/webhooks/payments", data=unknown, headers={
        HEADER: sign(made.json["secret"], unknown), "Content-Type": "application/json"}).status_code == 404
    from app.models import Task
    assert world.count(Task) == 2              # a signal webhook never starts a Task
