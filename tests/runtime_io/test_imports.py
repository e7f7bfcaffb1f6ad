"""CSV import of Tasks: the upload's checks (4xx naming the field), the permissions (attacked by
another Team's user), row-level errors without losing good rows or half-writing bad ones, and a
5,000-row file imported by a real worker process."""
from __future__ import annotations

import os
import signal
import time

import pytest
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


@pytest.mark.slow
def test_an_import_survives_a_killed_worker_and_a_flushed_redis(world, app):
    """A 30,000-row import in a real `procly worker --count 2`: part-way through, the worker inside
    the import is SIGKILLed and Redis is emptied (the job is lost). The periodic import sweep
    enqueues it again; the import goes on after its last committed chunk and ends with every row
    started or refused exactly once."""
    from sqlalchemy import func

    from app.infra.queue import redis_conn
    from app.models import Task, TaskImport, TaskImportError
    from tests.processes import flask_worker, wait_until, worker_env
    from tests.runtime_io.test_sla_recovery import _busy_worker_pid

    total = 30_000
    world.process("leads", [st("review")], start={"roles": ["team:Ops"], "writes": ["name", "budget", "ok"]})
    api = world.api_as(world.staff)
    lines = [f"Client {i},{'x' if i % 100 == 0 else i},yes" for i in range(total)]
    r = upload(api, HEADER + "\n".join(lines) + "\n")
    assert r.status_code == 202, r.json
    env = worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], app.config["PROCLY_INSTANCE"])
    proc = flask_worker(env, "--count", "2")
    s = world.db.session

    def progress() -> tuple[str, int]:
        s.remove()
        imp = s.get(TaskImport, r.json["id"])
        return imp.state, imp.processed_rows

    try:
        wait_until(lambda: progress()[1] >= 1000, 240, "a first chunk committed", every=0.05,
                   diagnose=lambda: proc.log()[-3000:])
        victim = _busy_worker_pid(redis_conn(), time.time() + 30)
        os.kill(victim, signal.SIGKILL)
        redis_conn().flushall()
        killed_at = progress()[1]
        wait_until(lambda: progress()[0] == "done", 300, "the import done after the kill", every=0.5,
                   diagnose=lambda: f"{progress()}\n{proc.log()[-3000:]}")
    finally:
        proc.stop()
    assert killed_at < total, "the worker should be killed part-way"
    got = api.get(f"/api/v1/imports/{r.json['id']}").json
    assert (got["processed"], got["started"], got["failed"]) == (total, total - 300, 300)
    assert world.count(Task) == total - 300
    assert s.scalar(select(func.count(func.distinct(Task.values["name"].as_string())))) == total - 300
    assert s.scalar(select(func.count()).select_from(TaskImportError)) == 300


def test_an_import_rq_gave_up_on_is_marked_failed_and_a_lost_one_goes_on(world):
    """The import sweep: a job RQ failed for good (its retries spent) marks its import failed with a
    plain reason, the rows done kept; a job Redis lost is enqueued again and the import finishes."""
    from datetime import timedelta

    from rq.job import JobStatus

    from app import clock
    from app.infra.queue import SYSTEM_QUEUE, QUEUE, queue, redis_conn
    from app.models import Task, TaskImport
    from app.runtime import periodic
    from app.tasks import imports

    _process(world)
    api = world.api_as(world.staff)
    given_up = upload(api, HEADER + "Ann,10,yes\nBob,20,no\n").json["id"]
    lost = upload(api, HEADER + "Cid,30,yes\n").json["id"]
    for imp in world.db.session.scalars(select(TaskImport)):
        imp.created_at = clock.now() - timedelta(minutes=1)
    world.db.session.commit()
    job = queue(QUEUE).fetch_job(imports.job_id(given_up))
    queue(QUEUE).remove(job)
    job.set_status(JobStatus.FAILED)             # as RQ leaves a job whose retries are spent
    redis_conn().delete(f"rq:job:{imports.job_id(lost)}")
    queue(QUEUE).remove(imports.job_id(lost))    # as a flushed Redis leaves the other
    assert periodic.run("imports") == {"requeued": 1, "failed": 1}
    world.drain()
    failed, done = api.get(f"/api/v1/imports/{given_up}").json, api.get(f"/api/v1/imports/{lost}").json
    assert failed["state"] == "failed" and "could not finish it after repeated errors" in failed["error"], failed
    assert (done["state"], done["started"]) == ("done", 1)
    assert [t.values["name"] for t in world.db.session.scalars(select(Task))] == ["Cid"]
    assert queue(SYSTEM_QUEUE).count == 0
    assert periodic.run("imports") in ({"requeued": 0, "failed": 0}, {"skipped": "another worker ran it recently or is running it"})


def test_two_runs_of_one_import_never_start_a_chunk_twice(world):
    """A second run of an import that read the progress before the first committed its chunk finds
    the chunk claimed and stops: the Tasks are started once."""
    from app.models import Task, TaskImport
    from app.tasks import imports

    _process(world)
    api = world.api_as(world.staff)
    iid = upload(api, HEADER + "Ann,10,yes\nBob,20,no\n").json["id"]
    stale = world.db.session.get(TaskImport, iid)
    seen = stale.processed_rows
    world.db.session.expunge(stale)
    assert imports.run_import(iid).startswith("2 started")
    world.db.session.remove()
    assert not imports._claim(stale, seen, 2)     # the stale run's claim of the same first chunk
    world.db.session.rollback()
    assert world.count(Task) == 2
