"""Bad input is a 4xx JSON error naming the field, and never leaves partial rows behind."""
import pytest

from tests.api.conftest import FIELDS, counts, lane, publish


def test_duplicate_field_key_in_third_field_creates_nothing(world):
    before = counts()
    fields = FIELDS[:2] + [{"key": "name", "name": "Again", "type": "text"}]
    r = world.api.designer.post("/api/v1/tables", json={"key": "people", "name": "People", "fields": fields})
    assert r.status_code == 422
    assert r.json["error"]["details"] == {"fields[2].key": ['duplicate "name"']}
    assert counts() == before
    assert world.api.designer.get("/api/v1/tables/people").status_code == 404


def test_bad_choice_options_name_the_field(world):
    before = counts()
    fields = FIELDS + [{"key": "city", "name": "City", "type": "choice", "options": {"choices": []}}]
    r = world.api.designer.post("/api/v1/tables", json={"key": "people", "name": "People", "fields": fields})
    assert r.status_code == 422 and "fields[4].options.choices" in r.json["error"]["details"]
    assert counts() == before


def test_batch_with_an_invalid_second_item_starts_no_task(world):
    publish(world.api.designer, "intake", lane("collect", start={"writes": ["name", "budget"]}))
    before = counts()
    items = [{"process": "intake", "values": {"name": "Ada"}},
             {"process": "intake", "values": {"budget": "lots"}},
             {"process": "intake", "values": {"name": "Bob"}}]
    r = world.api.staff.post("/api/v1/tasks/batch", json={"tasks": items})
    assert 400 <= r.status_code < 500, r.json
    assert any(k.startswith("tasks[1].") for k in r.json["error"]["details"]), r.json
    assert counts() == before
    r = world.api.staff.post("/api/v1/tasks/batch", json={"tasks": [items[0], items[2]]})
    assert r.status_code == 201 and len(r.json) == 2


def test_tampered_import_leaves_nothing(world):
    api = world.api.designer
    publish(api, "intake", lane("a", "b"))
    publish(api, "intake", lane("a", "b", "c"))
    doc = api.get("/api/v1/processes/intake/export").json
    doc["table"]["key"] = "leads2"  # the import would create this Table too
    doc["versions"][1]["definition"]["stages"][2]["name"] = "Sneaky"
    before = counts()
    r = api.post("/api/v1/processes/import?key=copy", json=doc)
    assert r.status_code == 422
    assert r.json["error"]["details"] == {"versions": ["Version 2: content hash mismatch"]}
    assert counts() == before
    assert api.get("/api/v1/processes/copy").status_code == 404
    assert api.get("/api/v1/tables/leads2").status_code == 404


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(format="something/else"), "format"),
    (lambda d: d["process"].update(team="Nope"), "team"),
    (lambda d: d.update(versions=["v1"]), "versions"),
    (lambda d: d["versions"][0].update(definition=[]), "versions"),
    (lambda d: d.update(draft=["not", "a", "dict"]), "draft"),
    (lambda d: d["table"]["fields"][0].pop("type"), "table"),
    (lambda d: d.pop("process"), "process"),
    (lambda d: d.update(colour="red"), "colour"),
])
def test_import_of_malformed_exports_is_422(world, mutate, field):
    api = world.api.admin
    publish(api, "intake", lane("a"))
    doc = api.get("/api/v1/processes/intake/export").json
    doc["table"]["key"] = "leads2"
    mutate(doc)
    before = counts()
    r = api.post("/api/v1/processes/import?key=copy", json=doc)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["details"], r.json
    assert counts() == before


@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/tables"), ("post", "/api/v1/processes"), ("put", "/api/v1/processes/intake/draft"),
    ("post", "/api/v1/processes/intake/publish"), ("post", "/api/v1/processes/import"),
    ("post", "/api/v1/splits"), ("post", "/api/v1/tasks"), ("post", "/api/v1/tasks/batch"),
    ("post", "/api/v1/tokens"), ("patch", "/api/v1/tables/leads"),
])
def test_malformed_json_is_400_or_422_never_500(world, method, path):
    before = counts()
    headers = {**world.api.admin.headers, "Content-Type": "application/json"}
    r = getattr(world.api.admin.client, method)(path, data="{not json", headers=headers)
    assert r.status_code in (400, 422), (path, r.status_code)
    assert set(r.json["error"]) == {"code", "message", "details"}
    assert counts() == before


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/tables", {"key": "t", "name": 5}, "name"),
    ("/api/v1/tables", {"key": "t", "name": "T", "colour": "red"}, "colour"),
    ("/api/v1/tables", {"key": "Bad Key", "name": "T"}, "key"),
    ("/api/v1/tables", {"key": "t", "name": "T", "fields": [{"key": "a", "name": "A", "type": "blob"}]}, "fields"),
    ("/api/v1/processes", {"key": "p", "name": "P", "table": "leads"}, "team"),
    ("/api/v1/processes", {"key": "p", "name": "P", "table": "nope", "team": "Intake"}, "table"),
    ("/api/v1/processes", {"key": "p", "name": ["P"], "table": "leads", "team": "Intake"}, "name"),
    ("/api/v1/processes/intake/rollback", {"version": "latest"}, "version"),
    ("/api/v1/processes/intake/publish", {"note": "x", "force": True}, "force"),
    ("/api/v1/tasks/batch", {"tasks": []}, "tasks"),
    ("/api/v1/tokens", {}, "name"),
    ("/api/v1/splits", {"key": "s", "name": "S", "table": "leads", "team": "Intake", "variants": []}, "variants"),
])
def test_wrong_types_and_unknown_keys_are_422_naming_the_field(world, path, body, field):
    before = counts()
    r = world.api.admin.post(path, json=body)
    assert r.status_code == 422, (r.status_code, r.json)
    assert field in r.json["error"]["details"], r.json
    assert counts() == before


def test_non_object_bodies_are_422(world):
    for body in ([], "text", 3, None):
        r = world.api.admin.post("/api/v1/tables", json=body)
        assert r.status_code in (400, 422), body


def _post_raw(api, path, body: bytes):
    return api.client.post(path, data=body, headers={**api.headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/tables", "/api/v1/webhooks/some-hook"])
def test_a_body_nested_100000_deep_is_a_400_naming_the_body(world, path):
    before = counts()
    r = _post_raw(world.api.staff, path, b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert r.status_code == 400, r.json
    assert r.json["error"]["details"] == {"body": ["JSON nested deeper than 64 levels"]}
    assert counts() == before


def test_nesting_up_to_the_cap_is_parsed_normally(world):
    nested = "[" * 62 + "]" * 62   # 63 levels with the enclosing object: the schema decides (422)
    r = _post_raw(world.api.admin, "/api/v1/tables", f'{{"key": "t", "name": {nested}}}'.encode())
    assert r.status_code == 422 and "name" in r.json["error"]["details"]
    r = _post_raw(world.api.admin, "/api/v1/tables", f'{{"key": "t", "name": "{"[" * 500}"}}'.encode())
    assert r.status_code == 422 and "name" in r.json["error"]["details"]  # brackets inside strings do not count


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(world, constant):
    publish(world.api.designer, "intake", lane("collect"))
    r = _post_raw(world.api.staff, "/api/v1/tasks", b'{"process": "intake", "values": {"budget": ' + constant + b"}}")
    assert r.status_code == 400 and "body" in r.json["error"]["details"]


def test_a_json_field_value_over_the_cap_is_a_422_naming_the_field(world):
    assert world.api.admin.post("/api/v1/tables/leads/fields",
                                json={"key": "data", "name": "Data", "type": "json"}).status_code == 201
    publish(world.api.designer, "intake", lane("collect", start={"writes": ["data"]}))
    before = counts()
    r = world.api.staff.post("/api/v1/tasks", json={"process": "intake", "values": {"data": {"blob": "x" * 70_000}}})
    assert r.status_code == 422, r.json
    assert list(r.json["error"]["details"]) == ["values.data"] and "65,536" in r.json["error"]["details"]["values.data"][0]
    assert counts() == before
    r = world.api.admin.post("/api/v1/tasks", json={"process": "intake", "values": {"data": {"blob": "x" * 60_000}}})
    assert r.status_code == 201 and len(r.json["values"]["data"]["blob"]) == 60_000


def test_nul_characters_are_refused_at_the_door(world):
    publish(world.api.designer, "intake", lane("collect", start={"writes": ["name"]}))
    before = counts()
    r = world.api.staff.post("/api/v1/tasks", json={"process": "intake", "values": {"name": "Ada\x00"}})
    assert r.status_code == 400 and r.json["error"]["details"] == {"body": ["NUL characters are not allowed"]}
    r = world.api.staff.post("/api/v1/tasks", json={"process": "intake", "values": {"name": "C:\\u0000"}})
    assert r.status_code == 201   # a backslash followed by "u0000" is just text
    assert world.api.staff.get("/api/v1/processes/in%00take").status_code == 404
    r = world.api.staff.get("/api/v1/tasks?stage=a%00b")
    assert r.status_code == 400 and "query" in r.json["error"]["details"]
    assert counts()["Task"] == before["Task"] + 1


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/webhooks", {"key": "leads", "name": "n" * 121, "process": "intake"}, "name"),
    ("/api/v1/webhooks", {"key": "k" * 65, "process": "intake"}, "key"),
    ("/api/v1/moves", {"task_ids": [1], "target": {"process": 5}, "reason": "r"}, "target"),
    ("/api/v1/moves", {"task_ids": [1], "target": "intake", "reason": "r"}, "target"),
    ("/api/v1/tasks", {"process": "intake", "key": "k" * 129}, "key"),
])
def test_values_the_database_would_refuse_are_422_naming_the_field(world, path, body, field):
    publish(world.api.designer, "intake", lane("collect"))
    before = counts()
    r = world.api.admin.post(path, json=body)
    assert r.status_code == 422, (r.status_code, r.json)
    assert field in r.json["error"]["details"], r.json
    assert counts() == before


@pytest.mark.parametrize("query, field", [("page=9223372036854775808", "page"), ("page=2147483648", "page"),
                                          ("version=99999999999999999999", "version"), ("per_page=10000", "per_page")])
def test_numbers_out_of_range_in_queries_are_422_naming_the_parameter(world, query, field):
    r = world.api.staff.get(f"/api/v1/tasks?{query}")
    assert r.status_code == 422 and field in r.json["error"]["details"]["query"], r.json


def test_the_last_possible_page_is_empty_not_an_error(world):
    r = world.api.staff.get("/api/v1/tasks?page=2147483647&per_page=500")
    assert r.status_code == 200 and r.json["items"] == []
