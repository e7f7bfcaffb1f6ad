"""Versions are immutable (API and model), diff, rollback, export/import, publish isolation."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Draft, Process, Version
from app.models.processes import ImmutableVersionError
from tests.api.conftest import count, lane, publish, save, stage

V1 = lane("collect", "check", "review")
V2 = {"stages": [stage("collect", reads=["name"]), stage("check"), stage("call")], "routes": []}


@pytest.fixture
def two_versions(world):
    api = world.api.designer
    assert publish(api, "intake", V1, note="first").status_code == 201
    assert publish(api, "intake", V2, note="second").status_code == 201
    return api


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_no_route_changes_a_published_version(two_versions, method):
    r = getattr(two_versions, method)("/api/v1/processes/intake/versions/1", json={"definition": V2})
    assert r.status_code == 405
    assert r.json["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]
    assert two_versions.get("/api/v1/processes/intake/versions/1").json["definition"]["stages"][2]["key"] == "review"


def test_version_rows_refuse_update_and_delete(two_versions):
    version = db.session.scalar(select(Version).where(Version.number == 1))
    version.note = "rewritten"
    with pytest.raises(ImmutableVersionError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(ImmutableVersionError):
        db.session.delete(db.session.scalar(select(Version).where(Version.number == 1)))
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(Version.note).where(Version.number == 1)) == "first"
    assert count(Version) == 2


def test_versions_list_and_read(two_versions):
    listed = two_versions.get("/api/v1/processes/intake/versions").json
    assert [v["number"] for v in listed] == [2, 1] and "definition" not in listed[0]
    assert listed[1]["note"] == "first"
    assert two_versions.get("/api/v1/processes/intake/versions/9").status_code == 404


def test_diff_names_added_removed_and_changed_stages(two_versions):
    r = two_versions.get("/api/v1/processes/intake/diff?from=1&to=2")
    assert r.status_code == 200
    assert r.json["from"] == 1 and r.json["to"] == 2
    assert r.json["stages"] == {"added": ["call"], "removed": ["review"], "changed": {"collect": ["reads"]}}
    assert r.json["routes"] == {"added": [], "removed": [], "changed": {}}
    assert two_versions.get("/api/v1/processes/intake/diff?from=1").status_code == 422
    assert two_versions.get("/api/v1/processes/intake/diff?from=1&to=7").status_code == 404


def test_rollback_publishes_a_copy_as_the_newest_version(two_versions):
    v1 = two_versions.get("/api/v1/processes/intake/versions/1").json
    r = two_versions.post("/api/v1/processes/intake/rollback", json={"version": 1})
    assert r.status_code == 201
    assert r.json["number"] == 3 and r.json["content_hash"] == v1["content_hash"]
    assert r.json["definition"] == v1["definition"] and "Roll back to Version 1" in r.json["note"]
    assert two_versions.get("/api/v1/processes/intake").json["current_version"] == 3
    assert two_versions.get("/api/v1/processes/intake/draft").json["definition"] == v1["definition"]
    assert two_versions.post("/api/v1/processes/intake/rollback", json={"version": 8}).status_code == 404


def test_export_import_round_trips_every_version(two_versions):
    api = two_versions
    save(api, "intake", lane("draft_only"))
    doc = api.get("/api/v1/processes/intake/export").json
    assert [v["number"] for v in doc["versions"]] == [1, 2]
    r = api.post("/api/v1/processes/import?key=intake-copy", json=doc)
    assert r.status_code == 201, r.json
    assert r.json["key"] == "intake-copy" and r.json["current_version"] == 2
    copy_ = api.get("/api/v1/processes/intake-copy/export").json
    for a, b in zip(doc["versions"], copy_["versions"], strict=True):
        assert (a["number"], a["content_hash"], a["definition"]) == (b["number"], b["content_hash"], b["definition"])
    assert copy_["draft"] == doc["draft"] == lane("draft_only")
    assert api.post("/api/v1/processes/import", json=doc).status_code == 409  # same key again


def test_publishing_one_process_touches_no_other(world):
    api = world.api.admin
    publish(api, "referral", lane("triage"))
    save(api, "referral", lane("triage", "call"))
    before = _snapshot("referral")
    assert publish(api, "intake", V1).status_code == 201
    assert publish(api, "intake", V2).status_code == 201
    assert api.post("/api/v1/processes/intake/rollback", json={"version": 1}).status_code == 201
    assert _snapshot("referral") == before


def _snapshot(key):
    db.session.expire_all()
    process = db.session.scalar(select(Process).where(Process.key == key))
    draft = db.session.get(Draft, process.id)
    versions = db.session.execute(select(Version.number, Version.content_hash, Version.definition)
                                  .where(Version.process_id == process.id).order_by(Version.number)).all()
    return process.current_version, draft.revision, draft.definition, draft.updated_at, [tuple(v) for v in versions]


def test_every_version_route_is_read_only(app):
    rules = [r for r in app.url_map.iter_rules() if "/versions" in r.rule]
    assert rules
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
