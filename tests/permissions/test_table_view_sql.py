"""The Table view filters and sorts in SQL among the newest Tasks: the text a person reads contains
the filter (any case; % and _ are plain characters), number Fields sort as numbers, booleans and file
Fields as shown. A filter or a sort on a Field never looks at a value its user may not read on that
Task: such a value counts as none, whatever it is (the attack tests)."""
import csv
import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Field, Table, Task
from tests.permissions.conftest import _stage

OPEN = {"stages": [_stage("look", "Look", 0, reads=["name", "budget", "notes", "documents_complete", "attachments"],
                          writes=[], responsible=["team:Intake"])], "routes": []}


@pytest.fixture
def world(matrix, users):
    """Process "open" (everyone reads name, budget, notes, documents_complete, attachments) and the
    matrix, where staff read only the name. Hidden values on matrix Tasks match the filters below."""
    from app.processes import operations, versioning
    from app.tasks import operations as service

    table = db.session.scalar(select(Table).where(Table.key == "clients"))
    db.session.add(Field(table_id=table.id, key="attachments", name="Attachments", type="file", position=99,
                         options={}))
    p = operations.create_process({"key": "open", "name": "Open", "description": "", "table": "clients",
                                   "team": "Intake"}, users["admin"])
    versioning.publish(p, users["admin"], "v1", definition=OPEN)
    db.session.commit()
    made = {}
    for name, process, values in (
            ("o5", "open", {"budget": 5, "notes": "Alpha one", "documents_complete": True}),
            ("o40", "open", {"budget": 40, "notes": "beta 50%", "documents_complete": False}),
            ("o300", "open", {"budget": 300.5, "notes": "gamma_x"}),
            ("m1", "matrix", {"budget": 1, "notes": "alpha hidden", "documents_complete": True}),
            ("m2", "matrix", {"budget": 2, "notes": "other hidden"})):
        made[name] = service.create_task({"process": process, "values": {"name": name, **values}}, None, "system").id
    db.session.commit()
    refs = [{"name": "scan.pdf", "key": "k-secret-1"}, {"name": "id.png", "key": "k-secret-2"}]
    task = db.session.get(Task, made["o5"])
    task.values = {**task.values, "attachments": refs}
    hidden = db.session.get(Task, made["m1"])
    hidden.values = {**hidden.values, "attachments": refs}
    db.session.commit()
    made["matrix"] = matrix["matrix"].id
    return made


def _names(client, query: str) -> list[str]:
    html = client.get(f"/queue/tables/clients?{query}").get_data(as_text=True)
    return re.findall(r"<td>(o5|o40|o300|m1|m2|Jo Matrix)</td>", html)


def _csv_names(client, query: str) -> list[str]:
    rows = csv.DictReader(io.StringIO(client.get(f"/queue/tables/clients?{query}&format=csv").get_data(as_text=True)))
    return [r["name"] for r in rows if r["name"] in ("o5", "o40", "o300", "m1", "m2", "Jo Matrix")]


@pytest.fixture
def staff(world, web_login, client):
    web_login("staff@procly.local")
    return client


def test_filters_contain_any_case_and_literal_wildcards(staff):
    assert _names(staff, "f_notes=ALPHA") == ["o5"]
    assert _names(staff, "f_notes=50%25") == ["o40"]               # % is a character, not a wildcard
    assert _names(staff, "f_notes=%25") == ["o40"]
    assert _names(staff, "f_notes=a_x") == ["o300"] and _names(staff, "f_notes=m_") == []
    assert _names(staff, "f_budget=30") == ["o300"]                # numbers as shown: 300.5
    assert _names(staff, "f_documents_complete=tru") == ["o5"]     # booleans as true / false
    assert _names(staff, "f_documents_complete=false") == ["o40"]
    assert _names(staff, "f_attachments=ID.PNG") == ["o5"]         # a file Field by its files' names
    assert _names(staff, "f_attachments=k-secret") == []           # not by the references' other keys
    assert _names(staff, "f_name=o&f_notes=a") == ["o300", "o40", "o5"]   # filters combine; newest first
    assert _csv_names(staff, "f_notes=alpha") == ["o5"]


def test_number_fields_sort_as_numbers_and_no_value_last(staff, world):
    assert _names(staff, "sort=budget") == ["o5", "o40", "o300", "m2", "m1", "Jo Matrix"]
    assert _names(staff, "sort=budget&dir=desc") == ["m2", "m1", "Jo Matrix", "o300", "o40", "o5"]
    assert _names(staff, "sort=notes") == ["o5", "o40", "o300", "m2", "m1", "Jo Matrix"]
    assert _csv_names(staff, "sort=budget&dir=desc") == _names(staff, "sort=budget&dir=desc")


def test_a_filter_on_an_unreadable_field_does_not_narrow_those_rows(staff, world):
    """On matrix Tasks staff read only the name: the hidden notes, budget, booleans and files never
    select a row nor order the rows, whatever their values (m1's hidden values match every filter)."""
    for query in ("f_notes=alpha", "f_notes=hidden", "f_budget=1", "f_documents_complete=true",
                  "f_attachments=scan", "f_notes=top-secret", "f_budget=987654"):
        assert not {"m1", "m2", "Jo Matrix"} & set(_names(staff, query)), query
        assert not {"m1", "m2", "Jo Matrix"} & set(_csv_names(staff, query)), query
    assert "No Tasks." in staff.get("/queue/tables/clients?f_notes=top-secret").get_data(as_text=True)
    # sorting by a hidden Field keeps those rows newest first, as if they had no value
    for query in ("sort=budget", "sort=budget&dir=desc", "sort=notes&dir=desc", "sort=documents_complete"):
        names = _names(staff, query)
        assert [n for n in names if n in ("m1", "m2", "Jo Matrix")] == ["m2", "m1", "Jo Matrix"], query


def test_an_admin_filters_on_every_value(world, web_login, client):
    web_login("admin@procly.local")
    assert _names(client, "f_notes=alpha") == ["m1", "o5"]
    assert _names(client, "f_budget=987654") == ["Jo Matrix", "Jo Matrix"]    # the matrix and hidden Tasks
    assert _names(client, "sort=budget")[:3] == ["m1", "m2", "o5"]


def test_the_newest_limit_and_its_caption(staff, world, monkeypatch):
    from app.worklist import queries

    monkeypatch.setattr(queries, "TABLE_LIMIT", 3)                  # the 3 newest: m2, m1, o300
    html = staff.get("/queue/tables/clients?sort=budget").get_data(as_text=True)
    assert re.findall(r"<td>(o5|o40|o300|m1|m2|Jo Matrix)</td>", html) == ["o300", "m2", "m1"]
    assert "Tasks 1–3 of 3 (among the newest 3)" in html
    assert _names(staff, "f_notes=a") == ["o300"] and _csv_names(staff, "f_notes=a") == ["o300"]
