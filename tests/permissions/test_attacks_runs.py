"""Issue 11's findings on the runtime API, each tried as an attacker would and now refused with
nothing changed: acting on invisible Stage Runs, claim/release/reassign outside RAID roles, a
Stage worked by another Team, self-approval (four-eyes) and approval gates."""
from sqlalchemy import select

from app.extensions import db
from app.models import StageRun, Task
from tests.helpers import csrf, db_snapshot, signed_in


def _run(task, key) -> StageRun:
    db.session.expire_all()
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key)
                             .order_by(StageRun.id.desc()))


def test_invisible_run_is_404_for_every_action_and_nothing_changes(attack):
    run = _run(attack.tasks["hidden"], "ops")       # team Operations only
    staff = attack.api("staff")                     # team Intake
    before = db_snapshot()
    assert staff.get(f"/api/v1/runs/{run.id}").status_code == 404
    r = staff.post(f"/api/v1/runs/{run.id}/complete", json={"values": {"notes": "pwned"}})
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found", r.json
    for action, body in (("claim", {}), ("claim", {"assignee": attack.people["staff"].id}), ("release", None),
                         ("pause", None), ("approve", {}), ("reject", {}), ("advance", None), ("retry", None)):
        assert staff.post(f"/api/v1/runs/{run.id}/{action}", json=body).status_code == 404, action
    assert db_snapshot() == before
    assert db.session.get(Task, attack.tasks["hidden"].id).values["notes"] == "top-secret-note"
    # the same answer as a run that does not exist: nothing reveals it is there
    assert staff.get("/api/v1/runs/999999").status_code == 404
    # its own Team works it
    assert attack.api("ops_staff").post(f"/api/v1/runs/{run.id}/claim", json={}).status_code == 200


def test_stage_of_another_team_same_refusal_on_api_and_page(app, attack):
    """`legal` (Process of team Intake) is visible to all but only team Compliance works it."""
    run = _run(attack.tasks["review"], "legal")
    client = signed_in(app, "staff@procly.local")
    before = db_snapshot()
    r = attack.api("staff").post(f"/api/v1/runs/{run.id}/complete", json={"values": {"notes": "waved through"}})
    assert r.status_code == 403 and "team:Compliance" in r.json["error"]["message"], r.json
    assert attack.api("staff").post(f"/api/v1/runs/{run.id}/claim", json={}).status_code == 403
    r = client.post(f"/queue/runs/{run.id}/act", data={"csrf_token": csrf(client), "action": "complete"})
    assert r.status_code == 403
    assert db_snapshot() == before
    r = attack.api("approver").post(f"/api/v1/runs/{run.id}/complete", json={"values": {"notes": "ok"}})
    assert r.status_code == 200 and _run(attack.tasks["review"], "legal").status == "completed"


def test_reassign_only_by_a_delegator_and_only_to_who_may_work_it(attack):
    run = _run(attack.tasks["intake"], "collect")   # Responsible team:Intake, Delegator role:manager
    people = attack.people
    before = db_snapshot()
    r = attack.api("staff").post(f"/api/v1/runs/{run.id}/claim", json={"assignee": people["intake_staff2"].id})
    assert r.status_code == 403 and "Delegator" in r.json["error"]["message"]
    manager = attack.api("manager")
    r = manager.post(f"/api/v1/runs/{run.id}/claim", json={"assignee": people["approver"].id})
    assert r.status_code == 403 and people["approver"].email in r.json["error"]["message"]   # sees it, cannot work it
    r = manager.post(f"/api/v1/runs/{run.id}/claim", json={"assignee": people["ops_staff"].id})
    assert r.status_code == 403
    assert manager.post(f"/api/v1/runs/{run.id}/claim", json={"assignee": 999999}).status_code == 404
    assert db_snapshot() == before
    r = manager.post(f"/api/v1/runs/{run.id}/claim", json={"assignee": people["staff"].id})
    assert r.status_code == 200 and _run(attack.tasks["intake"], "collect").claimed_by_id == people["staff"].id


def test_release_of_someone_elses_claim_needs_a_delegator(attack):
    run = _run(attack.tasks["intake"], "collect")
    assert attack.api("staff").post(f"/api/v1/runs/{run.id}/claim", json={}).status_code == 200
    before = db_snapshot()
    assert attack.api("intake_staff2").post(f"/api/v1/runs/{run.id}/release").status_code == 403
    assert attack.api("ops_staff").post(f"/api/v1/runs/{run.id}/release").status_code == 403   # not its Team
    assert db_snapshot() == before
    assert attack.api("manager").post(f"/api/v1/runs/{run.id}/release").status_code == 200
    assert _run(attack.tasks["intake"], "collect").claimed_by_id is None


def _to_confirm(attack):
    """Complete `collect` of the intake Task so that `confirm` (approval by team:Compliance) is open."""
    run = _run(attack.tasks["intake"], "collect")
    values = {"name": "Ida", "email": "ida@example.com", "location": "in_area", "budget": 5000,
              "documents_complete": True}
    assert attack.api("staff").post(f"/api/v1/runs/{run.id}/complete", json={"values": values}).status_code == 200
    return _run(attack.tasks["intake"], "confirm")


def test_four_eyes_no_self_approval(app, attack):
    confirm = _to_confirm(attack)
    admin = attack.api("admin")          # admins work and approve everything, but not their own work
    assert admin.post(f"/api/v1/runs/{confirm.id}/complete", json={}).status_code == 200
    assert _run(attack.tasks["intake"], "confirm").status == "awaiting_approval"
    client = signed_in(app, "admin@procly.local")
    before = db_snapshot()
    r = admin.post(f"/api/v1/runs/{confirm.id}/approve", json={"comment": "lgtm"})
    assert r.status_code == 403 and "Four-eyes" in r.json["error"]["message"], r.json
    assert admin.post(f"/api/v1/runs/{confirm.id}/reject", json={}).status_code == 403
    r = client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": csrf(client), "action": "approve"})
    assert r.status_code == 403
    assert db_snapshot() == before
    r = attack.api("approver").post(f"/api/v1/runs/{confirm.id}/approve", json={"comment": "ok"})
    assert r.status_code == 200 and _run(attack.tasks["intake"], "confirm").status == "completed"


def test_four_eyes_can_be_switched_off(attack):
    from app.processes import versioning
    from app.models import Process
    from app.tasks import operations as service

    admin = attack.people["admin"]
    process = db.session.scalar(select(Process).where(Process.key == "review"))
    stage = {"key": "sign", "name": "Sign", "type": "basic", "writes": ["notes"],
             "approval": {"required": True, "approvers": ["role:admin"], "four_eyes": False}}
    versioning.publish(process, admin, "v2", definition={"stages": [stage], "routes": []})
    db.session.commit()
    task = service.create_task({"process": "review", "values": {}}, None, "system")
    db.session.commit()
    run = _run(task, "sign")
    api = attack.api("admin")
    assert api.post(f"/api/v1/runs/{run.id}/complete", json={}).status_code == 200
    assert api.post(f"/api/v1/runs/{run.id}/approve", json={}).status_code == 200


def test_approval_gate_is_passed_by_an_approver_only(attack):
    from app.processes import versioning
    from app.models import Process
    from app.tasks import operations as service

    admin = attack.people["admin"]
    process = db.session.scalar(select(Process).where(Process.key == "review"))
    stage = {"key": "gate", "name": "Gate", "type": "basic", "roles": {"responsible": ["team:Intake"]},
             "gate": {"type": "approval", "approvers": ["team:Compliance"]}}
    versioning.publish(process, admin, "v2", definition={"stages": [stage], "routes": []})
    db.session.commit()
    task = service.create_task({"process": "review", "values": {}}, None, "system")
    db.session.commit()
    run = _run(task, "gate")
    assert run.status == "gated"
    before = db_snapshot()
    # the Responsible may not wave their own Stage through its approval gate with "advance"
    assert attack.api("staff").post(f"/api/v1/runs/{run.id}/advance").status_code == 403
    assert attack.api("staff").post(f"/api/v1/runs/{run.id}/approve", json={}).status_code == 403
    assert db_snapshot() == before
    assert attack.api("approver").post(f"/api/v1/runs/{run.id}/approve", json={}).status_code == 200
