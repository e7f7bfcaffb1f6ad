"""Issue 11's findings on Tables, starting Tasks and live rooms, tried as an attacker would: each is
refused with nothing changed, and the same decision holds on every surface that offers it."""
from sqlalchemy import select

from app.extensions import db
from app.models import Field, Table, Task
from tests.helpers import csrf, db_snapshot, signed_in


def test_tables_belong_to_a_team(attack):
    """clients belongs to team Intake: a designer of another Team changes nothing of it."""
    api = attack.api("compliance_designer")
    before = db_snapshot()
    r = api.patch("/api/v1/tables/clients", json={"name": "Mine"})
    assert r.status_code == 403 and "team Intake" in r.json["error"]["message"], r.json
    assert api.post("/api/v1/tables/clients/fields", json={"key": "x", "name": "X", "type": "text"}).status_code == 403
    assert api.patch("/api/v1/tables/clients/fields/budget", json={"type": "text"}).status_code == 403
    assert api.delete("/api/v1/tables/clients/fields/notes").status_code == 403
    # nor may they create a Table for a Team they do not design for
    assert api.post("/api/v1/tables", json={"key": "t2", "name": "T2", "team": "Intake"}).status_code == 403
    assert db_snapshot() == before
    r = attack.api("designer").patch("/api/v1/tables/clients", json={"name": "Clients (CRM)"})
    assert r.status_code == 200 and r.json["team"] == "Intake"


def test_a_table_of_no_team_is_for_admins_only(attack):
    table = db.session.scalar(select(Table).where(Table.key == "other"))
    table.team_id = None
    db.session.commit()
    before = db_snapshot()
    r = attack.api("ops_designer").post("/api/v1/tables/other/fields", json={"key": "x", "name": "X", "type": "text"})
    assert r.status_code == 403 and "only admins" in r.json["error"]["message"]
    assert db_snapshot() == before
    assert attack.api("admin").post("/api/v1/tables/other/fields",
                                    json={"key": "x", "name": "X", "type": "text"}).status_code == 201


def test_table_editor_page_is_read_only_for_other_teams(app, attack):
    from app.auth.passwords import hash_password

    attack.people["compliance_designer"].password_hash = hash_password("procly-demo-2026")
    db.session.commit()
    page = signed_in(app, attack.people["compliance_designer"].email).get("/builder/tables/clients")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-can-edit="false"' in html and "read-only" in html
    html = signed_in(app, "designer@procly.local").get("/builder/tables/clients").get_data(as_text=True)
    assert 'data-can-edit="true"' in html and "Belongs to team Intake" in html


def test_starting_tasks_is_part_of_the_definition(attack):
    """intake's start: its Team (default) setting what `collect` collects (default: the first column's writes)."""
    before = db_snapshot()
    r = attack.api("ops_staff").post("/api/v1/tasks", json={"process": "intake", "values": {"name": "X"}})
    assert r.status_code == 403 and "team:Intake" in r.json["error"]["message"], r.json
    r = attack.api("ops_staff").post("/api/v1/tasks/batch", json={"tasks": [{"process": "intake"}]})
    assert r.status_code == 403
    r = attack.api("ops_staff").post("/api/v1/tasks", json={"split": "intake-ab", "values": {"name": "X"}})
    assert r.status_code == 403
    staff = attack.api("staff")
    r = staff.post("/api/v1/tasks", json={"process": "intake", "values": {"name": "X", "eligible": True,
                                                                           "notes": "skip review"}})
    assert r.status_code == 403, r.json
    assert r.json["error"]["message"] == 'A start in process "intake" may not set eligible, notes.'
    assert set(r.json["error"]["details"]) == {"values.eligible", "values.notes"}
    r = staff.post("/api/v1/tasks/batch", json={"tasks": [{"process": "intake", "values": {"name": "A"}},
                                                          {"process": "intake", "values": {"eligible": True}}]})
    assert r.status_code == 403 and "tasks[1].values.eligible" in r.json["error"]["details"]
    assert db_snapshot() == before
    r = staff.post("/api/v1/tasks", json={"process": "intake", "values": {"name": "X", "budget": 2000}})
    assert r.status_code == 201, r.json
    assert db.session.get(Task, r.json["id"]).values == {"name": "X", "budget": 2000}


def test_start_roles_and_writes_declared_in_the_definition(attack):
    from app.processes import versioning
    from app.models import Process

    process = db.session.scalar(select(Process).where(Process.key == "review"))
    doc = {**versioning.current_version(process).definition,
           "start": {"roles": ["team:Operations"], "writes": ["name", "notes"]}}
    versioning.publish(process, attack.people["admin"], "v2", definition=doc)
    db.session.commit()
    body = {"process": "review", "values": {"name": "N", "notes": "from ops"}}
    assert attack.api("staff").post("/api/v1/tasks", json=body).status_code == 403      # Intake: not named
    assert attack.api("ops_staff").post("/api/v1/tasks", json=body).status_code == 201
    assert attack.api("designer").post("/api/v1/tasks", json=body).status_code == 201   # owning Team's designer
    r = attack.api("ops_staff").post("/api/v1/tasks", json={"process": "review", "values": {"budget": 1}})
    assert r.status_code == 403 and "budget" in r.json["error"]["message"]


def test_watching_a_process_same_decision_for_room_and_counts(app, attack):
    """"hidden" shows only team Operations' Stage: Intake staff may neither join its room nor read
    its live counts; the owning Team may."""
    from app.models import Process
    from app.realtime import may_join

    hidden = db.session.scalar(select(Process).where(Process.key == "hidden"))
    staff, ops = attack.people["staff"], attack.people["ops_staff"]
    assert not may_join(staff, f"process:{hidden.id}")
    assert signed_in(app, "staff@procly.local").get("/builder/hidden/counts").status_code == 403
    assert may_join(ops, f"process:{hidden.id}")
    assert may_join(staff, f"process:{db.session.scalar(select(Process.id).where(Process.key == 'intake'))}")
    assert signed_in(app, "staff@procly.local").get("/builder/intake/counts").status_code == 200


def test_page_writes_use_the_same_decision(app, attack):
    client = signed_in(app, "staff@procly.local")
    before = db_snapshot()
    r = client.post(f"/queue/tasks/{attack.tasks['hidden'].id}/values", data={"csrf_token": csrf(client),
                                                                              "f_notes": "pwned"})
    assert r.status_code == 404
    assert db_snapshot() == before
    assert db.session.scalar(select(Field.id).where(Field.key == "notes")) is not None
