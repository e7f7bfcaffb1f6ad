"""`calendar_schedule` (Schedule an appointment): the participant (portal) or staff (Task page) pick
a free slot; the booking writes the booked time (UTC) into a datetime Field and completes the run.

The type describes availability (its config) and turns a booking into the run's Submission; the
slots, the bookings (a database constraint against double booking), the invitation email and the
reminders are app.scheduling's. A plain form cannot complete it: only a booking can."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import marshmallow as ma
from marshmallow import validate

from app.stages.base import ConfigSchema, InputKind, InputRefused, StageContext, StageType, Submission
from app.vocab import durations

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOST_KINDS = ("user", "team", "field")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ma.ValidationError("is not a time zone (use an IANA name like Europe/Paris)") from None
    if name not in available_timezones() and name != "UTC":
        raise ma.ValidationError("is not a time zone (use an IANA name like Europe/Paris)")


def _duration(text: str) -> None:
    try:
        durations.parse(text)
    except ValueError:
        raise ma.ValidationError("must be a duration like 30m, 24h or 2d") from None


def _url(text: str) -> None:
    if text and not re.match(r"^https?://[^\s/]+(/\S*)?$", text):
        raise ma.ValidationError("must be an http(s) address")


def _meta(title: str, description: str, **extra) -> dict:
    return {"title": title, "description": description, **extra}


ON_CANCEL = {"book_again": "Book again: this step (and the steps after it) opens again",
             "keep": "Keep going: only the booked time is cleared"}


class CalendarConfig(ConfigSchema):
    field = ma.fields.String(load_default="", metadata=_meta(
        "Booked time goes to", "The date-and-time Field (in the Stage's writes) that receives the booked time.",
        **{"x-widget": "field", "x-field-types": ["datetime"]}))
    time_zone = ma.fields.String(load_default="UTC", validate=_zone, metadata=_meta(
        "Time zone", "The time zone of the working hours below.", **{"x-widget": "timezone"}))
    working_days = ma.fields.List(ma.fields.String(validate=validate.OneOf(WEEKDAYS)), validate=validate.Length(min=1),
                                  load_default=lambda: list(WEEKDAYS[:5]), metadata=_meta(
        "Working days", "Days on which appointments can be booked.", default=list(WEEKDAYS[:5]),
        **{"x-labels": list(DAY_NAMES)}))
    day_start = ma.fields.String(load_default="09:00", validate=validate.Regexp(HHMM, error="must be a time like 09:00"),
                                 metadata=_meta("Working hours start", "First appointment of the day.",
                                                **{"x-widget": "time"}))
    day_end = ma.fields.String(load_default="17:00", validate=validate.Regexp(HHMM, error="must be a time like 17:00"),
                               metadata=_meta("Working hours end", "Appointments end by this time.",
                                              **{"x-widget": "time"}))
    slot_minutes = ma.fields.Integer(load_default=30, validate=validate.Range(5, 480), metadata=_meta(
        "Appointment length (minutes)", "How long one appointment lasts."))
    buffer_minutes = ma.fields.Integer(load_default=0, validate=validate.Range(0, 240), metadata=_meta(
        "Break between appointments (minutes)", "Free time kept after each appointment."))
    horizon_days = ma.fields.Integer(load_default=30, validate=validate.Range(1, 365), metadata=_meta(
        "Bookable up to (days ahead)", "How far into the future appointments can be booked."))
    notice_minutes = ma.fields.Integer(load_default=60, validate=validate.Range(0, 43200), metadata=_meta(
        "Minimum notice (minutes)", "The earliest appointment is at least this far from now."))
    capacity = ma.fields.Integer(load_default=1, validate=validate.Range(1, 100), metadata=_meta(
        "People per appointment", "How many bookings one slot takes."))
    host_kind = ma.fields.String(load_default="team", validate=validate.OneOf(HOST_KINDS), metadata=_meta(
        "Who hosts", "A person, a Team (one shared calendar), or a Field of the Task holding the host's email.",
        **{"x-labels": ["A person", "A Team", "A Field holding the host"]}))
    host = ma.fields.String(load_default="", validate=validate.Length(max=254), metadata=_meta(
        "Host", "The person's email, the Team's name, or the Field's key."))
    reminders = ma.fields.List(ma.fields.String(validate=_duration), load_default=lambda: ["24h"],
                               validate=validate.Length(max=5), metadata=_meta(
        "Reminders before the appointment", "Durations like 24h or 30m, one per line.", default=["24h"]))
    caldav_url = ma.fields.String(load_default="", validate=_url, metadata=_meta(
        "Busy times from a calendar (CalDAV address)", "Optional: times busy in this calendar cannot be booked."))
    caldav_credentials = ma.fields.String(load_default="", validate=validate.Regexp(r"^[a-z0-9_-]{0,64}$"),
                                          metadata=_meta("Calendar sign-in name", "The name of the credentials an "
                                                         "administrator configured for that calendar (optional)."))
    instructions = ma.fields.String(load_default="", validate=validate.Length(max=2000), metadata=_meta(
        "Instructions", "Shown above the times to pick from."))
    on_cancel = ma.fields.String(load_default="book_again", validate=validate.OneOf(list(ON_CANCEL)), metadata=_meta(
        "When the appointment is cancelled", "While the Task is still in this Process.",
        **{"x-labels": ON_CANCEL}))

    @ma.validates_schema
    def _hours(self, data, **kwargs):
        if data.get("day_start", "09:00") >= data.get("day_end", "17:00"):
            raise ma.ValidationError("must be after the start of the working hours", "day_end")
        kind, host = data.get("host_kind", "team"), (data.get("host") or "").strip()
        if kind == "user" and host and "@" not in host:
            raise ma.ValidationError("must be the host's email address", "host")


class CalendarType(StageType):
    key = "calendar_schedule"
    name = "Schedule an appointment"
    icon = "📅"
    description = "The participant or staff pick a free time; the booking is written to a date-and-time Field."
    config_schema = CalendarConfig
    task_template = "stages/calendar_task.html"
    portal_template = "stages/calendar_portal.html"

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        config = stage.get("config") or {}
        problems = []
        key = config.get("field") or ""
        if not key:
            problems.append(("config.field", "choose the date-and-time Field that receives the booked time"))
        elif key not in fields:
            problems.append(("config.field", f'"{key}" is not a Field of this Table'))
        else:
            if fields[key].type != "datetime":
                problems.append(("config.field", f'"{key}" is a {fields[key].type} Field, not a date and time'))
            if key not in (stage.get("writes") or []):
                problems.append(("config.field", f'"{key}" is not in writes'))
        host, kind = (config.get("host") or "").strip(), config.get("host_kind", "team")
        if not host:
            problems.append(("config.host", "say who hosts the appointments"))
        elif kind == "field":
            if host not in fields:
                problems.append(("config.host", f'"{host}" is not a Field of this Table'))
            elif host not in (stage.get("reads") or []):
                problems.append(("config.host", f'"{host}" is not in reads'))
        return problems

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        """Only a booking (app.scheduling, which holds the seat) completes the run: it writes the
        booked start, in UTC, into the configured Field."""
        if kind != InputKind.booking:
            raise InputRefused("pick a time: this step is completed by booking an appointment")
        key = ctx.config["field"]
        return Submission(values={key: payload[key]}, required=(key,))
