"""Issue 11's findings on moves, Version migrations and inbound webhooks, tried as an attacker
would: each is refused (404 invisible / 403 not allowed / 422 wrong Table) and nothing changed."""
import json

from sqlalchemy import select

from app.extensions import db
from app.models import Process, Task
from app.models.webhooks import Webhook
from tests.helpers import db_snapshot


def _process_of(task) -> str:
    db.session.expire_all()
    return db.session.get(Task, task.id).process.key


def test_move_needs_rights_on_the_source_task(attack):
    staff = attack.api("staff")
    before = db_snapshot()
    hidden = attack.tasks["hidden"].id
    r = staff.post("/api/v1/moves", json={"task_ids": [hidden], "target": {"process": "matrix"}, "reason": "steal"})
    assert r.status_code == 404, r.json
    # a filter never selects what the caller cannot see
    r = staff.post("/api/v1/moves", json={"process": "hidden", "target": {"process": "matrix"}, "reason": "steal"})
    assert r.status_code == 200 and r.json["moved"] == []
    # visible, but not theirs to move: `legal` is worked by team Compliance
    r = staff.post("/api/v1/moves", json={"task_ids": [attack.tasks["review"].id], "target": {"process": "matrix"},
                                          "reason": "x"})
    assert r.status_code == 403
    assert db_snapshot() == before
    # the exposure this used to allow: the moved Task's hidden Fields readable in a visible Process
    assert "budget" not in (staff.get(f"/api/v1/tasks/{hidden}").json or {}).get("values", {})


def test_move_needs_rights_on_the_target_process(attack):
    staff = attack.api("staff")
    intake = attack.tasks["intake"]
    before = db_snapshot()
    # "hidden" belongs to team Operations: Intake staff may not start or move Tasks there
    r = staff.post("/api/v1/moves", json={"task_ids": [intake.id], "target": {"process": "hidden"}, "reason": "x"})
    assert r.status_code == 403 and '"hidden"' in r.json["error"]["message"], r.json
    assert db_snapshot() == before
    assert _process_of(intake) == "intake"
    # Intake's own Processes: fine (the Responsible of `collect`)
    r = staff.post("/api/v1/moves", json={"task_ids": [intake.id], "target": {"process": "follow-up"}, "reason": "x"})
    assert r.status_code == 200 and _process_of(intake) == "follow-up"


def test_move_to_a_process_on_another_table_is_refused_naming_it(attack):
    before = db_snapshot()
    r = attack.api("admin").post("/api/v1/moves", json={"task_ids": [attack.tasks["intake"].id],
                                                        "target": {"process": "elsewhere"}, "reason": "x"})
    assert r.status_code == 422 and "elsewhere" in r.json["error"]["message"], r.json
    assert db_snapshot() == before


def test_page_move_uses_the_same_decision(app, attack):
    from tests.helpers import csrf, signed_in

    client = signed_in(app, "staff@procly.local")
    before = db_snapshot()
    r = client.post(f"/queue/tasks/{attack.tasks['intake'].id}/move",
                    data={"csrf_token": csrf(client), "process": "hidden", "reason": "x"})
    assert r.status_code == 403
    r = client.post(f"/queue/tasks/{attack.tasks['hidden'].id}/move",
                    data={"csrf_token": csrf(client), "process": "matrix", "reason": "x"})
    assert r.status_code == 404
    assert db_snapshot() == before


def test_migration_of_another_teams_tasks_is_refused(attack):
    from app.processes import versioning

    process = db.session.scalar(select(Process).where(Process.key == "hidden"))     # team Operations
    doc = dict(versioning.current_version(process).definition)
    versioning.publish(process, attack.people["admin"], "v2", definition=doc)
    db.session.commit()
    body = {"process": "hidden", "to_version": 2}
    before = db_snapshot()
    for name in ("manager", "compliance_designer"):           # Intake's manager, Compliance's designer
        r = attack.api(name).post("/api/v1/migrations", json=body)
        assert r.status_code == 403 and "another team" in r.json["error"]["message"], (name, r.json)
    assert attack.api("staff").post("/api/v1/migrations", json=body).status_code == 403
    assert db_snapshot() == before
    r = attack.api("ops_manager").post("/api/v1/migrations", json=body)
    assert r.status_code == 200 and r.json["migrated"] == [attack.tasks["hidden"].id]


def test_webhook_on_another_teams_split_or_process_is_refused(attack, client):
    api = attack.api("compliance_designer")
    before = db_snapshot()
    r = api.post("/api/v1/webhooks", json={"key": "steal-split", "split": "intake-ab"})
    assert r.status_code == 403 and "intake-ab" in r.json["error"]["message"], r.json
    r = api.post("/api/v1/webhooks", json={"key": "steal-proc", "process": "intake"})
    assert r.status_code == 403
    assert db_snapshot() == before
    assert db.session.scalar(select(Webhook.id)) is None
    assert attack.api("designer").post("/api/v1/webhooks", json={"key": "mine", "split": "intake-ab"}).status_code == 201


def _call(client, hook_key, secret, values):
    from app.inbound.webhooks import sign

    body = json.dumps({"values": values}).encode()
    return client.post(f"/api/v1/webhooks/{hook_key}", data=body, content_type="application/json",
                       headers={"X-Procly-Signature": sign(secret, body)})


def test_webhook_starts_with_its_creators_rights(attack, client):
    r = attack.api("designer").post("/api/v1/webhooks", json={"key": "leads", "process": "intake"})
    secret = r.json["secret"]
    before = db_snapshot()
    # only the Process's start writes (intake: what `collect` collects)
    r = _call(client, "leads", secret, {"name": "Lee", "eligible": True})
    assert r.status_code == 403 and "eligible" in r.json["error"]["message"], r.json
    assert db_snapshot() == before
    assert _call(client, "leads", secret, {"name": "Lee"}).status_code == 201
    # a creator who lost the right: the webhook stops starting Tasks
    attack.people["designer"].active = False
    db.session.commit()
    before = db_snapshot()
    assert _call(client, "leads", secret, {"name": "Lou"}).status_code == 403
    assert db_snapshot() == before
