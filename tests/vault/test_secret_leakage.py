"""A Code Stage receiving a secret, run by `flask procly worker` in its own process: the code gets
the value, and the value appears in no API response, no page, no Event and no line of the worker's
log — even when the code prints it, raises with it, or tries to write it into a Field."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from app import sandbox
from tests.processes import wait_until
from tests.runtime_io.conftest import World, st
from tests.runtime_io.test_sla_recovery import _flask_worker

pytestmark = pytest.mark.skipif(sandbox.available() is not None, reason=f"no sandbox here: {sandbox.available()}")
VALUE = "tok-9f8e7d6c5b4a-very-secret"

USES = """import hashlib
def run(fields, secrets):
    key = secrets["CRM_KEY"]
    print("using", key)
    return {"note": hashlib.sha256(key.encode()).hexdigest()[:12]}
"""
LOUD_FAILURE = """def run(fields, secrets):
    raise ValueError("bad key " + secrets["CRM_KEY"])
"""
WRITES_IT = """def run(fields, secrets):
    return {"note": "here: " + secrets["CRM_KEY"]}
"""


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)


def code(key, source, secrets=("CRM_KEY",)):
    return st("code", "code", reads=["note"], writes=["note"],
              config={"code": source, "secrets": list(secrets), "limits": {"cpu_seconds": 2}},
              retry={"attempts": 1})


def test_no_secret_value_in_any_response_log_line_or_event(world):
    from app.models import Event, StageRun

    admin = world.api_as(world.admin)
    assert admin.post("/api/v1/secrets", json={"team": "Ops", "name": "CRM_KEY", "value": VALUE}).status_code == 201
    world.process("uses", [code("code", USES)])
    world.process("loud", [code("code", LOUD_FAILURE)])
    world.process("writes", [code("code", WRITES_IT)])
    world.process("missing", [code("code", USES, secrets=("NOPE",))])
    ids = {key: world.start(key, {"note": "x"}) for key in ("uses", "loud", "writes", "missing")}
    proc = _flask_worker(world.app)
    try:
        def settled():
            world.db.session.remove()
            return all(world.run(t, "code").status in ("completed", "failed") for t in ids.values())
        wait_until(settled, 60, "every Code run finished", diagnose=proc.log)
    finally:
        proc.stop()
    runs = {key: world.run(t, "code") for key, t in ids.items()}
    assert runs["uses"].status == "completed"
    assert world.task(ids["uses"]).values["note"] == hashlib.sha256(VALUE.encode()).hexdigest()[:12]
    assert "stdout: using [secret]" in runs["uses"].data["log"]
    assert runs["loud"].status == "failed" and runs["loud"].error == "Code: ValueError: bad key [secret] (line 2)"
    assert runs["writes"].status == "failed" and "refused to write a secret's value into note" in runs["writes"].error
    assert world.task(ids["writes"]).values["note"] == "x"
    assert runs["missing"].status == "failed" and "no secret named NOPE" in runs["missing"].error

    # Events: each use recorded by name, no value anywhere
    events = world.db.session.scalars(select(Event)).all()
    used = [e for e in events if e.type == "secret.used"]
    assert {e.task_id for e in used} == {ids["uses"], ids["loud"], ids["writes"]}
    assert all(e.data == {"secret": "CRM_KEY", "stage": "code"} for e in used)
    assert not [e for e in events if VALUE in json.dumps(e.data)]
    assert not [r for r in world.db.session.scalars(select(StageRun))
                if VALUE in json.dumps(r.data) or VALUE in (r.error or "")]
    # the worker's log file (stderr of every worker process)
    log = proc.log()
    assert log and VALUE not in log
    # every API response and page about these Tasks
    staff = admin
    for tid in ids.values():
        for path in (f"/api/v1/tasks/{tid}", f"/api/v1/tasks/{tid}?include=runs,events"):
            answer = staff.get(path)
            assert answer.status_code == 200 and VALUE not in answer.get_data(as_text=True)
        for run in world.runs(tid):
            assert VALUE not in staff.get(f"/api/v1/runs/{run.id}").get_data(as_text=True)
    assert VALUE not in staff.get("/api/v1/secrets").get_data(as_text=True)


def test_a_secret_value_is_masked_in_log_lines_of_this_process(app, caplog):
    import logging

    from app.infra import secretbox

    token = secretbox.encrypt("masked-in-logs-4321")
    secretbox.decrypt(token)
    with caplog.at_level(logging.INFO):
        logging.getLogger("procly.test").info("calling with %s", "masked-in-logs-4321")
        try:
            raise RuntimeError("failed with masked-in-logs-4321")
        except RuntimeError:
            logging.getLogger("procly.test").exception("boom")
    text = caplog.text
    assert "masked-in-logs-4321" not in text and "calling with [secret]" in text and "failed with [secret]" in text
