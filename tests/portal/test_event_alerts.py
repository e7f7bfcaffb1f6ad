"""Runtime Events beyond escalations (a Stage failing, a Task completing or moving, a rejected
approval) reach raise_alert through app.alerts.on_event — the engine announces every Event it records
(app.runtime.signals.event_recorded) — only where the Process has a rule."""
from app.alerts import on_event
from sqlalchemy import select

from app.extensions import db
from app.models import Event, StageRun
from app.models.notifications import AlertRule, Notification


def _rule(process_id, event_type, target="role:manager"):
    db.session.add(AlertRule(process_id=process_id, event_type=event_type, severity="critical", channel="in_app",
                             target=target))
    db.session.commit()


def _run(task, key):
    return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))


def _alerts(task):
    return [e.data["alert"] for e in db.session.scalars(select(Event).where(Event.type == "alert",
                                                                            Event.task_id == task.id)
                                                         .order_by(Event.id))]


def _finish_collect(task, users, values=None):
    from app.tasks import operations as service

    service.act(_run(task, "collect").id, "complete", "user:1", user=users["staff"],
                values=values or {"name": "Jo", "email": "jo@example.com", "location": "in_area", "budget": 2000,
                                  "documents_complete": True})
    db.session.commit()


def test_approval_rejected_alert(app, new_task, users):
    from app.tasks import operations as service

    task = new_task()
    _rule(task.process_id, "approval.rejected")
    _finish_collect(task, users)
    confirm = _run(task, "confirm")
    service.act(confirm.id, "complete", "user:1", user=users["staff"])
    service.act(confirm.id, "reject", "user:2", user=users["approver"], comment="budget unclear")
    db.session.commit()
    assert _alerts(task) == ["approval.rejected"]
    notes = db.session.scalars(select(Notification).where(Notification.type == "approval.rejected")).all()
    assert [(n.user_id, n.severity) for n in notes] == [(users["manager"].id, "critical")]
    assert "budget unclear" in notes[0].message


def test_task_moved_alert_uses_the_rules_of_the_process_left(app, new_task, users):
    from app.models import Process

    task = new_task()
    intake = task.process_id
    _rule(intake, "task.moved")
    _finish_collect(task, users, {"name": "Jo", "email": "jo@example.com", "location": "in_area", "budget": 10,
                                  "documents_complete": True})           # budget < 1000: routed to Referral
    db.session.expire_all()
    assert db.session.get(Process, task.process_id).key == "referral"
    assert _alerts(task) == ["task.moved"]
    ev = db.session.scalar(select(Event).where(Event.type == "alert"))
    assert ev.process_id == intake and ev.data["message"].startswith("moved to Referral (")


def test_task_completed_alert_and_no_rule_no_alert(app, demo, users):
    from app.processes import operations, versioning
    from app.tasks import operations as service

    admin = users["admin"]
    doc = {"stages": [{"key": "only", "name": "Only", "type": "basic", "column": 0, "reads": ["name"],
                       "writes": ["notes"]}], "routes": []}
    pids = {}
    for key in ("one", "two"):
        p = operations.create_process({"key": key, "name": key, "description": "", "table": "clients",
                                       "team": "Intake"}, admin)
        versioning.publish(p, admin, "v1", definition=doc)
        pids[key] = p.id
    db.session.commit()
    _rule(pids["one"], "task.completed", target="user:staff@procly.local")
    tasks = {}
    for key in ("one", "two"):
        tasks[key] = service.create_task({"process": key, "values": {"name": "X"}}, None, "system")
        db.session.commit()
        service.act(_run(tasks[key], "only").id, "complete", "system")
        db.session.commit()
    assert tasks["one"].status == "completed" and tasks["two"].status == "completed"
    assert _alerts(tasks["one"]) == ["task.completed"]
    assert _alerts(tasks["two"]) == []               # no rule: no alert, nobody bothered
    assert [n.user_id for n in db.session.scalars(select(Notification))] == [users["staff"].id]


def test_stage_failed_maps_and_inactive_rule_is_silent(app, new_task, users):
    task = new_task()
    run = _run(task, "collect")
    db.session.add(AlertRule(process_id=task.process_id, event_type="stage.failed", channel="in_app",
                             target="role:manager", active=False))
    db.session.commit()
    ev = Event(type="stage.status", task_id=task.id, stage_run_id=run.id, process_id=task.process_id,
               from_status="started", to_status="failed", data={"stage": "collect", "error": "boom"})
    assert on_event(ev) is False                      # inactive rule
    db.session.scalar(select(AlertRule)).active = True
    db.session.commit()
    ev2 = Event(type="stage.status", task_id=task.id, stage_run_id=run.id, process_id=task.process_id,
                from_status="started", to_status="failed", data={"stage": "collect", "error": "boom"})
    assert on_event(ev2) is True
    assert on_event(ev2) is False                     # idempotent per Event
    db.session.commit()
    assert _alerts(task) == ["stage.failed"]
    assert "boom" in db.session.scalar(select(Notification.message))
    # Events that are not alert-worthy by themselves, or already alerted by the runtime, are ignored
    for type_, to in (("stage.status", "completed"), ("stage.escalated", None), ("sla.breached", None),
                      ("alert", None), ("comment.added", None)):
        assert on_event(Event(type=type_, task_id=task.id, process_id=task.process_id, to_status=to,
                              data={})) is False


def test_rule_of_another_process_does_not_fire(app, new_task, users):
    from app.models import Process

    task = new_task()
    other = db.session.scalar(select(Process.id).where(Process.key == "follow-up"))
    _rule(other, "approval.rejected")
    from app.tasks import operations as service

    _finish_collect(task, users)
    confirm = _run(task, "confirm")
    service.act(confirm.id, "complete", "user:1", user=users["staff"])
    service.act(confirm.id, "reject", "user:2", user=users["approver"])
    db.session.commit()
    assert _alerts(task) == []
