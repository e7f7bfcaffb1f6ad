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
