"""Development mail (issue 16): with no SMTP server configured, outgoing mail is kept for the
development mailbox page (admins only, links clickable) instead of failing in the worker log, and
the invitation flash says so."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models.notifications import Outbox
from app.notifications import mail
from tests.helpers import csrf


def test_mail_without_smtp_goes_to_the_dev_mailbox(app, new_task, users, web_login, client, caplog):
    from app.runtime.worker import make_worker

    assert not app.config["SMTP_HOST"]
    task = new_task()
    web_login("staff@procly.local")
    r = client.post(f"/queue/tasks/{task.id}/invite", data={"csrf_token": csrf(client), "email": "p@example.com"},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "No mail server is configured" in page and "development mailbox" in page
    assert "Invitation sent" not in page
    make_worker(app).work(burst=True)        # the real delivery job, as a worker runs it
    db.session.expire_all()
    row = db.session.scalar(select(Outbox))
    assert row.status == mail.DEV_MAILBOX and row.last_error is None and row.attempts == 1
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR") and "outbox" in r.getMessage()]
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert web_login("staff@procly.local").get("/dev/mail").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    html = web_login("admin@procly.local").get("/dev/mail").get_data(as_text=True)
    assert "p@example.com" in html and "kept here (not sent)" in html
    assert re.search(r'<a href="https?://[^"]+/portal/t/[\w-]+">', html)        # the magic link, clickable


def test_linkify_escapes_everything_but_the_links():
    from app.web.mailbox import linkify

    out = str(linkify('<b>hi</b> see https://x.example/a?b=1&c=2. "https://evil.example/"><script>'))
    assert "<b>" not in out and "<script>" not in out
    assert '<a href="https://x.example/a?b=1&amp;c=2">https://x.example/a?b=1&amp;c=2</a>.' in out
    assert 'href="https://evil.example/"' in out


def test_with_smtp_configured_the_flash_says_queued(app, new_task, users, web_login, client):
    app.config["SMTP_HOST"] = "127.0.0.1"
    try:
        task = new_task()
        web_login("staff@procly.local")
        page = client.post(f"/queue/tasks/{task.id}/invite", data={"csrf_token": csrf(client), "email": "p@example.com"},
                           follow_redirects=True).get_data(as_text=True)
        assert "is queued" in page and "development mailbox" not in page
    finally:
        app.config["SMTP_HOST"] = ""
