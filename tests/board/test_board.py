"""The board of a Process (/queue/boards/<key>): columns in lane order, cards the caller may see,
filters, the "more" page, and drops decided by the server (app.tasks.moves.drop_on_stage): a move
needs task.move and a reason, a gated card advances, refusals answer plainly and change nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app import clock
from app.extensions import db
from app.models import Event, StageRun, Task
from tests.helpers import csrf_from, db_snapshot, signed_in


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="b-card[^"]*" data-task="(\d+)"', html)


def _column(html: str, name: str) -> str:
    """The HTML of the column headed `name`."""
    start = html.index(f">{name} <span class=\"badge b-count\"")
    end = html.find('<section class="b-col"', start)
    return html[start: end if end > 0 else len(html)]


def _move(client, key: str, task_id, stage: str, reason: str = "", json: bool = True):
    token = csrf_from(client.get(f"/queue/boards/{key}").get_data(as_text=True))
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/queue/boards/{key}/move", data={"task_id": str(task_id), "stage": stage, "reason": reason,
                                                          "csrf_token": token}, headers=headers)


def test_columns_in_lane_order_with_cards_and_names(demo, new_task):
    a = new_task({"name": "Robin Client", "email": "robin@client.test", "location": "in_area"})
    b = new_task({"name": "Kim Client", "email": "kim@client.test"})
    client = signed_in(demo, "staff@procly.local")
    r = client.get("/queue/boards/intake")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    heads = re.findall(r'<h2 id="b-col-\d+">([^<]+) <span', html)
    assert heads == ["Collect basic information", "Confirm eligibility", "Schedule first appointment"]
    collect = _column(html, "Collect basic information")
    assert set(_cards(collect)) == {str(a.id), str(b.id)}
    assert "Robin Client" in collect and "robin@client.test" in collect and "Unassigned" in collect
    assert "sla-later" in collect and "Due " in collect       # the 48 h SLA of Collect
    assert "collect" not in re.sub(r'data-stage="collect"|stage=collect|/stages/collect', "", collect)
    assert 'data-can="move"' in collect   # staff of Intake are Responsible for Collect
    assert client.get("/queue/boards").status_code == 200
    assert 'href="/queue/boards/intake"' in client.get("/queue/boards").get_data(as_text=True)


def test_filters_and_search_only_over_readable_fields(demo, new_task):
    a = new_task({"name": "Robin Client", "email": "robin@client.test"})
    new_task({"name": "Kim Client", "email": "kim@client.test"})
    client = signed_in(demo, "staff@procly.local")
    assert _cards(client.get("/queue/boards/intake?q=robin").get_data(as_text=True)) == [str(a.id)]
    assert _cards(client.get(f"/queue/boards/intake?q=%23{a.id}").get_data(as_text=True)) == [str(a.id)]
    assert _cards(client.get("/queue/boards/intake?assignee=me").get_data(as_text=True)) == []
    assert len(_cards(client.get("/queue/boards/intake?assignee=none").get_data(as_text=True))) == 2
    assert _cards(client.get("/queue/boards/intake?due=overdue").get_data(as_text=True)) == []
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == a.id))
    run.due_at = clock.now() - timedelta(hours=1)
    db.session.commit()
    html = client.get("/queue/boards/intake?due=overdue").get_data(as_text=True)
    assert _cards(html) == [str(a.id)] and "Overdue" in html
    # unknown filter values are ignored, never an error
    assert client.get("/queue/boards/intake?due=%00&assignee=x&status=zzz&q=" + "x" * 500).status_code == 200


def test_a_hidden_field_is_not_searchable(demo, new_task, make_user):
    """`notes` is read only by Confirm (here visible to Intake only): someone who sees only
    Collect and Schedule cannot find a Task by it, nor read it on the card."""
    from app.models import Process, Version
    from app.runtime.context import definition

    new_task({"name": "Robin Client", "email": "robin@client.test", "notes": "secret-word"})
    version = db.session.scalar(select(Version).join(Process).where(Process.key == "intake"))
    doc = dict(version.definition)   # Confirm seen by Intake only (the demo shows it to all staff); the Core update passes the immutability guard
    doc["stages"] = [{**s, "visibility": {"internal": {"teams": ["Intake"], "roles": []}, "external": "none"}}
                     if s["key"] == "confirm" else s for s in doc["stages"]]
    db.session.execute(Version.__table__.update().where(Version.__table__.c.id == version.id).values(definition=doc))
    make_user(role="staff", teams=(), email="out@x.test")
    db.session.commit()
    definition.cache_clear()
    admin = signed_in(demo, "admin@procly.local")
    out = signed_in(demo, "out@x.test", "pw-secret-1")
    assert len(_cards(admin.get("/queue/boards/intake?q=secret-word").get_data(as_text=True))) == 1
    assert len(_cards(out.get("/queue/boards/intake?q=robin").get_data(as_text=True))) == 1
    html = out.get("/queue/boards/intake?q=secret-word").get_data(as_text=True)
    assert _cards(html) == [] and "secret-word" not in html.replace('value="secret-word"', "").replace("q=secret-word", "")


def test_manual_move_needs_a_reason_and_records_it(demo, new_task):
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    manager = signed_in(demo, "manager@procly.local")
    before = db_snapshot()
    r = _move(manager, "intake", task.id, "schedule")
    assert r.status_code == 422 and r.get_json()["error"]["details"] == {"reason": ["required"]}
    assert db_snapshot() == before
    r = _move(manager, "intake", task.id, "nowhere", "x")
    assert r.status_code == 400 and "stage" in r.get_json()["error"]["details"]
    r = _move(manager, "intake", task.id, "schedule", "client booked by phone")
    assert r.status_code == 200, r.data
    assert r.get_json() == {"done": "moved", "message": "Moved to Schedule first appointment."}
    db.session.expire_all()
    open_runs = db.session.scalars(select(StageRun.stage_key).where(StageRun.task_id == task.id,
                                                                    StageRun.status == "pending")).all()
    assert open_runs == ["schedule"]
    ev = db.session.scalar(select(Event).where(Event.type == "task.moved", Event.task_id == task.id))
    assert ev.data["reason"] == "manual: client booked by phone" and ev.data["to_stage"] == "schedule"
    r = _move(manager, "intake", task.id, "schedule", "again")
    assert r.status_code == 409 and r.get_json()["error"]["message"] == "The Task is already in that Stage."


def test_refused_moves_change_nothing(demo, new_task, make_user):
    """A Compliance staff member (not Responsible on Collect, not a manager) may not move it; an unknown
    Task is 404; someone who sees none of the Process's Stages may not open its board."""
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    make_user(role="staff", teams=(), email="out@x.test")
    db.session.commit()
    approver = signed_in(demo, "approver@procly.local")
    staff = signed_in(demo, "staff@procly.local")
    out = signed_in(demo, "out@x.test", "pw-secret-1")
    before = db_snapshot()
    r = _move(approver, "intake", task.id, "schedule", "why not")
    assert r.status_code == 403
    assert r.get_json()["error"]["message"] == ("You may not move task %d: that is for its Responsible, the owning "
                                                "Team's managers and designers." % task.id)
    assert _move(staff, "intake", 999999, "schedule", "x").status_code == 404
    r = _move(staff, "intake", "abc", "schedule", "x")
    assert r.status_code == 400 and r.get_json()["error"]["details"] == {"task_id": ["required"]}
    # Collect is visible to all staff, so anyone signed in sees the board; moving is another matter
    assert out.get("/queue/boards/intake").status_code == 200
    assert 'data-can="move"' not in out.get("/queue/boards/intake").get_data(as_text=True)
    assert out.get("/queue/boards/nope").status_code == 404
    assert _move(out, "intake", task.id, "schedule", "x").status_code == 403
    assert out.post("/queue/boards/intake/move", data={"task_id": task.id, "stage": "schedule"}).status_code == 400
    assert db_snapshot() == before


def test_a_plain_form_post_redirects_with_the_outcome(demo, new_task):
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    manager = signed_in(demo, "manager@procly.local")
    r = _move(manager, "intake", task.id, "schedule", "", json=False)
    assert r.status_code == 302
    assert "Not moved: A reason is required." in manager.get(r.headers["Location"]).get_data(as_text=True)
    r = _move(manager, "intake", task.id, "schedule", "phone", json=False)
    assert r.status_code == 302
    assert "Moved to Schedule first appointment." in manager.get(r.headers["Location"]).get_data(as_text=True)


def test_a_gated_card_advances_on_its_own_stage(demo, new_task):
    """Dropped into its own Stage, a card held at a manual gate is advanced (run.advance: its
    Responsible), with no reason asked; someone else may not."""
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id))
    run.status = "gated"   # as a manual gate holds it (the demo's lanes have none)
    db.session.commit()
    approver = signed_in(demo, "approver@procly.local")
    staff = signed_in(demo, "staff@procly.local")
    html = staff.get("/queue/boards/intake").get_data(as_text=True)
    assert "At the gate" in html and 'data-can="advance"' in html and ">Advance<" in html
    before = db_snapshot()
    assert _move(approver, "intake", task.id, "collect").status_code == 403
    assert db_snapshot() == before
    r = _move(staff, "intake", task.id, "collect")
    assert r.status_code == 200, r.data
    assert r.get_json() == {"done": "advanced", "message": "Advanced into Collect basic information."}
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).status == "pending"


def test_many_tasks_a_few_queries_and_a_more_page(demo):
    """2,000 open runs in one column: the board shows 25 cards and a "more" link, in a fixed number
    of queries; the column's page lists 100 a page."""
    from app.models import Process, TaskVisit, Version

    proc = db.session.scalar(select(Process).where(Process.key == "intake"))
    version = db.session.scalar(select(Version).where(Version.process_id == proc.id))
    now = clock.now()
    for i in range(2000):
        t = Task(key=f"bulk-{i}", table_id=proc.table_id, process_id=proc.id, version_id=version.id,
                 values={"name": f"Client {i}", "email": f"c{i}@x.test"}, status="running")
        db.session.add(t)
        db.session.flush()
        v = TaskVisit(task_id=t.id, process_id=proc.id, version_id=version.id, entered_at=now)
        db.session.add(v)
        db.session.flush()
        db.session.add(StageRun(task_id=t.id, visit_id=v.id, process_id=proc.id, version_id=version.id,
                                stage_key="collect", status="pending", ready_at=now, data={},
                                due_at=now + timedelta(minutes=i)))
    db.session.commit()
    client = signed_in(demo, "staff@procly.local")
    client.get("/queue/boards/intake")   # warm caches (definitions)
    statements = []
    listener = lambda *a, **k: statements.append(a[2])   # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        html = client.get("/queue/boards/intake").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(_cards(html)) == 25
    assert "1975 more in Collect basic information" in html
    assert "Client 0<" in html   # due first
    assert len(statements) < 25, statements
    more = client.get("/queue/boards/intake/stages/collect?page=2").get_data(as_text=True)
    assert len(_cards(more)) == 100 and "Page 2 of 20" in more and "Client 100<" in more
    assert client.get("/queue/boards/intake/stages/collect?page=x").status_code == 200


def test_an_unpublished_process_says_so(demo, users):
    from app.processes import operations

    operations.create_process({"key": "fresh", "name": "Fresh idea", "description": "", "table": "clients",
                               "team": "Intake"}, users["admin"])
    db.session.commit()
    html = signed_in(demo, "admin@procly.local").get("/queue/boards/fresh").get_data(as_text=True)
    assert "not published yet" in html


@pytest.mark.parametrize("partial", ["1"])
def test_partial_is_the_columns_only(demo, new_task, partial):
    new_task()
    html = signed_in(demo, "staff@procly.local").get(f"/queue/boards/intake?partial={partial}").get_data(as_text=True)
    assert html.lstrip().startswith("<p") and "<html" not in html and 'class="b-col"' in html


def test_a_card_that_left_the_board_is_not_moved(demo, new_task):
    """A drop from a stale board (the Task was moved to Follow-up meanwhile) is refused, not applied
    to the Task's new Process."""
    task = new_task({"name": "Robin Client", "email": "robin@client.test"})
    manager = signed_in(demo, "manager@procly.local")
    assert _move(manager, "follow-up", task.id, "contact", "elsewhere").status_code == 409
    r = _move(manager, "intake", task.id, "schedule", "first")
    assert r.status_code == 200
    r = _move(manager, "referral", task.id, "refer", "x")
    assert r.status_code == 409 and r.get_json()["error"]["details"] == {"task_id": ["not on this board"]}
