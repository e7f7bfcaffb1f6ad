"""Reminders before the appointment, fired by a real `flask procly worker` process over wall-clock
time: the booking's StageTimer (scope "appointment") is an RQ scheduled job; when it fires the worker
emails the attendee through the outbox to a real SMTP server. A cancelled booking's reminder never
fires."""
from datetime import datetime, timezone

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Event, StageTimer
from tests.processes import flask_worker, wait_until, worker_env
from tests.scheduling.conftest import calendar_stage

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _next_slot(world, process: str) -> datetime:
    run = world.run(world.start(process))
    first = world.api.get(f"/api/v1/runs/{run.id}/slots").json["slots"][0]["start"]
    return datetime.fromisoformat(first).astimezone(timezone.utc).replace(tzinfo=None)


def test_reminder_fired_by_a_real_worker(app, world, smtp):
    config = dict(time_zone="UTC", working_days=EVERY_DAY, day_start="00:00", day_end="23:59", slot_minutes=5,
                  notice_minutes=0, horizon_days=1)
    world.process("soon", [calendar_stage(**config)])
    start = _next_slot(world, "soon")
    lead = int((start - clock.now()).total_seconds()) - 4          # due about 4 s from now
    world.process("soon", [calendar_stage(**config, reminders=[f"{lead}s", "1d"])])
    runs = [world.run(world.start("soon", {"name": n, "email": f"{n}@client.test"})) for n in ("keep", "drop")]
    keep_task, keep_run = runs[0].task_id, runs[0].id
    r = world.api.post(f"/api/v1/runs/{runs[0].id}/booking", json={"start": clock.iso(start)})
    assert r.status_code == 201, r.json
    # the second Task books the next slot, then cancels: its reminder must not fire
    nxt = world.api.get(f"/api/v1/runs/{runs[1].id}/slots").json["slots"][0]["start"]
    assert world.api.post(f"/api/v1/runs/{runs[1].id}/booking", json={"start": nxt}).status_code == 201
    assert world.api.post(f"/api/v1/runs/{runs[1].id}/booking/cancel").status_code == 200
    timers = db.session.scalars(select(StageTimer).where(StageTimer.scope == "appointment")).all()
    assert len(timers) == 2 and {t.label for t in timers} == {f"{lead}s"}   # 1d is already past: none
    assert smtp.messages == []
    env = worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], app.config["PROCLY_INSTANCE"],
                     SMTP_HOST="127.0.0.1", SMTP_PORT=str(app.config["SMTP_PORT"]), PROCLY_WEBHOOK_ALLOW_PRIVATE="1")
    proc = flask_worker(env)
    try:
        wait_until(lambda: any(m["Subject"].startswith("Reminder:") for m in smtp.parsed()), 60,
                   "the reminder email", diagnose=lambda: proc.log()[-3000:])
    finally:
        proc.stop()
    subjects = sorted(m["Subject"] for m in smtp.parsed())
    assert subjects == ["Appointment cancelled: Schedule a visit", "Appointment confirmed: Schedule a visit",
                        "Appointment confirmed: Schedule a visit", "Reminder: Schedule a visit"]
    reminder = next(m for m in smtp.parsed() if m["Subject"].startswith("Reminder:"))
    assert reminder["To"] == "keep@client.test"
    part = next(p for p in reminder.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST"
    db.session.remove()
    fired = db.session.scalars(select(Event).where(Event.type == "appointment.reminder")).all()
    assert [e.task_id for e in fired] == [keep_task]
    # fired at (not before) its due time, give or take RQ's whole-second rounding
    timer = db.session.scalar(select(StageTimer).where(StageTimer.stage_run_id == keep_run,
                                                       StageTimer.scope == "appointment"))
    assert timer.fired_at is not None and (timer.fired_at - timer.due_at).total_seconds() > -1.5
