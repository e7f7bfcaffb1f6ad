"""Booking operations for every surface (API, Task page, portal, signed links): the free slots of a
Calendar Schedule run, booking one, rescheduling and cancelling. Each asks app.permissions first and
works in the caller's transaction (the request commits once).

Double booking: a booking takes the lowest free *seat* of its slot inside a savepoint; (host, start,
seat) is unique in the database, so of two transactions racing for the last seat one insert is
refused and that booking answers 409 — on SQLite and PostgreSQL alike, whatever the timing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import clock, permissions, stages
from app.errors import APIError, Invalid
from app.extensions import db
from app.infra.queue import record_event
from app.models import Booking, StageRun, Task
from app.participants import links as participant_links
from app.runtime.context import definition, stage_of
from app.scheduling import busy, invites, reminders
from app.scheduling.slots import Availability, Slot, free_slots, is_slot, window
from app.tasks import moves
from app.tasks import operations as tasks
from app.vocab.statuses import TaskStatus

TYPE_KEY = "calendar_schedule"
MAX_WINDOW = timedelta(days=62)     # one slots query covers at most this span


def _conflict(message: str, field: str = "start") -> APIError:
    return APIError(message, {field: [message]}, status=409, code="conflict")


def zone_name(tz: str | None) -> str:
    """A valid IANA zone name (the booker's), else 422 naming `time_zone`."""
    tz = (tz or "UTC").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f'"{tz[:64]}" is not a time zone.', {"time_zone": ["is not an IANA time zone"]}) from None
    return tz


def parse_instant(value, name: str = "start") -> datetime:
    """An ISO 8601 date-time with an offset (or Z), as naive UTC; 422 naming `name` otherwise."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be a date and time like 2026-12-03T09:00:00Z.",
                      {name: ["must be an ISO 8601 date-time with an offset"]}) from None
    if moment.tzinfo is None:
        raise Invalid(f"{name} needs a time zone offset (Z or +01:00).", {name: ["needs an offset"]})
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def calendar_stage(run: StageRun) -> tuple[dict, dict]:
    """The run's Stage and loaded config; 409 if it is not a Calendar Schedule Stage."""
    stage = stage_of(definition(run.version_id), run.stage_key)
    type_ = stages.get(stage["type"])
    if stage["type"] != TYPE_KEY or type_ is None:
        raise _conflict(f"Stage {run.stage_key!r} is not a Calendar Schedule step.", "run")
    return stage, stages.loaded_config(type_, stage.get("config") or {})


def host_of(task: Task, config: dict) -> str:
    """Whose calendar a booking takes a seat in: "user:<email>" or "team:<name>"."""
    kind, host = config["host_kind"], (config["host"] or "").strip()
    if kind == "field":
        host = str((task.values or {}).get(host) or "").strip()
        kind = "user" if "@" in host else "team"
    if not host:
        raise _conflict("This step has no host to book with yet.", "host")
    return f"user:{host.lower()}" if kind == "user" else f"team:{host}"


def _booked(host: str, lo: datetime, hi: datetime, exclude: int | None = None) -> list[tuple[datetime, datetime]]:
    rows = db.session.execute(select(Booking.id, Booking.starts_at, Booking.ends_at).where(
        Booking.host == host, Booking.status == "booked", Booking.starts_at < hi, Booking.ends_at > lo)).all()
    return [(r.starts_at, r.ends_at) for r in rows if r.id != exclude]


def _busy(config: dict, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    if not config.get("caldav_url"):
        return []
    try:
        return busy.busy_periods(config["caldav_url"], config.get("caldav_credentials") or "", lo, hi)
    except busy.BusyUnavailable as exc:
        raise APIError(f"The host's calendar cannot be read right now ({exc}); try again later.",
                       {"calendar": [str(exc)]}, status=503, code="unavailable") from None


def _free(run: StageRun, config: dict, frm: datetime | None, to: datetime | None,
          exclude: int | None = None) -> list[Slot]:
    av = Availability.from_config(config)
    now = clock.now()
    lo, hi = window(av, now, frm, to)
    if hi - lo > MAX_WINDOW:
        hi = lo + MAX_WINDOW
    if lo >= hi:
        return []
    host = host_of(db.session.get(Task, run.task_id), config)
    return free_slots(av, now, _booked(host, lo, hi, exclude), _busy(config, lo, hi), lo, hi)


def slots(run_id: int, who, frm: datetime | None = None, to: datetime | None = None) -> dict:
    """The free slots of a run (whoever may see it): {"slots": [...], "stage_time_zone"}."""
    run = tasks.get_run(run_id, who)
    _, config = calendar_stage(run)
    return {"stage_time_zone": config["time_zone"], "slot_minutes": config["slot_minutes"],
            "slots": _free(run, config, frm, to)}


def db_run(booking: Booking) -> StageRun:
    return db.session.get(StageRun, booking.stage_run_id)


def slots_for_change(booking: Booking, who, frm: datetime | None = None, to: datetime | None = None) -> dict:
    """The slots a live booking may move to (its own seat counts as free)."""
    permissions.check(who, "booking.change", booking)
    run = db_run(booking)
    _, config = calendar_stage(run)
    return {"stage_time_zone": config["time_zone"], "slot_minutes": config["slot_minutes"],
            "slots": _free(run, config, frm, to, exclude=booking.id)}


def _check_free(run: StageRun, config: dict, start: datetime, exclude: int | None = None) -> datetime:
    """The end of the slot starting at `start` if it is bookable now; else 422 (no such slot) / 409 (taken)."""
    av = Availability.from_config(config)
    lo, hi = window(av, clock.now())
    if not is_slot(av, start) or not lo <= start < hi:
        raise Invalid("That is not one of the times offered: pick one from the list.",
                      {"start": ["is not a bookable time"]})
    end = start + timedelta(minutes=av.slot_minutes)
    if not any(s.start == start for s in _free(run, config, start, end, exclude)):
        raise _conflict("That time was just taken: please pick another one.")
    return end


def _take_seat(booking: Booking, capacity: int, **changes) -> None:
    """Give the booking (with `changes` applied) the lowest seat the database accepts; 409 when every
    seat is taken. Each try is a savepoint: a refused one rolls back (and expires) only itself, so
    the changes are applied again on every try."""
    for seat in range(capacity):
        try:
            with db.session.begin_nested():
                for name, value in changes.items():
                    setattr(booking, name, value)
                booking.seat = seat
                db.session.add(booking)
                db.session.flush()
            return
        except IntegrityError:
            continue
    raise _conflict("That time was just taken: please pick another one.")


def _event(booking: Booking, run: StageRun, type_: str, actor: str, **data) -> None:
    record_event({"type": type_, "task_id": booking.task_id, "stage_run_id": run.id, "process_id": run.process_id,
                  "actor": actor, "from_status": None, "to_status": None, "created_at": clock.now(),
                  "data": {"booking": booking.id, "start": clock.iso(booking.starts_at), **data}})


def _attendee(who, task: Task, stage: dict) -> str | None:
    """Who gets the invitation: the participant booking it, else an email Field the Stage reads."""
    if permissions.is_participant(who):
        return who.participant.email
    for key in stage.get("reads") or ():
        value = (task.values or {}).get(key)
        if isinstance(value, str) and "@" in value and key.lower().endswith("email"):
            return value
    return None


def book(run_id: int, start, who, actor: str, time_zone: str | None = None) -> Booking:
    """Book the slot starting at `start` for a Calendar Schedule run: the seat, the Field (through
    the stage type's `receive`), the run completed, the invitation emailed, the reminders set."""
    run = tasks.get_run(run_id, who)
    stage, config = calendar_stage(run)
    moment, tz = parse_instant(start), zone_name(time_zone)
    value = clock.iso(moment)
    permissions.check(who, "run.complete", run, values={config["field"]: value})
    if run.status not in ("pending", "started", "in_progress", "waiting_on_participant"):
        raise _conflict(f"This step is {run.status.replace('_', ' ')}: it can no longer be booked.", "run")
    end = _check_free(run, config, moment)
    task = db.session.get(Task, run.task_id)
    booking = Booking(uid=f"{uuid.uuid4()}@procly", task_id=run.task_id, stage_run_id=run.id,
                      host=host_of(task, config), starts_at=moment, ends_at=end, status="booked", sequence=0,
                      time_zone=tz, attendee_email=_attendee(who, task, stage), booked_by=actor[:80],
                      created_at=clock.now(), updated_at=clock.now())
    _take_seat(booking, config["capacity"])
    if run.status == "waiting_on_participant":
        participant_links.resume_from_participant(run.id, actor)   # as the portal's form does
    tasks.act(run.id, "complete", actor, user=who, values={config["field"]: value}, kind=stages.InputKind.booking)
    _event(booking, run, "booking.created", actor, time_zone=tz)
    invites.send(booking, "booked", stage["name"])
    reminders.schedule(booking, run, config["reminders"])
    return booking


def live_booking(run_id: int, who) -> Booking:
    """The run's live booking (404 when none or not visible)."""
    run = tasks.get_run(run_id, who)
    booking = db.session.scalar(select(Booking).where(Booking.stage_run_id == run.id, Booking.status == "booked")
                                .order_by(Booking.id.desc()))
    if booking is None:
        raise APIError(f"Stage run {run_id} has no booked appointment.", {"run": ["not booked"]}, status=404,
                       code="not_found")
    permissions.check(who, "booking.change", booking)
    return booking


def changeable_booking(run: StageRun, who) -> Booking | None:
    """The run's live booking when `who` may move or cancel it (the staff Task page), else None."""
    booking = db.session.scalar(select(Booking).where(Booking.stage_run_id == run.id, Booking.status == "booked")
                                .order_by(Booking.id.desc()))
    return booking if booking is not None and permissions.allowed(who, "booking.change", booking) else None


def _write_field(booking: Booking, field: str, value, actor: str) -> None:
    """The Task's Field follows the booking while the Task runs (as the system: the booking was
    checked by app.permissions already; the Field may be outside any open Stage's writes by now)."""
    task = db.session.get(Task, booking.task_id)
    if task.status == TaskStatus.running:
        tasks.update_values(task, {field: value}, None, actor)


def reschedule(booking: Booking, start, who, actor: str, time_zone: str | None = None) -> Booking:
    """Move a live booking to another free slot: same UID, SEQUENCE + 1, a new invitation."""
    permissions.check(who, "booking.change", booking)
    if booking.status != "booked":
        raise _conflict("This appointment was cancelled.", "booking")
    run = db.session.get(StageRun, booking.stage_run_id)
    stage, config = calendar_stage(run)
    moment = parse_instant(start)
    end = _check_free(run, config, moment, exclude=booking.id)
    old, tz = booking.starts_at, zone_name(time_zone or booking.time_zone)
    _take_seat(booking, config["capacity"], starts_at=moment, ends_at=end, time_zone=tz,
               sequence=booking.sequence + 1, updated_at=clock.now())
    _write_field(booking, config["field"], clock.iso(moment), actor)
    _event(booking, run, "booking.rescheduled", actor, old_start=clock.iso(old), sequence=booking.sequence)
    reminders.drop(run.id)
    reminders.schedule(booking, run, config["reminders"])
    invites.send(booking, "moved", stage["name"])
    return booking


def cancel(booking: Booking, who, actor: str) -> Booking:
    """Cancel a live booking: its seat is free again, the Field is cleared, METHOD:CANCEL is sent;
    with `on_cancel: book_again` the Stage opens again (with those after it) while the Task is still
    in that visit, so someone books a new time."""
    permissions.check(who, "booking.change", booking)
    if booking.status != "booked":
        raise _conflict("This appointment was already cancelled.", "booking")
    run = db.session.get(StageRun, booking.stage_run_id)
    stage, config = calendar_stage(run)
    booking.status, booking.seat = "cancelled", None
    booking.sequence += 1
    booking.cancelled_at = booking.updated_at = clock.now()
    db.session.flush()
    _write_field(booking, config["field"], None, actor)
    _event(booking, run, "booking.cancelled", actor, sequence=booking.sequence)
    reminders.drop(run.id)
    invites.send(booking, "cancelled", stage["name"])
    if config["on_cancel"] == "book_again":
        moves.reopen_stage(run, "because the appointment was cancelled", actor)
    return booking
