"""Reminders before a booked appointment, on the SLA-timer machinery: one StageTimer (scope
"appointment") per reminder, with its RQ scheduled job; the sweep fires any a lost Redis forgot.
When one fires, app.runtime.timers announces it (signals.appointment_reminder) and this module
emails the attendee. A reschedule replaces them; a cancellation drops them."""
from __future__ import annotations

from sqlalchemy import select, update

from app import clock
from app.extensions import db
from app.models import Booking, StageRun, StageTimer
from app.runtime import signals, timers
from app.runtime.context import definition, stage_of
from app.scheduling import invites
from app.vocab import durations


def schedule(booking: Booking, run: StageRun, reminders: list[str]) -> list[StageTimer]:
    """A timer per reminder still in the future (a booking for in an hour gets no 24h reminder)."""
    now, out = clock.now(), []
    for label in reminders:
        due = booking.starts_at - durations.parse(label)
        if due <= now:
            continue
        timer = StageTimer(stage_run_id=run.id, kind="reminder", scope=timers.APPOINTMENT, label=label, due_at=due)
        db.session.add(timer)
        db.session.flush()
        timers.enqueue(timer)
        out.append(timer)
    return out


def drop(run_id: int) -> None:
    """The run's unfired appointment reminders will not fire (marked fired now, as timers.cancel)."""
    db.session.execute(update(StageTimer).where(
        StageTimer.stage_run_id == run_id, StageTimer.scope == timers.APPOINTMENT, StageTimer.fired_at.is_(None))
        .values(fired_at=clock.now()), execution_options={"synchronize_session": False})


def on_reminder(run: StageRun, timer: StageTimer, **_kw) -> None:
    booking = db.session.scalar(select(Booking).where(Booking.stage_run_id == run.id, Booking.status == "booked")
                                .order_by(Booking.id.desc()))
    if booking is None or booking.starts_at <= clock.now():
        return
    invites.send(booking, "reminder", stage_of(definition(run.version_id), run.stage_key)["name"])


def init_app(app) -> None:
    signals.appointment_reminder.connect(on_reminder, weak=False)
