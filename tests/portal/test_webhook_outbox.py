"""Webhook alerts go through the outbox to a real local HTTP server; a failing endpoint is retried with
backoff; every call is an Event (url, status, duration). `flask procly outbox` and
app.notifications.jobs.deliver_due send due deliveries without a request."""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app import clock
from app.alerts import raise_alert
from app.extensions import db
from app.models import Event
from app.models.notifications import AlertRule, Outbox
from app.notifications import jobs, mail, outbound_webhook


class Hook:
    """A local endpoint: answers with the statuses queued in `plan` (then 200), records bodies."""

    def __init__(self):
        self.received, self.plan = [], []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
                status = hook.plan.pop(0) if hook.plan else 200
                self.send_response(status)
                if status in (301, 302, 307):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


def _rule(task, url, event_type="sla.breached"):
    db.session.add(AlertRule(process_id=task.process_id, event_type=event_type, severity="critical",
                             channel="webhook", target=url))
    db.session.commit()


def test_webhook_delivered_through_outbox_and_logged(app, hook, new_task):
    task = new_task({"name": "Secret Name", "budget": 4321})
    _rule(task, hook.url + "/procly")
    raise_alert(task, "sla.breached", "Due time passed")
    db.session.commit()
    row = db.session.scalar(select(Outbox).where(Outbox.kind == "webhook"))
    assert row.to == hook.url + "/procly" and row.status == "pending"
    assert hook.received == []                         # nothing is sent inside the transaction
    assert jobs.deliver_due() == {"sent": 1, "failed": 0}
    path, ctype, body = hook.received[0]
    assert path == "/procly" and ctype == "application/json"
    assert body["task"] == task.id and body["type"] == "sla.breached" and body["severity"] == "critical"
    assert "Secret Name" not in json.dumps(body) and "4321" not in json.dumps(body)   # never Field values
    db.session.expire_all()
    assert db.session.get(Outbox, row.id).status == "sent"
    ev = db.session.scalar(select(Event).where(Event.type == "alert.webhook"))
    assert ev.task_id == task.id and ev.data["url"] == hook.url + "/procly" and ev.data["status"] == 200
    assert ev.data["duration_ms"] >= 0 and ev.data["error"] is None


def test_failing_endpoint_is_retried_with_backoff(app, hook, new_task):
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    try:
        task = new_task()
        _rule(task, hook.url + "/flaky")
        hook.plan = [500, 503]
        raise_alert(task, "sla.breached", "late")
        db.session.commit()
        assert jobs.deliver_due() == {"sent": 0, "failed": 1}
        row = db.session.scalar(select(Outbox).where(Outbox.kind == "webhook"))
        assert row.status == "pending" and row.attempts == 1 and "500" in row.last_error
        assert row.next_attempt_at == frozen() + timedelta(seconds=30)
        assert jobs.deliver_due() == {"sent": 0, "failed": 0}          # not due yet
        frozen.advance(seconds=31)
        assert jobs.deliver_due() == {"sent": 0, "failed": 1}          # 503
        frozen.advance(seconds=61)
        assert jobs.deliver_due() == {"sent": 1, "failed": 0}
        db.session.expire_all()
        row = db.session.get(Outbox, row.id)
        assert row.status == "sent" and row.attempts == 3 and len(hook.received) == 3
        statuses = [e.data["status"] for e in db.session.scalars(
            select(Event).where(Event.type == "alert.webhook").order_by(Event.id))]
        assert statuses == [500, 503, 200]
    finally:
        clock.set_clock(None)


def test_unreachable_endpoint_gives_up_after_max_attempts(app, new_task):
    from tests.portal.test_mail_alerts import _free_port

    task = new_task()
    url = f"http://127.0.0.1:{_free_port()}/down"
    db.session.add(Outbox(to=url, subject="sla.breached", body=json.dumps({"task": task.id}), kind="webhook",
                          status="pending", attempts=mail.MAX_ATTEMPTS - 1, next_attempt_at=clock.now()))
    db.session.commit()
    assert jobs.deliver_due() == {"sent": 0, "failed": 1}
    row = db.session.scalar(select(Outbox))
    assert row.status == "failed" and row.attempts == mail.MAX_ATTEMPTS
    ev = db.session.scalar(select(Event).where(Event.type == "alert.webhook"))
    assert ev.data["status"] is None and ev.data["error"] and ev.data["url"] == url


def test_redirect_is_not_followed(app, hook, new_task):
    task = new_task()
    _rule(task, hook.url + "/moved")
    hook.plan = [302]
    raise_alert(task, "sla.breached", "late")
    db.session.commit()
    assert jobs.deliver_due() == {"sent": 0, "failed": 1}
    assert len(hook.received) == 1
    assert db.session.scalar(select(Event).where(Event.type == "alert.webhook")).data["status"] == 302


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:6379/_FLUSHALL",
                                 "http://user:pw@127.0.0.1/", "//127.0.0.1/x", "127.0.0.1"])
def test_non_http_targets_never_queued_or_sent(app, new_task, url):
    task = new_task()
    _rule(task, url)                        # written around the API's validation
    raise_alert(task, "sla.breached", "late")
    db.session.commit()
    assert db.session.scalar(select(Outbox).where(Outbox.kind == "webhook")) is None
    with pytest.raises(ValueError):
        outbound_webhook.queue_webhook(url, {"type": "x"})
    db.session.add(Outbox(to=url, subject="x", body="{}", kind="webhook", status="pending", attempts=0,
                          next_attempt_at=clock.now()))
    db.session.commit()
    assert jobs.deliver_due() == {"sent": 0, "failed": 1}     # a row smuggled in is refused at send time too


def test_cli_outbox_command(app, hook, new_task):
    task = new_task()
    _rule(task, hook.url + "/cli")
    raise_alert(task, "sla.breached", "late")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["procly", "outbox"])
    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0" in result.output
    assert [p for p, _, _ in hook.received] == ["/cli"]


def test_worker_job_path_without_request(app, hook, new_task):
    """A job (no request) that raises an alert: after commit the outbox job goes to the queue; a worker sends it."""
    from app.runtime.worker import make_worker

    task = new_task()
    _rule(task, hook.url + "/worker")
    raise_alert(task, "sla.breached", "late")
    db.session.commit()
    make_worker(app).work(burst=True)
    assert [p for p, _, _ in hook.received] == ["/worker"]
