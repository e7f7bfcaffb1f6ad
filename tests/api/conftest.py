"""A small world for the API tests: a Table, Teams, Processes and the people who work on them."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

FIELDS = [
    {"key": "name", "name": "Name", "type": "text"},
    {"key": "email", "name": "Email", "type": "email"},
    {"key": "budget", "name": "Budget", "type": "number"},
    {"key": "eligible", "name": "Eligible", "type": "boolean"},
]


# a `start` letting the Process's Team set every Field when starting a Task (the default lets a start
# set only what the first column's Stages write)
OPEN_START = {"writes": [f["key"] for f in FIELDS]}


def stage(key, **kw):
    return {"key": key, "name": key.title(), "type": "basic", **kw}


def lane(*keys, **kw):
    return {"stages": [stage(k) for k in keys], "routes": [], **kw}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """argon2 at its smallest cost: make_user hashes for every test (verification reads the params)."""
    from argon2 import PasswordHasher

    from app.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def world(app, make_user, api_as):
    """Table `leads`; Processes intake (team Intake, drafts a 3-stage lane) and referral (team
    Referral); a designer per team, staff, a manager, an admin, and their API clients."""
    people = SimpleNamespace(
        designer=make_user("designer", teams=("Intake",)),
        other=make_user("designer", teams=("Referral",)),
        staff=make_user("staff", teams=("Intake",)),
        manager=make_user("manager", teams=("Intake",)),
        admin=make_user("admin"),
    )
    api = SimpleNamespace(**{k: api_as(u) for k, u in vars(people).items()})
    r = api.admin.post("/api/v1/tables", json={"key": "leads", "name": "Leads", "team": "Intake", "fields": FIELDS})
    assert r.status_code == 201, r.json
    for key, team in (("intake", "Intake"), ("referral", "Referral")):
        r = api.admin.post("/api/v1/processes", json={"key": key, "name": key.title(), "table": "leads",
                                                       "team": team})
        assert r.status_code == 201, r.json
    return SimpleNamespace(api=api, people=people)


def save(api, key, definition):
    rev = api.get(f"/api/v1/processes/{key}/draft").json["revision"]
    return api.put(f"/api/v1/processes/{key}/draft", json={"definition": definition, "revision": rev})


def publish(api, key, definition=None, note=""):
    if definition is not None:
        r = save(api, key, definition)
        assert r.status_code == 200 and r.json["errors"] == [], r.json
    return api.post(f"/api/v1/processes/{key}/publish", json={"note": note})


def count(model) -> int:
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict:
    from app.models import Draft, Event, Field, Process, Table, Task, Version

    return {m.__name__: count(m) for m in (Table, Field, Process, Version, Draft, Task, Event)}
