"""The staff queue: My work (Responsible / Approver, through Teams and roles), claim/release/reassign,
the Task page actions, comments, Table view and CSV."""
from sqlalchemy import select

from app.extensions import db
from app.models import StageRun, Task
from app.worklist.queries import my_work
from tests.helpers import csrf


def _run(task, key):
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))


def test_my_work_by_role(app, new_task, users):
    task = new_task()
    staff_items = my_work(users["staff"])
    assert [(i["task"].id, i["stage"]["key"]) for i in staff_items] == [(task.id, "collect")]
    assert my_work(users["approver"]) == []          # not responsible for collect; no approval pending
    assert my_work(users["staff"], process="follow-up") == []


def test_overdue_first(app, new_task, users):
    from datetime import timedelta

    from app import clock

    a, b = new_task({"name": "A"}), new_task({"name": "B"})
    _run(b, "collect").due_at = clock.now() - timedelta(hours=1)
    _run(a, "collect").due_at = clock.now() + timedelta(hours=1)
    db.session.commit()
    items = my_work(users["staff"])
    assert [i["task"].id for i in items] == [b.id, a.id] and items[0]["overdue"]


def test_claim_release_reassign_and_approve(app, new_task, users, web_login, client):
    task = new_task()
    run = _run(task, "collect")
    web_login("staff@procly.local")
    tok = csrf(client)
    assert client.post(f"/queue/runs/{run.id}/claim", data={"csrf_token": tok}).status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).claimed_by_id == users["staff"].id
    assert client.post(f"/queue/runs/{run.id}/release", data={"csrf_token": tok}).status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).claimed_by_id is None
    # staff is not a Delegator of collect (role:manager is)
    assert client.post(f"/queue/runs/{run.id}/reassign",
                       data={"csrf_token": tok, "assignee": "manager@procly.local"}).status_code == 403
    form = {"csrf_token": tok, "action": "complete", "f_name": "Jo", "f_email": "jo@example.com",
            "f_location": "in_area", "f_budget": "2000", "f_documents_complete": "true"}
    assert client.post(f"/queue/runs/{run.id}/act", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).status == "completed"
    confirm = _run(task, "confirm")
    assert client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": tok, "action": "complete"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, confirm.id).status == "awaiting_approval"
    # staff may not approve; the approver (team Compliance) sees it in the queue and approves
    assert client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": tok, "action": "approve"}).status_code == 403
    assert [i["run"].id for i in my_work(users["approver"])] == [confirm.id]
    client.post("/logout", data={"csrf_token": tok})
    web_login("approver@procly.local")
    tok = csrf(client)
    r = client.post(f"/queue/runs/{confirm.id}/act", data={"csrf_token": tok, "action": "approve", "comment": "ok"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, confirm.id).status == "completed"
    assert _run(task, "schedule").status == "pending"


def test_manager_reassigns(app, new_task, users, web_login, client):
    task = new_task()
    run = _run(task, "collect")
    web_login("manager@procly.local")
    r = client.post(f"/queue/runs/{run.id}/reassign", data={"csrf_token": csrf(client),
                                                           "assignee": "staff@procly.local"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).claimed_by_id == users["staff"].id
    # someone who cannot work the Stage is refused
    r = client.post(f"/queue/runs/{run.id}/reassign", data={"csrf_token": csrf(client),
                                                           "assignee": "approver@procly.local"})
    db.session.expire_all()
    assert db.session.get(StageRun, run.id).claimed_by_id == users["staff"].id


def test_task_page_comments_and_move(app, new_task, users, web_login, client):
    task = new_task()
    run = _run(task, "collect")
    web_login("staff@procly.local")
    tok = csrf(client)
    client.post(f"/queue/runs/{run.id}/comments", data={"csrf_token": tok, "body": "inside note"})
    client.post(f"/queue/runs/{run.id}/comments", data={"csrf_token": tok, "body": "for the client", "external": "1"})
    page = client.get(f"/queue/tasks/{task.id}").get_data(as_text=True)
    assert "inside note" in page and "for the client" in page and "Timeline" in page and "Sam Staff commented on" in page
    r = client.post(f"/queue/tasks/{task.id}/move", data={"csrf_token": tok, "process": "follow-up", "reason": ""})
    db.session.expire_all()
    assert db.session.get(Task, task.id).process.key == "intake"   # a reason is required
    client.post(f"/queue/tasks/{task.id}/move", data={"csrf_token": tok, "process": "follow-up", "reason": "docs"})
    db.session.expire_all()
    assert db.session.get(Task, task.id).process.key == "follow-up"


def test_table_view_sort_filter(app, new_task, web_login, client):
    new_task({"name": "Bea"}), new_task({"name": "Al"}), new_task({"name": "Cy"})
    web_login("staff@procly.local")
    html = client.get("/queue/tables/clients?sort=name").get_data(as_text=True)
    assert html.index(">Al<") < html.index(">Bea<") < html.index(">Cy<")
    csv_text = client.get("/queue/tables/clients?f_name=be&format=csv").get_data(as_text=True)
    assert "Bea" in csv_text and "Cy" not in csv_text


def test_table_view_pages_the_sorted_filtered_rows(app, new_task, web_login, client, monkeypatch):
    from app.worklist import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    for name in ("Bea", "Al", "Cy", "Di", "Ed"):
        new_task({"name": name})
    web_login("staff@procly.local")
    first = client.get("/queue/tables/clients?sort=name").get_data(as_text=True)
    assert ">Al<" in first and ">Bea<" in first and ">Cy<" not in first
    assert "Tasks 1–2 of 5" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/queue/tables/clients?sort=name&page=2").get_data(as_text=True)
    assert ">Cy<" in second and ">Di<" in second and ">Al<" not in second and 'rel="prev"' in second
    assert "sort=name" in second.split('rel="next" href="')[1].split('"')[0]     # the links keep the filters
    last = client.get("/queue/tables/clients?sort=name&page=99").get_data(as_text=True)   # clamped
    assert ">Ed<" in last and "Tasks 5–5 of 5" in last
    assert ">Bea<" in client.get("/queue/tables/clients?page=x&f_name=be").get_data(as_text=True)
    csv_text = client.get("/queue/tables/clients?sort=name&page=2&format=csv").get_data(as_text=True)
    assert all(n in csv_text for n in ("Al", "Bea", "Cy", "Di", "Ed"))    # the export is not paged
