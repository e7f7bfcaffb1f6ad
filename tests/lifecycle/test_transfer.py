"""`flask procly export` / `flask procly import`: the reference example (its Processes, Routes in a
circle, the A/B Split, and a fortnight of Tasks with their history) moves into a fresh database of
another install (the real CLI, in processes of their own) and exports from there identically. Bad
files are refused with a message saying where, and nothing is written."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from app.demo import route
from app.extensions import db
from app.models import Comment, Process, StageRun, Thread
from app.processes import transfer
from tests.processes import worker_env

ROOT = Path(__file__).resolve().parents[2]
LOCAL_REFS = {"id", "task_id", "visit_id", "stage_run_id", "thread_id", "lock_version"}
USER_REFS = {"created_by_id", "claimed_by_id", "completed_by_id", "decided_by_id", "author_user_id"}


def _flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run([str(flask), "--app", "wsgi", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _comparable(doc: dict) -> dict:
    """An export without what differs by install: ids, publish times, who (users are per install)."""
    doc = copy.deepcopy(doc)
    doc.pop("exported_at")
    for p in doc["processes"]:
        for v in p["versions"]:
            v.pop("published_at")
    for rows in (doc.get("tasks") or {}).values():
        for row in rows:
            for k in LOCAL_REFS | USER_REFS:
                row.pop(k, None)
    return doc


@pytest.fixture
def exported(app, tmp_path):
    from app.demo import load_demo

    load_demo(tasks=12)
    run = db.session.scalars(select(StageRun).order_by(StageRun.id)).first()
    thread = Thread(stage_run_id=run.id)
    db.session.add(thread)
    db.session.flush()
    db.session.add(Comment(thread_id=thread.id, author_label="Sam", body="a note that travels"))
    db.session.commit()
    path = tmp_path / "procly-export.json"
    result = app.test_cli_runner().invoke(args=["procly", "export", str(path), "--tasks"])
    assert result.exit_code == 0, result.output
    assert "exported 6 process(es) and 12 task(s)" in result.output
    return path


@pytest.mark.slow
def test_round_trip_into_a_fresh_database(app, exported, tmp_path):
    doc = json.loads(exported.read_text())
    assert [s["key"] for s in doc["splits"]] == ["intake-ab"]
    assert {k: len(v) > 0 for k, v in doc["tasks"].items()} == {
        "tasks": True, "visits": True, "runs": True, "timers": True, "threads": True, "comments": True, "events": True}
    fresh_url = f"sqlite:///{tmp_path / 'other-install.db'}"
    env = worker_env(fresh_url, app.config["REDIS_URL"], str(tmp_path / "other-instance"))
    _flask(env, "db", "upgrade")

    # an altered file first: refused with where, and nothing of it is written
    bad = copy.deepcopy(doc)
    bad["processes"][-1]["versions"][0]["definition"]["stages"][0]["name"] = "Tampered"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    done = _flask(env, "procly", "import", str(tmp_path / "bad.json"), check=False)
    assert done.returncode == 1
    assert f"Process {bad['processes'][-1]['process']['key']}, Version 1" in done.stderr
    assert "Nothing was imported" in done.stderr
    engine = create_engine(fresh_url)
    with engine.connect() as conn:
        for table in ("processes", "versions", "tables", "teams", "splits", "tasks", "events"):
            assert conn.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table

    done = _flask(env, "procly", "import", str(exported))
    assert "imported 6 process(es)" in done.stdout and "12 task(s)" in done.stdout
    assert "created team(s) Intake, Operations" in done.stdout
    _flask(env, "procly", "export", str(tmp_path / "again.json"), "--tasks")
    again = json.loads((tmp_path / "again.json").read_text())
    assert _comparable(again) == _comparable(doc)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM comments WHERE body = 'a note that travels'")) == 1
    engine.dispose()
    # the second time, the keys exist: refused, nothing doubled
    done = _flask(env, "procly", "import", str(exported), check=False)
    assert done.returncode == 1 and "exist already in this install" in done.stderr


def _import(app, tmp_path, content: str):
    path = tmp_path / "in.json"
    path.write_text(content)
    return app.test_cli_runner().invoke(args=["procly", "import", str(path)])


def test_bad_files_are_refused_naming_what(app, exported, tmp_path):
    before = db.session.scalar(select(func.count(Process.id)))
    doc = json.loads(exported.read_text())
    renamed = copy.deepcopy(doc)               # new keys, so only the broken part can refuse it
    renamed["splits"] = []
    for p in renamed["processes"]:
        p["process"]["key"] = "x-" + p["process"]["key"]
    missing_table_key = copy.deepcopy(renamed)
    del missing_table_key["processes"][1]["table"]["key"]
    bad_ref = copy.deepcopy(renamed)
    first = bad_ref["processes"][0]["versions"][0]["definition"]
    first["routes"] = [route("r", "R", "nowhere", stage_key=first["stages"][0]["key"], condition="true")]
    cases = [("{not json", "is not a JSON file"),
             ("[]", "holds no JSON object"),
             (json.dumps({"format": "procly.other/9", "processes": []}), 'format: must be "procly.bundle/1"'),
             (json.dumps(missing_table_key), "processes[1].table.key: Missing data for required field"),
             (json.dumps(doc), "exist already in this install"),
             (json.dumps(bad_ref), 'no such process "nowhere"')]
    for content, message in cases:
        result = _import(app, tmp_path, content)
        assert result.exit_code == 1, (message, result.output)
        assert message in result.output, (message, result.output)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Process.id))) == before, message


def test_export_of_unknown_process_is_refused(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["procly", "export", str(tmp_path / "x.json"), "--process", "nope"])
    assert result.exit_code == 1 and "No process nope" in result.output
    with pytest.raises(Exception):
        transfer.export_bundle(["nope"])
