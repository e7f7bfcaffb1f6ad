"""Secrets in outside calls, run by `flask procly worker` in its own process: a Webhook sends a Team
secret in a header, the URL's query and the body; the other system echoes it back, in a success and in
an error. The value reaches the other system and nothing else: no Stage Run log or error, no Field,
no Event, no line of the worker's log, no API response or page."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker
from tests.stages.partner import Answer, Partner

VALUE = "sk-live-webhook-5e6f7a8b9c0d"


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


@pytest.fixture
def partner():
    p = Partner()
    yield p
    p.close()


def stage(partner, path: str, results: dict) -> dict:
    return st("call", "webhook", reads=["name"], writes=["note"], retry={"attempts": 1}, config={
        "url": partner.url + path + "?key={{ secrets.CRM_KEY }}&who={{ name }}", "allowed_hosts": [partner.host],
        "headers": {"Authorization": "Bearer {{ secrets.CRM_KEY }}"}, "secrets": ["CRM_KEY"],
        "body": {"k": "{{ secrets.CRM_KEY }}", "name": "{{ name }}"}, "results": results, "retries": 0})


def test_no_secret_value_leaves_through_anything_but_the_call(world, partner, app):
    from app.models import Event, StageRun
    from tests.helpers import signed_in

    admin = world.api_as(world.admin)
    assert admin.post("/api/v1/secrets", json={"team": "Ops", "name": "CRM_KEY", "value": VALUE}).status_code == 201
    partner.paths["/ok"] = [Answer(200, {"id": "c-1", "echo": VALUE})]
    partner.paths["/writes"] = [Answer(200, {"id": "c-2", "echo": VALUE})]
    partner.paths["/fails"] = [Answer(400, {"error": f"bad key {VALUE}"})]
    world.process("ok", [stage(partner, "/ok", {"note": "body.id"})])
    world.process("writes", [stage(partner, "/writes", {"note": "body.echo"})])
    world.process("fails", [stage(partner, "/fails", {"note": "body.id"})])
    ids = {key: world.start(key, {"name": "Ada"}) for key in ("ok", "writes", "fails")}
    proc = _flask_worker(world.app, env={"PROCLY_WEBHOOK_ALLOW_PRIVATE": "1"})
    try:
        def settled():
            world.db.session.remove()
            return all(world.run(t, "call").status in ("completed", "failed") for t in ids.values())
        wait_until(settled, 90, "every call finished", diagnose=proc.log)
    finally:
        proc.stop()
    # the other system got the value where the templates put it
    seen = {s.path.split("?")[0]: s for s in partner.received}
    assert seen["/ok"].headers["Authorization"] == f"Bearer {VALUE}" and seen["/ok"].json()["k"] == VALUE
    assert f"key={VALUE}&who=Ada" in seen["/ok"].path
    runs = {key: world.run(t, "call") for key, t in ids.items()}
    assert runs["ok"].status == "completed" and world.task(ids["ok"]).values["note"] == "c-1"
    assert f"?key=[secret]&who=Ada → 200" in runs["ok"].data["log"][0] and '"echo": "[secret]"' in runs["ok"].data["log"][0]
    assert runs["writes"].status == "failed" and "refused to write a secret's value into note" in runs["writes"].error
    assert world.task(ids["writes"]).values.get("note") is None
    assert runs["fails"].status == "failed" and "key=[secret]" in runs["fails"].error
    assert "bad key [secret]" in runs["fails"].data["log"][0]

    # nowhere else: Stage Runs, Events (each use recorded by name), the worker's log, API answers, pages
    assert not [r for r in world.db.session.scalars(select(StageRun)) if VALUE in json.dumps(r.data) + (r.error or "")]
    events = world.db.session.scalars(select(Event)).all()
    assert {e.task_id for e in events if e.type == "secret.used"} == set(ids.values())
    assert not [e for e in events if VALUE in json.dumps(e.data)]
    assert VALUE not in proc.log()
    page = signed_in(app, "admin@x.test", "pw-secret-1")
    for tid in ids.values():
        for path in (f"/api/v1/tasks/{tid}?include=runs,events", f"/api/v1/tasks/{tid}/events?limit=200"):
            answer = admin.get(path)
            assert answer.status_code == 200 and VALUE not in answer.get_data(as_text=True)
        html = page.get(f"/queue/tasks/{tid}").get_data(as_text=True)
        assert "Calls to the outside system" in html and VALUE not in html
        for run in world.runs(tid):
            assert VALUE not in admin.get(f"/api/v1/runs/{run.id}").get_data(as_text=True)
