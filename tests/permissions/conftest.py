import pytest
from sqlalchemy import select


@pytest.fixture
def demo(app):
    """The client-intake demo (no Tasks): users admin@/designer@/staff@/approver@/manager@procly.local."""
    from flask import g

    from app.demo import load_demo
    from app.extensions import db
    from app.runtime import shell

    shell._definition.cache_clear()  # Version ids are reused after the tables are emptied between tests
    g.pop("_procly_definitions", None)

    load_demo(tasks=0)
    db.session.commit()
    return app


@pytest.fixture
def users(demo):
    from app.extensions import db
    from app.models import User

    return {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}


@pytest.fixture
def new_task(demo):
    def make(values=None, process="intake"):
        from app.extensions import db
        from app.runtime import service

        task = service.create_task({"process": process, "values": values or {"name": "Jo Client"}}, None, "system")
        db.session.commit()
        return task

    return make


@pytest.fixture
def web_login(client):
    def do(email, password="procly-demo"):
        import re

        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        r = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert r.status_code == 302, r.data
        return client

    return do


def csrf(client):
    """The CSRF token of the client's session (forms render it; tests read it from a page)."""
    import re

    html = client.get("/queue").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


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
