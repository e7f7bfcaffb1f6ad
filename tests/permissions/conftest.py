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
    from app.builder import operations, versioning
    from app.extensions import db
    from app.models import User
    from app.runtime import service

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
