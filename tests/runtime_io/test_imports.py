"""CSV import of Tasks: the upload's checks (4xx naming the field), the permissions (attacked by
another Team's user), row-level errors without losing good rows or half-writing bad ones, and a
5,000-row file imported by a real worker process."""
from __future__ import annotations

from sqlalchemy import select

from tests.runtime_io.conftest import compute, st

HEADER = "Name,Budget,ok\n"


def _process(world):
    world.process("leads", [compute("score", {"a": "budget * 2"}, reads=["budget"]), st("review")],
                  start={"roles": ["team:Ops"], "writes": ["name", "budget", "ok"]})


def upload(api, body: str | bytes, *, process="leads", name="leads.csv"):
    data = body.encode() if isinstance(body, str) else body
    return api.client.post(f"/api/v1/imports?process={process}&name={name}", data=data,
                           headers={**api.headers, "Content-Type": "text/csv"})


def _drain(world):
    world.drain()


def test_import_starts_good_rows_and_reports_bad_ones(world):
    from app.models import Event, StageRun, Task, TaskImport
    from app.tasks import imports

    _process(world)
    api = world.api_as(world.staff)
    rows = ["Ann,10,yes", "Bob,lots,no", "Cid,30,maybe", ",,", "Dee,40", "Eve,50,true"]
    r = upload(api, HEADER + "\n".join(rows) + "\n")
    assert r.status_code == 202, r.json
    assert r.json["state"] == "queued" and r.json["total"] == 5   # the blank row is not counted
    imports.CHUNK = 2      # several chunks, each its own transaction
    try:
        _drain(world)
    finally:
        imports.CHUNK = 1000
    got = api.get(f"/api/v1/imports/{r.json['id']}").json
    assert (got["state"], got["processed"], got["started"], got["failed"]) == ("done", 5, 2, 3)
    assert [(e["row"], e["field"], e["message"]) for e in got["errors"]] == [
        (3, "Budget", "must be a number"), (4, "OK", "must be yes or no"), (6, "", "has 2 cells; the header has 3")]
    names = sorted(t.values["name"] for t in world.db.session.scalars(select(Task)))
    assert names == ["Ann", "Eve"]                       # nothing of a bad row was written
    assert world.count(Event, type="task.created") == 2 and world.count(StageRun) == 4   # score done, review
    assert all(t.status == "running" and t.values["a"] == t.values["budget"] * 2
               for t in world.db.session.scalars(select(Task)))
    assert world.db.session.scalar(select(TaskImport.content)) is None   # the file is not kept
    report = api.get(f"/api/v1/imports/{r.json['id']}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert report.get_data(as_text=True).splitlines()[1] == "3,Budget,must be a number"
    page = api.get(f"/api/v1/imports/{r.json['id']}?per_page=2&page=2").json
    assert page["errors_total"] == 3 and [e["row"] for e in page["errors"]] == [6]


def test_upload_is_checked_and_names_the_field(world):
    from app.models import TaskImport

    _process(world)
    api = world.api_as(world.staff)
    cases = [
        (upload(api, HEADER + "a,1,yes\n", name="leads.txt"), 415, "file"),
        (upload(api, "Name,Colour\nx,red\n"), 422, "file"),                     # unknown column
        (upload(api, "Name,Note\nx,y\n"), 403, "values.note"),                  # not a start write
        (upload(api, b"\xff\xfeN\x00a\x00", name="leads.csv"), 422, "file"),    # not UTF-8
        (upload(api, ""), 422, "file"),
        (upload(api, HEADER), 422, "file"),
        (upload(api, "Name,name\nx,y\n"), 422, "file"),
        (upload(api, HEADER + "a,1,yes\n", process="nope"), 404, None),
        (api.client.post("/api/v1/imports?name=x.csv", data=b"Name\nx\n", headers=api.headers), 422, "query"),   # names `process`
    ]
    for r, status, field in cases:
        assert r.status_code == status, r.get_data(as_text=True)
        if field:
            assert field in r.json["error"]["details"], r.json
    assert "Colour" in cases[1][0].json["error"]["message"]
    assert world.count(TaskImport) == 0


def test_another_teams_user_can_neither_import_nor_read_an_import(world, make_user):
    from app.models import Task, TaskImport

    _process(world)
    outsider = make_user("manager", teams=("Compliance",))
    api, other = world.api_as(world.staff), world.api_as(outsider)
    r = upload(other, HEADER + "a,1,yes\n")
    assert r.status_code == 403 and world.count(TaskImport) == 0
    mine = upload(api, HEADER + "a,1,yes\n").json["id"]
    for path in (f"/api/v1/imports/{mine}", f"/api/v1/imports/{mine}/errors.csv"):
        assert other.get(path).status_code == 404
        assert api.get(path).status_code == 200
    assert world.api_as(world.admin).get(f"/api/v1/imports/{mine}").status_code == 200
    # the rule is asked again when the job runs: a user who lost the right starts nothing
    from app.models import Team

    world.staff.teams = [world.db.session.scalar(select(Team).where(Team.name == "Compliance"))]
    world.db.session.commit()
    _drain(world)
    assert world.count(Task) == 0
    got = api.get(f"/api/v1/imports/{mine}").json   # their own import stays readable to them
    assert (got["state"], got["started"], got["failed"]) == ("done", 0, 1)
    assert "may not start" in got["errors"][0]["message"]


def test_a_worker_process_imports_5000_rows_with_bad_ones(world, app):
    """A 5,000-row file (every 50th row bad) imported by a real `procly worker` process: 4,900 Tasks
    started (each waiting in its person Stage), 100 rows refused with their row numbers."""
    from app.models import Event, StageRun, Task
    from tests.processes import flask_worker, wait_until, worker_env

    world.process("leads", [st("review"), st("close")], start={"roles": ["team:Ops"], "writes": ["name", "budget", "ok"]})
    api = world.api_as(world.staff)
    lines = [f"Client {i},{'x' if i % 50 == 0 else i},yes" for i in range(5000)]
    r = upload(api, HEADER + "\n".join(lines) + "\n")
    assert r.status_code == 202, r.json
    env = worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], app.config["PROCLY_INSTANCE"])
    proc = flask_worker(env)
    s = world.db.session

    def finished():
        s.remove()
        return api.get(f"/api/v1/imports/{r.json['id']}").json["state"] == "done"

    try:
        wait_until(finished, 240, "the import done", every=0.5,
                   diagnose=lambda: proc.log()[-3000:])
    finally:
        proc.stop()
    got = api.get(f"/api/v1/imports/{r.json['id']}?per_page=500").json
    assert (got["processed"], got["started"], got["failed"], got["errors_total"]) == (5000, 4900, 100, 100)
    assert [e["row"] for e in got["errors"]][:3] == [2, 52, 102]       # row i is line i + 2
    assert {e["field"] for e in got["errors"]} == {"Budget"}
    assert world.count(Task) == 4900 and world.count(StageRun, stage_key="review", status="pending") == 4900
    assert world.count(Event, type="task.created") == 4900
