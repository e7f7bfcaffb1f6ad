"""Definition validation through the REST API: every error class with its JSON path, on draft
save (saved, errors returned) and on publish (422, nothing published); stale drafts are refused."""
import copy

import pytest

from app.models import Version
from tests.api.conftest import count, publish, save, stage

GOOD = {
    "stages": [
        stage("collect", type="form", reads=["name"], writes=["name", "email", "budget"],
              config={"required": ["name"]}),
        stage("check", approval={"approvers": ["team:Intake"]}),
        stage("review", reads=["name", "budget"]),
    ],
    "routes": [
        {"key": "too_small", "name": "Too small", "stage": "collect",
         "trigger": {"type": "condition", "condition": "budget < 1000"}, "target": {"process": "referral"}},
        {"key": "failed", "name": "Failed", "stage": "check", "trigger": {"type": "stage_failed"},
         "target": {"process": "referral"}},
    ],
}

CASES = [
    ("unknown field in reads", lambda d: d["stages"][2].update(reads=["budjet"]),
     "stages[2].reads[0]", 'unknown field "budjet"'),
    ("after cycle", lambda d: d["stages"][1].update(after=["review"]),
     "stages[1].after", 'cycle through "review"'),
    ("unknown route target", lambda d: d["routes"][1].update(target={"process": "nowhere"}),
     "routes[1].target.process", 'no such process "nowhere"'),
    ("unknown target stage", lambda d: d["routes"][1].update(target={"process": "referral", "stage": "triage"}),
     "routes[1].target.stage", 'no such stage "triage" in process "referral"'),
    ("bad CEL", lambda d: d["stages"][1].update(start_when="budget >"),
     "stages[1].start_when", "syntax error at column 8"),
    ("type mismatch", lambda d: d["routes"][0]["trigger"].update(condition="budget < 'x'"),
     "routes[0].trigger.condition", "cannot compare number with string"),
    ("non-boolean condition", lambda d: d["stages"][2].update(skip_when="budget"),
     "stages[2].skip_when", "must be a boolean condition, got number"),
    ("unknown stage type", lambda d: d["stages"][1].update(type="telepathy"),
     "stages[1].type", 'unknown stage type "telepathy"'),
    ("unknown config key", lambda d: d["stages"][1].update(config={"colour": 1}),
     "stages[1].config.colour", "Unknown field."),
    ("config cross-check", lambda d: d["stages"][0].update(writes=["email"]),
     "stages[0].config.required[0]", '"name" is not in writes'),
    ("route to own process", lambda d: d["routes"][0].update(target={"process": "intake"}),
     "routes[0].target.process", "a Route may not target its own Process"),
]


def _doc(mutate):
    doc = copy.deepcopy(GOOD)
    mutate(doc)
    return doc


def test_good_definition_saves_clean_and_publishes(world):
    api = world.api.designer
    r = save(api, "intake", GOOD)
    assert r.status_code == 200 and r.json["errors"] == []
    r = publish(api, "intake")
    assert r.status_code == 201 and r.json["number"] == 1


@pytest.mark.parametrize("name, mutate, path, message", CASES, ids=[c[0] for c in CASES])
def test_draft_save_keeps_the_draft_and_returns_the_error(world, name, mutate, path, message):
    api = world.api.designer
    doc = _doc(mutate)
    r = save(api, "intake", doc)
    assert r.status_code == 200, r.json
    assert {"path": path, "message": message} in r.json["errors"]
    assert len(r.json["errors"]) == 1, r.json["errors"]
    stored = api.get("/api/v1/processes/intake/draft").json
    assert stored["definition"] == doc and stored["revision"] == r.json["revision"]
    assert stored["errors"] == r.json["errors"]


@pytest.mark.parametrize("name, mutate, path, message", CASES, ids=[c[0] for c in CASES])
def test_publish_refuses_with_422_and_publishes_nothing(world, name, mutate, path, message):
    api = world.api.designer
    save(api, "intake", _doc(mutate))
    r = api.post("/api/v1/processes/intake/publish", json={})
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid_definition"
    assert {"path": path, "message": message} in r.json["error"]["details"]["errors"]
    assert count(Version) == 0
    assert api.get("/api/v1/processes/intake").json["current_version"] is None


def test_all_errors_at_once_and_shape_errors_never_500(world):
    api = world.api.designer
    doc = _doc(lambda d: (d["stages"][2].update(reads=["budjet"]), d["stages"][1].update(type="telepathy")))
    paths = [e["path"] for e in save(api, "intake", doc).json["errors"]]
    assert paths == ["stages[1].type", "stages[2].reads[0]"]
    r = save(api, "intake", {"stages": "not a list", "routes": [{"key": 5}]})
    assert r.status_code == 200 and r.json["errors"]
    assert all(e["path"].startswith(("stages", "routes")) for e in r.json["errors"])
    assert api.post("/api/v1/processes/intake/publish", json={}).status_code == 422


def test_empty_lane_saves_but_does_not_publish(world):
    api = world.api.designer
    r = api.post("/api/v1/processes/intake/publish", json={})
    assert r.status_code == 422
    assert r.json["error"]["details"]["errors"] == [
        {"path": "stages", "message": "a Process needs at least one Stage"}]


def test_stale_draft_revision_is_a_409_naming_who_changed_it(world):
    designer, admin = world.api.designer, world.api.admin
    rev = designer.get("/api/v1/processes/intake/draft").json["revision"]
    r = designer.put("/api/v1/processes/intake/draft", json={"definition": GOOD, "revision": rev})
    assert r.status_code == 200 and r.json["revision"] == rev + 1
    r = admin.put("/api/v1/processes/intake/draft", json={"definition": {"stages": []}, "revision": rev})
    assert r.status_code == 409
    err = r.json["error"]
    assert err["code"] == "stale_draft"
    assert f"changed by {world.people.designer.name}" in err["message"]
    assert err["details"]["revision"] == rev + 1 and err["details"]["updated_by"] == world.people.designer.name
    assert designer.get("/api/v1/processes/intake/draft").json["definition"] == GOOD


@pytest.mark.parametrize("body", [
    {"definition": [], "revision": 1},
    {"definition": {}, "revision": "one"},
    {"definition": {}},
    {"definition": {}, "revision": 1, "extra": True},
])
def test_bad_draft_bodies_are_422(world, body):
    r = world.api.designer.put("/api/v1/processes/intake/draft", json=body)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid" and r.json["error"]["details"]
