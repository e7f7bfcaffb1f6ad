"""The public intake form (issue 16), attacked: off unless an admin switches it on; spam without the
honeypot left empty or the minimum time; the rate limit; bad input answered per Field with nothing
half-written; Fields outside the start writes refused; framed by other sites, and only this page."""
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Event, Process, Task
from tests.helpers import csrf, db_snapshot

URL = "/portal/intake/spam-filter"


def _count():
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Task))


def _switch(client, on: bool):
    return client.post("/queue/new/spam-filter/intake", data={"csrf_token": csrf(client), "on": "1" if on else "0"})


@pytest.fixture
def intake_on(app, users):
    db.session.execute(db.update(Process).where(Process.key == "spam-filter").values(intake_enabled=True))
    db.session.commit()


def _token(app, age=10.0, key="spam-filter"):
    from app.portal.intake import form_token

    with app.test_request_context():
        return form_token(key, time.time() - age)


def _post(client, data, ip="127.0.3.1"):
    return client.post(URL, data=data, environ_overrides={"REMOTE_ADDR": ip})


def test_only_an_admin_switches_it_on_and_it_is_off_until_then(app, users, web_login, client):
    assert client.get(URL).status_code == 404
    web_login("designer@procly.local")
    assert _switch(client, True).status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    web_login("admin@procly.local")
    page = client.get("/queue/new/spam-filter").get_data(as_text=True)
    assert "Public intake form" in page and "Switch the public form on" in page
    assert _switch(client, True).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Process.intake_enabled).where(Process.key == "spam-filter")) is True
    assert db.session.scalar(select(Event).where(Event.type == "process.intake_switched")).data == {"on": True}
    page = client.get("/queue/new/spam-filter").get_data(as_text=True)
    assert "http://localhost/portal/intake/spam-filter" in page and "&lt;iframe" in page
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert client.get(URL).status_code == 200          # no sign-in needed
    web_login("admin@procly.local")
    _switch(client, False)
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert client.get(URL).status_code == 404


def test_it_may_be_framed_by_other_sites_and_nothing_else_may(app, intake_on, client):
    r = client.get(URL)
    assert "X-Frame-Options" not in r.headers
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp and "default-src 'self'" in csp
    other = client.get("/login")
    assert other.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]


def test_a_person_starts_a_task(app, intake_on, client):
    n = _count()
    r = _post(client, {"form_token": _token(app), "website": "", "f_name": "Pat Public", "f_email": "pat@example.com",
                       "f_source": "web", "f_message": "Need help"})
    assert r.status_code == 302 and r.headers["Location"].endswith("?sent=1")
    assert _count() == n + 1
    task = db.session.scalar(select(Task).order_by(Task.id.desc()))
    assert task.values["email"] == "pat@example.com" and task.created_by_id is None
    created = db.session.scalar(select(Event).where(Event.type == "task.created", Event.task_id == task.id))
    assert created.actor == "intake:spam-filter"
    assert "Thank you" in client.get(URL + "?sent=1").get_data(as_text=True)


def test_spam_is_refused_and_writes_nothing(app, intake_on, client):
    before = db_snapshot()
    good = {"f_name": "Bot", "f_email": "bot@example.com"}
    assert _post(client, {**good, "form_token": _token(app), "website": "http://spam.example"}).status_code == 400
    assert _post(client, {**good, "form_token": _token(app, age=0.2)}, ip="127.0.3.2").status_code == 400  # too fast
    assert _post(client, {**good}, ip="127.0.3.3").status_code == 400                                  # no token
    assert _post(client, {**good, "form_token": "forged"}, ip="127.0.3.4").status_code == 400
    assert _post(client, {**good, "form_token": _token(app, age=2 * 86400)}, ip="127.0.3.5").status_code == 400
    other = _token(app, key="intake")            # a token of another Process's form
    assert _post(client, {**good, "form_token": other}, ip="127.0.3.6").status_code == 400
    db.session.rollback()
    assert db_snapshot() == before


def test_bad_input_is_answered_per_field_and_nothing_is_half_written(app, intake_on, client):
    before = db_snapshot()
    r = _post(client, {"form_token": _token(app), "f_name": "Pat", "f_email": "pat-at-nowhere", "f_source": "fax"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="err_email"' in html and 'id="err_source"' in html and 'value="pat-at-nowhere"' in html
    r = _post(client, {"form_token": _token(app), "f_name": "Pat", "f_notes": "not a start write"}, ip="127.0.3.7")
    assert r.status_code == 403
    r = _post(client, {"form_token": _token(app), "f_name": "x" * 20_000}, ip="127.0.3.8")
    assert r.status_code == 422 and "longer than 10,000" in r.get_data(as_text=True)
    db.session.rollback()
    assert db_snapshot() == before


def test_it_is_rate_limited_per_address(app, intake_on, client):
    codes = [_post(client, {"form_token": _token(app, age=0)}, ip="127.0.3.9").status_code for _ in range(7)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429, 429]
    assert _post(client, {"form_token": _token(app, age=0)}, ip="127.0.3.10").status_code == 400   # another address


def test_an_archived_or_unpublished_process_has_no_form(app, intake_on, client):
    from app import clock

    db.session.execute(db.update(Process).where(Process.key == "spam-filter").values(archived_at=clock.now()))
    db.session.commit()
    assert client.get(URL).status_code == 404
    assert _post(client, {"form_token": _token(app), "f_name": "X"}).status_code == 404
