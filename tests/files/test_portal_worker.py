"""A participant uploads on the portal (magic link), finishes, and a real worker runs the next
automated Stage; with staff review the run comes back to staff. Participants of other Tasks, and
staff pages, never reach the files."""
from __future__ import annotations

import re
from urllib.parse import quote

from app.models import Event
from app.models.files import StoredFile
from app.participants import links
from tests.files.conftest import EXE, PDF, PNG, upload_stage
from tests.runtime_io.conftest import compute, st


def _open(app, secret):
    c = app.test_client()
    assert c.get(f"/portal/t/{secret}").status_code == 302
    page = c.get("/portal/").get_data(as_text=True)
    return c, re.search(r'name="form_token" value="([^"]+)"', page).group(1), page


def _invite(fw, task_id, email="jo@example.com"):
    link, secret = links.invite(fw.task(task_id), email, name="Jo", by=fw.staff, actor="user:1")
    fw.db.session.commit()
    return secret


def _portal_upload(c, token, run_id, body, name):
    return c.post(f"/portal/runs/{run_id}/files", data=body,
                  headers={"X-Form-Token": token, "X-Filename": quote(name), "Accept": "application/json",
                           "Content-Type": "application/octet-stream"})


def _lane(fw, key="docs", **config):
    fw.process(key, [upload_stage(config=config),
                     st("check", "compute", reads=["name"], writes=["note"],
                        config={"assignments": {"note": '"documents received"'}},
                        visibility={"internal": {"teams": ["Ops"]}}, column=1),
                     st("after", reads=["docs", "note"], visibility={"internal": {"teams": ["Ops"]}}, column=2)])


def test_participant_uploads_finishes_and_a_worker_runs_the_next_stage(fw):
    _lane(fw)
    task_id = fw.start("docs", {"name": "Jo"})
    secret = _invite(fw, task_id)
    run = fw.run(task_id, "upload")
    c, token, page = _open(fw.app, secret)
    assert 'data-upload' in page and 'type="file"' in page and "js/files/upload.js" in page
    # the run waits on the participant
    assert fw.run(task_id, "upload").status == "waiting_on_participant"
    # no form token: refused
    assert c.post(f"/portal/runs/{run.id}/files", data=PDF, headers={"X-Filename": "a.pdf"}).status_code == 400
    bad = _portal_upload(c, token, run.id, EXE, "passport.pdf")
    assert bad.status_code == 415 and "Proof of address" in bad.get_json()["error"]["message"]
    ok = _portal_upload(c, token, run.id, PDF, "passport.pdf")
    assert ok.status_code == 201, ok.get_json()
    fid = ok.get_json()["id"]
    row = fw.db.session.get(StoredFile, fid)
    assert row.participant_id is not None and row.uploaded_by_id is None
    # the participant reads back their own upload (and it lists on their page)
    got = c.get(f"/portal/files/{fid}")
    assert got.status_code == 200 and got.data == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "passport.pdf" in c.get("/portal/").get_data(as_text=True)
    # finish: the run completes, a real worker performs the compute Stage
    done = c.post(f"/portal/runs/{run.id}/files/done", data={"form_token": token})
    assert done.status_code == 302
    assert fw.statuses(task_id)["upload"] == "completed"
    fw.drain()
    task = fw.task(task_id)
    assert task.values["note"] == "documents received" and [r["id"] for r in task.values["docs"]] == [fid]
    assert fw.statuses(task_id) == {"upload": "completed", "check": "completed", "after": "pending"}
    events = [e.type for e in fw.events(task_id)]
    assert "file.uploaded" in events and events.index("file.uploaded") < events.index("task.values_changed")


def test_participant_of_another_task_gets_404(fw):
    _lane(fw)
    mine, theirs = fw.start("docs", {"name": "Jo"}), fw.start("docs", {"name": "Sam"})
    c_jo, token_jo, _ = _open(fw.app, _invite(fw, mine))
    c_sam, token_sam, _ = _open(fw.app, _invite(fw, theirs, "sam@example.com"))
    fid = _portal_upload(c_jo, token_jo, fw.run(mine, "upload").id, PDF, "jo.pdf").get_json()["id"]
    assert c_sam.get(f"/portal/files/{fid}").status_code == 404
    assert c_sam.delete(f"/portal/files/{fid}", headers={"X-Form-Token": token_sam}).status_code == 404
    assert _portal_upload(c_sam, token_sam, fw.run(mine, "upload").id, PDF, "x.pdf").status_code == 404
    assert fw.app.test_client().get(f"/portal/files/{fid}").status_code == 404     # no session at all
    # the staff download route does not take a portal session
    assert c_jo.get(f"/api/v1/files/{fid}/content").status_code == 401


def test_with_review_the_participant_sends_and_staff_accept_and_complete(fw):
    _lane(fw, needs_review=True)
    task_id = fw.start("docs", {"name": "Jo"})
    c, token, _ = _open(fw.app, _invite(fw, task_id))
    run_id = fw.run(task_id, "upload").id
    empty = c.post(f"/portal/runs/{run_id}/files/done", data={"form_token": token})
    assert empty.status_code == 422 and "at least 1" in empty.get_data(as_text=True)
    fid = _portal_upload(c, token, run_id, PNG, "bill.png").get_json()["id"]
    assert c.post(f"/portal/runs/{run_id}/files/done", data={"form_token": token}).status_code == 302
    assert fw.run(task_id, "upload").status not in ("completed", "waiting_on_participant")
    assert fw.events(task_id, "file.submitted")
    # staff: not before the review
    assert fw.api.post(f"/api/v1/runs/{run_id}/complete", json={}).status_code == 409
    assert fw.api.post(f"/api/v1/files/{fid}/review", json={"status": "accepted"}).status_code == 200
    assert fw.api.post(f"/api/v1/runs/{run_id}/complete", json={}).status_code == 200
    fw.drain()
    assert fw.statuses(task_id)["check"] == "completed"
    assert fw.task(task_id).values["docs"][0]["id"] == fid
    # the participant may not review
    assert c.post(f"/api/v1/files/{fid}/review", json={"status": "rejected"}).status_code in (400, 401)
    assert fw.db.session.query(Event).filter_by(type="file.reviewed").count() == 1
