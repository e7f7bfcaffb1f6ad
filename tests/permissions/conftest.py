"""The permission matrix: Processes whose Stages differ in visibility and reads/writes."""
import pytest
from sqlalchemy import select


def _stage(key, name, column, *, reads, writes, teams=(), roles=(), external="none", responsible=(), approver=(),
           delegator=(), informed=()):
    return {"key": key, "name": name, "type": "basic", "column": column, "reads": list(reads), "writes": list(writes),
            "visibility": {"internal": {"teams": list(teams), "roles": list(roles)}, "external": external},
            "roles": {"responsible": list(responsible), "approver": list(approver), "informed": list(informed),
                      "delegator": list(delegator)}}


MATRIX = {"stages": [
    _stage("public", "Public", 0, reads=["name"], writes=["email"], external="action", responsible=["team:Intake"]),
    _stage("secret", "Secret", 0, reads=["budget", "notes"], writes=["notes"], teams=["Compliance"],
           responsible=["team:Compliance"]),
    _stage("mgr", "Managers", 0, reads=["phone"], writes=["phone"], roles=["manager"], external="status",
           responsible=["role:manager"]),
], "routes": []}

HIDDEN = {"stages": [
    _stage("ops", "Operations only", 0, reads=["name", "budget"], writes=["notes"], teams=["Operations"],
           responsible=["team:Operations"]),
], "routes": []}

SECRET_VALUES = {"name": "Jo Matrix", "email": "jo@example.com", "phone": "+1 555 0100", "budget": 987654,
                 "notes": "top-secret-note"}


@pytest.fixture
def matrix(demo):
    """Processes "matrix" and "hidden" on the clients Table, and a Task on each."""
    from app.processes import operations, versioning
    from app.extensions import db
    from app.models import User
    from app.tasks import operations as service

    admin = db.session.scalar(select(User).where(User.email == "admin@procly.local"))
    out = {}
    for key, doc, team in (("matrix", MATRIX, "Intake"), ("hidden", HIDDEN, "Operations")):
        p = operations.create_process({"key": key, "name": key.title(), "description": "", "table": "clients",
                                       "team": team}, admin)
        versioning.publish(p, admin, "v1", definition=doc)
        db.session.commit()
        out[key] = service.create_task({"process": key, "values": dict(SECRET_VALUES)}, None, "system")
        db.session.commit()
    return out


REVIEW = {"stages": [
    _stage("legal", "Legal review", 0, reads=["name", "notes"], writes=["notes"], responsible=["team:Compliance"]),
], "routes": []}

ELSEWHERE = {"stages": [_stage("work", "Work", 0, reads=["title"], writes=["title"])], "routes": []}


@pytest.fixture
def attack(matrix, users, make_user, api_as):
    """The demo and the matrix, plus: Process "review" (team Intake) whose Stage only team Compliance
    works; Table "other" (team Operations) with Process "elsewhere"; people of other Teams; a
    Task on intake, review and elsewhere; an API client per person."""
    from types import SimpleNamespace

    from app.processes import operations, versioning
    from app.extensions import db
    from app.tasks import operations as service
    from app.tables.operations import create_table

    admin = users["admin"]
    create_table({"key": "other", "name": "Other", "team_name": "Operations",
                  "fields": [{"key": "title", "name": "Title", "type": "text", "required": False, "options": {}}]},
                 "system")
    for key, doc, team, table in (("review", REVIEW, "Intake", "clients"), ("elsewhere", ELSEWHERE, "Operations",
                                                                          "other")):
        p = operations.create_process({"key": key, "name": key.title(), "description": "", "table": table,
                                       "team": team}, admin)
        versioning.publish(p, admin, "v1", definition=doc)
    db.session.commit()
    people = dict(users)
    people.update(ops_staff=make_user("staff", teams=("Operations",)),
                  ops_manager=make_user("manager", teams=("Operations",)),
                  ops_designer=make_user("designer", teams=("Operations",)),
                  compliance_designer=make_user("designer", teams=("Compliance",)),
                  intake_staff2=make_user("staff", teams=("Intake",)))
    tasks = {"matrix": matrix["matrix"], "hidden": matrix["hidden"]}
    for key, values in (("intake", {"name": "Ida"}), ("review", {"name": "Rex", "notes": "n"}),
                        ("elsewhere", {"title": "T"})):
        tasks[key] = service.create_task({"process": key, "values": values}, None, "system")
    db.session.commit()
    clients = {name: api_as(user) for name, user in people.items()}
    return SimpleNamespace(people=people, tasks=tasks, api=clients.__getitem__)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """argon2 at its smallest cost: the demo and make_user hash a password per person."""
    from argon2 import PasswordHasher

    from app.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
