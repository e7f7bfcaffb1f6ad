"""Data lifecycle as it runs in production: a Process's retention setting (archive or purge its
finished Tasks N days after they finished), applied by the periodic `purge` job of a real
`flask procly worker` process, files deleted from the storage, one Event per Process and a log line.
Bad settings answer 422 naming the field and change nothing."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import clock
from app.files import storage
from app.models import Comment, Event, PeriodicLease, Process, StageRun, StoredFile, Task, TaskVisit, Thread
from tests.processes import wait_until
from tests.runtime_io.conftest import compute
from tests.runtime_io.test_sla_recovery import _flask_worker


def _file(world, task_id: int, tmp_path) -> StoredFile:
    key = secrets.token_hex(16)
    src = tmp_path / key
    src.write_bytes(b"%PDF-1.4 a document")
    storage.current().put(key, str(src), "application/pdf")
    f = StoredFile(task_id=task_id, field_key="note", name="doc.pdf", content_type="application/pdf", size=19,
                   sha256=hashlib.sha256(b"x").hexdigest(), storage_key=key)
    world.db.session.add(f)
    return f


def _finished(world, process: str, n: int, days_ago: float, tmp_path) -> list[tuple[int, str]]:
    """n Tasks that ran their lane (a real worker) and finished `days_ago` days ago, each with a file
    and a comment: [(task id, storage key)]."""
    ids = [world.start(process, {"name": f"Client {i}"}) for i in range(n)]
    world.drain()
    out = []
    for tid in ids:
        assert world.task(tid).status == "completed"
        f = _file(world, tid, tmp_path)
        run = world.runs(tid)[0]
        thread = Thread(stage_run_id=run.id)
        world.db.session.add(thread)
        world.db.session.flush()
        world.db.session.add(Comment(thread_id=thread.id, author_label="Sam", body="private note"))
        out.append((tid, f.storage_key))
    world.db.session.execute(update(Task).where(Task.id.in_(ids))
                             .values(finished_at=clock.now() - timedelta(days=days_ago)))
    world.db.session.commit()
    return out


def test_bad_retention_settings_are_refused(world):
    world.process("keep", [compute("c", {"a": "1"})])
    api = world.api_as(world.designer)
    for body, field in (({"retention_days": 0, "retention_action": "purge"}, "retention_days"),
                        ({"retention_days": 10, "retention_action": "burn"}, "retention_action"),
                        ({"retention_days": 10}, "retention_action"),
                        ({"retention_action": "archive"}, "retention_days"),
                        ({"retention_days": "ten", "retention_action": "purge"}, "retention_days")):
        r = api.patch("/api/v1/processes/keep", json=body)
        assert r.status_code == 422 and field in str(r.json["error"]["details"]), (body, r.json)
    world.db.session.rollback()
    p = world.db.session.scalar(select(Process).where(Process.key == "keep"))
    assert (p.retention_days, p.retention_action) == (None, None)
    r = api.patch("/api/v1/processes/keep", json={"retention_days": 30, "retention_action": "archive"})
    assert r.status_code == 200 and (r.json["retention_days"], r.json["retention_action"]) == (30, "archive")
    r = api.patch("/api/v1/processes/keep", json={"retention_days": None, "retention_action": None})
    assert r.status_code == 200 and r.json["retention_days"] is None
    assert world.api_as(world.staff).patch("/api/v1/processes/keep", json={
        "retention_days": 1, "retention_action": "purge"}).status_code == 403


@pytest.mark.slow
def test_a_worker_archives_and_purges_finished_tasks(world, tmp_path):
    world.process("archived", [compute("c", {"a": "1"})])
    world.process("purged", [compute("c", {"a": "2"})])
    api = world.api_as(world.designer)
    for key, action in (("archived", "archive"), ("purged", "purge")):
        assert api.patch(f"/api/v1/processes/{key}", json={"retention_days": 30, "retention_action": action}
                         ).status_code == 200
    old_a = _finished(world, "archived", 2, 31, tmp_path)
    old_p = _finished(world, "purged", 2, 31, tmp_path)
    recent = _finished(world, "purged", 1, 29, tmp_path)          # not due yet
    running = world.start("purged", {"name": "Still running"})    # not finished: never touched
    root = storage.current()
    assert all(root.exists(k) for _, k in old_a + old_p + recent)

    env = {"PROCLY_PURGE_INTERVAL": "1", "PROCLY_FILES_DIR": str(root.root)}
    proc = _flask_worker(world.app, env=env)
    try:
        def applied():
            world.db.session.rollback()
            return len(world.db.session.scalars(select(Event).where(Event.type == "process.retention_applied")).all()) >= 2
        wait_until(applied, 120, "retention applied by the worker's purge job", diagnose=lambda: proc.log()[-3000:])
    finally:
        proc.stop()
    s = world.db.session
    s.rollback()
    # archived: the record, its Stage Runs and Events stay; its data is gone
    for tid, key in old_a:
        task = s.get(Task, tid, populate_existing=True)
        assert task.archived_at is not None and task.values == {} and task.status == "completed"
        assert world.count(StageRun, task_id=tid) == 1 and world.events(tid, "task.archived")
        assert world.events(tid, "file.purged") and s.scalar(select(StoredFile.purged_at).where(
            StoredFile.task_id == tid)) is not None
        assert not root.exists(key)
        assert s.scalar(select(Thread.id).join(StageRun).where(StageRun.task_id == tid)) is None
    # purged: nothing of the Task is left, its bytes neither
    for tid, key in old_p:
        assert s.get(Task, tid) is None and world.events(tid) == []
        assert world.count(StageRun, task_id=tid) == 0 and world.count(TaskVisit, task_id=tid) == 0
        assert world.count(StoredFile, task_id=tid) == 0 and not root.exists(key)
    # not due, or still running: untouched
    for tid, key in recent:
        assert s.get(Task, tid).values == {"name": "Client 0", "a": 2} and root.exists(key)
    assert s.get(Task, running) is not None
    summaries = {e.data["process"]: e.data for e in s.scalars(select(Event).where(
        Event.type == "process.retention_applied"))}
    assert summaries["archived"] == {"process": "archived", "action": "archive", "days": 30, "tasks": 2, "files": 2}
    assert summaries["purged"] == {"process": "purged", "action": "purge", "days": 30, "tasks": 2, "files": 2}
    assert s.get(PeriodicLease, "purge", populate_existing=True).runs >= 1
    assert "retention: purged 2 finished Task(s) of process purged (2 file(s))" in proc.log()


def test_the_builder_list_sets_retention(world, client):
    from tests.helpers import csrf_from

    world.process("keep", [compute("c", {"a": "1"})])
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": "designer@x.test", "password": "pw-secret-1", "csrf_token": token})
    page = client.get("/builder").get_data(as_text=True)
    assert "Keep finished Tasks" in page
    token = csrf_from(page)
    r = client.post("/builder/keep/retention", data={"action": "purge", "days": "90", "csrf_token": token})
    assert r.status_code == 302
    world.db.session.rollback()
    p = world.db.session.scalar(select(Process).where(Process.key == "keep"))
    assert (p.retention_days, p.retention_action) == (90, "purge")
    assert "Finished Tasks: purge after 90 days" in client.get("/builder").get_data(as_text=True)
    r = client.post("/builder/keep/retention", data={"action": "purge", "days": "0", "csrf_token": token})
    assert "1 to 36500" in client.get("/builder").get_data(as_text=True)
    client.post("/builder/keep/retention", data={"action": "", "days": "", "csrf_token": token})
    world.db.session.rollback()
    assert world.db.session.scalar(select(Process.retention_days).where(Process.key == "keep")) is None
