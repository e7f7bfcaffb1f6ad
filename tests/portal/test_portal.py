"""Magic links and the participant portal: what a participant sees and may do, and what is refused."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Event, StageRun, Task
from app.models.portal import MagicLink
from app.notifications import threads
from app.participants import links


@pytest.fixture
def invited(new_task, users):
    """An Intake Task, its participant link (secret) and a fresh browser-like client."""
    task = new_task({"name": "Jo Client", "budget": 5000, "notes": "internal-only-note"})
    link, secret = links.invite(task, "jo@example.com", name="Jo", by=users["staff"], actor="user:1")
    db.session.commit()
    return task, link, secret


def _open(app, secret):
    c = app.test_client()
    r = c.get(f"/portal/t/{secret}")
    return c, r


def _token(html):
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _collect(task):
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == "collect"))


def test_link_stored_as_hash_and_opens(app, invited):
    task, link, secret = invited
    assert link.token_hash != secret and len(link.token_hash) == 64 and secret not in repr(link.__dict__)
    c, r = _open(app, secret)
    assert r.status_code == 302
    page = c.get("/portal/").get_data(as_text=True)
    assert "Collect basic information" in page
    assert "Jo Client" in page and 'name="f_email"' in page
    assert "internal-only-note" not in page         # notes: not in the action Stage's reads
    assert "Confirm eligibility" not in page        # external visibility none
    db.session.expire_all()
    assert db.session.get(MagicLink, link.id).used_count == 1
    assert db.session.scalar(select(Event).where(Event.type == "portal.link_used", Event.task_id == task.id))
    # usable again from another device
    c2, r2 = _open(app, secret)
    assert r2.status_code == 302 and c2.get("/portal/").status_code == 200


@pytest.mark.parametrize("how", ["expired", "revoked", "tampered", "unknown"])
def test_refused_links(app, invited, how):
    task, link, secret = invited
    if how == "expired":
        link.expires_at = clock.now() - timedelta(seconds=1)
    elif how == "revoked":
        links.revoke(link, "user:1")
    elif how == "tampered":
        secret = secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB")
    else:
        secret = "x" * 43
    db.session.commit()
    c, r = _open(app, secret)
    assert r.status_code == 404
    assert "cannot be used" in r.get_data(as_text=True)
    assert c.get("/portal/").status_code == 404
    assert db.session.scalar(select(Event).where(Event.type == "portal.link_refused"))


def test_revoking_ends_an_open_session(app, invited):
    task, link, secret = invited
    c, _ = _open(app, secret)
    assert c.get("/portal/").status_code == 200
    links.revoke(db.session.get(MagicLink, link.id), "user:1")
    db.session.commit()
    assert c.get("/portal/").status_code == 404


def test_other_task_runs_refused(app, invited, new_task):
    task, link, secret = invited
    other = new_task({"name": "Someone Else"})
    c, _ = _open(app, secret)
    tok = _token(c.get("/portal/").get_data(as_text=True))
    r = c.post(f"/portal/runs/{_collect(other).id}/submit", data={"form_token": tok, "f_name": "Hacked"})
    assert r.status_code == 404
    r = c.post(f"/portal/runs/{_collect(other).id}/comments", data={"form_token": tok, "body": "hi"})
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, other.id).values["name"] == "Someone Else"


def test_brute_force_is_rate_limited(app, invited):
    c = app.test_client()
    codes = [c.get(f"/portal/t/guess{i:04d}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").status_code for i in range(14)]
    assert codes[0] == 404 and 429 in codes
    # a real link from the same address is refused too while limited
    assert c.get(f"/portal/t/{invited[2]}").status_code == 429


def test_form_token_required(app, invited):
    task, link, secret = invited
    c, _ = _open(app, secret)
    r = c.post(f"/portal/runs/{_collect(task).id}/submit", data={"f_name": "X"})
    assert r.status_code == 400


def test_bad_email_rejected_other_values_kept(app, invited):
    task, link, secret = invited
    c, _ = _open(app, secret)
    tok = _token(c.get("/portal/").get_data(as_text=True))
    run = _collect(task)
    form = {"form_token": tok, "f_name": "Jo Client", "f_email": "not-an-email", "f_phone": "+1 555 0100",
            "f_location": "in_area", "f_budget": "4200", "f_documents_complete": "true"}
    r = c.post(f"/portal/runs/{run.id}/submit", data=form)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Email must be an email address like name@example.com" in html
    assert 'value="4200"' in html and 'value="+1 555 0100"' in html and 'value="not-an-email"' in html
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).status != "completed"
    assert "email" not in db.session.get(Task, task.id).values
    form["f_email"] = "jo@example.com"
    r = c.post(f"/portal/runs/{run.id}/submit", data=form)
    assert r.status_code == 302
    db.session.expire_all()
    vals = db.session.get(Task, task.id).values
    assert vals["email"] == "jo@example.com" and vals["budget"] == 4200 and vals["notes"] == "internal-only-note"
    assert db.session.get(StageRun, run.id).status == "completed"
    assert db.session.scalar(select(Event).where(Event.type == "task.values_changed",
                                                 Event.actor.like("participant:%")))


def test_fields_outside_writes_ignored_or_refused(app, invited):
    task, link, secret = invited
    c, _ = _open(app, secret)
    tok = _token(c.get("/portal/").get_data(as_text=True))
    run = _collect(task)
    form = {"form_token": tok, "f_name": "Jo", "f_email": "jo@example.com", "f_location": "in_area",
            "f_budget": "3000", "f_documents_complete": "true", "f_notes": "overwritten!", "f_eligible": "true"}
    assert c.post(f"/portal/runs/{run.id}/submit", data=form).status_code == 302
    db.session.expire_all()
    vals = db.session.get(Task, task.id).values
    assert vals["notes"] == "internal-only-note" and "eligible" not in vals


def test_comments_internal_never_leak(app, invited, users):
    task, link, secret = invited
    run = _collect(task)
    threads.add_comment(run, "internal musing zz-internal", external=False, actor="user:1", user=users["staff"])
    threads.add_comment(run, "Hello Jo zz-external", external=True, actor="user:1", user=users["staff"])
    db.session.commit()
    c, _ = _open(app, secret)
    page = c.get("/portal/").get_data(as_text=True)
    assert "zz-external" in page and "zz-internal" not in page
    tok = _token(page)
    assert c.post(f"/portal/runs/{run.id}/comments", data={"form_token": tok, "body": "Thanks! from Jo"}).status_code == 302
    db.session.expire_all()
    comments = threads.comments_of(db.session.get(StageRun, run.id))
    assert comments[-1].external and comments[-1].author_label == "Jo" and comments[-1].author_user_id is None


def test_participant_approver(app, demo, users):
    """A participant named as approver (user:<their email>) may approve; others see no buttons."""
    from app.processes import operations, versioning
    from app.tasks import operations as service

    doc = {"stages": [{"key": "sign", "name": "Sign off", "type": "basic", "reads": ["name"], "writes": [],
                       "visibility": {"internal": {"teams": [], "roles": []}, "external": "status"},
                       "approval": {"required": True, "approvers": ["user:jo@example.com"]},
                       "roles": {"responsible": ["team:Intake"], "approver": [], "informed": [], "delegator": []}}],
           "routes": []}
    p = operations.create_process({"key": "signoff", "name": "Sign-off", "description": "", "table": "clients",
                                   "team": "Intake"}, users["admin"])
    versioning.publish(p, users["admin"], "v1", definition=doc)
    task = service.create_task({"process": "signoff", "values": {"name": "Jo"}}, None, "system")
    db.session.commit()
    run = task.stage_runs[0]
    service.act(run.id, "complete", "user:1", user=users["staff"])
    db.session.commit()
    _, secret = links.invite(task, "jo@example.com", by=users["staff"])
    _, other_secret = links.invite(task, "someone@example.com", by=users["staff"])
    db.session.commit()
    other, _ = _open(app, other_secret)
    page = other.get("/portal/").get_data(as_text=True)
    assert "awaiting approval" in page and "Approve" not in page
    r = other.post(f"/portal/runs/{run.id}/decide", data={"form_token": _token(page), "action": "approve"})
    assert r.status_code == 403
    c, _ = _open(app, secret)
    page = c.get("/portal/").get_data(as_text=True)
    assert "Approve" in page
    r = c.post(f"/portal/runs/{run.id}/decide", data={"form_token": _token(page), "action": "approve"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).status == "completed"
    assert db.session.get(Task, task.id).status == "completed"
