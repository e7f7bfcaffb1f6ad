"""Who may do what: staff never publish, designers only their Teams, managers shift Split weights."""
import pytest

from app.models import Process, Split, Version
from tests.api.conftest import count, lane, publish, save


def test_anonymous_gets_401_json(client, world):
    for method, path in [("get", "/api/v1/processes"), ("post", "/api/v1/processes/intake/publish"),
                         ("get", "/api/v1/tables/leads")]:
        r = getattr(client, method)(path, json={})
        assert r.status_code == 401, path
        assert r.json["error"]["code"] == "unauthorized"


def test_staff_can_read_but_not_publish_or_edit(world):
    staff = world.api.staff
    assert staff.get("/api/v1/processes/intake").status_code == 200
    save(world.api.designer, "intake", lane("a"))
    r = staff.post("/api/v1/processes/intake/publish", json={})
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert staff.put("/api/v1/processes/intake/draft", json={"definition": {}, "revision": 2}).status_code == 403
    assert staff.post("/api/v1/tables", json={"key": "t", "name": "T"}).status_code == 403
    assert count(Version) == 0


def test_designer_of_another_team_cannot_edit_or_publish(world):
    other = world.api.other
    save(world.api.designer, "intake", lane("a"))
    rev = other.get("/api/v1/processes/intake/draft").json["revision"]
    r = other.put("/api/v1/processes/intake/draft", json={"definition": lane("b"), "revision": rev})
    assert r.status_code == 403 and "another team" in r.json["error"]["message"]
    assert other.post("/api/v1/processes/intake/publish", json={}).status_code == 403
    assert other.post("/api/v1/processes/intake/rollback", json={"version": 1}).status_code == 403
    assert other.patch("/api/v1/processes/intake", json={"name": "Mine"}).status_code == 403
    assert other.post("/api/v1/processes/intake/archive").status_code == 403
    assert count(Version) == 0
    assert world.api.designer.get("/api/v1/processes/intake/draft").json["definition"] == lane("a")
    assert publish(world.api.designer, "intake").status_code == 201


@pytest.mark.parametrize("team, status", [("Intake", 201), ("Referral", 403), ("Nowhere", 422)])
def test_designer_creates_processes_only_for_their_teams(world, team, status):
    before = count(Process)
    r = world.api.designer.post("/api/v1/processes", json={"key": "new", "name": "New", "table": "leads",
                                                            "team": team})
    assert r.status_code == status, r.json
    assert count(Process) == before + (status == 201)


def test_designer_cannot_import_for_another_team(world):
    doc = world.api.admin.get("/api/v1/processes/referral/export").json
    r = world.api.designer.post("/api/v1/processes/import?key=mine", json=doc)
    assert r.status_code == 403
    assert count(Process) == 2


@pytest.fixture
def split(world):
    publish(world.api.admin, "intake", lane("a"))
    body = {"key": "intake-ab", "name": "Intake A/B", "table": "leads", "team": "Intake",
            "variants": [{"key": "legacy", "process": "intake", "weight": 80},
                         {"key": "new", "process": "intake", "version": 1, "weight": 20}]}
    r = world.api.designer.post("/api/v1/splits", json=body)
    assert r.status_code == 201, r.json
    return r.json


def test_manager_shifts_split_weights(world, split):
    r = world.api.manager.patch("/api/v1/splits/intake-ab", json={"weights": {"new": 50}, "reason": "winning"})
    assert r.status_code == 200, r.json
    assert {v["key"]: v["weight"] for v in r.json["variants"]} == {"legacy": 80, "new": 50}


def test_staff_and_other_designers_cannot_shift_weights(world, split):
    assert world.api.staff.patch("/api/v1/splits/intake-ab", json={"weights": {"new": 0}}).status_code == 403
    assert world.api.other.patch("/api/v1/splits/intake-ab", json={"weights": {"new": 0}}).status_code == 403
    r = world.api.manager.patch("/api/v1/splits/intake-ab", json={"weights": {"ghost": 1}})
    assert r.status_code == 422 and r.json["error"]["details"] == {"weights": ['no variant "ghost"']}


def test_managers_cannot_create_splits_and_other_designers_cannot_for_this_team(world):
    body = {"key": "s", "name": "S", "table": "leads", "team": "Intake",
            "variants": [{"key": "a", "process": "intake", "weight": 1}]}
    assert world.api.manager.post("/api/v1/splits", json=body).status_code == 403
    assert world.api.other.post("/api/v1/splits", json=body).status_code == 403
    assert count(Split) == 0
