"""Tables and Fields through the API: create, add, change, delete, all audited, keys unique."""
from app.models import Event, Field
from tests.api.conftest import count


def test_create_and_read_a_table(world):
    r = world.api.designer.post("/api/v1/tables", json={"key": "people", "name": "People", "fields": [
        {"key": "a", "name": "A", "type": "text"}, {"key": "b", "name": "B", "type": "choice",
                                                      "options": {"choices": ["x", "y"]}}]})
    assert r.status_code == 201
    assert [(f["key"], f["position"]) for f in r.json["fields"]] == [("a", 0), ("b", 1)]
    listed = world.api.staff.get("/api/v1/tables").json
    assert [t["key"] for t in listed] == ["leads", "people"]
    assert world.api.designer.post("/api/v1/tables", json={"key": "people", "name": "Again"}).status_code == 409


def test_added_fields_go_last(world):
    api = world.api.designer
    api.post("/api/v1/tables", json={"key": "one", "name": "One", "fields": [{"key": "a", "name": "A", "type": "text"}]})
    r = api.post("/api/v1/tables/one/fields", json={"key": "b", "name": "B", "type": "number"})
    assert r.status_code == 201 and r.json["position"] == 1
    r = api.post("/api/v1/tables/one/fields", json={"key": "c", "name": "C", "type": "date"})
    assert r.json["position"] == 2
    assert [f["key"] for f in api.get("/api/v1/tables/one").json["fields"]] == ["a", "b", "c"]


def test_add_change_and_delete_fields(world):
    api = world.api.designer
    before = count(Field)
    assert api.post("/api/v1/tables/leads/fields", json={"key": "name", "name": "N", "type": "text"}).status_code == 409
    r = api.post("/api/v1/tables/leads/fields", json={"key": "city", "name": "City", "type": "choice",
                                                      "options": {"choices": ["Berlin"]}})
    assert r.status_code == 201 and count(Field) == before + 1
    r = api.patch("/api/v1/tables/leads/fields/city", json={"options": {"choices": []}})
    assert r.status_code == 422 and "options.choices" in r.json["error"]["details"]
    r = api.patch("/api/v1/tables/leads/fields/city", json={"name": "Town"})
    assert r.status_code == 200 and r.json["name"] == "Town"
    assert api.delete("/api/v1/tables/leads/fields/city").status_code == 204
    assert api.delete("/api/v1/tables/leads/fields/city").status_code == 404
    assert count(Field) == before
    types = [e.type for e in Event.query.order_by(Event.id)]
    assert types[-3:] == ["field.added", "field.changed", "field.deleted"]


def test_staff_cannot_change_tables(world):
    staff = world.api.staff
    assert staff.post("/api/v1/tables/leads/fields", json={"key": "x", "name": "X", "type": "text"}).status_code == 403
    assert staff.patch("/api/v1/tables/leads", json={"name": "Mine"}).status_code == 403
    assert staff.delete("/api/v1/tables/leads/fields/name").status_code == 403


def test_timestamps_in_responses_carry_their_utc_offset(world):
    from datetime import datetime, timedelta

    from tests.api.conftest import lane, publish

    version = publish(world.api.designer, "intake", lane("collect")).json
    task = world.api.staff.post("/api/v1/tasks", json={"process": "intake"}).json
    stamps = [version["published_at"], task["created_at"], task["updated_at"], task["stage_runs"][0]["ready_at"],
              world.api.staff.get("/api/v1/processes/intake").json["created_at"],
              world.api.staff.get("/api/v1/tokens").json[0]["created_at"]]
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0), stamp
    export = world.api.designer.get("/api/v1/processes/intake/export").json
    assert export["versions"][0]["published_at"].endswith("+00:00")


def test_a_numbers_unit_and_a_texts_several_lines_are_checked(world):
    api = world.api.designer
    api.post("/api/v1/tables", json={"key": "two", "name": "Two", "fields": [
        {"key": "amount", "name": "Amount", "type": "number"}, {"key": "note", "name": "Note", "type": "text"}]})
    r = api.patch("/api/v1/tables/two/fields/amount", json={"options": {"unit": "EUR"}})
    assert r.status_code == 200 and r.json["options"] == {"unit": "EUR"}
    r = api.patch("/api/v1/tables/two/fields/note", json={"options": {"multiline": True}})
    assert r.status_code == 200 and r.json["options"] == {"multiline": True}
    for key, options, path in (("note", {"unit": "kg"}, "options.unit"), ("amount", {"unit": "x" * 17}, "options.unit"),
                               ("amount", {"unit": 5}, "options.unit"), ("amount", {"multiline": True}, "options.multiline"),
                               ("note", {"multiline": "yes"}, "options.multiline")):
        r = api.patch(f"/api/v1/tables/two/fields/{key}", json={"options": options})
        assert r.status_code == 422 and path in r.json["error"]["details"], (options, r.json)
    r = api.post("/api/v1/tables/two/fields", json={"key": "c", "name": "C", "type": "date", "options": {"unit": "d"}})
    assert r.status_code == 422 and "options.unit" in r.json["error"]["details"]
    fields = {f["key"]: f for f in api.get("/api/v1/tables/two").json["fields"]}
    assert fields["amount"]["options"] == {"unit": "EUR"} and "c" not in fields
