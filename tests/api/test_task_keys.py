"""A Task `key` is unique in the Process a Task starts in: a repeated create answers with that Task."""
from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from tests.api.conftest import OPEN_START, count, lane, publish


def _tasks() -> int:
    from app.models import Task

    return count(Task)


def _events() -> int:
    from app.models import Event

    return count(Event)


def test_a_repeated_key_answers_200_with_the_existing_task_and_changes_nothing(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    api = world.api.staff
    first = api.post("/api/v1/tasks", json={"process": "intake", "key": "lead-1", "values": {"name": "Ada"}})
    assert first.status_code == 201
    events = _events()
    again = api.post("/api/v1/tasks", json={"process": "intake", "key": "lead-1", "values": {"name": "Bob"}})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert world.api.admin.get(f"/api/v1/tasks/{first.json['id']}").json["values"]["name"] == "Ada"
    assert _tasks() == 1 and _events() == events
    # invalid input is still refused, key or not
    assert api.post("/api/v1/tasks", json={"process": "intake", "key": "lead-1",
                                           "values": {"budget": "lots"}}).status_code == 422


def test_the_same_key_in_another_process_starts_another_task(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    publish(world.api.other, "referral", lane("refer", start=OPEN_START))
    a = world.api.staff.post("/api/v1/tasks", json={"process": "intake", "key": "k"})
    b = world.api.admin.post("/api/v1/tasks", json={"process": "referral", "key": "k"})
    assert a.status_code == b.status_code == 201 and a.json["id"] != b.json["id"]


def test_a_task_moved_away_still_holds_its_key_in_the_process_it_started_in(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    publish(world.api.other, "referral", lane("refer", start=OPEN_START))
    task = world.api.admin.post("/api/v1/tasks", json={"process": "intake", "key": "k"}).json
    r = world.api.admin.post("/api/v1/moves", json={"task_ids": [task["id"]], "target": {"process": "referral"},
                                                    "reason": "wrong lane"})
    assert r.status_code == 200, r.json
    again = world.api.admin.post("/api/v1/tasks", json={"process": "intake", "key": "k"})
    assert again.status_code == 200 and again.json["id"] == task["id"] and again.json["process"] == "referral"


def test_split_stickiness_same_key_same_variant_same_task(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    r = world.api.admin.post("/api/v1/processes", json={"key": "intake-new", "name": "Intake (new)",
                                                        "table": "leads", "team": "Intake"})
    assert r.status_code == 201
    publish(world.api.designer, "intake-new", lane("collect", start=OPEN_START))
    r = world.api.designer.post("/api/v1/splits", json={
        "key": "ab", "name": "AB", "table": "leads", "team": "Intake",
        "variants": [{"key": "legacy", "process": "intake", "weight": 50},
                     {"key": "new", "process": "intake-new", "weight": 50}]})
    assert r.status_code == 201, r.json
    first = [world.api.staff.post("/api/v1/tasks", json={"split": "ab", "key": f"k{i}"}) for i in range(20)]
    assert {r.status_code for r in first} == {201} and {r.json["variant"] for r in first} == {"legacy", "new"}
    r = world.api.designer.patch("/api/v1/splits/ab", json={"weights": {"legacy": 0, "new": 100}})
    assert r.status_code == 200
    for old in first:   # re-drawn, a "legacy" key would now start a new Task in intake-new
        again = world.api.staff.post("/api/v1/tasks", json={"split": "ab", "key": old.json["key"]})
        assert again.status_code == 200
        assert (again.json["id"], again.json["variant"]) == (old.json["id"], old.json["variant"])
    assert _tasks() == 20


def test_batch_items_with_known_keys_answer_with_their_tasks(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    api = world.api.staff
    known = api.post("/api/v1/tasks", json={"process": "intake", "key": "known"}).json
    r = api.post("/api/v1/tasks/batch", json={"tasks": [{"process": "intake", "key": "known"},
                                                        {"process": "intake", "key": "new"},
                                                        {"process": "intake", "key": "new"}]})
    assert r.status_code == 201
    assert r.json[0]["id"] == known["id"] and r.json[1]["id"] == r.json[2]["id"] != known["id"]
    r = api.post("/api/v1/tasks/batch", json={"tasks": [{"process": "intake", "key": "known"},
                                                        {"process": "intake", "key": "new"}]})
    assert r.status_code == 200 and _tasks() == 2


def test_webhook_with_a_known_key_answers_200_with_its_task(world, client):
    from app.inbound.webhooks import sign

    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    secret = world.api.designer.post("/api/v1/webhooks", json={"key": "leads", "process": "intake"}).json["secret"]
    body = json.dumps({"key": "lead-9", "values": {"name": "Ada"}}).encode()
    headers = {"X-Procly-Signature": sign(secret, body), "Content-Type": "application/json"}
    first = client.post("/api/v1/webhooks/leads", data=body, headers=headers)
    again = client.post("/api/v1/webhooks/leads", data=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200) and first.json["id"] == again.json["id"]


def test_concurrent_creates_of_one_key_start_one_task_and_neither_fails(world, _app, make_user, api_as):
    """Both requests look the key up before either inserts: the unique index decides, the loser's
    transaction is rolled back and it answers with the winner's Task."""
    from app.extensions import db
    from app.models import Task
    from tests.helpers import Rendezvous, race_marker

    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    callers = [world.api.staff.headers, api_as(make_user("staff", teams=("Intake",))).headers]
    results = []

    def go(headers):
        with _app.app_context():
            r = _app.test_client().post("/api/v1/tasks", json={"process": "intake", "key": "race"}, headers=headers)
            results.append((r.status_code, (r.json or {}).get("id")))
            db.session.remove()

    with Rendezvous(db.engine, race_marker(db.engine, "tasks.origin_process_id")):
        threads = [threading.Thread(target=go, args=(h,)) for h in callers]
        [t.start() for t in threads]
        [t.join() for t in threads]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.key == "race")) == 1
    assert sorted(s for s, _ in results) == [200, 201], results
    assert len({i for _, i in results}) == 1


def test_a_batch_answers_ids_only_when_the_client_prefers_it(world):
    """`Prefer: return=minimal` (RFC 7240): each Task of the answer is its id, key, Process and status,
    nothing else (no Field values); the same Tasks start, with the same status codes; any other or no
    preference answers the full Tasks."""
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    api = world.api.staff
    items = {"tasks": [{"process": "intake", "key": "a", "values": {"name": "Ada"}}, {"process": "intake", "key": "b"}]}

    def batch(body, prefer=None):
        headers = {**api.headers, **({"Prefer": prefer} if prefer else {})}
        return api.client.post("/api/v1/tasks/batch", json=body, headers=headers)

    r = batch(items, "respond-async, return=minimal; charset=utf-8")
    assert r.status_code == 201 and r.headers["Preference-Applied"] == "return=minimal"
    assert "Prefer" in r.headers["Vary"]
    assert [set(t) for t in r.json] == [{"id", "key", "process", "status"}] * 2
    assert [(t["key"], t["process"], t["status"]) for t in r.json] == [("a", "intake", "running"), ("b", "intake", "running")]
    assert _tasks() == 2
    again = batch(items, "return=minimal")          # every key known: 200, the same Tasks
    assert again.status_code == 200 and [t["id"] for t in again.json] == [t["id"] for t in r.json]
    full = batch({"tasks": [{"process": "intake", "key": "a"}]}, "return=representation")
    assert "Preference-Applied" not in full.headers and {"values", "version", "created_at"} <= set(full.json[0])
    assert {"values", "version", "created_at"} <= set(batch({"tasks": [{"process": "intake", "key": "c"}]}).json[0])
