"""`Idempotency-Key` on POST /tasks, /tasks/batch and inbound webhooks: a retry gets the first
response back and creates nothing."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.conftest import OPEN_START, count, lane, publish

KEY = {"Idempotency-Key": "5f1c2b8e-retry-me"}


def _tasks() -> int:
    from app.models import Task

    return count(Task)


def _keys() -> int:
    from app.models import IdempotencyKey

    return count(IdempotencyKey)


def post(api, path, body, headers=KEY):
    return api.client.post(path, json=body, headers={**api.headers, **headers})


@pytest.fixture
def intake(world):
    publish(world.api.designer, "intake", lane("collect", start=OPEN_START))
    return world


@pytest.mark.parametrize("path, body", [
    ("/api/v1/tasks", {"process": "intake", "values": {"name": "Ada"}}),
    ("/api/v1/tasks/batch", {"tasks": [{"process": "intake"}, {"process": "intake", "values": {"name": "Bo"}}]}),
])
def test_a_retry_returns_the_first_response_and_creates_nothing(intake, path, body):
    first = post(intake.api.staff, path, body)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    tasks = _tasks()
    again = post(intake.api.staff, path, body)
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _tasks() == tasks and _keys() == 1


def test_the_same_key_with_another_body_is_a_422_naming_the_header(intake):
    post(intake.api.staff, "/api/v1/tasks", {"process": "intake", "values": {"name": "Ada"}})
    tasks = _tasks()
    r = post(intake.api.staff, "/api/v1/tasks", {"process": "intake", "values": {"name": "Someone else"}})
    assert r.status_code == 422 and list(r.json["error"]["details"]) == ["Idempotency-Key"]
    r = post(intake.api.staff, "/api/v1/tasks/batch", {"tasks": [{"process": "intake", "values": {"name": "Ada"}}]})
    assert r.status_code == 422   # another endpoint is another request
    assert _tasks() == tasks


def test_keys_belong_to_their_caller(intake):
    mine = post(intake.api.staff, "/api/v1/tasks", {"process": "intake"})
    theirs = post(intake.api.manager, "/api/v1/tasks", {"process": "intake"})
    assert mine.status_code == theirs.status_code == 201 and mine.json["id"] != theirs.json["id"]


def test_a_failed_request_does_not_use_up_its_key(intake):
    r = post(intake.api.staff, "/api/v1/tasks", {"process": "intake", "values": {"budget": "lots"}})
    assert r.status_code == 422 and _keys() == 0 and _tasks() == 0   # neither the Task nor the key
    r = post(intake.api.staff, "/api/v1/tasks", {"process": "intake", "values": {"budget": 5}})
    assert r.status_code == 201 and _keys() == 1


@pytest.mark.parametrize("value", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(intake, value):
    r = post(intake.api.staff, "/api/v1/tasks", {"process": "intake"}, headers={"Idempotency-Key": value})
    assert r.status_code == 400 and "Idempotency-Key" in r.json["error"]["details"] and _tasks() == 0


def test_keys_expire_after_24_hours_and_can_be_purged(intake):
    from app import clock
    from app.api.idempotency import purge_expired_idempotency_keys
    from app.extensions import db

    first = post(intake.api.staff, "/api/v1/tasks", {"process": "intake"})
    later = clock.FrozenClock(clock.now() + timedelta(hours=23))
    clock.set_clock(later)
    try:
        assert post(intake.api.staff, "/api/v1/tasks", {"process": "intake"}).json["id"] == first.json["id"]
        later.advance(hours=2)
        second = post(intake.api.staff, "/api/v1/tasks", {"process": "intake"})
        assert second.status_code == 201 and second.json["id"] != first.json["id"]   # a new request now
        assert _keys() == 1
        later.advance(hours=25)
        assert purge_expired_idempotency_keys() == 1
        db.session.commit()
        assert _keys() == 0
    finally:
        clock.set_clock(None)


def test_webhook_retries_replay_and_need_the_signature(intake, client):
    from app.inbound.webhooks import sign

    secret = intake.api.designer.post("/api/v1/webhooks", json={"key": "leads", "process": "intake"}).json["secret"]
    body = json.dumps({"values": {"name": "Ada"}}).encode()
    signed = {"X-Procly-Signature": sign(secret, body), "Content-Type": "application/json", **KEY}
    first = client.post("/api/v1/webhooks/leads", data=body, headers=signed)
    again = client.post("/api/v1/webhooks/leads", data=body, headers=signed)
    assert first.status_code == again.status_code == 201 and again.json == first.json and _tasks() == 1
    forged = client.post("/api/v1/webhooks/leads", data=body, headers={**signed, "X-Procly-Signature": "sha256=00"})
    assert forged.status_code == 401 and forged.json["error"]["code"] == "bad_signature"   # no replay


def test_concurrent_retries_with_one_key_create_once_and_both_get_the_first_response(intake, _app, api_as):
    """Two tokens of one user (one token's requests queue on its row): both look the key up before
    either stores it; the unique constraint decides and the loser replays the winner's response."""
    from app.extensions import db
    from app.models import Task
    from tests.helpers import Rendezvous, race_marker

    tokens = [{**api_as(intake.people.staff).headers, **KEY} for _ in range(2)]
    results = []

    def go(headers):
        with _app.app_context():
            r = _app.test_client().post("/api/v1/tasks", json={"process": "intake"}, headers=headers)
            results.append((r.status_code, r.json))
            db.session.remove()

    with Rendezvous(db.engine, race_marker(db.engine, "FROM idempotency_keys")):
        threads = [threading.Thread(target=go, args=(h,)) for h in tokens]
        [t.start() for t in threads]
        [t.join() for t in threads]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1
    assert [s for s, _ in results] == [201, 201] and results[0][1] == results[1][1], results


def test_the_header_is_documented_on_the_three_creating_operations(client):
    spec = client.get("/api/openapi.json").json
    documented = {(path, method) for path, ops in spec["paths"].items() for method, op in ops.items()
                  if method != "parameters" and any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))}
    assert documented == {("/api/v1/tasks", "post"), ("/api/v1/tasks/batch", "post"),
                          ("/api/v1/webhooks/{key}", "post")}
    inbound = spec["paths"]["/api/v1/webhooks/{key}"]["post"]["parameters"]
    assert {p["name"] for p in inbound} >= {"X-Procly-Signature", "Idempotency-Key"}
    assert "200" in spec["paths"]["/api/v1/tasks"]["post"]["responses"]
