"""Starting a Task from the browser (issue 16): the "New task" start form of a Process, typed, through
the API's start path (app.tasks.operations.start_task) with its validation and `start` permissions."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import Task
from tests.helpers import csrf, db_snapshot


def _count():
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Task))


def test_new_task_lists_the_processes_one_may_start_and_the_form_is_typed(app, users, web_login, client):
    web_login("staff@procly.local")
    page = client.get("/queue/new").get_data(as_text=True)
    assert 'href="/queue/new/spam-filter"' in page
    form = client.get("/queue/new/spam-filter").get_data(as_text=True)
    assert 'type="email"' in form and 'type="tel"' in form and 'type="radio"' in form and "<textarea" in form
    assert 'name="f_notes"' not in form                 # not a start write
    assert "Public intake form" not in form             # admins only switch it


def test_start_from_the_form_with_labels_as_a_person_reads_them(app, users, web_login, client):
    web_login("staff@procly.local")
    r = client.post("/queue/new/spam-filter", data={
        "csrf_token": csrf(client), "f_name": "Ada Client", "f_email": "ada@example.com", "f_phone": "",
        "f_source": "Partner", "f_message": "Hello"})
    assert r.status_code == 302 and "/queue/tasks/" in r.headers["Location"]
    task = db.session.scalar(select(Task).order_by(Task.id.desc()))
    assert task.values["source"] == "partner" and task.values["name"] == "Ada Client"
    assert task.created_by_id == users["staff"].id


def test_bad_input_keeps_values_and_names_the_field_and_writes_nothing(app, users, web_login, client):
    web_login("staff@procly.local")
    before = db_snapshot()
    r = client.post("/queue/new/spam-filter", data={
        "csrf_token": csrf(client), "f_name": "Ada Client", "f_email": "not-an-email", "f_source": "carrier pigeon"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="err_email"' in html and "Email must be an email address" in html
    assert 'id="err_source"' in html and "Source must be one of: Web, Phone, Partner" in html
    assert 'value="Ada Client"' in html and 'value="not-an-email"' in html      # kept
    assert 'aria-describedby="err_email"' in html
    db.session.rollback()
    assert db_snapshot() == before


def test_a_field_outside_the_start_writes_is_refused(app, users, web_login, client):
    web_login("staff@procly.local")
    n = _count()
    r = client.post("/queue/new/spam-filter", data={"csrf_token": csrf(client), "f_name": "X", "f_notes": "sneaky"})
    assert r.status_code == 403 and _count() == n


def test_required_fields_are_marked_and_enforced_by_the_form(app, users, web_login, client):
    from app.models import Field

    db.session.execute(db.update(Field).where(Field.key == "email").values(required=True))
    db.session.commit()
    web_login("staff@procly.local")
    form = client.get("/queue/new/spam-filter").get_data(as_text=True)
    assert "Email <span class=\"req\">(required)</span>" in form
    n = _count()
    r = client.post("/queue/new/spam-filter", data={"csrf_token": csrf(client), "f_name": "X", "f_email": ""})
    assert r.status_code == 422 and "Email is required" in r.get_data(as_text=True) and _count() == n


def test_someone_outside_the_start_roles_cannot_open_or_post(app, users, web_login, client):
    web_login("approver@procly.local")      # Compliance: not in spam-filter's start roles
    assert client.get("/queue/new/spam-filter").status_code == 403
    n = _count()
    assert client.post("/queue/new/spam-filter", data={"csrf_token": csrf(client), "f_name": "X"}).status_code == 403
    assert _count() == n
    assert 'spam-filter' not in client.get("/queue/new").get_data(as_text=True)
    assert client.get("/queue/new/no-such").status_code == 404


def test_new_task_is_offered_wherever_a_process_is_listed_to_those_who_may_start(app, users, web_login, client):
    web_login("staff@procly.local")
    assert 'id="new-task"' in client.get("/queue").get_data(as_text=True)
    assert 'href="/queue/new/spam-filter"' in client.get("/builder").get_data(as_text=True)
    assert 'href="/queue/new/intake" id="new-task"' in client.get("/builder/intake").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client)})
    web_login("approver@procly.local")      # Compliance starts nothing in the demo
    assert 'id="new-task"' not in client.get("/queue").get_data(as_text=True)
    assert 'href="/queue/new/' not in client.get("/builder").get_data(as_text=True)
    assert 'href="/queue/new/' not in client.get("/builder/intake").get_data(as_text=True)
