"""The outbox delivers to a real local SMTP server (aiosmtpd); a failing send is retried with backoff and
never lost. Alerts reach the in-app notification centre per AlertRule; @mentions notify."""
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import StageRun
from app.models.notifications import AlertRule, Notification, Outbox
from app.notifications import mail, threads
from app.participants import links


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    old = app.config["SMTP_HOST"], app.config["SMTP_PORT"]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    yield inbox
    ctl.stop()
    app.config["SMTP_HOST"], app.config["SMTP_PORT"] = old


def test_invitation_delivered(app, smtp, new_task, users):
    task = new_task()
    _, secret = links.invite(task, "jo@example.com", by=users["staff"])
    db.session.commit()
    assert mail.deliver_due() == {"sent": 1, "failed": 0}
    assert len(smtp.messages) == 1
    env = smtp.messages[0]
    assert env.rcpt_tos == ["jo@example.com"]
    assert f"/portal/t/{secret}" in env.content.decode()
    row = db.session.scalar(select(Outbox))
    assert row.status == "sent" and row.attempts == 1 and row.sent_at


def test_request_hands_mail_to_a_worker_after_commit(app, smtp, new_task, web_login, client):
    """A request never sends mail itself: after its commit the delivery job is queued, a worker sends."""
    from app.infra.queue import SYSTEM_QUEUE, queue
    from app.runtime.worker import make_worker
    from tests.helpers import csrf

    task = new_task()
    web_login("staff@procly.local")
    r = client.post(f"/queue/tasks/{task.id}/invite", data={"csrf_token": csrf(client), "email": "p@example.com"})
    assert r.status_code == 302
    assert smtp.messages == []
    assert db.session.scalar(select(Outbox)).status == "pending"
    assert [j.func_name for j in queue(SYSTEM_QUEUE).jobs] == ["app.notifications.mail.deliver_job"]
    make_worker(app).work(burst=True)
    assert [m.rcpt_tos for m in smtp.messages] == [["p@example.com"]]


def test_failed_send_is_retried(app, new_task, users):
    port = _free_port()  # nothing listens here yet
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    try:
        task = new_task()
        links.invite(task, "jo@example.com", by=users["staff"])
        db.session.commit()
        assert mail.deliver_due() == {"sent": 0, "failed": 1}
        row = db.session.scalar(select(Outbox))
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        assert row.next_attempt_at == frozen() + timedelta(seconds=30)
        assert mail.deliver_due() == {"sent": 0, "failed": 0}   # not due yet
        inbox = Inbox()
        ctl = Controller(inbox, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            frozen.advance(seconds=31)
            assert mail.deliver_due() == {"sent": 1, "failed": 0}
        finally:
            ctl.stop()
        db.session.expire_all()
        row = db.session.scalar(select(Outbox))
        assert row.status == "sent" and row.attempts == 2 and len(inbox.messages) == 1
    finally:
        clock.set_clock(None)
        app.config.update(SMTP_HOST="", SMTP_PORT=25)


def test_gives_up_after_max_attempts_but_keeps_row(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_free_port())
    try:
        db.session.add(Outbox(to="x@example.com", subject="s", body="b", status="pending",
                              attempts=mail.MAX_ATTEMPTS - 1, next_attempt_at=clock.now()))
        db.session.commit()
        mail.deliver_due()
        row = db.session.scalar(select(Outbox))
        assert row.status == "failed" and row.attempts == mail.MAX_ATTEMPTS and row.last_error
    finally:
        app.config.update(SMTP_HOST="", SMTP_PORT=25)


def test_alert_without_rule_notifies_recipients(app, new_task, users):
    from app.alerts import raise_alert

    task = new_task()
    raise_alert(task, "stage.escalated", "Collect is late", recipients=["role:manager"])
    db.session.commit()
    rows = db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in rows] == [users["manager"].id]
    assert "Collect is late" in rows[0].message


def test_alert_rules_channels(app, new_task, users):
    from app.alerts import raise_alert

    task = new_task()
    db.session.add_all([
        AlertRule(process_id=task.process_id, event_type="sla.breached", severity="critical", channel="in_app",
                  target="team:Compliance"),
        AlertRule(process_id=task.process_id, event_type="*", severity="warning", channel="email",
                  target="ops@example.com"),
    ])
    db.session.commit()
    raise_alert(task, "sla.breached", "Due time passed")
    db.session.commit()
    notes = db.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.severity) for n in notes] == [(users["approver"].id, "critical")]
    assert [o.to for o in db.session.scalars(select(Outbox))] == ["ops@example.com"]


def test_notification_centre(app, new_task, users, web_login, client):
    from app import notifications
    from tests.helpers import csrf

    task = new_task()
    notifications.notify(users["staff"], "stage.escalated", "Escalated: zz-alert", task_id=task.id, severity="critical")
    db.session.commit()
    web_login("staff@procly.local")
    page = client.get("/queue/notifications").get_data(as_text=True)
    assert "zz-alert" in page and "unread" in page
    client.post("/queue/notifications/read", data={"csrf_token": csrf(client)})
    assert notifications.unread_count(users["staff"]) == 0


def test_mentions_notify_only_people_who_see_the_stage(app, new_task, users, make_user):
    task = new_task()
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id))
    hidden_doc_user = users["approver"]
    threads.add_comment(run, "Please check @approver and @Morgan and @nobody", external=False, actor="user:1",
                        user=users["staff"])
    db.session.commit()
    got = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.type == "mention"))}
    assert got == {hidden_doc_user.id, users["manager"].id}
    assert {o.to for o in db.session.scalars(select(Outbox))} == {"approver@procly.local", "manager@procly.local"}


def test_sla_reminder_goes_to_claimer_by_mail_and_in_app(app, new_task, users):
    from app.alerts import raise_alert
    from app.tasks import operations as service

    task = new_task()
    run = db.session.scalar(select(StageRun).where(StageRun.task_id == task.id))
    service.claim(run.id, users["staff"], "user:1")
    db.session.commit()
    raise_alert(task, "sla.reminder", "stage SLA reminder (24h) on stage collect", run=run)
    db.session.commit()
    assert [(n.user_id, n.type) for n in db.session.scalars(select(Notification))] == [(users["staff"].id, "sla.reminder")]
    assert [(o.to, o.kind) for o in db.session.scalars(select(Outbox))] == [("staff@procly.local", "reminder")]


def test_runtime_sla_breach_reaches_notification_centre(app, new_task, users):
    """A real SLA timer of the runtime fires (escalation and breach) and lands in the notification centre."""
    from app.models import StageTimer
    from app.runtime import timers

    frozen = clock.FrozenClock(clock.now())
    clock.set_clock(frozen)
    try:
        task = new_task({"name": "Late"}, process="referral")   # refer: due 4h, escalate after 2h
        frozen.advance(hours=5)
        for timer in db.session.scalars(select(StageTimer).order_by(StageTimer.due_at)).all():
            timers.fire(timer.id)
        db.session.commit()
    finally:
        clock.set_clock(None)
    types = {n.type for n in db.session.scalars(select(Notification).where(Notification.task_id == task.id))}
    assert "sla.breached" in types
    owners = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.type == "sla.breached"))}
    assert owners == {users["admin"].id, users["designer"].id}     # the Operations team owns Referral
