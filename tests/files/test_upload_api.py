"""File upload through the API: stored under a random key, checked by content, names sanitised,
counted, completed into the Field as a list of references; downloads only for who may read."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.files import storage
from app.models import Event
from app.models.files import StoredFile
from tests.files.conftest import EXE, PDF, PNG, upload_stage
from tests.runtime_io.conftest import st


def test_upload_stores_under_a_random_key_and_completes_into_the_field(fw, docs_task):
    task_id, run_id = docs_task
    r = fw.upload(fw.api, run_id, PDF, "proof of address.pdf")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["name"] == "proof of address.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and body["field"] == "docs" and body["review_status"] is None
    row = fw.db.session.get(StoredFile, body["id"])
    store = storage.current()
    path = store.path(row.storage_key)
    assert path.read_bytes() == PDF and "proof" not in str(path) and len(row.storage_key) == 32
    assert Path(fw.app.static_folder) not in path.parents and Path(fw.app.config["PROCLY_INSTANCE"]) in path.parents
    # the timeline has it
    assert [e.data["name"] for e in fw.events(task_id, "file.uploaded")] == ["proof of address.pdf"]
    # Done: the Field holds the references, the next Stage starts
    done = fw.api.post(f"/api/v1/runs/{run_id}/complete", json={})
    assert done.status_code == 200, done.get_json()
    assert fw.task(task_id).values["docs"] == [{"id": row.id, "name": "proof of address.pdf",
                                                "content_type": "application/pdf", "size": len(PDF)}]
    assert fw.statuses(task_id) == {"upload": "completed", "after": "pending"}


def test_download_is_an_attachment_with_nosniff(fw, docs_task):
    _, run_id = docs_task
    fid = fw.upload(fw.api, run_id, PNG, "me.png").get_json()["id"]
    r = fw.api.get(f"/api/v1/files/{fid}/content")
    assert r.status_code == 200 and r.data == PNG
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="me.png"')
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in r.headers["Content-Security-Policy"]
    inline = fw.api.get(f"/api/v1/files/{fid}/content?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline;")
    # a text file is never inline, whatever is asked
    fw.process("txt", [upload_stage(config={"kinds": ["text"]})])
    t2 = fw.start("txt", {})
    tid = fw.upload(fw.api, fw.run(t2, "upload").id, b"<script>alert(1)</script>", "x.txt").get_json()["id"]
    page = fw.api.get(f"/api/v1/files/{tid}/content?inline=1")
    assert page.headers["Content-Type"].startswith("text/plain")
    assert page.headers["Content-Disposition"].startswith("attachment;")


def stored_objects() -> int:
    return sum(1 for p in storage.current().root.rglob("*") if p.is_file())


def test_disguised_executable_is_refused_naming_the_field(fw, docs_task):
    task_id, run_id = docs_task
    before = stored_objects()
    r = fw.upload(fw.api, run_id, EXE, "invoice.pdf")
    assert r.status_code == 415
    err = r.get_json()["error"]
    assert "Proof of address" in err["message"] and "Windows program" in err["message"]
    assert err["details"]["field"] == ["Proof of address"]
    assert fw.count(StoredFile) == 0 and not fw.events(task_id, "file.uploaded")
    assert stored_objects() == before and not any(storage.spool_dir().iterdir())


def test_unknown_content_is_refused_and_text_needs_a_text_kind(fw, docs_task):
    _, run_id = docs_task
    assert fw.upload(fw.api, run_id, b"just some words", "notes.pdf").status_code == 415
    assert fw.upload(fw.api, run_id, b"", "empty.pdf").status_code == 422


def test_traversal_and_control_characters_in_names(fw, docs_task):
    _, run_id = docs_task
    names = {"../../etc/passwd.pdf": "passwd.pdf", "..\\..\\windows\\win.ini.pdf": "win.ini.pdf",
             "a\x00b\r\nc\u202e.pdf": "abc.pdf", "..": "file.pdf", "/": "file.pdf", ".hidden.pdf": "hidden.pdf",
             "x" * 500 + ".pdf": "x" * 116 + ".pdf"}
    fw.process("many", [upload_stage(config={"max_count": 20})])
    run = fw.run(fw.start("many", {}), "upload").id
    for raw, expected in names.items():
        r = fw.upload(fw.api, run, PDF, raw)
        assert r.status_code == 201, (raw, r.get_json())
        assert r.get_json()["name"] == expected, raw
        row = fw.db.session.get(StoredFile, r.get_json()["id"])
        path = storage.current().path(row.storage_key)
        assert path.is_file() and path.parent.parent == storage.current().root
        cd = fw.api.get(f"/api/v1/files/{row.id}/content").headers["Content-Disposition"]
        assert "\r" not in cd and "\n" not in cd and "/" not in cd.split("filename*")[0]


def test_a_png_named_pdf_gets_its_true_extension(fw, docs_task):
    _, run_id = docs_task
    r = fw.upload(fw.api, run_id, PNG, "scan.pdf")
    assert r.status_code == 201 and r.get_json()["name"] == "scan.pdf.png"
    assert r.get_json()["content_type"] == "image/png"


def test_count_limits_and_required_count(fw):
    fw.process("two", [upload_stage(config={"max_count": 2, "min_count": 2})])
    task_id = fw.start("two", {})
    run_id = fw.run(task_id, "upload").id
    assert fw.upload(fw.api, run_id, PDF).status_code == 201
    short = fw.api.post(f"/api/v1/runs/{run_id}/complete", json={})
    assert short.status_code == 422 and "at least 2" in short.get_json()["error"]["message"]
    assert "values.docs" in short.get_json()["error"]["details"]
    assert fw.upload(fw.api, run_id, PNG, "b.png").status_code == 201
    third = fw.upload(fw.api, run_id, PDF, "c.pdf")
    assert third.status_code == 409 and "at most 2" in third.get_json()["error"]["message"]
    assert fw.api.post(f"/api/v1/runs/{run_id}/complete", json={}).status_code == 200
    assert len(fw.task(task_id).values["docs"]) == 2


def test_withdrawn_file_is_not_in_the_value_and_its_bytes_are_gone(fw, docs_task):
    task_id, run_id = docs_task
    a = fw.upload(fw.api, run_id, PDF, "a.pdf").get_json()["id"]
    b = fw.upload(fw.api, run_id, PNG, "b.png").get_json()["id"]
    key = fw.db.session.get(StoredFile, a).storage_key
    assert fw.api.delete(f"/api/v1/files/{a}").status_code == 200
    assert not storage.current().exists(key)
    assert fw.api.get(f"/api/v1/files/{a}/content").status_code == 410
    assert fw.api.post(f"/api/v1/runs/{run_id}/complete", json={}).status_code == 200
    assert [r["id"] for r in fw.task(task_id).values["docs"]] == [b]


def test_review_must_accept_files_before_completion(fw):
    fw.process("rev", [upload_stage(config={"needs_review": True})])
    task_id = fw.start("rev", {})
    run_id = fw.run(task_id, "upload").id
    good = fw.upload(fw.api, run_id, PDF, "good.pdf").get_json()
    bad = fw.upload(fw.api, run_id, PNG, "bad.png").get_json()
    assert good["review_status"] == "pending"
    blocked = fw.api.post(f"/api/v1/runs/{run_id}/complete", json={})
    assert blocked.status_code == 409 and "good.pdf" in blocked.get_json()["error"]["message"]
    assert fw.api.post(f"/api/v1/files/{good['id']}/review", json={"status": "accepted"}).status_code == 200
    assert fw.api.post(f"/api/v1/files/{bad['id']}/review", json={"status": "rejected"}).status_code == 200
    assert fw.api.post(f"/api/v1/files/{bad['id']}/review", json={"status": "maybe"}).status_code == 422
    assert fw.api.post(f"/api/v1/runs/{run_id}/complete", json={}).status_code == 200
    assert [r["id"] for r in fw.task(task_id).values["docs"]] == [good["id"]]
    assert {e.data["status"] for e in fw.events(task_id, "file.reviewed")} == {"accepted", "rejected"}


def test_another_teams_user_can_neither_upload_nor_read(fw, docs_task):
    _, run_id = docs_task
    fid = fw.upload(fw.api, run_id, PDF).get_json()["id"]
    other = fw.api_as(fw.other)
    assert fw.upload(other, run_id, PDF).status_code == 404
    for path in (f"/api/v1/files/{fid}", f"/api/v1/files/{fid}/content"):
        r = other.get(path)
        assert r.status_code == 404 and PDF not in r.data
    assert other.delete(f"/api/v1/files/{fid}").status_code == 404
    assert other.post(f"/api/v1/files/{fid}/review", json={"status": "accepted"}).status_code == 404
    assert other.get(f"/api/v1/runs/{run_id}/files").status_code == 404
    assert fw.count(StoredFile) == 1


def test_a_user_who_may_not_read_the_field_gets_403(fw, make_user):
    # the reader sees a later Stage that reads only `name`; the upload Stage is for Compliance
    fw.process("split", [upload_stage(teams=("Compliance",)), st("look", reads=["name"],
                                                                  visibility={"internal": {"teams": ["Ops"]}})])
    task_id = fw.start("split", {"name": "Jo"})
    run_id = fw.run(task_id, "upload").id
    fid = fw.upload(fw.api_as(fw.admin), run_id, PDF).get_json()["id"]
    r = fw.api.get(f"/api/v1/files/{fid}/content")
    assert r.status_code == 403 and PDF not in r.data
    assert fw.upload(fw.api, run_id, PDF).status_code == 404   # the upload Stage is invisible to them


def test_upload_into_a_finished_run_or_another_type_is_refused(fw, docs_task):
    task_id, run_id = docs_task
    fw.upload(fw.api, run_id, PDF)
    fw.api.post(f"/api/v1/runs/{run_id}/complete", json={})
    assert fw.upload(fw.api, run_id, PDF).status_code == 403
    after = fw.run(task_id, "after").id
    r = fw.upload(fw.api, after, PDF)
    assert r.status_code == 409 and "does not take files" in r.get_json()["error"]["message"]


def test_a_tasks_files_are_listed_for_export_and_purged(fw, docs_task):
    from app.files.operations import purge_task_files

    task_id, run_id = docs_task
    fid = fw.upload(fw.api, run_id, PDF).get_json()["id"]
    listed = fw.api.get(f"/api/v1/tasks/{task_id}/files").get_json()
    assert [f["id"] for f in listed] == [fid]
    assert fw.api_as(fw.other).get(f"/api/v1/tasks/{task_id}/files").status_code == 404
    key = fw.db.session.get(StoredFile, fid).storage_key
    assert purge_task_files(task_id, "system") == 1
    fw.db.session.commit()
    assert not storage.current().exists(key)
    assert fw.api.get(f"/api/v1/files/{fid}/content").status_code == 410
    assert fw.db.session.scalar(select(Event).where(Event.type == "file.purged"))


def test_legacy_single_file_values_still_validate(fw):
    from app.tables.values import coerce

    assert coerce("file", {}, {"name": "old.pdf", "url": "https://x.test/old.pdf"})["name"] == "old.pdf"
    assert coerce("file", {}, [{"id": 3, "name": "a.pdf", "size": 1}]) == [{"id": 3, "name": "a.pdf", "size": 1}]
    fw.process("legacy", [st("s", reads=["docs"], writes=["docs"])])
    task_id = fw.start("legacy", {"docs": {"name": "old.pdf", "url": "https://x.test/old.pdf"}})
    assert fw.task(task_id).values["docs"]["name"] == "old.pdf"
    bad = fw.api_as(fw.admin).post("/api/v1/tasks", json={"process": "legacy", "values": {"docs": [{"id": "x"}]}})
    assert bad.status_code == 422 and "values.docs" in bad.get_json()["error"]["details"]


def test_config_is_checked_against_the_field(fw):
    from app import stages

    t = stages.get("file_upload")
    fields = {f["key"]: type("F", (), f)() for f in [{"key": "docs", "type": "file"}, {"key": "name", "type": "text"}]}
    ok = upload_stage()
    ok["config"] = t.validate(ok["config"])
    assert t.check(ok, fields) == []
    wrong = {**ok, "config": {**ok["config"], "field": "name"}, "writes": ["name"]}
    assert t.check(wrong, fields) == [("config.field", '"name" is a text Field, not a file Field')]
    assert t.check({**ok, "writes": []}, fields) == [("config.field", '"docs" is not in writes')]
    assert t.check({**ok, "config": {**ok["config"], "field": "nope"}}, fields)[0][0] == "config.field"
    import marshmallow as ma
    import pytest
    with pytest.raises(ma.ValidationError) as exc:
        t.validate({"field": "docs", "kinds": ["exe"]})
    assert "kinds" in exc.value.messages
    with pytest.raises(ma.ValidationError) as exc:
        t.validate({"field": "docs", "min_count": 3, "max_count": 2})
    assert "min_count" in exc.value.messages


def test_retention_command_purges_files_of_finished_tasks(fw, docs_task):
    from datetime import timedelta

    from app import clock

    task_id, run_id = docs_task
    fid = fw.upload(fw.api, run_id, PDF).get_json()["id"]
    runner = fw.app.test_cli_runner()
    assert runner.invoke(args=["procly", "purge-files"]).exit_code == 2
    out = runner.invoke(args=["procly", "purge-files", "--finished-days", "30"])
    assert out.exit_code == 0 and "purged 0 file(s)" in out.output     # still running: kept
    task = fw.task(task_id)
    task.status, task.finished_at = "completed", clock.now() - timedelta(days=31)
    fw.db.session.commit()
    out = runner.invoke(args=["procly", "purge-files", "--finished-days", "30"])
    assert "purged 1 file(s) of 1 Task(s)" in out.output, out.output
    assert fw.api.get(f"/api/v1/files/{fid}/content").status_code == 410


def test_the_tables_csv_shows_file_names(fw, docs_task):
    from app.worklist.queries import cell

    assert cell([{"id": 1, "name": "a.pdf"}, {"id": 2, "name": "b.png"}]) == "a.pdf; b.png"
    assert cell({"name": "old.pdf", "url": "https://x.test/old.pdf"}).startswith("{")   # legacy: as it was
