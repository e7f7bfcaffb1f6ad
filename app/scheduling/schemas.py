"""Schemas of slots and bookings, shared by the REST API and the portal's JSON answers."""
from __future__ import annotations

from datetime import timezone
from zoneinfo import ZoneInfo

from marshmallow import Schema, validate

from app import fields


class SlotsQuerySchema(Schema):
    from_ = fields.DateTime(data_key="from", load_default=None, metadata={
        "description": "window start (ISO 8601 with offset); default: now plus the minimum notice"})
    to = fields.DateTime(load_default=None, metadata={"description": "window end; default: the booking horizon "
                                                                    "(a window spans at most 62 days)"})
    tz = fields.String(load_default="UTC", validate=validate.Length(max=64), metadata={
        "description": "IANA time zone to show local times in (the browser's: Intl's resolvedOptions().timeZone)"})


class SlotSchema(Schema):
    start = fields.DateTime(required=True, metadata={"description": "UTC"})
    end = fields.DateTime(required=True)
    local_start = fields.String(required=True, metadata={"description": "the start in the zone asked for"})
    seats_left = fields.Integer(required=True)


class SlotsSchema(Schema):
    time_zone = fields.String(required=True, metadata={"description": "the zone local_start is in"})
    stage_time_zone = fields.String(required=True, metadata={"description": "the zone of the working hours"})
    slot_minutes = fields.Integer(required=True)
    slots = fields.List(fields.Nested(SlotSchema), required=True)


class BookSchema(Schema):
    start = fields.String(required=True, validate=validate.Length(max=64), metadata={
        "description": "the chosen slot's start, ISO 8601 with an offset (as `slots` lists it)",
        "example": "2026-12-03T09:00:00+00:00"})
    time_zone = fields.String(load_default="UTC", validate=validate.Length(max=64), metadata={
        "description": "the booker's IANA zone: their confirmation email shows the time in it"})


class BookingSchema(Schema):
    id = fields.Integer()
    uid = fields.String(metadata={"description": "the iCalendar UID (stable across reschedules)"})
    task_id = fields.Integer()
    stage_run_id = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    status = fields.String(metadata={"description": "booked or cancelled"})
    sequence = fields.Integer(metadata={"description": "iCalendar SEQUENCE: 0, then +1 per reschedule / cancel"})
    time_zone = fields.String()


def slots_payload(found: dict, tz: str) -> dict:
    """The answer of a slots query: each slot in UTC and in the zone `tz`."""
    zone = ZoneInfo(tz)
    return {"time_zone": tz, "stage_time_zone": found["stage_time_zone"], "slot_minutes": found["slot_minutes"],
            "slots": [{"start": s.start, "end": s.end, "seats_left": s.seats_left,
                       "local_start": s.start.replace(tzinfo=timezone.utc).astimezone(zone).isoformat()}
                      for s in found["slots"]]}


__all__ = ["SlotsQuerySchema", "SlotSchema", "SlotsSchema", "BookSchema", "BookingSchema", "slots_payload"]
